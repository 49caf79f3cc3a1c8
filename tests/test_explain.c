/*
 * explain: on a network built by hand, every wish has the sign (and the value) the chain rule
 * gives; the rankings, the votes and the average behave as documented; `mlp explain` prints
 * every part and refuses bad arguments.
 */
#include "testutil.h"

#include "explain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* 2 inputs -> 2 hidden -> 2 outputs, weights chosen so that every sign is forced:
 *   W0 = [[1, 1], [-1, 1]], b0 = [0, 0.5]       hidden k reads inputs
 *   W1 = [[2, -1], [-1, 2]], b1 = [-0.5, 0.25]  output j reads hidden
 * On x = (1, 0) with label 0, output 0 must go up and output 1 down; then hidden 0 is asked
 * up by both (2 * up, -1 * down) and hidden 1 down by both (-1 * up, 2 * down). */
static void hand_net(mlp_net *net, mlp_act act, mlp_cost cost)
{
    const size_t sizes[] = {2, 2, 2};
    mlp_error err;
    assert_int_equal(mlp_net_init(net, sizes, 3, act, cost, 4, NULL, NULL, &err), MLP_OK);
    const float W0[] = {1, 1, -1, 1}, b0[] = {0, 0.5f}, W1[] = {2, -1, -1, 2},
                b1[] = {-0.5f, 0.25f};
    memcpy(net->W[0], W0, sizeof W0);
    memcpy(net->b[0], b0, sizeof b0);
    memcpy(net->W[1], W1, sizeof W1);
    memcpy(net->b[1], b1, sizeof b1);
}

static void test_wishes_have_the_signs_of_the_math(void **state)
{
    (void)state;
    const float x[2] = {1.0f, 0.0f};
    for (int c = 0; c < 2; c++) {
        mlp_net net;
        mlp_explain e = {0};
        mlp_error err;
        hand_net(&net, MLP_ACT_SIGMOID, (mlp_cost)c);
        assert_int_equal(mlp_explain_image(&e, &net, x, 0, &err), MLP_OK);

        /* by hand, in double */
        double h[2] = {sigmoid(1.0 * 1 + 1.0 * 0 + 0), sigmoid(-1.0 * 1 + 1.0 * 0 + 0.5)};
        double z[2] = {2 * h[0] - h[1] - 0.5, -h[0] + 2 * h[1] + 0.25}, a[2], wish[2];
        if (c == MLP_COST_QUADRATIC) {
            a[0] = sigmoid(z[0]);
            a[1] = sigmoid(z[1]);
            wish[0] = -(a[0] - 1) * a[0] * (1 - a[0]); /* -(a - y) sigmoid'(z) */
            wish[1] = -(a[1] - 0) * a[1] * (1 - a[1]);
        } else {
            double s = exp(z[0]) + exp(z[1]);
            a[0] = exp(z[0]) / s;
            a[1] = exp(z[1]) / s;
            wish[0] = -(a[0] - 1); /* softmax + cross-entropy: -(a - y) */
            wish[1] = -(a[1] - 0);
        }
        assert_true(wish[0] > 0 && wish[1] < 0);
        for (int j = 0; j < 2; j++) {
            assert_true(fabs(e.a[2][j] - a[j]) < 1e-6);
            assert_true(fabs(e.wish[2][j] - wish[j]) < 1e-6);
        }
        assert_true(e.wish[2][0] > 0.0 && e.wish[2][1] < 0.0);
        assert_int_equal(e.label, 0);

        /* what each hidden neuron is asked: the wishes above through the weights */
        double ask0 = 2 * wish[0] - 1 * wish[1], ask1 = -1 * wish[0] + 2 * wish[1];
        assert_true(ask0 > 0 && ask1 < 0);
        assert_true(fabs(e.ask[1][0] - ask0) < 1e-6);
        assert_true(fabs(e.ask[1][1] - ask1) < 1e-6);
        size_t up, down;
        mlp_explain_votes(&e, &net, 1, 0, &up, &down);
        assert_true(up == 2 && down == 0);
        mlp_explain_votes(&e, &net, 1, 1, &up, &down);
        assert_true(up == 0 && down == 2);
        /* and its own wish: times the slope of the sigmoid, which is positive */
        for (int k = 0; k < 2; k++) {
            double slope = h[k] * (1 - h[k]);
            assert_true(fabs(mlp_explain_slope(MLP_ACT_SIGMOID, e.a[1][k]) - slope) < 1e-6);
            assert_true(fabs(e.wish[1][k] - (k ? ask1 : ask0) * slope) < 1e-6);
        }

        /* the knobs: a bias wishes what its neuron wishes; a weight wishes the neuron's wish
         * times its input, so a weight from the dark pixel wishes nothing */
        const double *g = e.grad;
        size_t b1 = (size_t)(net.b[1] - net.params), W0 = (size_t)(net.W[0] - net.params);
        size_t W1 = (size_t)(net.W[1] - net.params);
        assert_true(fabs(g[b1] - wish[0]) < 1e-6 && fabs(g[b1 + 1] - wish[1]) < 1e-6);
        assert_true(g[W0 + 0] > 0.0);  /* hidden 0 up, bright input */
        assert_true(g[W0 + 1] == 0.0); /* dark input */
        assert_true(g[W0 + 2] < 0.0);  /* hidden 1 down, bright input */
        assert_true(g[W0 + 3] == 0.0);
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 2; k++)
                assert_true(fabs(g[W1 + 2 * j + k] - wish[j] * h[k]) < 1e-6);

        /* the three ways for the strongest wish */
        size_t j = mlp_explain_strongest(&e);
        assert_true(fabs(e.wish[2][j]) >= fabs(e.wish[2][1 - j]));
        mlp_explain_ways w;
        mlp_explain_grant(&w, &e, &net, j, 5);
        assert_int_equal(w.neuron, j);
        assert_int_equal(w.n_top, 2); /* only two inputs */
        assert_true(w.bias == (double)net.b[1][j]);
        /* weights: the brighter hidden neuron first, wish = wish_j * a_k */
        size_t brighter = h[0] > h[1] ? 0 : 1;
        assert_int_equal(w.weights[0].neuron, brighter);
        assert_true(fabs(w.weights[0].wish - wish[j] * h[brighter]) < 1e-6);
        /* the layer below: the larger weight (2, on the diagonal) first, asked wish_j * w */
        assert_int_equal(w.below[0].neuron, j);
        assert_true(w.below[0].w == 2.0);
        assert_true(fabs(w.below[0].wish - 2.0 * wish[j]) < 1e-6);
        assert_true(w.below[1].w == -1.0);
        mlp_explain_free(&e);
        mlp_net_free(&net);
    }
}

