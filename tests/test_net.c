/* net: layout, initialisation, the forward pass against hand computation, the cost. */
#include "testutil.h"

#include "net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sig(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

static void test_param_counts(void **state)
{
    (void)state;
    size_t n = 0;
    const size_t a[] = {784, 16, 16, 10}, b[] = {784, 30, 10}, c[] = {784, 800, 800, 10};
    assert_true(mlp_net_count_params(a, 4, &n));
    assert_int_equal(n, 13002); /* the lessons' 13,002 knobs */
    assert_true(mlp_net_count_params(b, 3, &n));
    assert_int_equal(n, 23860);
    assert_true(mlp_net_count_params(c, 4, &n));
    assert_int_equal(n, 1276810);
    const size_t zero[] = {784, 0, 10};
    assert_false(mlp_net_count_params(zero, 3, &n));
    assert_false(mlp_net_count_params(a, 1, &n));
    const size_t huge[] = {SIZE_MAX / 2, 4, 2};
    assert_false(mlp_net_count_params(huge, 3, &n));
}

static void test_views_are_one_flat_layout(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {784, 16, 16, 10};
    assert_int_equal(
        mlp_net_init(&net, s, 4, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 10, NULL, NULL, &err),
        MLP_OK);
    assert_int_equal(net.n_layers, 3);
    assert_int_equal(net.n_params, 13002);
    assert_ptr_equal(net.W[0], net.params);
    assert_ptr_equal(net.b[0], net.params + 16 * 784);
    assert_ptr_equal(net.W[1], net.b[0] + 16);
    assert_ptr_equal(net.b[1], net.W[1] + 16 * 16);
    assert_ptr_equal(net.W[2], net.b[1] + 16);
    assert_ptr_equal(net.b[2] + 10, net.params + net.n_params);
    for (size_t l = 0; l < 3; l++) {
        assert_true(net.dW[l] - net.grads == net.W[l] - net.params);
        assert_true(net.db[l] - net.grads == net.b[l] - net.params);
    }
    assert_ptr_equal(net.a[1], net.a[0] + 10 * 784);
    assert_ptr_equal(net.a[3], net.a[2] + 10 * 16);
    assert_ptr_equal(net.wish[1], net.wishes);
    assert_ptr_equal(net.wish[3], net.wish[2] + 10 * 16);
    mlp_net_free(&net);
    assert_null(net.params);
    mlp_net_free(&net); /* twice is harmless */
}

/* The layer views of any buffer laid out like params are the views net.c points into params
 * and grads; the offsets are those of the views. */
static void test_layer_views_of_any_buffer(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {5, 4, 3, 2};
    assert_int_equal(mlp_net_init(&net, s, 4, MLP_ACT_TANH, MLP_COST_XENT, 2, NULL, NULL, &err),
                     MLP_OK);
    float *buf = calloc(net.n_params, sizeof *buf);
    for (size_t l = 0; l < net.n_layers; l++) {
        assert_ptr_equal(mlp_net_layer_w(&net, net.params, l), net.W[l]);
        assert_ptr_equal(mlp_net_layer_b(&net, net.params, l), net.b[l]);
        assert_ptr_equal(mlp_net_layer_w(&net, net.grads, l), net.dW[l]);
        assert_ptr_equal(mlp_net_layer_b(&net, net.grads, l), net.db[l]);
        assert_int_equal(mlp_net_w_offset(&net, l), net.W[l] - net.params);
        assert_int_equal(mlp_net_b_offset(&net, l), net.b[l] - net.params);
        assert_ptr_equal(mlp_net_layer_w(&net, buf, l), buf + (net.W[l] - net.params));
    }
    assert_int_equal(mlp_net_b_offset(&net, 2) + 2, net.n_params);
    free(buf);
    mlp_net_free(&net);
}

/* The kernels and the pool are the network's from mlp_net_init on: NULL gives "auto" and the
 * caller's thread; mlp_net_attach changes both. */
