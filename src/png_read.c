/*
 * png_read: the PNG decoder over bytes in memory, and the file loader around it (what is
 * accepted and refused is png.h's). Three steps, each finished before the next starts:
 *
 *  1. walk(): every chunk's length, type and CRC-32, their order, IHDR's fields, PLTE and
 *     tRNS; the IDAT chunks are only located. Nothing is allocated.
 *  2. measure(): the Adam7 passes (one pass when not interlaced) and the bytes of filtered
 *     rows that IHDR implies, in checked arithmetic; then whether the compressed data could
 *     hold that many, and whether they and the pixels fit in memory.
 *  3. inflate_rows(), unfilter(), to_grey(): the IDAT data decompressed to exactly that many
 *     bytes, the filters undone pass by pass in place, each pixel turned to grey.
 *
 * Buffers: the IDAT data (zlen bytes), a view into the file when it is one chunk, else
 * the chunks' data copied end to end; raw (raw_len bytes), the decompressed rows: pass 0's
 * rows, then pass 1's, ..., each a filter byte then `stride` bytes of samples packed most
 * significant bit first; px (height, width), the image.
 */
#include "png.h"
#include "inflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_U31 0x7fffffffu /* the largest chunk length, width or height PNG allows */

/* Adam7 (PNG 3 section 8.2): pass p holds columns x0 + k dx of rows y0 + k dy. */
static const uint8_t adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

/* The colour types: samples per pixel, and the bit depths allowed (bit d set: depth d). */
static const struct {
    const char *what; /* NULL: no such type */
    unsigned channels;
    uint32_t depths;
} colour_types[7] = {
    {"greyscale", 1, 1u << 1 | 1u << 2 | 1u << 4 | 1u << 8 | 1u << 16},
    {NULL, 0, 0},
    {"RGB", 3, 1u << 8 | 1u << 16},
    {"palette", 1, 1u << 1 | 1u << 2 | 1u << 4 | 1u << 8},
    {"grey + alpha", 2, 1u << 8 | 1u << 16},
    {NULL, 0, 0},
    {"RGBA", 4, 1u << 8 | 1u << 16},
};

typedef struct {
    size_t x0, y0, dx, dy;
    size_t w, h;   /* pixels in each of its rows, rows; either may be 0 (an empty pass) */
    size_t stride; /* bytes of samples in a row, after its filter byte */
    size_t off;    /* where its first row starts in raw */
} pass;

/* What the chunks say, then the image's geometry. */
typedef struct {
    const char *name;
    mlp_error *err;
    size_t width, height;
    unsigned depth, colour, interlace, channels;
    size_t n_plte, n_trns; /* palette entries; tRNS bytes */
    uint8_t plte[256][3];
    uint8_t alpha[256];        /* the palette's alpha: tRNS, then 255 */
    unsigned key[3];           /* tRNS of types 0 (key[0]) and 2: the transparent colour */
    size_t idat, n_idat, zlen; /* offset of the first IDAT chunk; chunks; data bytes */
    pass passes[7];
    size_t n_passes, raw_len;
} png;

/* One chunk, its length and CRC checked. */
typedef struct {
    char type[5];
    const unsigned char *data; /* (n) */
    size_t n, pos, end;        /* offsets of its length field and of the byte after it */
} chunk;

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static bool is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ---------------------------------------------------------------- chunks */

static mlp_status check_signature(const unsigned char *d, size_t len, const char *name,
                                  mlp_error *err)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t same = 0; /* bytes that agree with the signature (no memcmp: d may be NULL) */
    while (same < len && same < 8 && d[same] == sig[same])
        same++;
    if (same == 8)
        return MLP_OK;
    if (len == 0)
        return mlp_fail(err, MLP_EFORMAT, "%s: empty file, not a PNG", name);
    if (same == len)
        return mlp_fail(err, MLP_EFORMAT, "%s: truncated: %zu bytes, less than the PNG signature",
                        name, len);
    if (same >= 4)
        /* the line endings of the signature are there to catch text-mode copies */
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: damaged PNG signature (copied as text, changing line endings?)", name);
    return mlp_fail(err, MLP_EFORMAT, "%s: not a PNG file (no PNG signature)", name);
}

