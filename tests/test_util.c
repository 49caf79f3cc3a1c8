/* util: checked sizes, the generator, CRC-32, little-endian fields. */
#include "testutil.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_mul_add_size(void **state)
{
    (void)state;
    size_t r = 7;
    assert_true(mlp_mul_size(3, 5, &r));
    assert_int_equal(r, 15);
    assert_false(mlp_mul_size(SIZE_MAX / 2 + 1, 2, &r));
    assert_true(mlp_mul_size(SIZE_MAX, 1, &r));
    assert_true(mlp_mul_size(0, SIZE_MAX, &r));
    assert_int_equal(r, 0);
    assert_false(mlp_add_size(SIZE_MAX, 1, &r));
    assert_true(mlp_add_size(SIZE_MAX - 1, 1, &r));
    assert_int_equal(r, SIZE_MAX);
    assert_null(mlp_alloc_array(SIZE_MAX / 2, 4));
}

static void test_fail_formats_and_returns(void **state)
{
    (void)state;
    mlp_error err;
    assert_int_equal(mlp_fail(&err, MLP_EFORMAT, "%s: %d", "x", 42), MLP_EFORMAT);
    assert_string_equal(err.msg, "x: 42");
    assert_int_equal(mlp_fail(NULL, MLP_EIO, "ignored"), MLP_EIO);
}

static void test_crc32_known_values(void **state)
{
    (void)state;
    /* the standard check value of CRC-32/ISO-HDLC */
    assert_int_equal(mlp_crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(mlp_crc32(0, "", 0), 0);
    /* incremental equals one-shot */
    uint32_t c = mlp_crc32(0, "1234", 4);
    assert_int_equal(mlp_crc32(c, "56789", 5), 0xcbf43926u);
}

/* One bit at a time, straight from the definition (reflected polynomial 0xedb88320). */
static uint32_t crc32_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

static void test_crc32_long_inputs_match_the_definition(void **state)
{
    (void)state;
    /* long inputs take the eight-bytes-at-a-time path: every length around its threshold,
     * odd alignments and chaining must give what the bitwise definition gives */
    enum { N = 20000 };
    unsigned char *b = malloc(N);
    uint64_t rng = 9;
    for (size_t i = 0; i < N; i++)
        b[i] = (unsigned char)mlp_rng_u64(&rng);
    for (size_t len = 4080; len < 4112; len++)
        for (size_t off = 0; off < 3; off++)
            assert_int_equal(mlp_crc32(0, b + off, len), crc32_bitwise(0, b + off, len));
    uint32_t c = mlp_crc32(0, b, 7001);
    assert_int_equal(mlp_crc32(c, b + 7001, N - 7001), crc32_bitwise(0, b, N));
    assert_int_equal(mlp_crc32(0x12345678, b, N), crc32_bitwise(0x12345678, b, N));
    free(b);
}

static void test_rng_deterministic_and_seed_dependent(void **state)
{
    (void)state;
    uint64_t a = 42, b = 42, c = 43;
    for (int i = 0; i < 100; i++) {
        uint64_t x = mlp_rng_u64(&a);
        assert_true(x == mlp_rng_u64(&b));
        assert_true(x != mlp_rng_u64(&c));
    }
    /* first splitmix64 output for seed 0, as published with the algorithm */
    uint64_t z = 0;
    assert_true(mlp_rng_u64(&z) == 0xe220a8397b1dcdafu);
}

static void test_rng_below_range_and_balance(void **state)
{
    (void)state;
    uint64_t s = 7;
    size_t count[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = mlp_rng_below(&s, 7);
        assert_true(v < 7);
        count[v]++;
    }
    for (int k = 0; k < 7; k++)
        assert_true(count[k] > 9500 && count[k] < 10500);
    assert_true(mlp_rng_below(&s, 1) == 0);
}

static void test_rng_uniform_and_normal_moments(void **state)
{
    (void)state;
    uint64_t s = 1;
    double sum = 0, sum2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = mlp_rng_uniform(&s);
        assert_true(u >= 0.0f && u < 1.0f);
        sum += u;
    }
    assert_true(fabs(sum / n - 0.5) < 0.005);
    sum = 0;
    for (int i = 0; i < n; i++) {
        double x = mlp_rng_normal(&s);
        assert_true(isfinite(x));
        sum += x;
        sum2 += x * x;
    }
    assert_true(fabs(sum / n) < 0.01);
    assert_true(fabs(sum2 / n - 1.0) < 0.02);
}

static void test_le_fields(void **state)
{
    (void)state;
    unsigned char b[4];
    mlp_put_u32(b, 0x11223344u);
    assert_int_equal(b[0], 0x44);
    assert_int_equal(b[3], 0x11);
    assert_int_equal(mlp_get_u32(b), 0x11223344u);
    assert_int_equal(mlp_get_u32be(b), 0x44332211u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mul_add_size),
        cmocka_unit_test(test_fail_formats_and_returns),
        cmocka_unit_test(test_crc32_known_values),
        cmocka_unit_test(test_crc32_long_inputs_match_the_definition),
        cmocka_unit_test(test_rng_deterministic_and_seed_dependent),
        cmocka_unit_test(test_rng_below_range_and_balance),
        cmocka_unit_test(test_rng_uniform_and_normal_moments),
        cmocka_unit_test(test_le_fields),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
