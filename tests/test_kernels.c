/*
 * kernels: every implementation against the reference triple loops on many shapes, awkward
 * ones included; results bit-for-bit identical whatever the thread count; ranges that write
 * only their own columns; the thread pool itself.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const size_t Bs[] = {1, 3, 7, 10, 17};
static const size_t ins[] = {1, 3, 16, 17, 783, 785};
static const size_t outs[] = {1, 3, 10, 16, 17, 33};
#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    size_t B, in, out;
    float *x, *W, *b, *dy, *a, *y, *dW, *db, *dx;
    const float **rows;
} problem;

static float *rnd(size_t n, uint64_t *r, float lo, float hi)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * mlp_rng_uniform(r);
    return p;
}

static problem make(size_t B, size_t in, size_t out, uint64_t seed)
{
    uint64_t r = seed;
    problem p = {.B = B, .in = in, .out = out};
    p.x = rnd(B * in, &r, -1, 1);
    p.W = rnd(out * in, &r, -0.5f, 0.5f);
    p.b = rnd(out, &r, -1, 1);
    p.dy = rnd(B * out, &r, -1, 1);
    p.a = rnd(B * in, &r, 0.01f, 0.99f); /* activations: valid for every slope */
    p.y = rnd(B * out, &r, 0, 0);
    p.dW = rnd(out * in, &r, 0, 0);
    p.db = rnd(out, &r, 0, 0);
    p.dx = rnd(B * in, &r, 0, 0);
    p.rows = malloc(B * sizeof *p.rows);
    for (size_t i = 0; i < B; i++)
        p.rows[i] = p.x + i * in;
    return p;
}

static void drop(problem *p)
{
    free(p->x);
    free(p->W);
    free(p->b);
    free(p->dy);
    free(p->a);
    free(p->y);
    free(p->dW);
    free(p->db);
    free(p->dx);
    free(p->rows);
}

/* |got - want| <= tol * (scale + 1) elementwise, where scale is the size of the sum's terms */
static void close_to(const char *what, const mlp_kernels *k, const problem *p, const float *got,
                     const float *want, const float *scale, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]), lim = tol * ((scale ? scale[i] : 0) + 1);
        if (!(e <= lim)) {
            print_error("%s %s B=%zu in=%zu out=%zu: element %zu is %.9g, reference %.9g\n",
                        k->name, what, p->B, p->in, p->out, i, got[i], want[i]);
            fail();
        }
    }
}

static const mlp_kact acts[] = {MLP_KACT_NONE, MLP_KACT_SIGMOID, MLP_KACT_TANH, MLP_KACT_RELU};

