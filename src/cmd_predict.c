/*
 * cmd_predict: `mlp predict MODEL IMAGE`. Classifies one greyscale PGM image of the model's
 * input size and prints every class's score.
 */
#include "cli.h"
#include "commands.h"
#include "model.h"
#include "net.h"
#include "pgm.h"
#include "term.h"

#include <stdio.h>
#include <string.h>

static const char *const help =
    "usage: mlp predict MODEL IMAGE [FLAGS]\n"
    "\n"
    "Classifies IMAGE, a greyscale PGM file (P2 or P5, any maxval) of exactly the model's\n"
    "input size (28x28 for MNIST), and prints the class and every class's score: the sigmoid\n"
    "outputs of a quadratic-cost model, the softmax probabilities of a cross-entropy one.\n"
    "Pixels are scaled to [0, 1] by maxval; 0 is black. Any other format or size is refused.\n"
    "\n"
    "  --invert    use 1 - pixel: MNIST digits are light on a dark background, so a dark\n"
    "              digit on white paper needs it\n"
    "  --show      draw the image as the model sees it\n"
    "  --ascii     draw with plain ASCII instead of Unicode shades and bars\n";

static int predict_main(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    int n_pos = 0;
    bool invert = false, show = false, ascii = false;
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_pgm img = {0};
    mlp_error err;
    int rc = 0;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--invert"))
            invert = true;
        else if (!strcmp(argv[i], "--show"))
            show = true;
        else if (!strcmp(argv[i], "--ascii"))
            ascii = true;
        else if (mlp_cli_is_flag(argv[i]))
            return mlp_cli_usage("predict", "unknown flag '%s'", argv[i]);
        else if (n_pos == 2)
            return mlp_cli_usage("predict", "unexpected argument '%s'", argv[i]);
        else
            pos[n_pos++] = argv[i];
    }
    if (n_pos < 2)
        return mlp_cli_usage("predict", n_pos ? "missing IMAGE" : "missing MODEL and IMAGE");

    if (mlp_model_load(pos[0], &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (mlp_pgm_load(&img, pos[1], &err) != MLP_OK) {
        rc = mlp_cli_fail(&err);
        goto out;
    }
    if (img.width != meta.cols || img.height != meta.rows) {
        fprintf(stderr, "mlp: %s: the image is %zux%zu, the model %s takes %ux%u; resize it\n",
                pos[1], img.width, img.height, pos[0], (unsigned)meta.cols, (unsigned)meta.rows);
        rc = MLP_EXIT_DATA;
        goto out;
    }
    const size_t n = img.width * img.height, K = net.sizes[net.n_layers];
    double mean = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (invert)
            img.px[i] = 1.0f - img.px[i];
        mean += (double)img.px[i] / (double)n;
    }
    mlp_net_set_input(&net, 0, img.px);
    mlp_net_forward(&net, 1);
    const float *o = net.a[net.n_layers];
    size_t best = mlp_net_predict_row(&net, 0);

    printf("image %s: %zux%zu, maxval %u%s\n", pos[1], img.width, img.height, img.maxval,
           invert ? ", inverted" : "");
    if (show)
        mlp_cli_image(img.px, img.height, img.width, ascii);
    printf("class %zu\n\n", best);
    printf("class  %s (* the largest)\n",
           net.cost == MLP_COST_XENT ? "probability" : "score (sigmoid output)");
    for (size_t j = 0; j < K; j++) {
        char bar[256];
        mlp_term_bar(bar, sizeof bar, (double)o[j], 30, ascii);
        printf("%5zu  %.4f", j, (double)o[j]);
        if (j == best || bar[0])
            printf(" %s%s%s", j == best ? "*" : " ", bar[0] ? " " : "", bar);
        putchar('\n');
    }
    if (mean > 0.5 && !invert)
        printf("\nnote: the image is mostly bright, but the model learnt light digits on a dark "
               "background;\nif this one is dark on light, try --invert\n");
out:
    mlp_pgm_free(&img);
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_predict = {
    "predict", "MODEL IMAGE", "classify one PGM image and print every class's score",
    help,      predict_main,  NULL};