/* The chunk at pos, after the one called prev: its length and CRC-32 checked. */
static mlp_status next_chunk(const png *g, const unsigned char *d, size_t len, size_t pos,
                             const char *prev, chunk *c)
{
    const size_t left = len - pos;
    if (left == 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: truncated after chunk %s: no IEND chunk", g->name,
                        prev);
    if (left < 8)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: truncated: %zu bytes of a chunk header at byte %zu (8 needed)",
                        g->name, left, pos);
    const unsigned char *t = d + pos + 4;
    if (!is_letter(t[0]) || !is_letter(t[1]) || !is_letter(t[2]) || !is_letter(t[3]))
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: the chunk at byte %zu has type %02x %02x %02x %02x, not four letters",
                        g->name, pos, t[0], t[1], t[2], t[3]);
    memcpy(c->type, t, 4);
    c->type[4] = '\0';
    uint32_t n = mlp_get_u32be(d + pos);
    if (n > MAX_U31)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk %s: length %u exceeds 2^31 - 1", g->name,
                        c->type, (unsigned)n);
    if (left - 8 < 4 || left - 12 < n)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: truncated: chunk %s at byte %zu needs %zu bytes, %zu are left",
                        g->name, c->type, pos, (size_t)n + 12, left);
    c->data = d + pos + 8;
    c->n = n;
    c->pos = pos;
    c->end = pos + 12 + n;
    if (mlp_crc32(0, t, 4 + c->n) != mlp_get_u32be(c->data + n))
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk %s: CRC mismatch", g->name, c->type);
    return MLP_OK;
}

/* Refuses a side of 0 or one larger than PNG or this reader allows. */
static mlp_status check_side(const png *g, const char *what, uint32_t v)
{
    if (v == 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: %s 0: an image has at least one pixel", g->name,
                        what);
    if (v > MAX_U31)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: %s %u exceeds 2^31 - 1, the most PNG allows",
                        g->name, what, (unsigned)v);
    if (v > MLP_PNG_MAX_SIDE)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: %s %u exceeds %u, the most this reader takes",
                        g->name, what, (unsigned)v, MLP_PNG_MAX_SIDE);
    return MLP_OK;
}

/* "1, 2, 4, 8 or 16": the depths of mask, for messages. */
static const char *depth_list(char *buf, size_t cap, uint32_t mask)
{
    size_t used = 0, left = 0;
    for (unsigned k = 1; k <= 16; k++)
        left += (mask >> k) & 1;
    buf[0] = '\0';
    for (unsigned k = 1; k <= 16 && used < cap; k++) {
        if (!((mask >> k) & 1))
            continue;
        left--;
        used += (size_t)snprintf(buf + used, cap - used, "%u%s", k,
                                 left > 1    ? ", "
                                 : left == 1 ? " or "
                                             : "");
    }
    return buf;
}

static mlp_status on_ihdr(png *g, const chunk *c)
{
    mlp_status st;
    if (c->n != 13)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk IHDR: %zu bytes, should be 13", g->name,
                        c->n);
    const unsigned char *p = c->data;
    uint32_t w = mlp_get_u32be(p), h = mlp_get_u32be(p + 4);
    if ((st = check_side(g, "width", w)) != MLP_OK || (st = check_side(g, "height", h)) != MLP_OK)
        return st;
    g->width = w;
    g->height = h;
    g->depth = p[8];
    g->colour = p[9];
    if (g->colour > 6 || !colour_types[g->colour].what)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: colour type %u does not exist (0, 2, 3, 4 or 6)",
                        g->name, g->colour);
    uint32_t depths = colour_types[g->colour].depths;
    if (g->depth > 16 || !((depths >> g->depth) & 1)) {
        char list[32];
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: bit depth %u is not allowed with colour type %u (%s): only %s",
                        g->name, g->depth, g->colour, colour_types[g->colour].what,
                        depth_list(list, sizeof list, depths));
    }
    g->channels = colour_types[g->colour].channels;
    if (p[10] != 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: compression method %u, only 0 (deflate) exists",
                        g->name, p[10]);
    if (p[11] != 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: filter method %u, only 0 exists", g->name, p[11]);
    if (p[12] > 1)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: interlace method %u, only 0 (none) and 1 (Adam7) exist", g->name,
                        p[12]);
    g->interlace = p[12];
    return MLP_OK;
}