static void compare(const mlp_kernels *k, size_t B, size_t in, size_t out)
{
    problem p = make(B, in, out, B * 1000003 + in * 1009 + out);
    const mlp_kernels *ref = &mlp_kernels_ref;
    float *want_y = malloc(B * out * 4), *want_dW = malloc(out * in * 4),
          *want_db = malloc(out * 4);
    float *want_dx = malloc(B * in * 4), *scale_y = malloc(B * out * 4);
    float *scale_dW = malloc(out * in * 4), *scale_dx = malloc(B * in * 4);
    /* sizes of the terms each output sums: the rounding error scales with them */
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < out; j++) {
            float s = fabsf(p.b[j]);
            for (size_t q = 0; q < in; q++)
                s += fabsf(p.x[i * in + q] * p.W[j * in + q]);
            scale_y[i * out + j] = s;
        }
    for (size_t j = 0; j < out; j++)
        for (size_t q = 0; q < in; q++) {
            float s = 0;
            for (size_t i = 0; i < B; i++)
                s += fabsf(p.dy[i * out + j] * p.x[i * in + q]);
            scale_dW[j * in + q] = s;
        }
    for (size_t i = 0; i < B; i++)
        for (size_t q = 0; q < in; q++) {
            float s = 0;
            for (size_t j = 0; j < out; j++)
                s += fabsf(p.dy[i * out + j] * p.W[j * in + q]);
            scale_dx[i * in + q] = s;
        }

    for (size_t a = 0; a < N(acts); a++) {
        ref->forward(want_y, p.rows, p.W, p.b, B, in, out, acts[a], 0, out);
        k->forward(p.y, p.rows, p.W, p.b, B, in, out, acts[a], 0, out);
        /* activations have slope <= 1, so the sum's error bound carries over */
        close_to("forward", k, &p, p.y, want_y, scale_y, B * out, 2e-6);
        ref->backward_x(want_dx, p.dy, p.W, p.a, B, in, out, acts[a], 0, in);
        k->backward_x(p.dx, p.dy, p.W, p.a, B, in, out, acts[a], 0, in);
        close_to("backward_x", k, &p, p.dx, want_dx, scale_dx, B * in, 2e-6);
    }
    ref->backward_w(want_dW, want_db, p.dy, p.rows, B, in, out, 0, out);
    k->backward_w(p.dW, p.db, p.dy, p.rows, B, in, out, 0, out);
    close_to("backward_w", k, &p, p.dW, want_dW, scale_dW, out * in, 2e-6);
    close_to("backward_w db", k, &p, p.db, want_db, NULL, out, 2e-6 * (double)B);

    free(want_y);
    free(want_dW);
    free(want_db);
    free(want_dx);
    free(scale_y);
    free(scale_dW);
    free(scale_dx);
    drop(&p);
}

static void test_every_kernel_matches_reference(void **state)
{
    (void)state;
    size_t tested = 0;
    for (const char *const *name = mlp_kernels_available(); *name; name++) {
        const mlp_kernels *k = mlp_kernels_get(*name);
        assert_non_null(k);
        for (size_t b = 0; b < N(Bs); b++)
            for (size_t i = 0; i < N(ins); i++)
                for (size_t o = 0; o < N(outs); o++)
                    compare(k, Bs[b], ins[i], outs[o]);
        tested++;
    }
    assert_true(tested >= 2); /* ref and portable everywhere, SIMD where the CPU has it */
}

static void test_step_matches_reference(void **state)
{
    (void)state;
    for (const char *const *name = mlp_kernels_available(); *name; name++) {
        const mlp_kernels *k = mlp_kernels_get(*name);
        for (size_t n = 1; n < 70; n += 3) {
            uint64_t r = n;
            float *w = rnd(n, &r, -1, 1), *g = rnd(n, &r, -1, 1), *v = rnd(n, &r, -1, 1);
            float *w2 = malloc(n * 4), *v2 = malloc(n * 4), *w3 = malloc(n * 4);
            memcpy(w2, w, n * 4);
            memcpy(v2, v, n * 4);
            memcpy(w3, w, n * 4);
            const mlp_step mom = {.lr = 0.1f, .l2 = 0.01f, .mu = 0.9f, .nesterov = (n % 2) == 1};
            /* Nesterov half of the time */
            mlp_kernels_ref.step(w, v, g, n, &mom);
            k->step(w2, v2, g, n, &mom);
            problem dummy = {.B = 1, .in = n, .out = 1};
            close_to("step w", k, &dummy, w2, w, NULL, n, 1e-6);
            close_to("step v", k, &dummy, v2, v, NULL, n, 1e-6);
            /* without a velocity: w -= lr * (g + l2 w) exactly as the reference */
            memcpy(w, w3, n * 4);
            const mlp_step plain = {.lr = 0.1f, .l2 = 0.01f};
            mlp_kernels_ref.step(w, NULL, g, n, &plain);
            k->step(w3, NULL, g, n, &plain);
            close_to("step", k, &dummy, w3, w, NULL, n, 1e-6);
            free(w);
            free(g);
            free(v);
            free(w2);
            free(v2);
            free(w3);
        }
    }
}

/* Adam and AdamW: every kernel set against the reference on lengths that are no multiple of
 * any vector width, a few steps in a row (with the moments carried), within 1e-6 relative. */
