/*
 * serve_app: the paths of the page (serve_app.h). Every JSON answer is written by json.c into
 * a memory stream; every failure is an HTTP status with one line saying why, and the server
 * goes on.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve_app.h"

#include "cli.h"
#include "json.h"
#include "netview.h"
#include "options.h"
#include "png.h"
#include "prepare.h"
#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_EVERY 0.25 /* seconds between live progress events at most */

mlp_status mlp_app_init(mlp_app *app, const mlp_net *net, size_t rows, size_t cols,
                        const mlp_set *test, volatile sig_atomic_t *stop, size_t epochs,
                        mlp_error *err)
{
    memset(app, 0, sizeof *app);
    if (rows * cols != net->sizes[0])
        return mlp_fail(err, MLP_EARG, "the model's %zu inputs are not %zux%zu images",
                        net->sizes[0], rows, cols);
    mlp_status st = mlp_net_init(&app->net, net->sizes, net->n_layers + 1, net->act, net->cost, 1,
                                 NULL, NULL, err);
    if (st != MLP_OK)
        return st;
    memcpy(app->net.params, net->params, net->n_params * sizeof *net->params);
    pthread_mutex_init(&app->lock, NULL);
    app->rows = rows;
    app->cols = cols;
    app->test = test;
    app->stop = stop;
    app->training = stop != NULL;
    app->epochs = epochs;
    return MLP_OK;
}

void mlp_app_free(mlp_app *app)
{
    if (app->net.params) /* the lock is made once the copy is */
        pthread_mutex_destroy(&app->lock);
    mlp_net_free(&app->net);
    memset(app, 0, sizeof *app);
}

size_t mlp_app_max_body(const mlp_app *app)
{
    return app->net.sizes[0] * 4 + 4096; /* "255," each, and room for spaces */
}

/* ---------------------------------------------------------------- answers */

static void answer(mlp_serve_reply *r, int status, const char *type, unsigned char *body,
                   size_t len)
{
    r->status = status;
    r->type = type;
    r->body = body;
    r->len = len;
}

/* status with "why" as its text: the one line a client is told. */
static void refuse(mlp_serve_reply *r, int status, const char *why)
{
    size_t n = strlen(why);
    unsigned char *b = malloc(n + 1);
    if (b) {
        memcpy(b, why, n);
        b[n] = '\n';
    }
    answer(r, status, "text/plain; charset=utf-8", b, b ? n + 1 : 0);
}

/* A memory stream for a JSON answer; NULL (and r is a 500) if there is no memory. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} membuf;

static bool mem_open(membuf *m, mlp_serve_reply *r)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    if (!m->f)
        refuse(r, 500, "out of memory");
    return m->f != NULL;
}

/* Closes m and answers with it (st MLP_OK), or with a status naming err. */
static void mem_answer(membuf *m, mlp_serve_reply *r, mlp_status st, int bad, const mlp_error *err)
{
    bool ok = fclose(m->f) == 0 && st == MLP_OK;
    if (ok) {
        answer(r, 200, "application/json", (unsigned char *)m->buf, m->len);
        return;
    }
    free(m->buf);
    refuse(r, st == MLP_OK || st == MLP_ENOMEM ? 500 : bad, st == MLP_OK ? "write error" : err->msg);
}

