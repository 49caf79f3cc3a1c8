/*
 * libFuzzer target for inflate.c: every input is decoded as a gzip file, as a prefix of one
 * (of a length taken from the input's last byte) and as a raw deflate stream. Sanitizers
 * catch any out-of-bounds access or undefined behaviour; the assertions catch results that
 * break the module's promises (an output past its cap or past the prefix asked for, a
 * prefix that is not the start of the whole output, a success with no buffer, a failure
 * with no message, a stream said to use more input than there is). Build and run:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz_gzip.c \
 *       src/inflate.c src/util.c -lm -o /tmp/fuzz_gzip
 *   mkdir -p /tmp/corpus && /tmp/fuzz_gzip -max_total_time=120 /tmp/corpus tests/corpus/gzip
 *
 * libFuzzer adds what it finds to the first directory, so the seeds stay as they are. They
 * are small zlib-made files: gzip members with stored, fixed and dynamic blocks, every
 * header field, two members, a match at distance 32768, and three raw deflate streams.
 */
#include "inflate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT (1u << 20)

static void check(mlp_status st, const unsigned char *out, size_t out_len, const mlp_error *err)
{
    if (st == MLP_OK) {
        if (!out || out_len > MAX_OUT)
            abort();
    } else if (out || out_len != 0 || !memchr(err->msg, '\0', sizeof err->msg) ||
               strlen(err->msg) == 0 || strchr(err->msg, '\n')) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *out = NULL;
    size_t out_len = 0, used = 0;
    mlp_error err = {{0}};

    mlp_status st = mlp_inflate_gzip(data, size, MAX_OUT, "fuzz", &out, &out_len, &err);
    check(st, out, out_len, &err);
    unsigned char *whole = out;
    size_t whole_len = out_len;

    /* a prefix whose length comes from the input: never more than asked for, and the
     * whole output's first bytes; shorter only when the whole output is shorter, checked
     * (n is below MAX_OUT, so the whole decode succeeds exactly when such a prefix does) */
    size_t n = size ? (size_t)data[size - 1] * 97 : 0;
    err.msg[0] = '\0';
    st = mlp_inflate_gzip_prefix(data, size, n, "fuzz", &out, &out_len, &err);
    check(st, out, out_len, &err);
    if (st == MLP_OK && out_len > n)
        abort();
    if (whole && (st != MLP_OK || out_len != (whole_len < n ? whole_len : n) ||
                  memcmp(out, whole, out_len) != 0))
        abort();
    if (st == MLP_OK && out_len < n && !whole)
        abort();
    free(out);
    free(whole);

    err.msg[0] = '\0';
    st = mlp_inflate(data, size, MAX_OUT, "fuzz", &out, &out_len, &used, &err);
    check(st, out, out_len, &err);
    if (st == MLP_OK && used > size)
        abort();
    free(out);
    return 0;
}
