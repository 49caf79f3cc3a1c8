/* idx: valid files load exactly; every kind of malformed file is refused, naming the file. */
#include "testutil.h"

#include "idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A valid 3-image 2x3 training set and 2-image test set. */
static const uint8_t train_px[18] = {0, 255, 51, 102, 1,  2,  3,  4,  5,
                                     6, 7,   8,  9,   10, 11, 12, 13, 14};
static const uint8_t train_y[3] = {0, 2, 1};
static const uint8_t test_px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t test_y[2] = {2, 0};

static void write_valid(const char *dir)
{
    char p[4096];
    tu_path(p, dir, "train-images-idx3-ubyte");
    tu_write_idx_images(p, 3, 2, 3, train_px);
    tu_path(p, dir, "train-labels-idx1-ubyte");
    tu_write_idx_labels(p, 3, train_y);
    tu_path(p, dir, "t10k-images-idx3-ubyte");
    tu_write_idx_images(p, 2, 2, 3, test_px);
    tu_path(p, dir, "t10k-labels-idx1-ubyte");
    tu_write_idx_labels(p, 2, test_y);
}

/* Loads f->dir, expecting failure with a message that contains want (and the file name). */
static void expect_fail(fixture *f, const char *file, const char *want)
{
    mlp_data d = {0};
    mlp_error err = {{0}};
    mlp_status st = mlp_idx_load(&d, f->dir, &err);
    if (st == MLP_OK || !strstr(err.msg, want) || (file && !strstr(err.msg, file))) {
        print_error("status %d, message '%s', wanted '%s' naming %s\n", st, err.msg, want,
                    file ? file : "-");
        fail();
    }
    assert_null(d.train.x);
    assert_null(d.test.y);
    assert_null(strchr(err.msg, '\n'));
}

static void test_valid_dataset_loads_exactly(void **state)
{
    fixture *f = *state;
    mlp_data d = {0};
    mlp_error err;
    write_valid(f->dir);
    assert_int_equal(mlp_idx_load(&d, f->dir, &err), MLP_OK);
    assert_int_equal(d.train.n, 3);
    assert_int_equal(d.train.rows, 2);
    assert_int_equal(d.train.cols, 3);
    assert_int_equal(d.train.dim, 6);
    assert_int_equal(d.test.n, 2);
    assert_int_equal(d.n_classes, 3);
    for (int i = 0; i < 18; i++)
        assert_true(d.train.x[i] == (float)train_px[i] / 255.0f);
    assert_true(d.train.x[1] == 1.0f);
    assert_true(d.train.x[0] == 0.0f);
    assert_memory_equal(d.train.y, train_y, 3);
    assert_memory_equal(d.test.y, test_y, 2);
    mlp_data_free(&d);
    assert_null(d.train.x);
}

static void test_dotted_spelling_accepted(void **state)
{
    fixture *f = *state;
    char a[4096], b[4096];
    mlp_data d = {0};
    mlp_error err;
    write_valid(f->dir);
    tu_path(a, f->dir, "train-images-idx3-ubyte");
    tu_path(b, f->dir, "train-images.idx3-ubyte");
    assert_int_equal(rename(a, b), 0);
    tu_path(a, f->dir, "t10k-labels-idx1-ubyte");
    tu_path(b, f->dir, "t10k-labels.idx1-ubyte");
    assert_int_equal(rename(a, b), 0);
    assert_int_equal(mlp_idx_load(&d, f->dir, &err), MLP_OK);
    assert_int_equal(d.train.n, 3);
    mlp_data_free(&d);
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "t10k-labels-idx1-ubyte");
    remove(p);
    expect_fail(f, "t10k-labels-idx1-ubyte", "No such file");
}

