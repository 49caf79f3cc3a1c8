/*
 * onnx: writes a model as ONNX (layout in onnx.h) with the protobuf writer. Each message of
 * onnx.proto that the file holds has a writer function below, named after it, whose context
 * is what that message says; the field numbers are onnx.proto's. The network's parameters
 * are read through net.h's views W[] and b[], only when the file is really written.
 */
#define _POSIX_C_SOURCE 200809L
#include "onnx.h"

#include "export.h"
#include "json.h"
#include "options.h"
#include "protobuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* onnx.proto's enums: TensorProto.DataType FLOAT, AttributeProto.AttributeType INT */
enum { ONNX_FLOAT = 1, ONNX_ATTR_INT = 2 };

/* The ONNX operator of each hidden activation, in the order of mlp_act (options.h). */
static const char *const act_ops[] = {"Sigmoid", "Tanh", "Relu"};
_Static_assert(MLP_ACT_SIGMOID == 0 && MLP_ACT_TANH == 1 && MLP_ACT_RELU == 2,
               "act_ops follows mlp_act");

enum { N_PROPS = 9, NAME_CAP = 32 }; /* "gemm" and a size_t take 25 bytes */

typedef struct {
    const char *key, *value;
} prop;

/* Everything the file says besides the parameters, made once before the two passes. */
typedef struct {
    const mlp_net *net;
    const char *version;
    const char *path;  /* the file being written, for messages */
    char *description; /* the JSON object, one line without its newline */
    char *command;     /* meta->cmdline as valid UTF-8 */
    char doc[512], layers[16 * (MLP_MAX_LAYERS + 1)], input[32], seed[24], accuracy[24];
    prop props[N_PROPS];
} model;

/* The names of weight layer l's tensors: in -> Gemm -> z -> activation -> out. */
typedef struct {
    char W[NAME_CAP], b[NAME_CAP], in[NAME_CAP], z[NAME_CAP], out[NAME_CAP];
    char gemm[NAME_CAP], act[NAME_CAP];
} layer_names;

static void name_layer(layer_names *n, const mlp_net *net, size_t l)
{
    snprintf(n->W, sizeof n->W, "W%zu", l);
    snprintf(n->b, sizeof n->b, "b%zu", l);
    snprintf(n->z, sizeof n->z, "z%zu", l);
    if (l == 0)
        snprintf(n->in, sizeof n->in, "x");
    else
        snprintf(n->in, sizeof n->in, "a%zu", l);
    if (l + 1 == net->n_layers)
        snprintf(n->out, sizeof n->out, "y");
    else
        snprintf(n->out, sizeof n->out, "a%zu", l + 1);
    snprintf(n->gemm, sizeof n->gemm, "gemm%zu", l);
    snprintf(n->act, sizeof n->act, "act%zu", l);
}

static const char *layer_op(const mlp_net *net, size_t l)
{
    if (l + 1 < net->n_layers)
        return act_ops[net->act];
    return net->cost == MLP_COST_XENT ? "Softmax" : "Sigmoid";
}

/* ---- the messages, innermost first ---- */

typedef struct {
    const char *name;
    int64_t value;
} int_attr;

static void write_attribute(mlp_pb *pb, const void *ctx) /* AttributeProto */
{
    const int_attr *a = ctx;
    mlp_pb_string(pb, 1, a->name);
    mlp_pb_int(pb, 3, a->value); /* i */
    mlp_pb_uint(pb, 20, ONNX_ATTR_INT);
}

typedef struct {
    const char *op, *name, *in[3], *out;
    size_t n_in;
    int_attr attr; /* attr.name NULL: none */
} node;

static void write_node(mlp_pb *pb, const void *ctx) /* NodeProto */
{
    const node *n = ctx;
    for (size_t i = 0; i < n->n_in; i++)
        mlp_pb_string(pb, 1, n->in[i]);
    mlp_pb_string(pb, 2, n->out);
    mlp_pb_string(pb, 3, n->name);
    mlp_pb_string(pb, 4, n->op);
    if (n->attr.name)
        mlp_pb_message(pb, 5, write_attribute, &n->attr);
}

