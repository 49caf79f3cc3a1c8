/* checkpoint: a run stopped mid-epoch, mapped to a model file's meta, saved, loaded and
 * restored into a fresh network and optimiser, is the same run: every option, the optimiser's
 * state, the velocities, the current and best parameters and the best-by-validation
 * bookkeeping come back, and training both to the end of the epoch gives the same bits. */
#include "testutil.h"

#include "checkpoint.h"
#include "eval.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

/* Every option set away from its zero, so that one the mapping drops shows. */
static const mlp_sgd_opts opts = {
    .batch = 4,
    .epochs = 3,
    .lr = 0.2f,
    .lr_end = 0.05f,
    .schedule = MLP_SCHED_COSINE,
    .lr_step = 2,
    .lr_gamma = 0.5f,
    .warmup = 1,
    .l2 = 0.001f,
    .momentum = 0.6f,
    .nesterov = true,
    .maxnorm = 3.0f,
    .drop_in = 0.1f,
    .drop_hidden = 0.2f,
    .aug = {.translate = 1.0f,
            .rotate = 5.0f,
            .scale = 0.1f,
            .elastic_alpha = 0.5f,
            .elastic_sigma = 2.0f},
    .val = 12,
};

static void assert_opts_equal(const mlp_sgd_opts *a, const mlp_sgd_opts *b)
{
    assert_int_equal(a->batch, b->batch);
    assert_int_equal(a->epochs, b->epochs);
    assert_true(a->lr == b->lr && a->lr_end == b->lr_end);
    assert_int_equal(a->schedule, b->schedule);
    assert_int_equal(a->lr_step, b->lr_step);
    assert_true(a->lr_gamma == b->lr_gamma);
    assert_int_equal(a->warmup, b->warmup);
    assert_true(a->l2 == b->l2 && a->momentum == b->momentum);
    assert_true(a->nesterov == b->nesterov);
    assert_true(a->maxnorm == b->maxnorm);
    assert_true(a->drop_in == b->drop_in && a->drop_hidden == b->drop_hidden);
    assert_true(a->aug.translate == b->aug.translate && a->aug.rotate == b->aug.rotate);
    assert_true(a->aug.scale == b->aug.scale);
    assert_true(a->aug.elastic_alpha == b->aug.elastic_alpha);
    assert_true(a->aug.elastic_sigma == b->aug.elastic_sigma);
    assert_int_equal(a->val, b->val);
}

static void assert_state_equal(const mlp_sgd_state *a, const mlp_sgd_state *b)
{
    assert_int_equal(a->epoch, b->epoch);
    assert_int_equal(a->pos, b->pos);
    assert_true(a->rng == b->rng);
    assert_true(a->epoch_rng == b->epoch_rng);
    assert_true(a->cost == b->cost);
    assert_int_equal(a->correct, b->correct);
}

/* What cmd_train's evaluate() does after an epoch with --val: keep the parameters that do best
 * on the held-out rows, and the test accuracy of the current ones. */
static void evaluate(mlp_checkpoint_best *best, mlp_net *net, const mlp_sgd *s, const mlp_data *d,
                     size_t epoch)
{
    mlp_eval_result ev = {0};
    mlp_error err;
    assert_int_equal(mlp_eval_rows(net, &d->train, s->val_rows, s->opt.val, &ev, &err), MLP_OK);
    float v = (float)mlp_eval_accuracy(&ev);
    mlp_eval_free(&ev);
    if (v > best->val) {
        best->val = v;
        best->epoch = epoch;
        memcpy(best->params, net->params, net->n_params * sizeof(float));
    }
    assert_int_equal(mlp_eval(net, &d->test, &ev, &err), MLP_OK);
    best->last_test = (float)mlp_eval_accuracy(&ev);
    mlp_eval_free(&ev);
    if (best->epoch == epoch)
        best->test = best->last_test;
}

static void stop_after_20(void *ctx, size_t done, size_t total)
{
    (void)total;
    if (done >= 20)
        *(volatile sig_atomic_t *)ctx = 1;
}

