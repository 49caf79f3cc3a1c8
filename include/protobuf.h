/*
 * protobuf: writes the Protocol Buffers wire format
 * (https://protobuf.dev/programming-guides/encoding/), the part a file such as ONNX needs:
 *
 *   varint            7 bits a byte, least significant group first, the top bit set on every
 *                     byte but the last: 300 -> ac 02
 *   tag               varint of (field << 3 | wire type); wire type 0 is a varint,
 *                     2 is length-delimited: field 1 varint -> 08, field 2 bytes -> 12
 *   int64, int32,     a varint; a negative value as its 64-bit two's complement, 10 bytes:
 *   enum              -1 -> ff ff ff ff ff ff ff ff ff 01
 *   string, bytes,    tag, varint length, the bytes
 *   nested message
 *
 * A nested message's length comes before it, so it is written twice: once into a counter
 * (f NULL), which gives the length, then for real. A writer function that puts the same
 * fields each time makes that work; the raw data it holds is only counted, not converted,
 * on the first pass. Field numbers must be below 2^29.
 *
 * Write errors of f are the caller's to find (ferror, or the commit of output.h): the writer
 * keeps no status of its own beyond `mismatch`, set when a nested message wrote other than it
 * counted.
 */
#ifndef MLP_PROTOBUF_H
#define MLP_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { MLP_PB_VARINT = 0, MLP_PB_LEN = 2 }; /* the two wire types written */

typedef struct {
    FILE *f;       /* where the bytes go; NULL: count them only */
    uint64_t n;    /* bytes written (or counted) so far */
    bool mismatch; /* a nested message's two passes differed; the output is invalid */
} mlp_pb;

/* What writes a message's fields into pb; ctx is the caller's. Called twice per nesting. */
typedef void (*mlp_pb_writer)(mlp_pb *pb, const void *ctx);

void mlp_pb_start(mlp_pb *pb, FILE *f);

/* Bytes the varint of v takes (1 to 10). */
size_t mlp_pb_varint_size(uint64_t v);
void mlp_pb_varint(mlp_pb *pb, uint64_t v);
void mlp_pb_tag(mlp_pb *pb, uint32_t field, unsigned wire);

/* A varint field: uint64, or int32/int64/enum as their value (negative: 10 bytes). */
void mlp_pb_uint(mlp_pb *pb, uint32_t field, uint64_t v);
void mlp_pb_int(mlp_pb *pb, uint32_t field, int64_t v);

/* Length-delimited fields: len bytes at data; a NUL-terminated string (no NUL written). */
void mlp_pb_bytes(mlp_pb *pb, uint32_t field, const void *data, size_t len);
void mlp_pb_string(mlp_pb *pb, uint32_t field, const char *s);
/* A bytes field of n float32, each little-endian whatever the host (ONNX's raw_data). */
void mlp_pb_floats(mlp_pb *pb, uint32_t field, const float *x, size_t n);

/* A nested message: tag, the length write(ctx) takes, then what it writes. */
void mlp_pb_message(mlp_pb *pb, uint32_t field, mlp_pb_writer write, const void *ctx);

#endif
