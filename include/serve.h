/*
 * serve: a small HTTP/1.1 server on POSIX sockets, for the page of `mlp serve` and of
 * `mlp train --serve`. One thread, poll(), non-blocking sockets; requests parsed by http.c;
 * what a path answers is the handler's (serve_app.c). It serves no files.
 *
 * Defences, since any program or page on the machine can reach a local port:
 *   - Host must be localhost, 127.0.0.1 or [::1] (or the address bound), with the port:
 *     a page of another site that a DNS name rebinds to 127.0.0.1 sends its own name (403);
 *   - a POST whose Origin is not one of those is refused (403), so another site's page
 *     cannot press the stop button of a training run;
 *   - the head is capped (http.h) and so is a body (max_body), each connection must send
 *     its request and read its answer within `timeout` seconds (a client that sends a byte a
 *     second is dropped), at most max_conns are open at once (the next get 503), and an event
 *     stream that does not read what it is sent is dropped past MLP_SERVE_MAX_OUT bytes;
 *   - every connection closes after its response: no keep-alive state to exhaust.
 *
 * Event streams (Server-Sent Events, HTML's "server-sent events" section): a handler marks
 * its reply as a stream; the connection then gets, as they are published, the events kept
 * (with ids 1, 2, ..., the last MLP_SERVE_KEPT of them replayed to a stream that starts, or
 * those after Last-Event-ID to one that reconnects) and the latest live event (no id, not
 * replayed: a progress line), and a comment every 15 s that finds dead clients.
 */
#ifndef MLP_SERVE_H
#define MLP_SERVE_H

#include "http.h"
#include "util.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define MLP_SERVE_KEPT    4096      /* kept events replayed */
#define MLP_SERVE_TIMEOUT 5.0       /* seconds the commands give a request and its answer */
#define MLP_SERVE_CONNS   32        /* connections the commands keep open at once */
#define MLP_SERVE_MAX_OUT (1 << 22) /* bytes queued for one client at most */

/* What a handler answers. */
typedef struct {
    int status;
    const char *type;    /* Content-Type */
    unsigned char *body; /* malloc'd, freed by the server; or static when `fixed` */
    size_t len;
    bool fixed;          /* body is not to be freed (the embedded page) */
    bool stream;         /* an event stream: body is ignored and the connection stays open */
} mlp_serve_reply;

/* Answers a request that passed the checks above; body is the request's body
 * (req->body_len bytes). Runs on the server's thread. */
typedef void (*mlp_serve_handler)(void *ctx, const mlp_http_request *req,
                                  const unsigned char *body, mlp_serve_reply *reply);

typedef struct {
    const char *host;   /* an IPv4 or IPv6 address, or "localhost"; NULL: 127.0.0.1 */
    unsigned port;      /* 0: one the system chooses */
    bool public_ok;     /* an address that is not loopback is allowed */
    double timeout;     /* seconds for a request and its response */
    size_t max_conns;   /* open connections at most, event streams included */
    size_t max_body;    /* bytes of a request body at most */
    mlp_serve_handler handler;
    void *ctx;
} mlp_serve_opts;

typedef struct mlp_server mlp_server;

/* True if host (as --host takes it) names a loopback address; false too if it names none. */
bool mlp_serve_is_loopback(const char *host);

/* Binds and listens. MLP_EARG for an address that is not numeric or "localhost", or not
 * loopback without public_ok; MLP_EIO if the socket cannot be bound (the port is taken). */
mlp_status mlp_serve_open(mlp_server **out, const mlp_serve_opts *o, mlp_error *err);

/* "http://127.0.0.1:PORT/": where the page is, the port the system chose included. */
const char *mlp_serve_url(const mlp_server *s);
unsigned mlp_serve_port(const mlp_server *s);

/* Serves until *stop is non-zero (a signal) or mlp_serve_quit() is called. MLP_EIO if poll
 * fails for another reason than a signal. */
mlp_status mlp_serve_run(mlp_server *s, const volatile sig_atomic_t *stop);

/* mlp_serve_run() on a thread of its own, until mlp_serve_close(). */
mlp_status mlp_serve_start(mlp_server *s, mlp_error *err);

/* Makes mlp_serve_run() return; from any thread. */
void mlp_serve_quit(mlp_server *s);

/* Publishes an event to every stream, from any thread: `event` its name, data one line of
 * text (a JSON document without newlines). Kept events get the next id and are replayed;
 * a live one replaces the previous live one. */
void mlp_serve_publish(mlp_server *s, const char *event, const char *data, bool kept);

/* Event streams open now: nothing to publish for when 0. Read without the lock: a stale
 * answer only delays a live event. */
size_t mlp_serve_streams(const mlp_server *s);

/* Stops the thread if started, closes every socket and frees s; safe on NULL. */
void mlp_serve_close(mlp_server *s);

#endif
