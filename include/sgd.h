/*
 * sgd: averaged mini-batch gradient descent.
 *
 * Each epoch visits the training set in a fresh order drawn from the seed, in mini-batches of
 * `batch` rows (the last, partial batch is used, not dropped). For every batch: gather its
 * rows into the network's input, forward pass, cost, backprop (which leaves the batch-mean
 * gradient in net->grads), and the step
 *
 *     w -= lr * (dC/dw + l2 * w)      for every weight
 *     b -= lr * dC/db                 for every bias
 *
 * where l2 (weight decay) pulls weights towards zero, and lr follows the schedule: constant,
 * or falling linearly from lr at the first epoch to lr_end at the last. With momentum mu,
 * each parameter keeps a velocity v = mu * v + (its gradient term above) and moves by
 * -lr * v instead (the form PyTorch's SGD uses). The step lives here and only here.
 */
#ifndef MLP_SGD_H
#define MLP_SGD_H

#include "idx.h"
#include "net.h"

typedef enum { MLP_SCHED_CONSTANT = 0, MLP_SCHED_LINEAR = 1 } mlp_schedule;

typedef struct {
    size_t batch;  /* rows per mini-batch, <= net->max_batch */
    size_t epochs; /* planned epochs; the schedule runs over them */
    float lr;      /* learning rate of the first epoch */
    float lr_end;  /* learning rate of the last epoch (linear schedule) */
    mlp_schedule schedule;
    float l2;       /* weight decay coefficient, >= 0 */
    float momentum; /* in [0, 1); 0: plain gradient descent */
} mlp_sgd_opts;

typedef struct {
    mlp_sgd_opts opt;
    uint64_t rng;  /* shuffling state, advanced every epoch */
    size_t *order; /* (n): the visiting order of the training rows */
    uint8_t *y;    /* (batch): labels of the batch being trained */
    size_t n;      /* training rows */
    float *vel;    /* (n_params), net's layout: velocities; NULL without momentum */
} mlp_sgd;

typedef struct {
    double cost;    /* mean cost per row, each measured just before its batch's step */
    size_t correct; /* rows the network got right as it trained through them */
    size_t n;       /* rows seen */
    float lr;       /* learning rate used */
} mlp_epoch_stats;

/* Prepares training of net on n rows. */
mlp_status mlp_sgd_init(mlp_sgd *s, const mlp_net *net, size_t n, const mlp_sgd_opts *opt,
                        uint64_t seed, mlp_error *err);
void mlp_sgd_free(mlp_sgd *s);

/* The learning rate of epoch e (1-based) under opt's schedule. */
float mlp_sgd_lr(const mlp_sgd_opts *opt, size_t e);

/* The step for every parameter of net; vel is NULL or (n_params) velocities (mu used). */
void mlp_sgd_step(mlp_net *net, float *vel, float lr, float l2, float mu);

/* Fisher-Yates shuffle of order[0..n) */
void mlp_sgd_shuffle(size_t *order, size_t n, uint64_t *rng);

/* Points the network's input rows at rows idx[0..B) of set, and copies their labels to y. */
void mlp_sgd_gather(mlp_net *net, uint8_t *y, const mlp_set *set, const size_t *idx, size_t B);

/* Epoch e (1-based) of training: one pass over the training set; fills stats. */
void mlp_sgd_epoch(mlp_sgd *s, mlp_net *net, const mlp_set *train, size_t e,
                   mlp_epoch_stats *stats);

#endif
