/*
 * kernels_simd.h: the layer products written once over a small vector vocabulary, included
 * by kernels_avx2.c (AVX2+FMA, 8 lanes) and kernels_avx512.c (AVX-512, 16 lanes). The
 * includer defines:
 *
 *   V                lanes per vector          vf          the float vector type
 *   SFX(name)        name with the ISA suffix  TARGET      the function attribute
 *   vload vstore vset1 vzero vadd vsub vmul vdiv vsqrt vfma(a,b,c)=a*b+c vmin vmax
 *   vloadn(p,n) vstoren(p,v,n)  first n lanes (the rest read as 0, not written)
 *   vhsum(v)         lane sum in a fixed tree
 *   vround(v)        to the nearest integer    vpow2(v)    2^v for integral v, for exp
 *   vrelu_slope(d,a) d where a > 0, else 0
 *   FWD_IT FWD_JT    forward register tile     BW_JT BW_KV  backward_w tile
 *   BX_IT BX_KV      backward_x tile           BX_JB        backward_x reduction block
 *
 * Determinism: every output element is computed by the same sequence of vector operations
 * wherever it falls (full tile, edge tile, any thread's range): the forward pass sums lane
 * l of x[i] * W[j] over k = l, l+V, ... by FMA, a masked load supplies the tail, and vhsum
 * combines the lanes in one fixed order; the backward products run an FMA chain over the
 * reduction index in order, and a store/reload between reduction blocks does not change a
 * float. Threads are given whole columns, so their number changes nothing.
 */

#define INLINE static inline __attribute__((always_inline))
/* Tile loops have compile-time trip counts in full tiles; unrolled, their accumulators live in
 * registers instead of on the stack. */
#define UNROLL _Pragma("GCC unroll 16")

/* ------------------------------------------------------------------ exp and activations */

/* e^x in the manner of Cephes expf: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6
 * polynomial, 2^n put into the exponent bits; about 2 ulp. Inputs are clamped to
 * [-87, 88] so that 2^n stays a normal float; a NaN stays NaN (the clamps return their
 * second operand when it is NaN). */
TARGET INLINE vf SFX(vexp)(vf x)
{
    x = vmax(vset1(-87.0f), vmin(vset1(88.0f), x));
    vf n = vround(vmul(x, vset1(1.44269504088896341f)));
    x = vsub(x, vmul(n, vset1(0.693359375f)));
    x = vsub(x, vmul(n, vset1(-2.12194440e-4f)));
    vf p = vset1(1.9875691500e-4f);
    p = vfma(p, x, vset1(1.3981999507e-3f));
    p = vfma(p, x, vset1(8.3334519073e-3f));
    p = vfma(p, x, vset1(4.1665795894e-2f));
    p = vfma(p, x, vset1(1.6666665459e-1f));
    p = vfma(p, x, vset1(5.0000001201e-1f));
    p = vfma(p, vmul(x, x), vadd(x, vset1(1.0f)));
    return vmul(p, vpow2(n));
}

TARGET INLINE vf SFX(vact)(vf z, mlp_kact act)
{
    const vf one = vset1(1.0f);
    switch (act) {
    case MLP_KACT_SIGMOID:
        return vdiv(one, vadd(one, SFX(vexp)(vsub(vzero(), z))));
    case MLP_KACT_TANH: /* 2 sigmoid(2z) - 1 */
        return vsub(vdiv(vset1(2.0f), vadd(one, SFX(vexp)(vmul(z, vset1(-2.0f))))), one);
    case MLP_KACT_RELU:
        return vmax(vzero(), z);
    case MLP_KACT_NONE:
        break;
    }
    return z;
}

