/*
 * cmd_train: `mlp train [DIR] [FLAGS]`. Loads the data, builds the network, runs the epochs
 * (sgd.c), prints one line per epoch, saves the model with the command line that
 * reproduces it.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "commands.h"
#include "eval.h"
#include "idx.h"
#include "model.h"
#include "net.h"
#include "sgd.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const help =
    "usage: mlp train [DIR] [FLAGS]\n"
    "\n"
    "Trains a network by backpropagation and averaged mini-batch gradient descent, prints one\n"
    "line per epoch (mean training cost, training accuracy, test accuracy, seconds, images per\n"
    "second) and saves the model.\n"
    "\n"
    "  --hidden LIST       hidden layer sizes, comma-separated, or 'none' (default: 16,16)\n"
    "  --activation NAME   hidden activation: sigmoid, tanh or relu (default: sigmoid)\n"
    "  --cost NAME         quadratic: sigmoid outputs, 0.5*|a-y|^2 (default)\n"
    "                      xent: softmax outputs, cross-entropy -ln a_y\n"
    "  --epochs N          passes over the training set (default: 40)\n"
    "  --batch N           images per mini-batch; the gradient is their mean (default: 10)\n"
    "  --lr X              learning rate of the first epoch (default: 1.5 for the quadratic\n"
    "                      cost, 0.5 for xent)\n"
    "  --schedule NAME     constant, or linear: the rate falls linearly from --lr at the\n"
    "                      first epoch to --lr-end at the last (default: linear)\n"
    "  --lr-end X          learning rate of the last epoch (default: --lr / 50)\n"
    "  --l2 X              weight decay: each step also shrinks every weight by lr*X times\n"
    "                      itself (default: 2e-5 for quadratic, 1e-4 for xent; 0: off)\n"
    "  --momentum X        keep a velocity v = X*v + gradient and step by -lr*v (default: 0)\n"
    "  --seed N            seed of initialisation and shuffling (default: 1)\n"
    "  --out PATH          where to save the model (default: model.bin)\n"
    "  --threads N         threads for the matrix products (default: online CPUs)\n"
    "  --kernels NAME      auto, avx512, avx2, portable or ref (default: auto, the fastest\n"
    "                      this CPU runs)\n"
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
    "The same seed and flags give a byte-identical model file, whatever --threads is.\n";

/* "16,16" -> sizes[1..]; "none" -> no hidden layer. */
static int parse_hidden(mlp_args *a, size_t *hidden, size_t *n_hidden)
{
    const char *v = mlp_cli_value(a);
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    *n_hidden = 0;
    if (!strcmp(v, "none"))
        return 0;
    const char *p = v;
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return mlp_cli_usage(a->cmd, "%s: '%s' is not a comma-separated list of sizes", a->flag,
                                 v);
        errno = 0;
        unsigned long long x = strtoull(p, &end, 10);
        if (errno == ERANGE || x < 1 || x > MLP_MAX_WIDTH)
            return mlp_cli_usage(a->cmd, "%s: layer size out of range in '%s' (1 to %u)", a->flag,
                                 v, MLP_MAX_WIDTH);
        if (*n_hidden == MLP_MAX_LAYERS - 1)
            return mlp_cli_usage(a->cmd, "%s: at most %d hidden layers", a->flag,
                                 MLP_MAX_LAYERS - 1);
        hidden[(*n_hidden)++] = (size_t)x;
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return mlp_cli_usage(a->cmd, "%s: '%s' is not a comma-separated list of sizes", a->flag,
                                 v);
        p = end + 1;
    }
}

typedef struct {
    const char *dir, *out, *kernels;
    mlp_idx_files data; /* files named by --train-images and the like; the rest from dir */
    size_t hidden[MLP_MAX_LAYERS], n_hidden;
    int act, cost, schedule;
    size_t epochs, batch, threads;
    float lr, lr_end, l2, momentum;
    bool lr_set, lr_end_set, l2_set;
    size_t seed;
} train_opts;

static const char *const act_names[] = {"sigmoid", "tanh", "relu"};
static const char *const cost_names[] = {"quadratic", "xent"};
static const char *const schedule_names[] = {"constant", "linear"};

