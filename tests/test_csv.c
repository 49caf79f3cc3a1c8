/*
 * The CSV reader (csv.h), on files written here byte by byte: the layouts it reads (a header
 * naming a label column anywhere, no header, pixels only, CRLF, no final newline, a byte
 * order mark, quoted names, gzip), the shapes, one test per way a file can be bad, each
 * with its exact message, a file larger than the reader's window (read as the IDX reader
 * reads the same images), a file whose size alone is more than memory, and the checks of a
 * training set and its test set. tests/test_csv_cli.c runs the program on CSV files.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "csv.h"
#include "idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *dir;
    char path[4096]; /* the file of the last load */
    mlp_set s;
    mlp_csv_info info;
    mlp_error err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_tmpdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mlp_idx_set_free(&f->s);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes text (len bytes; 0: strlen) to dir/name and loads it with opt. */
static mlp_status load(fixture *f, const char *name, const char *text, size_t len,
                       const mlp_csv_opts *opt)
{
    tu_path(f->path, f->dir, name);
    tu_write_file(f->path, text, len ? len : strlen(text));
    mlp_idx_set_free(&f->s);
    f->info = (mlp_csv_info){0};
    return mlp_csv_load(&f->s, &f->info, f->path, opt, &f->err);
}

/* The load succeeded with n images of rows x cols. */
static void expect_set(const fixture *f, mlp_status st, size_t n, size_t rows, size_t cols)
{
    if (st != MLP_OK)
        fail_msg("%s", f->err.msg);
    assert_int_equal(f->s.n, n);
    assert_int_equal(f->s.rows, rows);
    assert_int_equal(f->s.cols, cols);
    assert_int_equal(f->s.dim, rows * cols);
}

/* Pixel k of image i is v / 255, bit for bit as the IDX reader makes it. */
static void expect_pixel(const fixture *f, size_t i, size_t k, unsigned v)
{
    float want = (float)v / 255.0f, got = f->s.x[i * f->s.dim + k];
    if (memcmp(&want, &got, sizeof got) != 0)
        fail_msg("image %zu pixel %zu: %.9g, not %u / 255 = %.9g", i, k, (double)got, v,
                 (double)want);
}

/* The load failed with "PATH: want", and left the set empty. */
static void expect_error(const fixture *f, mlp_status st, const char *want)
{
    char full[4096 + 256];
    snprintf(full, sizeof full, "%s: %s", f->path, want);
    if (st == MLP_OK || strcmp(f->err.msg, full) != 0)
        fail_msg("status %d, message '%s', wanted '%s'", (int)st, f->err.msg, full);
    assert_null(f->s.x);
    assert_null(f->s.y);
    assert_int_equal(f->s.n, 0);
}

/* ---------------------------------------------------------------- layouts */

static void test_kaggle_header(void **state)
{
    fixture *f = *state;
    mlp_status st =
        load(f, "train.csv", "label,pixel0,pixel1,pixel2,pixel3\n5,0,1,254,255\n0,7,70,100,9\n", 0,
             NULL);
    expect_set(f, st, 2, 2, 2);
    assert_true(f->info.header && f->info.labeled);
    assert_int_equal(f->info.label_column, 0);
    assert_int_equal(f->info.columns, 5);
    assert_int_equal(f->s.y[0], 5);
    assert_int_equal(f->s.y[1], 0);
    const unsigned want[2][4] = {{0, 1, 254, 255}, {7, 70, 100, 9}};
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 4; k++)
            expect_pixel(f, i, k, want[i][k]);
}

/* mnist_train.csv: no header, the label first; CRLF line ends, none after the last line */
static void test_no_header_crlf_no_final_newline(void **state)
{
    fixture *f = *state;
    mlp_status st = load(f, "mnist.csv", "3,0,0,0,9\r\n4,255,0,0,1\r\n7,1,2,3,4", 0, NULL);
    expect_set(f, st, 3, 2, 2);
    assert_false(f->info.header);
    assert_true(f->info.labeled);
    assert_int_equal(f->s.y[2], 7);
    expect_pixel(f, 0, 3, 9);
    expect_pixel(f, 1, 0, 255);
    expect_pixel(f, 2, 3, 4);
}