TARGET INLINE vf SFX(vslope)(vf d, vf a, mlp_kact act)
{
    const vf one = vset1(1.0f);
    switch (act) {
    case MLP_KACT_SIGMOID:
        return vmul(d, vmul(a, vsub(one, a)));
    case MLP_KACT_TANH:
        return vmul(d, vsub(one, vmul(a, a)));
    case MLP_KACT_RELU:
        return vrelu_slope(d, a);
    case MLP_KACT_NONE:
        break;
    }
    return d;
}

/* The vector at p with n valid lanes: all V, or the first n (the rest read as 0, not written) */
TARGET INLINE vf SFX(load_part)(const float *p, size_t n)
{
    return n == V ? vload(p) : vloadn(p, n);
}

TARGET INLINE void SFX(store_part)(float *p, vf v, size_t n)
{
    if (n == V)
        vstore(p, v);
    else
        vstoren(p, v, n);
}

/* ------------------------------------------------------------------ forward */

/* Rows of the tile that starts at row i of B: FWD_IT, fewer at the edge, 0 past the end. */
TARGET INLINE size_t SFX(rows_after)(size_t i, size_t B)
{
    return i >= B ? 0 : B - i < FWD_IT ? B - i : FWD_IT;
}

/* y[i+ii][j+jj] = sum_k x[i+ii][k] W[j+jj][k] for ii < it, jj < jt (it <= FWD_IT, jt <= FWD_JT).
 * The loops always run over a whole FWD_IT x FWD_JT tile, so that the accumulators live in
 * registers: an edge tile repeats its last row of x and of W to fill the tile and stores
 * only its own it x jt results. Meanwhile the cache lines of the next `ahead` rows of x
 * (rows i+it on) are requested, so that they arrive while this tile computes. */
TARGET INLINE void SFX(fwd_tile)(float *y, const float *const *x, const float *W, size_t in,
                                 size_t out, size_t i, size_t j, size_t it, size_t jt,
                                 size_t ahead)
{
    vf acc[FWD_IT][FWD_JT];
    const float *xr[FWD_IT], *wr[FWD_JT];
    UNROLL
    for (size_t a = 0; a < FWD_IT; a++) {
        xr[a] = x[i + (a < it ? a : it - 1)];
        UNROLL
        for (size_t c = 0; c < FWD_JT; c++)
            acc[a][c] = vzero();
    }
    UNROLL
    for (size_t c = 0; c < FWD_JT; c++)
        wr[c] = W + (j + (c < jt ? c : jt - 1)) * in;
    size_t k = 0;
    for (; k + V <= in; k += V) {
        vf wv[FWD_JT];
        if (ahead && k % (64 / sizeof(float)) == 0) /* a 64-byte line */
            for (size_t a = 0; a < ahead; a++)
                __builtin_prefetch(x[i + it + a] + k);
        UNROLL
        for (size_t c = 0; c < FWD_JT; c++)
            wv[c] = vload(wr[c] + k);
        UNROLL
        for (size_t a = 0; a < FWD_IT; a++) {
            vf xv = vload(xr[a] + k);
            UNROLL
            for (size_t c = 0; c < FWD_JT; c++)
                acc[a][c] = vfma(xv, wv[c], acc[a][c]);
        }
    }
    if (k < in) {
        size_t n = in - k;
        vf wv[FWD_JT];
        UNROLL
        for (size_t c = 0; c < FWD_JT; c++)
            wv[c] = vloadn(wr[c] + k, n);
        UNROLL
        for (size_t a = 0; a < FWD_IT; a++) {
            vf xv = vloadn(xr[a] + k, n);
            UNROLL
            for (size_t c = 0; c < FWD_JT; c++)
                acc[a][c] = vfma(xv, wv[c], acc[a][c]);
        }
    }
    UNROLL
    for (size_t a = 0; a < FWD_IT; a++) {
        UNROLL
        for (size_t c = 0; c < FWD_JT; c++)
            if (a < it && c < jt)
                y[(i + a) * out + j + c] = vhsum(acc[a][c]);
    }
}

