/*
 * pool: fork-join over persistent threads with a spinning hand-off.
 *
 * A run publishes (fn, ctx, n_use) and bumps `gen`; each worker waits until gen changes,
 * runs its part if its index is below n_use, and adds one to `done`. The caller runs part 0
 * and spins until `done` has counted every worker. Workers that have seen no new run for
 * SPIN_SECONDS go to sleep on a condition variable; the caller wakes them only when
 * some are asleep (`sleepers`), which keeps the common path free of locks. Both sides use
 * sequentially consistent atomics on gen and sleepers, so a worker going to sleep either
 * sees the new generation or is seen as asleep: a wake-up cannot be lost.
 */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
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

/* A worker waits this long for the next run before it sleeps: long enough to bridge the
 * serial parts of a training step (microseconds), short enough that a worker with nothing
 * to do soon stops competing for a core. Counted in time, not polls: beside busy programs
 * each poll that yields can take a time slice, and a worker that kept polling (20,000
 * polls, as it once did) stayed runnable for most of the time, taking a share of the CPU
 * from the caller even while every product ran on the caller alone (config C beside two
 * busy loops: 8.3 s an epoch, against 5.9 s with --threads 1). */
#define SPIN_SECONDS 200e-6
/* After this many polls a waiting thread yields its core at every poll instead. When other
 * programs keep the cores busy, the thread being waited for may not be running at all, and
 * spinning on would only keep it off the core for a whole time slice (measured: a 2-thread
 * epoch of config B went from 0.18 s to 5.8 s beside a 2-thread training run). */
#define YIELD_AFTER 1000
/* The choice between the threads and the caller alone is made for each call site (a kernel
 * and its shape: like is compared with like) by a comparison: PAIRS runs each way,
 * alternating, timed, after WARMUP runs of the site that are left out (first touches of its
 * buffers, cold caches). The faster way then holds for HOLD_MIN runs, twice as many each
 * time a comparison confirms it, up to about HOLD_SECONDS, so that a change of load is seen
 * within seconds. A second run on the threads that takes BAIL times the mean run alone ends
 * a comparison at once (beside busy programs each such run can cost a time slice, and
 * waiting for PAIRS of them would cost more than the choice can win; one alone may be a
 * program passing by) and holds the caller alone for FAR_HOLD runs or FAR_SECONDS,
 * whichever is longer: counted in runs alone, a product of microseconds (config A's) was
 * checked again every few milliseconds, each check costing time slices, and beside two busy
 * loops its epochs took 0.16 s against 0.06 s with --threads 1. While the threads hold, one
 * such run ends the hold: the threads' runs are timed for that. */
#define SITES        64 /* call sites told apart; more share the last slot */
#define WARMUP       4
#define PAIRS        8
#define HOLD_MIN     64
#define HOLD_MAX     (1u << 24) /* runs: keeps the doubling from overflowing */
#define HOLD_SECONDS 2.0
#define BAIL         4.0
#define FAR_HOLD     1024 /* the least hold of the caller alone after such runs, */
#define FAR_SECONDS  0.5  /* and in time */

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

/* The state of the choice at one call site (see SITES). */
typedef struct {
    uint64_t key;       /* the site; 0 for a slot not yet used */
    unsigned warm;      /* runs left out so far, up to WARMUP */
    unsigned compared;  /* runs of the comparison under way; 0 when none is */
    unsigned left;      /* runs the current choice still holds */
    unsigned hold;      /* what the last comparison gave it */
    double par[PAIRS], solo[PAIRS]; /* seconds of the comparison's runs each way */
    double t_alone;     /* their sum alone, so far */
    unsigned strikes;   /* threaded runs of the comparison BAIL times slower than alone */
    double mean_alone;  /* seconds of a run alone, as the last comparison found */
    bool alone;         /* the choice: the caller alone */
} site;

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
    site sites[SITES];
    uint64_t runs_par, runs_alone; /* runs each way so far (mlp_pool_counts) */
    double (*now)(void *);         /* the clock runs are timed by: mlp_now, or a test's */
    void *now_ctx;
};

static double wall_clock(void *ctx)
{
    (void)ctx;
    return mlp_now();
}