/* A byte order mark, quoted names, and the label column in the middle, named in capitals */
static void test_label_column_anywhere(void **state)
{
    fixture *f = *state;
    mlp_status st =
        load(f, "mid.csv",
             "\xef\xbb\xbf\"p0\",\"p,1\",\"LABEL\",p2,\"p\"\"3\"\n0,1,7,2,3\n9,8,2,7,6\n", 0, NULL);
    expect_set(f, st, 2, 2, 2);
    assert_int_equal(f->info.label_column, 2);
    assert_int_equal(f->s.y[0], 7);
    assert_int_equal(f->s.y[1], 2);
    expect_pixel(f, 0, 2, 2);
    expect_pixel(f, 1, 3, 6);
}

/* Kaggle's test.csv: pixels only. Read as such by the header, or by the width with a shape. */
static void test_unlabeled(void **state)
{
    fixture *f = *state;
    const char *kaggle = "pixel0,pixel1,pixel2,pixel3\n0,1,2,3\n4,5,6,7\n8,9,10,11\n";
    mlp_csv_opts autodetect = {.labels = MLP_CSV_AUTO}, none = {.labels = MLP_CSV_UNLABELED};
    expect_set(f, load(f, "test.csv", kaggle, 0, &autodetect), 3, 2, 2);
    assert_false(f->info.labeled);
    assert_null(f->s.y);
    expect_pixel(f, 2, 3, 11);
    expect_set(f, load(f, "test.csv", kaggle, 0, &none), 3, 2, 2);
    assert_null(f->s.y);
    expect_error(f, load(f, "test.csv", kaggle, 0, NULL),
                 "line 1: no column is named label, so the rows have no labels");
    expect_error(f, load(f, "l.csv", "label,a,b,c,d\n1,0,0,0,0\n", 0, &none),
                 "line 1, column 1: a label column, in a file read as pixels only");
    /* without a header: the width says, given the shape */
    mlp_csv_opts by_width = {.labels = MLP_CSV_AUTO, .rows = 2, .cols = 2};
    expect_set(f, load(f, "w4.csv", "0,1,2,3\n4,5,6,7\n", 0, &by_width), 2, 2, 2);
    assert_null(f->s.y);
    expect_set(f, load(f, "w5.csv", "9,0,1,2,3\n", 0, &by_width), 1, 2, 2);
    assert_int_equal(f->s.y[0], 9);
    expect_error(f, load(f, "w6.csv", "9,0,1,2,3,4\n", 0, &by_width),
                 "line 1: 6 values, but a 2x2 image has 4 pixels (5 with a label first)");
    /* and, without a shape, the first column is the label */
    expect_set(f, load(f, "w5.csv", "9,0,1,2,3\n", 0, &autodetect), 1, 2, 2);
    assert_non_null(f->s.y);
}

static void test_shapes(void **state)
{
    fixture *f = *state;
    const char *six = "label,a,b,c,d,e,f\n1,0,1,2,3,4,5\n";
    mlp_csv_opts two_by_three = {.rows = 2, .cols = 3}, three_by_three = {.rows = 3, .cols = 3};
    expect_set(f, load(f, "six.csv", six, 0, &two_by_three), 1, 2, 3);
    expect_pixel(f, 0, 5, 5);
    expect_error(f, load(f, "six.csv", six, 0, NULL),
                 "line 1: 6 pixel columns are not a square image; give its rows x cols "
                 "(--shape RxC)");
    expect_error(f, load(f, "six.csv", six, 0, &three_by_three),
                 "line 1: 6 pixel columns, but a 3x3 image has 9 pixels");
    expect_error(f, load(f, "one.csv", "label\n3\n", 0, NULL),
                 "line 1: a label and no pixels (values are separated by commas)");
    expect_error(f, load(f, "semi.csv", "label;a;b;c;d\n1;0;0;0;0\n", 0, NULL),
                 "line 1: no column is named label, so the rows have no labels");
}

