/*
 * presets: the named configurations of `mlp train --preset NAME` (cmd_presets.c, which also
 * lists them as `mlp presets`), and the options of a training run they are made of. Shared
 * by the two commands only; library modules never see it.
 */
#ifndef MLP_PRESETS_H
#define MLP_PRESETS_H

#include "idx.h"
#include "net.h"
#include "sgd.h"

#include <stdbool.h>
#include <stddef.h>

/* Everything `mlp train` is told: what a preset holds (hidden, act, cost, sgd), what the
 * run is given besides (seed, kernels, files, threads). */
typedef struct {
    const char *dir, *out, *kernels, *resume;
    mlp_idx_files data;     /* files named by --train-images and the like; the rest from dir */
    const char *log, *plot; /* NULL: none */
    bool quiet;             /* no progress bar */
    size_t hidden[MLP_MAX_LAYERS], n_hidden;
    int act, cost; /* mlp_act, mlp_cost */
    mlp_sgd_opts sgd;
    size_t threads, seed;
} mlp_train_opts;

/* A named configuration. lr_end 0 means lr / 50; l2_xent and lr_xent, when not 0, replace
 * l2 and lr if the cost is cross-entropy (only the default preset needs that). what and
 * published are what `mlp presets` prints, their line breaks as printed: the description,
 * then "Published: <published>." after a space, or on a line of its own when what ends in
 * a line break. */
typedef struct {
    const char *name, *what, *published;
    mlp_train_opts o;
    float lr_xent, l2_xent;
} mlp_preset;

#define MLP_PRESET_DEFAULT "3b1b"

/* The presets, ended by a row whose name is NULL. */
extern const mlp_preset mlp_presets[];

/* The preset called name, or NULL. */
const mlp_preset *mlp_preset_find(const char *name);

#endif
