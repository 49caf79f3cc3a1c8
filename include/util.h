/*
 * util: the pieces every module shares and none owns.
 *
 *  - mlp_status / mlp_error: library code never prints or exits; it returns a status and
 *    leaves one line in a caller-owned mlp_error. mlp_fail() formats and returns in one step,
 *    so every failure site is a single statement.
 *  - checked size arithmetic: every count * size taken from a file or a flag goes through
 *    mlp_mul_size()/mlp_add_size(), which refuse to wrap.
 *  - the random number generator: a splitmix64 state the caller owns and passes in, so runs
 *    are reproducible from the seed alone and nothing is global.
 *  - CRC-32 and little-endian field helpers for the model file.
 *  - the UTF-8 check of text that writers (JSON, ONNX) must keep valid.
 */
#ifndef MLP_UTIL_H
#define MLP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    MLP_OK = 0,
    MLP_ENOMEM,   /* an allocation failed or would be too large */
    MLP_EIO,      /* a file could not be opened, read or written */
    MLP_EFORMAT,  /* a file's contents are malformed or inconsistent */
    MLP_EARG,     /* a caller passed values that make no sense together */
    MLP_ESTOP,    /* stopped early because the caller asked (see mlp_sgd_hooks) */
    MLP_ENUMERIC, /* a cost, gradient or parameter became NaN or infinite */
} mlp_status;

typedef struct {
    char msg[256];
} mlp_error;

/* Formats one line into err (if non-NULL) and returns code. */
mlp_status mlp_fail(mlp_error *err, mlp_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static inline bool mlp_mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return false; /* the caller reports it; never wrap */
    *out = a * b;
    return true;
}

static inline bool mlp_add_size(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

/* malloc of n * size bytes, NULL when the product overflows or memory is short. */
void *mlp_alloc_array(size_t n, size_t size);

/* Bytes of physical memory, SIZE_MAX if unknown. Linux lets malloc succeed far beyond what it
 * can later deliver and kills the process when the pages are touched, so anything sized by a
 * file or a flag is compared with this first and refused with the figure. */
size_t mlp_mem_total(void);

/* MLP_OK if `bytes` (what: "the network", "the pixels", ...) fits in physical memory,
 * otherwise MLP_ENOMEM with a message giving both figures. */
mlp_status mlp_mem_check(size_t bytes, const char *what, mlp_error *err);

/* "12.3 MB": a byte count for people, in buf (at least 16 bytes). */
const char *mlp_bytes_text(char *buf, size_t cap, double bytes);

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 if s does not start one: a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate or a code point
 * past U+10FFFF (RFC 3629 section 4). Reads nothing past a NUL. */
size_t mlp_utf8_len(const unsigned char *s);

/* --- random numbers: splitmix64 (Steele, Lea, Flood 2014), state passed by the caller --- */
uint64_t mlp_rng_u64(uint64_t *state);
/* uniform in [0, n), without modulo bias; n > 0 */
uint64_t mlp_rng_below(uint64_t *state, uint64_t n);
/* uniform float in [0, 1) with 24 random bits */
float mlp_rng_uniform(uint64_t *state);
/* A seed for a stream of its own, from a seed and two numbers (say, an epoch and an image):
 * streams for different (a, b) are unrelated, and none depends on how many numbers another
 * stream drew, so work can be split or resumed anywhere. */
uint64_t mlp_rng_derive(uint64_t seed, uint64_t a, uint64_t b);
/* standard normal, Box-Muller; consumes exactly two draws */
double mlp_rng_normal(uint64_t *state);

/* --- CRC-32 (IEEE 802.3, reflected, as in zlib/PNG); crc = 0 to start --- */
uint32_t mlp_crc32(uint32_t crc, const void *data, size_t len);

/* --- little-endian fields, written and read byte by byte, whatever the host --- */
static inline void mlp_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t mlp_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t mlp_get_u32be(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Opens path for reading ("rb"), or returns NULL with "path: reason" in err. Only a regular
 * file is opened: a FIFO or a device is refused without blocking (a FIFO's open would wait
 * for a writer, a device's data never ends). Every reader of a file the user names uses it. */
FILE *mlp_open_input(const char *path, mlp_error *err);

/* The whole file at path (opened by mlp_open_input) into a new buffer *buf of *len bytes that
 * the caller frees, read in growing steps and never past max bytes: a larger file is refused
 * ("path: larger than N MiB: not an image to classify" when what is "an image to classify").
 * *buf is NULL after a failure. */
mlp_status mlp_read_input(const char *path, size_t max, const char *what, unsigned char **buf,
                          size_t *len, mlp_error *err);

/* Monotonic wall-clock seconds, for timings printed to the user. */
double mlp_now(void);

#endif
