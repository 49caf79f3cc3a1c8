/*
 * idx: IDX reader. Checks every header field against the file's length before it
 * allocates, converts pixels to floats once at load time, and never reads a byte it
 * has not accounted for. Knows nothing about networks.
 *
 * A file that starts with the gzip magic is decompressed into memory (inflate.c), and its
 * decompressed length then plays the part of the file length. The compressed bytes go into
 * a buffer the size of the real file; the IDX header is decompressed first, and then at
 * most one byte more than it describes, so a small file that expands without end (or a
 * trailer that lies) can make us hold no more than a plain file with that header would.
 * Before that, the peak is checked against the machine's memory: the decompressed bytes
 * are held beside the compressed ones, and then beside the caller's copy of the values.
 */
#define _POSIX_C_SOURCE 200809L
#include "idx.h"
#include "inflate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IDX_MAGIC_IMAGES 0x00000803u /* unsigned bytes, 3 dimensions */
#define IDX_MAGIC_LABELS 0x00000801u /* unsigned bytes, 1 dimension */
/* QMNIST's label files: signed 32-bit integers, 2 dimensions (images, columns), the class in
 * the first column (then the writer, the NIST set and so on); read as labels too */
#define IDX_MAGIC_QMNIST 0x00000c02u

/* An open IDX file whose header has been read and checked: a plain file, read as it goes,
 * or a gzip file, decompressed into mem by idx_fill(). */
typedef struct {
    FILE *f;           /* the plain file; NULL for a gzip file */
    unsigned char *gz; /* (gz_len) a gzip file's compressed bytes, until decompressed */
    size_t gz_len;
    unsigned char *mem; /* (len) a gzip file's decompressed contents, or NULL */
    size_t len, pos;    /* the (decompressed) file's length, bytes read so far */
    size_t dims[3];
    size_t n_values; /* product of dims: the values that follow the header */
    size_t elem;     /* bytes per value: 1, or 4 for QMNIST's labels */
    size_t want_len; /* header + elem * n_values: the (decompressed) length the file must have */
} idx_file;

