/*
 * lr-find: the range test's table holds one row per batch with rates rising geometrically from
 * --from towards --to, the chart is written, the suggestion is one of the table's rates, a
 * rate that blows the cost up ends the test early, and bad flags are refused before any data
 * is read.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tu_cli c;
    char tsv[4096], svg[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_cli_open(&f->c);
    tu_write_synthetic(f->c.dir, 2000, 100, 10, 10, 4, 9);
    tu_path(f->tsv, f->c.dir, "lr.tsv");
    tu_path(f->svg, f->c.dir, "lr.svg");
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

/* The table's rows: rate and smoothed cost, n of them. */
static size_t read_rows(const char *path, double *lr, double *smooth, size_t cap)
{
    size_t len, n = 0;
    char *text = (char *)tu_read_file(path, &len);
    assert_non_null(text);
    text = realloc(text, len + 1);
    text[len] = '\0';
    assert_true(!strncmp(text, "batch\tlr\tcost\tsmoothed\n", 23));
    for (char *line = strchr(text, '\n') + 1; *line && n < cap; line = strchr(line, '\n') + 1) {
        size_t batch;
        double cost;
        assert_int_equal(sscanf(line, "%zu\t%lf\t%lf\t%lf", &batch, &lr[n], &cost, &smooth[n]), 4);
        assert_int_equal(batch, n + 1);
        n++;
    }
    free(text);
    return n;
}

static void test_table_chart_and_suggestion(void **state)
{
    fixture *f = *state;
    static double lr[4096], smooth[4096];
    assert_int_equal(tu_cli_run(&f->c,
                                "lr-find %s --optimizer adam --cost xent --batch 10 "
                                "--from 1e-5 --to 1 --log %s --plot %s --quiet",
                                f->c.dir, f->tsv, f->svg),
                     0);
    size_t n = read_rows(f->tsv, lr, smooth, 4096);
    assert_true(n >= 10 && n <= 200); /* 2,000 images in batches of 10 */
    assert_true(fabs(lr[0] - 1e-5) <= 1e-5 * 1e-5);
    /* the same factor every batch: 1e5^(1/199) */
    double ratio = pow(1e5, 1.0 / 199.0);
    for (size_t k = 1; k < n; k++)
        assert_true(fabs(lr[k] / lr[k - 1] - ratio) < 1e-4);
    if (n == 200)
        assert_true(fabs(lr[199] - 1.0) < 1e-5);
    else
        assert_non_null(strstr(f->c.out, "diverged"));
    /* the suggestion is a rate of the table, before the lowest smoothed cost */
    const char *s = strstr(f->c.out, "suggested learning rate: ");
    assert_non_null(s);
    double want = atof(s + strlen("suggested learning rate: "));
    size_t at = n, lowest = 0;
    for (size_t k = 0; k < n; k++) {
        if (smooth[k] < smooth[lowest])
            lowest = k;
        if (at == n && fabs(lr[k] - want) <= 1e-3 * want) /* printed to 3 digits */
            at = k;
    }
    assert_true(at < n && at <= lowest + 1);
    size_t len;
    char *svg = (char *)tu_read_file(f->svg, &len);
    assert_non_null(svg);
    assert_true(len > 500 && !strncmp(svg, "<?xml", 5) && strstr(svg, "</svg>"));
    assert_non_null(strstr(svg, "learning rate (log scale)"));
    free(svg);
}

/* Far too high a rate: the smoothed cost runs away, or a cost stops being finite, and the
 * test stops there with the rows so far. */
static void test_divergence_stops_the_test(void **state)
{
    fixture *f = *state;
    static double lr[4096], smooth[4096];
    assert_int_equal(tu_cli_run(&f->c,
                                "lr-find %s --activation relu --cost xent --batch 10 "
                                "--from 1 --to 1e6 --log %s --plot %s --quiet",
                                f->c.dir, f->tsv, f->svg),
                     0);
    size_t n = read_rows(f->tsv, lr, smooth, 4096);
    assert_true(n < 200);
    assert_non_null(strstr(f->c.out, "stopped there: the smoothed cost diverged"));
}

static void test_bad_flags_refused_before_data(void **state)
{
    fixture *f = *state;
    const struct {
        const char *args, *want;
    } cases[] = {
        {"--from 0", "--from"},
        {"--to -1", "--to"},
        {"--from 2 --to 1", "--from 2: it must be below --to"},
        {"--to nan", "--to"},
        {"--lr 0.1", "--lr does not apply"},
        {"--epochs 3", "--epochs does not apply"},
        {"--resume m.bin", "--resume does not apply"},
        {"--out m.bin", "--out does not apply"},
        {"--serve", "--serve does not apply"},
        {"--schedule=cosine", "--schedule does not apply"},
        {"--optimizer adam --momentum 0.9", "--momentum is sgd's"},
        {"--bogus", "unknown flag '--bogus'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = tu_cli_run(&f->c, "lr-find %s/nowhere %s", f->c.dir, cases[k].args);
        if (st != 2 || tu_count_lines(f->c.err) != 1 || !strstr(f->c.err, cases[k].want) ||
            !strstr(f->c.err, "lr-find")) {
            print_error("'%s': exit %d, stderr '%s' (wanted exit 2, one line with '%s')\n",
                        cases[k].args, st, f->c.err, cases[k].want);
            fail();
        }
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_table_chart_and_suggestion),
        T(test_divergence_stops_the_test),
        T(test_bad_flags_refused_before_data),
    };
    return cmocka_run_group_tests_name("lrfind", tests, NULL, NULL);
}
