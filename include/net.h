/*
 * net: the network's layout, its parameters, the forward pass and the cost.
 *
 * A network of n_layers weight layers maps sizes[0] inputs to sizes[n_layers] class scores.
 * Every weight and bias lives in ONE flat float array, params, laid out layer after layer:
 *
 *     params = W0 b0 W1 b1 ... ;   W_l is (sizes[l+1], sizes[l]) row-major, b_l is (sizes[l+1])
 *
 * so row j of W_l holds the weights of neuron j of layer l+1, one per input. grads has the
 * same layout, so the gradient-descent step is one loop over n_params and the model file holds
 * one array. W[], b[], dW[], db[] are views into those two arrays and are never freed.
 *
 * The forward pass runs a whole mini-batch of B <= max_batch rows at once and caches every
 * layer's activations in acts, which is what backprop reads:
 *
 *     a[0] (B, sizes[0])        room for an input batch held by the network itself
 *     a[l] (B, sizes[l])        = act(a[l-1] . W[l-1]^T + b[l-1]),  l = 1 .. n_layers
 *
 * The products read each layer's input through row pointers, rows[l][i] = row i of a[l].
 * rows[0] starts out pointing into a[0]; mlp_net_set_input() points a row at an input that
 * lies elsewhere (training and evaluation point it at the data set's images, so a batch is
 * never copied). Nothing else writes rows[0].
 *
 * The backward pass leaves dC/dz, each neuron's "wish", in wishes, laid out like acts without
 * the input layer: wish[l] (B, sizes[l]), l = 1 .. n_layers.
 *
 * The kernels and the thread pool that run the products are given to mlp_net_init(), so that
 * whatever sizes per-thread buffers from net->pool (mlp_sgd_init) finds them in place.
 *
 * Hidden layers use net->act. The output layer is fixed by the cost: sigmoid outputs for the
 * quadratic cost (the lessons' "compare the output to the desired answer"), softmax outputs
 * for cross-entropy.
 */
#ifndef MLP_NET_H
#define MLP_NET_H

#include "kernels.h"
#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define MLP_MAX_LAYERS 8          /* weight layers, so at most 7 hidden layers */
#define MLP_MAX_WIDTH  (1u << 30) /* neurons (or inputs) in one layer; memory decides first */
#define MLP_MAX_BATCH  (1u << 16)

typedef enum { MLP_ACT_SIGMOID = 0, MLP_ACT_TANH = 1, MLP_ACT_RELU = 2 } mlp_act;
typedef enum { MLP_COST_QUADRATIC = 0, MLP_COST_XENT = 1 } mlp_cost;

/* Dropout, for training (sgd.c sets keep and seed around its own passes): the inputs of weight
 * layer l are each kept with probability keep[l] and scaled by 1/keep[l], the rest set to 0
 * ("inverted" dropout, Srivastava et al. 2014). keep[l] = 1: none. */
typedef struct {
    float keep[MLP_MAX_LAYERS];
    uint64_t seed;                      /* the next forward pass draws its masks from it */
    float *masks;                       /* (max_batch, sum(sizes[0..L-1])): 0 or 1/keep */
    float *mask[MLP_MAX_LAYERS];        /* views into masks: mask[l] is (max_batch, sizes[l]) */
    float *dropped;                     /* same shape as masks: the inputs after dropout */
    const float **rows[MLP_MAX_LAYERS]; /* rows[l] (max_batch): each row of dropped's layer l */
} mlp_dropout;

typedef struct mlp_net {
    size_t n_layers;                  /* weight layers; sizes[] has n_layers + 1 entries */
    size_t sizes[MLP_MAX_LAYERS + 1]; /* e.g. {784, 16, 16, 10} */
    mlp_act act;                      /* hidden activation */
    mlp_cost cost;                    /* cost, and with it the output activation */
    size_t max_batch;                 /* rows the caches hold */
    size_t n_params;                  /* weights and biases, all layers */
    float *params;                    /* (n_params): W0 b0 W1 b1 ... */
    float *grads;                     /* (n_params): same layout as params */
    float *acts;                      /* forward cache, (max_batch, sum(sizes)) in layer order */
    float *wishes; /* backward cache, (max_batch, sum(sizes[1..L])): dC/dz per neuron */
    float *W[MLP_MAX_LAYERS], *b[MLP_MAX_LAYERS];   /* views into params */
    float *dW[MLP_MAX_LAYERS], *db[MLP_MAX_LAYERS]; /* views into grads */
    float *a[MLP_MAX_LAYERS + 1];          /* views into acts: a[l] is (max_batch, sizes[l]) */
    float *wish[MLP_MAX_LAYERS + 1];       /* views into wishes: wish[l] is (max_batch, sizes[l]),
                                            * l >= 1; wish[0] is NULL (no pixel is asked) */
    const float **rows[MLP_MAX_LAYERS];    /* rows[l] (max_batch): each row of a[l], see above */
    const float **row_ptrs;                /* (2 * n_layers * max_batch): what rows[], drop.rows[]
                                            * point into */
    const float *const *x[MLP_MAX_LAYERS]; /* the rows layer l's product read in the last
                                            * forward pass: rows[l] or drop.rows[l] */
    mlp_dropout drop;                      /* off (keep 1) unless training sets it */
    const mlp_kernels *kern;               /* the matrix products, given to mlp_net_init */
    mlp_pool *pool;                        /* threads they may use; NULL: the caller's alone */
    /* Label smoothing E of the cross-entropy: the targets are (1 - E) on the label plus E / K
     * on each of the K classes; 0 (none) unless training sets it. mlp_net_cost and backprop
     * use the same targets. */
    float smooth;
} mlp_net;

