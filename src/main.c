/*
 * main: the command-line driver. Parses arguments, calls the modules, prints. The only file
 * that writes to stdout/stderr or decides an exit status:
 *   0 success, 1 data, model or I/O error, 2 usage error.
 */
#define _POSIX_C_SOURCE 200809L
#include "backprop.h"
#include "bench.h"
#include "eval.h"
#include "idx.h"
#include "model.h"
#include "net.h"
#include "sgd.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MLP_VERSION "0.1.0"

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };

/* Rows per forward pass when evaluating a whole set. */
#define EVAL_BATCH 256

/* ---------------------------------------------------------------- help */

static const char *const help_main =
    "mlp " MLP_VERSION " - train and evaluate multilayer perceptrons on MNIST-style IDX data\n"
    "\n"
    "usage: mlp COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  train [DIR]          train a network on DIR's four IDX files (default: data)\n"
    "  eval MODEL [DIR]     evaluate MODEL on DIR's test files (default: data)\n"
    "  info MODEL           print a model's architecture and how it was trained\n"
    "  bench [DIR]          time training of the benchmark networks on DIR (default: data)\n"
    "  help [COMMAND]       this text, or a command's flags\n"
    "  --version            print the version\n"
    "\n"
    "DIR holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and\n"
    "t10k-labels-idx1-ubyte (or the same names with '.idx3'/'.idx1'). 'make data' fetches MNIST.\n"
    "\n"
    "exit status: 0 success, 1 data, model or I/O error, 2 usage error\n";

static const char *const help_train =
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
    "\n"
    "The same seed and flags give a byte-identical model file, whatever --threads is.\n";

static const char *const help_eval =
    "usage: mlp eval MODEL [DIR]\n"
    "\n"
    "Evaluates MODEL on DIR/t10k-images-idx3-ubyte and DIR/t10k-labels-idx1-ubyte (default\n"
    "DIR: data): accuracy, mean cost, the confusion matrix (rows: true class, columns:\n"
    "predicted class) and each class's precision and recall.\n";

static const char *const help_info =
    "usage: mlp info MODEL\n"
    "\n"
    "Prints MODEL's architecture, parameter count, training settings, the test accuracy\n"
    "measured when it was saved and the command line that reproduces it.\n";

static const char *help_for(const char *cmd)
{
    if (!cmd)
        return help_main;
    if (!strcmp(cmd, "train"))
        return help_train;
    if (!strcmp(cmd, "eval"))
        return help_eval;
    if (!strcmp(cmd, "info"))
        return help_info;
    if (!strcmp(cmd, "bench"))
        return mlp_bench_help;
    return NULL;
}

/* One line on stderr naming what is wrong, with the hint; the usage exit status. */
static int usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mlp%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'mlp help%s%s')\n", cmd ? " " : "", cmd ? cmd : "");
    return EXIT_USAGE;
}

static int fail(const mlp_error *err)
{
    fprintf(stderr, "mlp: %s\n", err->msg);
    return EXIT_DATA;
}

/* ---------------------------------------------------------------- argument parsing */

typedef struct {
    const char *cmd; /* for messages */
    int argc, i;
    char **argv;
    const char *flag; /* the flag being parsed */
} args;

static bool is_flag(const char *s)
{
    return s[0] == '-' && s[1] == '-' && s[2];
}

/* The value of the current flag: "--flag value" or "--flag=value". NULL if missing. */
static const char *flag_value(args *a)
{
    const char *eq = strchr(a->argv[a->i], '=');
    if (eq)
        return eq + 1;
    if (a->i + 1 >= a->argc)
        return NULL;
    return a->argv[++a->i];
}

static bool flag_is(args *a, const char *name)
{
    size_t n = strlen(name);
    const char *s = a->argv[a->i];
    if (strncmp(s, name, n) != 0 || (s[n] != '\0' && s[n] != '='))
        return false;
    a->flag = name;
    return true;
}

static int parse_size(args *a, const char *v, size_t lo, size_t hi, size_t *out)
{
    char *end;
    if (!v)
        return usage(a->cmd, "%s needs a value", a->flag);
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE)
        return usage(a->cmd, "%s: '%s' is not a whole number", a->flag, v);
    if (x < lo || x > hi)
        return usage(a->cmd, "%s: %s is out of range (%zu to %zu)", a->flag, v, lo, hi);
    *out = (size_t)x;
    return 0;
}

