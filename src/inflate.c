/*
 * inflate: deflate (RFC 1951) and gzip (RFC 1952) decoding, all at once into one growing
 * buffer. Knows nothing about files or IDX: bytes in, bytes out, every field checked.
 *
 * The decoder reads the input through a 64-bit bit buffer, least significant bit first as
 * deflate packs it. Past the end of the input the buffer is fed zeros; overrun() tells
 * whether any of those were actually consumed, so truncation is found once per symbol
 * instead of once per bit, and reported as truncation rather than as whatever the zeros
 * happened to decode to.
 *
 * Huffman codes are decoded through a table indexed by the next FAST_BITS input bits,
 * which holds every code of that length or shorter (most of them); longer codes fall back
 * to the canonical walk of Mark Adler's puff.c: one bit at a time, comparing with the first
 * code of each length.
 *
 * The output buffer is also the match window: a distance is checked against the bytes this
 * member has produced, never against a fixed 32 KiB window that may not be filled yet.
 */
#include "inflate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BITS   15  /* longest code deflate allows */
#define MAX_LCODES 286 /* literal/length codes a dynamic block may define (RFC 1951 3.2.7) */
#define MAX_DCODES 30  /* distance codes */
#define FIX_LCODES 288 /* the fixed code defines 288, of which 286 and 287 are invalid */
#define FAST_BITS  10

/* gzip header flags (RFC 1952 2.3.1) */
#define FTEXT     0x01 /* a hint that the data is text; changes nothing */
#define FHCRC     0x02
#define FEXTRA    0x04
#define FNAME     0x08
#define FCOMMENT  0x10
#define FRESERVED 0xe0

typedef struct {
    /* next FAST_BITS input bits -> (code length << 9) | symbol; 0 when the code is longer
     * than FAST_BITS or those bits start no code at all */
    uint16_t fast[1 << FAST_BITS];
    uint16_t count[MAX_BITS + 1]; /* number of codes of each length; count[0] is 0 */
    uint16_t symbol[FIX_LCODES];  /* symbols in canonical order: by length, then value */
} huffman;

typedef struct {
    const unsigned char *in; /* (in_len) the whole input */
    size_t in_len;
    size_t in_pos; /* bytes moved into bits so far, counting the zeros fed past the end */
    uint64_t bits; /* the next nbits input bits, least significant first */
    unsigned nbits;
    unsigned char *out; /* (cap) the output so far, len bytes of it used */
    size_t len, cap;
    size_t max;       /* the least of limit and input * 1032: the output never grows past */
    size_t limit;     /* what the caller allows (SIZE_MAX: anything) */
    size_t start;     /* where the current member's output starts: no match reaches before */
    size_t stop;      /* decoding ends once len reaches this (SIZE_MAX: never), and no
                       * byte past it is ever written or allocated ... */
    bool stopped;     /* ... and then this is set, and nothing after it is checked */
    const char *name; /* for messages */
    mlp_error *err;
} inflater;

/* ---------------------------------------------------------------- bits */

static inline void refill(inflater *s)
{
    if (s->in_pos < s->in_len && s->in_len - s->in_pos >= 8) {
        /* Eight bytes at once (compilers make this one load); the whole ones that fit are
         * counted. The bits of the byte that did not fit land above nbits, where the next
         * refill ORs the very same bits again, so they do no harm. */
        const unsigned char *p = s->in + s->in_pos;
        uint64_t w = 0;
        for (int k = 7; k >= 0; k--)
            w = w << 8 | p[k];
        s->bits |= w << s->nbits;
        s->in_pos += (63 - s->nbits) >> 3;
        s->nbits |= 56;
        return;
    }
    while (s->nbits <= 56) {
        uint64_t b = s->in_pos < s->in_len ? s->in[s->in_pos] : 0;
        s->in_pos++;
        s->bits |= b << s->nbits;
        s->nbits += 8;
    }
}

