/*
 * gradcheck: backprop's gradient against central finite differences over a double-precision
 * forward pass of its own. Its double copy of params is read through net.c's offsets
 * (mlp_net_w_offset, mlp_net_b_offset), so this file computes no offsets of its own.
 */
#include "gradcheck.h"

#include "backprop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Buffers of one check; one struct, freed in one place. */
typedef struct {
    double *p;     /* (n_params): the parameters in double, nudged one at a time */
    double *cur;   /* (widest layer): activations of the layer being read */
    double *nxt;   /* (widest layer): activations of the layer being written */
    double *out;   /* (B, classes): outputs of the unnudged network */
    double *fd;    /* (n_params): the finite-difference gradients, in knobs' order */
    size_t *knobs; /* (n_params): indices of the parameters to compare */
} work;

static double act_double(mlp_act act, double z)
{
    switch (act) {
    case MLP_ACT_TANH:
        return tanh(z);
    case MLP_ACT_RELU:
        return z > 0.0 ? z : 0.0;
    case MLP_ACT_SIGMOID:
        break;
    }
    return 1.0 / (1.0 + exp(-z));
}

/* Mean cost over the B rows, with parameters w->p, from the definitions:
 *   z_j = b_j + sum_k W_jk a_k,  a = act(z) (hidden), sigmoid(z) or softmax(z) (outputs)
 *   quadratic 0.5 * sum_j (a_j - [j == y])^2,  cross-entropy -sum_j t_j ln softmax(z)_j
 * with targets t_j = (1 - E) [j == y] + E / K (E: net->smooth, label smoothing; 0: none),
 * computed as logsumexp(z) - sum_j t_j z_j, which neither overflows nor takes the log of 0.
 * out (B, classes) receives the outputs when non-NULL. */
static double cost_double(const mlp_net *net, work *w, const float *const *x, const uint8_t *y,
                          size_t B, double *out)
{
    const size_t L = net->n_layers, K = net->sizes[L];
    const bool xent = net->cost == MLP_COST_XENT;
    double total = 0.0;
    for (size_t i = 0; i < B; i++) {
        for (size_t k = 0; k < net->sizes[0]; k++)
            w->cur[k] = (double)x[i][k];
        for (size_t l = 0; l < L; l++) {
            const size_t in = net->sizes[l], n_out = net->sizes[l + 1];
            const double *W = w->p + mlp_net_w_offset(net, l);
            const double *b = w->p + mlp_net_b_offset(net, l);
            const bool last = l + 1 == L;
            for (size_t j = 0; j < n_out; j++) {
                double z = b[j];
                for (size_t k = 0; k < in; k++)
                    z += W[j * in + k] * w->cur[k];
                if (!last)
                    w->nxt[j] = act_double(net->act, z);
                else
                    w->nxt[j] = xent ? z : act_double(MLP_ACT_SIGMOID, z);
            }
            double *t = w->cur;
            w->cur = w->nxt;
            w->nxt = t;
        }
        const double *a = w->cur; /* (K): sigmoid outputs, or logits for softmax */
        if (xent) {
            double mx = a[0], s = 0.0;
            for (size_t j = 1; j < K; j++)
                mx = a[j] > mx ? a[j] : mx;
            double zsum = 0.0, E = net->smooth;
            for (size_t j = 0; j < K; j++) {
                s += exp(a[j] - mx);
                zsum += a[j];
            }
            total += mx + log(s) - (1.0 - E) * a[y[i]] - E / (double)K * zsum;
            if (out)
                for (size_t j = 0; j < K; j++)
                    out[i * K + j] = exp(a[j] - mx) / s;
        } else {
            for (size_t j = 0; j < K; j++) {
                double e = a[j] - (j == y[i] ? 1.0 : 0.0);
                total += 0.5 * e * e;
            }
            if (out)
                memcpy(out + i * K, a, K * sizeof *out);
        }
    }
    return total / (double)B;
}

static void work_free(work *w)
{
    free(w->p);
    free(w->cur);
    free(w->nxt);
    free(w->out);
    free(w->fd);
    free(w->knobs);
}

static mlp_status work_init(work *w, const mlp_net *net, size_t B, mlp_error *err)
{
    size_t widest = 0, n_out;
    memset(w, 0, sizeof *w);
    for (size_t l = 0; l <= net->n_layers; l++)
        widest = net->sizes[l] > widest ? net->sizes[l] : widest;
    w->p = mlp_alloc_array(net->n_params, sizeof *w->p);
    w->cur = mlp_alloc_array(widest, sizeof *w->cur);
    w->nxt = mlp_alloc_array(widest, sizeof *w->nxt);
    w->out = mlp_mul_size(B, net->sizes[net->n_layers], &n_out)
                 ? mlp_alloc_array(n_out, sizeof *w->out)
                 : NULL;
    w->fd = mlp_alloc_array(net->n_params, sizeof *w->fd);
    w->knobs = mlp_alloc_array(net->n_params, sizeof *w->knobs);
    if (!w->p || !w->cur || !w->nxt || !w->out || !w->fd || !w->knobs) {
        work_free(w);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for checking %zu gradients", net->n_params);
    }
    for (size_t i = 0; i < net->n_params; i++)
        w->p[i] = (double)net->params[i];
    return MLP_OK;
}

