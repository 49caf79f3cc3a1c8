/*
 * npy: .npy writer (format in npy.h). Floats are written byte by byte in little-endian
 * order whatever the host, like the model file, so the header's '<f4' is always true.
 */
#include "npy.h"

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

mlp_status mlp_npy_write(const char *path, const float *data, const size_t *shape, size_t ndim,
                         mlp_error *err)
{
    unsigned char head[256], out[4 * CHUNK];
    size_t n = 1;
    for (size_t d = 0; d < ndim; d++)
        if (!mlp_mul_size(n, shape[d], &n))
            return mlp_fail(err, MLP_EARG, "%s: array too large", path);
    size_t head_len = mlp_npy_header(head, sizeof head, shape, ndim);
    if (head_len == 0)
        return mlp_fail(err, MLP_EARG, "%s: %zu dimensions, at most %d", path, ndim,
                        MLP_NPY_MAX_DIMS);

    FILE *f = fopen(path, "wb");
    if (!f)
        return mlp_fail(err, MLP_EIO, "%s: %s", path, strerror(errno));
    bool ok = fwrite(head, 1, head_len, f) == head_len;
    for (size_t i = 0; ok && i < n; i += CHUNK) {
        size_t k = n - i < CHUNK ? n - i : CHUNK;
        for (size_t q = 0; q < k; q++) {
            uint32_t bits;
            memcpy(&bits, &data[i + q], sizeof bits);
            mlp_put_u32(out + 4 * q, bits);
        }
        ok = fwrite(out, 1, 4 * k, f) == 4 * k;
    }
    int saved = errno;
    if (fclose(f) != 0 || !ok)
        return mlp_fail(err, MLP_EIO, "%s: write failed: %s", path, strerror(ok ? errno : saved));
    return MLP_OK;
}
