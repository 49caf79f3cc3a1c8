/*
 * png_read: the decoder against files of two independent encoders (tests/png/, made by
 * tests/png_fixtures.py with Python's zlib and with ImageMagick, each beside a 16-bit PGM of
 * the grey values it must give), covering every colour type and bit depth, plain and
 * interlaced, and every filter type; round trips through mlp's own writer; the conversion
 * formula on pixels built by hand; then one refusal per way a file can be bad, with bytes
 * built here, each leaving nothing allocated. Run from the repository's root.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "inflate.h"
#include "pgm.h"
#include "png.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURES "tests/png"

/* ---------------------------------------------------------------- building files */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void be32_at(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_be32(buf *b, uint32_t v)
{
    unsigned char q[4];
    be32_at(q, v);
    put(b, q, 4);
}

static void put_chunk(buf *b, const char *type, const void *data, size_t n)
{
    put_be32(b, (uint32_t)n);
    size_t at = b->n;
    put(b, type, 4);
    put(b, data, n);
    put_be32(b, mlp_crc32(0, b->p + at, 4 + n));
}

static void put_signature(buf *b)
{
    put(b, "\x89PNG\r\n\x1a\n", 8);
}

static void put_ihdr(buf *b, uint32_t w, uint32_t h, unsigned depth, unsigned colour,
                     unsigned interlace)
{
    unsigned char d[13] = {0};
    be32_at(d, w);
    be32_at(d + 4, h);
    d[8] = (unsigned char)depth;
    d[9] = (unsigned char)colour;
    d[12] = (unsigned char)interlace; /* compression and filter methods 0 */
    put_chunk(b, "IHDR", d, 13);
}

/* A zlib stream of stored deflate blocks holding the n bytes at raw. */
static void zlib_stored(buf *z, const unsigned char *raw, size_t n)
{
    put(z, "\x78\x01", 2);
    size_t pos = 0;
    do {
        size_t k = n - pos < 65535 ? n - pos : 65535;
        unsigned char h[5] = {pos + k == n, (unsigned char)k, (unsigned char)(k >> 8),
                              (unsigned char)~k, (unsigned char)(~k >> 8)};
        put(z, h, 5);
        put(z, raw + pos, k);
        pos += k;
    } while (pos < n);
    put_be32(z, mlp_png_adler32(1, raw, n));
}

static void put_idat(buf *b, const unsigned char *raw, size_t n)
{
    buf z = {0};
    zlib_stored(&z, raw, n);
    put_chunk(b, "IDAT", z.p, z.n);
    free(z.p);
}

/* A valid 3x2 8-bit grey image, rows filtered with None: 0 60 120 / 180 240 255. */
static const unsigned char small_raw[8] = {0, 0, 60, 120, 0, 180, 240, 255};

static void put_small(buf *b)
{
    b->n = 0;
    put_signature(b);
    put_ihdr(b, 3, 2, 8, 0, 0);
    put_idat(b, small_raw, sizeof small_raw);
    put_chunk(b, "IEND", NULL, 0);
}

/* Decodes len bytes as "x.png"; a failure must leave the image zeroed. */
static mlp_status decode(mlp_png_image *img, const unsigned char *d, size_t len, mlp_error *err)
{
    memset(err->msg, 0, sizeof err->msg);
    mlp_status st = mlp_png_decode(img, d, len, "x.png", err);
    if (st != MLP_OK) {
        assert_null(img->px);
        assert_int_equal(img->width, 0);
        assert_int_equal(img->height, 0);
        assert_non_null(strstr(err->msg, "x.png: "));
        assert_null(strchr(err->msg, '\n'));
    }
    return st;
}

/* The bytes must be refused with status st and a message containing want. */
static void refused(const buf *b, mlp_status st, const char *want)
{
    mlp_png_image img;
    mlp_error err;
    mlp_status got = decode(&img, b->p, b->n, &err);
    if (got != st || !strstr(err.msg, want)) {
        print_error("wanted status %d and '%s', got %d: '%s'\n", st, want, got, err.msg);
        mlp_png_image_free(&img);
        fail();
    }
}

/* ---------------------------------------------------------------- fixtures */

/* Records which filter types the rows of a valid file use (seen[0..4]), inflating its
 * IDAT data here and walking the passes as the standard lays them out. */
static void filters_used(const unsigned char *d, size_t len, bool seen[5])
{
    static const size_t a7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    static const size_t channels[7] = {1, 0, 3, 1, 2, 0, 4};
    buf z = {0};
    for (size_t pos = 8; pos + 12 <= len;) {
        size_t n = mlp_get_u32be(d + pos);
        if (memcmp(d + pos + 4, "IDAT", 4) == 0)
            put(&z, d + pos + 8, n);
        pos += 12 + n;
    }
    size_t w = mlp_get_u32be(d + 16), h = mlp_get_u32be(d + 20), used, raw_len;
    size_t bits = d[24] * channels[d[25]];
    unsigned char *raw;
    mlp_error err;
    assert_int_equal(mlp_inflate(z.p + 2, z.n - 2, SIZE_MAX, "idat", &raw, &raw_len, &used, &err),
                     MLP_OK);
    size_t at = 0;
    for (size_t p = 0; p < (d[28] ? 7u : 1u); p++) {
        const size_t *s = d[28] ? a7[p] : (const size_t[4]){0, 0, 1, 1};
        size_t pw = w > s[0] ? (w - s[0] + s[2] - 1) / s[2] : 0;
        size_t ph = h > s[1] ? (h - s[1] + s[3] - 1) / s[3] : 0;
        for (size_t y = 0; pw && y < ph; y++) {
            assert_true(at < raw_len && raw[at] < 5);
            seen[raw[at]] = true;
            at += 1 + (pw * bits + 7) / 8;
        }
    }
    assert_int_equal(at, raw_len);
    free(raw);
    free(z.p);
}

/* Decodes tests/png/NAME.png and compares it with NAME.pgm; returns the IHDR's colour type
 * and depth as colour * 1000 + depth, and its interlace method in *interlace. */
static unsigned check_fixture(const char *name, bool seen[5], unsigned *interlace)
{
    char png_path[4096], pgm_path[4096];
    snprintf(png_path, sizeof png_path, "%s/%s.png", FIXTURES, name);
    snprintf(pgm_path, sizeof pgm_path, "%s/%s.pgm", FIXTURES, name);
    mlp_png_image img;
    mlp_pgm want;
    mlp_error err;
    if (mlp_png_load(&img, png_path, &err) != MLP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(mlp_pgm_load(&want, pgm_path, &err), MLP_OK);
    assert_int_equal(img.width, want.width);
    assert_int_equal(img.height, want.height);
    assert_int_equal(want.maxval, 65535);
    for (size_t i = 0; i < img.width * img.height; i++) {
        /* the PGM holds the exact value rounded to 1/65535 */
        if (!(fabsf(img.px[i] - want.px[i]) <= 0.5f / 65535 + 1e-6f)) {
            print_error("%s: pixel (%zu, %zu) is %.7f, want %.7f\n", png_path, i / img.width,
                        i % img.width, img.px[i], want.px[i]);
            fail();
        }
    }
    size_t len;
    unsigned char *d = tu_read_file(png_path, &len);
    filters_used(d, len, seen);
    unsigned kind = d[25] * 1000u + d[24];
    *interlace = d[28];
    free(d);
    mlp_pgm_free(&want);
    mlp_png_image_free(&img);
    return kind;
}

static void test_fixtures_of_independent_encoders(void **state)
{
    (void)state;
    /* every (colour type, depth) the standard allows, times plain and interlaced */
    static const unsigned kinds[15] = {1,    2,    4,    8,    16,   2008, 2016, 3001,
                                       3002, 3004, 3008, 4008, 4016, 6008, 6016};
    bool covered[15][2] = {{false}}, filters[15][5] = {{false}};
    size_t n = 0, n_im = 0;
    DIR *dir = opendir(FIXTURES);
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".png") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(l - 4), e->d_name);
        bool seen[5] = {false};
        unsigned interlace, kind = check_fixture(name, seen, &interlace);
        for (size_t k = 0; k < 15; k++) {
            if (kinds[k] == kind) {
                covered[k][interlace] = true;
                for (int f = 0; f < 5; f++)
                    filters[k][f] |= seen[f];
            }
        }
        n++;
        n_im += strncmp(name, "im-", 3) == 0;
    }
    closedir(dir);
    for (size_t k = 0; k < 15; k++) {
        if (!covered[k][0] || !covered[k][1]) {
            print_error("no fixture of colour type %u, depth %u, %s\n", kinds[k] / 1000,
                        kinds[k] % 1000, covered[k][0] ? "interlaced" : "plain");
            fail();
        }
        for (int f = 0; f < 5; f++)
            if (!filters[k][f]) {
                print_error("colour type %u, depth %u: no row with filter type %d\n",
                            kinds[k] / 1000, kinds[k] % 1000, f);
                fail();
            }
    }
    assert_true(n >= 50);
    assert_true(n_im >= 9);
    print_message("  %zu fixtures decoded as expected (%zu by ImageMagick)\n", n, n_im);
}

