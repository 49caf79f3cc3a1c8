/* model: bit-exact round trip; every truncation, flipped byte and bad field is refused;
 * a failed save leaves the previous file intact; command lines up to the limit and not beyond;
 * version 1 files still load; a plain load keeps no arrays. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "model.h"
#include "options.h"

#include <dirent.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

/* bytes of the training options in a version 4 file (model.h) */
enum { OPT_BYTES = 120 };

typedef struct {
    char *dir;
    char path[4096];
    mlp_net net;
    mlp_model_meta meta;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mlp_error err;
    const size_t s[] = {6, 4, 3};
    f->dir = tu_tmpdir();
    tu_path(f->path, f->dir, "m.bin");
    assert_int_equal(mlp_net_init(&f->net, s, 3, MLP_ACT_TANH, MLP_COST_XENT, 1, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&f->net, 77);
    f->net.b[0][1] = -0.0f; /* signed zero must survive too */
    /* every option set to something other than its zero default, so a field written or
     * read in the wrong place shows */
    f->meta = (mlp_model_meta){.rows = 2,
                               .cols = 3,
                               .opt = {.epochs = 12,
                                       .batch = 10,
                                       .lr = 0.3f,
                                       .lr_end = 0.01f,
                                       .schedule = MLP_SCHED_COSINE,
                                       .lr_step = 3,
                                       .lr_gamma = 0.5f,
                                       .warmup = 2,
                                       .l2 = 1e-5f,
                                       .momentum = 0.5f,
                                       .nesterov = true,
                                       .maxnorm = 3.5f,
                                       .drop_in = 0.2f,
                                       .drop_hidden = 0.5f,
                                       .aug = {2.0f, 15.0f, 0.1f, 34.0f, 4.0f, true},
                                       .val = 100,
                                       .beta1 = 0.8f, /* unused by SGD, kept all the same */
                                       .beta2 = 0.99f,
                                       .eps = 1e-7f,
                                       .clip = 2.5f,
                                       .label_smoothing = 0.1f,
                                       .patience = 4},
                               .seed = 0x123456789abcdefu,
                               .n_train = 777,
                               .test_accuracy = 0.875f};
    strcpy(f->meta.cmdline, "mlp train data --hidden 4 --epochs 12");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mlp_net_free(&f->net);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void save(fixture *f)
{
    mlp_error err;
    assert_int_equal(mlp_model_save(f->path, &f->net, &f->meta, &err), MLP_OK);
}

/* Loading path must fail with one line naming the file (and containing want, if given). */
static void expect_refused(const char *path, const char *want)
{
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err = {{0}};
    mlp_status st = mlp_model_load(path, &net, 1, &meta, &err);
    if (st == MLP_OK || !strstr(err.msg, path) || strchr(err.msg, '\n') ||
        (want && !strstr(err.msg, want))) {
        print_error("status %d, message '%s', wanted '%s'\n", st, err.msg, want ? want : "");
        fail();
    }
    assert_null(net.params);
}

static void test_round_trip_bit_for_bit(void **state)
{
    fixture *f = *state;
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    save(f);
    assert_int_equal(mlp_model_load(f->path, &net, 5, &meta, &err), MLP_OK);
    assert_int_equal(net.n_layers, 2);
    assert_int_equal(net.sizes[0], 6);
    assert_int_equal(net.sizes[2], 3);
    assert_int_equal(net.act, MLP_ACT_TANH);
    assert_int_equal(net.cost, MLP_COST_XENT);
    assert_int_equal(net.max_batch, 10); /* room for its own batch of 10, more than the 5 asked */
    assert_memory_equal(net.params, f->net.params, net.n_params * sizeof(float));
    assert_int_equal(meta.rows, 2);
    assert_int_equal(meta.cols, 3);
    assert_memory_equal(&meta.opt, &f->meta.opt, sizeof meta.opt);
    assert_true(meta.seed == 0x123456789abcdefu);
    assert_int_equal(meta.n_train, 777);
    assert_true(meta.test_accuracy == 0.875f);
    assert_string_equal(meta.cmdline, f->meta.cmdline);

    /* saving what was loaded gives the same bytes */
    size_t n1, n2;
    unsigned char *b1 = tu_read_file(f->path, &n1);
    char p2[4096];
    tu_path(p2, f->dir, "again.bin");
    assert_int_equal(mlp_model_save(p2, &net, &meta, &err), MLP_OK);
    unsigned char *b2 = tu_read_file(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    /* the documented layout: magic, version 4, and the size the header implies */
    assert_memory_equal(b1, "MLPM\4\0\0\0", 8);
    size_t want = 20 + 4 * 3 + 4 * 2 + 4 * 2 + OPT_BYTES + 8 + 4 * 3 + strlen(meta.cmdline) + 8 +
                  4 * net.n_params + 4 + 4;
    assert_int_equal(n1, want);
    free(b1);
    free(b2);
    mlp_net_free(&net);
}

static void test_every_truncation_refused(void **state)
{
    fixture *f = *state;
    size_t n;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n);
    char p[4096];
    tu_path(p, f->dir, "cut.bin");
    for (size_t len = 0; len < n; len++) {
        tu_write_file(p, b, len);
        expect_refused(p, NULL);
    }
    /* and one byte too many */
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    tu_write_file(p, longer, n + 1);
    expect_refused(p, "bytes");
    free(longer);
    free(b);
}

static void test_every_flipped_byte_refused(void **state)
{
    fixture *f = *state;
    size_t n;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n);
    char p[4096];
    tu_path(p, f->dir, "flip.bin");
    const unsigned char masks[3] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < n; i++) {
        for (int m = 0; m < 3; m++) {
            b[i] ^= masks[m];
            tu_write_file(p, b, n);
            expect_refused(p, NULL);
            b[i] ^= masks[m];
        }
    }
    free(b);
}