static void model_info(mlp_app *app, mlp_serve_reply *r)
{
    membuf m;
    mlp_error err;
    if (!mem_open(&m, r))
        return;
    char layout[256];
    mlp_json j;
    mlp_json_start(&j, m.f);
    pthread_mutex_lock(&app->lock);
    mlp_cli_layout(layout, sizeof layout, &app->net);
    mlp_json_object(&j, NULL);
    mlp_json_string(&j, "layout", layout);
    mlp_json_array(&j, "sizes");
    for (size_t l = 0; l <= app->net.n_layers; l++)
        mlp_json_uint(&j, NULL, app->net.sizes[l]);
    mlp_json_end(&j);
    mlp_json_string(&j, "activation", mlp_act_name(app->net.act));
    mlp_json_string(&j, "cost", mlp_cost_name(app->net.cost));
    mlp_json_uint(&j, "rows", app->rows);
    mlp_json_uint(&j, "cols", app->cols);
    mlp_json_uint(&j, "classes", app->net.sizes[app->net.n_layers]);
    mlp_json_uint(&j, "test_images", app->test ? app->test->n : 0);
    mlp_json_bool(&j, "training", app->training);
    mlp_json_uint(&j, "epoch", app->epoch);
    mlp_json_uint(&j, "epochs", app->epochs);
    mlp_json_end(&j);
    pthread_mutex_unlock(&app->lock);
    mem_answer(&m, r, mlp_json_finish(&j, "the model", &err), 500, &err);
}

/* True if the query names the parameter, with a value or not. */
static bool has_param(const char *query, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = query; *p; p += strcspn(p, "&"), p += *p == '&')
        if (!strncmp(p, name, nl) && (p[nl] == '=' || p[nl] == '&' || !p[nl]))
            return true;
    return false;
}

/* A size from the query, or -1 if absent; -2 if present but not a number below limit. */
static long query_size(const char *query, const char *name, size_t limit)
{
    char v[24];
    if (!mlp_http_query(query, name, v, sizeof v))
        return has_param(query, name) ? -2 : -1;
    if (!v[0] || strspn(v, "0123456789") != strlen(v) || strlen(v) > 9)
        return -2;
    long n = strtol(v, NULL, 10);
    return (size_t)n < limit ? n : -2;
}

/* The picture for the image x (net->sizes[0] floats), towards label (< 0: none). */
static void view(mlp_app *app, mlp_serve_reply *r, const float *x, long label, long true_label)
{
    membuf m;
    mlp_error err;
    if (!mem_open(&m, r))
        return;
    pthread_mutex_lock(&app->lock);
    mlp_status st = mlp_netview_json(m.f, &app->net, x, label, true_label, &err);
    pthread_mutex_unlock(&app->lock);
    mem_answer(&m, r, st, 400, &err);
}

/* The drawing: a JSON array of exactly n integers 0..255, spaces allowed between. */
static bool read_drawing(const unsigned char *b, size_t len, uint8_t *px, size_t n, char *why,
                         size_t cap)
{
    size_t i = 0, got = 0;
#define SKIP()                                                                                     \
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))             \
    i++
    SKIP();
    if (i == len || b[i++] != '[') {
        snprintf(why, cap, "the body must be a JSON array of %zu integers from 0 to 255", n);
        return false;
    }
    for (;;) {
        SKIP();
        if (got == 0 && i < len && b[i] == ']')
            break;
        size_t start = i;
        unsigned v = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9' && i - start < 4)
            v = v * 10 + (unsigned)(b[i++] - '0');
        if (i == start || (b[start] == '0' && i - start > 1) || v > 255) {
            snprintf(why, cap, "pixel %zu: not an integer from 0 to 255", got);
            return false;
        }
        if (got == n) {
            snprintf(why, cap, "more than %zu pixels: the model takes %zu", n, n);
            return false;
        }
        px[got++] = (uint8_t)v;
        SKIP();
        if (i < len && b[i] == ',') {
            i++;
            continue;
        }
        if (i < len && b[i] == ']')
            break;
        snprintf(why, cap, "after pixel %zu: expected ',' or ']'", got - 1);
        return false;
    }
    i++;
    SKIP();
#undef SKIP
    if (i != len) {
        snprintf(why, cap, "bytes after the array");
        return false;
    }
    if (got != n) {
        snprintf(why, cap, "%zu pixels: the model takes %zu (%zux%zu)", got, n, n, n);
        return false;
    }
    return true;
}

