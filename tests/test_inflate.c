/*
 * inflate: gzip files made by zlib (fixed byte arrays, so the test never needs a gzip
 * program) and by the system's gzip when there is one decode to exactly what was
 * compressed; every truncation, corruption and malformed field is refused with a message.
 * Hand-built streams reach the checks that compressors never trigger.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "inflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_usable_size: how big an output buffer really is */
#endif

/* ---------------------------------------------------------------- fixtures */

/* The fixtures below were made with zlib from these contents. */
static const char text[] = "the quick brown fox jumps over the lazy dog; "
                           "the quick brown fox jumps over the lazy dog; "
                           "the quick brown fox jumps over the lazy dog; "
                           "pack my box with five dozen liquor jugs\n";

/* 300 patterned bytes, zeros up to 32768, the same 300 bytes again (a match at the
 * largest distance deflate allows), then 300 bytes of 0xab (an overlapping match). */
static unsigned char *far_contents(size_t *len)
{
    *len = 32768 + 600;
    unsigned char *b = calloc(1, *len);
    for (size_t i = 0; i < 300; i++)
        b[i] = b[32768 + i] = (unsigned char)((i * 7 + (i >> 5)) & 0xff);
    memset(b + 32768 + 300, 0xab, 300);
    return b;
}

/* text, level 0: one stored block */
static const unsigned char gz_stored[198] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x01, 0xaf, 0x00, 0x50, 0xff, 0x74,
    0x68, 0x65, 0x20, 0x71, 0x75, 0x69, 0x63, 0x6b, 0x20, 0x62, 0x72, 0x6f, 0x77, 0x6e, 0x20, 0x66,
    0x6f, 0x78, 0x20, 0x6a, 0x75, 0x6d, 0x70, 0x73, 0x20, 0x6f, 0x76, 0x65, 0x72, 0x20, 0x74, 0x68,
    0x65, 0x20, 0x6c, 0x61, 0x7a, 0x79, 0x20, 0x64, 0x6f, 0x67, 0x3b, 0x20, 0x74, 0x68, 0x65, 0x20,
    0x71, 0x75, 0x69, 0x63, 0x6b, 0x20, 0x62, 0x72, 0x6f, 0x77, 0x6e, 0x20, 0x66, 0x6f, 0x78, 0x20,
    0x6a, 0x75, 0x6d, 0x70, 0x73, 0x20, 0x6f, 0x76, 0x65, 0x72, 0x20, 0x74, 0x68, 0x65, 0x20, 0x6c,
    0x61, 0x7a, 0x79, 0x20, 0x64, 0x6f, 0x67, 0x3b, 0x20, 0x74, 0x68, 0x65, 0x20, 0x71, 0x75, 0x69,
    0x63, 0x6b, 0x20, 0x62, 0x72, 0x6f, 0x77, 0x6e, 0x20, 0x66, 0x6f, 0x78, 0x20, 0x6a, 0x75, 0x6d,
    0x70, 0x73, 0x20, 0x6f, 0x76, 0x65, 0x72, 0x20, 0x74, 0x68, 0x65, 0x20, 0x6c, 0x61, 0x7a, 0x79,
    0x20, 0x64, 0x6f, 0x67, 0x3b, 0x20, 0x70, 0x61, 0x63, 0x6b, 0x20, 0x6d, 0x79, 0x20, 0x62, 0x6f,
    0x78, 0x20, 0x77, 0x69, 0x74, 0x68, 0x20, 0x66, 0x69, 0x76, 0x65, 0x20, 0x64, 0x6f, 0x7a, 0x65,
    0x6e, 0x20, 0x6c, 0x69, 0x71, 0x75, 0x6f, 0x72, 0x20, 0x6a, 0x75, 0x67, 0x73, 0x0a, 0x9e, 0xc2,
    0x52, 0xe5, 0xaf, 0x00, 0x00, 0x00,
};
/* text, zlib strategy Z_FIXED: one fixed-Huffman block */
static const unsigned char gz_fixed[103] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0xc9, 0x48, 0x55, 0x28,
    0x2c, 0xcd, 0x4c, 0xce, 0x56, 0x48, 0x2a, 0xca, 0x2f, 0xcf, 0x53, 0x48, 0xcb, 0xaf, 0x50,
    0xc8, 0x2a, 0xcd, 0x2d, 0x28, 0x56, 0xc8, 0x2f, 0x4b, 0x2d, 0x52, 0x28, 0x01, 0x4a, 0xe7,
    0x24, 0x56, 0x55, 0x2a, 0xa4, 0xe4, 0xa7, 0x5b, 0x83, 0x79, 0xb4, 0x51, 0x5c, 0x90, 0x08,
    0x54, 0x97, 0x5b, 0xa9, 0x90, 0x04, 0x54, 0x54, 0x9e, 0x59, 0x92, 0xa1, 0x90, 0x96, 0x59,
    0x96, 0x0a, 0x94, 0xaa, 0x4a, 0xcd, 0x53, 0xc8, 0xc9, 0x2c, 0x2c, 0xcd, 0x2f, 0x02, 0xea,
    0x4d, 0x2f, 0xe6, 0x02, 0x00, 0x9e, 0xc2, 0x52, 0xe5, 0xaf, 0x00, 0x00, 0x00,
};
/* text four times, level 9: one dynamic-Huffman block */
static const unsigned char gz_dynamic[108] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xed, 0x8e, 0xcb, 0x0d, 0x80, 0x20,
    0x14, 0x04, 0xef, 0x56, 0xb1, 0x7d, 0x58, 0x8d, 0x28, 0x08, 0x0a, 0x3c, 0x41, 0x3e, 0x42, 0xf5,
    0xbe, 0x98, 0x58, 0x82, 0x37, 0x8f, 0x9b, 0x99, 0x4d, 0x26, 0x69, 0x89, 0x90, 0xcd, 0xbc, 0x43,
    0x44, 0xaa, 0x1e, 0x8a, 0x2e, 0x6c, 0xd9, 0x1d, 0x27, 0xa8, 0xc8, 0x88, 0xc4, 0xd8, 0x4e, 0xbd,
    0x61, 0xa1, 0x75, 0x7c, 0xd6, 0x37, 0xf2, 0x31, 0xb1, 0xe7, 0x1a, 0x04, 0x4b, 0xd5, 0x24, 0x0d,
    0x65, 0x8a, 0x64, 0xd4, 0xa5, 0x87, 0x35, 0x21, 0x53, 0xe4, 0xef, 0x7a, 0x0e, 0xe9, 0xcf, 0xfd,
    0x73, 0xdf, 0xdc, 0x1b, 0x94, 0xb2, 0x4e, 0xe2, 0xbc, 0x02, 0x00, 0x00,
};
/* no contents at all */
static const unsigned char gz_empty[20] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* text, with every header field: FTEXT, FHCRC, FEXTRA, FNAME "name with spaces", FCOMMENT */
static const unsigned char gz_headers[136] = {
    0x1f, 0x8b, 0x08, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x06, 0x00, 0x41, 0x42, 0x02, 0x00,
    0x68, 0x69, 0x6e, 0x61, 0x6d, 0x65, 0x20, 0x77, 0x69, 0x74, 0x68, 0x20, 0x73, 0x70, 0x61, 0x63,
    0x65, 0x73, 0x00, 0x61, 0x20, 0x63, 0x6f, 0x6d, 0x6d, 0x65, 0x6e, 0x74, 0x00, 0xdd, 0x91, 0xb5,
    0xcb, 0xc9, 0x11, 0x80, 0x20, 0x10, 0x44, 0xd1, 0xbb, 0x51, 0x74, 0x1e, 0x46, 0x03, 0x3a, 0x02,
    0x0a, 0x0c, 0xb2, 0xa8, 0x10, 0xbd, 0x53, 0xe6, 0xe0, 0xb1, 0xeb, 0xbf, 0xae, 0x96, 0x70, 0x36,
    0xb7, 0x1c, 0xd0, 0x99, 0xef, 0x88, 0x8d, 0x1f, 0xec, 0x2d, 0xa4, 0x02, 0xbe, 0x28, 0xa3, 0x4a,
    0xf6, 0x6a, 0x74, 0xac, 0x6c, 0xe6, 0x6f, 0xfd, 0x83, 0x93, 0x12, 0x17, 0x3a, 0xb4, 0xa0, 0xdb,
    0x55, 0x8b, 0xcd, 0x5d, 0x24, 0x69, 0x50, 0x84, 0x77, 0x67, 0xe3, 0x2c, 0x5f, 0x53, 0xa6, 0x17,
    0x9e, 0xc2, 0x52, 0xe5, 0xaf, 0x00, 0x00, 0x00,
};
/* two members: "first member\n" and "second member\n" */
static const unsigned char gz_multi[67] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0xcb, 0x2c, 0x2a,
    0x2e, 0x51, 0xc8, 0x4d, 0xcd, 0x4d, 0x4a, 0x2d, 0xe2, 0x02, 0x00, 0xa7, 0xf4, 0x85,
    0x0a, 0x0d, 0x00, 0x00, 0x00, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x03, 0x2b, 0x4e, 0x4d, 0xce, 0xcf, 0x4b, 0x51, 0xc8, 0x4d, 0xcd, 0x4d, 0x4a, 0x2d,
    0xe2, 0x02, 0x00, 0x36, 0x18, 0x4b, 0x0e, 0x0e, 0x00, 0x00, 0x00,
};
/* far_contents(), level 9 */
static const unsigned char gz_far[602] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xed, 0xce, 0x57, 0x2b, 0x2e, 0x00,
    0x00, 0x06, 0x60, 0x7b, 0xef, 0xbd, 0xb7, 0xcc, 0xcc, 0xcc, 0xcc, 0x08, 0x11, 0x22, 0x44, 0x88,
    0x08, 0x11, 0x22, 0x44, 0x88, 0x08, 0x1d, 0x21, 0x42, 0x84, 0xc8, 0xcc, 0xcc, 0xcc, 0xcc, 0xde,
    0x7b, 0xef, 0xbd, 0xf7, 0xde, 0xdb, 0xb9, 0x75, 0xf1, 0x5d, 0x9c, 0xeb, 0xd3, 0xfb, 0xfc, 0x82,
    0x87, 0x88, 0x92, 0x81, 0x9d, 0x4f, 0x54, 0x5a, 0x51, 0x5d, 0xd7, 0xc8, 0xdc, 0xc6, 0xd1, 0xcd,
    0x3b, 0x20, 0x34, 0x2a, 0x3e, 0x39, 0x23, 0xb7, 0xa8, 0xa2, 0xae, 0xa5, 0x6b, 0x70, 0x62, 0x7e,
    0x6d, 0xef, 0xf4, 0xe6, 0xf9, 0x8b, 0x8c, 0x96, 0x85, 0x5b, 0x48, 0x42, 0x4e, 0x45, 0xcb, 0xc0,
    0xd4, 0xca, 0xde, 0xc5, 0xd3, 0x2f, 0x38, 0x22, 0x36, 0x31, 0x2d, 0xbb, 0xa0, 0xac, 0xa6, 0xa9,
    0xa3, 0x7f, 0x6c, 0x76, 0x65, 0xfb, 0xe8, 0xf2, 0xe1, 0x9d, 0x98, 0x8a, 0x91, 0x83, 0x5f, 0x4c,
    0x46, 0x49, 0x43, 0xcf, 0xd8, 0xc2, 0xd6, 0xc9, 0xdd, 0x27, 0x30, 0x2c, 0x3a, 0x21, 0x25, 0x33,
    0xaf, 0xa4, 0xaa, 0xa1, 0xad, 0x67, 0x78, 0x6a, 0x71, 0x63, 0xff, 0xec, 0xf6, 0xe5, 0x9b, 0x9c,
    0x8e, 0x95, 0x47, 0x58, 0x52, 0x5e, 0x55, 0xdb, 0xd0, 0xcc, 0xda, 0xc1, 0xd5, 0xcb, 0x3f, 0x24,
    0x32, 0x2e, 0x29, 0x3d, 0xa7, 0xb0, 0xbc, 0xb6, 0xb9, 0x73, 0x60, 0x7c, 0x6e, 0x75, 0xe7, 0xf8,
    0xea, 0xf1, 0x83, 0x84, 0x9a, 0x89, 0x53, 0x40, 0x5c, 0x56, 0x59, 0x53, 0xdf, 0xc4, 0xd2, 0xce,
    0xd9, 0xc3, 0x37, 0x28, 0x3c, 0xe6, 0x4f, 0x6a, 0x56, 0x7e, 0x69, 0x75, 0x63, 0x7b, 0xef, 0xc8,
    0xf4, 0xd2, 0xe6, 0xc1, 0xf9, 0xdd, 0xeb, 0x0f, 0x05, 0x3d, 0x1b, 0xaf, 0x88, 0x94, 0x82, 0x9a,
    0x0e, 0xe1, 0xf5, 0xee, 0xc9, 0xf5, 0xd3, 0x27, 0x29, 0x0d, 0x33, 0x97, 0x20, 0xe1, 0x75, 0xdf,
    0xe8, 0xcc, 0xf2, 0xd6, 0xe1, 0xc5, 0xfd, 0x1b, 0x11, 0xe1, 0x75, 0x71, 0x65, 0x7d, 0x6b, 0xf7,
    0xd0, 0xe4, 0xc2, 0xfa, 0xde, 0xef, 0x35, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfc, 0xbf, 0x28, 0x19, 0xd8, 0xf9, 0x44, 0xa5, 0x15, 0xd5,
    0x75, 0x8d, 0xcc, 0x6d, 0x1c, 0xdd, 0xbc, 0x03, 0x42, 0xa3, 0xe2, 0x93, 0x33, 0x72, 0x8b, 0x2a,
    0xea, 0x5a, 0xba, 0x06, 0x27, 0xe6, 0xd7, 0xf6, 0x4e, 0x6f, 0x9e, 0xbf, 0xc8, 0x68, 0x59, 0xb8,
    0x85, 0x24, 0xe4, 0x54, 0xb4, 0x0c, 0x4c, 0xad, 0xec, 0x5d, 0x3c, 0xfd, 0x82, 0x23, 0x62, 0x13,
    0xd3, 0xb2, 0x0b, 0xca, 0x6a, 0x9a, 0x3a, 0xfa, 0xc7, 0x66, 0x57, 0xb6, 0x8f, 0x2e, 0x1f, 0xde,
    0x89, 0xa9, 0x18, 0x39, 0xf8, 0xc5, 0x64, 0x94, 0x34, 0xf4, 0x8c, 0x2d, 0x6c, 0x9d, 0xdc, 0x7d,
    0x02, 0xc3, 0xa2, 0x13, 0x52, 0x32, 0xf3, 0x4a, 0xaa, 0x1a, 0xda, 0x7a, 0x86, 0xa7, 0x16, 0x37,
    0xf6, 0xcf, 0x6e, 0x5f, 0xbe, 0xc9, 0xe9, 0x58, 0x79, 0x84, 0x25, 0xe5, 0x55, 0xb5, 0x0d, 0xcd,
    0xac, 0x1d, 0x5c, 0xbd, 0xfc, 0x43, 0x22, 0xe3, 0x92, 0xd2, 0x73, 0x0a, 0xcb, 0x6b, 0x9b, 0x3b,
    0x07, 0xc6, 0xe7, 0x56, 0x77, 0x8e, 0xaf, 0x1e, 0x3f, 0x48, 0xa8, 0x99, 0x38, 0x05, 0xc4, 0x65,
    0x95, 0x35, 0xf5, 0x4d, 0x2c, 0xed, 0x9c, 0x3d, 0x7c, 0x83, 0xc2, 0x63, 0xfe, 0xa4, 0x66, 0xe5,
    0x97, 0x56, 0x37, 0xb6, 0xf7, 0x8e, 0x4c, 0x2f, 0x6d, 0x1e, 0x9c, 0xdf, 0xbd, 0xfe, 0x50, 0xd0,
    0xb3, 0xf1, 0x8a, 0x48, 0x29, 0xa8, 0xe9, 0x10, 0x5e, 0xef, 0x9e, 0x5c, 0x3f, 0x7d, 0x92, 0xd2,
    0x30, 0x73, 0x09, 0x12, 0x5e, 0xf7, 0x8d, 0xce, 0x2c, 0x6f, 0x1d, 0x5e, 0xdc, 0xbf, 0x11, 0x11,
    0x5e, 0x17, 0x57, 0xd6, 0xb7, 0x76, 0x0f, 0x4d, 0x2e, 0xac, 0xef, 0xfd, 0x5e, 0x57, 0xc3, 0x3f,
    0xfb, 0x0b, 0x87, 0x1a, 0xfc, 0x76, 0x58, 0x82, 0x00, 0x00,
};

