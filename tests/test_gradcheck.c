/*
 * gradcheck: the check passes on backprop for every activation x cost, fails on deliberately
 * wrong gradients (and names the knob that is wrong), and `mlp gradcheck` reports the figures
 * and exits 0 when the gradients agree, 1 when they do not.
 */
#include "testutil.h"

#include "backprop.h"
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 3 };

typedef struct {
    mlp_net net;
    float x[ROWS][8];
    const float *rows[ROWS];
    uint8_t y[ROWS];
} small;

/* A {8, 5, 4, 3} network with random weights, biases and inputs. */
static void small_init(small *s, mlp_act act, mlp_cost cost, uint64_t seed)
{
    const size_t sizes[] = {8, 5, 4, 3};
    mlp_error err;
    assert_int_equal(mlp_net_init(&s->net, sizes, 4, act, cost, ROWS, NULL, NULL, &err), MLP_OK);
    mlp_net_init_params(&s->net, seed);
    uint64_t rng = seed * 3 + 1;
    for (size_t l = 0; l < s->net.n_layers; l++)
        for (size_t j = 0; j < sizes[l + 1]; j++)
            s->net.b[l][j] = 0.2f * (2.0f * mlp_rng_uniform(&rng) - 1.0f);
    for (size_t i = 0; i < ROWS; i++) {
        for (size_t k = 0; k < 8; k++)
            s->x[i][k] = mlp_rng_uniform(&rng);
        s->rows[i] = s->x[i];
        s->y[i] = (uint8_t)mlp_rng_below(&rng, 3);
    }
}

static void test_backprop_passes_for_every_activation_and_cost(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++) {
        for (int c = 0; c < 2; c++) {
            for (size_t B = 1; B <= ROWS; B += ROWS - 1) {
                small s;
                mlp_error err;
                mlp_gradcheck_result r;
                small_init(&s, (mlp_act)a, (mlp_cost)c, 5 + (uint64_t)(a * 2 + c));
                float *keep = malloc(s.net.n_params * sizeof *keep);
                memcpy(keep, s.net.params, s.net.n_params * sizeof *keep);
                mlp_gradcheck_opts o = {0};
                assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, B, &o, &r, &err), MLP_OK);
                if (!r.ok || r.worst_rel > 1e-4)
                    print_error("%s/%s B=%zu: worst relative error %g at %zu\n",
                                mlp_act_name((mlp_act)a), mlp_cost_name((mlp_cost)c), B,
                                r.worst_rel, r.worst_rel_at);
                assert_true(r.ok);
                assert_true(r.worst_rel <= 1e-4);
                assert_int_equal(r.checked, s.net.n_params);
                assert_int_equal(r.forward_passes, 2 * s.net.n_params);
                assert_true(r.largest > 1e-3); /* a check of real gradients, not of zeros */
                assert_true(r.forward_diff < 1e-5);
                assert_true(r.backprop_runs >= 1 && r.fd_seconds >= 0.0);
                assert_memory_equal(keep, s.net.params, s.net.n_params * sizeof *keep);
                free(keep);
                mlp_net_free(&s.net);
            }
        }
    }
}

/* --- deliberately wrong gradients ------------------------------------------------------ */

static size_t largest_grad(const mlp_net *net)
{
    size_t at = 0;
    for (size_t i = 1; i < net->n_params; i++)
        if (fabsf(net->grads[i]) > fabsf(net->grads[at]))
            at = i;
    return at;
}

/* the largest gradient 1% off */
static void bp_one_percent_off(mlp_net *net, const uint8_t *y, size_t B)
{
    mlp_backprop(net, y, B);
    net->grads[largest_grad(net)] *= 1.01f;
}

/* the sum over the batch instead of the mean */
static void bp_sum_not_mean(mlp_net *net, const uint8_t *y, size_t B)
{
    mlp_backprop(net, y, B);
    for (size_t i = 0; i < net->n_params; i++)
        net->grads[i] *= (float)B;
}

/* the output biases' gradients with the wrong sign */
static void bp_bias_sign(mlp_net *net, const uint8_t *y, size_t B)
{
    mlp_backprop(net, y, B);
    size_t L = net->n_layers - 1;
    for (size_t j = 0; j < net->sizes[L + 1]; j++)
        net->db[L][j] = -net->db[L][j];
}

/* the first hidden layer's weight gradients forgotten */
static void bp_first_layer_zero(mlp_net *net, const uint8_t *y, size_t B)
{
    mlp_backprop(net, y, B);
    memset(net->dW[0], 0, net->sizes[0] * net->sizes[1] * sizeof(float));
}

