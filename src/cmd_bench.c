/*
 * cmd_bench: `mlp bench [DIR] [--config LIST] [--epochs N] [--threads N] [--kernels NAME]`. Trains
 * the benchmark configurations on real data and reports seconds per epoch, images per second,
 * GFLOP/s and their share of the machine's FMA peak, measured by a probe in the same run.
 *
 * The configurations are those of a PyTorch reference trainer of the same networks, so the
 * two programs can be timed side by side:
 *   A  784-16-16-10 sigmoid, quadratic cost, batch 10, SGD lr 3
 *   B  784-100-10 sigmoid, softmax cross-entropy, batch 32, SGD lr 0.1
 *   C  784-800-800-10 ReLU, softmax cross-entropy, batch 128, SGD lr 0.05, momentum 0.9
 * A training epoch's work is counted as 6 flops per parameter per image (2 for the forward
 * product, 2 for each backward product), the usual estimate; the step and activations are
 * not counted. The peak is what the kernels' own FMA probe reaches on this machine, on one
 * thread and on all of them at once.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "commands.h"
#include "eval.h"
#include "idx.h"
#include "json.h"
#include "net.h"
#include "sgd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_EPOCHS 100

static const char *const help =
    "usage: mlp bench [DIR] [--config LIST] [--epochs N] [--threads N] [--kernels NAME]\n"
    "                 [--json]\n"
    "\n"
    "Trains benchmark configurations on DIR (default: data) for N epochs each (default: 3)\n"
    "and prints the median seconds per epoch, images per second, GFLOP/s (6 x parameters x\n"
    "images per epoch) as a share of the FMA peak a probe measures in the same run, the test\n"
    "accuracy reached, and the peak resident memory.\n"
    "\n"
    "  --config LIST   comma-separated from A, B, C, D (default: A,B,C)\n"
    "                  A 784-16-16-10 sigmoid, quadratic cost, batch 10, lr 3\n"
    "                  B 784-100-10 sigmoid, cross-entropy, batch 32, lr 0.1\n"
    "                  C 784-800-800-10 relu, cross-entropy, batch 128, lr 0.05, momentum 0.9\n"
    "                  D 784-1200-1200-10, the best preset's network, trained as C\n"
    "  --epochs N      epochs per configuration (default: 3)\n"
    "  --threads N     threads (default: online CPUs)\n"
    "  --kernels NAME  auto, avx512, avx2, portable or ref (default: auto)\n"
    "  --json          print one JSON object at the end instead: the machine's peak, and for\n"
    "                  each configuration its network, every epoch's seconds and cost, the\n"
    "                  median, images per second, GFLOP/s, share of peak, test accuracy\n";

typedef struct {
    char name;
    size_t hidden[2], n_hidden;
    mlp_act act;
    mlp_cost cost;
    size_t batch;
    float lr, momentum;
} config;

static const config configs[] = {
    {'A', {16, 16}, 2, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 10, 3.0f, 0.0f},
    {'B', {100, 0}, 1, MLP_ACT_SIGMOID, MLP_COST_XENT, 32, 0.1f, 0.0f},
    {'C', {800, 800}, 2, MLP_ACT_RELU, MLP_COST_XENT, 128, 0.05f, 0.9f},
    {'D', {1200, 1200}, 2, MLP_ACT_RELU, MLP_COST_XENT, 128, 0.05f, 0.9f},
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])

typedef struct {
    const mlp_kernels *k;
    double seconds; /* probe duration per thread */
    double flops[MLP_MAX_THREADS], secs[MLP_MAX_THREADS];
} probe_job;

static void probe_part(void *ctx, size_t t, size_t n)
{
    probe_job *p = ctx;
    (void)n;
    size_t iters = 1u << 16;
    double t0 = mlp_now(), flops = 0;
    /* double the rounds until the probe has run long enough to time */
    for (;;) {
        flops += p->k->probe(iters);
        if (mlp_now() - t0 >= p->seconds)
            break;
        iters *= 2;
    }
    p->flops[t] = flops;
    p->secs[t] = mlp_now() - t0;
}