static mlp_status on_plte(png *g, const chunk *c)
{
    if (g->colour == 0 || g->colour == 4)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk PLTE in a greyscale image", g->name);
    if (g->n_plte)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk PLTE: repeated", g->name);
    if (g->n_idat)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk PLTE after IDAT", g->name);
    if (g->n_trns)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk PLTE after tRNS", g->name);
    if (c->n == 0 || c->n % 3 != 0 || c->n > 3 * 256)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: chunk PLTE: %zu bytes, not 1 to 256 entries of 3 bytes", g->name,
                        c->n);
    g->n_plte = c->n / 3;
    if (g->colour == 3 && g->n_plte > (size_t)1 << g->depth)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: chunk PLTE: %zu entries, more than a %u-bit index can reach", g->name,
                        g->n_plte, g->depth);
    memcpy(g->plte, c->data, c->n);
    return MLP_OK;
}

static mlp_status on_trns(png *g, const chunk *c)
{
    if (g->colour == 4 || g->colour == 6)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: chunk tRNS in an image with an alpha channel (colour type %u)",
                        g->name, g->colour);
    if (g->n_trns)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk tRNS: repeated", g->name);
    if (g->n_idat)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk tRNS after IDAT", g->name);
    if (g->colour == 3) {
        if (!g->n_plte)
            return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk tRNS before PLTE", g->name);
        if (c->n == 0 || c->n > g->n_plte)
            return mlp_fail(g->err, MLP_EFORMAT,
                            "%s: chunk tRNS: %zu bytes, should be 1 to %zu (one per palette "
                            "entry)",
                            g->name, c->n, g->n_plte);
        memcpy(g->alpha, c->data, c->n);
    } else {
        size_t want = g->colour == 0 ? 2 : 6;
        if (c->n != want)
            return mlp_fail(g->err, MLP_EFORMAT,
                            "%s: chunk tRNS: %zu bytes, should be %zu for colour type %u", g->name,
                            c->n, want, g->colour);
        for (size_t k = 0; k < want / 2; k++)
            g->key[k] = be16(c->data + 2 * k);
    }
    g->n_trns = c->n;
    return MLP_OK;
}

/* One chunk after IHDR. *idat_done: a chunk other than IDAT has followed an IDAT. */
static mlp_status on_chunk(png *g, const chunk *c, bool *idat_done)
{
    if (strcmp(c->type, "IDAT") == 0) {
        if (*idat_done)
            return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk IDAT: IDAT chunks are not consecutive",
                            g->name);
        if (g->n_idat++ == 0)
            g->idat = c->pos;
        g->zlen += c->n; /* cannot wrap: it counts bytes of the file */
        return MLP_OK;
    }
    *idat_done = g->n_idat > 0;
    if (strcmp(c->type, "IHDR") == 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk IHDR: repeated (it comes once, first)",
                        g->name);
    if (strcmp(c->type, "PLTE") == 0)
        return on_plte(g, c);
    if (strcmp(c->type, "tRNS") == 0)
        return on_trns(g, c);
    if (strcmp(c->type, "IEND") == 0 && c->n != 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: chunk IEND: %zu bytes of data, should be empty",
                        g->name, c->n);
    if (strcmp(c->type, "IEND") != 0 && !(c->type[0] & 0x20))
        /* bit 5 of the first letter clear (upper case): a decoder must understand it */
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: chunk %s: an unknown critical chunk, the image cannot be decoded "
                        "without it",
                        g->name, c->type);
    return MLP_OK; /* IEND, or ancillary: skipped (see png.h) */
}

