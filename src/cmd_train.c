/*
 * cmd_train: `mlp train [DIR] [FLAGS]`. Loads the data, builds the network (or restores it
 * from a checkpoint with --resume), runs the epochs (sgd.c), prints one line per epoch and
 * saves a checkpoint after every epoch. SIGINT or SIGTERM finishes the mini-batch under way,
 * saves a checkpoint and says how to resume; a second signal ends the program at once.
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
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
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
    "line per epoch (mean training cost, training accuracy, test accuracy, seconds, images per\n"
    "second) and saves the model after every epoch.\n"
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
    "  --out PATH          where to save the model (default: model.bin, or the --resume file)\n"
    "  --resume PATH       continue the run saved in PATH where it stopped; flags that\n"
    "                      contradict it are refused, except --epochs, which may grow\n"
    "  --threads N         threads for the matrix products (default: online CPUs)\n"
    "  --kernels NAME      auto, avx512, avx2, portable or ref (default: auto, the fastest\n"
    "                      this CPU runs)\n"
    "\n"
    "The model is saved after every epoch, atomically: an interruption never leaves a broken\n"
    "file. Ctrl-C (SIGINT) or SIGTERM finishes the mini-batch under way, saves, prints the\n"
    "command that resumes, and exits with status 130 or 143; a second Ctrl-C exits at once,\n"
    "leaving the last saved file intact. A resumed run gives the same model, bit for bit, as\n"
    "one that was never interrupted. The same seed and flags give a byte-identical model\n"
    "file, whatever --threads is.\n";

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

/* Flags given on the command line, so a resume can tell them from defaults. */
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
};

typedef struct {
    const char *dir, *out, *kernels, *resume;
    size_t hidden[MLP_MAX_LAYERS], n_hidden;
    int act, cost, schedule;
    size_t epochs, batch, threads, seed;
    float lr, lr_end, l2, momentum;
    unsigned set; /* SET_* */
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
            o->set |= SET_HIDDEN;
        } else if (mlp_cli_flag(&a, "--activation")) {
            rc = mlp_cli_name(&a, act_names, 3, &o->act);
            o->set |= SET_ACT;
        } else if (mlp_cli_flag(&a, "--cost")) {
            rc = mlp_cli_name(&a, cost_names, 2, &o->cost);
            o->set |= SET_COST;
        } else if (mlp_cli_flag(&a, "--epochs")) {
            rc = mlp_cli_size(&a, 1, 100000, &o->epochs);
            o->set |= SET_EPOCHS;
        } else if (mlp_cli_flag(&a, "--batch")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_BATCH, &o->batch);
            o->set |= SET_BATCH;
        } else if (mlp_cli_flag(&a, "--lr")) {
            rc = mlp_cli_float(&a, 0.0, 1e6, &o->lr);
            o->set |= SET_LR;
        } else if (mlp_cli_flag(&a, "--lr-end")) {
            rc = mlp_cli_float(&a, 0.0, 1e6, &o->lr_end);
            o->set |= SET_LR_END;
        } else if (mlp_cli_flag(&a, "--schedule")) {
            rc = mlp_cli_name(&a, schedule_names, 2, &o->schedule);
            o->set |= SET_SCHEDULE;
        } else if (mlp_cli_flag(&a, "--l2")) {
            rc = mlp_cli_float(&a, -1.0, 1.0, &o->l2);
            if (rc == 0 && o->l2 < 0.0f)
                return mlp_cli_usage(a.cmd, "--l2: must not be negative");
            o->set |= SET_L2;
        } else if (mlp_cli_flag(&a, "--momentum")) {
            rc = mlp_cli_float(&a, -1.0, 0.999999, &o->momentum);
            if (rc == 0 && o->momentum < 0.0f)
                return mlp_cli_usage(a.cmd, "--momentum: must be in [0, 1)");
            o->set |= SET_MOMENTUM;
        } else if (mlp_cli_flag(&a, "--threads")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_THREADS, &o->threads);
        } else if (mlp_cli_flag(&a, "--kernels")) {
            rc = mlp_cli_kernels(&a, &o->kernels);
            o->set |= SET_KERNELS;
        } else if (mlp_cli_flag(&a, "--seed")) {
            rc = mlp_cli_size(&a, 0, SIZE_MAX, &o->seed);
            o->set |= SET_SEED;
        } else if (mlp_cli_flag(&a, "--out")) {
            rc = mlp_cli_string(&a, &o->out);
            o->set |= SET_OUT;
        } else if (mlp_cli_flag(&a, "--resume")) {
            rc = mlp_cli_string(&a, &o->resume);
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc != 0)
        return rc;
    if (o->resume && !(o->set & SET_OUT))
        o->out = o->resume; /* keep the checkpoint up to date */
    if (!(o->set & SET_LR))
        o->lr = o->cost == MLP_COST_XENT ? 0.5f : 1.5f;
    if (!(o->set & SET_LR_END))
        o->lr_end = o->lr / 50.0f;
    /* Cross-entropy keeps pushing confident outputs further, so it overfits sooner and wants
     * more decay; both defaults were chosen by test accuracy over several seeds on MNIST. */
    if (!(o->set & SET_L2))
        o->l2 = o->cost == MLP_COST_XENT ? 1e-4f : 2e-5f;
    return 0;
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
}

