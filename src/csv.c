/*
 * csv: the CSV reader (csv.h). A source hands out lines: a window over a plain file, refilled
 * as it is used up, or the whole text of a gzip file. Line 1 is a header or the first image
 * and fixes the width; every line after it is parsed by a fast path that only says yes or
 * no, and a line it refuses is walked again by diagnose(), which finds the first bad value
 * and names its column. Pixels are kept as bytes, (cap, dim), until the row count is known;
 * then they become floats in one allocation, by the IDX reader's conversion.
 */
#define _POSIX_C_SOURCE 200809L
#include "csv.h"
#include "inflate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bytes a plain file is read in at first; a longer line makes the window grow to hold it.
 * The fuzz build makes it tiny, so that inputs of a few bytes cross windows. */
#ifndef MLP_CSV_CHUNK
#define MLP_CSV_CHUNK (1u << 18)
#endif

#define NO_LABEL SIZE_MAX /* the label column of rows without labels */

/* The lines of the text. */
typedef struct {
    const char *path;
    FILE *f;              /* a plain file, read a window at a time; NULL for a gzip file */
    unsigned char *buf;   /* (cap) the window, or a gzip file's whole text */
    size_t cap, len, pos; /* bytes held; where the next line starts */
    bool eof;             /* nothing lies beyond buf[len] */
    size_t size;          /* bytes of text: the file's length, or what it decompressed to */
    size_t done;          /* bytes of text before buf[pos] */
    size_t line;          /* the number of the line handed out last, from 1 */
} source;

typedef struct {
    source src;
    mlp_csv_opts opt;
    mlp_csv_info info;
    size_t width;         /* values a line: info.columns */
    size_t label;         /* the label's column, NO_LABEL without */
    unsigned label_limit; /* labels are below it: opt.classes, or 256 */
    size_t rows, cols, dim;
    uint8_t *px;   /* (cap, dim) the pixels of the rows parsed */
    uint8_t *y;    /* (cap) their labels; NULL without */
    size_t n, cap; /* rows parsed, rows there is room for */
} reader;

/* ---------------------------------------------------------------- the source */

/* Reads a gzip file's compressed bytes and decompresses them into the source, which then
 * holds the whole text. Before anything is allocated, the compressed bytes and the length its
 * trailer gives (modulo 2^32, so a hint) are checked against the machine's memory; the text
 * is never let grow past the memory left beside the compressed bytes. */
static mlp_status gunzip(source *s, mlp_error *err)
{
    unsigned char tail[4], *gz = NULL, *text = NULL;
    size_t gz_len = s->size, text_len = 0, total = mlp_mem_total();
    if (gz_len < 18 || fseek(s->f, -4, SEEK_END) != 0 || fread(tail, 1, 4, s->f) != 4)
        return mlp_fail(err, MLP_EFORMAT, "%s: truncated gzip file (%zu bytes)", s->path, gz_len);
    size_t hint = mlp_get_u32(tail), peak;
    if (!mlp_add_size(gz_len, hint, &peak))
        peak = SIZE_MAX;
    char what[sizeof err->msg];
    snprintf(what, sizeof what, "%s: decompressing %zu bytes to %zu (as its trailer says)", s->path,
             gz_len, hint);
    mlp_status st = mlp_mem_check(peak, what, err);
    if (st != MLP_OK)
        return st;
    if (!(gz = malloc(gz_len)))
        return mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zu bytes", s->path, gz_len);
    if (fseek(s->f, 0, SEEK_SET) != 0 || fread(gz, 1, gz_len, s->f) != gz_len)
        st = mlp_fail(err, MLP_EIO, "%s: read error", s->path);
    if (st == MLP_OK)
        st = mlp_inflate_gzip(gz, gz_len, total > gz_len ? total - gz_len : 0, s->path, &text,
                              &text_len, err);
    free(gz);
    if (st != MLP_OK)
        return st;
    fclose(s->f);
    s->f = NULL;
    free(s->buf);
    s->buf = text;
    s->cap = s->len = s->size = text_len;
    s->eof = true;
    return MLP_OK;
}