/* Step 1: from the signature to IEND. */
static mlp_status walk(png *g, const unsigned char *d, size_t len)
{
    mlp_status st;
    chunk c;
    bool idat_done = false;
    if ((st = check_signature(d, len, g->name, g->err)) != MLP_OK ||
        (st = next_chunk(g, d, len, 8, "signature", &c)) != MLP_OK)
        return st;
    if (strcmp(c.type, "IHDR") != 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: the first chunk is %s, not IHDR", g->name,
                        c.type);
    if ((st = on_ihdr(g, &c)) != MLP_OK)
        return st;
    memset(g->alpha, 255, sizeof g->alpha);
    do {
        char prev[5];
        memcpy(prev, c.type, sizeof prev);
        if ((st = next_chunk(g, d, len, c.end, prev, &c)) != MLP_OK ||
            (st = on_chunk(g, &c, &idat_done)) != MLP_OK)
            return st;
    } while (strcmp(c.type, "IEND") != 0);
    if (c.end != len)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: %zu bytes after the IEND chunk", g->name,
                        len - c.end);
    if (!g->n_idat)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: no IDAT chunk: the file has no image data",
                        g->name);
    if (g->colour == 3 && !g->n_plte)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: colour type 3 (palette) without a PLTE chunk",
                        g->name);
    return MLP_OK;
}

/* ---------------------------------------------------------------- sizes */

/* Step 2: the passes and raw_len; false if a size does not fit in a size_t. */
static bool measure(png *g)
{
    const size_t bits = (size_t)g->channels * g->depth; /* per pixel: 1 to 64 */
    g->n_passes = g->interlace ? 7 : 1;
    g->raw_len = 0;
    for (size_t p = 0; p < g->n_passes; p++) {
        pass *s = &g->passes[p];
        static const uint8_t whole[4] = {0, 0, 1, 1};
        const uint8_t *a = g->interlace ? adam7[p] : whole;
        size_t row_bits, rows;
        s->x0 = a[0];
        s->y0 = a[1];
        s->dx = a[2];
        s->dy = a[3];
        s->w = g->width > s->x0 ? (g->width - s->x0 + s->dx - 1) / s->dx : 0;
        s->h = g->height > s->y0 ? (g->height - s->y0 + s->dy - 1) / s->dy : 0;
        if (s->w == 0)
            s->h = 0; /* an empty pass has no rows, so no filter bytes either */
        if (!mlp_mul_size(s->w, bits, &row_bits))
            return false;
        s->stride = row_bits / 8 + (row_bits % 8 != 0);
        s->off = g->raw_len;
        if (!mlp_mul_size(s->stride + 1, s->h, &rows) ||
            !mlp_add_size(g->raw_len, rows, &g->raw_len))
            return false;
    }
    return true;
}

/* Refuses, before anything is allocated, an image the compressed data cannot hold or the
 * machine cannot: the peak is the decompressed rows beside the larger of the IDAT copy
 * (while decompressing) and the pixels (while converting). */
static mlp_status check_sizes(png *g)
{
    size_t inflatable, px_bytes, peak;
    if (!measure(g) || !mlp_mul_size(g->width, g->height, &px_bytes) ||
        !mlp_mul_size(px_bytes, sizeof(float), &px_bytes) || g->raw_len == SIZE_MAX)
        return mlp_fail(g->err, MLP_ENOMEM, "%s: a %zux%zu image is too large to hold", g->name,
                        g->width, g->height);
    if (g->zlen < 6) /* the 2-byte zlib header and the Adler-32 after the deflate data */
        return mlp_fail(g->err, MLP_EFORMAT, "%s: IDAT: %zu bytes, too short for a zlib stream",
                        g->name, g->zlen);
    if (mlp_mul_size(g->zlen - 6, MLP_INFLATE_MAX_RATIO, &inflatable) && inflatable < g->raw_len)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: IDAT: %zu bytes of compressed data cannot hold the %zu bytes of rows "
                        "a %zux%zu image needs",
                        g->name, g->zlen, g->raw_len, g->width, g->height);
    size_t other = g->n_idat > 1 && g->zlen > px_bytes ? g->zlen : px_bytes;
    if (!mlp_add_size(g->raw_len + 1, other, &peak))
        peak = SIZE_MAX;
    char what[sizeof g->err->msg];
    snprintf(what, sizeof what, "%s: a %zux%zu image", g->name, g->width, g->height);
    return mlp_mem_check(peak, what, g->err);
}

