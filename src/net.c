/*
 * net: parameter layout and allocation, initialisation, the forward pass and the cost.
 * The only module that computes offsets into params. Backward lives in backprop.c, the
 * update in sgd.c.
 */
#include "net.h"

#include "options.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *mlp_act_name(mlp_act act)
{
    return mlp_opt_name(mlp_opt_act_names, (size_t)act);
}

/* anything but cross-entropy is the quadratic cost, as the forward pass treats it */
const char *mlp_cost_name(mlp_cost cost)
{
    return mlp_opt_cost_names[cost == MLP_COST_XENT ? MLP_COST_XENT : MLP_COST_QUADRATIC];
}

bool mlp_net_count_params(const size_t *sizes, size_t n_sizes, size_t *n)
{
    size_t total = 0;
    if (n_sizes < 2 || n_sizes > MLP_MAX_LAYERS + 1)
        return false;
    for (size_t l = 0; l + 1 < n_sizes; l++) {
        size_t w;
        if (sizes[l] == 0 || sizes[l + 1] == 0 || !mlp_mul_size(sizes[l], sizes[l + 1], &w) ||
            !mlp_add_size(total, w, &total) || !mlp_add_size(total, sizes[l + 1], &total))
            return false;
    }
    *n = total;
    return true;
}

/* Floats of each buffer mlp_net_init allocates; false on overflow. */
typedef struct {
    size_t params, cache, wishes, drop, rows; /* rows: pointers */
} net_counts;

static bool count(const size_t *sizes, size_t n_sizes, size_t max_batch, net_counts *c)
{
    size_t units = 0;
    for (size_t l = 0; l < n_sizes; l++)
        if (!mlp_add_size(units, sizes[l], &units))
            return false;
    return mlp_net_count_params(sizes, n_sizes, &c->params) &&
           mlp_mul_size(max_batch, units, &c->cache) &&
           mlp_mul_size(max_batch, units - sizes[0], &c->wishes) &&
           mlp_mul_size(max_batch, units - sizes[n_sizes - 1], &c->drop) &&
           mlp_mul_size(max_batch, 2 * (n_sizes - 1), &c->rows);
}

bool mlp_net_bytes(const size_t *sizes, size_t n_sizes, size_t max_batch, size_t *bytes)
{
    net_counts c;
    size_t floats, b, r;
    return count(sizes, n_sizes, max_batch, &c) && mlp_mul_size(c.params, 2, &floats) &&
           mlp_add_size(floats, c.cache, &floats) && mlp_add_size(floats, c.wishes, &floats) &&
           mlp_add_size(floats, c.drop, &floats) && mlp_add_size(floats, c.drop, &floats) &&
           mlp_mul_size(floats, sizeof(float), &b) && mlp_mul_size(c.rows, sizeof(float *), &r) &&
           mlp_add_size(b, r, bytes);
}

/* The layout's limits, and whether its buffers fit in memory: *c on success. */
static mlp_status check_layout(const size_t *sizes, size_t n_sizes, size_t max_batch, net_counts *c,
                               mlp_error *err)
{
    size_t bytes;
    if (n_sizes < 2 || n_sizes > MLP_MAX_LAYERS + 1)
        return mlp_fail(err, MLP_EARG, "a network needs 1 to %d weight layers, not %zu",
                        MLP_MAX_LAYERS, n_sizes - (n_sizes > 0));
    for (size_t l = 0; l < n_sizes; l++)
        if (sizes[l] == 0 || sizes[l] > MLP_MAX_WIDTH)
            return mlp_fail(err, MLP_EARG, "layer %zu has %zu neurons; allowed: 1 to %u", l,
                            sizes[l], MLP_MAX_WIDTH);
    if (max_batch == 0 || max_batch > MLP_MAX_BATCH)
        return mlp_fail(err, MLP_EARG, "batch of %zu rows; allowed: 1 to %u", max_batch,
                        MLP_MAX_BATCH);
    if (!count(sizes, n_sizes, max_batch, c) || !mlp_net_bytes(sizes, n_sizes, max_batch, &bytes))
        return mlp_fail(err, MLP_ENOMEM, "network too large for this machine's address space");
    return mlp_mem_check(bytes, "the network", err);
}

/* Offsets into params are computed here and in the two functions below, nowhere else:
 * params = W0 b0 W1 b1 ..., W_l (sizes[l+1], sizes[l]), b_l (sizes[l+1]). */
size_t mlp_net_w_offset(const mlp_net *net, size_t l)
{
    size_t off = 0;
    for (size_t k = 0; k < l; k++)
        off += net->sizes[k + 1] * (net->sizes[k] + 1);
    return off;
}

size_t mlp_net_b_offset(const mlp_net *net, size_t l)
{
    return mlp_net_w_offset(net, l) + net->sizes[l + 1] * net->sizes[l];
}

float *mlp_net_layer_w(const mlp_net *net, float *buf, size_t l)
{
    return buf + mlp_net_w_offset(net, l);
}

float *mlp_net_layer_b(const mlp_net *net, float *buf, size_t l)
{
    return buf + mlp_net_b_offset(net, l);
}