static void test_adam_step_matches_reference(void **state)
{
    (void)state;
    for (const char *const *name = mlp_kernels_available(); *name; name++) {
        const mlp_kernels *k = mlp_kernels_get(*name);
        for (size_t n = 1; n < 70; n += 3) {
            for (int rule = MLP_STEP_ADAM; rule <= MLP_STEP_ADAMW; rule++) {
                uint64_t r = n * 7 + (uint64_t)rule;
                float *w = rnd(n, &r, -1, 1), *g = rnd(n, &r, -1, 1), *m = rnd(n, &r, -0.1f, 0.1f);
                float *q = rnd(n, &r, 0, 0.01f);
                float *w2 = malloc(n * 4), *m2 = malloc(n * 4), *q2 = malloc(n * 4);
                memcpy(w2, w, n * 4);
                memcpy(m2, m, n * 4);
                memcpy(q2, q, n * 4);
                float moved = 0.0f, *w0 = malloc(n * 4);
                memcpy(w0, w, n * 4);
                mlp_step st = {.lr = 0.01f,
                               .l2 = rule == MLP_STEP_ADAM ? 0.01f : 0.0f,
                               .rule = (mlp_step_rule)rule,
                               .beta1 = 0.9f,
                               .beta2 = 0.999f,
                               .eps = 1e-8f,
                               .decay = rule == MLP_STEP_ADAMW ? 0.999f : 1.0f};
                for (int t = 1; t <= 3; t++) {
                    st.step = (float)(0.01 / (1.0 - pow(0.9, t)));
                    st.bc2 = (float)sqrt(1.0 - pow(0.999, t));
                    mlp_kernels_ref.adam(w, m, q, g, n, &st);
                    k->adam(w2, m2, q2, g, n, &st);
                }
                problem dummy = {.B = 1, .in = n, .out = 1};
                close_to("adam w", k, &dummy, w2, w, NULL, n, 1e-6); /* |w| ~ 1 */
                close_to("adam m", k, &dummy, m2, m, NULL, n, 1e-7); /* |m| ~ 0.1 */
                close_to("adam v", k, &dummy, q2, q, NULL, n, 1e-9); /* v ~ 0.01 */
                for (size_t i = 0; i < n; i++)
                    moved = fmaxf(moved, fabsf(w[i] - w0[i]));
                assert_true(moved > 1e-3f); /* not a step that does nothing */
                free(w0);
                free(w);
                free(g);
                free(m);
                free(q);
                free(w2);
                free(m2);
                free(q2);
            }
        }
    }
}

static void test_max_norm_clips_long_rows_only(void **state)
{
    (void)state;
    for (const char *const *name = mlp_kernels_available(); *name; name++) {
        const mlp_kernels *k = mlp_kernels_get(*name);
        /* rows of 37: row 0 has length 2 (clipped to 1), row 1 length 0.5 (kept) */
        float w[2 * 37] = {0};
        for (int c = 0; c < 37; c++) {
            w[c] = 2.0f / sqrtf(37.0f);
            w[37 + c] = (c % 2 ? 0.5f : -0.5f) / sqrtf(37.0f);
        }
        float keep[37];
        memcpy(keep, w + 37, sizeof keep);
        k->clip_rows(w, 2, 37, 1.0f);
        double len = 0;
        for (int c = 0; c < 37; c++)
            len += (double)w[c] * w[c];
        assert_true(fabs(sqrt(len) - 1.0) < 1e-5);
        assert_true(fabsf(w[5] - 1.0f / sqrtf(37.0f)) < 1e-6f); /* direction kept */
        assert_memory_equal(w + 37, keep, sizeof keep);
    }
}

