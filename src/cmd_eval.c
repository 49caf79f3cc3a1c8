/*
 * cmd_eval: `mlp eval MODEL [DIR | FILE.csv]`: accuracy, confusion matrix, per-class
 * precision and recall on DIR's test set or a labeled CSV file.
 */
#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "eval.h"
#include "idx.h"
#include "json.h"
#include "model.h"
#include "net.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const eval_help =
    "usage: mlp eval MODEL [DIR | FILE.csv] [--test-images PATH] [--test-labels PATH]\n"
    "                [--test-csv PATH] [--transpose] [--json]\n"
    "\n"
    "Evaluates MODEL on DIR's test files, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte\n"
    "or their .gz (default DIR: data), or on a labeled CSV file: accuracy, mean cost, the\n"
    "confusion matrix (rows: true class, columns: predicted class), the most frequent\n"
    "mistakes, and each class's images, precision, recall and F1. Classes with neither test\n"
    "images nor predictions are left out; a matrix wider than 100 columns is printed in parts.\n"
    "\n"
    "  --test-images PATH  the test images, instead of DIR's (any name; gzipped or not)\n"
    "  --test-labels PATH  the test labels, instead of DIR's\n"
    "  --test-csv PATH     the test set as a labeled CSV file instead (as train reads\n"
    "                      them), of the model's image size and classes; a file in DIR's\n"
    "                      place is one\n"
    "  --transpose         the files store their images transposed (EMNIST): turn them\n"
    "                      upright (a model trained with --transpose does it untold)\n"
    "  --json              print one JSON object instead: accuracy, mean cost, confusion\n"
    "                      matrix, per-class metrics, timings\n";

#define WIDTH        100 /* columns a report may use */
#define TOP_MISTAKES 5

static size_t digits(size_t v)
{
    size_t d = 1;
    for (; v >= 10; v /= 10)
        d++;
    return d;
}

/* The confusion matrix over the classes in shown[0..n), in parts of as many columns as fit
 * in WIDTH, every column as wide as the largest count or class number needs. */
static void print_confusion(const mlp_eval_result *r, const size_t *shown, size_t n)
{
    const size_t K = r->classes;
    size_t widest = 0;
    for (size_t i = 0; i < K * K; i++)
        widest = r->confusion[i] > widest ? r->confusion[i] : widest;
    int w = (int)(digits(widest > K - 1 ? widest : K - 1) + 1);
    if (w < 5)
        w = 5; /* MNIST's matrix looks as it always has */
    size_t per_part = (WIDTH - 5) / (size_t)w;
    size_t parts = (n + per_part - 1) / per_part;
    per_part = (n + parts - 1) / parts; /* parts of even width */
    printf("confusion matrix (rows: true class, columns: predicted class)");
    if (parts > 1)
        printf(", in %zu parts", parts);
    printf("\n");
    for (size_t from = 0; from < n; from += per_part) {
        size_t to = from + per_part < n ? from + per_part : n;
        printf("%s     ", from ? "\n" : "");
        for (size_t q = from; q < to; q++)
            printf("%*zu", w, shown[q]);
        printf("\n");
        for (size_t p = 0; p < n; p++) {
            printf("%5zu", shown[p]);
            for (size_t q = from; q < to; q++)
                printf("%*zu", w, r->confusion[shown[p] * K + shown[q]]);
            printf("\n");
        }
    }
}

static void print_percent(int width, double v)
{
    if (isnan(v))
        printf("  %*s", width, "-");
    else
        printf("  %*.2f%%", width - 1, 100.0 * v);
}

static void print_eval(const mlp_eval_result *r)
{
    const size_t K = r->classes;
    size_t shown[MLP_MODEL_MAX_CLASSES], n = 0;
    for (size_t c = 0; c < K && c < MLP_MODEL_MAX_CLASSES; c++) {
        mlp_eval_class k = mlp_eval_class_stats(r, c);
        if (k.images || k.predicted)
            shown[n++] = c;
    }
    printf("accuracy %.2f%% (%zu/%zu)  mean cost %.4f\n\n", 100.0 * mlp_eval_accuracy(r),
           r->correct, r->n, r->cost);
    if (n < K) {
        printf("not shown, without test images or predictions: class%s", K - n > 1 ? "es" : "");
        for (size_t c = 0, i = 0, listed = 0; c < K; c++) {
            if (i < n && shown[i] == c) {
                i++;
            } else if (listed++ < 20) {
                printf("%s %zu", listed > 1 ? "," : "", c);
            }
        }
        printf("%s\n\n", K - n > 20 ? ", ..." : "");
    }
    print_confusion(r, shown, n);

    mlp_eval_confusion top[TOP_MISTAKES];
    size_t n_top = mlp_eval_top_confusions(r, top, TOP_MISTAKES);
    if (n_top) {
        printf("\nmost frequent mistakes\n true  predicted  images\n");
        for (size_t i = 0; i < n_top; i++)
            printf("%5zu  %9zu  %6zu\n", top[i].truth, top[i].predicted, top[i].count);
    }

    printf("\nclass  images  precision   recall       F1\n");
    for (size_t i = 0; i < n; i++) {
        mlp_eval_class k = mlp_eval_class_stats(r, shown[i]);
        printf("%5zu  %6zu", shown[i], k.images);
        print_percent(9, k.precision);
        print_percent(7, k.recall);
        print_percent(7, k.f1);
        printf("\n");
    }
}