/* ---------------------------------------------------------------- mlp's own writer */

static void own_round_trip(size_t w, size_t h, size_t ch, uint64_t seed)
{
    size_t n = w * h * ch, len;
    uint8_t *px = malloc(n);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)mlp_rng_below(&rng, 256);
    unsigned char *file;
    mlp_error err;
    assert_int_equal(mlp_png_encode(&file, &len, px, w, h, ch, &err), MLP_OK);
    mlp_png_image img;
    assert_int_equal(decode(&img, file, len, &err), MLP_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    for (size_t i = 0; i < w * h; i++) {
        const uint8_t *p = px + i * ch;
        /* grey: exactly what idx.c and pgm.c give; RGB: the luma weights over 255000 */
        float want = ch == 1 ? (float)p[0] / 255.0f
                             : (float)((299.0 * p[0] + 587.0 * p[1] + 114.0 * p[2]) / 255000.0);
        if (img.px[i] != want) {
            print_error("%zux%zux%zu: pixel %zu is %.9g, want %.9g\n", w, h, ch, i, img.px[i],
                        want);
            fail();
        }
    }
    mlp_png_image_free(&img);
    assert_null(img.px);
    free(file);
    free(px);
}

static void test_round_trips_through_the_writer(void **state)
{
    (void)state;
    own_round_trip(1, 1, 1, 1);
    own_round_trip(3, 2, 1, 2);
    own_round_trip(5, 4, 3, 3);
    own_round_trip(28, 28, 1, 4);
    /* 1.3 MB of stream in two IDAT chunks, stored blocks crossing rows */
    own_round_trip(700, 630, 3, 5);
    own_round_trip(65534, 1, 1, 6);

    char *dir = tu_tmpdir(), path[4096];
    tu_path(path, dir, "a.png");
    const uint8_t px[6] = {0, 51, 102, 153, 204, 255};
    mlp_error err;
    assert_int_equal(mlp_png_save(path, px, 3, 2, 1, &err), MLP_OK);
    mlp_png_image img;
    assert_int_equal(mlp_png_load(&img, path, &err), MLP_OK);
    for (size_t i = 0; i < 6; i++)
        assert_true(img.px[i] == (float)px[i] / 255.0f);
    mlp_png_image_free(&img);
    tu_rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- conversion by hand */

/* One 8-bit pixel of the colour type: its samples, with a tRNS chunk if trns_n > 0. */
static float one_pixel(unsigned colour, unsigned depth, const unsigned char *samples, size_t n,
                       const unsigned char *trns, size_t trns_n)
{
    buf b = {0};
    put_signature(&b);
    put_ihdr(&b, 1, 1, depth, colour, 0);
    if (colour == 3) {
        const unsigned char pal[6] = {255, 0, 0, 10, 200, 30};
        put_chunk(&b, "PLTE", pal, sizeof pal);
    }
    if (trns_n)
        put_chunk(&b, "tRNS", trns, trns_n);
    unsigned char raw[16] = {0};
    memcpy(raw + 1, samples, n);
    put_idat(&b, raw, 1 + n);
    put_chunk(&b, "IEND", NULL, 0);
    mlp_png_image img;
    mlp_error err;
    if (decode(&img, b.p, b.n, &err) != MLP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    float v = img.px[0];
    mlp_png_image_free(&img);
    free(b.p);
    return v;
}

static void test_grey_conversion_and_alpha_on_white(void **state)
{
    (void)state;
    const double a = 128.0 / 255.0;
    /* RGB: Rec. 601 luma of the stored values */
    assert_true(one_pixel(2, 8, (const unsigned char[]){255, 0, 0}, 3, NULL, 0) ==
                (float)(299.0 / 1000.0));
    assert_true(one_pixel(2, 8, (const unsigned char[]){0, 255, 0}, 3, NULL, 0) ==
                (float)(587.0 / 1000.0));
    assert_true(one_pixel(2, 8, (const unsigned char[]){0, 0, 255}, 3, NULL, 0) ==
                (float)(114.0 / 1000.0));
    /* equal R, G, B is that grey, exactly as a grey image gives it */
    assert_true(one_pixel(2, 8, (const unsigned char[]){77, 77, 77}, 3, NULL, 0) == 77.0f / 255.0f);
    /* RGBA: red at half alpha on white */
    float v = one_pixel(6, 8, (const unsigned char[]){255, 0, 0, 128}, 4, NULL, 0);
    assert_true(fabs(v - (a * 0.299 + 1 - a)) < 1e-7);
    /* alpha 0 is white whatever the colour; alpha 255 the colour itself */
    assert_true(one_pixel(6, 8, (const unsigned char[]){0, 0, 0, 0}, 4, NULL, 0) == 1.0f);
    assert_true(one_pixel(4, 8, (const unsigned char[]){0, 0}, 2, NULL, 0) == 1.0f);
    assert_true(one_pixel(4, 8, (const unsigned char[]){51, 255}, 2, NULL, 0) == 0.2f);
    /* 16 bits: divided by 65535 */
    assert_true(one_pixel(0, 16, (const unsigned char[]){0x80, 0x00}, 2, NULL, 0) ==
                (float)(32768.0 / 65535.0));
    /* palette: the entry's colour, and its tRNS alpha; entries past tRNS are opaque */
    assert_true(one_pixel(3, 8, (const unsigned char[]){0}, 1, NULL, 0) == (float)0.299);
    v = one_pixel(3, 8, (const unsigned char[]){0}, 1, (const unsigned char[]){128}, 1);
    assert_true(fabs(v - (a * 0.299 + 1 - a)) < 1e-7);
    v = one_pixel(3, 8, (const unsigned char[]){1}, 1, (const unsigned char[]){0}, 1);
    assert_true(fabs(v - (299 * 10 + 587 * 200 + 114 * 30) / 255000.0) < 1e-7);
    /* tRNS key colours of types 0 and 2: that colour is transparent, so white */
    assert_true(one_pixel(0, 8, (const unsigned char[]){9}, 1, (const unsigned char[]){0, 9}, 2) ==
                1.0f);
    assert_true(one_pixel(0, 8, (const unsigned char[]){8}, 1, (const unsigned char[]){0, 9}, 2) ==
                8.0f / 255.0f);
    assert_true(one_pixel(2, 8, (const unsigned char[]){1, 2, 3}, 3,
                          (const unsigned char[]){0, 1, 0, 2, 0, 3}, 6) == 1.0f);
    assert_true(one_pixel(2, 8, (const unsigned char[]){1, 2, 4}, 3,
                          (const unsigned char[]){0, 1, 0, 2, 0, 3}, 6) < 0.1f);
    /* 1 bit: 0 black, 1 white; padding bits after the pixel are ignored */
    assert_true(one_pixel(0, 1, (const unsigned char[]){0x7f}, 1, NULL, 0) == 0.0f);
    assert_true(one_pixel(0, 1, (const unsigned char[]){0x80}, 1, NULL, 0) == 1.0f);
}

/* ---------------------------------------------------------------- hostile files */

/* Every truncation of the file, and every byte of it changed, must be refused. */
static void truncate_and_flip(const char *path)
{
    size_t len;
    unsigned char *d = tu_read_file(path, &len);
    assert_non_null(d);
    mlp_png_image img;
    mlp_error err;
    assert_int_equal(decode(&img, d, len, &err), MLP_OK);
    mlp_png_image_free(&img);
    for (size_t n = 0; n < len; n++) {
        unsigned char *cut = malloc(n ? n : 1); /* its own buffer: ASan sees a read past n */
        memcpy(cut, d, n);
        assert_int_equal(decode(&img, cut, n, &err), MLP_EFORMAT);
        if (!strstr(err.msg, "truncated") && !strstr(err.msg, "empty")) {
            print_error("%s cut to %zu bytes: '%s'\n", path, n, err.msg);
            fail();
        }
        free(cut);
    }
    /* every byte of the signature, a length, a type, the data or a CRC matters */
    for (size_t i = 0; i < len; i++) {
        d[i] ^= 0x20;
        if (decode(&img, d, len, &err) == MLP_OK) {
            print_error("%s: byte %zu flipped: accepted\n", path, i);
            fail();
        }
        d[i] ^= 0x20;
    }
    free(d);
}

static void test_every_truncation_and_flipped_byte_is_refused(void **state)
{
    (void)state;
    /* interlaced palette; grey with tRNS in several IDAT chunks; RGBA */
    truncate_and_flip(FIXTURES "/p2-9x1i.png");
    truncate_and_flip(FIXTURES "/g8t.png");
    truncate_and_flip(FIXTURES "/rgba8-paeth.png");
    mlp_png_image img;
    mlp_error err;
    assert_int_equal(decode(&img, NULL, 0, &err), MLP_EFORMAT);
    assert_non_null(strstr(err.msg, "x.png: empty file"));
}

static void test_signature_and_chunk_framing(void **state)
{
    (void)state;
    buf b = {0};
    put(&b, "P5\n3 2\n255\n", 11);
    refused(&b, MLP_EFORMAT, "not a PNG file");
    b.n = 0;
    put(&b, "\x89PNG\n\x1a\n", 7); /* CR LF became LF */
    put_ihdr(&b, 1, 1, 8, 0, 0);
    refused(&b, MLP_EFORMAT, "damaged PNG signature");

    /* a CRC-32 mismatch in each chunk */
    const char *types[3] = {"IHDR", "IDAT", "IEND"};
    for (int k = 0; k < 3; k++) {
        b.n = 0;
        put_small(&b);
        unsigned char *t = NULL;
        for (size_t i = 8; i + 4 <= b.n; i++)
            if (memcmp(b.p + i, types[k], 4) == 0)
                t = b.p + i;
        size_t n = mlp_get_u32be(t - 4);
        t[4 + n] ^= 1;
        char want[64];
        snprintf(want, sizeof want, "chunk %s: CRC mismatch", types[k]);
        refused(&b, MLP_EFORMAT, want);
    }
    /* a length past 2^31 - 1, past the end; a type that is not four letters */
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1, 1, 8, 0, 0);
    put_be32(&b, 0x80000000u);
    put(&b, "IDAT", 4);
    refused(&b, MLP_EFORMAT, "chunk IDAT: length 2147483648 exceeds 2^31 - 1");
    b.n -= 8;
    put_be32(&b, 1000);
    put(&b, "IDAT\0\0\0\0", 8);
    refused(&b, MLP_EFORMAT, "truncated: chunk IDAT at byte 33 needs 1012 bytes, 12 are left");
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1, 1, 8, 0, 0);
    put_chunk(&b, "ID1T", "", 0);
    refused(&b, MLP_EFORMAT, "type 49 44 31 54, not four letters");
    free(b.p);
}

