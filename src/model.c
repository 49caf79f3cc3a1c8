/*
 * model: model.bin writer and reader (format in model.h). Every field is written byte by
 * byte in little-endian order, so files move between hosts; every field read is checked
 * before it is used, and the parameters are only allocated once the file's length has
 * been shown to match what the header says.
 */
#define _POSIX_C_SOURCE 200809L
#include "model.h"
#include "output.h"

#include <errno.h>
#include <math.h>
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

/* ---------------------------------------------------------------- writing */

/* Bytes of the header up to the parameters, apart from the layer sizes and the command line,
 * field by field as build_header() writes them: magic, version, float size, 1.0f and L
 * (5 x 4); activation, cost, rows and cols (4 x 4); the options (20 x 4); the seed (8); the
 * image count, test accuracy and command-line length (3 x 4); P (8). */
#define HEADER_FIXED (5 * 4 + 4 * 4 + 20 * 4 + 8 + 3 * 4 + 8)

/* Bytes of the state section after its flag S, without the two arrays: six 64-bit fields,
 * the labels' CRC and (from version 2) the images' CRC, the kernel name, best validation
 * accuracy and epoch, and the flags V and C */
#define STATE_FIXED(version) (6 * 8 + 4 + ((version) >= 2 ? 4 : 0) + 16 + 4 + 4 + 4 + 4)

/* The header is small and built in memory, sized for the largest one the format allows
 * (MLP_MAX_LAYERS layers, a command line of MLP_MODEL_MAX_CMDLINE bytes); the parameters
 * are streamed after it. The state section is built in the same buffer. */
#define HEADER_MAX (HEADER_FIXED + 4 * (MLP_MAX_LAYERS + 1) + MLP_MODEL_MAX_CMDLINE)
_Static_assert(HEADER_MAX >= 4 + STATE_FIXED(MLP_MODEL_VERSION),
               "the state section fits in the header buffer");
typedef struct {
    unsigned char buf[HEADER_MAX];
    size_t len;
} header;

static void put32(header *h, uint32_t v)
{
    mlp_put_u32(h->buf + h->len, v);
    h->len += 4;
}

