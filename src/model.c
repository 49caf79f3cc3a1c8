/*
 * model: model.bin writer and reader (format in model.h). Every field is written byte by
 * byte in little-endian order, so files move between hosts; every field read is checked
 * before it is used, and the parameters are only allocated once the file's length has
 * been shown to match what the header says.
 */
#define _POSIX_C_SOURCE 200809L
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The header is small and built in memory; the parameters are streamed after it. */
typedef struct {
    unsigned char buf[64 + 4 * (MLP_MAX_LAYERS + 1) + MLP_MODEL_MAX_CMDLINE];
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

static void build_header(header *h, const mlp_net *net, const mlp_model_meta *m)
{
    size_t cmd_len = strnlen(m->cmdline, MLP_MODEL_MAX_CMDLINE);
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
    put32(h, m->epochs);
    put32(h, m->batch);
    put32(h, float_bits(m->lr));
    put32(h, m->schedule);
    put32(h, float_bits(m->lr_end));
    put32(h, float_bits(m->l2));
    put32(h, float_bits(m->momentum));
    put64(h, m->seed);
    put32(h, m->n_train);
    put32(h, float_bits(m->test_accuracy));
    put32(h, (uint32_t)cmd_len);
    memcpy(h->buf + h->len, m->cmdline, cmd_len);
    h->len += cmd_len;
    put64(h, net->n_params);
}

/* Writes header, parameters and checksum to f. */
static bool write_body(FILE *f, const header *h, const mlp_net *net)
{
    unsigned char out[4 * CHUNK];
    uint32_t crc = mlp_crc32(0, h->buf, h->len);
    if (fwrite(h->buf, 1, h->len, f) != h->len)
        return false;
    for (size_t i = 0; i < net->n_params; i += CHUNK) {
        size_t n = net->n_params - i < CHUNK ? net->n_params - i : CHUNK;
        for (size_t k = 0; k < n; k++)
            mlp_put_u32(out + 4 * k, float_bits(net->params[i + k]));
        crc = mlp_crc32(crc, out, 4 * n);
        if (fwrite(out, 1, 4 * n, f) != 4 * n)
            return false;
    }
    unsigned char tail[4];
    mlp_put_u32(tail, crc);
    return fwrite(tail, 1, 4, f) == 4;
}

/* fsync the directory holding path, so the rename itself survives a power cut. */
static void sync_dir_of(const char *path)
{
    char tmp[4096];
    if (strlen(path) >= sizeof tmp)
        return;
    strcpy(tmp, path);
    int fd = open(dirname(tmp), O_RDONLY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
}

mlp_status mlp_model_save(const char *path, const mlp_net *net, const mlp_model_meta *meta,
                          mlp_error *err)
{
    char tmp[4096];
    header *h = NULL;
    FILE *f = NULL;
    int fd = -1;
    mlp_status st = MLP_OK;

    /* pid-qualified, so two runs writing the same path never share a temporary file */
    int len = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (len < 0 || (size_t)len >= sizeof tmp)
        return mlp_fail(err, MLP_EARG, "%s: path too long", path);
    h = malloc(sizeof *h);
    if (!h)
        return mlp_fail(err, MLP_ENOMEM, "%s: out of memory", path);
    build_header(h, net, meta);

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) /* left by a crashed run of ours */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) {
        st = mlp_fail(err, MLP_EIO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "wb");
    if (!f) {
        st = mlp_fail(err, MLP_EIO, "%s: %s", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    if (!write_body(f, h, net) || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        st = mlp_fail(err, MLP_EIO, "%s: write failed: %s", tmp, strerror(errno));
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        st = mlp_fail(err, MLP_EIO, "%s: write failed: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        st = mlp_fail(err, MLP_EIO, "%s: cannot replace: %s", path, strerror(errno));
        goto fail;
    }
    sync_dir_of(path);
    goto out;
fail:
    unlink(tmp);
out:
    free(h);
    return st;
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    FILE *f;
    const char *path;
    size_t pos, size; /* bytes read so far, file length */
    uint32_t crc;     /* of every byte read so far */
    mlp_error *err;
} reader;

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
    uint32_t version, fsize, one, L, v, lr, lr_end, l2, mom, acc, cmd_len;
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
    if (version != MLP_MODEL_VERSION)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: format version %u, this mlp reads version %d", p,
                        (unsigned)version, MLP_MODEL_VERSION);
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
    if ((st = get32(r, &m->epochs)) != MLP_OK || (st = get32(r, &m->batch)) != MLP_OK ||
        (st = get32(r, &lr)) != MLP_OK || (st = get32(r, &m->schedule)) != MLP_OK ||
        (st = get32(r, &lr_end)) != MLP_OK || (st = get32(r, &l2)) != MLP_OK ||
        (st = get32(r, &mom)) != MLP_OK || (st = get64(r, &m->seed)) != MLP_OK ||
        (st = get32(r, &m->n_train)) != MLP_OK || (st = get32(r, &acc)) != MLP_OK ||
        (st = get32(r, &cmd_len)) != MLP_OK)
        return st;
    m->lr = bits_float(lr);
    m->lr_end = bits_float(lr_end);
    m->l2 = bits_float(l2);
    m->momentum = bits_float(mom);
    if (!(m->lr > 0.0f && m->lr_end >= 0.0f && m->l2 >= 0.0f && isfinite(m->lr) &&
          isfinite(m->lr_end) && isfinite(m->l2) && m->momentum >= 0.0f && m->momentum < 1.0f) ||
        m->schedule > 1)
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
    /* The length check that guards the allocation: parameters and checksum must be exactly
     * what is left of the file. */
    if (!mlp_mul_size(want_params, 4, &want_len) || !mlp_add_size(want_len, r->pos + 4, &want_len))
        return mlp_fail(r->err, MLP_EFORMAT, "%s: parameter count overflows", p);
    if (want_len != r->size)
        return mlp_fail(r->err, MLP_EFORMAT, "%s: %s: file is %zu bytes, its header implies %zu", p,
                        r->size < want_len ? "truncated" : "trailing bytes", r->size, want_len);
    return MLP_OK;
}

mlp_status mlp_model_load(const char *path, mlp_net *net, size_t max_batch, mlp_model_meta *meta,
                          mlp_error *err)
{
    reader r = {.path = path, .err = err};
    size_t sizes[MLP_MAX_LAYERS + 1], n_sizes = 0;
    uint32_t act = 0, cost = 0, stored_crc;
    unsigned char buf[4 * CHUNK];
    struct stat sb;
    mlp_status st;

    memset(net, 0, sizeof *net);
    memset(meta, 0, sizeof *meta);
    r.f = fopen(path, "rb");
    if (!r.f)
        return mlp_fail(err, MLP_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fileno(r.f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = mlp_fail(err, MLP_EIO, "%s: not a regular file", path);
        goto out;
    }
    r.size = (size_t)sb.st_size;

    if ((st = read_header(&r, sizes, &n_sizes, &act, &cost, meta)) != MLP_OK)
        goto out;
    if ((st = mlp_net_init(net, sizes, n_sizes, (mlp_act)act, (mlp_cost)cost, max_batch, err)) !=
        MLP_OK)
        goto out;
    for (size_t i = 0; i < net->n_params; i += CHUNK) {
        size_t n = net->n_params - i < CHUNK ? net->n_params - i : CHUNK;
        if ((st = get(&r, buf, 4 * n)) != MLP_OK)
            goto out;
        for (size_t k = 0; k < n; k++)
            net->params[i + k] = bits_float(mlp_get_u32(buf + 4 * k));
    }
    uint32_t crc = r.crc;
    if ((st = get32(&r, &stored_crc)) != MLP_OK)
        goto out;
    if (stored_crc != crc) {
        st = mlp_fail(err, MLP_EFORMAT, "%s: checksum mismatch (file is damaged)", path);
        goto out;
    }
    /* Intact but unusable: a run that diverged must not be evaluated as if it were a model. */
    for (size_t i = 0; i < net->n_params; i++) {
        if (!isfinite(net->params[i])) {
            st = mlp_fail(err, MLP_EFORMAT, "%s: parameter %zu is %s", path, i,
                          isnan(net->params[i]) ? "NaN" : "infinite");
            goto out;
        }
    }
out:
    fclose(r.f);
    if (st != MLP_OK)
        mlp_net_free(net);
    return st;
}
