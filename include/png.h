/*
 * png: writes PNG files (www.w3.org/TR/png-3/) with the C library alone.
 *
 * 8-bit greyscale (colour type 0) or RGB (colour type 2), no interlace; every row starts with
 * filter byte 0 (none). The IDAT data is a zlib stream (RFC 1950) of stored, uncompressed
 * deflate blocks (RFC 1951 section 3.2.4: a header byte, LEN and its complement NLEN, then up
 * to 65,535 bytes as they are), so no compressor is needed: a file is about as large as its
 * pixels, and any viewer opens it. Checksums: CRC-32 over each chunk's type and data
 * (mlp_crc32 in util.h), Adler-32 over the uncompressed bytes at the end of the zlib stream.
 *
 *   signature  89 50 4e 47 0d 0a 1a 0a
 *   chunk      u32be length | 4-byte type | data | u32be CRC-32 of type and data
 *   IHDR       u32be width, u32be height, bit depth 8, colour type, 0, 0, 0
 *   IDAT ...   the zlib stream, cut into chunks of at most MLP_PNG_IDAT_MAX bytes
 *   IEND       empty
 */
#ifndef MLP_PNG_H
#define MLP_PNG_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define MLP_PNG_IDAT_MAX   (1u << 20) /* bytes of zlib stream per IDAT chunk */
#define MLP_PNG_STORED_MAX 65535u     /* bytes per stored deflate block */
#define MLP_PNG_MAX_SIDE   (1u << 24) /* pixels in a row or a column */

/* Adler-32 (RFC 1950 section 8.2) of len bytes, continuing from adler (1 to start). */
uint32_t mlp_png_adler32(uint32_t adler, const void *data, size_t len);

/* Encodes (height, width, channels) 8-bit samples, channels 1 (grey) or 3 (red, green,
 * blue), rows top to bottom, into a new buffer *out of *len bytes that the caller frees. */
mlp_status mlp_png_encode(unsigned char **out, size_t *len, const uint8_t *px, size_t width,
                          size_t height, size_t channels, mlp_error *err);

/* The same, written to path. */
mlp_status mlp_png_save(const char *path, const uint8_t *px, size_t width, size_t height,
                        size_t channels, mlp_error *err);

#endif