TARGET static void SFX(forward)(float *y, const float *const *x, const float *W, const float *b,
                                size_t B, size_t in, size_t out, mlp_kact act, size_t j0, size_t j1)
{
    /* W's rows for one column tile stay in L1 while every row of x streams past them. The
     * first column tile meets each row of x first: a training batch's rows are images
     * scattered through the set, likely still in memory, so that tile fetches the next
     * tile's rows as it goes (config A's forward pass took a third less time). */
    for (size_t j = j0; j < j1; j += FWD_JT) {
        size_t jt = j1 - j < FWD_JT ? j1 - j : FWD_JT;
        size_t i = 0;
        const bool first = j == j0;
        if (jt == FWD_JT)
            for (; i + FWD_IT <= B; i += FWD_IT)
                SFX(fwd_tile)(y, x, W, in, out, i, j, FWD_IT, FWD_JT,
                              first ? SFX(rows_after)(i + FWD_IT, B) : 0);
        for (; i < B; i += FWD_IT) {
            size_t it = SFX(rows_after)(i, B);
            SFX(fwd_tile)(y, x, W, in, out, i, j, it, jt, first ? SFX(rows_after)(i + it, B) : 0);
        }
    }
    /* Bias and activation over this thread's columns while they are still in cache. */
    size_t n = j1 - j0;
    for (size_t i = 0; i < B; i++) {
        float *r = y + i * out + j0;
        const float *bb = b + j0;
        for (size_t c = 0; c < n; c += V) {
            size_t m = n - c < V ? n - c : V;
            vf z = vadd(SFX(load_part)(r + c, m), SFX(load_part)(bb + c, m));
            SFX(store_part)(r + c, SFX(vact)(z, act), m);
        }
    }
}

/* ------------------------------------------------------------------ backward: weights */

/* dW[j+jj][k..] = sum_i dy[i][j+jj] x[i][k..] for jj < jt, over kv vectors from column k; the
 * last vector holds `last` valid lanes (V when full). As in fwd_tile the loops run over a
 * whole BW_JT x BW_KV tile: an edge tile repeats its last column of dy and its last vector of
 * x, and stores only its own. */
TARGET INLINE void SFX(bw_tile)(float *dW, const float *dy, const float *const *x, size_t B,
                                size_t in, size_t out, size_t j, size_t k, size_t jt, size_t kv,
                                size_t last)
{
    vf acc[BW_JT][BW_KV];
    size_t col[BW_JT], off[BW_KV], lanes[BW_KV];
    UNROLL
    for (size_t c = 0; c < BW_JT; c++) {
        col[c] = j + (c < jt ? c : jt - 1);
        UNROLL
        for (size_t v = 0; v < BW_KV; v++)
            acc[c][v] = vzero();
    }
    UNROLL
    for (size_t v = 0; v < BW_KV; v++) {
        off[v] = k + (v < kv ? v : kv - 1) * V;
        lanes[v] = v + 1 < kv ? V : last;
    }
    for (size_t i = 0; i < B; i++) {
        vf xv[BW_KV];
        UNROLL
        for (size_t v = 0; v < BW_KV; v++)
            xv[v] = SFX(load_part)(x[i] + off[v], lanes[v]);
        UNROLL
        for (size_t c = 0; c < BW_JT; c++) {
            vf g = vset1(dy[i * out + col[c]]);
            UNROLL
            for (size_t v = 0; v < BW_KV; v++)
                acc[c][v] = vfma(g, xv[v], acc[c][v]);
        }
    }
    UNROLL
    for (size_t c = 0; c < BW_JT; c++) {
        float *d = dW + (j + c) * in;
        UNROLL
        for (size_t v = 0; v < BW_KV; v++)
            if (c < jt && v < kv)
                SFX(store_part)(d + off[v], acc[c][v], lanes[v]);
    }
}

