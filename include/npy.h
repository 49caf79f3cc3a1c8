/*
 * npy: writes arrays in NumPy's .npy format, version 1.0
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html), which
 * numpy.load() reads and torch.from_numpy() takes without a copy:
 *
 *   offset  size  field
 *   0       6     magic "\x93NUMPY"
 *   6       2     format version: 1, 0
 *   8       2     u16 little-endian HEADER_LEN
 *   10      HEADER_LEN  a Python dict literal in ASCII, e.g.
 *                 {'descr': '<f4', 'fortran_order': False, 'shape': (16, 784), }
 *                 padded with spaces and ended by '\n' so that the data starts at a
 *                 multiple of 64 bytes
 *   ..      4N    the N values: little-endian float32, C order (last index fastest)
 */
#ifndef MLP_NPY_H
#define MLP_NPY_H

#include "util.h"

#include <stddef.h>

#define MLP_NPY_MAX_DIMS 8

/* Writes the preamble and header of a little-endian float32 C-order array of the given
 * shape into buf (cap bytes). Returns its length, a multiple of 64, or 0 if ndim is above
 * MLP_NPY_MAX_DIMS or it does not fit. */
size_t mlp_npy_header(unsigned char *buf, size_t cap, const size_t *shape, size_t ndim);

/* Writes path: the header, then the product of shape[] floats from data. */
mlp_status mlp_npy_write(const char *path, const float *data, const size_t *shape, size_t ndim,
                         mlp_error *err);

#endif
