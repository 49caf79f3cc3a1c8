/*
 * pgm: the PGM reader (P2 and P5) over bytes in memory, the file loader around it, and the
 * P5/P6 writer. Nothing is read beyond len, and nothing is allocated before the raster's
 * length has been checked against the bytes that hold it.
 */
#include "pgm.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A walk over the bytes of an image. */
typedef struct {
    const unsigned char *p;
    size_t len, pos;
    const char *name;
} cursor;

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Skips whitespace and comments; false at the end of the bytes. */
static bool skip_blank(cursor *c)
{
    while (c->pos < c->len) {
        unsigned char ch = c->p[c->pos];
        if (ch == '#') {
            while (c->pos < c->len && c->p[c->pos] != '\n' && c->p[c->pos] != '\r')
                c->pos++;
        } else if (is_space(ch)) {
            c->pos++;
        } else {
            return true;
        }
    }
    return false;
}

/* Reads one decimal number of at most `max` after blanks. It must end at whitespace, a
 * comment or (when at_end_ok) the end of the bytes. */
static mlp_status number(cursor *c, const char *what, unsigned long max, bool at_end_ok,
                         unsigned long *out, mlp_error *err)
{
    if (!skip_blank(c))
        return mlp_fail(err, MLP_EFORMAT, "%s: truncated: no %s", c->name, what);
    unsigned char ch = c->p[c->pos];
    if (ch < '0' || ch > '9')
        return mlp_fail(err, MLP_EFORMAT, "%s: %s is not a number (byte 0x%02x at offset %zu)",
                        c->name, what, ch, c->pos);
    unsigned long v = 0;
    while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
        v = v * 10 + (unsigned long)(c->p[c->pos++] - '0');
        if (v > max)
            return mlp_fail(err, MLP_EFORMAT, "%s: %s is larger than %lu", c->name, what, max);
    }
    if (c->pos == c->len && !at_end_ok)
        return mlp_fail(err, MLP_EFORMAT, "%s: truncated after the %s", c->name, what);
    if (c->pos < c->len && !is_space(c->p[c->pos]) && c->p[c->pos] != '#')
        return mlp_fail(err, MLP_EFORMAT, "%s: %s is followed by byte 0x%02x, not whitespace",
                        c->name, what, c->p[c->pos]);
    *out = v;
    return MLP_OK;
}

/* What a file that is not a PGM image probably is, for the message. */
static const char *other_format(const unsigned char *d, size_t len)
{
    static const struct {
        const char *magic;
        size_t n;
        const char *what;
    } known[] = {
        {"\x89PNG", 4, "a PNG image"},
        {"\xff\xd8\xff", 3, "a JPEG image"},
        {"GIF8", 4, "a GIF image"},
        {"BM", 2, "a BMP image"},
        {"P1", 2, "a PBM (black and white) image"},
        {"P4", 2, "a PBM (black and white) image"},
        {"P3", 2, "a PPM (colour) image"},
        {"P6", 2, "a PPM (colour) image"},
        {"P7", 2, "a PAM image"},
        {"\0\0\x08\x03", 4, "an IDX image file"},
        {"\x1f\x8b", 2, "gzip-compressed"},
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (len >= known[k].n && memcmp(d, known[k].magic, known[k].n) == 0)
            return known[k].what;
    return NULL;
}

/* The header's fields, as read. */
typedef struct {
    bool raw; /* P5; P2 otherwise */
    unsigned long w, h, maxval;
} header;

/* Refuses anything but "P2" or "P5" and whitespace, naming what the bytes probably are. */
static mlp_status check_magic(const unsigned char *data, size_t len, const char *name,
                              mlp_error *err)
{
    if (len < 2 || data[0] != 'P' || (data[1] != '2' && data[1] != '5')) {
        const char *what = other_format(data, len);
        if (what)
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: %s, not a PGM; convert it to PNG or to a greyscale PGM (P2 or P5)",
                            name, what);
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: not a PGM image (a greyscale PGM starts with 'P2' or 'P5')", name);
    }
    if (len > 2 && !is_space(data[2]) && data[2] != '#')
        return mlp_fail(err, MLP_EFORMAT, "%s: not a PGM image (no whitespace after 'P%c')", name,
                        data[1]);
    return MLP_OK;
}

/* Width, height and maxval after the magic; then, for P5, the one whitespace byte before
 * the raster. Checks that the raster can fit in the bytes left, before anything is
 * allocated. */
static mlp_status read_header(cursor *c, header *hd, mlp_error *err)
{
    mlp_status st;
    if ((st = number(c, "width", MLP_PGM_MAX_SIDE, false, &hd->w, err)) != MLP_OK ||
        (st = number(c, "height", MLP_PGM_MAX_SIDE, false, &hd->h, err)) != MLP_OK ||
        (st = number(c, "maxval", 65535, !hd->raw, &hd->maxval, err)) != MLP_OK)
        return st;
    if (hd->w == 0 || hd->h == 0)
        return mlp_fail(err, MLP_EFORMAT, "%s: the image is %lux%lu: empty", c->name, hd->w, hd->h);
    if (hd->maxval == 0)
        return mlp_fail(err, MLP_EFORMAT, "%s: maxval is 0 (must be 1 to 65535)", c->name);

    size_t n = (size_t)hd->w * (size_t)hd->h; /* both <= 65535: cannot overflow a 32-bit size_t */
    if (hd->raw) {
        const size_t bytes = hd->maxval > 255 ? 2 : 1;
        if (!is_space(c->p[c->pos]))
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: maxval must be followed by one whitespace byte, not a comment",
                            c->name);
        c->pos++; /* that byte; the raster starts after it */
        size_t rest = c->len - c->pos;
        if (rest / bytes < n)
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: truncated: a %lux%lu image needs %zu bytes of samples, %zu "
                            "are there",
                            c->name, hd->w, hd->h, n * bytes, rest);
    } else if (c->len - c->pos < n) {
        /* each plain sample takes at least one byte: checked before the allocation */
        return mlp_fail(err, MLP_EFORMAT, "%s: truncated: %lux%lu samples cannot fit in %zu bytes",
                        c->name, hd->w, hd->h, c->len - c->pos);
    }
    return MLP_OK;
}