/* Opens path and reads its first window; a gzip file is decompressed whole. */
static mlp_status source_open(source *s, const char *path, mlp_error *err)
{
    struct stat st;
    s->path = path;
    if (!(s->f = mlp_open_input(path, err)))
        return MLP_EIO;
    if (fstat(fileno(s->f), &st) != 0)
        return mlp_fail(err, MLP_EIO, "%s: %s", path, strerror(errno));
    s->size = (size_t)st.st_size;
    s->cap = MLP_CSV_CHUNK;
    if (!(s->buf = malloc(s->cap)))
        return mlp_fail(err, MLP_ENOMEM, "%s: out of memory", path);
    s->len = fread(s->buf, 1, s->cap, s->f);
    if (ferror(s->f))
        return mlp_fail(err, MLP_EIO, "%s: read error", path);
    s->eof = s->len < s->cap;
    return mlp_inflate_is_gzip(s->buf, s->len) ? gunzip(s, err) : MLP_OK;
}

static void source_close(source *s)
{
    if (s->f)
        fclose(s->f);
    free(s->buf);
    s->f = NULL;
    s->buf = NULL;
    s->cap = s->len = s->pos = 0;
}

/* Bytes of text after what has been handed out; 0 when the file is longer than its size
 * said (it grew, or is not what stat describes). */
static size_t source_rest(const source *s)
{
    return s->size > s->done ? s->size - s->done : 0;
}

/* Bytes the source holds besides the rows: its window, or the whole text. */
static size_t source_held(const source *s)
{
    return s->cap;
}

/* Moves the unread bytes to the front of the window and reads more after them; a window full
 * of one line grows, doubling, but never past a line of max bytes and its LF. */
static mlp_status refill(source *s, size_t max, mlp_error *err)
{
    size_t have = s->len - s->pos;
    memmove(s->buf, s->buf + s->pos, have);
    s->len = have;
    s->pos = 0;
    if (s->len == s->cap) {
        size_t cap = s->cap < (max + 2) / 2 ? 2 * s->cap : max + 2;
        unsigned char *b = realloc(s->buf, cap);
        if (!b)
            return mlp_fail(err, MLP_ENOMEM, "%s: out of memory for a line of %zu bytes", s->path,
                            cap);
        s->buf = b;
        s->cap = cap;
    }
    size_t got = fread(s->buf + s->len, 1, s->cap - s->len, s->f);
    if (ferror(s->f))
        return mlp_fail(err, MLP_EIO, "%s: read error", s->path);
    s->eof = got < s->cap - s->len;
    s->len += got;
    return MLP_OK;
}

/* The next line in *p, *n, without its LF or CRLF; *p is NULL after the last line. A line
 * longer than max bytes is handed out cut to its first max bytes, with *cut set. */
static mlp_status next_line(source *s, size_t max, const unsigned char **p, size_t *n, bool *cut,
                            mlp_error *err)
{
    for (;;) {
        const unsigned char *start = s->buf + s->pos;
        size_t have = s->len - s->pos;
        const unsigned char *nl = have ? memchr(start, '\n', have < max + 1 ? have : max + 1) : 0;
        size_t len = nl ? (size_t)(nl - start) : have, used = nl ? len + 1 : have;
        *cut = !nl && have > max;
        if (*cut)
            len = used = max;
        if (nl || *cut || s->eof) {
            if (!nl && !*cut && have == 0) {
                *p = NULL;
                return MLP_OK;
            }
            if (len > 0 && start[len - 1] == '\r' && !*cut)
                len--;
            s->pos += used;
            s->done += used;
            s->line++;
            *p = start;
            *n = len;
            return MLP_OK;
        }
        mlp_status st = refill(s, max, err);
        if (st != MLP_OK)
            return st;
    }
}

/* ---------------------------------------------------------------- messages */

/* The value v[0..n) for a message: at most 20 bytes of it, a byte outside printable ASCII as
 * \xNN, in single quotes unless it is made of the characters of a number; "..." when it was
 * cut short, or `more` says that it goes on. */
static void show(char *out, size_t cap, const unsigned char *v, size_t n, bool more)
{
    size_t len = 0, shown = n < 20 ? n : 20;
    bool plain = n > 0;
    for (size_t i = 0; i < n; i++)
        plain = plain && strchr("0123456789+-.eE", v[i]) && v[i];
    len += (size_t)snprintf(out, cap, "%s", plain ? "" : "'");
    for (size_t i = 0; i < shown && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len,
                                v[i] >= 0x20 && v[i] < 0x7f ? "%c" : "\\x%02x", v[i]);
    if (len < cap)
        snprintf(out + len, cap - len, "%s%s", n > shown || more ? "..." : "", plain ? "" : "'");
}

