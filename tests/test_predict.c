/*
 * predict with many pictures: files and directories in name order, one line each whose class
 * is what the library computes for the picture; --csv (quoted names) and --json with the same
 * results; --center on a picture of another size, larger, off centre and dark on white, gives
 * the class of mlp_prepare_digit's input; refusals name the picture or the flag.
 */
#include "testutil.h"

#include "idx.h"
#include "model.h"
#include "net.h"
#include "pgm.h"
#include "png.h"
#include "prepare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    tu_cli c;
    char model[4096];
    mlp_set test;
    mlp_net net;
    mlp_model_meta meta;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mlp_error e;
    tu_cli_open(&f->c);
    tu_write_synthetic(f->c.dir, 1500, 30, 12, 12, 6, 5);
    tu_path(f->model, f->c.dir, "m.bin");
    assert_int_equal(
        tu_cli_run(&f->c, "train %s --hidden 16 --epochs 3 --out %s", f->c.dir, f->model), 0);
    assert_int_equal(mlp_idx_load_test(&f->test, f->c.dir, &e), MLP_OK);
    assert_int_equal(mlp_model_load(f->model, &f->net, 1, &f->meta, &e), MLP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mlp_net_free(&f->net);
    mlp_idx_set_free(&f->test);
    tu_cli_close(&f->c);
    free(f);
    return 0;
}

/* The class the model gives to the 12x12 input x. */
static size_t class_of(fixture *f, const float *x)
{
    mlp_net_set_input(&f->net, 0, x);
    mlp_net_forward(&f->net, 1);
    return mlp_net_predict_row(&f->net, 0);
}

/* Test image i as an 8-bit PGM at path. */
static void write_image(fixture *f, size_t i, const char *path)
{
    uint8_t px[144];
    mlp_error e;
    for (size_t k = 0; k < 144; k++)
        px[k] = (uint8_t)(f->test.x[i * 144 + k] * 255.0f + 0.5f);
    assert_int_equal(mlp_pgm_save(path, px, 12, 12, 1, &e), MLP_OK);
}

/* The class test image i gets once saved as 8 bits and read back, as predict reads it. */
static size_t saved_class(fixture *f, size_t i)
{
    float x[144];
    for (size_t k = 0; k < 144; k++)
        x[k] = (float)(int)(f->test.x[i * 144 + k] * 255.0f + 0.5f) / 255.0f;
    return class_of(f, x);
}

static void test_files_and_directories(void **state)
{
    fixture *f = *state;
    char dir[4096], path[4096], one[4096], csv[4096], want[8192] = "";
    tu_path(dir, f->c.dir, "pics");
    assert_int_equal(mkdir(dir, 0777), 0);
    const char *names[3] = {"b.pgm", "a,odd.PGM", "c.pgm"}; /* name order: a,odd b c */
    const size_t order[3] = {1, 0, 2};
    for (size_t k = 0; k < 3; k++) {
        tu_path(path, dir, names[k]);
        write_image(f, k + 4, path);
    }
    tu_path(path, dir, "notes.txt"); /* not a picture: left out */
    tu_write_file(path, "x", 1);
    tu_path(one, f->c.dir, "one.pgm");
    write_image(f, 9, one);
    tu_path(csv, f->c.dir, "out.csv");

    assert_int_equal(tu_cli_run(&f->c, "predict %s %s %s --csv %s", f->model, one, dir, csv), 0);
    assert_int_equal(tu_count_lines(f->c.out), 4);
    char line[4200];
    snprintf(line, sizeof line, "%s  class %zu  ", one, saved_class(f, 9));
    assert_true(!strncmp(f->c.out, line, strlen(line)));
    const char *at = f->c.out;
    for (size_t k = 0; k < 3; k++) {
        tu_path(path, dir, names[order[k]]);
        snprintf(line, sizeof line, "\n%s/%s  class %zu  ", dir, names[order[k]],
                 saved_class(f, order[k] + 4));
        const char *hit = strstr(at, line);
        assert_non_null(hit);
        at = hit + 1;
    }
    /* the CSV: a header, the same rows, the name with a comma quoted */
    size_t len;
    char *text = (char *)tu_read_file(csv, &len);
    text = realloc(text, len + 1);
    text[len] = '\0';
    assert_true(!strncmp(text, "file,class,score\n", 17));
    assert_int_equal(tu_count_lines(text), 5);
    snprintf(want, sizeof want, "\"%s/a,odd.PGM\",%zu,", dir, saved_class(f, 5));
    assert_non_null(strstr(text, want));
    free(text);

    /* --json: the same classes */
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --json", f->model, dir), 0);
    assert_true(tu_json_valid(f->c.out));
    snprintf(want, sizeof want, "c.pgm\",\"class\":%zu,", saved_class(f, 6));
    assert_non_null(strstr(f->c.out, want));
}