static void test_ihdr_fields(void **state)
{
    (void)state;
    buf b = {0};
    mlp_png_image img;
    mlp_error err;
    /* every colour type and depth: the allowed pairs decode, the others are refused */
    static const unsigned channels[7] = {1, 0, 3, 1, 2, 0, 4};
    for (unsigned colour = 0; colour < 9; colour++) {
        for (unsigned depth = 0; depth <= 17; depth++) {
            bool ok = colour < 7 && channels[colour] &&
                      (depth == 8 || (depth == 16 && colour != 3) ||
                       ((depth == 1 || depth == 2 || depth == 4) && (colour == 0 || colour == 3)));
            b.n = 0;
            put_signature(&b);
            put_ihdr(&b, 1, 1, depth, colour, 0);
            if (colour == 3)
                put_chunk(&b, "PLTE", "\0\0\0", 3);
            unsigned char raw[9] = {0};
            size_t row = ok ? (channels[colour] * depth + 7) / 8 : 1;
            put_idat(&b, raw, 1 + row);
            put_chunk(&b, "IEND", NULL, 0);
            mlp_status st = decode(&img, b.p, b.n, &err);
            if ((st == MLP_OK) != ok) {
                print_error("colour type %u, depth %u: status %d, '%s'\n", colour, depth, st,
                            err.msg);
                fail();
            }
            if (ok) {
                /* black, or, with an alpha of 0, white */
                assert_true(img.px[0] == (colour == 4 || colour == 6 ? 1.0f : 0.0f));
                mlp_png_image_free(&img);
            } else if (colour >= 7 || !channels[colour]) {
                assert_non_null(strstr(err.msg, "does not exist"));
            } else {
                assert_non_null(strstr(err.msg, "is not allowed with colour type"));
            }
        }
    }
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1, 1, 4, 2, 0);
    refused(&b, MLP_EFORMAT, "bit depth 4 is not allowed with colour type 2 (RGB): only 8 or 16");
    /* compression method 1, then filter method 1 */
    unsigned char ihdr[13] = {0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 1, 0, 0};
    b.n = 0;
    put_signature(&b);
    put_chunk(&b, "IHDR", ihdr, 13);
    refused(&b, MLP_EFORMAT, "compression method 1, only 0 (deflate) exists");
    ihdr[10] = 0;
    ihdr[11] = 1;
    b.n = 0;
    put_signature(&b);
    put_chunk(&b, "IHDR", ihdr, 13);
    refused(&b, MLP_EFORMAT, "filter method 1");
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1, 1, 8, 0, 2);
    refused(&b, MLP_EFORMAT, "interlace method 2");
    b.n = 0;
    put_signature(&b);
    put_chunk(&b, "IHDR", ihdr, 12);
    refused(&b, MLP_EFORMAT, "chunk IHDR: 12 bytes, should be 13");
    free(b.p);
}