typedef struct {
    const char *name;
    const unsigned char *gz;
    size_t len;
} fixture;

#define FIX(a)                                                                                     \
    {                                                                                              \
#a, a, sizeof a                                                                            \
    }
static const fixture fixtures[] = {
    FIX(gz_stored),  FIX(gz_fixed), FIX(gz_dynamic), FIX(gz_empty),
    FIX(gz_headers), FIX(gz_multi), FIX(gz_far),
};
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

/* The contents fixture k was made from; the caller frees. */
static unsigned char *contents(size_t k, size_t *len)
{
    const char *name = fixtures[k].name;
    if (!strcmp(name, "gz_far"))
        return far_contents(len);
    const char *s = !strcmp(name, "gz_empty")   ? ""
                    : !strcmp(name, "gz_multi") ? "first member\nsecond member\n"
                                                : text;
    size_t reps = !strcmp(name, "gz_dynamic") ? 4 : 1;
    *len = strlen(s) * reps;
    unsigned char *b = malloc(*len + 1);
    for (size_t r = 0; r < reps; r++)
        memcpy(b + r * strlen(s), s, strlen(s));
    return b;
}

/* Decodes in[0..len) as gzip, expecting failure with a one-line message containing want. */
static void expect_fail(const unsigned char *in, size_t len, size_t max_out, const char *want)
{
    unsigned char *out = (unsigned char *)"not touched";
    size_t out_len = 12345;
    mlp_error err = {{0}};
    mlp_status st = mlp_inflate_gzip(in, len, max_out, "x.gz", &out, &out_len, &err);
    if (st == MLP_OK || !strstr(err.msg, want) || !strstr(err.msg, "x.gz") ||
        strchr(err.msg, '\n')) {
        print_error("status %d, message '%s', wanted '%s'\n", st, err.msg, want);
        fail();
    }
    assert_null(out);
    assert_int_equal(out_len, 0);
}

