/*
 * cmd_train: `mlp train [DIR] [FLAGS]` and `mlp presets`. Resolves the options (a preset,
 * then the flags given), loads the data, builds the network (or restores it from a checkpoint
 * with --resume), runs the epochs (sgd.c), prints one line per epoch and saves a checkpoint
 * after every epoch. With --val, the saved model is the one of the epoch with the best
 * validation accuracy. SIGINT, SIGTERM or SIGHUP finishes the mini-batch under way, saves a
 * checkpoint and says how to resume; a second signal ends the program at once. Every file
 * goes through output.c, which checks the outputs against the inputs before any work.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "commands.h"
#include "eval.h"
#include "idx.h"
#include "model.h"
#include "net.h"
#include "output.h"
#include "plot.h"
#include "progress.h"
#include "sgd.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static const char *const help =
    "usage: mlp train [DIR] [FLAGS]\n"
    "\n"
    "Trains a network by backpropagation and averaged mini-batch gradient descent, prints one\n"
    "line per epoch (mean training cost, training accuracy, validation and test accuracy,\n"
    "seconds, images per second) and saves the model after every epoch.\n"
    "\n"
    "  --preset NAME       start from a named configuration (see 'mlp presets'); flags given\n"
    "                      override its values (default: 3b1b)\n"
    "network\n"
    "  --hidden LIST       hidden layer sizes, comma-separated, or 'none' (default: 16,16)\n"
    "  --activation NAME   hidden activation: sigmoid, tanh or relu (default: sigmoid)\n"
    "  --cost NAME         quadratic: sigmoid outputs, 0.5*|a-y|^2 (default)\n"
    "                      xent: softmax outputs, cross-entropy -ln a_y\n"
    "gradient descent\n"
    "  --epochs N          passes over the training set (default: 40)\n"
    "  --batch N           images per mini-batch; the gradient is their mean (default: 10)\n"
    "  --lr X              learning rate (default: 1.5 for the quadratic cost, 0.5 for xent)\n"
    "  --schedule NAME     constant; linear: from --lr to --lr-end over the epochs; step:\n"
    "                      times --lr-gamma every --lr-step epochs; cosine: from --lr to\n"
    "                      --lr-end along half a cosine (default: linear)\n"
    "  --lr-end X          learning rate of the last epoch, linear and cosine (default: lr/50)\n"
    "  --lr-step N         step schedule: epochs between steps (default: 10)\n"
    "  --lr-gamma X        step schedule: factor at each step (default: 0.1)\n"
    "  --warmup N          ramp the rate up from 0 over the first N epochs (default: 0)\n"
    "  --momentum X        keep a velocity v = X*v + gradient and step by -lr*v (default: 0)\n"
    "  --nesterov          Nesterov momentum: step by -lr*(gradient + X*v)\n"
    "regularisation\n";

static const char *const help_more =
    "  --l2 X              weight decay: each step also shrinks every weight by lr*X times\n"
    "                      itself (default: 2e-5 for quadratic, 1e-4 for xent; 0: off)\n"
    "  --dropout P         drop each hidden neuron's output with probability P (default: 0)\n"
    "  --dropout-in P      drop each input pixel with probability P (default: 0)\n"
    "  --maxnorm C         keep every neuron's incoming weights no longer than C (default: 0, off)\n"
    "  --translate PX      shift training images by up to PX whole pixels in x and y\n"
    "                      (default: 0)\n"
    "  --rotate DEG        rotate training images by up to DEG degrees (default: 0)\n"
    "  --scale F           scale training images by up to a fraction F (default: 0)\n"
    "  --elastic A[,S]     elastic distortion of strength A pixels, smoothness S (default: off;\n"
    "                      S from 0.1 to 10, default 4)\n"
    "  --val N             hold out N training images (chosen by the seed), report accuracy on\n"
    "                      them each epoch, and save the epoch that did best on them\n"
    "running\n"
    "  --seed N            seed of initialisation and every random choice (default: 1)\n"
    "  --out PATH          where to save the model (default: model.bin, or the --resume file)\n"
    "  --resume PATH       continue the run saved in PATH where it stopped; flags that\n"
    "                      contradict it are refused, except --epochs, which may grow\n"
    "  --threads N         threads for the matrix products (default: online CPUs)\n"
    "  --kernels NAME      auto, avx512, avx2, portable or ref (default: auto, the fastest\n"
    "                      this CPU runs)\n"
    "  --log PATH          write one tab-separated line per epoch: epoch, cost, train_acc,\n"
    "                      val_acc ('-' without --val), test_acc, lr, seconds\n"
    "  --plot PATH         draw the cost and accuracy per epoch as an SVG chart, redrawn\n"
    "                      after every epoch (see also 'mlp plot')\n"
    "  --quiet             no progress bar (there is one on stderr when it is a terminal:\n"
    "                      images done, images per second, time left)\n"
    "data\n"
    "  --train-images PATH the training images, instead of DIR's (any name, gzipped or not;\n"
    "                      likewise the three below)\n"
    "  --train-labels PATH the training labels; their largest value + 1 is the class count\n"
    "  --test-images PATH  the test images\n"
    "  --test-labels PATH  the test labels\n"
    "\n"
    "DIR (default: data) holds the files not given by a flag: train-images-idx3-ubyte,\n"
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, or the same\n"
    "names with '.idx3'/'.idx1', each of them plain or gzipped (.gz).\n"
    "\n"
    "Augmentation and dropout touch training images only; the test set never chooses anything.\n"
    "The model is saved atomically after every epoch. Ctrl-C, SIGTERM or SIGHUP saves after\n"
    "the batch under way and exits with 130, 143 or 129 (a second signal at once); --resume\n"
    "then gives the same bytes as an uninterrupted run. The same seed and flags give the same\n"
    "model file, whatever --threads is. Outputs are checked before training: none may be an\n"
    "input, another output, a device or in a missing directory, and none is written by two\n"
    "runs at once.\n";

/* ---------------------------------------------------------------- options and presets */

typedef struct {
    const char *dir, *out, *kernels, *resume;
    mlp_idx_files data;     /* files named by --train-images and the like; the rest from dir */
    const char *log, *plot; /* NULL: none */
    bool quiet;             /* no progress bar */
    size_t hidden[MLP_MAX_LAYERS], n_hidden;
    int act, cost;
    mlp_sgd_opts sgd;
    size_t threads, seed;
} train_opts;

/* Flags given on the command line: they override the preset, and a resume checks them. */
enum {
    SET_HIDDEN = 1 << 0,
    SET_ACT = 1 << 1,
    SET_COST = 1 << 2,
    SET_EPOCHS = 1 << 3,
    SET_BATCH = 1 << 4,
    SET_LR = 1 << 5,
    SET_LR_END = 1 << 6,
    SET_SCHEDULE = 1 << 7,
    SET_L2 = 1 << 8,
    SET_MOMENTUM = 1 << 9,
    SET_SEED = 1 << 10,
    SET_KERNELS = 1 << 11,
    SET_OUT = 1 << 12,
    SET_LR_STEP = 1 << 13,
    SET_LR_GAMMA = 1 << 14,
    SET_WARMUP = 1 << 15,
    SET_NESTEROV = 1 << 16,
    SET_MAXNORM = 1 << 17,
    SET_DROP = 1 << 18,
    SET_DROP_IN = 1 << 19,
    SET_TRANSLATE = 1 << 20,
    SET_ROTATE = 1 << 21,
    SET_SCALE = 1 << 22,
    SET_ELASTIC = 1 << 23,
    SET_VAL = 1 << 24,
};