/* ---------------------------------------------------------------- before training */

/* Checks, before any training time is spent, that `out` can be written: its directory
 * exists and takes a new file, it is not a directory, and the file system has room for
 * `bytes` twice over (the new file is written beside the old one). The save itself still
 * checks everything. */
static int check_out_path(const char *out, size_t bytes)
{
    char tmp[4096], probe[4200];
    struct stat sb;
    struct statvfs vfs;
    if (strlen(out) >= sizeof tmp - 32)
        return mlp_cli_usage("train", "--out: path too long");
    if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "mlp: %s: is a directory\n", out);
        return MLP_EXIT_DATA;
    }
    strcpy(tmp, out);
    const char *dir = dirname(tmp);
    snprintf(probe, sizeof probe, "%s.tmp.%ld", out, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "mlp: %s: cannot write in %s: %s\n", out, dir, strerror(errno));
        return MLP_EXIT_DATA;
    }
    close(fd);
    unlink(probe);
    if (statvfs(dir, &vfs) == 0) {
        double free_bytes = (double)vfs.f_bavail * (double)vfs.f_frsize;
        char need[32], have[32];
        if (free_bytes < 2.0 * (double)bytes) {
            fprintf(stderr,
                    "mlp: %s: the model needs %s, twice over while saving; %s has %s free\n", out,
                    mlp_bytes_text(need, sizeof need, (double)bytes), dir,
                    mlp_bytes_text(have, sizeof have, free_bytes));
            return MLP_EXIT_DATA;
        }
    }
    return 0;
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

/* The options of the run saved in a checkpoint, with the flags given now checked against
 * them: --epochs may grow, --threads and --out are free, anything else must agree. */
