/* export: the .npy files hold exactly the network's weights and biases in the shapes
 * model.json gives, and model.json describes the network. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 3-4-2 tanh network with cross-entropy, parameters 0.5, 1.5, 2.5, ...: every value
 * different, so a transposed or shifted array cannot pass. */
static void tiny(mlp_net *net, mlp_model_meta *meta)
{
    mlp_error err;
    const size_t sizes[3] = {3, 4, 2};
    assert_int_equal(mlp_net_init(net, sizes, 3, MLP_ACT_TANH, MLP_COST_XENT, 1, NULL, NULL, &err),
                     MLP_OK);
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = (float)i + 0.5f;
    *meta = (mlp_model_meta){.rows = 1,
                             .cols = 3,
                             .opt = {.epochs = 7,
                                     .batch = 5,
                                     .lr = 0.25f,
                                     .schedule = MLP_SCHED_LINEAR,
                                     .lr_end = 0.005f,
                                     .l2 = 1e-4f},
                             .seed = 42,
                             .n_train = 100,
                             .test_accuracy = -1.0f};
    strcpy(meta->cmdline, "mlp train \"odd\" dir");
}

static void expect_array(const char *dir, const char *name, const float *want, size_t rows,
                         size_t cols)
{
    char path[4096];
    size_t shape[8], ndim;
    tu_path(path, dir, name);
    float *got = tu_npy_read(path, shape, &ndim);
    assert_int_equal(ndim, cols ? 2 : 1);
    assert_int_equal(shape[0], rows);
    if (cols)
        assert_int_equal(shape[1], cols);
    assert_memory_equal(got, want, sizeof(float) * rows * (cols ? cols : 1));
    free(got);
}

static void test_files_hold_the_parameters(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir(), dir[4096], path[4096];
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    tiny(&net, &meta);
    tu_path(dir, tmp, "out"); /* does not exist yet */
    assert_int_equal(mlp_export_npy(dir, &net, &meta, &err), MLP_OK);

    /* W0 is (4, 3): parameters 0..11; b0 12..15; W1 (2, 4) 16..23; b1 24..25 */
    expect_array(dir, "W0.npy", net.params, 4, 3);
    expect_array(dir, "b0.npy", net.params + 12, 4, 0);
    expect_array(dir, "W1.npy", net.params + 16, 2, 4);
    expect_array(dir, "b1.npy", net.params + 24, 2, 0);
    assert_true(net.W[1] == net.params + 16); /* the layout the expectations assume */

    size_t len;
    tu_path(path, dir, "model.json");
    char *json = (char *)tu_read_file(path, &len);
    json = realloc(json, len + 1);
    json[len] = '\0';
    assert_true(tu_json_valid(json));
    assert_int_equal(tu_count_lines(json), 1);
    const char *want[] = {
        "{\"format\":\"mlp-npy\",\"version\":1,\"sizes\":[3,4,2],",
        "\"input\":{\"rows\":1,\"cols\":3,\"order\":\"row-major\",\"divide_by\":255}",
        "\"classes\":2,\"hidden_activation\":\"tanh\",\"output_activation\":\"softmax\","
        "\"cost\":\"xent\",\"parameters\":26",
        "{\"weight\":\"W0.npy\",\"bias\":\"b0.npy\",\"weight_shape\":[4,3],\"bias_shape\":[4],"
        "\"activation\":\"tanh\"}",
        "{\"weight\":\"W1.npy\",\"bias\":\"b1.npy\",\"weight_shape\":[2,4],\"bias_shape\":[2],"
        "\"activation\":\"softmax\"}",
        "\"learning_rate\":0.25,\"schedule\":\"linear\",\"learning_rate_end\":0.005,",
        "\"l2\":0.0001",
        "\"seed\":42",
        "\"test_accuracy\":null",
        "\"command\":\"mlp train \\\"odd\\\" dir\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(json, want[i])) {
            print_error("model.json: %s\nlacks %s\n", json, want[i]);
            fail();
        }
    free(json);

    /* exporting again replaces the files */
    net.params[0] = -7.0f;
    assert_int_equal(mlp_export_npy(dir, &net, &meta, &err), MLP_OK);
    expect_array(dir, "W0.npy", net.params, 4, 3);

    mlp_net_free(&net);
    tu_rm_rf(tmp);
    free(tmp);
}

static void test_unusable_directories_refused(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir(), path[4096];
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    tiny(&net, &meta);
    tu_path(path, tmp, "missing/parent");
    assert_int_equal(mlp_export_npy(path, &net, &meta, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "missing/parent: cannot create"));
    tu_path(path, tmp, "file");
    tu_write_file(path, "x", 1);
    assert_int_equal(mlp_export_npy(path, &net, &meta, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "not a directory"));
    mlp_net_free(&net);
    tu_rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_hold_the_parameters),
        cmocka_unit_test(test_unusable_directories_refused),
    };
    return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
