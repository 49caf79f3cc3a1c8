/*
 * gradcheck: every parameter's gradient computed two ways, and how far apart they are.
 *
 *   backprop            one forward pass and one backward sweep of the network as it trains
 *                       (float, net.c and backprop.c): every gradient at once
 *   finite differences  for each parameter ("knob") w: nudge it up and down by h and run the
 *                       whole forward pass again each time, in double precision, written here
 *                       from the definitions and independent of net.c:
 *                           dC/dw ~ (C(w + h) - C(w - h)) / 2h
 *                       that is 2 forward passes per parameter (26,004 for 784-16-16-10)
 *
 * C is the mean cost over the B rows. Since the net's float parameters and inputs are exact
 * in double, both ways describe the same function, and the central difference is accurate to
 * about h^2 (truncation) plus 1e-16 / h (rounding): what remains is the error of backprop.
 *
 * The relative error of a knob is |bp - fd| / max(|bp|, |fd|, floor), where the floor is
 * MLP_GRADCHECK_FLOOR times the largest |fd| of the whole check: float backprop is accurate
 * to about 1e-7 of the terms it sums, so a gradient a thousand times smaller than the largest
 * one cannot be expected to have a small relative error, and a wrong one is still caught.
 * Library code: nothing is printed.
 */
#ifndef MLP_GRADCHECK_H
#define MLP_GRADCHECK_H

#include "net.h"

#define MLP_GRADCHECK_H_DEFAULT   1e-5
#define MLP_GRADCHECK_TOL_DEFAULT 1e-3
#define MLP_GRADCHECK_FLOOR       1e-3

/* The gradient under test: fills net->grads for the B rows whose forward pass is cached. */
typedef void (*mlp_gradcheck_backprop_fn)(mlp_net *net, const uint8_t *y, size_t B);

typedef struct {
    double h;           /* the nudge; 0: MLP_GRADCHECK_H_DEFAULT */
    double tol;         /* the largest relative error that passes; 0: MLP_GRADCHECK_TOL_DEFAULT */
    size_t knobs;       /* compare this many parameters drawn at random; 0: every one */
    uint64_t seed;      /* which ones, when knobs > 0 */
    double min_seconds; /* repeat backprop for at least this long to time it; 0: once */
    /* NULL: mlp_backprop. The tests pass a deliberately wrong gradient here to see the check
     * fail; the command never sets it. */
    mlp_gradcheck_backprop_fn backprop;
} mlp_gradcheck_opts;

typedef struct {
    size_t checked;        /* parameters compared */
    size_t forward_passes; /* 2 * checked */
    size_t worst_abs_at;   /* index into params of the largest absolute error */
    double worst_abs;      /* |bp - fd| there */
    double abs_bp, abs_fd; /* the two gradients there */
    size_t worst_rel_at;   /* index into params of the largest relative error */
    double worst_rel;
    double rel_bp, rel_fd;
    double largest;          /* largest |fd|: near 0, the check proves nothing */
    double forward_diff;     /* largest |net.c output - double output|: same function? */
    double cost;             /* mean cost of the batch (double forward) */
    double backprop_seconds; /* one forward + one backward, mean over backprop_runs */
    size_t backprop_runs;
    double fd_seconds; /* all the finite-difference forward passes */
    bool ok;           /* worst_rel <= tol */
} mlp_gradcheck_result;

/* Checks the gradient of net's mean cost over the B rows x[0..B) (each sizes[0] floats) with
 * labels y. B <= net->max_batch; net->grads and the caches are overwritten, params are not. */
mlp_status mlp_gradcheck(mlp_net *net, const float *const *x, const uint8_t *y, size_t B,
                         const mlp_gradcheck_opts *opt, mlp_gradcheck_result *r, mlp_error *err);

#endif
