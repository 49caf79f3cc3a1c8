/*
 * cmd_predict: `mlp predict MODEL FILE... [FLAGS]`. Classifies pictures (PGM or PNG files, or
 * the ones in directories) and prints a line per picture; one picture alone gets every
 * class's score too. --center prepares each picture as MNIST's digits were (prepare.h);
 * --csv writes the results through output.c, checked against every input first.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "idx.h"
#include "json.h"
#include "model.h"
#include "net.h"
#include "output.h"
#include "pgm.h"
#include "png.h"
#include "prepare.h"
#include "term.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *const help =
    "usage: mlp predict MODEL FILE... [FLAGS]\n"
    "\n"
    "Classifies pictures: greyscale PGM files (P2 or P5, any maxval), PNG files (any colour\n"
    "type and depth: colour becomes grey, transparency white), or directories, whose .pgm\n"
    "and .png files are read in name order. Prints one line per picture: the file, the class\n"
    "and its score (the softmax probability of a cross-entropy model, the sigmoid output of a\n"
    "quadratic-cost one). A single picture also gets every class's score. Pixels are scaled\n"
    "to [0, 1]; 0 is black. Without --center a picture must be exactly the model's input\n"
    "size (28x28 for MNIST). A FILE ending in .csv (or .csv.gz) is a set of images instead,\n"
    "one a line as train reads them, with or without labels (Kaggle's test.csv): its rows are\n"
    "classified, and --csv writes Kaggle's submission, ImageId,Label, ids from 1.\n"
    "\n"
    "  --center     prepare each picture as MNIST's digits were: grey, inverted when the\n"
    "               paper is light, cropped to the ink, scaled into 20x20 keeping its aspect\n"
    "               ratio, and placed so that its centre of mass is at the centre; for\n"
    "               photos, scans and drawings of any size\n"
    "  --invert     use 1 - pixel: MNIST digits are light on a dark background, so a dark\n"
    "               digit on white paper needs it (--center decides by itself)\n"
    "  --show       draw each picture as the model sees it (after --center)\n"
    "  --ascii      draw with plain ASCII instead of Unicode shades and bars\n"
    "  --csv FILE   also write the results to FILE: file,class,score\n"
    "  --json       print one JSON object instead of the lines\n"
    "  --transpose  transpose each picture (after --center) before classifying it: for a\n"
    "               model trained on images stored transposed (EMNIST) without train's\n"
    "               --transpose; one trained with it takes upright pictures as they are\n";

typedef struct {
    const char *model, *csv;
    char **files; /* (n_files) the pictures, directories expanded; owned */
    size_t n_files;
    const char *table; /* a CSV file of images instead (Kaggle's test.csv) */
    mlp_set rows;      /* its images, once read; owned */
    bool center, invert, show, ascii, json, transpose;
} predict_opts;

/* The number of images to classify: the pictures, or the CSV file's rows. */
static size_t count(const predict_opts *o)
{
    return o->table ? o->rows.n : o->n_files;
}

/* Image i's name in the report: its file, or "FILE.csv:K" for row K (from 1, Kaggle's
 * ImageId) of the CSV file. */
static const char *name_of(const predict_opts *o, size_t i, char *buf, size_t cap)
{
    if (!o->table)
        return o->files[i];
    snprintf(buf, cap, "%s:%zu", o->table, i + 1);
    return buf;
}



/* What each picture was classified as, for --csv and --json. */
typedef struct {
    size_t *cls;   /* (n) */
    float *scores; /* (n, classes) */
} results;

static void free_files(predict_opts *o)
{
    for (size_t i = 0; i < o->n_files; i++)
        free(o->files[i]);
    free(o->files);
    o->files = NULL;
    o->n_files = 0;
}

static int add_file(predict_opts *o, const char *dir, const char *name)
{
    size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char **grown = realloc(o->files, (o->n_files + 1) * sizeof *grown);
    char *path = malloc(len);
    if (!grown || !path) {
        free(path);
        if (grown)
            o->files = grown;
        fprintf(stderr, "mlp: out of memory for the list of pictures\n");
        return MLP_EXIT_DATA;
    }
    o->files = grown;
    if (dir)
        snprintf(path, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    else
        snprintf(path, len, "%s", name);
    o->files[o->n_files++] = path;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_picture_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && (!strcasecmp(name + n - 4, ".pgm") || !strcasecmp(name + n - 4, ".png"));
}

/* The .pgm and .png files of dir (not its subdirectories), in name order. */
static int add_dir(predict_opts *o, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "mlp: %s: cannot read the directory\n", dir);
        return MLP_EXIT_DATA;
    }
    size_t first = o->n_files;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.' && is_picture_name(e->d_name))
            rc = add_file(o, dir, e->d_name);
    closedir(d);
    if (rc == 0 && o->n_files == first) {
        fprintf(stderr, "mlp: %s: no .pgm or .png files in the directory\n", dir);
        rc = MLP_EXIT_DATA;
    }
    if (rc == 0)
        qsort(o->files + first, o->n_files - first, sizeof *o->files, by_name);
    return rc;
}

