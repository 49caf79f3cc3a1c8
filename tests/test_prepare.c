/*
 * prepare: the MNIST preparation of a digit, on pictures built by hand: a bar off centre lands
 * with its centre of mass on the field's centre and its longer side 20 pixels; dark ink on
 * light paper is inverted and then prepared exactly like its negative; the aspect ratio is
 * kept; area averaging keeps the ink's mass; grey paper becomes 0; a blank picture is refused.
 */
#include "testutil.h"

#include "prepare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A (h, w) picture of value bg with the rectangle [y0, y0+rh) x [x0, x0+rw) at value fg. */
static float *picture(size_t h, size_t w, float bg, float fg, size_t y0, size_t x0, size_t rh,
                      size_t rw)
{
    float *p = malloc(h * w * sizeof *p);
    assert_non_null(p);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            p[y * w + x] = y >= y0 && y < y0 + rh && x >= x0 && x < x0 + rw ? fg : bg;
    return p;
}

typedef struct {
    double mass, cy, cx;          /* total, centre of mass (pixel centres at +0.5) */
    size_t top, left, rows, cols; /* the rectangle of the values above 0.01 */
} moments;

static moments measure(const float *f, size_t rows, size_t cols)
{
    moments m = {.top = rows, .left = cols};
    size_t bottom = 0, right = 0;
    for (size_t y = 0; y < rows; y++)
        for (size_t x = 0; x < cols; x++) {
            double v = f[y * cols + x];
            m.mass += v, m.cy += v * (y + 0.5), m.cx += v * (x + 0.5);
            if (v > 0.01) {
                m.top = y < m.top ? y : m.top, m.left = x < m.left ? x : m.left;
                bottom = y > bottom ? y : bottom, right = x > right ? x : right;
            }
        }
    m.cy /= m.mass, m.cx /= m.mass;
    m.rows = bottom - m.top + 1, m.cols = right - m.left + 1;
    return m;
}

static void test_bar_off_centre_lands_centred(void **state)
{
    (void)state;
    float out[28 * 28];
    mlp_prepare_info info;
    mlp_error err;
    float *p = picture(28, 28, 0.0f, 1.0f, 1, 2, 10, 2); /* near the top left corner */
    assert_int_equal(mlp_prepare_digit(p, 28, 28, out, 28, 28, &info, &err), MLP_OK);
    moments m = measure(out, 28, 28);
    assert_true(fabs(m.cy - 14.0) <= 0.5 && fabs(m.cx - 14.0) <= 0.5);
    assert_int_equal(info.box_rows, 20); /* the longer side, 10, to 20 */
    assert_int_equal(info.box_cols, 4);
    assert_int_equal(m.rows, 20);
    assert_int_equal(m.cols, 4);
    assert_false(info.inverted);
    assert_int_equal(info.top, 1);
    assert_int_equal(info.left, 2);
    assert_int_equal(info.height, 10);
    free(p);
}

static void test_dark_on_light_is_inverted(void **state)
{
    (void)state;
    float a[28 * 28], b[28 * 28];
    mlp_prepare_info info;
    mlp_error err;
    float *light = picture(40, 30, 1.0f, 0.0f, 20, 5, 15, 6); /* black ink, white paper */
    float *dark = picture(40, 30, 0.0f, 1.0f, 20, 5, 15, 6);
    assert_int_equal(mlp_prepare_digit(light, 40, 30, a, 28, 28, &info, &err), MLP_OK);
    assert_true(info.inverted);
    assert_int_equal(mlp_prepare_digit(dark, 40, 30, b, 28, 28, &info, &err), MLP_OK);
    assert_false(info.inverted);
    assert_memory_equal(a, b, sizeof a);
    moments m = measure(a, 28, 28);
    assert_true(m.mass > 50.0); /* the ink is light: a black-on-white result would be ~0 mass */
    free(light);
    free(dark);
}

