/*
 * weights: tiles have the colours the weights say, sheets put every tile in its place, and
 * `mlp weights` writes pictures a PNG or PGM reader opens.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "pgm.h"
#include "weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2x2 inputs, 3 first-layer neurons with chosen weights */
static void hand_net(mlp_net *net)
{
    const size_t sizes[] = {4, 3, 2};
    mlp_error err;
    assert_int_equal(
        mlp_net_init(net, sizes, 3, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err),
        MLP_OK);
    const float W0[12] = {1, -1, 0, 0.5f, 0, 0, 0, 0, -2, 1, 0, 0};
    memcpy(net->W[0], W0, sizeof W0);
}

static void test_tile_colours(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    mlp_weights_image img;
    hand_net(&net);
    mlp_weights_style s = {.rows = 2, .cols = 2, .scale = 1};
    assert_int_equal(mlp_weights_tile(&img, &net, 0, &s, &err), MLP_OK);
    assert_true(img.width == 2 && img.height == 2 && img.channels == 3);
    const uint8_t want0[12] = {255, 0,   0,   /* the largest positive weight: red */
                               0,   0,   255, /* the largest negative: blue */
                               255, 255, 255, /* 0: white */
                               255, 128, 128};
    assert_memory_equal(img.px, want0, 12);
    mlp_weights_free(&img);
    /* each tile has its own scale: -2 is full blue, 1 half red */
    assert_int_equal(mlp_weights_tile(&img, &net, 2, &s, &err), MLP_OK);
    const uint8_t want2[6] = {0, 0, 255, 255, 128, 128};
    assert_memory_equal(img.px, want2, 6);
    mlp_weights_free(&img);
    /* all zero: white, not a division by zero */
    assert_int_equal(mlp_weights_tile(&img, &net, 1, &s, &err), MLP_OK);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(img.px[i], 255);
    mlp_weights_free(&img);

    s.grey = true;
    s.scale = 3;
    assert_int_equal(mlp_weights_tile(&img, &net, 0, &s, &err), MLP_OK);
    assert_true(img.width == 6 && img.height == 6 && img.channels == 1);
    /* each weight is a 3x3 block: white, black, mid-grey, three quarters */
    const uint8_t corner[4] = {255, 0, 128, 191};
    for (size_t r = 0; r < 6; r++)
        for (size_t c = 0; c < 6; c++)
            assert_int_equal(img.px[r * 6 + c], corner[(r / 3) * 2 + c / 3]);
    mlp_weights_free(&img);

    assert_int_equal(mlp_weights_tile(&img, &net, 3, &s, &err), MLP_EARG); /* no neuron 3 */
    s.rows = 3;                                                            /* 3 x 2 != 4 */
    assert_int_equal(mlp_weights_tile(&img, &net, 0, &s, &err), MLP_EARG);
    assert_null(img.px);
    mlp_net_free(&net);
}

/* A transposed tile of 1x4 inputs is 4 tall and 1 wide; its pixels are the weights in the
 * order of the untransposed one's, grey: 1, -1, 0, 0.5 -> white, black, mid-grey, 3/4. */
static void test_transposed_tile(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    mlp_weights_image img;
    hand_net(&net);
    mlp_weights_style s = {.rows = 1, .cols = 4, .scale = 1, .grey = true, .transpose = true};
    assert_int_equal(mlp_weights_tile(&img, &net, 0, &s, &err), MLP_OK);
    assert_true(img.width == 1 && img.height == 4);
    const uint8_t want[4] = {255, 0, 128, 191};
    assert_memory_equal(img.px, want, 4);
    mlp_weights_free(&img);
    /* 2x2 transposed: the off-diagonal weights swap places */
    s.rows = s.cols = 2;
    assert_int_equal(mlp_weights_tile(&img, &net, 0, &s, &err), MLP_OK);
    const uint8_t swapped[4] = {255, 128, 0, 191};
    assert_memory_equal(img.px, swapped, 4);
    mlp_weights_free(&img);
    mlp_net_free(&net);
}

