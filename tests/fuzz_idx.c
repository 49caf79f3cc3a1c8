/*
 * libFuzzer target for the IDX reader (make fuzz). The input is split in two at a point its
 * first byte chooses: an image file and a label file, written where the reader expects real
 * files and read by mlp_idx_load_set(). Any crash, leak or undefined behaviour is a finding;
 * a clean refusal is the expected outcome for almost every input.
 */
#define _POSIX_C_SOURCE 200809L
#include "idx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Files in a directory of this process's own, in memory-backed /dev/shm when there is one. */
static void temp_path(char *out, size_t cap, const char *name)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(out, cap, "%s/mlp-fuzz-idx-%ld-%s", base, (long)getpid(), name);
}

static void put(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char images[256], labels[256];
    if (size < 1)
        return 0;
    size_t split = 1 + (size - 1) * data[0] / 255;
    temp_path(images, sizeof images, "images");
    temp_path(labels, sizeof labels, "labels");
    put(images, data + 1, split - 1);
    put(labels, data + split, size - split);

    mlp_set s = {0};
    mlp_error err;
    if (mlp_idx_load_set(&s, images, labels, &err) == MLP_OK) {
        /* what a caller may rely on after success */
        if (s.dim != s.rows * s.cols || s.n == 0)
            abort();
        volatile float sink = s.x[s.n * s.dim - 1] + (float)s.y[s.n - 1];
        (void)sink;
        (void)mlp_idx_set_classes(&s);
        mlp_idx_set_free(&s);
    } else if (s.x || s.y || !memchr(err.msg, '\0', sizeof err.msg)) {
        abort();
    }
    unlink(images);
    unlink(labels);
    return 0;
}
