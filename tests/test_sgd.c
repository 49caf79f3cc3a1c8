/* sgd: the step by hand, shuffling, batching with a partial last batch, the validation
 * split and the held-out test set. */
#include "testutil.h"

#include "backprop.h"
#include "sgd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_step_by_hand(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {2, 1};
    assert_int_equal(
        mlp_net_init(&net, s, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err), MLP_OK);
    /* params (w0, w1, b) = (1, -2, 0.5), grads (0.5, -0.25, 2), lr 0.1 */
    const float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, -0.25f, 2.0f};
    memcpy(net.params, p, sizeof p);
    memcpy(net.grads, g, sizeof g);
    mlp_sgd_step(&net, NULL, NULL, &(mlp_sgd_opts){.l2 = 0.0f}, 0.1f, 1);
    assert_true(fabsf(net.params[0] - 0.95f) < 1e-7f);
    assert_true(fabsf(net.params[1] - -1.975f) < 1e-7f);
    assert_true(fabsf(net.params[2] - 0.3f) < 1e-7f);
    /* with weight decay 0.5: w -= 0.1 * (g + 0.5 w); the bias is not decayed */
    memcpy(net.params, p, sizeof p);
    mlp_sgd_step(&net, NULL, NULL, &(mlp_sgd_opts){.l2 = 0.5f}, 0.1f, 1);
    assert_true(fabsf(net.params[0] - (1.0f - 0.1f * (0.5f + 0.5f))) < 1e-7f);
    assert_true(fabsf(net.params[1] - (-2.0f - 0.1f * (-0.25f - 1.0f))) < 1e-7f);
    assert_true(fabsf(net.params[2] - 0.3f) < 1e-7f);
    mlp_net_free(&net);
}

static void test_momentum_by_hand(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {1, 1};
    assert_int_equal(
        mlp_net_init(&net, s, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err), MLP_OK);
    /* (w, b) = (1, 1); gradients (0.5, 0.5) twice; lr 0.1, mu 0.9, l2 0.2 on w only:
     *   step 1: v_w = 0.5 + 0.2*1 = 0.7,              w = 1 - 0.07 = 0.93
     *           v_b = 0.5,                            b = 1 - 0.05 = 0.95
     *   step 2: v_w = 0.9*0.7 + (0.5 + 0.2*0.93) = 1.316,  w = 0.93 - 0.1316 = 0.7984
     *           v_b = 0.9*0.5 + 0.5 = 0.95,           b = 0.95 - 0.095 = 0.855 */
    float vel[2] = {0, 0};
    net.params[0] = net.params[1] = 1.0f;
    net.grads[0] = net.grads[1] = 0.5f;
    mlp_sgd_step(&net, vel, NULL, &(mlp_sgd_opts){.l2 = 0.2f, .momentum = 0.9f}, 0.1f, 1);
    assert_true(fabsf(vel[0] - 0.7f) < 1e-6f && fabsf(net.params[0] - 0.93f) < 1e-6f);
    assert_true(fabsf(vel[1] - 0.5f) < 1e-6f && fabsf(net.params[1] - 0.95f) < 1e-6f);
    mlp_sgd_step(&net, vel, NULL, &(mlp_sgd_opts){.l2 = 0.2f, .momentum = 0.9f}, 0.1f, 1);
    assert_true(fabsf(vel[0] - 1.316f) < 1e-6f && fabsf(net.params[0] - 0.7984f) < 1e-6f);
    assert_true(fabsf(vel[1] - 0.95f) < 1e-6f && fabsf(net.params[1] - 0.855f) < 1e-6f);
    mlp_net_free(&net);
}

static void test_schedule(void **state)
{
    (void)state;
    mlp_sgd_opts o = {
        .batch = 1, .epochs = 5, .lr = 1.0f, .lr_end = 0.2f, .schedule = MLP_SCHED_LINEAR};
    assert_true(mlp_sgd_lr(&o, 1, 0.0) == 1.0f);
    assert_true(fabsf(mlp_sgd_lr(&o, 3, 0.0) - 0.6f) < 1e-7f);
    assert_true(fabsf(mlp_sgd_lr(&o, 5, 0.0) - 0.2f) < 1e-7f);
    assert_true(fabsf(mlp_sgd_lr(&o, 9, 0.0) - 0.2f) < 1e-7f); /* past the plan: the last rate */
    o.schedule = MLP_SCHED_CONSTANT;
    assert_true(mlp_sgd_lr(&o, 5, 0.0) == 1.0f);
    o.schedule = MLP_SCHED_LINEAR;
    o.epochs = 1;
    assert_true(mlp_sgd_lr(&o, 1, 0.0) == 1.0f);
}