/* Decodes in as gzip into a buffer the caller frees; asserts success. */
static unsigned char *decode_ok(const unsigned char *in, size_t len, size_t *out_len)
{
    unsigned char *out = NULL;
    mlp_error err = {{0}};
    mlp_status st = mlp_inflate_gzip(in, len, SIZE_MAX, "x.gz", &out, out_len, &err);
    if (st != MLP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_non_null(out);
    return out;
}

static void test_fixtures_decode_exactly(void **state)
{
    (void)state;
    /* each fixture really exercises the block type it is named after */
    assert_int_equal((gz_stored[10] >> 1) & 3, 0);
    assert_int_equal((gz_fixed[10] >> 1) & 3, 1);
    assert_int_equal((gz_dynamic[10] >> 1) & 3, 2);
    for (size_t k = 0; k < N_FIXTURES; k++) {
        size_t want_len, got_len;
        unsigned char *want = contents(k, &want_len);
        unsigned char *got = decode_ok(fixtures[k].gz, fixtures[k].len, &got_len);
        if (got_len != want_len || memcmp(got, want, want_len) != 0) {
            print_error("%s: decoded %zu bytes, wanted %zu\n", fixtures[k].name, got_len, want_len);
            fail();
        }
        free(got);
        free(want);
    }
}

static void test_raw_deflate_reports_bytes_used(void **state)
{
    (void)state;
    /* gz_dynamic's deflate stream starts after the 10-byte header, ends before the trailer */
    const unsigned char *raw = gz_dynamic + 10;
    size_t raw_len = sizeof gz_dynamic - 18, out_len, used;
    unsigned char *out;
    mlp_error err;
    assert_int_equal(
        mlp_inflate(raw, sizeof gz_dynamic - 10, SIZE_MAX, "raw", &out, &out_len, &used, &err),
        MLP_OK);
    assert_int_equal(used, raw_len);
    assert_int_equal(out_len, 4 * strlen(text));
    assert_memory_equal(out, text, strlen(text));
    free(out);
}

static void test_every_truncation_is_refused(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_FIXTURES; k++) {
        for (size_t len = 0; len < fixtures[k].len; len++) {
            /* a cut exactly between two members leaves a valid one-member file */
            if (!strcmp(fixtures[k].name, "gz_multi") && len == 33)
                continue;
            expect_fail(fixtures[k].gz, len, SIZE_MAX, len == 0 ? "not gzip" : "truncated");
        }
    }
    /* the member boundary skipped above really is one */
    size_t n;
    free(decode_ok(gz_multi, 33, &n));
    assert_int_equal(n, strlen("first member\n"));
}

