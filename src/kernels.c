/*
 * kernels: the reference and portable implementations of the layer products, the choice of
 * implementation, and the split of each product over the thread pool. The x86 SIMD versions
 * are in kernels_avx2.c and kernels_avx512.c.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- scalar pieces */

static float act_scalar(float z, mlp_kact act)
{
    switch (act) {
    case MLP_KACT_SIGMOID:
        return 1.0f / (1.0f + expf(-z));
    case MLP_KACT_TANH:
        return tanhf(z);
    case MLP_KACT_RELU:
        return z > 0.0f ? z : 0.0f;
    case MLP_KACT_NONE:
        break;
    }
    return z;
}

/* act'(z) written with a = act(z) */
static float slope_scalar(float a, mlp_kact act)
{
    switch (act) {
    case MLP_KACT_SIGMOID:
        return a * (1.0f - a);
    case MLP_KACT_TANH:
        return 1.0f - a * a;
    case MLP_KACT_RELU:
        return a > 0.0f ? 1.0f : 0.0f;
    case MLP_KACT_NONE:
        break;
    }
    return 1.0f;
}

/* db[j] = sum over the B rows of dy(B, out), j in [j0, j1), in row order */
static void column_sums(float *db, const float *dy, size_t B, size_t out, size_t j0, size_t j1)
{
    for (size_t j = j0; j < j1; j++) {
        float s = 0.0f;
        for (size_t i = 0; i < B; i++)
            s += dy[i * out + j];
        db[j] = s;
    }
}

/* ---------------------------------------------------------------- reference: triple loops */

static void ref_forward(float *y, const float *const *x, const float *W, const float *b, size_t B,
                        size_t in, size_t out, mlp_kact act, size_t j0, size_t j1)
{
    for (size_t i = 0; i < B; i++) {
        for (size_t j = j0; j < j1; j++) {
            float s = b[j];
            for (size_t k = 0; k < in; k++)
                s += x[i][k] * W[j * in + k];
            y[i * out + j] = act_scalar(s, act);
        }
    }
}

static void ref_backward_w(float *dW, float *db, const float *dy, const float *const *x, size_t B,
                           size_t in, size_t out, size_t j0, size_t j1)
{
    for (size_t j = j0; j < j1; j++) {
        for (size_t k = 0; k < in; k++) {
            float s = 0.0f;
            for (size_t i = 0; i < B; i++)
                s += dy[i * out + j] * x[i][k];
            dW[j * in + k] = s;
        }
    }
    column_sums(db, dy, B, out, j0, j1);
}

static void ref_backward_x(float *dx, const float *dy, const float *W, const float *a, size_t B,
                           size_t in, size_t out, mlp_kact act, size_t k0, size_t k1)
{
    for (size_t i = 0; i < B; i++) {
        for (size_t k = k0; k < k1; k++) {
            float s = 0.0f;
            for (size_t j = 0; j < out; j++)
                s += dy[i * out + j] * W[j * in + k];
            dx[i * in + k] = s * slope_scalar(a[i * in + k], act);
        }
    }
}

static void ref_step(float *w, float *v, const float *g, size_t n, const mlp_step *s)
{
    for (size_t i = 0; i < n; i++) {
        float u = g[i] + s->l2 * w[i];
        if (v) {
            v[i] = s->mu * v[i] + u;
            u = s->nesterov ? u + s->mu * v[i] : v[i];
        }
        w[i] -= s->lr * u;
    }
}

/* Adam and AdamW, one element at a time in the order of mlp_step's formulas */
static void ref_adam(float *w, float *v, float *v2, const float *g, size_t n, const mlp_step *s)
{
    for (size_t i = 0; i < n; i++) {
        if (s->rule == MLP_STEP_ADAMW)
            w[i] *= s->decay;
        float u = g[i] + s->l2 * w[i];
        v[i] = s->beta1 * v[i] + (1.0f - s->beta1) * u;
        v2[i] = s->beta2 * v2[i] + (1.0f - s->beta2) * u * u;
        w[i] -= s->step * v[i] / (sqrtf(v2[i]) / s->bc2 + s->eps);
    }
}

