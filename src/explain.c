/*
 * explain: one image's forward and backward pass copied out of the network in double, with
 * the sums the lessons draw (what each hidden neuron is asked), the rankings of the knobs that
 * matter most, and the average over many images. net.c and backprop.c do the computing; this
 * file reads their caches through the views and never computes an offset into params.
 */
#include "explain.h"

#include "backprop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mlp_explain_free(mlp_explain *e)
{
    free(e->buf);
    memset(e, 0, sizeof *e);
}

mlp_status mlp_explain_image(mlp_explain *e, mlp_net *net, const float *x, size_t label,
                             mlp_error *err)
{
    const size_t L = net->n_layers, K = net->sizes[L];
    const size_t in = net->sizes[L - 1];
    size_t units = 0, total;
    memset(e, 0, sizeof *e);
    if (label >= K)
        return mlp_fail(err, MLP_EARG, "label %zu, but the network has %zu classes", label, K);
    for (size_t l = 0; l <= L; l++)
        units += net->sizes[l]; /* no overflow: mlp_net_init checked max_batch * units */
    /* a, wish and ask of every layer, the output layer's weights, then the knobs; K * in and
     * n_params were checked by mlp_net_init, and K * in <= n_params */
    if (!mlp_add_size(3 * units + K * in, net->n_params, &total) ||
        !(e->buf = mlp_alloc_array(total, sizeof *e->buf)))
        return mlp_fail(err, MLP_ENOMEM, "out of memory for explaining %zu parameters",
                        net->n_params);
    memset(e->buf, 0, total * sizeof *e->buf);
    e->n_layers = L;
    memcpy(e->sizes, net->sizes, sizeof e->sizes);
    e->label = label;
    double *p = e->buf;
    for (size_t l = 0; l <= L; l++) {
        e->a[l] = p;
        e->wish[l] = p + units;
        e->ask[l] = p + 2 * units;
        p += net->sizes[l];
    }
    e->w_out = e->buf + 3 * units;
    e->grad = e->w_out + K * in;
    for (size_t i = 0; i < K * in; i++)
        e->w_out[i] = (double)net->W[L - 1][i];

    uint8_t y = (uint8_t)label;
    mlp_net_set_input(net, 0, x);
    mlp_net_forward(net, 1);
    e->cost = mlp_net_cost(net, &y, 1);
    e->predicted = mlp_net_predict_row(net, 0);
    mlp_backprop(net, &y, 1);

    for (size_t k = 0; k < net->sizes[0]; k++)
        e->a[0][k] = (double)x[k];
    for (size_t l = 1; l <= L; l++) {
        for (size_t k = 0; k < net->sizes[l]; k++) {
            e->a[l][k] = (double)net->a[l][k];
            e->wish[l][k] = -(double)net->wish[l][k]; /* B = 1: dC/dz itself */
        }
    }
    /* ask[l](in) = wish[l+1](out) . W[l](out, in): the wishes above, summed through the
     * weights; backprop.c multiplies this by the slope to get wish[l] */
    for (size_t l = L - 1; l >= 1; l--) {
        const size_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        for (size_t j = 0; j < n_out; j++)
            for (size_t k = 0; k < n_in; k++)
                e->ask[l][k] += e->wish[l + 1][j] * (double)net->W[l][j * n_in + k];
    }
    for (size_t i = 0; i < net->n_params; i++)
        e->grad[i] = -(double)net->grads[i];
    return MLP_OK;
}

double mlp_explain_slope(mlp_act act, double a)
{
    switch (act) {
    case MLP_ACT_TANH:
        return 1.0 - a * a;
    case MLP_ACT_RELU:
        return a > 0.0 ? 1.0 : 0.0;
    case MLP_ACT_SIGMOID:
        break;
    }
    return a * (1.0 - a);
}

size_t mlp_explain_strongest(const mlp_explain *e)
{
    size_t idx;
    mlp_explain_top(&idx, e->wish[e->n_layers], e->sizes[e->n_layers], 1);
    return idx;
}

void mlp_explain_top(size_t *idx, const double *v, size_t n, size_t k)
{
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        double m = fabs(v[i]);
        /* insertion into the sorted list idx[0..have): the ones it beats move down */
        size_t at = have;
        while (at > 0 && m > fabs(v[idx[at - 1]]))
            at--;
        if (at >= k)
            continue;
        size_t last = have < k ? have : k - 1;
        for (size_t s = last; s > at; s--)
            idx[s] = idx[s - 1];
        idx[at] = i;
        if (have < k)
            have++;
    }
}

