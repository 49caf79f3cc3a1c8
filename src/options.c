/*
 * options: the tables of options.h, and the walks over mlp_options that more than one module
 * makes. A new option of the model file is a row with the next slot and `since` the new
 * model format version (model.h).
 */
#include "options.h"

#include "kernels.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const char *const mlp_opt_act_names[] = {"sigmoid", "tanh", "relu", NULL};
const char *const mlp_opt_cost_names[] = {"quadratic", "xent", NULL};
const char *const mlp_opt_schedule_names[] = {"constant", "linear", "step", "cosine", NULL};
const char *const mlp_opt_optimizer_names[] = {"sgd", "adam", "adamw", NULL};

_Static_assert(MLP_ACT_SIGMOID == 0 && MLP_ACT_TANH == 1 && MLP_ACT_RELU == 2,
               "mlp_opt_act_names follows mlp_act");
_Static_assert(MLP_COST_QUADRATIC == 0 && MLP_COST_XENT == 1,
               "mlp_opt_cost_names follows mlp_cost");
_Static_assert(MLP_SCHED_CONSTANT == 0 && MLP_SCHED_LINEAR == 1 && MLP_SCHED_STEP == 2 &&
                   MLP_SCHED_COSINE == 3,
               "mlp_opt_schedule_names follows mlp_schedule");
_Static_assert(MLP_STEP_SGD == 0 && MLP_STEP_ADAM == 1 && MLP_STEP_ADAMW == 2,
               "mlp_opt_optimizer_names follows mlp_step_rule");

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

/* ---------------------------------------------------------------- the table */

#define FIELD_SIZE(m) sizeof(((mlp_train_opts *)0)->m)
#define AT(m)         .at = offsetof(mlp_train_opts, m), .size = FIELD_SIZE(m)
/* the fields from m to last, together */
#define SPAN(m, last)                                                                              \
    .at = offsetof(mlp_train_opts, m),                                                                 \
    .size = offsetof(mlp_train_opts, last) + FIELD_SIZE(last) - offsetof(mlp_train_opts, m)
#define SIZE(m, l, h)  .type = MLP_OPT_SIZE, AT(m), .lo = (l), .hi = (h)
#define FLOAT(m, ...)  .type = MLP_OPT_FLOAT, AT(m), .range = {__VA_ARGS__}
#define NAME(m, table) .type = MLP_OPT_NAME, AT(m), .names = (table)
/* a training option: in the presets, checked on resume */
#define TRAINING .preset = true, .resume = MLP_OPT_SAME
/* a flag of this run only: free on resume, never in a preset */
#define RUN .resume = MLP_OPT_FREE
/* in the model file: its slot, from the first format version on, and its JSON name */
#define FILE(k, name) FILE_V(k, 1, name)
/* the same from format version v on */
#define FILE_V(k, v, name) .slot = (k), .since = (v), .json = (name)
#define ADAM_ONLY          (MLP_OPT_WHEN_OPTIM(MLP_STEP_ADAM) | MLP_OPT_WHEN_OPTIM(MLP_STEP_ADAMW))
#define LR_END_SCHEDS (MLP_OPT_WHEN_SCHED(MLP_SCHED_LINEAR) | MLP_OPT_WHEN_SCHED(MLP_SCHED_COSINE))

_Static_assert(sizeof(mlp_schedule) == sizeof(int), "MLP_OPT_NAME reads an enum as an int");
_Static_assert(sizeof(mlp_step_rule) == sizeof(int), "MLP_OPT_NAME reads an enum as an int");

/* Every flag of `mlp train` but the data files (mlp_cli_data_flag), in the order of the help.
 * Where a float may be 0 (for --lr-end a decay to 0; for l2, max-norm, dropout and the
 * augmentations: off) it is exactly 0, never a tiny value that a float keeps as 0 or as a
 * subnormal (cli.h). */
