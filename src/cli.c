/*
 * cli: argument parsing and printing helpers shared by the command-line files.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include "term.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int mlp_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mlp%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'mlp help%s%s')\n", cmd ? " " : "", cmd ? cmd : "");
    return MLP_EXIT_USAGE;
}

int mlp_cli_fail(const mlp_error *err)
{
    fprintf(stderr, "mlp: %s\n", err->msg);
    return MLP_EXIT_DATA;
}

bool mlp_cli_is_flag(const char *s)
{
    return s[0] == '-' && s[1] == '-' && s[2];
}

bool mlp_cli_flag(mlp_args *a, const char *name)
{
    size_t n = strlen(name);
    const char *s = a->argv[a->i];
    if (strncmp(s, name, n) != 0 || (s[n] != '\0' && s[n] != '='))
        return false;
    a->flag = name;
    return true;
}

const char *mlp_cli_value(mlp_args *a)
{
    const char *eq = strchr(a->argv[a->i], '=');
    if (eq)
        return eq + 1;
    if (a->i + 1 >= a->argc)
        return NULL;
    return a->argv[++a->i];
}

/* How reading a number's text went. */
typedef enum { READ_OK, READ_SYNTAX, READ_RANGE } read_result;

/* s[0..n) as a whole number: decimal digits and nothing else, so "-1" is refused instead of
 * wrapping around as strtoull would have it, and so are "+1", " 1", "1.5" and "". */
static read_result read_whole(const char *s, size_t n, unsigned long long *x)
{
    if (n == 0)
        return READ_SYNTAX;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return READ_SYNTAX;
    *x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (*x > (ULLONG_MAX - d) / 10)
            return READ_RANGE;
        *x = *x * 10 + d;
    }
    return READ_OK;
}

/* s[0..n) as a decimal number in *x. strtod also takes leading space, hex ("0x1p3"), "inf"
 * and "nan"; only the characters of a decimal number are let through to it. *zero: the text
 * is exactly 0 (strtod gives 0 for "1e-400" too, but says ERANGE). */
static read_result read_decimal(const char *s, size_t n, double *x, bool *zero)
{
    char buf[128]; /* a copy ending where the part ends: strtod reads up to a NUL */
    if (n == 0 || n >= sizeof buf)
        return READ_SYNTAX;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", s[i]) || s[i] == '\0')
            return READ_SYNTAX;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    *x = strtod(buf, &end);
    if (end != buf + n)
        return READ_SYNTAX;
    /* ERANGE: overflow (HUGE_VAL) or underflow (0 or a subnormal, left to the float checks) */
    if (errno == ERANGE && fabs(*x) > 1.0)
        return READ_RANGE;
    *zero = *x == 0.0 && errno != ERANGE;
    return READ_OK;
}

static bool within(double x, double lo, double hi, mlp_cli_range r)
{
    return (r.lo_open ? x > lo : x >= lo) && (r.hi_open ? x < hi : x <= hi);
}

/* "more than 0, at most 1e+06" */
static void range_text(char *buf, size_t cap, mlp_cli_range r)
{
    snprintf(buf, cap, "%s %g, %s %g", r.lo_open ? "more than" : "at least", r.lo,
             r.hi_open ? "less than" : "at most", r.hi);
}

int mlp_cli_parse_size(const char *cmd, const char *name, const char *s, size_t n, size_t lo,
                       size_t hi, size_t *out)
{
    unsigned long long x = 0;
    read_result res = read_whole(s, n, &x);
    if (res == READ_SYNTAX)
        return mlp_cli_usage(cmd, "%s: '%.*s' is not a whole number (%zu to %zu)", name, (int)n, s,
                             lo, hi);
    if (res == READ_RANGE || x < lo || x > hi)
        return mlp_cli_usage(cmd, "%s: %.*s is out of range (%zu to %zu)", name, (int)n, s, lo, hi);
    *out = (size_t)x;
    return 0;
}