/* Sets the u32 at off and, if fix_crc, recomputes the checksum so the field check itself
 * must catch it. */
static void write_with_field(const char *p, unsigned char *b, size_t n, size_t off, uint32_t v,
                             bool fix_crc)
{
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    mlp_put_u32(c + off, v);
    if (fix_crc)
        mlp_put_u32(c + n - 4, mlp_crc32(0, c, n - 4));
    tu_write_file(p, c, n);
    free(c);
}

static void test_bad_fields_refused(void **state)
{
    fixture *f = *state;
    size_t n;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n);
    char p[4096];
    tu_path(p, f->dir, "field.bin");
    /* header offsets: 4 version, 8 float size, 12 one, 16 L, 20.. sizes (3), 32 act, 36 cost,
     * 40 rows, 44 cols, 48 epochs, 52 batch, 56 schedule, 60 lr, 64 lr_end, 68 lr_step,
     * 72 lr_gamma, 76 warmup, 80 l2, 84 momentum, 88 nesterov, 92 maxnorm, 96 drop_in,
     * 100 drop_hidden, 104 translate, 108 rotate, 112 scale, 116 elastic alpha, 120 sigma,
     * 124 val, 128 transpose, 132 optimizer, 136 beta1, 140 beta2, 144 eps, 148 weight decay,
     * 152 clip, 156 label smoothing, 160 patience, 164 flip, 168 seed, 176 n_train, 180 test
     * accuracy, 184 command line length; n_params after the command line */
    const size_t cmd_off = 184, np_off = 188 + strlen(f->meta.cmdline);
    const struct {
        size_t off;
        uint32_t v;
        const char *want;
    } cases[] = {
        {4, 0, "version 0"},
        {4, 5, "version 5"},
        {8, 8, "binary32"},
        {12, 0x0000803f, "binary32"},
        {16, 0, "weight layers"},
        {16, 9, "weight layers"},
        {16, 0xffffffff, "weight layers"},
        {20, 0, "layer 0"},
        {24, 0x7fffffff, "layer 1"},
        {28, 1, "classes"},
        {28, 257, "classes"},
        {32, 3, "activation"},
        {36, 0xffffffff, "cost"},
        {40, 3, "inputs"},
        {44, 0, "inputs"},
        {48, 0, "settings"},           /* no epochs */
        {52, 0, "settings"},           /* batch 0 */
        {52, 0x7fffffff, "settings"},  /* batch beyond the limit */
        {56, 4, "settings"},           /* no such schedule */
        {60, 0, "settings"},           /* lr 0 */
        {60, 0x7fc00000, "settings"},  /* lr NaN */
        {80, 0xbf800000, "settings"},  /* l2 -1 */
        {84, 0x3f800000, "settings"},  /* momentum 1 */
        {88, 2, "settings"},           /* nesterov neither 0 nor 1 */
        {96, 0x3f800000, "settings"},  /* dropping every input */
        {112, 0x3f800000, "settings"}, /* scaling by up to 100% */
        {120, 0, "settings"},          /* elastic distortion of width 0 */
        {124, 777, "settings"},        /* every image held out for validation */
        {128, 2, "settings"},          /* transpose neither 0 nor 1 */
        {132, 3, "settings"},          /* no such optimiser */
        {132, 1, "settings"},          /* adam with momentum */
        {136, 0x7fc00000, "settings"}, /* beta1 NaN, even unused by SGD */
        {144, 0xbf800000, "settings"}, /* eps -1 */
        {148, 0x3c23d70a, "settings"}, /* SGD with AdamW's weight decay 0.01 */
        {152, 0xbf800000, "settings"}, /* clip -1 */
        {152, 0x7f800000, "settings"}, /* clip infinite */
        {156, 0x3f800000, "settings"}, /* label smoothing 1 */
        {164, 2, "settings"},          /* flip neither 0 nor 1 */
        {180, 0x40000000, "accuracy"},
        {cmd_off, 0xffffffff, "command line"},
        {cmd_off, 5000, "command line"},
        {np_off, 0, "parameters"},
        {np_off, 0x7fffffff, "parameters"},
        {np_off + 4, 1, "parameters"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_with_field(p, b, n, cases[k].off, cases[k].v, true);
        expect_refused(p, cases[k].want);
        write_with_field(p, b, n, cases[k].off, cases[k].v, false);
        expect_refused(p, NULL);
    }
    /* a well-formed file whose parameters are NaN: intact, but not a usable model */
    float nan = NAN;
    uint32_t bits;
    memcpy(&bits, &nan, 4);
    write_with_field(p, b, n, np_off + 8 + 4 * 5, bits, true);
    expect_refused(p, "parameter 5 is NaN");
    float inf = INFINITY;
    memcpy(&bits, &inf, 4);
    write_with_field(p, b, n, np_off + 8, bits, true);
    expect_refused(p, "infinite");
    /* a bad magic */
    memcpy(b, "MLPX", 4);
    tu_write_file(p, b, n);
    expect_refused(p, "bad magic");
    free(b);

    char missing[4096];
    tu_path(missing, f->dir, "missing.bin");
    expect_refused(missing, "No such file");
    expect_refused(f->dir, "regular file");
}

