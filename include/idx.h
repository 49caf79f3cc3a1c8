/*
 * idx: reads the IDX files MNIST-style datasets ship in (http://yann.lecun.com/exdb/mnist/).
 *
 * Header, big-endian: two zero bytes, a type byte (only 0x08, unsigned byte, is accepted),
 * the number of dimensions, then one uint32 per dimension. Images have three dimensions
 * (count, rows, cols), labels one (count). Everything is checked against the file's real
 * length before any allocation, so a hostile header cannot make us allocate or read wildly.
 */
#ifndef MLP_IDX_H
#define MLP_IDX_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t n;          /* number of images */
    size_t rows, cols; /* pixels per image: rows * cols */
    size_t dim;        /* rows * cols */
    float *x;          /* (n, dim): pixel / 255, in [0, 1] */
    uint8_t *y;        /* (n): class labels */
} mlp_set;

typedef struct {
    mlp_set train, test;
    size_t n_classes; /* max(training label) + 1 */
} mlp_data;

/* The four standard names inside a directory; also finds "train-images.idx3-ubyte". */
typedef enum {
    MLP_IDX_TRAIN_IMAGES,
    MLP_IDX_TRAIN_LABELS,
    MLP_IDX_TEST_IMAGES,
    MLP_IDX_TEST_LABELS
} mlp_idx_file;

/* Writes DIR/<name of which> into path (size cap), choosing the spelling that exists.
 * Fails with a message naming the file (and the gunzip command when only a .gz exists). */
mlp_status mlp_idx_path(char *path, size_t cap, const char *dir, mlp_idx_file which,
                        mlp_error *err);

/* Reads one image file and one label file into s (which must be zeroed). */
mlp_status mlp_idx_load_set(mlp_set *s, const char *images_path, const char *labels_path,
                            mlp_error *err);

/* Reads all four files of DIR and checks that the sets agree with each other. */
mlp_status mlp_idx_load(mlp_data *d, const char *dir, mlp_error *err);

/* Reads DIR's test files only (for evaluating a model that knows its class count). */
mlp_status mlp_idx_load_test(mlp_set *s, const char *dir, mlp_error *err);

/* Largest label + 1; 0 for an empty set. */
size_t mlp_set_classes(const mlp_set *s);

void mlp_set_free(mlp_set *s);
void mlp_data_free(mlp_data *d);

#endif
