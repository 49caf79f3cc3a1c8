/*
 * options: the options of a training run, each written once, in one table.
 *
 * The names of the activations, costs, schedules and optimisers, in the order of their enums
 * (mlp_act, mlp_cost, mlp_schedule, mlp_step_rule), NULL-terminated as Lua's luaL_checkoption wants
 * its list: the flags read them (cli.c), the record and the reports print them (net.c, export.c,
 * cmd_train.c).
 *
 * mlp_options: one row per flag of `mlp train`, in the manner of Redis's static_configs[]:
 * the flag, where its value lives in mlp_train_opts, how it is read (type and range), its
 * help, whether a preset holds it, what --resume may do with it, its place in the recorded
 * command line, its place in the options block of the model file and the format version that
 * added it, and how the reports phrase it. From it: the flag parser, the preset overrides, the
 * help and the record (cmd_train.c), the resume check, the plan `train` prints and the
 * settings `info` prints (mlp_options_say), and the options block that model.c writes and reads.
 * A new training option is a row here and its use where the arithmetic is.
 */
#ifndef MLP_OPTIONS_H
#define MLP_OPTIONS_H

#include "cli.h"
#include "csv.h"
#include "idx.h"
#include "net.h"
#include "sgd.h"

#include <stdbool.h>
#include <stddef.h>

extern const char *const mlp_opt_act_names[];       /* "sigmoid", "tanh", "relu", NULL */
extern const char *const mlp_opt_cost_names[];      /* "quadratic", "xent", NULL */
extern const char *const mlp_opt_schedule_names[];  /* "constant", "linear", "step", "cosine" */
extern const char *const mlp_opt_optimizer_names[]; /* "sgd", "adam", "adamw", NULL */

/* names[k], or "?" when k is not one of them (a value from an unchecked source) */
const char *mlp_opt_name(const char *const *names, size_t k);
/* how many names a NULL-terminated table holds */
size_t mlp_opt_count(const char *const *names);

/* Everything `mlp train` is told: what a preset holds (hidden, act, cost, sgd), what the
 * run is given besides (seed, kernels, files, threads). */
typedef struct {
    const char *cmd; /* the command given the flags ("train", "lr-find"), for its messages */
    const char *dir, *out, *kernels, *resume;
    mlp_idx_files data;     /* files named by --train-images and the like; the rest from dir */
    mlp_csv_files csv;      /* --train-csv (or a CSV file for DIR) and the like: in place of
                             * the IDX files when csv.train is set */
    const char *log, *plot; /* NULL: none */
    bool quiet;             /* no progress bar */
    bool serve;             /* --serve [PORT]: the page of `mlp serve`, live, on PORT */
    size_t serve_port;      /* 0: one the system chooses */
    size_t hidden[MLP_MAX_LAYERS], n_hidden;
    int act, cost; /* mlp_act, mlp_cost */
    mlp_sgd_opts sgd;
    size_t threads, seed;
} mlp_train_opts;

/* The preset whose options a run starts from unless --preset names another (presets.h). */
#define MLP_PRESET_DEFAULT "3b1b"

/* How a flag's value is read, compared, recorded and kept in the model file. */
typedef enum {
    MLP_OPT_SIZE,    /* digits from lo to hi, into a size_t; a u32 in the file */
    MLP_OPT_FLOAT,   /* a decimal within range, into a float; an f32 in the file */
    MLP_OPT_SWITCH,  /* no value: sets a bool; a u32 0 or 1 in the file */
    MLP_OPT_NAME,    /* one of names, into an int (or an enum of an int's size); a u32 index */
    MLP_OPT_HIDDEN,  /* a list of sizes or 'none', into hidden[] and n_hidden */
    MLP_OPT_ELASTIC, /* A[,S], into aug.elastic_alpha and aug.elastic_sigma; two f32 */
    MLP_OPT_KERNELS, /* a kernel name this machine runs */
    MLP_OPT_PATH,    /* a non-empty string */
    MLP_OPT_PRESET,  /* a preset's name: where the options start, kept apart */
} mlp_opt_type;

/* What --resume does with a flag that is given. */
typedef enum {
    MLP_OPT_SAME, /* it must agree with the checkpoint */
    MLP_OPT_GROW, /* it replaces the checkpoint's, if not below what is done (--epochs) */
    MLP_OPT_FREE, /* anything: it does not change what is trained */
} mlp_opt_resume;

/* When the record and the reports spell an option out: always (0), when it is not zero or
 * off (a name: not the first of its names), only under some schedules, only with some
 * optimisers, or a combination (each kind that is given must hold). */
#define MLP_OPT_WHEN_SET      1u
#define MLP_OPT_WHEN_SCHED(s) (2u << (s))
#define MLP_OPT_WHEN_OPTIM(k) (0x100u << (k))

typedef struct {
    const char *flag, *arg;   /* "--lr", "X": the flag and its value in the help */
    mlp_opt_type type;        /* how it is read, compared, recorded and kept */
    size_t at, size;          /* its bytes in mlp_train_opts: offsetof, sizeof; 0, 0: none */
    size_t lo, hi;            /* MLP_OPT_SIZE: the values allowed */
    mlp_cli_range range;      /* MLP_OPT_FLOAT: the values allowed */
    const char *const *names; /* MLP_OPT_NAME: NULL-terminated */
    bool preset;              /* a preset holds it; given, it overrides the preset's value */
    mlp_opt_resume resume;    /* what --resume allows */
    int rec;                  /* its place in the recorded command line; 0: not recorded */
    unsigned when;            /* MLP_OPT_WHEN_*: when it is recorded and reported; 0: always */
    const char *section;      /* the heading the help prints before it, or NULL */
    const char *help;         /* its help, lines split by '\n' */
    int slot;                 /* its place in the model file's options block (1, 2, ...), its
                               * value inside mlp_sgd_opts; 0: not in the file */
    unsigned since;           /* the model format version whose files hold it */
    const char *json;         /* its name in model.json and `info --json` ("l2"; a member of
                               * a nested object: "augmentation.rotate"); with a slot */
    const char *says;         /* how the reports phrase it, %s the value; NULL: they do not */
} mlp_option;

/* The rows, in the order of the help. The sections are the headings of the help: a row with a
 * section starts it, and the rows after it belong to it. */
#define MLP_OPTIONS 41
extern const mlp_option mlp_options[MLP_OPTIONS];

/* The row whose slot is slot (model.c's walk over the file's block), or NULL past the last. */
const mlp_option *mlp_option_in_slot(int slot);

/* True if the record and the reports spell the option out for o (its `when`). */
bool mlp_option_shown(const mlp_option *f, const mlp_train_opts *o);

/* The option's value in o as the record spells it ("1.5", "16,16", "linear", "34,4"), into
 * out (cap bytes, cut short if it does not fit); a path as it is, unquoted; "" for a switch. */
void mlp_option_value(char *out, size_t cap, const mlp_option *f, const mlp_train_opts *o);

/* The phrases of the options of a section that are shown for o, joined by ", ", into out:
 * "epochs 40, batch 10, learning rate 1.5, linear schedule, ending at 0.03, momentum 0"; ""
 * if none; the phrases that fit in cap bytes if not all do. */
void mlp_options_say(char *out, size_t cap, const char *section, const mlp_train_opts *o);

#endif
