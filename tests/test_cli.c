/*
 * The built program end to end (MLP_BIN, default ./mlp): training on a synthetic dataset
 * written here, evaluation of the saved model, reproducibility, and the one-line errors and
 * exit statuses of bad arguments, data and model files.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CAP = 1 << 16 };

typedef struct {
    char *dir;
    char out[CAP], err[CAP];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    tu_write_synthetic(f->dir, 2000, 500, 12, 12, 6, 42);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int run(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(fixture *f, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_run_mlp(args, f->out, CAP, f->err, CAP);
}

/* The percentage after the last occurrence of key (e.g. "test "), or -1. */
static double last_percent(const char *s, const char *key)
{
    const char *p = NULL, *q = s;
    while ((q = strstr(q, key))) {
        p = q;
        q += strlen(key);
    }
    return p ? atof(p + strlen(key)) : -1.0;
}

/* Exit status st with exactly one line on stderr that contains want. */
static void expect_error(fixture *f, int status, int want_status, const char *want)
{
    if (status != want_status || tu_count_lines(f->err) != 1 || !strstr(f->err, want)) {
        print_error("exit %d (wanted %d), stderr: '%s' (wanted one line with '%s')\n", status,
                    want_status, f->err, want);
        fail();
    }
}

static void test_train_then_eval_agree(void **state)
{
    fixture *f = *state;
    int st = run(f, "train %s --hidden 16 --epochs 4 --seed 3 --out %s/m.bin", f->dir, f->dir);
    if (st != 0)
        print_error("%s", f->err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(f->out, "epoch   4"));
    double acc = last_percent(f->out, "test accuracy ");
    assert_true(acc >= 90.0); /* from chance, 1 in 6 */
    char train_acc[32];
    snprintf(train_acc, sizeof train_acc, "%.2f%%", acc);

    st = run(f, "eval %s/m.bin %s", f->dir, f->dir);
    assert_int_equal(st, 0);
    char want[64];
    snprintf(want, sizeof want, "accuracy %s", train_acc);
    if (!strstr(f->out, want)) {
        print_error("eval printed:\n%s\nwanted '%s'\n", f->out, want);
        fail();
    }
    assert_non_null(strstr(f->out, "confusion matrix"));
    assert_non_null(strstr(f->out, "precision"));

    st = run(f, "info %s/m.bin", f->dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(f->out, "144-16-6"));
    assert_non_null(strstr(f->out, "--hidden 16 "));
    assert_non_null(strstr(f->out, "--seed 3 "));
}

