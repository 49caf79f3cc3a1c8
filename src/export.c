/*
 * export: writes a model as .npy files and model.json (layout in export.h). Knows the
 * network's parameter layout through net.h's views W[] and b[], and nothing of model.bin.
 */
#define _POSIX_C_SOURCE 200809L
#include "export.h"

#include "npy.h"
#include "options.h"
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FORMAT_VERSION 1

const char *mlp_export_output_activation(const mlp_net *net)
{
    return net->cost == MLP_COST_XENT ? "softmax" : "sigmoid";
}

/* The training options a model file carries (the rows of mlp_options with a slot), in the
 * table's order under their JSON names; the members named "augmentation.x" make one nested
 * object, which the rows of the table keep together. */
static void describe_options(mlp_json *j, const mlp_sgd_opts *o)
{
    mlp_train_opts t = {.sgd = *o};
    char nest[32] = ""; /* the nested object open, or "" */
    for (size_t k = 0; k < MLP_OPTIONS; k++) {
        const mlp_option *f = &mlp_options[k];
        if (!f->slot)
            continue;
        const char *dot = strchr(f->json, '.'), *name = dot ? dot + 1 : f->json;
        size_t n = dot ? (size_t)(dot - f->json) : 0;
        if (nest[0] && (n != strlen(nest) || strncmp(nest, f->json, n))) {
            mlp_json_end(j);
            nest[0] = '\0';
        }
        if (dot && !nest[0]) {
            snprintf(nest, sizeof nest, "%.*s", (int)n, f->json);
            mlp_json_object(j, nest);
        }
        const void *p = (const char *)&t + f->at;
        int v;
        switch (f->type) {
        case MLP_OPT_SIZE:
            mlp_json_uint(j, name, *(const size_t *)p);
            break;
        case MLP_OPT_SWITCH:
            mlp_json_bool(j, name, *(const bool *)p);
            break;
        case MLP_OPT_NAME:
            memcpy(&v, p, sizeof v);
            mlp_json_string(j, name, mlp_opt_name(f->names, (size_t)v));
            break;
        case MLP_OPT_ELASTIC: { /* A[,S]: NAME_alpha and NAME_sigma */
            char key[64];
            snprintf(key, sizeof key, "%s_alpha", name);
            mlp_json_float(j, key, o->aug.elastic_alpha);
            snprintf(key, sizeof key, "%s_sigma", name);
            mlp_json_float(j, key, o->aug.elastic_sigma);
            break;
        }
        default:
            mlp_json_float(j, name, *(const float *)p);
        }
    }
    if (nest[0])
        mlp_json_end(j);
}

void mlp_export_describe(mlp_json *j, const mlp_net *net, const mlp_model_meta *meta,
                         bool npy_files)
{
    char name[32];
    mlp_json_array(j, "sizes");
    for (size_t l = 0; l <= net->n_layers; l++)
        mlp_json_uint(j, NULL, net->sizes[l]);
    mlp_json_end(j);
    mlp_json_object(j, "input");
    mlp_json_uint(j, "rows", meta->rows);
    mlp_json_uint(j, "cols", meta->cols);
    mlp_json_string(j, "order", "row-major");
    mlp_json_number(j, "divide_by", 255);
    mlp_json_end(j);
    mlp_json_uint(j, "classes", net->sizes[net->n_layers]);
    mlp_json_string(j, "hidden_activation", mlp_act_name(net->act));
    mlp_json_string(j, "output_activation", mlp_export_output_activation(net));
    mlp_json_string(j, "cost", mlp_cost_name(net->cost));
    mlp_json_uint(j, "parameters", net->n_params);
    mlp_json_array(j, "layers");
    for (size_t l = 0; l < net->n_layers; l++) {
        mlp_json_object(j, NULL);
        if (npy_files) {
            snprintf(name, sizeof name, "W%zu.npy", l);
            mlp_json_string(j, "weight", name);
            snprintf(name, sizeof name, "b%zu.npy", l);
            mlp_json_string(j, "bias", name);
        }
        mlp_json_array(j, "weight_shape");
        mlp_json_uint(j, NULL, net->sizes[l + 1]);
        mlp_json_uint(j, NULL, net->sizes[l]);
        mlp_json_end(j);
        mlp_json_array(j, "bias_shape");
        mlp_json_uint(j, NULL, net->sizes[l + 1]);
        mlp_json_end(j);
        mlp_json_string(j, "activation",
                        l + 1 < net->n_layers ? mlp_act_name(net->act)
                                              : mlp_export_output_activation(net));
        mlp_json_end(j);
    }
    mlp_json_end(j);
    mlp_json_object(j, "training");
    const mlp_sgd_opts *o = &meta->opt;
    if (meta->has_state)
        mlp_json_uint(j, "epochs_done", meta->sgd.epoch);
    else
        mlp_json_null(j, "epochs_done");
    mlp_json_uint(j, "images", meta->n_train - o->val);
    describe_options(j, o);
    mlp_json_uint(j, "seed", meta->seed);
    mlp_json_end(j);
    if (meta->test_accuracy >= 0.0f)
        mlp_json_float(j, "test_accuracy", meta->test_accuracy);
    else
        mlp_json_null(j, "test_accuracy");
    mlp_json_string(j, "command", meta->cmdline[0] ? meta->cmdline : NULL);
}

