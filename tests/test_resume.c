/*
 * `mlp train --resume` checks that it goes on with the data the checkpoint was trained on:
 * the training images and the training labels each have a fingerprint in the checkpoint, and
 * a difference in either is refused, naming which. The same data gzipped is the same data. A
 * checkpoint from before the images' fingerprint (format version 1) resumes with a note. A
 * checkpoint whose recorded command line is as long as the format allows resumes too.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tu_cli c; /* c.dir holds the dataset */
    char model[4096], images[4096], labels[4096];
} fixture;

/* Bytes from the end of a checkpoint without velocities or last-epoch parameters (no
 * --momentum, no --val) to its fixed state: the checksum, and the 96 bytes of the state
 * (version 4), which end with the flags V and C; in it, the step count after the six 64-bit
 * fields, the images' CRC after the labels' */
enum { STATE_FROM_END = 4 + 96, STEPS_IN_STATE = 48, IMAGES_CRC_IN_STATE = 60 };

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_cli_open(&f->c);
    tu_write_synthetic(f->c.dir, 300, 40, 4, 5, 4, 21);
    tu_path(f->model, f->c.dir, "m.bin");
    tu_path(f->images, f->c.dir, "train-images-idx3-ubyte");
    tu_path(f->labels, f->c.dir, "train-labels-idx1-ubyte");
    assert_int_equal(
        tu_cli_run(&f->c, "train %s --hidden 5 --epochs 2 --batch 10 --out %s", f->c.dir, f->model),
        0);
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

static void expect_one_line(const fixture *f, int status, int want, const char *text)
{
    if (status != want || tu_count_lines(f->c.err) != 1 || !strstr(f->c.err, text)) {
        print_error("exit %d (wanted %d), stderr '%s' (wanted one line with '%s')\n", status, want,
                    f->c.err, text);
        fail();
    }
}

/* Writes a copy of the file at from to dir/name with byte at (from the end) flipped. */
static void copy_changed(const fixture *f, const char *from, const char *name, size_t at, char *out)
{
    size_t n;
    unsigned char *b = tu_read_file(from, &n);
    assert_non_null(b);
    b[n - 1 - at] ^= 1; /* a pixel one level brighter or darker; a label the next class */
    tu_path(out, f->c.dir, name);
    tu_write_file(out, b, n);
    free(b);
}

static void test_other_images_refused(void **state)
{
    fixture *f = *state;
    char other[4096];
    copy_changed(f, f->images, "other-images", 0, other);
    expect_one_line(f,
                    tu_cli_run(&f->c, "train %s --resume %s --epochs 3 --train-images %s", f->c.dir,
                               f->model, other),
                    1, "(the training images differ)");
    assert_non_null(strstr(f->c.err, other));
}

static void test_other_labels_refused(void **state)
{
    fixture *f = *state;
    size_t n;
    unsigned char *b = tu_read_file(f->labels, &n);
    char other[4096];
    tu_path(other, f->c.dir, "other-labels");
    b[8] = (unsigned char)((b[8] + 1) % 4); /* the first image's label, another of the 4 */
    tu_write_file(other, b, n);
    free(b);
    expect_one_line(f,
                    tu_cli_run(&f->c, "train %s --resume %s --epochs 3 --train-labels %s", f->c.dir,
                               f->model, other),
                    1, "(the training labels differ)");
    assert_non_null(strstr(f->c.err, other));
    /* both at once */
    char images[4096];
    copy_changed(f, f->images, "other-images", 7, images);
    expect_one_line(f,
                    tu_cli_run(&f->c,
                               "train %s --resume %s --epochs 3 --train-images %s "
                               "--train-labels %s",
                               f->c.dir, f->model, images, other),
                    1, "(the training images and labels differ)");
}

/* The same images gzipped, and a directory holding only the gzipped files, are the data the
 * checkpoint was trained on. */
static void test_same_data_gzipped_accepted(void **state)
{
    fixture *f = *state;
    size_t n;
    unsigned char *b = tu_read_file(f->images, &n);
    char gz[4096];
    tu_path(gz, f->c.dir, "images.gz");
    tu_write_gzip(gz, b, n);
    free(b);
    assert_int_equal(tu_cli_run(&f->c, "train %s --resume %s --epochs 3 --train-images %s",
                                f->c.dir, f->model, gz),
                     0);
    assert_string_equal(f->c.err, "");
    assert_non_null(strstr(f->c.out, "epoch   3"));
    tu_gzip_in_place(f->images);
    tu_gzip_in_place(f->labels);
    assert_int_equal(tu_cli_run(&f->c, "train %s --resume %s --epochs 4", f->c.dir, f->model), 0);
    assert_string_equal(f->c.err, "");
    assert_non_null(strstr(f->c.out, "epoch   4"));
}