TARGET static void SFX(backward_w)(float *dW, float *db, const float *dy, const float *const *x,
                                   size_t B, size_t in, size_t out, size_t j0, size_t j1)
{
    /* A panel of x (B rows, BW_KV vectors wide) stays in L1 while every row of dW in this
     * thread's range uses it. */
    for (size_t k = 0; k < in; k += BW_KV * V) {
        size_t width = in - k < BW_KV * V ? in - k : BW_KV * V;
        size_t kv = (width + V - 1) / V, last = width - (kv - 1) * V;
        size_t j = j0;
        if (kv == BW_KV && last == V)
            for (; j + BW_JT <= j1; j += BW_JT)
                SFX(bw_tile)(dW, dy, x, B, in, out, j, k, BW_JT, BW_KV, V);
        for (; j < j1; j += BW_JT)
            SFX(bw_tile)(dW, dy, x, B, in, out, j, k, j1 - j < BW_JT ? j1 - j : BW_JT, kv, last);
    }
    /* db = sum of dy's rows, one add chain per column in row order */
    size_t n = j1 - j0, c = 0;
    for (; c + V <= n; c += V) {
        vf s = vzero();
        for (size_t i = 0; i < B; i++)
            s = vadd(s, vload(dy + i * out + j0 + c));
        vstore(db + j0 + c, s);
    }
    if (c < n) {
        vf s = vzero();
        for (size_t i = 0; i < B; i++)
            s = vadd(s, vloadn(dy + i * out + j0 + c, n - c));
        vstoren(db + j0 + c, s, n - c);
    }
}

/* ------------------------------------------------------------------ backward: inputs */

/* dx[i+ii][k..] (+)= sum_{j in [j0, j1)} dy[i+ii][j] W[j][k..] for ii < it, over kv vectors
 * from column k, the last with `last` valid lanes; `first` starts from zero, otherwise from
 * what the previous block stored; `final` applies the activation slope. As in fwd_tile the
 * loops run over a whole BX_IT x BX_KV tile: an edge tile repeats its last row and its last
 * vector, and stores only its own. */
TARGET INLINE void SFX(bx_tile)(float *dx, const float *dy, const float *W, const float *a,
                                size_t in, size_t out, size_t i, size_t k, size_t it, size_t kv,
                                size_t last, size_t j0, size_t j1, bool first, bool final,
                                mlp_kact act)
{
    vf acc[BX_IT][BX_KV];
    size_t row[BX_IT], off[BX_KV], lanes[BX_KV];
    UNROLL
    for (size_t v = 0; v < BX_KV; v++) {
        off[v] = k + (v < kv ? v : kv - 1) * V;
        lanes[v] = v + 1 < kv ? V : last;
    }
    UNROLL
    for (size_t r = 0; r < BX_IT; r++) {
        row[r] = i + (r < it ? r : it - 1);
        UNROLL
        for (size_t v = 0; v < BX_KV; v++)
            acc[r][v] = first ? vzero() : SFX(load_part)(dx + row[r] * in + off[v], lanes[v]);
    }
    for (size_t j = j0; j < j1; j++) {
        const float *wr = W + j * in;
        vf wv[BX_KV];
        UNROLL
        for (size_t v = 0; v < BX_KV; v++)
            wv[v] = SFX(load_part)(wr + off[v], lanes[v]);
        UNROLL
        for (size_t r = 0; r < BX_IT; r++) {
            vf g = vset1(dy[row[r] * out + j]);
            UNROLL
            for (size_t v = 0; v < BX_KV; v++)
                acc[r][v] = vfma(g, wv[v], acc[r][v]);
        }
    }
    UNROLL
    for (size_t r = 0; r < BX_IT; r++) {
        UNROLL
        for (size_t v = 0; v < BX_KV; v++) {
            if (r >= it || v >= kv)
                continue;
            vf s = acc[r][v];
            if (final && act != MLP_KACT_NONE)
                s = SFX(vslope)(s, SFX(load_part)(a + row[r] * in + off[v], lanes[v]), act);
            SFX(store_part)(dx + row[r] * in + off[v], s, lanes[v]);
        }
    }
}

