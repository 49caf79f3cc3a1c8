/*
 * serve_app: what the page of `mlp serve` and `mlp train --serve` asks and what it is
 * answered, path by path: the handler that serve.c calls. It holds its own copy of the
 * network, with batches of one row, so that answering never touches a network that is
 * training: training hands it a snapshot of the parameters after every epoch, under its lock.
 *
 *   GET  /                 the page (page.html, compiled into the program)
 *   GET  /api/model        {"layout","sizes","activation","cost","rows","cols","classes",
 *                           "test_images","training","epoch","epochs"}
 *   POST /api/predict      body: a JSON array of rows*cols integers 0..255, the drawing
 *                          (0 black), row by row; ?label=K asks for the wishes towards K.
 *                          The drawing is prepared as `predict --center` prepares a picture;
 *                          answers netview.h's document, the prepared image as "input"
 *   GET  /api/test         ?index=N[&label=K]: the same for test image N of DIR (as it is,
 *                          upright), with "true_label"; K defaults to the true label
 *   GET  /api/weights.png  the first-layer weights as `mlp weights` draws its sheet
 *   GET  /api/events       the event stream (training: "epoch", "progress", "done")
 *   POST /api/stop         training only: stops the run as SIGINT does, saving a checkpoint
 * Anything else is 404; a known path asked with the other method is 405; a bad query or
 * body gets 400 with one line saying what is wrong.
 */
#ifndef MLP_SERVE_APP_H
#define MLP_SERVE_APP_H

#include "idx.h"
#include "net.h"
#include "plot.h"
#include "serve.h"

#include <pthread.h>
#include <signal.h>

/* The page, from src/page.html (the build turns it into a C array). */
extern const unsigned char mlp_page_html[];
extern const size_t mlp_page_html_len;

typedef struct {
    pthread_mutex_t lock; /* guards net and epoch: the server's thread and training's */
    mlp_net net;          /* the copy answered from: batches of one row, the caller's kernels */
    size_t rows, cols;    /* the image's shape */
    const mlp_set *test;  /* DIR's test set, upright, or NULL; not owned */
    size_t epoch, epochs; /* training: epochs done and planned; 0, 0 for a saved model */
    bool training;
    volatile sig_atomic_t *stop; /* training: what SIGINT sets; the stop button sets it too */
    mlp_server *server;          /* where events are published; set by the caller */
} mlp_app;

/* A copy of net (layout and parameters) for images of rows x cols; test may be NULL. For a
 * training run, stop is its signal flag and epochs the plan; else NULL and 0. */
mlp_status mlp_app_init(mlp_app *app, const mlp_net *net, size_t rows, size_t cols,
                        const mlp_set *test, volatile sig_atomic_t *stop, size_t epochs,
                        mlp_error *err);
void mlp_app_free(mlp_app *app);

/* The body cap for this network: the drawing's integers, commas and some space. */
size_t mlp_app_max_body(const mlp_app *app);

/* serve.h's handler; ctx is the mlp_app. */
void mlp_app_handle(void *ctx, const mlp_http_request *req, const unsigned char *body,
                    mlp_serve_reply *reply);

/* Training, after an epoch: net's parameters become the page's, and the epoch's row of the
 * log (plot.h) an "epoch" event: {"epoch","epochs","cost","train","val","test","lr",
 * "seconds"}, accuracies in percent, val null without validation. */
void mlp_app_epoch(mlp_app *app, const mlp_net *net, const mlp_plot_row *row);

/* Training: done of total images of epoch `epoch` trained, as a live "progress" event; does
 * nothing when no page listens or the last one is less than a quarter of a second old. */
void mlp_app_progress(mlp_app *app, size_t epoch, size_t done, size_t total, double now,
                      double *last);

/* Training: the run ends ("finished", "stopped" or "failed"): a "done" event. */
void mlp_app_done(mlp_app *app, const char *how);

#endif
