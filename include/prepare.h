/*
 * prepare: turns a picture of one handwritten digit into an input the way MNIST's were made
 * (LeCun et al., "Gradient-based learning applied to document recognition", 1998, and the
 * MNIST page): the ink is fitted into a 20x20 box keeping its aspect ratio, with anti-aliasing,
 * and the box is placed in the 28x28 field so that its centre of mass lies at the centre.
 * A network trained on MNIST has only ever seen digits prepared so; a digit drawn elsewhere
 * in the frame, larger or smaller, or dark on light paper, is misread without it.
 *
 * The steps, on a grey picture of any size (values in [0, 1], 0 black):
 *   1. ink is light: when the picture's border is on average lighter than 0.5 (dark ink on
 *      light paper), every value v becomes 1 - v;
 *   2. the background is taken away: b, the median of the border pixels, maps to 0 and the
 *      brightest pixel to 1 (values between are stretched linearly, below b clipped to 0), so
 *      grey paper and faint pencil work alike;
 *   3. the ink is cropped: the smallest rectangle holding every pixel above 0.2 (a stroke's
 *      fainter edge outside it is cut, as MNIST's bounding box did);
 *   4. the rectangle is scaled so that its longer side is 20/28 of the field's shorter side
 *      (20 pixels for 28x28) and the other side keeps the aspect ratio, each output pixel the
 *      average of the area of the input it covers (area averaging: a box filter with
 *      fractional pixel weights, which is what anti-aliases the result);
 *   5. the scaled ink is placed in the field (rows x cols, zero elsewhere) so that its centre
 *      of mass falls on the field's centre, rounded to whole pixels; ink that would fall
 *      outside is cut.
 */
#ifndef MLP_PREPARE_H
#define MLP_PREPARE_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>

/* What the preparation found, for a caller that reports it. */
typedef struct {
    bool inverted;                   /* step 1 turned dark-on-light into light-on-dark */
    float background;                /* b of step 2, after step 1 */
    size_t top, left, height, width; /* step 3's rectangle, in the picture's pixels */
    size_t box_rows, box_cols;       /* its size after step 4 */
} mlp_prepare_info;

/* Prepares the (height, width) picture px into out, (rows, cols), as above; info may be
 * NULL. MLP_EARG, leaving out as it was, if a size is 0, the field is smaller than 4x4, or the
 * picture holds no ink (no pixel more than 0.2 above the background after step 2); MLP_ENOMEM
 * if the scratch row cannot be allocated. Messages name no file: the caller adds it. */
mlp_status mlp_prepare_digit(const float *px, size_t height, size_t width, float *out, size_t rows,
                             size_t cols, mlp_prepare_info *info, mlp_error *err);

#endif
