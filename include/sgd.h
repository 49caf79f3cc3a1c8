/*
 * sgd: averaged mini-batch gradient descent, and what shapes it.
 *
 * Each epoch visits the training rows in a fresh order drawn from the seed, in mini-batches
 * of `batch` rows (the last, partial batch is used, not dropped). For every batch: gather its
 * rows into the network's input (augmented, if asked), forward pass (with dropout, if asked),
 * cost, backprop (which leaves the batch-mean gradient in net->grads), and the step
 *
 *     w -= lr * (dC/dw + l2 * w)      for every weight
 *     b -= lr * dC/db                 for every bias
 *
 * where l2 (weight decay) pulls weights towards zero. With momentum mu each parameter keeps a
 * velocity v = mu * v + (its gradient term above) and moves by -lr * v (PyTorch's form), or
 * with Nesterov momentum by -lr * (gradient term + mu * v). In place of that step, Adam and
 * AdamW (the optimizer option) keep two moments per parameter and follow PyTorch's rules
 * (kernels.h, mlp_step): Adam adds l2 * w to the gradient as above, AdamW multiplies each weight
 * by 1 - lr * weight_decay instead. Biases are never decayed. With clip X, the whole gradient
 * (every parameter's, as one vector) is first scaled down to length X when it is longer. With
 * label smoothing E (cross-entropy only) the targets are 1 - E + E/K on the label and E/K on
 * the other classes. With a max-norm constraint c,
 * every neuron's incoming weights are scaled back after the step if their length exceeds c
 * (Srivastava et al. 2014). lr follows the schedule, epoch by epoch:
 *
 *     constant   lr
 *     linear     from lr at the first epoch to lr_end at the last
 *     step       lr * gamma^floor((epoch - 1) / step)
 *     cosine     from lr to lr_end along half a cosine (Loshchilov and Hutter 2017)
 *
 * and, during the first `warmup` epochs, is scaled by the fraction of the warm-up done, batch
 * by batch. The step lives here and only here. Every random choice (order, dropout masks,
 * augmentation, the validation split) comes from the seed, so a run can be repeated, or
 * resumed anywhere, bit for bit.
 */
#ifndef MLP_SGD_H
#define MLP_SGD_H

#include "augment.h"
#include "idx.h"
#include "net.h"

#include <signal.h>

typedef enum {
    MLP_SCHED_CONSTANT = 0,
    MLP_SCHED_LINEAR = 1,
    MLP_SCHED_STEP = 2,
    MLP_SCHED_COSINE = 3,
} mlp_schedule;

typedef struct {
    size_t batch;  /* rows per mini-batch, <= net->max_batch */
    size_t epochs; /* planned epochs; the schedule runs over them */
    float lr;      /* learning rate of the first epoch (after any warm-up) */
    float lr_end;  /* learning rate of the last epoch (linear, cosine) */
    mlp_schedule schedule;
    size_t lr_step;    /* step schedule: every lr_step epochs ... */
    float lr_gamma;    /* ... the rate is multiplied by lr_gamma */
    size_t warmup;     /* epochs over which the rate ramps up from 0; 0: none */
    float l2;          /* weight decay coefficient, >= 0 */
    float momentum;    /* in [0, 1); 0: plain gradient descent */
    bool nesterov;     /* Nesterov's form of momentum */
    float maxnorm;     /* largest length of a neuron's incoming weights; 0: unbounded */
    float drop_in;     /* dropout: probability of dropping an input pixel; 0: none */
    float drop_hidden; /* dropout: probability of dropping a hidden neuron's output; 0: none */
    mlp_augment aug;   /* random changes to training images */
    size_t val;        /* training rows held out for validation (chosen by the seed) */
    bool transpose;    /* the data set stores each image transposed (EMNIST): its images are
                        * turned upright as they are read (mlp_idx_set_transpose), for
                        * training and for every later command that reads such a set */
    mlp_step_rule optimizer; /* SGD (with or without momentum), Adam or AdamW */
    float beta1, beta2;      /* Adam, AdamW: decay rates of the two moments, in [0, 1) */
    float eps;               /* Adam, AdamW: added to the root of the second moment, > 0 */
    float weight_decay;      /* AdamW: each step multiplies the weights by 1 - lr * this */
    float clip;              /* largest length of the whole gradient; 0: unbounded */
    float label_smoothing;   /* E in [0, 1): cross-entropy targets smoothed; 0: none */
    size_t patience;         /* with val: stop after this many epochs without a better
                              * validation accuracy (the caller stops; sgd only records it) */
} mlp_sgd_opts;

/* Optional calls into the caller during an epoch. */
typedef struct {
    /* after every mini-batch: rows done in this epoch out of total; NULL for none */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *ctx;
    /* checked after every mini-batch: when non-zero, the epoch stops there (MLP_ESTOP) and
     * mlp_sgd_epoch() continues from that point when called again. NULL for never. */
    const volatile sig_atomic_t *stop;
    /* the learning rate of batch k (0-based) of the epoch under way, in place of the schedule's
     * (the range test of lrfind.h); NULL for the schedule */
    float (*rate)(void *ctx, size_t k);
} mlp_sgd_hooks;

/* Everything that decides what training does next, besides the parameters and velocities:
 * with the same state, options, parameters and data, training continues bit for bit the
 * same. */
typedef struct {
    size_t epoch;       /* epochs completed */
    size_t pos;         /* rows done in the epoch under way; 0 between epochs */
    uint64_t rng;       /* shuffling state: the next epoch's order is drawn from it */
    uint64_t epoch_rng; /* the state the epoch under way drew its order from */
    double cost;        /* sum of the costs of the rows done in the epoch under way */
    size_t correct;     /* rows right so far in the epoch under way */
    uint64_t steps;     /* steps taken since the start: Adam's t, less the step under way */
} mlp_sgd_state;

