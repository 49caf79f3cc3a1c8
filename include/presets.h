/*
 * presets: the named configurations of `mlp train --preset NAME` (cmd_presets.c, which also
 * lists them as `mlp presets`), and the options of a training run they are made of. Shared
 * by the two commands only; library modules never see it.
 */
#ifndef MLP_PRESETS_H
#define MLP_PRESETS_H

#include "options.h"

#include <stdbool.h>
#include <stddef.h>

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

/* The presets, ended by a row whose name is NULL. */
extern const mlp_preset mlp_presets[];

/* The preset called name, or NULL. */
const mlp_preset *mlp_preset_find(const char *name);

#endif