/* Loads dir and asserts it holds exactly write_valid()'s data. */
static void expect_valid(const char *dir)
{
    mlp_data d = {0};
    mlp_error err = {{0}};
    if (mlp_idx_load(&d, dir, &err) != MLP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(d.train.n, 3);
    assert_int_equal(d.test.n, 2);
    for (int i = 0; i < 18; i++)
        assert_true(d.train.x[i] == (float)train_px[i] / 255.0f);
    for (int i = 0; i < 12; i++)
        assert_true(d.test.x[i] == (float)test_px[i] / 255.0f);
    assert_memory_equal(d.train.y, train_y, 3);
    assert_memory_equal(d.test.y, test_y, 2);
    mlp_data_free(&d);
}

static void test_gz_files_read_directly(void **state)
{
    fixture *f = *state;
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char p[4096];
    write_valid(f->dir);
    for (int k = 0; k < 4; k++) { /* one more file gzipped each time */
        tu_path(p, f->dir, names[k]);
        tu_gzip_in_place(p);
        expect_valid(f->dir);
    }
    /* the dotted spelling, gzipped */
    char a[4096], b[4096];
    tu_path(a, f->dir, "t10k-labels-idx1-ubyte.gz");
    tu_path(b, f->dir, "t10k-labels.idx1-ubyte.gz");
    assert_int_equal(rename(a, b), 0);
    expect_valid(f->dir);
}

static void test_plain_file_wins_over_gz(void **state)
{
    fixture *f = *state;
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-images-idx3-ubyte.gz");
    tu_write_file(p, "\x1f\x8b garbage", 10); /* never opened */
    expect_valid(f->dir);
}

static void test_gzip_is_found_by_content(void **state)
{
    fixture *f = *state;
    char p[4096], gz[4200];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-images-idx3-ubyte");
    tu_gzip_in_place(p);
    snprintf(gz, sizeof gz, "%s.gz", p);
    assert_int_equal(rename(gz, p), 0); /* gzip data under the plain name */
    expect_valid(f->dir);
}

static void test_damaged_gz_refused_naming_it(void **state)
{
    fixture *f = *state;
    char p[4096], gz[4200];
    size_t n;
    write_valid(f->dir);
    tu_path(p, f->dir, "train-images-idx3-ubyte");
    tu_gzip_in_place(p);
    snprintf(gz, sizeof gz, "%s.gz", p);
    unsigned char *good = tu_read_file(gz, &n);

    tu_write_file(gz, good, n - 3);
    expect_fail(f, "train-images-idx3-ubyte.gz", "truncated");
    good[20] ^= 1; /* a byte of the contents: only the CRC-32 notices */
    tu_write_file(gz, good, n);
    expect_fail(f, "train-images-idx3-ubyte.gz", "CRC-32 mismatch");
    good[20] ^= 1;
    good[10] = 6; /* block type 3 */
    tu_write_file(gz, good, n);
    expect_fail(f, "train-images-idx3-ubyte.gz", "invalid block type");
    tu_write_file(gz, "\x1f\x8b", 2);
    expect_fail(f, "train-images-idx3-ubyte.gz", "truncated");
    free(good);
}

/* The decompressed bytes are checked as strictly as a plain file's. */
static void test_gz_contents_checked_like_a_file(void **state)
{
    fixture *f = *state;
    unsigned char h[16 + 17] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-images-idx3-ubyte");
    remove(p);
    tu_path(p, f->dir, "train-images-idx3-ubyte.gz");
    tu_write_gzip(p, h, sizeof h); /* one pixel short */
    expect_fail(f, "train-images-idx3-ubyte.gz",
                "decompresses to 33 bytes but its header "
                "describes 34");
    tu_write_gzip(p, h, 7);
    expect_fail(f, "train-images-idx3-ubyte.gz", "truncated header");

    /* a header describing 34 bytes followed by a megabyte: refused once byte 35 comes out,
     * so what expands without end is never held whole */
    const size_t big = 1 << 20;
    unsigned char *b = calloc(1, big);
    memcpy(b, h, 16);
    tu_write_gzip(p, b, big);
    expect_fail(f, "train-images-idx3-ubyte.gz",
                "decompresses to more than the 34 bytes its "
                "header describes");
    free(b);
}

/* A bit writer for the hand-made gzip files below, growing as it goes. */
typedef struct {
    unsigned char *b; /* (cap) */
    size_t cap, pos;  /* bytes allocated, bits written */
} bits;

/* v's n low bits, least significant first */
static void put_bits(bits *w, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, w->pos++) {
        if (w->pos / 8 >= w->cap) {
            w->b = realloc(w->b, w->cap = 2 * w->cap + 64);
            memset(w->b + w->pos / 8, 0, w->cap - w->pos / 8);
        }
        w->b[w->pos / 8] |= (unsigned char)(((v >> i) & 1) << (w->pos % 8));
    }
}