/* Shared by every implementation: the norm is a sum over one row in order, so a row gives
 * the same result whichever thread clips it. */
static void clip_rows(float *w, size_t rows, size_t cols, float maxnorm)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = w + r * cols;
        double ss = 0.0;
        for (size_t c = 0; c < cols; c++)
            ss += (double)row[c] * row[c];
        if (ss > (double)maxnorm * maxnorm) {
            float scale = (float)(maxnorm / sqrt(ss));
            for (size_t c = 0; c < cols; c++)
                row[c] *= scale;
        }
    }
}

/* 32 independent chains of a = a * m + c, which a compiler can spread over vector registers
 * as it does the portable kernels' loops. The volatile sink keeps the work from being
 * optimised away. */
static double scalar_probe(size_t iters)
{
    float a[32];
    volatile float sink = 0.0f;
    for (int l = 0; l < 32; l++)
        a[l] = (float)l;
    for (size_t n = 0; n < iters; n++)
        for (int l = 0; l < 32; l++)
            a[l] = a[l] * 0.999f + 0.001f;
    for (int l = 0; l < 32; l++)
        sink += a[l];
    (void)sink;
    return 64.0 * (double)iters;
}

const mlp_kernels mlp_kernels_ref = {"ref",          ref_forward,  ref_backward_w,
                                     ref_backward_x, ref_step,     ref_adam,
                                     clip_rows,      scalar_probe, 1};

/* ---------------------------------------------------------------- portable: plain C, blocked
 *
 * Written so that a compiler can vectorise the innermost loops without reordering any sum:
 * the forward dot products keep LANES partial sums (lane l sums k = l, l + LANES, ...) that
 * are added in a fixed tree at the end; the backward products are axpy loops along the
 * contiguous index. Four rows share each load of the other operand. */

#define LANES 8