/* ---------------------------------------------------------------- decoding */

/* RFC 1950's two header bytes. */
static mlp_status check_zlib_header(const png *g, const unsigned char *z)
{
    if ((z[0] & 15) != 8)
        return mlp_fail(g->err, MLP_EFORMAT,
                        "%s: IDAT: zlib compression method %u, only 8 (deflate) exists", g->name,
                        z[0] & 15u);
    if (z[0] >> 4 > 7)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: IDAT: zlib window of 2^%u bytes, over 32 KiB",
                        g->name, (z[0] >> 4) + 8u);
    if ((z[0] << 8 | z[1]) % 31 != 0)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: IDAT: zlib header check bits are wrong", g->name);
    if (z[1] & 0x20)
        return mlp_fail(g->err, MLP_EFORMAT, "%s: IDAT: zlib preset dictionary (PNG has none)",
                        g->name);
    return MLP_OK;
}

/* The zlen bytes of IDAT data, deflate stream at z + 2, into *raw: exactly raw_len bytes,
 * then the Adler-32 of them, then the end of the data. */
static mlp_status inflate_zlib(const png *g, const unsigned char *z, unsigned char **raw)
{
    mlp_status st;
    size_t got, used;
    char zname[sizeof g->err->msg];
    if ((st = check_zlib_header(g, z)) != MLP_OK)
        return st;
    snprintf(zname, sizeof zname, "%s: IDAT", g->name);
    /* one byte more than IHDR implies proves the data too long without decoding the rest */
    st = mlp_inflate_prefix(z + 2, g->zlen - 2, g->raw_len + 1, zname, raw, &got, &used, g->err);
    if (st != MLP_OK)
        return st;
    const size_t left = g->zlen - 2 - used; /* after the deflate stream, when it ended */
    if (got > g->raw_len)
        st = mlp_fail(g->err, MLP_EFORMAT,
                      "%s: IDAT: the image data decompresses to more than the %zu bytes IHDR "
                      "implies",
                      g->name, g->raw_len);
    else if (got < g->raw_len)
        st = mlp_fail(g->err, MLP_EFORMAT,
                      "%s: IDAT: the image data decompresses to %zu bytes, IHDR implies %zu",
                      g->name, got, g->raw_len);
    else if (left < 4)
        st = mlp_fail(g->err, MLP_EFORMAT,
                      "%s: IDAT: truncated: no Adler-32 after the deflate data", g->name);
    else if (mlp_get_u32be(z + 2 + used) != mlp_png_adler32(1, *raw, got))
        st = mlp_fail(g->err, MLP_EFORMAT, "%s: IDAT: Adler-32 mismatch: the image data is damaged",
                      g->name);
    else if (left > 4)
        st = mlp_fail(g->err, MLP_EFORMAT, "%s: IDAT: %zu bytes after the end of the zlib stream",
                      g->name, left - 4);
    if (st != MLP_OK) {
        free(*raw);
        *raw = NULL;
    }
    return st;
}

/* The IDAT data as one run of bytes (a view when there is one chunk), decompressed. */
static mlp_status inflate_rows(const png *g, const unsigned char *d, unsigned char **raw)
{
    unsigned char *copy = NULL;
    const unsigned char *z = d + g->idat + 8;
    if (g->n_idat > 1) {
        if (!(copy = malloc(g->zlen)))
            return mlp_fail(g->err, MLP_ENOMEM, "%s: out of memory for %zu bytes of IDAT data",
                            g->name, g->zlen);
        /* walk() checked that the chunks are consecutive and whole */
        for (size_t pos = g->idat, k = 0, at = 0; k < g->n_idat; k++) {
            size_t n = mlp_get_u32be(d + pos);
            if (n)
                memcpy(copy + at, d + pos + 8, n);
            at += n;
            pos += 12 + n;
        }
        z = copy;
    }
    mlp_status st = inflate_zlib(g, z, raw);
    free(copy);
    return st;
}