typedef struct {
    mlp_sgd_opts opt;
    mlp_sgd_state state;
    mlp_sgd_hooks hooks;
    uint64_t seed;      /* dropout masks and augmentations are derived from it */
    size_t n;           /* training rows (the set's, less the validation rows) */
    size_t *rows;       /* (n): the set's rows used for training */
    size_t *val_rows;   /* (opt.val): the set's rows held out for validation */
    size_t *order;      /* (n): the visiting order of the epoch under way, indices into rows */
    size_t *batch_rows; /* (batch): the set's rows of the batch under way */
    uint8_t *y;         /* (batch): labels of the batch under way */
    float *vel;         /* (n_params), net's layout: velocities (SGD with momentum) or first
                         * moments (Adam, AdamW); NULL for SGD without momentum */
    float *sq;          /* (n_params), net's layout: Adam's and AdamW's second moments; NULL
                         * for SGD */
    float *scratch;     /* augmentation scratch, one slice per thread; NULL without it */
    size_t scratch_len; /* floats per slice */
    size_t threads;     /* slices: net->pool's size at mlp_sgd_init */
    float *augmented;   /* (batch, rows * cols): the batch's augmented images, which the
                         * network reads in place of the set's; NULL without augmentation */
} mlp_sgd;

typedef struct {
    size_t epoch;   /* which epoch (1-based) */
    double cost;    /* mean cost per row, each measured just before its batch's step */
    size_t correct; /* rows the network got right as it trained through them */
    size_t n;       /* rows seen */
    float lr;       /* learning rate at the end of the epoch */
} mlp_epoch_stats;

/* True if the options make sense on their own (mlp_sgd_init also checks them against the
 * network and the data). */
bool mlp_sgd_opts_valid(const mlp_sgd_opts *opt);

/* Prepares training of net on a set of n_set rows of rows x cols images (opt.val of them held
 * out). Checks the options. Per-thread buffers are sized from net->pool, which must be the one
 * training runs on (given to mlp_net_init() or mlp_net_attach() before this). */
mlp_status mlp_sgd_init(mlp_sgd *s, const mlp_net *net, size_t n_set, size_t rows, size_t cols,
                        const mlp_sgd_opts *opt, uint64_t seed, mlp_error *err);
void mlp_sgd_free(mlp_sgd *s);

/* The learning rate at fraction frac (0 to 1) of the way through epoch e (1-based). */
float mlp_sgd_lr(const mlp_sgd_opts *opt, size_t e, double frac);

/* True if the optimiser keeps a first array per parameter (velocities or first moments),
 * and a second one (second moments). */
bool mlp_sgd_has_vel(const mlp_sgd_opts *opt);
bool mlp_sgd_has_sq(const mlp_sgd_opts *opt);

/* The step for every parameter of net at rate lr; vel and sq as in mlp_sgd (NULL when the
 * optimiser keeps none), t the number of this step (1 for the first), which Adam's bias
 * corrections use. */
void mlp_sgd_step(mlp_net *net, float *vel, float *sq, const mlp_sgd_opts *opt, float lr,
                  uint64_t t);

/* True if a run with these options, `done` epochs trained and its best validation accuracy
 * reached in epoch best (1-based; 0: none yet), stops early: patience epochs in a row, or more,
 * have passed without a better one before the planned epochs are done. */
bool mlp_sgd_patience_out(const mlp_sgd_opts *opt, size_t done, size_t best);

/* Scales net->grads (every parameter's, as one vector) down to length max when it is longer,
 * and returns the length it had. The sum of squares runs over the parameters in their order,
 * in double, so the result is the same whatever the thread count. */
double mlp_sgd_clip(mlp_net *net, float max);

/* order[0..n) = a permutation of 0..n-1 drawn from rng (Fisher-Yates from the identity, so
 * the order depends on the generator's state alone) */
void mlp_sgd_shuffle(size_t *order, size_t n, uint64_t *rng);

/* Moves n of set's rows (0 < n < set->n) into held, which must be zeroed: the test set of a
 * data set that has none (a lone CSV file). The rows are chosen by the seed as the validation
 * rows are, the first n of a permutation drawn from a stream of their own ("test"), so that
 * --val then chooses among the rest independently. Both sets keep their rows in the order they
 * had; set's pixels are moved down in place, and only held's are allocated. */
mlp_status mlp_sgd_hold_out(mlp_set *held, mlp_set *set, size_t n, uint64_t seed, mlp_error *err);

/* Puts s in state `state` (from a checkpoint): redraws the order of the epoch under way. */
void mlp_sgd_restore(mlp_sgd *s, const mlp_sgd_state *state);

/* Points the network's input rows at rows idx[0..B) of set, and copies their labels to y. */
void mlp_sgd_gather(mlp_net *net, uint8_t *y, const mlp_set *set, const size_t *idx, size_t B);

/* Trains the next epoch (or the rest of the one under way) on train and fills stats.
 * MLP_OK: the epoch is complete. MLP_ESTOP: hooks.stop was raised; the epoch stopped after
 * a mini-batch and a later call finishes it. MLP_ENUMERIC: a mini-batch's cost was NaN or
 * infinite; err names the epoch and batch, and the parameters must not be trusted. MLP_EARG:
 * net->pool has more threads than when s was set up for augmentation; nothing was done. */
mlp_status mlp_sgd_epoch(mlp_sgd *s, mlp_net *net, const mlp_set *train, mlp_epoch_stats *stats,
                         mlp_error *err);

#endif