int mlp_cli_parse_float(const char *cmd, const char *name, const char *s, size_t n,
                        mlp_cli_range r, float *out)
{
    char range[80];
    range_text(range, sizeof range, r);
    double x = 0.0;
    bool zero = false;
    read_result res = read_decimal(s, n, &x, &zero);
    if (res == READ_SYNTAX)
        return mlp_cli_usage(cmd, "%s: '%.*s' is not a number (%s)", name, (int)n, s, range);
    /* a double beyond the largest float has no float to round to */
    if (res == READ_RANGE || fabs(x) > FLT_MAX)
        return mlp_cli_usage(cmd, "%s: %.*s is out of range (%s)", name, (int)n, s, range);
    float f = (float)x; /* every check below is on the value as it is kept */
    if (!zero && !isnormal(f))
        return mlp_cli_usage(cmd, "%s: %.*s is too small for a float, whose smallest normal "
                                  "value is %g (%s)",
                             name, (int)n, s, (double)FLT_MIN, range);
    /* the ends as floats too: "0.1" is 0.1f, a little more than 0.1, and is in [0.1, 10] */
    if (!within((double)f, (double)(float)r.lo, (double)(float)r.hi, r)) {
        if (within(x, r.lo, r.hi, r)) /* only the rounding took it out: 0.99999999 is 1 */
            return mlp_cli_usage(cmd, "%s: %.*s is %s as a float, out of range (%s)", name,
                                 (int)n, s, mlp_cli_exact(f).s, range);
        return mlp_cli_usage(cmd, "%s: %.*s is out of range (%s)", name, (int)n, s, range);
    }
    *out = zero ? 0.0f : f; /* "-0" is 0 */
    return 0;
}

int mlp_cli_size(mlp_args *a, size_t lo, size_t hi, size_t *out)
{
    const char *v = mlp_cli_value(a);
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    return mlp_cli_parse_size(a->cmd, a->flag, v, strlen(v), lo, hi, out);
}

int mlp_cli_float(mlp_args *a, mlp_cli_range r, float *out)
{
    const char *v = mlp_cli_value(a);
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    return mlp_cli_parse_float(a->cmd, a->flag, v, strlen(v), r, out);
}