/* Flips every bit from byte `from` on, one at a time. The data, CRC-32 and length fields
 * catch every flip except those of bits deflate ignores (the padding before a stored
 * block's length, the last byte's unused bits), which must then change nothing. */
static void flip_every_bit(size_t k, size_t from)
{
    const unsigned char *gz = fixtures[k].gz;
    const size_t len = fixtures[k].len;
    size_t want_len, ignored = 0;
    unsigned char *want = contents(k, &want_len);
    unsigned char *b = malloc(len);
    for (size_t i = from; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, gz, len);
            b[i] ^= (unsigned char)(1u << bit);
            unsigned char *out = NULL;
            size_t out_len;
            mlp_error err;
            if (mlp_inflate_gzip(b, len, SIZE_MAX, "x.gz", &out, &out_len, &err) != MLP_OK) {
                assert_null(out);
                continue;
            }
            if (out_len != want_len || memcmp(out, want, want_len) != 0) {
                print_error("%s: flipping bit %d of byte %zu changed the output unnoticed\n",
                            fixtures[k].name, bit, i);
                fail();
            }
            ignored++;
            free(out);
        }
    }
    assert_true(ignored <= 7); /* the padding bits of one byte at most */
    free(want);
    free(b);
}

static void test_every_flipped_bit_is_refused(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_FIXTURES; k++) {
        /* MTIME, XFL and OS (bytes 4 to 9) are informational; only FHCRC covers them */
        bool hcrc = !strcmp(fixtures[k].name, "gz_headers");
        if (strcmp(fixtures[k].name, "gz_multi") != 0) /* two members: two sets of padding */
            flip_every_bit(k, hcrc ? 0 : 10);
    }
}

