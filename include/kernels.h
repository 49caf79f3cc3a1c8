/*
 * kernels: the three matrix products of a dense layer, batched over the mini-batch, on flat
 * row-major arrays, split over a thread pool.
 *
 *   forward      y(B,out)  = act(x(B,in) . W(out,in)^T + b(out))
 *   backward_w   dW(out,in) = dy(B,out)^T . x(B,in)      db(out) = sum over rows of dy
 *   backward_x   dx(B,in)  = (dy(B,out) . W(out,in)) * act'(a(B,in))
 *
 * and the update sgd.c asks for (SGD, Adam or AdamW: see mlp_step), elementwise, then row by
 * row for the max-norm constraint.
 *
 * act' is written with the activation's output a: sigmoid' = a(1-a), tanh' = 1-a^2,
 * relu' = [a > 0]; MLP_KACT_NONE leaves the product as it is. x is given as B row pointers,
 * so a mini-batch of training images is used where it lies, without being copied.
 *
 * Several implementations compute the same products: the plain triple loops ("ref"), kept
 * forever as the reference and as the fallback; cache-blocked portable C ("portable");
 * and, on x86-64, AVX2+FMA and AVX-512 versions chosen at run time from what the CPU has.
 * Every one of them computes each output element by the same sequence of operations whatever
 * block, tile or thread it falls in, and threads split the work by output element, never by
 * summing partial results: the result is bit-for-bit the same for any thread count.
 */
#ifndef MLP_KERNELS_H
#define MLP_KERNELS_H

#include "pool.h"

#include <stdbool.h>
#include <stddef.h>

/* The SIMD kernels need x86-64 and GCC or Clang's target attributes; PORTABLE=1 leaves them
 * out so that the plain C path alone is built and tested. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(MLP_PORTABLE)
#define MLP_HAVE_X86 1
#endif

typedef enum {
    MLP_KACT_NONE = 0, /* identity: softmax outputs are finished by the caller */
    MLP_KACT_SIGMOID,
    MLP_KACT_TANH,
    MLP_KACT_RELU,
} mlp_kact;

/* The update rules of mlp_step, in the order of options.h's mlp_opt_optimizer_names. */
typedef enum { MLP_STEP_SGD = 0, MLP_STEP_ADAM = 1, MLP_STEP_ADAMW = 2 } mlp_step_rule;

/* One step's settings. SGD: u = g + l2 * w; with a velocity v: v = mu * v + u, then u = v, or
 * with Nesterov momentum u = u + mu * v; finally w -= lr * u.
 *
 * Adam and AdamW, as PyTorch's torch.optim.Adam and AdamW (Kingma and Ba 2015, Loshchilov
 * and Hutter 2019), with the first moments in v and the second ones in v2:
 *
 *     AdamW only:  w *= decay                 decay = 1 - lr * weight decay
 *     u = g + l2 * w                          (Adam's weight decay; l2 is 0 for AdamW)
 *     v  = beta1 * v  + (1 - beta1) * u
 *     v2 = beta2 * v2 + (1 - beta2) * u * u
 *     w -= step * v / (sqrt(v2) / bc2 + eps)  step = lr / (1 - beta1^t), bc2 = sqrt(1 - beta2^t)
 *
 * where t counts the steps taken, this one included; the caller works out decay, step and
 * bc2 once per step, in double (sgd.c). With maxnorm > 0, each row of a weight matrix (one
 * neuron's incoming weights) whose L2 norm exceeds maxnorm is then scaled back onto it. */
typedef struct {
    float lr, l2, mu, maxnorm;
    bool nesterov;
    mlp_step_rule rule;
    float beta1, beta2, eps;
    float decay, step, bc2; /* Adam and AdamW: as above */
} mlp_step;

/* One implementation. Each function computes the part of its product given by a range of
 * columns: output neurons [j0, j1) for forward (columns of y) and backward_w (rows of dW and
 * entries of db), input neurons [k0, k1) for backward_x (columns of dx). */
typedef struct mlp_kernels {
    const char *name;
    void (*forward)(float *y, const float *const *x, const float *W, const float *b, size_t B,
                    size_t in, size_t out, mlp_kact act, size_t j0, size_t j1);
    void (*backward_w)(float *dW, float *db, const float *dy, const float *const *x, size_t B,
                       size_t in, size_t out, size_t j0, size_t j1);
    void (*backward_x)(float *dx, const float *dy, const float *W, const float *a, size_t B,
                       size_t in, size_t out, mlp_kact act, size_t k0, size_t k1);
    void (*step)(float *w, float *v, const float *g, size_t n, const mlp_step *s);
    /* Adam and AdamW: v and v2 are the first and second moments, (n) each, never NULL */
    void (*adam)(float *w, float *v, float *v2, const float *g, size_t n, const mlp_step *s);
    /* rows of w (rows, cols) longer than maxnorm are scaled to length maxnorm */
    void (*clip_rows)(float *w, size_t rows, size_t cols, float maxnorm);
    /* Peak probe for benchmarks: `iters` rounds of independent multiply-adds on registers,
     * enough chains to hide the latency; returns the flops done (2 per multiply-add). */
    double (*probe)(size_t iters);
    size_t align; /* column ranges handed to threads start at multiples of this */
} mlp_kernels;

/* "auto" (the fastest this CPU runs), "ref", "portable", "avx2", "avx512". NULL if the name
 * is unknown or the CPU (or this build) lacks it. */
const mlp_kernels *mlp_kernels_get(const char *name);

/* The names this build and CPU can run, best last, NULL-terminated. */
const char *const *mlp_kernels_available(void);

/* Threads worth using for a layer of (out, in) weights: 1 for small layers, where another
 * thread costs more than it saves, up to the pool's size. */
size_t mlp_kernels_threads(const mlp_kernels *k, const mlp_pool *pool, size_t in, size_t out);

/* The products over whole layers, split over n of pool's threads (pool may be NULL, n 1).
 * Callers pass the n of the layer whose neurons are split, so that the forward pass, the
 * weight gradient and the step of a layer's neurons [c0, c1), and the input gradient that
 * reaches those neurons from above, all run on the same thread and find their data in that
 * core's cache. */
void mlp_kernels_forward(const mlp_kernels *k, mlp_pool *pool, size_t n, float *y,
                         const float *const *x, const float *W, const float *b, size_t B, size_t in,
                         size_t out, mlp_kact act);
void mlp_kernels_backward_w(const mlp_kernels *k, mlp_pool *pool, size_t n, float *dW, float *db,
                            const float *dy, const float *const *x, size_t B, size_t in,
                            size_t out);
void mlp_kernels_backward_x(const mlp_kernels *k, mlp_pool *pool, size_t n, float *dx,
                            const float *dy, const float *W, const float *a, size_t B, size_t in,
                            size_t out, mlp_kact act);
/* The step on a layer's (rows, row_len) weights or its (rows, 1) biases, split by rows; v is
 * the velocities (or NULL) for SGD, the first moments for Adam, v2 the second moments for
 * Adam (NULL for SGD), each in w's layout. */
void mlp_kernels_step(const mlp_kernels *k, mlp_pool *pool, size_t n, float *w, float *v, float *v2,
                      const float *g, size_t rows, size_t row_len, const mlp_step *s);

/* The implementations, for kernels.c's table and the tests. */
extern const mlp_kernels mlp_kernels_ref, mlp_kernels_portable;
#if defined(MLP_HAVE_X86)
extern const mlp_kernels mlp_kernels_avx2, mlp_kernels_avx512;
#endif

#endif
