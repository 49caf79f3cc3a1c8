/*
 * sgd: the validation split (and the test set held out of a data set that has none),
 * shuffling, the mini-batch loop, augmentation and dropout of training batches, the
 * learning-rate schedule and the gradient-descent step. The gradient itself comes from
 * backprop.c.
 */
#include "sgd.h"

#include "backprop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool mlp_sgd_opts_valid(const mlp_sgd_opts *o)
{
    const mlp_augment *a = &o->aug;
    bool sched = o->schedule == MLP_SCHED_CONSTANT ||
                 ((o->schedule == MLP_SCHED_LINEAR || o->schedule == MLP_SCHED_COSINE) &&
                  o->lr_end >= 0.0f && isfinite(o->lr_end)) ||
                 (o->schedule == MLP_SCHED_STEP && o->lr_step > 0 && o->lr_gamma > 0.0f &&
                  isfinite(o->lr_gamma));
    bool adam = o->optimizer == MLP_STEP_ADAM || o->optimizer == MLP_STEP_ADAMW;
    /* in range whatever the optimiser, so that a model file holds no NaN in their place */
    bool moments = o->beta1 >= 0.0f && o->beta1 < 1.0f && o->beta2 >= 0.0f && o->beta2 < 1.0f &&
                   o->eps >= 0.0f && isfinite(o->eps);
    bool optim =
        moments && (o->optimizer == MLP_STEP_SGD || (adam && o->eps > 0.0f && o->momentum == 0.0f));
    bool decay = o->weight_decay >= 0.0f && o->weight_decay <= 1.0f &&
                 (o->weight_decay == 0.0f || o->optimizer == MLP_STEP_ADAMW);
    bool extras = o->clip >= 0.0f && isfinite(o->clip) && o->label_smoothing >= 0.0f &&
                  o->label_smoothing < 1.0f && (o->patience == 0 || o->val > 0);
    return sched && optim && decay && extras && o->batch > 0 && o->batch <= MLP_MAX_BATCH &&
           o->epochs > 0 && o->lr > 0.0f && isfinite(o->lr) && o->l2 >= 0.0f &&
           o->momentum >= 0.0f && o->momentum < 1.0f && (!o->nesterov || o->momentum > 0.0f) &&
           o->maxnorm >= 0.0f && o->drop_in >= 0.0f && o->drop_in < 1.0f &&
           o->drop_hidden >= 0.0f && o->drop_hidden < 1.0f && a->translate >= 0.0f &&
           a->rotate >= 0.0f && a->scale >= 0.0f && a->scale < 1.0f && a->elastic_alpha >= 0.0f &&
           isfinite(a->translate) && isfinite(a->rotate) && isfinite(a->elastic_alpha) &&
           (a->elastic_alpha == 0.0f || (a->elastic_sigma > 0.0f && a->elastic_sigma <= 10.0f));
}

mlp_status mlp_sgd_init(mlp_sgd *s, const mlp_net *net, size_t n_set, size_t rows, size_t cols,
                        const mlp_sgd_opts *opt, uint64_t seed, mlp_error *err)
{
    memset(s, 0, sizeof *s);
    if (!mlp_sgd_opts_valid(opt) || opt->batch > net->max_batch || opt->val >= n_set ||
        (opt->label_smoothing > 0.0f && net->cost != MLP_COST_XENT))
        return mlp_fail(err, MLP_EARG, "invalid training options");
    s->opt = *opt;
    s->seed = seed;
    s->n = n_set - opt->val;
    /* Streams of their own, so that changing how many numbers one part draws does not change
     * the others. */
    s->state.rng = seed ^ 0x73687566666c6521u; /* "shuffle!" */
    s->rows = mlp_alloc_array(n_set, sizeof *s->rows);
    s->order = mlp_alloc_array(s->n, sizeof *s->order);
    s->batch_rows = mlp_alloc_array(opt->batch, sizeof *s->batch_rows);
    s->y = malloc(opt->batch);
    if (mlp_sgd_has_vel(opt) && (s->vel = mlp_alloc_array(net->n_params, sizeof(float))))
        memset(s->vel, 0, net->n_params * sizeof(float)); /* at rest */
    if (mlp_sgd_has_sq(opt) && (s->sq = mlp_alloc_array(net->n_params, sizeof(float))))
        memset(s->sq, 0, net->n_params * sizeof(float));
    if (mlp_augment_active(&opt->aug)) {
        /* net->pool was given to mlp_net_init: its size is final (mlp_sgd_epoch checks) */
        s->threads = mlp_pool_size(net->pool);
        s->scratch_len = mlp_augment_scratch(rows, cols);
        s->scratch = mlp_alloc_array(s->threads * s->scratch_len, sizeof(float));
        size_t px;
        if (mlp_mul_size(rows, cols, &px) && mlp_mul_size(px, opt->batch, &px))
            s->augmented = mlp_alloc_array(px, sizeof(float));
    }
    if (!s->rows || !s->order || !s->batch_rows || !s->y || (mlp_sgd_has_vel(opt) && !s->vel) ||
        (mlp_sgd_has_sq(opt) && !s->sq) ||
        (mlp_augment_active(&opt->aug) && (!s->scratch || !s->augmented))) {
        mlp_sgd_free(s);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for training on %zu images", n_set);
    }
    /* The validation rows: the first `val` of a permutation drawn from the seed; training
     * uses the rest. With no validation, training uses every row in its own order. */
    uint64_t vr = mlp_rng_derive(seed, 0x76616c6964u, 0); /* "valid" */
    if (opt->val > 0)
        mlp_sgd_shuffle(s->rows, n_set, &vr);
    else
        for (size_t i = 0; i < n_set; i++)
            s->rows[i] = i;
    s->val_rows = s->rows;
    s->rows += opt->val;
    return MLP_OK;
}