static void *worker_main(void *p)
{
    worker_arg *a = p;
    mlp_pool *pool = a->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        unsigned spins = 0;
        double since = 0.0; /* when the polls began to yield */
        while ((g = atomic_load(&pool->gen)) == seen) {
            if (spins == YIELD_AFTER)
                since = mlp_now();
            if (spins < YIELD_AFTER || mlp_now() - since < SPIN_SECONDS) {
                poll_pause(spins++);
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

/* Starts a run; true when it had to wake a sleeping worker. */
static bool publish(mlp_pool *pool)
{
    atomic_fetch_add(&pool->gen, 1);
    if (atomic_load(&pool->sleepers) == 0)
        return false;
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    return true;
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
    pool->now = wall_clock;
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
    /* Workers start with every signal blocked, so that signals reach the caller's thread,
     * where output.c blocks them while it takes a lock. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (size_t i = 0; i + 1 < n; i++) {
        pool->args[i] = (worker_arg){pool, i + 1};
        int rc = pthread_create(&pool->threads[i], NULL, worker_main, &pool->args[i]);
        if (rc != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            pool->n = i + 1; /* only these exist; destroy joins them */
            mlp_pool_destroy(pool);
            return mlp_fail(err, MLP_ENOMEM, "cannot start thread %zu of %zu: %s", i + 2, n,
                            strerror(rc));
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
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

/* The slot of site key: its own, a free one, or the last when all are taken. */
static site *find_site(mlp_pool *pool, uint64_t key)
{
    key = key ? key : 1; /* 0 marks a free slot */
    for (size_t k = 0; k < SITES; k++) {
        size_t at = (size_t)((key + k) % SITES);
        if (pool->sites[at].key == key || pool->sites[at].key == 0) {
            pool->sites[at].key = key;
            return &pool->sites[at];
        }
    }
    return &pool->sites[SITES - 1];
}

/* The median of n <= PAIRS run times (the mean of the middle two for even n). */
static double median(const double *t, size_t n)
{
    double v[PAIRS];
    for (size_t i = 0; i < n; i++) { /* insertion sort of a copy */
        size_t j = i;
        for (; j > 0 && v[j - 1] > t[i]; j--)
            v[j] = v[j - 1];
        v[j] = t[i];
    }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Runs of per_run seconds that fill `seconds`, within [HOLD_MIN, HOLD_MAX]. */
static unsigned runs_in(double seconds, double per_run)
{
    double runs = seconds / per_run;
    return runs < HOLD_MIN ? HOLD_MIN : runs > HOLD_MAX ? HOLD_MAX : (unsigned)runs;
}

/* The end of a comparison: the faster way holds, for longer when it is the way that held
 * before. The ways are compared by their median runs, so that one run that lost its core to
 * a passing program (a time slice: milliseconds, beside runs of tens of microseconds) does
 * not decide. The threads must be 10% faster to be chosen: when programs compete for the
 * cores, their runs vary far more than runs alone, and a lucky comparison costs more than
 * one that keeps a small gain from them. */
static void decide(site *s, bool far)
{
    size_t pairs = s->compared / 2;
    double med_par = far ? 0.0 : median(s->par, pairs), med_alone = median(s->solo, pairs);
    bool alone = far || !(med_par < 0.9 * med_alone);
    s->mean_alone = far ? s->t_alone / (double)((s->compared + 1) / 2) : med_alone;
    unsigned hold = alone == s->alone && s->hold ? 2 * s->hold : HOLD_MIN;
    /* seconds a run of the way chosen takes: the hold's length in time */
    double per_run = alone ? s->mean_alone : med_par;
    if (hold > HOLD_MAX)
        hold = HOLD_MAX;
    if (per_run > 0.0 && hold > HOLD_MIN && (double)hold * per_run > HOLD_SECONDS)
        hold = runs_in(HOLD_SECONDS, per_run);
    if (far) { /* strong evidence: no need to look again soon */
        if (hold < FAR_HOLD)
            hold = FAR_HOLD;
        if (per_run > 0.0 && (double)hold * per_run < FAR_SECONDS)
            hold = runs_in(FAR_SECONDS, per_run);
    }
    s->alone = alone;
    s->hold = s->left = hold;
    s->compared = s->strikes = 0;
    s->t_alone = 0.0;
}

/* What a run of a site is for: the warm-up, the choice that holds (watched when it is the
 * threads), or a comparison. */
typedef enum { RUN_UNTIMED, RUN_WATCHED, RUN_COMPARED } run_kind;

/* Whether this run of site s goes to the caller alone, and what the run is for. */
static bool choose(site *s, run_kind *kind)
{
    *kind = RUN_UNTIMED;
    if (s->warm < WARMUP)
        return s->warm++ % 2 == 0; /* both ways, alone first */
    if (s->compared == 0 && s->left > 0) {
        s->left--;
        *kind = s->alone ? RUN_UNTIMED : RUN_WATCHED;
        return s->alone;
    }
    *kind = RUN_COMPARED; /* alone on even runs, threads on odd ones */
    return s->compared % 2 == 0;
}

/* A run on the threads; true when a worker had to be woken for it. */
static bool run_threads(mlp_pool *pool, size_t n_use, mlp_pool_fn fn, void *ctx)
{
    size_t n = mlp_pool_size(pool);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_use = n_use;
    atomic_store(&pool->done, 0);
    bool woke = publish(pool); /* the seq_cst increment orders the stores above before it */
    fn(ctx, 0, n_use);
    /* Every worker checks in, even those with no part, so the next run cannot overtake a
     * worker still reading this one's fields. */
    for (unsigned spins = 0; atomic_load(&pool->done) != n - 1; spins++)
        poll_pause(spins);
    return woke;
}

void mlp_pool_run(mlp_pool *pool, uint64_t key, size_t n_use, mlp_pool_fn fn, void *ctx)
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
     * epoch alone, 5.8 s on two threads beside another training run). So each site compares
     * the two ways now and then and keeps to the faster. Alone, the caller runs the whole job
     * as one part, as it does without a pool: a job gives the same results for any number
     * of parts, and one part saves the calls and set-up of several (running both halves of
     * config A's products one after the other cost it about 10% against --threads 1). */
    site *s = find_site(pool, key);
    run_kind kind;
    bool alone = choose(s, &kind), woke = false;
    double t0 = kind != RUN_UNTIMED ? pool->now(pool->now_ctx) : 0.0;
    if (alone) {
        fn(ctx, 0, 1);
        pool->runs_alone++;
    } else {
        woke = run_threads(pool, n_use, fn, ctx);
        pool->runs_par++;
    }
    /* A run that had to wake a worker timed the wake-up (in a virtual machine, the host
     * scheduling the idle core again: up to hundreds of microseconds), not the threads: it
     * does not count, and the next run of the site takes its place. Counted, it made a
     * site that had held the caller alone long enough for the worker to fall asleep find
     * the threads far slower at every check, and stay alone for good. */
    if (kind == RUN_UNTIMED || woke)
        return;
    double dt = pool->now(pool->now_ctx) - t0;
    if (kind == RUN_WATCHED) { /* the threads, held: far slower means the load changed */
        if (dt > BAIL * s->mean_alone)
            s->left = 0, s->hold = 0; /* compare again at once, and hold briefly */
        return;
    }
    *(alone ? &s->solo[s->compared / 2] : &s->par[s->compared / 2]) = dt;
    if (alone)
        s->t_alone += dt;
    s->compared++;
    unsigned alone_runs = (s->compared + 1) / 2;
    if (!alone && dt > BAIL * s->t_alone / alone_runs && ++s->strikes == 2) {
        decide(s, true); /* far slower twice: alone, without waiting for the rest */
    } else if (s->compared == 2 * PAIRS) {
        decide(s, false);
    }
}

void mlp_pool_run_threads(mlp_pool *pool, size_t n_use, mlp_pool_fn fn, void *ctx)
{
    size_t n = mlp_pool_size(pool);
    if (n_use == 0 || n_use > n)
        n_use = n;
    if (n_use == 1)
        fn(ctx, 0, 1);
    else
        run_threads(pool, n_use, fn, ctx);
}

void mlp_pool_set_clock(mlp_pool *pool, double (*now)(void *ctx), void *ctx)
{
    pool->now = now ? now : wall_clock;
    pool->now_ctx = now ? ctx : NULL;
}

void mlp_pool_counts(const mlp_pool *pool, uint64_t *threads, uint64_t *alone)
{
    *threads = pool ? pool->runs_par : 0;
    *alone = pool ? pool->runs_alone : 0;
}

size_t mlp_pool_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}
