/*
 * Hostile files against the built program: hundreds of mutated model files and dozens of
 * malformed datasets, each written here. Every one must end in a clean refusal: exit status
 * 1 and exactly one line on stderr naming the file, never a crash (under `make asan` the
 * sanitizers would turn any memory error into a different exit and a report on stderr).
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tu_cli c;    /* c.dir holds the dataset */
    size_t runs; /* files tried */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_cli_open(&f->c);
    tu_write_synthetic(f->c.dir, 200, 50, 4, 5, 5, 11);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_cli_close(&f->c);
    free(f);
    return 0;
}

/* Runs args; it must be refused (exit 1, one line on stderr naming `name`), or, if
 * may_pass, succeed with exit 0. */
static void expect_refusal(fixture *f, const char *args, const char *name, bool may_pass)
{
    int st = tu_cli_run(&f->c, "%s", args);
    f->runs++;
    if (may_pass && st == 0)
        return;
    if (st != 1 || tu_count_lines(f->c.err) != 1 || !strstr(f->c.err, name)) {
        print_error("mlp %s: exit %d, stderr: '%s' (wanted exit 1 and one line naming %s)\n", args,
                    st, f->c.err, name);
        fail();
    }
}

static void test_mutated_models(void **state)
{
    fixture *f = *state;
    char model[4096], bad[4096], args[9000];
    tu_path(model, f->c.dir, "m.bin");
    tu_path(bad, f->c.dir, "bad.bin");
    /* momentum, so the file carries velocities in its training state too */
    snprintf(args, sizeof args, "train %s --hidden 3 --epochs 2 --momentum 0.5 --out %s", f->c.dir,
             model);
    assert_int_equal(tu_cli_run(&f->c, "%s", args), 0);
    size_t n;
    unsigned char *b = tu_read_file(model, &n);
    unsigned char *c = malloc(n + 1);
    snprintf(args, sizeof args, "info %s", bad);

    /* truncations: at every length through the header, then every eleventh */
    for (size_t len = 0; len < n; len += len < 200 ? 1 : 11) {
        tu_write_file(bad, b, len);
        expect_refusal(f, args, "bad.bin", false);
    }
    /* a byte too many */
    memcpy(c, b, n);
    c[n] = 0;
    tu_write_file(bad, c, n + 1);
    expect_refusal(f, args, "bad.bin", false);
    /* flipped bytes: every byte of the header, every fifth after it */
    for (size_t i = 0; i < n; i += i < 160 ? 1 : 13) {
        memcpy(c, b, n);
        c[i] ^= 0xff;
        tu_write_file(bad, c, n);
        expect_refusal(f, args, "bad.bin", false);
    }
    /* every aligned 32-bit field set to 0, 0x7fffffff, 0xffffffff; with the stale checksum
     * it must be refused; with the checksum recomputed the loader's own checks must hold
     * (a harmless field, like the seed, may then load) */
    const uint32_t values[3] = {0, 0x7fffffff, 0xffffffff};
    char eval_args[9000];
    snprintf(eval_args, sizeof eval_args, "eval %s %s", bad, f->c.dir);
    for (size_t off = 4; off + 4 <= n - 4; off += off < 160 ? 4 : 60) {
        for (int v = 0; v < 3; v++) {
            memcpy(c, b, n);
            mlp_put_u32(c + off, values[v]);
            if (memcmp(c, b, n) == 0)
                continue; /* the field already held that value */
            tu_write_file(bad, c, n);
            expect_refusal(f, args, "bad.bin", false);
            mlp_put_u32(c + n - 4, mlp_crc32(0, c, n - 4));
            tu_write_file(bad, c, n);
            expect_refusal(f, off < 160 ? eval_args : args, "bad.bin", true);
        }
    }
    /* resuming from a damaged checkpoint is refused the same way */
    memcpy(c, b, n);
    c[n / 2] ^= 1;
    tu_write_file(bad, c, n);
    snprintf(args, sizeof args, "train %s --resume %s", f->c.dir, bad);
    expect_refusal(f, args, "bad.bin", false);
    free(b);
    free(c);
    assert_true(f->runs >= 200);
    print_message("  %zu mutated model files refused cleanly\n", f->runs);
}

/* Replaces one of the four files with bytes; NULL removes it. */
static void put(fixture *f, const char *name, const unsigned char *data, size_t len)
{
    char p[4096];
    tu_path(p, f->c.dir, name);
    remove(p);
    if (data)
        tu_write_file(p, data, len);
}

static void test_malformed_datasets(void **state)
{
    fixture *f = *state;
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char args[9000];
    snprintf(args, sizeof args, "train %s --epochs 1 --out %s/never.bin", f->c.dir, f->c.dir);
    for (int k = 0; k < 4; k++) {
        char p[4096];
        size_t n;
        tu_path(p, f->c.dir, names[k]);
        unsigned char *b = tu_read_file(p, &n), *c = malloc(n + 1);
        size_t hdr = k % 2 ? 8 : 16;
        /* truncations inside and just after the header, and one byte short */
        const size_t cuts[] = {0, 1, 3, 4, 7, hdr - 1, hdr, hdr + 1, n - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            put(f, names[k], b, cuts[i]);
            expect_refusal(f, args, names[k], false);
        }
        /* a trailing byte */
        memcpy(c, b, n);
        c[n] = 7;
        put(f, names[k], c, n + 1);
        expect_refusal(f, args, names[k], false);
        /* each header field set to 0, 0x7fffffff, 0xffffffff (magic and every dimension) */
        const uint32_t values[3] = {0, 0x7fffffff, 0xffffffff};
        for (size_t off = 0; off < hdr; off += 4) {
            for (int v = 0; v < 3; v++) {
                memcpy(c, b, n);
                c[off] = (unsigned char)(values[v] >> 24);
                c[off + 1] = (unsigned char)(values[v] >> 16);
                c[off + 2] = (unsigned char)(values[v] >> 8);
                c[off + 3] = (unsigned char)values[v];
                put(f, names[k], c, n);
                /* 0x7fffffff images of the right count is refused by length, not by
                 * allocating: that is the point */
                expect_refusal(f, args, names[k], false);
            }
        }
        /* element type and dimension count */
        memcpy(c, b, n);
        c[2] = 0x0b;
        put(f, names[k], c, n);
        expect_refusal(f, args, names[k], false);
        memcpy(c, b, n);
        c[3] = k % 2 ? 3 : 1;
        put(f, names[k], c, n);
        expect_refusal(f, args, names[k], false);
        /* missing, and only a .gz beside it */
        put(f, names[k], NULL, 0);
        expect_refusal(f, args, names[k], false);
        put(f, names[k], b, n);
        free(b);
        free(c);
    }
    assert_true(f->runs >= 50);
    print_message("  %zu malformed datasets refused cleanly\n", f->runs);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_mutated_models),
        T(test_malformed_datasets),
    };
    return cmocka_run_group_tests_name("corpus", tests, NULL, NULL);
}