/* The next n <= 32 bits. */
static uint32_t getbits(inflater *s, unsigned n)
{
    if (s->nbits < n)
        refill(s);
    uint32_t v = (uint32_t)(s->bits & ((UINT64_C(1) << n) - 1));
    s->bits >>= n;
    s->nbits -= n;
    return v;
}

/* True once a bit from beyond the end of the input has been consumed. */
static bool overrun(const inflater *s)
{
    return s->in_pos > s->in_len && (s->in_pos - s->in_len) * 8 > s->nbits;
}

/* Offset of the byte holding the next unread bit. */
static size_t offset(const inflater *s)
{
    return s->in_pos - (s->nbits + 7) / 8;
}

/* Drops the rest of the current byte and gives back the whole bytes still in the buffer,
 * so that in_pos is where byte-aligned data (a stored block, a trailer) starts. */
static void align(inflater *s)
{
    s->in_pos -= s->nbits / 8;
    s->bits = 0;
    s->nbits = 0;
}

static mlp_status truncated(const inflater *s)
{
    return mlp_fail(s->err, MLP_EFORMAT, "%s: truncated: the compressed data ends at byte %zu",
                    s->name, s->in_len);
}

/* A malformed stream, or, if the decoder already ran past the end, a truncated one. */
static mlp_status corrupt(const inflater *s, const char *what)
{
    if (overrun(s))
        return truncated(s);
    return mlp_fail(s->err, MLP_EFORMAT, "%s: corrupt deflate data at byte %zu: %s", s->name,
                    offset(s), what);
}

/* ---------------------------------------------------------------- output */

/* Makes room for n more bytes, doubling, but never past max. */
static mlp_status grow(inflater *s, size_t n)
{
    if (s->max - s->len < n)
        return mlp_fail(s->err, MLP_EFORMAT, "%s: decompresses to more than %zu bytes", s->name,
                        s->max);
    size_t cap = s->cap < 4096 ? 4096 : s->cap;
    while (cap - s->len < n)
        cap = cap > s->max / 2 ? s->max : 2 * cap;
    if (cap > s->max)
        cap = s->max;
    unsigned char *p = realloc(s->out, cap ? cap : 1);
    if (!p)
        return mlp_fail(s->err, MLP_ENOMEM, "%s: out of memory for %zu decompressed bytes", s->name,
                        cap);
    s->out = p;
    s->cap = cap;
    return MLP_OK;
}

static inline mlp_status room(inflater *s, size_t n)
{
    return s->cap - s->len >= n ? MLP_OK : grow(s, n);
}

/* ---------------------------------------------------------------- Huffman codes */

static unsigned reverse(unsigned code, unsigned len)
{
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++, code >>= 1)
        r = (r << 1) | (code & 1);
    return r;
}

/* Builds h from the code lengths of n symbols (0: unused), assigning codes as RFC 1951
 * 3.2.2 does. Returns 0 for a complete code, 1 for an incomplete one made of at most one
 * code of length 1 (which deflate allows, e.g. a block with a single distance), and -1 for
 * an over-subscribed or otherwise incomplete code. */
static int build(huffman *h, const uint8_t *lengths, size_t n)
{
    uint16_t offs[MAX_BITS + 1], next[MAX_BITS + 1];
    memset(h->count, 0, sizeof h->count);
    for (size_t i = 0; i < n; i++)
        h->count[lengths[i]]++;
    h->count[0] = 0;

    int left = 1; /* codes of the current length still unassigned */
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        left = 2 * left - h->count[len];
        if (left < 0)
            return -1;
    }

    offs[1] = 0;
    for (unsigned len = 1; len < MAX_BITS; len++)
        offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    for (size_t i = 0; i < n; i++)
        if (lengths[i])
            h->symbol[offs[lengths[i]]++] = (uint16_t)i;

    unsigned code = 0;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        code = (code + h->count[len - 1]) << 1;
        next[len] = (uint16_t)code;
    }
    memset(h->fast, 0, sizeof h->fast);
    for (size_t i = 0; i < n; i++) {
        unsigned len = lengths[i];
        if (len == 0)
            continue;
        unsigned c = next[len]++;
        if (len > FAST_BITS)
            continue;
        /* the code comes first in the stream, so its reversed bits are the low bits of
         * every table index whose high bits are anything */
        for (unsigned k = reverse(c, len); k < (1u << FAST_BITS); k += 1u << len)
            h->fast[k] = (uint16_t)(len << 9 | i);
    }
    if (left == 0)
        return 0;
    unsigned coded = 0;
    for (unsigned len = 2; len <= MAX_BITS; len++)
        coded += h->count[len];
    return coded == 0 && h->count[1] <= 1 ? 1 : -1;
}

