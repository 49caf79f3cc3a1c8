/*
 * --transpose: mlp_idx_set_transpose turns a non-square image as the formula says; a data set
 * stored transposed and trained with --transpose gives the parameters of the upright set
 * trained without it, bit for bit; the model records it, so eval, explain and info apply or
 * show it untold; an older model and an upright set need nothing.
 */
#include "testutil.h"

#include "idx.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_transpose_a_set(void **state)
{
    (void)state;
    float x[2 * 6] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}; /* two 2x3 images */
    mlp_set s = {.n = 2, .rows = 2, .cols = 3, .dim = 6, .x = x};
    mlp_error err;
    assert_int_equal(mlp_idx_set_transpose(&s, &err), MLP_OK);
    assert_int_equal(s.rows, 3);
    assert_int_equal(s.cols, 2);
    const float want[12] = {0, 3, 1, 4, 2, 5, 10, 13, 11, 14, 12, 15};
    assert_memory_equal(x, want, sizeof want);
    assert_int_equal(mlp_idx_set_transpose(&s, &err), MLP_OK); /* twice: as it was */
    const float back[12] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15};
    assert_memory_equal(x, back, sizeof back);
}

/* dir's images file `name` rewritten transposed into out/name, as EMNIST stores them. */
static void write_transposed(const char *dir, const char *out, const char *name)
{
    char in[4096], path[4096];
    size_t n;
    tu_path(in, dir, name);
    unsigned char *b = tu_read_file(in, &n);
    uint32_t count = mlp_get_u32be(b + 4), rows = mlp_get_u32be(b + 8),
             cols = mlp_get_u32be(b + 12);
    uint8_t *t = malloc(n - 16);
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t y = 0; y < rows; y++)
            for (uint32_t x = 0; x < cols; x++)
                t[(size_t)i * rows * cols + x * rows + y] =
                    b[16 + (size_t)i * rows * cols + y * cols + x];
    tu_path(path, out, name);
    tu_write_idx_images(path, count, cols, rows, t);
    free(t);
    free(b);
}

static void copy(const char *dir, const char *out, const char *name)
{
    char in[4096], path[4096];
    size_t n;
    tu_path(in, dir, name);
    tu_path(path, out, name);
    unsigned char *b = tu_read_file(in, &n);
    tu_write_file(path, b, n);
    free(b);
}

static void test_train_eval_explain_transposed(void **state)
{
    (void)state;
    tu_cli c;
    tu_cli_open(&c);
    char up[4096], side[4096], a[4096], b[4096];
    tu_path(up, c.dir, "upright");
    tu_path(side, c.dir, "sideways");
    assert_int_equal(mkdir(up, 0777), 0);
    assert_int_equal(mkdir(side, 0777), 0);
    tu_write_synthetic(up, 600, 40, 6, 9, 4, 3); /* 6x9: a transposed image is 9x6 */
    write_transposed(up, side, "train-images-idx3-ubyte");
    write_transposed(up, side, "t10k-images-idx3-ubyte");
    copy(up, side, "train-labels-idx1-ubyte");
    copy(up, side, "t10k-labels-idx1-ubyte");
    tu_path(a, c.dir, "a.bin");
    tu_path(b, c.dir, "b.bin");
    assert_int_equal(tu_cli_run(&c, "train %s --hidden 8 --epochs 2 --out %s", up, a), 0);
    assert_int_equal(tu_cli_run(&c, "train %s --hidden 8 --epochs 2 --transpose --out %s", side, b),
                     0);
    assert_non_null(strstr(c.out, "of 6x9, 4 classes, images transposed"));
    mlp_net na, nb;
    mlp_model_meta ma, mb;
    mlp_error err;
    assert_int_equal(mlp_model_load(a, &na, 1, &ma, &err), MLP_OK);
    assert_int_equal(mlp_model_load(b, &nb, 1, &mb, &err), MLP_OK);
    assert_false(ma.opt.transpose);
    assert_true(mb.opt.transpose);
    assert_true(ma.rows == 6 && mb.rows == 6 && ma.cols == 9 && mb.cols == 9);
    assert_memory_equal(na.params, nb.params, na.n_params * sizeof(float));
    mlp_net_free(&na);
    mlp_net_free(&nb);

    /* later commands turn the sideways test set upright by themselves */
    assert_int_equal(tu_cli_run(&c, "eval %s %s --json", a, up), 0);
    char acc[256];
    const char *p = strstr(c.out, "\"accuracy\":");
    assert_non_null(p);
    snprintf(acc, sizeof acc, "%.*s", (int)strcspn(p, ","), p);
    assert_int_equal(tu_cli_run(&c, "eval %s %s --json", b, side), 0);
    assert_non_null(strstr(c.out, acc));
    assert_int_equal(tu_cli_run(&c, "explain %s %s --index 3", b, side), 0);
    assert_int_equal(tu_cli_run(&c, "info %s", b), 0);
    assert_non_null(strstr(c.out, "data         images transposed"));
    assert_non_null(strstr(c.out, "--transpose"));
    /* the untransposed model on the sideways files: refused for their shape, or told */
    assert_int_equal(tu_cli_run(&c, "eval %s %s", a, side), 1);
    assert_non_null(strstr(c.err, "9x6"));
    assert_int_equal(tu_cli_run(&c, "eval %s %s --transpose --json", a, side), 0);
    assert_non_null(strstr(c.out, acc));
    /* resuming keeps it: the flag may be repeated, not contradicted */
    assert_int_equal(tu_cli_run(&c, "train %s --resume %s --epochs 3 --transpose", side, b), 0);
    assert_int_equal(tu_cli_run(&c, "train %s --resume %s --epochs 4", up, a), 0);
    tu_cli_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_a_set),
        cmocka_unit_test(test_train_eval_explain_transposed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
