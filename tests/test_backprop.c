/*
 * backprop: every gradient against central finite differences, computed in double precision
 * by a forward pass written independently here, for every activation x cost.
 */
#include "testutil.h"

#include "backprop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mean cost over B rows of the network described by net's layout, with parameters p (double,
 * net's layout) on inputs x (B, sizes[0]). Written from the definitions, not from net.c. */
static double ref_cost(const mlp_net *net, const double *p, const double *x, const uint8_t *y,
                       size_t B, double *out_last /* (B, classes) or NULL */)
{
    double total = 0.0;
    double cur[64], nxt[64];
    for (size_t i = 0; i < B; i++) {
        size_t off = 0, width = net->sizes[0];
        memcpy(cur, x + i * width, width * sizeof(double));
        for (size_t l = 0; l < net->n_layers; l++) {
            size_t in = net->sizes[l], out = net->sizes[l + 1];
            const double *W = p + off, *b = p + off + out * in;
            off += out * in + out;
            if (net->drop.keep[l] < 1.0f) /* the dropout masks of the forward pass being checked */
                for (size_t k = 0; k < in; k++)
                    cur[k] *= net->drop.mask[l][i * in + k];
            bool last = l + 1 == net->n_layers;
            for (size_t j = 0; j < out; j++) {
                double z = b[j];
                for (size_t k = 0; k < in; k++)
                    z += W[j * in + k] * cur[k];
                if (last && net->cost == MLP_COST_XENT)
                    nxt[j] = z; /* softmax below */
                else if (last || net->act == MLP_ACT_SIGMOID)
                    nxt[j] = 1.0 / (1.0 + exp(-z));
                else if (net->act == MLP_ACT_TANH)
                    nxt[j] = tanh(z);
                else
                    nxt[j] = z > 0 ? z : 0;
            }
            if (last && net->cost == MLP_COST_XENT) {
                double s = 0;
                for (size_t j = 0; j < out; j++)
                    s += exp(nxt[j]);
                for (size_t j = 0; j < out; j++)
                    nxt[j] = exp(nxt[j]) / s;
            }
            memcpy(cur, nxt, out * sizeof(double));
            width = out;
        }
        if (out_last)
            memcpy(out_last + i * width, cur, width * sizeof(double));
        if (net->cost == MLP_COST_XENT) {
            total -= log(cur[y[i]]);
        } else {
            for (size_t j = 0; j < width; j++) {
                double e = cur[j] - (j == y[i]);
                total += 0.5 * e * e;
            }
        }
    }
    return total / (double)B;
}

/* Largest |a - b| relative to the largest |b|. */
static double max_rel_err(const double *a, const double *b, size_t n)
{
    double worst = 0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(b[i]));
        worst = fmax(worst, fabs(a[i] - b[i]));
    }
    return worst / scale;
}

