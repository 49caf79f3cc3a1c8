/* npy: the header NumPy expects, byte for byte, and every float's bits read back. */
#include "testutil.h"

#include "npy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_header_bytes(void **state)
{
    (void)state;
    unsigned char h[256];
    const size_t shape2[2] = {16, 784}, shape1[1] = {10};
    size_t n = mlp_npy_header(h, sizeof h, shape2, 2);
    assert_int_equal(n, 128); /* 10 + 61 characters + newline, rounded up to 64 */
    assert_memory_equal(h, "\x93NUMPY\x01\x00\x76\x00", 10);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (16, 784), }";
    assert_memory_equal(h + 10, dict, strlen(dict));
    for (size_t i = 10 + strlen(dict); i < n - 1; i++)
        assert_int_equal(h[i], ' ');
    assert_int_equal(h[n - 1], '\n');

    n = mlp_npy_header(h, sizeof h, shape1, 1);
    assert_int_equal(n, 128); /* 10 + 58 + 1 */
    dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }";
    assert_memory_equal(h + 10, dict, strlen(dict));

    n = mlp_npy_header(h, sizeof h, NULL, 0); /* a scalar: 10 + 55 + 1 */
    assert_int_equal(n, 128);
    dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (), }";
    assert_memory_equal(h + 10, dict, strlen(dict));

    assert_int_equal(mlp_npy_header(h, 100, shape2, 2), 0); /* does not fit */
    const size_t many[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(mlp_npy_header(h, sizeof h, many, 9), 0);
}

static void test_write_and_read_back(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[4096];
    tu_path(path, dir, "a.npy");
    /* values whose bits would show a byte-order or rounding mistake */
    const size_t shape[3] = {2, 3, 5};
    float x[30];
    for (int i = 0; i < 30; i++)
        x[i] = (float)i * 0.1f - 1.0f;
    x[0] = -0.0f;
    x[1] = 1e-45f; /* the smallest denormal */
    x[2] = 3.4028235e38f;
    x[3] = 3.14159265f;
    mlp_error err;
    assert_int_equal(mlp_npy_write(path, x, shape, 3, &err), MLP_OK);
    size_t got_shape[8], ndim;
    float *y = tu_npy_read(path, got_shape, &ndim);
    assert_int_equal(ndim, 3);
    assert_int_equal(got_shape[0], 2);
    assert_int_equal(got_shape[1], 3);
    assert_int_equal(got_shape[2], 5);
    assert_memory_equal(x, y, sizeof x);
    assert_true(signbit(y[0]));
    free(y);

    /* more values than one write chunk */
    const size_t big[1] = {10007};
    float *z = malloc(sizeof(float) * big[0]);
    for (size_t i = 0; i < big[0]; i++)
        z[i] = (float)i;
    assert_int_equal(mlp_npy_write(path, z, big, 1, &err), MLP_OK);
    y = tu_npy_read(path, got_shape, &ndim);
    assert_int_equal(ndim, 1);
    assert_int_equal(got_shape[0], big[0]);
    assert_memory_equal(z, y, sizeof(float) * big[0]);
    free(y);
    free(z);

    tu_path(path, dir, "no/such/dir/a.npy");
    assert_int_equal(mlp_npy_write(path, x, shape, 3, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "a.npy"));
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_write_and_read_back),
    };
    return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
