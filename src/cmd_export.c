/*
 * cmd_export: `mlp export MODEL --npy DIR`. Loads the model and hands it to export.c, which
 * writes the .npy files and model.json.
 */
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "model.h"
#include "net.h"

#include <stdio.h>
#include <string.h>

static const char *const help =
    "usage: mlp export MODEL --npy DIR\n"
    "\n"
    "Writes MODEL for NumPy and PyTorch into DIR (created if missing; files already there\n"
    "are replaced): for each layer l, W<l>.npy, its weights, of shape (outputs, inputs) like\n"
    "torch.nn.Linear.weight, and b<l>.npy, its biases, both NumPy format 1.0 little-endian\n"
    "float32 in C order; and model.json: layer sizes, activations, cost, input shape and\n"
    "scaling, and the training record. Layer l computes f(x @ W<l>.T + b<l>), where f is\n"
    "the hidden activation, or for the last layer sigmoid (quadratic cost) or softmax\n"
    "(xent), and the input x is the image's pixels, row by row, divided by 255.\n"
    "\n"
    "  --npy DIR   the directory to write (required)\n";

static int export_main(int argc, char **argv)
{
    mlp_args a = {.cmd = "export", .argc = argc, .argv = argv};
    const char *model = NULL, *npy = NULL;
    int rc = 0;
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (model)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            model = s;
        } else if (mlp_cli_flag(&a, "--npy")) {
            rc = mlp_cli_string(&a, &npy);
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc != 0)
        return rc;
    if (!model)
        return mlp_cli_usage(a.cmd, "missing MODEL");
    if (!npy)
        return mlp_cli_usage(a.cmd, "missing --npy DIR (the format to export to)");

    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    if (mlp_model_load(model, &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    /* every file checked against the model before the first is written */
    mlp_output_plan plan = {0};
    if (mlp_output_input(&plan, "MODEL", model, 0, &err) != MLP_OK ||
        mlp_export_npy_plan(&plan, npy, &net, &err) != MLP_OK ||
        mlp_export_npy(npy, &net, &meta, &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
    } else {
        char layout[256];
        mlp_cli_layout(layout, sizeof layout, &net);
        printf("exported %s (%s, %zu parameters) to %s:", model, layout, net.n_params, npy);
        for (size_t l = 0; l < net.n_layers; l++)
            printf(" W%zu.npy b%zu.npy", l, l);
        printf(" model.json\n");
    }
    mlp_output_plan_free(&plan);
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_export = {
    "export", "MODEL --npy DIR", "write a model as NumPy .npy files and model.json",
    help,     export_main,       NULL};
