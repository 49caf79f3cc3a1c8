/*
 * model: model.bin writer and reader (format in model.h). Every field is written byte by
 * byte in little-endian order, so files move between hosts; every field read is checked
 * before it is used, and the parameters are only allocated once the file's length has
 * been shown to match what the header says. The writer and the reader are written as a pair
 * (see "the two ends" below).
 */
#define _POSIX_C_SOURCE 200809L
#include "model.h"
#include "options.h"
#include "output.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const unsigned char magic[4] = {'M', 'L', 'P', 'M'};
#define FLOAT_ONE_BITS 0x3f800000u
#define CHUNK          4096 /* floats converted per fwrite/fread */

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ---------------------------------------------------------------- the two ends
 *
 * The writer and the reader mirror each other as Lua's ldump.c and lundump.c do: each part of
 * the file (model.h) has a dump_ function and an undump_ one, and the undump_ one reads what
 * the dump_ one writes, field for field, in the same order. Both ends keep their first error:
 * after it a put writes nothing and a get reads nothing and returns 0, so a part is written or
 * read straight through and its values are checked once, at its end (check_). Only a count of
 * what follows (L, N, the flags S, V and C) is checked as soon as it is read: it bounds the
 * reads after it.
 */

/* Every byte written goes through the checksum; ok turns false at the first write that
 * fails, e keeps its errno. */
typedef struct {
    FILE *f;
    uint32_t crc;
    bool ok;
    int e;
} writer;

static void put_bytes(writer *w, const void *p, size_t n)
{
    if (!w->ok)
        return;
    w->crc = mlp_crc32(w->crc, p, n);
    if (fwrite(p, 1, n, w->f) != n) {
        w->ok = false;
        w->e = errno;
    }
}

static void put32(writer *w, uint32_t v)
{
    unsigned char b[4];
    mlp_put_u32(b, v);
    put_bytes(w, b, 4);
}

static void put64(writer *w, uint64_t v)
{
    put32(w, (uint32_t)v);
    put32(w, (uint32_t)(v >> 32));
}

static void put_float(writer *w, float v)
{
    put32(w, float_bits(v));
}

/* n floats, converted CHUNK at a time */
static void put_floats(writer *w, const float *v, size_t n)
{
    unsigned char out[4 * CHUNK];
    for (size_t i = 0; i < n && w->ok; i += CHUNK) {
        size_t c = n - i < CHUNK ? n - i : CHUNK;
        for (size_t k = 0; k < c; k++)
            mlp_put_u32(out + 4 * k, float_bits(v[i + k]));
        put_bytes(w, out, 4 * c);
    }
}

typedef struct {
    FILE *f;
    const char *path;
    size_t pos, size; /* bytes read so far, file length */
    uint32_t crc;     /* of every byte read so far */
    uint32_t version; /* of the file's format, 1 .. MLP_MODEL_VERSION once checked */
    mlp_status st;    /* MLP_OK, or the first error, whose message is in err */
    mlp_error *err;
} reader;

/* Records an error that names the file, unless one is recorded already: what goes wrong after
 * the first error follows from it. Returns the first error. */
