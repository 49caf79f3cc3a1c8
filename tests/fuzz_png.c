/*
 * libFuzzer target for the PNG reader: any bytes must give a valid image or a clean refusal,
 * never a crash, an out-of-bounds read or an allocation the bytes do not justify. Each input
 * is decoded as it is, and again with its checksums made right: every chunk's CRC-32, and
 * the Adler-32 after the first IDAT chunk's zlib stream. Most mutations would otherwise stop
 * at the first checksum; the second decoding lets them reach IHDR's fields, the chunk
 * order, the zlib stream, the filters and the pixels. Seeds are small valid files in
 * tests/corpus/png/: every colour type, some interlaced, with tRNS, one in several IDAT
 * chunks. `make fuzz` runs it on a copy of them; by hand (new inputs go to the first
 * directory, so the seeds stay as they are):
 *
 *   make build/fuzz/fuzz_png
 *   mkdir -p build/fuzz/corpus-png && build/fuzz/fuzz_png -max_total_time=60 \
 *       build/fuzz/corpus-png tests/corpus/png
 */
#include "inflate.h"
#include "png.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size)
{
    mlp_png_image img;
    mlp_error err;
    err.msg[0] = '\0';
    if (mlp_png_decode(&img, data, size, "fuzz", &err) == MLP_OK) {
        if (!img.px || img.width == 0 || img.height == 0 || img.width > MLP_PNG_MAX_SIDE ||
            img.height > MLP_PNG_MAX_SIDE)
            abort();
        /* every pixel was written and lies in [0, 1] */
        for (size_t i = 0; i < img.width * img.height; i++)
            if (!(img.px[i] >= 0.0f && img.px[i] <= 1.0f))
                abort();
        mlp_png_image_free(&img);
    } else if (img.px || img.width || strncmp(err.msg, "fuzz: ", 6) != 0 ||
               !memchr(err.msg, '\0', sizeof err.msg) || strchr(err.msg, '\n')) {
        abort(); /* a refusal leaves nothing allocated and says why in one line */
    }
}

static void put_be32(uint8_t *c, uint32_t v)
{
    c[0] = (uint8_t)(v >> 24);
    c[1] = (uint8_t)(v >> 16);
    c[2] = (uint8_t)(v >> 8);
    c[3] = (uint8_t)v;
}

/* Writes, after the zlib stream in the n bytes at z, the Adler-32 of what it decompresses
 * to, when the stream decodes and there is room. */
static void fix_adler(uint8_t *z, size_t n)
{
    unsigned char *out;
    size_t len, used;
    mlp_error err;
    if (n < 6 || mlp_inflate(z + 2, n - 2, 1u << 22, "fuzz", &out, &len, &used, &err) != MLP_OK)
        return;
    if (used <= n - 6)
        put_be32(z + 2 + used, mlp_png_adler32(1, out, len));
    free(out);
}

/* The Adler-32 of the first IDAT chunk's stream, then the CRC-32 of every whole chunk after
 * the signature, recomputed in place. */
static void fix_checksums(uint8_t *d, size_t size)
{
    bool adler = false;
    for (size_t pos = 8; pos + 12 <= size;) {
        size_t n = mlp_get_u32be(d + pos);
        if (n > size - pos - 12)
            break;
        if (!adler && memcmp(d + pos + 4, "IDAT", 4) == 0) {
            fix_adler(d + pos + 8, n);
            adler = true;
        }
        put_be32(d + pos + 8 + n, mlp_crc32(0, d + pos + 4, 4 + n));
        pos += 12 + n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    if (size >= 20) {
        uint8_t *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        fix_checksums(copy, size);
        if (memcmp(copy, data, size) != 0)
            check(copy, size);
        free(copy);
    }
    return 0;
}