typedef struct {
    const char *name;
    const float *data; /* (dims[0], dims[1]) or (dims[0]); not read when counting */
    size_t dims[2], n_dims;
} tensor;

static void write_tensor(mlp_pb *pb, const void *ctx) /* TensorProto */
{
    const tensor *t = ctx;
    size_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        mlp_pb_uint(pb, 1, t->dims[d]);
        n *= t->dims[d]; /* the layout's product, checked by mlp_net_count_params */
    }
    mlp_pb_uint(pb, 2, ONNX_FLOAT);
    mlp_pb_string(pb, 8, t->name);
    mlp_pb_floats(pb, 9, t->data, n); /* raw_data */
}

/* A float32 [N, width] tensor's type: TypeProto { tensor_type { elem_type, shape } } */
typedef struct {
    const char *name, *doc;
    size_t width;
} value;

static void write_batch_dim(mlp_pb *pb, const void *ctx) /* TensorShapeProto.Dimension */
{
    (void)ctx;
    mlp_pb_string(pb, 2, "N"); /* dim_param: symbolic */
}

static void write_width_dim(mlp_pb *pb, const void *ctx)
{
    mlp_pb_uint(pb, 1, ((const value *)ctx)->width); /* dim_value */
}

static void write_shape(mlp_pb *pb, const void *ctx) /* TensorShapeProto */
{
    mlp_pb_message(pb, 1, write_batch_dim, ctx);
    mlp_pb_message(pb, 1, write_width_dim, ctx);
}

static void write_tensor_type(mlp_pb *pb, const void *ctx) /* TypeProto.Tensor */
{
    mlp_pb_uint(pb, 1, ONNX_FLOAT);
    mlp_pb_message(pb, 2, write_shape, ctx);
}

static void write_type(mlp_pb *pb, const void *ctx) /* TypeProto */
{
    mlp_pb_message(pb, 1, write_tensor_type, ctx);
}

static void write_value_info(mlp_pb *pb, const void *ctx) /* ValueInfoProto */
{
    const value *v = ctx;
    mlp_pb_string(pb, 1, v->name);
    mlp_pb_message(pb, 2, write_type, v);
    mlp_pb_string(pb, 3, v->doc);
}

/* GraphProto: nodes, name, initializers, doc, input, output (field order). */
static void write_graph(mlp_pb *pb, const void *ctx)
{
    const model *m = ctx;
    const mlp_net *net = m->net;
    const size_t L = net->n_layers;
    layer_names nm;
    for (size_t l = 0; l < L; l++) {
        name_layer(&nm, net, l);
        node gemm = {"Gemm", nm.gemm, {nm.in, nm.W, nm.b}, nm.z, 3, {"transB", 1}};
        node act = {layer_op(net, l), nm.act, {nm.z}, nm.out, 1, {NULL, 0}};
        if (l + 1 == L && net->cost == MLP_COST_XENT)
            act.attr = (int_attr){"axis", -1};
        mlp_pb_message(pb, 1, write_node, &gemm);
        mlp_pb_message(pb, 1, write_node, &act);
    }
    mlp_pb_string(pb, 2, "mlp");
    for (size_t l = 0; l < L; l++) {
        name_layer(&nm, net, l);
        tensor W = {nm.W, net->W[l], {net->sizes[l + 1], net->sizes[l]}, 2};
        tensor b = {nm.b, net->b[l], {net->sizes[l + 1], 0}, 1};
        mlp_pb_message(pb, 5, write_tensor, &W);
        mlp_pb_message(pb, 5, write_tensor, &b);
    }
    mlp_pb_string(pb, 10, m->doc);
    value x = {"x", "images, row by row, each pixel divided by 255", net->sizes[0]};
    value y = {"y",
               net->cost == MLP_COST_XENT ? "the class probabilities (softmax)"
                                          : "each class's sigmoid output; the largest wins",
               net->sizes[L]};
    mlp_pb_message(pb, 11, write_value_info, &x);
    mlp_pb_message(pb, 12, write_value_info, &y);
}