static void test_step_cosine_and_warmup_schedules(void **state)
{
    (void)state;
    mlp_sgd_opts o = {.epochs = 5, .lr = 1.0f, .lr_end = 0.1f, .schedule = MLP_SCHED_COSINE};
    assert_true(mlp_sgd_lr(&o, 1, 0.0) == 1.0f);
    assert_true(fabsf(mlp_sgd_lr(&o, 3, 0.0) - 0.55f) < 1e-6f); /* half way: the mean */
    assert_true(fabsf(mlp_sgd_lr(&o, 5, 0.0) - 0.1f) < 1e-6f);
    o.schedule = MLP_SCHED_STEP;
    o.lr_step = 2;
    o.lr_gamma = 0.5f;
    assert_true(mlp_sgd_lr(&o, 2, 0.0) == 1.0f);
    assert_true(mlp_sgd_lr(&o, 3, 0.0) == 0.5f);
    assert_true(mlp_sgd_lr(&o, 5, 0.9) == 0.25f);
    /* warm-up: from 0, by the fraction of the warm-up done */
    o.schedule = MLP_SCHED_CONSTANT;
    o.warmup = 2;
    assert_true(mlp_sgd_lr(&o, 1, 0.5) == 0.25f);
    assert_true(mlp_sgd_lr(&o, 2, 0.5) == 0.75f);
    assert_true(mlp_sgd_lr(&o, 3, 0.0) == 1.0f);
}

static void test_nesterov_and_max_norm_by_hand(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {2, 1};
    assert_int_equal(
        mlp_net_init(&net, s, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err), MLP_OK);
    /* w = (3, 4), b = 1, g = (1, 1), 1; lr 0.1, mu 0.5, Nesterov:
     *   v = (1, 1), 1;  u = g + mu v = (1.5, 1.5), 1.5;  w = (2.85, 3.85), b = 0.85 */
    float vel[3] = {0, 0, 0};
    const float p[3] = {3.0f, 4.0f, 1.0f};
    memcpy(net.params, p, sizeof p);
    net.grads[0] = net.grads[1] = net.grads[2] = 1.0f;
    mlp_sgd_opts o = {.momentum = 0.5f, .nesterov = true};
    mlp_sgd_step(&net, vel, NULL, &o, 0.1f, 1);
    assert_true(fabsf(net.params[0] - 2.85f) < 1e-6f && fabsf(net.params[1] - 3.85f) < 1e-6f);
    assert_true(fabsf(net.params[2] - 0.85f) < 1e-6f && fabsf(vel[0] - 1.0f) < 1e-6f);
    /* max-norm 2: the weights (length ~4.79 after the step) are scaled to length 2, along the
     * same direction; the bias is not constrained */
    memcpy(net.params, p, sizeof p);
    o = (mlp_sgd_opts){.maxnorm = 2.0f};
    mlp_sgd_step(&net, NULL, NULL, &o, 0.1f, 1);
    float len = hypotf(net.params[0], net.params[1]);
    assert_true(fabsf(len - 2.0f) < 1e-5f);
    assert_true(fabsf(net.params[0] / net.params[1] - 2.9f / 3.9f) < 1e-5f);
    assert_true(fabsf(net.params[2] - 0.9f) < 1e-6f);
    mlp_net_free(&net);
}

/* Adam and AdamW by hand, in double, after PyTorch's torch.optim.Adam and AdamW: w (n), m
 * and v (n) the moments, g the gradient, t the step's number; the bias (index bias) is never
 * decayed. */
static void adam_by_hand(double *w, double *m, double *v, const double *g, size_t n, size_t bias,
                         const mlp_sgd_opts *o, double lr, int t)
{
    for (size_t i = 0; i < n; i++) {
        double u = g[i], l2 = i == bias ? 0.0 : o->l2, wd = i == bias ? 0.0 : o->weight_decay;
        if (o->optimizer == MLP_STEP_ADAMW)
            w[i] -= lr * wd * w[i];
        else
            u += l2 * w[i];
        m[i] = o->beta1 * m[i] + (1.0 - o->beta1) * u;
        v[i] = o->beta2 * v[i] + (1.0 - o->beta2) * u * u;
        double mh = m[i] / (1.0 - pow(o->beta1, t)), vh = v[i] / (1.0 - pow(o->beta2, t));
        w[i] -= lr * mh / (sqrt(vh) + o->eps);
    }
}

/* One step and five steps of Adam and AdamW, with and without weight decay, on a {3, 1} net
 * (three weights and a bias) with every kernel set: each parameter and moment within 1e-5
 * (relative) of the double computation. The gradients change from step to step, and the
 * rate is large enough that the decay shows. */
