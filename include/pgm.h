/*
 * pgm: Netpbm images (netpbm.sourceforge.net/doc/pgm.html). Reads greyscale PGM in both of
 * its forms, and writes PGM and PPM for pictures:
 *
 *   "P2" or "P5", whitespace, width, height, maxval (each a decimal number, separated by
 *   whitespace; '#' starts a comment that runs to the end of the line), then the raster:
 *     P2 (plain)  height * width decimal samples separated by whitespace
 *     P5 (raw)    exactly one whitespace byte, then height * width samples of one byte, or
 *                 of two bytes, most significant first, when maxval > 255
 *
 * Rows run top to bottom, samples left to right; 0 is black, maxval white. Every header field
 * is checked, and the raster's length against the bytes that are really there, before
 * anything is allocated; a sample above maxval, a truncated raster or anything after the
 * image but whitespace is refused. Other formats (PBM, PPM, PNG, JPEG, ...) are refused with
 * a message that names them. The reader works on bytes in memory, so it can be fuzzed
 * (tests/fuzz_pgm.c).
 */
#ifndef MLP_PGM_H
#define MLP_PGM_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define MLP_PGM_MAX_SIDE  65535u       /* pixels in a row or a column */
#define MLP_PGM_MAX_BYTES (256u << 20) /* a file larger than this is not read */

typedef struct {
    size_t width, height;
    unsigned maxval; /* 1 .. 65535 */
    float *px;       /* (height, width): sample / maxval, in [0, 1] */
} mlp_pgm;

/* Parses the len bytes at data into img (which must be zeroed); name is for messages. */
mlp_status mlp_pgm_parse(mlp_pgm *img, const unsigned char *data, size_t len, const char *name,
                         mlp_error *err);

/* Reads and parses the file at path. */
mlp_status mlp_pgm_load(mlp_pgm *img, const char *path, mlp_error *err);

void mlp_pgm_free(mlp_pgm *img); /* safe on a zeroed image */

/* Writes (height, width, channels) 8-bit samples to path: a P5 PGM for channels == 1, a P6
 * PPM (red, green, blue) for channels == 3; maxval 255. */
mlp_status mlp_pgm_save(const char *path, const uint8_t *px, size_t width, size_t height,
                        size_t channels, mlp_error *err);

#endif
