/*
 * netview: what the page of `mlp serve` draws of a network for one image, as one JSON
 * document, in the manner of the backpropagation lessons' picture: the image on the left,
 * each hidden layer as circles lit by their activations, the strongest weights between the
 * neurons shown as lines, the outputs as bars; and, for a chosen class, backprop's wishes.
 * The numbers are explain.c's (the same doubles `mlp explain` prints); this file only picks
 * which to show and writes them.
 *
 *   {"true_label":y,                 a test image's label, when the caller knows it
 *    "input":[rows*cols],           the image as the network reads it (prepared, if drawn)
 *    "class":c, "scores":[K],       the outputs
 *    "layers":[{"size":n,"shown":[k...],"a":[...]}, ...],   layers 1 .. L; a layer of more
 *                                   than MLP_NETVIEW_SHOWN neurons shows its most active ones
 *    "edges":[[[from,to,w], ...], ...],  per weight layer l = 0 .. L-1, the strongest weights
 *                                   (at most MLP_NETVIEW_EDGES) from a shown neuron of layer l
 *                                   (a lit pixel when l = 0: its index) to one of layer l + 1,
 *                                   from and to being places in the "shown" lists
 *    "explain": null, or {"label":y,"cost":C,"predicted":p,
 *       "wish":[K],                 each output's wish, -dC/dz
 *       "hidden":[{"asked":[...],"wish":[...],"up":[...],"down":[...]}, ...],  layers 1 .. L-1,
 *                                   for the shown neurons: -dC/da, -dC/dz and the votes
 *       "strongest":{"neuron":j,"wish":..,"bias":..,
 *                    "weights":[{"neuron":k,"a":..,"w":..,"wish":..}],   way 2, by |a|
 *                    "below":[{"neuron":k,"a":..,"w":..,"wish":..}]}}}   way 3, by |w|
 */
#ifndef MLP_NETVIEW_H
#define MLP_NETVIEW_H

#include "net.h"

#include <stdio.h>

#define MLP_NETVIEW_SHOWN 16 /* neurons of a hidden layer drawn at most */
#define MLP_NETVIEW_EDGES 64 /* weights drawn per layer at most */
#define MLP_NETVIEW_TOP   5  /* knobs listed for each way to grant a wish, as explain's */

/* Runs net (batches of one row at least) on x (sizes[0] values) and writes the document to f;
 * label < 0: no wishes, else the desired class (< the classes, else MLP_EARG); true_label < 0:
 * none. */
mlp_status mlp_netview_json(FILE *f, mlp_net *net, const float *x, long label, long true_label,
                            mlp_error *err);

#endif