static void test_save_load_resume_is_the_same_run(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[4096];
    mlp_data d = {0};
    mlp_error err;
    mlp_epoch_stats es, es2;
    tu_write_synthetic(dir, 60, 10, 4, 4, 3, 5);
    assert_int_equal(mlp_idx_load(&d, dir, &err), MLP_OK);
    uint32_t data_crc = mlp_crc32(0, d.train.y, d.train.n);
    uint32_t images_crc = mlp_model_images_crc(d.train.x, d.train.n * d.train.dim);

    /* the original run: one epoch, evaluated, then stopped 20 images into the second */
    const size_t sizes[] = {16, 6, 3};
    mlp_net net;
    mlp_sgd s;
    mlp_checkpoint_best best = MLP_CHECKPOINT_BEST_NONE;
    assert_int_equal(mlp_net_init(&net, sizes, 3, MLP_ACT_TANH, MLP_COST_XENT, 4, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&net, 7);
    assert_int_equal(mlp_sgd_init(&s, &net, d.train.n, 4, 4, &opts, 7, &err), MLP_OK);
    best.params = calloc(net.n_params, sizeof(float));
    assert_non_null(best.params);
    assert_int_equal(mlp_sgd_epoch(&s, &net, &d.train, &es, &err), MLP_OK);
    evaluate(&best, &net, &s, &d, 1);
    assert_int_equal(best.epoch, 1); /* any accuracy beats -1 */
    volatile sig_atomic_t stop = 0;
    s.hooks = (mlp_sgd_hooks){stop_after_20, (void *)&stop, &stop, NULL};
    assert_int_equal(mlp_sgd_epoch(&s, &net, &d.train, &es, &err), MLP_ESTOP);
    assert_int_equal(s.state.pos, 20);

    /* mapped and saved: the best epoch's parameters, the current ones beside them */
    mlp_model_meta meta = {0};
    mlp_net view;
    snprintf(meta.cmdline, sizeof meta.cmdline, "mlp train test");
    mlp_checkpoint_fill(&meta, &view, &net, &s, &best, &d.train, data_crc, images_crc);
    assert_ptr_equal(view.params, best.params);
    assert_ptr_equal(meta.cur, net.params);
    assert_ptr_equal(meta.vel, s.vel);
    assert_true(meta.test_accuracy == best.test);
    tu_path(path, dir, "model.bin");
    assert_int_equal(mlp_model_save(path, &view, &meta, &err), MLP_OK);

    /* loaded and restored into a fresh network and optimiser, as `mlp train --resume` does */
    mlp_net net2 = {0};
    mlp_sgd s2;
    mlp_model_meta m2 = {0};
    mlp_checkpoint_best best2 = MLP_CHECKPOINT_BEST_NONE;
    assert_int_equal(mlp_model_load_state(path, &net2, 4, &m2, &err), MLP_OK);
    assert_int_equal(m2.rows, 4);
    assert_int_equal(m2.cols, 4);
    assert_int_equal(m2.n_train, d.train.n);
    assert_true(m2.seed == 7);
    assert_int_equal(m2.data_crc, data_crc);
    assert_int_equal(m2.images_crc, images_crc);
    assert_string_equal(m2.kernels, net.kern->name);
    assert_string_equal(m2.cmdline, "mlp train test");
    assert_opts_equal(&m2.opt, &opts);
    assert_int_equal(mlp_sgd_init(&s2, &net2, m2.n_train, m2.rows, m2.cols, &m2.opt, m2.seed, &err),
                     MLP_OK);
    best2.params = calloc(net2.n_params, sizeof(float));
    assert_non_null(best2.params);
    assert_int_equal(mlp_checkpoint_restore(&net2, &s2, &best2, &m2, &err), MLP_OK);

    assert_int_equal(net2.n_params, net.n_params);
    size_t bytes = net.n_params * sizeof(float);
    assert_opts_equal(&s2.opt, &s.opt);
    assert_true(s2.seed == s.seed);
    assert_state_equal(&s2.state, &s.state);
    assert_memory_equal(s2.order, s.order, s.n * sizeof *s.order);
    assert_memory_equal(s2.val_rows, s.val_rows, s.opt.val * sizeof *s.val_rows);
    assert_memory_equal(s2.vel, s.vel, bytes);
    assert_memory_equal(net2.params, net.params, bytes);
    assert_memory_equal(best2.params, best.params, bytes);
    assert_true(best2.val == best.val && best2.test == best.test);
    assert_int_equal(best2.epoch, best.epoch);
    assert_true(best2.last_test == best.last_test);

    /* both finish the epoch, and train the next: the same bits */
    s.hooks = (mlp_sgd_hooks){NULL, NULL, NULL, NULL};
    for (size_t e = 2; e <= 3; e++) {
        assert_int_equal(mlp_sgd_epoch(&s, &net, &d.train, &es, &err), MLP_OK);
        assert_int_equal(mlp_sgd_epoch(&s2, &net2, &d.train, &es2, &err), MLP_OK);
        assert_int_equal(es.epoch, e);
        assert_int_equal(es2.epoch, e);
        assert_true(es.cost == es2.cost && es.correct == es2.correct);
        assert_memory_equal(net2.params, net.params, bytes);
        assert_memory_equal(s2.vel, s.vel, bytes);
        assert_state_equal(&s2.state, &s.state);
    }

    free(best2.params);
    mlp_model_meta_free(&m2);
    mlp_sgd_free(&s2);
    mlp_net_free(&net2);
    free(best.params);
    mlp_sgd_free(&s);
    mlp_net_free(&net);
    mlp_data_free(&d);
    tu_rm_rf(dir);
    free(dir);
}

/* Which parameters the file holds: the net's without validation or before a best epoch; the
 * best epoch's with the current ones beside them, except right after that epoch ended. */
static void test_fill_chooses_the_parameters(void **state)
{
    (void)state;
    const size_t sizes[] = {4, 2};
    mlp_net net, view;
    mlp_sgd s;
    mlp_error err;
    const mlp_sgd_opts o = {.batch = 2, .epochs = 2, .lr = 0.1f, .val = 2};
    assert_int_equal(
        mlp_net_init(&net, sizes, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 2, NULL, NULL, &err),
        MLP_OK);
    assert_int_equal(mlp_sgd_init(&s, &net, 10, 2, 2, &o, 3, &err), MLP_OK);
    const mlp_set train = {.n = 10, .rows = 2, .cols = 2, .dim = 4};
    float best_params[10];
    mlp_model_meta meta = {0};

    mlp_checkpoint_best best = MLP_CHECKPOINT_BEST_NONE;
    best.last_test = 0.5f;
    mlp_checkpoint_fill(&meta, &view, &net, &s, &best, &train, 1, 2);
    assert_ptr_equal(view.params, net.params);
    assert_null(meta.cur);
    assert_null(meta.vel);
    assert_true(meta.test_accuracy == 0.5f && meta.best_val == -1.0f);
    assert_int_equal(meta.best_epoch, 0);
    assert_int_equal(meta.has_state, 1);
    assert_int_equal(meta.n_train, 10);

    best.params = best_params; /* --val, but no epoch done yet: still the net's own */
    mlp_checkpoint_fill(&meta, &view, &net, &s, &best, &train, 1, 2);
    assert_ptr_equal(view.params, net.params);
    assert_null(meta.cur);

    best = (mlp_checkpoint_best){best_params, 0.75f, 0.25f, 1, 0.25f};
    s.state.epoch = 1; /* right after the best epoch: the current parameters are the best */
    mlp_checkpoint_fill(&meta, &view, &net, &s, &best, &train, 1, 2);
    assert_ptr_equal(view.params, best_params);
    assert_null(meta.cur);
    assert_true(meta.test_accuracy == 0.25f && meta.best_val == 0.75f);
    assert_int_equal(meta.best_epoch, 1);

    s.state.pos = 4; /* part of the next epoch done: both go in the file */
    mlp_checkpoint_fill(&meta, &view, &net, &s, &best, &train, 1, 2);
    assert_ptr_equal(view.params, best_params);
    assert_ptr_equal(meta.cur, net.params);

    /* restoring refuses a meta with no training state, changing nothing */
    mlp_model_meta none = {0};
    mlp_sgd_state before = s.state;
    assert_int_equal(mlp_checkpoint_restore(&net, &s, &best, &none, &err), MLP_EARG);
    assert_state_equal(&s.state, &before);
    assert_true(best.val == 0.75f);
    mlp_sgd_free(&s);
    mlp_net_free(&net);
}

/* A model's options as a run's: the network's shape and functions, every training option,
 * the seed and the kernels; what no model records is left alone. */
static void test_opts_of_a_model(void **state)
{
    (void)state;
    const size_t sizes[] = {6, 5, 4, 3};
    mlp_net net;
    mlp_error err;
    const mlp_kernels *ref = mlp_kernels_get("ref");
    assert_int_equal(
        mlp_net_init(&net, sizes, 4, MLP_ACT_TANH, MLP_COST_XENT, 4, ref, NULL, &err), MLP_OK);
    mlp_model_meta meta = {.opt = opts, .seed = 99, .kernels = "avx2"};
    mlp_train_opts o = {.out = "keep.bin", .threads = 3, .n_hidden = 1, .hidden = {77}};
    mlp_checkpoint_opts(&o, &net, &meta);
    assert_int_equal(o.n_hidden, 2);
    assert_int_equal(o.hidden[0], 5);
    assert_int_equal(o.hidden[1], 4);
    assert_int_equal(o.act, MLP_ACT_TANH);
    assert_int_equal(o.cost, MLP_COST_XENT);
    assert_opts_equal(&o.sgd, &opts);
    assert_int_equal(o.seed, 99);
    assert_string_equal(o.kernels, "avx2");
    assert_string_equal(o.out, "keep.bin");
    assert_int_equal(o.threads, 3);
    mlp_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load_resume_is_the_same_run),
        cmocka_unit_test(test_fill_chooses_the_parameters),
        cmocka_unit_test(test_opts_of_a_model),
    };
    return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
