/*
 * cmd_presets: the presets of `mlp train --preset NAME` (presets.h) and `mlp presets`, which
 * lists them from the table: each one's name, what it is and the figure published for it.
 */
#include "presets.h"

#include "cli.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

#define NET(...)                                                                                   \
    .hidden = {__VA_ARGS__}, .n_hidden = sizeof((size_t[]){__VA_ARGS__}) / sizeof(size_t)

/* The descent of best and of fashion, which share their network: Nesterov momentum, a warm-up
 * epoch, then a cosine fall, max-norm. */
#define WIDE_DESCENT                                                                               \
    .batch = 128, .lr = 0.05f, .lr_end = 0.0005f, .schedule = MLP_SCHED_COSINE, .warmup = 1,       \
    .l2 = 1e-4f, .momentum = 0.9f, .nesterov = true, .maxnorm = 3.5f

const mlp_preset mlp_presets[] = {
    {"3b1b",
     "784-16-16-10 sigmoid, quadratic cost, batch 10, lr 1.5 falling linearly to\n"
     "0.03, L2 2e-5, 40 epochs: the network of the backpropagation lessons\n"
     "(the default; with --cost xent: lr 0.5, L2 1e-4).",
     "~96%",
     {NET(16, 16), .act = MLP_ACT_SIGMOID, .cost = MLP_COST_QUADRATIC,
      .sgd = {.epochs = 40, .batch = 10, .lr = 1.5f, .schedule = MLP_SCHED_LINEAR, .l2 = 2e-5f}},
     0.5f,
     1e-4f},
    {"nielsen",
     "784-30-10 sigmoid, quadratic cost, batch 10, lr 3.0, 30 epochs, as\n"
     "network.py (Nielsen, ch. 1).",
     "95.42%",
     {NET(30), .act = MLP_ACT_SIGMOID, .cost = MLP_COST_QUADRATIC,
      .sgd = {.epochs = 30, .batch = 10, .lr = 3.0f, .schedule = MLP_SCHED_CONSTANT}},
     0,
     0},
    {"nielsen2",
     "784-100-10 sigmoid, cross-entropy, L2 1e-4 (lambda 5 over 50,000 images),\n"
     "batch 10, lr 0.5 falling linearly to 0.01, 60 epochs, after network2.py\n"
     "(Nielsen, ch. 3, whose rate stays at 0.5).",
     "98.04%",
     /* network2.py keeps the rate at 0.5; with softmax outputs that leaves the test accuracy
      * wandering between 97.2% and 97.8% at the end, so the rate falls to 0.01 instead */
     {NET(100), .act = MLP_ACT_SIGMOID, .cost = MLP_COST_XENT,
      .sgd = {.epochs = 60,
              .batch = 10,
              .lr = 0.5f,
              .lr_end = 0.01f,
              .schedule = MLP_SCHED_LINEAR,
              .l2 = 1e-4f}},
     0,
     0},
    {"simard",
     "784-800-10 ReLU, cross-entropy, no distortions (Simard et al. 2003): batch 64,\n"
     "momentum 0.9, lr 0.05 falling as a cosine, L2 1e-4, 40 epochs.\n",
     "98.4%",
     {NET(800), .act = MLP_ACT_RELU, .cost = MLP_COST_XENT,
      .sgd = {.epochs = 40,
              .batch = 64,
              .lr = 0.05f,
              .lr_end = 0.0005f,
              .schedule = MLP_SCHED_COSINE,
              .l2 = 1e-4f,
              .momentum = 0.9f}},
     0,
     0},
    {"best",
     "784-1200-1200-10 ReLU, cross-entropy, max-norm 3.5, Nesterov momentum 0.9,\n"
     "lr 0.05 after a warm-up epoch falling as a cosine to 0.0005, L2 1e-4,\n"
     "training images shifted by up to 2 whole pixels, rotated by up to 12\n"
     "degrees, scaled by up to 12% and elastically distorted (alpha 34, sigma 5),\n"
     "batch 128, 100 epochs.\n",
     "98.95-99.05% for dropout MLPs without distortions (Srivastava\n"
     "et al. 2014), 99.3% for 784-800-10 with elastic distortions (Simard et al.\n"
     "2003), 99.65% for a 12-million-weight MLP trained for days on a GPU\n"
     "(Ciresan et al. 2010)",
     {NET(1200, 1200), .act = MLP_ACT_RELU, .cost = MLP_COST_XENT,
      /* Tried (README.md has the table): shifts alone, 50 epochs: 99.23-99.34%; these
       * distortions on 784-800-800-10 for 150 epochs: 99.49%. Digits only: on Fashion-MNIST
       * the distortions cost points, which is why there is a preset of its own. */
      .sgd = {.epochs = 100,
              WIDE_DESCENT,
              .aug = {.translate = 2.0f,
                      .rotate = 12.0f,
                      .scale = 0.12f,
                      .elastic_alpha = 34.0f,
                      .elastic_sigma = 5.0f}}},
     0,
     0},
    {"fashion",
     "784-1200-1200-10 ReLU, cross-entropy, for Fashion-MNIST: best's network and\n"
     "descent, training images shifted by up to 1 pixel and mirrored left to right\n"
     "at random, hidden dropout 0.1, 130 epochs.\n",
     "none quoted here",
     {NET(1200, 1200), .act = MLP_ACT_RELU, .cost = MLP_COST_XENT,
      /* Tried on Fashion-MNIST (README.md has the table): best's distortions cost points,
       * and so did shifts of 2 pixels, no shifts, label smoothing and dropout of 0.2 or
       * more; 100 epochs gained half a point on 60, and 130 another 0.17. */
      .sgd = {.epochs = 130,
              WIDE_DESCENT,
              .drop_hidden = 0.1f,
              .aug = {.translate = 1.0f, .flip = true}}},
     0,
     0},
    {NULL, NULL, NULL, {.dir = NULL}, 0, 0},
};

const mlp_preset *mlp_preset_find(const char *name)
{
    for (const mlp_preset *p = mlp_presets; p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

static const char *const help =
    "usage: mlp presets\n"
    "\n"
    "Named configurations for 'mlp train --preset NAME'; flags given after it override its\n"
    "values. README.md gives the accuracy and time each reaches on MNIST and Fashion-MNIST.\n"
    "\n";

/* s at column 12, each of its line breaks followed by the indent again */
static void put_indented(FILE *out, const char *s)
{
    for (; *s; s++)
        if (*s == '\n')
            fputs("\n            ", out);
        else
            fputc(*s, out);
}

/* "  NAME      what Published: figure." for each preset, wrapped as the rows are */
static void print_presets(FILE *out)
{
    for (const mlp_preset *p = mlp_presets; p->name; p++) {
        size_t n = strlen(p->what);
        fprintf(out, "  %-9s ", p->name);
        put_indented(out, p->what);
        fputs(n > 0 && p->what[n - 1] == '\n' ? "Published: " : " Published: ", out);
        put_indented(out, p->published);
        fputs(".\n", out);
    }
}

static int presets_main(int argc, char **argv)
{
    if (argc > 0)
        return mlp_cli_usage("presets", "unexpected argument '%s'", argv[0]);
    fputs(help, stdout);
    print_presets(stdout);
    return 0;
}

const mlp_command mlp_cmd_presets = {
    "presets", "", "list the named configurations of train", help, presets_main, print_presets};