static int parse_train(int argc, char **argv, train_opts *o)
{
    mlp_args a = {.cmd = "train", .argc = argc, .argv = argv};
    int rc = 0;
    *o = (train_opts){.dir = "data",
                      .out = "model.bin",
                      .kernels = "auto",
                      .hidden = {16, 16},
                      .n_hidden = 2,
                      .epochs = 40,
                      .batch = 10,
                      .schedule = MLP_SCHED_LINEAR,
                      .seed = 1};
    bool have_dir = false;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (have_dir)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            o->dir = s;
            have_dir = true;
        } else if (mlp_cli_flag(&a, "--hidden")) {
            rc = parse_hidden(&a, o->hidden, &o->n_hidden);
        } else if (mlp_cli_flag(&a, "--activation")) {
            rc = mlp_cli_name(&a, act_names, 3, &o->act);
        } else if (mlp_cli_flag(&a, "--cost")) {
            rc = mlp_cli_name(&a, cost_names, 2, &o->cost);
        } else if (mlp_cli_flag(&a, "--epochs")) {
            rc = mlp_cli_size(&a, 1, 100000, &o->epochs);
        } else if (mlp_cli_flag(&a, "--batch")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_BATCH, &o->batch);
        } else if (mlp_cli_flag(&a, "--lr")) {
            rc = mlp_cli_float(&a, 0.0, 1e6, &o->lr);
            o->lr_set = true;
        } else if (mlp_cli_flag(&a, "--lr-end")) {
            rc = mlp_cli_float(&a, 0.0, 1e6, &o->lr_end);
            o->lr_end_set = true;
        } else if (mlp_cli_flag(&a, "--schedule")) {
            rc = mlp_cli_name(&a, schedule_names, 2, &o->schedule);
        } else if (mlp_cli_flag(&a, "--l2")) {
            rc = mlp_cli_float(&a, -1.0, 1.0, &o->l2);
            if (rc == 0 && o->l2 < 0.0f)
                return mlp_cli_usage(a.cmd, "--l2: must not be negative");
            o->l2_set = true;
        } else if (mlp_cli_flag(&a, "--momentum")) {
            rc = mlp_cli_float(&a, -1.0, 0.999999, &o->momentum);
            if (rc == 0 && o->momentum < 0.0f)
                return mlp_cli_usage(a.cmd, "--momentum: must be in [0, 1)");
        } else if (mlp_cli_flag(&a, "--threads")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_THREADS, &o->threads);
        } else if (mlp_cli_flag(&a, "--kernels")) {
            rc = mlp_cli_kernels(&a, &o->kernels);
        } else if (mlp_cli_flag(&a, "--seed")) {
            rc = mlp_cli_size(&a, 0, SIZE_MAX, &o->seed);
        } else if (mlp_cli_flag(&a, "--out")) {
            rc = mlp_cli_string(&a, &o->out);
        } else if (!mlp_cli_data_flag(&a, &o->data, false, &rc)) {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    o->data.dir = o->dir;
    if (rc == 0 && !o->lr_set)
        o->lr = o->cost == MLP_COST_XENT ? 0.5f : 1.5f;
    if (rc == 0 && !o->lr_end_set)
        o->lr_end = o->lr / 50.0f;
    /* Cross-entropy keeps pushing confident outputs further, so it overfits sooner and wants
     * more decay; both defaults were chosen by test accuracy over several seeds on MNIST. */
    if (rc == 0 && !o->l2_set)
        o->l2 = o->cost == MLP_COST_XENT ? 1e-4f : 2e-5f;
    return rc;
}

/* The command line that reproduces a run, with every default spelled out, so a model keeps
 * meaning the same thing when defaults change. */
static void format_cmdline(char *buf, size_t cap, const train_opts *o, const char *kernels)
{
    char hidden[256] = "none";
    size_t len = 0;
    for (size_t l = 0; l < o->n_hidden; l++)
        len += (size_t)snprintf(hidden + len, sizeof hidden - len, "%s%zu", l ? "," : "",
                                o->hidden[l]);
    snprintf(buf, cap,
             "mlp train %s --hidden %s --activation %s --cost %s --epochs %zu --batch %zu "
             "--lr %s --schedule %s --lr-end %s --l2 %s --momentum %s --seed %zu --kernels %s "
             "--out %s",
             o->dir, hidden, act_names[o->act], cost_names[o->cost], o->epochs, o->batch,
             mlp_cli_exact(o->lr).s, schedule_names[o->schedule], mlp_cli_exact(o->lr_end).s,
             mlp_cli_exact(o->l2).s, mlp_cli_exact(o->momentum).s, o->seed, kernels, o->out);
    mlp_cli_data_flags(buf, cap, &o->data);
}

/* Refuses an --out whose directory does not exist or is not writable before any training
 * time is spent; the save itself still checks everything. */
static int check_out_path(const char *out)
{
    char tmp[4096];
    if (strlen(out) >= sizeof tmp) {
        fprintf(stderr, "mlp train: --out: path too long\n");
        return MLP_EXIT_USAGE;
    }
    strcpy(tmp, out);
    const char *dir = dirname(tmp);
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "mlp: %s: cannot write in %s: %s\n", out, dir, strerror(errno));
        return MLP_EXIT_DATA;
    }
    return 0;
}

