/*
 * backprop: every parameter's gradient in one backward sweep.
 *
 * After mlp_net_forward() on a batch, the cost's gradient is first taken at the outputs:
 * each output neuron's "wish", how much and in which direction the cost wants its weighted
 * input z to move. Then, layer by layer from the top, a layer's wishes give
 *   - the gradient of its own weights (wish times the input that weight sees) and biases,
 *   - the wishes of the layer below (sum of the wishes above, weighted by the connecting
 *     weights, times the slope of the lower neuron's activation).
 * Wishes are seeded with 1/B, so grads hold the mean over the batch, not the sum.
 */
#ifndef MLP_BACKPROP_H
#define MLP_BACKPROP_H

#include "net.h"

/* wish[n_layers] (B, classes) = dC/dz at the outputs, divided by B:
 *   quadratic cost, sigmoid outputs:   (a - y) * a * (1 - a)
 *   cross-entropy, softmax outputs:    a - y
 * where y is the one-hot desired output of each row. */
void mlp_backprop_output_wish(mlp_net *net, const uint8_t *y, size_t B);

/* Fills net->grads (overwriting it) with the batch-mean gradient of the cost for the B rows
 * whose forward pass is cached in net. Reads only what the forward pass cached. */
void mlp_backprop(mlp_net *net, const uint8_t *y, size_t B);

#endif