/* a Huffman code, most significant bit first */
static void put_code(bits *w, uint32_t code, unsigned len)
{
    while (len--)
        put_bits(w, code >> len, 1);
}

/* a literal byte in the fixed code (RFC 1951 3.2.6) */
static void put_literal(bits *w, uint8_t c)
{
    if (c < 144)
        put_code(w, 0x30 + c, 8);
    else
        put_code(w, 0x190 + c - 144, 9);
}

/* A gzip file of one fixed-Huffman block: the bytes of lead as literals, then `zeros` zero
 * bytes (a literal, then matches of 258 at distance 1: 13 bits for 258 bytes, so a file
 * about 160 times smaller than its contents), with a correct trailer. With tail, an invalid
 * block (type 3) follows, which the reader reports only if it decodes that far. */
static void write_gz_zeros(const char *path, const uint8_t *lead, size_t n_lead, size_t zeros,
                           bool tail)
{
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    static const unsigned char z[4096] = {0};
    bits w = {0};
    for (size_t i = 0; i < 10; i++)
        put_bits(&w, head[i], 8);
    put_bits(&w, !tail, 1);
    put_bits(&w, 1, 2);
    for (size_t i = 0; i < n_lead; i++)
        put_literal(&w, lead[i]);
    size_t left = zeros;
    if (left) {
        put_literal(&w, 0);
        left--;
    }
    for (; left >= 258; left -= 258) {
        put_code(&w, 0xc5, 8); /* symbol 285: length 258 */
        put_code(&w, 0, 5);    /* distance code 0: distance 1 */
    }
    for (; left > 0; left--)
        put_literal(&w, 0);
    put_code(&w, 0, 7); /* end of block */
    if (tail) {
        put_bits(&w, 1, 1);
        put_bits(&w, 3, 2);
    }
    w.pos = (w.pos + 7) / 8 * 8;
    uint32_t crc = mlp_crc32(0, lead, n_lead);
    for (size_t done = 0; done < zeros; done += sizeof z)
        crc = mlp_crc32(crc, z, zeros - done < sizeof z ? zeros - done : sizeof z);
    put_bits(&w, crc, 32);
    put_bits(&w, (uint32_t)(n_lead + zeros), 32);
    tu_write_file(path, w.b, w.pos / 8);
    free(w.b);
}

/* An IDX image header for (n, rows, cols) into h[16]. */
static void image_header(uint8_t *h, uint32_t n, uint32_t rows, uint32_t cols)
{
    const uint32_t v[4] = {0x803, n, rows, cols};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++)
            h[4 * i + k] = (uint8_t)(v[i] >> (24 - 8 * k));
}

/* Loads a gzipped image file whose header describes n * rows * cols pixels but which holds
 * 26 bytes, expecting it refused for memory before anything is decompressed (which would
 * end in "decompresses to 26 bytes but ..."), the message giving both figures. */
static void expect_peak_refused(const char *dir, uint32_t n, uint32_t rows, uint32_t cols)
{
    char images[4096], labels[4096], want[256];
    uint8_t h[26] = {0};
    image_header(h, n, rows, cols);
    tu_path(images, dir, "images.gz");
    tu_path(labels, dir, "labels");
    tu_write_gzip(images, h, sizeof h);
    const size_t values = (size_t)n * rows * cols;
    snprintf(want, sizeof want,
             "images.gz: %zu decompressed bytes + %zu bytes of floats needs %zu bytes", values + 16,
             4 * values, 5 * values + 16);
    mlp_set s = {0};
    mlp_error err = {{0}};
    mlp_status st = mlp_idx_load_set(&s, images, labels, &err);
    /* the path comes first, so a long $TMPDIR can only cut the end of the message */
    if (st != MLP_ENOMEM || strncmp(err.msg, images, strlen(images)) != 0 ||
        !strstr(err.msg, want) || !strstr(err.msg, "more than this machine's memory")) {
        print_error("status %d, message '%s', wanted '%s'\n", st, err.msg, want);
        fail();
    }
    assert_null(s.x);
}

