/*
 * cmd_export: `mlp export MODEL [--npy DIR] [--onnx FILE]`. Loads the model and hands it to
 * export.c, which writes the .npy files and model.json, and to onnx.c, which writes the ONNX
 * file; every file of every format is checked before the first is written.
 */
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "model.h"
#include "net.h"
#include "onnx.h"

#include <stdio.h>
#include <string.h>

static const char *const help =
    "usage: mlp export MODEL [--npy DIR] [--onnx FILE]\n"
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
    "  --npy DIR    the directory to write the .npy files and model.json in\n"
    "  --onnx FILE  the ONNX file to write\n";

/* Every file of every format checked against the model and each other, then written. The
 * ONNX file is planned first: its plan creates nothing, the .npy one may create DIR. */
static mlp_status write_all(const char *model, const char *npy, const char *onnx,
                            const mlp_net *net, const mlp_model_meta *meta, mlp_error *err)
{
    mlp_output_plan plan = {0};
    mlp_status s = mlp_output_input(&plan, "MODEL", model, 0, err);
    if (s == MLP_OK && onnx)
        s = mlp_onnx_plan(&plan, onnx, net, meta, MLP_VERSION, err);
    if (s == MLP_OK && npy)
        s = mlp_export_npy_plan(&plan, npy, net, err);
    if (s == MLP_OK && onnx)
        s = mlp_onnx_write(onnx, net, meta, MLP_VERSION, err);
    if (s == MLP_OK && npy)
        s = mlp_export_npy(npy, net, meta, err);
    mlp_output_plan_free(&plan);
    return s;
}

static int export_main(int argc, char **argv)
{
    mlp_args a = {.cmd = "export", .argc = argc, .argv = argv};
    const char *model = NULL, *npy = NULL, *onnx = NULL;
    int rc = 0;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (model)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            model = s;
        } else if (mlp_cli_flag(&a, "--npy")) {
            rc = mlp_cli_string(&a, &npy);
        } else if (mlp_cli_flag(&a, "--onnx")) {
            rc = mlp_cli_string(&a, &onnx);
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc != 0)
        return rc;
    if (!model)
        return mlp_cli_usage(a.cmd, "missing MODEL");
    if (!npy && !onnx)
        return mlp_cli_usage(a.cmd, "missing --npy DIR or --onnx FILE (the format to export to)");

    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    if (mlp_model_load(model, &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (write_all(model, npy, onnx, &net, &meta, &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
    } else {
        char layout[256];
        mlp_cli_layout(layout, sizeof layout, &net);
        if (npy) {
            printf("exported %s (%s, %zu parameters) to %s:", model, layout, net.n_params, npy);
            for (size_t l = 0; l < net.n_layers; l++)
                printf(" W%zu.npy b%zu.npy", l, l);
            printf(" model.json\n");
        }
        if (onnx)
            printf("exported %s (%s, %zu parameters) to %s: ONNX, opset %d\n", model, layout,
                   net.n_params, onnx, MLP_ONNX_OPSET);
    }
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_export = {
    "export", "MODEL",     "write a model for NumPy (--npy DIR) or ONNX (--onnx FILE)",
    help,     export_main, NULL};
