/*
 * cmd_lrfind: `mlp lr-find [DIR | FILE.csv] [FLAGS]`: the learning-rate range test (lrfind.h)
 * on the network, optimiser and data that `mlp train` would use with the same flags (it
 * prepares them: mlp_train_prepared), then the table (--log) and the chart (--plot) of the
 * smoothed cost against the rate, and the rate it suggests. No model is saved.
 */
#include "cli.h"
#include "commands.h"
#include "lrfind.h"
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const help =
    "usage: mlp lr-find [DIR | FILE.csv] [--from X] [--to X] [TRAIN FLAGS]\n"
    "\n"
    "The learning-rate range test (Smith 2017): one pass over the training set with the\n"
    "network and optimiser 'mlp train' would use with the same flags, the rate raised\n"
    "geometrically every batch from --from to --to. It records each batch's cost and its\n"
    "smoothed cost, stops when the smoothed cost passes 4 times its lowest, writes them as\n"
    "a table (--log) and a chart (--plot), and suggests the rate where the smoothed cost\n"
    "falls fastest. Nothing else is saved.\n"
    "\n"
    "  --from X     the first rate (default: 1e-6)\n"
    "  --to X       the last rate (default: 10)\n"
    "  --log PATH   the table: batch, lr, cost, smoothed (default: lr-find.tsv)\n"
    "  --plot PATH  the chart, SVG (default: lr-find.svg)\n"
    "\n"
    "The flags of 'mlp train' (see 'mlp help train') choose what is tested, all but those of\n"
    "the rate, the epochs and the model file:\n";

/* train's flags that mean nothing to a single pass at rates of its own, with no model */
static const char *const refused[] = {"--lr",       "--schedule", "--lr-end", "--lr-step",
                                      "--lr-gamma", "--warmup",   "--epochs", "--patience",
                                      "--out",      "--resume",   "--serve",    NULL};

static bool is_refused(const char *flag)
{
    for (const char *const *f = refused; *f; f++)
        if (!strcmp(*f, flag))
            return true;
    return false;
}

/* The help after the text above: train's flags that lr-find takes, from the table (--log
 * and --plot are above), and the data flags. */
static void print_train_flags(FILE *out)
{
    size_t col = 0;
    for (size_t k = 0; k < MLP_OPTIONS; k++) {
        const char *flag = mlp_options[k].flag;
        if (is_refused(flag) || !strcmp(flag, "--log") || !strcmp(flag, "--plot"))
            continue;
        if (col + strlen(flag) + 2 > 88) {
            fputc('\n', out);
            col = 0;
        }
        col += (size_t)fprintf(out, "%s%s,", col ? " " : "  ", flag);
    }
    fprintf(out, "\n  and the data flags: --train-images, --train-labels, --test-images, "
                 "--test-labels,\n  --train-csv, --test-csv, --test-split, --shape.\n");
}

typedef struct {
    float from, to;
} lr_find_opts;

/* Writes the table to path, atomically, through the plan. */
static mlp_status save_table(const mlp_output_plan *files, const char *path,
                             const mlp_lrfind_result *r, mlp_error *err)
{
    mlp_output o;
    mlp_status st = mlp_output_open(&o, files, path, err);
    if (st != MLP_OK)
        return st;
    mlp_lrfind_write_tsv(o.f, r); /* a write error is the commit's to report */
    return mlp_output_commit(&o, err);
}

/* The chart: the smoothed cost against the rate, the suggested rate marked. */
static mlp_status save_chart(const mlp_output_plan *files, const char *path,
                             const mlp_lrfind_result *r, const mlp_train_opts *o, mlp_error *err)
{
    double *x = mlp_alloc_array(r->n ? r->n : 1, sizeof *x);
    double *y = mlp_alloc_array(r->n ? r->n : 1, sizeof *y);
    char title[512];
    mlp_status st = MLP_OK;
    if (!x || !y) {
        st = mlp_fail(err, MLP_ENOMEM, "out of memory for the chart of %zu batches", r->n);
    } else {
        for (size_t k = 0; k < r->n; k++) {
            x[k] = r->rows[k].lr;
            y[k] = r->rows[k].smooth;
        }
        snprintf(title, sizeof title, "mlp lr-find: %s, batch %zu",
                 mlp_opt_name(mlp_opt_optimizer_names, (size_t)o->sgd.optimizer), o->sgd.batch);
        double mark = r->suggested != SIZE_MAX ? r->rows[r->suggested].lr : NAN;
        st = mlp_plot_logx_svg_save(files, path, x, y, r->n, mark, title,
                                    "learning rate (log scale)", "smoothed training cost per image",
                                    err);
    }
    free(x);
    free(y);
    return st;
}

