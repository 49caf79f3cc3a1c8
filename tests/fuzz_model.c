/*
 * libFuzzer target for the model loader (make fuzz). The input is written to a file and
 * loaded with mlp_model_load_state(); when it loads, the network runs a forward pass, so every
 * view the loader set up is exercised. It is loaded with mlp_model_load() too, which must
 * agree on whether the file is good and keep no arrays. Any crash, leak or undefined
 * behaviour is a finding.
 */
#define _POSIX_C_SOURCE 200809L
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/mlp-fuzz-model-%ld.bin", base, (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    mlp_status with_state = mlp_model_load_state(path, &net, 1, &meta, &err);
    if (with_state == MLP_OK) {
        /* keep the forward pass cheap: only small networks are run */
        if (net.n_params < (1u << 16)) {
            float *zeros = calloc(net.sizes[0], sizeof *zeros);
            if (zeros) {
                mlp_net_set_input(&net, 0, zeros);
                mlp_net_forward(&net, 1);
            }
            free(zeros);
        }
        mlp_model_meta_free(&meta);
        mlp_net_free(&net);
    } else if (net.params || meta.vel || meta.sq || meta.cur) {
        abort();
    }
    /* the same checks without the arrays: the same verdict (short of memory), nothing kept */
    mlp_status plain = mlp_model_load(path, &net, 1, &meta, &err);
    if (meta.vel || meta.sq || meta.cur || (plain != with_state && with_state != MLP_ENOMEM))
        abort();
    mlp_net_free(&net);
    unlink(path);
    return 0;
}