/* clang-format off */
const mlp_option mlp_options[] = {
    {"--preset", "NAME", .type = MLP_OPT_PRESET, RUN,
     .help = "start from a named configuration (see 'mlp presets'); flags given\n"
             "override its values (default: " MLP_PRESET_DEFAULT ")"},
    {"--hidden", "LIST", .type = MLP_OPT_HIDDEN, SPAN(hidden, n_hidden), TRAINING, .rec = 10,
     .section = "network",
     .help = "hidden layer sizes, comma-separated, or 'none' (default: 16,16)"},
    {"--activation", "NAME", NAME(act, mlp_opt_act_names), TRAINING, .rec = 20,
     .help = "hidden activation: sigmoid, tanh or relu (default: sigmoid)"},
    {"--cost", "NAME", NAME(cost, mlp_opt_cost_names), TRAINING, .rec = 30,
     .help = "quadratic: sigmoid outputs, 0.5*|a-y|^2 (default)\n"
             "xent: softmax outputs, cross-entropy -ln a_y"},
    {"--epochs", "N", SIZE(sgd.epochs, 1, 100000), .preset = true, .resume = MLP_OPT_GROW, .rec = 40,
     .section = "gradient descent",
     FILE(1, "epochs"), .says = "epochs %s",
     .help = "passes over the training set (default: 40)"},
    {"--batch", "N", SIZE(sgd.batch, 1, MLP_MAX_BATCH), TRAINING, .rec = 50,
     FILE(2, "batch"), .says = "batch %s",
     .help = "images per mini-batch; the gradient is their mean (default: 10)"},
    {"--lr", "X", FLOAT(sgd.lr, .lo = 0.0, .hi = 1e6, .lo_open = true), TRAINING, .rec = 60,
     FILE(4, "learning_rate"), .says = "learning rate %s",
     .help = "learning rate (default: 1.5 for the quadratic cost, 0.5 for xent)"},
    {"--schedule", "NAME", NAME(sgd.schedule, mlp_opt_schedule_names), TRAINING, .rec = 70,
     FILE(3, "schedule"), .says = "%s schedule",
     .help = "constant; linear: from --lr to --lr-end over the epochs; step:\n"
             "times --lr-gamma every --lr-step epochs; cosine: from --lr to\n"
             "--lr-end along half a cosine (default: linear)"},
    {"--lr-end", "X", FLOAT(sgd.lr_end, .lo = 0.0, .hi = 1e6), TRAINING, .rec = 80,
     .when = LR_END_SCHEDS,
     FILE(5, "learning_rate_end"), .says = "ending at %s",
     .help = "learning rate of the last epoch, linear and cosine (default: lr/50)"},
    {"--lr-step", "N", SIZE(sgd.lr_step, 1, 100000), TRAINING, .rec = 90,
     .when = MLP_OPT_WHEN_SCHED(MLP_SCHED_STEP),
     FILE(6, "lr_step"), .says = "every %s epochs",
     .help = "step schedule: epochs between steps (default: 10)"},
    {"--lr-gamma", "X", FLOAT(sgd.lr_gamma, .lo = 0.0, .hi = 1e3, .lo_open = true), TRAINING,
     .rec = 100, .when = MLP_OPT_WHEN_SCHED(MLP_SCHED_STEP),
     FILE(7, "lr_gamma"), .says = "times %s",
     .help = "step schedule: factor at each step (default: 0.1)"},
    {"--warmup", "N", SIZE(sgd.warmup, 0, 100000), TRAINING, .rec = 110, .when = MLP_OPT_WHEN_SET,
     FILE(8, "warmup"), .says = "%s warm-up epochs",
     .help = "ramp the rate up from 0 over the first N epochs (default: 0)"},
    {"--momentum", "X", FLOAT(sgd.momentum, .lo = 0.0, .hi = 1.0, .hi_open = true), TRAINING,
     .rec = 130, .when = MLP_OPT_WHEN_OPTIM(MLP_STEP_SGD),
     FILE(10, "momentum"), .says = "momentum %s",
     .help = "sgd: keep a velocity v = X*v + gradient and step by -lr*v\n"
             "(default: 0)"},
    {"--nesterov", NULL, .type = MLP_OPT_SWITCH, AT(sgd.nesterov), TRAINING, .rec = 140,
     .when = MLP_OPT_WHEN_SET,
     FILE(11, "nesterov"), .says = "Nesterov",
     .help = "sgd: Nesterov momentum: step by -lr*(gradient + X*v)"},
    {"--optimizer", "NAME", NAME(sgd.optimizer, mlp_opt_optimizer_names), TRAINING, .rec = 55,
     .when = MLP_OPT_WHEN_SET,
     FILE_V(21, 4, "optimizer"), .says = "optimiser %s",
     .help = "sgd: the step above (default); adam or adamw: PyTorch's Adam\n"
             "or AdamW, whose --lr defaults to 0.001 and --l2 to 0, whatever\n"
             "the preset says (--momentum and --nesterov are sgd's)"},
    {"--beta1", "X", FLOAT(sgd.beta1, .lo = 0.0, .hi = 1.0, .hi_open = true), TRAINING, .rec = 56,
     .when = ADAM_ONLY,
     FILE_V(22, 4, "beta1"), .says = "beta1 %s",
     .help = "adam, adamw: decay rate of the mean gradient (default: 0.9)"},
    {"--beta2", "X", FLOAT(sgd.beta2, .lo = 0.0, .hi = 1.0, .hi_open = true), TRAINING, .rec = 57,
     .when = ADAM_ONLY,
     FILE_V(23, 4, "beta2"), .says = "beta2 %s",
     .help = "adam, adamw: decay rate of the mean squared gradient\n"
             "(default: 0.999)"},
    {"--eps", "X", FLOAT(sgd.eps, .lo = 0.0, .hi = 1.0, .lo_open = true), TRAINING, .rec = 58,
     .when = ADAM_ONLY,
     FILE_V(24, 4, "eps"), .says = "eps %s",
     .help = "adam, adamw: added to the root of the mean squared gradient\n"
             "(default: 1e-8)"},
    {"--clip", "X", FLOAT(sgd.clip, .lo = 0.0, .hi = 1e6, .lo_open = true), TRAINING, .rec = 145,
     .when = MLP_OPT_WHEN_SET,
     FILE_V(26, 4, "clip"), .says = "gradient clipped to length %s",
     .help = "scale each batch's whole gradient (all parameters as one vector)\n"
             "down to length X when it is longer (default: off)"},
    {"--l2", "X", FLOAT(sgd.l2, .lo = 0.0, .hi = 1.0), TRAINING, .rec = 120,
     .when = MLP_OPT_WHEN_OPTIM(MLP_STEP_SGD) | MLP_OPT_WHEN_OPTIM(MLP_STEP_ADAM),
     .section = "regularisation",
     FILE(9, "l2"), .says = "L2 %s",
     .help = "weight decay: each step also shrinks every weight by lr*X times\n"
             "itself (sgd, adam; default: 2e-5 for quadratic, 1e-4 for xent,\n"
             "0 with adam; 0: off)"},
    {"--weight-decay", "X", FLOAT(sgd.weight_decay, .lo = 0.0, .hi = 1.0), TRAINING, .rec = 125,
     .when = MLP_OPT_WHEN_OPTIM(MLP_STEP_ADAMW),
     FILE_V(25, 4, "weight_decay"), .says = "weight decay %s",
     .help = "adamw: each step first multiplies every weight by 1 - lr*X\n"
             "(default: 0.01; 0: off)"},
    {"--dropout", "P", FLOAT(sgd.drop_hidden, .lo = 0.0, .hi = 1.0, .hi_open = true), TRAINING,
     .rec = 160, .when = MLP_OPT_WHEN_SET,
     FILE(14, "dropout"), .says = "hidden dropout %s",
     .help = "drop each hidden neuron's output with probability P (default: 0)"},
    {"--dropout-in", "P", FLOAT(sgd.drop_in, .lo = 0.0, .hi = 1.0, .hi_open = true), TRAINING,
     .rec = 170, .when = MLP_OPT_WHEN_SET,
     FILE(13, "dropout_in"), .says = "input dropout %s",
     .help = "drop each input pixel with probability P (default: 0)"},
    {"--maxnorm", "C", FLOAT(sgd.maxnorm, .lo = 0.0, .hi = 1e6), TRAINING, .rec = 150,
     .when = MLP_OPT_WHEN_SET,
     FILE(12, "maxnorm"), .says = "max-norm %s",
     .help = "keep every neuron's incoming weights no longer than C (default: 0, off)"},
    {"--label-smoothing", "E", FLOAT(sgd.label_smoothing, .lo = 0.0, .hi = 1.0, .hi_open = true),
     TRAINING, .rec = 155, .when = MLP_OPT_WHEN_SET,
     FILE_V(27, 4, "label_smoothing"), .says = "labels smoothed by %s (the cost is against them)",
     .help = "xent: targets 1-E on the label plus E/K on each of the K classes;\n"
             "the cost printed is the cross-entropy against them (default: 0)"},
    {"--translate", "PX", FLOAT(sgd.aug.translate, .lo = 0.0, .hi = 100.0), TRAINING, /* px */
     .rec = 180, .when = MLP_OPT_WHEN_SET,
     FILE(15, "augmentation.translate"), .says = "shifts up to %s px",
     .help = "shift training images by up to PX whole pixels in x and y\n"
             "(default: 0)"},
    {"--rotate", "DEG", FLOAT(sgd.aug.rotate, .lo = 0.0, .hi = 180.0), TRAINING, .rec = 190,
     .when = MLP_OPT_WHEN_SET,
     FILE(16, "augmentation.rotate"), .says = "rotations up to %s deg",
     .help = "rotate training images by up to DEG degrees (default: 0)"},
    {"--scale", "F", FLOAT(sgd.aug.scale, .lo = 0.0, .hi = 0.9), TRAINING, .rec = 200,
     .when = MLP_OPT_WHEN_SET,
     FILE(17, "augmentation.scale"), .says = "scaling up to %s",
     .help = "scale training images by up to a fraction F (default: 0)"},
    {"--elastic", "A[,S]", .type = MLP_OPT_ELASTIC, SPAN(sgd.aug.elastic_alpha, sgd.aug.elastic_sigma),
     TRAINING, .rec = 210, .when = MLP_OPT_WHEN_SET,
     FILE(18, "augmentation.elastic"), .says = "elastic %s",
     .help = "elastic distortion of strength A pixels, smoothness S (default: off;\n"
             "S from 0.1 to 10, default 4)"},
    {"--flip", NULL, .type = MLP_OPT_SWITCH, AT(sgd.aug.flip), TRAINING, .rec = 215,
     .when = MLP_OPT_WHEN_SET,
     FILE_V(29, 4, "augmentation.flip"), .says = "mirrored left to right at random",
     .help = "mirror one training image in two left to right (for clothes, not\n"
             "for digits and letters, whose mirror images are other shapes)"},
    {"--val", "N", SIZE(sgd.val, 0, UINT32_MAX), TRAINING, .rec = 220, .when = MLP_OPT_WHEN_SET,
     FILE(19, "validation_images"),
     .help = "hold out N training images (chosen by the seed), report accuracy on\n"
             "them each epoch, and save the epoch that did best on them"},
    {"--patience", "N", SIZE(sgd.patience, 1, 100000), TRAINING, .rec = 224,
     .when = MLP_OPT_WHEN_SET,
     FILE_V(28, 4, "patience"), .says = "early stopping, patience %s epochs",
     .help = "with --val: stop after N epochs in a row without a better\n"
             "validation accuracy, keeping the best epoch's parameters\n"
             "(default: off)"},
    {"--seed", "N", SIZE(seed, 0, SIZE_MAX), .resume = MLP_OPT_SAME, .rec = 230, .section = "running",
     .says = "seed %s",
     .help = "seed of initialisation and every random choice (default: 1)"},
    {"--out", "PATH", .type = MLP_OPT_PATH, AT(out), RUN, .rec = 250,
     .help = "where to save the model (default: model.bin, or the --resume file)"},
    {"--resume", "PATH", .type = MLP_OPT_PATH, AT(resume), RUN,
     .help = "continue the run saved in PATH where it stopped; flags that\n"
             "contradict it are refused, except --epochs, which may grow"},
    {"--threads", "N", SIZE(threads, 1, MLP_MAX_THREADS), RUN,
     .help = "threads for the matrix products (default: online CPUs)"},
    {"--kernels", "NAME", .type = MLP_OPT_KERNELS, AT(kernels), .resume = MLP_OPT_SAME, .rec = 240,
     .says = "kernels %s",
     .help = "auto, avx512, avx2, portable or ref (default: auto, the fastest\n"
             "this CPU runs)"},
    {"--log", "PATH", .type = MLP_OPT_PATH, AT(log), RUN,
     .help = "write one tab-separated line per epoch: epoch, cost, train_acc,\n"
             "val_acc ('-' without --val), test_acc, lr, seconds"},
    {"--plot", "PATH", .type = MLP_OPT_PATH, AT(plot), RUN,
     .help = "draw the cost and accuracy per epoch as an SVG chart, redrawn\n"
             "after every epoch (see also 'mlp plot')"},
    {"--quiet", NULL, .type = MLP_OPT_SWITCH, AT(quiet), RUN,
     .help = "no progress bar (there is one on stderr when it is a terminal:\n"
             "images done, images per second, time left)"},
    {"--transpose", NULL, .type = MLP_OPT_SWITCH, AT(sgd.transpose), TRAINING, .rec = 226,
     .when = MLP_OPT_WHEN_SET, .section = "data", .slot = 20, .since = 3, .json = "transpose",
     .says = "images transposed",
     .help = "the files store every image transposed (EMNIST): turn them upright as\n"
             "they are read; recorded in the model, so eval and explain do it too"},
};
/* clang-format on */
_Static_assert(sizeof mlp_options / sizeof mlp_options[0] == MLP_OPTIONS,
               "MLP_OPTIONS counts the rows of mlp_options");