/* ---------------------------------------------------------------- bad files */

static void test_bad_values(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"label,a,b,c,d\n1,0,0,0,0\n2,0,0,256,0\n",
         "line 3, column 4: 256 is not a pixel value (0 to 255)"},
        {"label,a,b,c,d\n1,0,-1,0,0\n", "line 2, column 3: -1 is not a pixel value (0 to 255)"},
        {"1,0,0,0,0\r\n2,0,abc,0,0\r\n", "line 2, column 3: 'abc' is not a pixel value (0 to 255)"},
        {"1,0,0,0,1.5\n", "line 1, column 5: 1.5 is not a pixel value (0 to 255)"},
        {"1,0,0,0,+1\n", "line 1, column 5: +1 is not a pixel value (0 to 255)"},
        {"1,0, 7,0,0\n", "line 1, column 3: ' 7' is not a pixel value (0 to 255)"},
        {"1,0,0255,0,0\n", "line 1, column 3: 0255 is not a pixel value (0 to 255)"},
        {"1,0,0,0,0\n1,0,\"7\",0,0\n", "line 2, column 3: '\"7\"' is not a pixel value (0 to 255)"},
        {"1,0,\x01,0,0\n", "line 1, column 3: '\\x01' is not a pixel value (0 to 255)"},
        {"1,0,,0,0\n", "line 1, column 3: an empty value is not a pixel value (0 to 255)"},
        {"label,a,b,c,d\n300,0,0,0,0\n", "line 2, column 1: 300 is not a label (0 to 255)"},
        {"label,a,b,c,d\n1,0,0,0,0\n2,0,0,0\n",
         "line 3, column 5: the row ends after 4 values; the header has 5 columns"},
        {"1,0,0,0,0\n2,0,0,0,0,7,8\n",
         "line 2, column 6: the row has 7 values; line 1 has 5 values"},
        {"label,a,b,c,d\n1,0,0,0,0\n\n2,0,0,0,0\n",
         "line 3: an empty line (every line after the header is an image)"},
        {"1,0,0,0,0\n\r\n", "line 2: an empty line (every line is an image)"},
        {"", "empty file: no header and no images"},
        {"\xef\xbb\xbf", "empty file: no header and no images"},
        {"\n1,0,0,0,0\n", "line 1: an empty line"},
        {"label,a,b,c,d\n", "no images after the header (line 1)"},
        {"label,a,b,c,d\r\n", "no images after the header (line 1)"},
        {"label,a,label,c,d\n1,0,0,0,0\n",
         "line 1, column 3: a second label column (the first is column 1)"},
        {",label,a,b,c,d\n0,1,0,0,0,0\n",
         "line 1, column 1: a column without a name (an index column? write the file without "
         "one, as pandas' to_csv(index=False) does)"},
        {"label,a,b,c,d,\n1,0,0,0,0\n", "line 1, column 6: a column without a name"},
        {"label,\"a,b,c,d\n1,0,0,0,0\n", "line 1, column 2: a quote that never closes"},
        {"label,\"a\"x,b,c,d\n1,0,0,0,0\n", "line 1, column 2: text after the closing quote"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        expect_error(f, load(f, "bad.csv", bad[k].text, 0, NULL), bad[k].want);
    /* the class count a caller gives, for eval against a model */
    mlp_csv_opts ten = {.classes = 10, .classes_of = "the model's"}, any = {.classes = 3};
    const char *twelve = "label,a,b,c,d\n9,0,0,0,0\n12,0,0,0,0\n";
    expect_error(f, load(f, "c.csv", twelve, 0, &ten),
                 "line 3, column 1: label 12 is not one of the model's 10 classes (0 to 9)");
    expect_error(f, load(f, "c.csv", twelve, 0, &any),
                 "line 2, column 1: label 9 is not one of the 3 classes (0 to 2)");
}