static void gradcheck(const size_t *sizes, size_t n_sizes, size_t B, mlp_act act, mlp_cost cost,
                      uint64_t seed, float keep)
{
    mlp_net net;
    mlp_error err;
    assert_int_equal(mlp_net_init(&net, sizes, n_sizes, act, cost, B, NULL, NULL, &err), MLP_OK);
    mlp_net_init_params(&net, seed);
    uint64_t rng = seed * 7 + 1;
    /* random biases too, so no gradient is trivially tied to a zero parameter */
    for (size_t l = 0; l < net.n_layers; l++)
        for (size_t j = 0; j < sizes[l + 1]; j++)
            net.b[l][j] = 0.2f * (2.0f * mlp_rng_uniform(&rng) - 1.0f);
    size_t nx = B * sizes[0], P = net.n_params, K = sizes[n_sizes - 1];
    double *x = malloc(nx * sizeof *x), *p = calloc(P, sizeof *p);
    double *num = malloc(P * sizeof *num), *bp = malloc(P * sizeof *bp);
    double *out = malloc(B * K * sizeof *out), *got = malloc(B * K * sizeof *got);
    uint8_t y[16] = {0};
    float *in = malloc(nx * sizeof *in);
    for (size_t i = 0; i < nx; i++) {
        in[i] = mlp_rng_uniform(&rng);
        x[i] = in[i];
    }
    tu_net_input(&net, in, B);
    for (size_t i = 0; i < B; i++)
        y[i] = (uint8_t)mlp_rng_below(&rng, K);
    for (size_t i = 0; i < P; i++)
        p[i] = net.params[i];
    for (size_t l = 0; l < net.n_layers; l++)
        net.drop.keep[l] = keep;
    net.drop.seed = seed;

    /* the reference forward pass agrees with net.c's, so both describe the same function */
    mlp_net_forward(&net, B);
    ref_cost(&net, p, x, y, B, out);
    for (size_t i = 0; i < B * K; i++)
        got[i] = net.a[net.n_layers][i];
    tu_check_close("forward vs reference", got, out, B * K, 1e-5, 1e-5);

    mlp_backprop(&net, y, B);
    for (size_t i = 0; i < P; i++)
        bp[i] = net.grads[i];

    const double h = 1e-5;
    for (size_t i = 0; i < P; i++) {
        double p0 = p[i];
        p[i] = p0 + h;
        double up = ref_cost(&net, p, x, y, B, NULL);
        p[i] = p0 - h;
        double down = ref_cost(&net, p, x, y, B, NULL);
        p[i] = p0;
        num[i] = (up - down) / (2 * h);
    }

    double e = max_rel_err(bp, num, P);
    if (e > 1e-4) {
        print_error("%s/%s: backprop vs finite differences, max relative error %g\n",
                    mlp_act_name(act), mlp_cost_name(cost), e);
        tu_check_close("gradient", bp, num, P, 1e-6, 1e-3);
        fail();
    }
    /* The check can fail: a zero gradient, or one with a single wrong entry, is caught. */
    double biggest = 0;
    size_t at = 0;
    for (size_t i = 0; i < P; i++)
        if (fabs(num[i]) > biggest)
            biggest = fabs(num[at = i]);
    assert_true(biggest > 1e-3);
    double *zero = calloc(P, sizeof *zero);
    assert_true(max_rel_err(zero, num, P) > 0.5);
    bp[at] *= 1.01;
    assert_true(max_rel_err(bp, num, P) > 1e-3);
    free(zero);
    free(in);
    free(x);
    free(p);
    free(num);
    free(bp);
    free(out);
    free(got);
    mlp_net_free(&net);
}

static void test_gradients_every_activation_and_cost(void **state)
{
    (void)state;
    const size_t s1[] = {5, 4, 3, 3}, s2[] = {6, 5, 4, 3, 4}, s3[] = {7, 4};
    const mlp_act acts[] = {MLP_ACT_SIGMOID, MLP_ACT_TANH, MLP_ACT_RELU};
    const mlp_cost costs[] = {MLP_COST_QUADRATIC, MLP_COST_XENT};
    for (int a = 0; a < 3; a++) {
        for (int c = 0; c < 2; c++) {
            gradcheck(s1, 4, 3, acts[a], costs[c], 11 + a * 2 + c, 1.0f);
            gradcheck(s2, 5, 2, acts[a], costs[c], 21 + a * 2 + c, 1.0f);
            gradcheck(s3, 2, 5, acts[a], costs[c], 31 + a * 2 + c, 1.0f); /* no hidden layer */
            gradcheck(s2, 5, 3, acts[a], costs[c], 41 + a * 2 + c, 0.7f); /* with dropout */
        }
    }
}

/* Dropout masks: drawn from the seed (same seed, same masks; another seed, others), about the
 * kept fraction kept, kept values scaled by 1/keep, and nothing dropped when keep is 1. */