static void put64(header *h, uint64_t v)
{
    put32(h, (uint32_t)v);
    put32(h, (uint32_t)(v >> 32));
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

/* The state section, from the flag S up to (not including) the velocities. */
static void build_state(header *h, const mlp_model_meta *m)
{
    h->len = 0;
    put32(h, m->has_state ? 1 : 0);
    if (!m->has_state)
        return;
    put64(h, m->done_epochs);
    put64(h, m->pos);
    put64(h, m->rng);
    put64(h, m->epoch_rng);
    put64(h, double_bits(m->cost));
    put64(h, m->correct);
    put32(h, m->data_crc);
    put32(h, m->images_crc);
    memset(h->buf + h->len, 0, 16);
    memcpy(h->buf + h->len, m->kernels, strnlen(m->kernels, 15));
    h->len += 16;
    put32(h, float_bits(m->best_val));
    put32(h, m->best_epoch);
    put32(h, m->vel ? 1 : 0);
}

static void build_header(header *h, const mlp_net *net, const mlp_model_meta *m)
{
    const mlp_sgd_opts *o = &m->opt;
    size_t cmd_len = strlen(m->cmdline); /* at most MLP_MODEL_MAX_CMDLINE: see check_writable */
    h->len = 0;
    memcpy(h->buf, magic, 4);
    h->len = 4;
    put32(h, MLP_MODEL_VERSION);
    put32(h, sizeof(float));
    put32(h, FLOAT_ONE_BITS);
    put32(h, (uint32_t)net->n_layers);
    for (size_t l = 0; l <= net->n_layers; l++)
        put32(h, (uint32_t)net->sizes[l]);
    put32(h, (uint32_t)net->act);
    put32(h, (uint32_t)net->cost);
    put32(h, m->rows);
    put32(h, m->cols);
    put32(h, (uint32_t)o->epochs);
    put32(h, (uint32_t)o->batch);
    put32(h, (uint32_t)o->schedule);
    put32(h, float_bits(o->lr));
    put32(h, float_bits(o->lr_end));
    put32(h, (uint32_t)o->lr_step);
    put32(h, float_bits(o->lr_gamma));
    put32(h, (uint32_t)o->warmup);
    put32(h, float_bits(o->l2));
    put32(h, float_bits(o->momentum));
    put32(h, o->nesterov ? 1 : 0);
    put32(h, float_bits(o->maxnorm));
    put32(h, float_bits(o->drop_in));
    put32(h, float_bits(o->drop_hidden));
    put32(h, float_bits(o->aug.translate));
    put32(h, float_bits(o->aug.rotate));
    put32(h, float_bits(o->aug.scale));
    put32(h, float_bits(o->aug.elastic_alpha));
    put32(h, float_bits(o->aug.elastic_sigma));
    put32(h, (uint32_t)o->val);
    put64(h, m->seed);
    put32(h, m->n_train);
    put32(h, float_bits(m->test_accuracy));
    put32(h, (uint32_t)cmd_len);
    memcpy(h->buf + h->len, m->cmdline, cmd_len);
    h->len += cmd_len;
    put64(h, net->n_params);
}

/* Writes n floats little-endian, updating the checksum. */
static bool write_floats(FILE *f, const float *v, size_t count, uint32_t *crc)
{
    unsigned char out[4 * CHUNK];
    for (size_t i = 0; i < count; i += CHUNK) {
        size_t n = count - i < CHUNK ? count - i : CHUNK;
        for (size_t k = 0; k < n; k++)
            mlp_put_u32(out + 4 * k, float_bits(v[i + k]));
        *crc = mlp_crc32(*crc, out, 4 * n);
        if (fwrite(out, 1, 4 * n, f) != 4 * n)
            return false;
    }
    return true;
}

static bool write_bytes(FILE *f, const header *h, uint32_t *crc)
{
    *crc = mlp_crc32(*crc, h->buf, h->len);
    return fwrite(h->buf, 1, h->len, f) == h->len;
}

/* Writes header, parameters, training state and checksum to f. */
static bool write_body(FILE *f, header *h, const mlp_net *net, const mlp_model_meta *m)
{
    uint32_t crc = 0;
    unsigned char tail[4];
    build_header(h, net, m);
    if (!write_bytes(f, h, &crc) || !write_floats(f, net->params, net->n_params, &crc))
        return false;
    build_state(h, m);
    if (!write_bytes(f, h, &crc))
        return false;
    if (m->has_state) {
        if (m->vel && !write_floats(f, m->vel, net->n_params, &crc))
            return false;
        h->len = 0;
        put32(h, m->cur ? 1 : 0);
        if (!write_bytes(f, h, &crc) || (m->cur && !write_floats(f, m->cur, net->n_params, &crc)))
            return false;
    }
    mlp_put_u32(tail, crc);
    return fwrite(tail, 1, 4, f) == 4;
}

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
    header *h = malloc(sizeof *h); /* 4 KiB and more: not on the stack */
    if (!h)
        return mlp_fail(err, MLP_ENOMEM, "out of memory for the model header");
    bool ok = write_body(f, h, net, meta) && fflush(f) == 0;
    int e = errno;
    free(h);
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

/* ---------------------------------------------------------------- reading */

typedef struct {
    FILE *f;
    const char *path;
    size_t pos, size; /* bytes read so far, file length */
    uint32_t crc;     /* of every byte read so far */
    uint32_t version; /* of the file's format, 1 .. MLP_MODEL_VERSION */
    mlp_error *err;
} reader;

/* The first value that is not finite in each array read, or SIZE_MAX: reported only once the
 * checksum has shown that the bytes are the ones written, so damage reads as damage. */
typedef struct {
    size_t params, vel, cur;
} nonfinite;

static mlp_status get(reader *r, void *buf, size_t n)
{
    if (n > r->size - r->pos)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: truncated (file is %zu bytes)", r->path, r->size);
    if (fread(buf, 1, n, r->f) != n)
        return mlp_fail(r->err, MLP_EIO, "%s: read error at byte %zu", r->path, r->pos);
    r->crc = mlp_crc32(r->crc, buf, n);
    r->pos += n;
    return MLP_OK;
}

static mlp_status get32(reader *r, uint32_t *v)
{
    unsigned char b[4];
    mlp_status st = get(r, b, 4);
    if (st == MLP_OK)
        *v = mlp_get_u32(b);
    return st;
}

static mlp_status get64(reader *r, uint64_t *v)
{
    uint32_t lo = 0, hi = 0;
    mlp_status st = get32(r, &lo);
    if (st == MLP_OK)
        st = get32(r, &hi);
    *v = (uint64_t)hi << 32 | lo;
    return st;
}

/* Reads and checks everything before the parameters. */
static mlp_status read_header(reader *r, size_t *sizes, size_t *n_sizes, uint32_t *act,
                              uint32_t *cost, mlp_model_meta *m)
{
    unsigned char mg[4];
    uint32_t version, fsize, one, L, v;
    uint64_t n_params;
    size_t want_params, want_len;
    mlp_status st;
    const char *p = r->path;

    if ((st = get(r, mg, 4)) != MLP_OK)
        return st;
    if (memcmp(mg, magic, 4) != 0)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: not an mlp model file (bad magic)", p);
    if ((st = get32(r, &version)) != MLP_OK || (st = get32(r, &fsize)) != MLP_OK ||
        (st = get32(r, &one)) != MLP_OK)
        return st;
    if (version < 1 || version > MLP_MODEL_VERSION)
        return mlp_fail(r->err, MLP_EFORMAT,
                        "%s: format version %u, this mlp reads versions 1 to %d", p,
                        (unsigned)version, MLP_MODEL_VERSION);
    r->version = version;
    if (fsize != 4 || one != FLOAT_ONE_BITS)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: floats are not little-endian IEEE-754 binary32",
                        p);
    if ((st = get32(r, &L)) != MLP_OK)
        return st;
    if (L < 1 || L > MLP_MAX_LAYERS)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: %u weight layers (allowed: 1 to %d)", p,
                        (unsigned)L, MLP_MAX_LAYERS);
    *n_sizes = L + 1;
    for (size_t l = 0; l <= L; l++) {
        if ((st = get32(r, &v)) != MLP_OK)
            return st;
        if (v < 1 || v > MLP_MAX_WIDTH)
            return mlp_fail(r->err, MLP_EFORMAT, "%s: layer %zu has %u neurons (allowed: 1 to %u)",
                            p, l, (unsigned)v, MLP_MAX_WIDTH);
        sizes[l] = v;
    }
    if (sizes[L] < 2 || sizes[L] > MLP_MODEL_MAX_CLASSES)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: %zu classes (allowed: 2 to %d)", p, sizes[L],
                        MLP_MODEL_MAX_CLASSES);
    if ((st = get32(r, act)) != MLP_OK || (st = get32(r, cost)) != MLP_OK)
        return st;
    if (*act > MLP_ACT_RELU)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: unknown activation %u", p, (unsigned)*act);
    if (*cost > MLP_COST_XENT)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: unknown cost %u", p, (unsigned)*cost);
    if ((st = get32(r, &m->rows)) != MLP_OK || (st = get32(r, &m->cols)) != MLP_OK)
        return st;
    if ((uint64_t)m->rows * m->cols != sizes[0])
        return mlp_fail(r->err, MLP_EFORMAT, "%s: %ux%u images do not make %zu inputs", p,
                        (unsigned)m->rows, (unsigned)m->cols, sizes[0]);
    /* the options block, then what follows it; f[] holds the 32-bit fields in file order */
    uint32_t f[20], acc, cmd_len;
    for (size_t k = 0; k < 20; k++)
        if ((st = get32(r, &f[k])) != MLP_OK)
            return st;
    if ((st = get64(r, &m->seed)) != MLP_OK || (st = get32(r, &m->n_train)) != MLP_OK ||
        (st = get32(r, &acc)) != MLP_OK || (st = get32(r, &cmd_len)) != MLP_OK)
        return st;
    mlp_sgd_opts *o = &m->opt;
    o->epochs = f[0];
    o->batch = f[1];
    o->schedule = (mlp_schedule)(f[2] > MLP_SCHED_COSINE ? 99 : f[2]);
    o->lr = bits_float(f[3]);
    o->lr_end = bits_float(f[4]);
    o->lr_step = f[5];
    o->lr_gamma = bits_float(f[6]);
    o->warmup = f[7];
    o->l2 = bits_float(f[8]);
    o->momentum = bits_float(f[9]);
    o->nesterov = f[10] == 1;
    o->maxnorm = bits_float(f[11]);
    o->drop_in = bits_float(f[12]);
    o->drop_hidden = bits_float(f[13]);
    o->aug = (mlp_augment){bits_float(f[14]), bits_float(f[15]), bits_float(f[16]),
                           bits_float(f[17]), bits_float(f[18])};
    o->val = f[19];
    if (f[2] > MLP_SCHED_COSINE || f[10] > 1 || !mlp_sgd_opts_valid(o) || !isfinite(o->maxnorm) ||
        !isfinite(o->l2) || o->val >= m->n_train)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: training settings out of range", p);
    m->test_accuracy = bits_float(acc);
    if (!(m->test_accuracy == -1.0f || (m->test_accuracy >= 0.0f && m->test_accuracy <= 1.0f)))
        return mlp_fail(r->err, MLP_EFORMAT, "%s: test accuracy field out of range", p);
    if (cmd_len > MLP_MODEL_MAX_CMDLINE)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: command line of %u bytes (at most %d)", p,
                        (unsigned)cmd_len, MLP_MODEL_MAX_CMDLINE);
    if ((st = get(r, m->cmdline, cmd_len)) != MLP_OK)
        return st;
    m->cmdline[cmd_len] = '\0';
    if (memchr(m->cmdline, '\0', cmd_len))
        return mlp_fail(r->err, MLP_EFORMAT, "%s: command line contains a NUL byte", p);
    if ((st = get64(r, &n_params)) != MLP_OK)
        return st;
    if (!mlp_net_count_params(sizes, *n_sizes, &want_params) || n_params != want_params)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: %llu parameters, the layer sizes imply %zu", p,
                        (unsigned long long)n_params, want_params);
    /* The length check that guards the allocation: what is left of the file must be the
     * parameters, the state flag and the checksum, and possibly the state with or without
     * velocities. */
    size_t pbytes, len[4]; /* no state; a state with 0, 1 or 2 extra arrays of parameters */
    if (!mlp_mul_size(want_params, 4, &pbytes) || !mlp_add_size(pbytes, r->pos + 8, &len[0]) ||
        !mlp_add_size(len[0], STATE_FIXED(r->version), &len[1]) ||
        !mlp_add_size(len[1], pbytes, &len[2]) || !mlp_add_size(len[2], pbytes, &len[3]))
        return mlp_fail(r->err, MLP_EFORMAT, "%s: parameter count overflows", p);
    size_t k = 0;
    while (k < 3 && r->size > len[k])
        k++;
    if (r->size != len[k]) {
        want_len = len[k];
        return mlp_fail(r->err, MLP_EFORMAT, "%s: %s: file is %zu bytes, its header implies %zu", p,
                        r->size < want_len ? "truncated" : "trailing bytes", r->size, want_len);
    }
    return MLP_OK;
}