/* A relu neuron that is off has slope 0: asked to move, it still wishes nothing. */
static void test_a_relu_that_is_off_wishes_nothing(void **state)
{
    (void)state;
    mlp_net net;
    mlp_explain e = {0};
    mlp_error err;
    hand_net(&net, MLP_ACT_RELU, MLP_COST_XENT);
    const float x[2] = {1.0f, 0.0f}; /* hidden 1: z = -1 + 0.5 < 0, off */
    assert_int_equal(mlp_explain_image(&e, &net, x, 0, &err), MLP_OK);
    assert_true(e.a[1][1] == 0.0);
    assert_true(e.ask[1][1] < 0.0);
    assert_true(e.wish[1][1] == 0.0);
    assert_true(e.wish[1][0] > 0.0);
    assert_true(mlp_explain_slope(MLP_ACT_RELU, 0.0) == 0.0);
    assert_true(mlp_explain_slope(MLP_ACT_TANH, 0.5) == 0.75);
    mlp_explain_free(&e);
    assert_int_equal(mlp_explain_image(&e, &net, x, 2, &err), MLP_EARG); /* 2 classes */
    assert_null(e.buf);
    mlp_net_free(&net);
}

static void test_top_ranks_by_size(void **state)
{
    (void)state;
    const double v[] = {0.1, -3.0, 2.0, 0.0, 3.0, -0.5};
    size_t idx[6];
    mlp_explain_top(idx, v, 6, 6);
    const size_t want[] = {1, 4, 2, 5, 0, 3}; /* |-3| ties |3|: the lower index first */
    assert_memory_equal(idx, want, sizeof want);
    mlp_explain_top(idx, v, 6, 2);
    assert_true(idx[0] == 1 && idx[1] == 4);
    mlp_explain_top(idx, v, 1, 1);
    assert_int_equal(idx[0], 0);
}

/* The average of the wishes of n images, in batches of 2 and wrapping around the set's end,
 * is the mean of their wishes one by one; for a single image it is that image's. */
