/*
 * prepare: MNIST's preparation of a digit (steps in prepare.h). The picture is never
 * modified: steps 1 and 2 are applied to each value as it is read (ink()), and step 4 scales
 * the cropped rectangle separably, rows first, through one scratch buffer.
 */
#include "prepare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INK_LEVEL 0.2f          /* step 3: what counts as ink once the background is 0 */
#define BOX_SHARE (20.0 / 28.0) /* step 4: the box's side over the field's, as in MNIST */

/* Steps 1 and 2 for one value: light ink on a background of 0, stretched to [0, 1]. */
typedef struct {
    bool invert;
    float b, range; /* background and brightest - background, both after inverting */
} levels;

static float ink(const levels *l, float v)
{
    float t = ((l->invert ? 1.0f - v : v) - l->b) / l->range;
    return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Steps 1 and 2: whether to invert (the border's mean above 0.5), the background (the
 * border's median, after inverting) and the range up to the brightest pixel. */
static mlp_status find_levels(levels *l, const float *px, size_t h, size_t w, mlp_error *err)
{
    size_t n = h == 1 || w == 1 ? h * w : 2 * (h + w) - 4, k = 0;
    float *border = mlp_alloc_array(n, sizeof *border);
    if (!border)
        return mlp_fail(err, MLP_ENOMEM, "out of memory for the picture's border");
    double sum = 0.0;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x += (y == 0 || y == h - 1 || x == w - 1) ? 1 : w - 1)
            sum += border[k++] = px[y * w + x];
    l->invert = sum / (double)k > 0.5;
    for (size_t i = 0; i < k; i++)
        border[i] = l->invert ? 1.0f - border[i] : border[i];
    qsort(border, k, sizeof *border, cmp_float);
    l->b = border[k / 2];
    free(border);
    float top = l->b;
    for (size_t i = 0; i < h * w; i++)
        top = fmaxf(top, l->invert ? 1.0f - px[i] : px[i]);
    l->range = top - l->b;
    if (!(l->range > INK_LEVEL))
        return mlp_fail(err, MLP_EARG, "no ink: the picture is one shade (%.2f to %.2f)",
                        (double)l->b, (double)top);
    return MLP_OK;
}

/* Step 3: the rectangle of the ink. */
static void find_ink(const levels *l, const float *px, size_t h, size_t w, mlp_prepare_info *r)
{
    size_t y0 = h, y1 = 0, x0 = w, x1 = 0; /* rows y0..y1, columns x0..x1, inclusive */
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            if (ink(l, px[y * w + x]) > INK_LEVEL) {
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
            }
    /* find_levels guarantees a pixel at 1 > INK_LEVEL, so y0 <= y1 and x0 <= x1 */
    r->top = y0, r->left = x0, r->height = y1 - y0 + 1, r->width = x1 - x0 + 1;
}

/* out[j * out_stride] (m values) = the average of in[] (n values, in_stride apart) over
 * [j, j+1) * n/m: each input value weighted by how much of its unit interval the output's
 * interval covers. */
static void resample(float *out, size_t m, size_t out_stride, const float *in, size_t n,
                     size_t in_stride)
{
    const double step = (double)n / (double)m;
    for (size_t j = 0; j < m; j++) {
        double a = j * step, b = (j + 1) * step, sum = 0.0;
        for (size_t k = (size_t)a; k < n && (double)k < b; k++) {
            double lo = a > (double)k ? a : (double)k;
            double hi = b < (double)(k + 1) ? b : (double)(k + 1);
            sum += (hi - lo) * in[k * in_stride];
        }
        out[j * out_stride] = (float)(sum / step);
    }
}

mlp_status mlp_prepare_digit(const float *px, size_t height, size_t width, float *out, size_t rows,
                             size_t cols, mlp_prepare_info *info, mlp_error *err)
{
    mlp_prepare_info r = {0};
    levels l = {false, 0.0f, 1.0f};
    if (!height || !width || rows < 4 || cols < 4)
        return mlp_fail(err, MLP_EARG, "a %zux%zu picture into a %zux%zu field", width, height,
                        cols, rows);
    mlp_status s = find_levels(&l, px, height, width, err);
    if (s != MLP_OK)
        return s;
    r.inverted = l.invert, r.background = l.b;
    find_ink(&l, px, height, width, &r);

    /* step 4: the longer side to BOX_SHARE of the field's shorter side */
    double side = floor(BOX_SHARE * (double)(rows < cols ? rows : cols) + 0.5);
    double scale = side / (double)(r.height > r.width ? r.height : r.width);
    r.box_rows = (size_t)fmax(1.0, floor(r.height * scale + 0.5));
    r.box_cols = (size_t)fmax(1.0, floor(r.width * scale + 0.5));
    /* wide (r.height, box_cols): each row of the rectangle scaled; row (r.width): one row of
     * the rectangle after steps 1 and 2; box (box_rows, box_cols): wide's columns scaled */
    float *wide =
        mlp_alloc_array(r.height * r.box_cols + r.width + r.box_rows * r.box_cols, sizeof *wide);
    if (!wide)
        return mlp_fail(err, MLP_ENOMEM, "out of memory for a %zux%zu picture", width, height);
    float *row = wide + r.height * r.box_cols, *box = row + r.width;
    for (size_t y = 0; y < r.height; y++) {
        for (size_t x = 0; x < r.width; x++)
            row[x] = ink(&l, px[(r.top + y) * width + r.left + x]);
        resample(wide + y * r.box_cols, r.box_cols, 1, row, r.width, 1);
    }
    for (size_t x = 0; x < r.box_cols; x++)
        resample(box + x, r.box_rows, r.box_cols, wide + x, r.height, r.box_cols);

    /* step 5: the centre of mass (pixel centres at +0.5) onto the field's centre */
    double mass = 0.0, my = 0.0, mx = 0.0;
    for (size_t y = 0; y < r.box_rows; y++)
        for (size_t x = 0; x < r.box_cols; x++) {
            double v = box[y * r.box_cols + x];
            mass += v, my += v * (y + 0.5), mx += v * (x + 0.5);
        }
    long dy = mass > 0 ? lround(rows / 2.0 - my / mass) : (long)(rows - r.box_rows) / 2;
    long dx = mass > 0 ? lround(cols / 2.0 - mx / mass) : (long)(cols - r.box_cols) / 2;
    memset(out, 0, rows * cols * sizeof *out);
    for (size_t y = 0; y < r.box_rows; y++)
        for (size_t x = 0; x < r.box_cols; x++) {
            long fy = (long)y + dy, fx = (long)x + dx;
            if (fy >= 0 && fy < (long)rows && fx >= 0 && fx < (long)cols)
                out[fy * (long)cols + fx] = box[y * r.box_cols + x];
        }
    free(wide);
    if (info)
        *info = r;
    return MLP_OK;
}