static void write_opset(mlp_pb *pb, const void *ctx) /* OperatorSetIdProto */
{
    (void)ctx;
    mlp_pb_uint(pb, 2, MLP_ONNX_OPSET); /* domain left out: the default, "" */
}

static void write_prop(mlp_pb *pb, const void *ctx) /* StringStringEntryProto */
{
    const prop *p = ctx;
    mlp_pb_string(pb, 1, p->key);
    mlp_pb_string(pb, 2, p->value);
}

static void write_model(mlp_pb *pb, const void *ctx) /* ModelProto */
{
    const model *m = ctx;
    mlp_pb_uint(pb, 1, MLP_ONNX_IR_VERSION);
    mlp_pb_string(pb, 2, "mlp");
    mlp_pb_string(pb, 3, m->version);
    mlp_pb_string(pb, 6, m->doc);
    mlp_pb_message(pb, 7, write_graph, m);
    mlp_pb_message(pb, 8, write_opset, NULL);
    for (size_t k = 0; k < N_PROPS; k++)
        mlp_pb_message(pb, 14, write_prop, &m->props[k]);
}

/* ---- the description ---- */

/* `mlp info --json`'s object without the path, on one line, in *out (malloc'd). */
static mlp_status describe(char **out, const mlp_net *net, const mlp_model_meta *meta,
                           mlp_error *err)
{
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    if (!f)
        return mlp_fail(err, MLP_ENOMEM, "out of memory");
    mlp_json j;
    mlp_json_start(&j, f);
    mlp_json_object(&j, NULL);
    mlp_export_describe(&j, net, meta, false);
    mlp_json_end(&j);
    mlp_status s = mlp_json_finish(&j, "the description", err);
    if (fclose(f) != 0 && s == MLP_OK)
        s = mlp_fail(err, MLP_ENOMEM, "out of memory");
    if (s != MLP_OK) {
        free(*out);
        *out = NULL;
        return s;
    }
    if (len && (*out)[len - 1] == '\n')
        (*out)[len - 1] = '\0';
    return MLP_OK;
}

/* s with every byte that does not start valid UTF-8 replaced by U+FFFD (malloc'd). */
static char *valid_utf8(const char *s)
{
    char *out = mlp_alloc_array(3 * strlen(s) + 1, 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = mlp_utf8_len(p);
        if (n == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3, p++;
        } else {
            memcpy(o, p, n);
            o += n, p += n;
        }
    }
    *o = '\0';
    return out;
}

static void model_free(model *m)
{
    free(m->description);
    free(m->command);
}

static mlp_status model_init(model *m, const mlp_net *net, const mlp_model_meta *meta,
                             const char *version, mlp_error *err)
{
    *m = (model){.net = net, .version = version};
    mlp_status s = describe(&m->description, net, meta, err);
    if (s != MLP_OK)
        return s;
    if (!(m->command = valid_utf8(meta->cmdline[0] ? meta->cmdline : "not recorded"))) {
        model_free(m);
        return mlp_fail(err, MLP_ENOMEM, "out of memory");
    }
    size_t at = 0;
    for (size_t l = 0; l <= net->n_layers; l++)
        at += (size_t)snprintf(m->layers + at, sizeof m->layers - at, "%s%zu", l ? "-" : "",
                               net->sizes[l]);
    snprintf(m->input, sizeof m->input, "%" PRIu32 "x%" PRIu32, meta->rows, meta->cols);
    snprintf(m->seed, sizeof m->seed, "%" PRIu64, meta->seed);
    if (meta->test_accuracy >= 0.0f)
        snprintf(m->accuracy, sizeof m->accuracy, "%.4f", (double)meta->test_accuracy);
    else
        snprintf(m->accuracy, sizeof m->accuracy, "not measured");
    const char *act = mlp_act_name(net->act), *cost = mlp_cost_name(net->cost);
    const bool xent = net->cost == MLP_COST_XENT;
    snprintf(m->doc, sizeof m->doc,
             "A %s network trained by mlp: %s%s, %s outputs, %s cost. x: %s images, row by "
             "row, each pixel divided by 255; y: %s.",
             m->layers, net->n_layers > 1 ? act : "no hidden layer",
             net->n_layers > 1 ? " hidden layers" : "", xent ? "softmax" : "sigmoid", cost,
             m->input, xent ? "the class probabilities" : "each class's output");
    const prop props[N_PROPS] = {
        {"layers", m->layers},
        {"activation", act},
        {"cost", cost},
        {"input", m->input},
        {"input_scaling", "1/255"},
        {"seed", m->seed},
        {"test_accuracy", m->accuracy},
        {"command", m->command},
        {"description", m->description},
    };
    memcpy(m->props, props, sizeof props);
    return MLP_OK;
}