static void test_average_is_the_mean_of_the_wishes(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t sizes[] = {4, 3, 3};
    assert_int_equal(
        mlp_net_init(&net, sizes, 3, MLP_ACT_TANH, MLP_COST_QUADRATIC, 2, NULL, NULL, &err),
        MLP_OK);
    mlp_net_init_params(&net, 8);
    float px[4 * 4];
    uint8_t y[4] = {0, 1, 2, 1};
    uint64_t rng = 5;
    for (size_t i = 0; i < 16; i++)
        px[i] = mlp_rng_uniform(&rng);
    mlp_set set = {.n = 4, .rows = 2, .cols = 2, .dim = 4, .x = px, .y = y};

    mlp_explain one[4] = {{0}};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(mlp_explain_image(&one[i], &net, px + 4 * i, y[i], &err), MLP_OK);
    mlp_explain_avg avg;
    /* images 3, 0, 1, 2, 3: image 3 counts twice */
    assert_int_equal(mlp_explain_average(&avg, &net, &set, 3, 5, &one[3], 4, &err), MLP_OK);
    assert_int_equal(avg.n, 5);
    for (size_t p = 0; p < net.n_params; p++) {
        double m = (2 * one[3].grad[p] + one[0].grad[p] + one[1].grad[p] + one[2].grad[p]) / 5;
        assert_true(fabs(avg.grad[p] - m) < 1e-7);
    }
    for (size_t j = 0; j < 3; j++) {
        double m =
            (2 * one[3].wish[2][j] + one[0].wish[2][j] + one[1].wish[2][j] + one[2].wish[2][j]) / 5;
        assert_true(fabs(avg.out_wish[j] - m) < 1e-7);
    }
    double cost = (2 * one[3].cost + one[0].cost + one[1].cost + one[2].cost) / 5;
    assert_true(fabs(avg.cost - cost) < 1e-6);
    assert_true(avg.kept <= avg.moved && avg.moved == net.n_params);
    assert_true(avg.cosine > -1.0 && avg.cosine < 1.0);
    mlp_explain_avg_free(&avg);

    /* one image averaged alone keeps every sign */
    assert_int_equal(mlp_explain_average(&avg, &net, &set, 1, 1, &one[1], 4, &err), MLP_OK);
    assert_int_equal(avg.kept, avg.moved);
    assert_int_equal(avg.top, 4);
    assert_int_equal(avg.top_kept, 4);
    assert_true(fabs(avg.cosine - 1.0) < 1e-9);
    mlp_explain_avg_free(&avg);

    y[2] = 7; /* a label the network does not have */
    assert_int_equal(mlp_explain_average(&avg, &net, &set, 0, 4, &one[0], 4, &err), MLP_EARG);
    assert_null(avg.grad);
    for (size_t i = 0; i < 4; i++)
        mlp_explain_free(&one[i]);
    mlp_net_free(&net);
}

static void test_explain_command(void **state)
{
    (void)state;
    tu_cli c;
    tu_cli_open(&c);
    const char *dir = c.dir, *out = c.out, *err = c.err;
    tu_write_synthetic(dir, 1000, 50, 10, 10, 4, 3);
    assert_int_equal(tu_cli_run(&c, "train %s --hidden 12,6 --epochs 2 --out %s/m.bin", dir, dir),
                     0);
    int st = tu_cli_run(&c, "explain %s/m.bin %s --index 3 --average 30 --top 4", dir, dir);
    if (st != 0)
        print_error("%s", err);
    assert_int_equal(st, 0);
    const char *parts[] = {"test image 3 of",
                           "desired",
                           "wants up",
                           "wants down",
                           "Three ways",
                           "1. ",
                           "2. ",
                           "3. ask layer 2",
                           "layer 2 (6 neurons)",
                           "layer 1 (12 neurons)",
                           "averaged over 30 test images",
                           "keep their sign",
                           "┌"};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        if (!strstr(out, parts[k]))
            print_error("no '%s' in:\n%s\n", parts[k], out);
        assert_non_null(strstr(out, parts[k]));
    }
    assert_string_equal(err, "");

    /* --ascii: not one byte outside ASCII */
    assert_int_equal(tu_cli_run(&c, "explain %s/m.bin %s --ascii", dir, dir), 0);
    for (const char *p = out; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    assert_non_null(strstr(out, "+--------------------+")); /* 10 pixels, 2 characters each */

    /* wide layers show the strongest neurons unless --all */
    assert_int_equal(tu_cli_run(&c, "train %s --hidden 70 --epochs 1 --out %s/w.bin", dir, dir), 0);
    assert_int_equal(tu_cli_run(&c, "explain %s/w.bin %s", dir, dir), 0);
    assert_non_null(strstr(out, "54 more neurons"));
    assert_int_equal(tu_cli_run(&c, "explain %s/w.bin %s --all", dir, dir), 0);
    assert_null(strstr(out, "more neurons"));

    const char *bad[][2] = {
        {"explain", "missing MODEL"},
        {"explain %s/m.bin %s --index 50", "--index 50"},
        {"explain %s/m.bin %s --top 0", "--top"},
        {"explain %s/m.bin %s --average 0", "--average"},
        {"explain %s/m.bin %s --average 51", "--average 51"},
        {"explain %s/m.bin %s --bogus", "unknown flag"},
        {"explain %s/m.bin %s extra", "unexpected argument"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        st = tu_cli_run(&c, bad[k][0], dir, dir);
        if (st != 2 || tu_count_lines(err) != 1 || !strstr(err, bad[k][1]))
            print_error("'%s': exit %d, stderr '%s'\n", bad[k][0], st, err);
        assert_int_equal(st, 2);
        assert_int_equal(tu_count_lines(err), 1);
    }
    assert_int_equal(tu_cli_run(&c, "explain %s/none.bin %s", dir, dir), 1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_int_equal(tu_cli_run(&c, "help explain"), 0);
    assert_non_null(strstr(out, "--average"));

    tu_cli_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wishes_have_the_signs_of_the_math),
        cmocka_unit_test(test_a_relu_that_is_off_wishes_nothing),
        cmocka_unit_test(test_top_ranks_by_size),
        cmocka_unit_test(test_average_is_the_mean_of_the_wishes),
        cmocka_unit_test(test_explain_command),
    };
    return cmocka_run_group_tests_name("explain", tests, NULL, NULL);
}
