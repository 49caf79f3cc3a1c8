/*
 * The program on CSV data sets (MLP_BIN, default ./mlp). The requirement first: a model
 * trained from CSV files written out of IDX files equals, parameter for parameter, the model
 * trained from the IDX files, with every flag that draws random numbers. Then a lone CSV, its
 * test set held out by the seed and --val on top, whose record, run again, writes the same
 * file; resume, and resume on other data refused; eval on CSV, plain and gzipped; every bad
 * file the issue lists refused with exit status 1, one line naming the file (and the line
 * and column), and no model written; and the usage errors of the CSV flags.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "idx.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    tu_cli c;
    char train[4096], test[4096], model[4096];
} fixture;

/* Writes set as CSV: a Kaggle header or none, LF or CRLF. */
static void write_csv(const char *path, const mlp_set *s, bool header, bool crlf)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const char *eol = crlf ? "\r\n" : "\n";
    if (header) {
        fprintf(f, "label");
        for (size_t k = 0; k < s->dim; k++)
            fprintf(f, ",pixel%zu", k);
        fputs(eol, f);
    }
    for (size_t i = 0; i < s->n; i++) {
        fprintf(f, "%u", s->y[i]);
        for (size_t k = 0; k < s->dim; k++)
            fprintf(f, ",%ld", lrintf(s->x[i * s->dim + k] * 255.0f));
        fputs(eol, f);
    }
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_cli_open(&f->c);
    tu_write_synthetic(f->c.dir, 600, 150, 6, 6, 5, 17);
    mlp_data d = {0};
    mlp_error err;
    assert_int_equal(mlp_idx_load(&d, f->c.dir, &err), MLP_OK);
    tu_path(f->train, f->c.dir, "train.csv");
    tu_path(f->test, f->c.dir, "test.csv");
    tu_path(f->model, f->c.dir, "m.bin");
    write_csv(f->train, &d.train, true, true); /* as Kaggle's, with CRLF */
    write_csv(f->test, &d.test, false, false); /* as mnist_test.csv */
    mlp_data_free(&d);
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

static void expect_ok(fixture *f, int st)
{
    if (st != 0)
        fail_msg("exit %d\nstdout: %s\nstderr: %s", st, f->c.out, f->c.err);
}

/* The parameters of two model files, compared float for float. */
static void expect_same_params(const char *a, const char *b)
{
    mlp_net na = {0}, nb = {0};
    mlp_model_meta ma, mb;
    mlp_error err;
    assert_int_equal(mlp_model_load(a, &na, 1, &ma, &err), MLP_OK);
    assert_int_equal(mlp_model_load(b, &nb, 1, &mb, &err), MLP_OK);
    assert_int_equal(na.n_params, nb.n_params);
    if (memcmp(na.params, nb.params, na.n_params * sizeof(float)) != 0)
        fail_msg("%s and %s: the parameters differ", a, b);
    assert_true(ma.test_accuracy == mb.test_accuracy);
    mlp_net_free(&na);
    mlp_net_free(&nb);
}

/* The requirement: CSV written out of the IDX files trains the same model, with the
 * flags that draw random numbers (validation, dropout, augmentation, momentum). */
static void test_parity_with_idx(void **state)
{
    fixture *f = *state;
    const char *flags = "--hidden 12 --epochs 3 --momentum 0.5 --val 60 --dropout 0.1 "
                        "--translate 1 --cost xent --quiet";
    char idx_model[4096], gz[4096];
    tu_path(idx_model, f->c.dir, "idx.bin");
    expect_ok(f, tu_cli_run(&f->c, "train %s %s --out %s", f->c.dir, flags, idx_model));
    expect_ok(f, tu_cli_run(&f->c, "train --train-csv %s --test-csv %s %s --out %s", f->train,
                            f->test, flags, f->model));
    expect_same_params(idx_model, f->model);
    /* and gzipped, the test set named in DIR's place for eval */
    size_t n;
    unsigned char *b = tu_read_file(f->test, &n);
    tu_path(gz, f->c.dir, "test.csv.gz");
    tu_write_gzip(gz, b, n);
    free(b);
    expect_ok(f, tu_cli_run(&f->c, "eval %s %s", f->model, f->c.dir));
    char idx_report[TU_CLI_CAP];
    strcpy(idx_report, strstr(f->c.out, "accuracy"));
    expect_ok(f, tu_cli_run(&f->c, "eval %s %s", f->model, gz));
    assert_string_equal(strstr(f->c.out, "accuracy"), idx_report);
    assert_non_null(strstr(f->c.out, "data "));
    expect_ok(f, tu_cli_run(&f->c, "eval %s --test-csv %s --json", f->model, f->test));
    assert_true(tu_json_valid(f->c.out));
    assert_non_null(strstr(f->c.out, "test.csv\",\"labels\":"));
    assert_non_null(strstr(f->c.out, "\"images\":150,"));
}