static int run_test(void *ctx, mlp_net *net, mlp_sgd *s, const mlp_set *train,
                    const mlp_train_opts *o, const mlp_output_plan *files,
                    const volatile sig_atomic_t *stop)
{
    const lr_find_opts *lf = ctx;
    mlp_lrfind_result r;
    mlp_error err;
    printf("range test: in place of the rate and schedule above, rates from %g to %g, one "
           "pass\n",
           (double)lf->from, (double)lf->to);
    fflush(stdout);
    if (mlp_lrfind_run(&r, net, s, train, lf->from, lf->to, stop, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    int rc = 0;
    printf("range test: %zu of %zu batches, rates from %g to %g", r.n, r.planned, (double)lf->from,
           r.n ? r.rows[r.n - 1].lr : (double)lf->from);
    printf("%s\n", r.interrupted ? "; interrupted"
                   : r.diverged  ? "; stopped there: the smoothed cost diverged"
                                 : "");
    if (r.n)
        printf("lowest smoothed cost %.4f at lr %.3g\n", r.rows[r.best].smooth, r.rows[r.best].lr);
    if (r.suggested != SIZE_MAX)
        printf("suggested learning rate: %.3g (the steepest fall of the smoothed cost)\n",
               r.rows[r.suggested].lr);
    else
        printf("no suggestion: too few batches before the lowest cost; try a lower --from\n");
    if (save_table(files, o->log, &r, &err) != MLP_OK || save_chart(files, o->plot, &r, o, &err))
        rc = mlp_cli_fail(&err);
    else
        printf("wrote %s and %s\n", o->log, o->plot);
    mlp_lrfind_free(&r);
    if (rc == 0 && r.interrupted)
        rc = 128 + (int)*stop;
    return rc;
}

static int lr_find_main(int argc, char **argv)
{
    static const mlp_cli_range rates = {.lo = 0.0, .hi = 1e6, .lo_open = true};
    lr_find_opts lf = {(float)MLP_LRFIND_FROM, (float)MLP_LRFIND_TO};
    mlp_args a = {.cmd = "lr-find", .argc = argc, .argv = argv};
    /* train's flags, less --from and --to, and the defaults of --log and --plot after them */
    char **rest = malloc(((size_t)argc + 4) * sizeof *rest);
    bool log = false, plot = false;
    int n = 0, rc = 0;
    if (!rest) {
        fprintf(stderr, "mlp: out of memory\n");
        return MLP_EXIT_DATA;
    }
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        if (mlp_cli_flag(&a, "--from")) {
            rc = mlp_cli_float(&a, rates, &lf.from);
            continue;
        }
        if (mlp_cli_flag(&a, "--to")) {
            rc = mlp_cli_float(&a, rates, &lf.to);
            continue;
        }
        for (const char *const *f = refused; *f && rc == 0; f++)
            if (mlp_cli_flag(&a, *f)) /* is_refused, with --flag=VALUE */
                rc = mlp_cli_usage(a.cmd,
                                   "%s does not apply: the test is one pass at rates of its "
                                   "own (--from, --to), and saves no model",
                                   *f);
        log = log || mlp_cli_flag(&a, "--log");
        plot = plot || mlp_cli_flag(&a, "--plot");
        rest[n++] = argv[a.i];
    }
    if (rc == 0 && !(lf.from < lf.to))
        rc = mlp_cli_usage(a.cmd, "--from %g: it must be below --to (%g)", (double)lf.from,
                           (double)lf.to);
    if (rc == 0) {
        char log_flag[] = "--log", log_path[] = "lr-find.tsv";
        char plot_flag[] = "--plot", plot_path[] = "lr-find.svg";
        if (!log) {
            rest[n++] = log_flag;
            rest[n++] = log_path;
        }
        if (!plot) {
            rest[n++] = plot_flag;
            rest[n++] = plot_path;
        }
        rc = mlp_train_prepared(a.cmd, n, rest, run_test, &lf);
    }
    free(rest);
    return rc;
}

const mlp_command mlp_cmd_lr_find = {
    "lr-find", "[DIR|CSV]",  "the learning-rate range test: the smoothed cost as the rate grows",
    help,      lr_find_main, print_train_flags};
