/*
 * pool: fork-join over persistent threads with a spinning hand-off.
 *
 * A run publishes (fn, ctx, n_use) and bumps `gen`; each worker waits until gen changes,
 * runs its part if its index is below n_use, and adds one to `done`. The caller runs part 0
 * and spins until `done` has counted every worker. Workers that have seen no new run for
 * SPIN_ROUNDS polls go to sleep on a condition variable; the caller wakes them only when
 * some are asleep (`sleepers`), which keeps the common path free of locks. Both sides use
 * sequentially consistent atomics on gen and sleepers, so a worker going to sleep either
 * sees the new generation or is seen as asleep: a wake-up cannot be lost.
 */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* About 50-100 us of polling at a few ns per pause: long enough to bridge the serial parts
 * of a training step, short enough that an idle pool soon stops using the CPU. */
#define SPIN_ROUNDS 20000
/* After this many polls a waiting thread yields its core at every poll instead. When other
 * programs keep the cores busy, the thread being waited for may not be running at all, and
 * spinning on would only keep it off the core for a whole time slice (measured: a 2-thread
 * epoch of config B went from 0.18 s to 5.8 s beside a 2-thread training run). */
#define YIELD_AFTER 1000
/* Runs go in cycles: PROBE runs with the threads and PROBE on the caller alone, both timed,
 * then EXPLOIT runs the faster way. */
#define PROBE   256
#define EXPLOIT 8192

/* One poll of a wait that has already polled `spins` times: a pause, or, after YIELD_AFTER
 * polls, the core given up. */
static inline void poll_pause(unsigned spins)
{
    if (spins < YIELD_AFTER)
        cpu_relax();
    else
        sched_yield();
}

typedef struct {
    mlp_pool *pool;
    size_t index;
} worker_arg;

struct mlp_pool {
    size_t n; /* threads in all, the caller included */
    pthread_t *threads;
    worker_arg *args;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    /* the current run */
    mlp_pool_fn fn;
    void *ctx;
    size_t n_use;
    atomic_uint gen;      /* bumped once per run, and once to stop */
    atomic_uint done;     /* workers finished with the current run */
    atomic_uint sleepers; /* workers waiting on `wake` */
    atomic_bool stop;
    /* touched by the caller only: the choice between threads and the caller alone, see
     * mlp_pool_run */
    size_t runs;           /* runs so far in the current cycle */
    double t_par, t_alone; /* seconds the two probes took */
    bool alone;            /* the rest of the cycle runs on the caller alone */
};

static void *worker_main(void *p)
{
    worker_arg *a = p;
    mlp_pool *pool = a->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        unsigned spins = 0;
        while ((g = atomic_load(&pool->gen)) == seen) {
            if (++spins < SPIN_ROUNDS) {
                poll_pause(spins);
                continue;
            }
            pthread_mutex_lock(&pool->lock);
            atomic_fetch_add(&pool->sleepers, 1);
            while (atomic_load(&pool->gen) == seen)
                pthread_cond_wait(&pool->wake, &pool->lock);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->lock);
            spins = 0;
        }
        seen = g;
        if (atomic_load(&pool->stop))
            return NULL;
        if (a->index < pool->n_use)
            pool->fn(pool->ctx, a->index, pool->n_use);
        atomic_fetch_add(&pool->done, 1);
    }
}

static void publish(mlp_pool *pool)
{
    atomic_fetch_add(&pool->gen, 1);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
}

mlp_status mlp_pool_create(mlp_pool **out, size_t n, mlp_error *err)
{
    *out = NULL;
    if (n < 1 || n > MLP_MAX_THREADS)
        return mlp_fail(err, MLP_EARG, "%zu threads; allowed: 1 to %d", n, MLP_MAX_THREADS);
    mlp_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return mlp_fail(err, MLP_ENOMEM, "out of memory for a thread pool");
    pool->n = n;
    atomic_init(&pool->gen, 0);
    atomic_init(&pool->done, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->stop, false);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    if (n > 1) {
        pool->threads = calloc(n - 1, sizeof *pool->threads);
        pool->args = calloc(n - 1, sizeof *pool->args);
        if (!pool->threads || !pool->args) {
            mlp_pool_destroy(pool);
            return mlp_fail(err, MLP_ENOMEM, "out of memory for a thread pool");
        }
    }
    for (size_t i = 0; i + 1 < n; i++) {
        pool->args[i] = (worker_arg){pool, i + 1};
        int rc = pthread_create(&pool->threads[i], NULL, worker_main, &pool->args[i]);
        if (rc != 0) {
            pool->n = i + 1; /* only these exist; destroy joins them */
            mlp_pool_destroy(pool);
            return mlp_fail(err, MLP_ENOMEM, "cannot start thread %zu of %zu: %s", i + 2, n,
                            strerror(rc));
        }
    }
    *out = pool;
    return MLP_OK;
}

void mlp_pool_destroy(mlp_pool *pool)
{
    if (!pool)
        return;
    atomic_store(&pool->stop, true);
    publish(pool);
    for (size_t i = 0; i + 1 < pool->n; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->threads);
    free(pool->args);
    free(pool);
}

size_t mlp_pool_size(const mlp_pool *pool)
{
    return pool ? pool->n : 1;
}

void mlp_pool_run(mlp_pool *pool, size_t n_use, mlp_pool_fn fn, void *ctx)
{
    size_t n = mlp_pool_size(pool);
    if (n_use == 0 || n_use > n)
        n_use = n;
    if (n_use == 1) {
        fn(ctx, 0, 1);
        return;
    }
    /* When other programs keep the cores busy, a worker may be off its core for a whole time
     * slice at every run, and threads make training slower, not faster (measured: 0.18 s an
     * epoch alone, 5.8 s on two threads beside another training run). So the caller times a
     * stretch of runs each way now and then and keeps to the faster. Alone, it does every
     * part itself, in order: the same parts, so the same results, bit for bit. */
    size_t cycle = pool->runs++;
    if (pool->runs == 2 * PROBE + EXPLOIT)
        pool->runs = 0;
    bool probe_alone = cycle >= PROBE && cycle < 2 * PROBE;
    double t0 = cycle < 2 * PROBE ? mlp_now() : 0.0;
    if (probe_alone || (cycle >= 2 * PROBE && pool->alone)) {
        for (size_t t = 0; t < n_use; t++)
            fn(ctx, t, n_use);
    } else {
        pool->fn = fn;
        pool->ctx = ctx;
        pool->n_use = n_use;
        atomic_store(&pool->done, 0);
        publish(pool); /* the seq_cst increment orders the stores above before it */
        fn(ctx, 0, n_use);
        /* Every worker checks in, even those with no part, so the next run cannot overtake
         * a worker still reading this one's fields. */
        for (unsigned spins = 0; atomic_load(&pool->done) != n - 1; spins++)
            poll_pause(spins);
    }
    if (cycle < PROBE) {
        pool->t_par += mlp_now() - t0;
    } else if (probe_alone) {
        pool->t_alone += mlp_now() - t0;
        if (cycle == 2 * PROBE - 1) { /* threads keep the benefit of the doubt */
            pool->alone = pool->t_alone < 0.9 * pool->t_par;
            pool->t_par = pool->t_alone = 0.0;
        }
    }
}

size_t mlp_pool_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}
