/*
 * eval: runs a network over a labelled set in batches and measures it: accuracy, mean cost,
 * the confusion matrix and per-class precision and recall.
 */
#ifndef MLP_EVAL_H
#define MLP_EVAL_H

#include "idx.h"
#include "net.h"

/* Most rows one forward pass of an evaluation takes (labels are gathered on the stack). */
#define MLP_EVAL_MAX_STEP 4096

typedef struct {
    size_t n;          /* rows evaluated */
    size_t correct;    /* rows whose largest output is their label */
    double cost;       /* mean cost per row */
    size_t classes;    /* the network's outputs */
    size_t *confusion; /* (classes, classes): [true label][predicted class] counts */
} mlp_eval_result;

/* Evaluates net on every row of s. Fails if a label is not below the network's class count
 * or the images do not have the network's input size. */
mlp_status mlp_eval(mlp_net *net, const mlp_set *s, mlp_eval_result *r, mlp_error *err);

/* The same for rows[0..n) of s only (rows NULL: the first n). */
mlp_status mlp_eval_rows(mlp_net *net, const mlp_set *s, const size_t *rows, size_t n,
                         mlp_eval_result *r, mlp_error *err);

/* Fraction of correct rows, 0 when empty. */
double mlp_eval_accuracy(const mlp_eval_result *r);
/* Of the rows predicted as class c, the fraction that are c (NaN if none were predicted). */
double mlp_eval_precision(const mlp_eval_result *r, size_t c);
/* Of the rows labelled c, the fraction predicted as c (NaN if there are none). */
double mlp_eval_recall(const mlp_eval_result *r, size_t c);

/* Everything a report says about one class. */
typedef struct {
    size_t images;    /* rows labelled c (the class's support) */
    size_t predicted; /* rows predicted as c */
    size_t correct;   /* rows labelled c and predicted as c */
    double precision; /* correct / predicted, NaN when nothing was predicted as c */
    double recall;    /* correct / images, NaN when no row is labelled c */
    double f1;        /* harmonic mean of the two; NaN if either is, 0 if both are 0 */
} mlp_eval_class;

mlp_eval_class mlp_eval_class_stats(const mlp_eval_result *r, size_t c);

/* One off-diagonal cell of the confusion matrix. */
typedef struct {
    size_t truth, predicted, count;
} mlp_eval_confusion;

/* The (at most k) largest non-zero off-diagonal counts into out, largest first, ties by
 * true class then predicted class; returns how many. The mistakes a model makes most. */
size_t mlp_eval_top_confusions(const mlp_eval_result *r, mlp_eval_confusion *out, size_t k);

void mlp_eval_free(mlp_eval_result *r);

#endif
