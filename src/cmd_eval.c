/*
 * cmd_eval: `mlp eval MODEL [DIR]` (accuracy, confusion matrix, per-class precision and
 * recall on DIR's test set) and `mlp info MODEL` (architecture and training record).
 */
#include "cli.h"
#include "commands.h"
#include "eval.h"
#include "idx.h"
#include "model.h"
#include "net.h"
#include "sgd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const eval_help =
    "usage: mlp eval MODEL [DIR]\n"
    "\n"
    "Evaluates MODEL on DIR/t10k-images-idx3-ubyte and DIR/t10k-labels-idx1-ubyte (default\n"
    "DIR: data): accuracy, mean cost, the confusion matrix (rows: true class, columns:\n"
    "predicted class) and each class's precision and recall.\n";

static const char *const info_help =
    "usage: mlp info MODEL\n"
    "\n"
    "Prints MODEL's architecture, parameter count, training settings, the test accuracy\n"
    "measured when it was saved and the command line that reproduces it.\n";

static void print_eval(const mlp_eval_result *r)
{
    const size_t K = r->classes;
    printf("accuracy %.2f%% (%zu/%zu)  mean cost %.4f\n\n", 100.0 * mlp_eval_accuracy(r),
           r->correct, r->n, r->cost);
    printf("confusion matrix (rows: true class, columns: predicted class)\n     ");
    for (size_t p = 0; p < K; p++)
        printf(" %5zu", p);
    printf("\n");
    for (size_t t = 0; t < K; t++) {
        printf("%5zu", t);
        for (size_t p = 0; p < K; p++)
            printf(" %5zu", r->confusion[t * K + p]);
        printf("\n");
    }
    printf("\nclass  precision  recall\n");
    for (size_t c = 0; c < K; c++) {
        double pr = mlp_eval_precision(r, c), re = mlp_eval_recall(r, c);
        printf("%5zu", c);
        if (isnan(pr))
            printf("  %9s", "-");
        else
            printf("  %8.2f%%", 100.0 * pr);
        if (isnan(re))
            printf("  %6s\n", "-");
        else
            printf("  %6.2f%%\n", 100.0 * re);
    }
}

static int eval_main(int argc, char **argv)
{
    const char *pos[2] = {NULL, "data"};
    int n_pos = 0;
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_set test = {0};
    mlp_eval_result ev = {0};
    mlp_error err;
    int rc = 0;

    for (int i = 0; i < argc; i++) {
        if (mlp_cli_is_flag(argv[i]))
            return mlp_cli_usage("eval", "unknown flag '%s'", argv[i]);
        if (n_pos == 2)
            return mlp_cli_usage("eval", "unexpected argument '%s'", argv[i]);
        pos[n_pos++] = argv[i];
    }
    if (n_pos == 0)
        return mlp_cli_usage("eval", "missing MODEL");

    if (mlp_model_load(pos[0], &net, MLP_EVAL_BATCH, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (mlp_idx_load_test(&test, pos[1], &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    if (test.rows != meta.rows || test.cols != meta.cols) {
        fprintf(stderr, "mlp: %s: model takes %ux%u images, %s has %zux%zu\n", pos[0],
                (unsigned)meta.rows, (unsigned)meta.cols, pos[1], test.rows, test.cols);
        rc = MLP_EXIT_DATA;
        goto out;
    }
    if (mlp_eval(&net, &test, &ev, &err) != MLP_OK) {
        fprintf(stderr, "mlp: %s on %s: %s\n", pos[0], pos[1], err.msg);
        rc = MLP_EXIT_DATA;
        goto out;
    }
    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &net);
    printf("model %s: %s, %s hidden, %s cost\n", pos[0], layout, mlp_act_name(net.act),
           mlp_cost_name(net.cost));
    printf("data %s: %zu test images\n", pos[1], test.n);
    print_eval(&ev);
out:
    mlp_eval_free(&ev);
    mlp_set_free(&test);
    mlp_model_meta_free(&meta);
    mlp_net_free(&net);
    return rc;
}

static int info_main(int argc, char **argv)
{
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    if (argc < 1)
        return mlp_cli_usage("info", "missing MODEL");
    if (argc > 1)
        return mlp_cli_usage(
            "info", mlp_cli_is_flag(argv[1]) ? "unknown flag '%s'" : "unexpected argument '%s'",
            argv[1]);
    if (mlp_cli_is_flag(argv[0]))
        return mlp_cli_usage("info", "unknown flag '%s'", argv[0]);
    if (mlp_model_load(argv[0], &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);

    char layout[256];
    mlp_cli_layout(layout, sizeof layout, &net);
    printf("model        %s\n", argv[0]);
    printf("network      %s (%zu inputs = %ux%u images, %zu classes)\n", layout, net.sizes[0],
           (unsigned)meta.rows, (unsigned)meta.cols, net.sizes[net.n_layers]);
    printf("activation   %s hidden, %s outputs\n", mlp_act_name(net.act),
           net.cost == MLP_COST_XENT ? "softmax" : "sigmoid");
    printf("cost         %s\n", net.cost == MLP_COST_XENT ? "cross-entropy" : "quadratic");
    printf("parameters   %zu\n", net.n_params);
    for (size_t l = 0; l < net.n_layers; l++)
        printf("  layer %zu    %zu x %zu weights + %zu biases\n", l + 1, net.sizes[l + 1],
               net.sizes[l], net.sizes[l + 1]);
    const mlp_sgd_opts *o = &meta.opt;
    if (meta.has_state)
        printf("trained      %llu of %zu epochs", (unsigned long long)meta.done_epochs, o->epochs);
    else
        printf("trained      %zu epochs", o->epochs);
    printf(" on %zu images, batch %zu, seed %llu\n", (size_t)meta.n_train - o->val, o->batch,
           (unsigned long long)meta.seed);
    if (meta.has_state && meta.pos)
        printf("             and %llu images of epoch %llu\n", (unsigned long long)meta.pos,
               (unsigned long long)meta.done_epochs + 1);
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
    if (o->val && meta.has_state && meta.best_epoch)
        printf("validation   %zu images held out; these are the parameters of epoch %u, the best "
               "on them (%.2f%%)\n",
               o->val, (unsigned)meta.best_epoch, 100.0 * (double)meta.best_val);
    if (meta.test_accuracy >= 0.0f)
        printf("test         %.2f%% accuracy when saved\n", 100.0 * (double)meta.test_accuracy);
    printf("command      %s\n", meta.cmdline[0] ? meta.cmdline : "(not recorded)");
    if (meta.has_state)
        printf("checkpoint   %s kernels; 'mlp train DIR --resume %s%s' continues it\n",
               meta.kernels, argv[0], meta.done_epochs < o->epochs ? "" : " --epochs N");
    mlp_model_meta_free(&meta);
    mlp_net_free(&net);
    return 0;
}

const mlp_command mlp_cmd_eval = {"eval", "MODEL [DIR]",
                                  "evaluate MODEL on DIR's test files (default: data)", eval_help,
                                  eval_main};
const mlp_command mlp_cmd_info = {
    "info", "MODEL", "print a model's architecture and how it was trained", info_help, info_main};
