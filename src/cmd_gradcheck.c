/*
 * cmd_gradcheck: `mlp gradcheck [DIR] [FLAGS]`. Builds a fresh network (or loads one), takes
 * one or more test images of DIR, compares backprop's gradient with finite differences
 * (gradcheck.c) and prints how far apart they are and how long each way took.
 */
#include "cli.h"
#include "commands.h"
#include "gradcheck.h"
#include "idx.h"
#include "model.h"
#include "net.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const help =
    "usage: mlp gradcheck [DIR] [FLAGS]\n"
    "\n"
    "Computes every parameter's gradient of the cost on test image --index of DIR (default:\n"
    "data) two ways: by backprop (one forward and one backward pass) and by nudging each\n"
    "parameter up and down by h and running the whole forward pass again, in double\n"
    "precision: (C(w+h) - C(w-h)) / 2h, two forward passes per parameter. Prints the worst\n"
    "absolute and relative difference, the parameter it belongs to, and the time each way\n"
    "took. Exit status 1 when the worst relative error exceeds the tolerance.\n"
    "\n"
    "The network is a fresh one, built like 'mlp train' builds it, or a saved model:\n"
    "  --model PATH        check this model instead of a fresh network\n"
    "  --hidden LIST       hidden layer sizes, comma-separated, or 'none' (default: 16,16)\n"
    "  --activation NAME   sigmoid, tanh or relu (default: sigmoid)\n"
    "  --cost NAME         quadratic or xent (default: quadratic)\n"
    "  --seed N            seed of the fresh network's weights (default: 1)\n"
    "\n"
    "  --index N           the first test image (default: 0)\n"
    "  --batch N           check the mean cost of N images from --index on (default: 1)\n"
    "  --h X               the nudge (default: 1e-5)\n"
    "  --tol X             the largest relative error that passes (default: 1e-3)\n"
    "  --knobs N           compare N parameters drawn at random instead of all of them\n"
    "  --kernels NAME      the matrix products backprop runs on: auto, avx512, avx2,\n"
    "                      portable or ref (default: auto)\n"
    "\n"
    "The relative error of a parameter is |backprop - differences| divided by the larger of\n"
    "the two, or by 1e-3 times the largest gradient if that is larger: float backprop cannot\n"
    "give tiny gradients to many digits. Near a kink of relu (a neuron whose input is within\n"
    "h of 0) the differences themselves are wrong; another --index avoids it.\n";

typedef struct {
    const char *dir, *model, *kernels;
    size_t hidden[MLP_MAX_LAYERS], n_hidden;
    int act, cost;
    size_t seed, index, batch, knobs;
    float h, tol;
} gc_opts;

/* The nudge and the tolerance: more than 0 and normal floats (cli.h), so neither is 0 */
static const mlp_cli_range h_range = {.lo = 0.0, .hi = 1.0, .lo_open = true};
static const mlp_cli_range tol_range = {.lo = 0.0, .hi = 1e6, .lo_open = true};