/* Reads n floats into out, or, when out is NULL, only through the checksum; *bad gets the
 * index of the first that is not finite, or SIZE_MAX. */
static mlp_status read_floats(reader *r, size_t n, float *out, size_t *bad)
{
    unsigned char buf[4 * CHUNK];
    mlp_status st;
    *bad = SIZE_MAX;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t c = n - i < CHUNK ? n - i : CHUNK;
        if ((st = get(r, buf, 4 * c)) != MLP_OK)
            return st;
        for (size_t k = 0; k < c; k++) {
            float v = bits_float(mlp_get_u32(buf + 4 * k));
            if (!isfinite(v) && *bad == SIZE_MAX)
                *bad = i + k;
            if (out)
                out[i + k] = v;
        }
    }
    return MLP_OK;
}

/* An array of the training state: into a new *out when keep, else read and dropped. */
static mlp_status read_array(reader *r, size_t n, bool keep, float **out, size_t *bad,
                             const char *what)
{
    if (keep && !(*out = mlp_alloc_array(n, sizeof(float))))
        return mlp_fail(r->err, MLP_ENOMEM, "%s: out of memory for %zu %s", r->path, n, what);
    return read_floats(r, n, keep ? *out : NULL, bad);
}

/* Reads the state section (flag, state, velocities, last parameters) and checks that it adds
 * up. */
