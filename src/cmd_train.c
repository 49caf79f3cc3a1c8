/*
 * cmd_train: `mlp train [DIR | FILE.csv] [FLAGS]`. Resolves the options (a preset, then the
 * flags given; every flag is a row of the table below, which also drives the help, the record
 * of the run and the resume check), loads the data (IDX files, or CSV files), builds the
 * network (or restores it from a checkpoint with --resume), runs the epochs (sgd.c), prints
 * one line per epoch and saves a checkpoint after every epoch (what a checkpoint holds, and
 * how a run is put back in its state, is checkpoint.c's). With --val, the saved model is the
 * one of the epoch with the best validation accuracy. SIGINT, SIGTERM or SIGHUP finishes the
 * mini-batch under way, saves a checkpoint and says how to resume; a second signal ends the
 * program at once. Every file goes through output.c, which checks the outputs against the
 * inputs before any work. Everything before the first epoch is shared with lr-find, which runs
 * its range test in place of the epochs (mlp_train_prepared).
 */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "eval.h"
#include "idx.h"
#include "model.h"
#include "net.h"
#include "options.h"
#include "output.h"
#include "plot.h"
#include "presets.h"
#include "progress.h"
#include "serve.h"
#include "serve_app.h"
#include "sgd.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const help =
    "usage: mlp train [DIR | FILE.csv] [FLAGS]\n"
    "\n"
    "Trains a network by backpropagation and averaged mini-batch gradient descent, prints one\n"
    "line per epoch (mean training cost, training accuracy, validation and test accuracy,\n"
    "seconds, images per second) and saves the model after every epoch.\n"
    "\n";

/* the help after the flags of the table */
static const char *const help_tail =
    "  --train-images PATH the training images, instead of DIR's (any name, gzipped or not;\n"
    "                      likewise the three below)\n"
    "  --train-labels PATH the training labels; their largest value + 1 is the class count\n"
    "  --test-images PATH  the test images\n"
    "  --test-labels PATH  the test labels\n"
    "  --train-csv PATH    the training set as CSV instead, one image a line: a label and\n"
    "                      the pixels (0 to 255), with or without a header naming a label\n"
    "                      column (Kaggle's train.csv, mnist_train.csv); gzipped or not\n"
    "  --test-csv PATH     the test set as CSV; without it, --test-split\n"
    "  --test-split N      hold N images of the training CSV out as the test set, chosen\n"
    "                      by the seed (default: a tenth); --val then chooses among the rest\n"
    "  --shape RxC         the CSV images' rows and columns (default: square)\n"
    "  --serve [PORT]      serve the page of mlp serve on 127.0.0.1 while training (PORT\n"
    "                      default: one the system chooses, printed): learning curves,\n"
    "                      the network and its weights after every epoch, and a stop\n"
    "                      button that saves a checkpoint as Ctrl-C does\n"
    "\n"
    "DIR (default: data) holds the files not given by a flag: train-images-idx3-ubyte,\n"
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, or the same\n"
    "names with '.idx3'/'.idx1', each of them plain or gzipped (.gz). A file in DIR's place\n"
    "is a training CSV: 'mlp train train.csv' is 'mlp train --train-csv train.csv'.\n"
    "\n"
    "Augmentation and dropout touch training images only; the test set never chooses anything.\n"
    "The model is saved atomically after every epoch. Ctrl-C, SIGTERM or SIGHUP saves after\n"
    "the batch under way and exits with 130, 143 or 129 (a second signal at once); --resume\n"
    "then gives the same bytes as an uninterrupted run. The same seed and flags give the same\n"
    "model file, whatever --threads is. Outputs are checked before training: none may be an\n"
    "input, another output, a device or in a missing directory, and none is written by two\n"
    "runs at once.\n";

/* ---------------------------------------------------------------- the flags */

typedef mlp_train_opts train_opts;

/* Which rows of mlp_options[] the command line gave. */
typedef struct {
    bool on[MLP_OPTIONS];
} given_flags;

/* True if the flag of the field at offsetof(train_opts, ...) was given. */
static bool given_at(const given_flags *given, size_t at)
{
    for (size_t k = 0; k < MLP_OPTIONS; k++)
        if (mlp_options[k].size && mlp_options[k].at == at)
            return given->on[k];
    return false;
}

static int get_int(const train_opts *o, const mlp_option *f)
{
    int v;
    memcpy(&v, (const char *)o + f->at, sizeof v);
    return v;
}

static const void *field(const train_opts *o, const mlp_option *f)
{
    return (const char *)o + f->at;
}

/* The row after rank `after` in the recorded command line, or NULL after the last. */
static const mlp_option *next_recorded(int after)
{
    const mlp_option *next = NULL;
    for (size_t k = 0; k < MLP_OPTIONS; k++)
        if (mlp_options[k].rec > after && (!next || mlp_options[k].rec < next->rec))
            next = &mlp_options[k];
    return next;
}

/* The flags' part of the help, from the table, then the data files and the notes. */
static void print_flags(FILE *out)
{
    for (size_t k = 0; k < MLP_OPTIONS; k++) {
        const mlp_option *f = &mlp_options[k];
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", f->flag, f->arg ? " " : "", f->arg ? f->arg : "");
        if (f->section)
            fprintf(out, "%s\n", f->section);
        fprintf(out, "  %-19s ", head);
        for (const char *s = f->help; *s; s++)
            if (*s == '\n')
                fprintf(out, "\n%22s", "");
            else
                fputc(*s, out);
        fputc('\n', out);
    }
    fputs(help_tail, out);
}