static void test_init_takes_kernels_and_pool(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    mlp_pool *pool;
    const size_t s[] = {3, 2};
    assert_int_equal(mlp_pool_create(&pool, 2, &err), MLP_OK);
    assert_int_equal(mlp_net_init(&net, s, 2, MLP_ACT_RELU, MLP_COST_XENT, 1, NULL, NULL, &err),
                     MLP_OK);
    assert_ptr_equal(net.kern, mlp_kernels_get("auto"));
    assert_null(net.pool);
    mlp_net_free(&net);
    assert_int_equal(
        mlp_net_init(&net, s, 2, MLP_ACT_RELU, MLP_COST_XENT, 1, &mlp_kernels_ref, pool, &err),
        MLP_OK);
    assert_ptr_equal(net.kern, &mlp_kernels_ref);
    assert_ptr_equal(net.pool, pool);
    mlp_net_attach(&net, NULL, NULL);
    assert_ptr_equal(net.kern, mlp_kernels_get("auto"));
    assert_null(net.pool);
    mlp_net_free(&net);
    mlp_pool_destroy(pool);
}

/* An input row is read where it lies, and only the rows set change. */
static void test_set_input_points_a_row(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {2, 1};
    const float x0[2] = {1.0f, 2.0f}, x1[2] = {-3.0f, 0.5f};
    assert_int_equal(
        mlp_net_init(&net, s, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 3, NULL, NULL, &err), MLP_OK);
    net.W[0][0] = 1.0f;
    net.W[0][1] = 1.0f;
    const float *own = net.rows[0][2];
    mlp_net_set_input(&net, 0, x0);
    mlp_net_set_input(&net, 1, x1);
    assert_ptr_equal(net.rows[0][0], x0);
    assert_ptr_equal(net.rows[0][1], x1);
    assert_ptr_equal(net.rows[0][2], own);
    mlp_net_forward(&net, 2);
    assert_true(fabsf(net.a[1][0] - 1.0f / (1.0f + expf(-3.0f))) < 1e-6f);
    assert_true(fabsf(net.a[1][1] - 1.0f / (1.0f + expf(2.5f))) < 1e-6f);
    mlp_net_free(&net);
}

static void test_init_rejects_bad_layouts(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t zero[] = {4, 0, 2}, ok[] = {4, 3, 2};
    const size_t deep[MLP_MAX_LAYERS + 2] = {4, 3, 3, 3, 3, 3, 3, 3, 3, 2};
    assert_int_equal(
        mlp_net_init(&net, zero, 3, MLP_ACT_SIGMOID, MLP_COST_XENT, 1, NULL, NULL, &err), MLP_EARG);
    assert_int_equal(mlp_net_init(&net, deep, MLP_MAX_LAYERS + 2, MLP_ACT_SIGMOID, MLP_COST_XENT, 1,
                                  NULL, NULL, &err),
                     MLP_EARG);
    assert_int_equal(mlp_net_init(&net, ok, 3, MLP_ACT_SIGMOID, MLP_COST_XENT, 0, NULL, NULL, &err),
                     MLP_EARG);
    assert_int_equal(mlp_net_init(&net, ok, 3, MLP_ACT_SIGMOID, MLP_COST_XENT, MLP_MAX_BATCH + 1,
                                  NULL, NULL, &err),
                     MLP_EARG);
    assert_null(net.params);
}

