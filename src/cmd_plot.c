/*
 * cmd_plot: `mlp plot LOG [SVG]`. Draws the learning curves of a training log written by
 * `mlp train --log` (plot.c reads and draws).
 */
#include "cli.h"
#include "commands.h"
#include "plot.h"

#include <stdio.h>
#include <string.h>

static const char *const help =
    "usage: mlp plot LOG [SVG] [FLAGS]\n"
    "\n"
    "Draws the learning curves of LOG, a training log written by 'mlp train --log', as an\n"
    "SVG chart that opens in a browser: the mean training cost per epoch above, the training,\n"
    "validation and test accuracy per epoch below; hovering a point shows its value. SVG\n"
    "defaults to LOG with its .tsv (or any) extension replaced by .svg.\n"
    "\n"
    "  --title TEXT    the chart's title (default: LOG's name)\n"
    "\n"
    "The log has a header line and one line per epoch, tab-separated:\n"
    "  epoch  cost  train_acc  val_acc  test_acc  lr  seconds\n"
    "accuracies in percent, '-' for a value that was not measured.\n";

static int plot_main(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *title = NULL;
    int n_pos = 0, rc = 0;
    mlp_args a = {.cmd = "plot", .argc = argc, .argv = argv};
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (n_pos == 2)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            pos[n_pos++] = s;
        } else if (mlp_cli_flag(&a, "--title")) {
            rc = mlp_cli_string(&a, &title);
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc != 0)
        return rc;
    if (n_pos == 0)
        return mlp_cli_usage(a.cmd, "missing LOG");

    char svg[4096];
    if (pos[1]) {
        snprintf(svg, sizeof svg, "%s", pos[1]);
    } else {
        const char *slash = strrchr(pos[0], '/'), *dot = strrchr(pos[0], '.');
        size_t stem = dot && (!slash || dot > slash + 1) ? (size_t)(dot - pos[0]) : strlen(pos[0]);
        if (stem + 5 > sizeof svg)
            return mlp_cli_usage(a.cmd, "LOG: path too long");
        snprintf(svg, sizeof svg, "%.*s.svg", (int)stem, pos[0]);
    }
    /* the chart is checked against the log (same file by another name, a device, a missing
     * directory) before the log is read */
    mlp_output_plan files = {0};
    mlp_plot_curve c = {0};
    mlp_error err;
    if (mlp_output_input(&files, "LOG", pos[0], 0, &err) != MLP_OK ||
        mlp_output_target(&files, "SVG", svg, 0, &err) != MLP_OK ||
        mlp_plot_read(&c, pos[0], &err) != MLP_OK ||
        mlp_plot_svg_save(&files, svg, &c, title ? title : pos[0], &err) != MLP_OK)
        rc = mlp_cli_fail(&err);
    else
        printf("drew %zu epoch%s of %s into %s\n", c.n, c.n == 1 ? "" : "s", pos[0], svg);
    mlp_output_plan_free(&files);
    mlp_plot_free(&c);
    return rc;
}

const mlp_command mlp_cmd_plot = {
    "plot", "LOG [SVG]", "draw the learning curves of a training log as SVG",
    help,   plot_main,   NULL};
