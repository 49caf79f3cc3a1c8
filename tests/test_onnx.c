/*
 * onnx: the file mlp writes, read back three ways.
 *
 *  - By a protobuf decoder of its own (below): every message holds exactly the fields
 *    onnx.h lists, the nodes chain x -> Gemm -> activation -> ... -> y, the initializers
 *    hold the network's parameters bit for bit, little-endian.
 *  - By the onnx package (tests/onnx_check.py): its full checker and strict shape
 *    inference accept every file. The python3 is $MLP_PYTHON, else /usr/bin/python3 (where
 *    Debian's python3-onnx installs; a python3 earlier on PATH, such as pyenv's, often has
 *    no onnx), else python3 on PATH: the first that imports onnx.
 *  - By onnxruntime (tests/onnx_run.js, with node): on a test set written here, for models
 *    of every activation and cost trained by ./mlp, onnxruntime's class is the one mlp's
 *    forward pass gives for every image, its probabilities are within 1e-5 of mlp's, and its
 *    accuracy is `mlp eval`'s. onnxruntime-node is looked for in $MLP_ONNXRUNTIME_DIR,
 *    default build/onnxruntime (as ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix DIR
 *    onnxruntime-node@1.30.0 puts it); node is $MLP_NODE, default node.
 *
 * Without the onnx package or onnxruntime, those tests print one line saying what to install
 * and are skipped; with CI=true they fail instead, since CI installs both.
 *
 * Then `mlp export --onnx` as a hostile user drives it: directories, FIFOs, devices, the model
 * itself, a missing directory, an --npy file as the ONNX file, and a model too large for the
 * format, each refused with one line and nothing written.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "cli.h"
#include "model.h"
#include "net.h"
#include "onnx.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a protobuf decoder: just enough to walk the messages onnx.c writes ---- */

typedef struct {
    const unsigned char *p;
    size_t len;
} span;

typedef struct {
    uint32_t field;
    unsigned wire; /* 0 varint, 2 length-delimited: the only two mlp writes */
    uint64_t v;    /* wire 0 */
    span s;        /* wire 2 */
} field;

static bool get_varint(span m, size_t *at, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*at >= m.len)
            return false;
        unsigned char b = m.p[(*at)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return shift < 63 || b <= 1; /* the tenth byte holds one bit */
    }
    return false;
}

/* The field at *at, which it moves past; false at the end of m. Fails the test on anything
 * malformed: a truncated varint or length, a length past the end, another wire type. */
static bool next_field(span m, size_t *at, field *f)
{
    uint64_t tag, len;
    if (*at == m.len)
        return false;
    if (!get_varint(m, at, &tag) || tag >> 3 == 0 || tag >> 3 > UINT32_MAX) {
        print_error("bad tag at byte %zu\n", *at);
        fail();
    }
    f->field = (uint32_t)(tag >> 3);
    f->wire = (unsigned)(tag & 7);
    if (f->wire == 0) {
        assert_true(get_varint(m, at, &f->v));
    } else if (f->wire == 2) {
        assert_true(get_varint(m, at, &len));
        assert_true(len <= m.len - *at);
        f->s = (span){m.p + *at, (size_t)len};
        *at += (size_t)len;
    } else {
        print_error("field %u: wire type %u\n", f->field, f->wire);
        fail();
    }
    return true;
}

static size_t count(span m, uint32_t number)
{
    size_t at = 0, n = 0;
    field f;
    while (next_field(m, &at, &f))
        n += f.field == number;
    return n;
}

/* Occurrence k of the field, which must be there with the given wire type. */
static field get(span m, uint32_t number, size_t k, unsigned wire)
{
    size_t at = 0;
    field f;
    while (next_field(m, &at, &f))
        if (f.field == number && k-- == 0) {
            assert_int_equal(f.wire, wire);
            return f;
        }
    print_error("no field %u (occurrence %zu more)\n", number, k);
    fail();
    return f;
}

static span msg(span m, uint32_t number, size_t k)
{
    return get(m, number, k, 2).s;
}

/* The field, which must appear exactly once, as a varint. */
static uint64_t uint_of(span m, uint32_t number)
{
    assert_int_equal(count(m, number), 1);
    return get(m, number, 0, 0).v;
}

static void expect_text(span m, uint32_t number, size_t k, const char *want)
{
    span s = msg(m, number, k);
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0) {
        print_error("field %u: '%.*s', wanted '%s'\n", number, (int)s.len, (const char *)s.p, want);
        fail();
    }
}

