/*
 * cli: argument parsing and printing helpers shared by the command-line files.
 */
#include "cli.h"

#include "term.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int mlp_cli_size(mlp_args *a, size_t lo, size_t hi, size_t *out)
{
    const char *v = mlp_cli_value(a);
    char *end;
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE)
        return mlp_cli_usage(a->cmd, "%s: '%s' is not a whole number", a->flag, v);
    if (x < lo || x > hi)
        return mlp_cli_usage(a->cmd, "%s: %s is out of range (%zu to %zu)", a->flag, v, lo, hi);
    *out = (size_t)x;
    return 0;
}

int mlp_cli_float(mlp_args *a, double lo, double hi, float *out)
{
    const char *v = mlp_cli_value(a);
    char *end;
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x))
        return mlp_cli_usage(a->cmd, "%s: '%s' is not a number", a->flag, v);
    if (!(x > lo && x <= hi))
        return mlp_cli_usage(a->cmd, "%s: %s is out of range (more than %g, at most %g)", a->flag,
                             v, lo, hi);
    *out = (float)x;
    return 0;
}

int mlp_cli_name(mlp_args *a, const char *const *names, int n, int *out)
{
    const char *v = mlp_cli_value(a);
    char list[256] = "";
    if (!v)
        return mlp_cli_usage(a->cmd, "%s needs a value", a->flag);
    for (int k = 0; k < n; k++) {
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

const char *const mlp_cli_act_names[3] = {"sigmoid", "tanh", "relu"};
const char *const mlp_cli_cost_names[2] = {"quadratic", "xent"};

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