static void predict(mlp_app *app, mlp_serve_reply *r, const mlp_http_request *req,
                    const unsigned char *body)
{
    const size_t n = app->net.sizes[0], K = app->net.sizes[app->net.n_layers];
    char why[160];
    long label = query_size(req->query, "label", K);
    if (label == -2) {
        snprintf(why, sizeof why, "label: a class from 0 to %zu", K - 1);
        refuse(r, 400, why);
        return;
    }
    float *px = mlp_alloc_array(2 * n, sizeof *px); /* (2, n): the drawing, then prepared */
    uint8_t *bytes = mlp_alloc_array(n, 1);         /* (rows, cols): the drawing as sent */
    mlp_error err;
    if (!px || !bytes) {
        refuse(r, 500, "out of memory");
    } else if (!read_drawing(body, req->body_len, bytes, n, why, sizeof why)) {
        refuse(r, 400, why);
    } else {
        mlp_idx_pixels(px, bytes, n); /* the scale of every reader, PGM's included */
        if (mlp_prepare_digit(px, app->rows, app->cols, px + n, app->rows, app->cols, NULL,
                              &err) != MLP_OK)
            refuse(r, 422, err.msg); /* an empty drawing: nothing to classify */
        else
            view(app, r, px + n, label, -1);
    }
    free(bytes);
    free(px);
}

static void test_image(mlp_app *app, mlp_serve_reply *r, const mlp_http_request *req)
{
    const size_t K = app->net.sizes[app->net.n_layers];
    char why[160];
    if (!app->test) {
        refuse(r, 404, "no test set: give mlp serve a DIR");
        return;
    }
    long index = query_size(req->query, "index", app->test->n);
    long label = query_size(req->query, "label", K);
    if (index < 0 || label == -2) {
        snprintf(why, sizeof why, "%s: give index from 0 to %zu and label from 0 to %zu",
                 index < 0 ? "index" : "label", app->test->n - 1, K - 1);
        refuse(r, 400, why);
        return;
    }
    long y = app->test->y[index];
    view(app, r, app->test->x + (size_t)index * app->test->dim, label >= 0 ? label : y, y);
}

static void weights_png(mlp_app *app, mlp_serve_reply *r)
{
    mlp_weights_style s = {.rows = app->rows, .cols = app->cols, .scale = 2, .gap = 2};
    mlp_weights_image img;
    mlp_error err;
    unsigned char *png = NULL;
    size_t len = 0;
    pthread_mutex_lock(&app->lock);
    mlp_status st = mlp_weights_sheet(&img, &app->net, &s, &err);
    pthread_mutex_unlock(&app->lock);
    if (st == MLP_OK)
        st = mlp_png_encode(&png, &len, img.px, img.width, img.height, img.channels, &err);
    mlp_weights_free(&img);
    if (st != MLP_OK) {
        refuse(r, 500, err.msg);
        return;
    }
    answer(r, 200, "image/png", png, len);
}

static void stop_training(mlp_app *app, mlp_serve_reply *r)
{
    if (*app->stop == 0)
        *app->stop = SIGINT; /* what the first Ctrl-C does: the batch ends, the run saves */
    static const char said[] = "{\"stopping\":true}\n";
    unsigned char *b = malloc(sizeof said - 1);
    if (b)
        memcpy(b, said, sizeof said - 1);
    answer(r, 200, "application/json", b, b ? sizeof said - 1 : 0);
}

