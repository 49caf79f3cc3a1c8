/*
 * backprop: the cost gradient at the outputs, then one backward sweep through the layers.
 * Reads the activations cached by the forward pass (net->a), writes the wishes (net->d)
 * and the gradients (net->grads). Never touches params.
 */
#include "backprop.h"

#include <string.h>

void mlp_backprop_output_wish(mlp_net *net, const uint8_t *y, size_t B)
{
    const size_t L = net->n_layers, K = net->sizes[L];
    const float inv_b = 1.0f / (float)B;
    const float *a = net->a[L];
    float *d = net->d[L];
    for (size_t i = 0; i < B; i++) {
        for (size_t j = 0; j < K; j++) {
            float aj = a[i * K + j], want = j == y[i] ? 1.0f : 0.0f;
            float g = aj - want;
            if (net->cost == MLP_COST_QUADRATIC)
                g *= aj * (1.0f - aj); /* sigmoid'(z), written with its output */
            d[i * K + j] = g * inv_b;
        }
    }
}

/* Multiplies the wishes dx (B*n values) by the slope of the activation, written in terms of
 * the activation's output a: sigmoid' = a (1 - a), tanh' = 1 - a^2, relu' = [a > 0]. */
static void activation_slope(float *dx, const float *a, size_t n, mlp_act act)
{
    switch (act) {
    case MLP_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dx[i] *= a[i] * (1.0f - a[i]);
        break;
    case MLP_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dx[i] *= 1.0f - a[i] * a[i];
        break;
    case MLP_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            dx[i] = a[i] > 0.0f ? dx[i] : 0.0f;
        break;
    }
}

/* The twin of net.c's dense_forward, for y(B,out) = x(B,in) . W(out,in)^T + b:
 *   dW(out,in) = dy^T . x      each weight: the wish of its neuron times the input it sees
 *   db(out)    = sum_rows dy   each bias: the wish of its neuron
 *   dx(B,in)   = dy . W        each input: the wishes above, weighted by the connections
 * dW and db are overwritten (one batch, one gradient); dx may be NULL for the input layer. */
static void dense_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                           const float *W, size_t B, size_t in, size_t out)
{
    memset(dW, 0, out * in * sizeof *dW);
    memset(db, 0, out * sizeof *db);
    for (size_t i = 0; i < B; i++) {
        for (size_t j = 0; j < out; j++) {
            float g = dy[i * out + j];
            float *dwj = dW + j * in;
            const float *xi = x + i * in;
            for (size_t k = 0; k < in; k++)
                dwj[k] += g * xi[k];
            db[j] += g;
        }
    }
    if (!dx)
        return;
    for (size_t i = 0; i < B; i++) {
        float *dxi = dx + i * in;
        memset(dxi, 0, in * sizeof *dxi);
        for (size_t j = 0; j < out; j++) {
            float g = dy[i * out + j];
            const float *wj = W + j * in;
            for (size_t k = 0; k < in; k++)
                dxi[k] += g * wj[k];
        }
    }
}

void mlp_backprop(mlp_net *net, const uint8_t *y, size_t B)
{
    mlp_backprop_output_wish(net, y, B);
    for (size_t l = net->n_layers; l-- > 0;) {
        size_t in = net->sizes[l], out = net->sizes[l + 1];
        float *dx = l > 0 ? net->d[l] : NULL; /* nobody asks the pixels to change */
        dense_backward(dx, net->dW[l], net->db[l], net->d[l + 1], net->a[l], net->W[l], B, in, out);
        if (dx)
            activation_slope(dx, net->a[l], B * in, net->act);
    }
}
