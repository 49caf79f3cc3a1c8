/*
 * sgd: shuffling, the mini-batch loop and the gradient-descent step. The gradient itself
 * comes from backprop.c; this file decides only which rows go into a batch and how far to
 * move the parameters.
 */
#include "sgd.h"

#include "backprop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mlp_status mlp_sgd_init(mlp_sgd *s, const mlp_net *net, size_t n, const mlp_sgd_opts *opt,
                        uint64_t seed, mlp_error *err)
{
    memset(s, 0, sizeof *s);
    if (opt->batch == 0 || opt->batch > net->max_batch || opt->epochs == 0 || !(opt->lr > 0.0f) ||
        !(opt->l2 >= 0.0f) || !(opt->momentum >= 0.0f) || !(opt->momentum < 1.0f) ||
        (opt->schedule == MLP_SCHED_LINEAR && !(opt->lr_end > 0.0f)))
        return mlp_fail(err, MLP_EARG, "invalid training options");
    s->n = n;
    s->opt = *opt;
    /* A stream of its own, so that changing how many numbers initialisation draws does not
     * change the order the data is visited in. */
    s->st.rng = seed ^ 0x73687566666c6521u; /* "shuffle!" */
    s->order = mlp_alloc_array(n, sizeof *s->order);
    s->y = malloc(opt->batch);
    if (opt->momentum > 0.0f && (s->vel = mlp_alloc_array(net->n_params, sizeof(float))))
        memset(s->vel, 0, net->n_params * sizeof(float)); /* at rest */
    if (!s->order || !s->y || (opt->momentum > 0.0f && !s->vel)) {
        mlp_sgd_free(s);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for the order of %zu images", n);
    }
    return MLP_OK;
}

void mlp_sgd_free(mlp_sgd *s)
{
    free(s->order);
    free(s->y);
    free(s->vel);
    memset(s, 0, sizeof *s);
}

float mlp_sgd_lr(const mlp_sgd_opts *opt, size_t e)
{
    if (opt->schedule == MLP_SCHED_CONSTANT || opt->epochs < 2)
        return opt->lr;
    double t =
        (double)(e - 1) / (double)(opt->epochs - 1); /* 0 at the first epoch, 1 at the last */
    if (t > 1.0)
        t = 1.0; /* epochs beyond the plan keep the last rate */
    return (float)((1.0 - t) * opt->lr + t * opt->lr_end);
}

void mlp_sgd_step(mlp_net *net, float *vel, float lr, float l2, float mu)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t in = net->sizes[l], out = net->sizes[l + 1];
        /* velocities share the parameters' layout: the same offsets as the views */
        float *vw = vel ? vel + (net->W[l] - net->params) : NULL;
        float *vb = vel ? vel + (net->b[l] - net->params) : NULL;
        /* w -= lr * (g + l2 * w). Biases are not decayed: they shift a neuron, they do not
         * make the net more complex. */
        size_t n = mlp_net_threads(net, l);
        mlp_k_step(net->kern, net->pool, n, net->W[l], vw, net->dW[l], out, in, lr, l2, mu);
        mlp_k_step(net->kern, net->pool, n, net->b[l], vb, net->db[l], out, 1, lr, 0.0f, mu);
    }
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

void mlp_sgd_gather(mlp_net *net, uint8_t *y, const mlp_set *set, const size_t *idx, size_t B)
{
    /* No pixel is copied: the input rows are used where they lie in the set. */
    for (size_t i = 0; i < B; i++) {
        net->rows[0][i] = set->x + idx[i] * set->dim;
        y[i] = set->y[idx[i]];
    }
}

void mlp_sgd_restore(mlp_sgd *s, const mlp_sgd_state *st)
{
    s->st = *st;
    if (s->st.pos > 0) {
        uint64_t r = s->st.epoch_rng;
        mlp_sgd_shuffle(s->order, s->n, &r);
    }
}

mlp_status mlp_sgd_epoch(mlp_sgd *s, mlp_net *net, const mlp_set *train, mlp_epoch_stats *stats,
                         mlp_error *err)
{
    mlp_sgd_state *st = &s->st;
    const size_t batch = s->opt.batch, e = st->epoch + 1;
    const float lr = mlp_sgd_lr(&s->opt, e), l2 = s->opt.l2;

    if (st->pos == 0) { /* a fresh epoch: draw its order */
        st->epoch_rng = st->rng;
        mlp_sgd_shuffle(s->order, s->n, &st->rng);
        st->cost = 0.0;
        st->correct = 0;
    }
    while (st->pos < s->n) {
        size_t B = s->n - st->pos < batch ? s->n - st->pos : batch;
        mlp_sgd_gather(net, s->y, train, s->order + st->pos, B);
        mlp_net_forward(net, B);
        double c = mlp_net_cost(net, s->y, B);
        if (!isfinite(c))
            return mlp_fail(err, MLP_ENUMERIC,
                            "epoch %zu, batch %zu: the cost is %s; the learning rate (%g) is "
                            "probably too high",
                            e, st->pos / batch + 1, isnan(c) ? "NaN" : "infinite", (double)lr);
        st->cost += c;
        for (size_t i = 0; i < B; i++)
            st->correct += mlp_net_predict_row(net, i) == s->y[i];
        mlp_backprop(net, s->y, B);
        mlp_sgd_step(net, s->vel, lr, l2, s->opt.momentum);
        st->pos += B;
        if (s->hooks.progress)
            s->hooks.progress(s->hooks.ctx, st->pos, s->n);
        if (s->hooks.stop && *s->hooks.stop && st->pos < s->n)
            return mlp_fail(err, MLP_ESTOP, "stopped in epoch %zu after %zu of %zu images", e,
                            st->pos, s->n);
    }
    stats->epoch = e;
    stats->lr = lr;
    stats->cost = s->n ? st->cost / (double)s->n : 0.0;
    stats->correct = st->correct;
    stats->n = s->n;
    st->epoch = e;
    st->pos = 0;
    return MLP_OK;
}
