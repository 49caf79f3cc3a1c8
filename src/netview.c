/*
 * netview: the picture's numbers for one image (netview.h). The forward and backward passes
 * are explain.c's; the rankings are mlp_explain_top's.
 */
#include "netview.h"

#include "explain.h"
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The neurons of one layer that the picture shows: all, or the most active. */
typedef struct {
    size_t n;                        /* shown */
    size_t idx[MLP_NETVIEW_SHOWN];   /* their indices, in increasing order */
} shown_set;

static int by_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The shown neurons of a layer of n activations a (the outputs: all of them, up to n). */
static void choose(shown_set *s, const float *a, size_t n, double *scratch)
{
    s->n = n < MLP_NETVIEW_SHOWN ? n : MLP_NETVIEW_SHOWN;
    if (s->n == n) {
        for (size_t k = 0; k < n; k++)
            s->idx[k] = k;
        return;
    }
    for (size_t k = 0; k < n; k++)
        scratch[k] = (double)a[k];
    mlp_explain_top(s->idx, scratch, n, s->n);
    qsort(s->idx, s->n, sizeof s->idx[0], by_index);
}

static void floats(mlp_json *j, const char *key, const float *v, size_t n)
{
    mlp_json_array(j, key);
    for (size_t i = 0; i < n; i++)
        mlp_json_float(j, NULL, v[i]);
    mlp_json_end(j);
}

/* The strongest weights of layer l between what is shown of layers l and l + 1: a (sizes[l]),
 * for l = 0 the pixels, of which only the lit ones count. cand is scratch of at least
 * sizes[l] * MLP_NETVIEW_SHOWN doubles. */
static void edges(mlp_json *j, const mlp_net *net, size_t l, const shown_set *from,
                  const shown_set *to, const float *x, double *cand)
{
    const size_t in = net->sizes[l];
    const size_t nf = l == 0 ? in : from->n; /* candidates: (to->n, nf) */
    size_t order[MLP_NETVIEW_EDGES], n = 0;
    for (size_t t = 0; t < to->n; t++)
        for (size_t f = 0; f < nf; f++) {
            size_t k = l == 0 ? f : from->idx[f];
            bool lit = l > 0 || x[k] > 0.0f;
            cand[t * nf + f] = lit ? (double)net->W[l][to->idx[t] * in + k] : 0.0;
            n += lit;
        }
    n = n < MLP_NETVIEW_EDGES ? n : MLP_NETVIEW_EDGES;
    mlp_explain_top(order, cand, to->n * nf, n);
    mlp_json_array(j, NULL);
    for (size_t e = 0; e < n; e++) {
        mlp_json_array(j, NULL);
        mlp_json_uint(j, NULL, order[e] % nf);
        mlp_json_uint(j, NULL, order[e] / nf);
        mlp_json_number(j, NULL, cand[order[e]]);
        mlp_json_end(j);
    }
    mlp_json_end(j);
}

static void items(mlp_json *j, const char *key, const mlp_explain_item *it, size_t n)
{
    mlp_json_array(j, key);
    for (size_t t = 0; t < n; t++) {
        mlp_json_object(j, NULL);
        mlp_json_uint(j, "neuron", it[t].neuron);
        mlp_json_number(j, "a", it[t].a);
        mlp_json_number(j, "w", it[t].w);
        mlp_json_number(j, "wish", it[t].wish);
        mlp_json_end(j);
    }
    mlp_json_end(j);
}