void mlp_sgd_free(mlp_sgd *s)
{
    free(s->val_rows ? s->val_rows : s->rows);
    free(s->order);
    free(s->batch_rows);
    free(s->y);
    free(s->vel);
    free(s->sq);
    free(s->scratch);
    free(s->augmented);
    memset(s, 0, sizeof *s);
}

float mlp_sgd_lr(const mlp_sgd_opts *o, size_t e, double frac)
{
    /* t: 0 at the first epoch, 1 at the last; epochs beyond the plan keep the last rate */
    double t = o->epochs > 1 ? (double)(e - 1) / (double)(o->epochs - 1) : 0.0;
    if (t > 1.0)
        t = 1.0;
    double lr = o->lr;
    switch (o->schedule) {
    case MLP_SCHED_CONSTANT:
        break;
    case MLP_SCHED_LINEAR:
        lr = (1.0 - t) * o->lr + t * o->lr_end;
        break;
    case MLP_SCHED_STEP:
        lr = o->lr * pow(o->lr_gamma, (double)((e - 1) / o->lr_step));
        break;
    case MLP_SCHED_COSINE:
        lr = o->lr_end + (o->lr - o->lr_end) * 0.5 * (1.0 + cos(3.14159265358979 * t));
        break;
    }
    if (e <= o->warmup) /* ramps from 0, batch by batch */
        lr *= ((double)(e - 1) + frac) / (double)o->warmup;
    return (float)lr;
}

bool mlp_sgd_has_vel(const mlp_sgd_opts *o)
{
    return o->optimizer != MLP_STEP_SGD || o->momentum > 0.0f;
}

bool mlp_sgd_has_sq(const mlp_sgd_opts *o)
{
    return o->optimizer != MLP_STEP_SGD;
}

void mlp_sgd_step(mlp_net *net, float *vel, float *sq, const mlp_sgd_opts *o, float lr, uint64_t t)
{
    /* Biases are neither decayed nor bounded: they shift a neuron, they do not make the net
     * more complex. Adam's bias corrections in double, as PyTorch computes them in Python. */
    double bc1 = 1.0 - pow(o->beta1, (double)t), bc2 = sqrt(1.0 - pow(o->beta2, (double)t));
    mlp_step ws = {lr,       o->l2,    o->momentum, o->maxnorm, o->nesterov, o->optimizer,
                   o->beta1, o->beta2, o->eps,      1.0f,       0.0f,        1.0f};
    if (o->optimizer != MLP_STEP_SGD) {
        ws.mu = 0.0f;
        ws.decay = (float)(1.0 - (double)lr * o->weight_decay);
        ws.step = (float)((double)lr / bc1);
        ws.bc2 = (float)bc2;
        if (o->optimizer == MLP_STEP_ADAMW)
            ws.l2 = 0.0f; /* AdamW decays through decay alone */
    }
    mlp_step bs = ws;
    bs.l2 = 0.0f;
    bs.maxnorm = 0.0f;
    bs.decay = 1.0f;
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t in = net->sizes[l], out = net->sizes[l + 1];
        /* velocities and moments share the parameters' layout */
        float *vw = vel ? mlp_net_layer_w(net, vel, l) : NULL;
        float *vb = vel ? mlp_net_layer_b(net, vel, l) : NULL;
        float *qw = sq ? mlp_net_layer_w(net, sq, l) : NULL;
        float *qb = sq ? mlp_net_layer_b(net, sq, l) : NULL;
        size_t n = mlp_net_threads(net, l);
        mlp_kernels_step(net->kern, net->pool, n, net->W[l], vw, qw, net->dW[l], out, in, &ws);
        mlp_kernels_step(net->kern, net->pool, n, net->b[l], vb, qb, net->db[l], out, 1, &bs);
    }
}

