/*
 * cmd_serve: `mlp serve MODEL [DIR] [--port N] [--host ADDR] [--public]`. Serves the page that
 * draws the network as the backpropagation lessons do, classifies what is drawn on it and
 * shows backprop's wishes (serve_app.c answers, serve.c serves), until Ctrl-C.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "commands.h"
#include "idx.h"
#include "model.h"
#include "output.h"
#include "serve.h"
#include "serve_app.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char *const help =
    "usage: mlp serve MODEL [DIR] [FLAGS]\n"
    "\n"
    "Serves a page that shows the network as the backpropagation lessons draw it: a canvas\n"
    "to draw a digit on (prepared as predict --center prepares a picture), the hidden layers\n"
    "as circles lit by their activations, the strongest weights as red (positive) and blue\n"
    "(negative) lines, the outputs as bars, and, for a class chosen as the true answer, the\n"
    "wishes backprop computes (the numbers of mlp explain) and the first-layer weights as mlp\n"
    "weights draws them. With DIR, its test images can be picked too. Prints the address and\n"
    "serves until Ctrl-C. Everything the page needs is inside the program.\n"
    "\n"
    "  --port N      the port (default: 0, one the system chooses, printed)\n"
    "  --host ADDR   the address to listen on (default: 127.0.0.1); a loopback address\n"
    "                (127.0.0.1, ::1, localhost) unless --public is given\n"
    "  --public      allow an address other machines reach (0.0.0.0, ::, a LAN address);\n"
    "                anyone who reaches it can use the page\n"
    "  --transpose   DIR stores its images transposed (EMNIST): turn them upright (a model\n"
    "                trained with --transpose does it without being told)\n";

typedef struct {
    const char *model, *dir, *host;
    size_t port;
    bool public_ok, transpose;
} serve_opts;

static int parse(int argc, char **argv, serve_opts *o)
{
    mlp_args a = {.cmd = "serve", .argc = argc, .argv = argv};
    int rc = 0, n_pos = 0;
    *o = (serve_opts){.host = "127.0.0.1"};
    for (a.i = 0; a.i < argc && rc == 0; a.i++) {
        const char *s = argv[a.i];
        if (!mlp_cli_is_flag(s)) {
            if (n_pos == 2)
                return mlp_cli_usage(a.cmd, "unexpected argument '%s'", s);
            *(n_pos++ ? &o->dir : &o->model) = s;
        } else if (mlp_cli_flag(&a, "--port")) {
            rc = mlp_cli_size(&a, 0, 65535, &o->port);
        } else if (mlp_cli_flag(&a, "--host")) {
            rc = mlp_cli_string(&a, &o->host);
        } else if (!strcmp(s, "--public")) {
            o->public_ok = true;
        } else if (!strcmp(s, "--transpose")) {
            o->transpose = true;
        } else {
            return mlp_cli_usage(a.cmd, "unknown flag '%s'", s);
        }
    }
    if (rc == 0 && n_pos == 0)
        return mlp_cli_usage(a.cmd, "missing MODEL");
    if (rc == 0 && o->transpose && !o->dir)
        return mlp_cli_usage(a.cmd, "--transpose turns DIR's images: give DIR");
    return rc;
}

/* A loopback address, or another with --public and a warning. */
static int check_host(const char *cmd, const char *host, bool public_ok)
{
    if (!mlp_serve_is_loopback(host) && !public_ok)
        return mlp_cli_usage(cmd,
                             "--host %s: not a loopback address (127.0.0.1, ::1, localhost); "
                             "add --public to serve to other machines",
                             host);
    if (!mlp_serve_is_loopback(host))
        fprintf(stderr, "mlp: warning: serving on %s, which other machines may reach: anyone "
                        "who does can use the page\n",
                host);
    return 0;
}

static int serve_main(int argc, char **argv)
{
    static volatile sig_atomic_t stop;
    serve_opts o;
    mlp_net net = {0};
    mlp_model_meta meta;
    mlp_set test = {0};
    mlp_app app = {0};
    mlp_server *server = NULL;
    mlp_error err;
    int rc = parse(argc, argv, &o);
    if (rc == 0)
        rc = check_host("serve", o.host, o.public_ok);
    if (rc != 0)
        return rc;
    if (mlp_model_load(o.model, &net, 1, &meta, &err) != MLP_OK)
        return mlp_cli_fail(&err);
    if (o.dir)
        rc = mlp_cli_test_set(&test, o.dir, o.transpose || meta.opt.transpose, o.model,
                              meta.rows, meta.cols);
    if (rc == 0 && mlp_app_init(&app, &net, meta.rows, meta.cols, o.dir ? &test : NULL, NULL, 0,
                                &err) != MLP_OK) {
        fprintf(stderr, "mlp: %s: %s\n", o.model, err.msg);
        rc = MLP_EXIT_DATA;
    }
    mlp_serve_opts so = {.host = o.host, .port = (unsigned)o.port, .public_ok = o.public_ok,
                         .timeout = MLP_SERVE_TIMEOUT, .max_conns = MLP_SERVE_CONNS,
                         .max_body = rc == 0 ? mlp_app_max_body(&app) : 0,
                         .handler = mlp_app_handle, .ctx = &app};
    if (rc == 0 && mlp_serve_open(&server, &so, &err) != MLP_OK)
        rc = mlp_cli_fail(&err);
    if (rc == 0) {
        char layout[256];
        mlp_cli_layout(layout, sizeof layout, &net);
        mlp_output_signals(&stop); /* Ctrl-C ends the loop, which closes every socket */
        printf("serving %s (%s) on %s\n", o.model, layout, mlp_serve_url(server));
        printf("open it in a browser; Ctrl-C stops\n");
        fflush(stdout);
        if (mlp_serve_run(server, &stop) != MLP_OK) {
            fprintf(stderr, "mlp: the server stopped: poll failed\n");
            rc = MLP_EXIT_DATA;
        }
    }
    mlp_serve_close(server);
    mlp_app_free(&app);
    mlp_idx_set_free(&test);
    mlp_net_free(&net);
    return rc;
}

const mlp_command mlp_cmd_serve = {
    "serve", "MODEL [DIR]", "serve a page that draws the network and classifies what you draw",
    help,    serve_main,    NULL};
