/*
 * cmd_explain: `mlp explain MODEL [DIR] --index N`. One test image through the network and
 * back, printed the way the backpropagation lessons draw it: the image, the outputs against
 * the desired output, every output neuron's wish, the three ways to grant the strongest one,
 * what every hidden neuron is asked, and with --average how the wishes of many images add up.
 * The numbers come from explain.c; this file only prints them.
 */
#include "cli.h"
#include "commands.h"
#include "explain.h"
#include "idx.h"
#include "model.h"
#include "net.h"
#include "term.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const help =
    "usage: mlp explain MODEL [DIR] [FLAGS]\n"
    "\n"
    "Shows backpropagation at work on one test image of DIR (default: data):\n"
    "  - the image, and the output activations as bars next to the desired output\n"
    "  - each output neuron's wish, -dC/dz: which way and how strongly the cost wants its\n"
    "    weighted input z to move (\"7 wants up, 3 wants down\")\n"
    "  - the three ways to grant the strongest wish: raise the bias, raise the weights from\n"
    "    bright inputs, ask the previous layer to change, with the knobs that matter most\n"
    "  - the net wish every hidden neuron receives: the wishes of the layer above summed\n"
    "    through the connecting weights, times the slope of its activation\n"
    "\n"
    "  --index N      the test image (default: 0)\n"
    "  --average N    also average the wishes of N test images from --index on (wrapping\n"
    "                 around at the end), as a mini-batch step does, and count how many of\n"
    "                 this image's knob-wishes keep their sign\n"
    "  --top K        knobs listed for each way (default: 5, at most 32)\n"
    "  --all          every neuron of wide hidden layers (default: the strongest when a layer\n"
    "                 has more than 64)\n"
    "  --ascii        plain ASCII instead of Unicode shades and bars\n"
    "  --transpose    DIR stores its images transposed (EMNIST): turn them upright (a model\n"
    "                 trained with --transpose does it without being told)\n";

typedef struct {
    const char *model, *dir;
    size_t index, average, top;
    bool ascii, all, transpose;
} ex_opts;

static int parse(int argc, char **argv, ex_opts *o)
{
    mlp_args a = {.cmd = "explain", .argc = argc, .argv = argv};
    int rc = 0, n_pos = 0;
    *o = (ex_opts){.dir = "data", .top = 5};
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (n_pos == 2)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            *(n_pos++ ? &o->dir : &o->model) = s;
        } else if (mlp_cli_flag(&a, "--index")) {
            rc = mlp_cli_size(&a, 0, SIZE_MAX, &o->index);
        } else if (mlp_cli_flag(&a, "--average")) {
            rc = mlp_cli_size(&a, 1, 1000000, &o->average);
        } else if (mlp_cli_flag(&a, "--top")) {
            rc = mlp_cli_size(&a, 1, MLP_EXPLAIN_MAX_TOP, &o->top);
        } else if (!strcmp(s, "--all")) {
            o->all = true;
        } else if (!strcmp(s, "--ascii")) {
            o->ascii = true;
        } else if (!strcmp(s, "--transpose")) {
            o->transpose = true;
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc == 0 && n_pos == 0)
        return mlp_cli_usage(a.cmd, "missing MODEL");
    return rc;
}

/* A bar and the spaces that make it `cells` wide, so that columns after it line up. */
static void print_bar(double frac, size_t cells, bool ascii)
{
    char bar[256];
    mlp_term_bar(bar, sizeof bar, frac, cells, ascii);
    printf("%s%*s", bar, (int)(cells - mlp_term_width(bar)), "");
}

static void print_signed_bar(double v, double scale, bool ascii)
{
    char bar[512];
    mlp_term_signed_bar(bar, sizeof bar, scale > 0.0 ? v / scale : 0.0, 10, ascii);
    printf("%s\n", bar);
}

static const char *way(double wish)
{
    return wish > 0.0 ? "up" : wish < 0.0 ? "down" : "nowhere";
}

/* An input of the output layer: a neuron's index, or a pixel's (row, column) when the layer
 * below is the image (a network without hidden layers). */
static void print_input(size_t L, size_t k, const mlp_model_meta *m)
{
    if (L == 1 && m->cols > 0)
        printf("   (%3zu,%3zu)", k / m->cols, k % m->cols);
    else
        printf("%12zu", k);
}