static void test_header_fields(void **state)
{
    (void)state;
    unsigned char b[sizeof gz_headers];
    memcpy(b, gz_headers, sizeof b);
    b[2] = 7;
    expect_fail(b, sizeof b, SIZE_MAX, "compression method 7");
    memcpy(b, gz_headers, sizeof b);
    b[3] |= 0x20;
    expect_fail(b, sizeof b, SIZE_MAX, "reserved gzip header flags");
    memcpy(b, gz_headers, sizeof b);
    b[20] ^= 1; /* a letter of the file name: only the header CRC notices */
    expect_fail(b, sizeof b, SIZE_MAX, "header checksum");
    expect_fail((const unsigned char *)"IDX\0\0\0", 6, SIZE_MAX, "not gzip data");
    assert_true(mlp_inflate_is_gzip(gz_empty, 2));
    assert_false(mlp_inflate_is_gzip(gz_empty, 1));
}

static void test_trailer_checks(void **state)
{
    (void)state;
    unsigned char b[sizeof gz_dynamic + 3];
    const size_t n = sizeof gz_dynamic;
    memcpy(b, gz_dynamic, n);
    b[n - 8] ^= 0x80;
    expect_fail(b, n, SIZE_MAX, "CRC-32 mismatch");
    memcpy(b, gz_dynamic, n);
    /* a length field claiming 4 GiB: refused, and no 4 GiB buffer is made for it (the
     * output may not exceed 1032 times the input, here about 111 kB) */
    memset(b + n - 4, 0xff, 4);
    expect_fail(b, n, SIZE_MAX, "length mismatch");
    memcpy(b, gz_dynamic, n);
    memcpy(b + n, "xyz", 3);
    expect_fail(b, n + 3, SIZE_MAX, "3 bytes of something else after the gzip data");
    memcpy(b + n, "\x1f\x8b\x08", 3); /* the start of a second member that never comes */
    expect_fail(b, n + 3, SIZE_MAX, "truncated");
}

static void test_output_cap(void **state)
{
    (void)state;
    size_t n;
    unsigned char *out;
    mlp_error err;
    const size_t want = 4 * strlen(text);
    expect_fail(gz_dynamic, sizeof gz_dynamic, want - 1, "more than");
    assert_int_equal(mlp_inflate_gzip(gz_dynamic, sizeof gz_dynamic, want, "x.gz", &out, &n, &err),
                     MLP_OK);
    assert_int_equal(n, want);
    free(out);
}

static void test_prefix_stops_early_or_checks_everything(void **state)
{
    (void)state;
    unsigned char *out, b[sizeof gz_far];
    size_t n, want_len;
    mlp_error err;
    unsigned char *want = far_contents(&want_len);
    memcpy(b, gz_far, sizeof b);
    b[sizeof b - 8] ^= 1; /* a wrong CRC-32 */

    /* stopping early: the first bytes, and the damage after them unseen */
    for (size_t k = 0; k <= 30000; k += 10000) { /* of 33368 */
        assert_int_equal(mlp_inflate_gzip_prefix(b, sizeof b, k, "x.gz", &out, &n, &err), MLP_OK);
        assert_int_equal(n, k);
        assert_memory_equal(out, want, k);
        free(out);
    }
    /* asking for one byte more than there is: everything, checked */
    assert_int_equal(
        mlp_inflate_gzip_prefix(gz_far, sizeof gz_far, want_len + 1, "x.gz", &out, &n, &err),
        MLP_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    free(out);
    assert_int_equal(mlp_inflate_gzip_prefix(b, sizeof b, want_len + 1, "x.gz", &out, &n, &err),
                     MLP_EFORMAT);
    assert_non_null(strstr(err.msg, "CRC-32 mismatch"));
    assert_null(out);
    /* damage before the stop is still found */
    expect_fail(gz_far, 30, SIZE_MAX, "truncated");
    assert_int_equal(mlp_inflate_gzip_prefix(gz_far, 30, 100000, "x.gz", &out, &n, &err),
                     MLP_EFORMAT);
    free(want);
}

static void test_raw_prefix(void **state)
{
    (void)state;
    /* gz_far's deflate stream, after its 10-byte header; its last byte cut off */
    const unsigned char *raw = gz_far + 10;
    const size_t raw_len = sizeof gz_far - 18;
    unsigned char *out;
    size_t n, used, want_len;
    mlp_error err;
    unsigned char *want = far_contents(&want_len);
    /* stopping early: the first k bytes, the buffer no larger, the end of the stream unseen */
    for (size_t k = 1; k <= 30001; k += 10000) {
        assert_int_equal(mlp_inflate_prefix(raw, raw_len - 1, k, "x", &out, &n, &used, &err),
                         MLP_OK);
        assert_int_equal(n, k);
        assert_int_equal(used, 0);
        assert_memory_equal(out, want, k);
#ifdef __GLIBC__
        assert_true(malloc_usable_size(out) < k + 64);
#endif
        free(out);
    }
    /* one byte more than there is: the whole stream, checked, and where it ends */
    assert_int_equal(mlp_inflate_prefix(raw, raw_len, want_len + 1, "x", &out, &n, &used, &err),
                     MLP_OK);
    assert_int_equal(n, want_len);
    assert_int_equal(used, raw_len);
    assert_memory_equal(out, want, want_len);
    free(out);
    assert_int_equal(mlp_inflate_prefix(raw, raw_len - 1, want_len + 1, "x", &out, &n, &used, &err),
                     MLP_EFORMAT);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_null(out);
    free(want);
}

/* ---------------------------------------------------------------- hand-built streams */

typedef struct {
    unsigned char b[512];
    size_t pos; /* bits written */
} bitw;

/* v's n low bits, least significant first: how deflate packs everything but codes */
static void put(bitw *w, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, w->pos++)
        w->b[w->pos / 8] |= (unsigned char)(((v >> i) & 1) << (w->pos % 8));
}

