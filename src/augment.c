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

bool mlp_augment_active(const mlp_augment *a)
{
    return a->translate > 0.0f || a->rotate > 0.0f || a->scale > 0.0f || a->elastic_alpha > 0.0f;
}

size_t mlp_augment_scratch(size_t rows, size_t cols)
{
    return 3 * rows * cols; /* two displacement fields and a row of working space each */
}

/* uniform in [-1, 1) */
static float sym(uint64_t *rng)
{
    return 2.0f * mlp_rng_uniform(rng) - 1.0f;
}

/* f (rows, cols) convolved with a normalised Gaussian of width sigma, along rows then
 * columns, zero beyond the edges; tmp has rows * cols floats. */
static void blur(float *f, float *tmp, size_t rows, size_t cols, float sigma)
{
    float k[2 * MAX_RADIUS + 1], sum = 0.0f;
    int r = (int)ceilf(3.0f * sigma);
    if (r > MAX_RADIUS)
        r = MAX_RADIUS;
    for (int i = -r; i <= r; i++)
        sum += k[i + r] = expf(-(float)(i * i) / (2.0f * sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        k[i] /= sum;
    for (size_t y = 0; y < rows; y++) {
        for (size_t x = 0; x < cols; x++) {
            float s = 0.0f;
            for (int i = -r; i <= r; i++) {
                long xx = (long)x + i;
                if (xx >= 0 && xx < (long)cols)
                    s += k[i + r] * f[y * cols + (size_t)xx];
            }
            tmp[y * cols + x] = s;
        }
    }
    for (size_t y = 0; y < rows; y++) {
        for (size_t x = 0; x < cols; x++) {
            float s = 0.0f;
            for (int i = -r; i <= r; i++) {
                long yy = (long)y + i;
                if (yy >= 0 && yy < (long)rows)
                    s += k[i + r] * tmp[(size_t)yy * cols + x];
            }
            f[y * cols + x] = s;
        }
    }
}

/* src at (x, y) by bilinear interpolation; 0 outside the image */
static float sample(const float *src, size_t rows, size_t cols, float x, float y)
{
    float fx = floorf(x), fy = floorf(y);
    long x0 = (long)fx, y0 = (long)fy;
    float ax = x - fx, ay = y - fy, v = 0.0f;
    for (int dy = 0; dy < 2; dy++) {
        for (int dx = 0; dx < 2; dx++) {
            long xx = x0 + dx, yy = y0 + dy;
            if (xx < 0 || yy < 0 || xx >= (long)cols || yy >= (long)rows)
                continue;
            float w = (dx ? ax : 1.0f - ax) * (dy ? ay : 1.0f - ay);
            v += w * src[(size_t)yy * cols + (size_t)xx];
        }
    }
    return v;
}

void mlp_augment_image(float *dst, const float *src, size_t rows, size_t cols, const mlp_augment *a,
                       uint64_t seed, float *scratch)
{
    uint64_t rng = seed;
    const size_t n = rows * cols;
    float angle = a->rotate * sym(&rng) * 3.14159265f / 180.0f;
    float s = 1.0f + a->scale * sym(&rng);
    float tx = a->translate * sym(&rng), ty = a->translate * sym(&rng);
    float *ex = NULL, *ey = NULL;
    if (a->elastic_alpha > 0.0f) {
        ex = scratch;
        ey = scratch + n;
        for (size_t i = 0; i < n; i++) {
            ex[i] = sym(&rng);
            ey[i] = sym(&rng);
        }
        blur(ex, scratch + 2 * n, rows, cols, a->elastic_sigma);
        blur(ey, scratch + 2 * n, rows, cols, a->elastic_sigma);
    }
    /* inverse map: output pixel p comes from c + R(-angle) (p - c - t) / s */
    const float cx = 0.5f * (float)(cols - 1), cy = 0.5f * (float)(rows - 1);
    const float ca = cosf(angle) / s, sa = sinf(angle) / s;
    for (size_t y = 0; y < rows; y++) {
        for (size_t x = 0; x < cols; x++) {
            float px = (float)x - cx - tx, py = (float)y - cy - ty;
            float sx = cx + ca * px + sa * py, sy = cy - sa * px + ca * py;
            if (ex) {
                sx += a->elastic_alpha * ex[y * cols + x];
                sy += a->elastic_alpha * ey[y * cols + x];
            }
            dst[y * cols + x] = sample(src, rows, cols, sx, sy);
        }
    }
}