/* A line too long to be a row is refused from what fits, not read whole. */
static void test_long_lines(void **state)
{
    fixture *f = *state;
    size_t n = 1 << 20;
    char *text = malloc(n + 64);
    strcpy(text, "label,a,b,c,d\n1,");
    size_t len = strlen(text);
    memset(text + len, '7', n);
    strcpy(text + len + n, ",0,0,0\n");
    expect_error(f, load(f, "long.csv", text, 0, NULL),
                 "line 2, column 2: 777777777777777777... is not a pixel value (0 to 255)");
    /* as many short values as make a long line: too many, and said so */
    len = strlen("label,a,b,c,d\n");
    for (size_t i = 0; i < 1000; i++)
        memcpy(text + len + 2 * i, "0,", 2);
    strcpy(text + len + 2000, "0\n");
    expect_error(f, load(f, "wide.csv", text, 0, NULL),
                 "line 2, column 6: the row has more than 5 values; the header has 5 columns");
    free(text);
}

/* Rows (and a header) larger than the reader's window, read across many refills: the values
 * are those written, and the same as the IDX files of the same images give. */
static void test_larger_than_the_window(void **state)
{
    fixture *f = *state;
    const size_t n = 400, rows = 30, cols = 30, dim = rows * cols;
    uint8_t *px = malloc(n * dim), *y = malloc(n);
    uint64_t rng = 5;
    size_t cap = 64 + dim * 16 + n * (4 + dim * 4), len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "label");
    for (size_t k = 0; k < dim; k++)
        len += (size_t)snprintf(text + len, cap - len, ",pixel_with_a_long_name_%zu", k);
    len += (size_t)snprintf(text + len, cap - len, "\r\n");
    for (size_t i = 0; i < n; i++) {
        y[i] = (uint8_t)mlp_rng_below(&rng, 10);
        len += (size_t)snprintf(text + len, cap - len, "%u", y[i]);
        for (size_t k = 0; k < dim; k++) {
            px[i * dim + k] = (uint8_t)mlp_rng_below(&rng, 256);
            len += (size_t)snprintf(text + len, cap - len, ",%u", px[i * dim + k]);
        }
        len += (size_t)snprintf(text + len, cap - len, i % 2 ? "\n" : "\r\n");
    }
    assert_true(len > 4 * (1u << 18)); /* several windows */
    expect_set(f, load(f, "big.csv", text, len, NULL), n, rows, cols);
    assert_memory_equal(f->s.y, y, n);

    char images[4096], labels[4096];
    tu_path(images, f->dir, "images");
    tu_path(labels, f->dir, "labels");
    tu_write_idx_images(images, (uint32_t)n, (uint32_t)rows, (uint32_t)cols, px);
    tu_write_idx_labels(labels, (uint32_t)n, y);
    mlp_set idx = {0};
    assert_int_equal(mlp_idx_load_set(&idx, images, labels, &f->err), MLP_OK);
    assert_memory_equal(idx.x, f->s.x, n * dim * sizeof(float));
    mlp_idx_set_free(&idx);
    free(text);
    free(px);
    free(y);
}

/* The same file gzipped reads the same; a damaged one is refused. */
static void test_gzip(void **state)
{
    fixture *f = *state;
    const char *text = "label,a,b,c,d\n1,0,0,0,9\n2,255,0,0,0\n";
    char path[4096];
    tu_path(path, f->dir, "g.csv.gz");
    tu_write_gzip(path, text, strlen(text));
    mlp_set s = {0};
    assert_int_equal(mlp_csv_load(&s, NULL, path, NULL, &f->err), MLP_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.y[1], 2);
    assert_true(s.x[3] == 9.0f / 255.0f);
    mlp_idx_set_free(&s);

    size_t n;
    unsigned char *gz = tu_read_file(path, &n);
    tu_write_file(path, gz, n - 5);
    assert_int_not_equal(mlp_csv_load(&s, NULL, path, NULL, &f->err), MLP_OK);
    assert_non_null(strstr(f->err.msg, "g.csv.gz: truncated"));
    assert_null(s.x);
    gz[n - 6] ^= 1; /* in the CRC-32 */
    tu_write_file(path, gz, n);
    assert_int_not_equal(mlp_csv_load(&s, NULL, path, NULL, &f->err), MLP_OK);
    assert_non_null(strstr(f->err.msg, "CRC-32 mismatch"));
    tu_write_file(path, gz, 10);
    assert_int_not_equal(mlp_csv_load(&s, NULL, path, NULL, &f->err), MLP_OK);
    assert_non_null(strstr(f->err.msg, "g.csv.gz: truncated gzip file (10 bytes)"));
    free(gz);
}