/* b (*n bytes) without the k bytes at off */
static void cut(unsigned char *b, size_t *n, size_t off, size_t k)
{
    memmove(b + off, b + off + k, *n - off - k);
    *n -= k;
}

/* The checkpoint at path in the version 1 layout: no images' CRC and no step count in the
 * state, and none of the options of versions 3 and 4 (the last 40 bytes of the options, after
 * the L + 1 layer sizes), version 1. */
static void make_version_1(const char *path)
{
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    assert_non_null(b);
    assert_int_equal(mlp_get_u32(b + 4), 4);
    const size_t state = n - STATE_FROM_END;
    cut(b, &n, state + IMAGES_CRC_IN_STATE, 4);
    cut(b, &n, state + STEPS_IN_STATE, 8);
    cut(b, &n, 20 + 4 * (mlp_get_u32(b + 16) + 1) + 4 * 4 + 80, 40);
    mlp_put_u32(b + 4, 1);
    mlp_put_u32(b + n - 4, mlp_crc32(0, b, n - 4));
    tu_write_file(path, b, n);
    free(b);
}

static void test_version_1_resumes_with_a_note(void **state)
{
    fixture *f = *state;
    make_version_1(f->model);
    /* the labels are still checked */
    char other[4096];
    copy_changed(f, f->labels, "other-labels", 3, other);
    int st = tu_cli_run(&f->c, "train %s --resume %s --epochs 3 --train-labels %s", f->c.dir,
                        f->model, other);
    assert_int_equal(st, 1);
    assert_non_null(strstr(f->c.err, "(the training labels differ)"));
    /* the images cannot be: one line says so, and the run goes on */
    char other_images[4096];
    copy_changed(f, f->images, "other-images", 0, other_images);
    assert_int_equal(tu_cli_run(&f->c, "train %s --resume %s --epochs 3 --train-images %s",
                                f->c.dir, f->model, other_images),
                     0);
    char want[4200];
    snprintf(want, sizeof want,
             "mlp: note: %s predates image fingerprints; the training images cannot be "
             "checked\n",
             f->model);
    assert_string_equal(f->c.err, want);
    assert_non_null(strstr(f->c.out, "epoch   3"));
    /* what it saved is version 4, with the fingerprint of the images it went on with */
    size_t n;
    unsigned char *b = tu_read_file(f->model, &n);
    assert_int_equal(mlp_get_u32(b + 4), 4);
    free(b);
    expect_one_line(f, tu_cli_run(&f->c, "train %s --resume %s --epochs 4", f->c.dir, f->model), 1,
                    "(the training images differ)");
}

/* The checkpoint at path with its recorded command line replaced by len bytes, and its state
 * set back to after epoch `done`. */
static void set_cmdline(const char *path, size_t len, uint64_t done)
{
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    assert_non_null(b);
    const size_t L = mlp_get_u32(b + 16), at = 20 + 4 * (L + 1) + 8 + 8 + 120 + 8 + 8;
    const size_t old = mlp_get_u32(b + at), m = n - old + len;
    unsigned char *c = malloc(m);
    memcpy(c, b, at);
    mlp_put_u32(c + at, (uint32_t)len);
    memset(c + at + 4, 'x', len);
    memcpy(c + at + 4, "mlp train", 9);
    memcpy(c + at + 4 + len, b + at + 4 + old, n - at - 4 - old);
    mlp_put_u32(c + m - STATE_FROM_END, (uint32_t)done);
    mlp_put_u32(c + m - 4, mlp_crc32(0, c, m - 4));
    tu_write_file(path, c, m);
    free(b);
    free(c);
}

/* Resuming saves the recorded command line again: at the longest the format allows, the
 * save must not overrun anything (under SAN=1 an overrun is a failure here). */
static void test_longest_cmdline_resumes(void **state)
{
    fixture *f = *state;
    for (size_t len = 4094; len <= 4095; len++) {
        set_cmdline(f->model, len, 1);
        int st = tu_cli_run(&f->c, "train %s --resume %s", f->c.dir, f->model);
        if (st != 0)
            print_error("length %zu: exit %d, stderr '%s'\n", len, st, f->c.err);
        assert_int_equal(st, 0);
        assert_non_null(strstr(f->c.out, "epoch   2"));
        assert_int_equal(tu_cli_run(&f->c, "info %s", f->model), 0);
        assert_non_null(strstr(f->c.out, "command      mlp trainxxx"));
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_other_images_refused),       T(test_other_labels_refused),
        T(test_same_data_gzipped_accepted), T(test_version_1_resumes_with_a_note),
        T(test_longest_cmdline_resumes),
    };
    return cmocka_run_group_tests_name("resume", tests, NULL, NULL);
}