static void test_sheet_layout(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    mlp_weights_image sheet, tile;
    hand_net(&net);
    mlp_weights_style s = {.rows = 2, .cols = 2, .scale = 2, .gap = 1};
    assert_int_equal(mlp_weights_sheet(&sheet, &net, &s, &err), MLP_OK);
    /* 3 tiles of 4x4: a 2 x 2 grid, 1 pixel between and around */
    assert_int_equal(sheet.grid_cols, 2);
    assert_int_equal(sheet.grid_rows, 2);
    assert_int_equal(sheet.width, 2 * (4 + 1) + 1);
    assert_int_equal(sheet.height, 2 * (4 + 1) + 1);
    for (size_t j = 0; j < 3; j++) {
        assert_int_equal(mlp_weights_tile(&tile, &net, j, &s, &err), MLP_OK);
        size_t x0 = 1 + (j % 2) * 5, y0 = 1 + (j / 2) * 5;
        for (size_t r = 0; r < 4; r++)
            assert_memory_equal(sheet.px + ((y0 + r) * sheet.width + x0) * 3, tile.px + r * 4 * 3,
                                4 * 3);
        mlp_weights_free(&tile);
    }
    /* the gaps and the empty fourth cell are background, not weights */
    const uint8_t bg[3] = {48, 48, 48};
    assert_memory_equal(sheet.px, bg, 3);
    assert_memory_equal(sheet.px + ((6 + 2) * sheet.width + 6 + 2) * 3, bg, 3);
    mlp_weights_free(&sheet);
    mlp_net_free(&net);
}

static void test_weights_command(void **state)
{
    (void)state;
    tu_cli c;
    tu_cli_open(&c);
    char *dir = c.dir, *out = c.out, *err = c.err, path[4096];
    tu_write_synthetic(dir, 500, 20, 10, 10, 3, 9);
    assert_int_equal(tu_cli_run(&c, "train %s --hidden 5 --epochs 1 --out %s/m.bin", dir, dir), 0);
    assert_int_equal(tu_cli_run(&c, "weights %s/m.bin --out %s/w//", dir, dir), 0);
    assert_non_null(strstr(out, "/w/neuron-000.png to neuron-004.png"));
    assert_non_null(strstr(out, "5 first-layer neurons"));
    for (size_t j = 0; j <= 5; j++) {
        char name[64];
        snprintf(name, sizeof name, j < 5 ? "w/neuron-%03zu.png" : "w/weights.png", j);
        tu_path(path, dir, name);
        size_t len, w, h, ch;
        unsigned char *f = tu_read_file(path, &len);
        assert_non_null(f);
        uint8_t *px = tu_png_decode(f, len, &w, &h, &ch);
        assert_int_equal(ch, 3);
        /* tiles 10 weights x 4 pixels; the sheet 3 x 2 tiles with 2-pixel gaps */
        assert_int_equal(w, j < 5 ? 40 : 3 * 42 + 2);
        assert_int_equal(h, j < 5 ? 40 : 2 * 42 + 2);
        free(px);
        free(f);
    }
    tu_path(path, dir, "w/neuron-005.png");
    assert_null(fopen(path, "rb"));

    assert_int_equal(
        tu_cli_run(&c, "weights %s/m.bin --out %s/w --format pnm --grey --scale 1", dir, dir), 0);
    mlp_pgm img;
    mlp_error e;
    tu_path(path, dir, "w/weights.pgm");
    assert_int_equal(mlp_pgm_load(&img, path, &e), MLP_OK);
    assert_true(img.width == 3 * 12 + 2 && img.height == 2 * 12 + 2);
    mlp_pgm_free(&img);

    assert_int_equal(tu_cli_run(&c, "weights %s/m.bin", dir), 2);
    assert_non_null(strstr(err, "--out"));
    assert_int_equal(tu_cli_run(&c, "weights %s/m.bin --out %s/m.bin", dir, dir), 1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_non_null(strstr(err, "not a directory"));
    assert_int_equal(tu_cli_run(&c, "weights %s/m.bin --out %s/w --format gif", dir, dir), 2);
    assert_int_equal(tu_cli_run(&c, "help weights"), 0);
    assert_non_null(strstr(out, "--grey"));
    tu_cli_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tile_colours),
        cmocka_unit_test(test_transposed_tile),
        cmocka_unit_test(test_sheet_layout),
        cmocka_unit_test(test_weights_command),
    };
    return cmocka_run_group_tests_name("weights", tests, NULL, NULL);
}