static const char *const act_names[] = {"sigmoid", "tanh", "relu"};
static const char *const cost_names[] = {"quadratic", "xent"};
static const char *const schedule_names[] = {"constant", "linear", "step", "cosine"};

/* A named configuration. lr_end 0 means lr / 50; l2_xent and lr_xent, when not 0, replace
 * l2 and lr if the cost is cross-entropy (only the default preset needs that). */
typedef struct {
    const char *name, *what, *published;
    train_opts o;
    float lr_xent, l2_xent;
} preset;

#define NET(...)                                                                                   \
    .hidden = {__VA_ARGS__}, .n_hidden = sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t)

static const preset presets[] = {
    {"3b1b",
     "784-16-16-10 sigmoid, quadratic cost: the network of the backpropagation lessons",
     "~96% (the lessons)",
     {NET(16, 16), .act = MLP_ACT_SIGMOID, .cost = MLP_COST_QUADRATIC,
      .sgd = {.epochs = 40, .batch = 10, .lr = 1.5f, .schedule = MLP_SCHED_LINEAR, .l2 = 2e-5f}},
     0.5f,
     1e-4f},
    {"nielsen",
     "784-30-10 sigmoid, quadratic cost, batch 10, lr 3.0, 30 epochs (network.py)",
     "95.42% (Nielsen, ch. 1)",
     {NET(30), .act = MLP_ACT_SIGMOID, .cost = MLP_COST_QUADRATIC,
      .sgd = {.epochs = 30, .batch = 10, .lr = 3.0f, .schedule = MLP_SCHED_CONSTANT}},
     0,
     0},
    {"nielsen2",
     "784-100-10 sigmoid, cross-entropy, L2, batch 10, lr 0.5, 60 epochs (network2.py)",
     "98.04% (Nielsen, ch. 3)",
     /* network2.py keeps the rate at 0.5; with softmax outputs that leaves the test accuracy
      * wandering between 97.2% and 97.8% at the end, so the rate falls to 0.01 instead */
     {NET(100), .act = MLP_ACT_SIGMOID, .cost = MLP_COST_XENT,
      .sgd = {.epochs = 60,
              .batch = 10,
              .lr = 0.5f,
              .lr_end = 0.01f,
              .schedule = MLP_SCHED_LINEAR,
              .l2 = 1e-4f}},
     0,
     0},
    {"simard",
     "784-800-10, cross-entropy, no distortions (Simard et al. 2003)",
     "98.4% (Simard et al. 2003)",
     {NET(800), .act = MLP_ACT_RELU, .cost = MLP_COST_XENT,
      .sgd = {.epochs = 40,
              .batch = 64,
              .lr = 0.05f,
              .lr_end = 0.0005f,
              .schedule = MLP_SCHED_COSINE,
              .l2 = 1e-4f,
              .momentum = 0.9f}},
     0,
     0},
    {"best",
     "784-1200-1200-10 ReLU, max-norm, Nesterov momentum, cosine schedule, shifted training "
     "images",
     "98.95-99.05% (dropout MLPs, Srivastava et al. 2014); 99.3% (784-800-10 with elastic "
     "distortions, Simard et al. 2003)",
     {NET(1200, 1200), .act = MLP_ACT_RELU, .cost = MLP_COST_XENT,
      /* Shifts alone: rotations, scaling and elastic distortions (alpha 34, sigma 4, 100
       * epochs) reached 99.42% on MNIST, but take twice the epochs for 0.06 points and cost
       * Fashion-MNIST 5 points. No dropout: with the shifts, dropout 0.3 of hidden outputs
       * cost Fashion-MNIST a point (89.5% against 90.5%) and MNIST nothing measurable. */
      .sgd = {.epochs = 50,
              .batch = 128,
              .lr = 0.05f,
              .lr_end = 0.0005f,
              .schedule = MLP_SCHED_COSINE,
              .warmup = 1,
              .l2 = 1e-4f,
              .momentum = 0.9f,
              .nesterov = true,
              .maxnorm = 3.5f,
              .aug = {.translate = 2.0f}}},
     0,
     0},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

static const preset *find_preset(const char *name)
{
    for (size_t k = 0; k < N_PRESETS; k++)
        if (!strcmp(presets[k].name, name))
            return &presets[k];
    return NULL;
}

/* The values each float flag takes. Where 0 is allowed (for --lr-end a decay to 0; for l2,
 * max-norm, dropout and the augmentations: off) it is exactly 0, never a tiny value that a
 * float keeps as 0 or as a subnormal (cli.h). */
static const mlp_cli_range lr_range = {.lo = 0.0, .hi = 1e6, .lo_open = true};
static const mlp_cli_range lr_end_range = {.lo = 0.0, .hi = 1e6};
static const mlp_cli_range gamma_range = {.lo = 0.0, .hi = 1e3, .lo_open = true};
static const mlp_cli_range l2_range = {.lo = 0.0, .hi = 1.0};
static const mlp_cli_range below_one = {.lo = 0.0, .hi = 1.0, .hi_open = true};
static const mlp_cli_range maxnorm_range = {.lo = 0.0, .hi = 1e6};
static const mlp_cli_range translate_range = {.lo = 0.0, .hi = 100.0}; /* pixels */
static const mlp_cli_range rotate_range = {.lo = 0.0, .hi = 180.0};    /* degrees */
static const mlp_cli_range scale_range = {.lo = 0.0, .hi = 0.9};
static const mlp_cli_range alpha_range = {.lo = 0.0, .hi = 1000.0}; /* pixels */
/* pixels; below 0.1 the smoothing Gaussian's taps beside the centre are below 1e-21 */
static const mlp_cli_range sigma_range = {.lo = 0.1, .hi = 10.0};

/* --elastic A[,S]: each part read as a flag of its own would be */
static int parse_elastic(mlp_args *a, mlp_augment *aug)
{
    const char *v = mlp_cli_value(a);
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    size_t n = strcspn(v, ","); /* ALPHA, then SIGMA after the comma if there is one */
    float alpha = 0.0f, sigma = 4.0f;
    int rc = mlp_cli_parse_float(a->cmd, "--elastic alpha", v, n, alpha_range, &alpha);
    if (rc == 0 && v[n] == ',')
        rc = mlp_cli_parse_float(a->cmd, "--elastic sigma", v + n + 1, strlen(v + n + 1),
                                 sigma_range, &sigma);
    if (rc != 0)
        return rc;
    aug->elastic_alpha = alpha;
    aug->elastic_sigma = sigma;
    return 0;
}

/* Reads the flags into g (given values), *set (which were given) and *preset_name. */
static int parse_flags(int argc, char **argv, train_opts *g, unsigned *set,
                       const char **preset_name)
{
    mlp_args a = {.cmd = "train", .argc = argc, .argv = argv};
    mlp_sgd_opts *s = &g->sgd;
    bool have_dir = false;
    int rc = 0;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *arg = argv[a.i];
        unsigned bit = 0;
        if (!mlp_cli_is_flag(arg)) {
            if (have_dir)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", arg);
            g->dir = arg;
            have_dir = true;
        } else if (mlp_cli_flag(&a, "--preset")) {
            rc = mlp_cli_string(&a, preset_name);
            if (rc == 0 && !find_preset(*preset_name))
                return mlp_cli_usage(a.cmd, "--preset: unknown preset '%s' (see 'mlp presets')",
                                     *preset_name);
        } else if (mlp_cli_flag(&a, "--hidden")) {
            rc = mlp_cli_hidden(&a, g->hidden, &g->n_hidden), bit = SET_HIDDEN;
        } else if (mlp_cli_flag(&a, "--activation")) {
            rc = mlp_cli_name(&a, act_names, 3, &g->act), bit = SET_ACT;
        } else if (mlp_cli_flag(&a, "--cost")) {
            rc = mlp_cli_name(&a, cost_names, 2, &g->cost), bit = SET_COST;
        } else if (mlp_cli_flag(&a, "--epochs")) {
            rc = mlp_cli_size(&a, 1, 100000, &s->epochs), bit = SET_EPOCHS;
        } else if (mlp_cli_flag(&a, "--batch")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_BATCH, &s->batch), bit = SET_BATCH;
        } else if (mlp_cli_flag(&a, "--lr")) {
            rc = mlp_cli_float(&a, lr_range, &s->lr), bit = SET_LR;
        } else if (mlp_cli_flag(&a, "--lr-end")) {
            rc = mlp_cli_float(&a, lr_end_range, &s->lr_end), bit = SET_LR_END;
        } else if (mlp_cli_flag(&a, "--schedule")) {
            int k = 0;
            rc = mlp_cli_name(&a, schedule_names, 4, &k), bit = SET_SCHEDULE;
            s->schedule = (mlp_schedule)k;
        } else if (mlp_cli_flag(&a, "--lr-step")) {
            rc = mlp_cli_size(&a, 1, 100000, &s->lr_step), bit = SET_LR_STEP;
        } else if (mlp_cli_flag(&a, "--lr-gamma")) {
            rc = mlp_cli_float(&a, gamma_range, &s->lr_gamma), bit = SET_LR_GAMMA;
        } else if (mlp_cli_flag(&a, "--warmup")) {
            rc = mlp_cli_size(&a, 0, 100000, &s->warmup), bit = SET_WARMUP;
        } else if (mlp_cli_flag(&a, "--l2")) {
            rc = mlp_cli_float(&a, l2_range, &s->l2), bit = SET_L2;
        } else if (mlp_cli_flag(&a, "--momentum")) {
            rc = mlp_cli_float(&a, below_one, &s->momentum), bit = SET_MOMENTUM;
        } else if (!strcmp(arg, "--nesterov")) {
            s->nesterov = true, bit = SET_NESTEROV;
        } else if (mlp_cli_flag(&a, "--maxnorm")) {
            rc = mlp_cli_float(&a, maxnorm_range, &s->maxnorm), bit = SET_MAXNORM;
        } else if (mlp_cli_flag(&a, "--dropout")) {
            rc = mlp_cli_float(&a, below_one, &s->drop_hidden), bit = SET_DROP;
        } else if (mlp_cli_flag(&a, "--dropout-in")) {
            rc = mlp_cli_float(&a, below_one, &s->drop_in), bit = SET_DROP_IN;
        } else if (mlp_cli_flag(&a, "--translate")) {
            rc = mlp_cli_float(&a, translate_range, &s->aug.translate), bit = SET_TRANSLATE;
        } else if (mlp_cli_flag(&a, "--rotate")) {
            rc = mlp_cli_float(&a, rotate_range, &s->aug.rotate), bit = SET_ROTATE;
        } else if (mlp_cli_flag(&a, "--scale")) {
            rc = mlp_cli_float(&a, scale_range, &s->aug.scale), bit = SET_SCALE;
        } else if (mlp_cli_flag(&a, "--elastic")) {
            rc = parse_elastic(&a, &s->aug), bit = SET_ELASTIC;
        } else if (mlp_cli_flag(&a, "--val")) {
            rc = mlp_cli_size(&a, 0, UINT32_MAX, &s->val), bit = SET_VAL;
        } else if (mlp_cli_flag(&a, "--threads")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_THREADS, &g->threads);
        } else if (mlp_cli_flag(&a, "--kernels")) {
            rc = mlp_cli_kernels(&a, &g->kernels), bit = SET_KERNELS;
        } else if (mlp_cli_flag(&a, "--seed")) {
            rc = mlp_cli_size(&a, 0, SIZE_MAX, &g->seed), bit = SET_SEED;
        } else if (mlp_cli_flag(&a, "--out")) {
            rc = mlp_cli_string(&a, &g->out), bit = SET_OUT;
        } else if (mlp_cli_flag(&a, "--resume")) {
            rc = mlp_cli_string(&a, &g->resume);
        } else if (mlp_cli_flag(&a, "--log")) {
            rc = mlp_cli_string(&a, &g->log);
        } else if (mlp_cli_flag(&a, "--plot")) {
            rc = mlp_cli_string(&a, &g->plot);
        } else if (!strcmp(arg, "--quiet")) {
            g->quiet = true;
        } else if (!mlp_cli_data_flag(&a, &g->data, false, &rc)) {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", arg);
        }
        *set |= bit;
    }
    return rc;
}