/* Every row of the batch over columns [k, k + width) of dx, width = (kv - 1) * V + last, and
 * rows [j0, j1) of W: full tiles with constant sizes (inlined, in registers), then the rest.
 * Written here rather than in the caller's loops so that each call fits on one line, which
 * clang-format otherwise splits after SFX(bx_tile). */
TARGET INLINE void SFX(bx_block)(float *dx, const float *dy, const float *W, const float *a,
                                 size_t B, size_t in, size_t out, size_t k, size_t kv, size_t last,
                                 size_t j0, size_t j1, mlp_kact act)
{
    const bool first = j0 == 0, final = j1 == out;
    size_t i = 0;
    if (kv == BX_KV && last == V)
        for (; i + BX_IT <= B; i += BX_IT)
            SFX(bx_tile)(dx, dy, W, a, in, out, i, k, BX_IT, BX_KV, V, j0, j1, first, final, act);
    for (; i < B; i += BX_IT) {
        size_t it = B - i < BX_IT ? B - i : BX_IT;
        SFX(bx_tile)(dx, dy, W, a, in, out, i, k, it, kv, last, j0, j1, first, final, act);
    }
}

TARGET static void SFX(backward_x)(float *dx, const float *dy, const float *W, const float *a,
                                   size_t B, size_t in, size_t out, mlp_kact act, size_t k0,
                                   size_t k1)
{
    /* Blocks of BX_JB rows of W, BX_KV vectors wide, stay in L1 while every row of the batch
     * uses them; the partial sums wait in dx between blocks. */
    for (size_t k = k0; k < k1; k += BX_KV * V) {
        size_t width = k1 - k < BX_KV * V ? k1 - k : BX_KV * V;
        size_t kv = (width + V - 1) / V, last = width - (kv - 1) * V;
        for (size_t j0 = 0; j0 < out; j0 += BX_JB) {
            size_t j1 = out - j0 < BX_JB ? out : j0 + BX_JB;
            SFX(bx_block)(dx, dy, W, a, B, in, out, k, kv, last, j0, j1, act);
        }
    }
}

/* ------------------------------------------------------------------ the update */

/* The step of mlp_step on the vector at w with n valid lanes (V when full). */
TARGET INLINE void SFX(step_vec)(float *w, float *v, const float *g, size_t n, vf vlr, vf vl2,
                                 vf vmu, bool nesterov)
{
    vf wv = SFX(load_part)(w, n);
    vf u = vfma(vl2, wv, SFX(load_part)(g, n));
    if (v) {
        vf vel = vfma(vmu, SFX(load_part)(v, n), u);
        SFX(store_part)(v, vel, n);
        u = nesterov ? vfma(vmu, vel, u) : vel;
    }
    SFX(store_part)(w, vsub(wv, vmul(vlr, u)), n);
}

TARGET static void SFX(step)(float *w, float *v, const float *g, size_t n, const mlp_step *s)
{
    const vf vlr = vset1(s->lr), vl2 = vset1(s->l2), vmu = vset1(s->mu);
    size_t i = 0;
    for (; i + V <= n; i += V)
        SFX(step_vec)(w + i, v ? v + i : NULL, g + i, V, vlr, vl2, vmu, s->nesterov);
    if (i < n)
        SFX(step_vec)(w + i, v ? v + i : NULL, g + i, n - i, vlr, vl2, vmu, s->nesterov);
}

/* Adam and AdamW on the vector at w with n valid lanes: the operations of ref_adam, lane by
 * lane (the products and sums are not fused, so the lanes round as the scalar code does) */
