/*
 * pgm: round trips through the writer and the reader, both forms and 16-bit samples, comments
 * where the format allows them, one refusal per way a file can be wrong, and `mlp predict`
 * end to end.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "idx.h"
#include "model.h"
#include "pgm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mlp_status parse(mlp_pgm *img, const char *bytes, size_t len, mlp_error *err)
{
    return mlp_pgm_parse(img, (const unsigned char *)bytes, len, "x.pgm", err);
}

static void test_p5_round_trip(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[4096];
    tu_path(path, dir, "a.pgm");
    uint8_t px[5 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 17);
    mlp_error err;
    assert_int_equal(mlp_pgm_save(path, px, 5, 3, 1, &err), MLP_OK);
    mlp_pgm img;
    assert_int_equal(mlp_pgm_load(&img, path, &err), MLP_OK);
    assert_int_equal(img.width, 5);
    assert_int_equal(img.height, 3);
    assert_int_equal(img.maxval, 255);
    for (size_t i = 0; i < sizeof px; i++)
        assert_true(img.px[i] == (float)px[i] / 255.0f); /* exactly what idx.c gives MNIST */
    mlp_pgm_free(&img);
    assert_null(img.px);

    /* a PPM keeps red, green, blue in that order after its header */
    uint8_t rgb[2 * 1 * 3] = {255, 0, 0, 0, 0, 255};
    assert_int_equal(mlp_pgm_save(path, rgb, 2, 1, 3, &err), MLP_OK);
    size_t len;
    unsigned char *b = tu_read_file(path, &len);
    assert_int_equal(len, strlen("P6\n2 1\n255\n") + 6);
    assert_memory_equal(b, "P6\n2 1\n255\n", 11);
    assert_memory_equal(b + 11, rgb, 6);
    free(b);
    assert_int_equal(mlp_pgm_save(path, rgb, 2, 1, 2, &err), MLP_EARG);
    assert_int_equal(mlp_pgm_load(&img, "/nonexistent/x.pgm", &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.pgm"));
    tu_rm_rf(dir);
    free(dir);
}

static void test_plain_form_with_comments(void **state)
{
    (void)state;
    const char txt[] = "P2 # plain\n#a whole line\r\n3\t# width\n 2\v15\f0 1 2\n"
                       "13 14 15 # done\n\n";
    mlp_pgm img;
    mlp_error err;
    assert_int_equal(parse(&img, txt, sizeof txt - 1, &err), MLP_OK);
    assert_int_equal(img.width, 3);
    assert_int_equal(img.height, 2);
    assert_int_equal(img.maxval, 15);
    const float want[] = {0, 1, 2, 13, 14, 15};
    for (size_t i = 0; i < 6; i++)
        assert_true(img.px[i] == want[i] / 15.0f);
    mlp_pgm_free(&img);
    /* the last sample may end the file */
    assert_int_equal(parse(&img, "P2 1 1 9 9", 10, &err), MLP_OK);
    assert_true(img.px[0] == 1.0f);
    mlp_pgm_free(&img);
}

static void test_sixteen_bit_samples_are_big_endian(void **state)
{
    (void)state;
    const char b[] = "P5 2 1 1000\n\x03\xe8\x01\xf4"; /* 1000, 500 */
    mlp_pgm img;
    mlp_error err;
    assert_int_equal(parse(&img, b, sizeof b - 1, &err), MLP_OK);
    assert_true(img.px[0] == 1.0f);
    assert_true(img.px[1] == 0.5f);
    mlp_pgm_free(&img);
}

static void test_malformed_files_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len; /* 0: strlen */
        const char *want;
    } cases[] = {
        {"", 0, "not a PGM"},
        {"P", 0, "not a PGM"},
        {"hello world", 0, "not a PGM"},
        {"P6\n1 1\n255\n\x01\x02\x03", 0, "PPM (colour)"},
        {"P3\n1 1\n255\n1 2 3\n", 0, "PPM (colour)"},
        {"P4\n8 1\n\x01", 0, "PBM"},
        {"\x89PNG\r\n\x1a\n", 0, "PNG"},
        {"\xff\xd8\xff\xe0", 0, "JPEG"},
        {"P5x 1 1 255\n\x01", 0, "no whitespace after"},
        {"P5", 0, "truncated"},
        {"P5 28x28 255\n", 0, "width is followed by"},
        {"P5 0 1 255\n", 0, "empty"},
        {"P5 1 0 255\n", 0, "empty"},
        {"P5 70000 1 255\n", 0, "width is larger than 65535"},
        {"P5 1 1 0\n\x00", 4 + 6, "maxval is 0"},
        {"P5 1 1 65536\n\x00", 0, "maxval is larger"},
        {"P5 -1 1 255\n", 0, "width is not a number"},
        {"P5 2 2 255", 0, "truncated after the maxval"},
        {"P5 2 2 255#c\n\x01\x02\x03\x04", 0, "one whitespace byte"},
        {"P5 2 2 255\n\x01\x02\x03", 0, "truncated: a 2x2 image needs 4 bytes"},
        {"P5 2 1 300\n\x01\x02\x03", 0, "needs 4 bytes"},
        {"P5 1 1 100\n\xff", 0, "sample 255 at row 0, column 0 is above maxval 100"},
        {"P5 1 1 255\n\x01\x02", 0, "extra data"},
        {"P5 65535 65535 255\n\x01\x02\x03", 0, "truncated"}, /* no 4 GB allocation */
        {"P2 2 1 255\n1", 0, "truncated"},
        {"P2 2 2 255\n1 2 3", 0, "truncated: 3 of 4 samples"},
        {"P2 2 1 255\n1 x", 0, "sample is not a number"},
        {"P2 2 1 255\n1 2x", 0, "sample is followed by"},
        {"P2 2 1 7\n1 8", 0, "above maxval 7"},
        {"P2 1 1 255\n1 2\n", 0, "extra data"},
        {"P2 1 1 255\n99999999999999999999", 0, "sample is larger"},
        {"P2 60000 60000 255\n1 2 3", 0, "truncated"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mlp_pgm img;
        mlp_error err = {{0}};
        size_t len = cases[k].len ? cases[k].len : strlen(cases[k].bytes);
        mlp_status st = parse(&img, cases[k].bytes, len, &err);
        if (st != MLP_EFORMAT || !strstr(err.msg, cases[k].want) || !strstr(err.msg, "x.pgm"))
            print_error("case %zu: status %d, message '%s', wanted '%s'\n", k, (int)st, err.msg,
                        cases[k].want);
        assert_int_equal(st, MLP_EFORMAT);
        assert_non_null(strstr(err.msg, cases[k].want));
        assert_null(img.px);
    }
    /* whitespace after a raw image is fine */
    mlp_pgm img;
    mlp_error err;
    assert_int_equal(parse(&img, "P5 1 1 255\n\x07\n\n", 14, &err), MLP_OK);
    mlp_pgm_free(&img);
}