/* The options of a run: the preset's, overridden by the flags given, then the defaults that
 * depend on other options. */
static int parse_train(int argc, char **argv, train_opts *o, unsigned *set)
{
    train_opts g = {.dir = "data", .out = "model.bin", .kernels = "auto", .seed = 1};
    const char *name = NULL;
    *set = 0;
    int rc = parse_flags(argc, argv, &g, set, &name);
    if (rc != 0)
        return rc;
    if (name && g.resume)
        return mlp_cli_usage("train", "--preset and --resume: a checkpoint already holds its "
                                      "options; leave --preset out");
    const preset *p = find_preset(name ? name : "3b1b");
    *o = p->o;
    o->dir = g.dir;
    o->data = g.data;
    o->data.dir = g.dir;
    o->out = g.out;
    o->kernels = g.kernels;
    o->resume = g.resume;
    o->log = g.log;
    o->plot = g.plot;
    o->quiet = g.quiet;
    o->threads = g.threads;
    o->seed = g.seed;
    mlp_sgd_opts *s = &o->sgd;
    const mlp_sgd_opts *gs = &g.sgd;
    if (*set & SET_HIDDEN) {
        memcpy(o->hidden, g.hidden, sizeof o->hidden);
        o->n_hidden = g.n_hidden;
    }
    if (*set & SET_ACT)
        o->act = g.act;
    if (*set & SET_COST)
        o->cost = g.cost;
    if (o->cost == MLP_COST_XENT && p->lr_xent > 0.0f)
        s->lr = p->lr_xent;
    if (o->cost == MLP_COST_XENT && p->l2_xent > 0.0f)
        s->l2 = p->l2_xent;
#define TAKE(bit, field)                                                                           \
    if (*set & (bit))                                                                              \
        s->field = gs->field;
    TAKE(SET_EPOCHS, epochs)
    TAKE(SET_BATCH, batch)
    TAKE(SET_LR, lr)
    TAKE(SET_LR_END, lr_end)
    TAKE(SET_SCHEDULE, schedule)
    TAKE(SET_LR_STEP, lr_step)
    TAKE(SET_LR_GAMMA, lr_gamma)
    TAKE(SET_WARMUP, warmup)
    TAKE(SET_L2, l2)
    TAKE(SET_MOMENTUM, momentum)
    TAKE(SET_NESTEROV, nesterov)
    TAKE(SET_MAXNORM, maxnorm)
    TAKE(SET_DROP, drop_hidden)
    TAKE(SET_DROP_IN, drop_in)
    TAKE(SET_TRANSLATE, aug.translate)
    TAKE(SET_ROTATE, aug.rotate)
    TAKE(SET_SCALE, aug.scale)
    TAKE(SET_ELASTIC, aug.elastic_alpha)
    TAKE(SET_ELASTIC, aug.elastic_sigma)
    TAKE(SET_VAL, val)
#undef TAKE
    if (!(*set & SET_LR_END) && p->o.sgd.lr_end == 0.0f)
        s->lr_end = s->lr / 50.0f;
    if (s->lr_step == 0)
        s->lr_step = 10;
    if (s->lr_gamma == 0.0f)
        s->lr_gamma = 0.1f;
    if (s->nesterov && s->momentum == 0.0f)
        return mlp_cli_usage("train", "--nesterov needs --momentum");
    if (g.resume && !(*set & SET_OUT))
        o->out = g.resume; /* keep the checkpoint up to date */
    return 0;
}

