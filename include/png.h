/*
 * png: PNG files (www.w3.org/TR/png-3/) with the C library alone: a writer for pictures
 * (png.c) and a reader for images to classify (png_read.c).
 *
 *   signature  89 50 4e 47 0d 0a 1a 0a
 *   chunk      u32be length | 4-byte type | data | u32be CRC-32 of type and data
 *   IHDR       u32be width, u32be height, bit depth, colour type, 0, 0, interlace
 *   IDAT ...   the zlib stream of the filtered rows, cut into chunks
 *   IEND       empty
 *
 * Writing: 8-bit greyscale (colour type 0) or RGB (colour type 2), no interlace; every row
 * starts with filter byte 0 (none). The IDAT data is a zlib stream (RFC 1950) of stored,
 * uncompressed deflate blocks (RFC 1951 section 3.2.4: a header byte, LEN and its complement
 * NLEN, then up to 65,535 bytes as they are), so no compressor is needed: a file is about as
 * large as its pixels, and any viewer opens it. Checksums: CRC-32 over each chunk's type and
 * data (mlp_crc32 in util.h), Adler-32 over the uncompressed bytes at the end of the zlib
 * stream; IDAT chunks of at most MLP_PNG_IDAT_MAX bytes.
 *
 * Reading: every colour type at every bit depth the standard allows, to one grey value per
 * pixel in [0, 1] (0 black, 1 white):
 *   0  greyscale        1, 2, 4, 8, 16 bits   grey = sample / (2^depth - 1)
 *   2  RGB              8, 16                 grey = (299 R + 587 G + 114 B) / 1000
 *   3  palette (PLTE)   1, 2, 4, 8            the entry's RGB (8 bits each), as for type 2
 *   4  grey + alpha     8, 16                 grey, then alpha as below
 *   6  RGBA             8, 16                 as type 2, then alpha as below
 * The RGB weights are Rec. 601 luma's (ITU-R BT.601, the weights of most "convert to
 * greyscale" commands), applied to the stored values as they are. Alpha a = A / (2^depth - 1)
 * (8 bits for a palette entry) is composited onto white: out = a * grey + (1 - a), so a
 * transparent pixel is 1.0 whatever its colour, as on a page. tRNS gives a palette's
 * entries their alpha (entries past its end are opaque) and, for types 0 and 2, the one
 * grey level or RGB colour that is fully transparent (so white). 16-bit samples are divided
 * by 65535. Adam7 interlacing and the five filter types (None, Sub, Up, Average, Paeth)
 * are undone. Gamma and colour chunks (gAMA, cHRM, sRGB, iCCP, ...), the background colour
 * (bKGD), text and every other ancillary chunk are skipped (their CRCs are still checked):
 * the samples are used as stored, as an image editor's colour picker shows them.
 *
 * Refused, each with one line naming the file and the reason, before anything sized by the
 * file is allocated: a missing or damaged signature; a chunk that runs past the end, whose
 * length exceeds 2^31 - 1 or whose type is not four letters; a CRC-32 mismatch in any chunk;
 * IHDR not first, not 13 bytes or repeated; a width or height of 0, above 2^31 - 1 or above
 * MLP_PNG_MAX_SIDE; a bit depth that the colour type does not allow; a compression, filter
 * or interlace method other than 0, 0, 0 or 1; an image that does not fit in memory (pixels
 * and decompressed rows, checked with mlp_mem_check) or that the compressed data is too
 * short ever to hold (deflate expands at most MLP_INFLATE_MAX_RATIO times); PLTE in a grey
 * image, after IDAT, repeated, empty, not a multiple of 3 bytes, or with more entries than
 * the bit depth can index; tRNS of the wrong length, before PLTE, after IDAT, repeated, or
 * in an image that has an alpha channel; IDAT chunks that are not consecutive, or none;
 * an unknown critical chunk (first letter upper case); no IEND, IEND with data, or bytes
 * after it. The IDAT data must be one zlib stream: method 8 (deflate), a window of at most
 * 32 KiB, correct header check bits, no preset dictionary, valid deflate data decompressing
 * to exactly the bytes IHDR implies (decoding stops one byte past that, so a stream that
 * expands without end is never held), the Adler-32 that follows it, and nothing after it.
 * Every row's filter type must be 0 to 4, and every palette index within the palette.
 */
#ifndef MLP_PNG_H
#define MLP_PNG_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define MLP_PNG_IDAT_MAX   (1u << 20)   /* bytes of zlib stream per IDAT chunk */
#define MLP_PNG_STORED_MAX 65535u       /* bytes per stored deflate block */
#define MLP_PNG_MAX_SIDE   (1u << 24)   /* pixels in a row or a column, written or read */
#define MLP_PNG_MAX_BYTES  (256u << 20) /* a larger file is not read */

/* Adler-32 (RFC 1950 section 8.2) of len bytes, continuing from adler (1 to start). */
uint32_t mlp_png_adler32(uint32_t adler, const void *data, size_t len);

/* Encodes (height, width, channels) 8-bit samples, channels 1 (grey) or 3 (red, green,
 * blue), rows top to bottom, into a new buffer *out of *len bytes that the caller frees. */
mlp_status mlp_png_encode(unsigned char **out, size_t *len, const uint8_t *px, size_t width,
                          size_t height, size_t channels, mlp_error *err);

/* The same, written to path. */
mlp_status mlp_png_save(const char *path, const uint8_t *px, size_t width, size_t height,
                        size_t channels, mlp_error *err);

/* A decoded image: (height, width) grey values in [0, 1], rows top to bottom, alpha
 * composited onto white (see above). */
typedef struct {
    size_t width, height;
    float *px; /* (height, width) */
} mlp_png_image;

/* Decodes the len bytes at data into img; name is for messages. On failure img is zeroed
 * and nothing is left allocated. The bytes are untrusted: every field is checked as above,
 * and no byte outside data[0 .. len) is read. */
mlp_status mlp_png_decode(mlp_png_image *img, const unsigned char *data, size_t len,
                          const char *name, mlp_error *err);

/* Reads the file at path (a regular file of at most MLP_PNG_MAX_BYTES) and decodes it. */
mlp_status mlp_png_load(mlp_png_image *img, const char *path, mlp_error *err);

void mlp_png_image_free(mlp_png_image *img); /* safe on a zeroed image */

#endif