/* Every field of m is one of allowed (0-terminated): no field mlp does not mean to write. */
static void only_fields(span m, const uint32_t *allowed)
{
    size_t at = 0;
    field f;
    while (next_field(m, &at, &f)) {
        size_t i = 0;
        while (allowed[i] && allowed[i] != f.field)
            i++;
        if (!allowed[i]) {
            print_error("unexpected field %u\n", f.field);
            fail();
        }
    }
}

#define ONLY(m, ...) only_fields(m, (const uint32_t[]){__VA_ARGS__, 0})

/* ---- the structure of a file ---- */

/* ValueInfoProto: name, float32 [N, width], a doc string. */
static void check_value(span v, const char *name, size_t width)
{
    ONLY(v, 1, 2, 3);
    expect_text(v, 1, 0, name);
    assert_true(msg(v, 3, 0).len > 0);
    span type = msg(v, 2, 0);
    ONLY(type, 1);
    span tt = msg(type, 1, 0);
    ONLY(tt, 1, 2);
    assert_int_equal(uint_of(tt, 1), 1); /* FLOAT */
    span shape = msg(tt, 2, 0);
    ONLY(shape, 1);
    assert_int_equal(count(shape, 1), 2);
    span batch = msg(shape, 1, 0), w = msg(shape, 1, 1);
    ONLY(batch, 2);
    expect_text(batch, 2, 0, "N");
    ONLY(w, 1);
    assert_int_equal(uint_of(w, 1), width);
}

/* TensorProto: name, dims, FLOAT, raw_data = x little-endian. */
static void check_tensor(span t, const char *name, const float *x, size_t rows, size_t cols)
{
    ONLY(t, 1, 2, 8, 9);
    expect_text(t, 8, 0, name);
    assert_int_equal(uint_of(t, 2), 1);
    assert_int_equal(count(t, 1), cols ? 2 : 1);
    assert_int_equal(get(t, 1, 0, 0).v, rows);
    if (cols)
        assert_int_equal(get(t, 1, 1, 0).v, cols);
    size_t n = rows * (cols ? cols : 1);
    span raw = msg(t, 9, 0);
    assert_int_equal(raw.len, 4 * n);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        const unsigned char le[4] = {(unsigned char)bits, (unsigned char)(bits >> 8),
                                     (unsigned char)(bits >> 16), (unsigned char)(bits >> 24)};
        assert_memory_equal(raw.p + 4 * i, le, 4);
    }
}

/* NodeProto: inputs, one output, a name, the operator, at most one INT attribute. */
static void check_node(span n, const char *op, const char *const *in, size_t n_in, const char *out,
                       const char *attr, int64_t value)
{
    ONLY(n, 1, 2, 3, 4, 5);
    expect_text(n, 4, 0, op);
    assert_int_equal(count(n, 1), n_in);
    for (size_t i = 0; i < n_in; i++)
        expect_text(n, 1, i, in[i]);
    assert_int_equal(count(n, 2), 1);
    expect_text(n, 2, 0, out);
    assert_true(msg(n, 3, 0).len > 0);
    assert_int_equal(count(n, 5), attr ? 1 : 0);
    if (attr) {
        span a = msg(n, 5, 0);
        ONLY(a, 1, 3, 20);
        expect_text(a, 1, 0, attr);
        assert_int_equal(uint_of(a, 3), (uint64_t)value);
        assert_int_equal(uint_of(a, 20), 2); /* INT */
    }
}