/* The record of a model file, after "command" in `mlp info`. */
static void recorded(fixture *f, char *out, size_t cap)
{
    expect_ok(f, tu_cli_run(&f->c, "info %s", f->model));
    const char *cmd = strstr(f->c.out, "command      mlp ");
    assert_non_null(cmd);
    cmd += strlen("command      mlp ");
    snprintf(out, cap, "%.*s", (int)strcspn(cmd, "\n"), cmd);
}

/* `mlp train FILE.csv`: the test set held out by the seed, --val among the rest; the record
 * names the count and, run again, writes the same file. */
static void test_lone_csv(void **state)
{
    fixture *f = *state;
    expect_ok(f, tu_cli_run(&f->c, "train %s --hidden 8 --epochs 2 --val 50 --out %s", f->train,
                            f->model));
    assert_non_null(strstr(f->c.out, "data "));
    assert_non_null(strstr(f->c.out, ": 490 training (and 50 held out for validation) and 60 "
                                     "test images (held out by the seed) of 6x6, 5 classes\n"));
    char cmd[8192];
    recorded(f, cmd, sizeof cmd);
    assert_non_null(strstr(cmd, " --train-csv "));
    assert_non_null(strstr(cmd, " --test-split 60"));
    size_t n1, n2;
    unsigned char *first = tu_read_file(f->model, &n1);
    expect_ok(f, tu_cli_run(&f->c, "%s", cmd));
    unsigned char *again = tu_read_file(f->model, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(first, again, n1);
    free(first);
    free(again);

    /* another count, another seed: other test sets, the same sizes */
    expect_ok(f, tu_cli_run(&f->c, "train %s --hidden 8 --epochs 1 --test-split 100 --out %s",
                            f->train, f->model));
    assert_non_null(strstr(f->c.out, ": 500 training and 100 test images (held out"));
    char a[256], b[256];
    expect_ok(f, tu_cli_run(&f->c,
                            "train %s --hidden 8 --epochs 1 --test-split 100 --seed 2 "
                            "--out %s",
                            f->train, f->model));
    snprintf(a, sizeof a, "%s", strstr(f->c.out, "epoch   1"));
    expect_ok(f, tu_cli_run(&f->c,
                            "train %s --hidden 8 --epochs 1 --test-split 100 --seed 3 "
                            "--out %s",
                            f->train, f->model));
    snprintf(b, sizeof b, "%s", strstr(f->c.out, "epoch   1"));
    assert_string_not_equal(a, b);
}

/* Resume of a CSV run: the same parameters as a run without a stop; other data refused. */
static void test_resume(void **state)
{
    fixture *f = *state;
    const char *flags = "--hidden 8 --schedule constant --lr 0.5 --test-split 80 --quiet";
    char whole[4096], changed[4096];
    tu_path(whole, f->c.dir, "whole.bin");
    expect_ok(f, tu_cli_run(&f->c, "train %s %s --epochs 3 --out %s", f->train, flags, whole));
    expect_ok(f, tu_cli_run(&f->c, "train %s %s --epochs 1 --out %s", f->train, flags, f->model));
    expect_ok(f, tu_cli_run(&f->c, "train --train-csv %s --test-split 80 --resume %s --epochs 3",
                            f->train, f->model));
    expect_same_params(whole, f->model);

    expect_ok(f, tu_cli_run(&f->c, "train %s %s --epochs 1 --out %s", f->train, flags, f->model));
    int st =
        tu_cli_run(&f->c, "train %s --test-split 81 --resume %s --epochs 2", f->train, f->model);
    assert_int_equal(st, 1);
    assert_non_null(strstr(f->c.err, "train.csv: not the data"));
    assert_non_null(strstr(f->c.err, "(the sizes differ)"));
    /* the first digit of every image's last pixel changed, so the training part changes */
    size_t n;
    unsigned char *b = tu_read_file(f->train, &n);
    for (unsigned char *eol = b + 1; (eol = memchr(eol, '\n', n - (size_t)(eol - b))); eol++) {
        unsigned char *v = eol;
        while (v[-1] != ',')
            v--;
        *v = *v == '0' ? '1' : '0';
    }
    tu_path(changed, f->c.dir, "changed.csv");
    tu_write_file(changed, b, n);
    free(b);
    st = tu_cli_run(&f->c, "train %s --test-split 80 --resume %s --epochs 2", changed, f->model);
    assert_int_equal(st, 1);
    assert_non_null(strstr(f->c.err, "changed.csv: not the data"));
    assert_int_equal(tu_count_lines(f->c.err), 1);
}

/* One line naming the file (and the line and column), exit status 1, and no model file. */
static void expect_refused(fixture *f, int st, const char *want)
{
    if (st != 1 || tu_count_lines(f->c.err) != 1 || !strstr(f->c.err, want))
        fail_msg("exit %d, stderr '%s' (wanted exit 1 and one line with '%s')", st, f->c.err, want);
    assert_int_equal(access(f->model, F_OK), -1);
}

/* dir/name holds text. */
static void put(const fixture *f, char *path, const char *name, const char *text)
{
    tu_path(path, f->c.dir, name);
    tu_write_file(path, text, strlen(text));
}

/* Each bad file as the training set and as the test set of a good one. */
static void test_bad_files_refused(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *name, *text, *want;
    } bad[] = {
        {"ragged.csv", "label,a,b,c,d\n1,0,0,0,0\n2,0,0,0\n",
         "ragged.csv: line 3, column 5: the row ends after 4 values"},
        {"256.csv", "label,a,b,c,d\n1,0,0,0,0\n2,0,0,256,0\n",
         "256.csv: line 3, column 4: 256 is not a pixel value (0 to 255)"},
        {"minus.csv", "1,0,0,0,0\n2,0,-1,0,0\n",
         "minus.csv: line 2, column 3: -1 is not a pixel value (0 to 255)"},
        {"word.csv", "1,0,0,0,0\n2,0,0,0,x\n",
         "word.csv: line 2, column 5: 'x' is not a pixel value (0 to 255)"},
        {"empty.csv", "", "empty.csv: empty file"},
        {"header.csv", "label,a,b,c,d\n", "header.csv: no images after the header"},
    };
    char good[4096], path[4096];
    put(f, good, "good.csv", "label,a,b,c,d\n0,0,0,0,0\n1,9,9,9,9\n2,0,9,0,9\n3,9,0,9,0\n");
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        put(f, path, bad[k].name, bad[k].text);
        expect_refused(f, tu_cli_run(&f->c, "train %s --out %s", path, f->model), bad[k].want);
        expect_refused(
            f,
            tu_cli_run(&f->c, "train --train-csv %s --test-csv %s --out %s", good, path, f->model),
            bad[k].want);
    }
    /* a label outside the model's classes, for eval */
    char model[4096];
    tu_path(model, f->c.dir, "four.bin");
    expect_ok(f, tu_cli_run(&f->c, "train %s --test-split 1 --hidden 4 --epochs 1 --out %s", good,
                            model));
    put(f, path, "seven.csv", "label,a,b,c,d\n3,0,0,0,0\n7,0,0,0,0\n");
    expect_refused(f, tu_cli_run(&f->c, "eval %s %s", model, path),
                   "seven.csv: line 3, column 1: label 7 is not one of the model's 4 classes "
                   "(0 to 3)");
    /* a truncated gzip file */
    size_t n;
    unsigned char *b = tu_read_file(f->train, &n);
    tu_path(path, f->c.dir, "cut.csv.gz");
    tu_write_gzip(path, b, n / 2);
    free(b);
    b = tu_read_file(path, &n);
    tu_write_file(path, b, n - 100);
    free(b);
    expect_refused(f, tu_cli_run(&f->c, "train %s --out %s", path, f->model),
                   "cut.csv.gz: truncated");
    /* a size that claims more rows than memory holds */
    tu_path(path, f->c.dir, "huge.csv");
    if (tu_write_sparse(path, "label,a,b,c,d\n1,0,0,0,0\n", tu_beyond_memory()))
        expect_refused(f, tu_cli_run(&f->c, "train %s --out %s", path, f->model),
                       "huge.csv: loading at least ");
    unlink(path);
}