static void wishes(mlp_json *j, const mlp_explain *e, const mlp_net *net, const shown_set *shown)
{
    const size_t L = e->n_layers, K = e->sizes[L];
    mlp_json_object(j, "explain");
    mlp_json_uint(j, "label", e->label);
    mlp_json_uint(j, "predicted", e->predicted);
    mlp_json_number(j, "cost", e->cost);
    mlp_json_array(j, "wish");
    for (size_t k = 0; k < K; k++)
        mlp_json_number(j, NULL, e->wish[L][k]);
    mlp_json_end(j);
    mlp_json_array(j, "hidden");
    for (size_t l = 1; l < L; l++) {
        const shown_set *s = &shown[l];
        mlp_json_object(j, NULL);
        static const char *const keys[4] = {"asked", "wish", "up", "down"};
        for (int q = 0; q < 4; q++) {
            mlp_json_array(j, keys[q]);
            for (size_t t = 0; t < s->n; t++) {
                size_t k = s->idx[t], up, down;
                mlp_explain_votes(e, net, l, k, &up, &down);
                if (q < 2)
                    mlp_json_number(j, NULL, q == 0 ? e->ask[l][k] : e->wish[l][k]);
                else
                    mlp_json_uint(j, NULL, q == 2 ? up : down);
            }
            mlp_json_end(j);
        }
        mlp_json_end(j);
    }
    mlp_json_end(j);
    mlp_explain_ways w;
    mlp_explain_grant(&w, e, net, mlp_explain_strongest(e), MLP_NETVIEW_TOP);
    mlp_json_object(j, "strongest");
    mlp_json_uint(j, "neuron", w.neuron);
    mlp_json_number(j, "wish", w.wish);
    mlp_json_number(j, "bias", w.bias);
    items(j, "weights", w.weights, w.n_top);
    items(j, "below", L > 1 ? w.below : NULL, L > 1 ? w.n_top : 0);
    mlp_json_end(j);
    mlp_json_end(j);
}

mlp_status mlp_netview_json(FILE *f, mlp_net *net, const float *x, long label, long true_label,
                            mlp_error *err)
{
    const size_t L = net->n_layers, K = net->sizes[L];
    mlp_explain e = {0};
    if (label >= 0 && mlp_explain_image(&e, net, x, (size_t)label, err) != MLP_OK)
        return MLP_EARG;
    if (label < 0) {
        mlp_net_set_input(net, 0, x);
        mlp_net_forward(net, 1);
    }
    size_t widest = net->sizes[0];
    for (size_t l = 1; l <= L; l++)
        widest = net->sizes[l] > widest ? net->sizes[l] : widest;
    double *scratch = mlp_alloc_array(widest, MLP_NETVIEW_SHOWN * sizeof *scratch);
    if (!scratch) {
        mlp_explain_free(&e);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for the picture of the network");
    }
    shown_set shown[MLP_MAX_LAYERS + 1];
    for (size_t l = 1; l <= L; l++)
        choose(&shown[l], net->a[l], net->sizes[l], scratch);

    mlp_json j;
    mlp_json_start(&j, f);
    mlp_json_object(&j, NULL);
    if (true_label >= 0)
        mlp_json_uint(&j, "true_label", (uint64_t)true_label);
    floats(&j, "input", x, net->sizes[0]);
    mlp_json_uint(&j, "class", mlp_net_predict_row(net, 0));
    floats(&j, "scores", net->a[L], K);
    mlp_json_array(&j, "layers");
    for (size_t l = 1; l <= L; l++) {
        mlp_json_object(&j, NULL);
        mlp_json_uint(&j, "size", net->sizes[l]);
        mlp_json_array(&j, "shown");
        for (size_t t = 0; t < shown[l].n; t++)
            mlp_json_uint(&j, NULL, shown[l].idx[t]);
        mlp_json_end(&j);
        mlp_json_array(&j, "a");
        for (size_t t = 0; t < shown[l].n; t++)
            mlp_json_float(&j, NULL, net->a[l][shown[l].idx[t]]);
        mlp_json_end(&j);
        mlp_json_end(&j);
    }
    mlp_json_end(&j);
    mlp_json_array(&j, "edges");
    for (size_t l = 0; l < L; l++)
        edges(&j, net, l, &shown[l], &shown[l + 1], x, scratch);
    mlp_json_end(&j);
    if (label >= 0)
        wishes(&j, &e, net, shown);
    else
        mlp_json_null(&j, "explain");
    mlp_json_end(&j);
    free(scratch);
    mlp_explain_free(&e);
    return mlp_json_finish(&j, "the picture of the network", err);
}
