/*
 * libFuzzer target for the training log reader and the chart (make fuzz). The input is parsed
 * as a log by mlp_plot_parse(); when it parses, the chart is drawn into memory with
 * mlp_plot_svg_write() and must be what plot.h promises: one SVG document, no "nan" or "inf"
 * (every value of a log is finite), and no larger than its bound for that many rows. A chart
 * that never ends (a tick loop stepping by less than the spacing of doubles) is a timeout. Any
 * crash, leak or undefined behaviour is a finding; a clean refusal is the common outcome.
 */
#define _POSIX_C_SOURCE 200809L
#include "plot.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* plot.h's bound on a chart of n rows, with a title of a few characters and room to spare */
static size_t svg_bound(size_t n)
{
    return 32768 + 56 * n + (n <= 300 ? 4 * 256 * n : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlp_plot_curve c;
    mlp_error err;
    if (mlp_plot_parse(&c, (const char *)data, size, "fuzz", &err) != MLP_OK) {
        if (c.rows || !memchr(err.msg, '\0', sizeof err.msg))
            abort();
        return 0;
    }
    for (size_t i = 0; i < c.n; i++) { /* what a caller may rely on after success */
        const mlp_plot_row *r = &c.rows[i];
        if (r->epoch < 1 || r->epoch > MLP_PLOT_MAX_EPOCH || (i > 0 && r->epoch <= r[-1].epoch) ||
            !(isnan(r->cost) || r->cost >= 0.0))
            abort();
        const double v[] = {r->cost, r->train_acc, r->val_acc, r->test_acc, r->lr, r->seconds};
        for (size_t k = 0; k < 6; k++)
            if (isinf(v[k]) || (k >= 1 && k <= 3 && (v[k] < 0.0 || v[k] > 100.0)))
                abort();
    }
    char *svg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&svg, &len);
    if (!f)
        abort();
    mlp_plot_svg_write(f, &c, "fuzz");
    if (ferror(f) || fclose(f) != 0)
        abort();
    const char *end = "</svg>\n";
    if (len > svg_bound(c.n) || strncmp(svg, "<?xml", 5) != 0 || len < strlen(end) ||
        strcmp(svg + len - strlen(end), end) != 0 || strstr(svg, "nan") || strstr(svg, "inf"))
        abort();
    free(svg);
    mlp_plot_free(&c);
    return 0;
}
