/*
 * sgd: shuffling, the mini-batch loop and the gradient-descent step. The gradient itself
 * comes from backprop.c; this file decides only which rows go into a batch and how far to
 * move the parameters.
 */
#include "sgd.h"

#include "backprop.h"

#include <stdlib.h>
#include <string.h>

mlp_status mlp_sgd_init(mlp_sgd *s, size_t n, const mlp_sgd_opts *opt, uint64_t seed,
                        mlp_error *err)
{
    memset(s, 0, sizeof *s);
    if (opt->batch == 0 || opt->epochs == 0 || !(opt->lr > 0.0f) || !(opt->l2 >= 0.0f) ||
        (opt->schedule == MLP_SCHED_LINEAR && !(opt->lr_end > 0.0f)))
        return mlp_fail(err, MLP_EARG, "invalid training options");
    s->n = n;
    s->opt = *opt;
    /* A stream of its own, so that changing how many numbers initialisation draws does not
     * change the order the data is visited in. */
    s->rng = seed ^ 0x73687566666c6521u; /* "shuffle!" */
    s->order = mlp_alloc_array(n, sizeof *s->order);
    s->y = malloc(opt->batch);
    if (!s->order || !s->y) {
        mlp_sgd_free(s);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for the order of %zu images", n);
    }
    for (size_t i = 0; i < n; i++)
        s->order[i] = i;
    return MLP_OK;
}

void mlp_sgd_free(mlp_sgd *s)
{
    free(s->order);
    free(s->y);
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

void mlp_sgd_step(mlp_net *net, float lr, float l2)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t nw = net->sizes[l] * net->sizes[l + 1], nb = net->sizes[l + 1];
        float *w = net->W[l], *b = net->b[l];
        const float *gw = net->dW[l], *gb = net->db[l];
        /* Biases are not decayed: they shift a neuron, they do not make the net more complex. */
        for (size_t i = 0; i < nw; i++)
            w[i] -= lr * (gw[i] + l2 * w[i]);
        for (size_t j = 0; j < nb; j++)
            b[j] -= lr * gb[j];
    }
}

void mlp_sgd_shuffle(size_t *order, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mlp_rng_below(rng, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

void mlp_sgd_gather(mlp_net *net, uint8_t *y, const mlp_set *set, const size_t *idx, size_t B)
{
    const size_t dim = set->dim;
    for (size_t i = 0; i < B; i++) {
        memcpy(net->a[0] + i * dim, set->x + idx[i] * dim, dim * sizeof(float));
        y[i] = set->y[idx[i]];
    }
}

void mlp_sgd_epoch(mlp_sgd *s, mlp_net *net, const mlp_set *train, size_t e, mlp_epoch_stats *stats)
{
    const size_t batch = s->opt.batch;
    const float lr = mlp_sgd_lr(&s->opt, e), l2 = s->opt.l2;
    double cost = 0.0;
    size_t correct = 0;

    mlp_sgd_shuffle(s->order, s->n, &s->rng);
    for (size_t start = 0; start < s->n; start += batch) {
        size_t B = s->n - start < batch ? s->n - start : batch;
        mlp_sgd_gather(net, s->y, train, s->order + start, B);
        mlp_net_forward(net, B);
        cost += mlp_net_cost(net, s->y, B);
        for (size_t i = 0; i < B; i++)
            correct += mlp_net_predict_row(net, i) == s->y[i];
        mlp_backprop(net, s->y, B);
        mlp_sgd_step(net, lr, l2);
    }
    stats->lr = lr;
    stats->cost = s->n ? cost / (double)s->n : 0.0;
    stats->correct = correct;
    stats->n = s->n;
}
