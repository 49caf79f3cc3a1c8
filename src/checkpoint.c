/*
 * checkpoint: a run's state to a model file's meta and back (checkpoint.h). The two functions
 * mirror each other field for field, as model.c's writer and reader do; neither touches a
 * file.
 */
#include "checkpoint.h"

#include <stdio.h>
#include <string.h>

void mlp_checkpoint_fill(mlp_model_meta *meta, mlp_net *view, const mlp_net *net, const mlp_sgd *s,
                         const mlp_checkpoint_best *best, const mlp_set *train, uint32_t data_crc,
                         uint32_t images_crc)
{
    const mlp_sgd_state *state = &s->state;
    *view = *net; /* only its params may differ from the net's */
    meta->rows = (uint32_t)train->rows;
    meta->cols = (uint32_t)train->cols;
    meta->opt = s->opt;
    meta->seed = s->seed;
    meta->n_train = (uint32_t)train->n;
    meta->test_accuracy = best->last_test;
    meta->has_state = 1;
    meta->sgd = *state;
    meta->data_crc = data_crc;
    meta->images_crc = images_crc;
    snprintf(meta->kernels, sizeof meta->kernels, "%s", net->kern->name);
    meta->vel = s->vel;
    meta->sq = s->sq;
    meta->best_val = best->val;
    meta->best_epoch = (uint32_t)best->epoch;
    meta->cur = NULL;
    if (best->params && best->epoch > 0) {
        view->params = best->params;
        meta->test_accuracy = best->test;
        /* the current parameters are the best ones only right after the best epoch ended */
        if (best->epoch != state->epoch || state->pos)
            meta->cur = net->params;
    }
}

mlp_status mlp_checkpoint_restore(mlp_net *net, mlp_sgd *s, mlp_checkpoint_best *best,
                                  const mlp_model_meta *meta, mlp_error *err)
{
    size_t bytes = net->n_params * sizeof(float);
    if (!meta->has_state)
        return mlp_fail(err, MLP_EARG, "the model holds no training state");
    if ((s->vel && !meta->vel) || (s->sq && !meta->sq))
        return mlp_fail(err, MLP_EARG, "the checkpoint holds no state for the optimiser");
    if (s->vel)
        memcpy(s->vel, meta->vel, bytes);
    if (s->sq)
        memcpy(s->sq, meta->sq, bytes);
    if (best->params) {
        /* with validation the file's own parameters are the best epoch's, and the last
         * epoch's, when they differ, are beside them: training goes on from those */
        memcpy(best->params, net->params, bytes);
        if (meta->cur)
            memcpy(net->params, meta->cur, bytes);
        best->val = meta->best_val;
        best->epoch = meta->best_epoch;
        best->test = meta->test_accuracy;
    }
    best->last_test = meta->test_accuracy;
    mlp_sgd_restore(s, &meta->sgd);
    return MLP_OK;
}

void mlp_checkpoint_opts(mlp_train_opts *o, const mlp_net *net, const mlp_model_meta *meta)
{
    o->n_hidden = net->n_layers - 1;
    for (size_t l = 0; l < o->n_hidden; l++)
        o->hidden[l] = net->sizes[l + 1];
    o->act = (int)net->act;
    o->cost = (int)net->cost;
    o->sgd = meta->opt;
    o->seed = meta->seed;
    o->kernels = meta->kernels;
}