/* The next symbol, or -1 if the bits start no code of h. */
static inline int decode(inflater *s, const huffman *h)
{
    if (s->nbits < MAX_BITS)
        refill(s);
    unsigned e = h->fast[s->bits & ((1u << FAST_BITS) - 1)];
    if (e) {
        s->bits >>= e >> 9;
        s->nbits -= e >> 9;
        return (int)(e & 511);
    }
    /* code is the bits read so far, first the first code of this length, index the
     * position of that code's symbol in h->symbol */
    int code = 0, first = 0, index = 0;
    uint64_t b = s->bits;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        code |= (int)(b & 1);
        b >>= 1;
        int count = h->count[len];
        if (code - count < first) {
            s->bits >>= len;
            s->nbits -= len;
            return h->symbol[index + (code - first)];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

/* ---------------------------------------------------------------- blocks */

static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Decodes literals and matches up to the end-of-block code. */
static mlp_status codes(inflater *s, const huffman *lit, const huffman *dist)
{
    mlp_status st;
    for (;;) {
        if (s->len >= s->stop)
            return MLP_OK;
        int sym = decode(s, lit);
        if (sym < 0)
            return corrupt(s, "invalid literal/length code");
        if (sym < 256) {
            if (overrun(s))
                return truncated(s);
            if ((st = room(s, 1)) != MLP_OK)
                return st;
            s->out[s->len++] = (unsigned char)sym;
            continue;
        }
        if (sym == 256)
            return overrun(s) ? truncated(s) : MLP_OK;
        sym -= 257;
        if (sym >= 29)
            return corrupt(s, "invalid length code");
        size_t len = len_base[sym] + getbits(s, len_extra[sym]);
        int d = decode(s, dist);
        if (d < 0 || d >= 30)
            return corrupt(s, "invalid distance code");
        size_t back = dist_base[d] + getbits(s, dist_extra[d]);
        if (overrun(s))
            return truncated(s);
        if (back > s->len - s->start)
            return corrupt(s, "distance too far back");
        /* a prefix ends exactly at stop (len < stop here): the rest of the match is not
         * wanted, and writing it could make the buffer grow past what was asked for */
        if (len > s->stop - s->len)
            len = s->stop - s->len;
        if ((st = room(s, len)) != MLP_OK)
            return st;
        /* byte by byte: when back < len the match overlaps what it writes, and must */
        unsigned char *o = s->out + s->len;
        const unsigned char *from = o - back;
        for (size_t i = 0; i < len; i++)
            o[i] = from[i];
        s->len += len;
    }
}

static mlp_status stored(inflater *s)
{
    mlp_status st;
    align(s);
    if (s->in_pos > s->in_len || s->in_len - s->in_pos < 4)
        return truncated(s);
    const unsigned char *p = s->in + s->in_pos;
    size_t len = (size_t)p[0] | (size_t)p[1] << 8;
    size_t nlen = (size_t)p[2] | (size_t)p[3] << 8;
    if (len != (~nlen & 0xffff))
        return corrupt(s, "stored block length does not match its complement");
    s->in_pos += 4;
    if (s->in_len - s->in_pos < len)
        return truncated(s);
    /* as for a match: nothing past stop is copied */
    size_t take = len < s->stop - s->len ? len : s->stop - s->len;
    if ((st = room(s, take)) != MLP_OK)
        return st;
    if (take) /* an empty block may come before out is allocated */
        memcpy(s->out + s->len, s->in + s->in_pos, take);
    s->len += take;
    s->in_pos += len;
    return MLP_OK;
}

static void build_fixed(huffman *lit, huffman *dist)
{
    uint8_t l[FIX_LCODES];
    size_t i = 0;
    for (; i < 144; i++)
        l[i] = 8;
    for (; i < 256; i++)
        l[i] = 9;
    for (; i < 280; i++)
        l[i] = 7;
    for (; i < FIX_LCODES; i++)
        l[i] = 8;
    build(lit, l, FIX_LCODES);
    /* 30 codes of 5 bits: the two unused patterns decode to nothing, so they are refused */
    memset(l, 5, MAX_DCODES);
    build(dist, l, MAX_DCODES);
}

/* Reads a dynamic block's code descriptions (RFC 1951 3.2.7) into lit and dist. */
static mlp_status dynamic(inflater *s, huffman *lit, huffman *dist)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    uint8_t lengths[MAX_LCODES + MAX_DCODES];
    uint8_t cl[19] = {0};
    size_t nlen = getbits(s, 5) + 257, ndist = getbits(s, 5) + 1, ncode = getbits(s, 4) + 4;
    if (nlen > MAX_LCODES || ndist > MAX_DCODES)
        return corrupt(s, "too many length or distance codes");
    for (size_t i = 0; i < ncode; i++)
        cl[order[i]] = (uint8_t)getbits(s, 3);
    if (overrun(s))
        return truncated(s);
    /* lit holds the code-length code while the lengths are read */
    if (build(lit, cl, 19) != 0)
        return corrupt(s, "invalid code-length code");
    for (size_t i = 0; i < nlen + ndist;) {
        int sym = decode(s, lit);
        if (sym < 0)
            return corrupt(s, "invalid code-length code");
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        uint8_t len = 0;
        size_t rep;
        if (sym == 16) {
            if (i == 0)
                return corrupt(s, "repeated code length with no previous length");
            len = lengths[i - 1];
            rep = 3 + getbits(s, 2);
        } else if (sym == 17) {
            rep = 3 + getbits(s, 3);
        } else {
            rep = 11 + getbits(s, 7);
        }
        if (rep > nlen + ndist - i)
            return corrupt(s, "code lengths repeat past the last code");
        memset(lengths + i, len, rep);
        i += rep;
    }
    if (overrun(s))
        return truncated(s);
    if (lengths[256] == 0)
        return corrupt(s, "no end-of-block code");
    if (build(lit, lengths, nlen) < 0)
        return corrupt(s, "invalid literal/length code lengths");
    if (build(dist, lengths + nlen, ndist) < 0)
        return corrupt(s, "invalid distance code lengths");
    return MLP_OK;
}

/* One deflate stream starting at s->in_pos; leaves in_pos at the byte after it. */
static mlp_status inflate_stream(inflater *s)
{
    huffman lit, dist, fixed_lit, fixed_dist;
    bool have_fixed = false;
    unsigned last;
    mlp_status st;
    s->start = s->len;
    s->bits = 0;
    s->nbits = 0;
    do {
        last = getbits(s, 1);
        unsigned type = getbits(s, 2);
        if (overrun(s))
            return truncated(s);
        if (type == 0) {
            st = stored(s);
        } else if (type == 1) {
            if (!have_fixed)
                build_fixed(&fixed_lit, &fixed_dist);
            have_fixed = true;
            st = codes(s, &fixed_lit, &fixed_dist);
        } else if (type == 2) {
            st = dynamic(s, &lit, &dist);
            if (st == MLP_OK)
                st = codes(s, &lit, &dist);
        } else {
            st = corrupt(s, "invalid block type 3");
        }
        if (st != MLP_OK)
            return st;
        if (s->len >= s->stop) {
            s->stopped = true;
            return MLP_OK;
        }
    } while (!last);
    align(s);
    return s->in_pos > s->in_len ? truncated(s) : MLP_OK;
}

/* ---------------------------------------------------------------- entry points */

static void start(inflater *s, const unsigned char *in, size_t in_len, size_t max_out,
                  const char *name, mlp_error *err)
{
    *s = (inflater){
        .in = in, .in_len = in_len, .limit = max_out, .stop = SIZE_MAX, .name = name, .err = err};
    if (!mlp_mul_size(in_len, MLP_INFLATE_MAX_RATIO, &s->max))
        s->max = SIZE_MAX;
    if (s->max > max_out)
        s->max = max_out;
}

static mlp_status finish(inflater *s, mlp_status st, unsigned char **out, size_t *out_len)
{
    if (st == MLP_OK && !s->out && !(s->out = malloc(1)))
        st = mlp_fail(s->err, MLP_ENOMEM, "%s: out of memory", s->name);
    if (st != MLP_OK) {
        free(s->out);
        s->out = NULL;
        s->len = 0;
    }
    *out = s->out;
    *out_len = s->len;
    return st;
}

mlp_status mlp_inflate(const unsigned char *in, size_t in_len, size_t max_out, const char *name,
                       unsigned char **out, size_t *out_len, size_t *in_used, mlp_error *err)
{
    inflater s;
    start(&s, in, in_len, max_out, name, err);
    mlp_status st = inflate_stream(&s);
    *in_used = st == MLP_OK ? s.in_pos : 0;
    return finish(&s, st, out, out_len);
}

mlp_status mlp_inflate_prefix(const unsigned char *in, size_t in_len, size_t n, const char *name,
                              unsigned char **out, size_t *out_len, size_t *in_used, mlp_error *err)
{
    inflater s;
    start(&s, in, in_len, n, name, err);
    s.stop = n;
    mlp_status st = inflate_stream(&s);
    *in_used = st == MLP_OK && !s.stopped ? s.in_pos : 0;
    return finish(&s, st, out, out_len);
}

bool mlp_inflate_is_gzip(const unsigned char *in, size_t in_len)
{
    return in_len >= 2 && in[0] == 0x1f && in[1] == 0x8b;
}

/* Skips a zero-terminated header field; false if the input ends first. */
static bool skip_string(const unsigned char *p, size_t left, size_t *h)
{
    const unsigned char *z = memchr(p + *h, 0, left - *h);
    if (!z)
        return false;
    *h = (size_t)(z - p) + 1;
    return true;
}

/* One gzip member at in[*pos]: header, deflate stream, trailer; *pos moves past it. */
static mlp_status member(inflater *s, size_t *pos)
{
    const unsigned char *p = s->in + *pos;
    const size_t left = s->in_len - *pos;
    size_t h = 10;

    if (!mlp_inflate_is_gzip(p, left)) {
        if (left == 1 && p[0] == 0x1f) /* the first byte of another member */
            return truncated(s);
        if (*pos == 0)
            return mlp_fail(s->err, MLP_EFORMAT, "%s: not gzip data (no 1f 8b magic)", s->name);
        return mlp_fail(s->err, MLP_EFORMAT, "%s: %zu bytes of something else after the gzip data",
                        s->name, left);
    }
    if (left < h)
        return truncated(s);
    if (p[2] != 8)
        return mlp_fail(s->err, MLP_EFORMAT,
                        "%s: gzip compression method %u at byte %zu, only 8 (deflate) exists",
                        s->name, (unsigned)p[2], *pos + 2);
    unsigned flags = p[3];
    if (flags & FRESERVED)
        return mlp_fail(s->err, MLP_EFORMAT, "%s: reserved gzip header flags 0x%02x at byte %zu",
                        s->name, flags, *pos + 3);
    if (flags & FEXTRA) {
        if (left - h < 2)
            return truncated(s);
        size_t xlen = (size_t)p[h] | (size_t)p[h + 1] << 8;
        h += 2;
        if (left - h < xlen)
            return truncated(s);
        h += xlen;
    }
    if ((flags & FNAME) && !skip_string(p, left, &h))
        return truncated(s);
    if ((flags & FCOMMENT) && !skip_string(p, left, &h))
        return truncated(s);
    if (flags & FHCRC) {
        if (left - h < 2)
            return truncated(s);
        /* the low 16 bits of the CRC-32 of every header byte before it */
        uint32_t want = (uint32_t)p[h] | (uint32_t)p[h + 1] << 8;
        if ((mlp_crc32(0, p, h) & 0xffff) != want)
            return mlp_fail(s->err, MLP_EFORMAT, "%s: gzip header checksum mismatch at byte %zu",
                            s->name, *pos + h);
        h += 2;
    }

    s->in_pos = *pos + h;
    mlp_status st = inflate_stream(s);
    if (st != MLP_OK || s->stopped)
        return st;
    if (s->in_len - s->in_pos < 8)
        return truncated(s);
    const unsigned char *t = s->in + s->in_pos;
    size_t n = s->len - s->start;
    /* an empty member may leave out NULL, and NULL + 0 is undefined in C */
    uint32_t crc = n ? mlp_crc32(0, s->out + s->start, n) : 0;
    if (crc != mlp_get_u32(t))
        return mlp_fail(s->err, MLP_EFORMAT, "%s: CRC-32 mismatch at byte %zu: the data is damaged",
                        s->name, s->in_pos);
    if ((uint32_t)n != mlp_get_u32(t + 4))
        return mlp_fail(s->err, MLP_EFORMAT,
                        "%s: length mismatch at byte %zu: decompressed %zu bytes, the trailer "
                        "says %u (modulo 2^32)",
                        s->name, s->in_pos + 4, n, (unsigned)mlp_get_u32(t + 4));
    *pos = s->in_pos + 8;
    return MLP_OK;
}

/* The size of the first allocation, from the last member's length field (ISIZE: the
 * length modulo 2^32), which is exact for the usual one-member file under 4 GiB. A caller
 * that knows the length passes it as its limit (or asks for a prefix one byte longer: see
 * mlp_inflate_gzip_prefix); a field that agrees with limit or limit - 1 modulo 2^32 then
 * means limit, so a file of 4 GiB or more is one allocation too. The field is untrusted:
 * the size is capped by max like everything else, and a wrong hint costs only reallocs. */
static size_t first_size(const inflater *s, uint32_t isize)
{
    size_t want = isize;
    if (s->limit != SIZE_MAX &&
        ((uint32_t)s->limit == isize || (s->limit > 0 && (uint32_t)(s->limit - 1) == isize)))
        want = s->limit;
    return want < s->max ? want : s->max;
}

/* Decodes every member, or up to s->stop bytes. */
static mlp_status gzip_members(inflater *s)
{
    mlp_status st = MLP_OK;
    size_t pos = 0;
    if (mlp_inflate_is_gzip(s->in, s->in_len) && s->in_len >= 18)
        st = room(s, first_size(s, mlp_get_u32(s->in + s->in_len - 4)));
    while (st == MLP_OK && !s->stopped && (pos == 0 || pos < s->in_len))
        st = member(s, &pos);
    return st;
}

mlp_status mlp_inflate_gzip(const unsigned char *in, size_t in_len, size_t max_out,
                            const char *name, unsigned char **out, size_t *out_len, mlp_error *err)
{
    inflater s;
    start(&s, in, in_len, max_out, name, err);
    return finish(&s, gzip_members(&s), out, out_len);
}

mlp_status mlp_inflate_gzip_prefix(const unsigned char *in, size_t in_len, size_t n,
                                   const char *name, unsigned char **out, size_t *out_len,
                                   mlp_error *err)
{
    inflater s;
    /* the limit is n, but more than n is a stop rather than an error: see codes() */
    start(&s, in, in_len, n, name, err);
    s.stop = n;
    return finish(&s, gzip_members(&s), out, out_len);
}
