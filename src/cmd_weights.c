/*
 * cmd_weights: `mlp weights MODEL --out DIR`. Writes what each first-layer neuron looks for
 * as one picture per neuron and one sheet of them all (weights.c draws, png.c and pgm.c
 * write).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "commands.h"
#include "model.h"
#include "net.h"
#include "output.h"
#include "pgm.h"
#include "png.h"
#include "weights.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const help =
    "usage: mlp weights MODEL --out DIR [FLAGS]\n"
    "\n"
    "Draws what each neuron of the first layer looks for: its weights, one per input pixel,\n"
    "laid out as an image. Red: positive weights (the neuron wants those pixels bright);\n"
    "blue: negative (it wants them dark); white: 0. Each picture is scaled by its neuron's\n"
    "largest weight. Writes DIR/neuron-NNN.png for every neuron and DIR/weights.png with\n"
    "all of them in a grid (neuron 0 at the top left, row by row). DIR is created if needed.\n"
    "\n"
    "  --out DIR        where to write (required)\n"
    "  --format NAME    png (default), or pnm: PPM files (PGM with --grey)\n"
    "  --grey, --gray   grey instead of colour: mid-grey 0, white positive, black negative\n"
    "  --scale N        pixels per weight (default: 4; the sheet uses less if it would be\n"
    "                   wider than 4096 pixels)\n"
    "  --transpose      draw each picture transposed: for a model trained on images stored\n"
    "                   transposed (EMNIST) without train's --transpose\n";

typedef struct {
    const char *model, *out;
    int format; /* 0 png, 1 pnm */
    bool grey, transpose;
    size_t scale;
} wt_opts;

static int parse(int argc, char **argv, wt_opts *o)
{
    static const char *const formats[] = {"png", "pnm", NULL};
    mlp_args a = {.cmd = "weights", .argc = argc, .argv = argv};
    int rc = 0;
    *o = (wt_opts){.scale = 4};
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (o->model)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            o->model = s;
        } else if (mlp_cli_flag(&a, "--out")) {
            rc = mlp_cli_string(&a, &o->out);
        } else if (mlp_cli_flag(&a, "--format")) {
            rc = mlp_cli_name(&a, formats, &o->format);
        } else if (mlp_cli_flag(&a, "--scale")) {
            rc = mlp_cli_size(&a, 1, 64, &o->scale);
        } else if (!strcmp(s, "--grey") || !strcmp(s, "--gray")) {
            o->grey = true;
        } else if (!strcmp(s, "--transpose")) {
            o->transpose = true;
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc == 0 && !o->model)
        return mlp_cli_usage(a.cmd, "missing MODEL");
    if (rc == 0 && !o->out)
        return mlp_cli_usage(a.cmd, "missing --out DIR");
    return rc;
}

static mlp_status save(const char *path, const mlp_weights_image *img, int format, mlp_error *err)
{
    if (format == 0)
        return mlp_png_save(path, img->px, img->width, img->height, img->channels, err);
    return mlp_pgm_save(path, img->px, img->width, img->height, img->channels, err);
}

/* DIR/neuron-NNN.EXT for j < n, DIR/weights.EXT for the sheet (j = n); dir_len leaves out
 * DIR's trailing slashes. */
static void picture_path(char *path, size_t cap, int dir_len, const char *dir, int digits,
                         size_t j, size_t n, const char *ext)
{
    if (j < n)
        snprintf(path, cap, "%.*s/neuron-%0*zu.%s", dir_len, dir, digits, j, ext);
    else
        snprintf(path, cap, "%.*s/weights.%s", dir_len, dir, ext);
}

/* Creates DIR if it is missing and checks that it is a directory; 0 or an exit code. */
static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mlp: %s: cannot create the directory: %s\n", dir, strerror(errno));
        return MLP_EXIT_DATA;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mlp: %s: not a directory\n", dir);
        return MLP_EXIT_DATA;
    }
    return 0;
}

/* How the n + 1 pictures are named (picture_path's arguments but the buffer and j). */
typedef struct {
    const char *dir, *ext;
    int dir_len, digits;
    size_t n; /* first-layer neurons */
} names;