/* "the header has 785 columns" or "line 1 has 785 values": where the width comes from */
static void width_source(char *out, size_t cap, const reader *r)
{
    if (r->info.header)
        snprintf(out, cap, "the header has %zu columns", r->width);
    else
        snprintf(out, cap, "line 1 has %zu values", r->width);
}

/* Refuses the rows' copy and its floats for `rows` rows (the fewest the file can hold when
 * at_least), beside the bytes the source holds, if they cannot fit in memory. */
static mlp_status check_room(const reader *r, size_t rows, bool at_least, mlp_error *err)
{
    size_t per_row = r->dim * (1 + sizeof(float)) + (r->label != NO_LABEL), bytes;
    if (!mlp_mul_size(rows, per_row, &bytes) || !mlp_add_size(bytes, source_held(&r->src), &bytes))
        bytes = SIZE_MAX;
    char what[sizeof((mlp_error *)0)->msg];
    snprintf(what, sizeof what, "%s: loading %s%zu images of %zu pixels", r->src.path,
             at_least ? "at least " : "", rows, r->dim);
    return mlp_mem_check(bytes, what, err);
}

/* ---------------------------------------------------------------- line 1 */

/* "label", in any case */
static bool is_label_name(const unsigned char *p, size_t n)
{
    static const char want[] = "label";
    if (n != 5)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != want[i])
            return false;
    return true;
}

/* One name of the header at p[*i], quoted or not, into *name, *len; *i moves past it. */
static mlp_status header_name(const reader *r, const unsigned char *p, size_t n, size_t *i,
                              size_t col, const unsigned char **name, size_t *len, mlp_error *err)
{
    const char *path = r->src.path;
    if (*i < n && p[*i] == '"') {
        size_t j = *i + 1;
        for (; j < n && (p[j] != '"' || (j + 1 < n && p[j + 1] == '"')); j++)
            j += p[j] == '"'; /* "" is a quote inside the name */
        if (j >= n)
            return mlp_fail(err, MLP_EFORMAT, "%s: line 1, column %zu: a quote that never closes",
                            path, col + 1);
        *name = p + *i + 1;
        *len = j - *i - 1;
        *i = j + 1;
        if (*i < n && p[*i] != ',')
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: line 1, column %zu: text after the closing quote", path, col + 1);
    } else {
        const unsigned char *comma = memchr(p + *i, ',', n - *i);
        size_t end = comma ? (size_t)(comma - p) : n;
        *name = p + *i;
        *len = end - *i;
        *i = end;
    }
    if (*len == 0)
        return mlp_fail(err, MLP_EFORMAT, "%s: line 1, column %zu: a column without a name%s", path,
                        col + 1,
                        col == 0 ? " (an index column? write the file without one, as pandas' "
                                   "to_csv(index=False) does)"
                                 : "");
    return MLP_OK;
}

/* Line 1 as a header: the width and the column named label, if any. */
static mlp_status read_header(reader *r, const unsigned char *p, size_t n, mlp_error *err)
{
    const char *path = r->src.path;
    size_t i = 0, col = 0;
    r->label = NO_LABEL;
    for (;; col++) {
        const unsigned char *name = p;
        size_t len = 0;
        if (col > MLP_CSV_MAX_PIXELS)
            return mlp_fail(err, MLP_EFORMAT, "%s: line 1: more than %u columns", path,
                            MLP_CSV_MAX_PIXELS + 1);
        mlp_status st = header_name(r, p, n, &i, col, &name, &len, err);
        if (st != MLP_OK)
            return st;
        if (is_label_name(name, len)) {
            if (r->label != NO_LABEL)
                return mlp_fail(err, MLP_EFORMAT,
                                "%s: line 1, column %zu: a second label column (the first is "
                                "column %zu)",
                                path, col + 1, r->label + 1);
            r->label = col;
        }
        if (i >= n)
            break;
        i++; /* the comma */
    }
    r->width = col + 1;
    if (r->label == NO_LABEL && r->opt.labels == MLP_CSV_LABELED)
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: line 1: no column is named label, so the rows have no labels", path);
    if (r->label != NO_LABEL && r->opt.labels == MLP_CSV_UNLABELED)
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: line 1, column %zu: a label column, in a file read as pixels only",
                        path, r->label + 1);
    return MLP_OK;
}

