/*
 * weights: what each first-layer neuron looks for, as pictures.
 *
 * Neuron j of layer 1 has one weight per input pixel, row j of W[0]; laid out in the image's
 * (rows, cols) shape, its positive weights show the pixels it wants bright and its negative
 * weights the pixels it wants dark. Each tile is scaled by its own neuron's largest |w|, so
 * faint and strong neurons both show; the sheet puts every tile in a grid, neuron 0 at the
 * top left, row by row.
 *
 *   colour  white at 0, towards red for positive and blue for negative weights
 *   grey    mid-grey at 0, towards white for positive and black for negative weights
 *
 * Pixels are 8-bit, (height, width, channels) row-major; png.c or pgm.c write them.
 */
#ifndef MLP_WEIGHTS_H
#define MLP_WEIGHTS_H

#include "net.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    size_t rows, cols; /* the input image's shape: rows * cols == sizes[0] */
    size_t scale;      /* pixels per weight, 1 or more */
    size_t gap;        /* pixels between tiles on the sheet, and around it */
    bool grey;
    bool transpose;    /* draw each tile transposed, (cols, rows): for a model trained on images
                        * stored transposed (EMNIST) without --transpose */
} mlp_weights_style;

/* A tile's size in pixels under s: (rows, cols) times the scale, swapped when transposed. */
size_t mlp_weights_tile_width(const mlp_weights_style *s);
size_t mlp_weights_tile_height(const mlp_weights_style *s);

typedef struct {
    size_t width, height, channels; /* channels: 1 (grey) or 3 (colour) */
    size_t grid_cols, grid_rows;    /* of a sheet: tiles across and down */
    uint8_t *px;                    /* (height, width, channels) */
} mlp_weights_image;

/* The tile of neuron j (< sizes[1]) of net's first layer. */
mlp_status mlp_weights_tile(mlp_weights_image *img, const mlp_net *net, size_t j,
                            const mlp_weights_style *s, mlp_error *err);

/* Every first-layer neuron's tile on one sheet, in a grid about as wide as it is tall. */
mlp_status mlp_weights_sheet(mlp_weights_image *img, const mlp_net *net, const mlp_weights_style *s,
                             mlp_error *err);

void mlp_weights_free(mlp_weights_image *img); /* safe on a zeroed image */

#endif