static int parse_float(args *a, const char *v, double lo, double hi, float *out)
{
    char *end;
    if (!v)
        return usage(a->cmd, "%s needs a value", a->flag);
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x))
        return usage(a->cmd, "%s: '%s' is not a number", a->flag, v);
    if (!(x > lo && x <= hi))
        return usage(a->cmd, "%s: %s is out of range (more than %g, at most %g)", a->flag, v, lo,
                     hi);
    *out = (float)x;
    return 0;
}

/* "16,16" -> sizes[1..]; "none" -> no hidden layer. */
static int parse_hidden(args *a, const char *v, size_t *hidden, size_t *n_hidden)
{
    if (!v)
        return usage(a->cmd, "%s needs a value", a->flag);
    *n_hidden = 0;
    if (!strcmp(v, "none"))
        return 0;
    const char *p = v;
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return usage(a->cmd, "%s: '%s' is not a comma-separated list of sizes", a->flag, v);
        errno = 0;
        unsigned long long x = strtoull(p, &end, 10);
        if (errno == ERANGE || x < 1 || x > MLP_MAX_WIDTH)
            return usage(a->cmd, "%s: layer size out of range in '%s' (1 to %u)", a->flag, v,
                         MLP_MAX_WIDTH);
        if (*n_hidden == MLP_MAX_LAYERS - 1)
            return usage(a->cmd, "%s: at most %d hidden layers", a->flag, MLP_MAX_LAYERS - 1);
        hidden[(*n_hidden)++] = (size_t)x;
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return usage(a->cmd, "%s: '%s' is not a comma-separated list of sizes", a->flag, v);
        p = end + 1;
    }
}

static int parse_name(args *a, const char *v, const char *const *names, int n, int *out)
{
    if (!v)
        return usage(a->cmd, "%s needs a value", a->flag);
    for (int k = 0; k < n; k++) {
        if (!strcmp(v, names[k])) {
            *out = k;
            return 0;
        }
    }
    return usage(a->cmd, "%s: unknown value '%s'", a->flag, v);
}

/* "auto" or an implementation this build and CPU can run */
static int parse_kernels(args *a, const char *v, const char **out)
{
    if (!v)
        return usage(a->cmd, "%s needs a value", a->flag);
    if (!mlp_kernels_get(v)) {
        char list[128] = "auto";
        for (const char *const *k = mlp_kernels_available(); *k; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), ", %s", *k);
        return usage(a->cmd, "%s: '%s' is not available here (%s)", a->flag, v, list);
    }
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------- shared printing */

static void format_layout(char *buf, size_t cap, const mlp_net *net)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t l = 0; l <= net->n_layers && len < cap; l++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", l ? "-" : "", net->sizes[l]);
}

/* ---------------------------------------------------------------- train */