int mlp_cli_name(mlp_args *a, const char *const *names, int *out)
{
    const char *v = mlp_cli_value(a);
    char list[256] = "";
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    for (int k = 0; names[k]; k++) {
        if (!strcmp(v, names[k])) {
            *out = k;
            return 0;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", names[k]);
    }
    return mlp_cli_usage(a->cmd, "%s: unknown value '%s' (one of %s)", a->flag, v, list);
}

int mlp_cli_string(mlp_args *a, const char **out)
{
    const char *v = mlp_cli_value(a);
    if (!v || !v[0])
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    *out = v;
    return 0;
}

int mlp_cli_hidden(mlp_args *a, size_t *hidden, size_t *n_hidden)
{
    const char *v = mlp_cli_value(a);
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    *n_hidden = 0;
    if (!strcmp(v, "none"))
        return 0;
    for (const char *p = v;;) {
        size_t n = strcspn(p, ","); /* one size, up to the next comma */
        unsigned long long x = 0;
        read_result res = read_whole(p, n, &x);
        if (res == READ_SYNTAX)
            return mlp_cli_usage(a->cmd, "%s: '%s' is not a comma-separated list of sizes", a->flag,
                                 v);
        if (res == READ_RANGE || x < 1 || x > MLP_MAX_WIDTH)
            return mlp_cli_usage(a->cmd, "%s: layer size out of range in '%s' (1 to %u)", a->flag,
                                 v, MLP_MAX_WIDTH);
        if (*n_hidden == MLP_MAX_LAYERS - 1)
            return mlp_cli_usage(a->cmd, "%s: at most %d hidden layers", a->flag,
                                 MLP_MAX_LAYERS - 1);
        hidden[(*n_hidden)++] = (size_t)x;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

int mlp_cli_kernels(mlp_args *a, const char **out)
{
    const char *v = mlp_cli_value(a);
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    /* A name this build knows but this CPU lacks, as in a command line recorded on another
     * machine, still runs: the kernels differ only in speed and rounding. */
    if (!mlp_kernels_get(v) && (!strcmp(v, "avx512") || !strcmp(v, "avx2"))) {
        fprintf(stderr, "mlp: note: %s %s: this CPU lacks it; using %s\n", a->flag, v,
                mlp_kernels_get("auto")->name);
        v = "auto";
    }
    if (!mlp_kernels_get(v)) {
        char list[128] = "auto";
        for (const char *const *k = mlp_kernels_available(); *k; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), ", %s", *k);
        return mlp_cli_usage(a->cmd, "%s: '%s' is not available here (%s)", a->flag, v, list);
    }
    *out = v;
    return 0;
}

mlp_cli_text mlp_cli_count(size_t n)
{
    mlp_cli_text t;
    char digits[32];
    size_t len = (size_t)snprintf(digits, sizeof digits, "%zu", n), o = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            t.s[o++] = ',';
        t.s[o++] = digits[i];
    }
    t.s[o] = '\0';
    return t;
}

static const char *const data_flags[4] = {"--train-images", "--train-labels", "--test-images",
                                          "--test-labels"};

bool mlp_cli_data_flag(mlp_args *a, mlp_idx_files *files, bool test_only, int *rc)
{
    for (int k = test_only ? MLP_IDX_TEST_IMAGES : 0; k < 4; k++) {
        if (mlp_cli_flag(a, data_flags[k])) {
            *rc = mlp_cli_string(a, &files->path[k]);
            return true;
        }
    }
    return false;
}

/* --shape RxC: rows and cols, each of 1 to MLP_CSV_MAX_PIXELS, and no more pixels than that */
static int parse_shape(mlp_args *a, mlp_csv_files *csv)
{
    const char *v = mlp_cli_value(a);
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    const char *x = strchr(v, 'x');
    if (!x)
        return mlp_cli_usage(a->cmd, "%s: '%s' is not ROWSxCOLS (as 28x28)", a->flag, v);
    size_t rows, cols;
    int rc = mlp_cli_parse_size(a->cmd, "--shape rows", v, (size_t)(x - v), 1, MLP_CSV_MAX_PIXELS,
                                &rows);
    if (rc == 0)
        rc = mlp_cli_parse_size(a->cmd, "--shape cols", x + 1, strlen(x + 1), 1, MLP_CSV_MAX_PIXELS,
                                &cols);
    if (rc == 0 && rows * cols > MLP_CSV_MAX_PIXELS) /* each at most 2^20: no overflow */
        return mlp_cli_usage(a->cmd, "%s %s: %zu pixels, more than the %u a CSV row may hold",
                             a->flag, v, rows * cols, MLP_CSV_MAX_PIXELS);
    if (rc == 0) {
        csv->rows = rows;
        csv->cols = cols;
    }
    return rc;
}

bool mlp_cli_csv_flag(mlp_args *a, mlp_csv_files *csv, bool test_only, int *rc)
{
    if (mlp_cli_flag(a, "--test-csv"))
        *rc = mlp_cli_string(a, &csv->test);
    else if (test_only)
        return false;
    else if (mlp_cli_flag(a, "--train-csv"))
        *rc = mlp_cli_string(a, &csv->train);
    else if (mlp_cli_flag(a, "--test-split"))
        *rc = mlp_cli_size(a, 1, UINT32_MAX, &csv->test_split);
    else if (mlp_cli_flag(a, "--shape"))
        *rc = parse_shape(a, csv);
    else
        return false;
    return true;
}

void mlp_cli_csv_flags(char *buf, size_t cap, const mlp_csv_files *csv)
{
    const char *flag[2] = {"--train-csv", "--test-csv"}, *path[2] = {csv->train, csv->test};
    char word[4096 + 64];
    for (int k = 0; k < 2; k++) {
        size_t len = strlen(buf);
        if (!path[k] || len >= cap)
            continue;
        mlp_cli_quote(word, sizeof word, path[k]);
        snprintf(buf + len, cap - len, " %s %s", flag[k], word);
    }
    size_t len = strlen(buf);
    if (csv->test_split && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " --test-split %zu", csv->test_split);
    if (csv->rows && len < cap)
        snprintf(buf + len, cap - len, " --shape %zux%zu", csv->rows, csv->cols);
}

/* True if s ends with end, in any case. */
static bool ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && strcasecmp(s + n - m, end) == 0;
}

