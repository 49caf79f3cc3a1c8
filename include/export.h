/*
 * export: a model in the forms other tools read. For NumPy and PyTorch, a directory of
 * .npy files, one per weight matrix and bias vector, and model.json, which says how they
 * make a network:
 *
 *   W<l>.npy   float32 (sizes[l+1], sizes[l])   the weights of layer l, one row per neuron
 *              (the layout of torch.nn.Linear.weight)
 *   b<l>.npy   float32 (sizes[l+1])             its biases
 *   model.json {"format": "mlp-npy", "version": 1, "sizes": [784, 16, 16, 10], ...}
 *
 * Layer l computes a[l+1] = f(a[l] @ W<l>.T + b<l>), f being the hidden activation for
 * every layer but the last, whose f is the output activation (sigmoid for the quadratic
 * cost, softmax for cross-entropy). The input a[0] is the image's pixels, row by row,
 * divided by 255.
 */
#ifndef MLP_EXPORT_H
#define MLP_EXPORT_H

#include "json.h"
#include "model.h"
#include "net.h"
#include "output.h"

/* Creates dir if it does not exist (not its parents) and names in p every file that
 * mlp_export_npy() will write there, so that a caller can check them against its inputs
 * before writing any. */
mlp_status mlp_export_npy_plan(mlp_output_plan *p, const char *dir, const mlp_net *net,
                               mlp_error *err);

/* Writes the files above into dir, creating dir if it does not exist (not its parents);
 * files already there are replaced, each atomically (output.h). */
mlp_status mlp_export_npy(const char *dir, const mlp_net *net, const mlp_model_meta *meta,
                          mlp_error *err);

/* Creates dir if it does not exist (not its parents); MLP_EIO if it cannot be created or is
 * not a directory. What every export into a directory does first. */
mlp_status mlp_export_dir(const char *dir, mlp_error *err);

/* dir/name into path (cap bytes); MLP_EARG if it does not fit. */
mlp_status mlp_export_path(char *path, size_t cap, const char *dir, const char *name,
                           mlp_error *err);

/* The last layer's activation, fixed by the cost: "softmax" (xent) or "sigmoid". */
const char *mlp_export_output_activation(const mlp_net *net);

/* The model's description as members of the JSON object being written: sizes, input
 * shape and scaling, classes, activations, cost, parameter count, each layer's shapes
 * (and, with npy_files, its file names), the training record. model.json is exactly this
 * plus "format" and "version"; `mlp info --json` is this plus the model's path. */
void mlp_export_describe(mlp_json *j, const mlp_net *net, const mlp_model_meta *meta,
                         bool npy_files);

#endif