typedef struct {
    const char *dir, *out, *kernels;
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
    args a = {.cmd = "train", .argc = argc, .argv = argv};
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
        if (!is_flag(s)) {
            if (have_dir)
                return usage(a.cmd, "unexpected argument '%s'", s);
            o->dir = s;
            have_dir = true;
        } else if (flag_is(&a, "--hidden")) {
            rc = parse_hidden(&a, flag_value(&a), o->hidden, &o->n_hidden);
        } else if (flag_is(&a, "--activation")) {
            rc = parse_name(&a, flag_value(&a), act_names, 3, &o->act);
        } else if (flag_is(&a, "--cost")) {
            rc = parse_name(&a, flag_value(&a), cost_names, 2, &o->cost);
        } else if (flag_is(&a, "--epochs")) {
            rc = parse_size(&a, flag_value(&a), 1, 100000, &o->epochs);
        } else if (flag_is(&a, "--batch")) {
            rc = parse_size(&a, flag_value(&a), 1, MLP_MAX_BATCH, &o->batch);
        } else if (flag_is(&a, "--lr")) {
            rc = parse_float(&a, flag_value(&a), 0.0, 1e6, &o->lr);
            o->lr_set = true;
        } else if (flag_is(&a, "--lr-end")) {
            rc = parse_float(&a, flag_value(&a), 0.0, 1e6, &o->lr_end);
            o->lr_end_set = true;
        } else if (flag_is(&a, "--schedule")) {
            rc = parse_name(&a, flag_value(&a), schedule_names, 2, &o->schedule);
        } else if (flag_is(&a, "--l2")) {
            rc = parse_float(&a, flag_value(&a), -1.0, 1.0, &o->l2);
            if (rc == 0 && o->l2 < 0.0f)
                return usage(a.cmd, "--l2: must not be negative");
            o->l2_set = true;
        } else if (flag_is(&a, "--momentum")) {
            rc = parse_float(&a, flag_value(&a), -1.0, 0.999999, &o->momentum);
            if (rc == 0 && o->momentum < 0.0f)
                return usage(a.cmd, "--momentum: must be in [0, 1)");
        } else if (flag_is(&a, "--threads")) {
            rc = parse_size(&a, flag_value(&a), 1, MLP_MAX_THREADS, &o->threads);
        } else if (flag_is(&a, "--kernels")) {
            rc = parse_kernels(&a, flag_value(&a), &o->kernels);
        } else if (flag_is(&a, "--seed")) {
            rc = parse_size(&a, flag_value(&a), 0, SIZE_MAX, &o->seed);
        } else if (flag_is(&a, "--out")) {
            o->out = flag_value(&a);
            if (!o->out || !o->out[0])
                return usage(a.cmd, "--out needs a path");
        } else {
            return usage(a.cmd, "unknown flag '%s'", s);
        }
    }
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

/* The shortest decimal that reads back as exactly f, for a command line that must reproduce
 * a run bit for bit ("0.03", not "0.0299999993"). */
typedef struct {
    char s[32];
} float_text;

static float_text exact(float f)
{
    float_text t;
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(t.s, sizeof t.s, "%.*g", digits, (double)f);
        if (strtof(t.s, NULL) == f)
            break;
    }
    return t;
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
             exact(o->lr).s, schedule_names[o->schedule], exact(o->lr_end).s, exact(o->l2).s,
             exact(o->momentum).s, o->seed, kernels, o->out);
}

/* Refuses an --out whose directory does not exist or is not writable before any training
 * time is spent; the save itself still checks everything. */
static int check_out_path(const char *out)
{
    char tmp[4096];
    if (strlen(out) >= sizeof tmp) {
        fprintf(stderr, "mlp train: --out: path too long\n");
        return EXIT_USAGE;
    }
    strcpy(tmp, out);
    const char *dir = dirname(tmp);
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "mlp: %s: cannot write in %s: %s\n", out, dir, strerror(errno));
        return EXIT_DATA;
    }
    return 0;
}

