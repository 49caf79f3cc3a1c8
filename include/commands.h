/*
 * commands: mlp's commands, one file each (cmd_*.c), listed by main.c. Adding a
 * command is a new file defining one of these and a line in main.c's table.
 */
#ifndef MLP_COMMANDS_H
#define MLP_COMMANDS_H

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
    mlp_cmd_plot, mlp_cmd_serve;

#endif