static void test_usage_errors(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *args, *want;
    } bad[] = {
        {"train --test-csv %s", "--test-csv needs a training CSV"},
        {"train data --test-split 5 --shape 6x6 --train-images %s",
         "--test-split needs a training CSV"},
        {"train --train-csv %s --test-csv x.csv --test-split 5",
         "--test-split and --test-csv: the test set is either"},
        {"train --train-csv %s --train-labels x", "--train-labels and a training CSV"},
        {"train %s --train-csv x.csv", "and --train-csv: name the training set once"},
        {"train --train-csv %s --shape 6", "--shape: '6' is not ROWSxCOLS (as 28x28)"},
        {"train --train-csv %s --shape 0x6", "--shape rows: 0 is out of range"},
        {"train --train-csv %s --shape 2000x2000", "4000000 pixels, more than the 1048576"},
        {"train --train-csv %s --test-split 0", "--test-split: 0 is out of range"},
        {"eval m.bin %s --test-csv x.csv", "and --test-csv: name the test set once"},
        {"eval m.bin --test-csv %s --test-images x", "--test-images and a CSV test set"},
        {"eval m.bin --test-csv %s --shape 6x6", "unknown flag '--shape'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int st = tu_cli_run(&f->c, bad[k].args, f->train);
        if (st != 2 || tu_count_lines(f->c.err) != 1 || !strstr(f->c.err, bad[k].want))
            fail_msg("'%s': exit %d, stderr '%s' (wanted exit 2 and '%s')", bad[k].args, st,
                     f->c.err, bad[k].want);
    }
    int st = tu_cli_run(&f->c, "train %s --test-split 600 --out %s", f->train, f->model);
    assert_int_equal(st, 2);
    assert_non_null(strstr(f->c.err, "--test-split 600: "));
    assert_non_null(strstr(f->c.err, "train.csv has only 600 images"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_parity_with_idx),   T(test_lone_csv),     T(test_resume),
        T(test_bad_files_refused), T(test_usage_errors),
    };
    return cmocka_run_group_tests_name("csv_cli", tests, NULL, NULL);
}