/* Tree sum of LANES partial sums: ((0+4) + (2+6)) + ((1+5) + (3+7)) */
static float tree8(const float *s)
{
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

static float dot_lanes(const float *x, const float *w, size_t n)
{
    float s[LANES] = {0};
    size_t k = 0;
    for (; k + LANES <= n; k += LANES)
        for (size_t l = 0; l < LANES; l++)
            s[l] += x[k + l] * w[k + l];
    for (size_t l = 0; k + l < n; l++)
        s[l] += x[k + l] * w[k + l];
    return tree8(s);
}

static void port_forward(float *y, const float *const *x, const float *W, const float *b, size_t B,
                         size_t in, size_t out, mlp_kact act, size_t j0, size_t j1)
{
    for (size_t j = j0; j < j1; j++) {
        const float *w = W + j * in;
        for (size_t i = 0; i < B; i++)
            y[i * out + j] = act_scalar(dot_lanes(x[i], w, in) + b[j], act);
    }
}

/* dst[0..n) = 0, then dst[k] += sum_p c[p * stride] * src[p][k] for p in [0, P): an axpy per
 * p, which vectorises along k with each sum kept in p order. */
static void axpy_sum(float *restrict dst, const float *c, size_t stride, const float *const *src,
                     size_t P, size_t k0, size_t n)
{
    memset(dst, 0, n * sizeof *dst);
    for (size_t p = 0; p < P; p++) {
        const float *restrict s = src[p] + k0;
        float cp = c[p * stride];
        for (size_t k = 0; k < n; k++)
            dst[k] += cp * s[k];
    }
}

static void port_backward_w(float *dW, float *db, const float *dy, const float *const *x, size_t B,
                            size_t in, size_t out, size_t j0, size_t j1)
{
    /* dW[j][k] = sum_i dy[i][j] * x[i][k] */
    for (size_t j = j0; j < j1; j++)
        axpy_sum(dW + j * in, dy + j, out, x, B, 0, in);
    column_sums(db, dy, B, out, j0, j1);
}

static void port_backward_x(float *dx, const float *dy, const float *W, const float *a, size_t B,
                            size_t in, size_t out, mlp_kact act, size_t k0, size_t k1)
{
    const float *wrows[256];
    for (size_t i = 0; i < B; i++) {
        /* dx[i][k] = sum_j dy[i][j] * W[j][k], with W's rows handed over in blocks */
        float *d = dx + i * in + k0;
        size_t n = k1 - k0;
        for (size_t j0 = 0; j0 < out; j0 += 256) {
            size_t nj = out - j0 < 256 ? out - j0 : 256;
            for (size_t j = 0; j < nj; j++)
                wrows[j] = W + (j0 + j) * in;
            if (j0 == 0) {
                axpy_sum(d, dy + i * out, 1, wrows, nj, k0, n);
            } else {
                for (size_t j = 0; j < nj; j++) {
                    float c = dy[i * out + j0 + j];
                    const float *restrict s = wrows[j] + k0;
                    for (size_t k = 0; k < n; k++)
                        d[k] += c * s[k];
                }
            }
        }
        if (act != MLP_KACT_NONE)
            for (size_t k = 0; k < n; k++)
                d[k] *= slope_scalar(a[i * in + k0 + k], act);
    }
}

/* restrict: w, v and g never overlap, which lets the compiler vectorise without a check */
static void port_step(float *restrict w, float *restrict v, const float *restrict g, size_t n,
                      const mlp_step *s)
{
    const float lr = s->lr, l2 = s->l2, mu = s->mu;
    if (!v) {
        for (size_t i = 0; i < n; i++)
            w[i] -= lr * (g[i] + l2 * w[i]);
    } else if (!s->nesterov) {
        for (size_t i = 0; i < n; i++) {
            v[i] = mu * v[i] + (g[i] + l2 * w[i]);
            w[i] -= lr * v[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float u = g[i] + l2 * w[i];
            v[i] = mu * v[i] + u;
            w[i] -= lr * (u + mu * v[i]);
        }
    }
}

/* The same operations as ref_adam, in loops without branches, which vectorise */
static void port_adam(float *restrict w, float *restrict v, float *restrict v2,
                      const float *restrict g, size_t n, const mlp_step *s)
{
    const float l2 = s->l2, b1 = s->beta1, b2 = s->beta2, c1 = 1.0f - b1, c2 = 1.0f - b2;
    const float step = s->step, bc2 = s->bc2, eps = s->eps;
    if (s->rule == MLP_STEP_ADAMW)
        for (size_t i = 0; i < n; i++)
            w[i] *= s->decay;
    for (size_t i = 0; i < n; i++) {
        float u = g[i] + l2 * w[i];
        v[i] = b1 * v[i] + c1 * u;
        v2[i] = b2 * v2[i] + c2 * u * u;
        w[i] -= step * v[i] / (sqrtf(v2[i]) / bc2 + eps);
    }
}

const mlp_kernels mlp_kernels_portable = {"portable",      port_forward, port_backward_w,
                                          port_backward_x, port_step,    port_adam,
                                          clip_rows,       scalar_probe, 1};

/* ---------------------------------------------------------------- choosing an implementation */

static bool cpu_has(const char *name)
{
#if defined(MLP_HAVE_X86)
    __builtin_cpu_init();
    if (!strcmp(name, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
    if (!strcmp(name, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    (void)name;
    return false;
}

const char *const *mlp_kernels_available(void)
{
    static const char *const all[] = {"ref", "portable", "avx2", "avx512", NULL};
    static const char *const avx2[] = {"ref", "portable", "avx2", NULL};
    static const char *const plain[] = {"ref", "portable", NULL};
    if (cpu_has("avx512"))
        return all;
    if (cpu_has("avx2"))
        return avx2;
    return plain;
}

const mlp_kernels *mlp_kernels_get(const char *name)
{
    if (!strcmp(name, "ref"))
        return &mlp_kernels_ref;
    if (!strcmp(name, "portable"))
        return &mlp_kernels_portable;
#if defined(MLP_HAVE_X86)
    if (!strcmp(name, "avx512"))
        return cpu_has("avx512") ? &mlp_kernels_avx512 : NULL;
    if (!strcmp(name, "avx2"))
        return cpu_has("avx2") ? &mlp_kernels_avx2 : NULL;
    if (!strcmp(name, "auto"))
        return cpu_has("avx512") ? &mlp_kernels_avx512
               : cpu_has("avx2") ? &mlp_kernels_avx2
                                 : &mlp_kernels_portable;
#else
    if (!strcmp(name, "auto"))
        return &mlp_kernels_portable;
#endif
    return NULL;
}

/* ---------------------------------------------------------------- splitting over threads */

/* A layer with fewer weights than this per thread runs on one thread without asking: the
 * hand-off (about half a microsecond) would cost more than the arithmetic it saves. Above
 * it the pool times both ways at each call site and keeps the faster (pool.c). Measured
 * with mlp bench on a Zen 5, AVX2 kernels: config A's 12,544-weight first layer on two
 * threads took its epoch from 0.077-0.084 s to 0.054-0.055 s (with the forward pass's
 * prefetch); its 256- and 160-weight layers stay on one. */
#define MIN_WEIGHTS_PER_THREAD 4096

size_t mlp_kernels_threads(const mlp_kernels *k, const mlp_pool *pool, size_t in, size_t out)
{
    size_t n = in * out / MIN_WEIGHTS_PER_THREAD, units = (out + k->align - 1) / k->align;
    if (n > mlp_pool_size(pool))
        n = mlp_pool_size(pool);
    if (n > units)
        n = units;
    return n ? n : 1;
}

typedef enum { OP_FORWARD, OP_BACKWARD_W, OP_BACKWARD_X, OP_STEP } op_kind;

/* One product's arguments, named as in kernels.h; each op sets the ones it uses. */
typedef struct {
    const mlp_kernels *k;
    op_kind op;
    float *y, *dW, *db, *dx, *w, *v, *v2; /* written: y | dW, db | dx | w, v, v2 (v, v2 may
                                           * be NULL) */
    const float *W, *b, *dy, *a, *g;      /* read: W, b | dy | dy, W, a | g */
    const float *const *x;                /* the layer input's rows: forward, backward_w */
    size_t B, in, out;
    mlp_kact act;
    const mlp_step *step;
    size_t cols; /* what is split: out for forward, backward_w and the step, in for backward_x */
} job;

/* Range [c0, c1) of thread t of n over `cols` columns: contiguous, starting at multiples of
 * align. Every product uses this one function, so a layer's neurons [c0, c1) belong to the
 * same thread in the forward pass, the weight gradient and the step (their weights stay in
 * that core's cache), and the layer below's input gradient for them is computed there too. */
static void split(size_t cols, size_t align, size_t t, size_t n, size_t *c0, size_t *c1)
{
    size_t units = (cols + align - 1) / align;
    size_t u0 = units * t / n, u1 = units * (t + 1) / n;
    *c0 = u0 * align < cols ? u0 * align : cols;
    *c1 = u1 * align < cols ? u1 * align : cols;
}

static void run_part(void *ctx, size_t t, size_t n)
{
    const job *jb = ctx;
    size_t c0, c1;
    split(jb->cols, jb->k->align, t, n, &c0, &c1);
    if (c0 >= c1)
        return;
    switch (jb->op) {
    case OP_FORWARD:
        jb->k->forward(jb->y, jb->x, jb->W, jb->b, jb->B, jb->in, jb->out, jb->act, c0, c1);
        break;
    case OP_BACKWARD_W:
        jb->k->backward_w(jb->dW, jb->db, jb->dy, jb->x, jb->B, jb->in, jb->out, c0, c1);
        break;
    case OP_BACKWARD_X:
        jb->k->backward_x(jb->dx, jb->dy, jb->W, jb->a, jb->B, jb->in, jb->out, jb->act, c0, c1);
        break;
    case OP_STEP: /* rows [c0, c1) of a (out, in) matrix */
        if (jb->step->rule == MLP_STEP_SGD)
            jb->k->step(jb->w + c0 * jb->in, jb->v ? jb->v + c0 * jb->in : NULL,
                        jb->g + c0 * jb->in, (c1 - c0) * jb->in, jb->step);
        else
            jb->k->adam(jb->w + c0 * jb->in, jb->v + c0 * jb->in, jb->v2 + c0 * jb->in,
                        jb->g + c0 * jb->in, (c1 - c0) * jb->in, jb->step);
        if (jb->step->maxnorm > 0.0f)
            jb->k->clip_rows(jb->w + c0 * jb->in, c1 - c0, jb->in, jb->step->maxnorm);
        break;
    }
}

/* The pool's name for a job's call site and shape (pool.h): runs with the same key do the
 * same work, so the pool compares threads and the caller alone on like runs. */
static uint64_t site_key(const job *jb, size_t n)
{
    const uint64_t prime = 1099511628211u; /* FNV-1a's */
    uint64_t h = 14695981039346656037u;
    const uint64_t parts[] = {(uint64_t)jb->op, jb->B, jb->in, jb->out, n};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        h = (h ^ parts[k]) * prime;
    return h;
}

void mlp_kernels_forward(const mlp_kernels *k, mlp_pool *pool, size_t n, float *y,
                         const float *const *x, const float *W, const float *b, size_t B, size_t in,
                         size_t out, mlp_kact act)
{
    job jb = {.k = k,
              .op = OP_FORWARD,
              .y = y,
              .W = W,
              .b = b,
              .x = x,
              .B = B,
              .in = in,
              .out = out,
              .act = act,
              .cols = out};
    mlp_pool_run(pool, site_key(&jb, n), n, run_part, &jb);
}

void mlp_kernels_backward_w(const mlp_kernels *k, mlp_pool *pool, size_t n, float *dW, float *db,
                            const float *dy, const float *const *x, size_t B, size_t in, size_t out)
{
    job jb = {.k = k,
              .op = OP_BACKWARD_W,
              .dW = dW,
              .db = db,
              .dy = dy,
              .x = x,
              .B = B,
              .in = in,
              .out = out,
              .act = MLP_KACT_NONE,
              .cols = out};
    mlp_pool_run(pool, site_key(&jb, n), n, run_part, &jb);
}

void mlp_kernels_backward_x(const mlp_kernels *k, mlp_pool *pool, size_t n, float *dx,
                            const float *dy, const float *W, const float *a, size_t B, size_t in,
                            size_t out, mlp_kact act)
{
    job jb = {.k = k,
              .op = OP_BACKWARD_X,
              .dx = dx,
              .dy = dy,
              .W = W,
              .a = a,
              .B = B,
              .in = in,
              .out = out,
              .act = act,
              .cols = in};
    mlp_pool_run(pool, site_key(&jb, n), n, run_part, &jb);
}

void mlp_kernels_step(const mlp_kernels *k, mlp_pool *pool, size_t n, float *w, float *v, float *v2,
                      const float *g, size_t rows, size_t row_len, const mlp_step *s)
{
    job jb = {.k = k,
              .op = OP_STEP,
              .w = w,
              .v = v,
              .v2 = v2,
              .g = g,
              .B = 1,
              .in = row_len,
              .out = rows,
              .act = MLP_KACT_NONE,
              .step = s,
              .cols = rows};
    mlp_pool_run(pool, site_key(&jb, n), n, run_part, &jb);
}