static void test_same_seed_same_bytes(void **state)
{
    fixture *f = *state;
    const char *flags = "--hidden 8,8 --epochs 2 --activation relu --cost xent --batch 7";
    char p[4096], q[4096];
    size_t na, nb, nc;
    snprintf(p, sizeof p, "%s/m.bin", f->dir);
    snprintf(q, sizeof q, "%s/first.bin", f->dir);
    assert_int_equal(run(f, "train %s %s --out %s", f->dir, flags, p), 0);
    assert_int_equal(rename(p, q), 0);
    unsigned char *a = tu_read_file(q, &na);
    assert_int_equal(run(f, "train %s %s --out %s", f->dir, flags, p), 0);
    unsigned char *b = tu_read_file(p, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    assert_int_equal(run(f, "train %s %s --seed 2 --out %s", f->dir, flags, p), 0);
    unsigned char *c = tu_read_file(p, &nc);
    assert_int_equal(na, nc);
    assert_memory_not_equal(a + na - 1000, c + nc - 1000, 996);
    free(a);
    free(b);
    free(c);
}

/* Threads split every product by output element, so their number changes no bit. The hidden
 * layer is wide enough (144 x 700 weights) for the products to use three threads. */
static void test_thread_count_does_not_change_the_model(void **state)
{
    fixture *f = *state;
    unsigned char *first = NULL;
    size_t n_first = 0;
    for (int t = 1; t <= 3; t++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/t%d.bin", f->dir, t);
        assert_int_equal(run(f, "train %s --hidden 700 --epochs 2 --batch 32 --threads %d --out %s",
                             f->dir, t, p),
                         0);
        assert_non_null(strstr(f->out, t == 1 ? "1 thread\n" : "threads\n"));
        size_t n;
        unsigned char *m = tu_read_file(p, &n);
        if (!first) {
            first = m;
            n_first = n;
            continue;
        }
        /* the files differ only in the recorded --out path and the checksum after it */
        assert_int_equal(n, n_first);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += m[i] != first[i];
        assert_true(diff <= 5);
        size_t tail = 4 * 1000; /* the last thousand parameters and the checksum */
        assert_memory_equal(m + n - tail, first + n - tail, tail - 4);
        free(m);
    }
    free(first);
}

static void test_usage_errors_exit_2_with_one_line(void **state)
{
    fixture *f = *state;
    const struct {
        const char *args, *want;
    } cases[] = {
        {"train %s --bogus", "unknown flag '--bogus'"},
        {"train %s --batch 0", "--batch"},
        {"train %s --batch abc", "--batch"},
        {"train %s --batch", "--batch needs a value"},
        {"train %s --epochs 0", "--epochs"},
        {"train %s --epochs -3", "--epochs"},
        {"train %s --epochs 1000000", "--epochs"},
        {"train %s --batch 1000000", "--batch"},
        {"train %s --lr 1e9", "--lr"},
        {"train %s --lr -1", "--lr"},
        {"train %s --lr 0", "--lr"},
        {"train %s --lr nan", "--lr"},
        {"train %s --lr 1x", "--lr"},
        {"train %s --hidden 16,,16", "--hidden"},
        {"train %s --hidden 0", "--hidden"},
        {"train %s --hidden 1,2,3,4,5,6,7,8", "--hidden"},
        {"train %s --activation swish", "--activation"},
        {"train %s --cost hinge", "--cost"},
        {"train %s --seed x", "--seed"},
        {"train %s --threads 0", "--threads"},
        {"train %s --threads 100000", "--threads"},
        {"train %s --kernels avx9000", "--kernels"},
        {"train %s --momentum 1", "--momentum"},
        {"train %s --momentum -0.5", "--momentum"},
        {"bench %s --config Z", "--config"},
        {"bench %s --epochs 0", "--epochs"},
        {"train %s extra", "unexpected argument 'extra'"},
        {"eval", "missing MODEL"},
        {"eval a b c", "unexpected argument 'c'"},
        {"info", "missing MODEL"},
        {"frobnicate %s", "unknown command 'frobnicate'"},
        {"help nothing", "unknown command 'nothing'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = run(f, cases[k].args, f->dir);
        expect_error(f, st, 2, cases[k].want);
        assert_non_null(strstr(f->err, "mlp help"));
    }
}

static void test_bad_data_and_models_exit_1_with_one_line(void **state)
{
    fixture *f = *state;
    char p[4096];

    /* no data */
    expect_error(f, run(f, "train %s/nowhere --out %s/m.bin", f->dir, f->dir), 1, "nowhere");
    /* a broken label file */
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", f->dir);
    size_t n;
    unsigned char *keep = tu_read_file(p, &n);
    tu_write_file(p, keep, n - 1);
    expect_error(f, run(f, "train %s --epochs 1 --out %s/m.bin", f->dir, f->dir), 1,
                 "t10k-labels-idx1-ubyte");
    tu_write_file(p, keep, n);
    free(keep);

    /* an output directory that does not exist is reported before any training */
    expect_error(f, run(f, "train %s --out %s/no/m.bin", f->dir, f->dir), 1, "cannot write");

    /* models: missing, not a model, truncated, mismatched with the data */
    expect_error(f, run(f, "eval %s/none.bin %s", f->dir, f->dir), 1, "none.bin");
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", f->dir);
    expect_error(f, run(f, "eval %s %s", p, f->dir), 1, "not an mlp model");
    expect_error(f, run(f, "info %s", p), 1, "not an mlp model");

    assert_int_equal(run(f, "train %s --hidden 4 --epochs 1 --out %s/m.bin", f->dir, f->dir), 0);
    snprintf(p, sizeof p, "%s/m.bin", f->dir);
    unsigned char *m = tu_read_file(p, &n);
    char q[4096];
    snprintf(q, sizeof q, "%s/cut.bin", f->dir);
    tu_write_file(q, m, n / 2);
    expect_error(f, run(f, "eval %s %s", q, f->dir), 1, "truncated");
    free(m);

    char other[4096];
    snprintf(other, sizeof other, "%s/other", f->dir);
    char mk[4200];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", other);
    assert_int_equal(system(mk), 0);
    tu_write_synthetic(other, 50, 20, 10, 10, 6, 1);
    expect_error(f, run(f, "eval %s %s", p, other), 1, "12x12");
}

static void test_help_and_version(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "--version"), 0);
    assert_non_null(strstr(f->out, "mlp "));
    assert_int_equal(run(f, "help"), 0);
    assert_non_null(strstr(f->out, "exit status"));
    assert_int_equal(run(f, "help train"), 0);
    assert_non_null(strstr(f->out, "--hidden"));
    char help_train[CAP];
    strcpy(help_train, f->out);
    assert_int_equal(run(f, "train --help"), 0);
    assert_string_equal(f->out, help_train);
    assert_int_equal(run(f, "help eval"), 0);
    assert_int_equal(run(f, "help info"), 0);
    assert_int_equal(run(f, "%s", ""), 2); /* no command: the overview, on stderr */
    assert_non_null(strstr(f->err, "usage"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_train_then_eval_agree),
        T(test_same_seed_same_bytes),
        T(test_thread_count_does_not_change_the_model),
        T(test_usage_errors_exit_2_with_one_line),
        T(test_bad_data_and_models_exit_1_with_one_line),
        T(test_help_and_version),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