/* The image's pixels: rows * cols as given, else the square that the pixel columns make. */
static mlp_status set_shape(reader *r, mlp_error *err)
{
    const char *path = r->src.path;
    size_t dim = r->width - (r->label != NO_LABEL);
    if (dim == 0)
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: line 1: a label and no pixels (values are separated by commas)", path);
    if (dim > MLP_CSV_MAX_PIXELS)
        return mlp_fail(err, MLP_EFORMAT, "%s: line 1: %zu pixel columns, more than the %u read",
                        path, dim, MLP_CSV_MAX_PIXELS);
    r->rows = r->opt.rows;
    r->cols = r->opt.cols;
    if (r->rows == 0 && r->cols == 0) {
        r->rows = r->cols = (size_t)sqrt((double)dim); /* exact: dim < 2^53 */
        if (r->rows * r->cols != dim)
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: line 1: %zu pixel columns are not a square image; give its "
                            "rows x cols (--shape RxC)",
                            path, dim);
    } else if (r->rows > MLP_CSV_MAX_PIXELS || r->cols > MLP_CSV_MAX_PIXELS ||
               r->rows * r->cols != dim) {
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: line 1: %zu pixel columns, but a %zux%zu image "
                        "has %zu pixels",
                        path, dim, r->rows, r->cols, r->rows * r->cols);
    }
    r->dim = dim;
    return MLP_OK;
}

/* Without a header: the width is line 1's, and the label first unless the caller or (with
 * MLP_CSV_AUTO and a shape) the width says there is none. */
static mlp_status no_header(reader *r, const unsigned char *p, size_t n, mlp_error *err)
{
    const unsigned char *end = p + n;
    r->width = 1;
    for (const unsigned char *q = p; (q = memchr(q, ',', (size_t)(end - q))); q++)
        r->width++;
    r->label = r->opt.labels == MLP_CSV_UNLABELED ? NO_LABEL : 0;
    /* a shape out of range is set_shape's to refuse */
    if (r->opt.labels != MLP_CSV_AUTO || r->opt.rows == 0 || r->opt.cols == 0 ||
        r->opt.rows > MLP_CSV_MAX_PIXELS || r->opt.cols > MLP_CSV_MAX_PIXELS)
        return MLP_OK;
    size_t want = r->opt.rows * r->opt.cols; /* both at most 2^20: no overflow */
    if (r->width == want)
        r->label = NO_LABEL;
    else if (r->width != want + 1)
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: line 1: %zu values, but a %zux%zu image has %zu pixels (%zu with a "
                        "label first)",
                        r->src.path, r->width, r->opt.rows, r->opt.cols, want, want + 1);
    return MLP_OK;
}

/* True if line 1 is a header: it holds a letter or a quote, which no row of numbers does. */
static bool is_header(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') || p[i] == '"')
            return true;
    return false;
}

/* ---------------------------------------------------------------- rows */

/* Checks the value v[0..n) of column col: a label or a pixel value; `more`: the line was cut
 * short inside it. */
static mlp_status check_value(const reader *r, size_t col, const unsigned char *v, size_t n,
                              bool more, mlp_error *err)
{
    bool label = col == r->label;
    unsigned x = 0;
    bool number = n >= 1 && n <= 3;
    for (size_t i = 0; i < n && number; i++) {
        number = v[i] >= '0' && v[i] <= '9';
        x = 10 * x + (unsigned)(v[i] - '0');
    }
    if (!number || x > 255) {
        char text[96];
        if (n == 0)
            snprintf(text, sizeof text, "an empty value");
        else
            show(text, sizeof text, v, n, more);
        return mlp_fail(err, MLP_EFORMAT, "%s: line %zu, column %zu: %s is not %s (0 to 255)",
                        r->src.path, r->src.line, col + 1, text,
                        label ? "a label" : "a pixel value");
    }
    if (label && x >= r->label_limit)
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: line %zu, column %zu: label %u is not one of %s %u classes (0 to %u)",
                        r->src.path, r->src.line, col + 1, x,
                        r->opt.classes_of ? r->opt.classes_of : "the", r->label_limit,
                        r->label_limit - 1);
    return MLP_OK;
}

/* The message for a line the fast path refused: its first bad value, or its width. A line cut
 * short (see next_line) is too long to be a row, so one of the two shows within what is kept. */