static size_t count_entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_failed_save_keeps_previous_file(void **state)
{
    fixture *f = *state;
    mlp_error err;
    size_t n1, n2;
    save(f);
    unsigned char *before = tu_read_file(f->path, &n1);

    /* the temporary name is taken by a directory: the save must fail, cleanly */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", f->path, (long)getpid());
    assert_int_equal(mkdir(tmp, 0755), 0);
    f->net.params[0] += 1.0f;
    assert_int_not_equal(mlp_model_save(f->path, &f->net, &f->meta, &err), MLP_OK);
    assert_non_null(strstr(err.msg, f->path));
    unsigned char *after = tu_read_file(f->path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    rmdir(tmp);
    free(after);

    /* into a directory that does not exist: an error, and nothing created */
    char p[4096];
    tu_path(p, f->dir, "no/such/dir.bin");
    assert_int_equal(mlp_model_save(p, &f->net, &f->meta, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "no such directory"));

    /* a successful save leaves exactly the model, no temporary file */
    save(f);
    assert_int_equal(count_entries(f->dir), 1);
    free(before);
}

/* The fixture's meta with a training state: mid-epoch, with velocities (momentum 0.5). */
static float *with_state(fixture *f)
{
    float *vel = malloc(f->net.n_params * sizeof *vel);
    for (size_t i = 0; i < f->net.n_params; i++)
        vel[i] = 0.01f * (float)i - 0.2f;
    f->meta.has_state = 1;
    f->meta.sgd = (mlp_sgd_state){.epoch = 7,
                                  .pos = 300,
                                  .rng = 0xfedcba9876543210u,
                                  .epoch_rng = 0x0123456789abcdefu,
                                  .cost = 12.5,
                                  .correct = 250,
                                  .steps = 4242};
    f->meta.data_crc = 0xdeadbeef;
    f->meta.images_crc = 0xfeedface;
    strcpy(f->meta.kernels, "avx2");
    f->meta.best_val = -1.0f;
    f->meta.vel = vel;
    return vel;
}

static void test_training_state_round_trip(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    mlp_net net;
    mlp_model_meta m;
    mlp_error err;
    save(f);
    assert_int_equal(mlp_model_load_state(f->path, &net, 1, &m, &err), MLP_OK);
    assert_int_equal(m.has_state, 1);
    assert_true(m.sgd.epoch == 7 && m.sgd.pos == 300 && m.sgd.correct == 250);
    assert_true(m.sgd.rng == 0xfedcba9876543210u && m.sgd.epoch_rng == 0x0123456789abcdefu);
    assert_true(m.sgd.cost == 12.5);
    assert_int_equal(m.data_crc, 0xdeadbeef);
    assert_int_equal(m.images_crc, 0xfeedface);
    assert_int_equal(m.has_images_crc, 1);
    assert_string_equal(m.kernels, "avx2");
    assert_non_null(m.vel);
    assert_memory_equal(m.vel, vel, net.n_params * sizeof(float));
    assert_memory_equal(net.params, f->net.params, net.n_params * sizeof(float));
    assert_null(m.cur);
    mlp_model_meta_free(&m);
    assert_null(m.vel);
    mlp_net_free(&net);

    /* with validation, the last epoch's parameters can ride along with the best ones */
    float *cur = malloc(f->net.n_params * sizeof *cur);
    for (size_t i = 0; i < f->net.n_params; i++)
        cur[i] = 1.0f / (float)(i + 1);
    f->meta.cur = cur;
    f->meta.best_val = 0.75f;
    f->meta.best_epoch = 5;
    save(f);
    /* a plain load checks both arrays but keeps neither: nothing to free */
    assert_int_equal(mlp_model_load(f->path, &net, 1, &m, &err), MLP_OK);
    assert_int_equal(m.has_state, 1);
    assert_null(m.vel);
    assert_null(m.cur);
    mlp_net_free(&net);
    assert_int_equal(mlp_model_load_state(f->path, &net, 1, &m, &err), MLP_OK);
    assert_non_null(m.cur);
    assert_memory_equal(m.cur, cur, net.n_params * sizeof(float));
    assert_true(m.best_val == 0.75f && m.best_epoch == 5);
    mlp_model_meta_free(&m);
    mlp_net_free(&net);
    f->meta.cur = NULL;
    f->meta.best_val = -1.0f;
    f->meta.best_epoch = 0;
    free(cur);
    save(f);

    /* without momentum there are no velocities, and the file is shorter by them */
    size_t n_with, n_without;
    free(tu_read_file(f->path, &n_with));
    f->meta.opt.momentum = 0.0f;
    f->meta.opt.nesterov = false;
    f->meta.vel = NULL;
    save(f);
    free(tu_read_file(f->path, &n_without));
    assert_int_equal(n_with - n_without, 4 * f->net.n_params);
    assert_int_equal(mlp_model_load_state(f->path, &net, 1, &m, &err), MLP_OK);
    assert_null(m.vel);
    mlp_net_free(&net);
    free(vel);
}

/* Truncations and flipped bytes of a checkpoint are refused as well. */
static void test_damaged_checkpoints_refused(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    size_t n;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n);
    char p[4096];
    tu_path(p, f->dir, "ck.bin");
    for (size_t len = 0; len < n; len++) {
        tu_write_file(p, b, len);
        expect_refused(p, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        b[i] ^= 0x10;
        tu_write_file(p, b, n);
        expect_refused(p, NULL);
        b[i] ^= 0x10;
    }
    /* inconsistent states with a valid checksum */
    /* from the end: checksum, C, velocities, the fixed state, the flag S */
    size_t st = n - 4 - 4 - 4 * f->net.n_params - (7 * 8 + 4 + 4 + 16 + 4 + 4 + 4) - 4;
    const struct {
        size_t off;
        uint32_t v;
        const char *want;
    } cases[] = {
        {st, 2, "state flag"},
        {st + 4, 13, "does not add up"},              /* done epochs > planned 12 */
        {st + 4 + 8, 678, "does not add up"},         /* beyond the 677 training images */
        {st + 4 + 40, 301, "does not add up"},        /* more right than done */
        {st + 4 + 36, 0x7ff00000, "does not add up"}, /* cost = infinity (high word) */
        {st + 4 + 64, 0x00585641, "kernel name"},     /* "AVX" */
        {st + 4 + 80, 0x3f000000, "does not add up"}, /* best validation 0.5 at epoch 0 */
        {st + 4 + 84, 9, "does not add up"},          /* best epoch after the last done */
        {st + 4 + 88, 0, "velocities"},               /* momentum but no velocities */
        {n - 8 - 4 * 3, 0x7fc00000, "velocity"},      /* a NaN velocity */
        {n - 8, 1, "length"},                         /* last-epoch parameters announced */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_with_field(p, b, n, cases[k].off, cases[k].v, true);
        expect_refused(p, cases[k].want);
    }
    free(b);
    free(vel);
}

static void test_nothing_non_finite_is_saved(void **state)
{
    fixture *f = *state;
    mlp_error err;
    size_t n1, n2;
    save(f);
    unsigned char *before = tu_read_file(f->path, &n1);
    f->net.params[3] = NAN;
    assert_int_equal(mlp_model_save(f->path, &f->net, &f->meta, &err), MLP_ENUMERIC);
    assert_non_null(strstr(err.msg, "parameter 3 is NaN"));
    f->net.params[3] = INFINITY;
    assert_int_equal(mlp_model_save(f->path, &f->net, &f->meta, &err), MLP_ENUMERIC);
    unsigned char *after = tu_read_file(f->path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_int_equal(count_entries(f->dir), 1);
    free(before);
    free(after);
}

/* Bytes of a model without training state whose command line has cmd bytes. */
static size_t plain_size(const mlp_net *net, size_t cmd)
{
    return 20 + 4 * (net->n_layers + 1) + 4 * 2 + 4 * 2 + OPT_BYTES + 8 + 4 * 3 + cmd + 8 +
           4 * net->n_params + 4 + 4;
}

/* Saves net with a command line of len bytes, loads it back and compares. */
static void cmdline_round_trip(fixture *f, const mlp_net *net, size_t len)
{
    mlp_net back;
    mlp_model_meta m;
    mlp_error err;
    memset(f->meta.cmdline, 'a', len);
    f->meta.cmdline[len] = '\0';
    f->meta.cmdline[0] = 'm';
    f->meta.cmdline[len - 1] = 'z'; /* the last byte must survive too */
    assert_int_equal(mlp_model_save(f->path, net, &f->meta, &err), MLP_OK);
    size_t n;
    free(tu_read_file(f->path, &n));
    assert_int_equal(n, plain_size(net, len));
    assert_int_equal(mlp_model_load(f->path, &back, 1, &m, &err), MLP_OK);
    assert_int_equal(strlen(m.cmdline), len);
    assert_string_equal(m.cmdline, f->meta.cmdline);
    assert_memory_equal(back.params, net->params, net->n_params * sizeof(float));
    mlp_net_free(&back);
}

/* The recorded command line: MLP_MODEL_MAX_CMDLINE - 1 and MLP_MODEL_MAX_CMDLINE bytes make a
 * model that loads, also with as many layers as a model can have (the largest header); one
 * byte more is refused by the writer and by the reader. */
static void test_cmdline_at_the_limit(void **state)
{
    fixture *f = *state;
    const size_t max = MLP_MODEL_MAX_CMDLINE;
    size_t deep_sizes[MLP_MAX_LAYERS + 1];
    for (size_t l = 0; l <= MLP_MAX_LAYERS; l++)
        deep_sizes[l] = l == 0 ? 6 : 2;
    mlp_net deep;
    mlp_error err;
    assert_int_equal(mlp_net_init(&deep, deep_sizes, MLP_MAX_LAYERS + 1, MLP_ACT_RELU,
                                  MLP_COST_XENT, 1, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&deep, 3);
    cmdline_round_trip(f, &f->net, max - 1);
    cmdline_round_trip(f, &f->net, max);
    cmdline_round_trip(f, &deep, max - 1);
    cmdline_round_trip(f, &deep, max);

    /* a file claiming max + 1 bytes, consistent otherwise (length, checksum): refused */
    size_t n;
    unsigned char *b = tu_read_file(f->path, &n), *c = malloc(n + 1);
    const size_t cmd_off = 20 + 4 * (MLP_MAX_LAYERS + 1) + 4 * 2 + 4 * 2 + OPT_BYTES + 8 + 4 * 2;
    assert_int_equal(mlp_get_u32(b + cmd_off), max);
    memcpy(c, b, cmd_off + 4 + max);
    c[cmd_off + 4 + max] = 'a';
    memcpy(c + cmd_off + 4 + max + 1, b + cmd_off + 4 + max, n - (cmd_off + 4 + max));
    mlp_put_u32(c + cmd_off, (uint32_t)max + 1);
    mlp_put_u32(c + n + 1 - 4, mlp_crc32(0, c, n + 1 - 4));
    char p[4096];
    tu_path(p, f->dir, "long.bin");
    tu_write_file(p, c, n + 1);
    expect_refused(p, "command line of 4096 bytes (at most 4095)");
    unlink(p);
    free(b);
    free(c);

    /* a command line that does not end within the array: not saved, not truncated */
    unlink(f->path);
    memset(f->meta.cmdline, 'a', sizeof f->meta.cmdline);
    assert_int_equal(mlp_model_save(f->path, &deep, &f->meta, &err), MLP_EARG);
    if (!strstr(err.msg, f->path) || !strstr(err.msg, "command line is 4096 bytes or more") ||
        !strstr(err.msg, "at most 4095")) {
        print_error("message '%s'\n", err.msg);
        fail();
    }
    assert_int_equal(count_entries(f->dir), 0);
    FILE *s = tmpfile();
    assert_non_null(s);
    assert_int_equal(mlp_model_write(s, &deep, &f->meta, &err), MLP_EARG);
    assert_int_equal(ftell(s), 0);
    fclose(s);
    mlp_net_free(&deep);
}

/* mlp_model_write writes to a stream exactly what mlp_model_save puts in the file, and
 * reports a failed write. */
static void test_write_to_a_stream(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    mlp_error err;
    size_t n;
    save(f);
    unsigned char *want = tu_read_file(f->path, &n);
    FILE *s = tmpfile();
    assert_non_null(s);
    assert_int_equal(mlp_model_write(s, &f->net, &f->meta, &err), MLP_OK);
    assert_int_equal(ftell(s), (long)n);
    unsigned char *got = malloc(n);
    rewind(s);
    assert_int_equal(fread(got, 1, n, s), n);
    assert_memory_equal(got, want, n);
    fclose(s);
    /* a NaN is refused before anything is written, with no file name to give */
    s = tmpfile();
    f->net.params[2] = NAN;
    assert_int_equal(mlp_model_write(s, &f->net, &f->meta, &err), MLP_ENUMERIC);
    assert_string_equal(err.msg, "not saved: parameter 2 is NaN");
    assert_int_equal(ftell(s), 0);
    fclose(s);
    f->net.params[2] = 0.5f;
    /* a device that is always full: the write fails and says so */
    if ((s = fopen("/dev/full", "wb"))) {
        assert_int_equal(mlp_model_write(s, &f->net, &f->meta, &err), MLP_EIO);
        assert_non_null(strstr(err.msg, "write failed"));
        fclose(s);
    }
    free(got);
    free(want);
    free(vel);
}

/* b (n bytes) without the 4 bytes at off. */
static void cut4(unsigned char *b, size_t *n, size_t off)
{
    memmove(b + off, b + off + 4, *n - off - 4);
    *n -= 4;
}

/* The version 3, 2 or 1 layout of a version 4 file of L weight layers (and fewer than 2^32
 * parameters), made from it: version 3 without the nine options of version 4 (the last 36
 * bytes of the block) and the step count of the state; version 2 also without the transpose
 * option; version 1 also without the images' CRC. The version and the checksum set
 * accordingly. The parts of the state go first, so that the offsets before them hold. */
static unsigned char *to_version(const unsigned char *b, size_t n, size_t L, uint32_t version,
                                 size_t *len)
{
    const size_t opt = 20 + 4 * (L + 1) + 4 * 2 + 4 * 2;     /* the options block */
    const size_t cmd = mlp_get_u32(b + opt + OPT_BYTES + 16); /* after seed, n_train, accuracy */
    const size_t np = mlp_get_u32(b + opt + OPT_BYTES + 20 + cmd); /* P's low word */
    const size_t s = opt + OPT_BYTES + 20 + cmd + 8 + 4 * np;      /* the flag S */
    const bool state = mlp_get_u32(b + s) == 1;
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    *len = n;
    if (state && version <= 3) { /* the steps, after the six 64-bit fields */
        cut4(c, len, s + 4 + 48);
        cut4(c, len, s + 4 + 48);
    }
    if (state && version == 1) /* the images' CRC, after the labels' */
        cut4(c, len, s + 4 + 48 + 4);
    for (int k = 0; k < 9 && version <= 3; k++)
        cut4(c, len, opt + 84);
    if (version <= 2)
        cut4(c, len, opt + 80);
    mlp_put_u32(c + 4, version);
    mlp_put_u32(c + *len - 4, mlp_crc32(0, c, *len - 4));
    return c;
}

static unsigned char *to_version_1(const unsigned char *b, size_t n, size_t *len)
{
    return to_version(b, n, 2, 1, len);
}

/* A checkpoint written before the images' fingerprint still loads, saying it has none. */
static void test_version_1_still_loads(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    mlp_net net;
    mlp_model_meta m;
    mlp_error err;
    size_t n, n1;
    f->meta.opt.momentum = 0.0f;
    f->meta.opt.nesterov = false;
    f->meta.vel = NULL;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n), *v1 = to_version_1(b, n, &n1);
    char p[4096];
    tu_path(p, f->dir, "v1.bin");
    tu_write_file(p, v1, n1);
    assert_int_equal(mlp_model_load_state(p, &net, 1, &m, &err), MLP_OK);
    assert_int_equal(m.has_state, 1);
    assert_int_equal(m.has_images_crc, 0);
    assert_int_equal(m.images_crc, 0);
    assert_int_equal(m.data_crc, 0xdeadbeef);
    assert_string_equal(m.kernels, "avx2");
    assert_true(m.sgd.epoch == 7 && m.sgd.pos == 300 && m.sgd.correct == 250);
    assert_memory_equal(net.params, f->net.params, net.n_params * sizeof(float));
    mlp_model_meta_free(&m);
    mlp_net_free(&net);
    /* the version 4 file it came from has the fingerprint */
    assert_int_equal(mlp_model_load(f->path, &net, 1, &m, &err), MLP_OK);
    assert_int_equal(m.has_images_crc, 1);
    assert_int_equal(m.images_crc, 0xfeedface);
    mlp_net_free(&net);
    /* a version 1 file is held to the version 1 length: the version 4 one called 1 is not */
    mlp_put_u32(b + 4, 1);
    mlp_put_u32(b + n - 4, mlp_crc32(0, b, n - 4));
    tu_write_file(p, b, n);
    expect_refused(p, NULL);
    /* a model without training state has the same layout in versions 1 and 2 */
    f->meta.has_state = 0;
    save(f);
    free(b);
    b = tu_read_file(f->path, &n);
    unsigned char *v2 = to_version(b, n, f->net.n_layers, 2, &n1);
    mlp_put_u32(v2 + 4, 1);
    mlp_put_u32(v2 + n1 - 4, mlp_crc32(0, v2, n1 - 4));
    tu_write_file(p, v2, n1);
    assert_int_equal(mlp_model_load(p, &net, 1, &m, &err), MLP_OK);
    assert_int_equal(m.has_state, 0);
    mlp_net_free(&net);
    free(v2);
    free(b);
    free(v1);
    free(vel);
}

/* A file of version 2, before the transpose option, loads as untransposed with everything
 * else as it was; version 3 keeps the option; each version is held to its own length. */
static void test_version_2_still_loads(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    mlp_net net;
    mlp_model_meta m;
    mlp_error err;
    size_t n, n2;
    f->meta.opt.transpose = true;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n), *v2 = to_version(b, n, f->net.n_layers, 2, &n2);
    assert_int_equal(n2, n - 4 - 36 - 8);
    assert_int_equal(mlp_model_load_state(f->path, &net, 1, &m, &err), MLP_OK);
    assert_true(m.opt.transpose);
    mlp_model_meta_free(&m);
    mlp_net_free(&net);
    char p[4096];
    tu_path(p, f->dir, "v2.bin");
    tu_write_file(p, v2, n2);
    assert_int_equal(mlp_model_load_state(p, &net, 1, &m, &err), MLP_OK);
    assert_false(m.opt.transpose);
    for (size_t k = 0; k < MLP_OPTIONS; k++) { /* every other option as it was */
        const mlp_option *o = &mlp_options[k];
        size_t at = o->at - offsetof(mlp_train_opts, sgd);
        if (o->slot && o->since <= 2)
            assert_memory_equal((char *)&m.opt + at, (char *)&f->meta.opt + at, o->size);
    }
    assert_int_equal(m.has_images_crc, 1);
    assert_true(m.sgd.epoch == 7 && m.sgd.pos == 300 && m.sgd.correct == 250);
    assert_memory_equal(net.params, f->net.params, net.n_params * sizeof(float));
    assert_memory_equal(m.vel, vel, net.n_params * sizeof(float));
    mlp_model_meta_free(&m);
    mlp_net_free(&net);
    mlp_put_u32(v2 + 4, 3); /* a version 2 file called 3: 4 bytes short */
    mlp_put_u32(v2 + n2 - 4, mlp_crc32(0, v2, n2 - 4));
    tu_write_file(p, v2, n2);
    expect_refused(p, NULL);
    free(v2);
    free(b);
    free(vel);
}

/* A file of version 3, before the optimisers, clipping, label smoothing, patience and the
 * step count, loads as SGD with those off and no step taken, everything else as it was; a
 * version 3 file called 4 is refused (too short). */
static void test_version_3_still_loads(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    mlp_net net;
    mlp_model_meta m;
    mlp_error err;
    size_t n, n3;
    f->meta.opt.transpose = true;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n), *v3 = to_version(b, n, f->net.n_layers, 3, &n3);
    assert_int_equal(n3, n - 36 - 8);
    char p[4096];
    tu_path(p, f->dir, "v3.bin");
    tu_write_file(p, v3, n3);
    assert_int_equal(mlp_model_load_state(p, &net, 1, &m, &err), MLP_OK);
    assert_true(m.opt.transpose);
    assert_int_equal(m.opt.optimizer, MLP_STEP_SGD);
    assert_true(m.opt.beta1 == 0.0f && m.opt.clip == 0.0f && m.opt.label_smoothing == 0.0f);
    assert_int_equal(m.opt.patience, 0);
    assert_int_equal(m.sgd.steps, 0);
    for (size_t k = 0; k < MLP_OPTIONS; k++) { /* every older option as it was */
        const mlp_option *o = &mlp_options[k];
        size_t at = o->at - offsetof(mlp_train_opts, sgd);
        if (o->slot && o->since <= 3)
            assert_memory_equal((char *)&m.opt + at, (char *)&f->meta.opt + at, o->size);
    }
    assert_true(m.sgd.epoch == 7 && m.sgd.pos == 300 && m.sgd.correct == 250);
    assert_memory_equal(net.params, f->net.params, net.n_params * sizeof(float));
    assert_memory_equal(m.vel, vel, net.n_params * sizeof(float));
    assert_null(m.sq);
    mlp_model_meta_free(&m);
    mlp_net_free(&net);
    mlp_put_u32(v3 + 4, 4); /* a version 3 file called 4: 44 bytes short */
    mlp_put_u32(v3 + n3 - 4, mlp_crc32(0, v3, n3 - 4));
    tu_write_file(p, v3, n3);
    expect_refused(p, NULL);
    free(v3);
    free(b);
    free(vel);
}