static mlp_status refuse(reader *r, mlp_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static mlp_status refuse(reader *r, mlp_status code, const char *fmt, ...)
{
    if (r->st != MLP_OK)
        return r->st;
    char msg[sizeof r->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->st = code;
    return mlp_fail(r->err, code, "%s: %s", r->path, msg);
}

/* n bytes into buf; zeros after an error */
static void get_bytes(reader *r, void *buf, size_t n)
{
    if (r->st == MLP_OK && n > r->size - r->pos)
        refuse(r, MLP_EFORMAT, "truncated (file is %zu bytes)", r->size);
    else if (r->st == MLP_OK && fread(buf, 1, n, r->f) != n)
        refuse(r, MLP_EIO, "read error at byte %zu", r->pos);
    if (r->st != MLP_OK) {
        memset(buf, 0, n);
        return;
    }
    r->crc = mlp_crc32(r->crc, buf, n);
    r->pos += n;
}

static uint32_t get32(reader *r)
{
    unsigned char b[4];
    get_bytes(r, b, 4);
    return mlp_get_u32(b);
}

static uint64_t get64(reader *r)
{
    uint64_t lo = get32(r);
    return (uint64_t)get32(r) << 32 | lo;
}

static float get_float(reader *r)
{
    return bits_float(get32(r));
}

/* A u64 count kept in a size_t: one too large for it stays too large to pass the checks. */
static size_t get_size(reader *r)
{
    uint64_t v = get64(r);
#if SIZE_MAX < UINT64_MAX
    if (v > SIZE_MAX)
        return SIZE_MAX;
#endif
    return (size_t)v;
}

/* n floats into out, or, when out is NULL, only through the checksum; *bad gets the index of
 * the first that is not finite, or SIZE_MAX. */
static void get_floats(reader *r, size_t n, float *out, size_t *bad)
{
    unsigned char buf[4 * CHUNK];
    *bad = SIZE_MAX;
    for (size_t i = 0; i < n && r->st == MLP_OK; i += CHUNK) {
        size_t c = n - i < CHUNK ? n - i : CHUNK;
        get_bytes(r, buf, 4 * c);
        for (size_t k = 0; k < c && r->st == MLP_OK; k++) {
            float v = bits_float(mlp_get_u32(buf + 4 * k));
            if (!isfinite(v) && *bad == SIZE_MAX)
                *bad = i + k;
            if (out)
                out[i + k] = v;
        }
    }
}

/* An array of the training state: into a new *out when keep, else read and dropped. */
static void get_array(reader *r, size_t n, bool keep, float **out, size_t *bad, const char *what)
{
    if (r->st != MLP_OK)
        return;
    if (keep && !(*out = mlp_alloc_array(n, sizeof(float)))) {
        refuse(r, MLP_ENOMEM, "out of memory for %zu %s", n, what);
        return;
    }
    get_floats(r, n, keep ? *out : NULL, bad);
}

/* ---------------------------------------------------------------- the header */

/* What the header says of the network, for mlp_net_init() */
typedef struct {
    size_t sizes[MLP_MAX_LAYERS + 1], n_sizes;
    uint32_t act, cost;
} shape;

/* Bytes of the state section after its flag S, without the arrays: six 64-bit fields (seven
 * from version 4, with the step count), the labels' CRC and (from version 2) the images' CRC,
 * the kernel name, best validation accuracy and epoch, and the flags V and C */
#define STATE_FIXED(version)                                                                       \
    (((version) >= 4 ? 7 : 6) * 8 + 4 + ((version) >= 2 ? 4 : 0) + 16 + 4 + 4 + 4 + 4)

/* magic, version, float size, 1.0f */
static void dump_format(writer *w)
{
    put_bytes(w, magic, 4);
    put32(w, MLP_MODEL_VERSION);
    put32(w, sizeof(float));
    put32(w, FLOAT_ONE_BITS);
}

static void undump_format(reader *r)
{
    unsigned char mg[4];
    get_bytes(r, mg, 4);
    /* before the rest is read: a file too short to be a model is named for what it is */
    if (r->st == MLP_OK && memcmp(mg, magic, 4) != 0)
        refuse(r, MLP_EFORMAT, "not an mlp model file (bad magic)");
    uint32_t version = get32(r);
    uint32_t fsize = get32(r);
    uint32_t one = get32(r);
    if (r->st != MLP_OK)
        return;
    if (version < 1 || version > MLP_MODEL_VERSION)
        refuse(r, MLP_EFORMAT, "format version %u, this mlp reads versions 1 to %d",
               (unsigned)version, MLP_MODEL_VERSION);
    else if (fsize != 4 || one != FLOAT_ONE_BITS)
        refuse(r, MLP_EFORMAT, "floats are not little-endian IEEE-754 binary32");
    r->version = version;
}

/* L, the layer sizes, activation, cost, rows and cols */
static void dump_shape(writer *w, const mlp_net *net, const mlp_model_meta *m)
{
    put32(w, (uint32_t)net->n_layers);
    for (size_t l = 0; l <= net->n_layers; l++)
        put32(w, (uint32_t)net->sizes[l]);
    put32(w, (uint32_t)net->act);
    put32(w, (uint32_t)net->cost);
    put32(w, m->rows);
    put32(w, m->cols);
}

static mlp_status check_shape(reader *r, const shape *s, const mlp_model_meta *m)
{
    if (r->st != MLP_OK)
        return r->st;
    for (size_t l = 0; l < s->n_sizes; l++)
        if (s->sizes[l] < 1 || s->sizes[l] > MLP_MAX_WIDTH)
            return refuse(r, MLP_EFORMAT, "layer %zu has %zu neurons (allowed: 1 to %u)", l,
                          s->sizes[l], MLP_MAX_WIDTH);
    size_t classes = s->sizes[s->n_sizes - 1];
    if (classes < 2 || classes > MLP_MODEL_MAX_CLASSES)
        return refuse(r, MLP_EFORMAT, "%zu classes (allowed: 2 to %d)", classes,
                      MLP_MODEL_MAX_CLASSES);
    if (s->act > MLP_ACT_RELU)
        return refuse(r, MLP_EFORMAT, "unknown activation %u", (unsigned)s->act);
    if (s->cost > MLP_COST_XENT)
        return refuse(r, MLP_EFORMAT, "unknown cost %u", (unsigned)s->cost);
    if ((uint64_t)m->rows * m->cols != s->sizes[0])
        return refuse(r, MLP_EFORMAT, "%ux%u images do not make %zu inputs", (unsigned)m->rows,
                      (unsigned)m->cols, s->sizes[0]);
    return MLP_OK;
}

static void undump_shape(reader *r, shape *s, mlp_model_meta *m)
{
    uint32_t L = get32(r);
    if (L < 1 || L > MLP_MAX_LAYERS)
        refuse(r, MLP_EFORMAT, "%u weight layers (allowed: 1 to %d)", (unsigned)L, MLP_MAX_LAYERS);
    s->n_sizes = r->st == MLP_OK ? L + 1 : 0;
    for (size_t l = 0; l < s->n_sizes; l++)
        s->sizes[l] = get32(r);
    s->act = get32(r);
    s->cost = get32(r);
    m->rows = get32(r);
    m->cols = get32(r);
    check_shape(r, s, m);
}

/* Where an option of the file's block lives in mlp_sgd_opts (every such row is inside the
 * sgd member of mlp_train_opts; test_options checks it). */
static size_t opt_at(const mlp_option *f)
{
    return f->at - offsetof(mlp_train_opts, sgd);
}

/* The options block: the rows of mlp_options with a slot, in slot order, each value 4 bytes
 * (a float option of two floats, --elastic, takes two f32). */
static void put_options(writer *w, const mlp_sgd_opts *o)
{
    const mlp_option *f;
    for (int slot = 1; (f = mlp_option_in_slot(slot)); slot++) {
        const char *p = (const char *)o + opt_at(f);
        int k;
        switch (f->type) {
        case MLP_OPT_SIZE:
            put32(w, (uint32_t)(*(const size_t *)p));
            break;
        case MLP_OPT_SWITCH:
            put32(w, *(const bool *)p ? 1 : 0);
            break;
        case MLP_OPT_NAME:
            memcpy(&k, p, sizeof k);
            put32(w, (uint32_t)k);
            break;
        default: /* floats */
            for (size_t i = 0; i < f->size / sizeof(float); i++)
                put32(w, float_bits(((const float *)(const void *)p)[i]));
        }
    }
}

/* The options block of a file of the reader's version read into o; false if a field is not
 * one of the values its type allows (a name past the last, a switch neither 0 nor 1). An
 * option newer than the file keeps the value o holds. */
static bool get_options(reader *r, mlp_sgd_opts *o)
{
    bool known = true;
    const mlp_option *f;
    for (int slot = 1; (f = mlp_option_in_slot(slot)); slot++) {
        char *p = (char *)o + opt_at(f);
        if (f->since > r->version)
            continue;
        uint32_t v = get32(r);
        int k;
        switch (f->type) {
        case MLP_OPT_SIZE:
            *(size_t *)(void *)p = v;
            break;
        case MLP_OPT_SWITCH:
            *(bool *)p = v == 1;
            known = known && v <= 1;
            break;
        case MLP_OPT_NAME:
            known = known && v < mlp_opt_count(f->names);
            k = known ? (int)v : 0;
            memcpy(p, &k, sizeof k);
            break;
        default: /* floats: the first read above, the others here */
            ((float *)(void *)p)[0] = bits_float(v);
            for (size_t i = 1; i < f->size / sizeof(float); i++)
                ((float *)(void *)p)[i] = bits_float(get32(r));
        }
    }
    return known;
}

/* the options, seed, image count, test accuracy and the command line (N, then its bytes) */
static void dump_training(writer *w, const mlp_model_meta *m)
{
    size_t n = strlen(m->cmdline); /* at most MLP_MODEL_MAX_CMDLINE: see check_writable */
    put_options(w, &m->opt);
    put64(w, m->seed);
    put32(w, m->n_train);
    put_float(w, m->test_accuracy);
    put32(w, (uint32_t)n);
    put_bytes(w, m->cmdline, n);
}

static mlp_status check_training(reader *r, const mlp_model_meta *m, bool known)
{
    const mlp_sgd_opts *o = &m->opt;
    float acc = m->test_accuracy;
    if (r->st != MLP_OK)
        return r->st;
    if (!known || !mlp_sgd_opts_valid(o) || !isfinite(o->maxnorm) || !isfinite(o->l2) ||
        o->val >= m->n_train)
        return refuse(r, MLP_EFORMAT, "training settings out of range");
    if (!(acc == -1.0f || (acc >= 0.0f && acc <= 1.0f)))
        return refuse(r, MLP_EFORMAT, "test accuracy field out of range");
    return MLP_OK;
}

static void undump_training(reader *r, mlp_model_meta *m)
{
    bool known = get_options(r, &m->opt);
    m->seed = get64(r);
    m->n_train = get32(r);
    m->test_accuracy = get_float(r);
    uint32_t n = get32(r);
    if (check_training(r, m, known) == MLP_OK && n > MLP_MODEL_MAX_CMDLINE)
        refuse(r, MLP_EFORMAT, "command line of %u bytes (at most %d)", (unsigned)n,
               MLP_MODEL_MAX_CMDLINE);
    if (r->st != MLP_OK)
        n = 0;
    get_bytes(r, m->cmdline, n);
    m->cmdline[n] = '\0';
    if (r->st == MLP_OK && memchr(m->cmdline, '\0', n))
        refuse(r, MLP_EFORMAT, "command line contains a NUL byte");
}

/* The check that guards the allocation: P must be what the sizes imply, and what is left of
 * the file must be the parameters, the state flag and the checksum, and possibly the state
 * with or without velocities and last-epoch parameters. */
static mlp_status check_length(reader *r, const shape *s, uint64_t n_params)
{
    size_t want = 0, pbytes, len[5]; /* no state; a state with 0 to 3 extra arrays */
    if (r->st != MLP_OK)
        return r->st;
    if (!mlp_net_count_params(s->sizes, s->n_sizes, &want) || n_params != want)
        return refuse(r, MLP_EFORMAT, "%llu parameters, the layer sizes imply %zu",
                      (unsigned long long)n_params, want);
    if (!mlp_mul_size(want, 4, &pbytes) || !mlp_add_size(pbytes, r->pos + 8, &len[0]) ||
        !mlp_add_size(len[0], STATE_FIXED(r->version), &len[1]) ||
        !mlp_add_size(len[1], pbytes, &len[2]) || !mlp_add_size(len[2], pbytes, &len[3]) ||
        !mlp_add_size(len[3], pbytes, &len[4]))
        return refuse(r, MLP_EFORMAT, "parameter count overflows");
    size_t k = 0;
    while (k < 4 && r->size > len[k])
        k++;
    if (r->size != len[k])
        return refuse(r, MLP_EFORMAT, "%s: file is %zu bytes, its header implies %zu",
                      r->size < len[k] ? "truncated" : "trailing bytes", r->size, len[k]);
    return MLP_OK;
}

/* everything before the parameters */
static void dump_header(writer *w, const mlp_net *net, const mlp_model_meta *m)
{
    dump_format(w);
    dump_shape(w, net, m);
    dump_training(w, m);
    put64(w, net->n_params);
}

static mlp_status undump_header(reader *r, shape *s, mlp_model_meta *m)
{
    undump_format(r);
    undump_shape(r, s, m);
    undump_training(r, m);
    uint64_t n_params = get64(r);
    return check_length(r, s, n_params);
}

/* ---------------------------------------------------------------- the training state */

/* The optimiser's state, in the file's order (model.h). Between epochs (pos 0) the sums are
 * those of the epoch that ended, no longer state: they are written as 0. */
static void dump_sgd_state(writer *w, const mlp_sgd_state *s)
{
    put64(w, s->epoch);
    put64(w, s->pos);
    put64(w, s->rng);
    put64(w, s->epoch_rng);
    put64(w, double_bits(s->pos ? s->cost : 0.0));
    put64(w, s->pos ? s->correct : 0);
    put64(w, s->steps);
}

static void undump_sgd_state(reader *r, mlp_sgd_state *s)
{
    s->epoch = get_size(r);
    s->pos = get_size(r);
    s->rng = get64(r);
    s->epoch_rng = get64(r);
    s->cost = bits_double(get64(r));
    s->correct = get_size(r);
    s->steps = r->version >= 4 ? get64(r) : 0;
}

/* That the state read adds up, given the options and V, the velocities' flag. */
static mlp_status check_state(reader *r, const mlp_model_meta *m, uint32_t has_vel)
{
    const mlp_sgd_opts *o = &m->opt;
    const mlp_sgd_state *s = &m->sgd;
    if (r->st != MLP_OK)
        return r->st;
    /* a short name of lower-case letters and digits, NUL-terminated */
    size_t len = strnlen(m->kernels, 16);
    bool named = len > 0 && len < 16;
    for (size_t i = 0; i < len; i++)
        named = named && ((m->kernels[i] >= 'a' && m->kernels[i] <= 'z') ||
                          (m->kernels[i] >= '0' && m->kernels[i] <= '9'));
    if (!named)
        return refuse(r, MLP_EFORMAT, "kernel name is not a name");
    if (s->epoch > o->epochs || s->pos > m->n_train - o->val ||
        (s->pos > 0 && s->epoch >= o->epochs) || s->correct > s->pos ||
        !(s->cost >= 0.0 && isfinite(s->cost)) || (s->pos == 0 && (s->correct || s->cost != 0.0)) ||
        !(m->best_val == -1.0f || (m->best_val >= 0.0f && m->best_val <= 1.0f)) ||
        m->best_epoch > s->epoch || (m->best_val >= 0.0f) != (o->val > 0 && m->best_epoch > 0))
        return refuse(r, MLP_EFORMAT, "training state does not add up");
    if (has_vel > 1 || (has_vel == 1) != mlp_sgd_has_vel(o))
        return refuse(r, MLP_EFORMAT, "velocities %s, but the optimiser is %s with momentum %g",
                      has_vel == 1 ? "present" : "missing",
                      mlp_opt_name(mlp_opt_optimizer_names, (size_t)o->optimizer),
                      (double)o->momentum);
    return MLP_OK;
}

/* The flag S and, when it is 1, the state, the flag V and the velocities, the flag C and the
 * last epoch's parameters. */
static void dump_state(writer *w, const mlp_net *net, const mlp_model_meta *m)
{
    unsigned char kernels[16] = {0}; /* NUL-padded */
    put32(w, m->has_state ? 1 : 0);
    if (!m->has_state)
        return;
    memcpy(kernels, m->kernels, strnlen(m->kernels, 15));
    dump_sgd_state(w, &m->sgd);
    put32(w, m->data_crc);
    put32(w, m->images_crc);
    put_bytes(w, kernels, 16);
    put_float(w, m->best_val);
    put32(w, m->best_epoch);
    put32(w, m->vel ? 1 : 0);
    if (m->vel)
        put_floats(w, m->vel, net->n_params);
    if (m->vel && m->sq)
        put_floats(w, m->sq, net->n_params);
    put32(w, m->cur ? 1 : 0);
    if (m->cur)
        put_floats(w, m->cur, net->n_params);
}

/* The first value that is not finite in each array read, or SIZE_MAX: reported only once the
 * checksum has shown that the bytes are the ones written, so damage reads as damage. */
typedef struct {
    size_t params, vel, sq, cur;
} nonfinite;

/* keep says whether the arrays are kept (into m->vel and m->cur) or only read through the
 * checksum and checked. */
static void undump_state(reader *r, size_t n_params, bool keep, mlp_model_meta *m, nonfinite *bad)
{
    uint32_t flag = get32(r);
    if (flag > 1)
        refuse(r, MLP_EFORMAT, "training state flag is %u", (unsigned)flag);
    else if (flag == 0 && r->pos + 4 != r->size)
        refuse(r, MLP_EFORMAT, "bytes after the parameters but no state");
    if (r->st != MLP_OK || flag == 0)
        return;
    m->has_state = 1;
    undump_sgd_state(r, &m->sgd);
    m->data_crc = get32(r);
    m->has_images_crc = r->version >= 2;
    if (m->has_images_crc)
        m->images_crc = get32(r);
    get_bytes(r, m->kernels, 16);
    m->best_val = get_float(r);
    m->best_epoch = get32(r);
    uint32_t has_vel = get32(r);
    if (check_state(r, m, has_vel) == MLP_OK && has_vel)
        get_array(r, n_params, keep, &m->vel, &bad->vel, "velocities");
    if (has_vel && mlp_sgd_has_sq(&m->opt))
        get_array(r, n_params, keep, &m->sq, &bad->sq, "second moments");
    uint32_t has_cur = get32(r);
    if (has_cur > 1 || (has_cur && m->opt.val == 0))
        refuse(r, MLP_EFORMAT, "last-epoch parameters without validation");
    else if (r->pos + 4 + (has_cur ? 4 * n_params : 0) != r->size)
        refuse(r, MLP_EFORMAT, "length does not match the training state");
    if (has_cur)
        get_array(r, n_params, keep, &m->cur, &bad->cur, "parameters");
}

/* ---------------------------------------------------------------- the whole file */

/* header, parameters, training state and the checksum of every byte before it */
static void dump(writer *w, const mlp_net *net, const mlp_model_meta *m)
{
    dump_header(w, net, m);
    put_floats(w, net->params, net->n_params);
    dump_state(w, net, m);
    put32(w, w->crc);
}

/* Intact but unusable: a run that diverged must not be evaluated as if it were a model. */
static mlp_status check_finite(reader *r, const mlp_net *net, const nonfinite *bad)
{
    if (r->st != MLP_OK)
        return r->st;
    if (bad->params != SIZE_MAX)
        return refuse(r, MLP_EFORMAT, "parameter %zu is %s", bad->params,
                      isnan(net->params[bad->params]) ? "NaN" : "infinite");
    if (bad->vel != SIZE_MAX)
        return refuse(r, MLP_EFORMAT, "velocity %zu is not finite", bad->vel);
    if (bad->sq != SIZE_MAX)
        return refuse(r, MLP_EFORMAT, "second moment %zu is not finite", bad->sq);
    if (bad->cur != SIZE_MAX)
        return refuse(r, MLP_EFORMAT, "parameter %zu of the last epoch is not finite", bad->cur);
    return MLP_OK;
}

/* Into a new net able to run batches of max_batch rows, or of the model's own batch. */
static mlp_status undump(reader *r, mlp_net *net, size_t max_batch, bool keep, mlp_model_meta *m)
{
    shape s;
    nonfinite bad = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    if (undump_header(r, &s, m) != MLP_OK)
        return r->st;
    if (max_batch < m->opt.batch)
        max_batch = m->opt.batch; /* room to go on training with the saved batch size */
    r->st = mlp_net_init(net, s.sizes, s.n_sizes, (mlp_act)s.act, (mlp_cost)s.cost, max_batch, NULL,
                         NULL, r->err);
    if (r->st != MLP_OK)
        return r->st;
    get_floats(r, net->n_params, net->params, &bad.params);
    undump_state(r, net->n_params, keep, m, &bad);
    uint32_t crc = r->crc; /* of every byte before the stored one */
    uint32_t stored = get32(r);
    if (r->st == MLP_OK && stored != crc)
        refuse(r, MLP_EFORMAT, "checksum mismatch (file is damaged)");
    return check_finite(r, net, &bad);
}

/* ---------------------------------------------------------------- saving and loading */

static bool all_finite(const float *v, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            *bad = i;
            return false;
        }
    }
    return true;
}

