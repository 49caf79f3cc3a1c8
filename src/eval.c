/*
 * eval: batched forward passes over a whole set, and the counts made from them.
 */
#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mlp_status mlp_eval_rows(mlp_net *net, const mlp_set *s, const size_t *rows, size_t n,
                         mlp_eval_result *r, mlp_error *err)
{
    const size_t K = net->sizes[net->n_layers];
    const size_t step = net->max_batch < MLP_EVAL_MAX_STEP ? net->max_batch : MLP_EVAL_MAX_STEP;
    size_t K2;
    uint8_t y[MLP_EVAL_MAX_STEP];

    memset(r, 0, sizeof *r);
    if (s->dim != net->sizes[0])
        return mlp_fail(err, MLP_EARG, "images have %zu pixels, the network takes %zu inputs",
                        s->dim, net->sizes[0]);
    for (size_t i = 0; i < n; i++) {
        size_t row = rows ? rows[i] : i;
        if (s->y[row] >= K)
            return mlp_fail(err, MLP_EARG, "label %u at index %zu, but the network has %zu classes",
                            (unsigned)s->y[row], row, K);
    }

    r->classes = K;
    if (!mlp_mul_size(K, K, &K2) || !(r->confusion = mlp_alloc_array(K2, sizeof *r->confusion)))
        return mlp_fail(err, MLP_ENOMEM, "out of memory for a %zu-class confusion matrix", K);
    memset(r->confusion, 0, K2 * sizeof *r->confusion);

    double cost = 0.0;
    for (size_t start = 0; start < n; start += step) {
        size_t B = n - start < step ? n - start : step;
        for (size_t i = 0; i < B; i++) {
            size_t row = rows ? rows[start + i] : start + i;
            mlp_net_set_input(net, i, s->x + row * s->dim);
            y[i] = s->y[row];
        }
        mlp_net_forward(net, B);
        cost += mlp_net_cost(net, y, B);
        for (size_t i = 0; i < B; i++) {
            size_t p = mlp_net_predict_row(net, i);
            r->confusion[y[i] * K + p]++;
            r->correct += p == y[i];
        }
    }
    r->n = n;
    r->cost = n ? cost / (double)n : 0.0;
    return MLP_OK;
}

mlp_status mlp_eval(mlp_net *net, const mlp_set *s, mlp_eval_result *r, mlp_error *err)
{
    return mlp_eval_rows(net, s, NULL, s->n, r, err);
}

double mlp_eval_accuracy(const mlp_eval_result *r)
{
    return r->n ? (double)r->correct / (double)r->n : 0.0;
}

mlp_eval_class mlp_eval_class_stats(const mlp_eval_result *r, size_t c)
{
    const size_t K = r->classes;
    mlp_eval_class k = {.correct = r->confusion[c * K + c]};
    for (size_t i = 0; i < K; i++) {
        k.images += r->confusion[c * K + i];
        k.predicted += r->confusion[i * K + c];
    }
    k.precision = k.predicted ? (double)k.correct / (double)k.predicted : NAN;
    k.recall = k.images ? (double)k.correct / (double)k.images : NAN;
    if (isnan(k.precision) || isnan(k.recall))
        k.f1 = NAN;
    else
        k.f1 = k.correct ? 2.0 * k.precision * k.recall / (k.precision + k.recall) : 0.0;
    return k;
}

double mlp_eval_precision(const mlp_eval_result *r, size_t c)
{
    return mlp_eval_class_stats(r, c).precision;
}

double mlp_eval_recall(const mlp_eval_result *r, size_t c)
{
    return mlp_eval_class_stats(r, c).recall;
}

/* a before b in the order of mlp_eval_top_confusions() */
static bool before(const mlp_eval_confusion *a, const mlp_eval_confusion *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    return a->truth != b->truth ? a->truth < b->truth : a->predicted < b->predicted;
}

size_t mlp_eval_top_confusions(const mlp_eval_result *r, mlp_eval_confusion *out, size_t k)
{
    /* insertion into a sorted list of k: K^2 cells, k small */
    size_t n = 0;
    if (k == 0)
        return 0;
    for (size_t t = 0; t < r->classes; t++) {
        for (size_t p = 0; p < r->classes; p++) {
            mlp_eval_confusion c = {t, p, r->confusion[t * r->classes + p]};
            if (t == p || c.count == 0 || (n == k && !before(&c, &out[k - 1])))
                continue;
            size_t i = n < k ? n++ : k - 1;
            for (; i > 0 && before(&c, &out[i - 1]); i--)
                out[i] = out[i - 1];
            out[i] = c;
        }
    }
    return n;
}

void mlp_eval_free(mlp_eval_result *r)
{
    free(r->confusion);
    memset(r, 0, sizeof *r);
}
