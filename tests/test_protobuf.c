/* protobuf: every field kind against bytes worked out by hand from the encoding guide
 * (https://protobuf.dev/programming-guides/encoding/), and the two passes of a nested
 * message: the length it counts is the length it writes. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "protobuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A writer into memory; done() returns the bytes (the caller frees). */
typedef struct {
    char *buf;
    size_t len;
    FILE *f;
    mlp_pb pb;
} sink;

static void open_sink(sink *s)
{
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    assert_non_null(s->f);
    mlp_pb_start(&s->pb, s->f);
}

/* Closes s and checks that it holds exactly want[0..n) and that pb counted n bytes. */
static void expect_bytes(sink *s, const unsigned char *want, size_t n)
{
    assert_int_equal(fclose(s->f), 0);
    if (s->len != n || memcmp(s->buf, want, n) != 0) {
        print_error("wanted %zu bytes:", n);
        for (size_t i = 0; i < n; i++)
            print_error(" %02x", want[i]);
        print_error("\ngot %zu:", s->len);
        for (size_t i = 0; i < s->len; i++)
            print_error(" %02x", (unsigned char)s->buf[i]);
        print_error("\n");
        fail();
    }
    assert_int_equal(s->pb.n, n);
    assert_false(s->pb.mismatch);
    free(s->buf);
}

#define EXPECT(s, ...)                                                                             \
    do {                                                                                           \
        const unsigned char want_[] = {__VA_ARGS__};                                               \
        expect_bytes(s, want_, sizeof want_);                                                      \
    } while (0)