static void print_outputs(const mlp_explain *e, bool ascii)
{
    const size_t L = e->n_layers, K = e->sizes[L];
    double scale = 0.0;
    for (size_t j = 0; j < K; j++)
        scale = fmax(scale, fabs(e->wish[L][j]));
    printf("%-37s%s\n", "output  activation", "desired  wish (-dC/dz)");
    for (size_t j = 0; j < K; j++) {
        printf("%6zu  %.4f ", j, e->a[L][j]);
        print_bar(e->a[L][j], 20, ascii);
        printf("  %4d     %+.2e %-4s ", j == e->label, e->wish[L][j], way(e->wish[L][j]));
        print_signed_bar(e->wish[L][j], scale, ascii);
    }
    size_t order[3], n = K < 3 ? K : 3;
    mlp_explain_top(order, e->wish[L], K, n);
    printf("strongest wishes:");
    for (size_t t = 0; t < n; t++)
        printf("%s %zu wants %s", t ? "," : "", order[t], way(e->wish[L][order[t]]));
    printf("\n\n");
}

static void print_ways(const mlp_explain *e, const mlp_net *net, const mlp_model_meta *m,
                       size_t top)
{
    const size_t L = e->n_layers;
    mlp_explain_ways w;
    mlp_explain_grant(&w, e, net, mlp_explain_strongest(e), top);
    const char *dir = way(w.wish), *raise = w.wish >= 0.0 ? "raise" : "lower";
    printf("the strongest wish: output %zu wants %s (-dC/dz = %+.2e). Three ways to grant it:\n\n",
           w.neuron, dir, w.wish);

    printf("1. %s its bias (now %+.4f): dz/db = 1, so the bias's own wish is %+.2e\n\n", raise,
           w.bias, w.wish);

    printf("2. %s the weights from bright inputs: dz/dw = the input's activation, so the\n"
           "   weights from the most active %s matter most;\n"
           "   a dark input's weight changes nothing\n",
           raise, L == 1 ? "pixels" : "neurons of the layer below");
    printf("   %12s  %10s  %10s  %s\n", L == 1 ? "from pixel" : "from neuron", "activation",
           "weight", "wish (-dC/dw)");
    for (size_t t = 0; t < w.n_top; t++) {
        printf("   ");
        print_input(L, w.weights[t].neuron, m);
        printf("  %10.4f  %+10.4f  %+.2e\n", w.weights[t].a, w.weights[t].w, w.weights[t].wish);
    }
    printf("\n");

    if (L == 1) {
        printf("3. ask the layer below to change: it is the image itself; pixels cannot be\n"
               "   asked, so a network without hidden layers has only the first two ways\n\n");
        return;
    }
    printf("3. ask layer %zu to change: dz/da = the weight, so the neurons with the largest\n"
           "   weights have the most sway; each is asked to move by wish x weight\n",
           L - 1);
    printf("   %12s  %10s  %10s  %s\n", "neuron", "weight", "activation",
           "asked (-dC/da, by this output alone)");
    for (size_t t = 0; t < w.n_top; t++) {
        printf("   ");
        print_input(L, w.below[t].neuron, m);
        printf("  %+10.4f  %10.4f  %+.2e %s\n", w.below[t].w, w.below[t].a, w.below[t].wish,
               way(w.below[t].wish));
    }
    printf("   Every output asks layer %zu at once; the sums are below.\n\n", L - 1);
}

/* Hidden layer l: what each neuron is asked by the layer above, and its own wish. */
static void print_hidden(const mlp_explain *e, const mlp_net *net, size_t l, const ex_opts *o)
{
    const size_t n = e->sizes[l], wide = 64;
    size_t shown = n, order[MLP_EXPLAIN_MAX_TOP];
    double scale = 0.0;
    for (size_t k = 0; k < n; k++)
        scale = fmax(scale, fabs(e->wish[l][k]));
    printf("layer %zu (%zu neurons): each neuron is asked the sum of layer %zu's wishes through\n"
           "its weights, -dC/da = sum_j wish_j x w_jk; its own wish is that times the slope of\n"
           "its activation, a'(z)\n",
           l, n, l + 1);
    printf("neuron  activation  asked (-dC/da)  up/down  slope    wish (-dC/dz)\n");
    if (n > wide && !o->all) {
        shown = MLP_EXPLAIN_MAX_TOP < 16 ? MLP_EXPLAIN_MAX_TOP : 16;
        mlp_explain_top(order, e->wish[l], n, shown);
    }
    for (size_t t = 0; t < shown; t++) {
        size_t k = shown == n ? t : order[t], up, down;
        mlp_explain_votes(e, net, l, k, &up, &down);
        double slope = mlp_explain_slope(net->act, e->a[l][k]);
        printf("%6zu  %10.4f    %+.2e     %3zu/%-3zu  %.4f   %+.2e ", k, e->a[l][k], e->ask[l][k],
               up, down, slope, e->wish[l][k]);
        print_signed_bar(e->wish[l][k], scale, o->ascii);
    }
    if (shown < n)
        printf("(the %zu strongest wishes; %zu more neurons: --all shows every one)\n", shown,
               n - shown);
    printf("\n");
}