static int cmd_train(int argc, char **argv)
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

    if (mlp_idx_load(&data, o.dir, &err) != MLP_OK)
        return fail(&err);
    if (data.n_classes > MLP_MODEL_MAX_CLASSES || data.train.rows > UINT32_MAX ||
        data.train.cols > UINT32_MAX || data.train.n > UINT32_MAX) {
        fprintf(stderr, "mlp: %s: dataset too large for the model format\n", o.dir);
        rc = EXIT_DATA;
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
    size_t max_batch = o.batch > EVAL_BATCH ? o.batch : EVAL_BATCH;
    if (mlp_net_init(&net, sizes, n_sizes, (mlp_act)o.act, (mlp_cost)o.cost, max_batch, &err) !=
            MLP_OK ||
        mlp_sgd_init(&sgd, &net, data.train.n, &so, o.seed, &err) != MLP_OK ||
        mlp_pool_create(&pool, o.threads ? o.threads : mlp_pool_cpus(), &err) != MLP_OK) {
        rc = fail(&err);
        goto out;
    }
    net.kern = mlp_kernels_get(o.kernels);
    net.pool = pool;
    mlp_net_init_params(&net, o.seed);

    char layout[256];
    format_layout(layout, sizeof layout, &net);
    printf("network %s, %s hidden, %s cost, %zu parameters\n", layout, mlp_act_name(net.act),
           mlp_cost_name(net.cost), net.n_params);
    printf("data %s: %zu training and %zu test images of %zux%zu, %zu classes\n", o.dir,
           data.train.n, data.test.n, data.train.rows, data.train.cols, data.n_classes);
    printf("training %zu epochs, batch %zu, learning rate %s", o.epochs, o.batch, exact(o.lr).s);
    if (o.schedule == MLP_SCHED_LINEAR)
        printf(" falling to %s", exact(o.lr_end).s);
    if (o.momentum > 0.0f)
        printf(", momentum %s", exact(o.momentum).s);
    printf(", L2 %s, seed %zu\n", exact(o.l2).s, o.seed);
    printf("kernels %s, %zu thread%s\n", net.kern->name, mlp_pool_size(pool),
           mlp_pool_size(pool) > 1 ? "s" : "");
    fflush(stdout);

    double acc = -1.0;
    for (size_t e = 1; e <= o.epochs; e++) {
        mlp_epoch_stats es;
        double t0 = mlp_now();
        mlp_sgd_epoch(&sgd, &net, &data.train, e, &es);
        double dt = mlp_now() - t0;
        if (!isfinite(es.cost)) {
            fprintf(stderr,
                    "mlp: epoch %zu: the cost is not finite; the learning rate (%g) is probably "
                    "too high; nothing saved\n",
                    e, (double)o.lr);
            rc = EXIT_DATA;
            goto out;
        }
        mlp_eval_free(&ev);
        if (mlp_eval(&net, &data.test, &ev, &err) != MLP_OK) {
            rc = fail(&err);
            goto out;
        }
        acc = mlp_eval_accuracy(&ev);
        printf("epoch %3zu  cost %.4f  train %6.2f%%  test %6.2f%%  %6.2f s  %8.0f img/s\n", e,
               es.cost, 100.0 * (double)es.correct / (double)es.n, 100.0 * acc, dt,
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
        rc = fail(&err);
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

/* ---------------------------------------------------------------- eval */

static void print_eval(const mlp_eval_result *r)
{
    const size_t K = r->classes;
    printf("accuracy %.2f%% (%zu/%zu)  mean cost %.4f\n\n", 100.0 * mlp_eval_accuracy(r),
           r->correct, r->n, r->cost);
    printf("confusion matrix (rows: true class, columns: predicted class)\n     ");
    for (size_t p = 0; p < K; p++)
        printf(" %5zu", p);
    printf("\n");
    for (size_t t = 0; t < K; t++) {
        printf("%5zu", t);
        for (size_t p = 0; p < K; p++)
            printf(" %5zu", r->confusion[t * K + p]);
        printf("\n");
    }
    printf("\nclass  precision  recall\n");
    for (size_t c = 0; c < K; c++) {
        double pr = mlp_eval_precision(r, c), re = mlp_eval_recall(r, c);
        printf("%5zu", c);
        if (isnan(pr))
            printf("  %9s", "-");
        else
            printf("  %8.2f%%", 100.0 * pr);
        if (isnan(re))
            printf("  %6s\n", "-");
        else
            printf("  %6.2f%%\n", 100.0 * re);
    }
}

static int cmd_eval(int argc, char **argv)
{
    const char *pos[2] = {NULL, "data"};
    int n_pos = 0;
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_set test = {0};
    mlp_eval_result ev = {0};
    mlp_error err;
    int rc = 0;

    for (int i = 0; i < argc; i++) {
        if (is_flag(argv[i]))
            return usage("eval", "unknown flag '%s'", argv[i]);
        if (n_pos == 2)
            return usage("eval", "unexpected argument '%s'", argv[i]);
        pos[n_pos++] = argv[i];
    }
    if (n_pos == 0)
        return usage("eval", "missing MODEL");

    if (mlp_model_load(pos[0], &net, EVAL_BATCH, &meta, &err) != MLP_OK)
        return fail(&err);
    if (mlp_idx_load_test(&test, pos[1], &err) != MLP_OK) {
        rc = fail(&err);
        goto out;
    }
    if (test.rows != meta.rows || test.cols != meta.cols) {
        fprintf(stderr, "mlp: %s: model takes %ux%u images, %s has %zux%zu\n", pos[0],
                (unsigned)meta.rows, (unsigned)meta.cols, pos[1], test.rows, test.cols);
        rc = EXIT_DATA;
        goto out;
    }
    if (mlp_eval(&net, &test, &ev, &err) != MLP_OK) {
        fprintf(stderr, "mlp: %s on %s: %s\n", pos[0], pos[1], err.msg);
        rc = EXIT_DATA;
        goto out;
    }
    char layout[256];
    format_layout(layout, sizeof layout, &net);
    printf("model %s: %s, %s hidden, %s cost\n", pos[0], layout, mlp_act_name(net.act),
           mlp_cost_name(net.cost));
    printf("data %s: %zu test images\n", pos[1], test.n);
    print_eval(&ev);
out:
    mlp_eval_free(&ev);
    mlp_set_free(&test);
    mlp_net_free(&net);
    return rc;
}

/* ---------------------------------------------------------------- info */

static int cmd_info(int argc, char **argv)
{
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    if (argc < 1)
        return usage("info", "missing MODEL");
    if (argc > 1)
        return usage("info", is_flag(argv[1]) ? "unknown flag '%s'" : "unexpected argument '%s'",
                     argv[1]);
    if (is_flag(argv[0]))
        return usage("info", "unknown flag '%s'", argv[0]);
    if (mlp_model_load(argv[0], &net, 1, &meta, &err) != MLP_OK)
        return fail(&err);

    char layout[256];
    format_layout(layout, sizeof layout, &net);
    printf("model        %s\n", argv[0]);
    printf("network      %s (%zu inputs = %ux%u images, %zu classes)\n", layout, net.sizes[0],
           (unsigned)meta.rows, (unsigned)meta.cols, net.sizes[net.n_layers]);
    printf("activation   %s hidden, %s outputs\n", mlp_act_name(net.act),
           net.cost == MLP_COST_XENT ? "softmax" : "sigmoid");
    printf("cost         %s\n", net.cost == MLP_COST_XENT ? "cross-entropy" : "quadratic");
    printf("parameters   %zu\n", net.n_params);
    for (size_t l = 0; l < net.n_layers; l++)
        printf("  layer %zu    %zu x %zu weights + %zu biases\n", l + 1, net.sizes[l + 1],
               net.sizes[l], net.sizes[l + 1]);
    printf("trained      %u epochs on %u images, batch %u, seed %llu\n", (unsigned)meta.epochs,
           (unsigned)meta.n_train, (unsigned)meta.batch, (unsigned long long)meta.seed);
    printf("step         learning rate %s", exact(meta.lr).s);
    if (meta.schedule == MLP_SCHED_LINEAR)
        printf(" falling linearly to %s", exact(meta.lr_end).s);
    else
        printf(" (constant)");
    printf(", momentum %s, L2 weight decay %s\n", exact(meta.momentum).s, exact(meta.l2).s);
    if (meta.test_accuracy >= 0.0f)
        printf("test         %.2f%% accuracy when saved\n", 100.0 * (double)meta.test_accuracy);
    printf("command      %s\n", meta.cmdline[0] ? meta.cmdline : "(not recorded)");
    mlp_net_free(&net);
    return 0;
}

/* ---------------------------------------------------------------- main */

static int cmd_help(int argc, char **argv)
{
    const char *text = help_for(argc > 0 ? argv[0] : NULL);
    if (argc > 1)
        return usage("help", "unexpected argument '%s'", argv[1]);
    if (!text)
        return usage("help", "unknown command '%s'", argv[0]);
    fputs(text, stdout);
    return 0;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(help_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    int n = argc - 2;
    char **rest = argv + 2;

    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("mlp %s\n", MLP_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
        return cmd_help(n, rest);
    if (help_for(cmd) && wants_help(n, rest)) {
        fputs(help_for(cmd), stdout);
        return 0;
    }
    if (!strcmp(cmd, "train"))
        return cmd_train(n, rest);
    if (!strcmp(cmd, "eval"))
        return cmd_eval(n, rest);
    if (!strcmp(cmd, "info"))
        return cmd_info(n, rest);
    if (!strcmp(cmd, "bench"))
        return mlp_bench_main(n, rest);
    return usage(NULL, "unknown command '%s'", cmd);
}