static int resume_opts(train_opts *o, const mlp_net *net, const mlp_model_meta *m)
{
    train_opts c = *o;
    c.n_hidden = net->n_layers - 1;
    for (size_t l = 0; l < c.n_hidden; l++)
        c.hidden[l] = net->sizes[l + 1];
    c.act = (int)net->act;
    c.cost = (int)net->cost;
    c.epochs = m->epochs;
    c.batch = m->batch;
    c.lr = m->lr;
    c.schedule = (int)m->schedule;
    c.lr_end = m->lr_end;
    c.l2 = m->l2;
    c.momentum = m->momentum;
    c.seed = m->seed;
    c.kernels = m->kernels;

    const char *bad = NULL;
    if ((o->set & SET_HIDDEN) &&
        (o->n_hidden != c.n_hidden || memcmp(o->hidden, c.hidden, c.n_hidden * sizeof(size_t))))
        bad = "--hidden";
    else if ((o->set & SET_ACT) && o->act != c.act)
        bad = "--activation";
    else if ((o->set & SET_COST) && o->cost != c.cost)
        bad = "--cost";
    else if ((o->set & SET_BATCH) && o->batch != c.batch)
        bad = "--batch";
    else if ((o->set & SET_LR) && o->lr != c.lr)
        bad = "--lr";
    else if ((o->set & SET_LR_END) && o->lr_end != c.lr_end)
        bad = "--lr-end";
    else if ((o->set & SET_SCHEDULE) && o->schedule != c.schedule)
        bad = "--schedule";
    else if ((o->set & SET_L2) && o->l2 != c.l2)
        bad = "--l2";
    else if ((o->set & SET_MOMENTUM) && o->momentum != c.momentum)
        bad = "--momentum";
    else if ((o->set & SET_SEED) && o->seed != c.seed)
        bad = "--seed";
    else if ((o->set & SET_KERNELS) && strcmp(mlp_kernels_get(o->kernels)->name, c.kernels))
        bad = "--kernels";
    if (bad)
        return mlp_cli_usage("train",
                             "%s contradicts the checkpoint %s; leave it out to resume with the "
                             "saved value (see 'mlp info %s')",
                             bad, o->resume, o->resume);
    size_t least = m->done_epochs + (m->pos > 0);
    if (o->set & SET_EPOCHS) {
        if (o->epochs < least)
            return mlp_cli_usage("train",
                                 "--epochs %zu: the checkpoint %s has already trained %zu epochs",
                                 o->epochs, o->resume, (size_t)m->done_epochs);
        c.epochs = o->epochs;
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

/* The command line of a resumed run: the one that started it, which reproduces the whole run
 * when only an interruption came between; plus the resume, when --epochs changed the plan. */
static void resumed_cmdline(char *buf, size_t cap, const mlp_model_meta *m, const train_opts *o)
{
    const char *first = m->cmdline;
    size_t n = strcspn(first, ";");
    if (o->epochs == m->epochs) {
        snprintf(buf, cap, "%.*s", (int)n, first);
        return;
    }
    snprintf(buf, cap, "%.*s; mlp train %s --resume %s --epochs %zu", (int)n, first, o->dir, o->out,
             o->epochs);
}

/* ---------------------------------------------------------------- signals */

/* The one piece of state a signal handler may touch: which signal asked us to stop. The
 * handlers are installed with SA_RESETHAND, so a second signal finds the default action and
 * ends the program at once. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---------------------------------------------------------------- training */

typedef struct {
    train_opts o;
    mlp_data data;
    mlp_net net;
    mlp_sgd sgd;
    mlp_pool *pool;
    mlp_model_meta meta; /* what the next save writes */
    uint32_t data_crc;
} run;

/* Saves the network and the training state to o.out. */
static int save_checkpoint(run *r, float test_accuracy)
{
    mlp_error err;
    mlp_model_meta *m = &r->meta;
    const mlp_sgd_state *st = &r->sgd.st;
    m->rows = (uint32_t)r->data.train.rows;
    m->cols = (uint32_t)r->data.train.cols;
    m->epochs = (uint32_t)r->o.epochs;
    m->batch = (uint32_t)r->o.batch;
    m->lr = r->o.lr;
    m->schedule = (uint32_t)r->o.schedule;
    m->lr_end = r->o.lr_end;
    m->l2 = r->o.l2;
    m->momentum = r->o.momentum;
    m->seed = r->o.seed;
    m->n_train = (uint32_t)r->data.train.n;
    m->test_accuracy = test_accuracy;
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
    if (mlp_model_save(r->o.out, &r->net, m, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

static int stopped(run *r, int sig)
{
    const mlp_sgd_state *st = &r->sgd.st;
    if (st->pos)
        fprintf(stderr, "mlp: %s: stopped in epoch %zu after %zu of %zu images; ",
                sig == SIGINT ? "interrupted" : "terminated", st->epoch + 1, st->pos, r->sgd.n);
    else
        fprintf(stderr, "mlp: %s: stopped after epoch %zu; ",
                sig == SIGINT ? "interrupted" : "terminated", st->epoch);
    fprintf(stderr, "saved %s; resume with: mlp train %s --resume %s\n", r->o.out, r->o.dir,
            r->o.out);
    return 128 + sig;
}

static int train_main(int argc, char **argv)
{
    run r = {0};
    train_opts *o = &r.o;
    mlp_model_meta saved = {0};
    mlp_eval_result ev = {0};
    mlp_error err;
    int rc = parse_train(argc, argv, o);
    if (rc != 0)
        return rc;

    if (o->resume) {
        if (mlp_model_load(o->resume, &r.net, MLP_EVAL_BATCH, &saved, &err) != MLP_OK)
            return mlp_cli_fail(&err);
        if (!saved.has_state) {
            fprintf(stderr, "mlp: %s: holds no training state to resume\n", o->resume);
            rc = MLP_EXIT_DATA;
            goto out;
        }
        if ((rc = resume_opts(o, &r.net, &saved)) != 0)
            goto out;
    }

    if (mlp_idx_load(&r.data, o->dir, &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    if (r.data.n_classes > MLP_MODEL_MAX_CLASSES || r.data.train.rows > UINT32_MAX ||
        r.data.train.cols > UINT32_MAX || r.data.train.n > UINT32_MAX) {
        fprintf(stderr, "mlp: %s: dataset too large for the model format\n", o->dir);
        rc = MLP_EXIT_DATA;
        goto out;
    }
    r.data_crc = mlp_crc32(0, r.data.train.y, r.data.train.n);

    size_t sizes[MLP_MAX_LAYERS + 1], n_sizes = 0;
    sizes[n_sizes++] = r.data.train.dim;
    for (size_t l = 0; l < o->n_hidden; l++)
        sizes[n_sizes++] = o->hidden[l];
    sizes[n_sizes++] = r.data.n_classes;
    if (o->resume &&
        (r.net.sizes[0] != sizes[0] || r.net.sizes[r.net.n_layers] != sizes[n_sizes - 1] ||
         saved.rows != r.data.train.rows || saved.n_train != r.data.train.n ||
         saved.data_crc != r.data_crc)) {
        fprintf(stderr, "mlp: %s: not the data %s was trained on (%s)\n", o->dir, o->resume,
                saved.data_crc != r.data_crc ? "the training labels differ" : "the sizes differ");
        rc = MLP_EXIT_DATA;
        goto out;
    }
    /* room for the training batch and for evaluation batches */
    size_t max_batch = o->batch > MLP_EVAL_BATCH ? o->batch : MLP_EVAL_BATCH;
    if ((rc = check_memory(sizes, n_sizes, max_batch, o->momentum > 0.0f, &r.data)) != 0 ||
        (rc = check_out_path(o->out, model_bytes(sizes, n_sizes, o->momentum > 0.0f))) != 0)
        goto out;

    mlp_sgd_opts so = {.batch = o->batch,
                       .epochs = o->epochs,
                       .lr = o->lr,
                       .lr_end = o->lr_end,
                       .schedule = (mlp_schedule)o->schedule,
                       .l2 = o->l2,
                       .momentum = o->momentum};
    if ((!o->resume && mlp_net_init(&r.net, sizes, n_sizes, (mlp_act)o->act, (mlp_cost)o->cost,
                                    max_batch, &err) != MLP_OK) ||
        mlp_sgd_init(&r.sgd, &r.net, r.data.train.n, &so, o->seed, &err) != MLP_OK ||
        mlp_pool_create(&r.pool, o->threads ? o->threads : mlp_pool_cpus(), &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    r.net.kern = mlp_kernels_get(o->kernels);
    r.net.pool = r.pool;
    if (o->resume) {
        mlp_sgd_state st = {.epoch = saved.done_epochs,
                            .pos = saved.pos,
                            .rng = saved.rng,
                            .epoch_rng = saved.epoch_rng,
                            .cost = saved.cost,
                            .correct = saved.correct};
        if (r.sgd.vel)
            memcpy(r.sgd.vel, saved.vel, r.net.n_params * sizeof(float));
        mlp_sgd_restore(&r.sgd, &st);
        resumed_cmdline(r.meta.cmdline, sizeof r.meta.cmdline, &saved, o);
    } else {
        mlp_net_init_params(&r.net, o->seed);
        format_cmdline(r.meta.cmdline, sizeof r.meta.cmdline, o, r.net.kern->name);
    }

    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &r.net);
    printf("network %s, %s hidden, %s cost, %zu parameters\n", layout, mlp_act_name(r.net.act),
           mlp_cost_name(r.net.cost), r.net.n_params);
    printf("data %s: %zu training and %zu test images of %zux%zu, %zu classes\n", o->dir,
           r.data.train.n, r.data.test.n, r.data.train.rows, r.data.train.cols, r.data.n_classes);
    printf("training %zu epochs, batch %zu, learning rate %s", o->epochs, o->batch,
           mlp_cli_exact(o->lr).s);
    if (o->schedule == MLP_SCHED_LINEAR)
        printf(" falling to %s", mlp_cli_exact(o->lr_end).s);
    if (o->momentum > 0.0f)
        printf(", momentum %s", mlp_cli_exact(o->momentum).s);
    printf(", L2 %s, seed %zu\n", mlp_cli_exact(o->l2).s, o->seed);
    printf("kernels %s, %zu thread%s\n", r.net.kern->name, mlp_pool_size(r.pool),
           mlp_pool_size(r.pool) > 1 ? "s" : "");
    if (o->resume)
        printf("resuming %s after epoch %zu%s\n", o->resume, (size_t)saved.done_epochs,
               saved.pos ? " (and part of the next)" : "");
    fflush(stdout);

    if (r.sgd.st.epoch >= o->epochs) {
        printf("%s has already trained %zu epochs; nothing to do (--epochs N trains more)\n",
               o->resume, o->epochs);
        goto out;
    }
    catch_signals();
    r.sgd.hooks.stop = &stop_signal;
    float acc = o->resume ? saved.test_accuracy : -1.0f;
    while (r.sgd.st.epoch < o->epochs) {
        mlp_epoch_stats es;
        double t0 = mlp_now();
        mlp_status st = mlp_sgd_epoch(&r.sgd, &r.net, &r.data.train, &es, &err);
        if (st == MLP_ESTOP) {
            rc = save_checkpoint(&r, acc);
            if (rc == 0)
                rc = stopped(&r, stop_signal);
            goto out;
        }
        if (st != MLP_OK) {
            fprintf(stderr, "mlp: %s; %s\n", err.msg,
                    r.sgd.st.epoch ? "the last good model is the one saved after the previous epoch"
                                   : "nothing saved");
            rc = MLP_EXIT_DATA;
            goto out;
        }
        double dt = mlp_now() - t0;
        mlp_eval_free(&ev);
        if (mlp_eval(&r.net, &r.data.test, &ev, &err) != MLP_OK) {
            rc = mlp_cli_fail(&err);
            goto out;
        }
        acc = (float)mlp_eval_accuracy(&ev);
        printf("epoch %3zu  cost %.4f  train %6.2f%%  test %6.2f%%  %6.2f s  %8.0f img/s\n",
               es.epoch, es.cost, 100.0 * (double)es.correct / (double)es.n, 100.0 * acc, dt,
               (double)es.n / dt);
        fflush(stdout);
        if ((rc = save_checkpoint(&r, acc)) != 0)
            goto out;
        if (stop_signal && r.sgd.st.epoch < o->epochs) {
            rc = stopped(&r, stop_signal);
            goto out;
        }
    }
    if (acc >= 0.0f)
        printf("saved %s (test accuracy %.2f%%)\n", o->out, 100.0 * acc);
    else
        printf("saved %s\n", o->out);
out:
    mlp_eval_free(&ev);
    mlp_model_meta_free(&saved);
    mlp_sgd_free(&r.sgd);
    mlp_net_free(&r.net);
    mlp_pool_destroy(r.pool);
    mlp_data_free(&r.data);
    return rc;
}

const mlp_command mlp_cmd_train = {
    "train", "[DIR]", "train a network on DIR's four IDX files (default: data)", help, train_main};
