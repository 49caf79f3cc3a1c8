/*
 * options: the names and the fields of the training options, each written once.
 *
 * The names of the activations, costs and schedules, in the order of their enums (mlp_act,
 * mlp_cost, mlp_schedule), NULL-terminated as Lua's luaL_checkoption wants its list: the flags
 * read them (cli.c), the record and the reports print them (net.c, export.c, cmd_train.c).
 *
 * mlp_opt_fields: the fields of mlp_sgd_opts (sgd.h) that a model file carries, one row
 * each, in the order of the file's options block (model.h), with the kind of bytes each
 * takes there; model.c writes and reads the block from it. What the command line does with
 * the options (flags, ranges, help, presets, the record, resuming) is cmd_train.c's table.
 */
#ifndef MLP_OPTIONS_H
#define MLP_OPTIONS_H

#include <stddef.h>

extern const char *const mlp_opt_act_names[];      /* "sigmoid", "tanh", "relu", NULL */
extern const char *const mlp_opt_cost_names[];     /* "quadratic", "xent", NULL */
extern const char *const mlp_opt_schedule_names[]; /* "constant", "linear", "step", "cosine" */

/* names[k], or "?" when k is not one of them (a value from an unchecked source) */
const char *mlp_opt_name(const char *const *names, size_t k);
/* how many names a NULL-terminated table holds */
size_t mlp_opt_count(const char *const *names);

typedef enum {
    MLP_OPT_U32,      /* a size_t field, as a u32 */
    MLP_OPT_F32,      /* a float, as an f32 */
    MLP_OPT_BOOL,     /* a bool, as a u32 0 or 1 */
    MLP_OPT_SCHEDULE, /* an mlp_schedule, as a u32 index of mlp_opt_schedule_names */
} mlp_opt_kind;

typedef struct {
    const char *name;  /* the field's name in mlp_sgd_opts: "lr", "aug.translate" */
    size_t at;         /* offsetof(mlp_sgd_opts, ...) */
    mlp_opt_kind kind; /* every kind takes 4 bytes in the file */
} mlp_opt_field;

#define MLP_OPT_FIELDS 20 /* rows of mlp_opt_fields: 4 * MLP_OPT_FIELDS bytes in the file */
extern const mlp_opt_field mlp_opt_fields[MLP_OPT_FIELDS];

#endif
