/*
 * checkpoint: the mapping between a training run's state and a model file's meta (model.h),
 * both ways. Saving, it says what the file holds: the options, the seed, the data's shape and
 * fingerprints, the optimiser's state, its arrays (velocities or Adam's moments) and, with
 * validation, which parameters go in the file (the best epoch's) and whether the current ones
 * go beside them. Resuming, it
 * puts a fresh network and optimiser back in that state, bit for bit, so that training goes
 * on as if it had never stopped.
 *
 * It maps and does not write files: the caller writes the meta with mlp_model_write() or
 * mlp_model_save() and reads it with mlp_model_load_state(). The record of the command line
 * (meta->cmdline) is the caller's too: it is composed once, before any work.
 */
#ifndef MLP_CHECKPOINT_H
#define MLP_CHECKPOINT_H

#include "idx.h"
#include "model.h"
#include "net.h"
#include "options.h"
#include "sgd.h"

/* The best-by-validation bookkeeping of a run, which both sides of the mapping use. Without
 * validation params is NULL and only last_test counts. */
typedef struct {
    float *params;   /* (n_params), net.h's layout: the best epoch's parameters, or NULL */
    float val;       /* its validation accuracy, -1 before any */
    float test;      /* its test accuracy, -1 before any */
    size_t epoch;    /* the epoch (1-based) that reached it; 0 before any */
    float last_test; /* test accuracy of the current parameters, -1 before any */
} mlp_checkpoint_best;

/* A run before its first epoch: nothing measured, no parameters (the caller allocates
 * params when it validates). */
#define MLP_CHECKPOINT_BEST_NONE                                                                   \
    {                                                                                              \
        .params = NULL, .val = -1.0f, .test = -1.0f, .epoch = 0, .last_test = -1.0f                \
    }

/* Fills every field of meta but cmdline, for a run training net with s on train (the whole
 * set, validation rows included), whose labels and images have the fingerprints data_crc
 * (mlp_crc32) and images_crc (mlp_model_images_crc). *view becomes what the file is written
 * from: net itself, but for its params, which are best->params once there is a best epoch;
 * then the test accuracy recorded is the best epoch's, and meta->cur points at net's own
 * parameters unless they are that epoch's. meta->vel and meta->cur point into s and net (the
 * meta owns nothing): save before they change. */
void mlp_checkpoint_fill(mlp_model_meta *meta, mlp_net *view, const mlp_net *net, const mlp_sgd *s,
                         const mlp_checkpoint_best *best, const mlp_set *train, uint32_t data_crc,
                         uint32_t images_crc);

/* Puts a fresh run in the state of a checkpoint: net holds the file's parameters (as
 * mlp_model_load_state() left them), s was prepared by mlp_sgd_init() with the file's options
 * and seed, and best->params is NULL or room for n_params floats. Copies the velocities, the
 * best and the current parameters, the best-by-validation bookkeeping and the test accuracy
 * (last_test: the file's, which is the best epoch's when there is one), and restores the
 * optimiser's state (mlp_sgd_restore). MLP_EARG, changing nothing, if meta holds no training
 * state or lacks the velocities s needs. */
mlp_status mlp_checkpoint_restore(mlp_net *net, mlp_sgd *s, mlp_checkpoint_best *best,
                                  const mlp_model_meta *meta, mlp_error *err);

/* The options a checkpoint (or any model) was trained with, into o: the hidden sizes, the
 * activation and cost of net, and meta's training options, seed and kernels (o->kernels then
 * points into meta). The fields no model records (files, threads, --out) stay as they are. */
void mlp_checkpoint_opts(mlp_train_opts *o, const mlp_net *net, const mlp_model_meta *meta);

#endif
