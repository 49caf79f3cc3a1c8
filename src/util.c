/*
 * util: error formatting, checked allocation, the seeded generator, CRC-32, UTF-8, the clock.
 * Nothing here keeps state between calls: the generator's state belongs to the caller.
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

mlp_status mlp_fail(mlp_error *err, mlp_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void *mlp_alloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (!mlp_mul_size(n, size, &bytes))
        return NULL;
    return malloc(bytes ? bytes : 1);
}

size_t mlp_mem_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t total;
    if (pages <= 0 || page <= 0 || !mlp_mul_size((size_t)pages, (size_t)page, &total))
        return SIZE_MAX;
    return total;
}

const char *mlp_bytes_text(char *buf, size_t cap, double bytes)
{
    static const char *const unit[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
    int u = 0;
    while (bytes >= 1000.0 && u < 6) {
        bytes /= 1000.0;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
    return buf;
}

size_t mlp_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) { /* a NUL ends the check before anything past it is read */
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

mlp_status mlp_mem_check(size_t bytes, const char *what, mlp_error *err)
{
    size_t total = mlp_mem_total();
    char need[32], have[32];
    if (bytes <= total)
        return MLP_OK;
    return mlp_fail(err, MLP_ENOMEM,
                    "%s needs %zu bytes (%s), more than this machine's memory (%s)", what, bytes,
                    mlp_bytes_text(need, sizeof need, (double)bytes),
                    mlp_bytes_text(have, sizeof have, (double)total));
}

uint64_t mlp_rng_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t mlp_rng_derive(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t s = seed ^ 0x6a09e667f3bcc909u;
    uint64_t x = mlp_rng_u64(&s) ^ a;
    x = mlp_rng_u64(&x) ^ b;
    return mlp_rng_u64(&x);
}

uint64_t mlp_rng_below(uint64_t *state, uint64_t n)
{
    /* Rejection sampling: draws in the incomplete last block of size n are thrown away,
     * so every value in [0, n) is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = mlp_rng_u64(state);
    } while (r >= limit);
    return r % n;
}

float mlp_rng_uniform(uint64_t *state)
{
    return (float)(mlp_rng_u64(state) >> 40) * (1.0f / 16777216.0f);
}

double mlp_rng_normal(uint64_t *state)
{
    /* u1 in (0, 1] so log() is finite; 53-bit uniforms for the double result. */
    double u1 = ((double)(mlp_rng_u64(state) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(mlp_rng_u64(state) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The byte table of the reflected polynomial 0xedb88320, and the seven tables that let
 * slicing-by-8 (Intel, Kounavis and Berry 2005) fold eight bytes per step: t[k][b] is the
 * CRC of byte b followed by k zero bytes. */
static void crc32_tables(uint32_t t[8][256])
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 1; k < 8; k++)
            t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xff];
}

uint32_t mlp_crc32(uint32_t crc, const void *data, size_t len)
{
    /* Short inputs (model header fields) use a half-byte table of 16 constants, two lookups
     * a byte. Long ones (parameters, decompressed data sets) build the 8 KiB of tables on
     * the stack, a few microseconds, and then run about four times faster; nothing is
     * cached between calls. */
    static const uint32_t nibble[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    const unsigned char *p = data;
    crc = ~crc;
    if (len >= 4096) {
        uint32_t t[8][256];
        crc32_tables(t);
        for (; len >= 8; len -= 8, p += 8) {
            crc ^=
                (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^
                  t[4][crc >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
        }
    }
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 15];
        crc = (crc >> 4) ^ nibble[crc & 15];
    }
    return ~crc;
}

double mlp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

FILE *mlp_open_input(const char *path, mlp_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) {
        mlp_fail(err, MLP_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        mlp_fail(err, MLP_EIO, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *f = NULL;
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 || !(f = fdopen(fd, "rb"))) {
        mlp_fail(err, MLP_EIO, "%s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

mlp_status mlp_read_input(const char *path, size_t max, const char *what, unsigned char **buf,
                          size_t *len, mlp_error *err)
{
    size_t cap = 0;
    mlp_status st = MLP_OK;
    *buf = NULL;
    *len = 0;
    FILE *f = mlp_open_input(path, err);
    if (!f)
        return MLP_EIO;
    for (;;) {
        if (*len == cap) {
            if (cap >= max) {
                st = mlp_fail(err, MLP_EFORMAT, "%s: larger than %zu MiB: not %s", path, max >> 20,
                              what);
                break;
            }
            size_t ncap = cap ? 2 * cap : 1 << 16;
            ncap = ncap < max ? ncap : max;
            unsigned char *nb = realloc(*buf, ncap);
            if (!nb) {
                st = mlp_fail(err, MLP_ENOMEM, "%s: out of memory", path);
                break;
            }
            *buf = nb;
            cap = ncap;
        }
        size_t got = fread(*buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0)
            break;
    }
    if (st == MLP_OK && ferror(f))
        st = mlp_fail(err, MLP_EIO, "%s: read error", path);
    fclose(f);
    if (st != MLP_OK) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}
