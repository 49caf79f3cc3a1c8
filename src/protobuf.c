/*
 * protobuf: wire-format writer (encoding in protobuf.h). Every byte goes through put(), which
 * counts it and, unless the writer only counts, hands it to stdio's buffer.
 */
#include "protobuf.h"
#include "util.h"

#include <string.h>

#define CHUNK 4096 /* floats converted to little-endian bytes at a time */

void mlp_pb_start(mlp_pb *pb, FILE *f)
{
    *pb = (mlp_pb){.f = f};
}

static void put(mlp_pb *pb, const void *data, size_t len)
{
    pb->n += len;
    if (pb->f && len)
        fwrite(data, 1, len, pb->f); /* a short write leaves ferror(f) set for the caller */
}

size_t mlp_pb_varint_size(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

void mlp_pb_varint(mlp_pb *pb, uint64_t v)
{
    unsigned char buf[10];
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        buf[n++] = (unsigned char)(v | 0x80);
    buf[n++] = (unsigned char)v;
    put(pb, buf, n);
}

void mlp_pb_tag(mlp_pb *pb, uint32_t field, unsigned wire)
{
    mlp_pb_varint(pb, (uint64_t)field << 3 | wire);
}

void mlp_pb_uint(mlp_pb *pb, uint32_t field, uint64_t v)
{
    mlp_pb_tag(pb, field, MLP_PB_VARINT);
    mlp_pb_varint(pb, v);
}

void mlp_pb_int(mlp_pb *pb, uint32_t field, int64_t v)
{
    mlp_pb_uint(pb, field, (uint64_t)v); /* two's complement, as the format defines it */
}

void mlp_pb_bytes(mlp_pb *pb, uint32_t field, const void *data, size_t len)
{
    mlp_pb_tag(pb, field, MLP_PB_LEN);
    mlp_pb_varint(pb, len);
    put(pb, data, len);
}

void mlp_pb_string(mlp_pb *pb, uint32_t field, const char *s)
{
    mlp_pb_bytes(pb, field, s, strlen(s));
}

void mlp_pb_floats(mlp_pb *pb, uint32_t field, const float *x, size_t n)
{
    unsigned char out[4 * CHUNK];
    mlp_pb_tag(pb, field, MLP_PB_LEN);
    mlp_pb_varint(pb, 4 * (uint64_t)n);
    if (!pb->f) {
        pb->n += 4 * (uint64_t)n; /* counting: the values are not read */
        return;
    }
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t k = n - i < CHUNK ? n - i : CHUNK;
        for (size_t q = 0; q < k; q++) {
            uint32_t bits;
            memcpy(&bits, &x[i + q], sizeof bits);
            mlp_put_u32(out + 4 * q, bits);
        }
        put(pb, out, 4 * k);
    }
}

void mlp_pb_message(mlp_pb *pb, uint32_t field, mlp_pb_writer write, const void *ctx)
{
    mlp_pb count;
    mlp_pb_start(&count, NULL);
    write(&count, ctx);
    mlp_pb_tag(pb, field, MLP_PB_LEN);
    mlp_pb_varint(pb, count.n);
    uint64_t start = pb->n;
    write(pb, ctx);
    if (count.mismatch || pb->n - start != count.n)
        pb->mismatch = true;
}