static void test_varints(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        size_t n;
        unsigned char bytes[10];
    } cases[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {150, 2, {0x96, 0x01}}, /* the guide's own example */
        {300, 2, {0xac, 0x02}},
        {16383, 2, {0xff, 0x7f}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
        {(uint64_t)1 << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sink s;
        open_sink(&s);
        mlp_pb_varint(&s.pb, cases[k].v);
        assert_int_equal(mlp_pb_varint_size(cases[k].v), cases[k].n);
        expect_bytes(&s, cases[k].bytes, cases[k].n);
    }
}

static void test_tags_and_integer_fields(void **state)
{
    (void)state;
    sink s;
    open_sink(&s);
    mlp_pb_tag(&s.pb, 1, MLP_PB_VARINT);  /* 1 << 3 | 0 */
    mlp_pb_tag(&s.pb, 2, MLP_PB_LEN);     /* 2 << 3 | 2 */
    mlp_pb_tag(&s.pb, 14, MLP_PB_LEN);    /* 0x72 */
    mlp_pb_tag(&s.pb, 15, MLP_PB_VARINT); /* 0x78: the last one-byte tag */
    mlp_pb_tag(&s.pb, 16, MLP_PB_VARINT); /* 0x80 = 128: two bytes */
    mlp_pb_tag(&s.pb, 20, MLP_PB_VARINT); /* 160 */
    EXPECT(&s, 0x08, 0x12, 0x72, 0x78, 0x80, 0x01, 0xa0, 0x01);

    open_sink(&s);
    mlp_pb_uint(&s.pb, 1, 8);   /* ONNX's ir_version 8 */
    mlp_pb_uint(&s.pb, 2, 13);  /* an opset version */
    mlp_pb_uint(&s.pb, 1, 784); /* dim_value 784 = 0x310 */
    mlp_pb_int(&s.pb, 3, 1);    /* an INT attribute */
    mlp_pb_int(&s.pb, 3, 0);    /* zero is written, not left out */
    mlp_pb_uint(&s.pb, 20, 2);  /* AttributeProto.type INT */
    mlp_pb_int(&s.pb, 3, -1);   /* Softmax's axis: ten bytes of two's complement */
    mlp_pb_int(&s.pb, 3, -129); /* ...ff7f: 2^64 - 129 */
    EXPECT(&s, 0x08, 0x08, 0x10, 0x0d, 0x08, 0x90, 0x06, 0x18, 0x01, 0x18, 0x00, 0xa0, 0x01, 0x02,
           0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* -1 */
           0x18, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 /* -129 */);
}

static void test_length_delimited_fields(void **state)
{
    (void)state;
    sink s;
    open_sink(&s);
    mlp_pb_string(&s.pb, 2, "mlp");
    mlp_pb_string(&s.pb, 1, ""); /* empty: tag and a zero length */
    mlp_pb_bytes(&s.pb, 4, "\0\xff", 2);
    EXPECT(&s, 0x12, 0x03, 'm', 'l', 'p', 0x0a, 0x00, 0x22, 0x02, 0x00, 0xff);

    /* a 200-byte string needs a two-byte length: 200 = 0xc8 -> c8 01 */
    char big[201];
    memset(big, 'a', 200);
    big[200] = '\0';
    open_sink(&s);
    mlp_pb_string(&s.pb, 1, big);
    unsigned char want[203] = {0x0a, 0xc8, 0x01};
    memset(want + 3, 'a', 200);
    expect_bytes(&s, want, sizeof want);

    /* raw float32, little-endian: 1.0f = 3f800000, -2.5f = c0200000, the smallest
     * subnormal = 00000001, -0.0f = 80000000 */
    const float x[4] = {1.0f, -2.5f, 1.40129846e-45f, -0.0f};
    open_sink(&s);
    mlp_pb_floats(&s.pb, 9, x, 4);
    mlp_pb_floats(&s.pb, 9, x, 0); /* an empty tensor */
    EXPECT(&s, 0x4a, 0x10, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0x01, 0x00, 0x00, 0x00,
           0x00, 0x00, 0x00, 0x80, 0x4a, 0x00);
}

/* Writers of nested messages, as onnx.c writes them. */
static void write_inner(mlp_pb *pb, const void *ctx)
{
    mlp_pb_uint(pb, 1, *(const uint64_t *)ctx);
    mlp_pb_string(pb, 2, "N");
}

static void write_outer(mlp_pb *pb, const void *ctx)
{
    mlp_pb_string(pb, 1, "x");
    mlp_pb_message(pb, 2, write_inner, ctx);
    mlp_pb_message(pb, 2, write_inner, ctx);
}

static void write_empty(mlp_pb *pb, const void *ctx)
{
    (void)pb;
    (void)ctx;
}

static void write_long(mlp_pb *pb, const void *ctx)
{
    const float *x = ctx;
    mlp_pb_floats(pb, 9, x, 40); /* 160 bytes + 3 of tag and length */
}

static void test_nested_messages(void **state)
{
    (void)state;
    const uint64_t v = 300;
    sink s;
    open_sink(&s);
    mlp_pb_message(&s.pb, 7, write_inner, &v);
    /* 3a (7 << 3 | 2), length 6: 08 ac 02, 12 01 'N' */
    EXPECT(&s, 0x3a, 0x06, 0x08, 0xac, 0x02, 0x12, 0x01, 'N');

    /* two levels: 0a 01 'x', then the inner one twice as field 2 (12 06 ...) */
    open_sink(&s);
    mlp_pb_message(&s.pb, 11, write_outer, &v);
    EXPECT(&s, 0x5a, 0x13, 0x0a, 0x01, 'x', 0x12, 0x06, 0x08, 0xac, 0x02, 0x12, 0x01, 'N', 0x12,
           0x06, 0x08, 0xac, 0x02, 0x12, 0x01, 'N');

    open_sink(&s);
    mlp_pb_message(&s.pb, 8, write_empty, NULL);
    EXPECT(&s, 0x42, 0x00);

    /* a body of 163 bytes: the length takes two bytes, a3 01 */
    float x[40];
    for (size_t i = 0; i < 40; i++)
        x[i] = 1.0f;
    open_sink(&s);
    mlp_pb_message(&s.pb, 5, write_long, x);
    assert_int_equal(fclose(s.f), 0);
    assert_int_equal(s.len, 1 + 2 + 163); /* tag, length, body */
    const unsigned char head[] = {0x2a, 0xa3, 0x01, 0x4a, 0xa0, 0x01, 0x00, 0x00, 0x80, 0x3f};
    assert_memory_equal(s.buf, head, sizeof head);
    free(s.buf);

    /* counting alone gives the same size and writes nothing */
    mlp_pb count;
    mlp_pb_start(&count, NULL);
    mlp_pb_message(&count, 5, write_long, x);
    assert_int_equal(count.n, 166);
    assert_false(count.mismatch);
}

/* A writer that puts one more field each time it is called: a bug the writer must notice. */
static void write_unstable(mlp_pb *pb, const void *ctx)
{
    int *calls = *(int *const *)ctx;
    for (int k = 0; k <= *calls; k++)
        mlp_pb_uint(pb, 1, 1);
    ++*calls;
}

static void test_unstable_writer_is_caught(void **state)
{
    (void)state;
    int calls = 0;
    int *p = &calls;
    mlp_pb count;
    mlp_pb_start(&count, NULL);
    mlp_pb_message(&count, 1, write_unstable, &p);
    assert_true(count.mismatch);
    assert_int_equal(calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_tags_and_integer_fields),
        cmocka_unit_test(test_length_delimited_fields),
        cmocka_unit_test(test_nested_messages),
        cmocka_unit_test(test_unstable_writer_is_caught),
    };
    return cmocka_run_group_tests_name("protobuf", tests, NULL, NULL);
}