TARGET INLINE void SFX(adam_vec)(float *w, float *v, float *v2, const float *g, size_t n,
                                 const mlp_step *s)
{
    const vf b1 = vset1(s->beta1), b2 = vset1(s->beta2);
    const vf c1 = vset1(1.0f - s->beta1), c2 = vset1(1.0f - s->beta2);
    vf wv = SFX(load_part)(w, n);
    if (s->rule == MLP_STEP_ADAMW)
        wv = vmul(wv, vset1(s->decay));
    vf u = vadd(SFX(load_part)(g, n), vmul(vset1(s->l2), wv));
    vf m = vadd(vmul(b1, SFX(load_part)(v, n)), vmul(c1, u));
    vf q = vadd(vmul(b2, SFX(load_part)(v2, n)), vmul(vmul(c2, u), u));
    vf den = vadd(vdiv(vsqrt(q), vset1(s->bc2)), vset1(s->eps));
    SFX(store_part)(v, m, n);
    SFX(store_part)(v2, q, n);
    SFX(store_part)(w, vsub(wv, vdiv(vmul(vset1(s->step), m), den)), n);
}

TARGET static void SFX(adam)(float *w, float *v, float *v2, const float *g, size_t n,
                             const mlp_step *s)
{
    size_t i = 0;
    for (; i + V <= n; i += V)
        SFX(adam_vec)(w + i, v + i, v2 + i, g + i, V, s);
    if (i < n)
        SFX(adam_vec)(w + i, v + i, v2 + i, g + i, n - i, s);
}

/* Rows of w (rows, cols) longer than maxnorm scaled back to length maxnorm. */
TARGET static void SFX(clip_rows)(float *w, size_t rows, size_t cols, float maxnorm)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = w + r * cols;
        vf acc = vzero();
        for (size_t c = 0; c < cols; c += V) {
            vf x = SFX(load_part)(row + c, cols - c < V ? cols - c : V);
            acc = vfma(x, x, acc);
        }
        float ss = vhsum(acc);
        if (ss > maxnorm * maxnorm) {
            vf scale = vset1(maxnorm / sqrtf(ss));
            for (size_t c = 0; c < cols; c += V) {
                size_t m = cols - c < V ? cols - c : V;
                SFX(store_part)(row + c, vmul(SFX(load_part)(row + c, m), scale), m);
            }
        }
    }
}

/* ------------------------------------------------------------------ peak probe */

/* Twelve independent FMA chains: enough to cover the latency of two FMA pipes, few enough
 * that they and the two constants stay in registers (16 ymm with AVX2). Written out, not as
 * an array, so no accumulator can end up on the stack. */
TARGET static double SFX(probe)(size_t iters)
{
    const vf m = vset1(0.999f), c = vset1(0.001f);
    vf a0 = vset1(1), a1 = vset1(2), a2 = vset1(3), a3 = vset1(4), a4 = vset1(5), a5 = vset1(6);
    vf a6 = vset1(7), a7 = vset1(8), a8 = vset1(9), a9 = vset1(10), a10 = vset1(11);
    vf a11 = vset1(12);
    for (size_t n = 0; n < iters; n++) {
        a0 = vfma(a0, m, c);
        a1 = vfma(a1, m, c);
        a2 = vfma(a2, m, c);
        a3 = vfma(a3, m, c);
        a4 = vfma(a4, m, c);
        a5 = vfma(a5, m, c);
        a6 = vfma(a6, m, c);
        a7 = vfma(a7, m, c);
        a8 = vfma(a8, m, c);
        a9 = vfma(a9, m, c);
        a10 = vfma(a10, m, c);
        a11 = vfma(a11, m, c);
    }
    vf s = vadd(vadd(vadd(a0, a1), vadd(a2, a3)), vadd(vadd(a4, a5), vadd(a6, a7)));
    s = vadd(s, vadd(vadd(a8, a9), vadd(a10, a11)));
    volatile float sink = vhsum(s);
    (void)sink;
    return 2.0 * 12.0 * V * (double)iters;
}

#undef INLINE
#undef UNROLL
