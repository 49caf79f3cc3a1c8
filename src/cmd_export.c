/*
 * cmd_export: `mlp export MODEL [--npy DIR] [--onnx FILE] [--c DIR [--int8] [--name PREFIX]]`.
 * Loads the model and hands it to export.c (the .npy files and model.json), onnx.c (the ONNX
 * file) and export_c.c (C source); every file of every format is checked before the first is
 * written.
 */
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "export_c.h"
#include "model.h"
#include "net.h"
#include "onnx.h"

#include <stdio.h>
#include <string.h>

static const char *const help =
    "usage: mlp export MODEL [--npy DIR] [--onnx FILE] [--c DIR [--int8] [--name PREFIX]]\n"
    "\n"
    "Writes MODEL in the formats asked for (at least one), each file checked before any is\n"
    "written.\n"
    "\n"
    "--npy: for NumPy and PyTorch, into DIR (created if missing; files already there are\n"
    "replaced): for each layer l, W<l>.npy, its weights, of shape (outputs, inputs) like\n"
    "torch.nn.Linear.weight, and b<l>.npy, its biases, both NumPy format 1.0 little-endian\n"
    "float32 in C order; and model.json: layer sizes, activations, cost, input shape and\n"
    "scaling, and the training record. Layer l computes f(x @ W<l>.T + b<l>), where f is\n"
    "the hidden activation, or for the last layer sigmoid (quadratic cost) or softmax\n"
    "(xent), and the input x is the image's pixels, row by row, divided by 255.\n"
    "\n"
    "--onnx: an ONNX model (IR version 8, opset 13) for onnxruntime and the other ONNX\n"
    "runtimes, in FILE (replaced if it exists). Its input x is float32 [N, inputs], N\n"
    "images' pixels divided by 255; its output y is float32 [N, classes], the softmax\n"
    "probabilities (xent) or sigmoid outputs (quadratic). Each layer is a Gemm and its\n"
    "activation; the metadata holds the training record. Models of 2 GB or more are refused.\n"
    "\n"
    "--c: C99 source for a program of its own (a microcontroller), into DIR: PREFIX.h, whose\n"
    "comment documents the network, and PREFIX.c, the weights as static const arrays and\n"
    "int PREFIX_predict(const float in[], float out[]), which returns the class\n"
    "(PREFIX_predict_u8 takes the pixels as bytes); no heap, no state, only <math.h>.\n"
    "PREFIX_check.c prints the accuracy on IDX test files, to check the export:\n"
    "  cc -O2 -o check PREFIX_check.c PREFIX.c -lm && ./check IMAGES LABELS\n"
    "\n"
    "  --npy DIR      the directory of the .npy files and model.json\n"
    "  --onnx FILE    the ONNX file to write\n"
    "  --c DIR        the directory of the C files\n"
    "  --int8         C with int8 weights (a float scale per neuron) and 8-bit activations,\n"
    "                 summed in int32, with no <math.h>: a quarter of the bytes\n"
    "  --name PREFIX  the C files' and functions' prefix: a C identifier of at most 20\n"
    "                 characters, not a keyword (default: mlp_model)\n";

typedef struct {
    const char *model, *npy, *onnx, *c;
    mlp_export_c_opts copts;
    bool int8_given, name_given;
} export_args;