/* Backprop of the cross-entropy against the unsmoothed targets: what a smoothed cost must
 * not be paired with. */
static void bp_unsmoothed(mlp_net *net, const uint8_t *y, size_t B)
{
    float e = net->smooth;
    net->smooth = 0.0f;
    mlp_backprop(net, y, B);
    net->smooth = e;
}

/* Label smoothing: the cost (net.c's float one against gradcheck's double one) and the
 * gradient (backprop against finite differences of that cost) agree for every activation; the
 * smoothed cost is another cost (it differs from the plain one), and backprop that forgets the
 * smoothing fails the check. */
static void test_label_smoothing_passes(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++) {
        small s;
        mlp_error err;
        mlp_gradcheck_result r, plain, wrong;
        mlp_gradcheck_opts o = {0};
        small_init(&s, (mlp_act)a, MLP_COST_XENT, 40 + (uint64_t)a);
        assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, ROWS, &o, &plain, &err), MLP_OK);
        s.net.smooth = 0.2f;
        assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, ROWS, &o, &r, &err), MLP_OK);
        if (!r.ok || r.worst_rel > 1e-4)
            print_error("%s smoothed: worst relative error %g at %zu\n", mlp_act_name((mlp_act)a),
                        r.worst_rel, r.worst_rel_at);
        assert_true(r.ok && r.worst_rel <= 1e-4);
        assert_true(r.forward_diff < 1e-5);
        assert_true(r.largest > 1e-3);
        assert_true(fabs(r.cost - plain.cost) > 1e-3);
        /* net.c's smoothed cost is that cost */
        for (size_t i = 0; i < ROWS; i++)
            mlp_net_set_input(&s.net, i, s.rows[i]);
        mlp_net_forward(&s.net, ROWS);
        double c = mlp_net_cost(&s.net, s.y, ROWS) / ROWS;
        assert_true(fabs(c - r.cost) <= 1e-5 * r.cost);
        o.backprop = bp_unsmoothed;
        assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, ROWS, &o, &wrong, &err), MLP_OK);
        assert_false(wrong.ok);
        mlp_net_free(&s.net);
    }
}

static void test_wrong_gradients_fail(void **state)
{
    (void)state;
    const mlp_gradcheck_backprop_fn wrong[] = {bp_one_percent_off, bp_sum_not_mean, bp_bias_sign,
                                               bp_first_layer_zero};
    for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
        small s;
        mlp_error err;
        mlp_gradcheck_result r;
        small_init(&s, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 3);
        mlp_gradcheck_opts o = {.backprop = wrong[w]};
        assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, 2, &o, &r, &err), MLP_OK);
        assert_false(r.ok);
        assert_true(r.worst_rel > 5e-3);
        if (w == 0) {
            /* the check names the knob that was tampered with */
            size_t at = largest_grad(&s.net);
            assert_int_equal(r.worst_rel_at, at);
            assert_true(fabs(r.rel_bp / r.rel_fd - 1.01) < 1e-4);
        }
        if (w == 2) {
            mlp_knob k = mlp_net_knob(&s.net, r.worst_rel_at);
            assert_true(k.bias && k.layer == s.net.n_layers - 1);
        }
        mlp_net_free(&s.net);
    }
}

static void test_sampled_knobs_and_bad_arguments(void **state)
{
    (void)state;
    small s;
    mlp_error err;
    mlp_gradcheck_result r;
    small_init(&s, MLP_ACT_TANH, MLP_COST_XENT, 9);
    mlp_gradcheck_opts o = {.knobs = 7, .seed = 4};
    assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, 1, &o, &r, &err), MLP_OK);
    assert_true(r.ok);
    assert_int_equal(r.checked, 7);
    assert_int_equal(r.forward_passes, 14);

    /* a tolerance no float computation meets */
    o = (mlp_gradcheck_opts){.tol = 1e-15};
    assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, 1, &o, &r, &err), MLP_OK);
    assert_false(r.ok);

    o = (mlp_gradcheck_opts){0};
    assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, ROWS + 1, &o, &r, &err), MLP_EARG);
    assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, 0, &o, &r, &err), MLP_EARG);
    s.y[0] = 3; /* the network has 3 classes */
    assert_int_equal(mlp_gradcheck(&s.net, s.rows, s.y, 1, &o, &r, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "label 3"));
    mlp_net_free(&s.net);
}

/* --- the command ------------------------------------------------------------------------ */