static mlp_status read_state(reader *r, size_t n_params, bool keep, mlp_model_meta *m,
                             nonfinite *bad)
{
    const char *p = r->path;
    uint32_t flag, has_vel, has_cur, best;
    uint64_t cost;
    mlp_status st;
    if ((st = get32(r, &flag)) != MLP_OK)
        return st;
    if (flag > 1)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: training state flag is %u", p, (unsigned)flag);
    if (flag == 0) {
        if (r->pos + 4 != r->size)
            return mlp_fail(r->err, MLP_EFORMAT, "%s: bytes after the parameters but no state", p);
        return MLP_OK;
    }
    m->has_state = 1;
    if ((st = get64(r, &m->done_epochs)) != MLP_OK || (st = get64(r, &m->pos)) != MLP_OK ||
        (st = get64(r, &m->rng)) != MLP_OK || (st = get64(r, &m->epoch_rng)) != MLP_OK ||
        (st = get64(r, &cost)) != MLP_OK || (st = get64(r, &m->correct)) != MLP_OK ||
        (st = get32(r, &m->data_crc)) != MLP_OK ||
        (r->version >= 2 && (st = get32(r, &m->images_crc)) != MLP_OK) ||
        (st = get(r, m->kernels, 16)) != MLP_OK || (st = get32(r, &best)) != MLP_OK ||
        (st = get32(r, &m->best_epoch)) != MLP_OK || (st = get32(r, &has_vel)) != MLP_OK)
        return st;
    m->has_images_crc = r->version >= 2;
    m->cost = bits_double(cost);
    m->best_val = bits_float(best);
    /* a short name of lower-case letters and digits, NUL-terminated */
    size_t len = strnlen(m->kernels, 16);
    bool named = len > 0 && len < 16;
    for (size_t i = 0; i < len; i++)
        named = named && ((m->kernels[i] >= 'a' && m->kernels[i] <= 'z') ||
                          (m->kernels[i] >= '0' && m->kernels[i] <= '9'));
    if (!named)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: kernel name is not a name", p);
    const mlp_sgd_opts *o = &m->opt;
    if (m->done_epochs > o->epochs || m->pos > m->n_train - o->val ||
        (m->pos > 0 && m->done_epochs >= o->epochs) || m->correct > m->pos ||
        !(m->cost >= 0.0 && isfinite(m->cost)) || (m->pos == 0 && (m->correct || m->cost != 0.0)) ||
        !(m->best_val == -1.0f || (m->best_val >= 0.0f && m->best_val <= 1.0f)) ||
        m->best_epoch > m->done_epochs ||
        (m->best_val >= 0.0f) != (o->val > 0 && m->best_epoch > 0))
        return mlp_fail(r->err, MLP_EFORMAT, "%s: training state does not add up", p);
    if (has_vel > 1 || (has_vel == 1) != (o->momentum > 0.0f))
        return mlp_fail(r->err, MLP_EFORMAT, "%s: velocities %s, but momentum is %g", p,
                        has_vel == 1 ? "present" : "missing", (double)o->momentum);
    if (has_vel && (st = read_array(r, n_params, keep, &m->vel, &bad->vel, "velocities")) != MLP_OK)
        return st;
    if ((st = get32(r, &has_cur)) != MLP_OK)
        return st;
    if (has_cur > 1 || (has_cur && o->val == 0))
        return mlp_fail(r->err, MLP_EFORMAT, "%s: last-epoch parameters without validation", p);
    if (r->pos + 4 + (has_cur ? 4 * n_params : 0) != r->size)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: length does not match the training state", p);
    if (has_cur && (st = read_array(r, n_params, keep, &m->cur, &bad->cur, "parameters")) != MLP_OK)
        return st;
    return MLP_OK;
}