static void test_sizes_are_checked_before_allocating(void **state)
{
    (void)state;
    buf b = {0};
    const struct {
        uint32_t w, h;
        const char *want;
    } sides[] = {
        {3, 2147483648u, "x.png: height 2147483648 exceeds 2^31 - 1, the most PNG allows"},
        {4294967295u, 3, "x.png: width 4294967295 exceeds 2^31 - 1"},
        {2147483647u, 3, "x.png: width 2147483647 exceeds 16777216, the most this reader takes"},
        {0, 3, "x.png: width 0"},
        {3, 0, "x.png: height 0"},
    };
    for (size_t k = 0; k < sizeof sides / sizeof sides[0]; k++) {
        b.n = 0;
        put_signature(&b);
        put_ihdr(&b, sides[k].w, sides[k].h, 8, 0, 0);
        put_idat(&b, small_raw, sizeof small_raw);
        put_chunk(&b, "IEND", NULL, 0);
        refused(&b, MLP_EFORMAT, sides[k].want);
    }
    /* 2^24 x 2^24 RGBA of 16 bits: 2^51 bytes of rows (which would wrap a 32-bit size_t),
     * refused from the length of the compressed data alone */
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1u << 24, 1u << 24, 16, 6, 1);
    put_idat(&b, small_raw, sizeof small_raw);
    put_chunk(&b, "IEND", NULL, 0);
    mlp_png_image img;
    mlp_error err;
    assert_int_not_equal(decode(&img, b.p, b.n, &err), MLP_OK);
    assert_true(strstr(err.msg, "cannot hold") || strstr(err.msg, "too large"));

    /* 100000 x 100000 at 1 bit: 1.25 GB of rows could come out of 1.3 MB of deflate data,
     * but 40 GB of pixels beside them are refused by the memory check, before the data
     * is even decompressed (on a machine with more memory, the garbage is refused) */
    size_t zn = 1300000;
    unsigned char *z = calloc(zn, 1);
    z[0] = 0x78;
    z[1] = 0x01;
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 100000, 100000, 1, 0, 0);
    put_chunk(&b, "IDAT", z, zn);
    put_chunk(&b, "IEND", NULL, 0);
    mlp_status st = decode(&img, b.p, b.n, &err);
    if ((double)mlp_mem_total() < 41e9) {
        assert_int_equal(st, MLP_ENOMEM);
        assert_non_null(strstr(err.msg, "x.png: a 100000x100000 image needs"));
        assert_non_null(strstr(err.msg, "memory"));
    } else {
        assert_int_equal(st, MLP_EFORMAT);
    }
    /* the same pixels from 1 kB of data: refused because deflate cannot expand that much */
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 100000, 100000, 1, 0, 0);
    put_chunk(&b, "IDAT", z, 1000);
    put_chunk(&b, "IEND", NULL, 0);
    refused(&b, MLP_EFORMAT,
            "IDAT: 1000 bytes of compressed data cannot hold the 1250100000 bytes of rows");
    free(z);
    free(b.p);
}