static int setup(void **state)
{
    tu_cli *c = malloc(sizeof *c);
    tu_cli_open(c);
    tu_write_synthetic(c->dir, 300, 200, 28, 28, 10, 7);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    tu_cli_close(*state);
    free(*state);
    return 0;
}

static void test_command_default_network(void **state)
{
    tu_cli *f = *state;
    int st = tu_cli_run(f, "gradcheck %s", f->dir);
    if (st != 0)
        print_error("%s%s", f->out, f->err);
    assert_int_equal(st, 0);
    /* 784-16-16-10: 13,002 parameters, 26,004 forward passes */
    assert_non_null(strstr(f->out, "784-16-16-10"));
    assert_non_null(strstr(f->out, "26,004 forward (2 x 13,002 parameters)"));
    assert_non_null(strstr(f->out, "1 forward + 1 backward"));
    assert_non_null(strstr(f->out, "times faster"));
    assert_non_null(strstr(f->out, "worst absolute error"));
    assert_non_null(strstr(f->out, "worst relative error"));
    /* the knob is named, whichever it is */
    assert_true(strstr(f->out, "weight into layer ") || strstr(f->out, "bias of layer "));
    assert_non_null(strstr(f->out, "gradients agree"));
    assert_string_equal(f->err, "");
}

static void test_command_every_activation_cost_and_model(void **state)
{
    tu_cli *f = *state;
    for (int a = 0; a < 3; a++) {
        for (int c = 0; c < 2; c++) {
            int st =
                tu_cli_run(f,
                           "gradcheck %s --hidden 6,5 --activation %s --cost %s --index %d "
                           "--batch 3",
                           f->dir, mlp_act_name((mlp_act)a), mlp_cost_name((mlp_cost)c), a * 2 + c);
            if (st != 0)
                print_error("%s%s", f->out, f->err);
            assert_int_equal(st, 0);
            assert_non_null(strstr(f->out, "gradients agree"));
        }
    }
    assert_int_equal(
        tu_cli_run(f, "train %s --hidden 8 --epochs 1 --cost xent --out %s/m.bin", f->dir, f->dir),
        0);
    assert_int_equal(tu_cli_run(f, "gradcheck %s --model %s/m.bin --knobs 100", f->dir, f->dir), 0);
    assert_non_null(strstr(f->out, "200 forward (2 x 100 parameters)"));
    assert_non_null(strstr(f->out, "m.bin"));
}

static void test_command_fails_when_gradients_disagree(void **state)
{
    tu_cli *f = *state;
    int st = tu_cli_run(f, "gradcheck %s --hidden 4 --tol 1e-15", f->dir);
    assert_int_equal(st, 1);
    assert_int_equal(tu_count_lines(f->err), 1);
    assert_non_null(strstr(f->err, "gradients disagree"));
    assert_non_null(strstr(f->out, "worst relative error"));
}

static void test_command_usage_errors(void **state)
{
    tu_cli *f = *state;
    const char *cases[][2] = {
        {"gradcheck %s --model m.bin --hidden 4", "--model"},
        {"gradcheck %s --index 200", "--index"},
        {"gradcheck %s --batch 0", "--batch"},
        {"gradcheck %s --tol 0", "--tol"},
        {"gradcheck %s --knobs x", "--knobs"},
        {"gradcheck %s --bogus", "unknown flag"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = tu_cli_run(f, cases[k][0], f->dir);
        if (st != 2 || tu_count_lines(f->err) != 1 || !strstr(f->err, cases[k][1]))
            print_error("'%s': exit %d, stderr '%s'\n", cases[k][0], st, f->err);
        assert_int_equal(st, 2);
        assert_int_equal(tu_count_lines(f->err), 1);
        assert_non_null(strstr(f->err, cases[k][1]));
    }
    assert_int_equal(tu_cli_run(f, "gradcheck %s/none", f->dir), 1);
    assert_int_equal(tu_count_lines(f->err), 1);
    assert_int_equal(tu_cli_run(f, "help gradcheck"), 0);
    assert_non_null(strstr(f->out, "two ways"));
    assert_non_null(strstr(f->out, "--tol"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backprop_passes_for_every_activation_and_cost),
        cmocka_unit_test(test_label_smoothing_passes),
        cmocka_unit_test(test_wrong_gradients_fail),
        cmocka_unit_test(test_sampled_knobs_and_bad_arguments),
        T(test_command_default_network),
        T(test_command_every_activation_cost_and_model),
        T(test_command_fails_when_gradients_disagree),
        T(test_command_usage_errors),
    };
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