/* The file's size; MLP_EARG past the format's limit. */
static mlp_status check_size(const model *m, uint64_t *bytes, mlp_error *err)
{
    mlp_pb pb;
    char have[32];
    mlp_pb_start(&pb, NULL);
    write_model(&pb, m);
    *bytes = pb.n;
    if (pb.n <= MLP_ONNX_MAX_BYTES)
        return MLP_OK;
    return mlp_fail(err, MLP_EARG,
                    "the model takes %" PRIu64 " bytes (%s) as ONNX; a protobuf message, and "
                    "so an ONNX file, holds at most %d (2 GB)",
                    pb.n, mlp_bytes_text(have, sizeof have, (double)pb.n), MLP_ONNX_MAX_BYTES);
}

mlp_status mlp_onnx_bytes(const mlp_net *net, const mlp_model_meta *meta, const char *version,
                          uint64_t *bytes, mlp_error *err)
{
    model m;
    mlp_status s = model_init(&m, net, meta, version, err);
    if (s == MLP_OK)
        s = check_size(&m, bytes, err);
    model_free(&m);
    return s;
}

/* "ONNX file 'path': " in front of err's message */
static mlp_status name_file(mlp_status s, const char *path, mlp_error *err)
{
    mlp_error why = *err;
    return mlp_fail(err, s, "ONNX file '%s': %s", path, why.msg);
}

mlp_status mlp_onnx_plan(mlp_output_plan *p, const char *path, const mlp_net *net,
                         const mlp_model_meta *meta, const char *version, mlp_error *err)
{
    uint64_t bytes = 0;
    mlp_status s = mlp_onnx_bytes(net, meta, version, &bytes, err);
    if (s != MLP_OK)
        return name_file(s, path, err);
    if ((s = mlp_output_target(p, "ONNX file", path, 0, err)) != MLP_OK)
        return s;
    return mlp_output_room(p, path, (size_t)bytes, err);
}

static mlp_status write_file(FILE *f, void *ctx, mlp_error *err)
{
    mlp_pb pb;
    mlp_pb_start(&pb, f);
    write_model(&pb, ctx);
    const model *m = ctx;
    if (pb.mismatch) /* a writer above that does not put the same fields twice */
        return mlp_fail(err, MLP_EARG,
                        "ONNX file '%s': a message was written other than it "
                        "was counted",
                        m->path);
    return MLP_OK; /* a write error of f is the commit's to report */
}

mlp_status mlp_onnx_write(const char *path, const mlp_net *net, const mlp_model_meta *meta,
                          const char *version, mlp_error *err)
{
    model m;
    uint64_t bytes;
    mlp_status s = model_init(&m, net, meta, version, err);
    m.path = path;
    if (s == MLP_OK && (s = check_size(&m, &bytes, err)) != MLP_OK)
        s = name_file(s, path, err);
    if (s == MLP_OK)
        s = mlp_output_save("ONNX file", path, write_file, &m, err);
    model_free(&m);
    return s;
}