/* Number of parameters of a layout; false (and *n untouched) if it overflows or is invalid. */
bool mlp_net_count_params(const size_t *sizes, size_t n_sizes, size_t *n);

/* Bytes mlp_net_init() allocates for this layout and batch (parameters, gradients, caches);
 * false if the figure overflows. */
bool mlp_net_bytes(const size_t *sizes, size_t n_sizes, size_t max_batch, size_t *bytes);

/* Allocates a network with the given layer sizes (n_sizes >= 2) for batches of up to max_batch
 * rows, whose products run on kern (NULL: mlp_kernels_get("auto")) over pool's threads (NULL:
 * the caller's thread alone). Parameters start at zero; call mlp_net_init_params() or load
 * them. */
mlp_status mlp_net_init(mlp_net *net, const size_t *sizes, size_t n_sizes, mlp_act act,
                        mlp_cost cost, size_t max_batch, const mlp_kernels *kern, mlp_pool *pool,
                        mlp_error *err);

/* Gives a network built elsewhere (mlp_model_load() builds with the defaults) other kernels
 * and threads, with the NULLs of mlp_net_init(). Whatever sized buffers from the old pool must
 * be set up after this: call it before mlp_sgd_init(). */
void mlp_net_attach(mlp_net *net, const mlp_kernels *kern, mlp_pool *pool);

/* Views of layer l (< n_layers) into any buffer laid out like params (grads, velocities, a
 * copy in double): W_l starts at element mlp_net_w_offset(), b_l at mlp_net_b_offset(). */
size_t mlp_net_w_offset(const mlp_net *net, size_t l);
size_t mlp_net_b_offset(const mlp_net *net, size_t l);
float *mlp_net_layer_w(const mlp_net *net, float *buf, size_t l); /* (sizes[l+1], sizes[l]) */
float *mlp_net_layer_b(const mlp_net *net, float *buf, size_t l); /* (sizes[l+1]) */

/* Row i (< max_batch) of the next forward pass's input is the sizes[0] floats at x, read where
 * they lie, not copied: they must stay put until that pass's backprop is done. */
void mlp_net_set_input(mlp_net *net, size_t i, const float *x);

/* Random weights from the seed, scaled so activations neither vanish nor saturate at the start:
 * Glorot/Xavier uniform, U(-r, r) with r = sqrt(6 / (fan_in + fan_out)), for sigmoid, tanh and
 * the output layer (Glorot & Bengio 2010); He normal, N(0, 2 / fan_in), for ReLU layers
 * (He et al. 2015). Biases start at zero. */
void mlp_net_init_params(mlp_net *net, uint64_t seed);

/* The kernel activation of layer l's outputs (l = 0 .. n_layers-1): the hidden activation,
 * sigmoid for the quadratic cost's outputs, none for softmax outputs (finished in net.c). */
mlp_kact mlp_net_layer_act(const mlp_net *net, size_t l);

/* Threads for the neurons of a[l+1], the outputs of weight layer l: every product that is
 * split by those neurons uses this count (see kernels.h). */
size_t mlp_net_threads(const mlp_net *net, size_t l);

/* Forward pass on the B input rows rows[0][0..B); fills a[1..n_layers]. */
void mlp_net_forward(mlp_net *net, size_t B);

/* Sum over the B rows of the cost of a[n_layers] against labels y (B). Quadratic:
 * 0.5 * sum_j (a_j - [j == y])^2. Cross-entropy: -ln a_y, or with label smoothing E
 * (net->smooth) -sum_j t_j ln a_j, t_j = (1 - E) [j == y] + E / K. */
double mlp_net_cost(const mlp_net *net, const uint8_t *y, size_t B);

/* Index of the largest output of row i: the predicted class. */
size_t mlp_net_predict_row(const mlp_net *net, size_t i);

/* Where parameter i of params lives, in the lessons' terms: the weight into neuron `neuron` of
 * layer layer + 1 from neuron `input` of layer `layer` (layer 0 is the input pixels), or, when
 * bias is true, that neuron's bias (input is then 0). */
typedef struct {
    size_t layer;  /* weight layer l, from layer l to layer l + 1 */
    size_t neuron; /* j, in layer l + 1 */
    size_t input;  /* k, in layer l; 0 for a bias */
    bool bias;
} mlp_knob;

/* i < n_params */
mlp_knob mlp_net_knob(const mlp_net *net, size_t i);

void mlp_net_free(mlp_net *net); /* safe on a zeroed or half-built net */

const char *mlp_act_name(mlp_act act);
const char *mlp_cost_name(mlp_cost cost);

#endif
