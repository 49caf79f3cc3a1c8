/*
 * npy: .npy writer (format in npy.h). Floats are written byte by byte in little-endian
 * order whatever the host, like the model file, so the header's '<f4' is always true.
 */
#include "npy.h"
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ALIGN 64 /* the format asks for it, so that a memory-mapped array is aligned */
#define CHUNK 4096

size_t mlp_npy_header(unsigned char *buf, size_t cap, const size_t *shape, size_t ndim)
{
    char dict[64 + MLP_NPY_MAX_DIMS * 24];
    size_t len = 0;
    if (ndim > MLP_NPY_MAX_DIMS)
        return 0;
    len +=
        (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (size_t d = 0; d < ndim; d++)
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%s%zu", d ? ", " : "", shape[d]);
    /* a one-element tuple needs its comma: (16,) */
    len += (size_t)snprintf(dict + len, sizeof dict - len, "%s), }", ndim == 1 ? "," : "");

    size_t total = 10 + len + 1; /* preamble, dict, '\n' */
    total = (total + ALIGN - 1) / ALIGN * ALIGN;
    if (total > cap || total - 10 > 65535)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((total - 10) & 0xff);
    buf[9] = (unsigned char)((total - 10) >> 8);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', total - 10 - len - 1);
    buf[total - 1] = '\n';
    return total;
}

struct array {
    const unsigned char *head;
    size_t head_len;
    const float *data;
    size_t n;
};

/* The header, then the floats little-endian whatever the host, CHUNK at a time. */
static mlp_status write_array(FILE *f, void *ctx, mlp_error *err)
{
    const struct array *a = ctx;
    unsigned char out[4 * CHUNK];
    (void)err; /* a short write is the commit's to report */
    bool ok = fwrite(a->head, 1, a->head_len, f) == a->head_len;
    for (size_t i = 0; ok && i < a->n; i += CHUNK) {
        size_t k = a->n - i < CHUNK ? a->n - i : CHUNK;
        for (size_t q = 0; q < k; q++) {
            uint32_t bits;
            memcpy(&bits, &a->data[i + q], sizeof bits);
            mlp_put_u32(out + 4 * q, bits);
        }
        ok = fwrite(out, 1, 4 * k, f) == 4 * k;
    }
    return MLP_OK;
}

mlp_status mlp_npy_write(const char *path, const float *data, const size_t *shape, size_t ndim,
                         mlp_error *err)
{
    unsigned char head[256];
    size_t n = 1;
    for (size_t d = 0; d < ndim; d++)
        if (!mlp_mul_size(n, shape[d], &n))
            return mlp_fail(err, MLP_EARG, "%s: array too large", path);
    size_t head_len = mlp_npy_header(head, sizeof head, shape, ndim);
    if (head_len == 0)
        return mlp_fail(err, MLP_EARG, "%s: %zu dimensions, at most %d", path, ndim,
                        MLP_NPY_MAX_DIMS);

    struct array a = {head, head_len, data, n};
    return mlp_output_save(".npy file", path, write_array, &a, err);
}