/* Eight times the machine's memory of rows, claimed by the file's size: refused before any
 * row is read, with the figures. */
static void test_more_rows_than_memory(void **state)
{
    fixture *f = *state;
    unsigned long long size = tu_beyond_memory();
    tu_path(f->path, f->dir, "huge.csv");
    if (!tu_write_sparse(f->path, "label,a,b,c,d\n1,0,0,0,0\n", size)) {
        print_message("skipped: this file system takes no sparse file of %llu bytes\n", size);
        unlink(f->path);
        return;
    }
    double t0 = mlp_now();
    mlp_status st = mlp_csv_load(&f->s, NULL, f->path, NULL, &f->err);
    unlink(f->path);
    assert_int_equal(st, MLP_ENOMEM);
    assert_non_null(strstr(f->err.msg, "huge.csv: loading at least "));
    assert_non_null(strstr(f->err.msg, "more than this machine's memory"));
    assert_true(mlp_now() - t0 < 5.0); /* the hole was never read */
    assert_null(f->s.x);
}

/* mlp_csv_load_files: the checks of a training set and its test set */
static void test_load_files(void **state)
{
    fixture *f = *state;
    char train[4096], test[4096];
    tu_path(train, f->dir, "train.csv");
    tu_path(test, f->dir, "test.csv");
    const char *t = "label,a,b,c,d\n0,1,2,3,4\n4,5,6,7,8\n1,0,0,0,0\n";
    tu_write_file(train, t, strlen(t));
    mlp_data d = {0};
    mlp_csv_files files = {.train = train, .test = test};
    const char *tests[][2] = {
        {"1,0,0,0,0\n3,1,1,1,1\n", NULL},
        {"1,0,0,0,0\n5,1,1,1,1\n",
         "line 2, column 1: label 5 is not one of the training set's 5 classes (0 to 4)"},
        {"1,0,0,0,0,0,0,0,0,0\n", "line 1: 9 pixel columns, but a 2x2 image has 4 pixels"},
    };
    for (size_t k = 0; k < 3; k++) {
        tu_write_file(test, tests[k][0], strlen(tests[k][0]));
        mlp_status st = mlp_csv_load_files(&d, &files, &f->err);
        if (!tests[k][1]) {
            assert_int_equal(st, MLP_OK);
            assert_int_equal(d.n_classes, 5);
            assert_int_equal(d.train.n, 3);
            assert_int_equal(d.test.n, 2);
            mlp_data_free(&d);
            continue;
        }
        char want[4200];
        snprintf(want, sizeof want, "%s: %s", test, tests[k][1]);
        assert_int_not_equal(st, MLP_OK);
        assert_string_equal(f->err.msg, want);
        assert_null(d.train.x);
    }
    files.test = NULL; /* the caller holds the test set out */
    assert_int_equal(mlp_csv_load_files(&d, &files, &f->err), MLP_OK);
    assert_int_equal(d.test.n, 0);
    mlp_data_free(&d);
    tu_write_file(train, "0,0,0,0,0\n0,1,1,1,1\n", 20);
    assert_int_not_equal(mlp_csv_load_files(&d, &files, &f->err), MLP_OK);
    assert_non_null(strstr(f->err.msg, "train.csv: every label is 0; training needs two"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_kaggle_header),
        T(test_no_header_crlf_no_final_newline),
        T(test_label_column_anywhere),
        T(test_unlabeled),
        T(test_shapes),
        T(test_bad_values),
        T(test_long_lines),
        T(test_larger_than_the_window),
        T(test_gzip),
        T(test_more_rows_than_memory),
        T(test_load_files),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