/* Every view into the buffers mlp_net_init allocated; the caches hold max_batch rows. */
static void point_views(mlp_net *net)
{
    const size_t mb = net->max_batch;
    float *a = net->acts, *d = net->wishes, *mk = net->drop.masks, *dr = net->drop.dropped;
    for (size_t l = 0; l < net->n_layers; l++) {
        net->W[l] = mlp_net_layer_w(net, net->params, l);
        net->b[l] = mlp_net_layer_b(net, net->params, l);
        net->dW[l] = mlp_net_layer_w(net, net->grads, l);
        net->db[l] = mlp_net_layer_b(net, net->grads, l);
    }
    for (size_t l = 0; l <= net->n_layers; l++) {
        net->a[l] = a;
        net->wish[l] = l > 0 ? d : NULL;
        a += mb * net->sizes[l];
        d += l > 0 ? mb * net->sizes[l] : 0;
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t in = net->sizes[l];
        net->rows[l] = net->row_ptrs + 2 * l * mb;
        net->drop.rows[l] = net->rows[l] + mb;
        for (size_t i = 0; i < mb; i++) {
            net->rows[l][i] = net->a[l] + i * in;
            net->drop.rows[l][i] = dr + i * in;
        }
        net->x[l] = net->rows[l];
        net->drop.mask[l] = mk;
        net->drop.keep[l] = 1.0f;
        mk += mb * in;
        dr += mb * in;
    }
}

mlp_status mlp_net_init(mlp_net *net, const size_t *sizes, size_t n_sizes, mlp_act act,
                        mlp_cost cost, size_t max_batch, const mlp_kernels *kern, mlp_pool *pool,
                        mlp_error *err)
{
    net_counts c;
    mlp_status st;

    memset(net, 0, sizeof *net);
    if ((st = check_layout(sizes, n_sizes, max_batch, &c, err)) != MLP_OK)
        return st;
    net->n_layers = n_sizes - 1;
    memcpy(net->sizes, sizes, n_sizes * sizeof *sizes);
    net->act = act;
    net->cost = cost;
    net->max_batch = max_batch;
    net->n_params = c.params;
    net->params = mlp_alloc_array(c.params, sizeof(float));
    net->grads = mlp_alloc_array(c.params, sizeof(float));
    net->acts = mlp_alloc_array(c.cache, sizeof(float));
    net->wishes = mlp_alloc_array(c.wishes, sizeof(float));
    net->drop.masks = mlp_alloc_array(c.drop, sizeof(float));
    net->drop.dropped = mlp_alloc_array(c.drop, sizeof(float));
    net->row_ptrs = mlp_alloc_array(c.rows, sizeof *net->row_ptrs);
    if (!net->params || !net->grads || !net->acts || !net->wishes || !net->row_ptrs ||
        !net->drop.masks || !net->drop.dropped) {
        mlp_net_free(net);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for a network of %zu parameters", c.params);
    }
    memset(net->params, 0, c.params * sizeof(float));
    memset(net->grads, 0, c.params * sizeof(float));
    point_views(net);
    mlp_net_attach(net, kern, pool);
    return MLP_OK;
}

void mlp_net_attach(mlp_net *net, const mlp_kernels *kern, mlp_pool *pool)
{
    net->kern = kern ? kern : mlp_kernels_get("auto");
    net->pool = pool;
}

void mlp_net_set_input(mlp_net *net, size_t i, const float *x)
{
    net->rows[0][i] = x;
}

void mlp_net_init_params(mlp_net *net, uint64_t seed)
{
    uint64_t rng = seed;
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t in = net->sizes[l], out = net->sizes[l + 1];
        bool last = l + 1 == net->n_layers;
        float *W = net->W[l];
        if (!last && net->act == MLP_ACT_RELU) {
            double sd = sqrt(2.0 / (double)in);
            for (size_t i = 0; i < out * in; i++)
                W[i] = (float)(sd * mlp_rng_normal(&rng));
        } else {
            float r = (float)sqrt(6.0 / (double)(in + out));
            for (size_t i = 0; i < out * in; i++)
                W[i] = r * (2.0f * mlp_rng_uniform(&rng) - 1.0f);
        }
        memset(net->b[l], 0, out * sizeof(float));
    }
}

/* Softmax of each row of y (B, n), in place. Subtracting the row's maximum first keeps
 * expf() from overflowing; the result is unchanged. */
static void softmax_rows(float *y, size_t B, size_t n)
{
    for (size_t i = 0; i < B; i++) {
        float *r = y + i * n, mx = r[0], sum = 0.0f;
        for (size_t j = 1; j < n; j++)
            mx = r[j] > mx ? r[j] : mx;
        for (size_t j = 0; j < n; j++) {
            r[j] = expf(r[j] - mx);
            sum += r[j];
        }
        for (size_t j = 0; j < n; j++)
            r[j] /= sum;
    }
}

