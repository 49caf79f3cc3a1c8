/*
 * options: the tables of options.h. A new option of the model file is a row here (and
 * MLP_OPT_FIELDS one more, with a new model format version).
 */
#include "options.h"

#include "sgd.h"

#include <stddef.h>

const char *const mlp_opt_act_names[] = {"sigmoid", "tanh", "relu", NULL};
const char *const mlp_opt_cost_names[] = {"quadratic", "xent", NULL};
const char *const mlp_opt_schedule_names[] = {"constant", "linear", "step", "cosine", NULL};

_Static_assert(MLP_ACT_SIGMOID == 0 && MLP_ACT_TANH == 1 && MLP_ACT_RELU == 2,
               "mlp_opt_act_names follows mlp_act");
_Static_assert(MLP_COST_QUADRATIC == 0 && MLP_COST_XENT == 1,
               "mlp_opt_cost_names follows mlp_cost");
_Static_assert(MLP_SCHED_CONSTANT == 0 && MLP_SCHED_LINEAR == 1 && MLP_SCHED_STEP == 2 &&
                   MLP_SCHED_COSINE == 3,
               "mlp_opt_schedule_names follows mlp_schedule");

size_t mlp_opt_count(const char *const *names)
{
    size_t n = 0;
    while (names[n])
        n++;
    return n;
}

const char *mlp_opt_name(const char *const *names, size_t k)
{
    return k < mlp_opt_count(names) ? names[k] : "?";
}

#define FIELD(f, kind) {#f, offsetof(mlp_sgd_opts, f), MLP_OPT_##kind}

/* clang-format off */
const mlp_opt_field mlp_opt_fields[] = {
    FIELD(epochs, U32),
    FIELD(batch, U32),
    FIELD(schedule, SCHEDULE),
    FIELD(lr, F32),
    FIELD(lr_end, F32),
    FIELD(lr_step, U32),
    FIELD(lr_gamma, F32),
    FIELD(warmup, U32),
    FIELD(l2, F32),
    FIELD(momentum, F32),
    FIELD(nesterov, BOOL),
    FIELD(maxnorm, F32),
    FIELD(drop_in, F32),
    FIELD(drop_hidden, F32),
    FIELD(aug.translate, F32),
    FIELD(aug.rotate, F32),
    FIELD(aug.scale, F32),
    FIELD(aug.elastic_alpha, F32),
    FIELD(aug.elastic_sigma, F32),
    FIELD(val, U32),
};
/* clang-format on */