static int parse(int argc, char **argv, gc_opts *o)
{
    mlp_args a = {.cmd = "gradcheck", .argc = argc, .argv = argv};
    int rc = 0;
    bool have_dir = false, fresh_flag = false;
    *o = (gc_opts){.dir = "data",
                   .kernels = "auto",
                   .hidden = {16, 16},
                   .n_hidden = 2,
                   .seed = 1,
                   .batch = 1,
                   .h = (float)MLP_GRADCHECK_H_DEFAULT,
                   .tol = (float)MLP_GRADCHECK_TOL_DEFAULT};
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (have_dir)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            o->dir = s;
            have_dir = true;
        } else if (mlp_cli_flag(&a, "--model")) {
            rc = mlp_cli_string(&a, &o->model);
        } else if (mlp_cli_flag(&a, "--hidden")) {
            rc = mlp_cli_hidden(&a, o->hidden, &o->n_hidden);
            fresh_flag = true;
        } else if (mlp_cli_flag(&a, "--activation")) {
            rc = mlp_cli_name(&a, mlp_opt_act_names, &o->act);
            fresh_flag = true;
        } else if (mlp_cli_flag(&a, "--cost")) {
            rc = mlp_cli_name(&a, mlp_opt_cost_names, &o->cost);
            fresh_flag = true;
        } else if (mlp_cli_flag(&a, "--seed")) {
            rc = mlp_cli_size(&a, 0, SIZE_MAX, &o->seed);
            fresh_flag = true;
        } else if (mlp_cli_flag(&a, "--index")) {
            rc = mlp_cli_size(&a, 0, SIZE_MAX, &o->index);
        } else if (mlp_cli_flag(&a, "--batch")) {
            rc = mlp_cli_size(&a, 1, MLP_MAX_BATCH, &o->batch);
        } else if (mlp_cli_flag(&a, "--h")) {
            rc = mlp_cli_float(&a, h_range, &o->h);
        } else if (mlp_cli_flag(&a, "--tol")) {
            rc = mlp_cli_float(&a, tol_range, &o->tol);
        } else if (mlp_cli_flag(&a, "--knobs")) {
            rc = mlp_cli_size(&a, 1, SIZE_MAX, &o->knobs);
        } else if (mlp_cli_flag(&a, "--kernels")) {
            rc = mlp_cli_kernels(&a, &o->kernels);
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc == 0 && o->model && fresh_flag)
        return mlp_cli_usage(a.cmd, "--model loads a network: it takes no --hidden, "
                                    "--activation, --cost or --seed");
    return rc;
}

/* "12.3 us", "4.56 ms", "0.412 s" */
static mlp_cli_text seconds(double s)
{
    mlp_cli_text t;
    if (s < 1e-3)
        snprintf(t.s, sizeof t.s, "%.1f us", s * 1e6);
    else if (s < 1.0)
        snprintf(t.s, sizeof t.s, "%.1f ms", s * 1e3);
    else
        snprintf(t.s, sizeof t.s, "%.2f s", s);
    return t;
}

static void print_knob(const mlp_net *net, size_t i)
{
    mlp_knob k = mlp_net_knob(net, i);
    if (k.bias)
        printf("bias of layer %zu neuron %zu", k.layer + 1, k.neuron);
    else
        printf("weight into layer %zu neuron %zu from layer %zu neuron %zu", k.layer + 1, k.neuron,
               k.layer, k.input);
}

static void print_result(const mlp_net *net, const mlp_gradcheck_result *r)
{
    printf("cost     %.6f (mean over the batch); the two forward passes differ by %.1e\n\n",
           r->cost, r->forward_diff);
    char passes[96];
    snprintf(passes, sizeof passes, "%s forward (2 x %s parameters)",
             mlp_cli_count(r->forward_passes).s, mlp_cli_count(r->checked).s);
    printf("%-19s %-40s %s\n", "", "passes", "time");
    printf("%-19s %-40s %-9s (mean of %s runs)\n", "backprop", "1 forward + 1 backward",
           seconds(r->backprop_seconds).s, mlp_cli_count(r->backprop_runs).s);
    printf("%-19s %-40s %-9s (%s per pass, in double)\n", "finite differences", passes,
           seconds(r->fd_seconds).s,
           seconds(r->fd_seconds / (double)(r->forward_passes ? r->forward_passes : 1)).s);
    if (r->backprop_seconds > 0.0)
        printf("backprop was %s times faster\n\n",
               mlp_cli_count((size_t)(r->fd_seconds / r->backprop_seconds + 0.5)).s);
    printf("worst absolute error  %.2e  ", r->worst_abs);
    print_knob(net, r->worst_abs_at);
    printf("\n                       backprop %+.9e  differences %+.9e\n", r->abs_bp, r->abs_fd);
    printf("worst relative error  %.2e  ", r->worst_rel);
    print_knob(net, r->worst_rel_at);
    printf("\n                       backprop %+.9e  differences %+.9e\n", r->rel_bp, r->rel_fd);
    printf("largest gradient      %.2e\n", r->largest);
    if (r->largest == 0.0)
        printf("every gradient is zero here: the check proves nothing; try another --index\n");
}

