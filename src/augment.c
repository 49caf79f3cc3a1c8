/*
 * augment: random affine maps and elastic distortions of training images. For every output
 * pixel the source position is computed (inverse map) and the source image is sampled
 * bilinearly, with zeros outside it, so nothing is moved twice and no pixel is lost to
 * rounding.
 */
#include "augment.h"

#include "util.h"

#include <math.h>
#include <string.h>

#define MAX_RADIUS 32 /* Gaussian taps each side, enough for sigma up to 10 */

/* Rows padded to a multiple of 8 floats: loops over whole padded rows have a trip count the
 * compiler can see is a multiple of the vector width, so it vectorises them. */
static size_t padded(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

bool mlp_augment_active(const mlp_augment *a)
{
    return a->translate > 0.0f || a->rotate > 0.0f || a->scale > 0.0f || a->elastic_alpha > 0.0f ||
           a->flip;
}

size_t mlp_augment_scratch(size_t rows, size_t cols)
{
    /* two displacement fields and two buffers to make them in, each big enough for the
     * image padded either way round */
    size_t a = padded(rows) * padded(cols);
    return 4 * a;
}

/* uniform in [-1, 1) */
static float sym(uint64_t *rng)
{
    return 2.0f * mlp_rng_uniform(rng) - 1.0f;
}

/* out (h, pw) = in (h, pw) convolved along its columns with the 2r+1 taps k, zero outside.
 * Each output adds its taps in order from 0; eight outputs at a time in an array the
 * compiler keeps in vector registers (pw is a multiple of 8), which costs a third of adding
 * each tap into the output in memory. */
static void blur_columns(float *restrict out, const float *restrict in, long h, size_t pw,
                         const float *k, long r)
{
    for (long y = 0; y < h; y++) {
        const long lo = y - r < 0 ? -y : -r, hi = y + r >= h ? h - 1 - y : r;
        for (size_t x = 0; x < pw; x += 8) {
            float acc[8] = {0};
            for (long i = lo; i <= hi; i++) {
                const float ki = k[i + r], *restrict s = in + (size_t)(y + i) * pw + x;
                for (size_t l = 0; l < 8; l++)
                    acc[l] += ki * s[l];
            }
            memcpy(out + (size_t)y * pw + x, acc, sizeof acc);
        }
    }
}

/* dst (w, ph) = the transpose of src's first w columns (h, pw), zero-padded */
static void transpose(float *restrict dst, const float *restrict src, size_t h, size_t w, size_t pw,
                      size_t ph)
{
    memset(dst, 0, w * ph * sizeof *dst);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            dst[x * ph + y] = src[y * pw + x];
}

/* A smooth random displacement field for a rows x cols image: uniform noise in [-1, 1)
 * convolved with a normalised Gaussian of width sigma (zero beyond the edges), scaled by
 * alpha. The result is stored transposed, (cols, padded(rows)); a and b are scratch. */
static void field(float *out, float *a, float *b, size_t rows, size_t cols, float alpha,
                  float sigma, uint64_t *rng)
{
    float k[2 * MAX_RADIUS + 1] = {0}, sum = 0.0f;
    /* Below 0.05 every tap but the centre is exp(-200) or less, 0 in a float, as with 0.05
     * itself; the floor keeps 2 sigma^2 from underflowing to 0 (0/0 at the centre tap) for
     * any positive sigma, such as one read from a checkpoint. */
    if (!(sigma >= 0.05f))
        sigma = 0.05f;
    long r = (long)ceilf(3.0f * sigma);
    if (r > MAX_RADIUS)
        r = MAX_RADIUS;
    for (long i = -r; i <= r; i++)
        sum += k[i + r] = expf(-(float)(i * i) / (2.0f * sigma * sigma));
    for (long i = 0; i <= 2 * r; i++)
        k[i] *= alpha / sum; /* alpha folded into the second pass's taps below */
    const size_t pw = padded(cols), ph = padded(rows);
    memset(a, 0, rows * pw * sizeof *a);
    for (size_t y = 0; y < rows; y++)
        for (size_t x = 0; x < cols; x++)
            a[y * pw + x] = 2.0f * mlp_rng_uniform(rng) - 1.0f;
    float unit[2 * MAX_RADIUS + 1] = {0};
    for (long i = 0; i <= 2 * r; i++)
        unit[i] = k[i] / alpha;
    blur_columns(b, a, (long)rows, pw, unit, r); /* down the columns */
    transpose(a, b, rows, cols, pw, ph);         /* rows become columns */
    blur_columns(out, a, (long)cols, ph, k, r);  /* along the original rows, times alpha */
}

/* src at (x, y) by bilinear interpolation; 0 outside the image. The four taps are added in
 * a fixed order, a tap outside adding 0, which leaves the sum as it was (it starts at +0
 * and the weights are not negative): no branch depends on where the sample falls. */
static float sample(const float *src, size_t rows, size_t cols, float x, float y)
{
    float fx = floorf(x), fy = floorf(y);
    long x0 = (long)fx, y0 = (long)fy;
    float ax = x - fx, ay = y - fy, v = 0.0f;
    for (int dy = 0; dy < 2; dy++) {
        for (int dx = 0; dx < 2; dx++) {
            long xx = x0 + dx, yy = y0 + dy;
            bool in = xx >= 0 && yy >= 0 && xx < (long)cols && yy < (long)rows;
            size_t at = in ? (size_t)yy * cols + (size_t)xx : 0;
            float w = (dx ? ax : 1.0f - ax) * (dy ? ay : 1.0f - ay);
            v += w * (in ? src[at] : 0.0f);
        }
    }
    return v;
}

void mlp_augment_image(float *dst, const float *src, size_t rows, size_t cols, const mlp_augment *a,
                       uint64_t seed, float *scratch)
{
    uint64_t rng = seed;
    float angle = a->rotate * sym(&rng) * 3.14159265f / 180.0f;
    float s = 1.0f + a->scale * sym(&rng);
    /* whole pixels: a shift alone then copies pixels instead of blurring them between
     * neighbours, so training images stay as sharp as the test images */
    float tx = roundf(a->translate * sym(&rng)), ty = roundf(a->translate * sym(&rng));
    /* the displacement fields, transposed: ex[x * ph + y] is the shift of pixel (x, y) */
    const size_t ph = padded(rows), m = mlp_augment_scratch(rows, cols) / 4;
    float *ex = NULL, *ey = NULL;
    if (a->elastic_alpha > 0.0f) {
        ex = scratch;
        ey = scratch + m;
        field(ex, scratch + 2 * m, scratch + 3 * m, rows, cols, a->elastic_alpha, a->elastic_sigma,
              &rng);
        field(ey, scratch + 2 * m, scratch + 3 * m, rows, cols, a->elastic_alpha, a->elastic_sigma,
              &rng);
    }
    /* drawn last, and only when asked for, so that the other draws stay those of the runs
     * made before there were mirror images */
    const bool mirror = a->flip && mlp_rng_uniform(&rng) < 0.5f;
    /* inverse map: output pixel p comes from c + R(-angle) (p - c - t) / s + e(p), p's x
     * first mirrored about the centre for a mirror image (which is then the mirror of the
     * image made without it) */
    const float cx = 0.5f * (float)(cols - 1), cy = 0.5f * (float)(rows - 1);
    const float ca = cosf(angle) / s, sa = sinf(angle) / s;
    for (size_t y = 0; y < rows; y++) {
        for (size_t x = 0; x < cols; x++) {
            const size_t xm = mirror ? cols - 1 - x : x; /* the whole map is mirrored */
            float px = (float)xm - cx - tx, py = (float)y - cy - ty;
            float sx = cx + ca * px + sa * py, sy = cy - sa * px + ca * py;
            if (ex) {
                sx += ex[xm * ph + y];
                sy += ey[xm * ph + y];
            }
            dst[y * cols + x] = sample(src, rows, cols, sx, sy);
        }
    }
}
