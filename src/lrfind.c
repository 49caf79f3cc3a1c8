/*
 * lrfind: the learning-rate range test of lrfind.h, driven through sgd.c's hooks: the rate
 * hook gives each batch its rate, the progress hook reads the batch's cost from the epoch's
 * running sum and raises the stop once the smoothed cost runs away.
 */
#include "lrfind.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mlp_lrfind_result *r;
    const mlp_sgd *s;
    double from, ratio; /* lr_k = from * ratio^(k / (K - 1)) */
    double avg, lowest; /* the exponential average, the lowest smoothed cost */
    double cost_before; /* the epoch's cost sum before the batch under way */
    size_t done_before; /* rows done before it */
    const volatile sig_atomic_t *interrupt;
    volatile sig_atomic_t stop;
} job;

static double rate_of(const job *j, size_t k)
{
    size_t K = j->r->planned;
    return K > 1 ? j->from * pow(j->ratio, (double)k / (double)(K - 1)) : j->from;
}

static float rate_hook(void *ctx, size_t k)
{
    return (float)rate_of(ctx, k);
}

static void progress_hook(void *ctx, size_t done, size_t total)
{
    job *j = ctx;
    mlp_lrfind_result *r = j->r;
    (void)total;
    if (r->n >= r->planned)
        return;
    double c = (j->s->state.cost - j->cost_before) / (double)(done - j->done_before);
    j->cost_before = j->s->state.cost;
    j->done_before = done;
    j->avg = MLP_LRFIND_BETA * j->avg + (1.0 - MLP_LRFIND_BETA) * c;
    double smooth = j->avg / (1.0 - pow(MLP_LRFIND_BETA, (double)(r->n + 1)));
    r->rows[r->n] = (mlp_lrfind_row){(float)rate_of(j, r->n), c, smooth};
    if (r->n == 0 || smooth < j->lowest) {
        j->lowest = smooth;
        r->best = r->n;
    }
    r->n++;
    if (!(smooth <= MLP_LRFIND_DIVERGE * j->lowest)) { /* a NaN too */
        r->diverged = true;
        j->stop = 1;
    }
    if (j->interrupt && *j->interrupt) {
        r->interrupted = true;
        j->stop = 1;
    }
}

/* The row of the steepest fall of the smoothed cost against ln lr, up to the lowest point
 * (lrfind.h says over how many batches). */
static size_t steepest(const mlp_lrfind_result *r)
{
    const size_t w = r->planned / 100 > 1 ? r->planned / 100 : 1;
    const size_t first = (size_t)(1.0 / (1.0 - MLP_LRFIND_BETA) + 0.5);
    size_t at = SIZE_MAX;
    double most = 0.0;
    for (size_t k = first > w ? first : w; k + w < r->n && k <= r->best; k++) {
        const mlp_lrfind_row *a = &r->rows[k - w], *b = &r->rows[k + w];
        double slope = (b->smooth - a->smooth) / (log(b->lr) - log(a->lr));
        if (slope < most) {
            most = slope;
            at = k;
        }
    }
    return at;
}

mlp_status mlp_lrfind_run(mlp_lrfind_result *r, mlp_net *net, mlp_sgd *s, const mlp_set *train,
                          double from, double to, const volatile sig_atomic_t *interrupt,
                          mlp_error *err)
{
    memset(r, 0, sizeof *r);
    r->suggested = SIZE_MAX;
    if (!(from > 0.0 && from < to && isfinite(to)))
        return mlp_fail(err, MLP_EARG, "the range of rates must be 0 < from < to");
    r->planned = (s->n + s->opt.batch - 1) / s->opt.batch;
    if (!(r->rows = mlp_alloc_array(r->planned ? r->planned : 1, sizeof *r->rows)))
        return mlp_fail(err, MLP_ENOMEM, "out of memory for %zu batches", r->planned);
    job j = {.r = r, .s = s, .from = from, .ratio = to / from, .interrupt = interrupt};
    s->hooks = (mlp_sgd_hooks){progress_hook, &j, &j.stop, rate_hook};
    mlp_epoch_stats stats;
    mlp_error ignored;
    mlp_status st = mlp_sgd_epoch(s, net, train, &stats, &ignored);
    s->hooks = (mlp_sgd_hooks){NULL, NULL, NULL, NULL};
    if (st == MLP_ENUMERIC) /* a cost that is not finite: where the test ends */
        r->diverged = true;
    else if (st != MLP_OK && st != MLP_ESTOP)
        return mlp_fail(err, st, "%s", ignored.msg);
    r->suggested = steepest(r);
    return MLP_OK;
}

void mlp_lrfind_free(mlp_lrfind_result *r)
{
    free(r->rows);
    memset(r, 0, sizeof *r);
}

bool mlp_lrfind_write_tsv(FILE *f, const mlp_lrfind_result *r)
{
    bool ok = fprintf(f, "batch\tlr\tcost\tsmoothed\n") > 0;
    for (size_t k = 0; k < r->n && ok; k++)
        ok = fprintf(f, "%zu\t%.6g\t%.6f\t%.6f\n", k + 1, r->rows[k].lr, r->rows[k].cost,
                     r->rows[k].smooth) > 0;
    return ok;
}
