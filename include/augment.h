/*
 * augment: new training images from old ones, drawn at random from a seed: a shift of a few
 * pixels, a small rotation and scaling about the centre, and an elastic distortion (Simard,
 * Steinkraus and Platt, "Best practices for convolutional neural networks applied to visual
 * document analysis", 2003: a field of random displacements smoothed by a Gaussian of width
 * sigma and scaled by alpha), and a mirror image left to right, applied together in one
 * bilinear resampling. The label does not
 * change. Only training batches are augmented; evaluation never calls this.
 */
#ifndef MLP_AUGMENT_H
#define MLP_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    float translate;     /* pixels: shifts in x and in y, each a uniform draw in
                          * [-translate, translate) rounded to a whole number of pixels */
    float rotate;        /* degrees: rotations uniform in [-rotate, rotate] */
    float scale;         /* fraction: scalings uniform in [1 - scale, 1 + scale] */
    float elastic_alpha; /* pixels: strength of the elastic field; 0 for none */
    float elastic_sigma; /* pixels: width of the Gaussian that smooths it */
    bool flip;           /* mirror left to right, one image in two (clothes, not digits) */
} mlp_augment;

/* True if a changes images at all. */
bool mlp_augment_active(const mlp_augment *a);

/* Floats of scratch space mlp_augment_image() needs for a rows x cols image. */
size_t mlp_augment_scratch(size_t rows, size_t cols);

/* dst (rows * cols) = src transformed as a says, with every random choice drawn from seed:
 * the same seed gives the same image. dst and src must not overlap. */
void mlp_augment_image(float *dst, const float *src, size_t rows, size_t cols, const mlp_augment *a,
                       uint64_t seed, float *scratch);

#endif