static void test_dropout_masks(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {200, 300, 10};
    assert_int_equal(mlp_net_init(&net, s, 3, MLP_ACT_RELU, MLP_COST_XENT, 4, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&net, 1);
    float *ones = malloc(4 * 200 * sizeof *ones);
    for (size_t i = 0; i < 4 * 200; i++)
        ones[i] = 1.0f;
    tu_net_input(&net, ones, 4);
    net.drop.keep[0] = 0.8f;
    net.drop.keep[1] = 0.5f;
    net.drop.seed = 7;
    mlp_net_forward(&net, 4);
    float *m0 = malloc(4 * 200 * sizeof *m0), *m1 = malloc(4 * 300 * sizeof *m1);
    memcpy(m0, net.drop.mask[0], 4 * 200 * sizeof *m0);
    memcpy(m1, net.drop.mask[1], 4 * 300 * sizeof *m1);
    size_t kept0 = 0, kept1 = 0;
    for (size_t i = 0; i < 4 * 200; i++) {
        assert_true(m0[i] == 0.0f || m0[i] == 1.0f / 0.8f);
        kept0 += m0[i] != 0.0f;
        assert_true(net.x[0][i / 200][i % 200] == m0[i]); /* input 1 times the mask */
    }
    for (size_t i = 0; i < 4 * 300; i++)
        kept1 += m1[i] != 0.0f;
    assert_true(kept0 > 0.75 * 800 && kept0 < 0.85 * 800);
    assert_true(kept1 > 0.45 * 1200 && kept1 < 0.55 * 1200);
    mlp_net_forward(&net, 4); /* the same seed again: the same masks */
    assert_memory_equal(net.drop.mask[0], m0, 4 * 200 * sizeof *m0);
    assert_memory_equal(net.drop.mask[1], m1, 4 * 300 * sizeof *m1);
    net.drop.seed = 8; /* the next step: other masks */
    mlp_net_forward(&net, 4);
    assert_memory_not_equal(net.drop.mask[0], m0, 4 * 200 * sizeof *m0);
    assert_memory_not_equal(net.drop.mask[1], m1, 4 * 300 * sizeof *m1);
    /* off again: the layer reads its own rows */
    net.drop.keep[0] = net.drop.keep[1] = 1.0f;
    mlp_net_forward(&net, 4);
    assert_ptr_equal(net.x[0], net.rows[0]);
    assert_ptr_equal(net.x[1], net.rows[1]);
    free(ones);
    free(m0);
    free(m1);
    mlp_net_free(&net);
}

static void test_gradient_is_the_batch_mean(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {3, 4, 2};
    const uint8_t y1[1] = {1}, y2[2] = {1, 1};
    assert_int_equal(
        mlp_net_init(&net, s, 3, MLP_ACT_TANH, MLP_COST_QUADRATIC, 2, NULL, NULL, &err), MLP_OK);
    mlp_net_init_params(&net, 3);
    const float x[6] = {0.1f, 0.9f, 0.4f, 0.1f, 0.9f, 0.4f};
    tu_net_input(&net, x, 2);
    mlp_net_forward(&net, 1);
    mlp_backprop(&net, y1, 1);
    float *one = malloc(net.n_params * sizeof *one);
    memcpy(one, net.grads, net.n_params * sizeof *one);
    mlp_net_forward(&net, 2); /* the same row twice */
    mlp_backprop(&net, y2, 2);
    for (size_t i = 0; i < net.n_params; i++)
        assert_true(fabsf(net.grads[i] - one[i]) <= 1e-7f + 1e-5f * fabsf(one[i]));
    free(one);
    mlp_net_free(&net);
}

static void test_output_wishes_point_the_right_way(void **state)
{
    (void)state;
    const mlp_cost costs[] = {MLP_COST_QUADRATIC, MLP_COST_XENT};
    for (int c = 0; c < 2; c++) {
        mlp_net net;
        mlp_error err;
        const size_t s[] = {4, 5, 3};
        const uint8_t y[1] = {2};
        assert_int_equal(mlp_net_init(&net, s, 3, MLP_ACT_SIGMOID, costs[c], 1, NULL, NULL, &err),
                         MLP_OK);
        mlp_net_init_params(&net, 9);
        const float x[4] = {0.5f, 0.5f, 0.5f, 0.5f};
        tu_net_input(&net, x, 1);
        mlp_net_forward(&net, 1);
        mlp_backprop_output_wish(&net, y, 1);
        /* the desired class wants its z up (negative gradient), the others want theirs down */
        assert_true(net.wish[2][2] < 0.0f);
        assert_true(net.wish[2][0] > 0.0f && net.wish[2][1] > 0.0f);
        mlp_net_free(&net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_every_activation_and_cost),
        cmocka_unit_test(test_gradient_is_the_batch_mean),
        cmocka_unit_test(test_dropout_masks),
        cmocka_unit_test(test_output_wishes_point_the_right_way),
    };
    return cmocka_run_group_tests_name("backprop", tests, NULL, NULL);
}