static void test_init_is_seeded_and_scaled(void **state)
{
    (void)state;
    mlp_net a, b;
    mlp_error err;
    const size_t s[] = {300, 200, 10};
    assert_int_equal(
        mlp_net_init(&a, s, 3, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err), MLP_OK);
    assert_int_equal(
        mlp_net_init(&b, s, 3, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err), MLP_OK);
    mlp_net_init_params(&a, 5);
    mlp_net_init_params(&b, 5);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    mlp_net_init_params(&b, 6);
    assert_memory_not_equal(a.params, b.params, a.n_params * sizeof(float));

    /* Glorot uniform: within +-r, variance r^2/3; biases zero */
    double r = sqrt(6.0 / 500.0), sum2 = 0;
    for (size_t i = 0; i < 200 * 300; i++) {
        assert_true(fabs(a.W[0][i]) <= r);
        sum2 += (double)a.W[0][i] * a.W[0][i];
    }
    assert_true(fabs(sum2 / 60000 - r * r / 3) < 0.05 * r * r / 3);
    for (size_t j = 0; j < 200; j++)
        assert_true(a.b[0][j] == 0.0f);
    mlp_net_free(&a);
    mlp_net_free(&b);

    /* He normal for ReLU hidden layers: variance 2 / fan_in */
    assert_int_equal(mlp_net_init(&a, s, 3, MLP_ACT_RELU, MLP_COST_XENT, 1, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&a, 5);
    sum2 = 0;
    for (size_t i = 0; i < 200 * 300; i++)
        sum2 += (double)a.W[0][i] * a.W[0][i];
    assert_true(fabs(sum2 / 60000 - 2.0 / 300) < 0.05 * 2.0 / 300);
    mlp_net_free(&a);
}

/* The 2-2-2 network of the hand computation:
 *   W0 = [[0.1, 0.2], [0.3, -0.4]], b0 = [0.5, -0.5]
 *   W1 = [[1, -1], [0.5, 0.25]],    b1 = [0, 0.1]
 * For x = (1, 2): z1 = (0.1 + 0.4 + 0.5, 0.3 - 0.8 - 0.5) = (1, -1). */
static void hand_net(mlp_net *net, mlp_act act, mlp_cost cost)
{
    mlp_error err;
    const size_t s[] = {2, 2, 2};
    const float p[] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.5f, 1.0f, -1.0f, 0.5f, 0.25f, 0.0f, 0.1f};
    assert_int_equal(mlp_net_init(net, s, 3, act, cost, 2, NULL, NULL, &err), MLP_OK);
    assert_int_equal(net->n_params, 12);
    memcpy(net->params, p, sizeof p);
    static const float x[4] = {1, 2, 0, 0}; /* row 1: all zero, so z1 = b0 */
    mlp_net_set_input(net, 0, x);
    mlp_net_set_input(net, 1, x + 2);
}

static void test_forward_by_hand_sigmoid_quadratic(void **state)
{
    (void)state;
    mlp_net net;
    hand_net(&net, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC);
    mlp_net_forward(&net, 2);
    double h0 = sig(1.0), h1 = sig(-1.0);
    double want[4] = {sig(h0 - h1), sig(0.5 * h0 + 0.25 * h1 + 0.1)};
    double g0 = sig(0.5), g1 = sig(-0.5); /* row 1 */
    want[2] = sig(g0 - g1);
    want[3] = sig(0.5 * g0 + 0.25 * g1 + 0.1);
    double got[4], hid[2] = {net.a[1][0], net.a[1][1]}, hwant[2] = {h0, h1};
    for (int i = 0; i < 4; i++)
        got[i] = net.a[2][i];
    tu_check_close("hidden", hid, hwant, 2, 1e-6, 0);
    tu_check_close("outputs", got, want, 4, 1e-6, 0);

    /* quadratic cost: 0.5 * sum (a - onehot)^2, summed over rows */
    const uint8_t y[2] = {0, 1};
    double c = 0.5 * ((want[0] - 1) * (want[0] - 1) + want[1] * want[1]) +
               0.5 * (want[2] * want[2] + (want[3] - 1) * (want[3] - 1));
    assert_true(fabs(mlp_net_cost(&net, y, 2) - c) < 1e-6);
    assert_int_equal(mlp_net_predict_row(&net, 0), want[0] > want[1] ? 0 : 1);
    mlp_net_free(&net);
}