/* GFLOP/s of the probe on `threads` threads at once (summed over threads). */
static double probe_peak(const mlp_kernels *k, mlp_pool *pool, size_t threads)
{
    probe_job p = {.k = k, .seconds = 0.3};
    mlp_pool_run_threads(pool, threads, probe_part, &p);
    double total = 0;
    for (size_t t = 0; t < threads; t++)
        total += p.flops[t] / p.secs[t];
    return total / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double secs[MAX_EPOCHS], cost[MAX_EPOCHS]; /* (epochs) each epoch's time and mean cost */
    double threaded[MAX_EPOCHS]; /* (epochs) share of its pool runs on the threads; NaN: 1 */
    double median, acc;
    size_t n_params;
    size_t sizes[4], n_sizes;
} result;

/* What the pool chose in an epoch, from the share of its runs on the threads (NaN: it ran
 * none, mlp_kernels_threads() gave every product one thread): "2 threads", "1 thread (the
 * threads were slower: the cores are busy)", or both, with their shares. */
static void say_pool(char *out, size_t cap, double threaded, size_t threads)
{
    if (threads == 1)
        snprintf(out, cap, "1 thread");
    else if (isnan(threaded))
        snprintf(out, cap, "1 thread (the products are too small to split)");
    else if (threaded >= 0.9)
        snprintf(out, cap, "%zu threads", threads);
    else if (threaded <= 0.1)
        snprintf(out, cap, "1 thread (the threads were slower: the cores are busy)");
    else
        snprintf(out, cap, "%zu threads for %.0f%% of the runs, 1 for the rest", threads,
                 100.0 * threaded);
}

