/* augment: identity when off, seeded, within the pixel range, whole-pixel shifts, and an
 * elastic field that moves pixels by about what alpha asks. */
#include "testutil.h"

#include "augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { R = 28, C = 28, N = R * C };

/* a digit-like blob in the middle, away from the border */
static void blob(float *img)
{
    for (int y = 0; y < R; y++)
        for (int x = 0; x < C; x++) {
            double d = hypot(x - 13.5, (y - 13.5) * 0.7);
            img[y * C + x] = d < 6 ? 1.0f : d < 8 ? (float)(8 - d) / 2.0f : 0.0f;
        }
}

static double sum(const float *a)
{
    double s = 0;
    for (int i = 0; i < N; i++)
        s += a[i];
    return s;
}

static void test_off_is_identity_and_not_active(void **state)
{
    (void)state;
    float src[N], dst[N], *scratch = malloc(mlp_augment_scratch(R, C) * sizeof(float));
    mlp_augment a = {0};
    blob(src);
    assert_false(mlp_augment_active(&a));
    mlp_augment_image(dst, src, R, C, &a, 42, scratch);
    assert_memory_equal(dst, src, sizeof src); /* bilinear at whole pixels is exact */
    a.rotate = 5.0f;
    assert_true(mlp_augment_active(&a));
    free(scratch);
}

static void test_seeded_and_in_range(void **state)
{
    (void)state;
    float src[N], a1[N], a2[N], b[N], *scratch = malloc(mlp_augment_scratch(R, C) * sizeof(float));
    const mlp_augment a = {2.0f, 15.0f, 0.15f, 34.0f, 4.0f, false};
    blob(src);
    mlp_augment_image(a1, src, R, C, &a, 1, scratch);
    mlp_augment_image(a2, src, R, C, &a, 1, scratch);
    mlp_augment_image(b, src, R, C, &a, 2, scratch);
    assert_memory_equal(a1, a2, sizeof a1);
    assert_memory_not_equal(a1, b, sizeof a1);
    assert_memory_not_equal(a1, src, sizeof a1);
    for (int i = 0; i < N; i++)
        assert_true(a1[i] >= 0.0f && a1[i] <= 1.0f); /* convex combinations of pixels */
    /* still mostly the same shape: the bulk of the ink survives */
    assert_true(fabs(sum(a1) - sum(src)) < 0.35 * sum(src));
    free(scratch);
}

/* Whether dst is src moved by a whole (dx, dy) in [-4, 4], pixel values exactly kept; if so,
 * the shift in *sx, *sy. */
static bool whole_shift(const float *dst, const float *src, int *sx, int *sy)
{
    for (int dy = -4; dy <= 4; dy++)
        for (int dx = -4; dx <= 4; dx++) {
            bool same = true;
            for (int y = 0; y < R && same; y++)
                for (int x = 0; x < C && same; x++) {
                    int fx = x - dx, fy = y - dy;
                    float want = fx < 0 || fy < 0 || fx >= C || fy >= R ? 0.0f : src[fy * C + fx];
                    same = dst[y * C + x] == want;
                }
            if (same) {
                *sx = dx, *sy = dy;
                return true;
            }
        }
    return false;
}

/* Shifts are by whole pixels, up to the limit, and copy the pixels unchanged: no ink is lost
 * or blurred between neighbours. */
static void test_shift_moves_whole_pixels(void **state)
{
    (void)state;
    float src[N], dst[N], *scratch = malloc(mlp_augment_scratch(R, C) * sizeof(float));
    const mlp_augment a = {.translate = 3.0f};
    blob(src);
    int seen[7][7] = {{0}}, distinct = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        mlp_augment_image(dst, src, R, C, &a, seed, scratch);
        int dx = 0, dy = 0;
        assert_true(whole_shift(dst, src, &dx, &dy));
        assert_true(abs(dx) <= 3 && abs(dy) <= 3);
        distinct += seen[dy + 3][dx + 3]++ == 0;
        assert_true(fabs(sum(dst) - sum(src)) < 1e-6 * sum(src));
    }
    assert_true(distinct >= 40); /* of the 49 shifts, nearly all occur */
    free(scratch);
}

/* With sigma small, each pixel moves by about alpha times its smoothed noise: a larger alpha
 * changes the image more. */
static void test_elastic_strength_follows_alpha(void **state)
{
    (void)state;
    float src[N], weak[N], strong[N], *scratch = malloc(mlp_augment_scratch(R, C) * sizeof(float));
    blob(src);
    const mlp_augment w = {.elastic_alpha = 5.0f, .elastic_sigma = 4.0f};
    const mlp_augment s = {.elastic_alpha = 60.0f, .elastic_sigma = 4.0f};
    mlp_augment_image(weak, src, R, C, &w, 3, scratch);
    mlp_augment_image(strong, src, R, C, &s, 3, scratch);
    double dw = 0, ds = 0;
    for (int i = 0; i < N; i++) {
        dw += fabs(weak[i] - src[i]);
        ds += fabs(strong[i] - src[i]);
    }
    assert_true(dw > 0.0);
    assert_true(ds > 3.0 * dw);
    free(scratch);
}

/* dst (R x C) = src mirrored left to right */
static void mirror(float *dst, const float *src)
{
    for (int y = 0; y < R; y++)
        for (int x = 0; x < C; x++)
            dst[y * C + x] = src[y * C + (C - 1 - x)];
}

/* --flip mirrors about one image in two, exactly, and changes no other random choice: with
 * it, an image is the one made without it from the same seed, or that image's mirror. */
static void test_flip_mirrors_half_and_draws_nothing_else(void **state)
{
    (void)state;
    float src[N], plain[N], flipped[N], m[N];
    float *scratch = malloc(mlp_augment_scratch(R, C) * sizeof(float));
    for (int i = 0; i < N; i++)
        src[i] = (float)((i * 37) % 101) / 100.0f; /* no symmetry: a mirror always differs */
    mlp_augment a = {2.0f, 10.0f, 0.1f, 30.0f, 4.0f, false};
    mlp_augment f = a;
    f.flip = true;
    mlp_augment only = {.flip = true};
    assert_true(mlp_augment_active(&only));
    int mirrored = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        mlp_augment_image(plain, src, R, C, &a, seed, scratch);
        mlp_augment_image(flipped, src, R, C, &f, seed, scratch);
        mirror(m, plain);
        bool same = memcmp(flipped, plain, sizeof plain) == 0;
        bool is_mirror = memcmp(flipped, m, sizeof m) == 0;
        assert_true(same != is_mirror);
        mirrored += is_mirror;
        /* alone, it is a pure mirror or nothing */
        mlp_augment_image(flipped, src, R, C, &only, seed, scratch);
        mirror(m, src);
        assert_true(memcmp(flipped, src, sizeof src) == 0 || memcmp(flipped, m, sizeof m) == 0);
    }
    assert_in_range(mirrored, 70, 130);
    free(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_is_identity_and_not_active),
        cmocka_unit_test(test_seeded_and_in_range),
        cmocka_unit_test(test_shift_moves_whole_pixels),
        cmocka_unit_test(test_elastic_strength_follows_alpha),
        cmocka_unit_test(test_flip_mirrors_half_and_draws_nothing_else),
    };
    return cmocka_run_group_tests_name("augment", tests, NULL, NULL);
}