/* An Adam checkpoint keeps both moments and the step count, bit for bit; a file whose
 * optimiser is Adam but that holds no moments is refused, and so is a NaN second moment. */
static void test_adam_state_round_trip(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    float *sq = malloc(f->net.n_params * sizeof *sq);
    mlp_net net;
    mlp_model_meta m;
    mlp_error err;
    for (size_t i = 0; i < f->net.n_params; i++)
        sq[i] = 1e-4f * (float)(i + 1);
    f->meta.opt.momentum = 0.0f;
    f->meta.opt.nesterov = false;
    f->meta.opt.optimizer = MLP_STEP_ADAMW;
    f->meta.opt.weight_decay = 0.02f;
    f->meta.sq = sq;
    save(f);
    size_t n;
    unsigned char *b = tu_read_file(f->path, &n);
    assert_int_equal(mlp_model_load_state(f->path, &net, 1, &m, &err), MLP_OK);
    assert_int_equal(m.opt.optimizer, MLP_STEP_ADAMW);
    assert_true(m.opt.weight_decay == 0.02f && m.opt.beta2 == 0.99f);
    assert_true(m.sgd.steps == 4242);
    assert_non_null(m.vel);
    assert_non_null(m.sq);
    assert_memory_equal(m.vel, vel, net.n_params * sizeof(float));
    assert_memory_equal(m.sq, sq, net.n_params * sizeof(float));
    mlp_model_meta_free(&m);
    assert_null(m.sq);
    mlp_net_free(&net);
    char p[4096];
    tu_path(p, f->dir, "adam.bin");
    /* the last second moment NaN: from the end, the checksum and C */
    write_with_field(p, b, n, n - 8 - 4, 0x7fc00000, true);
    expect_refused(p, "second moment");
    /* the same moments under SGD without momentum: arrays the optimiser does not keep */
    f->meta.opt.optimizer = MLP_STEP_SGD;
    f->meta.opt.weight_decay = 0.0f;
    f->meta.sq = NULL;
    f->meta.vel = NULL;
    save(f);
    free(b);
    b = tu_read_file(f->path, &n);
    mlp_put_u32(b + 20 + 4 * 3 + 16 + 84, MLP_STEP_ADAM); /* the optimizer's slot */
    mlp_put_u32(b + n - 4, mlp_crc32(0, b, n - 4));
    tu_write_file(p, b, n);
    expect_refused(p, "velocities missing");
    free(b);
    free(sq);
    free(vel);
}