void mlp_explain_grant(mlp_explain_ways *w, const mlp_explain *e, const mlp_net *net, size_t j,
                       size_t top)
{
    const size_t L = e->n_layers, in = e->sizes[L - 1];
    const double *Wj = e->w_out + j * in; /* (in): the weights into output j */
    size_t order[MLP_EXPLAIN_MAX_TOP];

    memset(w, 0, sizeof *w);
    w->neuron = j;
    w->wish = e->wish[L][j];
    w->bias = (double)net->b[L - 1][j];
    top = top < MLP_EXPLAIN_MAX_TOP ? top : MLP_EXPLAIN_MAX_TOP;
    w->n_top = top < in ? top : in;

    /* dz/dw_k = a_k: the brightest inputs' weights matter most */
    mlp_explain_top(order, e->a[L - 1], in, w->n_top);
    for (size_t t = 0; t < w->n_top; t++) {
        size_t k = order[t];
        w->weights[t] = (mlp_explain_item){k, e->a[L - 1][k], Wj[k], w->wish * e->a[L - 1][k]};
    }
    /* dz/da_k = w_k: the neurons below with the largest weights have the most sway */
    mlp_explain_top(order, Wj, in, w->n_top);
    for (size_t t = 0; t < w->n_top; t++) {
        size_t k = order[t];
        w->below[t] = (mlp_explain_item){k, e->a[L - 1][k], Wj[k], w->wish * Wj[k]};
    }
}

void mlp_explain_votes(const mlp_explain *e, const mlp_net *net, size_t l, size_t k, size_t *up,
                       size_t *down)
{
    const size_t in = e->sizes[l], out = e->sizes[l + 1];
    *up = *down = 0;
    for (size_t j = 0; j < out; j++) {
        double v = e->wish[l + 1][j] * (double)net->W[l][j * in + k];
        *up += v > 0.0;
        *down += v < 0.0;
    }
}

void mlp_explain_avg_free(mlp_explain_avg *avg)
{
    free(avg->out_wish);
    free(avg->grad);
    memset(avg, 0, sizeof *avg);
}

mlp_status mlp_explain_average(mlp_explain_avg *avg, mlp_net *net, const mlp_set *set, size_t first,
                               size_t n, const mlp_explain *one, size_t top, mlp_error *err)
{
    const size_t L = net->n_layers, K = net->sizes[L], P = net->n_params;
    uint8_t y[256];
    const size_t step = net->max_batch < sizeof y ? net->max_batch : sizeof y;

    memset(avg, 0, sizeof *avg);
    if (n == 0 || set->n == 0 || first >= set->n || set->dim != net->sizes[0])
        return mlp_fail(err, MLP_EARG, "cannot average %zu images from %zu of a set of %zu", n,
                        first, set->n);
    avg->out_wish = mlp_alloc_array(K, sizeof *avg->out_wish);
    avg->grad = mlp_alloc_array(P, sizeof *avg->grad);
    if (!avg->out_wish || !avg->grad) {
        mlp_explain_avg_free(avg);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for averaging %zu knob-wishes", P);
    }
    memset(avg->out_wish, 0, K * sizeof *avg->out_wish);
    memset(avg->grad, 0, P * sizeof *avg->grad);

    /* backprop leaves each batch's mean in grads; weighted by B / n, they add up to the mean
     * over all n images. wish[L] holds dC/dz / B per row. */
    for (size_t done = 0; done < n;) {
        size_t B = n - done < step ? n - done : step;
        for (size_t i = 0; i < B; i++) {
            size_t r = (first + done + i) % set->n;
            if (set->y[r] >= K) {
                mlp_explain_avg_free(avg);
                return mlp_fail(err, MLP_EARG,
                                "label %u of image %zu, but the network has %zu "
                                "classes",
                                (unsigned)set->y[r], r, K);
            }
            mlp_net_set_input(net, i, set->x + r * set->dim);
            y[i] = set->y[r];
        }
        mlp_net_forward(net, B);
        avg->cost += mlp_net_cost(net, y, B) / (double)n;
        mlp_backprop(net, y, B);
        const double share = (double)B / (double)n;
        for (size_t i = 0; i < P; i++)
            avg->grad[i] -= share * (double)net->grads[i];
        for (size_t i = 0; i < B * K; i++)
            avg->out_wish[i % K] -= share * (double)net->wish[L][i];
        done += B;
    }
    avg->n = n;

    double dot = 0.0, n1 = 0.0, n2 = 0.0;
    for (size_t i = 0; i < P; i++) {
        double g = one->grad[i], m = avg->grad[i];
        if (g != 0.0) {
            avg->moved++;
            avg->kept += (g > 0.0 && m > 0.0) || (g < 0.0 && m < 0.0);
        }
        dot += g * m;
        n1 += g * g;
        n2 += m * m;
    }
    avg->cosine = n1 > 0.0 && n2 > 0.0 ? dot / sqrt(n1 * n2) : 0.0;

    size_t order[MLP_EXPLAIN_MAX_TOP];
    avg->top = top < MLP_EXPLAIN_MAX_TOP ? top : MLP_EXPLAIN_MAX_TOP;
    avg->top = avg->top < P ? avg->top : P;
    mlp_explain_top(order, one->grad, P, avg->top);
    for (size_t t = 0; t < avg->top; t++) {
        double g = one->grad[order[t]], m = avg->grad[order[t]];
        avg->top_kept += (g > 0.0 && m > 0.0) || (g < 0.0 && m < 0.0);
    }
    return MLP_OK;
}