static void test_adam_and_adamw_by_hand(void **state)
{
    (void)state;
    const size_t s[] = {3, 1};
    const double p0[4] = {0.5, -1.25, 2.0, 0.75};
    for (const char *const *name = mlp_kernels_available(); *name; name++) {
        for (int c = 0; c < 4; c++) {
            mlp_net net;
            mlp_error err;
            mlp_sgd_opts o = {.optimizer = c < 2 ? MLP_STEP_ADAM : MLP_STEP_ADAMW,
                              .beta1 = 0.9f,
                              .beta2 = 0.999f,
                              .eps = 1e-8f};
            if (c == 1)
                o.l2 = 0.1f;
            if (c == 3)
                o.weight_decay = 0.2f;
            assert_int_equal(mlp_net_init(&net, s, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1,
                                          mlp_kernels_get(*name), NULL, &err),
                             MLP_OK);
            double w[4], m[4] = {0}, v[4] = {0}, g[4];
            float fm[4] = {0}, fv[4] = {0};
            for (int i = 0; i < 4; i++)
                net.params[i] = (float)(w[i] = p0[i]);
            for (int t = 1; t <= 5; t++) {
                for (int i = 0; i < 4; i++) /* exact in float */
                    net.grads[i] = (float)(g[i] = (i + 1) * 0.25 * (t % 2 ? 1 : -0.5));
                adam_by_hand(w, m, v, g, 4, 3, &o, 0.05, t);
                mlp_sgd_step(&net, fm, fv, &o, 0.05f, (uint64_t)t);
                if (t != 1 && t != 5)
                    continue;
                for (int i = 0; i < 4; i++) {
                    const double got[3] = {net.params[i], fm[i], fv[i]},
                                 want[3] = {w[i], m[i], v[i]};
                    for (int k = 0; k < 3; k++)
                        if (!(fabs(got[k] - want[k]) <= 1e-5 * fabs(want[k]))) {
                            print_error("%s, case %d, step %d, parameter %d, %s: %.9g, by hand "
                                        "%.9g\n",
                                        *name, c, t, i,
                                        k == 0   ? "w"
                                        : k == 1 ? "m"
                                                 : "v",
                                        got[k], want[k]);
                            fail();
                        }
                }
            }
            /* the decay is really there: without it the weights end elsewhere */
            if (c == 1 || c == 3)
                assert_true(fabs(w[0] - p0[0]) > 0.1);
            mlp_net_free(&net);
        }
    }
}

/* --clip: a gradient shorter than X is left as it is, bit for bit; a longer one keeps its
 * direction and gets length X (within float rounding); the length it had is returned. */
static void test_clip_scales_only_long_gradients(void **state)
{
    (void)state;
    mlp_net net;
    mlp_error err;
    const size_t s[] = {3, 2}; /* 8 parameters */
    assert_int_equal(
        mlp_net_init(&net, s, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err), MLP_OK);
    const float g[8] = {3, -4, 0, 12, 0, 0, -84, 0}; /* length 85 */
    memcpy(net.grads, g, sizeof g);
    assert_true(mlp_sgd_clip(&net, 100.0f) == 85.0);
    assert_memory_equal(net.grads, g, sizeof g);
    assert_true(mlp_sgd_clip(&net, 85.0f) == 85.0); /* exactly X: untouched too */
    assert_memory_equal(net.grads, g, sizeof g);
    assert_true(mlp_sgd_clip(&net, 17.0f) == 85.0);
    double len = 0.0;
    for (int i = 0; i < 8; i++) {
        len += (double)net.grads[i] * net.grads[i];
        assert_true(fabsf(net.grads[i] - g[i] / 5.0f) <= 1e-6f * fabsf(g[i]));
    }
    assert_true(fabs(sqrt(len) - 17.0) <= 17.0 * 2e-7);
    mlp_net_free(&net);
}

/* --patience: the rule on a run whose validation accuracy is known, epoch by epoch: the best
 * epoch is the first one with the highest accuracy so far (as train keeps it), and the run
 * stops after `patience` epochs without a better one, never at or after the last planned. */
static void test_patience_stops_at_the_right_epoch(void **state)
{
    (void)state;
    const double acc[10] = {0.5, 0.6, 0.6, 0.55, 0.7, 0.65, 0.7, 0.69, 0.68, 0.9};
    const struct {
        size_t patience, epochs, stops; /* stops: the epoch after which it stops; 0 never */
    } cases[] = {{1, 10, 3}, {2, 10, 4}, {3, 10, 8}, {5, 10, 0}, {3, 8, 0}, {4, 10, 9}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mlp_sgd_opts o = {.epochs = cases[c].epochs, .patience = cases[c].patience, .val = 1};
        double best = -1.0;
        size_t best_epoch = 0, stopped = 0;
        for (size_t e = 1; e <= o.epochs && !stopped; e++) {
            if (acc[e - 1] > best) {
                best = acc[e - 1];
                best_epoch = e;
            }
            if (mlp_sgd_patience_out(&o, e, best_epoch))
                stopped = e;
        }
        if (stopped != cases[c].stops) {
            print_error("patience %zu over %zu epochs: stopped after %zu, wanted %zu\n",
                        cases[c].patience, cases[c].epochs, stopped, cases[c].stops);
            fail();
        }
    }
    /* without patience, never */
    assert_false(mlp_sgd_patience_out(&(mlp_sgd_opts){.epochs = 10}, 9, 1));
}

