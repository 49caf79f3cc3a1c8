/*
 * main: the command-line entry. Finds the command in the table and hands it the rest of the
 * arguments; `mlp help`, `mlp COMMAND --help` and `mlp --version`. Each command lives in a
 * file of its own (cmd_*.c). Exit status: 0 success, 1 data, model or I/O error,
 * 2 usage error, 130/143/129 training stopped by SIGINT/SIGTERM/SIGHUP after saving.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "commands.h"
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* one command a line, in the order `mlp help` lists them */
/* clang-format off */
static const mlp_command *const commands[] = {
    &mlp_cmd_train,
    &mlp_cmd_presets,
    &mlp_cmd_eval,
    &mlp_cmd_info,
    &mlp_cmd_export,
    &mlp_cmd_bench,
    &mlp_cmd_gradcheck,
    &mlp_cmd_explain,
    &mlp_cmd_predict,
    &mlp_cmd_serve,
    &mlp_cmd_weights,
    &mlp_cmd_plot,
    &mlp_cmd_lr_find,
};
/* clang-format on */
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const mlp_command *find(const char *name)
{
    for (size_t c = 0; c < N_COMMANDS; c++)
        if (!strcmp(commands[c]->name, name))
            return commands[c];
    return NULL;
}

static void overview(FILE *f)
{
    fprintf(f,
            "mlp %s - train and evaluate multilayer perceptrons on MNIST-style IDX data\n\n"
            "usage: mlp COMMAND [ARGS]\n\ncommands:\n",
            MLP_VERSION);
    for (size_t c = 0; c < N_COMMANDS; c++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[c]->name, commands[c]->args);
        fprintf(f, "  %-22s %s\n", head, commands[c]->summary);
    }
    fprintf(f, "  %-22s %s\n", "help [COMMAND]", "this text, or a command's flags");
    fprintf(f, "  %-22s %s\n", "--version", "print the version");
    fprintf(f, "\nDIR holds train-images-idx3-ubyte, train-labels-idx1-ubyte, "
               "t10k-images-idx3-ubyte and\nt10k-labels-idx1-ubyte (or the same names with "
               "'.idx3'/'.idx1'), each plain or gzipped (.gz);\n--train-images, "
               "--train-labels, --test-images and --test-labels name files directly.\n"
               "'make data' fetches MNIST. 'man mlp' has the whole manual.\n\n"
               "exit status: 0 success, 1 data, model or I/O error, 2 usage error,\n"
               "130/143/129 training stopped by SIGINT/SIGTERM/SIGHUP after saving a "
               "checkpoint\n");
}

static void print_help(const mlp_command *c)
{
    fputs(c->help, stdout);
    if (c->help_more)
        c->help_more(stdout);
}

static int help_main(int argc, char **argv)
{
    if (argc == 0) {
        overview(stdout);
        return MLP_EXIT_OK;
    }
    if (argc > 1)
        return mlp_cli_usage("help", "unexpected argument '%s'", argv[1]);
    const mlp_command *c = find(argv[0]);
    if (!c)
        return mlp_cli_usage("help", "unknown command '%s'", argv[0]);
    print_help(c);
    return MLP_EXIT_OK;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    return false;
}

/* What a command printed must have reached stdout: a full disk or a closed pipe is an
 * error like any other, not a silent exit 0. A command that failed has said why already. */
static int finish(const char *cmd, int rc)
{
    errno = 0;
    if ((fflush(stdout) == 0 && !ferror(stdout)) || rc != 0)
        return rc;
    fprintf(stderr, "mlp %s: standard output: write error%s%s\n", cmd, errno ? ": " : "",
            errno ? strerror(errno) : "");
    return rc ? rc : MLP_EXIT_DATA;
}

/* A program started with stdin, stdout or stderr closed would hand those numbers to the
 * first files it opens, and its output would land in them: hold each with /dev/null, read
 * only, so that writes to a closed stdout fail and are reported. */
static void hold_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF && open("/dev/null", O_RDONLY) != fd)
            _exit(MLP_EXIT_DATA);
}

int main(int argc, char **argv)
{
    hold_standard_fds();
    if (argc < 2) {
        overview(stderr);
        return MLP_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("mlp %s\n", MLP_VERSION);
        return finish("--version", MLP_EXIT_OK);
    }
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h"))
        return finish("help", help_main(argc - 2, argv + 2));
    const mlp_command *c = find(name);
    if (!c)
        return mlp_cli_usage(NULL, "unknown command '%s'", name);
    if (wants_help(argc - 2, argv + 2)) {
        print_help(c);
        return finish(name, MLP_EXIT_OK);
    }
    mlp_output_signals(NULL); /* no signal leaves a temporary or lock file behind */
    return finish(name, c->main(argc - 2, argv + 2));
}
