/*
 * Number flags end to end (MLP_BIN, default ./mlp): every float flag of train and gradcheck
 * and every size flag refuses what would not survive being stored (values that a float keeps
 * as 0, as a subnormal or as infinity, hex, inf, nan, trailing junk, spaces, signs on sizes)
 * with exit 2 and one line naming the flag, before any data is read: the data directory does
 * not exist, so a message about it would show that the check came too late. Good values get
 * past the flags and fail on the missing data instead (exit 1). The reader itself
 * (mlp_cli_parse_float) is checked for what it stores.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "augment.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef tu_cli fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_cli_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    tu_cli_close(*state);
    free(*state);
    return 0;
}

/* Values no float flag takes, as shell words. */
static const char *const bad_floats[] = {"1e-50", "1e-40", "1e39", "inf",  "nan", "0x1p3",
                                         "1e",    "''",    "' 1'", "-inf", "1,5", "1e-400"};
#define N_BAD_FLOATS (sizeof bad_floats / sizeof bad_floats[0])

/* Values no size flag takes. */
static const char *const bad_sizes[] = {"-1",  "18446744073709551616", "1.5", "''", "' 1'", "+1",
                                        "0x10"};
#define N_BAD_SIZES (sizeof bad_sizes / sizeof bad_sizes[0])

/* Runs "mlp CMD NOWHERE FLAG=VALUE ..." (NOWHERE: a data directory that does not exist). */
static int run_flag(fixture *f, const char *cmd, const char *flag, const char *value)
{
    return tu_cli_run(f, "%s %s/nowhere %s %s --out %s/m.bin", cmd, f->dir, flag, value, f->dir);
}

/* Exit 2, one line on stderr, naming the flag and pointing at the help, nothing about data. */
static void expect_usage(fixture *f, int st, const char *cmd, const char *flag, const char *value)
{
    if (st != 2 || tu_count_lines(f->err) != 1 || !strstr(f->err, flag) ||
        !strstr(f->err, "mlp help") || strstr(f->err, "nowhere")) {
        print_error("mlp %s %s %s: exit %d, stderr '%s' (wanted exit 2 and one line naming %s)\n",
                    cmd, flag, value, st, f->err, flag);
        fail();
    }
}

/* Past the flags: the run fails on the missing data directory (exit 1, naming it). */
static void expect_data_error(fixture *f, int st, const char *cmd, const char *flag,
                              const char *value)
{
    if (st != 1 || !strstr(f->err, "nowhere")) {
        print_error("mlp %s %s %s: exit %d, stderr '%s' (wanted exit 1 about the data)\n", cmd,
                    flag, value, st, f->err);
        fail();
    }
}

static const struct {
    const char *flag, *good;
} train_floats[] = {
    {"--lr", "0.1"},       {"--lr-end", "0.001"}, {"--lr-gamma", "0.5"}, {"--l2", "1e-4"},
    {"--momentum", "0.9"}, {"--maxnorm", "3"},    {"--dropout", "0.3"},  {"--dropout-in", "0.1"},
    {"--translate", "2"},  {"--rotate", "10"},    {"--scale", "0.1"},
};

static void test_train_floats(void **state)
{
    fixture *f = *state;
    for (size_t k = 0; k < sizeof train_floats / sizeof train_floats[0]; k++) {
        const char *flag = train_floats[k].flag;
        for (size_t v = 0; v < N_BAD_FLOATS; v++)
            expect_usage(f, run_flag(f, "train", flag, bad_floats[v]), "train", flag,
                         bad_floats[v]);
        const char *good = train_floats[k].good;
        expect_data_error(f, run_flag(f, "train", flag, good), "train", flag, good);
    }
}