/* The small image with its zlib stream z (zn bytes) as its one IDAT chunk. */
static void put_with_stream(buf *b, const unsigned char *z, size_t zn)
{
    b->n = 0;
    put_signature(b);
    put_ihdr(b, 3, 2, 8, 0, 0);
    put_chunk(b, "IDAT", z, zn);
    put_chunk(b, "IEND", NULL, 0);
}

static void test_zlib_stream(void **state)
{
    (void)state;
    buf b = {0}, z = {0};
    zlib_stored(&z, small_raw, sizeof small_raw);
    unsigned char *s = malloc(z.n + 8);
    const struct {
        size_t at;
        unsigned char v;
        const char *want;
    } edits[] = {
        {0, 0x77, "IDAT: zlib compression method 7, only 8 (deflate) exists"},
        {0, 0x88, "IDAT: zlib window of 2^16 bytes, over 32 KiB"},
        {1, 0x02, "IDAT: zlib header check bits are wrong"},
        {1, 0x20, "IDAT: zlib preset dictionary"}, /* 0x7820 % 31 == 0 */
        {2, 0x07, "x.png: IDAT: corrupt deflate data at byte 0: invalid block type 3"},
        {3, 0x07, "x.png: IDAT: corrupt deflate data"},
        {z.n - 1, 0x00, "IDAT: Adler-32 mismatch: the image data is damaged"},
    };
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        memcpy(s, z.p, z.n);
        s[edits[k].at] = edits[k].v;
        put_with_stream(&b, s, z.n);
        refused(&b, MLP_EFORMAT, edits[k].want);
    }
    /* cut before the Adler-32, inside the deflate data; with bytes after the stream */
    put_with_stream(&b, z.p, z.n - 2);
    refused(&b, MLP_EFORMAT, "IDAT: truncated: no Adler-32 after the deflate data");
    put_with_stream(&b, z.p, z.n - 7);
    refused(&b, MLP_EFORMAT, "x.png: IDAT: truncated");
    memcpy(s, z.p, z.n);
    memcpy(s + z.n, "\0\0\0", 3);
    put_with_stream(&b, s, z.n + 3);
    refused(&b, MLP_EFORMAT, "IDAT: 3 bytes after the end of the zlib stream");
    put_with_stream(&b, z.p, 5);
    refused(&b, MLP_EFORMAT, "IDAT: 5 bytes, too short for a zlib stream");

    /* too little data, one byte too many, far too many (stored blocks of a larger image) */
    z.n = 0;
    zlib_stored(&z, small_raw, sizeof small_raw - 1);
    put_with_stream(&b, z.p, z.n);
    refused(&b, MLP_EFORMAT, "IDAT: the image data decompresses to 7 bytes, IHDR implies 8");
    unsigned char big[70000] = {0};
    const size_t longer[2] = {sizeof small_raw + 1, sizeof big};
    for (int k = 0; k < 2; k++) {
        z.n = 0;
        zlib_stored(&z, big, longer[k]);
        put_with_stream(&b, z.p, z.n);
        refused(&b, MLP_EFORMAT,
                "IDAT: the image data decompresses to more than the 8 bytes IHDR implies");
    }
    free(s);
    free(z.p);
    free(b.p);
}

