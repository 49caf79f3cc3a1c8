/*
 * lrfind: the learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training
 * Neural Networks", section 3.3; the smoothing and the stop as in fastai's lr_find). One pass
 * over the training set, the optimiser's own step, with the rate raised geometrically batch by
 * batch from `from` to `to`:
 *
 *     lr_k = from * (to / from)^(k / (K - 1))      for batch k of the K of the pass
 *
 * Each batch's mean cost (measured before its step) is smoothed by an exponential average
 * with bias correction, s_k = a_k / (1 - beta^(k+1)), a_k = beta a_{k-1} + (1 - beta) c_k,
 * beta = MLP_LRFIND_BETA. The test stops early when the smoothed cost passes
 * MLP_LRFIND_DIVERGE times its lowest, or a cost is not finite. The suggested rate is where the
 * smoothed cost falls fastest against log lr: the batch k of the most negative difference
 * (s_{k+w} - s_{k-w}) / (ln lr_{k+w} - ln lr_{k-w}) up to the lowest point, over w = 1% of
 * the pass's batches (at least 1) either side, and from batch 1 / (1 - beta) on: closer
 * differences, or ones among the first batches, whose average still rests on few costs,
 * measure the noise of single batches rather than the trend.
 *
 * Library code: it trains the network it is given (which is then spoilt for anything else),
 * prints nothing and writes no file.
 */
#ifndef MLP_LRFIND_H
#define MLP_LRFIND_H

#include "idx.h"
#include "net.h"
#include "sgd.h"

#include <stdbool.h>
#include <stdio.h>

#define MLP_LRFIND_FROM    1e-6 /* default first rate */
#define MLP_LRFIND_TO      10.0 /* default last rate */
#define MLP_LRFIND_BETA    0.98 /* smoothing of the cost */
#define MLP_LRFIND_DIVERGE 4.0  /* stop once the smoothed cost is this many times its lowest */

typedef struct {
    double lr, cost, smooth; /* the batch's rate, mean cost and smoothed cost */
} mlp_lrfind_row;

typedef struct {
    size_t n;             /* batches run */
    size_t planned;       /* batches of the whole pass */
    mlp_lrfind_row *rows; /* (n) */
    bool diverged;        /* stopped early: the smoothed cost ran away, or was not finite */
    bool interrupted;     /* stopped early: *interrupt was raised */
    size_t best;          /* the row of the lowest smoothed cost */
    size_t suggested;     /* the row of the steepest descent; SIZE_MAX if too few rows */
} mlp_lrfind_result;

/* Runs the test on net with s (prepared by mlp_sgd_init with train's size and the options
 * whose optimiser and batch the test uses; its hooks are replaced) over train, from `from` to
 * `to` (0 < from < to). The test also stops after the batch under way when *interrupt (NULL:
 * never) is raised. MLP_ENOMEM, MLP_EARG (a bad range). A cost that is not finite ends the
 * test (diverged), it is not an error. Free r with mlp_lrfind_free. */
mlp_status mlp_lrfind_run(mlp_lrfind_result *r, mlp_net *net, mlp_sgd *s, const mlp_set *train,
                          double from, double to, const volatile sig_atomic_t *interrupt,
                          mlp_error *err);
void mlp_lrfind_free(mlp_lrfind_result *r);

/* The rows as a tab-separated table, a header line then one line per batch:
 * batch, lr, cost, smoothed. False on a write error. */
bool mlp_lrfind_write_tsv(FILE *f, const mlp_lrfind_result *r);

#endif
