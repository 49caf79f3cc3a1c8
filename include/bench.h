/*
 * bench: the `mlp bench` command. Trains the benchmark configurations on real data and
 * reports seconds per epoch, images per second, GFLOP/s and their share of the machine's FMA
 * peak, measured by a probe in the same run. Like main.c, a command-line file: it prints.
 */
#ifndef MLP_BENCH_H
#define MLP_BENCH_H

extern const char *const mlp_bench_help;

/* argv holds the arguments after "bench"; returns the exit status. */
int mlp_bench_main(int argc, char **argv);

#endif