/* ---------------------------------------------------------------- command lines */

/* A command line being composed for the model's record or for a hint on stderr. Paths are
 * quoted for the shell (mlp_cli_quote), so whatever is printed runs as printed; a line that
 * does not fit is marked as such and never used cut short. */
typedef struct {
    char s[4 * MLP_MODEL_MAX_CMDLINE];
    size_t len;
    bool overflow;
} cmdline;

static void cmd_add(cmdline *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void cmd_add(cmdline *c, const char *fmt, ...)
{
    va_list ap;
    if (c->overflow)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(c->s + c->len, sizeof c->s - c->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof c->s - c->len) {
        c->overflow = true;
        c->s[c->len] = '\0';
        return;
    }
    c->len += (size_t)n;
}

/* " FLAG WORD", WORD quoted for the shell */
static void cmd_path(cmdline *c, const char *flag, const char *path)
{
    char word[4 * MLP_MODEL_MAX_CMDLINE];
    mlp_cli_quote(word, sizeof word, path);
    cmd_add(c, "%s%s%s", flag, *flag ? " " : "", word);
}

/* " --train-images PATH" and so on, for the files the command line named */
static void cmd_data(cmdline *c, const mlp_idx_files *files)
{
    char flags[4 * 4 * (4096 + 64)] = "";
    mlp_cli_data_flags(flags, sizeof flags, files);
    cmd_add(c, "%s", flags);
}

/* "mlp train DIR --resume PATH [data flags]": the command that continues the run in
 * PATH on the same data */
static void cmd_resume(cmdline *c, const train_opts *o, const char *path)
{
    cmd_add(c, "mlp train ");
    cmd_path(c, "", o->dir);
    cmd_path(c, " --resume", path);
    cmd_data(c, &o->data);
}

/* The command line that reproduces a run, with every option spelled out that differs from
 * the default preset's, so a model keeps meaning the same thing when defaults change. */
static void format_cmdline(cmdline *c, const train_opts *o, const char *kernels)
{
    const mlp_sgd_opts *s = &o->sgd;
    cmd_add(c, "mlp train ");
    cmd_path(c, "", o->dir);
    cmd_add(c, " --hidden ");
    for (size_t l = 0; l < o->n_hidden; l++)
        cmd_add(c, "%s%zu", l ? "," : "", o->hidden[l]);
    if (o->n_hidden == 0)
        cmd_add(c, "none");
    cmd_add(c, " --activation %s --cost %s --epochs %zu --batch %zu --lr %s --schedule %s",
            act_names[o->act], cost_names[o->cost], s->epochs, s->batch, mlp_cli_exact(s->lr).s,
            schedule_names[s->schedule]);
    if (s->schedule == MLP_SCHED_LINEAR || s->schedule == MLP_SCHED_COSINE)
        cmd_add(c, " --lr-end %s", mlp_cli_exact(s->lr_end).s);
    if (s->schedule == MLP_SCHED_STEP)
        cmd_add(c, " --lr-step %zu --lr-gamma %s", s->lr_step, mlp_cli_exact(s->lr_gamma).s);
    if (s->warmup)
        cmd_add(c, " --warmup %zu", s->warmup);
    cmd_add(c, " --l2 %s --momentum %s", mlp_cli_exact(s->l2).s, mlp_cli_exact(s->momentum).s);
    if (s->nesterov)
        cmd_add(c, " --nesterov");
    if (s->maxnorm > 0.0f)
        cmd_add(c, " --maxnorm %s", mlp_cli_exact(s->maxnorm).s);
    if (s->drop_hidden > 0.0f)
        cmd_add(c, " --dropout %s", mlp_cli_exact(s->drop_hidden).s);
    if (s->drop_in > 0.0f)
        cmd_add(c, " --dropout-in %s", mlp_cli_exact(s->drop_in).s);
    if (s->aug.translate > 0.0f)
        cmd_add(c, " --translate %s", mlp_cli_exact(s->aug.translate).s);
    if (s->aug.rotate > 0.0f)
        cmd_add(c, " --rotate %s", mlp_cli_exact(s->aug.rotate).s);
    if (s->aug.scale > 0.0f)
        cmd_add(c, " --scale %s", mlp_cli_exact(s->aug.scale).s);
    if (s->aug.elastic_alpha > 0.0f)
        cmd_add(c, " --elastic %s,%s", mlp_cli_exact(s->aug.elastic_alpha).s,
                mlp_cli_exact(s->aug.elastic_sigma).s);
    if (s->val)
        cmd_add(c, " --val %zu", s->val);
    cmd_add(c, " --seed %zu --kernels %s", o->seed, kernels);
    cmd_path(c, " --out", o->out);
    cmd_data(c, &o->data);
}

/* The command line of a resumed run: the checkpoint's, which reproduces the whole run when
 * only an interruption came between; when --epochs changes the plan, followed by the resume
 * (from the file resumed, into --out, on the same data), so that the commands run one after
 * the other give the model again. */
static void resumed_cmdline(cmdline *c, const mlp_model_meta *m, const train_opts *o)
{
    cmd_add(c, "%s", m->cmdline);
    if (o->sgd.epochs == m->opt.epochs)
        return;
    cmd_add(c, "; ");
    cmd_resume(c, o, o->resume);
    cmd_path(c, " --out", o->out);
    cmd_add(c, " --epochs %zu", o->sgd.epochs);
}

/* ---------------------------------------------------------------- before training */

/* Names every file the run reads and writes (output.h), before any of them is opened: an
 * output aimed at an input, at another output, at a device or into a missing directory is
 * refused here, and the outputs stay locked until the run ends. --out may be the checkpoint
 * being resumed: it is read whole before the first save replaces it. */
static int plan_files(mlp_output_plan *p, const train_opts *o)
{
    static const char *const data_what[4] = {"the training images", "the training labels",
                                             "the test images", "the test labels"};
    char path[MLP_OUTPUT_MAX_PATH];
    mlp_error err, ignored;
    mlp_status st = MLP_OK;
    if (o->resume)
        st = mlp_output_input(p, "--resume", o->resume, MLP_OUTPUT_REPLACEABLE, &err);
    for (int k = 0; k < 4 && st == MLP_OK; k++)
        if (mlp_idx_resolve(path, sizeof path, &o->data, (mlp_idx_file)k, &ignored) == MLP_OK)
            st = mlp_output_input(p, data_what[k], path, 0, &err); /* a missing one: later */
    if (st == MLP_OK)
        st = mlp_output_target(p, "--out", o->out, MLP_OUTPUT_REPLACES | MLP_OUTPUT_HOLD, &err);
    if (st == MLP_OK && o->log)
        st = mlp_output_target(p, "--log", o->log, MLP_OUTPUT_HOLD, &err);
    if (st == MLP_OK && o->plot)
        st = mlp_output_target(p, "--plot", o->plot, MLP_OUTPUT_HOLD, &err);
    return st == MLP_OK ? 0 : mlp_cli_fail(&err);
}

/* Refuses a training run that cannot fit in memory, with the figure, before allocating it. */
static int check_memory(const size_t *sizes, size_t n_sizes, size_t max_batch, bool momentum,
                        const mlp_data *data)
{
    size_t net_bytes, params, total;
    mlp_error err;
    if (!mlp_net_bytes(sizes, n_sizes, max_batch, &net_bytes) ||
        !mlp_net_count_params(sizes, n_sizes, &params) ||
        !mlp_add_size(net_bytes, momentum ? params * sizeof(float) : 0, &total) ||
        !mlp_add_size(total, (data->train.n + data->test.n) * data->train.dim * sizeof(float),
                      &total)) {
        fprintf(stderr, "mlp: the network is too large for this machine's address space\n");
        return MLP_EXIT_DATA;
    }
    if (mlp_mem_check(total, "training (data, network and optimiser state)", &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* Bytes of the model file for this network (an estimate with room for the header). */
static size_t model_bytes(const size_t *sizes, size_t n_sizes, bool momentum)
{
    size_t params = 0;
    mlp_net_count_params(sizes, n_sizes, &params);
    return 8192 + params * sizeof(float) * (momentum ? 2 : 1);
}

/* ---------------------------------------------------------------- resuming */

/* The options of the run saved in a checkpoint, with the flags given now (g, set) checked
 * against them: --epochs may grow, --threads and --out are free, anything else must agree. */
static int resume_opts(train_opts *o, const train_opts *g, unsigned set, const mlp_net *net,
                       const mlp_model_meta *m)
{
    train_opts c = *o;
    c.n_hidden = net->n_layers - 1;
    for (size_t l = 0; l < c.n_hidden; l++)
        c.hidden[l] = net->sizes[l + 1];
    c.act = (int)net->act;
    c.cost = (int)net->cost;
    c.sgd = m->opt;
    c.seed = m->seed;
    c.kernels = m->kernels;

    const mlp_sgd_opts *a = &g->sgd, *b = &c.sgd;
    const char *bad = NULL;
#define DIFF(bit, flag, differs)                                                                   \
    if (!bad && (set & (bit)) && (differs))                                                        \
        bad = flag;
    DIFF(SET_HIDDEN, "--hidden",
         g->n_hidden != c.n_hidden || memcmp(g->hidden, c.hidden, c.n_hidden * sizeof(size_t)))
    DIFF(SET_ACT, "--activation", g->act != c.act)
    DIFF(SET_COST, "--cost", g->cost != c.cost)
    DIFF(SET_BATCH, "--batch", a->batch != b->batch)
    DIFF(SET_LR, "--lr", a->lr != b->lr)
    DIFF(SET_LR_END, "--lr-end", a->lr_end != b->lr_end)
    DIFF(SET_SCHEDULE, "--schedule", a->schedule != b->schedule)
    DIFF(SET_LR_STEP, "--lr-step", a->lr_step != b->lr_step)
    DIFF(SET_LR_GAMMA, "--lr-gamma", a->lr_gamma != b->lr_gamma)
    DIFF(SET_WARMUP, "--warmup", a->warmup != b->warmup)
    DIFF(SET_L2, "--l2", a->l2 != b->l2)
    DIFF(SET_MOMENTUM, "--momentum", a->momentum != b->momentum)
    DIFF(SET_NESTEROV, "--nesterov", a->nesterov != b->nesterov)
    DIFF(SET_MAXNORM, "--maxnorm", a->maxnorm != b->maxnorm)
    DIFF(SET_DROP, "--dropout", a->drop_hidden != b->drop_hidden)
    DIFF(SET_DROP_IN, "--dropout-in", a->drop_in != b->drop_in)
    DIFF(SET_TRANSLATE, "--translate", a->aug.translate != b->aug.translate)
    DIFF(SET_ROTATE, "--rotate", a->aug.rotate != b->aug.rotate)
    DIFF(SET_SCALE, "--scale", a->aug.scale != b->aug.scale)
    DIFF(SET_ELASTIC, "--elastic",
         a->aug.elastic_alpha != b->aug.elastic_alpha ||
             a->aug.elastic_sigma != b->aug.elastic_sigma)
    DIFF(SET_VAL, "--val", a->val != b->val)
    DIFF(SET_SEED, "--seed", g->seed != c.seed)
    DIFF(SET_KERNELS, "--kernels", strcmp(mlp_kernels_get(g->kernels)->name, c.kernels) != 0)
#undef DIFF
    if (bad)
        return mlp_cli_usage("train",
                             "%s contradicts the checkpoint %s; leave it out to resume with the "
                             "saved value, which 'mlp info %s' shows",
                             bad, o->resume, o->resume);
    size_t least = m->done_epochs + (m->pos > 0);
    if (set & SET_EPOCHS) {
        if (a->epochs < least)
            return mlp_cli_usage("train",
                                 "--epochs %zu: the checkpoint %s has already trained %zu epochs",
                                 a->epochs, o->resume, (size_t)m->done_epochs);
        c.sgd.epochs = a->epochs;
    }
    if (!mlp_kernels_get(c.kernels)) {
        fprintf(stderr,
                "mlp: note: %s was trained with the %s kernels, which this machine lacks; "
                "continuing with the fastest it has, so the result will differ slightly from "
                "an uninterrupted run\n",
                o->resume, c.kernels);
        c.kernels = "auto";
    }
    *o = c;
    return 0;
}

/* ---------------------------------------------------------------- signals */

/* Which signal asked the run to stop: set by output.c's handler on the first SIGINT, SIGTERM
 * or SIGHUP; a second one removes the temporary and lock files and ends the program. */
static volatile sig_atomic_t stop_signal;

static const char *stop_word(int sig)
{
    return sig == SIGINT ? "interrupted" : sig == SIGHUP ? "hung up" : "terminated";
}

/* ---------------------------------------------------------------- training */

typedef struct {
    train_opts o;
    mlp_data data;
    mlp_net net;
    mlp_sgd sgd;
    mlp_pool *pool;
    mlp_model_meta meta; /* what the next save writes */
    mlp_output_plan files; /* what the run reads and writes (output.h) */
    mlp_model_meta saved;  /* the checkpoint resumed; zero for a new run */
    size_t sizes[MLP_MAX_LAYERS + 1], n_sizes; /* the layer sizes, inputs first */
    mlp_plot_run curves;                       /* --log and --plot */
    char title[MLP_OUTPUT_MAX_PATH + 512];      /* of the chart */
    mlp_eval_result ev;                        /* scratch of the evaluations */
    uint32_t data_crc;
    float *best;     /* (n_params) the best-by-validation epoch's parameters; NULL without --val */
    float best_val;  /* its validation accuracy, -1 before any */
    float best_test; /* its test accuracy */
    size_t best_epoch;
    float last_test; /* test accuracy of the current parameters, -1 before any */
} run;

/* Saves the model and the training state to o.out: with --val, the parameters of the best
 * epoch so far, and the current ones beside them when they differ. */
static int save_checkpoint(run *r)
{
    mlp_error err;
    mlp_model_meta *m = &r->meta;
    const mlp_sgd_state *st = &r->sgd.st;
    mlp_net view = r->net; /* what gets written; only its params differ from the net's */
    m->rows = (uint32_t)r->data.train.rows;
    m->cols = (uint32_t)r->data.train.cols;
    m->opt = r->o.sgd;
    m->seed = r->o.seed;
    m->n_train = (uint32_t)r->data.train.n;
    m->test_accuracy = r->last_test;
    m->has_state = 1;
    m->done_epochs = st->epoch;
    m->pos = st->pos;
    m->rng = st->rng;
    m->epoch_rng = st->epoch_rng;
    m->cost = st->pos ? st->cost : 0.0;
    m->correct = st->pos ? st->correct : 0;
    m->data_crc = r->data_crc;
    snprintf(m->kernels, sizeof m->kernels, "%s", r->net.kern->name);
    m->vel = r->sgd.vel;
    m->best_val = r->best_val;
    m->best_epoch = (uint32_t)r->best_epoch;
    m->cur = NULL;
    if (r->best && r->best_epoch > 0) {
        view.params = r->best;
        m->test_accuracy = r->best_test;
        if (r->best_epoch != st->epoch || st->pos)
            m->cur = r->net.params;
    }
    mlp_output w;
    if (mlp_output_open(&w, &r->files, r->o.out, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (mlp_model_write(w.f, &view, m, &err) != MLP_OK) { /* its message names no file */
        mlp_output_abort(&w);
        fprintf(stderr, "mlp: %s: %s\n", r->o.out, err.msg);
        return MLP_EXIT_DATA;
    }
    if (mlp_output_commit(&w, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* "... saved PATH after epoch N; resume with: mlp train ..." closing the line on stderr that
 * explains why the run stops early: what is safe on disk and the command that goes on. */
static void tell_resume(const run *r)
{
    const mlp_sgd_state *st = &r->sgd.st;
    cmdline c = {.len = 0};
    cmd_resume(&c, &r->o, r->o.out);
    if (r->o.log) /* the log goes on from the rows it holds */
        cmd_path(&c, " --log", r->o.log);
    if (r->o.plot)
        cmd_path(&c, " --plot", r->o.plot);
    if (st->pos)
        fprintf(stderr, "the checkpoint %s holds epoch %zu up to image %zu of %zu; ", r->o.out,
                st->epoch + 1, st->pos, r->sgd.n);
    else
        fprintf(stderr, "the checkpoint %s holds epoch %zu; ", r->o.out, st->epoch);
    fprintf(stderr, "resume with: %s\n", c.overflow ? "(the command is too long to print)" : c.s);
}

static int stopped(run *r, int sig)
{
    fprintf(stderr, "mlp: %s: ", stop_word(sig));
    tell_resume(r);
    return 128 + sig;
}

static void print_plan(const run *r)
{
    const train_opts *o = &r->o;
    const mlp_sgd_opts *s = &o->sgd;
    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &r->net);
    printf("network %s, %s hidden, %s cost, %zu parameters\n", layout, mlp_act_name(r->net.act),
           mlp_cost_name(r->net.cost), r->net.n_params);
    printf("data %s: %zu training",
           o->data.path[MLP_IDX_TRAIN_IMAGES] ? o->data.path[MLP_IDX_TRAIN_IMAGES] : o->dir,
           r->data.train.n - s->val);
    if (s->val)
        printf(" (and %zu held out for validation)", s->val);
    printf(" and %zu test images of %zux%zu, %zu classes\n", r->data.test.n, r->data.train.rows,
           r->data.train.cols, r->data.n_classes);
    printf("training %zu epoch%s, batch %zu, learning rate %s", s->epochs,
           s->epochs == 1 ? "" : "s", s->batch, mlp_cli_exact(s->lr).s);
    if (s->schedule == MLP_SCHED_LINEAR || s->schedule == MLP_SCHED_COSINE)
        printf(" falling %s to %s", s->schedule == MLP_SCHED_LINEAR ? "linearly" : "as a cosine",
               mlp_cli_exact(s->lr_end).s);
    if (s->schedule == MLP_SCHED_STEP)
        printf(" times %s every %zu epochs", mlp_cli_exact(s->lr_gamma).s, s->lr_step);
    if (s->warmup)
        printf(" after %zu warm-up epochs", s->warmup);
    if (s->momentum > 0.0f)
        printf(", %smomentum %s", s->nesterov ? "Nesterov " : "", mlp_cli_exact(s->momentum).s);
    printf(", L2 %s, seed %zu\n", mlp_cli_exact(s->l2).s, o->seed);
    if (s->drop_in > 0.0f || s->drop_hidden > 0.0f || s->maxnorm > 0.0f)
        printf("regularisation: dropout %s of inputs and %s of hidden outputs, max-norm %s\n",
               mlp_cli_exact(s->drop_in).s, mlp_cli_exact(s->drop_hidden).s,
               s->maxnorm > 0.0f ? mlp_cli_exact(s->maxnorm).s : "off");
    if (mlp_augment_active(&s->aug))
        printf("augmentation: shifts up to %s px, rotations up to %s deg, scaling up to %s, "
               "elastic %s,%s\n",
               mlp_cli_exact(s->aug.translate).s, mlp_cli_exact(s->aug.rotate).s,
               mlp_cli_exact(s->aug.scale).s, mlp_cli_exact(s->aug.elastic_alpha).s,
               mlp_cli_exact(s->aug.elastic_sigma).s);
    printf("kernels %s, %zu thread%s\n", r->net.kern->name, mlp_pool_size(r->pool),
           mlp_pool_size(r->pool) > 1 ? "s" : "");
}

/* ---------------------------------------------------------------- the steps of a run */

/* Reads the options, names the files (refusing a bad output before anything is loaded),
 * and with --resume loads the checkpoint and takes its options. */
static int open_run(run *r, int argc, char **argv)
{
    train_opts given;
    unsigned set;
    mlp_error err;
    int rc = parse_train(argc, argv, &r->o, &set);
    if (rc != 0)
        return rc;
    given = r->o;
    if ((rc = plan_files(&r->files, &r->o)) != 0 || !r->o.resume)
        return rc;
    if (mlp_model_load_state(r->o.resume, &r->net, MLP_EVAL_BATCH, &r->saved, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (!r->saved.has_state) {
        fprintf(stderr, "mlp: %s: holds no training state to resume\n", r->o.resume);
        return MLP_EXIT_DATA;
    }
    return resume_opts(&r->o, &given, set, &r->net, &r->saved);
}

/* The record of the run for the model file, composed before any work so that one too long
 * for the file is refused rather than cut short. */
static int record_run(run *r)
{
    cmdline c = {.len = 0};
    if (r->o.resume)
        resumed_cmdline(&c, &r->saved, &r->o);
    else
        format_cmdline(&c, &r->o, mlp_kernels_get(r->o.kernels)->name);
    if (c.overflow || c.len > MLP_MODEL_MAX_CMDLINE)
        return mlp_cli_usage("train",
                             "the command line to record in the model is %s bytes, more than the "
                             "%d a model file keeps; use shorter paths",
                             c.overflow ? "over 16,000" : mlp_cli_count(c.len).s,
                             MLP_MODEL_MAX_CMDLINE);
    memcpy(r->meta.cmdline, c.s, c.len + 1);
    return 0;
}

/* Loads the data and checks it against the options and, resuming, against the checkpoint. */
static int load_data(run *r)
{
    const train_opts *o = &r->o;
    const mlp_model_meta *saved = &r->saved;
    mlp_error err;
    if (mlp_idx_load_files(&r->data, &o->data, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (r->data.n_classes > MLP_MODEL_MAX_CLASSES || r->data.train.rows > UINT32_MAX ||
        r->data.train.cols > UINT32_MAX || r->data.train.n > UINT32_MAX) {
        fprintf(stderr, "mlp: %s: dataset too large for the model format\n", o->dir);
        return MLP_EXIT_DATA;
    }
    if (o->sgd.val >= r->data.train.n)
        return mlp_cli_usage("train", "--val %zu: the training set has only %zu images",
                             o->sgd.val, r->data.train.n);
    r->data_crc = mlp_crc32(0, r->data.train.y, r->data.train.n);
    r->meta.images_crc =
        mlp_model_images_crc(r->data.train.x, r->data.train.n * r->data.train.dim);

    r->n_sizes = 0;
    r->sizes[r->n_sizes++] = r->data.train.dim;
    for (size_t l = 0; l < o->n_hidden; l++)
        r->sizes[r->n_sizes++] = o->hidden[l];
    r->sizes[r->n_sizes++] = r->data.n_classes;
    if (!o->resume)
        return 0;
    bool sizes_differ = r->net.sizes[0] != r->sizes[0] ||
                        r->net.sizes[r->net.n_layers] != r->sizes[r->n_sizes - 1] ||
                        saved->rows != r->data.train.rows || saved->n_train != r->data.train.n;
    bool images_differ = saved->has_images_crc && saved->images_crc != r->meta.images_crc;
    bool labels_differ = saved->data_crc != r->data_crc;
    if (sizes_differ || images_differ || labels_differ) {
        /* the file that differs, when it was named; else the directory */
        mlp_idx_file which = images_differ ? MLP_IDX_TRAIN_IMAGES : MLP_IDX_TRAIN_LABELS;
        fprintf(stderr, "mlp: %s: not the data %s was trained on (%s)\n",
                o->data.path[which] ? o->data.path[which] : o->dir, o->resume,
                sizes_differ                     ? "the sizes differ"
                : images_differ && labels_differ ? "the training images and labels differ"
                : images_differ                  ? "the training images differ"
                                                 : "the training labels differ");
        return MLP_EXIT_DATA;
    }
    if (!saved->has_images_crc)
        fprintf(stderr,
                "mlp: note: %s predates image fingerprints; the training images cannot be "
                "checked\n",
                o->resume);
    return 0;
}

/* Room for the training batch and for evaluation batches. */
static size_t max_batch(const train_opts *o)
{
    return o->sgd.batch > MLP_EVAL_BATCH ? o->sgd.batch : MLP_EVAL_BATCH;
}

/* Memory and disk, before anything large is allocated. */
static int preflight(run *r)
{
    bool momentum = r->o.sgd.momentum > 0.0f;
    size_t bytes = model_bytes(r->sizes, r->n_sizes, momentum) * (r->o.sgd.val ? 2 : 1);
    mlp_error err;
    int rc = check_memory(r->sizes, r->n_sizes, max_batch(&r->o), momentum, &r->data);
    if (rc == 0 && mlp_output_room(&r->files, r->o.out, bytes, &err) != MLP_OK)
        rc = mlp_cli_fail(&err);
    return rc;
}

/* The network (new, or the checkpoint's), the pool, the optimiser and, resuming, its state. */
static int build(run *r)
{
    const train_opts *o = &r->o;
    mlp_model_meta *saved = &r->saved;
    mlp_error err;
    if ((!o->resume && mlp_net_init(&r->net, r->sizes, r->n_sizes, (mlp_act)o->act,
                                    (mlp_cost)o->cost, max_batch(o), &err) != MLP_OK) ||
        mlp_pool_create(&r->pool, o->threads ? o->threads : mlp_pool_cpus(), &err) != MLP_OK)
        return mlp_cli_fail(&err);
    r->net.pool = r->pool; /* before sgd init: augmentation scratch is per thread */
    r->net.kern = mlp_kernels_get(o->kernels);
    if (mlp_sgd_init(&r->sgd, &r->net, r->data.train.n, r->data.train.rows, r->data.train.cols,
                     &o->sgd, o->seed, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (o->sgd.val && !(r->best = mlp_alloc_array(r->net.n_params, sizeof(float)))) {
        fprintf(stderr, "mlp: out of memory for the best model's parameters\n");
        return MLP_EXIT_DATA;
    }
    if (!o->resume) {
        mlp_net_init_params(&r->net, o->seed);
        return 0;
    }
    mlp_sgd_state st = {.epoch = saved->done_epochs,
                        .pos = saved->pos,
                        .rng = saved->rng,
                        .epoch_rng = saved->epoch_rng,
                        .cost = saved->cost,
                        .correct = saved->correct};
    if (r->sgd.vel)
        memcpy(r->sgd.vel, saved->vel, r->net.n_params * sizeof(float));
    if (r->best) {
        memcpy(r->best, r->net.params, r->net.n_params * sizeof(float));
        if (saved->cur) /* the file's own parameters are the best; go on from the last */
            memcpy(r->net.params, saved->cur, r->net.n_params * sizeof(float));
        r->best_val = saved->best_val;
        r->best_epoch = saved->best_epoch;
        r->best_test = saved->test_accuracy;
    }
    r->last_test = saved->test_accuracy;
    mlp_sgd_restore(&r->sgd, &st);
    return 0;
}

/* Opens the log and the chart (keeping, resuming, the rows of the epochs done). */
static int open_curves(run *r)
{
    char layout[256], dir[MLP_OUTPUT_MAX_PATH];
    mlp_error err;
    mlp_cli_layout(layout, sizeof layout, &r->net);
    mlp_cli_quote(dir, sizeof dir, r->o.dir);
    snprintf(r->title, sizeof r->title, "mlp train %s: %s, %s hidden, %s cost", dir, layout,
             mlp_act_name(r->net.act), mlp_cost_name(r->net.cost));
    if (mlp_plot_run_open(&r->curves, &r->files, r->o.log, r->o.plot, r->title, r->sgd.st.epoch,
                          &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* Validation (with --val) and test accuracy of the epoch just trained. */
static int evaluate(run *r, const mlp_epoch_stats *es, double *val_acc)
{
    mlp_error err;
    *val_acc = NAN;
    if (r->best) {
        mlp_eval_free(&r->ev);
        if (mlp_eval_rows(&r->net, &r->data.train, r->sgd.val_rows, r->o.sgd.val, &r->ev, &err) !=
            MLP_OK)
            return mlp_cli_fail(&err);
        float v = (float)mlp_eval_accuracy(&r->ev);
        *val_acc = 100.0 * v;
        if (v > r->best_val) {
            r->best_val = v;
            r->best_epoch = es->epoch;
            memcpy(r->best, r->net.params, r->net.n_params * sizeof(float));
        }
    }
    mlp_eval_free(&r->ev);
    if (mlp_eval(&r->net, &r->data.test, &r->ev, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    r->last_test = (float)mlp_eval_accuracy(&r->ev);
    if (r->best && r->best_epoch == es->epoch)
        r->best_test = r->last_test;
    return 0;
}

/* After an epoch: the checkpoint first, so that nothing after it can lose the epoch; then the
 * line on stdout, the log and the chart. A failure of those stops the run, saying that the
 * checkpoint is safe and how to go on. */
static int report_epoch(run *r, const mlp_epoch_stats *es, double dt)
{
    double val_acc, train_acc = 100.0 * (double)es->correct / (double)es->n;
    char val[32] = "";
    mlp_error err;
    int rc = evaluate(r, es, &val_acc);
    if (rc == 0)
        rc = save_checkpoint(r);
    if (rc != 0)
        return rc;
    if (r->best)
        snprintf(val, sizeof val, "  val %6.2f%%", val_acc);
    printf("epoch %3zu  cost %.4f  train %6.2f%%%s  test %6.2f%%  %6.2f s  %8.0f img/s\n",
           es->epoch, es->cost, train_acc, val, 100.0 * r->last_test, dt,
           dt > 0.0 ? (double)es->n / dt : 0.0); /* a coarse clock can see no time pass */
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mlp: standard output: write error%s%s; ", errno ? ": " : "",
                errno ? strerror(errno) : "");
        tell_resume(r);
        return MLP_EXIT_DATA;
    }
    mlp_plot_row row = {es->epoch, es->cost,  train_acc, val_acc, 100.0 * r->last_test,
                        es->lr,    dt};
    if (mlp_plot_run_epoch(&r->curves, &row, &err) != MLP_OK) {
        fprintf(stderr, "mlp: %s; ", err.msg);
        tell_resume(r);
        return MLP_EXIT_DATA;
    }
    return 0;
}

/* The epochs, each reported; a signal saves after the batch under way and stops. */
static int run_epochs(run *r)
{
    mlp_progress bar;
    mlp_error err;
    /* the bar only on a terminal: stdout and a redirected stderr stay as they were */
    mlp_progress_init(&bar, !r->o.quiet && isatty(STDERR_FILENO) ? stderr : NULL,
                      r->o.sgd.epochs);
    r->sgd.hooks.progress = mlp_progress_hook;
    r->sgd.hooks.ctx = &bar;
    r->sgd.hooks.stop = &stop_signal;
    while (r->sgd.st.epoch < r->o.sgd.epochs) {
        mlp_epoch_stats es;
        double t0 = mlp_now();
        mlp_progress_epoch(&bar, r->sgd.st.epoch + 1, t0);
        mlp_status st = mlp_sgd_epoch(&r->sgd, &r->net, &r->data.train, &es, &err);
        mlp_progress_clear(&bar);
        if (st == MLP_ESTOP) {
            int rc = save_checkpoint(r);
            return rc ? rc : stopped(r, stop_signal);
        }
        if (st != MLP_OK) {
            fprintf(stderr, "mlp: %s; %s\n", err.msg,
                    r->sgd.st.epoch ? "the last good model is the one saved after the previous "
                                      "epoch"
                                    : "nothing saved");
            return MLP_EXIT_DATA;
        }
        int rc = report_epoch(r, &es, mlp_now() - t0);
        if (rc != 0)
            return rc;
        if (stop_signal && r->sgd.st.epoch < r->o.sgd.epochs)
            return stopped(r, stop_signal);
    }
    if (r->best)
        printf("saved %s: epoch %zu, the best on validation (%.2f%%); its test accuracy %.2f%%\n",
               r->o.out, r->best_epoch, 100.0 * r->best_val, 100.0 * r->best_test);
    else
        printf("saved %s (test accuracy %.2f%%)\n", r->o.out, 100.0 * r->last_test);
    return 0;
}

static int close_run(run *r, int rc)
{
    mlp_error err;
    if (mlp_plot_run_close(&r->curves, &err) != MLP_OK && rc == 0)
        rc = mlp_cli_fail(&err);
    mlp_eval_free(&r->ev);
    mlp_model_meta_free(&r->saved);
    free(r->best);
    mlp_sgd_free(&r->sgd);
    mlp_net_free(&r->net);
    mlp_pool_destroy(r->pool);
    mlp_data_free(&r->data);
    mlp_output_plan_free(&r->files);
    return rc;
}

static int train_main(int argc, char **argv)
{
    run r = {.best_val = -1.0f, .best_test = -1.0f, .last_test = -1.0f};
    /* a first SIGINT, SIGTERM or SIGHUP stops after the batch under way, saving; a closed
     * stdout is a write error the epoch report sees, not a silent death */
    mlp_output_signals(&stop_signal);
    signal(SIGPIPE, SIG_IGN);
    int rc = open_run(&r, argc, argv);
    if (rc == 0)
        rc = record_run(&r);
    if (rc == 0)
        rc = load_data(&r);
    if (rc == 0)
        rc = preflight(&r);
    if (rc == 0)
        rc = build(&r);
    if (rc != 0)
        return close_run(&r, rc);
    print_plan(&r);
    if (r.o.resume)
        printf("resuming %s after epoch %zu%s\n", r.o.resume, (size_t)r.saved.done_epochs,
               r.saved.pos ? " (and part of the next)" : "");
    if (r.sgd.st.epoch >= r.o.sgd.epochs) {
        printf("%s has already trained %zu epochs; nothing to do (--epochs N trains more)\n",
               r.o.resume, r.o.sgd.epochs);
        return close_run(&r, 0);
    }
    fflush(stdout);
    rc = open_curves(&r);
    if (rc == 0)
        rc = run_epochs(&r);
    return close_run(&r, rc);
}

/* ---------------------------------------------------------------- presets */

/* Kept beside the table above; test_train checks that every preset is listed. */
static const char *const presets_help =
    "usage: mlp presets\n"
    "\n"
    "Named configurations for 'mlp train --preset NAME'; flags given after it override its\n"
    "values. README.md gives the accuracy and time each reaches on MNIST and Fashion-MNIST.\n"
    "\n"
    "  3b1b      784-16-16-10 sigmoid, quadratic cost, batch 10, lr 1.5 falling linearly to\n"
    "            0.03, L2 2e-5, 40 epochs: the network of the backpropagation lessons\n"
    "            (the default; with --cost xent: lr 0.5, L2 1e-4). Published: ~96%.\n"
    "  nielsen   784-30-10 sigmoid, quadratic cost, batch 10, lr 3.0, 30 epochs, as\n"
    "            network.py (Nielsen, ch. 1). Published: 95.42%.\n"
    "  nielsen2  784-100-10 sigmoid, cross-entropy, L2 1e-4 (lambda 5 over 50,000 images),\n"
    "            batch 10, lr 0.5 falling linearly to 0.01, 60 epochs, after network2.py\n"
    "            (Nielsen, ch. 3, whose rate stays at 0.5). Published: 98.04%.\n"
    "  simard    784-800-10 ReLU, cross-entropy, no distortions (Simard et al. 2003): batch 64,\n"
    "            momentum 0.9, lr 0.05 falling as a cosine, L2 1e-4, 40 epochs.\n"
    "            Published: 98.4%.\n"
    "  best      784-1200-1200-10 ReLU, cross-entropy, max-norm 3.5, Nesterov momentum 0.9,\n"
    "            lr 0.05 after a warm-up epoch falling as a cosine to 0.0005, L2 1e-4,\n"
    "            training images shifted by up to 2 whole pixels, batch 128, 50 epochs.\n"
    "            Published: 98.95-99.05% for dropout MLPs without distortions (Srivastava\n"
    "            et al. 2014), 99.3% for 784-800-10 with elastic distortions (Simard et al.\n"
    "            2003).\n";

static int presets_main(int argc, char **argv)
{
    if (argc > 0)
        return mlp_cli_usage("presets", "unexpected argument '%s'", argv[0]);
    fputs(presets_help, stdout);
    return 0;
}

const mlp_command mlp_cmd_presets = {
    "presets", "", "list the named configurations of train", presets_help, presets_main, NULL};
const mlp_command mlp_cmd_train = {
    "train", "[DIR]",    "train a network on DIR's four IDX files (default: data)",
    help,    train_main, help_more};