bool mlp_cli_csv_name(const char *arg)
{
    return ends_with(arg, ".csv") || ends_with(arg, ".csv.gz");
}

bool mlp_cli_csv_path(const char *arg)
{
    struct stat st;
    if (stat(arg, &st) == 0)
        return S_ISREG(st.st_mode);
    return mlp_cli_csv_name(arg);
}

void mlp_cli_quote(char *buf, size_t cap, const char *s)
{
    const char *plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%";
    if (s[0] && strspn(s, plain) == strlen(s)) {
        snprintf(buf, cap, "%s", s);
        return;
    }
    /* in single quotes nothing is special but the quote itself: close, escape it, reopen */
    size_t len = (size_t)snprintf(buf, cap, "'");
    for (; *s && len < cap; s++)
        len += (size_t)snprintf(buf + len, cap - len, *s == '\'' ? "'\\''" : "%c", *s);
    if (len < cap)
        snprintf(buf + len, cap - len, "'");
}

void mlp_cli_data_flags(char *buf, size_t cap, const mlp_idx_files *files)
{
    char word[4096 + 64];
    for (int k = 0; k < 4; k++) {
        size_t len = strlen(buf);
        if (!files->path[k] || len >= cap)
            continue;
        mlp_cli_quote(word, sizeof word, files->path[k]);
        snprintf(buf + len, cap - len, " %s %s", data_flags[k], word);
    }
}

mlp_cli_text mlp_cli_exact(float f)
{
    mlp_cli_text t;
    /* %g switches to an exponent once the digits asked for run out ("1e+01" for 10), so
     * between 1e-4 and 1e9 ask for more digits until it no longer does */
    double a = fabs((double)f);
    bool plain = a >= 1e-4 && a < 1e9;
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(t.s, sizeof t.s, "%.*g", digits, (double)f);
        if (strtof(t.s, NULL) == f && (!plain || !strchr(t.s, 'e')))
            break;
    }
    return t;
}

void mlp_cli_image(const float *px, size_t rows, size_t cols, bool ascii)
{
    const char *edge = ascii ? "-" : "─", *side = ascii ? "|" : "│";
    char line[1024];
    for (size_t r = 0; r <= rows + 1; r++) {
        if (r == 0 || r == rows + 1) {
            fputs(r == 0 ? (ascii ? "+" : "┌") : (ascii ? "+" : "└"), stdout);
            for (size_t c = 0; c < 2 * cols; c++)
                fputs(edge, stdout);
            fputs(r == 0 ? (ascii ? "+" : "┐") : (ascii ? "+" : "┘"), stdout);
        } else {
            mlp_term_shade_row(line, sizeof line, px + (r - 1) * cols, cols, ascii);
            printf("%s%s%s", side, line, side);
        }
        putchar('\n');
    }
}

void mlp_cli_layout(char *buf, size_t cap, const mlp_net *net)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t l = 0; l <= net->n_layers && len < cap; l++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", l ? "-" : "", net->sizes[l]);
}

int mlp_cli_test_set(mlp_set *test, const char *dir, bool transpose, const char *model,
                     size_t rows, size_t cols)
{
    mlp_error err;
    if (mlp_idx_load_test(test, dir, &err) != MLP_OK ||
        (transpose && mlp_idx_set_transpose(test, &err) != MLP_OK))
        return mlp_cli_fail(&err);
    if (test->rows != rows || test->cols != cols) {
        fprintf(stderr, "mlp: %s: model takes %zux%zu images, %s has %zux%zu\n", model, rows,
                cols, dir, test->rows, test->cols);
        return MLP_EXIT_DATA;
    }
    return 0;
}
