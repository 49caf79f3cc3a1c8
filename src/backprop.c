/*
 * backprop: the cost gradient at the outputs, then one backward sweep through the layers.
 * Reads the activations cached by the forward pass (net->a), writes the wishes (net->wish)
 * and the gradients (net->grads). Never touches params.
 */
#include "backprop.h"

void mlp_backprop_output_wish(mlp_net *net, const uint8_t *y, size_t B)
{
    const size_t L = net->n_layers, K = net->sizes[L];
    const float inv_b = 1.0f / (float)B;
    /* the targets: 1 on the label, or with label smoothing E (cross-entropy only) 1 - E + E/K
     * there and E/K elsewhere; softmax and cross-entropy make dC/dz = a - target */
    const float off = net->smooth / (float)K, on = 1.0f - net->smooth + off;
    const float *a = net->a[L];
    float *d = net->wish[L];
    for (size_t i = 0; i < B; i++) {
        for (size_t j = 0; j < K; j++) {
            float aj = a[i * K + j], want = j == y[i] ? on : off;
            float g = aj - want;
            if (net->cost == MLP_COST_QUADRATIC)
                g *= aj * (1.0f - aj); /* sigmoid'(z), written with its output */
            d[i * K + j] = g * inv_b;
        }
    }
}

void mlp_backprop(mlp_net *net, const uint8_t *y, size_t B)
{
    mlp_backprop_output_wish(net, y, B);
    /* Layer l maps a[l](B,in) to a[l+1](B,out); its wishes wish[l+1](B,out) are known. */
    for (size_t l = net->n_layers; l-- > 0;) {
        size_t in = net->sizes[l], out = net->sizes[l + 1];
        /* Own weights and bias: dW(out,in) = wish[l+1]^T . a[l], db = wish[l+1]'s column sums */
        mlp_kernels_backward_w(net->kern, net->pool, mlp_net_threads(net, l), net->dW[l],
                               net->db[l], net->wish[l + 1], net->x[l], B, in, out);
        /* Wishes passed down: wish[l](B,in) = (wish[l+1] . W[l]) * act'(a[l]). Nobody asks the
         * pixels of layer 0 to change. */
        if (l > 0)
            mlp_kernels_backward_x(net->kern, net->pool, mlp_net_threads(net, l - 1), net->wish[l],
                                   net->wish[l + 1], net->W[l], net->a[l], B, in, out,
                                   mlp_net_layer_act(net, l - 1));
        /* Dropped inputs pass nothing down; kept ones were scaled by 1/keep: the wish is
         * multiplied by the same mask. */
        if (l > 0 && net->drop.keep[l] < 1.0f) {
            float *d = net->wish[l];
            const float *m = net->drop.mask[l];
            for (size_t i = 0; i < B * in; i++)
                d[i] *= m[i];
        }
    }
}
