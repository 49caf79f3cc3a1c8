/*
 * png: the writer (the reader is png_read.c): the PNG container, a zlib stream of stored
 * deflate blocks, and Adler-32, which the reader checks too. The encoder computes the exact
 * size first (with checked arithmetic), allocates once and fills the buffer front to back.
 */
#include "png.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t mlp_png_adler32(uint32_t adler, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (len > 0) {
        /* 5552 bytes is the most that cannot overflow b before the modulo (RFC 1950's NMAX) */
        size_t n = len < 5552 ? len : 5552;
        len -= n;
        while (n--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

static unsigned char *put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

/* Writes a chunk of type and the n data bytes at data (which may already sit at p + 8). */
static unsigned char *put_chunk(unsigned char *p, const char *type, const unsigned char *data,
                                size_t n)
{
    put_be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n > 0 && data != p + 8)
        memmove(p + 8, data, n);
    uint32_t crc = mlp_crc32(0, p + 4, 4 + n);
    return put_be32(p + 8 + n, crc);
}

/* The sizes of one encoding, in bytes: row and raw, one filtered row (the filter byte and
 * width * channels samples) and all of them; zlen, the zlib stream; total, the file. */
typedef struct {
    size_t row, raw, zlen, total;
} sizes;

/* False if a size does not fit in a size_t. */
static bool measure(sizes *s, size_t width, size_t height, size_t channels)
{
    size_t blocks, n_idat;
    /* raw: the filtered rows; zlen: 2-byte header, 5 bytes per block, data, Adler-32 */
    if (!mlp_mul_size(width, channels, &s->row) || !mlp_add_size(s->row, 1, &s->row) ||
        !mlp_mul_size(s->row, height, &s->raw))
        return false;
    blocks = s->raw / MLP_PNG_STORED_MAX + (s->raw % MLP_PNG_STORED_MAX != 0);
    if (!mlp_mul_size(blocks, 5, &s->zlen) || !mlp_add_size(s->zlen, s->raw + 6, &s->zlen) ||
        s->raw > SIZE_MAX - 6)
        return false;
    n_idat = s->zlen / MLP_PNG_IDAT_MAX + (s->zlen % MLP_PNG_IDAT_MAX != 0);
    /* signature, IHDR (12 + 13), IDAT chunks (12 each + the stream), IEND (12) */
    if (!mlp_mul_size(n_idat, 12, &s->total) ||
        !mlp_add_size(s->total, s->zlen + 8 + 25 + 12, &s->total) || s->zlen > SIZE_MAX - 45)
        return false;
    return true;
}

/* The zlib stream of the filtered rows of px into z (s->zlen bytes). */
static void put_zlib(unsigned char *z, const uint8_t *px, const sizes *s)
{
    const size_t row = s->row, raw = s->raw;
    unsigned char *q = z;
    *q++ = 0x78; /* CMF: deflate, 32K window */
    *q++ = 0x01; /* FLG: no dictionary, fastest; (0x78 << 8 | 0x01) % 31 == 0 */
    /* The filtered rows are a virtual stream of raw bytes: row y is a 0 (filter type none)
     * then its samples. Each stored block copies the next n bytes of it. */
    uint32_t adler = 1;
    for (size_t pos = 0; pos < raw;) {
        size_t n = raw - pos < MLP_PNG_STORED_MAX ? raw - pos : MLP_PNG_STORED_MAX;
        *q++ = pos + n == raw ? 1 : 0; /* BFINAL on the last block; BTYPE 00, stored */
        *q++ = (unsigned char)n;       /* LEN, little-endian, then NLEN = ~LEN */
        *q++ = (unsigned char)(n >> 8);
        *q++ = (unsigned char)~n;
        *q++ = (unsigned char)(~n >> 8);
        unsigned char *data = q;
        for (size_t end = pos + n; pos < end;) {
            size_t y = pos / row, x = pos % row;
            if (x == 0) {
                *q++ = 0;
                pos++;
                continue;
            }
            size_t run = row - x < end - pos ? row - x : end - pos;
            memcpy(q, px + y * (row - 1) + (x - 1), run);
            q += run;
            pos += run;
        }
        adler = mlp_png_adler32(adler, data, n);
    }
    put_be32(q, adler);
}

/* The file into buf: signature, IHDR, the zlen bytes of z cut into IDAT chunks, IEND.
 * Returns the end of what was written. */
static unsigned char *put_file(unsigned char *buf, size_t width, size_t height, size_t channels,
                               const unsigned char *z, size_t zlen)
{
    unsigned char *p = buf;
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p += 8;
    unsigned char ihdr[13];
    put_be32(ihdr, (uint32_t)width);
    put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;                        /* bits per sample */
    ihdr[9] = channels == 3 ? 2 : 0;    /* colour type: truecolour or greyscale */
    ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
    p = put_chunk(p, "IHDR", ihdr, 13);
    for (size_t off = 0; off < zlen; off += MLP_PNG_IDAT_MAX) {
        size_t n = zlen - off < MLP_PNG_IDAT_MAX ? zlen - off : MLP_PNG_IDAT_MAX;
        p = put_chunk(p, "IDAT", z + off, n);
    }
    return put_chunk(p, "IEND", NULL, 0);
}

mlp_status mlp_png_encode(unsigned char **out, size_t *len, const uint8_t *px, size_t width,
                          size_t height, size_t channels, mlp_error *err)
{
    sizes s;
    *out = NULL;
    *len = 0;
    if ((channels != 1 && channels != 3) || width == 0 || height == 0 || width > MLP_PNG_MAX_SIDE ||
        height > MLP_PNG_MAX_SIDE)
        return mlp_fail(err, MLP_EARG, "cannot make a PNG of %zux%zu pixels of %zu channels", width,
                        height, channels);
    if (!measure(&s, width, height, channels))
        return mlp_fail(err, MLP_ENOMEM, "a PNG of %zux%zu pixels is too large", width, height);

    unsigned char *buf = malloc(s.total), *z = NULL;
    /* the zlib stream is built apart, then cut into IDAT chunks */
    if (!buf || !(z = malloc(s.zlen))) {
        free(buf);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for a PNG of %zu bytes", s.total);
    }
    put_zlib(z, px, &s);
    unsigned char *end = put_file(buf, width, height, channels, z, s.zlen);
    free(z);
    *out = buf;
    *len = (size_t)(end - buf);
    return MLP_OK;
}

struct bytes {
    const unsigned char *p;
    size_t n;
};

static mlp_status write_bytes(FILE *f, void *ctx, mlp_error *err)
{
    const struct bytes *b = ctx;
    (void)err; /* a short write is the commit's to report */
    fwrite(b->p, 1, b->n, f);
    return MLP_OK;
}

mlp_status mlp_png_save(const char *path, const uint8_t *px, size_t width, size_t height,
                        size_t channels, mlp_error *err)
{
    unsigned char *buf;
    size_t len;
    mlp_error e;
    mlp_status st = mlp_png_encode(&buf, &len, px, width, height, channels, &e);
    if (st != MLP_OK)
        return mlp_fail(err, st, "%s: %s", path, e.msg);
    struct bytes b = {buf, len};
    st = mlp_output_save("PNG", path, write_bytes, &b, err);
    free(buf);
    return st;
}
