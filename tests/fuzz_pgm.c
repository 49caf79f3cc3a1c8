/*
 * libFuzzer target for the PGM reader: any bytes must give a valid image or a clean refusal,
 * never a crash, an out-of-bounds read or an allocation the bytes do not justify. Seeds are
 * in tests/corpus/pgm/. Build and run (new inputs go to the first directory, not the seeds'):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz_pgm.c src/pgm.c \
 *       src/util.c -lm -o /tmp/fuzz_pgm
 *   mkdir -p /tmp/pgm-corpus && /tmp/fuzz_pgm -max_total_time=60 /tmp/pgm-corpus tests/corpus/pgm
 */
#include "pgm.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlp_pgm img;
    mlp_error err;
    if (mlp_pgm_parse(&img, data, size, "fuzz", &err) == MLP_OK) {
        /* every pixel was written and lies in [0, 1] */
        for (size_t i = 0; i < img.width * img.height; i++)
            if (!(img.px[i] >= 0.0f && img.px[i] <= 1.0f))
                abort();
        mlp_pgm_free(&img);
    } else if (img.px != NULL) {
        abort(); /* a refusal leaves nothing allocated */
    }
    return 0;
}