/* What must hold before anything is written: every array finite, and a command line the
 * format can record. The messages name no file: the caller knows which it is. */
static mlp_status check_writable(const mlp_net *net, const mlp_model_meta *meta, mlp_error *err)
{
    size_t bad;
    if (strnlen(meta->cmdline, MLP_MODEL_MAX_CMDLINE + 1) > MLP_MODEL_MAX_CMDLINE)
        return mlp_fail(err, MLP_EARG,
                        "not saved: the command line is %d bytes or more; a model records at "
                        "most %d",
                        MLP_MODEL_MAX_CMDLINE + 1, MLP_MODEL_MAX_CMDLINE);
    if (!all_finite(net->params, net->n_params, &bad))
        return mlp_fail(err, MLP_ENUMERIC, "not saved: parameter %zu is %s", bad,
                        isnan(net->params[bad]) ? "NaN" : "infinite");
    if (meta->has_state && meta->vel && !all_finite(meta->vel, net->n_params, &bad))
        return mlp_fail(err, MLP_ENUMERIC, "not saved: velocity %zu is not finite", bad);
    if (meta->has_state && meta->sq && !all_finite(meta->sq, net->n_params, &bad))
        return mlp_fail(err, MLP_ENUMERIC, "not saved: second moment %zu is not finite", bad);
    if (meta->has_state && meta->cur && !all_finite(meta->cur, net->n_params, &bad))
        return mlp_fail(err, MLP_ENUMERIC,
                        "not saved: parameter %zu of the last epoch is not finite", bad);
    return MLP_OK;
}

