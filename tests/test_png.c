/*
 * png: Adler-32 against known values, and written files decoded by a checker of their own
 * (testutil.c: signature, chunk CRCs, stored deflate blocks, decompressed size, Adler-32)
 * give back the pixels, for grey and colour, small and several-chunk images.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "png.h"

#include <stdlib.h>
#include <string.h>

static void test_adler32(void **state)
{
    (void)state;
    assert_int_equal(mlp_png_adler32(1, "", 0), 1);
    assert_int_equal(mlp_png_adler32(1, "Wikipedia", 9), 0x11e60398); /* RFC 1950's example */
    /* long runs of 0xff: the sums are reduced often enough not to overflow */
    size_t n = 100000;
    unsigned char *b = malloc(n);
    memset(b, 0xff, n);
    uint32_t x = 1, y = 0;
    for (size_t i = 0; i < n; i++) {
        x = (x + 0xff) % 65521;
        y = (y + x) % 65521;
    }
    assert_int_equal(mlp_png_adler32(1, b, n), y << 16 | x);
    /* continuing from an earlier value is the same as one call */
    assert_int_equal(mlp_png_adler32(mlp_png_adler32(1, b, 7000), b + 7000, n - 7000), y << 16 | x);
    free(b);
}

static void round_trip(size_t w, size_t h, size_t ch, uint64_t seed, size_t *n_idat)
{
    size_t n = w * h * ch, len;
    uint8_t *px = malloc(n);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)mlp_rng_below(&rng, 256);
    unsigned char *png;
    mlp_error err;
    assert_int_equal(mlp_png_encode(&png, &len, px, w, h, ch, &err), MLP_OK);
    size_t gw, gh, gch;
    uint8_t *back = tu_png_decode(png, len, &gw, &gh, &gch);
    assert_int_equal(gw, w);
    assert_int_equal(gh, h);
    assert_int_equal(gch, ch);
    assert_memory_equal(back, px, n);
    *n_idat = 0;
    for (size_t i = 0; i + 4 <= len; i++)
        *n_idat += memcmp(png + i, "IDAT", 4) == 0;
    free(back);
    free(png);
    free(px);
}

static void test_round_trips(void **state)
{
    (void)state;
    size_t n_idat;
    round_trip(1, 1, 1, 1, &n_idat);
    assert_int_equal(n_idat, 1);
    round_trip(3, 2, 1, 2, &n_idat);
    round_trip(5, 4, 3, 3, &n_idat);
    /* 2101-byte rows cross the 65,535-byte stored blocks; 1.3 MB of stream: two IDATs */
    round_trip(700, 630, 3, 4, &n_idat);
    assert_int_equal(n_idat, 2);
    /* a stream exactly one block long */
    round_trip(65534, 1, 1, 5, &n_idat);
}

static void test_file_and_bad_arguments(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[4096];
    const uint8_t px[6] = {0, 50, 100, 150, 200, 250};
    mlp_error err;
    tu_path(path, dir, "a.png");
    assert_int_equal(mlp_png_save(path, px, 3, 2, 1, &err), MLP_OK);
    size_t len, w, h, ch;
    unsigned char *f = tu_read_file(path, &len);
    uint8_t *back = tu_png_decode(f, len, &w, &h, &ch);
    assert_memory_equal(back, px, 6);
    free(back);
    free(f);
    unsigned char *out;
    assert_int_equal(mlp_png_encode(&out, &len, px, 3, 2, 2, &err), MLP_EARG);
    assert_int_equal(mlp_png_encode(&out, &len, px, 0, 2, 1, &err), MLP_EARG);
    assert_int_equal(mlp_png_encode(&out, &len, px, 1u << 25, 1, 1, &err), MLP_EARG);
    assert_int_equal(mlp_png_save("/nonexistent/dir/a.png", px, 3, 2, 1, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/a.png"));
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adler32),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_file_and_bad_arguments),
    };
    return cmocka_run_group_tests_name("png", tests, NULL, NULL);
}