/* A range writes its own columns and nothing else. */
static void test_ranges_write_only_their_columns(void **state)
{
    (void)state;
    for (const char *const *name = mlp_kernels_available(); *name; name++) {
        const mlp_kernels *k = mlp_kernels_get(*name);
        problem p = make(5, 37, 35, 3);
        const size_t c0 = 16, c1 = 32;
        for (size_t i = 0; i < 5 * 35; i++)
            p.y[i] = NAN;
        k->forward(p.y, p.rows, p.W, p.b, 5, 37, 35, MLP_KACT_TANH, c0, c1);
        for (size_t i = 0; i < 5; i++)
            for (size_t j = 0; j < 35; j++)
                assert_true(isnan(p.y[i * 35 + j]) == (j < c0 || j >= c1));
        for (size_t i = 0; i < 35 * 37; i++)
            p.dW[i] = NAN;
        for (size_t j = 0; j < 35; j++)
            p.db[j] = NAN;
        k->backward_w(p.dW, p.db, p.dy, p.rows, 5, 37, 35, c0, c1);
        for (size_t j = 0; j < 35; j++) {
            assert_true(isnan(p.db[j]) == (j < c0 || j >= c1));
            for (size_t q = 0; q < 37; q++)
                assert_true(isnan(p.dW[j * 37 + q]) == (j < c0 || j >= c1));
        }
        for (size_t i = 0; i < 5 * 37; i++)
            p.dx[i] = NAN;
        k->backward_x(p.dx, p.dy, p.W, p.a, 5, 37, 35, MLP_KACT_SIGMOID, c0, c1);
        for (size_t i = 0; i < 5; i++)
            for (size_t q = 0; q < 37; q++)
                assert_true(isnan(p.dx[i * 37 + q]) == (q < c0 || q >= c1));
        drop(&p);
    }
}

/* Split over 1, 2 and 3 threads, every product gives the same bits. */
static void test_thread_count_does_not_change_a_bit(void **state)
{
    (void)state;
    mlp_pool *pool;
    mlp_error err;
    assert_int_equal(mlp_pool_create(&pool, 3, &err), MLP_OK);
    const size_t shapes[][3] = {{7, 785, 33}, {10, 784, 100}, {3, 17, 64}, {1, 200, 49}};
    for (const char *const *name = mlp_kernels_available(); *name; name++) {
        const mlp_kernels *k = mlp_kernels_get(*name);
        for (size_t s = 0; s < N(shapes); s++) {
            size_t B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
            problem p[3];
            for (size_t n = 1; n <= 3; n++) {
                problem *q = &p[n - 1];
                *q = make(B, in, out, 7);
                mlp_kernels_forward(k, pool, n, q->y, q->rows, q->W, q->b, B, in, out,
                                    MLP_KACT_SIGMOID);
                mlp_kernels_backward_w(k, pool, n, q->dW, q->db, q->dy, q->rows, B, in, out);
                mlp_kernels_backward_x(k, pool, n, q->dx, q->dy, q->W, q->a, B, in, out,
                                       MLP_KACT_TANH);
                const mlp_step st = {.lr = 0.5f, .l2 = 0.01f, .maxnorm = 0.05f}; /* clips */
                mlp_kernels_step(k, pool, n, q->W, NULL, NULL, q->dW, out, in, &st);
            }
            for (size_t n = 1; n < 3; n++) {
                assert_memory_equal(p[0].y, p[n].y, B * out * sizeof(float));
                assert_memory_equal(p[0].dW, p[n].dW, out * in * sizeof(float));
                assert_memory_equal(p[0].db, p[n].db, out * sizeof(float));
                assert_memory_equal(p[0].dx, p[n].dx, B * in * sizeof(float));
                assert_memory_equal(p[0].W, p[n].W, out * in * sizeof(float));
            }
            for (size_t n = 0; n < 3; n++)
                drop(&p[n]);
        }
    }
    mlp_pool_destroy(pool);
}

typedef struct {
    int hits[8];
    size_t seen_n[8];
} pool_probe;

static void mark(void *ctx, size_t t, size_t n)
{
    pool_probe *p = ctx;
    p->hits[t]++;
    p->seen_n[t] = n;
}