/* A PNG (RGB, each pixel's three samples the grey value) is read as the same picture as the
 * PGM: the same class and score; a directory mixes them in name order. */
static void test_png_reads_as_the_pgm(void **state)
{
    fixture *f = *state;
    char pgm[4096], png[4096], dir[4096];
    uint8_t rgb[3 * 144];
    mlp_error e;
    tu_path(dir, f->c.dir, "mixed");
    assert_int_equal(mkdir(dir, 0777), 0);
    tu_path(pgm, dir, "a.pgm");
    tu_path(png, dir, "b.png");
    write_image(f, 11, pgm);
    for (size_t k = 0; k < 144; k++)
        rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] =
            (uint8_t)(f->test.x[11 * 144 + k] * 255.0f + 0.5f);
    assert_int_equal(mlp_png_save(png, rgb, 12, 12, 3, &e), MLP_OK);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s", f->model, dir), 0);
    char a[256], b[256];
    assert_int_equal(sscanf(f->c.out, "%*s class %255[^\n]\n%*s class %255[^\n]", a, b), 2);
    assert_string_equal(a, b);
    char want[64];
    snprintf(want, sizeof want, "class %zu  ", saved_class(f, 11));
    assert_non_null(strstr(f->c.out, want));
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s", f->model, png), 0);
    assert_non_null(strstr(f->c.out, "12x12, PNG"));
}

/* --transpose turns each picture before classifying it: a test image's transpose gets the
 * test image's class and score. */
static void test_transpose(void **state)
{
    fixture *f = *state;
    char path[4096], want[64];
    uint8_t px[144];
    mlp_error e;
    for (size_t y = 0; y < 12; y++)
        for (size_t x = 0; x < 12; x++)
            px[x * 12 + y] = (uint8_t)(f->test.x[13 * 144 + y * 12 + x] * 255.0f + 0.5f);
    tu_path(path, f->c.dir, "sideways.pgm");
    assert_int_equal(mlp_pgm_save(path, px, 12, 12, 1, &e), MLP_OK);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --transpose", f->model, path), 0);
    snprintf(want, sizeof want, "class %zu\n", saved_class(f, 13));
    assert_non_null(strstr(f->c.out, want));
    char upright[4096];
    tu_path(upright, f->c.dir, "upright.pgm");
    write_image(f, 13, upright);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s", f->model, upright), 0);
    char a[TU_CLI_CAP];
    snprintf(a, sizeof a, "%s", strstr(f->c.out, "class "));
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --transpose", f->model, path), 0);
    assert_string_equal(strstr(f->c.out, "class "), a);
}

static void test_center_prepares_a_larger_picture(void **state)
{
    fixture *f = *state;
    char path[4096];
    /* test image 7, twice as large, dark on white, towards the bottom right of 40x30 */
    enum { W = 40, H = 30 };
    uint8_t px[W * H];
    float as_read[W * H], x[144];
    memset(px, 255, sizeof px);
    for (size_t y = 0; y < 24; y++)
        for (size_t xx = 0; xx < 24; xx++)
            px[(y + 5) * W + xx + 14] =
                (uint8_t)(255 - (int)(f->test.x[7 * 144 + (y / 2) * 12 + xx / 2] * 255.0f + 0.5f));
    for (size_t k = 0; k < W * H; k++)
        as_read[k] = px[k] / 255.0f;
    mlp_error e;
    tu_path(path, f->c.dir, "big.pgm");
    assert_int_equal(mlp_pgm_save(path, px, W, H, 1, &e), MLP_OK);

    assert_int_equal(tu_cli_run(&f->c, "predict %s %s", f->model, path), 1);
    assert_int_equal(tu_count_lines(f->c.err), 1);
    assert_non_null(strstr(f->c.err, "40x30"));
    assert_non_null(strstr(f->c.err, "--center"));

    mlp_prepare_info info;
    assert_int_equal(mlp_prepare_digit(as_read, H, W, x, 12, 12, &info, &e), MLP_OK);
    assert_true(info.inverted);
    char want[64];
    snprintf(want, sizeof want, "class %zu\n", class_of(f, x));
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --center --show --ascii", f->model, path), 0);
    assert_non_null(strstr(f->c.out, want));
    assert_non_null(strstr(f->c.out, "prepared as MNIST's digits"));
}