/* Puts "name: " before the message in err, for messages that name no file. */
static mlp_status named(mlp_error *err, mlp_status st, const char *name)
{
    if (!err)
        return st;
    char msg[sizeof err->msg];
    memcpy(msg, err->msg, sizeof msg);
    return mlp_fail(err, st, "%s: %s", name, msg);
}

mlp_status mlp_model_write(FILE *f, const mlp_net *net, const mlp_model_meta *meta, mlp_error *err)
{
    mlp_status st = check_writable(net, meta, err);
    if (st != MLP_OK)
        return st;
    writer w = {.f = f, .ok = true};
    dump(&w, net, meta);
    bool ok = w.ok && fflush(f) == 0;
    int e = w.ok ? errno : w.e;
    if (!ok)
        return mlp_fail(err, MLP_EIO, "write failed: %s", strerror(e));
    return MLP_OK;
}

struct model_file {
    const mlp_net *net;
    const mlp_model_meta *meta;
    const char *path;
};

static mlp_status write_model(FILE *f, void *ctx, mlp_error *err)
{
    const struct model_file *m = ctx;
    mlp_status st = mlp_model_write(f, m->net, m->meta, err);
    return st == MLP_OK ? st : named(err, st, m->path);
}

mlp_status mlp_model_save(const char *path, const mlp_net *net, const mlp_model_meta *meta,
                          mlp_error *err)
{
    /* checked here too, so that a model that cannot be written creates no file at all */
    mlp_status st = check_writable(net, meta, err);
    if (st != MLP_OK)
        return named(err, st, path);
    struct model_file m = {net, meta, path};
    return mlp_output_save("model", path, write_model, &m, err);
}