/* The memory check counts the decompressed bytes as well as their float copy, and comes
 * before decompressing: a tiny .gz can claim what no machine holds. */
static void test_gz_peak_memory_checked_before_decoding(void **state)
{
    fixture *f = *state;
    if (SIZE_MAX < UINT64_MAX)
        skip(); /* these dimensions overflow a 32-bit size_t first */
    expect_peak_refused(f->dir, 0xffffffffu, 0xffff, 0xff); /* 7e16 pixels */

    /* pixels whose floats alone fit in memory, but not beside the decompressed bytes */
    const size_t total = mlp_mem_total();
    if (total == SIZE_MAX || total / 9 * 2 / 65536 > 0xffffffffu)
        skip();
    const uint32_t n = (uint32_t)(total / 9 * 2 / 65536);
    const size_t values = (size_t)n * 65536;
    assert_true(4 * values <= total && 5 * values + 16 > total);
    expect_peak_refused(f->dir, n, 256, 256);
}

/* A file that expands far past what its header describes is refused once the byte after
 * that comes out: the invalid block after the expansion is never reached. */
static void test_gz_expanding_past_header_stops_at_it(void **state)
{
    fixture *f = *state;
    uint8_t lead[16 + 18];
    char p[4096];
    image_header(lead, 3, 2, 3);
    memcpy(lead + 16, train_px, 18);
    write_valid(f->dir);
    tu_path(p, f->dir, "train-images-idx3-ubyte");
    remove(p);
    tu_path(p, f->dir, "train-images-idx3-ubyte.gz");
    write_gz_zeros(p, lead, sizeof lead, (size_t)64 << 20, true);
    expect_fail(f, "train-images-idx3-ubyte.gz",
                "decompresses to more than the 34 bytes its header describes");
    /* the same file without the expansion does reach the invalid block */
    write_gz_zeros(p, lead, sizeof lead, 0, true);
    expect_fail(f, "train-images-idx3-ubyte.gz", "invalid block type");
}

/* Loads images.gz (1000 28x28 images: ten pixels, then zeros) with 1000 labels. */
static mlp_status load_zeros(const char *dir, size_t zeros, mlp_set *s, mlp_error *err)
{
    uint8_t lead[16 + 10] = {0}, y[1000];
    static const uint8_t px[10] = {255, 1, 0, 144, 143, 200, 7, 0, 51, 9};
    char images[4096], labels[4096];
    image_header(lead, 1000, 28, 28);
    memcpy(lead + 16, px, 10);
    for (int i = 0; i < 1000; i++)
        y[i] = (uint8_t)(i % 2);
    tu_path(images, dir, "images.gz");
    tu_path(labels, dir, "labels");
    write_gz_zeros(images, lead, sizeof lead, zeros, false);
    tu_write_idx_labels(labels, 1000, y);
    mlp_status st = mlp_idx_load_set(s, images, labels, err);
    if (st == MLP_OK) {
        for (int i = 0; i < 10; i++)
            assert_true(s->x[i] == (float)px[i] / 255.0f);
        for (size_t i = 10; i < 1000 * 784; i++)
            if (s->x[i] != 0.0f)
                fail_msg("pixel %zu is %g", i, (double)s->x[i]);
        assert_memory_equal(s->y, y, 1000);
    }
    return st;
}