static names names_of(const wt_opts *o, size_t n)
{
    names nm = {o->out, o->format == 0 ? "png" : o->grey ? "pgm" : "ppm", 0, 0, n};
    /* "weights/" names the same directory as "weights"; the file names should not differ */
    nm.dir_len = (int)strlen(o->out);
    while (nm.dir_len > 1 && o->out[nm.dir_len - 1] == '/')
        nm.dir_len--;
    nm.digits = n > 1000 ? (int)snprintf(NULL, 0, "%zu", n - 1) : 3;
    return nm;
}

static void name_picture(char *path, size_t cap, const names *nm, size_t j)
{
    picture_path(path, cap, nm->dir_len, nm->dir, nm->digits, j, nm->n, nm->ext);
}

/* Every file checked against the model before the first is written; 0 or an exit code. */
static int plan_pictures(mlp_output_plan *plan, const char *model, const names *nm)
{
    char path[4096];
    mlp_error err;
    if (mlp_output_input(plan, "MODEL", model, 0, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    for (size_t j = 0; j <= nm->n; j++) {
        name_picture(path, sizeof path, nm, j);
        if (mlp_output_target(plan, "picture", path, 0, &err) != MLP_OK)
            return mlp_cli_fail(&err);
    }
    return 0;
}

/* One picture per neuron, drawn into img (freed by the caller on failure). */
static int write_tiles(mlp_weights_image *img, const mlp_net *net, const names *nm,
                       const mlp_weights_style *style, int format)
{
    char path[4096];
    mlp_error err;
    for (size_t j = 0; j < nm->n; j++) {
        name_picture(path, sizeof path, nm, j);
        if (mlp_weights_tile(img, net, j, style, &err) != MLP_OK ||
            save(path, img, format, &err) != MLP_OK)
            return mlp_cli_fail(&err);
        mlp_weights_free(img);
    }
    return 0;
}

/* The sheet of every tile into img and to path; one too wide to look at whole is drawn
 * smaller. */
static int write_sheet(mlp_weights_image *img, const mlp_net *net, const names *nm,
                       mlp_weights_style style, int format, char *path, size_t cap)
{
    mlp_error err;
    size_t across = 1;
    while (across * across < nm->n)
        across++;
    while (style.scale > 1 && across * (mlp_weights_tile_width(&style) + style.gap) > 4096)
        style.scale--;
    name_picture(path, cap, nm, nm->n);
    if (mlp_weights_sheet(img, net, &style, &err) != MLP_OK ||
        save(path, img, format, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

static void print_summary(const wt_opts *o, const mlp_model_meta *meta, const names *nm,
                          const mlp_weights_style *style, const char *sheet,
                          const mlp_weights_image *img)
{
    size_t tiles_w = mlp_weights_tile_width(style), tiles_h = mlp_weights_tile_height(style);
    printf("%s: %zu first-layer neurons of %ux%u weights\n", o->model, nm->n, (unsigned)meta->rows,
           (unsigned)meta->cols);
    printf("wrote %.*s/neuron-%0*d.%s to neuron-%0*zu.%s (%zux%zu each) and %s (%zux%zu, %zu x "
           "%zu tiles)\n",
           nm->dir_len, o->out, nm->digits, 0, nm->ext, nm->digits, nm->n - 1, nm->ext, tiles_w,
           tiles_h, sheet, img->width, img->height, img->grid_cols, img->grid_rows);
    printf("%s\n", o->grey ? "white: positive weights, black: negative, mid-grey: 0"
                           : "red: positive weights, blue: negative, white: 0");
}

static int weights_main(int argc, char **argv)
{
    wt_opts o;
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_weights_image img = {0};
    mlp_output_plan plan = {0};
    mlp_error err;
    char path[4096];
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (mlp_model_load(o.model, &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    const names nm = names_of(&o, net.sizes[1]);
    mlp_weights_style style = {
        .rows = meta.rows, .cols = meta.cols, .scale = o.scale, .gap = 2, .grey = o.grey,
        .transpose = o.transpose};
    if ((rc = make_dir(o.out)) == 0 && (rc = plan_pictures(&plan, o.model, &nm)) == 0 &&
        (rc = write_tiles(&img, &net, &nm, &style, o.format)) == 0 &&
        (rc = write_sheet(&img, &net, &nm, style, o.format, path, sizeof path)) == 0)
        print_summary(&o, &meta, &nm, &style, path, &img);
    mlp_output_plan_free(&plan);
    mlp_weights_free(&img);
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_weights = {
    "weights", "MODEL",      "draw what each first-layer neuron looks for (--out DIR)",
    help,      weights_main, NULL};