/* a Huffman code, most significant bit first */
static void put_code(bitw *w, uint32_t code, unsigned len)
{
    while (len--)
        put(w, code >> len, 1);
}

static size_t wlen(const bitw *w)
{
    return (w->pos + 7) / 8;
}

/* Inflates a hand-built raw stream, expecting failure with a message containing want. */
static void raw_fail(const bitw *w, const char *want)
{
    unsigned char *out;
    size_t n, used;
    mlp_error err = {{0}};
    mlp_status st = mlp_inflate(w->b, wlen(w), SIZE_MAX, "raw", &out, &n, &used, &err);
    if (st == MLP_OK || !strstr(err.msg, want)) {
        print_error("status %d, message '%s', wanted '%s'\n", st, err.msg, want);
        fail();
    }
    assert_null(out);
}

/* Inflates a hand-built raw stream, expecting the n bytes of want, from all of its bytes. */
static void raw_ok(const bitw *w, const char *want, size_t n)
{
    unsigned char *out;
    size_t got, used;
    mlp_error err = {{0}};
    if (mlp_inflate(w->b, wlen(w), SIZE_MAX, "raw", &out, &got, &used, &err) != MLP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(got, n);
    assert_memory_equal(out, want, n);
    assert_int_equal(used, wlen(w));
    free(out);
}

/* fixed-code literal (RFC 1951 3.2.6) */
static void put_fixed_lit(bitw *w, unsigned sym)
{
    if (sym < 144)
        put_code(w, 0x30 + sym, 8);
    else if (sym < 256)
        put_code(w, 0x190 + sym - 144, 9);
    else if (sym < 280)
        put_code(w, sym - 256, 7);
    else
        put_code(w, 0xc0 + sym - 280, 8);
}

/* The header of a last block (BFINAL 1) of the given type: 0 stored, 1 fixed, 2 dynamic. */
static void put_block(bitw *w, unsigned type)
{
    put(w, 1, 1);
    put(w, type, 2);
}

/* A last dynamic block's header up to the code lengths: nlen literal/length codes (257 to
 * 288, of which deflate allows up to 286), one distance code, and the code-length code's
 * lengths in the order they are sent (for 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3,
 * 13, 2, 14, 1, 15), as many as given (4 to 19). */
static void put_dynamic(bitw *w, unsigned nlen, const unsigned *cl, size_t ncl)
{
    put_block(w, 2);
    put(w, nlen - 257, 5);
    put(w, 0, 5);
    put(w, (uint32_t)(ncl - 4), 4);
    for (size_t i = 0; i < ncl; i++)
        put(w, cl[i], 3);
}

/* A fixed block: 'a', a match of length 3 at distance code dcode, the end-of-block code. */
static void put_fixed_match(bitw *w, unsigned dcode)
{
    put_block(w, 1);
    put_fixed_lit(w, 'a');
    put_fixed_lit(w, 257); /* length 3 */
    put_code(w, dcode, 5);
    put_fixed_lit(w, 256);
}

static void test_fixed_blocks_by_hand(void **state)
{
    (void)state;
    /* distance code 0 is distance 1: the match overlaps its own output */
    bitw w = {0};
    put_fixed_match(&w, 0);
    raw_ok(&w, "aaaa", 4);

    /* distance code 1 is distance 2: before the start of the output */
    w = (bitw){0};
    put_fixed_match(&w, 1);
    raw_fail(&w, "distance too far back");

    /* distance code 30 and length symbol 286 exist in the fixed code but are invalid */
    w = (bitw){0};
    put_fixed_match(&w, 30);
    raw_fail(&w, "invalid distance code");
    w = (bitw){0};
    put_block(&w, 1);
    put_fixed_lit(&w, 'a');
    put_fixed_lit(&w, 286);
    raw_fail(&w, "invalid length code");

    w = (bitw){0};
    put_block(&w, 3);
    raw_fail(&w, "invalid block type");

    /* a stored block whose length's complement is wrong, then one that promises more bytes
     * than there are */
    w = (bitw){0};
    put_block(&w, 0);
    w.pos = 8;
    put(&w, 5, 16);
    put(&w, 0, 16);
    raw_fail(&w, "complement");
    w = (bitw){0};
    put_block(&w, 0);
    w.pos = 8;
    put(&w, 5, 16);
    put(&w, 0xfffa, 16);
    put(&w, 'x', 8);
    raw_fail(&w, "truncated");

    /* a block that is not the last, then nothing */
    w = (bitw){0};
    put(&w, 0, 1);
    put(&w, 1, 2);
    put_fixed_lit(&w, 256);
    raw_fail(&w, "truncated");
}

/* A dynamic block whose code-length code gives symbol 18 (a run of zeros) the 1-bit code 0
 * and symbols 0 and len the 2-bit codes 10 and 11 (0 < len). Every literal/length code
 * length is 0 but those of 'a' and of the end-of-block symbol 256, which are len. */
static void put_dynamic_two_codes(bitw *w, unsigned len)
{
    const unsigned order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    unsigned cl[19];
    for (int i = 0; i < 19; i++)
        cl[i] = order[i] == 18 ? 1 : order[i] == 0 || order[i] == len ? 2 : 0;
    put_dynamic(w, 257, cl, 19);
    put_code(w, 0, 1);
    put(w, 'a' - 11, 7); /* 97 zeros */
    put_code(w, 3, 2);   /* 'a': len */
    put_code(w, 0, 1);
    put(w, 127, 7); /* 138 zeros */
    put_code(w, 0, 1);
    put(w, 9, 7);      /* 20 more: up to 255 */
    put_code(w, 3, 2); /* 256: len */
    put_code(w, 2, 2); /* the one distance code: unused (0) */
}

/* Zero lengths in runs of 11 + extra (symbol 18, with 0 and 18 given the 1-bit codes 0 and
 * 1), one run per entry of extras. */
static void put_zero_runs(bitw *w, const unsigned *extras, size_t n)
{
    const unsigned cl[4] = {0, 0, 1, 1}; /* 16 17 18 0 */
    put_dynamic(w, 257, cl, 4);
    for (size_t i = 0; i < n; i++) {
        put_code(w, 1, 1);
        put(w, extras[i], 7);
    }
}

static void test_dynamic_blocks_by_hand(void **state)
{
    (void)state;
    /* 'a' and end-of-block with 1-bit codes 0 and 1: a complete code, and no distances */
    bitw w = {0};
    put_dynamic_two_codes(&w, 1);
    put_code(&w, 0, 1);
    put_code(&w, 0, 1);
    put_code(&w, 1, 1);
    raw_ok(&w, "aa", 2);

    /* the same with 2-bit codes: two codes that leave half the code space unused */
    w = (bitw){0};
    put_dynamic_two_codes(&w, 2);
    raw_fail(&w, "invalid literal/length code lengths");

    /* 287 literal/length codes */
    w = (bitw){0};
    const unsigned none[4] = {0};
    put_dynamic(&w, 287, none, 4);
    raw_fail(&w, "too many length or distance codes");

    /* a code-length code that is over-subscribed: three 1-bit codes */
    w = (bitw){0};
    const unsigned three[4] = {1, 1, 1, 0};
    put_dynamic(&w, 257, three, 4);
    raw_fail(&w, "invalid code-length code");

    /* "repeat the previous length" as the very first length: 16 and 0 get 1-bit codes,
     * 0 -> code 0, 16 -> code 1 */
    w = (bitw){0};
    const unsigned rep[4] = {1, 0, 0, 1};
    put_dynamic(&w, 257, rep, 4);
    put_code(&w, 1, 1);
    put(&w, 0, 2);
    raw_fail(&w, "no previous length");

    /* 138 + 120 zeros: every length zero, so no end-of-block code */
    w = (bitw){0};
    put_zero_runs(&w, (const unsigned[]){127, 109}, 2);
    raw_fail(&w, "no end-of-block code");

    /* 138 + 138 zeros: a run past the last of the 258 lengths */
    w = (bitw){0};
    put_zero_runs(&w, (const unsigned[]){127, 127}, 2);
    raw_fail(&w, "past the last code");
}

/* ---------------------------------------------------------------- output limits */

/* A bit writer like bitw that grows, for streams that expand a lot. */
typedef struct {
    unsigned char *b; /* (cap) */
    size_t cap, pos;  /* bytes allocated, bits written */
} bigw;

static void big_put(bigw *w, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, w->pos++) {
        if (w->pos / 8 >= w->cap) {
            w->b = realloc(w->b, w->cap = 2 * w->cap + 64);
            memset(w->b + w->pos / 8, 0, w->cap - w->pos / 8);
        }
        w->b[w->pos / 8] |= (unsigned char)(((v >> i) & 1) << (w->pos % 8));
    }
}