static void test_aspect_ratio_is_kept(void **state)
{
    (void)state;
    float out[28 * 28];
    mlp_prepare_info info;
    mlp_error err;
    float *p = picture(60, 100, 0.0f, 1.0f, 40, 50, 10, 30); /* 30 wide, 10 tall */
    assert_int_equal(mlp_prepare_digit(p, 60, 100, out, 28, 28, &info, &err), MLP_OK);
    moments m = measure(out, 28, 28);
    assert_int_equal(m.cols, 20);
    /* 30 x 10 -> 20 x 6.67, rounded to 7 rows */
    assert_int_equal(info.box_cols, 20);
    assert_int_equal(info.box_rows, 7);
    assert_int_equal(m.rows, 7);
    free(p);
}

static void test_area_averaging_keeps_the_mass(void **state)
{
    (void)state;
    float out[28 * 28];
    mlp_prepare_info info;
    mlp_error err;
    /* stripes: 16 columns of ink and 15 of none between them, 31 wide and 30 tall */
    float *p = picture(100, 100, 0.0f, 1.0f, 30, 30, 30, 31);
    for (size_t y = 30; y < 60; y++)
        for (size_t x = 31; x < 61; x += 2)
            p[y * 100 + x] = 0.0f;
    assert_int_equal(mlp_prepare_digit(p, 100, 100, out, 28, 28, &info, &err), MLP_OK);
    assert_int_equal(info.width, 31);
    /* each output pixel averages 1.55 columns: about half ink, never all or none (a nearest
     * pixel's copy would be 0 or 1), and the total is the input's times the scaled area */
    double want = 16.0 * 30.0 * info.box_rows / 30.0 * info.box_cols / 31.0;
    moments m = measure(out, 28, 28);
    assert_true(fabs(m.mass - want) < 1e-3 * want);
    for (size_t y = 0; y < m.rows; y++)
        for (size_t x = 0; x < m.cols; x++) {
            float v = out[(m.top + y) * 28 + m.left + x];
            assert_true(v > 0.3f && v < 0.7f);
        }
    free(p);
}

static void test_grey_paper_becomes_black(void **state)
{
    (void)state;
    float out[28 * 28];
    mlp_prepare_info info;
    mlp_error err;
    float *p = picture(50, 50, 0.35f, 0.9f, 10, 10, 20, 8);
    assert_int_equal(mlp_prepare_digit(p, 50, 50, out, 28, 28, &info, &err), MLP_OK);
    assert_true(fabsf(info.background - 0.35f) < 1e-6f);
    assert_true(out[0] == 0.0f && out[28 * 28 - 1] == 0.0f);
    float top = 0.0f;
    for (size_t i = 0; i < 28 * 28; i++)
        top = fmaxf(top, out[i]);
    assert_true(top > 0.99f); /* the ink stretched to 1 */
    free(p);
}

static void test_blank_and_bad_sizes_are_refused(void **state)
{
    (void)state;
    float out[28 * 28], keep[28 * 28];
    mlp_error err;
    for (size_t i = 0; i < 28 * 28; i++)
        out[i] = keep[i] = 0.5f;
    float *p = picture(28, 28, 0.2f, 0.3f, 5, 5, 5, 5); /* too faint to be ink */
    assert_int_equal(mlp_prepare_digit(p, 28, 28, out, 28, 28, NULL, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "no ink"));
    assert_memory_equal(out, keep, sizeof out);
    assert_int_equal(mlp_prepare_digit(p, 0, 28, out, 28, 28, NULL, &err), MLP_EARG);
    assert_int_equal(mlp_prepare_digit(p, 28, 28, out, 3, 28, NULL, &err), MLP_EARG);
    free(p);
    /* a one-pixel picture has no background to tell its ink from */
    float one = 1.0f;
    assert_int_equal(mlp_prepare_digit(&one, 1, 1, out, 28, 28, NULL, &err), MLP_EARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bar_off_centre_lands_centred),
        cmocka_unit_test(test_dark_on_light_is_inverted),
        cmocka_unit_test(test_aspect_ratio_is_kept),
        cmocka_unit_test(test_area_averaging_keeps_the_mass),
        cmocka_unit_test(test_grey_paper_becomes_black),
        cmocka_unit_test(test_blank_and_bad_sizes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