/* --- mlp predict ------------------------------------------------------------------------ */

/* The class and the scores of predict's output, without the image and any note after them. */
static char *scores_of(char *out)
{
    char *p = strstr(out, "class "), *note;
    assert_non_null(p);
    if ((note = strstr(p, "\n\nnote:")))
        note[1] = '\0'; /* the blank line before it goes too */
    return p;
}

/* Writes test image i of dir as a PGM, P5 or P2, optionally inverted. */
static void write_test_image(const mlp_set *s, size_t i, const char *path, bool plain, bool invert)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "%s\n# test image %zu\n%zu %zu\n255\n", plain ? "P2" : "P5", i, s->cols, s->rows);
    for (size_t k = 0; k < s->dim; k++) {
        int v = (int)(s->x[i * s->dim + k] * 255.0f + 0.5f);
        v = invert ? 255 - v : v;
        if (plain)
            fprintf(f, "%d%c", v, k % s->cols == s->cols - 1 ? '\n' : ' ');
        else
            fputc(v, f);
    }
    assert_int_equal(fclose(f), 0);
}

static void test_predict_command(void **state)
{
    (void)state;
    tu_cli c;
    tu_cli_open(&c);
    char *dir = c.dir, *out = c.out, *err = c.err, *first = malloc(TU_CLI_CAP);
    char model[4096], p5[4096], p2[4096], inv[4096], big[4096];
    tu_write_synthetic(dir, 1500, 20, 12, 12, 6, 5);
    tu_path(model, dir, "m.bin");
    assert_int_equal(tu_cli_run(&c, "train %s --hidden 16 --epochs 3 --out %s", dir, model), 0);

    /* what the model says about test image 3, computed here */
    mlp_set test = {0};
    mlp_net net;
    mlp_model_meta meta;
    mlp_error e;
    assert_int_equal(mlp_idx_load_test(&test, dir, &e), MLP_OK);
    assert_int_equal(mlp_model_load(model, &net, 1, &meta, &e), MLP_OK);
    mlp_net_set_input(&net, 0, test.x + 3 * test.dim);
    mlp_net_forward(&net, 1);
    char want[64];
    snprintf(want, sizeof want, "class %zu\n", mlp_net_predict_row(&net, 0));

    tu_path(p5, dir, "three.pgm");
    tu_path(p2, dir, "three-plain.pgm");
    tu_path(inv, dir, "three-inverted.pgm");
    write_test_image(&test, 3, p5, false, false);
    write_test_image(&test, 3, p2, true, false);
    write_test_image(&test, 3, inv, false, true);
    assert_int_equal(tu_cli_run(&c, "predict %s %s", model, p5), 0);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "12x12"));
    strcpy(first, scores_of(out));
    assert_int_equal(tu_count_lines(first), 2 + 1 + 6); /* class, blank, heading, 6 scores */
    /* the plain form and the inverted image with --invert give the very same scores */
    assert_int_equal(tu_cli_run(&c, "predict %s %s", model, p2), 0);
    assert_string_equal(scores_of(out), first);
    assert_int_equal(tu_cli_run(&c, "predict %s %s --invert --show", model, inv), 0);
    assert_string_equal(scores_of(out), first);
    assert_int_equal(tu_cli_run(&c, "predict %s %s --show --ascii", model, p5), 0);
    assert_non_null(strstr(out, "+------------------------+")); /* 12 pixels, 2 characters each */
    assert_non_null(strstr(out, "* ####"));
    /* a hint for a bright image, none for the dark one it inverts to */
    uint8_t white[12 * 12];
    memset(white, 255, sizeof white);
    assert_int_equal(mlp_pgm_save(inv, white, 12, 12, 1, &e), MLP_OK);
    assert_int_equal(tu_cli_run(&c, "predict %s %s", model, inv), 0);
    assert_non_null(strstr(out, "note:"));
    assert_non_null(strstr(out, "--invert"));
    assert_int_equal(tu_cli_run(&c, "predict %s %s --invert", model, inv), 0);
    assert_null(strstr(out, "note:"));

    /* refusals: one line, exit 1 for files, 2 for usage */
    tu_path(big, dir, "big.pgm");
    tu_write_file(big, "P5 13 12 255\n", 13);
    assert_int_equal(tu_cli_run(&c, "predict %s %s", model, big), 1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_non_null(strstr(err, "truncated"));
    uint8_t px[13 * 12] = {0};
    assert_int_equal(mlp_pgm_save(big, px, 13, 12, 1, &e), MLP_OK);
    assert_int_equal(tu_cli_run(&c, "predict %s %s", model, big), 1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_non_null(strstr(err, "13x12"));
    assert_non_null(strstr(err, "12x12"));
    tu_write_file(big, "\x89PNG\r\n\x1a\n....", 12); /* read as a PNG, whatever its name */
    assert_int_equal(tu_cli_run(&c, "predict %s %s", model, big), 1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_non_null(strstr(err, "truncated"));
    tu_write_file(big, "\xff\xd8\xff\xe0", 4);
    assert_int_equal(tu_cli_run(&c, "predict %s %s", model, big), 1);
    assert_non_null(strstr(err, "a JPEG image, not a PGM; convert it to PNG"));
    assert_int_equal(tu_cli_run(&c, "predict %s", model), 2);
    assert_non_null(strstr(err, "missing IMAGE"));
    assert_int_equal(tu_cli_run(&c, "predict %s %s --bogus", model, p5), 2);
    assert_int_equal(tu_count_lines(err), 1);
    assert_int_equal(tu_cli_run(&c, "help predict"), 0);
    assert_non_null(strstr(out, "P5"));

    mlp_net_free(&net);
    mlp_idx_set_free(&test);
    tu_cli_close(&c);
    free(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p5_round_trip),
        cmocka_unit_test(test_plain_form_with_comments),
        cmocka_unit_test(test_sixteen_bit_samples_are_big_endian),
        cmocka_unit_test(test_malformed_files_are_refused),
        cmocka_unit_test(test_predict_command),
    };
    return cmocka_run_group_tests_name("pgm", tests, NULL, NULL);
}