/* The Paeth predictor (PNG 3 section 9.4): whichever of left, up, upper left is nearest to
 * left + up - upper left, in that order on ties. */
static unsigned paeth(unsigned a, unsigned b, unsigned c)
{
    int p = (int)a + (int)b - (int)c;
    int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the filter of one row (n bytes at x) given the row above (NULL for a pass's first
 * row, which counts as zeros); bpp: bytes per pixel, at least 1. */
static void unfilter_row(unsigned type, unsigned char *x, const unsigned char *up, size_t n,
                         size_t bpp)
{
    for (size_t i = 0; i < n; i++) {
        unsigned a = i >= bpp ? x[i - bpp] : 0, b = up ? up[i] : 0;
        unsigned c = up && i >= bpp ? up[i - bpp] : 0;
        switch (type) {
        case 1: /* Sub */
            x[i] = (unsigned char)(x[i] + a);
            break;
        case 2: /* Up */
            x[i] = (unsigned char)(x[i] + b);
            break;
        case 3: /* Average, of the unwrapped sum */
            x[i] = (unsigned char)(x[i] + ((a + b) >> 1));
            break;
        case 4:
            x[i] = (unsigned char)(x[i] + paeth(a, b, c));
            break;
        default: /* 0, None */
            return;
        }
    }
}

/* Undoes the filters of every row of every pass, in place in raw. */
static mlp_status unfilter(const png *g, unsigned char *raw)
{
    const size_t bpp = ((size_t)g->channels * g->depth + 7) / 8;
    for (size_t p = 0; p < g->n_passes; p++) {
        const pass *s = &g->passes[p];
        const unsigned char *up = NULL;
        for (size_t y = 0; y < s->h; y++) {
            unsigned char *row = raw + s->off + y * (s->stride + 1);
            if (row[0] > 4) {
                if (g->interlace)
                    return mlp_fail(g->err, MLP_EFORMAT,
                                    "%s: Adam7 pass %zu, row %zu: filter type %u does not exist "
                                    "(0 to 4)",
                                    g->name, p + 1, y, row[0]);
                return mlp_fail(g->err, MLP_EFORMAT,
                                "%s: row %zu: filter type %u does not exist (0 to 4)", g->name, y,
                                row[0]);
            }
            unfilter_row(row[0], row + 1, up, s->stride, bpp);
            up = row + 1;
        }
    }
    return MLP_OK;
}

/* Sample k of a defiltered row of samples of depth bits, packed most significant first. */
static unsigned sample(const unsigned char *row, size_t k, unsigned depth)
{
    if (depth == 16)
        return (unsigned)row[2 * k] << 8 | row[2 * k + 1];
    if (depth == 8)
        return row[k];
    size_t bit = k * depth;
    return (row[bit / 8] >> (8 - depth - bit % 8)) & ((1u << depth) - 1);
}

/* y / ymax composited onto white with alpha A / amax: (A y + (amax - A) ymax) / (amax ymax).
 * Every term is an integer below 2^53, so the one division is the only rounding, grey
 * without alpha is exactly y / ymax, and the result never leaves [0, 1]. */
static float over_white(uint64_t y, uint64_t ymax, uint64_t A, uint64_t amax)
{
    return (float)((double)(A * y + (amax - A) * ymax) / (double)(amax * ymax));
}

/* Rec. 601 luma weights, times 1000 (see png.h) */
static uint64_t luma(unsigned r, unsigned g, unsigned b)
{
    return 299u * (uint64_t)r + 587u * (uint64_t)g + 114u * (uint64_t)b;
}

/* Row j of pass s, defiltered, into its pixels of px (height, width); pal: the palette's
 * grey values. */
static mlp_status row_to_grey(const png *g, const pass *s, const unsigned char *row, size_t j,
                              const float *pal, float *px)
{
    const unsigned d = g->depth, max = (1u << d) - 1;
    const bool key = g->n_trns > 0;
    const size_t y = s->y0 + j * s->dy;
    float *out = px + y * g->width + s->x0;
    for (size_t i = 0; i < s->w; i++, out += s->dx) {
        unsigned v = sample(row, i * g->channels, d), r, gr, b;
        switch (g->colour) {
        case 0:
            *out = key && v == g->key[0] ? 1.0f : over_white(v, max, 1, 1);
            break;
        case 2:
            r = v;
            gr = sample(row, 3 * i + 1, d);
            b = sample(row, 3 * i + 2, d);
            *out = key && r == g->key[0] && gr == g->key[1] && b == g->key[2]
                       ? 1.0f
                       : over_white(luma(r, gr, b), 1000u * max, 1, 1);
            break;
        case 3:
            if (v >= g->n_plte)
                return mlp_fail(g->err, MLP_EFORMAT,
                                "%s: palette index %u at row %zu, column %zu: the palette has %zu "
                                "entries",
                                g->name, v, y, s->x0 + i * s->dx, g->n_plte);
            *out = pal[v];
            break;
        case 4:
            *out = over_white(v, max, sample(row, 2 * i + 1, d), max);
            break;
        default: /* 6 */
            *out = over_white(luma(v, sample(row, 4 * i + 1, d), sample(row, 4 * i + 2, d)),
                              1000u * max, sample(row, 4 * i + 3, d), max);
        }
    }
    return MLP_OK;
}

/* Every pass's rows, defiltered, into px (height, width): each pixel is written once. */
static mlp_status to_grey(const png *g, const unsigned char *raw, float *px)
{
    float pal[256];
    for (size_t k = 0; k < g->n_plte; k++)
        pal[k] = over_white(luma(g->plte[k][0], g->plte[k][1], g->plte[k][2]), 255000u, g->alpha[k],
                            255u);
    for (size_t p = 0; p < g->n_passes; p++) {
        const pass *s = &g->passes[p];
        for (size_t j = 0; j < s->h; j++) {
            mlp_status st = row_to_grey(g, s, raw + s->off + j * (s->stride + 1) + 1, j, pal, px);
            if (st != MLP_OK)
                return st;
        }
    }
    return MLP_OK;
}

/* ---------------------------------------------------------------- entry points */

mlp_status mlp_png_decode(mlp_png_image *img, const unsigned char *data, size_t len,
                          const char *name, mlp_error *err)
{
    png g = {.name = name, .err = err};
    unsigned char *raw = NULL;
    mlp_status st;
    memset(img, 0, sizeof *img);
    if ((st = walk(&g, data, len)) != MLP_OK || (st = check_sizes(&g)) != MLP_OK ||
        (st = inflate_rows(&g, data, &raw)) != MLP_OK || (st = unfilter(&g, raw)) != MLP_OK)
        goto out;
    /* allocated only once the data has proved to hold the whole image */
    img->px = mlp_alloc_array(g.width * g.height, sizeof *img->px);
    if (!img->px) {
        st = mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zux%zu pixels", name, g.width,
                      g.height);
        goto out;
    }
    img->width = g.width;
    img->height = g.height;
    if ((st = to_grey(&g, raw, img->px)) != MLP_OK)
        mlp_png_image_free(img);
out:
    free(raw);
    return st;
}

mlp_status mlp_png_load(mlp_png_image *img, const char *path, mlp_error *err)
{
    unsigned char *buf;
    size_t len;
    memset(img, 0, sizeof *img);
    mlp_status st =
        mlp_read_input(path, MLP_PNG_MAX_BYTES, "an image to classify", &buf, &len, err);
    if (st != MLP_OK)
        return st;
    st = mlp_png_decode(img, buf, len, path, err);
    free(buf);
    return st;
}

void mlp_png_image_free(mlp_png_image *img)
{
    free(img->px);
    memset(img, 0, sizeof *img);
}