static void big_code(bigw *w, uint32_t code, unsigned len)
{
    while (len--)
        big_put(w, code >> len, 1);
}

/* A gzip member decoding to len copies of 'a' (len >= 1), in one fixed block: a literal,
 * matches of 258 at distance 1 (13 bits for 258 bytes, so the file is about 160 times
 * smaller than what it holds), literals for the rest. With tail, an invalid block (type 3)
 * follows that block, which a decoder reports only if it decodes that far. */
static unsigned char *gz_repeat(size_t len, bool tail, size_t *gz_len)
{
    bigw w = {0};
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (size_t i = 0; i < 10; i++)
        big_put(&w, head[i], 8);
    big_put(&w, !tail, 1);
    big_put(&w, 1, 2);
    big_code(&w, 0x30 + 'a', 8);
    size_t left = len - 1;
    for (; left >= 258; left -= 258) {
        big_code(&w, 0xc5, 8); /* symbol 285: length 258 */
        big_code(&w, 0, 5);    /* distance code 0: distance 1 */
    }
    for (; left > 0; left--)
        big_code(&w, 0x30 + 'a', 8);
    big_code(&w, 0, 7); /* end of block */
    if (tail) {
        big_put(&w, 1, 1);
        big_put(&w, 3, 2);
    }
    w.pos = (w.pos + 7) / 8 * 8;
    uint32_t crc = 0;
    unsigned char a[4096];
    memset(a, 'a', sizeof a);
    for (size_t done = 0; done < len; done += sizeof a)
        crc = mlp_crc32(crc, a, len - done < sizeof a ? len - done : sizeof a);
    big_put(&w, crc, 32);
    big_put(&w, (uint32_t)len, 32);
    *gz_len = w.pos / 8;
    return w.b;
}