static void print_average(const mlp_explain_avg *avg, const mlp_explain *e, const ex_opts *o,
                          size_t n_test, size_t P)
{
    const size_t K = e->sizes[e->n_layers];
    size_t last = (o->index + avg->n - 1) % n_test;
    printf("averaged over %zu test images (%zu to %zu%s), as one mini-batch step would:\n", avg->n,
           o->index, last, o->index + avg->n > n_test ? ", wrapping around" : "");
    printf("  mean cost %.4f (image %zu alone: %.4f)\n", avg->cost, o->index, e->cost);
    printf("  mean output wishes:");
    for (size_t j = 0; j < K; j++)
        printf("%s %zu %s", j ? "," : "", j, way(avg->out_wish[j]));
    printf("\n");
    printf("  image %zu wants to move %s of the %s knobs (the others' wishes are exactly 0:\n"
           "  weights from dark pixels or from neurons that are off); %s of those wishes\n"
           "  (%.1f%%) keep their sign in the average, %s are overruled by the other images\n",
           o->index, mlp_cli_count(avg->moved).s, mlp_cli_count(P).s, mlp_cli_count(avg->kept).s,
           avg->moved ? 100.0 * (double)avg->kept / (double)avg->moved : 0.0,
           mlp_cli_count(avg->moved - avg->kept).s);
    printf("  of its %zu strongest knob-wishes, %zu keep their sign\n", avg->top, avg->top_kept);
    printf("  cosine between its knob-wishes and the average: %+.3f\n", avg->cosine);
}

static int explain_main(int argc, char **argv)
{
    ex_opts o;
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_set test = {0};
    mlp_explain e = {0};
    mlp_explain_avg avg = {0};
    mlp_error err;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;

    if (mlp_model_load(o.model, &net, MLP_EVAL_BATCH, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if ((rc = mlp_cli_test_set(&test, o.dir, o.transpose || meta.opt.transpose, o.model,
                               meta.rows, meta.cols)) != 0)
        goto out;
    if (o.index >= test.n) {
        rc = mlp_cli_usage("explain", "--index %zu: %s has %zu test images (0 to %zu)", o.index,
                           o.dir, test.n, test.n - 1);
        goto out;
    }
    if (o.average > test.n) {
        rc = mlp_cli_usage("explain", "--average %zu: %s has %zu test images", o.average, o.dir,
                           test.n);
        goto out;
    }
    const float *x = test.x + o.index * test.dim;
    if (mlp_explain_image(&e, &net, x, test.y[o.index], &err) != MLP_OK ||
        (o.average &&
         mlp_explain_average(&avg, &net, &test, o.index, o.average, &e, 10, &err) != MLP_OK)) {
        fprintf(stderr, "mlp: %s on %s: %s\n", o.model, o.dir, err.msg);
        rc = MLP_EXIT_DATA;
        goto out;
    }

    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &net);
    printf("model %s: %s, %s hidden, %s cost\n", o.model, layout, mlp_act_name(net.act),
           mlp_cost_name(net.cost));
    printf("test image %zu of %s: label %zu, the network says %zu (%s), cost %.4f\n", o.index,
           o.dir, e.label, e.predicted, e.predicted == e.label ? "right" : "wrong", e.cost);
    mlp_cli_image(x, test.rows, test.cols, o.ascii);
    printf("\n");
    print_outputs(&e, o.ascii);
    print_ways(&e, &net, &meta, o.top);
    for (size_t l = e.n_layers - 1; l >= 1; l--)
        print_hidden(&e, &net, l, &o);
    if (o.average)
        print_average(&avg, &e, &o, test.n, net.n_params);
out:
    mlp_explain_avg_free(&avg);
    mlp_explain_free(&e);
    mlp_idx_set_free(&test);
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_explain = {
    "explain", "MODEL [DIR]", "show backprop's wishes for one test image",
    help,      explain_main,  NULL};