/* Both loads: keep says whether the training state's arrays are kept (into meta->vel and
 * meta->cur) or only read through the checksum and checked. */
static mlp_status load(const char *path, mlp_net *net, size_t max_batch, mlp_model_meta *meta,
                       bool keep, mlp_error *err)
{
    reader r = {.path = path, .err = err};
    size_t sizes[MLP_MAX_LAYERS + 1], n_sizes = 0;
    uint32_t act = 0, cost = 0, stored_crc;
    nonfinite bad = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    struct stat sb;
    mlp_status st;

    memset(net, 0, sizeof *net);
    memset(meta, 0, sizeof *meta);
    r.f = mlp_open_input(path, err);
    if (!r.f)
        return MLP_EIO;
    if (fstat(fileno(r.f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = mlp_fail(err, MLP_EIO, "%s: not a regular file", path);
        goto out;
    }
    r.size = (size_t)sb.st_size;

    if ((st = read_header(&r, sizes, &n_sizes, &act, &cost, meta)) != MLP_OK)
        goto out;
    if (max_batch < meta->opt.batch)
        max_batch = meta->opt.batch; /* room to go on training with the saved batch size */
    if ((st = mlp_net_init(net, sizes, n_sizes, (mlp_act)act, (mlp_cost)cost, max_batch, err)) !=
            MLP_OK ||
        (st = read_floats(&r, net->n_params, net->params, &bad.params)) != MLP_OK ||
        (st = read_state(&r, net->n_params, keep, meta, &bad)) != MLP_OK)
        goto out;
    uint32_t crc = r.crc;
    if ((st = get32(&r, &stored_crc)) != MLP_OK)
        goto out;
    if (stored_crc != crc) {
        st = mlp_fail(err, MLP_EFORMAT, "%s: checksum mismatch (file is damaged)", path);
        goto out;
    }
    /* Intact but unusable: a run that diverged must not be evaluated as if it were a model. */
    if (bad.params != SIZE_MAX)
        st = mlp_fail(err, MLP_EFORMAT, "%s: parameter %zu is %s", path, bad.params,
                      isnan(net->params[bad.params]) ? "NaN" : "infinite");
    else if (bad.vel != SIZE_MAX)
        st = mlp_fail(err, MLP_EFORMAT, "%s: velocity %zu is not finite", path, bad.vel);
    else if (bad.cur != SIZE_MAX)
        st = mlp_fail(err, MLP_EFORMAT, "%s: parameter %zu of the last epoch is not finite", path,
                      bad.cur);
out:
    fclose(r.f);
    if (st != MLP_OK) {
        mlp_net_free(net);
        mlp_model_meta_free(meta);
    }
    return st;
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
    free(meta->cur);
    meta->vel = NULL;
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