static void check_graph(span g, const mlp_net *net)
{
    static const char *const acts[] = {"Sigmoid", "Tanh", "Relu"};
    const size_t L = net->n_layers;
    char in[32], out[32], W[32], b[32], z[32];
    ONLY(g, 1, 2, 5, 10, 11, 12);
    expect_text(g, 2, 0, "mlp");
    assert_true(msg(g, 10, 0).len > 0);
    assert_int_equal(count(g, 1), 2 * L);
    assert_int_equal(count(g, 5), 2 * L);
    for (size_t l = 0; l < L; l++) {
        snprintf(W, sizeof W, "W%zu", l);
        snprintf(b, sizeof b, "b%zu", l);
        snprintf(z, sizeof z, "z%zu", l);
        snprintf(in, sizeof in, "a%zu", l);
        snprintf(out, sizeof out, "a%zu", l + 1);
        const char *gemm_in[3] = {l ? in : "x", W, b}, *act_in[1] = {z};
        bool last = l + 1 == L, softmax = last && net->cost == MLP_COST_XENT;
        check_node(msg(g, 1, 2 * l), "Gemm", gemm_in, 3, z, "transB", 1);
        check_node(msg(g, 1, 2 * l + 1),
                   softmax ? "Softmax"
                   : last  ? "Sigmoid"
                           : acts[net->act],
                   act_in, 1, last ? "y" : out, softmax ? "axis" : NULL, -1);
        check_tensor(msg(g, 5, 2 * l), W, net->W[l], net->sizes[l + 1], net->sizes[l]);
        check_tensor(msg(g, 5, 2 * l + 1), b, net->b[l], net->sizes[l + 1], 0);
    }
    assert_int_equal(count(g, 11), 1);
    assert_int_equal(count(g, 12), 1);
    check_value(msg(g, 11, 0), "x", net->sizes[0]);
    check_value(msg(g, 12, 0), "y", net->sizes[L]);
}

/* The whole file at path: the model's fields, the graph, the metadata in props (key, value
 * pairs; a NULL value: any valid JSON object). */
static void check_file(const char *path, const mlp_net *net, const mlp_model_meta *meta,
                       const char *const (*props)[2], size_t n_props)
{
    size_t len;
    unsigned char *d = tu_read_file(path, &len);
    assert_non_null(d);
    span m = {d, len};
    uint64_t bytes = 0;
    mlp_error err;
    assert_int_equal(mlp_onnx_bytes(net, meta, MLP_VERSION, &bytes, &err), MLP_OK);
    assert_int_equal(bytes, len);
    ONLY(m, 1, 2, 3, 6, 7, 8, 14);
    assert_int_equal(uint_of(m, 1), 8);
    expect_text(m, 2, 0, "mlp");
    expect_text(m, 3, 0, MLP_VERSION);
    assert_true(msg(m, 6, 0).len > 0);
    assert_int_equal(count(m, 8), 1);
    span opset = msg(m, 8, 0);
    ONLY(opset, 2); /* the default domain, left out */
    assert_int_equal(uint_of(opset, 2), 13);
    assert_int_equal(count(m, 7), 1);
    check_graph(msg(m, 7, 0), net);
    assert_int_equal(count(m, 14), n_props);
    for (size_t k = 0; k < n_props; k++) {
        span p = msg(m, 14, k);
        ONLY(p, 1, 2);
        expect_text(p, 1, 0, props[k][0]);
        if (props[k][1]) {
            expect_text(p, 2, 0, props[k][1]);
        } else {
            span v = msg(p, 2, 0);
            char *json = strndup((const char *)v.p, v.len);
            assert_true(tu_json_valid(json) && json[0] == '{');
            free(json);
        }
    }
    free(d);
}

/* A network with parameters 0.5, 1.5, 2.5, ... (negated every third): every value
 * different, so a transposed or shifted array cannot pass. */
static void build(mlp_net *net, mlp_model_meta *meta, const size_t *sizes, size_t n_sizes,
                  mlp_act act, mlp_cost cost)
{
    mlp_error err;
    assert_int_equal(mlp_net_init(net, sizes, n_sizes, act, cost, 1, NULL, NULL, &err), MLP_OK);
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = ((float)i + 0.5f) * (i % 3 ? 1.0f : -1.0f);
    *meta = (mlp_model_meta){
        .rows = 1, .cols = (uint32_t)sizes[0], .seed = 42, .n_train = 100, .test_accuracy = -1};
    meta->opt.epochs = 7;
    meta->opt.batch = 5;
    strcpy(meta->cmdline, "mlp train \"odd\" dir");
}

static void test_structure(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir(), path[4096];
    tu_path(path, tmp, "m.onnx");
    static const size_t sizes[3][5] = {{3, 4, 2}, {5, 4, 3, 2}, {6, 3}};
    static const size_t n_sizes[3] = {3, 4, 2};
    static const char *const layers[3] = {"3-4-2", "5-4-3-2", "6-3"};
    for (size_t s = 0; s < 3; s++)
        for (int act = 0; act < 3; act++)
            for (int cost = 0; cost < 2; cost++) {
                mlp_net net;
                mlp_model_meta meta;
                mlp_error err;
                build(&net, &meta, sizes[s], n_sizes[s], (mlp_act)act, (mlp_cost)cost);
                char input[32];
                snprintf(input, sizeof input, "1x%zu", sizes[s][0]);
                const char *const props[][2] = {
                    {"layers", layers[s]},
                    {"activation", mlp_act_name((mlp_act)act)},
                    {"cost", mlp_cost_name((mlp_cost)cost)},
                    {"input", input},
                    {"input_scaling", "1/255"},
                    {"seed", "42"},
                    {"test_accuracy", "not measured"},
                    {"command", "mlp train \"odd\" dir"},
                    {"description", NULL},
                };
                assert_int_equal(mlp_onnx_write(path, &net, &meta, MLP_VERSION, &err), MLP_OK);
                check_file(path, &net, &meta, props, 9);
                mlp_net_free(&net);
            }
    tu_rm_rf(tmp);
    free(tmp);
}