/* --elastic A[,S]: each part read as a flag of its own would be */
static int parse_elastic(mlp_args *a, mlp_augment *aug)
{
    /* pixels; below 0.1 the smoothing Gaussian's taps beside the centre are below 1e-21 */
    static const mlp_cli_range alpha_range = {.lo = 0.0, .hi = 1000.0};
    static const mlp_cli_range sigma_range = {.lo = 0.1, .hi = 10.0};
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

/* The row of the current argument, or NULL if it is none of them. */
static const mlp_option *find_flag(mlp_args *a)
{
    for (size_t k = 0; k < MLP_OPTIONS; k++)
        if (mlp_options[k].type == MLP_OPT_SWITCH ? !strcmp(a->argv[a->i], mlp_options[k].flag)
                                      : mlp_cli_flag(a, mlp_options[k].flag))
            return &mlp_options[k];
    return NULL;
}

/* Reads the current flag's value into its field of g (the preset's name into *preset_name). */
static int read_flag(mlp_args *a, const mlp_option *f, train_opts *g, const char **preset_name)
{
    void *p = (char *)g + f->at;
    int k = 0, rc;
    switch (f->type) {
    case MLP_OPT_SIZE:
        return mlp_cli_size(a, f->lo, f->hi, p);
    case MLP_OPT_FLOAT:
        return mlp_cli_float(a, f->range, p);
    case MLP_OPT_SWITCH:
        *(bool *)p = true;
        return 0;
    case MLP_OPT_NAME:
        if ((rc = mlp_cli_name(a, f->names, &k)) == 0)
            memcpy(p, &k, sizeof k);
        return rc;
    case MLP_OPT_HIDDEN:
        return mlp_cli_hidden(a, g->hidden, &g->n_hidden);
    case MLP_OPT_ELASTIC:
        return parse_elastic(a, &g->sgd.aug);
    case MLP_OPT_KERNELS:
        return mlp_cli_kernels(a, p);
    case MLP_OPT_PATH:
        return mlp_cli_string(a, p);
    case MLP_OPT_PRESET:
        rc = mlp_cli_string(a, preset_name);
        if (rc == 0 && !mlp_preset_find(*preset_name))
            return mlp_cli_usage(a->cmd, "--preset: unknown preset '%s' (see 'mlp presets')",
                                 *preset_name);
        return rc;
    }
    return 0;
}

/* --serve [PORT]: the port is the next argument when it is all digits (or after '='). */
static int parse_serve(mlp_args *a, train_opts *g)
{
    const char *s = a->argv[a->i];
    g->serve = true;
    if (!strncmp(s, "--serve=", 8) ||
        (a->i + 1 < a->argc && a->argv[a->i + 1][0] &&
         strspn(a->argv[a->i + 1], "0123456789") == strlen(a->argv[a->i + 1])))
        return mlp_cli_size(a, 0, 65535, &g->serve_port);
    return 0;
}

/* Reads the flags into g (given values), *given (which were given) and *preset_name. */
static int parse_flags(int argc, char **argv, train_opts *g, given_flags *given,
                       const char **preset_name)
{
    mlp_args a = {.cmd = g->cmd, .argc = argc, .argv = argv};
    const char *place = NULL; /* the argument in DIR's place */
    int rc = 0;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *arg = argv[a.i];
        const mlp_option *f;
        if (!mlp_cli_is_flag(arg)) {
            if (place)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", arg);
            place = arg;
        } else if ((f = find_flag(&a))) {
            rc = read_flag(&a, f, g, preset_name);
            given->on[f - mlp_options] = true;
        } else if (mlp_cli_flag(&a, "--serve")) {
            rc = parse_serve(&a, g);
        } else if (!mlp_cli_data_flag(&a, &g->data, false, &rc) &&
                   !mlp_cli_csv_flag(&a, &g->csv, false, &rc)) {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", arg);
        }
    }
    if (rc != 0 || !place)
        return rc;
    if (g->csv.train)
        return mlp_cli_usage(a.cmd, "'%s' and --train-csv: name the training set once", place);
    if (mlp_cli_csv_path(place))
        g->csv.train = place;
    else
        g->dir = place;
    return 0;
}

/* The data flags must name one data set: IDX files (DIR and --train-images and the like) or
 * CSV files (--train-csv and the like), not parts of both. */
static int check_data_flags(const train_opts *g)
{
    static const char *const idx_flags[4] = {"--train-images", "--train-labels", "--test-images",
                                             "--test-labels"};
    const mlp_csv_files *c = &g->csv;
    const char *csv_flag = c->test ? "--test-csv" : c->test_split ? "--test-split" : "--shape";
    for (int k = 0; k < 4; k++)
        if (g->data.path[k] && c->train)
            return mlp_cli_usage(g->cmd,
                                 "%s and a training CSV: a data set is IDX files or CSV "
                                 "files, not both",
                                 idx_flags[k]);
    if (!c->train && (c->test || c->test_split || c->rows))
        return mlp_cli_usage(g->cmd,
                             "%s needs a training CSV (--train-csv PATH, or the file "
                             "in DIR's place)",
                             csv_flag);
    if (c->test && c->test_split)
        return mlp_cli_usage(g->cmd, "--test-split and --test-csv: the test set is either held "
                                      "out of the training CSV or a file of its own");
    return 0;
}

/* The first of the flags at offsets ats[0..n) that was given, or NULL. */
static const char *first_given(const given_flags *given, const size_t *ats, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < MLP_OPTIONS; k++)
            if (mlp_options[k].size && mlp_options[k].at == ats[i] && given->on[k])
                return mlp_options[k].flag;
    return NULL;
}

/* Adam's and AdamW's defaults, PyTorch's: a preset tuned for SGD gives them neither its rate
 * nor its L2 nor its momentum, unless the flags do (and --momentum is refused). */