/* ---------------------------------------------------------------- walks */

const mlp_option *mlp_option_in_slot(int slot)
{
    for (size_t k = 0; slot > 0 && k < MLP_OPTIONS; k++)
        if (mlp_options[k].slot == slot)
            return &mlp_options[k];
    return NULL;
}

static const void *field(const mlp_train_opts *o, const mlp_option *f)
{
    return (const char *)o + f->at;
}

static int get_int(const mlp_train_opts *o, const mlp_option *f)
{
    int v;
    memcpy(&v, field(o, f), sizeof v);
    return v;
}

/* True if the option's value is zero or off. */
static bool is_off(const mlp_option *f, const mlp_train_opts *o)
{
    switch (f->type) {
    case MLP_OPT_SIZE:
        return *(const size_t *)field(o, f) == 0;
    case MLP_OPT_FLOAT:
        return !(*(const float *)field(o, f) > 0.0f);
    case MLP_OPT_SWITCH:
        return !*(const bool *)field(o, f);
    case MLP_OPT_ELASTIC:
        return !(o->sgd.aug.elastic_alpha > 0.0f);
    case MLP_OPT_NAME:
        return get_int(o, f) == 0;
    default:
        return false;
    }
}

bool mlp_option_shown(const mlp_option *f, const mlp_train_opts *o)
{
    const unsigned optim_bits = MLP_OPT_WHEN_OPTIM(0) * 0xffu;
    unsigned optims = f->when & optim_bits, scheds = f->when & ~optim_bits & ~MLP_OPT_WHEN_SET;
    if ((f->when & MLP_OPT_WHEN_SET) && is_off(f, o))
        return false;
    if (optims && !(optims & MLP_OPT_WHEN_OPTIM(o->sgd.optimizer)))
        return false;
    return !scheds || (scheds & MLP_OPT_WHEN_SCHED(o->sgd.schedule));
}