/* The metadata as the training record has it: a measured accuracy, a seed of 64 bits, image
 * shape rows x cols, and a command line with bytes that are not UTF-8 (protobuf strings
 * must be), each of which becomes U+FFFD. */
static void test_metadata(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir(), path[4096];
    tu_path(path, tmp, "m.onnx");
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    const size_t sizes[3] = {6, 5, 4};
    build(&net, &meta, sizes, 3, MLP_ACT_RELU, MLP_COST_XENT);
    meta.rows = 2;
    meta.cols = 3;
    meta.seed = UINT64_MAX;
    meta.test_accuracy = 0.96875f;
    strcpy(meta.cmdline, "mlp train d\xff\xc3\xa9 --out \xe9t\xc3");
    const char *const props[][2] = {
        {"layers", "6-5-4"},
        {"activation", "relu"},
        {"cost", "xent"},
        {"input", "2x3"},
        {"input_scaling", "1/255"},
        {"seed", "18446744073709551615"},
        {"test_accuracy", "0.9688"},
        {"command", "mlp train d\xef\xbf\xbd\xc3\xa9 --out \xef\xbf\xbdt\xef\xbf\xbd"},
        {"description", NULL},
    };
    assert_int_equal(mlp_onnx_write(path, &net, &meta, MLP_VERSION, &err), MLP_OK);
    check_file(path, &net, &meta, props, 9);

    /* the description is `mlp info --json`'s object, the record in full */
    size_t len;
    unsigned char *d = tu_read_file(path, &len);
    span desc = msg(msg((span){d, len}, 14, 8), 2, 0);
    char *json = strndup((const char *)desc.p, desc.len);
    assert_non_null(strstr(json, "{\"sizes\":[6,5,4],\"input\":{\"rows\":2,\"cols\":3,"));
    assert_non_null(strstr(json, "\"test_accuracy\":0.96875,\"command\":\"mlp train d\\ufffd"));
    free(json);
    free(d);
    mlp_net_free(&net);
    tu_rm_rf(tmp);
    free(tmp);
}

/* Over 2 GB of weights: refused before anything is written, by size alone (the parameters
 * of this network are never allocated, and the writer must not need them to say so). */
static void test_too_large_refused(void **state)
{
    (void)state;
    char *tmp = tu_tmpdir(), path[4096];
    tu_path(path, tmp, "big.onnx");
    mlp_net net = {.n_layers = 1, .sizes = {1u << 16, 1u << 13}, .cost = MLP_COST_XENT};
    net.n_params = ((size_t)1 << 29) + (1u << 13); /* 2 GiB of weights, and the biases */
    mlp_model_meta meta = {.rows = 256, .cols = 256, .test_accuracy = -1};
    uint64_t bytes = 0;
    mlp_error err;
    assert_int_equal(mlp_onnx_bytes(&net, &meta, MLP_VERSION, &bytes, &err), MLP_EARG);
    assert_true(bytes > (uint64_t)1 << 31);
    assert_non_null(strstr(err.msg, "holds at most 2147483647 (2 GB)"));
    assert_int_equal(mlp_onnx_write(path, &net, &meta, MLP_VERSION, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "ONNX file '"));
    assert_non_null(strstr(err.msg, "big.onnx': the model takes 2147"));
    assert_non_null(strstr(err.msg, " bytes (2.1 GB) as ONNX"));
    mlp_output_plan p = {0};
    assert_int_equal(mlp_onnx_plan(&p, path, &net, &meta, MLP_VERSION, &err), MLP_EARG);
    mlp_output_plan_free(&p);
    DIR *dir = opendir(tmp);
    struct dirent *e;
    while ((e = readdir(dir)))
        assert_true(e->d_name[0] == '.');
    closedir(dir);

    /* 2 GB less a little fits: the limit is the format's, not a round number of ours */
    net.sizes[1] = (1u << 13) - 1;
    net.n_params = net.sizes[0] * net.sizes[1] + net.sizes[1];
    assert_int_equal(mlp_onnx_bytes(&net, &meta, MLP_VERSION, &bytes, &err), MLP_OK);
    assert_true(bytes < (uint64_t)1 << 31 && bytes > ((uint64_t)1 << 31) - (1u << 20));
    tu_rm_rf(tmp);
    free(tmp);
}