static int run_config(const config *c, const mlp_data *data, const mlp_kernels *k, mlp_pool *pool,
                      size_t epochs, bool quiet, result *res)
{
    mlp_net net = {0};
    mlp_sgd sgd = {0};
    mlp_eval_result ev = {0};
    mlp_error err;
    double secs[MAX_EPOCHS];
    int rc = 0;

    size_t sizes[4], n = 0;
    sizes[n++] = data->train.dim;
    for (size_t l = 0; l < c->n_hidden; l++)
        sizes[n++] = c->hidden[l];
    sizes[n++] = data->n_classes;
    mlp_sgd_opts so = {.batch = c->batch,
                       .epochs = epochs,
                       .lr = c->lr,
                       .schedule = MLP_SCHED_CONSTANT,
                       .momentum = c->momentum};
    size_t max_batch = c->batch > MLP_EVAL_BATCH ? c->batch : MLP_EVAL_BATCH;
    if (mlp_net_init(&net, sizes, n, c->act, c->cost, max_batch, k, pool, &err) != MLP_OK ||
        mlp_sgd_init(&sgd, &net, data->train.n, data->train.rows, data->train.cols, &so, 1, &err) !=
            MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    mlp_net_init_params(&net, 1);

    memcpy(res->sizes, sizes, sizeof sizes);
    res->n_sizes = n;
    if (!quiet) {
        printf("config %c: ", c->name);
        for (size_t l = 0; l < n; l++)
            printf("%s%zu", l ? "-" : "", sizes[l]);
        printf(" %s, %s cost, batch %zu, lr %g%s, %zu parameters\n", mlp_act_name(c->act),
               mlp_cost_name(c->cost), c->batch, (double)c->lr,
               c->momentum > 0 ? ", momentum 0.9" : "", net.n_params);
    }
    for (size_t e = 0; e < epochs; e++) {
        mlp_epoch_stats es;
        uint64_t par0, alone0, par1, alone1;
        mlp_pool_counts(pool, &par0, &alone0);
        double t0 = mlp_now();
        if (mlp_sgd_epoch(&sgd, &net, &data->train, &es, &err) != MLP_OK) {
            rc = mlp_cli_fail(&err);
            goto out;
        }
        secs[e] = res->secs[e] = mlp_now() - t0;
        res->cost[e] = es.cost;
        mlp_pool_counts(pool, &par1, &alone1);
        double runs = (double)(par1 - par0 + alone1 - alone0);
        res->threaded[e] = runs > 0 ? (double)(par1 - par0) / runs : NAN;
        if (!quiet) {
            char pool_said[96];
            say_pool(pool_said, sizeof pool_said, res->threaded[e], mlp_pool_size(pool));
            printf("  epoch %zu  %.3f s  cost %.4f  %s\n", e + 1, secs[e], es.cost, pool_said);
            fflush(stdout);
        }
    }
    if (mlp_eval(&net, &data->test, &ev, &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    qsort(secs, epochs, sizeof *secs, cmp_double);
    res->median = epochs % 2 ? secs[epochs / 2] : 0.5 * (secs[epochs / 2 - 1] + secs[epochs / 2]);
    res->acc = mlp_eval_accuracy(&ev);
    res->n_params = net.n_params;
out:
    mlp_eval_free(&ev);
    mlp_sgd_free(&sgd);
    mlp_net_free(&net);
    return rc;
}

/* 6 flops per parameter per image (see the top of the file), per second of the median. */
static double config_gflops(const result *r, size_t n_train)
{
    return 6.0 * (double)r->n_params * (double)n_train / r->median / 1e9;
}

typedef struct {
    const char *kernels;
    size_t threads;
    const char *dir;
    size_t n_train, epochs;
    double peak1, peak, rss_mb;
} bench_info;

static int print_json(const bench_info *b, const result *res, const bool *ran)
{
    mlp_json j;
    mlp_error err;
    mlp_json_start(&j, stdout);
    mlp_json_object(&j, NULL);
    mlp_json_string(&j, "kernels", b->kernels);
    mlp_json_uint(&j, "threads", b->threads);
    mlp_json_string(&j, "data", b->dir);
    mlp_json_uint(&j, "training_images", b->n_train);
    mlp_json_uint(&j, "epochs", b->epochs);
    mlp_json_object(&j, "peak_gflops");
    mlp_json_number(&j, "one_thread", b->peak1);
    mlp_json_number(&j, "all_threads", b->peak);
    mlp_json_end(&j);
    mlp_json_array(&j, "configs");
    for (size_t c = 0; c < N_CONFIGS; c++) {
        if (!ran[c])
            continue;
        const config *cf = &configs[c];
        const result *r = &res[c];
        char name[2] = {cf->name, '\0'};
        double gflops = config_gflops(r, b->n_train);
        mlp_json_object(&j, NULL);
        mlp_json_string(&j, "name", name);
        mlp_json_array(&j, "sizes");
        for (size_t l = 0; l < r->n_sizes; l++)
            mlp_json_uint(&j, NULL, r->sizes[l]);
        mlp_json_end(&j);
        mlp_json_string(&j, "hidden_activation", mlp_act_name(cf->act));
        mlp_json_string(&j, "cost", mlp_cost_name(cf->cost));
        mlp_json_uint(&j, "batch", cf->batch);
        mlp_json_float(&j, "learning_rate", cf->lr);
        mlp_json_float(&j, "momentum", cf->momentum);
        mlp_json_uint(&j, "parameters", r->n_params);
        mlp_json_array(&j, "epoch_seconds");
        for (size_t e = 0; e < b->epochs; e++)
            mlp_json_number(&j, NULL, r->secs[e]);
        mlp_json_end(&j);
        mlp_json_array(&j, "epoch_cost");
        for (size_t e = 0; e < b->epochs; e++)
            mlp_json_number(&j, NULL, r->cost[e]);
        mlp_json_end(&j);
        mlp_json_array(&j, "epoch_threaded"); /* share of pool runs on the threads; null: 1 */
        for (size_t e = 0; e < b->epochs; e++)
            mlp_json_number(&j, NULL, r->threaded[e]);
        mlp_json_end(&j);
        mlp_json_number(&j, "median_seconds", r->median);
        mlp_json_number(&j, "images_per_second", (double)b->n_train / r->median);
        mlp_json_number(&j, "gflops", gflops);
        mlp_json_number(&j, "peak_fraction", gflops / b->peak);
        mlp_json_number(&j, "test_accuracy", r->acc);
        mlp_json_end(&j);
    }
    mlp_json_end(&j);
    mlp_json_number(&j, "peak_rss_mb", b->rss_mb);
    mlp_json_end(&j);
    return mlp_json_finish(&j, "standard output", &err) == MLP_OK ? 0 : mlp_cli_fail(&err);
}

typedef struct {
    const char *dir, *list, *kname;
    size_t epochs, threads;
    bool json;
} bench_opts;

static int parse(int argc, char **argv, bench_opts *o)
{
    mlp_args a = {.cmd = "bench", .argc = argc, .argv = argv};
    bool have_dir = false;
    int rc = 0;
    *o = (bench_opts){.dir = "data", .list = "A,B,C", .kname = "auto", .epochs = 3};
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (have_dir)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            o->dir = s;
            have_dir = true;
        } else if (mlp_cli_flag(&a, "--config")) {
            rc = mlp_cli_string(&a, &o->list);
            for (const char *p = o->list; rc == 0 && *p; p++)
                if (!strchr("ABCD,", *p))
                    return mlp_cli_usage(a.cmd, "--config: '%s' is not a list of A, B, C, D",
                                         o->list);
        } else if (mlp_cli_flag(&a, "--epochs")) {
            rc = mlp_cli_size(&a, 1, MAX_EPOCHS, &o->epochs);
        } else if (mlp_cli_flag(&a, "--threads")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_THREADS, &o->threads);
        } else if (mlp_cli_flag(&a, "--kernels")) {
            rc = mlp_cli_kernels(&a, &o->kname);
        } else if (!strcmp(s, "--json")) {
            o->json = true;
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    return rc;
}

/* The summary table of the configurations that ran, and the peak memory. */
static void print_table(const bench_info *b, const result *res, const bool *ran)
{
    printf("\nconfig  s/epoch  images/s   GFLOP/s  %% of peak  test acc   (median of %zu "
           "epoch%s)\n",
           b->epochs, b->epochs == 1 ? "" : "s");
    for (size_t c = 0; c < N_CONFIGS; c++) {
        if (!ran[c])
            continue;
        double gflops = config_gflops(&res[c], b->n_train);
        printf("%-6c  %7.3f  %8.0f  %8.1f  %8.1f%%  %7.2f%%\n", configs[c].name, res[c].median,
               (double)b->n_train / res[c].median, gflops, 100.0 * gflops / b->peak,
               100.0 * res[c].acc);
    }
    if (!isnan(b->rss_mb))
        printf("peak resident memory: %.1f MB\n", b->rss_mb);
}

static int bench_main(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;

    mlp_data data = {0};
    mlp_pool *pool = NULL;
    mlp_error err;
    const mlp_kernels *k = mlp_kernels_get(o.kname);
    if (mlp_idx_load(&data, o.dir, &err) != MLP_OK ||
        mlp_pool_create(&pool, o.threads ? o.threads : mlp_pool_cpus(), &err) != MLP_OK) {
        mlp_data_free(&data);
        return mlp_cli_fail(&err);
    }
    size_t nt = mlp_pool_size(pool);
    double peak1 = probe_peak(k, pool, 1), peak = nt > 1 ? probe_peak(k, pool, nt) : peak1;
    if (!o.json) {
        printf("mlp bench: %s kernels, %zu thread%s, %zu training images from %s\n", k->name, nt,
               nt > 1 ? "s" : "", data.train.n, o.dir);
        printf("FMA peak measured by the probe: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %zu\n\n",
               peak1, peak, nt);
        fflush(stdout);
    }

    result res[N_CONFIGS];
    bool ran[N_CONFIGS] = {false};
    for (size_t c = 0; c < N_CONFIGS && rc == 0; c++) {
        if (!strchr(o.list, configs[c].name))
            continue;
        rc = run_config(&configs[c], &data, k, pool, o.epochs, o.json, &res[c]);
        ran[c] = rc == 0;
    }
    struct rusage ru;
    double rss_mb = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : NAN;
    bench_info info = {k->name, nt, o.dir, data.train.n, o.epochs, peak1, peak, rss_mb};
    if (rc == 0 && o.json)
        rc = print_json(&info, res, ran);
    else if (!o.json)
        print_table(&info, res, ran);
    mlp_pool_destroy(pool);
    mlp_data_free(&data);
    return rc;
}

const mlp_command mlp_cmd_bench = {
    "bench", "[DIR]",    "time training of the benchmark networks on DIR (default: data)",
    help,    bench_main, NULL};
