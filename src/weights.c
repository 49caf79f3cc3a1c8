/*
 * weights: first-layer weights as tiles and as one sheet of tiles, in 8-bit pixels.
 */
#include "weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The colour of v, a weight divided by its neuron's largest |w|, in [-1, 1]. */
static void colour(uint8_t *out, double v, bool grey)
{
    if (grey) {
        out[0] = (uint8_t)lround(127.5 + 127.5 * v);
        return;
    }
    uint8_t fade = (uint8_t)lround(255.0 * (1.0 - fabs(v))); /* 255 at 0, 0 at |v| = 1 */
    out[0] = v >= 0.0 ? 255 : fade; /* red stays full for positive weights */
    out[1] = fade;
    out[2] = v <= 0.0 ? 255 : fade; /* blue stays full for negative weights */
}

static mlp_status alloc_image(mlp_weights_image *img, size_t width, size_t height, bool grey,
                              mlp_error *err)
{
    size_t n;
    memset(img, 0, sizeof *img);
    img->channels = grey ? 1 : 3;
    if (!mlp_mul_size(width, height, &n) || !mlp_mul_size(n, img->channels, &n) ||
        !(img->px = mlp_alloc_array(n, 1)))
        return mlp_fail(err, MLP_ENOMEM, "out of memory for a %zux%zu picture", width, height);
    img->width = width;
    img->height = height;
    return MLP_OK;
}

static mlp_status check_style(const mlp_net *net, const mlp_weights_style *s, mlp_error *err)
{
    size_t dim, side;
    if (s->scale == 0 || !mlp_mul_size(s->rows, s->cols, &dim) || dim != net->sizes[0] ||
        !mlp_mul_size(s->rows > s->cols ? s->rows : s->cols, s->scale, &side) || side > 65535)
        return mlp_fail(err, MLP_EARG,
                        "cannot draw %zu weights as %zux%zu pictures at %zu pixels a weight",
                        net->sizes[0], s->rows, s->cols, s->scale);
    return MLP_OK;
}

size_t mlp_weights_tile_width(const mlp_weights_style *s)
{
    return (s->transpose ? s->rows : s->cols) * s->scale;
}

size_t mlp_weights_tile_height(const mlp_weights_style *s)
{
    return (s->transpose ? s->cols : s->rows) * s->scale;
}

/* Draws neuron j's tile with its top left corner at (x0, y0) of img. */
static void draw_tile(mlp_weights_image *img, const mlp_net *net, size_t j,
                      const mlp_weights_style *s, size_t x0, size_t y0)
{
    const size_t in = net->sizes[0];
    const float *w = net->W[0] + j * in; /* (rows, cols): neuron j's weights */
    double big = 0.0;
    for (size_t k = 0; k < in; k++)
        big = fmax(big, fabs((double)w[k]));
    for (size_t r = 0; r < mlp_weights_tile_height(s); r++) {
        for (size_t c = 0; c < mlp_weights_tile_width(s); c++) {
            size_t y = r / s->scale, x = c / s->scale; /* of the tile, in weights */
            size_t k = s->transpose ? x * s->cols + y : y * s->cols + x;
            double v = big > 0.0 ? (double)w[k] / big : 0.0;
            colour(img->px + ((y0 + r) * img->width + x0 + c) * img->channels, v, s->grey);
        }
    }
}

mlp_status mlp_weights_tile(mlp_weights_image *img, const mlp_net *net, size_t j,
                            const mlp_weights_style *s, mlp_error *err)
{
    mlp_status st = check_style(net, s, err);
    memset(img, 0, sizeof *img);
    if (st != MLP_OK)
        return st;
    if (j >= net->sizes[1])
        return mlp_fail(err, MLP_EARG, "no neuron %zu in a layer of %zu", j, net->sizes[1]);
    if ((st = alloc_image(img, mlp_weights_tile_width(s), mlp_weights_tile_height(s), s->grey,
                          err)) != MLP_OK)
        return st;
    draw_tile(img, net, j, s, 0, 0);
    return MLP_OK;
}

mlp_status mlp_weights_sheet(mlp_weights_image *img, const mlp_net *net, const mlp_weights_style *s,
                             mlp_error *err)
{
    mlp_status st = check_style(net, s, err);
    memset(img, 0, sizeof *img);
    if (st != MLP_OK)
        return st;
    const size_t n = net->sizes[1], tw = mlp_weights_tile_width(s), th = mlp_weights_tile_height(s);
    size_t gc = 1;
    while (gc * gc < n)
        gc++; /* the smallest square grid that holds n tiles: n <= MLP_MAX_WIDTH */
    const size_t gr = (n + gc - 1) / gc;
    size_t width, height;
    if (!mlp_mul_size(gc, tw + s->gap, &width) || !mlp_add_size(width, s->gap, &width) ||
        !mlp_mul_size(gr, th + s->gap, &height) || !mlp_add_size(height, s->gap, &height))
        return mlp_fail(err, MLP_ENOMEM, "a sheet of %zu tiles is too large", n);
    if ((st = alloc_image(img, width, height, s->grey, err)) != MLP_OK)
        return st;
    img->grid_cols = gc;
    img->grid_rows = gr;
    /* the background between tiles: dark, so it is not read as a weight of 0 */
    memset(img->px, s->grey ? 0 : 48, width * height * img->channels);
    for (size_t j = 0; j < n; j++)
        draw_tile(img, net, j, s, s->gap + (j % gc) * (tw + s->gap),
                  s->gap + (j / gc) * (th + s->gap));
    return MLP_OK;
}

void mlp_weights_free(mlp_weights_image *img)
{
    free(img->px);
    memset(img, 0, sizeof *img);
}
