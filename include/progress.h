/*
 * progress: the progress bar of an epoch on a terminal, for `mlp train`.
 *
 *   epoch 3/40 [=====>        ] 24,000/60,000 512,340 img/s 0:07 left, 4:12 in all
 *
 * drawn on one line of its stream (stderr) and redrawn in place with a carriage return, at
 * most every MLP_PROGRESS_INTERVAL seconds, since training calls it after every mini-batch
 * (6,000 times an epoch with batches of 10) and a terminal cannot show more. Before the
 * epoch's line is printed on stdout the bar is blanked, so what a terminal shows at the end
 * is the epoch lines alone, and stdout never holds a byte of the bar. "in all" adds the
 * remaining epochs at the mean wall-clock time of the finished ones (evaluation included),
 * or at this epoch's speed while none has finished.
 *
 * With a NULL stream every call does nothing: the caller decides whether a bar is wanted
 * (a terminal, and no --quiet).
 */
#ifndef MLP_PROGRESS_H
#define MLP_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#define MLP_PROGRESS_INTERVAL 0.1 /* seconds between redraws */
#define MLP_PROGRESS_WIDTH    79  /* characters a bar line takes at most */

typedef struct {
    FILE *f;              /* NULL: no bar */
    size_t epoch, epochs; /* the epoch under way (1-based) and how many are planned */
    double t_start;       /* when the first epoch started */
    double t_epoch;       /* when the epoch under way started */
    double t_drawn;       /* when the bar was last drawn (or the epoch started) */
    size_t finished;      /* epochs finished since t_start */
    size_t shown;         /* characters on the line now, to be blanked */
} mlp_progress;

void mlp_progress_init(mlp_progress *p, FILE *f, size_t epochs);

/* Epoch `epoch` (1-based) starts at time now (seconds, mlp_now()). */
void mlp_progress_epoch(mlp_progress *p, size_t epoch, double now);

/* done of total rows of the epoch are trained at time now: redraws the bar if the last
 * drawing is MLP_PROGRESS_INTERVAL old. */
void mlp_progress_update(mlp_progress *p, size_t done, size_t total, double now);

/* For mlp_sgd_hooks.progress, with ctx an mlp_progress: mlp_progress_update at mlp_now(). */
void mlp_progress_hook(void *ctx, size_t done, size_t total);

/* Blanks the bar, if one is shown. */
void mlp_progress_clear(mlp_progress *p);

/* The bar's text for done of total rows at time now, without the carriage return; at most
 * MLP_PROGRESS_WIDTH characters (and cap - 1 bytes). */
void mlp_progress_format(char *buf, size_t cap, const mlp_progress *p, size_t done, size_t total,
                         double now);

#endif
