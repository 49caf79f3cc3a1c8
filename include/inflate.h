/*
 * inflate: gzip (RFC 1952) and deflate (RFC 1951) decompression of a buffer held in memory,
 * so that gzipped IDX files and PNG images can be read without gunzip and without zlib.
 *
 * Everything in the input is untrusted. Every code length, repeat count, match length and
 * distance is checked before it is used; a match may not reach back before the start of
 * its own gzip member; the output never grows past what the caller allows nor past 1032
 * times the input (the most deflate can expand: a 258-byte match coded in 2 bits), so a
 * hostile file cannot make us allocate more than its real contents need. Each gzip member
 * is checked against its trailer: CRC-32 and length (ISIZE, modulo 2^32).
 *
 * Not supported, because neither IDX nor PNG needs them: preset dictionaries (zlib format
 * only; PNG forbids them) and streaming. Decompression is all at once, into one buffer the
 * caller frees. The zlib wrapper of PNG's image data (RFC 1950) is png_read.c's.
 */
#ifndef MLP_INFLATE_H
#define MLP_INFLATE_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>

/* The most one input byte can expand to in a deflate stream (see above). */
#define MLP_INFLATE_MAX_RATIO 1032

/* True if the data starts with the gzip magic bytes 1f 8b. */
bool mlp_inflate_is_gzip(const unsigned char *in, size_t in_len);

/* Decompresses a whole gzip file: every member, concatenated as `gzip -dc` does. On success
 * *out is a malloc'd buffer of *out_len bytes (never NULL, even when empty) that the caller
 * frees; on failure *out is NULL. More than max_out bytes of output is refused ("decompresses
 * to more than max_out bytes") as soon as byte max_out + 1 would come out, and the buffer
 * never grows past max_out; a caller that knows the length should pass it, and then a
 * trailer that agrees with it gets one allocation of exactly that size. Anything after the
 * last member is refused too: a file is either entirely gzip data or damaged.
 * name appears in messages, which also give the byte offset of the problem. */
mlp_status mlp_inflate_gzip(const unsigned char *in, size_t in_len, size_t max_out,
                            const char *name, unsigned char **out, size_t *out_len, mlp_error *err);

/* The same, but decoding stops as soon as n bytes have come out: then *out holds the first
 * n bytes and what follows them is neither decoded nor checked. If the whole output is
 * shorter than n, everything is checked as above and *out_len < n. The buffer never grows
 * past n bytes. So a reader that knows how long the data should be (len) can ask for
 * len + 1 bytes: it gets either the data, fully checked, or proof that there is more, after
 * decoding at most one byte more than it expects (however far the rest would expand) and
 * in one allocation when the trailer's length agrees with len. */
mlp_status mlp_inflate_gzip_prefix(const unsigned char *in, size_t in_len, size_t n,
                                   const char *name, unsigned char **out, size_t *out_len,
                                   mlp_error *err);

/* Decompresses one raw deflate stream (no header or trailer) that starts at in[0], as above.
 * *in_used gets the bytes the stream occupies, up to the end of its last block's byte;
 * what follows it is not looked at. */
mlp_status mlp_inflate(const unsigned char *in, size_t in_len, size_t max_out, const char *name,
                       unsigned char **out, size_t *out_len, size_t *in_used, mlp_error *err);

/* The same, but decoding stops as soon as n bytes have come out, as mlp_inflate_gzip_prefix
 * does: a PNG reader that knows how long the image data must be (len) asks for len + 1
 * bytes. If the whole output is shorter than n, everything was checked and *in_used is as
 * above; otherwise *out holds the first n bytes, the rest is neither decoded nor checked,
 * and *in_used is 0. The buffer never grows past n bytes. */
mlp_status mlp_inflate_prefix(const unsigned char *in, size_t in_len, size_t n, const char *name,
                              unsigned char **out, size_t *out_len, size_t *in_used,
                              mlp_error *err);

#endif
