/*
 * plot: learning curves. One row per epoch, kept in memory, appended to a tab-separated log
 * as training goes, read back from one, and drawn as an SVG chart that opens in a browser:
 * the mean training cost per epoch above, the accuracies per epoch below.
 *
 * The log is plain text, one header line and one line per epoch, fields separated by tabs:
 *
 *   epoch  cost      train_acc  val_acc  test_acc  lr     seconds
 *   1      0.091900  87.89      -        92.81     1.5    0.110
 *
 * cost is the mean training cost per image, accuracies are percentages, lr the learning
 * rate of the epoch, seconds its training time. A value that was not measured is "-", as
 * val_acc is when training holds out no validation images (mlp train --val).
 *
 * Every other value is a finite decimal number of at most 400 characters: an optional sign,
 * digits with an optional fraction, an optional exponent ("1", "-0.5", ".25", "1e-05"). Not
 * "inf", "nan", hexadecimal ("0x1p3"), spaces, or a number beyond the largest double
 * ("1e999"); one below the smallest reads as a denormal or 0. The epoch is a whole number
 * from 1 to MLP_PLOT_MAX_EPOCH, above the previous row's; the cost is >= 0; the accuracies
 * are from 0 to 100.
 */
#ifndef MLP_PLOT_H
#define MLP_PLOT_H

#include "output.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>

#define MLP_PLOT_HEADER   "epoch\tcost\ttrain_acc\tval_acc\ttest_acc\tlr\tseconds"
#define MLP_PLOT_MAX_LOG  (64u << 20) /* bytes of log read at most */
#define MLP_PLOT_MAX_ROWS 10000000u

#define MLP_PLOT_MAX_EPOCH 1000000000u /* the largest epoch a log may hold */

typedef struct {
    size_t epoch;                        /* 1-based */
    double cost;                         /* mean training cost per image */
    double train_acc, val_acc, test_acc; /* percent; NAN: not measured */
    double lr, seconds;                  /* NAN: not known */
} mlp_plot_row;

typedef struct {
    size_t n, cap;
    mlp_plot_row *rows; /* (n) in epoch order */
} mlp_plot_curve;

/* Appends a row; its epoch must be above the last one. */
mlp_status mlp_plot_add(mlp_plot_curve *c, const mlp_plot_row *r, mlp_error *err);
void mlp_plot_free(mlp_plot_curve *c); /* safe on a zeroed curve */

/* The log's header line and one row, each with its newline. Returns false on a write error. */
bool mlp_plot_write_header(FILE *f);
bool mlp_plot_write_row(FILE *f, const mlp_plot_row *r);

/* Parses a whole log (len bytes at text) into c (zeroed); name is for messages. Refuses,
 * naming the line and the field, anything that is not a header and rows as written above. */
mlp_status mlp_plot_parse(mlp_plot_curve *c, const char *text, size_t len, const char *name,
                          mlp_error *err);
mlp_status mlp_plot_read(mlp_plot_curve *c, const char *path, mlp_error *err);

/* Writes the chart of c as one SVG document to f; check ferror(f) for write errors. Any curve
 * draws: values outside the axes (an infinite cost from a diverged run, say) sit on the
 * panel's edge, NaN values are gaps, and a curve with no rows gives empty panels. Every loop
 * runs a count fixed before it starts, so the output is bounded: a few kilobytes, plus the
 * title (escaped), plus at most 56 bytes per row (4 points of a line), plus, for 300 rows or
 * fewer, a dot of at most 256 bytes per row and series. title is any text; NULL is "". */
void mlp_plot_svg_write(FILE *f, const mlp_plot_curve *c, const char *title);

/* Writes the chart of c (at least one row) to path as SVG, atomically (output.h): through
 * the plan `files`, which must name path, or with files NULL through a plan of its own. */
mlp_status mlp_plot_svg_save(const mlp_output_plan *files, const char *path,
                             const mlp_plot_curve *c, const char *title, mlp_error *err);

/* A chart of y against x on a logarithmic x axis, one panel: x[0..n) > 0 (ticks at the powers
 * of ten), y from 0 (a value that is not finite or below 0 sits on the edge), a dashed line
 * and a note at mark (NAN: none). The captions are any text, escaped. For the range test's
 * smoothed cost against the learning rate (mlp lr-find). */
void mlp_plot_logx_svg_write(FILE *f, const double *x, const double *y, size_t n, double mark,
                             const char *title, const char *xcaption, const char *ycaption);
/* The same chart to path, atomically, through the plan files, which must name path. */
mlp_status mlp_plot_logx_svg_save(const mlp_output_plan *files, const char *path, const double *x,
                                  const double *y, size_t n, double mark, const char *title,
                                  const char *xcaption, const char *ycaption, mlp_error *err);

/* What `mlp train --log --plot` keeps: the curve so far, the log being appended to (when
 * log_open) and where the chart goes (or NULL). */
typedef struct {
    mlp_plot_curve curve;
    const mlp_output_plan *files; /* names log_path and svg_path */
    mlp_output log;
    bool log_open;
    const char *log_path, *svg_path, *title;
} mlp_plot_run;

/* Writes the log's header (replacing the file atomically) and keeps it open for a line per
 * epoch; either path may be NULL. With keep_epochs > 0 (a resumed run), the rows of epochs
 * up to keep_epochs already in the log are kept, in the log and the chart. */
mlp_status mlp_plot_run_open(mlp_plot_run *r, const mlp_output_plan *files, const char *log_path,
                             const char *svg_path, const char *title, size_t keep_epochs,
                             mlp_error *err);
/* Records an epoch: one line appended to the log and flushed, the chart redrawn. */
mlp_status mlp_plot_run_epoch(mlp_plot_run *r, const mlp_plot_row *row, mlp_error *err);
/* Closes the log (checking that everything reached it) and frees r. */
mlp_status mlp_plot_run_close(mlp_plot_run *r, mlp_error *err);

#endif