static mlp_status diagnose(const reader *r, const unsigned char *p, size_t n, bool cut,
                           mlp_error *err)
{
    char from[64];
    width_source(from, sizeof from, r);
    for (size_t col = 0, i = 0;; col++) {
        const unsigned char *comma = memchr(p + i, ',', n - i);
        size_t end = comma ? (size_t)(comma - p) : n, values = col + 1;
        if (col == r->width) {
            for (const unsigned char *q = comma; q; q = memchr(q + 1, ',', n - (size_t)(q - p) - 1))
                values++;
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: line %zu, column %zu: the row has %s%zu values; %s", r->src.path,
                            r->src.line, col + 1, cut ? "more than " : "", cut ? r->width : values,
                            from);
        }
        mlp_status st = check_value(r, col, p + i, end - i, cut && end == n, err);
        if (st != MLP_OK)
            return st;
        if (end == n && col + 1 < r->width)
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: line %zu, column %zu: the row ends after %zu values; %s",
                            r->src.path, r->src.line, col + 2, col + 1, from);
        if (end == n)
            return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: not a row of %zu values", r->src.path,
                            r->src.line, r->width); /* not reached */
        i = end + 1;
    }
}

/* Reads a row of exactly width values, each one to three digits and in range, into px and
 * *y; false at anything else, with what was written meaningless. The loop of the load. The
 * reader's fields are copied first: a store through px may alias anything, and would make
 * them be read again at every value. */
static bool fast_row(const reader *r, const unsigned char *p, const unsigned char *end, uint8_t *px,
                     uint8_t *y)
{
    const size_t width = r->width, label = r->label;
    const unsigned limit = r->label_limit;
    for (size_t col = 0; col < width; col++) {
        unsigned v, d;
        if (p == end || (v = (unsigned)*p - '0') > 9)
            return false;
        if (++p < end && (d = (unsigned)*p - '0') <= 9) {
            v = 10 * v + d;
            if (++p < end && (d = (unsigned)*p - '0') <= 9) {
                v = 10 * v + d;
                p++;
            }
        }
        if (col + 1 < width ? p == end || *p++ != ',' : p != end)
            return false;
        if (col == label) {
            if (v >= limit)
                return false;
            *y = (uint8_t)v;
        } else {
            if (v > 255)
                return false;
            *px++ = (uint8_t)v;
        }
    }
    return true;
}

/* Room for one more row in the copy: doubling, but never past the rows the rest of the text
 * can hold (each takes at least two bytes a value), and checked against memory first. */
static mlp_status make_room(reader *r, mlp_error *err)
{
    if (r->n < r->cap)
        return MLP_OK;
    const source *s = &r->src;
    size_t rest = source_rest(s), most = rest ? r->n + 1 + rest / (2 * r->width) : SIZE_MAX;
    size_t cap = r->cap ? r->cap : 1024, bytes;
    cap = cap > SIZE_MAX / 2 ? SIZE_MAX : 2 * cap;
    cap = cap < most ? cap : most;
    mlp_status st = check_room(r, cap, false, err);
    if (st != MLP_OK)
        return st;
    if (!mlp_mul_size(cap, r->dim, &bytes))
        return mlp_fail(err, MLP_ENOMEM, "%s: too many pixels", s->path);
    uint8_t *px = realloc(r->px, bytes);
    if (px)
        r->px = px;
    uint8_t *y = r->label == NO_LABEL ? NULL : realloc(r->y, cap);
    if (y)
        r->y = y;
    if (!px || (r->label != NO_LABEL && !y))
        return mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zu images", s->path, cap);
    r->cap = cap;
    return MLP_OK;
}

/* One line after the header: an image. */
static mlp_status add_row(reader *r, const unsigned char *p, size_t n, bool cut, mlp_error *err)
{
    if (n == 0 && !cut)
        return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: an empty line (every line %sis an image)",
                        r->src.path, r->src.line, r->info.header ? "after the header " : "");
    mlp_status st = make_room(r, err);
    if (st != MLP_OK)
        return st;
    uint8_t scratch, *y = r->y ? r->y + r->n : &scratch;
    if (cut || !fast_row(r, p, p + n, r->px + r->n * r->dim, y))
        return diagnose(r, p, n, cut, err);
    r->n++;
    return MLP_OK;
}

/* ---------------------------------------------------------------- the load */

/* Line 1: a header, or the first row; then the shape, and the fewest rows the size of the
 * text shows, against memory, before any row is kept. */