/* The network's shape and functions, for eval's JSON. */
static void json_network(mlp_json *j, const mlp_net *net)
{
    mlp_json_object(j, "network");
    mlp_json_array(j, "sizes");
    for (size_t l = 0; l <= net->n_layers; l++)
        mlp_json_uint(j, NULL, net->sizes[l]);
    mlp_json_end(j);
    mlp_json_string(j, "hidden_activation", mlp_act_name(net->act));
    mlp_json_string(j, "cost", mlp_cost_name(net->cost));
    mlp_json_end(j);
}

typedef struct {
    double load_model, load_data, evaluate; /* seconds */
} eval_times;

static int print_eval_json(const char *model, const char *ipath, const char *lpath,
                           const mlp_net *net, const mlp_eval_result *r, const eval_times *t)
{
    const size_t K = r->classes;
    mlp_json j;
    mlp_error err;
    mlp_json_start(&j, stdout);
    mlp_json_object(&j, NULL);
    mlp_json_string(&j, "model", model);
    json_network(&j, net);
    mlp_json_object(&j, "data");
    mlp_json_string(&j, "images", ipath);
    mlp_json_string(&j, "labels", lpath);
    mlp_json_end(&j);
    mlp_json_uint(&j, "images", r->n);
    mlp_json_uint(&j, "correct", r->correct);
    mlp_json_number(&j, "accuracy", mlp_eval_accuracy(r));
    mlp_json_number(&j, "mean_cost", r->cost);
    mlp_json_uint(&j, "classes", K);
    mlp_json_array(&j, "confusion");
    for (size_t t0 = 0; t0 < K; t0++) {
        mlp_json_array(&j, NULL);
        for (size_t p = 0; p < K; p++)
            mlp_json_uint(&j, NULL, r->confusion[t0 * K + p]);
        mlp_json_end(&j);
    }
    mlp_json_end(&j);
    mlp_json_array(&j, "per_class");
    for (size_t c = 0; c < K; c++) {
        mlp_eval_class k = mlp_eval_class_stats(r, c);
        mlp_json_object(&j, NULL);
        mlp_json_uint(&j, "class", c);
        mlp_json_uint(&j, "images", k.images);
        mlp_json_uint(&j, "predicted", k.predicted);
        mlp_json_uint(&j, "correct", k.correct);
        mlp_json_number(&j, "precision", k.precision);
        mlp_json_number(&j, "recall", k.recall);
        mlp_json_number(&j, "f1", k.f1);
        mlp_json_end(&j);
    }
    mlp_json_end(&j);
    mlp_json_object(&j, "seconds");
    mlp_json_number(&j, "load_model", t->load_model);
    mlp_json_number(&j, "load_data", t->load_data);
    mlp_json_number(&j, "evaluate", t->evaluate);
    mlp_json_end(&j);
    mlp_json_number(&j, "images_per_second", (double)r->n / t->evaluate);
    mlp_json_end(&j);
    return mlp_json_finish(&j, "standard output", &err) == MLP_OK ? 0 : mlp_cli_fail(&err);
}

/* What eval is told. */
typedef struct {
    const char *model;
    mlp_idx_files files; /* the IDX test files: DIR's, or named by flags */
    mlp_csv_files csv;   /* csv.test: a CSV test set instead */
    bool json, transpose;
} eval_args;