/* Each part of --elastic A,S is checked as a flag of its own would be. */
static void test_train_elastic(void **state)
{
    fixture *f = *state;
    char v[64];
    for (size_t k = 0; k < N_BAD_FLOATS; k++) {
        const char *b = bad_floats[k];
        if (!strcmp(b, "1,5"))
            continue; /* "1,5,4" and "34,1,5" are below */
        /* the quoted ones ('' and ' 1') stay one shell word with the rest inside the quotes */
        if (b[0] == '\'')
            snprintf(v, sizeof v, "'%.*s,4'", (int)strlen(b) - 2, b + 1);
        else
            snprintf(v, sizeof v, "%s,4", b);
        expect_usage(f, run_flag(f, "train", "--elastic", v), "train", "--elastic alpha", v);
        if (b[0] == '\'')
            snprintf(v, sizeof v, "'34,%.*s'", (int)strlen(b) - 2, b + 1);
        else
            snprintf(v, sizeof v, "34,%s", b);
        expect_usage(f, run_flag(f, "train", "--elastic", v), "train", "--elastic sigma", v);
    }
    const char *more[] = {"34,1e-30", "34,0",   "34,-4", "34,11", "1001",
                          "1,5,4",    "34,1,5", ",",     "34,",   ""};
    for (size_t k = 0; k < sizeof more / sizeof more[0]; k++) {
        snprintf(v, sizeof v, "'%s'", more[k]);
        expect_usage(f, run_flag(f, "train", "--elastic", v), "train", "--elastic", v);
    }
    const char *good[] = {"34", "34,4", "0", "0,4", "1000,10", "34,0.1"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++)
        expect_data_error(f, run_flag(f, "train", "--elastic", good[k]), "train", "--elastic",
                          good[k]);
}

/* The ends of the ranges, on the values as floats keep them. */
static void test_train_float_ends(void **state)
{
    fixture *f = *state;
    const struct {
        const char *flag, *value;
    } refused[] =
        {
            {"--lr", "0"},
            {"--lr", "-0"},
            {"--lr", "1e-38"},
            {"--lr", "1000001"},
            {"--lr-gamma", "0"},
            {"--lr-gamma", "1001"},
            {"--momentum", "1"},
            {"--momentum", "0.99999999"}, /* 1 as a float */
            {"--dropout", "0.999999999"},
            {"--dropout-in", "1"},
            {"--l2", "-1e-50"},
            {"--l2", "1.0000001"},
            {"--maxnorm", "-1"},
            {"--scale", "0.91"},
            {"--rotate", "181"},
            {"--translate", "101"},
        },
      accepted[] = {
          {"--lr", "1e6"},        {"--lr", "1.2e-38"}, {"--lr-end", "0"},   {"--l2", "0"},
          {"--l2", "-0"},         {"--l2", "1"},       {"--momentum", "0"}, {"--maxnorm", "0"},
          {"--lr-gamma", "1000"}, {"--scale", "0.9"},  {"--rotate", "180"}, {"--dropout", "0"},
          {"--lr", "+0.5"},       {"--lr", ".5"},      {"--lr", "5E-1"},
      };
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++)
        expect_usage(f, run_flag(f, "train", refused[k].flag, refused[k].value), "train",
                     refused[k].flag, refused[k].value);
    for (size_t k = 0; k < sizeof accepted / sizeof accepted[0]; k++)
        expect_data_error(f, run_flag(f, "train", accepted[k].flag, accepted[k].value), "train",
                          accepted[k].flag, accepted[k].value);
}

static void test_gradcheck_floats(void **state)
{
    fixture *f = *state;
    const char *flags[] = {"--tol", "--h"};
    for (size_t k = 0; k < 2; k++) {
        for (size_t v = 0; v < N_BAD_FLOATS; v++) {
            int st = tu_cli_run(f, "gradcheck %s/nowhere %s %s", f->dir, flags[k], bad_floats[v]);
            expect_usage(f, st, "gradcheck", flags[k], bad_floats[v]);
        }
        int st = tu_cli_run(f, "gradcheck %s/nowhere %s 0", f->dir, flags[k]);
        expect_usage(f, st, "gradcheck", flags[k], "0");
        st = tu_cli_run(f, "gradcheck %s/nowhere %s 1e-3", f->dir, flags[k]);
        expect_data_error(f, st, "gradcheck", flags[k], "1e-3");
    }
}