bool mlp_sgd_patience_out(const mlp_sgd_opts *o, size_t done, size_t best)
{
    return o->patience > 0 && best > 0 && done < o->epochs && done - best >= o->patience;
}

double mlp_sgd_clip(mlp_net *net, float max)
{
    double ss = 0.0;
    for (size_t i = 0; i < net->n_params; i++)
        ss += (double)net->grads[i] * net->grads[i];
    double norm = sqrt(ss);
    if (norm > max) {
        float scale = (float)(max / norm);
        for (size_t i = 0; i < net->n_params; i++)
            net->grads[i] *= scale;
    }
    return norm;
}

void mlp_sgd_shuffle(size_t *order, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mlp_rng_below(rng, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

mlp_status mlp_sgd_hold_out(mlp_set *held, mlp_set *set, size_t n, uint64_t seed, mlp_error *err)
{
    const size_t all = set->n, dim = set->dim;
    size_t values;
    if (n == 0 || n >= all || !set->y || !mlp_mul_size(n, dim, &values))
        return mlp_fail(err, MLP_EARG, "cannot hold %zu of %zu images out", n, all);
    size_t *order = mlp_alloc_array(all, sizeof *order);
    uint8_t *out = calloc(all, 1); /* (all): 1 for a row that goes to held */
    held->x = mlp_alloc_array(values, sizeof(float));
    held->y = malloc(n);
    if (!order || !out || !held->x || !held->y) {
        free(order);
        free(out);
        mlp_idx_set_free(held);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for %zu test images", n);
    }
    uint64_t r = mlp_rng_derive(seed, 0x74657374u, 0); /* "test" */
    mlp_sgd_shuffle(order, all, &r);
    for (size_t i = 0; i < n; i++)
        out[order[i]] = 1;
    size_t h = 0, k = 0; /* rows of held, rows kept */
    for (size_t i = 0; i < all; i++) {
        float *dst = out[i] ? held->x + h * dim : set->x + k * dim;
        if (dst != set->x + i * dim) /* k < i: the rows do not overlap */
            memcpy(dst, set->x + i * dim, dim * sizeof(float));
        if (out[i])
            held->y[h++] = set->y[i];
        else
            set->y[k++] = set->y[i];
    }
    free(order);
    free(out);
    held->n = n;
    held->rows = set->rows;
    held->cols = set->cols;
    held->dim = dim;
    set->n = k;
    float *x = realloc(set->x, k * dim * sizeof(float)); /* shrinks to the rows kept */
    set->x = x ? x : set->x;
    return MLP_OK;
}

void mlp_sgd_gather(mlp_net *net, uint8_t *y, const mlp_set *set, const size_t *idx, size_t B)
{
    /* No pixel is copied: the input rows are used where they lie in the set. */
    for (size_t i = 0; i < B; i++) {
        mlp_net_set_input(net, i, set->x + idx[i] * set->dim);
        y[i] = set->y[idx[i]];
    }
}

void mlp_sgd_restore(mlp_sgd *s, const mlp_sgd_state *state)
{
    s->state = *state;
    if (s->state.pos > 0) {
        uint64_t r = s->state.epoch_rng;
        mlp_sgd_shuffle(s->order, s->n, &r);
    }
}

/* Augmentation of a batch, split over threads by image. Each image's random choices come
 * from (seed, epoch, row), so neither the thread nor the batch it falls in changes them. */
typedef struct {
    mlp_sgd *s;
    mlp_net *net;
    const mlp_set *set;
    size_t B, epoch;
} augment_job;

static void augment_part(void *ctx, size_t t, size_t n)
{
    augment_job *j = ctx;
    const mlp_set *set = j->set;
    float *scratch = j->s->scratch + t * j->s->scratch_len;
    for (size_t i = j->B * t / n; i < j->B * (t + 1) / n; i++) {
        size_t row = j->s->batch_rows[i];
        float *dst = j->s->augmented + i * set->dim;
        mlp_augment_image(dst, set->x + row * set->dim, set->rows, set->cols, &j->s->opt.aug,
                          mlp_rng_derive(j->s->seed, j->epoch, row), scratch);
        mlp_net_set_input(j->net, i, dst);
    }
}

/* Dropout for the training pass of batch k of epoch e (the masks' seed), or off. */
static void set_dropout(mlp_net *net, const mlp_sgd *s, size_t e, size_t k, bool on)
{
    for (size_t l = 0; l < net->n_layers; l++)
        net->drop.keep[l] = !on ? 1.0f : 1.0f - (l == 0 ? s->opt.drop_in : s->opt.drop_hidden);
    net->drop.seed = mlp_rng_derive(s->seed ^ 0x64726f706f7574u, e, k); /* "dropout" */
}

mlp_status mlp_sgd_epoch(mlp_sgd *s, mlp_net *net, const mlp_set *train, mlp_epoch_stats *stats,
                         mlp_error *err)
{
    mlp_sgd_state *state = &s->state;
    const size_t batch = s->opt.batch, e = state->epoch + 1;
    const bool augment = mlp_augment_active(&s->opt.aug);
    float lr = mlp_sgd_lr(&s->opt, e, 0.0);

    if (augment && mlp_pool_size(net->pool) > s->threads)
        return mlp_fail(err, MLP_EARG, "the network has more threads than at mlp_sgd_init");
    if (state->pos == 0) { /* a fresh epoch: draw its order */
        state->epoch_rng = state->rng;
        mlp_sgd_shuffle(s->order, s->n, &state->rng);
        state->cost = 0.0;
        state->correct = 0;
    }
    while (state->pos < s->n) {
        size_t B = s->n - state->pos < batch ? s->n - state->pos : batch, k = state->pos / batch;
        for (size_t i = 0; i < B; i++)
            s->batch_rows[i] = s->rows[s->order[state->pos + i]];
        mlp_sgd_gather(net, s->y, train, s->batch_rows, B);
        if (augment) {
            augment_job j = {s, net, train, B, e};
            mlp_pool_run(net->pool, 0x61756700u + B, 0, augment_part, &j); /* "aug", B */
        }
        set_dropout(net, s, e, k, true);
        net->smooth = s->opt.label_smoothing;
        mlp_net_forward(net, B);
        double c = mlp_net_cost(net, s->y, B);
        if (!isfinite(c)) {
            set_dropout(net, s, e, k, false);
            net->smooth = 0.0f;
            return mlp_fail(err, MLP_ENUMERIC,
                            "epoch %zu, batch %zu: the cost is %s; the learning rate (%g) is "
                            "probably too high",
                            e, k + 1, isnan(c) ? "NaN" : "infinite", (double)lr);
        }
        state->cost += c;
        for (size_t i = 0; i < B; i++)
            state->correct += mlp_net_predict_row(net, i) == s->y[i];
        mlp_backprop(net, s->y, B);
        set_dropout(net, s, e, k, false);
        net->smooth = 0.0f; /* evaluation measures the plain cost */
        if (s->opt.clip > 0.0f)
            mlp_sgd_clip(net, s->opt.clip);
        lr = s->hooks.rate ? s->hooks.rate(s->hooks.ctx, k)
                           : mlp_sgd_lr(&s->opt, e, (double)(state->pos + B) / (double)s->n);
        mlp_sgd_step(net, s->vel, s->sq, &s->opt, lr, state->steps + 1);
        state->steps++;
        state->pos += B;
        if (s->hooks.progress)
            s->hooks.progress(s->hooks.ctx, state->pos, s->n);
        if (s->hooks.stop && *s->hooks.stop && state->pos < s->n)
            return mlp_fail(err, MLP_ESTOP, "stopped in epoch %zu after %zu of %zu images", e,
                            state->pos, s->n);
    }
    stats->epoch = e;
    stats->lr = lr;
    stats->cost = s->n ? state->cost / (double)s->n : 0.0;
    stats->correct = state->correct;
    stats->n = s->n;
    state->epoch = e;
    state->pos = 0;
    return MLP_OK;
}