/* Asserts that out holds n bytes of 'a' in a buffer not much bigger than n (glibc rounds a
 * request up to 16 bytes, or to a page for the large ones it maps). */
static void expect_as(unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] != 'a')
            fail_msg("byte %zu is 0x%02x", i, out[i]);
#ifdef __GLIBC__
    assert_true(malloc_usable_size(out) < n + 4096);
#endif
}

static void test_output_limit_on_expanding_stream(void **state)
{
    (void)state;
    const size_t L = 1 << 20;
    size_t gz_len, n;
    unsigned char *out;
    mlp_error err;

    /* exactly at the limit: decoded, and in one buffer of the trailer's size */
    unsigned char *gz = gz_repeat(L, false, &gz_len);
    assert_true(gz_len < L / 100);
    assert_int_equal(mlp_inflate_gzip(gz, gz_len, L, "x.gz", &out, &n, &err), MLP_OK);
    assert_int_equal(n, L);
    expect_as(out, n);
    free(out);
    /* one byte past it (that byte is inside a 258-byte match) */
    expect_fail(gz, gz_len, L - 1, "decompresses to more than 1048575 bytes");
    free(gz);

    /* 64 MiB then an invalid block: the limit is reported, so decoding stopped at it */
    gz = gz_repeat((size_t)64 << 20, true, &gz_len);
    expect_fail(gz, gz_len, 1000, "decompresses to more than 1000 bytes");
    expect_fail(gz, gz_len, L, "decompresses to more than 1048576 bytes");
    /* a prefix stops at what was asked for, without writing the rest of a match past it:
     * the buffer does not grow (doubling) past n */
    for (size_t ask = L + 1; ask <= L + 300; ask += 100) {
        assert_int_equal(mlp_inflate_gzip_prefix(gz, gz_len, ask, "x.gz", &out, &n, &err), MLP_OK);
        assert_int_equal(n, ask);
        expect_as(out, n);
        free(out);
    }
    free(gz);
}

static void test_prefix_of_stored_blocks_copies_only_what_was_asked(void **state)
{
    (void)state;
    const size_t len = 300000; /* five stored blocks of 65535 bytes and a short one */
    char *dir = tu_tmpdir(), p[4096];
    unsigned char *a = malloc(len), *out;
    size_t gz_len, n;
    mlp_error err;
    memset(a, 'a', len);
    tu_path(p, dir, "a.gz");
    tu_write_gzip(p, a, len);
    unsigned char *gz = tu_read_file(p, &gz_len);
    for (size_t ask = 0; ask <= 70000; ask += 7000) {
        assert_int_equal(mlp_inflate_gzip_prefix(gz, gz_len, ask, "x.gz", &out, &n, &err), MLP_OK);
        assert_int_equal(n, ask);
        expect_as(out, n);
        free(out);
    }
    free(gz);
    free(a);
    tu_rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------- the system's gzip */

static bool have_gzip(void)
{
    return system("gzip --version >/dev/null 2>&1") == 0;
}

static void test_agrees_with_system_gzip(void **state)
{
    (void)state;
    if (!have_gzip()) {
        print_message("gzip not found: only the fixed fixtures were checked\n");
        skip();
    }
    char *dir = tu_tmpdir();
    char raw[4096], gz[4096], cmd[9000];
    tu_path(raw, dir, "data");
    tu_path(gz, dir, "data.gz");
    /* runs, text-like bytes, random bytes and long repeats, so that gzip uses every block
     * type, long and short matches, and distances across the whole window */
    const size_t n = 300000;
    unsigned char *b = malloc(n);
    uint64_t rng = 5;
    for (size_t i = 0; i < n;) {
        size_t run = 1 + mlp_rng_below(&rng, 400);
        unsigned kind = (unsigned)mlp_rng_below(&rng, 4);
        for (size_t k = 0; k < run && i < n; k++, i++) {
            if (kind == 0)
                b[i] = 0;
            else if (kind == 1)
                b[i] = (unsigned char)('a' + mlp_rng_below(&rng, 6));
            else if (kind == 2)
                b[i] = (unsigned char)mlp_rng_u64(&rng);
            else
                b[i] = i >= 20000 ? b[i - 20000] : 7;
        }
    }
    tu_write_file(raw, b, n);
    for (int level = 1; level <= 9; level += 4) {
        for (size_t len = 0; len <= n; len += len < 100 ? 37 : n / 3) {
            tu_write_file(raw, b, len);
            snprintf(cmd, sizeof cmd, "gzip -%d -c '%s' > '%s'", level, raw, gz);
            assert_int_equal(system(cmd), 0);
            size_t gz_len, out_len;
            unsigned char *g = tu_read_file(gz, &gz_len);
            unsigned char *out = decode_ok(g, gz_len, &out_len);
            assert_int_equal(out_len, len);
            assert_memory_equal(out, b, len);
            free(out);
            free(g);
        }
    }
    free(b);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_decode_exactly),
        cmocka_unit_test(test_raw_deflate_reports_bytes_used),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_every_flipped_bit_is_refused),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_trailer_checks),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_prefix_stops_early_or_checks_everything),
        cmocka_unit_test(test_raw_prefix),
        cmocka_unit_test(test_fixed_blocks_by_hand),
        cmocka_unit_test(test_dynamic_blocks_by_hand),
        cmocka_unit_test(test_output_limit_on_expanding_stream),
        cmocka_unit_test(test_prefix_of_stored_blocks_copies_only_what_was_asked),
        cmocka_unit_test(test_agrees_with_system_gzip),
    };
    return cmocka_run_group_tests_name("inflate", tests, NULL, NULL);
}
