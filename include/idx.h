/*
 * idx: reads the IDX files MNIST-style datasets ship in (http://yann.lecun.com/exdb/mnist/).
 *
 * Header, big-endian: two zero bytes, a type byte (only 0x08, unsigned byte, is accepted),
 * the number of dimensions, then one uint32 per dimension. Images have three dimensions
 * (count, rows, cols), labels one (count). QMNIST's label files are read as labels too: type
 * 0x0c (big-endian int32) and two dimensions (count, columns), the class in the first
 * column, which must be 0 to 255. Everything is checked against the file's real
 * length before any allocation, so a hostile header cannot make us allocate or read wildly.
 * Gzipped files (MNIST's and Fashion-MNIST's distribution format) are read directly: their
 * decompressed length stands for the file length (see inflate.h). Before one is
 * decompressed, the bytes its header describes plus the copy made of them (floats, labels)
 * are checked against the machine's memory, and it is never decompressed past one byte
 * more than its header describes.
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

/* The four files of a data set, in the order of mlp_idx_files.path[]. */
typedef enum {
    MLP_IDX_TRAIN_IMAGES,
    MLP_IDX_TRAIN_LABELS,
    MLP_IDX_TEST_IMAGES,
    MLP_IDX_TEST_LABELS
} mlp_idx_file;

/* Where a data set's files are: path[k] when it is set, else DIR's standard file for k. */
typedef struct {
    const char *dir;     /* NULL: "data" */
    const char *path[4]; /* indexed by mlp_idx_file; NULL: look in dir */
} mlp_idx_files;

/* Writes DIR/<name of which> into path (size cap), choosing the spelling that exists:
 * "train-images-idx3-ubyte", then "train-images.idx3-ubyte", then the same two with ".gz"
 * (a plain file wins over its .gz). Fails with a message naming the standard name. */
mlp_status mlp_idx_path(char *path, size_t cap, const char *dir, mlp_idx_file which,
                        mlp_error *err);

/* The path of file `which` of files: the one given (or path.gz, when only that exists),
 * else the one mlp_idx_path() finds in the directory. */
mlp_status mlp_idx_resolve(char *path, size_t cap, const mlp_idx_files *files, mlp_idx_file which,
                           mlp_error *err);

/* Reads one image file and one label file into s (which must be zeroed). Either may be
 * gzipped: a file is decompressed when it starts with the gzip magic, whatever its name. */
mlp_status mlp_idx_load_set(mlp_set *s, const char *images_path, const char *labels_path,
                            mlp_error *err);

/* Reads all four files and checks that the sets agree with each other: same image size,
 * at least two classes, no test label the training labels do not have. A given path that
 * does not exist is read from path + ".gz" when that exists. */
mlp_status mlp_idx_load_files(mlp_data *d, const mlp_idx_files *files, mlp_error *err);
/* The same, for the four files of DIR. */
mlp_status mlp_idx_load(mlp_data *d, const char *dir, mlp_error *err);

/* Reads the test files only (for evaluating a model that knows its class count). */
mlp_status mlp_idx_load_test_files(mlp_set *s, const mlp_idx_files *files, mlp_error *err);
mlp_status mlp_idx_load_test(mlp_set *s, const char *dir, mlp_error *err);

/* Transposes every image of s in place (row y, column x becomes row x, column y) and swaps
 * s->rows and s->cols: for data sets that store their images transposed, such as EMNIST.
 * MLP_ENOMEM, changing nothing, if the scratch image cannot be allocated. */
mlp_status mlp_idx_set_transpose(mlp_set *s, mlp_error *err);

/* x[i] = px[i] / 255 for n pixels, as every reader of data sets converts them (correctly
 * rounded, so x * 255 rounds back to the byte): the one place that decides the scale. */
void mlp_idx_pixels(float *x, const uint8_t *px, size_t n);

/* Largest label + 1; 0 for an empty set. */
size_t mlp_idx_set_classes(const mlp_set *s);

void mlp_idx_set_free(mlp_set *s);
void mlp_data_free(mlp_data *d);

#endif
