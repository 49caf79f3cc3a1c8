/*
 * pool: a fixed set of POSIX threads, created once per run, that run one function together.
 *
 * mlp_pool_run(pool, fn, ctx) calls fn(ctx, t, n) on every thread t in [0, n) (the caller is
 * thread 0) and returns when all have finished. A mini-batch of 10 images takes microseconds,
 * so the hand-off must cost far less than a sleeping barrier (~5 us): idle workers spin on a
 * generation counter for a while and only then sleep on a condition variable, so back-to-back
 * runs cost a fraction of a microsecond and a pool left idle costs no CPU.
 *
 * Work is split by the caller, so which thread computes what is decided by t and n alone;
 * the kernels split by output element, so results do not depend on n.
 */
#ifndef MLP_POOL_H
#define MLP_POOL_H

#include "util.h"

#include <stdint.h>

typedef struct mlp_pool mlp_pool;
typedef void (*mlp_pool_fn)(void *ctx, size_t t, size_t n);

#define MLP_MAX_THREADS 256

/* A pool of n threads in all (n - 1 workers plus the caller). n = 1 creates no thread. */
mlp_status mlp_pool_create(mlp_pool **pool, size_t n, mlp_error *err);
void mlp_pool_destroy(mlp_pool *pool); /* NULL is fine */

/* Threads in the pool; 1 for NULL. */
size_t mlp_pool_size(const mlp_pool *pool);

/* Runs fn on n_use = min(n_use, size) threads (0 means all) and waits for them, or, when that
 * has been measured to be faster at this call site, on the caller alone as one part,
 * fn(ctx, 0, 1), so fn must give the same results for any n (the kernels and the
 * augmentation do: they split by output element and by image). key names the call site and
 * the size of its work (runs of one key must be alike: the same kernel on the same shape);
 * pool.c says how the choice is made. With NULL or n_use == 1, it is a plain call
 * fn(ctx, 0, 1). */
void mlp_pool_run(mlp_pool *pool, uint64_t key, size_t n_use, mlp_pool_fn fn, void *ctx);

/* The same, always on the threads (to measure them). */
void mlp_pool_run_threads(mlp_pool *pool, size_t n_use, mlp_pool_fn fn, void *ctx);

/* Runs so far on the threads and on the caller alone (runs of one thread not counted). */
void mlp_pool_counts(const mlp_pool *pool, uint64_t *threads, uint64_t *alone);

/* The clock the choice times runs by, in seconds (NULL: the wall clock, mlp_now). For tests,
 * which replace the real durations of their parts with exact ones so that the choice they
 * check does not depend on how busy the machine is. */
void mlp_pool_set_clock(mlp_pool *pool, double (*now)(void *ctx), void *ctx);

/* Number of online CPUs (at least 1). */
size_t mlp_pool_cpus(void);

#endif