static int adam_defaults(const char *cmd, mlp_sgd_opts *s, const mlp_sgd_opts *preset,
                         const given_flags *given)
{
    static const size_t sgd_only[] = {offsetof(train_opts, sgd.momentum),
                                      offsetof(train_opts, sgd.nesterov)};
    const char *flag;
    if (s->optimizer == MLP_STEP_SGD)
        return 0;
    if ((flag = first_given(given, sgd_only, 2)))
        return mlp_cli_usage(cmd,
                             "%s is sgd's; --optimizer %s keeps moments of its own (--beta1, "
                             "--beta2)",
                             flag, mlp_opt_name(mlp_opt_optimizer_names, (size_t)s->optimizer));
    if (preset->optimizer == MLP_STEP_SGD) {
        /* the preset's schedule kept: a last rate it names falls with the first in proportion */
        if (!given_at(given, offsetof(train_opts, sgd.lr)) &&
            !given_at(given, offsetof(train_opts, sgd.lr_end)) && preset->lr_end > 0.0f)
            s->lr_end = (float)((double)preset->lr_end * 1e-3 / (double)s->lr);
        if (!given_at(given, offsetof(train_opts, sgd.lr)))
            s->lr = 1e-3f;
        if (!given_at(given, offsetof(train_opts, sgd.l2)))
            s->l2 = 0.0f;
        s->momentum = 0.0f;
        s->nesterov = false;
    }
    if (s->beta1 == 0.0f && !given_at(given, offsetof(train_opts, sgd.beta1)))
        s->beta1 = 0.9f;
    if (s->beta2 == 0.0f && !given_at(given, offsetof(train_opts, sgd.beta2)))
        s->beta2 = 0.999f;
    if (s->eps == 0.0f)
        s->eps = 1e-8f;
    if (s->optimizer == MLP_STEP_ADAMW && s->weight_decay == 0.0f &&
        !given_at(given, offsetof(train_opts, sgd.weight_decay)))
        s->weight_decay = 1e-2f;
    return 0;
}

/* The flags that need another option, refused with the flag named before any data is read:
 * Adam's flags without Adam, --weight-decay without AdamW (--l2 with it), --patience without
 * --val, label smoothing without cross-entropy. */
static int check_combinations(const train_opts *o, const given_flags *given)
{
    static const size_t adam_only[] = {offsetof(train_opts, sgd.beta1),
                                       offsetof(train_opts, sgd.beta2),
                                       offsetof(train_opts, sgd.eps)};
    static const size_t decay[] = {offsetof(train_opts, sgd.weight_decay)};
    static const size_t l2[] = {offsetof(train_opts, sgd.l2)};
    const mlp_sgd_opts *s = &o->sgd;
    const char *flag;
    if (s->optimizer == MLP_STEP_SGD && (flag = first_given(given, adam_only, 3)))
        return mlp_cli_usage(o->cmd, "%s needs --optimizer adam or adamw", flag);
    if (s->optimizer != MLP_STEP_ADAMW && first_given(given, decay, 1))
        return mlp_cli_usage(o->cmd, "--weight-decay needs --optimizer adamw (with %s, --l2 is "
                                      "the weight decay)",
                             mlp_opt_name(mlp_opt_optimizer_names, (size_t)s->optimizer));
    if (s->optimizer == MLP_STEP_ADAMW && first_given(given, l2, 1))
        return mlp_cli_usage(o->cmd, "--l2 with --optimizer adamw: AdamW decays the weights by "
                                      "--weight-decay");
    if (s->patience && !s->val)
        return mlp_cli_usage(o->cmd, "--patience needs --val: it stops on the validation "
                                      "accuracy");
    if (s->label_smoothing > 0.0f && o->cost != MLP_COST_XENT)
        return mlp_cli_usage(o->cmd, "--label-smoothing needs --cost xent");
    return 0;
}

/* The options of a run: the preset's, overridden by the flags given, then the defaults that
 * depend on other options (Adam's among them: adam_defaults). */