/* --val: the held-out rows are fixed by the seed, disjoint from training, never trained on;
 * augmentation and dropout change training but never the data itself. */
static void test_validation_split_and_untouched_data(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    mlp_data d = {0};
    mlp_error err;
    tu_write_synthetic(dir, 100, 30, 6, 6, 4, 2);
    assert_int_equal(mlp_idx_load(&d, dir, &err), MLP_OK);
    float *train0 = malloc(100 * 36 * sizeof(float)), *test0 = malloc(30 * 36 * sizeof(float));
    memcpy(train0, d.train.x, 100 * 36 * sizeof(float));
    memcpy(test0, d.test.x, 30 * 36 * sizeof(float));

    const size_t s[] = {36, 8, 4};
    mlp_net a, b;
    mlp_sgd sa, sb, sc;
    assert_int_equal(mlp_net_init(&a, s, 3, MLP_ACT_RELU, MLP_COST_XENT, 8, NULL, NULL, &err),
                     MLP_OK);
    assert_int_equal(mlp_net_init(&b, s, 3, MLP_ACT_RELU, MLP_COST_XENT, 8, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&a, 3);
    mlp_net_init_params(&b, 3);
    const mlp_sgd_opts plain = {.batch = 8, .epochs = 2, .lr = 0.1f, .val = 20};
    mlp_sgd_opts fancy = plain;
    fancy.drop_in = 0.2f;
    fancy.drop_hidden = 0.5f;
    fancy.aug = (mlp_augment){1.0f, 10.0f, 0.1f, 10.0f, 2.0f, true};
    assert_int_equal(mlp_sgd_init(&sa, &a, 100, 6, 6, &plain, 5, &err), MLP_OK);
    assert_int_equal(mlp_sgd_init(&sb, &b, 100, 6, 6, &fancy, 5, &err), MLP_OK);
    assert_int_equal(mlp_sgd_init(&sc, &b, 100, 6, 6, &plain, 6, &err), MLP_OK);
    assert_int_equal(sa.n, 80);
    /* same seed, same held-out rows; another seed, others; never among the training rows */
    assert_memory_equal(sa.val_rows, sb.val_rows, 20 * sizeof(size_t));
    assert_memory_not_equal(sa.val_rows, sc.val_rows, 20 * sizeof(size_t));
    bool seen[100] = {false};
    for (size_t i = 0; i < 20; i++)
        seen[sa.val_rows[i]] = true;
    for (size_t i = 0; i < 80; i++)
        assert_false(seen[sa.rows[i]]);

    mlp_epoch_stats st;
    for (int e = 0; e < 2; e++) {
        assert_int_equal(mlp_sgd_epoch(&sa, &a, &d.train, &st, &err), MLP_OK);
        assert_int_equal(st.n, 80);
        for (size_t i = 0; i < 8; i++) /* the last batch's rows were training rows */
            assert_false(seen[sa.batch_rows[i]]);
        assert_int_equal(mlp_sgd_epoch(&sb, &b, &d.train, &st, &err), MLP_OK);
    }
    /* dropout and augmentation made a difference to training ... */
    assert_memory_not_equal(a.params, b.params, a.n_params * sizeof(float));
    /* ... and none to the images, training or test */
    assert_memory_equal(d.train.x, train0, 100 * 36 * sizeof(float));
    assert_memory_equal(d.test.x, test0, 30 * 36 * sizeof(float));
    /* and dropout is off outside training steps */
    for (size_t l = 0; l < b.n_layers; l++)
        assert_true(b.drop.keep[l] == 1.0f);
    free(train0);
    free(test0);
    mlp_sgd_free(&sa);
    mlp_sgd_free(&sb);
    mlp_sgd_free(&sc);
    mlp_net_free(&a);
    mlp_net_free(&b);
    mlp_data_free(&d);
    tu_rm_rf(dir);
    free(dir);
}

/* A set whose image i has pixel k = (i * dim + k) / 1e6 and label i % 7: each row is known by
 * its first pixel. */
static mlp_set numbered_set(size_t n, size_t dim)
{
    mlp_set s = {.n = n, .rows = 1, .cols = dim, .dim = dim};
    s.x = malloc(n * dim * sizeof(float));
    s.y = malloc(n);
    assert_true(s.x && s.y);
    for (size_t i = 0; i < n * dim; i++)
        s.x[i] = (float)i / 1e6f;
    for (size_t i = 0; i < n; i++)
        s.y[i] = (uint8_t)(i % 7);
    return s;
}

/* The row of a numbered set that image i of s is. */
static size_t row_of(const mlp_set *s, size_t i)
{
    return (size_t)lrintf(s->x[i * s->dim] * 1e6f) / s->dim;
}

/* The test set held out of a lone data set: seeded, disjoint from what is kept, every row
 * whole and in its order, and chosen apart from the validation rows. */
static void test_hold_out(void **state)
{
    (void)state;
    enum { N = 200, DIM = 3, HELD = 50 };
    mlp_error err;
    mlp_set a = numbered_set(N, DIM), b = numbered_set(N, DIM), c = numbered_set(N, DIM);
    mlp_set ha = {0}, hb = {0}, hc = {0};
    assert_int_equal(mlp_sgd_hold_out(&ha, &a, HELD, 9, &err), MLP_OK);
    assert_int_equal(mlp_sgd_hold_out(&hb, &b, HELD, 9, &err), MLP_OK);
    assert_int_equal(mlp_sgd_hold_out(&hc, &c, HELD, 10, &err), MLP_OK);
    assert_int_equal(ha.n, HELD);
    assert_int_equal(a.n, N - HELD);
    assert_true(ha.rows == 1 && ha.cols == DIM && ha.dim == DIM);
    assert_memory_equal(ha.x, hb.x, HELD * DIM * sizeof(float));
    assert_memory_not_equal(ha.x, hc.x, HELD * DIM * sizeof(float));
    int seen[N] = {0};
    const mlp_set *parts[2] = {&ha, &a};
    for (int p = 0; p < 2; p++) {
        for (size_t i = 0; i < parts[p]->n; i++) {
            size_t r = row_of(parts[p], i);
            assert_true(r < N);
            seen[r]++;
            if (i > 0)
                assert_true(r > row_of(parts[p], i - 1)); /* the order kept */
            for (size_t k = 0; k < DIM; k++)
                assert_true(parts[p]->x[i * DIM + k] == (float)(r * DIM + k) / 1e6f);
            assert_int_equal(parts[p]->y[i], r % 7);
        }
    }
    for (size_t r = 0; r < N; r++)
        assert_int_equal(seen[r], 1);
    /* the stream is not the validation split's: --val 50 on the whole set holds others out */
    size_t order[N];
    bool as_val[N] = {false}, same = true;
    uint64_t vr = mlp_rng_derive(9, 0x76616c6964u, 0); /* "valid", as mlp_sgd_init */
    mlp_sgd_shuffle(order, N, &vr);
    for (size_t i = 0; i < HELD; i++)
        as_val[order[i]] = true;
    for (size_t i = 0; i < HELD; i++)
        same = same && as_val[row_of(&ha, i)];
    assert_false(same);
    /* all or nothing is no hold-out */
    mlp_set d = numbered_set(4, DIM), hd = {0};
    assert_int_equal(mlp_sgd_hold_out(&hd, &d, 4, 1, &err), MLP_EARG);
    assert_int_equal(mlp_sgd_hold_out(&hd, &d, 0, 1, &err), MLP_EARG);
    assert_null(hd.x);
    mlp_idx_set_free(&a);
    mlp_idx_set_free(&b);
    mlp_idx_set_free(&c);
    mlp_idx_set_free(&d);
    mlp_idx_set_free(&ha);
    mlp_idx_set_free(&hb);
    mlp_idx_set_free(&hc);
}

static void test_shuffle_is_a_seeded_permutation(void **state)
{
    (void)state;
    enum { N = 1000 };
    size_t a[N], b[N], seen[N] = {0};
    for (size_t i = 0; i < N; i++)
        a[i] = b[i] = i;
    uint64_t r1 = 5, r2 = 5;
    mlp_sgd_shuffle(a, N, &r1);
    mlp_sgd_shuffle(b, N, &r2);
    assert_memory_equal(a, b, sizeof a);
    size_t fixed = 0;
    for (size_t i = 0; i < N; i++) {
        seen[a[i]]++;
        fixed += a[i] == i;
    }
    for (size_t i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_true(fixed < 10);    /* a real shuffle leaves about one element in place */
    mlp_sgd_shuffle(b, N, &r2); /* the next epoch gets another order */
    assert_memory_not_equal(a, b, sizeof a);
}

/* An epoch of n rows in batches of `batch` equals, step for step, the same batches done by
 * hand in the order the shuffle gives; the last partial batch is used. */
static void test_epoch_equals_manual_batches(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    mlp_data d = {0};
    mlp_error err;
    tu_write_synthetic(dir, 7, 2, 2, 3, 3, 1);
    assert_int_equal(mlp_idx_load(&d, dir, &err), MLP_OK);

    const size_t s[] = {6, 4, 3};
    mlp_net a, b;
    mlp_sgd sa, sb;
    assert_int_equal(mlp_net_init(&a, s, 3, MLP_ACT_TANH, MLP_COST_XENT, 3, NULL, NULL, &err),
                     MLP_OK);
    assert_int_equal(mlp_net_init(&b, s, 3, MLP_ACT_TANH, MLP_COST_XENT, 3, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&a, 2);
    mlp_net_init_params(&b, 2);
    const mlp_sgd_opts o = {.batch = 3, .epochs = 1, .lr = 0.5f, .l2 = 0.01f};
    assert_int_equal(mlp_sgd_init(&sa, &a, 7, 2, 3, &o, 9, &err), MLP_OK);
    assert_int_equal(mlp_sgd_init(&sb, &b, 7, 2, 3, &o, 9, &err), MLP_OK);

    mlp_epoch_stats st;
    assert_int_equal(mlp_sgd_epoch(&sa, &a, &d.train, &st, &err), MLP_OK);
    assert_int_equal(st.epoch, 1);
    assert_int_equal(sa.state.epoch, 1);
    assert_int_equal(sa.state.pos, 0);
    assert_int_equal(st.n, 7);
    assert_true(st.correct <= 7);
    assert_true(st.cost > 0 && isfinite(st.cost));

    /* by hand: batches of 3, 3 and 1 */
    mlp_sgd_shuffle(sb.order, 7, &sb.state.rng);
    assert_memory_equal(sa.order, sb.order, 7 * sizeof(size_t));
    double cost = 0;
    const size_t starts[3] = {0, 3, 6}, sizes[3] = {3, 3, 1};
    for (int k = 0; k < 3; k++) {
        uint8_t y[3];
        mlp_sgd_gather(&b, y, &d.train, sb.order + starts[k], sizes[k]);
        for (size_t i = 0; i < sizes[k]; i++) {
            size_t row = sb.order[starts[k] + i];
            assert_ptr_equal(b.rows[0][i], d.train.x + row * 6);
            assert_int_equal(y[i], d.train.y[row]);
        }
        mlp_net_forward(&b, sizes[k]);
        cost += mlp_net_cost(&b, y, sizes[k]);
        mlp_backprop(&b, y, sizes[k]);
        mlp_sgd_step(&b, NULL, NULL, &o, 0.5f, 1);
    }
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    assert_true(fabs(st.cost - cost / 7) < 1e-12);

    /* without the last partial batch the result would differ */
    mlp_net c;
    mlp_sgd sc;
    assert_int_equal(mlp_net_init(&c, s, 3, MLP_ACT_TANH, MLP_COST_XENT, 3, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&c, 2);
    assert_int_equal(mlp_sgd_init(&sc, &c, 6, 2, 3, &o, 9, &err), MLP_OK);
    assert_int_equal(mlp_sgd_epoch(&sc, &c, &d.train, &st, &err), MLP_OK);
    assert_memory_not_equal(a.params, c.params, a.n_params * sizeof(float));

    mlp_sgd_free(&sa);
    mlp_sgd_free(&sb);
    mlp_sgd_free(&sc);
    mlp_net_free(&a);
    mlp_net_free(&b);
    mlp_net_free(&c);
    mlp_data_free(&d);
    tu_rm_rf(dir);
    free(dir);
}

static void test_training_lowers_the_cost(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    mlp_data d = {0};
    mlp_error err;
    tu_write_synthetic(dir, 400, 10, 4, 4, 4, 3);
    assert_int_equal(mlp_idx_load(&d, dir, &err), MLP_OK);
    const size_t s[] = {16, 8, 4};
    mlp_net net;
    mlp_sgd sgd;
    assert_int_equal(
        mlp_net_init(&net, s, 3, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 10, NULL, NULL, &err),
        MLP_OK);
    mlp_net_init_params(&net, 1);
    const mlp_sgd_opts o = {
        .batch = 10, .epochs = 11, .lr = 3.0f, .lr_end = 0.3f, .schedule = MLP_SCHED_LINEAR};
    assert_int_equal(mlp_sgd_init(&sgd, &net, d.train.n, 4, 4, &o, 1, &err), MLP_OK);
    mlp_epoch_stats first, last;
    assert_int_equal(mlp_sgd_epoch(&sgd, &net, &d.train, &first, &err), MLP_OK);
    assert_true(first.lr == 3.0f);
    for (size_t e = 2; e <= 11; e++)
        assert_int_equal(mlp_sgd_epoch(&sgd, &net, &d.train, &last, &err), MLP_OK);
    assert_true(fabsf(last.lr - 0.3f) < 1e-6f);
    assert_true(last.cost < 0.5 * first.cost);
    assert_true(last.correct > first.correct);
    mlp_sgd_free(&sgd);
    mlp_net_free(&net);
    mlp_data_free(&d);
    tu_rm_rf(dir);
    free(dir);
}

/* Augmentation scratch is per thread and sized from the pool the network was built with; an
 * epoch on a network whose pool grew after mlp_sgd_init is refused, not run out of bounds. */
static void test_augmentation_scratch_follows_the_pool(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    mlp_data d = {0};
    mlp_error err;
    mlp_pool *pool;
    tu_write_synthetic(dir, 40, 10, 4, 4, 4, 3);
    assert_int_equal(mlp_idx_load(&d, dir, &err), MLP_OK);
    assert_int_equal(mlp_pool_create(&pool, 3, &err), MLP_OK);
    const size_t s[] = {16, 8, 4};
    mlp_net net;
    mlp_sgd sgd;
    mlp_sgd_opts o = {.batch = 8, .epochs = 1, .lr = 0.5f, .schedule = MLP_SCHED_CONSTANT};
    o.aug = (mlp_augment){1.0f, 10.0f, 0.1f, 0.0f, 0.0f, false};
    assert_int_equal(mlp_net_init(&net, s, 3, MLP_ACT_TANH, MLP_COST_XENT, 8, NULL, pool, &err),
                     MLP_OK);
    mlp_net_init_params(&net, 1);
    assert_int_equal(mlp_sgd_init(&sgd, &net, d.train.n, 4, 4, &o, 1, &err), MLP_OK);
    assert_int_equal(sgd.threads, mlp_pool_size(pool));
    mlp_epoch_stats es;
    assert_int_equal(mlp_sgd_epoch(&sgd, &net, &d.train, &es, &err), MLP_OK);
    mlp_sgd_free(&sgd);
    /* set up for the caller's thread alone, then given the pool: refused */
    mlp_net_attach(&net, NULL, NULL);
    assert_int_equal(mlp_sgd_init(&sgd, &net, d.train.n, 4, 4, &o, 1, &err), MLP_OK);
    mlp_net_attach(&net, NULL, pool);
    assert_int_equal(mlp_sgd_epoch(&sgd, &net, &d.train, &es, &err), MLP_EARG);
    mlp_sgd_free(&sgd);
    mlp_net_free(&net);
    mlp_pool_destroy(pool);
    mlp_data_free(&d);
    tu_rm_rf(dir);
    free(dir);
}

typedef struct {
    size_t calls, last;
    volatile sig_atomic_t *stop;
    size_t stop_after; /* raise stop once this many rows are done */
} hook_log;

static void on_progress(void *ctx, size_t done, size_t total)
{
    hook_log *h = ctx;
    assert_true(done > h->last && done <= total);
    h->calls++;
    h->last = done;
    if (h->stop && done >= h->stop_after)
        *h->stop = 1;
}

/* Two fresh trainers of the same net, seed and data, for comparing runs. */
typedef struct {
    char *dir;
    mlp_data d;
    mlp_net net[2];
    mlp_sgd sgd[2];
} pair;

static void make_pair(pair *p, float lr)
{
    mlp_error err;
    p->dir = tu_tmpdir();
    memset(&p->d, 0, sizeof p->d);
    tu_write_synthetic(p->dir, 53, 5, 3, 3, 3, 4);
    assert_int_equal(mlp_idx_load(&p->d, p->dir, &err), MLP_OK);
    const size_t s[] = {9, 5, 3};
    const mlp_sgd_opts o = {.batch = 4, .epochs = 3, .lr = lr, .momentum = 0.5f, .l2 = 0.001f};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(
            mlp_net_init(&p->net[k], s, 3, MLP_ACT_TANH, MLP_COST_XENT, 4, NULL, NULL, &err),
            MLP_OK);
        mlp_net_init_params(&p->net[k], 8);
        assert_int_equal(mlp_sgd_init(&p->sgd[k], &p->net[k], 53, 3, 3, &o, 8, &err), MLP_OK);
    }
}

static void drop_pair(pair *p)
{
    for (int k = 0; k < 2; k++) {
        mlp_sgd_free(&p->sgd[k]);
        mlp_net_free(&p->net[k]);
    }
    mlp_data_free(&p->d);
    tu_rm_rf(p->dir);
    free(p->dir);
}

/* Stopping mid-epoch and continuing gives exactly the uninterrupted result, and so does
 * continuing in a fresh trainer restored from the saved state, parameters and velocities. */
static void test_stop_and_resume_mid_epoch(void **state)
{
    (void)state;
    pair p;
    mlp_error err;
    mlp_epoch_stats st, st2;
    make_pair(&p, 0.3f);
    for (int e = 0; e < 2; e++)
        assert_int_equal(mlp_sgd_epoch(&p.sgd[0], &p.net[0], &p.d.train, &st, &err), MLP_OK);

    volatile sig_atomic_t stop = 0;
    hook_log h = {.stop = &stop, .stop_after = 20};
    p.sgd[1].hooks = (mlp_sgd_hooks){on_progress, &h, &stop, NULL};
    assert_int_equal(mlp_sgd_epoch(&p.sgd[1], &p.net[1], &p.d.train, &st2, &err), MLP_ESTOP);
    assert_non_null(strstr(err.msg, "epoch 1"));
    assert_int_equal(p.sgd[1].state.pos, 20);
    assert_int_equal(h.calls, 5);

    /* a fresh trainer picks up from the saved state */
    mlp_net n3;
    mlp_sgd s3;
    const size_t sz[] = {9, 5, 3};
    assert_int_equal(mlp_net_init(&n3, sz, 3, MLP_ACT_TANH, MLP_COST_XENT, 4, NULL, NULL, &err),
                     MLP_OK);
    assert_int_equal(mlp_sgd_init(&s3, &n3, 53, 3, 3, &p.sgd[1].opt, 99, &err), MLP_OK);
    memcpy(n3.params, p.net[1].params, n3.n_params * sizeof(float));
    memcpy(s3.vel, p.sgd[1].vel, n3.n_params * sizeof(float));
    mlp_sgd_restore(&s3, &p.sgd[1].state);
    assert_int_equal(mlp_sgd_epoch(&s3, &n3, &p.d.train, &st2, &err), MLP_OK);
    assert_int_equal(st2.epoch, 1);
    assert_int_equal(mlp_sgd_epoch(&s3, &n3, &p.d.train, &st2, &err), MLP_OK);
    assert_int_equal(st2.epoch, 2);
    assert_memory_equal(n3.params, p.net[0].params, n3.n_params * sizeof(float));
    assert_true(st2.cost == st.cost && st2.correct == st.correct);

    /* and the interrupted trainer itself finishes the epoch where it stopped */
    stop = 0;
    h.stop = NULL;
    assert_int_equal(mlp_sgd_epoch(&p.sgd[1], &p.net[1], &p.d.train, &st2, &err), MLP_OK);
    assert_int_equal(h.last, 53);
    p.sgd[1].hooks.progress = NULL;
    assert_int_equal(mlp_sgd_epoch(&p.sgd[1], &p.net[1], &p.d.train, &st2, &err), MLP_OK);
    assert_memory_equal(p.net[1].params, p.net[0].params, n3.n_params * sizeof(float));
    mlp_sgd_free(&s3);
    mlp_net_free(&n3);
    drop_pair(&p);
}

static void test_divergence_is_reported_with_epoch_and_batch(void **state)
{
    (void)state;
    pair p;
    mlp_error err;
    mlp_epoch_stats st;
    make_pair(&p, 1e30f);
    mlp_status rc = MLP_OK;
    for (int e = 0; e < 3 && rc == MLP_OK; e++)
        rc = mlp_sgd_epoch(&p.sgd[0], &p.net[0], &p.d.train, &st, &err);
    assert_int_equal(rc, MLP_ENUMERIC);
    assert_non_null(strstr(err.msg, "epoch 1, batch "));
    assert_non_null(strstr(err.msg, "learning rate"));
    drop_pair(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_by_hand),
        cmocka_unit_test(test_momentum_by_hand),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_step_cosine_and_warmup_schedules),
        cmocka_unit_test(test_nesterov_and_max_norm_by_hand),
        cmocka_unit_test(test_adam_and_adamw_by_hand),
        cmocka_unit_test(test_clip_scales_only_long_gradients),
        cmocka_unit_test(test_patience_stops_at_the_right_epoch),
        cmocka_unit_test(test_validation_split_and_untouched_data),
        cmocka_unit_test(test_hold_out),
        cmocka_unit_test(test_shuffle_is_a_seeded_permutation),
        cmocka_unit_test(test_epoch_equals_manual_batches),
        cmocka_unit_test(test_training_lowers_the_cost),
        cmocka_unit_test(test_augmentation_scratch_follows_the_pool),
        cmocka_unit_test(test_stop_and_resume_mid_epoch),
        cmocka_unit_test(test_divergence_is_reported_with_epoch_and_batch),
    };
    return cmocka_run_group_tests_name("sgd", tests, NULL, NULL);
}