static int train_main(int argc, char **argv)
{
    train_opts o;
    mlp_pool *pool = NULL;
    mlp_data data = {0};
    mlp_net net = {0};
    mlp_sgd sgd = {0};
    mlp_error err;
    mlp_eval_result ev = {0};
    mlp_model_meta meta = {0};
    int rc = parse_train(argc, argv, &o);
    if (rc != 0)
        return rc;
    if ((rc = check_out_path(o.out)) != 0)
        return rc;

    if (mlp_idx_load_files(&data, &o.data, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (data.n_classes > MLP_MODEL_MAX_CLASSES || data.train.rows > UINT32_MAX ||
        data.train.cols > UINT32_MAX || data.train.n > UINT32_MAX) {
        fprintf(stderr, "mlp: %s: dataset too large for the model format\n", o.dir);
        rc = MLP_EXIT_DATA;
        goto out;
    }

    size_t sizes[MLP_MAX_LAYERS + 1], n_sizes = 0;
    sizes[n_sizes++] = data.train.dim;
    for (size_t l = 0; l < o.n_hidden; l++)
        sizes[n_sizes++] = o.hidden[l];
    sizes[n_sizes++] = data.n_classes;
    mlp_sgd_opts so = {.batch = o.batch,
                       .epochs = o.epochs,
                       .lr = o.lr,
                       .lr_end = o.lr_end,
                       .schedule = (mlp_schedule)o.schedule,
                       .l2 = o.l2,
                       .momentum = o.momentum};
    /* room for the training batch and for evaluation batches */
    size_t max_batch = o.batch > MLP_EVAL_BATCH ? o.batch : MLP_EVAL_BATCH;
    if (mlp_net_init(&net, sizes, n_sizes, (mlp_act)o.act, (mlp_cost)o.cost, max_batch, &err) !=
            MLP_OK ||
        mlp_sgd_init(&sgd, &net, data.train.n, &so, o.seed, &err) != MLP_OK ||
        mlp_pool_create(&pool, o.threads ? o.threads : mlp_pool_cpus(), &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    net.kern = mlp_kernels_get(o.kernels);
    net.pool = pool;
    mlp_net_init_params(&net, o.seed);

    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &net);
    printf("network %s, %s hidden, %s cost, %zu parameters\n", layout, mlp_act_name(net.act),
           mlp_cost_name(net.cost), net.n_params);
    printf("data %s: %zu training and %zu test images of %zux%zu, %zu classes\n",
           o.data.path[MLP_IDX_TRAIN_IMAGES] ? o.data.path[MLP_IDX_TRAIN_IMAGES] : o.dir,
           data.train.n, data.test.n, data.train.rows, data.train.cols, data.n_classes);
    printf("training %zu epochs, batch %zu, learning rate %s", o.epochs, o.batch,
           mlp_cli_exact(o.lr).s);
    if (o.schedule == MLP_SCHED_LINEAR)
        printf(" falling to %s", mlp_cli_exact(o.lr_end).s);
    if (o.momentum > 0.0f)
        printf(", momentum %s", mlp_cli_exact(o.momentum).s);
    printf(", L2 %s, seed %zu\n", mlp_cli_exact(o.l2).s, o.seed);
    printf("kernels %s, %zu thread%s\n", net.kern->name, mlp_pool_size(pool),
           mlp_pool_size(pool) > 1 ? "s" : "");
    fflush(stdout);

    double acc = -1.0;
    while (sgd.st.epoch < o.epochs) {
        mlp_epoch_stats es;
        double t0 = mlp_now();
        if (mlp_sgd_epoch(&sgd, &net, &data.train, &es, &err) != MLP_OK) {
            fprintf(stderr, "mlp: %s; nothing saved\n", err.msg);
            rc = MLP_EXIT_DATA;
            goto out;
        }
        double dt = mlp_now() - t0;
        mlp_eval_free(&ev);
        if (mlp_eval(&net, &data.test, &ev, &err) != MLP_OK) {
            rc = mlp_cli_fail(&err);
            goto out;
        }
        acc = mlp_eval_accuracy(&ev);
        printf("epoch %3zu  cost %.4f  train %6.2f%%  test %6.2f%%  %6.2f s  %8.0f img/s\n",
               es.epoch, es.cost, 100.0 * (double)es.correct / (double)es.n, 100.0 * acc, dt,
               (double)es.n / dt);
        fflush(stdout);
    }

    meta.rows = (uint32_t)data.train.rows;
    meta.cols = (uint32_t)data.train.cols;
    meta.epochs = (uint32_t)o.epochs;
    meta.batch = (uint32_t)o.batch;
    meta.lr = o.lr;
    meta.schedule = (uint32_t)o.schedule;
    meta.lr_end = o.lr_end;
    meta.l2 = o.l2;
    meta.momentum = o.momentum;
    meta.seed = o.seed;
    meta.n_train = (uint32_t)data.train.n;
    meta.test_accuracy = (float)acc;
    format_cmdline(meta.cmdline, sizeof meta.cmdline, &o, net.kern->name);
    if (mlp_model_save(o.out, &net, &meta, &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    printf("saved %s (test accuracy %.2f%%)\n", o.out, 100.0 * acc);
out:
    mlp_eval_free(&ev);
    mlp_sgd_free(&sgd);
    mlp_net_free(&net);
    mlp_pool_destroy(pool);
    mlp_data_free(&data);
    return rc;
}

const mlp_command mlp_cmd_train = {
    "train", "[DIR]", "train a network on DIR's four IDX files (default: data)", help, train_main};