static int parse(int argc, char **argv, predict_opts *o)
{
    mlp_args a = {.cmd = "predict", .argc = argc, .argv = argv};
    int rc = 0;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        struct stat st;
        if (!strcmp(s, "--center"))
            o->center = true;
        else if (!strcmp(s, "--invert"))
            o->invert = true;
        else if (!strcmp(s, "--show"))
            o->show = true;
        else if (!strcmp(s, "--ascii"))
            o->ascii = true;
        else if (!strcmp(s, "--json"))
            o->json = true;
        else if (!strcmp(s, "--transpose"))
            o->transpose = true;
        else if (mlp_cli_flag(&a, "--csv"))
            rc = mlp_cli_string(&a, &o->csv);
        else if (mlp_cli_is_flag(s))
            rc = mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        else if (!o->model)
            o->model = s;
        else if (mlp_cli_csv_name(s) && (o->table || o->n_files))
            rc = mlp_cli_usage(a.cmd, "%s: a CSV file of images is classified on its own", s);
        else if (mlp_cli_csv_name(s))
            o->table = s;
        else if (o->table)
            rc = mlp_cli_usage(a.cmd, "%s: a CSV file of images is classified on its own", s);
        else if (stat(s, &st) == 0 && S_ISDIR(st.st_mode))
            rc = add_dir(o, s);
        else
            rc = add_file(o, NULL, s);
    }
    if (rc == 0 && !o->model)
        rc = mlp_cli_usage(a.cmd, "missing MODEL and IMAGE");
    else if (rc == 0 && !o->n_files && !o->table)
        rc = mlp_cli_usage(a.cmd, "missing IMAGE (a PGM or PNG file, or a directory of them)");
    else if (rc == 0 && o->center && o->invert)
        rc = mlp_cli_usage(a.cmd, "--invert and --center: --center inverts light paper itself");
    return rc;
}

/* ---------------------------------------------------------------- one picture */

/* A picture as read: grey values in [0, 1], 0 black; px is freed with free(). */
typedef struct {
    size_t width, height;
    float *px;    /* (height, width) */
    char how[32]; /* "PNG", or "PGM, maxval N" */
} picture;

/* Reads path as PNG when it starts with PNG's signature, else as PGM (whose refusal names
 * the other formats). */
static mlp_status read_picture(picture *p, const char *path, mlp_error *err)
{
    unsigned char sig[8] = {0};
    FILE *f = mlp_open_input(path, err);
    if (!f)
        return MLP_EIO;
    size_t got = fread(sig, 1, sizeof sig, f);
    fclose(f);
    *p = (picture){0};
    if (got == sizeof sig && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) {
        mlp_png_image png;
        mlp_status s = mlp_png_load(&png, path, err);
        p->width = png.width, p->height = png.height, p->px = png.px;
        snprintf(p->how, sizeof p->how, "PNG");
        return s;
    }
    mlp_pgm pgm;
    mlp_status s = mlp_pgm_load(&pgm, path, err);
    p->width = pgm.width, p->height = pgm.height, p->px = pgm.px;
    snprintf(p->how, sizeof p->how, "PGM, maxval %u", pgm.maxval);
    return s;
}

/* The model's input x (rows * cols) from the picture: prepared with --center, else taken as
 * it is (inverted with --invert) when it has the model's size. */