/* Between epochs (pos 0) the state's sums belong to the epoch that ended: they are written as
 * 0, so a checkpoint saved straight from mlp_sgd's state is the one saved with them cleared,
 * and loads. */
static void test_sums_between_epochs_written_as_zero(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    mlp_net net;
    mlp_model_meta m;
    mlp_error err;
    size_t n1, n2;
    f->meta.sgd.pos = 0;
    f->meta.sgd.cost = 0.0;
    f->meta.sgd.correct = 0;
    save(f);
    unsigned char *cleared = tu_read_file(f->path, &n1);
    f->meta.sgd.cost = 31.25; /* what mlp_sgd_epoch() leaves at the end of an epoch */
    f->meta.sgd.correct = 640;
    save(f);
    unsigned char *stale = tu_read_file(f->path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(cleared, stale, n1);
    assert_int_equal(mlp_model_load_state(f->path, &net, 1, &m, &err), MLP_OK);
    assert_true(m.sgd.epoch == 7 && m.sgd.pos == 0 && m.sgd.correct == 0 && m.sgd.cost == 0.0);
    mlp_model_meta_free(&m);
    mlp_net_free(&net);
    free(cleared);
    free(stale);
    free(vel);
}

/* A file that goes wrong in two ways is refused for the first: a count is checked before the
 * bytes it counts are read, and a bad magic is named even in a file too short for a header. */
static void test_first_error_reported(void **state)
{
    fixture *f = *state;
    float *vel = with_state(f);
    size_t n;
    save(f);
    unsigned char *b = tu_read_file(f->path, &n);
    char p[4096];
    tu_path(p, f->dir, "two.bin");
    const size_t cmd_off = 184, state_off = 188 + strlen(f->meta.cmdline) + 8 + 4 * f->net.n_params;
    const struct {
        size_t off; /* the u32 set to v ... */
        uint32_t v;
        size_t len; /* ... in the file cut to len bytes */
        const char *want;
    } cases[] = {
        {4, 5, 16, "version 5"},
        {16, 0, 20, "0 weight layers"},
        {16, 9, 24, "9 weight layers"},
        {cmd_off, 5000, cmd_off + 4, "command line of 5000 bytes"},
        {state_off, 2, n, "state flag is 2"}, /* before the checksum, which is now wrong */
        {0, 0x58504c4d, 10, "bad magic"},     /* "MLPX" */
        {0, 0x4d504c4d, 3, "truncated"},      /* too short for the magic */
    };
    unsigned char *c = malloc(n);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(c, b, n);
        mlp_put_u32(c + cases[k].off, cases[k].v);
        tu_write_file(p, c, cases[k].len);
        expect_refused(p, cases[k].want);
    }
    free(c);
    free(b);
    free(vel);
}