/* Kaggle's test.csv: a header of pixel columns, a row per image, no labels. --csv writes the
 * submission, ImageId,Label with ids from 1, each the class of that image; a labeled CSV
 * (mnist_test.csv, no header) gives the same classes. */
static void test_kaggle_submission(void **state)
{
    fixture *f = *state;
    char test[4096], labeled[4096], sub[4096], want[64];
    tu_path(test, f->c.dir, "test.csv");
    tu_path(labeled, f->c.dir, "mnist_test.csv");
    tu_path(sub, f->c.dir, "submission.csv");
    FILE *a = fopen(test, "w"), *b = fopen(labeled, "w");
    assert_true(a && b);
    for (size_t k = 0; k < 144; k++)
        fprintf(a, "%spixel%zu", k ? "," : "", k);
    fputc('\n', a);
    for (size_t i = 0; i < 30; i++) {
        fprintf(b, "%u", f->test.y[i]);
        for (size_t k = 0; k < 144; k++) {
            int v = (int)(f->test.x[i * 144 + k] * 255.0f + 0.5f);
            fprintf(a, "%s%d", k ? "," : "", v);
            fprintf(b, ",%d", v);
        }
        fprintf(a, "\r\n");
        fputc('\n', b);
    }
    assert_int_equal(fclose(a), 0);
    assert_int_equal(fclose(b), 0);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --csv %s", f->model, test, sub), 0);
    assert_int_equal(tu_count_lines(f->c.out), 30);
    snprintf(want, sizeof want, "test.csv:30  class %zu  ", saved_class(f, 29));
    assert_non_null(strstr(f->c.out, want));
    size_t len;
    char *text = (char *)tu_read_file(sub, &len);
    text = realloc(text, len + 1);
    text[len] = '\0';
    char expect[4096] = "ImageId,Label\n";
    for (size_t i = 0; i < 30; i++)
        snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%zu,%zu\n", i + 1,
                 saved_class(f, i));
    assert_string_equal(text, expect);
    free(text);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --csv %s", f->model, labeled, sub), 0);
    text = (char *)tu_read_file(sub, &len);
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(text, expect, len);
    free(text);
    /* a CSV of another image size, and a CSV beside a picture: refused */
    tu_write_file(test, "1,2,3\n", 6);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s", f->model, test), 1);
    assert_int_equal(tu_count_lines(f->c.err), 1);
    assert_non_null(strstr(f->c.err, "test.csv"));
    char one[4096];
    tu_path(one, f->c.dir, "one.pgm");
    write_image(f, 1, one);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s %s", f->model, one, labeled), 2);
    assert_non_null(strstr(f->c.err, "on its own"));
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    char empty[4096], one[4096];
    tu_path(empty, f->c.dir, "empty");
    assert_int_equal(mkdir(empty, 0777), 0);
    tu_path(one, f->c.dir, "one.pgm");
    write_image(f, 1, one);
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s", f->model, empty), 1);
    assert_int_equal(tu_count_lines(f->c.err), 1);
    assert_non_null(strstr(f->c.err, "no .pgm or .png files"));
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --center --invert", f->model, one), 2);
    assert_int_equal(tu_count_lines(f->c.err), 1);
    assert_non_null(strstr(f->c.err, "--invert"));
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s --csv %s", f->model, one, one), 1);
    assert_non_null(strstr(f->c.err, "--csv"));
    /* a bad picture among good ones: named, and no CSV written */
    char bad[4096], csv[4096];
    tu_path(bad, f->c.dir, "bad.pgm");
    tu_write_file(bad, "P5 12 12 255\n", 13);
    tu_path(csv, f->c.dir, "r.csv");
    assert_int_equal(tu_cli_run(&f->c, "predict %s %s %s --csv %s", f->model, one, bad, csv), 1);
    assert_non_null(strstr(f->c.err, "bad.pgm"));
    struct stat st;
    assert_int_not_equal(stat(csv, &st), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_files_and_directories),
        T(test_png_reads_as_the_pgm),
        T(test_transpose),
        T(test_center_prepares_a_larger_picture),
        T(test_kaggle_submission),
        T(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
