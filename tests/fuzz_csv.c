/*
 * libFuzzer target for the CSV reader (make fuzz). Each input is written to a file and read by
 * mlp_csv_load() five ways: the label column detected, required and refused, with a 2x2
 * shape, and with three classes; so the seeds in tests/corpus/csv/ are plain CSV files (and a
 * gzipped one). The fuzz build reads plain files in windows of 64 bytes (MLP_CSV_CHUNK, set by
 * the Makefile), so that lines cross windows, and windows grow, in inputs of a few hundred
 * bytes. Any crash, leak or undefined behaviour is a finding; so is a success that breaks
 * what csv.h promises, or a refusal that leaves memory behind or says nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include "csv.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A file of this process's own, in memory-backed /dev/shm when there is one. */
static void temp_path(char *out, size_t cap)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(out, cap, "%s/mlp-fuzz-csv-%ld.csv", base, (long)getpid());
}

/* What a caller may rely on after a success. */
static void check_set(const mlp_set *s, const mlp_csv_info *info, const mlp_csv_opts *o)
{
    if (s->n == 0 || s->dim == 0 || s->dim != s->rows * s->cols || !s->x)
        abort();
    if (o->rows && (s->rows != o->rows || s->cols != o->cols))
        abort();
    if (info->labeled != (s->y != NULL) || info->columns != s->dim + info->labeled)
        abort();
    if (o->labels == MLP_CSV_LABELED && !info->labeled)
        abort();
    if (o->labels == MLP_CSV_UNLABELED && info->labeled)
        abort();
    for (size_t i = 0; i < s->n * s->dim; i++) {
        float v = s->x[i] * 255.0f;
        if (!(s->x[i] >= 0.0f && s->x[i] <= 1.0f) || v != rintf(v))
            abort();
    }
    for (size_t i = 0; s->y && o->classes && i < s->n; i++)
        if (s->y[i] >= o->classes)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const mlp_csv_opts ways[] = {
        {.labels = MLP_CSV_AUTO},
        {.labels = MLP_CSV_LABELED},
        {.labels = MLP_CSV_UNLABELED},
        {.labels = MLP_CSV_AUTO, .rows = 2, .cols = 2},
        {.labels = MLP_CSV_LABELED, .classes = 3, .classes_of = "the model's"},
    };
    char path[256];
    temp_path(path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    for (size_t k = 0; k < sizeof ways / sizeof ways[0]; k++) {
        mlp_set s = {0};
        mlp_csv_info info;
        mlp_error err;
        if (mlp_csv_load(&s, &info, path, &ways[k], &err) == MLP_OK) {
            check_set(&s, &info, &ways[k]);
            mlp_idx_set_free(&s);
        } else if (s.x || s.y || s.n || !memchr(err.msg, '\0', sizeof err.msg) ||
                   strncmp(err.msg, path, strlen(path)) != 0) {
            abort();
        }
    }
    unlink(path);
    return 0;
}