mlp_kact mlp_net_layer_act(const mlp_net *net, size_t l)
{
    if (l + 1 < net->n_layers) {
        static const mlp_kact hidden[] = {MLP_KACT_SIGMOID, MLP_KACT_TANH, MLP_KACT_RELU};
        return hidden[net->act];
    }
    return net->cost == MLP_COST_XENT ? MLP_KACT_NONE : MLP_KACT_SIGMOID;
}

size_t mlp_net_threads(const mlp_net *net, size_t l)
{
    return mlp_kernels_threads(net->kern, net->pool, net->sizes[l], net->sizes[l + 1]);
}

/* Inverted dropout on the B input rows of weight layer l: each value kept with probability
 * keep[l] and scaled by 1/keep[l], the rest zeroed; the mask is kept for backprop. */
static void dropout(mlp_net *net, size_t l, size_t B)
{
    const size_t in = net->sizes[l];
    const float keep = net->drop.keep[l], scale = 1.0f / keep;
    /* a draw gives two 32-bit uniforms; u < keep * 2^32 keeps the value */
    const uint64_t threshold = (uint64_t)((double)keep * 4294967296.0);
    uint64_t rng = mlp_rng_derive(net->drop.seed, l, 0x64726f70u); /* "drop" */
    for (size_t i = 0; i < B; i++) {
        const float *src = net->rows[l][i];
        float *m = net->drop.mask[l] + i * in, *dst = (float *)net->drop.rows[l][i];
        for (size_t k = 0; k < in; k += 2) {
            uint64_t r = mlp_rng_u64(&rng);
            m[k] = (r & 0xffffffffu) < threshold ? scale : 0.0f;
            dst[k] = src[k] * m[k];
            if (k + 1 < in) {
                m[k + 1] = (r >> 32) < threshold ? scale : 0.0f;
                dst[k + 1] = src[k + 1] * m[k + 1];
            }
        }
    }
}

void mlp_net_forward(mlp_net *net, size_t B)
{
    /* a[l+1](B,out) = act(a[l](B,in) . W[l](out,in)^T + b[l](out)), layer after layer */
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t in = net->sizes[l], out = net->sizes[l + 1];
        net->x[l] = net->rows[l];
        if (net->drop.keep[l] < 1.0f) {
            dropout(net, l, B);
            net->x[l] = net->drop.rows[l];
        }
        mlp_kernels_forward(net->kern, net->pool, mlp_net_threads(net, l), net->a[l + 1], net->x[l],
                            net->W[l], net->b[l], B, in, out, mlp_net_layer_act(net, l));
    }
    if (net->cost == MLP_COST_XENT)
        softmax_rows(net->a[net->n_layers], B, net->sizes[net->n_layers]);
}

double mlp_net_cost(const mlp_net *net, const uint8_t *y, size_t B)
{
    const size_t K = net->sizes[net->n_layers];
    const float *out = net->a[net->n_layers];
    double total = 0.0;
    for (size_t i = 0; i < B; i++) {
        const float *o = out + i * K;
        if (net->cost == MLP_COST_XENT) {
            /* Clamp a probability that underflowed to 0, so one confident mistake costs
             * at most -ln(FLT_MIN) ~ 87 instead of infinity. A NaN stays NaN. */
            if (net->smooth == 0.0f) {
                float p = o[y[i]] < FLT_MIN ? FLT_MIN : o[y[i]];
                total -= log((double)p);
                continue;
            }
            double E = net->smooth, t0 = E / (double)K;
            for (size_t j = 0; j < K; j++) {
                float p = o[j] < FLT_MIN ? FLT_MIN : o[j];
                total -= (t0 + (j == y[i] ? 1.0 - E : 0.0)) * log((double)p);
            }
        } else {
            for (size_t j = 0; j < K; j++) {
                double e = (double)o[j] - (j == y[i] ? 1.0 : 0.0);
                total += 0.5 * e * e;
            }
        }
    }
    return total;
}

size_t mlp_net_predict_row(const mlp_net *net, size_t i)
{
    const size_t K = net->sizes[net->n_layers];
    const float *o = net->a[net->n_layers] + i * K;
    size_t best = 0;
    for (size_t j = 1; j < K; j++)
        if (o[j] > o[best])
            best = j;
    return best;
}

mlp_knob mlp_net_knob(const mlp_net *net, size_t i)
{
    mlp_knob k = {0};
    for (size_t l = 0; l < net->n_layers; l++) {
        size_t in = net->sizes[l], out = net->sizes[l + 1];
        k.layer = l;
        if (i < out * in) {
            k.neuron = i / in;
            k.input = i % in;
            return k;
        }
        i -= out * in;
        if (i < out) {
            k.neuron = i;
            k.bias = true;
            return k;
        }
        i -= out;
    }
    return (mlp_knob){0}; /* i >= n_params: the caller's bug; a harmless answer */
}

void mlp_net_free(mlp_net *net)
{
    free(net->params);
    free(net->grads);
    free(net->acts);
    free(net->wishes);
    free(net->row_ptrs);
    free(net->drop.masks);
    free(net->drop.dropped);
    memset(net, 0, sizeof *net);
}