static void test_pool_runs_every_part_once(void **state)
{
    (void)state;
    mlp_pool *pool;
    mlp_error err;
    assert_int_equal(mlp_pool_create(&pool, 4, &err), MLP_OK);
    assert_int_equal(mlp_pool_size(pool), 4);
    for (size_t use = 0; use <= 5; use++) {
        size_t split = 0, wanted = use == 0 || use > 4 ? 4 : use;
        for (int rep = 0; rep < 1000; rep++) {
            pool_probe p = {{0}, {0}};
            mlp_pool_run(pool, use, use, mark, &p);
            /* on the threads, n parts; alone, the whole job as one part */
            size_t n = p.seen_n[0] == 1 ? 1 : wanted;
            split += n > 1;
            for (size_t t = 0; t < 8; t++) {
                assert_int_equal(p.hits[t], t < n ? 1 : 0);
                if (t < n)
                    assert_int_equal(p.seen_n[t], n);
            }
        }
        /* the warm-up runs each site both ways, whatever the choice after it */
        if (wanted > 1)
            assert_true(split >= 2);
    }
    mlp_pool_destroy(pool);
    /* without a pool, the caller runs it alone */
    pool_probe p = {{0}, {0}};
    mlp_pool_run(NULL, 7, 3, mark, &p);
    assert_int_equal(p.hits[0], 1);
    assert_int_equal(p.hits[1], 0);
    assert_int_equal(mlp_pool_create(&pool, 0, &err), MLP_EARG);
    assert_null(pool);
}

/* A clock for the pool's choice that the parts below move: each part says how long it
 * takes, and a run lasts as long as its longest thread's parts. The real parts take no time,
 * so what the choice sees does not depend on how busy the machine running the test is. */
typedef struct {
    double t;                   /* seconds, as read at the last reading */
    double on_caller, on_worker; /* seconds of parts run on each since then */
} fake_clock;

static double read_fake(void *ctx)
{
    fake_clock *c = ctx;
    /* the worker's sums were written before it checked in, which the caller has seen */
    c->t += c->on_caller > c->on_worker ? c->on_caller : c->on_worker;
    c->on_caller = c->on_worker = 0.0;
    return c->t;
}

/* Work of two parts, each taking caller_us on the caller and worker_us on a worker; alone,
 * the caller runs it as one part of twice caller_us. */
typedef struct {
    fake_clock *clock;
    pthread_t caller;
    long caller_us, worker_us;
    long hiccup_us, hiccup_at; /* the worker's part number hiccup_at takes hiccup_us */
    long worker_parts;         /* parts the worker has run */
} sleeper;

static void sleep_part(void *ctx, size_t t, size_t n)
{
    sleeper *s = ctx;
    (void)t;
    /* the job is two parts' work: on the caller alone it is one part of twice the time */
    double share = 2.0 / (double)n;
    if (pthread_equal(pthread_self(), s->caller)) {
        s->clock->on_caller += share * 1e-6 * (double)s->caller_us;
    } else {
        long us = ++s->worker_parts == s->hiccup_at ? s->hiccup_us : s->worker_us;
        s->clock->on_worker += share * 1e-6 * (double)us;
    }
}

/* The pool's choice follows what is faster at each site: parts that take as long anywhere
 * run on the threads (twice as fast); parts that are slow only on a worker run on the caller
 * alone, after a few threaded runs at most. Two sites, two choices, at once. (A run that had
 * to wake a sleeping worker is not counted and is made up by the next, which moves a count by
 * one now and then: hence the ranges.) */
