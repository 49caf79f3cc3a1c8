/*
 * testutil: what several test programs need. Temporary directories, IDX files written byte
 * by byte, a synthetic dataset that a small network can learn, running the built ./mlp,
 * and an array comparison that says where arrays differ.
 */
#ifndef MLP_TESTUTIL_H
#define MLP_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include "net.h"

/* A fresh directory under $TMPDIR (or /tmp); removed with rm_rf(). */
char *tu_tmpdir(void);
void tu_rm_rf(const char *dir);

/* path = dir + "/" + name, in a static-free caller buffer of 4096 bytes */
void tu_path(char *out, const char *dir, const char *name);

void tu_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file; *len gets its size. The caller frees. NULL if it cannot be read. */
unsigned char *tu_read_file(const char *path, size_t *len);

/* A gzip file holding data in stored (uncompressed) deflate blocks: a valid .gz made
 * without any compressor, so no test depends on one. */
void tu_write_gzip(const char *path, const void *data, size_t len);
/* Replaces the file at path by path.gz (the same contents gzipped as above). */
void tu_gzip_in_place(const char *path);

/* Writes head, then a hole up to size bytes: a sparse file, whose zeros take no disk. False
 * if the file system cannot hold a file that large. */
bool tu_write_sparse(const char *path, const char *head, unsigned long long size);
/* Eight times this machine's memory (at most 8 TiB): a size no data set of it can fit. */
unsigned long long tu_beyond_memory(void);

/* IDX files: images (n, rows, cols) and labels (n). */
void tu_write_idx_images(const char *path, uint32_t n, uint32_t rows, uint32_t cols,
                         const uint8_t *pixels);
void tu_write_idx_labels(const char *path, uint32_t n, const uint8_t *labels);

/* Writes the four standard files of a learnable dataset: each class is a fixed random
 * prototype image, each example that prototype with noise. */
void tu_write_synthetic(const char *dir, uint32_t n_train, uint32_t n_test, uint32_t rows,
                        uint32_t cols, uint32_t classes, uint64_t seed);

/* Runs "$MLP_BIN args" (default ./mlp) with stdout and stderr captured into out/err
 * (each cap bytes, NUL-terminated). Returns the exit status, or -1 if it did not exit. */
int tu_run_mlp(const char *args, char *out, size_t out_cap, char *err, size_t err_cap);

/* Starts "$MLP_BIN args" in the background with stdout and stderr going to the given files;
 * returns its pid (the program itself, not a shell). */
int tu_spawn_mlp(const char *args, const char *out_path, const char *err_path);

/* Waits until the file at path contains text (true) or timeout seconds pass (false). */
bool tu_wait_for_text(const char *path, const char *text, double timeout);

/* waitpid() for pid; returns the exit status, or 128 + the signal that ended it. */
int tu_wait_exit(int pid);

/* What the end-to-end tests of a command share: a fresh temporary directory, and the
 * captured stdout and stderr (TU_CLI_CAP bytes each) of the last run of ./mlp. */
#define TU_CLI_CAP (1 << 17)
typedef struct {
    char *dir;
    char *out, *err;
} tu_cli;
void tu_cli_open(tu_cli *c);
void tu_cli_close(tu_cli *c); /* removes the directory */
/* Runs ./mlp with the arguments formatted as by printf; returns its exit status. */
int tu_cli_run(tu_cli *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* True if s is exactly one JSON value (RFC 8259), with optional surrounding whitespace:
 * a strict check of the grammar, numbers and string escapes included. */
bool tu_json_valid(const char *s);

/* Reads a .npy file the way numpy.load() would, failing the test on anything it would not
 * accept or that is not a little-endian float32 C-order array in format 1.0 with the data
 * 64-byte aligned. Returns the values (the caller frees); shape (at most 8) and ndim. */
float *tu_npy_read(const char *path, size_t *shape, size_t *ndim);

/* Number of '\n'-terminated lines in s. */
size_t tu_count_lines(const char *s);

/* Asserts |a[i] - b[i]| <= atol + rtol * |b[i]| for all i; on failure prints the worst
 * difference and the first bad index. */
/* Points the rows of the next forward pass's input at x: B rows of net->sizes[0] floats
 * (mlp_net_set_input), which must stay put until that pass's backprop is done. */
void tu_net_input(mlp_net *net, const float *x, size_t B);

void tu_check_close(const char *what, const double *a, const double *b, size_t n, double atol,
                    double rtol);

/* Checks that the len bytes at d are a valid PNG of the kind png.c writes, as a decoder
 * would: the signature, every chunk's CRC-32, IHDR first (8-bit grey or RGB, no interlace)
 * and IEND last, the IDAT chunks' zlib stream (header, stored deflate blocks with LEN and
 * NLEN, the decompressed size, Adler-32) and filter type 0 on every row. Fails the test
 * naming the problem; returns the pixels, (h, w, ch), which the caller frees. */
uint8_t *tu_png_decode(const unsigned char *d, size_t len, size_t *w, size_t *h, size_t *ch);

/* A client of `mlp serve` on 127.0.0.1:port: connects (reads time out after 30 s), returns
 * the socket. */
int tu_http_dial(unsigned port);
/* Sends the n bytes at p, all of them. */
void tu_http_send(int fd, const char *p, size_t n);
/* Everything the server sends until it closes, NUL-terminated (*len bytes, if len); the
 * caller frees. */
char *tu_http_read(int fd, size_t *len);

/* An answer: its status, the whole text (owned) and where the body starts. */
typedef struct {
    int status;
    char *text;
    const char *body;
    size_t body_len;
} tu_http_answer;
/* Sends n raw bytes to the server as they are and reads the answer; free text after. */
tu_http_answer tu_http_raw(unsigned port, const char *req, size_t n);
/* A request as the page sends it: Host 127.0.0.1:port, and for a POST (body not NULL) the
 * page's Origin and the body. */
tu_http_answer tu_http_ask(unsigned port, const char *method, const char *target,
                           const char *body);

#endif