static void test_filters_and_palette_indices(void **state)
{
    (void)state;
    buf b = {0};
    unsigned char raw[8];
    memcpy(raw, small_raw, sizeof raw);
    raw[4] = 5;
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 3, 2, 8, 0, 0);
    put_idat(&b, raw, sizeof raw);
    put_chunk(&b, "IEND", NULL, 0);
    refused(&b, MLP_EFORMAT, "x.png: row 1: filter type 5 does not exist (0 to 4)");
    /* interlaced 2x1: passes 1 and 6, one row each */
    const unsigned char iraw[4] = {0, 10, 9, 20};
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 2, 1, 8, 0, 1);
    put_idat(&b, iraw, sizeof iraw);
    put_chunk(&b, "IEND", NULL, 0);
    refused(&b, MLP_EFORMAT, "x.png: Adam7 pass 6, row 0: filter type 9 does not exist");

    /* a 2-bit palette of 3 entries; the second pixel's index 3 is past it */
    const unsigned char praw[2] = {0, 0x1c}; /* 00 01 11 00 */
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 4, 1, 2, 3, 0);
    put_chunk(&b, "PLTE", "\0\0\0\1\1\1\2\2\2", 9);
    put_idat(&b, praw, sizeof praw);
    put_chunk(&b, "IEND", NULL, 0);
    refused(&b, MLP_EFORMAT,
            "x.png: palette index 3 at row 0, column 2: the palette has 3 entries");
    free(b.p);
}