void mlp_app_handle(void *ctx, const mlp_http_request *req, const unsigned char *body,
                    mlp_serve_reply *reply)
{
    mlp_app *app = ctx;
    static const struct {
        const char *path;
        mlp_http_method method;
    } paths[] = {{"/", MLP_HTTP_GET},           {"/api/model", MLP_HTTP_GET},
                 {"/api/predict", MLP_HTTP_POST}, {"/api/test", MLP_HTTP_GET},
                 {"/api/weights.png", MLP_HTTP_GET}, {"/api/events", MLP_HTTP_GET},
                 {"/api/stop", MLP_HTTP_POST}};
    size_t k = 0, n = sizeof paths / sizeof paths[0];
    while (k < n && strcmp(req->path, paths[k].path))
        k++;
    if (k == n || (k == n - 1 && !app->training)) {
        refuse(reply, 404, "no such page");
        return;
    }
    if (req->method != paths[k].method) {
        refuse(reply, 405, paths[k].method == MLP_HTTP_GET ? "use GET" : "use POST");
        return;
    }
    switch (k) {
    case 0:
        answer(reply, 200, "text/html; charset=utf-8", (unsigned char *)mlp_page_html,
               mlp_page_html_len);
        reply->fixed = true;
        return;
    case 1:
        model_info(app, reply);
        return;
    case 2:
        predict(app, reply, req, body);
        return;
    case 3:
        test_image(app, reply, req);
        return;
    case 4:
        weights_png(app, reply);
        return;
    case 5:
        reply->status = 200;
        reply->type = "text/event-stream";
        reply->stream = true;
        return;
    default:
        stop_training(app, reply);
    }
}

/* ---------------------------------------------------------------- training's events */

/* An event's data: a JSON object that json.c writes into a memory stream. */
static bool event_open(mlp_app *app, membuf *m, mlp_json *j)
{
    if (!app->server || !(m->f = open_memstream(&m->buf, &m->len)))
        return false;
    mlp_json_start(j, m->f);
    mlp_json_object(j, NULL);
    return true;
}

/* Closes the object and publishes it (one line: the writer's final newline is dropped). */
static void event_publish(mlp_app *app, membuf *m, mlp_json *j, const char *event, bool kept)
{
    mlp_error err;
    mlp_json_end(j);
    mlp_status st = mlp_json_finish(j, event, &err);
    if (fclose(m->f) == 0 && st == MLP_OK && m->len > 0) {
        m->buf[m->len - 1] = '\0';
        mlp_serve_publish(app->server, event, m->buf, kept);
    }
    free(m->buf);
}

void mlp_app_epoch(mlp_app *app, const mlp_net *net, const mlp_plot_row *row)
{
    pthread_mutex_lock(&app->lock);
    memcpy(app->net.params, net->params, net->n_params * sizeof *net->params);
    app->epoch = row->epoch;
    pthread_mutex_unlock(&app->lock);
    membuf m;
    mlp_json j;
    if (!event_open(app, &m, &j))
        return;
    mlp_json_uint(&j, "epoch", row->epoch);
    mlp_json_uint(&j, "epochs", app->epochs);
    mlp_json_number(&j, "cost", row->cost);
    mlp_json_number(&j, "train", row->train_acc);
    mlp_json_number(&j, "val", row->val_acc); /* null without validation: NAN */
    mlp_json_number(&j, "test", row->test_acc);
    mlp_json_number(&j, "lr", row->lr);
    mlp_json_number(&j, "seconds", row->seconds);
    event_publish(app, &m, &j, "epoch", true);
}

void mlp_app_progress(mlp_app *app, size_t epoch, size_t done, size_t total, double now,
                      double *last)
{
    if (!app->server || mlp_serve_streams(app->server) == 0 || now - *last < PROGRESS_EVERY)
        return;
    *last = now;
    membuf m;
    mlp_json j;
    if (!event_open(app, &m, &j))
        return;
    mlp_json_uint(&j, "epoch", epoch);
    mlp_json_uint(&j, "epochs", app->epochs);
    mlp_json_uint(&j, "done", done);
    mlp_json_uint(&j, "total", total);
    event_publish(app, &m, &j, "progress", false);
}

void mlp_app_done(mlp_app *app, const char *how)
{
    membuf m;
    mlp_json j;
    if (!event_open(app, &m, &j))
        return;
    mlp_json_string(&j, "how", how);
    event_publish(app, &m, &j, "done", true);
}