/* ---- the program, the onnx package and onnxruntime ---- */

enum { ROWS = 6, COLS = 5, CLASSES = 4, N_TRAIN = 600, N_TEST = 150, N_MODELS = 8 };

/* The models trained for the checks: every activation with every cost, no hidden layer,
 * and seven. */
static const struct {
    const char *name, *flags;
} models[N_MODELS] = {
    {"sigmoid-quadratic", "--activation sigmoid --cost quadratic --lr 3"},
    {"tanh-quadratic", "--activation tanh --cost quadratic --lr 0.3"},
    {"relu-quadratic", "--activation relu --cost quadratic --lr 0.3"},
    {"sigmoid-xent", "--activation sigmoid --cost xent"},
    {"tanh-xent", "--activation tanh --cost xent --lr 0.1"},
    {"relu-xent", "--activation relu --cost xent --lr 0.1"},
    {"none-xent", "--hidden none --cost xent --lr 0.1"},
    {"deep-tanh", "--hidden 6,6,6,6,6,6,6 --activation tanh --cost xent --lr 0.05"},
};

typedef struct {
    tu_cli cli;
    char model[N_MODELS][4096], onnx[N_MODELS][4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_cli_open(&f->cli);
    tu_write_synthetic(f->cli.dir, N_TRAIN, N_TEST, ROWS, COLS, CLASSES, 9);
    for (size_t k = 0; k < N_MODELS; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s.bin", models[k].name);
        tu_path(f->model[k], f->cli.dir, name);
        snprintf(name, sizeof name, "%s.onnx", models[k].name);
        tu_path(f->onnx[k], f->cli.dir, name);
        int st = tu_cli_run(&f->cli, "train %s --hidden 12,8 %s --epochs 3 --seed 5 --out %s",
                            f->cli.dir, models[k].flags, f->model[k]);
        if (st == 0)
            st = tu_cli_run(&f->cli, "export %s --onnx %s", f->model[k], f->onnx[k]);
        if (st != 0) {
            print_error("%s: exit %d: %s", models[k].name, st, f->cli.err);
            tu_cli_close(&f->cli);
            free(f);
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_cli_close(&f->cli);
    free(f);
    return 0;
}

/* Runs a shell command line, its output into the fixture's directory; on a non-zero exit
 * prints the command and what it wrote. Returns the exit status. */
static int run(fixture *f, const char *cmd)
{
    char line[65536], out[4096];
    tu_path(out, f->cli.dir, "tool.out");
    snprintf(line, sizeof line, "%s >'%s' 2>&1", cmd, out);
    int ws = system(line), st = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    if (st != 0) {
        size_t len = 0;
        unsigned char *text = tu_read_file(out, &len);
        print_error("%s: exit %d\n%.*s\n", cmd, st, (int)len, text ? (const char *)text : "");
        free(text);
    }
    return st;
}

/* A tool the test needs is missing: one line saying what to install, then skip; under CI,
 * which installs both tools, fail, so that CI cannot pass by skipping. */
static void missing(const char *what)
{
    const char *ci = getenv("CI");
    if (ci && !strcmp(ci, "true")) {
        print_error("test_onnx: %s (CI=true: a failure, not a skip)\n", what);
        fail();
    }
    printf("test_onnx: %s\n", what);
    fflush(stdout);
    skip();
}

/* Runs cmd with its output thrown away; true if it exits 0. */
static bool quiet(const char *cmd)
{
    char line[8192];
    int len = snprintf(line, sizeof line, "%s >/dev/null 2>&1", cmd);
    assert_true(len > 0 && (size_t)len < sizeof line);
    return system(line) == 0;
}

/* The first python3 of $MLP_PYTHON, /usr/bin/python3 and python3 that imports onnx. */
static const char *onnx_python(void)
{
    const char *env = getenv("MLP_PYTHON");
    const char *const candidates[] = {env && env[0] ? env : NULL, "/usr/bin/python3", "python3"};
    char cmd[4096];
    for (size_t i = 0; i < 3; i++) {
        if (!candidates[i])
            continue;
        snprintf(cmd, sizeof cmd, "'%s' tests/onnx_check.py", candidates[i]);
        if (quiet(cmd))
            return candidates[i];
        if (i == 0)
            break; /* the one asked for, or none */
    }
    return NULL;
}

static void test_onnx_checker_accepts(void **state)
{
    fixture *f = *state;
    const char *py = onnx_python();
    if (!py)
        missing("skipping the onnx checker; install it: sudo apt-get install python3-onnx "
                "(or set MLP_PYTHON to a python3 that imports onnx)");
    char cmd[65536];
    size_t at = (size_t)snprintf(cmd, sizeof cmd, "'%s' tests/onnx_check.py", py);
    for (size_t k = 0; k < N_MODELS; k++)
        at += (size_t)snprintf(cmd + at, sizeof cmd - at, " '%s'", f->onnx[k]);
    assert_int_equal(run(f, cmd), 0);
}

/* mlp's outputs for s through its own forward pass (the one `mlp eval` runs), (n, classes). */
static float *mlp_outputs(const char *model, const mlp_set *s, size_t *classes)
{
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    assert_int_equal(mlp_model_load(model, &net, 64, &meta, &err), MLP_OK);
    const size_t K = net.sizes[net.n_layers];
    float *out = malloc(sizeof(float) * s->n * K);
    for (size_t start = 0; start < s->n; start += 64) {
        size_t B = s->n - start < 64 ? s->n - start : 64;
        for (size_t i = 0; i < B; i++)
            mlp_net_set_input(&net, i, s->x + (start + i) * s->dim);
        mlp_net_forward(&net, B);
        memcpy(out + start * K, net.a[net.n_layers], sizeof(float) * B * K);
    }
    mlp_net_free(&net);
    *classes = K;
    return out;
}

static size_t argmax(const float *p, size_t K)
{
    size_t best = 0;
    for (size_t k = 1; k < K; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

/* Writes n floats little-endian to path. */
static void write_floats(const char *path, const float *x, size_t n)
{
    unsigned char *b = malloc(4 * n);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        for (int k = 0; k < 4; k++)
            b[4 * i + (size_t)k] = (unsigned char)(bits >> (8 * k));
    }
    tu_write_file(path, b, 4 * n);
    free(b);
}

/* Compares onnxruntime's output for model k (little-endian floats at path) with mlp's. */
static void compare(fixture *f, size_t k, const char *path, const mlp_set *test)
{
    size_t K, len;
    float *want = mlp_outputs(f->model[k], test, &K);
    unsigned char *raw = tu_read_file(path, &len);
    assert_non_null(raw);
    assert_int_equal(len, 4 * test->n * K);
    double worst = 0.0;
    size_t right = 0;
    for (size_t i = 0; i < test->n; i++) {
        float got[256];
        for (size_t c = 0; c < K; c++) {
            uint32_t bits = mlp_get_u32(raw + 4 * (i * K + c));
            memcpy(&got[c], &bits, 4);
            double d = fabs((double)got[c] - (double)want[i * K + c]);
            worst = d > worst ? d : worst;
        }
        size_t cls = argmax(got, K);
        if (cls != argmax(want + i * K, K)) {
            print_error("%s: image %zu: onnxruntime says %zu, mlp %zu\n", models[k].name, i, cls,
                        argmax(want + i * K, K));
            fail();
        }
        right += cls == test->y[i];
    }
    if (!(worst <= 1e-5)) {
        print_error("%s: outputs differ by up to %g\n", models[k].name, worst);
        fail();
    }
    /* and the accuracy is the one `mlp eval` reports */
    assert_int_equal(tu_cli_run(&f->cli, "eval %s %s --json", f->model[k], f->cli.dir), 0);
    const char *acc = strstr(f->cli.out, "\"accuracy\":");
    assert_non_null(acc);
    assert_true(fabs(atof(acc + 11) - (double)right / (double)test->n) < 1e-12);
    free(want);
    free(raw);
}

static void test_onnxruntime_agrees_with_eval(void **state)
{
    fixture *f = *state;
    const char *node = getenv("MLP_NODE"), *ort = getenv("MLP_ONNXRUNTIME_DIR");
    node = node && node[0] ? node : "node";
    ort = ort && ort[0] ? ort : "build/onnxruntime";
    char cmd[65536], msg_[8192];
    snprintf(cmd, sizeof cmd, "'%s' --version", node);
    bool have_node = quiet(cmd);
    snprintf(cmd, sizeof cmd, "'%s' tests/onnx_run.js '%s'", node, ort);
    if (!have_node || !quiet(cmd)) {
        snprintf(msg_, sizeof msg_,
                 "skipping the onnxruntime check; install it: %sONNXRUNTIME_NODE_INSTALL=skip "
                 "npm install --prefix %s onnxruntime-node@1.30.0 (or set MLP_ONNXRUNTIME_DIR)",
                 have_node ? "" : "sudo apt-get install nodejs npm, then ", ort);
        missing(msg_);
    }
    mlp_set test = {0};
    mlp_error err;
    char in[4096], out[N_MODELS][4096];
    assert_int_equal(mlp_idx_load_test(&test, f->cli.dir, &err), MLP_OK);
    tu_path(in, f->cli.dir, "x.f32");
    write_floats(in, test.x, test.n * test.dim);
    size_t at = (size_t)snprintf(cmd, sizeof cmd, "'%s' tests/onnx_run.js '%s'", node, ort);
    for (size_t k = 0; k < N_MODELS; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s.y", models[k].name);
        tu_path(out[k], f->cli.dir, name);
        at += (size_t)snprintf(cmd + at, sizeof cmd - at, " '%s' '%s' '%s' %zu %zu", f->onnx[k], in,
                               out[k], test.n, test.dim);
    }
    assert_int_equal(run(f, cmd), 0);
    for (size_t k = 0; k < N_MODELS; k++)
        compare(f, k, out[k], &test);
    mlp_idx_set_free(&test);
}

/* ---- mlp export --onnx from the command line ---- */

/* The names and sizes of dir's entries, sorted, in buf: what a refused command must leave
 * as it was. */
static void listing(char *buf, size_t cap, const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        tu_path(path, dir, names[i]->d_name);
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..") &&
            lstat(path, &sb) == 0)
            at += (size_t)snprintf(buf + at, cap - at, "%s:%lld:%o ", names[i]->d_name,
                                   (long long)sb.st_size, (unsigned)sb.st_mode);
        free(names[i]);
    }
    free(names);
    assert_true(at < cap);
}

/* Exit status want and exactly one line on stderr holding each of the two texts. */
static void expect_error(fixture *f, int st, int want, const char *text, const char *text2)
{
    if (st != want || tu_count_lines(f->cli.err) != 1 || !strstr(f->cli.err, text) ||
        (text2 && !strstr(f->cli.err, text2))) {
        print_error("exit %d (wanted %d), stderr '%s' (wanted one line with '%s' and '%s')\n", st,
                    want, f->cli.err, text, text2 ? text2 : "");
        fail();
    }
}

static void test_export_command(void **state)
{
    fixture *f = *state;
    char *tmp = tu_tmpdir(), path[4096], lib[4096], npy[4096], model[4096];
    tu_path(model, tmp, "m.bin");
    tu_path(path, tmp, "m.onnx");
    tu_path(lib, tmp, "lib.onnx");
    tu_path(npy, tmp, "npy");
    size_t len;
    unsigned char *bytes = tu_read_file(f->model[3], &len);
    tu_write_file(model, bytes, len);
    free(bytes);

    /* the file is the library's, with the program's version */
    assert_int_equal(tu_cli_run(&f->cli, "export %s --onnx %s", model, path), 0);
    assert_non_null(strstr(f->cli.out, "exported "));
    assert_non_null(strstr(f->cli.out, "(30-12-8-4, 512 parameters) to "));
    assert_non_null(strstr(f->cli.out, "m.onnx: ONNX, opset 13\n"));
    assert_int_equal(tu_count_lines(f->cli.out), 1);
    assert_string_equal(f->cli.err, "");
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    assert_int_equal(mlp_model_load(model, &net, 1, &meta, &err), MLP_OK);
    assert_int_equal(mlp_onnx_write(lib, &net, &meta, MLP_VERSION, &err), MLP_OK);
    mlp_net_free(&net);
    size_t a_len, b_len;
    unsigned char *a = tu_read_file(path, &a_len), *b = tu_read_file(lib, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);

    /* both formats at once, in either order; an existing file is replaced */
    assert_int_equal(tu_cli_run(&f->cli, "export %s --onnx %s --npy %s", model, path, npy), 0);
    assert_int_equal(tu_count_lines(f->cli.out), 2);
    assert_non_null(strstr(f->cli.out, "W2.npy b2.npy model.json\n"));
    assert_non_null(strstr(f->cli.out, "m.onnx: ONNX"));
    tu_path(lib, npy, "model.json");
    assert_int_equal(access(lib, F_OK), 0);

    /* usage errors: exit 2, one line */
    expect_error(f, tu_cli_run(&f->cli, "export %s", model), 2, "missing --npy DIR, --onnx FILE or --c DIR",
                 NULL);
    expect_error(f, tu_cli_run(&f->cli, "export %s --onnx", model), 2, "--onnx", NULL);
    expect_error(f, tu_cli_run(&f->cli, "export %s --onnx ''", model), 2, "--onnx", NULL);
    expect_error(f, tu_cli_run(&f->cli, "export --onnx %s", path), 2, "missing MODEL", NULL);
    tu_rm_rf(tmp);
    free(tmp);
}

/* Each target a hostile user could give: refused with exit status 1 and one line naming
 * the file, the directory exactly as it was, no temporary or lock file left. */
static void test_export_refuses_bad_targets(void **state)
{
    fixture *f = *state;
    char *tmp = tu_tmpdir(), model[4096], p[4096], before[16384], after[16384];
    tu_path(model, tmp, "m.bin");
    size_t len;
    unsigned char *bytes = tu_read_file(f->model[0], &len);
    tu_write_file(model, bytes, len);
    free(bytes);
    tu_path(p, tmp, "dir");
    assert_int_equal(mkdir(p, 0777), 0);
    tu_path(p, tmp, "fifo");
    assert_int_equal(mkfifo(p, 0666), 0);
    tu_path(p, tmp, "npy");
    assert_int_equal(mkdir(p, 0777), 0);
    tu_path(p, tmp, "link");
    assert_int_equal(symlink("m.bin", p), 0);
    tu_path(p, tmp, "dangling");
    assert_int_equal(symlink("nowhere/x", p), 0);

    static const struct {
        const char *args, *text;
    } cases[] = {
        {"--onnx %s/dir", "is a directory"},
        {"--onnx %s/dir/", "names a directory"},
        {"--onnx %s/fifo", "not a regular file"},
        {"--onnx %s/m.bin", "same file as MODEL"},
        {"--onnx %s/link", "same file as MODEL"},
        {"--onnx %s/dangling", "symlink to a file that does not exist"},
        {"--onnx %s/missing/m.onnx", "no such directory"},
        {"--npy %1$s/npy --onnx %1$s/npy/W0.npy", "one file cannot take two outputs"},
        {"--onnx %1$s/npy/model.json --npy %1$s/npy", "one file cannot take two outputs"},
        /* the ONNX file is checked before the .npy directory is created */
        {"--npy %1$s/new --onnx %1$s/dir", "is a directory"},
        {"--npy %1$s/new --onnx %1$s/fifo", "not a regular file"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char args[8192];
        snprintf(args, sizeof args, cases[k].args, tmp);
        listing(before, sizeof before, tmp);
        int st = tu_cli_run(&f->cli, "export %s %s", model, args);
        if (st != 1)
            print_error("export %s\n", args);
        expect_error(f, st, 1, cases[k].text, "ONNX file '");
        listing(after, sizeof after, tmp);
        assert_string_equal(before, after);
        tu_path(p, tmp, "npy");
        listing(after, sizeof after, p);
        assert_string_equal(after, "");
    }
    /* a device */
    expect_error(f, tu_cli_run(&f->cli, "export %s --onnx /dev/null", model), 1,
                 "ONNX file '/dev/null': not a regular file", NULL);
    /* a directory that cannot take a file (permissions do not stop root) */
    if (geteuid() != 0) {
        tu_path(p, tmp, "dir");
        assert_int_equal(chmod(p, 0555), 0);
        expect_error(f, tu_cli_run(&f->cli, "export %s --onnx %s/dir/m.onnx", model, tmp), 1,
                     "ONNX file '", "cannot write in");
        assert_int_equal(chmod(p, 0755), 0);
    }
    tu_rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_too_large_refused),
        cmocka_unit_test(test_onnx_checker_accepts),
        cmocka_unit_test(test_onnxruntime_agrees_with_eval),
        cmocka_unit_test(test_export_command),
        cmocka_unit_test(test_export_refuses_bad_targets),
    };
    return cmocka_run_group_tests_name("onnx", tests, setup, teardown);
}
