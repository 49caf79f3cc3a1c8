/*
 * cmd_info: `mlp info MODEL [--json]`: a model's architecture and the record of its training
 * (the options, the state of a checkpoint, the command line that reproduces it).
 */
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "json.h"
#include "model.h"
#include "net.h"
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

/* How the model was trained: the options, a checkpoint's progress, the test accuracy and the
 * command line; path is the file, for the resume hint. */
static void print_training(const mlp_model_meta *m, const char *path)
{
    const mlp_sgd_opts *o = &m->opt;
    if (m->has_state)
        printf("trained      %zu of %zu epochs", m->sgd.epoch, o->epochs);
    else
        printf("trained      %zu epochs", o->epochs);
    printf(" on %zu images, batch %zu, seed %llu\n", (size_t)m->n_train - o->val, o->batch,
           (unsigned long long)m->seed);
    if (m->has_state && m->sgd.pos)
        printf("             and %zu images of epoch %zu\n", m->sgd.pos, m->sgd.epoch + 1);
    static const char *const sched[] = {"constant", "falling linearly to", "stepped down",
                                        "falling as a cosine to"};
    printf("step         learning rate %s %s", mlp_cli_exact(o->lr).s, sched[o->schedule]);
    if (o->schedule == MLP_SCHED_LINEAR || o->schedule == MLP_SCHED_COSINE)
        printf(" %s", mlp_cli_exact(o->lr_end).s);
    if (o->schedule == MLP_SCHED_STEP)
        printf(" by %s every %zu epochs", mlp_cli_exact(o->lr_gamma).s, o->lr_step);
    if (o->warmup)
        printf(" after %zu warm-up epochs", o->warmup);
    printf(", %smomentum %s, L2 weight decay %s\n", o->nesterov ? "Nesterov " : "",
           mlp_cli_exact(o->momentum).s, mlp_cli_exact(o->l2).s);
    if (o->drop_in > 0.0f || o->drop_hidden > 0.0f || o->maxnorm > 0.0f)
        printf("regularised  dropout %s of inputs, %s of hidden outputs; max-norm %s\n",
               mlp_cli_exact(o->drop_in).s, mlp_cli_exact(o->drop_hidden).s,
               o->maxnorm > 0.0f ? mlp_cli_exact(o->maxnorm).s : "off");
    if (mlp_augment_active(&o->aug))
        printf("augmented    shifts %s px, rotations %s deg, scaling %s, elastic %s,%s\n",
               mlp_cli_exact(o->aug.translate).s, mlp_cli_exact(o->aug.rotate).s,
               mlp_cli_exact(o->aug.scale).s, mlp_cli_exact(o->aug.elastic_alpha).s,
               mlp_cli_exact(o->aug.elastic_sigma).s);
    if (o->val && m->has_state && m->best_epoch)
        printf("validation   %zu images held out; these are the parameters of epoch %u, the best "
               "on them (%.2f%%)\n",
               o->val, (unsigned)m->best_epoch, 100.0 * (double)m->best_val);
    if (m->test_accuracy >= 0.0f)
        printf("test         %.2f%% accuracy when saved\n", 100.0 * (double)m->test_accuracy);
    printf("command      %s\n", m->cmdline[0] ? m->cmdline : "(not recorded)");
    if (m->has_state)
        printf("checkpoint   %s kernels; 'mlp train DIR --resume %s%s' continues it\n", m->kernels,
               path, m->sgd.epoch < o->epochs ? "" : " --epochs N");
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
        mlp_json_end(&j);
        mlp_net_free(&net);
        return mlp_json_finish(&j, "standard output", &err) == MLP_OK ? 0 : mlp_cli_fail(&err);
    }

    print_network(model, &net, &meta);
    print_training(&meta, model);
    mlp_net_free(&net);
    return 0;
}

const mlp_command mlp_cmd_info = {
    "info",    "MODEL",   "print a model's architecture and how it was trained",
    info_help, info_main, NULL};