static int to_input(const predict_opts *o, const mlp_model_meta *m, const picture *img,
                    const char *path, float *x)
{
    mlp_error err;
    /* the upright field: the model's, or with --transpose its transpose */
    const size_t rows = o->transpose ? m->cols : m->rows, cols = o->transpose ? m->rows : m->cols;
    mlp_set one = {.n = 1, .rows = rows, .cols = cols, .dim = rows * cols, .x = x};
    if (o->center) {
        if (mlp_prepare_digit(img->px, img->height, img->width, x, rows, cols, NULL, &err) !=
            MLP_OK) {
            fprintf(stderr, "mlp: %s: %s\n", path, err.msg);
            return MLP_EXIT_DATA;
        }
    } else if (img->width != cols || img->height != rows) {
        fprintf(stderr,
                "mlp: %s: the picture is %zux%zu, the model %s takes %zux%zu; give --center to "
                "prepare it as MNIST's digits were, or resize it\n",
                path, img->width, img->height, o->model, cols, rows);
        return MLP_EXIT_DATA;
    } else {
        for (size_t i = 0; i < one.dim; i++)
            x[i] = o->invert ? 1.0f - img->px[i] : img->px[i];
    }
    if (o->transpose && mlp_idx_set_transpose(&one, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    return 0;
}

/* The whole report of a single picture: the class, then every class's score with a bar. */
static void print_scores(const predict_opts *o, const mlp_net *net, const mlp_model_meta *m,
                         const float *x, const picture *img, const char *path)
{
    const size_t n = (size_t)m->rows * m->cols;
    const float *out = net->a[net->n_layers];
    const size_t K = net->sizes[net->n_layers], best = mlp_net_predict_row(net, 0);
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += (double)x[i] / (double)n;
    printf("image %s: %zux%zu, %s%s\n", path, img->width, img->height, img->how,
           o->center   ? ", prepared as MNIST's digits"
           : o->invert ? ", inverted"
                       : "");
    if (o->show)
        mlp_cli_image(x, m->rows, m->cols, o->ascii);
    printf("class %zu\n\n", best);
    printf("class  %s (* the largest)\n",
           net->cost == MLP_COST_XENT ? "probability" : "score (sigmoid output)");
    for (size_t j = 0; j < K; j++) {
        char bar[256];
        mlp_term_bar(bar, sizeof bar, (double)out[j], 30, o->ascii);
        printf("%5zu  %.4f", j, (double)out[j]);
        if (j == best || bar[0])
            printf(" %s%s%s", j == best ? "*" : " ", bar[0] ? " " : "", bar);
        putchar('\n');
    }
    if (mean > 0.5 && !o->invert && !o->center)
        printf("\nnote: the image is mostly bright, but the model learnt light digits on a dark "
               "background;\nif this one is dark on light, try --invert (or --center)\n");
}

/* ---------------------------------------------------------------- the pictures */

/* Classifies every picture into r, printing as it goes (one line each, or a single
 * picture's whole report; nothing with --json). */
static int classify(const predict_opts *o, mlp_net *net, const mlp_model_meta *m, results *r)
{
    const size_t n = (size_t)m->rows * m->cols, K = net->sizes[net->n_layers];
    float *x = mlp_alloc_array(n, sizeof *x);
    if (!x) {
        fprintf(stderr, "mlp: out of memory\n");
        return MLP_EXIT_DATA;
    }
    int rc = 0;
    const size_t total = count(o);
    for (size_t i = 0; i < total && rc == 0; i++) {
        picture img = {0};
        mlp_error err;
        char name[4200];
        const char *path = name_of(o, i, name, sizeof name);
        if (o->table) { /* a row of the CSV file, upright */
            img = (picture){o->rows.cols, o->rows.rows, o->rows.x + i * o->rows.dim, "CSV row"};
            rc = to_input(o, m, &img, path, x);
            img.px = NULL; /* the set's */
        } else if (read_picture(&img, path, &err) != MLP_OK) {
            rc = mlp_cli_fail(&err);
        } else {
            rc = to_input(o, m, &img, path, x);
        }
        if (rc == 0) {
            mlp_net_set_input(net, 0, x);
            mlp_net_forward(net, 1);
            r->cls[i] = mlp_net_predict_row(net, 0);
            memcpy(r->scores + i * K, net->a[net->n_layers], K * sizeof(float));
            if (!o->json && total == 1) {
                print_scores(o, net, m, x, &img, path);
            } else if (!o->json) {
                printf("%s  class %zu  %.4f\n", path, r->cls[i],
                       (double)r->scores[i * K + r->cls[i]]);
                if (o->show)
                    mlp_cli_image(x, m->rows, m->cols, o->ascii);
            }
        }
        free(img.px);
    }
    free(x);
    return rc;
}

struct table {
    const predict_opts *o;
    const results *r;
    size_t K;
};

static mlp_status write_csv(FILE *f, void *ctx, mlp_error *err)
{
    const struct table *t = ctx;
    (void)err;
    if (t->o->table) { /* Kaggle's submission format */
        fprintf(f, "ImageId,Label\n");
        for (size_t i = 0; i < t->o->rows.n; i++)
            fprintf(f, "%zu,%zu\n", i + 1, t->r->cls[i]);
        return MLP_OK;
    }
    fprintf(f, "file,class,score\n");
    for (size_t i = 0; i < t->o->n_files; i++) {
        const char *p = t->o->files[i];
        bool quote = strpbrk(p, ",\"\r\n") != NULL; /* RFC 4180: quoted, quotes doubled */
        if (quote)
            fputc('"', f);
        for (; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        if (quote)
            fputc('"', f);
        fprintf(f, ",%zu,%.6f\n", t->r->cls[i], (double)t->r->scores[i * t->K + t->r->cls[i]]);
    }
    return MLP_OK;
}

static int write_outputs(const predict_opts *o, const mlp_output_plan *plan, const results *r,
                         size_t K)
{
    mlp_error err;
    struct table t = {o, r, K};
    if (o->json) {
        mlp_json j;
        mlp_json_start(&j, stdout);
        mlp_json_object(&j, NULL);
        mlp_json_string(&j, "model", o->model);
        mlp_json_array(&j, "images");
        for (size_t i = 0; i < count(o); i++) {
            char name[4200];
            mlp_json_object(&j, NULL);
            mlp_json_string(&j, "file", name_of(o, i, name, sizeof name));
            mlp_json_uint(&j, "class", r->cls[i]);
            mlp_json_float(&j, "score", r->scores[i * K + r->cls[i]]);
            mlp_json_array(&j, "scores");
            for (size_t k = 0; k < K; k++)
                mlp_json_float(&j, NULL, r->scores[i * K + k]);
            mlp_json_end(&j);
            mlp_json_end(&j);
        }
        mlp_json_end(&j);
        mlp_json_end(&j);
        if (mlp_json_finish(&j, "standard output", &err) != MLP_OK)
            return mlp_cli_fail(&err);
    }
    if (!o->csv)
        return 0;
    mlp_output w;
    if (mlp_output_open(&w, plan, o->csv, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    write_csv(w.f, &t, &err);
    return mlp_output_commit(&w, &err) == MLP_OK ? 0 : mlp_cli_fail(&err);
}

/* The CSV file's images, of the model's size, labeled or not (labels are not used), turned
 * upright when the model was trained on transposed ones. */
static int read_table(predict_opts *o, const mlp_model_meta *m)
{
    const bool turn = m->opt.transpose;
    mlp_csv_opts c = {.labels = MLP_CSV_AUTO,
                      .rows = turn ? m->cols : m->rows,
                      .cols = turn ? m->rows : m->cols};
    mlp_error err;
    if (mlp_csv_load(&o->rows, NULL, o->table, &c, &err) != MLP_OK ||
        (turn && mlp_idx_set_transpose(&o->rows, &err) != MLP_OK))
        return mlp_cli_fail(&err);
    return 0;
}

/* Every file named before any is read: --csv may be none of the inputs. */
static int plan_files(mlp_output_plan *p, const predict_opts *o)
{
    mlp_error err;
    mlp_status s = mlp_output_input(p, "MODEL", o->model, 0, &err);
    for (size_t i = 0; s == MLP_OK && i < o->n_files; i++)
        s = mlp_output_input(p, "IMAGE", o->files[i], 0, &err);
    if (s == MLP_OK && o->table)
        s = mlp_output_input(p, "the CSV file", o->table, 0, &err);
    if (s == MLP_OK && o->csv)
        s = mlp_output_target(p, "--csv", o->csv, 0, &err);
    return s == MLP_OK ? 0 : mlp_cli_fail(&err);
}

static int predict_main(int argc, char **argv)
{
    predict_opts o = {0};
    mlp_output_plan plan = {0};
    results r = {0};
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_error err;
    int rc = parse(argc, argv, &o);
    if (rc == 0)
        rc = plan_files(&plan, &o);
    if (rc == 0 && mlp_model_load(o.model, &net, 1, &meta, &err) != MLP_OK)
        rc = mlp_cli_fail(&err);
    if (rc == 0 && o.table)
        rc = read_table(&o, &meta);
    size_t K = rc == 0 ? net.sizes[net.n_layers] : 0;
    if (rc == 0 && (!(r.cls = mlp_alloc_array(count(&o), sizeof *r.cls)) ||
                    !(r.scores = mlp_alloc_array(count(&o), K * sizeof *r.scores)))) {
        fprintf(stderr, "mlp: out of memory for %zu results\n", count(&o));
        rc = MLP_EXIT_DATA;
    }
    if (rc == 0)
        rc = classify(&o, &net, &meta, &r);
    if (rc == 0)
        rc = write_outputs(&o, &plan, &r, K);
    free(r.cls);
    free(r.scores);
    mlp_net_free(&net);
    mlp_output_plan_free(&plan);
    free_files(&o);
    mlp_idx_set_free(&o.rows);
    return rc;
}

const mlp_command mlp_cmd_predict = {
    "predict", "MODEL FILE...", "classify PGM or PNG pictures and print their classes",
    help,      predict_main,    NULL};