/* The images' fingerprint is the CRC-32 of the pixel bytes the floats came from. */
static void test_images_crc_is_of_the_bytes(void **state)
{
    (void)state;
    enum { N = 70000 }; /* more than one chunk of the conversion */
    uint8_t *px = malloc(N);
    float *x = malloc(N * sizeof *x);
    for (size_t i = 0; i < N; i++) {
        px[i] = (uint8_t)(i * 7 + i / 256);
        x[i] = (float)px[i] / 255.0f; /* as idx.c converts them */
    }
    assert_int_equal(mlp_model_images_crc(x, N), mlp_crc32(0, px, N));
    assert_int_equal(mlp_model_images_crc(x, 1), mlp_crc32(0, px, 1));
    x[N - 1] = (float)(uint8_t)(px[N - 1] + 1) / 255.0f;
    assert_int_not_equal(mlp_model_images_crc(x, N), mlp_crc32(0, px, N));
    free(px);
    free(x);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_round_trip_bit_for_bit),
        T(test_every_truncation_refused),
        T(test_every_flipped_byte_refused),
        T(test_bad_fields_refused),
        T(test_failed_save_keeps_previous_file),
        T(test_training_state_round_trip),
        T(test_damaged_checkpoints_refused),
        T(test_nothing_non_finite_is_saved),
        T(test_cmdline_at_the_limit),
        T(test_write_to_a_stream),
        T(test_version_1_still_loads),
        T(test_version_2_still_loads),
        T(test_version_3_still_loads),
        T(test_adam_state_round_trip),
        T(test_sums_between_epochs_written_as_zero),
        T(test_first_error_reported),
        T(test_images_crc_is_of_the_bytes),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
