/*
 * cli: what the command-line files (main.c, cmd_*.c) share: argument parsing whose
 * every failure is one line on stderr naming the flag, the usage hint and exit status 2;
 * printing helpers. Library modules never use it: they return a status instead.
 */
#ifndef MLP_CLI_H
#define MLP_CLI_H

#include "csv.h"
#include "idx.h"
#include "net.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>

#define MLP_VERSION "0.2.0"

enum { MLP_EXIT_OK = 0, MLP_EXIT_DATA = 1, MLP_EXIT_USAGE = 2 };

/* Rows per forward pass when a command evaluates a whole set. */
#define MLP_EVAL_BATCH 256

/* A walk over a command's arguments: argv[i] is the current one. */
typedef struct {
    const char *cmd; /* for messages: "train", "eval", ... */
    int argc, i;
    char **argv;
    const char *flag; /* the flag being parsed, set by mlp_cli_flag() */
} mlp_args;

/* "--something" */
bool mlp_cli_is_flag(const char *s);
/* True if the current argument is --name or --name=VALUE; remembers the flag's name. */
bool mlp_cli_flag(mlp_args *a, const char *name);
/* The current flag's value ("--flag value" or "--flag=value"), NULL if missing. */
const char *mlp_cli_value(mlp_args *a);

/* The values a float flag takes: from lo to hi, each end included unless it is open. */
typedef struct {
    double lo, hi; /* within the range of a float */
    bool lo_open, hi_open;
} mlp_cli_range;

/* Each reads the current flag's value, stores it and returns 0, or prints the usage error
 * (the flag, the value, the values allowed) and returns MLP_EXIT_USAGE.
 * Sizes: decimal digits only (no sign, space or point), from lo to hi inclusive.
 * Floats: a decimal number (no space, hex, inf or nan), checked after it is rounded to the
 * float it is kept in: within r, and a normal float unless it is exactly 0 (a value that
 * rounds to 0 or to a subnormal is refused even when r includes 0). */
int mlp_cli_size(mlp_args *a, size_t lo, size_t hi, size_t *out);
int mlp_cli_float(mlp_args *a, mlp_cli_range r, float *out);
/* The same for the n characters at s, a part of an option's value ("--elastic 34,4"):
 * name is what messages call it ("--elastic sigma"). */
int mlp_cli_parse_size(const char *cmd, const char *name, const char *s, size_t n, size_t lo,
                       size_t hi, size_t *out);
int mlp_cli_parse_float(const char *cmd, const char *name, const char *s, size_t n,
                        mlp_cli_range r, float *out);
/* The index in names (NULL-terminated, as options.h's tables) of the value given. */
int mlp_cli_name(mlp_args *a, const char *const *names, int *out);
int mlp_cli_string(mlp_args *a, const char **out);  /* non-empty */
int mlp_cli_kernels(mlp_args *a, const char **out); /* one this build and CPU can run */
/* "16,16" -> hidden[0..n_hidden) = {16, 16}; "none" -> no hidden layer (n_hidden = 0);
 * at most MLP_MAX_LAYERS - 1 sizes of 1 to MLP_MAX_WIDTH */
int mlp_cli_hidden(mlp_args *a, size_t *hidden, size_t *n_hidden);

/* The flags that name a data set's files: --train-images, --train-labels, --test-images,
 * --test-labels (only the last two when test_only). If the current argument is one of them,
 * stores its value in files->path[], sets *rc (0 or the usage error's status) and returns
 * true; returns false for any other argument. */
bool mlp_cli_data_flag(mlp_args *a, mlp_idx_files *files, bool test_only, int *rc);

/* Appends " --train-images PATH" and so on for each path files names explicitly, quoted
 * for the shell when needed, to the string in buf (cap bytes in all). */
void mlp_cli_data_flags(char *buf, size_t cap, const mlp_idx_files *files);

/* The flags that name a CSV data set: --train-csv PATH, --test-csv PATH, --test-split N and
 * --shape RxC (only --test-csv when test_only). As mlp_cli_data_flag(): if the current
 * argument is one of them, stores its value in csv, sets *rc and returns true. */
bool mlp_cli_csv_flag(mlp_args *a, mlp_csv_files *csv, bool test_only, int *rc);

/* Appends " --train-csv PATH" and so on for what csv holds, as mlp_cli_data_flags() does. */
void mlp_cli_csv_flags(char *buf, size_t cap, const mlp_csv_files *csv);

/* True if the argument in DIR's place names a CSV file rather than a directory of IDX
 * files: a regular file (symlinks followed), or a name ending in .csv or .csv.gz that does
 * not exist, so that the error names it as the file it was meant to be. */
bool mlp_cli_csv_path(const char *arg);
/* True if arg's name ends in .csv or .csv.gz, in any case. */
bool mlp_cli_csv_name(const char *arg);

/* s as one shell word: unchanged if it only holds characters the shell leaves alone, else
 * in single quotes (a quote inside becoming '\''), so printed command lines can be run. */
void mlp_cli_quote(char *buf, size_t cap, const char *s);

/* Prints "mlp CMD: <message> (see 'mlp help CMD')" and returns MLP_EXIT_USAGE. */
int mlp_cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints "mlp: <err>" and returns MLP_EXIT_DATA. */
int mlp_cli_fail(const mlp_error *err);

/* The shortest decimal that reads back as exactly f ("0.03", not "0.0299999993"), so a
 * printed command line reproduces a run bit for bit. */
typedef struct {
    char s[32];
} mlp_cli_text;
mlp_cli_text mlp_cli_exact(float f);
/* n with thousands separated by commas: "26,004" */
mlp_cli_text mlp_cli_count(size_t n);

/* Prints an image of (rows, cols) pixels in [0, 1] to stdout in a frame, two characters per
 * pixel (term.h), Unicode shades or plain ASCII. */
void mlp_cli_image(const float *px, size_t rows, size_t cols, bool ascii);

/* "784-16-16-10" */
void mlp_cli_layout(char *buf, size_t cap, const mlp_net *net);

/* DIR's test set for a model of rows x cols images, upright: transposed as it is read when
 * transpose (the flag, or the model's record) says so. 0, or the error printed (one line,
 * naming the model when the shapes differ) and MLP_EXIT_DATA. */
int mlp_cli_test_set(mlp_set *test, const char *dir, bool transpose, const char *model,
                     size_t rows, size_t cols);

#endif
