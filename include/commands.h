/*
 * commands: mlp's commands, one file each (cmd_*.c), listed by main.c. Adding a
 * command is a new file defining one of these and a line in main.c's table.
 */
#ifndef MLP_COMMANDS_H
#define MLP_COMMANDS_H

#include "idx.h"
#include "net.h"
#include "options.h"
#include "output.h"
#include "sgd.h"

#include <signal.h>
#include <stdio.h>

typedef struct {
    const char *name;                   /* "train" */
    const char *args;                   /* "[DIR]", for the overview */
    const char *summary;                /* one line, for the overview */
    const char *help;                   /* `mlp help NAME` and `mlp NAME --help` */
    int (*main)(int argc, char **argv); /* the arguments after the name; returns the status */
    void (*help_more)(FILE *out);       /* prints the rest of the help, or NULL: the part a
                                         * table generates (train's flags, the presets) */
} mlp_command;

extern const mlp_command mlp_cmd_train, mlp_cmd_presets, mlp_cmd_eval, mlp_cmd_info, mlp_cmd_export,
    mlp_cmd_bench;
extern const mlp_command mlp_cmd_gradcheck, mlp_cmd_explain, mlp_cmd_predict, mlp_cmd_weights,
    mlp_cmd_plot, mlp_cmd_lr_find, mlp_cmd_serve;

/* What lr-find (cmd_lrfind.c) runs in place of train's epochs, given all that train prepares
 * from the same flags: the options, the network and optimiser, the training set (validation
 * rows included; s knows which), the files planned (--log and --plot among them) and the flag
 * a signal raises. Returns the exit status. */
typedef int (*mlp_train_body)(void *ctx, mlp_net *net, mlp_sgd *s, const mlp_set *train,
                              const mlp_train_opts *o, const mlp_output_plan *files,
                              const volatile sig_atomic_t *stop);

/* `mlp train`'s preparation for argv (the flags as train reads them, its usage messages
 * naming cmd), without a model file or a record of the run, then body; cmd_train.c. */
int mlp_train_prepared(const char *cmd, int argc, char **argv, mlp_train_body body, void *ctx);

#endif
