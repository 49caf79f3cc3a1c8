/*
 * cmd_info: `mlp info MODEL [--json]`: a model's architecture and the record of its training
 * (the options, the state of a checkpoint, the command line that reproduces it).
 */
#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "export_c.h"
#include "json.h"
#include "model.h"
#include "net.h"
#include "onnx.h"
#include "sgd.h"

#include <stdio.h>
#include <string.h>

static const char *const info_help =
    "usage: mlp info MODEL [--json]\n"
    "\n"
    "Prints MODEL's architecture, parameter count, training settings, the test accuracy\n"
    "measured when it was saved and the command line that reproduces it.\n"
    "\n"
    "  --json   print one JSON object instead, with the same contents\n";

/* The network: layout, activations, cost and the parameters of each layer. */
static void print_network(const char *model, const mlp_net *net, const mlp_model_meta *m)
{
    char layout[256];
    mlp_cli_layout(layout, sizeof layout, net);
    printf("model        %s\n", model);
    printf("network      %s (%zu inputs = %ux%u images, %zu classes)\n", layout, net->sizes[0],
           (unsigned)m->rows, (unsigned)m->cols, net->sizes[net->n_layers]);
    printf("activation   %s hidden, %s outputs\n", mlp_act_name(net->act),
           net->cost == MLP_COST_XENT ? "softmax" : "sigmoid");
    printf("cost         %s\n", net->cost == MLP_COST_XENT ? "cross-entropy" : "quadratic");
    printf("parameters   %zu\n", net->n_params);
    for (size_t l = 0; l < net->n_layers; l++)
        printf("  layer %zu    %zu x %zu weights + %zu biases\n", l + 1, net->sizes[l + 1],
               net->sizes[l], net->sizes[l + 1]);
}

/* How the model was trained: the options of the table's sections as the table phrases them
 * (the same words as train's plan), a checkpoint's progress, the test accuracy and the command
 * line; path is the file, for the resume hint. */
static void print_training(const mlp_net *net, const mlp_model_meta *m, const char *path)
{
    static const char *const sections[] = {"data", "gradient descent", "regularisation",
                                           "running"};
    static const char *const labels[] = {"data", "descent", "regularised", "running"};
    const mlp_sgd_opts *o = &m->opt;
    mlp_train_opts t = {.kernels = "auto"};
    char said[1024];
    mlp_checkpoint_opts(&t, net, m);
    if (m->has_state)
        printf("trained      %zu of %zu epochs", m->sgd.epoch, o->epochs);
    else
        printf("trained      %zu epochs", o->epochs);
    printf(" on %zu images\n", (size_t)m->n_train - o->val);
    if (m->has_state && m->sgd.pos)
        printf("             and %zu images of epoch %zu\n", m->sgd.pos, m->sgd.epoch + 1);
    for (size_t k = 0; k < 4; k++) {
        mlp_options_say(said, sizeof said, sections[k], &t);
        if (said[0])
            printf("%-12s %s\n", labels[k], said);
    }
    if (o->val && m->has_state && m->best_epoch)
        printf("validation   %zu images held out; these are the parameters of epoch %u, the best "
               "on them (%.2f%%)\n",
               o->val, (unsigned)m->best_epoch, 100.0 * (double)m->best_val);
    if (m->has_state && !m->sgd.pos && mlp_sgd_patience_out(o, m->sgd.epoch, m->best_epoch))
        printf("stopped      early after epoch %zu of %zu: no better validation accuracy in the "
               "%zu epochs since epoch %u (patience %zu)\n",
               m->sgd.epoch, o->epochs, m->sgd.epoch - m->best_epoch, (unsigned)m->best_epoch,
               o->patience);
    if (m->test_accuracy >= 0.0f)
        printf("test         %.2f%% accuracy when saved\n", 100.0 * (double)m->test_accuracy);
    printf("command      %s\n", m->cmdline[0] ? m->cmdline : "(not recorded)");
    if (m->has_state)
        printf("checkpoint   %s kernels; 'mlp train DIR --resume %s%s' continues it\n", m->kernels,
               path, m->sgd.epoch < o->epochs ? "" : " --epochs N");
}

/* Which formats `mlp export` can write this model in: every one but ONNX for a file past
 * protobuf's 2 GB, and int8 C for a layer whose int32 sums could overflow. */
typedef struct {
    bool onnx, c_int8;
    uint64_t onnx_bytes;
} export_formats;

static export_formats formats_of(const mlp_net *net, const mlp_model_meta *m)
{
    export_formats f = {.c_int8 = true};
    mlp_error err;
    f.onnx = mlp_onnx_bytes(net, m, MLP_VERSION, &f.onnx_bytes, &err) == MLP_OK;
    for (size_t l = 0; l < net->n_layers; l++)
        f.c_int8 = f.c_int8 && net->sizes[l] <= MLP_EXPORT_C_MAX_INT8_INPUTS;
    return f;
}

static void print_exports(const mlp_net *net, const mlp_model_meta *m)
{
    export_formats f = formats_of(net, m);
    printf("exports      --npy; ");
    if (f.onnx)
        printf("--onnx (%s bytes); ", mlp_cli_count(f.onnx_bytes).s);
    else
        printf("not --onnx (past protobuf's 2 GB); ");
    printf("--c (%s bytes of parameters)", mlp_cli_count(mlp_export_c_param_bytes(net, false)).s);
    if (f.c_int8)
        printf(", --c --int8 (%s)\n", mlp_cli_count(mlp_export_c_param_bytes(net, true)).s);
    else
        printf("; not --int8 (a layer of over %d inputs)\n", MLP_EXPORT_C_MAX_INT8_INPUTS);
}

static int info_main(int argc, char **argv)
{
    const char *model = NULL;
    bool json = false;
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (mlp_cli_is_flag(argv[i]))
            return mlp_cli_usage("info", "unknown flag '%s'", argv[i]);
        else if (model)
            return mlp_cli_usage("info", "unexpected argument '%s'", argv[i]);
        else
            model = argv[i];
    }
    if (!model)
        return mlp_cli_usage("info", "missing MODEL");
    if (mlp_model_load(model, &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (json) {
        mlp_json j;
        mlp_json_start(&j, stdout);
        mlp_json_object(&j, NULL);
        mlp_json_string(&j, "model", model);
        mlp_export_describe(&j, &net, &meta, false);
        export_formats f = formats_of(&net, &meta);
        mlp_json_array(&j, "exports");
        mlp_json_string(&j, NULL, "npy");
        if (f.onnx)
            mlp_json_string(&j, NULL, "onnx");
        mlp_json_string(&j, NULL, "c");
        if (f.c_int8)
            mlp_json_string(&j, NULL, "c-int8");
        mlp_json_end(&j);
        mlp_json_end(&j);
        mlp_net_free(&net);
        return mlp_json_finish(&j, "standard output", &err) == MLP_OK ? 0 : mlp_cli_fail(&err);
    }

    print_network(model, &net, &meta);
    print_training(&net, &meta, model);
    print_exports(&net, &meta);
    mlp_net_free(&net);
    return 0;
}

const mlp_command mlp_cmd_info = {
    "info",    "MODEL",   "print a model's architecture and how it was trained",
    info_help, info_main, NULL};