static int parse_eval(int argc, char **argv, eval_args *e)
{
    mlp_args a = {.cmd = "eval", .argc = argc, .argv = argv};
    const char *place = NULL; /* the argument in DIR's place */
    int rc = 0;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (e->model && place)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            *(e->model ? &place : &e->model) = s;
        } else if (!strcmp(s, "--json")) {
            e->json = true;
        } else if (!strcmp(s, "--transpose")) {
            e->transpose = true;
        } else if (!mlp_cli_data_flag(&a, &e->files, true, &rc) &&
                   !mlp_cli_csv_flag(&a, &e->csv, true, &rc)) {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc != 0)
        return rc;
    if (!e->model)
        return mlp_cli_usage(a.cmd, "missing MODEL");
    if (place && e->csv.test)
        return mlp_cli_usage(a.cmd, "'%s' and --test-csv: name the test set once", place);
    if (place && mlp_cli_csv_path(place))
        e->csv.test = place;
    else if (place)
        e->files.dir = place;
    if (e->csv.test && (e->files.path[MLP_IDX_TEST_IMAGES] || e->files.path[MLP_IDX_TEST_LABELS]))
        return mlp_cli_usage(a.cmd,
                             "%s and a CSV test set: the test set is IDX files or a CSV "
                             "file, not both",
                             e->files.path[MLP_IDX_TEST_IMAGES] ? "--test-images"
                                                                : "--test-labels");
    return 0;
}

/* Reads the test set into test; ipath and lpath (4096 bytes each) get the files read. A CSV
 * must have the model's image size (transposed, when the set is) and labels below its class
 * count. A set stored transposed is turned upright. */
static int load_test(mlp_set *test, char *ipath, char *lpath, const eval_args *e,
                     const mlp_net *net, const mlp_model_meta *meta)
{
    mlp_error err;
    mlp_status st;
    const bool turn = e->transpose || meta->opt.transpose;
    if (e->csv.test) {
        mlp_csv_opts o = {.labels = MLP_CSV_LABELED,
                          .rows = turn ? meta->cols : meta->rows,
                          .cols = turn ? meta->rows : meta->cols,
                          .classes = net->sizes[net->n_layers],
                          .classes_of = "the model's"};
        snprintf(ipath, 4096, "%s", e->csv.test);
        snprintf(lpath, 4096, "%s", e->csv.test);
        st = mlp_csv_load(test, NULL, e->csv.test, &o, &err);
    } else if ((st = mlp_idx_resolve(ipath, 4096, &e->files, MLP_IDX_TEST_IMAGES, &err)) ==
                   MLP_OK &&
               (st = mlp_idx_resolve(lpath, 4096, &e->files, MLP_IDX_TEST_LABELS, &err)) ==
                   MLP_OK) {
        st = mlp_idx_load_set(test, ipath, lpath, &err);
    }
    if (st == MLP_OK && turn)
        st = mlp_idx_set_transpose(test, &err);
    return st == MLP_OK ? 0 : mlp_cli_fail(&err);
}

static int eval_main(int argc, char **argv)
{
    eval_args e = {.files = {.dir = "data"}};
    char ipath[4096], lpath[4096];
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_set test = {0};
    mlp_eval_result ev = {0};
    mlp_error err;
    eval_times t;
    int rc = parse_eval(argc, argv, &e);
    if (rc != 0)
        return rc;

    double t0 = mlp_now();
    if (mlp_model_load(e.model, &net, MLP_EVAL_BATCH, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    double t1 = mlp_now();
    if ((rc = load_test(&test, ipath, lpath, &e, &net, &meta)) != 0)
        goto out;
    double t2 = mlp_now();
    if (test.rows != meta.rows || test.cols != meta.cols) {
        fprintf(stderr, "mlp: %s: model takes %ux%u images, %s has %zux%zu\n", e.model,
                (unsigned)meta.rows, (unsigned)meta.cols, ipath, test.rows, test.cols);
        rc = MLP_EXIT_DATA;
        goto out;
    }
    if (mlp_eval(&net, &test, &ev, &err) != MLP_OK) {
        fprintf(stderr, "mlp: %s on %s: %s\n", e.model, lpath, err.msg);
        rc = MLP_EXIT_DATA;
        goto out;
    }
    t = (eval_times){t1 - t0, t2 - t1, mlp_now() - t2};
    if (e.json) {
        rc = print_eval_json(e.model, ipath, lpath, &net, &ev, &t);
        goto out;
    }
    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &net);
    printf("model %s: %s, %s hidden, %s cost\n", e.model, layout, mlp_act_name(net.act),
           mlp_cost_name(net.cost));
    bool named =
        e.csv.test || e.files.path[MLP_IDX_TEST_IMAGES] || e.files.path[MLP_IDX_TEST_LABELS];
    printf("data %s: %zu test images\n", named ? ipath : e.files.dir, test.n);
    print_eval(&ev);
out:
    mlp_eval_free(&ev);
    mlp_idx_set_free(&test);
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_eval = {
    "eval",    "MODEL [DIR|CSV]", "evaluate MODEL on DIR's test files (default: data) or a CSV",
    eval_help, eval_main,         NULL};