/* A file of exactly the header's size loads; one byte more or less is refused. */
static void test_gz_exactly_at_header_size_loads(void **state)
{
    fixture *f = *state;
    mlp_set s = {0};
    mlp_error err = {{0}};
    const size_t zeros = 1000 * 784 - 10;
    if (load_zeros(f->dir, zeros, &s, &err) != MLP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(s.n, 1000);
    assert_int_equal(s.rows, 28);
    assert_int_equal(s.cols, 28);
    mlp_idx_set_free(&s);
    assert_int_equal(load_zeros(f->dir, zeros + 1, &s, &err), MLP_EFORMAT);
    assert_non_null(strstr(err.msg, "images.gz: decompresses to more than the 784016 bytes"));
    assert_int_equal(load_zeros(f->dir, zeros - 1, &s, &err), MLP_EFORMAT);
    assert_non_null(
        strstr(err.msg, "images.gz: decompresses to 784015 bytes but its header describes 784016"));
    assert_null(s.x);
}

static void test_explicit_paths(void **state)
{
    fixture *f = *state;
    char src[4096], dst[4][4096], other[4096];
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    /* EMNIST-style names, one with a space and quotes, one gzipped and given without .gz */
    const char *renamed[4] = {"emnist-letters-train-images-idx3-ubyte",
                              "emnist letters 'train' \"labels\"", "kmnist-test-imgs.bin",
                              "test-labels"};
    write_valid(f->dir);
    tu_path(other, f->dir, "elsewhere");
    assert_int_equal(mkdir(other, 0755), 0);
    for (int k = 0; k < 4; k++) {
        tu_path(src, f->dir, names[k]);
        tu_path(dst[k], other, renamed[k]);
        assert_int_equal(rename(src, dst[k]), 0);
    }
    tu_gzip_in_place(dst[3]); /* only "test-labels.gz" exists now */

    mlp_data d = {0};
    mlp_error err = {{0}};
    mlp_idx_files files = {.dir = "/nonexistent", .path = {dst[0], dst[1], dst[2], dst[3]}};
    if (mlp_idx_load_files(&d, &files, &err) != MLP_OK) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(d.train.n, 3);
    assert_memory_equal(d.test.y, test_y, 2);
    mlp_data_free(&d);

    /* files not given come from the directory; a missing one is named */
    files.dir = f->dir;
    files.path[MLP_IDX_TRAIN_IMAGES] = NULL;
    assert_int_equal(mlp_idx_load_files(&d, &files, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "train-images-idx3-ubyte: No such file"));
    assert_non_null(strstr(err.msg, ".gz"));
    files.path[MLP_IDX_TRAIN_IMAGES] = "/nonexistent/train";
    assert_int_equal(mlp_idx_load_files(&d, &files, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/train: No such file"));
    assert_null(d.train.x);

    mlp_set s = {0};
    mlp_idx_files test_only = {.dir = "/nonexistent", .path = {NULL, NULL, dst[2], dst[3]}};
    assert_int_equal(mlp_idx_load_test_files(&s, &test_only, &err), MLP_OK);
    assert_int_equal(s.n, 2);
    mlp_idx_set_free(&s);
}

static void test_directory_instead_of_file(void **state)
{
    fixture *f = *state;
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-labels-idx1-ubyte");
    remove(p);
    assert_int_equal(mkdir(p, 0755), 0);
    expect_fail(f, "train-labels-idx1-ubyte", "not a regular file");
}

/* Replaces the training image file with raw bytes. */
static void put_train_images(fixture *f, const unsigned char *bytes, size_t len)
{
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-images-idx3-ubyte");
    tu_write_file(p, bytes, len);
}

static void test_truncated_headers(void **state)
{
    fixture *f = *state;
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
    for (size_t len = 0; len < 16; len++) {
        put_train_images(f, hdr, len);
        expect_fail(f, "train-images-idx3-ubyte", "truncated header");
    }
}

static void test_bad_magic_type_and_dims(void **state)
{
    fixture *f = *state;
    unsigned char h[16 + 18] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
    memcpy(h + 16, train_px, 18);

    h[0] = 'P'; /* a zip file */
    h[1] = 'K';
    put_train_images(f, h, sizeof h);
    expect_fail(f, "train-images-idx3-ubyte", "bad magic");
    h[0] = h[1] = 0;

    h[2] = 0x0d; /* float elements */
    put_train_images(f, h, sizeof h);
    expect_fail(f, "train-images-idx3-ubyte", "element type 0x0d");
    h[2] = 8;

    h[3] = 1; /* a label file where images belong */
    put_train_images(f, h, sizeof h);
    expect_fail(f, "train-images-idx3-ubyte", "1 dimensions");
    h[3] = 3;

    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-labels-idx1-ubyte");
    tu_write_file(p, h, sizeof h); /* images where labels belong */
    expect_fail(f, "train-labels-idx1-ubyte", "3 dimensions");
}

static void test_zero_dimensions(void **state)
{
    fixture *f = *state;
    for (int d = 0; d < 3; d++) {
        unsigned char h[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
        memset(h + 4 + 4 * d, 0, 4);
        put_train_images(f, h, sizeof h);
        expect_fail(f, "train-images-idx3-ubyte", "is zero");
    }
}

static void test_huge_dimensions_refused_before_allocation(void **state)
{
    fixture *f = *state;
    /* 0xffffffff^3 overflows 64 bits; 0x7fffffff x 0x7fffffff x 1 does not, but the file
     * is 16 bytes long, so it must be refused by the length check, not by malloc. */
    unsigned char h1[16] = {0,    0,    8,    3,    0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    put_train_images(f, h1, sizeof h1);
    expect_fail(f, "train-images-idx3-ubyte", "overflow");
    unsigned char h2[16] = {0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    put_train_images(f, h2, sizeof h2);
    expect_fail(f, "train-images-idx3-ubyte", "header describes");
}

static void test_length_must_match_exactly(void **state)
{
    fixture *f = *state;
    unsigned char h[16 + 19] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
    put_train_images(f, h, 16 + 17); /* one pixel short */
    expect_fail(f, "train-images-idx3-ubyte", "header describes 34");
    put_train_images(f, h, 16 + 19); /* one byte of trailing garbage */
    expect_fail(f, "train-images-idx3-ubyte", "file is 35 bytes");
}

static void test_label_count_must_match(void **state)
{
    fixture *f = *state;
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-labels-idx1-ubyte");
    tu_write_idx_labels(p, 2, train_y);
    expect_fail(f, "train-labels-idx1-ubyte", "2 labels for 3 images");
}

/* A QMNIST label file: magic 0x00000c02, (n, 8) big-endian int32, the class first, then
 * values that are no class (QMNIST's writer ids, its NIST indices). */
static void put_be(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void write_qmnist_labels(const char *path, uint32_t n, const uint8_t *y, int32_t first)
{
    size_t len = 12 + 4 * 8 * (size_t)n;
    unsigned char *b = calloc(1, len);
    put_be(b, 0x00000c02u);
    put_be(b + 4, n);
    put_be(b + 8, 8);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < 8; k++)
            put_be(b + 12 + 4 * (8 * i + k),
                          k ? 60000u + 1000u * i + k : (uint32_t)(i ? y[i] : first));
    tu_write_file(path, b, len);
    free(b);
}

/* QMNIST's label files are read as labels, plain or gzipped: the first column is the class;
 * a first column outside 0..255 is refused, naming the image. */
static void test_qmnist_labels(void **state)
{
    fixture *f = *state;
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "t10k-labels-idx1-ubyte");
    write_qmnist_labels(p, 2, test_y, test_y[0]);
    for (int gz = 0; gz < 2; gz++) {
        mlp_data d = {0};
        mlp_error err;
        assert_int_equal(mlp_idx_load(&d, f->dir, &err), MLP_OK);
        assert_int_equal(d.test.n, 2);
        assert_memory_equal(d.test.y, test_y, 2);
        mlp_data_free(&d);
        if (!gz)
            tu_gzip_in_place(p);
    }
    tu_path(p, f->dir, "t10k-labels-idx1-ubyte.gz"); /* the plain one became it */
    remove(p);
    tu_path(p, f->dir, "t10k-labels-idx1-ubyte");
    write_qmnist_labels(p, 2, test_y, 256);
    expect_fail(f, "t10k-labels-idx1-ubyte", "image 0: label 256 is not 0 to 255");
    write_qmnist_labels(p, 2, test_y, -1);
    expect_fail(f, "t10k-labels-idx1-ubyte", "label -1");
    const uint8_t three[3] = {2, 0, 1};
    write_qmnist_labels(p, 3, three, 1);
    expect_fail(f, "t10k-labels-idx1-ubyte", "3 labels for 2 images");
    /* its length is held to 4 bytes a value */
    size_t n;
    unsigned char *b = tu_read_file(p, &n);
    tu_write_file(p, b, n - 1);
    free(b);
    expect_fail(f, "t10k-labels-idx1-ubyte", "header describes");
}

static void test_train_and_test_sizes_must_agree(void **state)
{
    fixture *f = *state;
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "t10k-images-idx3-ubyte");
    tu_write_idx_images(p, 2, 3, 2, test_px); /* 3x2, not 2x3 */
    expect_fail(f, "t10k-images-idx3-ubyte", "3x2");
}

static void test_test_label_beyond_training_classes(void **state)
{
    fixture *f = *state;
    char p[4096];
    const uint8_t bad[2] = {1, 3};
    write_valid(f->dir);
    tu_path(p, f->dir, "t10k-labels-idx1-ubyte");
    tu_write_idx_labels(p, 2, bad);
    expect_fail(f, "t10k-labels-idx1-ubyte", "label 3 at index 1");
}

static void test_single_class_refused(void **state)
{
    fixture *f = *state;
    char p[4096];
    const uint8_t zeros[3] = {0, 0, 0};
    write_valid(f->dir);
    tu_path(p, f->dir, "train-labels-idx1-ubyte");
    tu_write_idx_labels(p, 3, zeros);
    expect_fail(f, "train-labels-idx1-ubyte", "two classes");
}

static void test_any_image_size_and_class_count(void **state)
{
    fixture *f = *state;
    mlp_data d = {0};
    mlp_error err;
    tu_write_synthetic(f->dir, 50, 20, 5, 7, 26, 3);
    assert_int_equal(mlp_idx_load(&d, f->dir, &err), MLP_OK);
    assert_int_equal(d.train.dim, 35);
    assert_int_equal(d.n_classes, mlp_idx_set_classes(&d.train));
    assert_true(d.n_classes > 20 && d.n_classes <= 26);
    mlp_data_free(&d);
}

static void test_load_test_only(void **state)
{
    fixture *f = *state;
    mlp_set s = {0};
    mlp_error err;
    char p[4096];
    write_valid(f->dir);
    tu_path(p, f->dir, "train-images-idx3-ubyte");
    remove(p); /* the test files alone are enough */
    assert_int_equal(mlp_idx_load_test(&s, f->dir, &err), MLP_OK);
    assert_int_equal(s.n, 2);
    assert_true(s.x[11] == 12.0f / 255.0f);
    mlp_idx_set_free(&s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_valid_dataset_loads_exactly),
        T(test_dotted_spelling_accepted),
        T(test_missing_file),
        T(test_gz_files_read_directly),
        T(test_plain_file_wins_over_gz),
        T(test_gzip_is_found_by_content),
        T(test_damaged_gz_refused_naming_it),
        T(test_gz_contents_checked_like_a_file),
        T(test_gz_peak_memory_checked_before_decoding),
        T(test_gz_expanding_past_header_stops_at_it),
        T(test_gz_exactly_at_header_size_loads),
        T(test_explicit_paths),
        T(test_directory_instead_of_file),
        T(test_truncated_headers),
        T(test_bad_magic_type_and_dims),
        T(test_zero_dimensions),
        T(test_huge_dimensions_refused_before_allocation),
        T(test_length_must_match_exactly),
        T(test_label_count_must_match),
        T(test_qmnist_labels),
        T(test_train_and_test_sizes_must_agree),
        T(test_test_label_beyond_training_classes),
        T(test_single_class_refused),
        T(test_any_image_size_and_class_count),
        T(test_load_test_only),
    };
    return cmocka_run_group_tests_name("idx", tests, NULL, NULL);
}