/* Both loads: keep says whether the training state's arrays are kept (into meta->vel and
 * meta->cur) or only read through the checksum and checked. */
static mlp_status load(const char *path, mlp_net *net, size_t max_batch, mlp_model_meta *meta,
                       bool keep, mlp_error *err)
{
    reader r = {.path = path, .err = err};
    struct stat sb;
    memset(net, 0, sizeof *net);
    memset(meta, 0, sizeof *meta);
    r.f = mlp_open_input(path, err);
    if (!r.f)
        return MLP_EIO;
    if (fstat(fileno(r.f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        refuse(&r, MLP_EIO, "not a regular file");
    } else {
        r.size = (size_t)sb.st_size;
        undump(&r, net, max_batch, keep, meta);
    }
    fclose(r.f);
    if (r.st != MLP_OK) {
        mlp_net_free(net);
        mlp_model_meta_free(meta);
    }
    return r.st;
}

mlp_status mlp_model_load(const char *path, mlp_net *net, size_t max_batch, mlp_model_meta *meta,
                          mlp_error *err)
{
    return load(path, net, max_batch, meta, false, err);
}

mlp_status mlp_model_load_state(const char *path, mlp_net *net, size_t max_batch,
                                mlp_model_meta *meta, mlp_error *err)
{
    return load(path, net, max_batch, meta, true, err);
}

void mlp_model_meta_free(mlp_model_meta *meta)
{
    free(meta->vel);
    free(meta->sq);
    free(meta->cur);
    meta->vel = NULL;
    meta->sq = NULL;
    meta->cur = NULL;
}

uint32_t mlp_model_images_crc(const float *x, size_t count)
{
    /* x is pixel / 255, correctly rounded (idx.h), so x * 255 rounds back to the byte */
    unsigned char px[1 << 16]; /* long runs: mlp_crc32 builds its tables once per call */
    uint32_t crc = 0;
    for (size_t i = 0; i < count; i += sizeof px) {
        size_t n = count - i < sizeof px ? count - i : sizeof px;
        for (size_t k = 0; k < n; k++)
            px[k] = (unsigned char)lrintf(x[i + k] * 255.0f);
        crc = mlp_crc32(crc, px, n);
    }
    return crc;
}