static mlp_status read_first(reader *r, mlp_error *err)
{
    const unsigned char *p;
    size_t n;
    bool cut;
    mlp_status st = next_line(&r->src, MLP_CSV_MAX_HEADER, &p, &n, &cut, err);
    if (st != MLP_OK)
        return st;
    if (p && n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) { /* a UTF-8 byte order mark */
        p += 3;
        n -= 3;
    }
    if (!p || (n == 0 && r->src.eof && r->src.pos == r->src.len))
        return mlp_fail(err, MLP_EFORMAT, "%s: empty file: no header and no images", r->src.path);
    if (cut)
        return mlp_fail(err, MLP_EFORMAT, "%s: line 1: longer than %u MiB, not a CSV header",
                        r->src.path, MLP_CSV_MAX_HEADER >> 20);
    if (n == 0)
        return mlp_fail(err, MLP_EFORMAT, "%s: line 1: an empty line", r->src.path);
    r->info.header = is_header(p, n);
    st = r->info.header ? read_header(r, p, n, err) : no_header(r, p, n, err);
    if (st == MLP_OK)
        st = set_shape(r, err);
    if (st != MLP_OK)
        return st;
    r->info.labeled = r->label != NO_LABEL;
    r->info.label_column = r->info.labeled ? r->label : 0;
    r->info.columns = r->width;
    /* a row of w values takes at most 4w + 1 bytes: three digits each, commas, CR, LF */
    st = check_room(r, source_rest(&r->src) / (4 * r->width + 1), true, err);
    if (st == MLP_OK && !r->info.header)
        st = add_row(r, p, n, false, err);
    return st;
}

/* The set from the rows' copy: the floats, made once the count is known and checked. */
static mlp_status finish(reader *r, mlp_set *s, mlp_error *err)
{
    mlp_status st = check_room(r, r->n, false, err);
    if (st != MLP_OK)
        return st;
    size_t values = r->n * r->dim; /* fits: the copy holds them */
    if (!(s->x = mlp_alloc_array(values, sizeof(float))))
        return mlp_fail(err, MLP_ENOMEM, "%s: out of memory for %zu pixels", r->src.path, values);
    mlp_idx_pixels(s->x, r->px, values);
    if (r->y) {
        uint8_t *y = realloc(r->y, r->n); /* shrinks */
        s->y = y ? y : r->y;
        r->y = NULL;
    }
    s->n = r->n;
    s->rows = r->rows;
    s->cols = r->cols;
    s->dim = r->dim;
    return MLP_OK;
}

mlp_status mlp_csv_load(mlp_set *s, mlp_csv_info *info, const char *path, const mlp_csv_opts *opt,
                        mlp_error *err)
{
    reader r = {.opt = opt ? *opt : (mlp_csv_opts){.labels = MLP_CSV_LABELED}};
    r.label_limit = r.opt.classes > 0 && r.opt.classes < 256 ? (unsigned)r.opt.classes : 256;
    *s = (mlp_set){0};
    mlp_status st = source_open(&r.src, path, err);
    if (st == MLP_OK)
        st = read_first(&r, err);
    while (st == MLP_OK) {
        const unsigned char *p;
        size_t n;
        bool cut;
        st = next_line(&r.src, 4 * r.width, &p, &n, &cut, err);
        if (st != MLP_OK || !p)
            break;
        st = add_row(&r, p, n, cut, err);
    }
    if (st == MLP_OK && r.n == 0)
        st = mlp_fail(err, MLP_EFORMAT, "%s: no images after the header (line 1)", path);
    source_close(&r.src); /* the text goes before the floats come */
    if (st == MLP_OK)
        st = finish(&r, s, err);
    free(r.px);
    free(r.y);
    if (st != MLP_OK)
        mlp_idx_set_free(s);
    else if (info)
        *info = r.info;
    return st;
}

mlp_status mlp_csv_load_files(mlp_data *d, const mlp_csv_files *files, mlp_error *err)
{
    mlp_csv_opts o = {.labels = MLP_CSV_LABELED, .rows = files->rows, .cols = files->cols};
    *d = (mlp_data){0};
    mlp_status st = mlp_csv_load(&d->train, NULL, files->train, &o, err);
    if (st != MLP_OK)
        return st;
    d->n_classes = mlp_idx_set_classes(&d->train);
    if (d->n_classes < 2)
        st = mlp_fail(err, MLP_EFORMAT, "%s: every label is %u; training needs two classes or more",
                      files->train, (unsigned)d->train.y[0]);
    o.rows = d->train.rows;
    o.cols = d->train.cols;
    o.classes = d->n_classes;
    o.classes_of = "the training set's";
    if (st == MLP_OK && files->test)
        st = mlp_csv_load(&d->test, NULL, files->test, &o, err);
    if (st != MLP_OK)
        mlp_data_free(d);
    return st;
}