static void test_size_flags(void **state)
{
    fixture *f = *state;
    const struct {
        const char *cmd, *flag, *good;
    } sizes[] = {
        {"train", "--epochs", "2"},
        {"train", "--batch", "10"},
        {"train", "--lr-step", "5"},
        {"train", "--warmup", "1"},
        {"train", "--val", "100"},
        {"train", "--threads", "1"},
        {"train", "--seed", "18446744073709551615"},
        {"gradcheck", "--seed", "0"},
        {"gradcheck", "--index", "3"},
        {"gradcheck", "--batch", "2"},
        {"gradcheck", "--knobs", "10"},
        {"bench", "--epochs", "1"},
        {"bench", "--threads", "1"},
    };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (size_t v = 0; v < N_BAD_SIZES; v++) {
            int st = tu_cli_run(f, "%s %s/nowhere %s %s", sizes[k].cmd, f->dir, sizes[k].flag,
                                bad_sizes[v]);
            expect_usage(f, st, sizes[k].cmd, sizes[k].flag, bad_sizes[v]);
        }
        bool train = !strcmp(sizes[k].cmd, "train"); /* only train has --out */
        int st = tu_cli_run(f, "%s %s/nowhere %s %s%s%s%s", sizes[k].cmd, f->dir, sizes[k].flag,
                            sizes[k].good, train ? " --out " : "", train ? f->dir : "",
                            train ? "/m.bin" : "");
        expect_data_error(f, st, sizes[k].cmd, sizes[k].flag, sizes[k].good);
    }
    /* commands that take a model: the flags are read before the model is */
    const struct {
        const char *args, *flag;
    } model_sizes[] = {
        {"explain %s/nowhere.bin --index %s", "--index"},
        {"explain %s/nowhere.bin --average %s", "--average"},
        {"explain %s/nowhere.bin --top %s", "--top"},
        {"weights %s/nowhere.bin --out x --scale %s", "--scale"},
    };
    for (size_t k = 0; k < sizeof model_sizes / sizeof model_sizes[0]; k++) {
        for (size_t v = 0; v < N_BAD_SIZES; v++) {
            int st = tu_cli_run(f, model_sizes[k].args, f->dir, bad_sizes[v]);
            expect_usage(f, st, "explain/weights", model_sizes[k].flag, bad_sizes[v]);
        }
    }
}

/* What the reader stores: the float as kept, exact zeros as +0, ends compared as floats. */
static void test_reader_stores(void **state)
{
    (void)state;
    const mlp_cli_range unit = {.lo = 0.0, .hi = 1.0}, sigma = {.lo = 0.1, .hi = 10.0};
    float x = 7.0f;
    assert_int_equal(mlp_cli_parse_float("t", "--x", "-0", 2, unit, &x), 0);
    assert_true(x == 0.0f && !signbit(x));
    assert_int_equal(mlp_cli_parse_float("t", "--x", "0.1", 3, sigma, &x), 0);
    assert_true(x == 0.1f); /* 0.1f is a little more than 0.1: its own end */
    assert_int_equal(mlp_cli_parse_float("t", "--x", "34,4", 2, unit, &x), MLP_EXIT_USAGE);
    assert_int_equal(mlp_cli_parse_float("t", "--x", "0.5,4", 3, unit, &x), 0);
    assert_true(x == 0.5f); /* only the n characters given */
    size_t n = 0;
    assert_int_equal(mlp_cli_parse_size("t", "--n", "18446744073709551615", 20, 0, SIZE_MAX, &n),
                     0);
    assert_true(n == SIZE_MAX);
    assert_int_equal(mlp_cli_parse_size("t", "--n", "12,3", 2, 0, 100, &n), 0);
    assert_true(n == 12);
}

/* A sigma the flag refuses can still come from elsewhere (mlp_sgd_opts_valid takes any
 * positive one, as in a checkpoint). Below 0.05 the Gaussian is its centre tap alone in a
 * float, so the image is the one sigma 0.05 gives, not the zeros of a 0/0 field (and under
 * SAN=1 no division by zero or NaN converted to an integer ends the test). */
static void test_augment_tiny_sigma(void **state)
{
    (void)state;
    enum { R = 12, C = 12 };
    float src[R * C], want[R * C], dst[R * C];
    float *scratch = calloc(mlp_augment_scratch(R, C), sizeof *scratch);
    assert_non_null(scratch);
    for (size_t i = 0; i < R * C; i++)
        src[i] = (float)(i % 7) / 7.0f;
    mlp_augment a = {.elastic_alpha = 2.0f, .elastic_sigma = 0.05f};
    mlp_augment_image(want, src, R, C, &a, 5, scratch);
    float sum = 0.0f;
    for (size_t i = 0; i < R * C; i++)
        sum += want[i];
    assert_true(sum > 1.0f); /* the picture survives the distortion */
    const float sigmas[] = {1e-30f, 1e-20f, 1e-3f};
    for (size_t k = 0; k < sizeof sigmas / sizeof sigmas[0]; k++) {
        a.elastic_sigma = sigmas[k];
        mlp_augment_image(dst, src, R, C, &a, 5, scratch);
        assert_memory_equal(dst, want, sizeof want);
    }
    free(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_stores),
        cmocka_unit_test(test_augment_tiny_sigma),
        cmocka_unit_test_setup_teardown(test_train_floats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_elastic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_float_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradcheck_floats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_flags, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