/* The small image with extra chunks: before (after IHDR), after (after IDAT). */
static void put_small_with(buf *b, const char *before, const void *bd, size_t bn, const char *after,
                           const void *ad, size_t an)
{
    b->n = 0;
    put_signature(b);
    put_ihdr(b, 3, 2, 8, 0, 0);
    if (before)
        put_chunk(b, before, bd, bn);
    put_idat(b, small_raw, sizeof small_raw);
    if (after)
        put_chunk(b, after, ad, an);
    put_chunk(b, "IEND", NULL, 0);
}

static void test_chunk_order_and_contents(void **state)
{
    (void)state;
    buf b = {0};
    mlp_png_image img;
    mlp_error err;
    /* unknown ancillary chunks are skipped, unknown critical ones refused */
    put_small_with(&b, "zzZz", "x", 1, "tEXt", "a\0b", 3);
    assert_int_equal(decode(&img, b.p, b.n, &err), MLP_OK);
    assert_true(img.px[5] == 1.0f);
    mlp_png_image_free(&img);
    put_small_with(&b, "ZZZZ", "x", 1, NULL, NULL, 0);
    refused(&b, MLP_EFORMAT, "chunk ZZZZ: an unknown critical chunk");
    put_small_with(&b, NULL, NULL, 0, "IHDR", "", 0);
    refused(&b, MLP_EFORMAT, "chunk IHDR: repeated");
    /* IHDR first; IEND last, empty, present, nothing after it; IDAT there, consecutive */
    b.n = 0;
    put_signature(&b);
    put_chunk(&b, "tEXt", "a\0b", 3);
    refused(&b, MLP_EFORMAT, "the first chunk is tEXt, not IHDR");
    put_small(&b);
    b.n -= 12;
    refused(&b, MLP_EFORMAT, "truncated after chunk IDAT: no IEND chunk");
    put_small(&b);
    put(&b, "junk", 4);
    refused(&b, MLP_EFORMAT, "4 bytes after the IEND chunk");
    b.n -= 16;
    put_chunk(&b, "IEND", "x", 1);
    refused(&b, MLP_EFORMAT, "chunk IEND: 1 bytes of data, should be empty");
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 3, 2, 8, 0, 0);
    put_chunk(&b, "IEND", NULL, 0);
    refused(&b, MLP_EFORMAT, "no IDAT chunk");
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 3, 2, 8, 0, 0);
    put_chunk(&b, "IDAT", "\x78\x01", 2);
    put_chunk(&b, "tEXt", "a\0b", 3);
    put_chunk(&b, "IDAT", "\x01\x08\x00\xf7\xff", 5);
    put_chunk(&b, "IEND", NULL, 0);
    refused(&b, MLP_EFORMAT, "chunk IDAT: IDAT chunks are not consecutive");
    free(b.p);
}