static void test_pool_chooses_the_faster_way(void **state)
{
    (void)state;
    mlp_pool *pool;
    mlp_error err;
    uint64_t par, alone, par0, alone0;
    fake_clock clock = {0};
    assert_int_equal(mlp_pool_create(&pool, 2, &err), MLP_OK);
    mlp_pool_set_clock(pool, read_fake, &clock);
    sleeper fair = {&clock, pthread_self(), 1000, 1000, 0, 0, 0};
    sleeper slow_worker = {&clock, pthread_self(), 100, 3000, 0, 0, 0};
    for (int k = 0; k < 200; k++)
        mlp_pool_run(pool, 1, 2, sleep_part, &fair);
    mlp_pool_counts(pool, &par, &alone);
    assert_int_equal(par + alone, 200);
    /* alone: the warm-up's 2, and 8 in each of two comparisons */
    assert_in_range(alone, 18, 24);
    for (int k = 0; k < 200; k++) {
        mlp_pool_run(pool, 2, 2, sleep_part, &slow_worker);
        mlp_pool_run(pool, 1, 2, sleep_part, &fair);
    }
    par0 = par, alone0 = alone;
    mlp_pool_counts(pool, &par, &alone);
    assert_int_equal(par + alone - par0 - alone0, 400);
    /* of the 400: the fair site's 192 on the threads (8 alone in its third comparison); the
     * slow site's on the caller but for the warm-up's two and the comparison's two, which
     * were far slower than alone and ended it */
    assert_in_range(par - par0, 192 + 4, 192 + 4 + 6);
    mlp_pool_destroy(pool);
}

/* A worker that loses its core once in a comparison (another program passing by; here one
 * part of 30 ms in place of 1 ms) does not send a site whose threads are twice as fast to the
 * caller alone: the comparison goes by medians, and gives up on the threads at the second
 * far slower run, not the first. */
static void test_pool_forgives_one_slow_run(void **state)
{
    (void)state;
    mlp_pool *pool;
    mlp_error err;
    uint64_t par, alone;
    fake_clock clock = {0};
    assert_int_equal(mlp_pool_create(&pool, 2, &err), MLP_OK);
    mlp_pool_set_clock(pool, read_fake, &clock);
    /* the worker's parts: two in the warm-up, then the comparison's; the third is its first
     * in the comparison */
    sleeper hiccup = {&clock, pthread_self(), 1000, 1000, 30000, 3, 0};
    for (int k = 0; k < 200; k++)
        mlp_pool_run(pool, 1, 2, sleep_part, &hiccup);
    mlp_pool_counts(pool, &par, &alone);
    assert_int_equal(par + alone, 200);
    assert_in_range(alone, 18, 24); /* one far hold alone would have been 1,024 runs */
    /* and two such runs do end it: a worker that is always far slower */
    mlp_pool_destroy(pool);
    assert_int_equal(mlp_pool_create(&pool, 2, &err), MLP_OK);
    clock = (fake_clock){0};
    mlp_pool_set_clock(pool, read_fake, &clock);
    sleeper twice = {&clock, pthread_self(), 1000, 30000, 0, 0, 0};
    for (int k = 0; k < 200; k++)
        mlp_pool_run(pool, 1, 2, sleep_part, &twice);
    mlp_pool_counts(pool, &par, &alone);
    assert_in_range(par, 4, 6); /* the warm-up's 2 and the two far slower runs */
    mlp_pool_destroy(pool);
}

static void test_kernel_names(void **state)
{
    (void)state;
    assert_non_null(mlp_kernels_get("auto"));
    assert_ptr_equal(mlp_kernels_get("ref"), &mlp_kernels_ref);
    assert_ptr_equal(mlp_kernels_get("portable"), &mlp_kernels_portable);
    assert_null(mlp_kernels_get("avx9000"));
    for (const char *const *name = mlp_kernels_available(); *name; name++)
        assert_string_equal(mlp_kernels_get(*name)->name, *name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kernel_matches_reference),
        cmocka_unit_test(test_step_matches_reference),
        cmocka_unit_test(test_adam_step_matches_reference),
        cmocka_unit_test(test_max_norm_clips_long_rows_only),
        cmocka_unit_test(test_ranges_write_only_their_columns),
        cmocka_unit_test(test_thread_count_does_not_change_a_bit),
        cmocka_unit_test(test_pool_runs_every_part_once),
        cmocka_unit_test(test_pool_chooses_the_faster_way),
        cmocka_unit_test(test_pool_forgives_one_slow_run),
        cmocka_unit_test(test_kernel_names),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