static int parse(export_args *e, int argc, char **argv)
{
    mlp_args a = {.cmd = "export", .argc = argc, .argv = argv};
    int rc = 0;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (e->model)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            e->model = s;
        } else if (mlp_cli_flag(&a, "--npy")) {
            rc = mlp_cli_string(&a, &e->npy);
        } else if (mlp_cli_flag(&a, "--onnx")) {
            rc = mlp_cli_string(&a, &e->onnx);
        } else if (mlp_cli_flag(&a, "--c")) {
            rc = mlp_cli_string(&a, &e->c);
        } else if (!strcmp(s, "--int8")) {
            e->copts.int8 = e->int8_given = true;
        } else if (mlp_cli_flag(&a, "--name")) {
            e->name_given = true;
            rc = mlp_cli_string(&a, &e->copts.name);
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    mlp_error err;
    if (rc != 0)
        return rc;
    if (!e->model)
        return mlp_cli_usage(a.cmd, "missing MODEL");
    if (!e->c && (e->int8_given || e->name_given))
        return mlp_cli_usage(a.cmd, "%s is for C source: it needs --c DIR",
                             e->int8_given ? "--int8" : "--name");
    if (!e->npy && !e->onnx && !e->c)
        return mlp_cli_usage(a.cmd,
                             "missing --npy DIR, --onnx FILE or --c DIR (the format to export to)");
    if (mlp_export_c_check_name(e->copts.name, &err) != MLP_OK)
        return mlp_cli_usage(a.cmd, "--name: %s", err.msg);
    return 0;
}

/* Every file of every format checked against the model and each other, then written. The
 * ONNX file is planned first: its plan creates nothing, the .npy and C ones may create their
 * directories. */
static mlp_status write_all(const export_args *e, const mlp_net *net, const mlp_model_meta *meta,
                            mlp_error *err)
{
    mlp_output_plan plan = {0};
    mlp_status s = mlp_output_input(&plan, "MODEL", e->model, 0, err);
    if (s == MLP_OK && e->onnx)
        s = mlp_onnx_plan(&plan, e->onnx, net, meta, MLP_VERSION, err);
    if (s == MLP_OK && e->npy)
        s = mlp_export_npy_plan(&plan, e->npy, net, err);
    if (s == MLP_OK && e->c)
        s = mlp_export_c_plan(&plan, e->c, &e->copts, net, err);
    if (s == MLP_OK && e->onnx)
        s = mlp_onnx_write(e->onnx, net, meta, MLP_VERSION, err);
    if (s == MLP_OK && e->npy)
        s = mlp_export_npy(e->npy, net, meta, err);
    if (s == MLP_OK && e->c)
        s = mlp_export_c(e->c, &e->copts, net, meta, err);
    mlp_output_plan_free(&plan);
    return s;
}

/* What was written, one line an export. */
static void report(const export_args *e, const mlp_net *net)
{
    char layout[256];
    const char *name = e->copts.name;
    mlp_cli_layout(layout, sizeof layout, net);
    if (e->npy) {
        printf("exported %s (%s, %zu parameters) to %s:", e->model, layout, net->n_params, e->npy);
        for (size_t l = 0; l < net->n_layers; l++)
            printf(" W%zu.npy b%zu.npy", l, l);
        printf(" model.json\n");
    }
    if (e->onnx)
        printf("exported %s (%s, %zu parameters) to %s: ONNX, opset %d\n", e->model, layout,
               net->n_params, e->onnx, MLP_ONNX_OPSET);
    if (e->c)
        printf("exported %s (%s, %zu parameters) to %s: %s.h %s.c %s_check.c; %s parameters, "
               "%s bytes (%s: %s)\n",
               e->model, layout, net->n_params, e->c, name, name, name,
               e->copts.int8 ? "int8" : "float",
               mlp_cli_count(mlp_export_c_param_bytes(net, e->copts.int8)).s,
               e->copts.int8 ? "float" : "int8",
               mlp_cli_count(mlp_export_c_param_bytes(net, !e->copts.int8)).s);
}

static int export_main(int argc, char **argv)
{
    export_args e = {.copts = {.name = MLP_EXPORT_C_NAME}};
    int rc = parse(&e, argc, argv);
    if (rc != 0)
        return rc;
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    if (mlp_model_load(e.model, &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (write_all(&e, &net, &meta, &err) != MLP_OK)
        rc = mlp_cli_fail(&err);
    else
        report(&e, &net);
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_export = {
    "export", "MODEL [FLAGS]", "write a model for NumPy, ONNX or C (--npy, --onnx, --c)",
    help,     export_main,     NULL};