/* "16,16" or "none" */
static void hidden_value(char *out, size_t cap, const mlp_train_opts *o)
{
    size_t len = 0;
    snprintf(out, cap, "none");
    for (size_t l = 0; l < o->n_hidden && len < cap; l++) {
        int n = snprintf(out + len, cap - len, "%s%zu", l ? "," : "", o->hidden[l]);
        len += n > 0 ? (size_t)n : 0;
    }
}

void mlp_option_value(char *out, size_t cap, const mlp_option *f, const mlp_train_opts *o)
{
    const void *p = field(o, f);
    const mlp_kernels *k;
    out[0] = '\0';
    switch (f->type) {
    case MLP_OPT_SIZE:
        snprintf(out, cap, "%zu", *(const size_t *)p);
        break;
    case MLP_OPT_FLOAT:
        snprintf(out, cap, "%s", mlp_cli_exact(*(const float *)p).s);
        break;
    case MLP_OPT_SWITCH:
    case MLP_OPT_PRESET:
        break;
    case MLP_OPT_NAME:
        snprintf(out, cap, "%s", mlp_opt_name(f->names, (size_t)get_int(o, f)));
        break;
    case MLP_OPT_HIDDEN:
        hidden_value(out, cap, o);
        break;
    case MLP_OPT_ELASTIC:
        snprintf(out, cap, "%s,%s", mlp_cli_exact(o->sgd.aug.elastic_alpha).s,
                 mlp_cli_exact(o->sgd.aug.elastic_sigma).s);
        break;
    case MLP_OPT_KERNELS: /* the name a choice such as "auto" stands for on this machine */
        k = mlp_kernels_get(o->kernels);
        snprintf(out, cap, "%s", k ? k->name : o->kernels);
        break;
    case MLP_OPT_PATH:
        snprintf(out, cap, "%s", *(const char *const *)p ? *(const char *const *)p : "");
        break;
    }
}

void mlp_options_say(char *out, size_t cap, const char *section, const mlp_train_opts *o)
{
    const char *in = NULL; /* the section of row k */
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < MLP_OPTIONS; k++) {
        const mlp_option *f = &mlp_options[k];
        char value[256];
        in = f->section ? f->section : in;
        if (!f->says || !in || strcmp(in, section) || !mlp_option_shown(f, o))
            continue;
        mlp_option_value(value, sizeof value, f, o);
        const char *hole = strstr(f->says, "%s"); /* the phrase's one place for the value */
        int n = hole ? snprintf(out + len, cap - len, "%s%.*s%s%s", len ? ", " : "",
                                (int)(hole - f->says), f->says, value, hole + 2)
                     : snprintf(out + len, cap - len, "%s%s", len ? ", " : "", f->says);
        if (n < 0 || (size_t)n >= cap - len) {
            out[len] = '\0'; /* the whole phrases that fitted */
            return;
        }
        len += (size_t)n;
    }
}