static void test_plte_and_trns(void **state)
{
    (void)state;
    buf b = {0};
    const unsigned char pal[9] = {0, 0, 0, 1, 1, 1, 2, 2, 2};
    put_small_with(&b, "PLTE", pal, 9, NULL, NULL, 0);
    refused(&b, MLP_EFORMAT, "chunk PLTE in a greyscale image");
    put_small_with(&b, NULL, NULL, 0, "tRNS", pal, 2);
    refused(&b, MLP_EFORMAT, "chunk tRNS after IDAT");
    put_small_with(&b, "tRNS", pal, 3, NULL, NULL, 0);
    refused(&b, MLP_EFORMAT, "chunk tRNS: 3 bytes, should be 2 for colour type 0");

    /* palette images: 1x1, 2-bit */
    const unsigned char raw[2] = {0, 0};
    const struct {
        const char *c1;
        size_t n1;
        const char *c2;
        size_t n2;
        const char *want;
    } cases[] = {
        {NULL, 0, NULL, 0, "colour type 3 (palette) without a PLTE chunk"},
        {"PLTE", 0, NULL, 0, "chunk PLTE: 0 bytes, not 1 to 256 entries of 3 bytes"},
        {"PLTE", 7, NULL, 0, "chunk PLTE: 7 bytes"},
        {"PLTE", 15, NULL, 0, "chunk PLTE: 5 entries, more than a 2-bit index can reach"},
        {"PLTE", 9, "PLTE", 9, "chunk PLTE: repeated"},
        {"tRNS", 1, "PLTE", 9, "chunk tRNS before PLTE"},
        {"PLTE", 9, "tRNS", 4, "chunk tRNS: 4 bytes, should be 1 to 3 (one per palette entry)"},
        {"PLTE", 9, "tRNS", 0, "chunk tRNS: 0 bytes"},
    };
    unsigned char data[15] = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        b.n = 0;
        put_signature(&b);
        put_ihdr(&b, 1, 1, 2, 3, 0);
        if (cases[k].c1)
            put_chunk(&b, cases[k].c1, data, cases[k].n1);
        if (cases[k].c2)
            put_chunk(&b, cases[k].c2, data, cases[k].n2);
        put_idat(&b, raw, sizeof raw);
        put_chunk(&b, "IEND", NULL, 0);
        refused(&b, MLP_EFORMAT, cases[k].want);
    }
    /* PLTE after IDAT; tRNS in an image with alpha */
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1, 1, 8, 2, 0);
    put_idat(&b, (const unsigned char[4]){0}, 4);
    put_chunk(&b, "PLTE", pal, 9);
    put_chunk(&b, "IEND", NULL, 0);
    refused(&b, MLP_EFORMAT, "chunk PLTE after IDAT");
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1, 1, 8, 6, 0);
    put_chunk(&b, "tRNS", pal, 6);
    refused(&b, MLP_EFORMAT, "chunk tRNS in an image with an alpha channel (colour type 6)");
    /* an RGB image may carry a suggested palette; it is not used */
    b.n = 0;
    put_signature(&b);
    put_ihdr(&b, 1, 1, 8, 2, 0);
    put_chunk(&b, "PLTE", pal, 9);
    put_idat(&b, (const unsigned char[4]){0, 255, 255, 255}, 4);
    put_chunk(&b, "IEND", NULL, 0);
    mlp_png_image img;
    mlp_error err;
    assert_int_equal(decode(&img, b.p, b.n, &err), MLP_OK);
    assert_true(img.px[0] == 1.0f);
    mlp_png_image_free(&img);
    free(b.p);
}

static void test_load(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[4096];
    mlp_png_image img;
    mlp_error err;
    assert_int_equal(mlp_png_load(&img, "/nonexistent/x.png", &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.png"));
    assert_null(img.px);
    assert_int_equal(mlp_png_load(&img, dir, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    /* a sparse file one byte over the limit is refused without reading it all */
    tu_path(path, dir, "big.png");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)MLP_PNG_MAX_BYTES + 1), 0);
    fclose(f);
    assert_int_equal(mlp_png_load(&img, path, &err), MLP_EFORMAT);
    assert_non_null(strstr(err.msg, "big.png: larger than 256 MiB"));
    /* a damaged file is named by its path */
    buf b = {0};
    put_small(&b);
    b.p[b.n - 1] ^= 1;
    tu_path(path, dir, "bad.png");
    tu_write_file(path, b.p, b.n);
    assert_int_equal(mlp_png_load(&img, path, &err), MLP_EFORMAT);
    assert_non_null(strstr(err.msg, "bad.png: chunk IEND: CRC mismatch"));
    free(b.p);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_of_independent_encoders),
        cmocka_unit_test(test_round_trips_through_the_writer),
        cmocka_unit_test(test_grey_conversion_and_alpha_on_white),
        cmocka_unit_test(test_every_truncation_and_flipped_byte_is_refused),
        cmocka_unit_test(test_signature_and_chunk_framing),
        cmocka_unit_test(test_ihdr_fields),
        cmocka_unit_test(test_sizes_are_checked_before_allocating),
        cmocka_unit_test(test_zlib_stream),
        cmocka_unit_test(test_filters_and_palette_indices),
        cmocka_unit_test(test_chunk_order_and_contents),
        cmocka_unit_test(test_plte_and_trns),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests_name("png_read", tests, NULL, NULL);
}