static void test_forward_by_hand_tanh_relu_softmax(void **state)
{
    (void)state;
    mlp_net net;
    /* tanh hidden, softmax out */
    hand_net(&net, MLP_ACT_TANH, MLP_COST_XENT);
    mlp_net_forward(&net, 1);
    double h0 = tanh(1.0), h1 = tanh(-1.0);
    double z0 = h0 - h1, z1 = 0.5 * h0 + 0.25 * h1 + 0.1;
    double want[2] = {exp(z0) / (exp(z0) + exp(z1)), exp(z1) / (exp(z0) + exp(z1))};
    double got[2] = {net.a[2][0], net.a[2][1]};
    tu_check_close("tanh/softmax", got, want, 2, 1e-6, 0);
    const uint8_t y[1] = {1};
    assert_true(fabs(mlp_net_cost(&net, y, 1) + log(want[1])) < 1e-6);
    mlp_net_free(&net);

    /* relu hidden: z1 = (1, -1) -> (1, 0) */
    hand_net(&net, MLP_ACT_RELU, MLP_COST_XENT);
    mlp_net_forward(&net, 1);
    assert_true(net.a[1][0] == 1.0f && net.a[1][1] == 0.0f);
    z0 = 1.0;
    z1 = 0.5 + 0.1;
    want[0] = exp(z0) / (exp(z0) + exp(z1));
    want[1] = 1 - want[0];
    got[0] = net.a[2][0];
    got[1] = net.a[2][1];
    tu_check_close("relu/softmax", got, want, 2, 1e-6, 0);
    mlp_net_free(&net);
}

static void test_softmax_survives_large_inputs(void **state)
{
    (void)state;
    mlp_net net;
    hand_net(&net, MLP_ACT_RELU, MLP_COST_XENT);
    const float big[2] = {1e4f, 0.0f}; /* z ~ 1e3 would overflow expf without the max shift */
    mlp_net_set_input(&net, 0, big);
    mlp_net_forward(&net, 1);
    assert_true(isfinite(net.a[2][0]) && isfinite(net.a[2][1]));
    assert_true(fabs((double)net.a[2][0] + net.a[2][1] - 1.0) < 1e-6);
    /* z2 = (-1999, ~1250.3): class 0 has probability 0 in floats */
    const uint8_t y[1] = {0};
    double c = mlp_net_cost(&net, y, 1);
    assert_true(isfinite(c) && c > 80.0); /* clamped, not infinite */
    mlp_net_free(&net);
}

/* Every parameter index names the view element it really is. */
static void test_knob_names_every_parameter(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {5, 3, 4, 2};
    assert_int_equal(
        mlp_net_init(&net, s, 4, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err), MLP_OK);
    size_t weights = 0, biases = 0;
    for (size_t i = 0; i < net.n_params; i++) {
        mlp_knob k = mlp_net_knob(&net, i);
        assert_true(k.layer < net.n_layers);
        size_t in = net.sizes[k.layer];
        const float *p =
            k.bias ? net.b[k.layer] + k.neuron : net.W[k.layer] + k.neuron * in + k.input;
        assert_ptr_equal(p, net.params + i);
        weights += !k.bias;
        biases += k.bias;
    }
    assert_int_equal(weights, 5 * 3 + 3 * 4 + 4 * 2);
    assert_int_equal(biases, 3 + 4 + 2);
    mlp_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_counts),
        cmocka_unit_test(test_views_are_one_flat_layout),
        cmocka_unit_test(test_layer_views_of_any_buffer),
        cmocka_unit_test(test_init_takes_kernels_and_pool),
        cmocka_unit_test(test_set_input_points_a_row),
        cmocka_unit_test(test_init_rejects_bad_layouts),
        cmocka_unit_test(test_init_is_seeded_and_scaled),
        cmocka_unit_test(test_forward_by_hand_sigmoid_quadratic),
        cmocka_unit_test(test_forward_by_hand_tanh_relu_softmax),
        cmocka_unit_test(test_softmax_survives_large_inputs),
        cmocka_unit_test(test_knob_names_every_parameter),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
