/*
 * explain: backprop for one image, in the lessons' words. Computes; prints nothing.
 *
 * A neuron's "wish" is -dC/dz: which way, and how strongly, the cost wants the neuron's
 * weighted input z = b + sum_k w_k a_k to move (positive: up). At the outputs it comes from
 * comparing the activations with the desired output; each output neuron's wish can be granted
 * three ways, because
 *     dz/db = 1       raise (or lower) the bias
 *     dz/dw_k = a_k   raise the weights from the bright (active) inputs; a dark input's
 *                     weight does nothing
 *     dz/da_k = w_k   ask the neuron k below to change its activation, in proportion to w_k
 * A neuron of a hidden layer hears the third request from every neuron above it: what it is
 * asked, -dC/da, is the sum of the wishes above weighted by the connecting weights, and its
 * own wish is that sum times the slope of its activation, act'(z). That is backprop, layer by
 * layer. Every parameter ("knob") then has a wish of its own, -dC/dparam.
 *
 * For the wishes of many images, mlp_explain_average() averages every knob's wish, as a
 * mini-batch step does, and counts how many of one image's knob-wishes keep their sign.
 */
#ifndef MLP_EXPLAIN_H
#define MLP_EXPLAIN_H

#include "idx.h"
#include "net.h"

#define MLP_EXPLAIN_MAX_TOP 32

typedef struct {
    size_t n_layers, sizes[MLP_MAX_LAYERS + 1];
    size_t label, predicted;
    double cost;
    double *a[MLP_MAX_LAYERS + 1];    /* a[l] (sizes[l]): activations; a[0] is the image */
    double *wish[MLP_MAX_LAYERS + 1]; /* wish[l] (sizes[l]), l >= 1: -dC/dz */
    double *ask[MLP_MAX_LAYERS + 1];  /* ask[l] (sizes[l]), 1 <= l < n_layers: -dC/da, the
                                         wishes of layer l + 1 summed through the weights */
    double *w_out;                    /* (classes, sizes[n_layers - 1]): the output weights */
    double *grad;                     /* (n_params), net's layout: -dC/dparam */
    double *buf;                      /* owns all of the above */
} mlp_explain;

/* A knob or a neuron below, ranked for one output neuron's wish. */
typedef struct {
    size_t neuron; /* k, in layer n_layers - 1 */
    double a;      /* its activation */
    double w;      /* the weight from it */
    double wish;   /* weights: -dC/dw = wish * a; neurons: the change of a asked = wish * w */
} mlp_explain_item;

/* The three ways to grant output neuron j's wish. */
typedef struct {
    size_t neuron;                                 /* j */
    double wish;                                   /* -dC/dz_j */
    double bias;                                   /* b_j now; its wish -dC/db_j equals wish */
    size_t n_top;                                  /* entries in the two lists */
    mlp_explain_item weights[MLP_EXPLAIN_MAX_TOP]; /* by |a| (the brightest inputs) first */
    mlp_explain_item below[MLP_EXPLAIN_MAX_TOP];   /* by |w| (the most sway) first */
} mlp_explain_ways;

typedef struct {
    size_t n;             /* images averaged */
    double cost;          /* their mean cost */
    double *out_wish;     /* (classes): mean wish of each output neuron */
    double *grad;         /* (n_params): mean knob-wish, the mini-batch step's direction */
    size_t moved;         /* knobs the single image wants to move (wish != 0) */
    size_t kept;          /* of those, how many have the same sign in the average */
    size_t top, top_kept; /* of the single image's `top` strongest knob-wishes, how many kept */
    double cosine;        /* cosine between the single image's and the average knob-wishes */
} mlp_explain_avg;

/* Runs the forward and backward pass of net on the image x (sizes[0] values) with the desired
 * class label, and fills e (which must be zeroed or freed). */
mlp_status mlp_explain_image(mlp_explain *e, mlp_net *net, const float *x, size_t label,
                             mlp_error *err);
void mlp_explain_free(mlp_explain *e);

/* The slope a'(z) of a hidden activation, written with its output a: sigmoid a(1 - a),
 * tanh 1 - a^2, relu 1 for a > 0 and 0 otherwise. */
double mlp_explain_slope(mlp_act act, double a);

/* The output neuron with the largest |wish|. */
size_t mlp_explain_strongest(const mlp_explain *e);

/* idx[0..k) = indices of the k entries of v[0..n) largest in |value|, largest first (ties:
 * the lower index first); k <= n. */
void mlp_explain_top(size_t *idx, const double *v, size_t n, size_t k);

/* The three ways for output neuron j, with the top (<= MLP_EXPLAIN_MAX_TOP) knobs of each. */
void mlp_explain_grant(mlp_explain_ways *w, const mlp_explain *e, const mlp_net *net, size_t j,
                       size_t top);

/* How many of the neurons of layer l + 1 ask neuron k of layer l (1 <= l < n_layers) to go up
 * (wish * w > 0) and how many to go down. */
void mlp_explain_votes(const mlp_explain *e, const mlp_net *net, size_t l, size_t k, size_t *up,
                       size_t *down);

/* Averages the wishes of the n test images first, first + 1, ... (wrapping around the end of
 * set) and compares them with one's (the wishes of image `first`, from mlp_explain_image).
 * net must hold batches of at least 1 row; bigger batches go faster. */
mlp_status mlp_explain_average(mlp_explain_avg *avg, mlp_net *net, const mlp_set *set, size_t first,
                               size_t n, const mlp_explain *one, size_t top, mlp_error *err);
void mlp_explain_avg_free(mlp_explain_avg *avg);

#endif