static const char *const idx_names[4][2] = {
    {"train-images-idx3-ubyte", "train-images.idx3-ubyte"},
    {"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"},
    {"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"},
    {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"},
};

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* path + ".gz" into gz; false if it does not fit */
static bool gz_name(char *gz, size_t cap, const char *path)
{
    int len = snprintf(gz, cap, "%s.gz", path);
    return len > 0 && (size_t)len < cap;
}

mlp_status mlp_idx_path(char *path, size_t cap, const char *dir, mlp_idx_file which, mlp_error *err)
{
    const char *sep = (dir[0] && dir[strlen(dir) - 1] == '/') ? "" : "/";
    /* both spellings, then both spellings gzipped: a plain file wins over its .gz */
    for (int k = 0; k < 4; k++) {
        int len =
            snprintf(path, cap, "%s%s%s%s", dir, sep, idx_names[which][k % 2], k < 2 ? "" : ".gz");
        if (len < 0 || (size_t)len >= cap)
            return mlp_fail(err, MLP_EARG, "%s: directory name too long", dir);
        if (exists(path))
            return MLP_OK;
    }
    snprintf(path, cap, "%s%s%s", dir, sep, idx_names[which][0]);
    return mlp_fail(err, MLP_EIO, "%s: %s (nor is there a .gz of it)", path, strerror(ENOENT));
}

mlp_status mlp_idx_resolve(char *path, size_t cap, const mlp_idx_files *files, mlp_idx_file which,
                           mlp_error *err)
{
    const char *given = files->path[which];
    char gz[4096];
    if (!given)
        return mlp_idx_path(path, cap, files->dir ? files->dir : "data", which, err);
    int len = snprintf(path, cap, "%s", given);
    if (len < 0 || (size_t)len >= cap)
        return mlp_fail(err, MLP_EARG, "%s: path too long", given);
    if (!exists(path) && gz_name(gz, sizeof gz, given) && strlen(gz) < cap && exists(gz))
        strcpy(path, gz);
    return MLP_OK;
}

/* Replaces the open file x->f by its compressed bytes in x->gz, read into a buffer the size
 * fstat() reported, which is real, and decompresses the first n bytes into x->mem (fewer,
 * and all of them checked, if that is all there is). */
static mlp_status gunzip_head(idx_file *x, const char *path, size_t n, mlp_error *err)
{
    mlp_status st = MLP_OK;
    x->gz_len = x->len;
    x->gz = malloc(x->gz_len ? x->gz_len : 1);
    if (!x->gz)
        return mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zu bytes", path, x->gz_len);
    if (fseek(x->f, 0, SEEK_SET) != 0 || fread(x->gz, 1, x->gz_len, x->f) != x->gz_len)
        st = mlp_fail(err, MLP_EIO, "%s: read error", path);
    fclose(x->f);
    x->f = NULL;
    if (st == MLP_OK)
        st = mlp_inflate_gzip_prefix(x->gz, x->gz_len, n, path, &x->mem, &x->len, err);
    return st;
}

/* Decompresses the whole gzip file x->gz, but never more than want + 1 bytes. */
static mlp_status gunzip_rest(idx_file *x, const char *path, size_t want, mlp_error *err)
{
    free(x->mem);
    x->mem = NULL;
    mlp_status st = mlp_inflate_gzip_prefix(x->gz, x->gz_len, want < SIZE_MAX ? want + 1 : want,
                                            path, &x->mem, &x->len, err);
    free(x->gz);
    x->gz = NULL;
    if (st == MLP_OK && x->len > want)
        st = mlp_fail(err, MLP_EFORMAT,
                      "%s: decompresses to more than the %zu bytes its header describes", path,
                      want);
    return st;
}

/* Reads n bytes at the current position; false at a read error or past the end. */
static bool idx_read(idx_file *x, void *buf, size_t n)
{
    if (n > x->len - x->pos)
        return false;
    if (x->mem)
        memcpy(buf, x->mem + x->pos, n);
    else if (fread(buf, 1, n, x->f) != n)
        return false;
    x->pos += n;
    return true;
}

static void idx_close(idx_file *x)
{
    if (x->f)
        fclose(x->f);
    free(x->gz);
    free(x->mem);
}

/* Checks that the (decompressed) file is exactly as long as its header says. */
static mlp_status check_length(const idx_file *x, const char *path, mlp_error *err)
{
    if (x->len == x->want_len)
        return MLP_OK;
    return mlp_fail(err, MLP_EFORMAT, "%s: %s %zu bytes but its header describes %zu", path,
                    x->mem ? "decompresses to" : "file is", x->len, x->want_len);
}

/* Opens path and checks its header: magic, dimension count, non-zero dimensions, and, for a
 * plain file, that its length is exactly header + product of dimensions. A gzip file's
 * length is only known once it is decompressed, by idx_fill(). */
static mlp_status idx_open(idx_file *x, const char *path, uint32_t magic, mlp_error *err)
{
    size_t ndim = magic & 0xff;
    unsigned char hdr[4 + 4 * 3];
    size_t hdr_len = 4 + 4 * ndim;
    /* a label file may be QMNIST's, whose header is longer */
    const size_t head = magic == IDX_MAGIC_LABELS ? 4 + 4 * 2 : hdr_len;
    struct stat st;

    x->f = mlp_open_input(path, err);
    if (!x->f)
        return MLP_EIO;
    if (fstat(fileno(x->f), &st) != 0)
        return mlp_fail(err, MLP_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mlp_fail(err, MLP_EIO, "%s: not a regular file", path);
    x->len = (size_t)st.st_size;
    /* gzip or not is decided by the content, whatever the name says */
    unsigned char magic2[2];
    if (x->len >= 2 && fread(magic2, 1, 2, x->f) == 2 && mlp_inflate_is_gzip(magic2, 2)) {
        mlp_status gst = gunzip_head(x, path, head, err);
        if (gst != MLP_OK)
            return gst;
    } else if (fseek(x->f, 0, SEEK_SET) != 0) {
        return mlp_fail(err, MLP_EIO, "%s: %s", path, strerror(errno));
    }
    const char *has = x->mem ? "decompresses to" : "file is";
    if (!idx_read(x, hdr, 4))
        return mlp_fail(err, MLP_EFORMAT, "%s: truncated header (%s %zu bytes)", path, has, x->len);
    uint32_t got = mlp_get_u32be(hdr);
    x->elem = 1;
    if (magic == IDX_MAGIC_LABELS && got == IDX_MAGIC_QMNIST) {
        magic = got;
        ndim = 2;
        hdr_len = 4 + 4 * ndim;
        x->elem = 4;
    }
    if (!idx_read(x, hdr + 4, hdr_len - 4))
        return mlp_fail(err, MLP_EFORMAT, "%s: truncated header (%s %zu bytes)", path, has, x->len);
    if (got != magic) {
        const char *want = magic == IDX_MAGIC_IMAGES ? "images" : "labels";
        if ((got >> 8) == 0x08 && (got & 0xff) != ndim)
            return mlp_fail(err, MLP_EFORMAT, "%s: IDX file with %u dimensions, %s need %zu", path,
                            (unsigned)(got & 0xff), want, ndim);
        if ((got >> 16) == 0)
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: IDX element type 0x%02x, only 0x08 (unsigned byte) is supported",
                            path, (unsigned)((got >> 8) & 0xff));
        return mlp_fail(err, MLP_EFORMAT, "%s: bad magic 0x%08x, not an IDX %s file (0x%08x)", path,
                        (unsigned)got, want, (unsigned)magic);
    }

    x->n_values = 1;
    for (size_t i = 0; i < ndim; i++) {
        x->dims[i] = mlp_get_u32be(hdr + 4 + 4 * i);
        if (x->dims[i] == 0)
            return mlp_fail(err, MLP_EFORMAT, "%s: dimension %zu is zero", path, i + 1);
        if (!mlp_mul_size(x->n_values, x->dims[i], &x->n_values))
            return mlp_fail(err, MLP_EFORMAT, "%s: dimensions overflow", path);
    }
    if (!mlp_mul_size(x->n_values, x->elem, &x->want_len) ||
        !mlp_add_size(x->want_len, hdr_len, &x->want_len))
        return mlp_fail(err, MLP_EFORMAT, "%s: dimensions overflow", path);
    return x->gz ? MLP_OK : check_length(x, path, err);
}

/* Refuses a file that cannot be loaded beside a copy of its values (copy bytes, of what)
 * in this machine's memory, before anything is allocated for either. A plain file is read
 * in chunks, so only the copy counts. A gzip file's decompressed bytes (want_len, and the
 * one byte more that proves nothing follows, which is left out here) are held first beside
 * its compressed bytes and then, once those are freed, beside the copy: the larger pair is
 * the peak. */
static mlp_status check_memory(const idx_file *x, const char *path, size_t copy, const char *what,
                               mlp_error *err)
{
    if (!x->gz)
        return mlp_mem_check(copy, path, err);
    if (x->gz_len > copy) {
        copy = x->gz_len;
        what = "compressed input";
    }
    size_t peak;
    if (!mlp_add_size(x->want_len, copy, &peak))
        peak = SIZE_MAX;
    char held[sizeof err->msg];
    snprintf(held, sizeof held, "%s: %zu decompressed bytes + %zu bytes of %s", path, x->want_len,
             copy, what);
    return mlp_mem_check(peak, held, err);
}

/* Makes an open file's values readable once its memory is checked (see check_memory): a
 * gzip file is decompressed, never past one byte more than its header describes, and its
 * decompressed length is checked as a plain file's length is. */
static mlp_status idx_fill(idx_file *x, const char *path, size_t copy, const char *what,
                           mlp_error *err)
{
    mlp_status st = check_memory(x, path, copy, what, err);
    if (st != MLP_OK || !x->gz)
        return st;
    if ((st = gunzip_rest(x, path, x->want_len, err)) != MLP_OK)
        return st;
    return check_length(x, path, err);
}

static mlp_status read_images(mlp_set *s, const char *path, mlp_error *err)
{
    idx_file x = {0};
    mlp_status st = idx_open(&x, path, IDX_MAGIC_IMAGES, err);
    if (st != MLP_OK)
        goto out;
    s->n = x.dims[0];
    s->rows = x.dims[1];
    s->cols = x.dims[2];
    s->dim = s->rows * s->cols; /* cannot overflow: n * rows * cols was checked */
    size_t bytes;
    if (!mlp_mul_size(x.n_values, sizeof(float), &bytes)) {
        st = mlp_fail(err, MLP_ENOMEM, "%s: too many pixels", path);
        goto out;
    }
    if ((st = idx_fill(&x, path, bytes, "floats", err)) != MLP_OK)
        goto out;
    s->x = mlp_alloc_array(x.n_values, sizeof(float));
    if (!s->x) {
        st = mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zu pixels", path, x.n_values);
        goto out;
    }
    /* convert in chunks: the bytes never need to be held whole */
    unsigned char buf[1 << 16];
    for (size_t done = 0; done < x.n_values;) {
        size_t want = x.n_values - done < sizeof buf ? x.n_values - done : sizeof buf;
        if (!idx_read(&x, buf, want)) {
            st = mlp_fail(err, MLP_EIO, "%s: read error", path);
            goto out;
        }
        mlp_idx_pixels(s->x + done, buf, want);
        done += want;
    }
out:
    idx_close(&x);
    return st;
}

/* y (dims[0]) = the first column of a QMNIST label file's (dims[0], dims[1]) big-endian
 * int32 values, each a class from 0 to 255. Read in chunks, never whole. */
static mlp_status read_qmnist_labels(idx_file *x, uint8_t *y, const char *path, mlp_error *err)
{
    unsigned char buf[4 << 12];
    for (size_t done = 0; done < x->n_values;) {
        size_t want = x->n_values - done < sizeof buf / 4 ? x->n_values - done : sizeof buf / 4;
        if (!idx_read(x, buf, 4 * want))
            return mlp_fail(err, MLP_EIO, "%s: read error", path);
        for (size_t i = 0; i < want; i++) {
            size_t at = done + i;
            if (at % x->dims[1])
                continue;
            uint32_t v = mlp_get_u32be(buf + 4 * i);
            if (v > 255)
                return mlp_fail(err, MLP_EFORMAT, "%s: image %zu: label %ld is not 0 to 255",
                                path, at / x->dims[1], (long)(int32_t)v);
            y[at / x->dims[1]] = (uint8_t)v;
        }
        done += want;
    }
    return MLP_OK;
}

static mlp_status read_labels(mlp_set *s, const char *path, mlp_error *err)
{
    idx_file x = {0};
    mlp_status st = idx_open(&x, path, IDX_MAGIC_LABELS, err);
    if (st != MLP_OK)
        goto out;
    if (x.dims[0] != s->n) {
        st = mlp_fail(err, MLP_EFORMAT, "%s: %zu labels for %zu images", path, x.dims[0], s->n);
        goto out;
    }
    if ((st = idx_fill(&x, path, x.dims[0], "labels", err)) != MLP_OK)
        goto out;
    s->y = malloc(x.dims[0]);
    if (!s->y) {
        st = mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zu labels", path, x.dims[0]);
        goto out;
    }
    if (x.elem == 4)
        st = read_qmnist_labels(&x, s->y, path, err);
    else if (!idx_read(&x, s->y, x.n_values))
        st = mlp_fail(err, MLP_EIO, "%s: read error", path);
out:
    idx_close(&x);
    return st;
}

mlp_status mlp_idx_load_set(mlp_set *s, const char *images_path, const char *labels_path,
                            mlp_error *err)
{
    mlp_status st = read_images(s, images_path, err);
    if (st == MLP_OK)
        st = read_labels(s, labels_path, err);
    if (st != MLP_OK)
        mlp_idx_set_free(s);
    return st;
}

static mlp_status load_set(mlp_set *s, const mlp_idx_files *files, mlp_idx_file images,
                           mlp_idx_file labels, mlp_error *err)
{
    char ipath[4096], lpath[4096];
    mlp_status st = mlp_idx_resolve(ipath, sizeof ipath, files, images, err);
    if (st == MLP_OK)
        st = mlp_idx_resolve(lpath, sizeof lpath, files, labels, err);
    if (st == MLP_OK)
        st = mlp_idx_load_set(s, ipath, lpath, err);
    return st;
}

mlp_status mlp_idx_load_test_files(mlp_set *s, const mlp_idx_files *files, mlp_error *err)
{
    return load_set(s, files, MLP_IDX_TEST_IMAGES, MLP_IDX_TEST_LABELS, err);
}

mlp_status mlp_idx_load_test(mlp_set *s, const char *dir, mlp_error *err)
{
    const mlp_idx_files files = {.dir = dir};
    return mlp_idx_load_test_files(s, &files, err);
}

void mlp_idx_pixels(float *x, const uint8_t *px, size_t n)
{
    /* A table of the 256 quotients is exact (v / 255.0f, correctly rounded) and much faster
     * than a division per pixel. */
    float scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = (float)v / 255.0f;
    for (size_t i = 0; i < n; i++)
        x[i] = scale[px[i]];
}

size_t mlp_idx_set_classes(const mlp_set *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if ((size_t)s->y[i] + 1 > k)
            k = (size_t)s->y[i] + 1;
    return k;
}

mlp_status mlp_idx_load_files(mlp_data *d, const mlp_idx_files *files, mlp_error *err)
{
    char tpath[4096];
    mlp_status st = load_set(&d->train, files, MLP_IDX_TRAIN_IMAGES, MLP_IDX_TRAIN_LABELS, err);
    if (st == MLP_OK)
        st = mlp_idx_load_test_files(&d->test, files, err);
    if (st != MLP_OK)
        goto out;

    d->n_classes = mlp_idx_set_classes(&d->train);
    if (d->n_classes < 2) {
        mlp_idx_resolve(tpath, sizeof tpath, files, MLP_IDX_TRAIN_LABELS, NULL);
        st = mlp_fail(err, MLP_EFORMAT, "%s: every label is %u; training needs two classes or more",
                      tpath, (unsigned)d->train.y[0]);
        goto out;
    }
    if (d->test.rows != d->train.rows || d->test.cols != d->train.cols) {
        mlp_idx_resolve(tpath, sizeof tpath, files, MLP_IDX_TEST_IMAGES, NULL);
        st = mlp_fail(err, MLP_EFORMAT, "%s: images are %zux%zu, training images are %zux%zu",
                      tpath, d->test.rows, d->test.cols, d->train.rows, d->train.cols);
        goto out;
    }
    for (size_t i = 0; i < d->test.n; i++) {
        if (d->test.y[i] >= d->n_classes) {
            mlp_idx_resolve(tpath, sizeof tpath, files, MLP_IDX_TEST_LABELS, NULL);
            st = mlp_fail(err, MLP_EFORMAT,
                          "%s: label %u at index %zu, but training labels only go up to %zu", tpath,
                          (unsigned)d->test.y[i], i, d->n_classes - 1);
            goto out;
        }
    }
out:
    if (st != MLP_OK)
        mlp_data_free(d);
    return st;
}

mlp_status mlp_idx_load(mlp_data *d, const char *dir, mlp_error *err)
{
    const mlp_idx_files files = {.dir = dir};
    return mlp_idx_load_files(d, &files, err);
}

mlp_status mlp_idx_set_transpose(mlp_set *s, mlp_error *err)
{
    float *t = mlp_alloc_array(s->dim ? s->dim : 1, sizeof *t); /* (cols, rows): one image */
    if (!t)
        return mlp_fail(err, MLP_ENOMEM, "out of memory for transposing the images");
    for (size_t i = 0; i < s->n; i++) {
        float *x = s->x + i * s->dim;
        for (size_t y = 0; y < s->rows; y++)
            for (size_t c = 0; c < s->cols; c++)
                t[c * s->rows + y] = x[y * s->cols + c];
        memcpy(x, t, s->dim * sizeof *t);
    }
    free(t);
    size_t rows = s->rows;
    s->rows = s->cols;
    s->cols = rows;
    return MLP_OK;
}

void mlp_idx_set_free(mlp_set *s)
{
    free(s->x);
    free(s->y);
    *s = (mlp_set){0};
}

void mlp_data_free(mlp_data *d)
{
    mlp_idx_set_free(&d->train);
    mlp_idx_set_free(&d->test);
    d->n_classes = 0;
}