/* The n = w * h samples into px (n), each divided by maxval. */
static mlp_status read_samples(cursor *c, const header *hd, float *px, mlp_error *err)
{
    const size_t n = (size_t)hd->w * (size_t)hd->h;
    for (size_t i = 0; i < n; i++) {
        unsigned long v;
        mlp_status st;
        if (hd->raw && hd->maxval > 255) {
            v = (unsigned long)c->p[c->pos] << 8 | c->p[c->pos + 1];
            c->pos += 2;
        } else if (hd->raw) {
            v = c->p[c->pos++];
        } else if ((st = number(c, "sample", 65535, true, &v, err)) != MLP_OK) {
            if (st == MLP_EFORMAT && c->pos >= c->len)
                mlp_fail(err, MLP_EFORMAT, "%s: truncated: %zu of %zu samples", c->name, i, n);
            return st;
        }
        if (v > hd->maxval)
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: sample %lu at row %zu, column %zu is above maxval %lu", c->name, v,
                            i / hd->w, i % hd->w, hd->maxval);
        px[i] = (float)v / (float)hd->maxval;
    }
    return MLP_OK;
}

/* Only whitespace (and, in the plain form, comments) may follow the raster. */
static mlp_status check_end(cursor *c, const header *hd, mlp_error *err)
{
    size_t extra = c->pos;
    if (!hd->raw)
        extra = skip_blank(c) ? c->pos : c->len;
    else
        while (extra < c->len && is_space(c->p[extra]))
            extra++;
    if (extra < c->len)
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: %zu bytes of extra data after the %lux%lu image (only one image is "
                        "read)",
                        c->name, c->len - extra, hd->w, hd->h);
    return MLP_OK;
}

mlp_status mlp_pgm_parse(mlp_pgm *img, const unsigned char *data, size_t len, const char *name,
                         mlp_error *err)
{
    cursor c = {data, len, 0, name};
    header hd = {0};
    mlp_status st;

    memset(img, 0, sizeof *img);
    if ((st = check_magic(data, len, name, err)) != MLP_OK)
        return st;
    hd.raw = data[1] == '5';
    c.pos = 2;
    if ((st = read_header(&c, &hd, err)) != MLP_OK)
        return st;
    size_t n = (size_t)hd.w * (size_t)hd.h;
    img->px = mlp_alloc_array(n, sizeof *img->px);
    if (!img->px)
        return mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zu pixels", name, n);
    img->width = hd.w;
    img->height = hd.h;
    img->maxval = (unsigned)hd.maxval;
    if ((st = read_samples(&c, &hd, img->px, err)) != MLP_OK ||
        (st = check_end(&c, &hd, err)) != MLP_OK) {
        mlp_pgm_free(img);
        return st;
    }
    return MLP_OK;
}

mlp_status mlp_pgm_load(mlp_pgm *img, const char *path, mlp_error *err)
{
    unsigned char *buf;
    size_t len;
    memset(img, 0, sizeof *img);
    mlp_status st =
        mlp_read_input(path, MLP_PGM_MAX_BYTES, "an image to classify", &buf, &len, err);
    if (st == MLP_OK)
        st = mlp_pgm_parse(img, buf, len, path, err);
    free(buf);
    return st;
}

void mlp_pgm_free(mlp_pgm *img)
{
    free(img->px);
    memset(img, 0, sizeof *img);
}

struct pnm {
    const uint8_t *px;
    size_t width, height, channels, bytes;
};

static mlp_status write_pnm(FILE *f, void *ctx, mlp_error *err)
{
    const struct pnm *p = ctx;
    (void)err; /* a short write is the commit's to report */
    fprintf(f, "P%c\n%zu %zu\n255\n", p->channels == 1 ? '5' : '6', p->width, p->height);
    fwrite(p->px, 1, p->bytes, f);
    return MLP_OK;
}

mlp_status mlp_pgm_save(const char *path, const uint8_t *px, size_t width, size_t height,
                        size_t channels, mlp_error *err)
{
    size_t n;
    if ((channels != 1 && channels != 3) || width == 0 || height == 0 ||
        !mlp_mul_size(width, height, &n) || !mlp_mul_size(n, channels, &n))
        return mlp_fail(err, MLP_EARG, "%s: cannot write a %zux%zu image of %zu channels", path,
                        width, height, channels);
    struct pnm img = {px, width, height, channels, n};
    return mlp_output_save("image", path, write_pnm, &img, err);
}