/* w->knobs[0..n) = which parameters to compare: all in order, or n drawn at random without
 * repetition (a partial Fisher-Yates shuffle from the seed). */
static size_t pick_knobs(work *w, size_t n_params, size_t want, uint64_t seed)
{
    for (size_t i = 0; i < n_params; i++)
        w->knobs[i] = i;
    if (want == 0 || want >= n_params)
        return n_params;
    uint64_t rng = seed;
    for (size_t i = 0; i < want; i++) {
        size_t j = i + (size_t)mlp_rng_below(&rng, n_params - i);
        size_t t = w->knobs[i];
        w->knobs[i] = w->knobs[j];
        w->knobs[j] = t;
    }
    return want;
}

/* One forward and one backward pass of the float network: what training does per batch. */
static void run_backprop(mlp_net *net, mlp_gradcheck_backprop_fn bp, const uint8_t *y, size_t B)
{
    mlp_net_forward(net, B);
    bp(net, y, B);
}

/* The worst absolute and relative errors of backprop's grads against w->fd, over the
 * r->checked knobs; relative errors are measured against at least a floor, a fraction of the
 * largest gradient, so that tiny gradients do not dominate. */
static void compare(mlp_gradcheck_result *r, const work *w, const float *grads)
{
    const double floor = MLP_GRADCHECK_FLOOR * r->largest;
    r->worst_abs = r->worst_rel = -1.0;
    for (size_t c = 0; c < r->checked; c++) {
        size_t i = w->knobs[c];
        double g = (double)grads[i], e = fabs(g - w->fd[c]);
        double scale = fmax(fmax(fabs(g), fabs(w->fd[c])), floor);
        double rel = scale > 0.0 ? e / scale : 0.0;
        /* a NaN gradient must not hide behind a comparison that is false */
        if (isnan(e))
            e = rel = INFINITY;
        if (e > r->worst_abs) {
            r->worst_abs = e;
            r->worst_abs_at = i;
            r->abs_bp = g;
            r->abs_fd = w->fd[c];
        }
        if (rel > r->worst_rel) {
            r->worst_rel = rel;
            r->worst_rel_at = i;
            r->rel_bp = g;
            r->rel_fd = w->fd[c];
        }
    }
}

mlp_status mlp_gradcheck(mlp_net *net, const float *const *x, const uint8_t *y, size_t B,
                         const mlp_gradcheck_opts *opt, mlp_gradcheck_result *r, mlp_error *err)
{
    const size_t K = net->sizes[net->n_layers];
    const double h = opt->h > 0.0 ? opt->h : MLP_GRADCHECK_H_DEFAULT;
    const double tol = opt->tol > 0.0 ? opt->tol : MLP_GRADCHECK_TOL_DEFAULT;
    mlp_gradcheck_backprop_fn bp = opt->backprop ? opt->backprop : mlp_backprop;
    work w;

    memset(r, 0, sizeof *r);
    if (B == 0 || B > net->max_batch)
        return mlp_fail(err, MLP_EARG, "a check of %zu rows; the network holds 1 to %zu", B,
                        net->max_batch);
    for (size_t i = 0; i < B; i++)
        if (y[i] >= K)
            return mlp_fail(err, MLP_EARG, "label %u, but the network has %zu classes",
                            (unsigned)y[i], K);
    mlp_status st = work_init(&w, net, B, err);
    if (st != MLP_OK)
        return st;

    /* backprop, timed over as many runs as fit in min_seconds */
    for (size_t i = 0; i < B; i++)
        mlp_net_set_input(net, i, x[i]);
    double t0 = mlp_now(), t1;
    do {
        run_backprop(net, bp, y, B);
        r->backprop_runs++;
        t1 = mlp_now();
    } while (t1 - t0 < opt->min_seconds);
    r->backprop_seconds = (t1 - t0) / (double)r->backprop_runs;

    /* the two forward passes compute the same function */
    r->cost = cost_double(net, &w, x, y, B, w.out);
    for (size_t i = 0; i < B * K; i++) {
        double d = fabs((double)net->a[net->n_layers][i] - w.out[i]);
        r->forward_diff = d > r->forward_diff ? d : r->forward_diff;
    }

    /* finite differences, 2 forward passes per knob; the errors are measured afterwards,
     * once the largest gradient (and with it the floor) is known */
    r->checked = pick_knobs(&w, net->n_params, opt->knobs, opt->seed);
    r->forward_passes = 2 * r->checked;
    double *fd = w.fd;
    t0 = mlp_now();
    for (size_t c = 0; c < r->checked; c++) {
        double *p = w.p + w.knobs[c], keep = *p;
        *p = keep + h;
        double up = cost_double(net, &w, x, y, B, NULL);
        *p = keep - h;
        double down = cost_double(net, &w, x, y, B, NULL);
        *p = keep;
        fd[c] = (up - down) / (2.0 * h);
        r->largest = fabs(fd[c]) > r->largest ? fabs(fd[c]) : r->largest;
    }
    r->fd_seconds = mlp_now() - t0;

    compare(r, &w, net->grads);
    r->ok = r->worst_rel <= tol;
    work_free(&w);
    return MLP_OK;
}
