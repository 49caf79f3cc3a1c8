/*
 * libFuzzer target for the HTTP request parser of `mlp serve`: any bytes must give a
 * complete request, "read more" or one of the statuses http.h lists, never a crash or a read
 * outside the bytes; a complete request's fields must be NUL-terminated within their arrays
 * and its body within the bytes. Each input is parsed whole and at every length of a prefix
 * up to 64 bytes, as a slow client delivers it. Seeds are in tests/corpus/http/; `make fuzz`
 * runs it.
 */
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so that ASan sees a read past the end */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return;
    memcpy(buf, data, size);
    mlp_http_request r;
    int st = mlp_http_parse(&r, buf, size, 4096);
    switch (st) {
    case 0:
    case 400:
    case 405:
    case 413:
    case 414:
    case 431:
    case 501:
    case 505:
        break;
    case 200:
        if (r.method == MLP_HTTP_OTHER || r.path[0] != '/' || r.head_len > size ||
            r.body_len > size - r.head_len || r.body_len > 4096 ||
            !memchr(r.path, 0, sizeof r.path) || !memchr(r.query, 0, sizeof r.query) ||
            !memchr(r.host, 0, sizeof r.host) || !memchr(r.origin, 0, sizeof r.origin))
            abort();
        break;
    default:
        abort();
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    for (size_t k = 0; k < size && k < 64; k++)
        check(data, k);
    return 0;
}