static int parse_train(const char *cmd, int argc, char **argv, train_opts *o, given_flags *given)
{
    train_opts g = {.cmd = cmd, .dir = "data", .out = "model.bin", .kernels = "auto", .seed = 1};
    const char *name = NULL;
    *given = (given_flags){{false}};
    int rc = parse_flags(argc, argv, &g, given, &name);
    if (rc == 0)
        rc = check_data_flags(&g);
    if (rc != 0)
        return rc;
    if (name && g.resume)
        return mlp_cli_usage(o->cmd, "--preset and --resume: a checkpoint already holds its "
                                      "options; leave --preset out");
    const mlp_preset *p = mlp_preset_find(name ? name : MLP_PRESET_DEFAULT);
    *o = p->o;
    o->cmd = cmd;
    o->dir = g.dir;
    o->data = g.data;
    o->data.dir = g.dir;
    o->csv = g.csv;
    o->serve = g.serve;
    o->serve_port = g.serve_port;
    for (size_t k = 0; k < MLP_OPTIONS; k++) /* a preset's value stays unless the flag is given */
        if (given->on[k] || !mlp_options[k].preset)
            memcpy((char *)o + mlp_options[k].at, (const char *)&g + mlp_options[k].at, mlp_options[k].size);
    mlp_sgd_opts *s = &o->sgd;
    bool xent = o->cost == MLP_COST_XENT;
    if (xent && p->lr_xent > 0.0f && !given_at(given, offsetof(train_opts, sgd.lr)))
        s->lr = p->lr_xent;
    if (xent && p->l2_xent > 0.0f && !given_at(given, offsetof(train_opts, sgd.l2)))
        s->l2 = p->l2_xent;
    if (!g.resume && (rc = adam_defaults(o->cmd, s, &p->o.sgd, given)) != 0)
        return rc;
    if (!given_at(given, offsetof(train_opts, sgd.lr_end)) && p->o.sgd.lr_end == 0.0f)
        s->lr_end = s->lr / 50.0f;
    if (s->lr_step == 0)
        s->lr_step = 10;
    if (s->lr_gamma == 0.0f)
        s->lr_gamma = 0.1f;
    if (s->nesterov && s->momentum == 0.0f)
        return mlp_cli_usage(o->cmd, "--nesterov needs --momentum");
    if (!g.resume && (rc = check_combinations(o, given)) != 0)
        return rc;
    if (g.resume && !given_at(given, offsetof(train_opts, out)))
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

/* " --train-images PATH" and so on, for the files the command line named; for a CSV data
 * set, " --train-csv PATH" and the rest of its flags */
static void cmd_data(cmdline *c, const train_opts *o)
{
    char text[4 * 4 * (4096 + 64)] = "";
    if (o->csv.train)
        mlp_cli_csv_flags(text, sizeof text, &o->csv);
    else
        mlp_cli_data_flags(text, sizeof text, &o->data);
    cmd_add(c, "%s", text);
}

/* "mlp train DIR" or, for a CSV data set (whose files come with cmd_data), "mlp train" */
static void cmd_train(cmdline *c, const train_opts *o)
{
    cmd_add(c, "mlp train%s", o->csv.train ? "" : " ");
    if (!o->csv.train)
        cmd_path(c, "", o->dir);
}

/* "mlp train DIR --resume PATH [data flags]": the command that continues the run in
 * PATH on the same data */
static void cmd_resume(cmdline *c, const train_opts *o, const char *path)
{
    cmd_train(c, o);
    cmd_path(c, " --resume", path);
    cmd_data(c, o);
}

/* " FLAG VALUE" as the record spells it, a path quoted for the shell */
static void cmd_flag(cmdline *c, const mlp_option *f, const train_opts *o)
{
    char value[512];
    cmd_add(c, " ");
    if (f->type == MLP_OPT_PATH) {
        cmd_path(c, f->flag, *(const char *const *)field(o, f));
        return;
    }
    mlp_option_value(value, sizeof value, f, o);
    cmd_add(c, "%s%s%s", f->flag, value[0] ? " " : "", value);
}

/* The command line that reproduces a run, with every option spelled out that differs from
 * the default preset's, so a model keeps meaning the same thing when defaults change: the
 * flags in the order of their rec, each when its `when` says. */
static void format_cmdline(cmdline *c, const train_opts *o)
{
    cmd_train(c, o);
    for (const mlp_option *f = next_recorded(0); f; f = next_recorded(f->rec))
        if (mlp_option_shown(f, o))
            cmd_flag(c, f, o);
    cmd_data(c, o);
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
static int plan_files(mlp_output_plan *p, const train_opts *o, bool model)
{
    static const char *const data_what[4] = {"the training images", "the training labels",
                                             "the test images", "the test labels"};
    char path[MLP_OUTPUT_MAX_PATH];
    mlp_error err, ignored;
    mlp_status st = MLP_OK;
    if (o->resume)
        st = mlp_output_input(p, "--resume", o->resume, MLP_OUTPUT_REPLACEABLE, &err);
    for (int k = 0; k < 4 && st == MLP_OK && !o->csv.train; k++)
        if (mlp_idx_resolve(path, sizeof path, &o->data, (mlp_idx_file)k, &ignored) == MLP_OK)
            st = mlp_output_input(p, data_what[k], path, 0, &err); /* a missing one: later */
    if (st == MLP_OK && o->csv.train)
        st = mlp_output_input(p, "the training CSV", o->csv.train, 0, &err);
    if (st == MLP_OK && o->csv.test)
        st = mlp_output_input(p, "the test CSV", o->csv.test, 0, &err);
    if (st == MLP_OK && model)
        st = mlp_output_target(p, "--out", o->out, MLP_OUTPUT_REPLACES | MLP_OUTPUT_HOLD, &err);
    if (st == MLP_OK && o->log)
        st = mlp_output_target(p, "--log", o->log, MLP_OUTPUT_HOLD, &err);
    if (st == MLP_OK && o->plot)
        st = mlp_output_target(p, "--plot", o->plot, MLP_OUTPUT_HOLD, &err);
    return st == MLP_OK ? 0 : mlp_cli_fail(&err);
}

/* Refuses a training run that cannot fit in memory, with the figure, before allocating it. */
static int check_memory(const size_t *sizes, size_t n_sizes, size_t max_batch, size_t arrays,
                        const mlp_data *data)
{
    size_t net_bytes, params, total;
    mlp_error err;
    if (!mlp_net_bytes(sizes, n_sizes, max_batch, &net_bytes) ||
        !mlp_net_count_params(sizes, n_sizes, &params) ||
        !mlp_add_size(net_bytes, arrays * params * sizeof(float), &total) ||
        !mlp_add_size(total, (data->train.n + data->test.n) * data->train.dim * sizeof(float),
                      &total)) {
        fprintf(stderr, "mlp: the network is too large for this machine's address space\n");
        return MLP_EXIT_DATA;
    }
    if (mlp_mem_check(total, "training (data, network and optimiser state)", &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* Bytes of the model file for this network and the optimiser's arrays (an estimate with
 * room for the header). */
static size_t model_bytes(const size_t *sizes, size_t n_sizes, size_t arrays)
{
    size_t params = 0;
    mlp_net_count_params(sizes, n_sizes, &params);
    return 8192 + params * sizeof(float) * (1 + arrays);
}

/* ---------------------------------------------------------------- resuming */

/* True if a flag's value in g (given now) is the same as in c (the checkpoint's). */
static bool same_value(const mlp_option *f, const train_opts *g, const train_opts *c)
{
    const void *a = field(g, f), *b = field(c, f);
    switch (f->type) {
    case MLP_OPT_SIZE:
        return *(const size_t *)a == *(const size_t *)b;
    case MLP_OPT_FLOAT:
        return *(const float *)a == *(const float *)b;
    case MLP_OPT_SWITCH:
        return *(const bool *)a == *(const bool *)b;
    case MLP_OPT_NAME:
        return get_int(g, f) == get_int(c, f);
    case MLP_OPT_HIDDEN:
        return g->n_hidden == c->n_hidden &&
               !memcmp(g->hidden, c->hidden, c->n_hidden * sizeof(size_t));
    case MLP_OPT_ELASTIC:
        return g->sgd.aug.elastic_alpha == c->sgd.aug.elastic_alpha &&
               g->sgd.aug.elastic_sigma == c->sgd.aug.elastic_sigma;
    case MLP_OPT_KERNELS: /* the checkpoint names the kernels that ran */
        return !strcmp(mlp_kernels_get(g->kernels)->name, c->kernels);
    case MLP_OPT_PATH:
        return !strcmp(*(const char *const *)a, *(const char *const *)b);
    case MLP_OPT_PRESET:
        return true;
    }
    return true;
}

/* The first flag given that contradicts the checkpoint's options c, in the record's order,
 * or NULL. */
static const char *contradiction(const train_opts *g, const given_flags *given,
                                 const train_opts *c)
{
    for (const mlp_option *f = next_recorded(0); f; f = next_recorded(f->rec))
        if (given->on[f - mlp_options] && f->resume == MLP_OPT_SAME && !same_value(f, g, c))
            return f->flag;
    return NULL;
}

/* The options of the run saved in a checkpoint, with the flags given now (g, set) checked
 * against them: --epochs may grow, --threads and --out are free, anything else must agree. */
static int resume_opts(train_opts *o, const train_opts *g, const given_flags *given,
                       const mlp_net *net, const mlp_model_meta *m)
{
    train_opts c = *o;
    mlp_checkpoint_opts(&c, net, m);

    const char *bad = contradiction(g, given, &c);
    if (bad)
        return mlp_cli_usage(o->cmd,
                             "%s contradicts the checkpoint %s; leave it out to resume with the "
                             "saved value, which 'mlp info %s' shows",
                             bad, o->resume, o->resume);
    size_t least = m->sgd.epoch + (m->sgd.pos > 0);
    if (given_at(given, offsetof(train_opts, sgd.epochs))) { /* the one MLP_OPT_GROW */
        if (g->sgd.epochs < least)
            return mlp_cli_usage(o->cmd,
                                 "--epochs %zu: the checkpoint %s has already trained %zu epochs",
                                 g->sgd.epochs, o->resume, m->sgd.epoch);
        c.sgd.epochs = g->sgd.epochs;
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
    uint32_t data_crc, images_crc;             /* of the training labels and images (model.h) */
    mlp_checkpoint_best best; /* best-by-validation bookkeeping; params NULL without --val */
    bool lr_find;             /* lr-find's run: no model file, no record (mlp_train_prepared) */
    mlp_app app;              /* --serve: what the page is answered from */
    mlp_server *server;       /* --serve: on a thread of its own; NULL without */
} train_run;

/* Saves the model and the training state to o.out: with --val, the parameters of the best
 * epoch so far, and the current ones beside them when they differ. */
static int save_checkpoint(train_run *r)
{
    mlp_error err;
    mlp_net view; /* what gets written: the net, with the parameters the file holds */
    mlp_checkpoint_fill(&r->meta, &view, &r->net, &r->sgd, &r->best, &r->data.train, r->data_crc,
                        r->images_crc);
    mlp_output w;
    if (mlp_output_open(&w, &r->files, r->o.out, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (mlp_model_write(w.f, &view, &r->meta, &err) != MLP_OK) { /* its message names no file */
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
static void tell_resume(const train_run *r)
{
    const mlp_sgd_state *state = &r->sgd.state;
    cmdline c = {.len = 0};
    cmd_resume(&c, &r->o, r->o.out);
    if (r->o.log) /* the log goes on from the rows it holds */
        cmd_path(&c, " --log", r->o.log);
    if (r->o.plot)
        cmd_path(&c, " --plot", r->o.plot);
    if (state->pos)
        fprintf(stderr, "the checkpoint %s holds epoch %zu up to image %zu of %zu; ", r->o.out,
                state->epoch + 1, state->pos, r->sgd.n);
    else
        fprintf(stderr, "the checkpoint %s holds epoch %zu; ", r->o.out, state->epoch);
    fprintf(stderr, "resume with: %s\n", c.overflow ? "(the command is too long to print)" : c.s);
}

static int stopped(train_run *r, int sig)
{
    fprintf(stderr, "mlp: %s: ", stop_word(sig));
    tell_resume(r);
    return 128 + sig;
}

/* The data set's name, for the plan and for messages: the training CSV, the training images
 * when they are named, or DIR. */
static const char *data_name(const train_opts *o)
{
    if (o->csv.train)
        return o->csv.train;
    return o->data.path[MLP_IDX_TRAIN_IMAGES] ? o->data.path[MLP_IDX_TRAIN_IMAGES] : o->dir;
}

/* What is about to be trained: the network and the data, then the options of the table's
 * sections as the table phrases them (the same words as `mlp info`). */
static void print_plan(const train_run *r)
{
    const train_opts *o = &r->o;
    char layout[256], said[1024];
    mlp_cli_layout(layout, sizeof layout, &r->net);
    printf("network %s, %s hidden, %s cost, %zu parameters\n", layout, mlp_act_name(r->net.act),
           mlp_cost_name(r->net.cost), r->net.n_params);
    printf("data %s: %zu training", data_name(o), r->data.train.n - o->sgd.val);
    if (o->sgd.val)
        printf(" (and %zu held out for validation)", o->sgd.val);
    mlp_options_say(said, sizeof said, "data", o);
    printf(" and %zu test images%s of %zux%zu, %zu classes%s%s\n", r->data.test.n,
           o->csv.train && !o->csv.test ? " (held out by the seed)" : "", r->data.train.rows,
           r->data.train.cols, r->data.n_classes, said[0] ? ", " : "", said);
    static const char *const sections[] = {"gradient descent", "regularisation", "running"};
    for (size_t k = 0; k < 3; k++) {
        mlp_options_say(said, sizeof said, sections[k], o);
        if (said[0] || k == 2)
            printf("%s: %s%s", sections[k], said, k == 2 ? "" : "\n");
    }
    printf(", %zu thread%s\n", mlp_pool_size(r->pool), mlp_pool_size(r->pool) > 1 ? "s" : "");
}

/* ---------------------------------------------------------------- the steps of a run */

/* Reads the options, names the files (refusing a bad output before anything is loaded),
 * and with --resume loads the checkpoint and takes its options. */
static int open_run(train_run *r, const char *cmd, int argc, char **argv)
{
    train_opts g;
    given_flags given;
    mlp_error err;
    int rc = parse_train(cmd, argc, argv, &r->o, &given);
    if (rc != 0)
        return rc;
    g = r->o;
    if ((rc = plan_files(&r->files, &r->o, !r->lr_find)) != 0 || !r->o.resume)
        return rc;
    if (mlp_model_load_state(r->o.resume, &r->net, MLP_EVAL_BATCH, &r->saved, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (!r->saved.has_state) {
        fprintf(stderr, "mlp: %s: holds no training state to resume\n", r->o.resume);
        return MLP_EXIT_DATA;
    }
    return resume_opts(&r->o, &g, &given, &r->net, &r->saved);
}

/* The record of the run for the model file, composed before training so that one too long
 * for the file is refused rather than cut short. */
static int record_run(train_run *r)
{
    cmdline c = {.len = 0};
    if (r->o.resume)
        resumed_cmdline(&c, &r->saved, &r->o);
    else
        format_cmdline(&c, &r->o);
    if (c.overflow || c.len > MLP_MODEL_MAX_CMDLINE)
        return mlp_cli_usage(r->o.cmd,
                             "the command line to record in the model is %s bytes, more than the "
                             "%d a model file keeps; use shorter paths",
                             c.overflow ? "over 16,000" : mlp_cli_count(c.len).s,
                             MLP_MODEL_MAX_CMDLINE);
    memcpy(r->meta.cmdline, c.s, c.len + 1);
    return 0;
}

/* Reads the IDX files or the CSV files. Without a test CSV the test set is held out of the
 * training CSV, and the count goes into the options, so that the record names it. */
static int read_data(train_run *r)
{
    mlp_csv_files *csv = &r->o.csv;
    mlp_error err;
    if (!csv->train)
        return mlp_idx_load_files(&r->data, &r->o.data, &err) == MLP_OK ? 0 : mlp_cli_fail(&err);
    if (mlp_csv_load_files(&r->data, csv, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (csv->test)
        return 0;
    size_t n = r->data.train.n;
    if (!csv->test_split) /* a tenth, as a count: the record spells it out */
        csv->test_split = n >= 10 ? n / 10 : 1;
    if (csv->test_split >= n)
        return mlp_cli_usage(r->o.cmd, "--test-split %zu: %s has only %zu images", csv->test_split,
                             csv->train, n);
    if (mlp_sgd_hold_out(&r->data.test, &r->data.train, csv->test_split, r->o.seed, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* Loads the data and checks it against the options and, resuming, against the checkpoint. */
static int load_data(train_run *r)
{
    const train_opts *o = &r->o;
    const mlp_model_meta *saved = &r->saved;
    mlp_error err;
    int rc = read_data(r);
    if (rc != 0)
        return rc;
    if (r->data.n_classes > MLP_MODEL_MAX_CLASSES || r->data.train.rows > UINT32_MAX ||
        r->data.train.cols > UINT32_MAX || r->data.train.n > UINT32_MAX) {
        fprintf(stderr, "mlp: %s: dataset too large for the model format\n", data_name(o));
        return MLP_EXIT_DATA;
    }
    if (o->sgd.val >= r->data.train.n)
        return mlp_cli_usage(r->o.cmd, "--val %zu: the training set has only %zu images",
                             o->sgd.val, r->data.train.n);
    r->data_crc = mlp_crc32(0, r->data.train.y, r->data.train.n);
    r->images_crc = mlp_model_images_crc(r->data.train.x, r->data.train.n * r->data.train.dim);
    if (o->sgd.transpose && (mlp_idx_set_transpose(&r->data.train, &err) != MLP_OK ||
                             mlp_idx_set_transpose(&r->data.test, &err) != MLP_OK))
        return mlp_cli_fail(&err);

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
    bool images_differ = saved->has_images_crc && saved->images_crc != r->images_crc;
    bool labels_differ = saved->data_crc != r->data_crc;
    if (sizes_differ || images_differ || labels_differ) {
        /* the file that differs, when it was named; else the directory */
        mlp_idx_file which = images_differ ? MLP_IDX_TRAIN_IMAGES : MLP_IDX_TRAIN_LABELS;
        fprintf(stderr, "mlp: %s: not the data %s was trained on (%s)\n",
                o->csv.train          ? o->csv.train
                : o->data.path[which] ? o->data.path[which]
                                      : o->dir,
                o->resume,
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
static int preflight(train_run *r)
{
    /* the optimiser's arrays: velocities or first moments, second moments */
    size_t arrays = (size_t)mlp_sgd_has_vel(&r->o.sgd) + (size_t)mlp_sgd_has_sq(&r->o.sgd);
    size_t bytes = model_bytes(r->sizes, r->n_sizes, arrays) * (r->o.sgd.val ? 2 : 1);
    mlp_error err;
    int rc = check_memory(r->sizes, r->n_sizes, max_batch(&r->o), arrays, &r->data);
    if (rc == 0 && !r->lr_find && mlp_output_room(&r->files, r->o.out, bytes, &err) != MLP_OK)
        rc = mlp_cli_fail(&err);
    return rc;
}

/* The network (new, or the checkpoint's), the pool, the optimiser and, resuming, its state. */
static int build(train_run *r)
{
    const train_opts *o = &r->o;
    mlp_model_meta *saved = &r->saved;
    mlp_error err;
    const mlp_kernels *kern = mlp_kernels_get(o->kernels);
    /* the pool first: the network is built with it (a checkpoint's was loaded without) */
    if (mlp_pool_create(&r->pool, o->threads ? o->threads : mlp_pool_cpus(), &err) != MLP_OK ||
        (!o->resume &&
         mlp_net_init(&r->net, r->sizes, r->n_sizes, (mlp_act)o->act, (mlp_cost)o->cost,
                      max_batch(o), kern, r->pool, &err) != MLP_OK))
        return mlp_cli_fail(&err);
    if (o->resume)
        mlp_net_attach(&r->net, kern, r->pool);
    if (mlp_sgd_init(&r->sgd, &r->net, r->data.train.n, r->data.train.rows, r->data.train.cols,
                     &o->sgd, o->seed, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (o->sgd.val && !(r->best.params = mlp_alloc_array(r->net.n_params, sizeof(float)))) {
        fprintf(stderr, "mlp: out of memory for the best model's parameters\n");
        return MLP_EXIT_DATA;
    }
    if (!o->resume) {
        mlp_net_init_params(&r->net, o->seed);
        return 0;
    }
    if (mlp_checkpoint_restore(&r->net, &r->sgd, &r->best, saved, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* Opens the log and the chart (keeping, resuming, the rows of the epochs done). */
static int open_curves(train_run *r)
{
    char layout[256], dir[MLP_OUTPUT_MAX_PATH];
    mlp_error err;
    mlp_cli_layout(layout, sizeof layout, &r->net);
    mlp_cli_quote(dir, sizeof dir, r->o.csv.train ? r->o.csv.train : r->o.dir);
    snprintf(r->title, sizeof r->title, "mlp train %s: %s, %s hidden, %s cost", dir, layout,
             mlp_act_name(r->net.act), mlp_cost_name(r->net.cost));
    if (mlp_plot_run_open(&r->curves, &r->files, r->o.log, r->o.plot, r->title, r->sgd.state.epoch,
                          &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* Validation (with --val) and test accuracy of the epoch just trained. */
static int evaluate(train_run *r, const mlp_epoch_stats *es, double *val_acc)
{
    mlp_error err;
    *val_acc = NAN;
    if (r->best.params) {
        mlp_eval_free(&r->ev);
        if (mlp_eval_rows(&r->net, &r->data.train, r->sgd.val_rows, r->o.sgd.val, &r->ev, &err) !=
            MLP_OK)
            return mlp_cli_fail(&err);
        float v = (float)mlp_eval_accuracy(&r->ev);
        *val_acc = 100.0 * v;
        if (v > r->best.val) {
            r->best.val = v;
            r->best.epoch = es->epoch;
            memcpy(r->best.params, r->net.params, r->net.n_params * sizeof(float));
        }
    }
    mlp_eval_free(&r->ev);
    if (mlp_eval(&r->net, &r->data.test, &r->ev, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    r->best.last_test = (float)mlp_eval_accuracy(&r->ev);
    if (r->best.params && r->best.epoch == es->epoch)
        r->best.test = r->best.last_test;
    return 0;
}

/* After an epoch: the checkpoint first, so that nothing after it can lose the epoch; then the
 * line on stdout, the log and the chart. A failure of those stops the run, saying that the
 * checkpoint is safe and how to go on. */
static int report_epoch(train_run *r, const mlp_epoch_stats *es, double dt)
{
    double val_acc, train_acc = 100.0 * (double)es->correct / (double)es->n;
    char val[32] = "";
    mlp_error err;
    int rc = evaluate(r, es, &val_acc);
    if (rc == 0)
        rc = save_checkpoint(r);
    if (rc != 0)
        return rc;
    if (r->best.params)
        snprintf(val, sizeof val, "  val %6.2f%%", val_acc);
    printf("epoch %3zu  cost %.4f  train %6.2f%%%s  test %6.2f%%  %6.2f s  %8.0f img/s\n",
           es->epoch, es->cost, train_acc, val, 100.0 * r->best.last_test, dt,
           dt > 0.0 ? (double)es->n / dt : 0.0); /* a coarse clock can see no time pass */
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mlp: standard output: write error%s%s; ", errno ? ": " : "",
                errno ? strerror(errno) : "");
        tell_resume(r);
        return MLP_EXIT_DATA;
    }
    mlp_plot_row row = {es->epoch, es->cost,  train_acc, val_acc, 100.0 * r->best.last_test,
                        es->lr,    dt};
    if (mlp_plot_run_epoch(&r->curves, &row, &err) != MLP_OK) {
        fprintf(stderr, "mlp: %s; ", err.msg);
        tell_resume(r);
        return MLP_EXIT_DATA;
    }
    if (r->server)
        mlp_app_epoch(&r->app, &r->net, &row);
    return 0;
}

/* The line that says a run stopped early, and why. */
static void say_stopped_early(const train_run *r)
{
    printf("stopped early after epoch %zu of %zu: no better validation accuracy in the %zu "
           "epochs since epoch %zu (--patience %zu)\n",
           r->sgd.state.epoch, r->o.sgd.epochs, r->sgd.state.epoch - r->best.epoch, r->best.epoch,
           r->o.sgd.patience);
}

/* --serve: the page, on a thread of its own, answered from a copy of the network that each
 * epoch refreshes; its stop button raises stop_signal as SIGINT does. */
static int start_serving(train_run *r)
{
    mlp_error err;
    if (mlp_app_init(&r->app, &r->net, r->data.train.rows, r->data.train.cols, &r->data.test,
                     &stop_signal, r->o.sgd.epochs, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    r->app.epoch = r->sgd.state.epoch;
    mlp_serve_opts so = {.port = (unsigned)r->o.serve_port, .timeout = MLP_SERVE_TIMEOUT,
                         .max_conns = MLP_SERVE_CONNS, .max_body = mlp_app_max_body(&r->app),
                         .handler = mlp_app_handle, .ctx = &r->app};
    if (mlp_serve_open(&r->server, &so, &err) != MLP_OK ||
        mlp_serve_start(r->server, &err) != MLP_OK) {
        fprintf(stderr, "mlp: --serve: %s\n", err.msg);
        return MLP_EXIT_DATA;
    }
    r->app.server = r->server;
    printf("serving the run on %s (its stop button saves and stops, as Ctrl-C does)\n",
           mlp_serve_url(r->server));
    fflush(stdout);
    return 0;
}

/* After every mini-batch: the bar, and with --serve the page's progress line. */
typedef struct {
    mlp_progress bar;
    mlp_app *app; /* NULL without --serve */
    size_t epoch;
    double last; /* when the page was last told */
} train_progress;

static void progress_hook(void *ctx, size_t done, size_t total)
{
    train_progress *p = ctx;
    double now = mlp_now();
    mlp_progress_update(&p->bar, done, total, now);
    if (p->app)
        mlp_app_progress(p->app, p->epoch, done, total, now, &p->last);
}

/* The epochs, each reported; a signal saves after the batch under way and stops; with
 * --patience, so does a run whose validation accuracy has not improved for that long. */
static int run_epochs(train_run *r)
{
    train_progress pr = {.app = r->server ? &r->app : NULL};
    mlp_progress *bar = &pr.bar;
    mlp_error err;
    /* the bar only on a terminal: stdout and a redirected stderr stay as they were */
    mlp_progress_init(bar, !r->o.quiet && isatty(STDERR_FILENO) ? stderr : NULL,
                      r->o.sgd.epochs);
    r->sgd.hooks.progress = progress_hook;
    r->sgd.hooks.ctx = &pr;
    r->sgd.hooks.stop = &stop_signal;
    while (r->sgd.state.epoch < r->o.sgd.epochs) {
        mlp_epoch_stats es;
        double t0 = mlp_now();
        pr.epoch = r->sgd.state.epoch + 1;
        mlp_progress_epoch(bar, pr.epoch, t0);
        mlp_status st = mlp_sgd_epoch(&r->sgd, &r->net, &r->data.train, &es, &err);
        mlp_progress_clear(bar);
        if (st == MLP_ESTOP) {
            int rc = save_checkpoint(r);
            return rc ? rc : stopped(r, stop_signal);
        }
        if (st != MLP_OK) {
            fprintf(stderr, "mlp: %s; %s\n", err.msg,
                    r->sgd.state.epoch ? "the last good model is the one saved after the previous "
                                      "epoch"
                                    : "nothing saved");
            return MLP_EXIT_DATA;
        }
        int rc = report_epoch(r, &es, mlp_now() - t0);
        if (rc != 0)
            return rc;
        if (stop_signal && r->sgd.state.epoch < r->o.sgd.epochs)
            return stopped(r, stop_signal);
        if (mlp_sgd_patience_out(&r->o.sgd, r->sgd.state.epoch, r->best.epoch)) {
            say_stopped_early(r);
            break;
        }
    }
    if (r->best.params)
        printf("saved %s: epoch %zu, the best on validation (%.2f%%); its test accuracy %.2f%%\n",
               r->o.out, r->best.epoch, 100.0 * r->best.val, 100.0 * r->best.test);
    else
        printf("saved %s (test accuracy %.2f%%)\n", r->o.out, 100.0 * r->best.last_test);
    return 0;
}

static int close_run(train_run *r, int rc)
{
    mlp_error err;
    if (r->server) { /* the page hears how the run ended before the server goes */
        mlp_app_done(&r->app, rc == 0 ? "finished" : stop_signal ? "stopped" : "failed");
        mlp_serve_close(r->server);
    }
    mlp_app_free(&r->app);
    if (mlp_plot_run_close(&r->curves, &err) != MLP_OK && rc == 0)
        rc = mlp_cli_fail(&err);
    mlp_eval_free(&r->ev);
    mlp_model_meta_free(&r->saved);
    free(r->best.params);
    mlp_sgd_free(&r->sgd);
    mlp_net_free(&r->net);
    mlp_pool_destroy(r->pool);
    mlp_data_free(&r->data);
    mlp_output_plan_free(&r->files);
    return rc;
}

/* Everything before the first epoch: the options, the files, the data, the record, the
 * checks of memory and disk, the network and the optimiser. */
static int prepare(train_run *r, const char *cmd, int argc, char **argv)
{
    /* a first SIGINT, SIGTERM or SIGHUP stops after the batch under way, saving; a closed
     * stdout is a write error the epoch report sees, not a silent death */
    mlp_output_signals(&stop_signal);
    signal(SIGPIPE, SIG_IGN);
    int rc = open_run(r, cmd, argc, argv);
    if (rc == 0)
        rc = load_data(r);
    if (rc == 0 && !r->lr_find) /* after the data, which settle the count of a CSV's test images */
        rc = record_run(r);
    if (rc == 0)
        rc = preflight(r);
    if (rc == 0)
        rc = build(r);
    return rc;
}

int mlp_train_prepared(const char *cmd, int argc, char **argv, mlp_train_body body, void *ctx)
{
    train_run r = {.best = MLP_CHECKPOINT_BEST_NONE, .lr_find = true};
    int rc = prepare(&r, cmd, argc, argv);
    if (rc == 0) {
        print_plan(&r);
        fflush(stdout);
        rc = body(ctx, &r.net, &r.sgd, &r.data.train, &r.o, &r.files, &stop_signal);
    }
    return close_run(&r, rc);
}

static int train_main(int argc, char **argv)
{
    train_run r = {.best = MLP_CHECKPOINT_BEST_NONE};
    int rc = prepare(&r, "train", argc, argv);
    if (rc != 0)
        return close_run(&r, rc);
    print_plan(&r);
    if (r.o.resume)
        printf("resuming %s after epoch %zu%s\n", r.o.resume, r.saved.sgd.epoch,
               r.saved.sgd.pos ? " (and part of the next)" : "");
    if (r.sgd.state.epoch >= r.o.sgd.epochs) {
        printf("%s has already trained %zu epochs; nothing to do (--epochs N trains more)\n",
               r.o.resume, r.o.sgd.epochs);
        return close_run(&r, 0);
    }
    if (r.sgd.state.pos == 0 &&
        mlp_sgd_patience_out(&r.o.sgd, r.sgd.state.epoch, r.best.epoch)) {
        say_stopped_early(&r);
        printf("%s: nothing to do\n", r.o.resume);
        return close_run(&r, 0);
    }
    fflush(stdout);
    if (r.o.serve) /* first: a port in use is refused before any file is written */
        rc = start_serving(&r);
    if (rc == 0)
        rc = open_curves(&r);
    if (rc == 0)
        rc = run_epochs(&r);
    return close_run(&r, rc);
}

const mlp_command mlp_cmd_train = {
    "train", "[DIR|CSV]", "train a network on DIR's four IDX files (default: data), or a CSV",
    help,    train_main,  print_flags};