/* The network to check: the model's, or a fresh one from the seed; 0 or an exit status. */
static int make_net(mlp_net *net, const gc_opts *o, const mlp_set *test)
{
    const mlp_kernels *kern = mlp_kernels_get(o->kernels);
    mlp_model_meta meta;
    mlp_error err;
    if (o->model) {
        if (mlp_model_load(o->model, net, o->batch, &meta, &err) != MLP_OK)
            return mlp_cli_fail(&err);
        mlp_net_attach(net, kern, NULL);
        if (net->sizes[0] != test->dim) {
            fprintf(stderr, "mlp: %s: model takes %zu inputs, %s has images of %zu pixels\n",
                    o->model, net->sizes[0], o->dir, test->dim);
            return MLP_EXIT_DATA;
        }
        return 0;
    }
    size_t sizes[MLP_MAX_LAYERS + 1], n = 0;
    sizes[n++] = test->dim;
    for (size_t l = 0; l < o->n_hidden; l++)
        sizes[n++] = o->hidden[l];
    sizes[n++] = mlp_idx_set_classes(test);
    if (mlp_net_init(net, sizes, n, (mlp_act)o->act, (mlp_cost)o->cost, o->batch, kern, NULL,
                     &err) != MLP_OK)
        return mlp_cli_fail(&err);
    mlp_net_init_params(net, o->seed);
    return 0;
}

static int gradcheck_main(int argc, char **argv)
{
    gc_opts o;
    mlp_net net = {0};
    mlp_set test = {0};
    mlp_error err;
    const float **x = NULL;
    uint8_t *y = NULL;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;

    if (mlp_idx_load_test(&test, o.dir, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (o.index >= test.n || o.batch > test.n - o.index) {
        rc = mlp_cli_usage("gradcheck", "--index %zu --batch %zu: %s has %zu test images", o.index,
                           o.batch, o.dir, test.n);
        goto out;
    }
    if ((rc = make_net(&net, &o, &test)) != 0)
        goto out;

    x = mlp_alloc_array(o.batch, sizeof *x);
    y = malloc(o.batch);
    if (!x || !y) {
        fprintf(stderr, "mlp: out of memory for a batch of %zu images\n", o.batch);
        rc = MLP_EXIT_DATA;
        goto out;
    }
    for (size_t i = 0; i < o.batch; i++) {
        x[i] = test.x + (o.index + i) * test.dim;
        y[i] = test.y[o.index + i];
    }

    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &net);
    printf("network  %s, %s hidden, %s cost, %s parameters", layout, mlp_act_name(net.act),
           mlp_cost_name(net.cost), mlp_cli_count(net.n_params).s);
    if (o.model)
        printf(" (%s)\n", o.model);
    else
        printf(" (fresh, seed %zu)\n", o.seed);
    if (o.batch == 1)
        printf("input    test image %zu of %s (label %u)\n", o.index, o.dir, (unsigned)y[0]);
    else
        printf("input    test images %zu to %zu of %s\n", o.index, o.index + o.batch - 1, o.dir);
    printf("kernels  %s; nudge h = %g, tolerance %g\n", net.kern->name, (double)o.h, (double)o.tol);
    fflush(stdout);

    mlp_gradcheck_opts go = {
        .h = o.h, .tol = o.tol, .knobs = o.knobs, .seed = o.seed, .min_seconds = 0.2};
    mlp_gradcheck_result r;
    if (mlp_gradcheck(&net, x, y, o.batch, &go, &r, &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    print_result(&net, &r);
    if (r.ok) {
        printf("gradients agree: worst relative error %.2e <= tolerance %g\n", r.worst_rel,
               (double)o.tol);
    } else {
        fflush(stdout);
        fprintf(stderr,
                "mlp gradcheck: gradients disagree: worst relative error %.2e > tolerance %g\n",
                r.worst_rel, (double)o.tol);
        rc = MLP_EXIT_DATA;
    }
out:
    free(x);
    free(y);
    mlp_net_free(&net);
    mlp_idx_set_free(&test);
    return rc;
}

const mlp_command mlp_cmd_gradcheck = {
    "gradcheck", "[DIR]",        "check backprop's gradients against finite differences",
    help,        gradcheck_main, NULL};