mlp_status mlp_export_path(char *path, size_t cap, const char *dir, const char *name,
                           mlp_error *err)
{
    const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
    int len = snprintf(path, cap, "%s%s%s", dir, sep, name);
    if (len <= 0 || (size_t)len >= cap)
        return mlp_fail(err, MLP_EARG, "%s: path too long", dir);
    return MLP_OK;
}

mlp_status mlp_export_dir(const char *dir, mlp_error *err)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return mlp_fail(err, MLP_EIO, "%s: cannot create: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mlp_fail(err, MLP_EIO, "%s: not a directory", dir);
    return MLP_OK;
}

struct described {
    const mlp_net *net;
    const mlp_model_meta *meta;
    const char *path;
};

static mlp_status write_json(FILE *f, void *ctx, mlp_error *err)
{
    const struct described *d = ctx;
    mlp_json j;
    mlp_json_start(&j, f);
    mlp_json_object(&j, NULL);
    mlp_json_string(&j, "format", "mlp-npy");
    mlp_json_uint(&j, "version", FORMAT_VERSION);
    mlp_export_describe(&j, d->net, d->meta, true);
    mlp_json_end(&j);
    return mlp_json_finish(&j, d->path, err);
}

/* The path of file k of the export into dir: W0.npy b0.npy W1.npy ... model.json (k = 2L). */
static mlp_status file_path(char *path, size_t cap, const char *dir, const mlp_net *net, size_t k,
                            mlp_error *err)
{
    char name[32];
    if (k < 2 * net->n_layers)
        snprintf(name, sizeof name, "%c%zu.npy", k % 2 ? 'b' : 'W', k / 2);
    else
        snprintf(name, sizeof name, "model.json");
    return mlp_export_path(path, cap, dir, name, err);
}

mlp_status mlp_export_npy_plan(mlp_output_plan *p, const char *dir, const mlp_net *net,
                               mlp_error *err)
{
    char path[MLP_OUTPUT_MAX_PATH];
    mlp_status s = mlp_export_dir(dir, err);
    for (size_t k = 0; s == MLP_OK && k <= 2 * net->n_layers; k++) {
        if ((s = file_path(path, sizeof path, dir, net, k, err)) != MLP_OK)
            break;
        s = mlp_output_target(p, k < 2 * net->n_layers ? ".npy file" : "model.json", path, 0, err);
    }
    return s;
}

mlp_status mlp_export_npy(const char *dir, const mlp_net *net, const mlp_model_meta *meta,
                          mlp_error *err)
{
    char path[MLP_OUTPUT_MAX_PATH];
    mlp_output_plan p = {0};
    mlp_status s = mlp_export_npy_plan(&p, dir, net, err);
    for (size_t k = 0; s == MLP_OK && k <= 2 * net->n_layers; k++) {
        size_t l = k / 2;
        const size_t shape[2] = {net->sizes[l + 1], net->sizes[l]};
        if ((s = file_path(path, sizeof path, dir, net, k, err)) != MLP_OK)
            break;
        if (k == 2 * net->n_layers) {
            struct described d = {net, meta, path};
            s = mlp_output_save("model.json", path, write_json, &d, err);
        } else if (k % 2 == 0) {
            s = mlp_npy_write(path, net->W[l], shape, 2, err);
        } else {
            s = mlp_npy_write(path, net->b[l], shape, 1, err);
        }
    }
    mlp_output_plan_free(&p);
    return s;
}
