/*
 * serve: the socket loop of serve.h. Every connection is a slot of conns[] with its input
 * buffer (the head and the body, at most MLP_HTTP_MAX_HEAD + max_body bytes), its output
 * buffer and a deadline; poll() waits on the listening socket, a wake-up pipe (for events
 * published from other threads and for quitting) and every connection.
 *
 * Kept events live in a ring under the lock, each stored fully formatted; a stream remembers
 * the id of the last kept event it was given and the number of the last live one, so
 * publishing costs the publisher a copy and one byte into the pipe, and never waits on a
 * client.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEEPALIVE_S 15.0 /* seconds between the comments that find dead streams */
#define N_ALLOWED   4    /* Host values allowed: localhost, 127.0.0.1, [::1], the address */

typedef enum { CONN_FREE, CONN_READ, CONN_WRITE, CONN_STREAM } conn_state;

typedef struct {
    conn_state state;
    int fd;
    char *in;         /* (MLP_HTTP_MAX_HEAD + max_body) */
    size_t in_len;
    char *out;        /* (out_cap) */
    size_t out_len, out_off, out_cap;
    double deadline;  /* CONN_READ, CONN_WRITE: closed when passed */
    double quiet_at;  /* CONN_STREAM: a comment is sent then */
    uint64_t sent_id; /* CONN_STREAM: the last kept event given */
    uint64_t live_no; /* CONN_STREAM: the last live event given */
    bool eof;         /* CONN_WRITE: the client has shut its side; the answer still goes */
} conn;

typedef struct {
    uint64_t id;
    char *text; /* "id: N\nevent: E\ndata: D\n\n" */
} kept_event;

struct mlp_server {
    mlp_serve_opts o;
    int listen_fd, wake[2];
    unsigned port;
    char url[96];
    char allowed[N_ALLOWED][80]; /* Host values, "127.0.0.1:8000" */
    size_t n_allowed;
    conn *conns; /* (o.max_conns) */
    atomic_size_t streams;
    pthread_mutex_t lock; /* guards what follows, and quit */
    kept_event *ring;     /* (MLP_SERVE_KEPT): id k at ring[(k - 1) % MLP_SERVE_KEPT] */
    uint64_t last_id;
    char *live;           /* the latest live event, formatted, or NULL */
    uint64_t live_no;
    bool quit;
    pthread_t thread;
    bool started;
};

/* ---------------------------------------------------------------- addresses */

static int resolve(const char *host, unsigned port, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    if (strcasecmp(host, "localhost") != 0)
        hints.ai_flags |= AI_NUMERICHOST; /* no name is looked up: names can be rebound */
    else
        host = "127.0.0.1";
    return getaddrinfo(host, service, &hints, res);
}

static bool loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->sa_family == AF_INET6) {
        static const unsigned char one[16] = {[15] = 1};
        return !memcmp(((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr, one, 16);
    }
    return false;
}

bool mlp_serve_is_loopback(const char *host)
{
    struct addrinfo *res;
    if (resolve(host, 0, &res) != 0)
        return false;
    bool yes = loopback(res->ai_addr);
    freeaddrinfo(res);
    return yes;
}

static bool set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/* The Host values the page may be reached by. */
static void allow_hosts(mlp_server *s, const struct sockaddr *a)
{
    char addr[INET6_ADDRSTRLEN] = "";
    const char *fixed[3] = {"localhost", "127.0.0.1", "[::1]"};
    for (int k = 0; k < 3; k++)
        snprintf(s->allowed[s->n_allowed++], sizeof s->allowed[0], "%s:%u", fixed[k], s->port);
    if (a->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, addr, sizeof addr);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, addr, sizeof addr);
    const char *fmt = a->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u";
    snprintf(s->allowed[s->n_allowed], sizeof s->allowed[0], fmt, addr, s->port);
    snprintf(s->url, sizeof s->url, "http://%s/", s->allowed[s->n_allowed]);
    bool known = false;
    for (size_t k = 0; k < s->n_allowed; k++)
        known |= !strcasecmp(s->allowed[k], s->allowed[s->n_allowed]);
    if (!known)
        s->n_allowed++;
}

static bool host_allowed(const mlp_server *s, const char *host)
{
    for (size_t k = 0; k < s->n_allowed; k++)
        if (!strcasecmp(host, s->allowed[k]))
            return true;
    return false;
}

static bool origin_allowed(const mlp_server *s, const char *origin)
{
    return !origin[0] || (!strncmp(origin, "http://", 7) && host_allowed(s, origin + 7));
}

/* ---------------------------------------------------------------- opening and closing */

mlp_status mlp_serve_open(mlp_server **out, const mlp_serve_opts *o, mlp_error *err)
{
    const char *host = o->host ? o->host : "127.0.0.1";
    struct addrinfo *res = NULL;
    *out = NULL;
    if (o->port > 65535)
        return mlp_fail(err, MLP_EARG, "port %u: ports go from 0 to 65535", o->port);
    if (o->max_conns == 0 || !(o->timeout > 0.0))
        return mlp_fail(err, MLP_EARG, "a server needs connections and a time-out");
    int gai = resolve(host, o->port, &res);
    if (gai != 0)
        return mlp_fail(err, MLP_EARG, "%s: not an IP address (give one such as 127.0.0.1 or ::1)",
                        host);
    if (!o->public_ok && !loopback(res->ai_addr)) {
        freeaddrinfo(res);
        return mlp_fail(err, MLP_EARG,
                        "%s: not a loopback address; --public serves to the network", host);
    }
    mlp_server *s = calloc(1, sizeof *s);
    if (!s || !(s->conns = calloc(o->max_conns, sizeof *s->conns)) ||
        !(s->ring = calloc(MLP_SERVE_KEPT, sizeof *s->ring))) {
        freeaddrinfo(res);
        if (s)
            free(s->conns);
        free(s);
        return mlp_fail(err, MLP_ENOMEM, "out of memory for the server");
    }
    s->o = *o;
    s->listen_fd = s->wake[0] = s->wake[1] = -1;
    atomic_init(&s->streams, 0);
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    s->listen_fd = socket(res->ai_family, SOCK_STREAM, 0);
    int yes = 1;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (s->listen_fd < 0 || !set_nonblocking(s->listen_fd) ||
        setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
        bind(s->listen_fd, res->ai_addr, res->ai_addrlen) != 0 || listen(s->listen_fd, 64) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&bound, &blen) != 0 || pipe(s->wake) != 0 ||
        !set_nonblocking(s->wake[0]) || !set_nonblocking(s->wake[1])) {
        int e = errno;
        freeaddrinfo(res);
        mlp_serve_close(s);
        *out = NULL;
        return mlp_fail(err, MLP_EIO, "%s port %u: %s", host, o->port, strerror(e));
    }
    freeaddrinfo(res);
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    allow_hosts(s, (const struct sockaddr *)&bound);
    for (size_t k = 0; k < o->max_conns; k++)
        s->conns[k].fd = -1;
    return MLP_OK;
}

const char *mlp_serve_url(const mlp_server *s)
{
    return s->url;
}

unsigned mlp_serve_port(const mlp_server *s)
{
    return s->port;
}

static void conn_close(mlp_server *s, conn *c)
{
    if (c->state == CONN_STREAM)
        atomic_fetch_sub(&s->streams, 1);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

void mlp_serve_close(mlp_server *s)
{
    if (!s)
        return;
    if (s->started) {
        mlp_serve_quit(s);
        pthread_join(s->thread, NULL);
    }
    for (size_t k = 0; k < s->o.max_conns; k++)
        conn_close(s, &s->conns[k]);
    for (size_t k = 0; k < MLP_SERVE_KEPT; k++)
        free(s->ring[k].text);
    free(s->ring);
    free(s->live);
    free(s->conns);
    for (int k = 0; k < 2; k++)
        if (s->wake[k] >= 0)
            close(s->wake[k]);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---------------------------------------------------------------- events */

static void wake(mlp_server *s)
{
    char b = 1;
    ssize_t n = write(s->wake[1], &b, 1); /* a full pipe has woken the loop already */
    (void)n;
}

void mlp_serve_quit(mlp_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->quit = true;
    pthread_mutex_unlock(&s->lock);
    wake(s);
}

void mlp_serve_publish(mlp_server *s, const char *event, const char *data, bool kept)
{
    size_t cap = strlen(event) + strlen(data) + 64;
    char *text = malloc(cap);
    if (!text)
        return; /* an event lost to a full memory: the page catches up at the next */
    pthread_mutex_lock(&s->lock);
    if (kept) {
        uint64_t id = ++s->last_id;
        snprintf(text, cap, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)id, event,
                 data);
        kept_event *slot = &s->ring[(id - 1) % MLP_SERVE_KEPT];
        free(slot->text);
        *slot = (kept_event){id, text};
    } else {
        snprintf(text, cap, "event: %s\ndata: %s\n\n", event, data);
        free(s->live);
        s->live = text;
        s->live_no++;
    }
    pthread_mutex_unlock(&s->lock);
    wake(s);
}

size_t mlp_serve_streams(const mlp_server *s)
{
    return atomic_load(&((mlp_server *)s)->streams);
}

/* Appends n bytes to c's output; false (and the connection is to be dropped) past the cap. */
static bool queue(conn *c, const void *p, size_t n)
{
    size_t pending = c->out_len - c->out_off;
    if (pending + n > MLP_SERVE_MAX_OUT)
        return false;
    if (c->out_off > 0) { /* what was sent makes room */
        memmove(c->out, c->out + c->out_off, pending);
        c->out_len = pending;
        c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *grown = realloc(c->out, cap);
        if (!grown)
            return false;
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return true;
}

/* Gives a stream what was published since it was last given anything. Under the lock. */
static bool feed_stream(mlp_server *s, conn *c)
{
    uint64_t first = c->sent_id + 1;
    if (s->last_id >= MLP_SERVE_KEPT && first <= s->last_id - MLP_SERVE_KEPT)
        first = s->last_id - MLP_SERVE_KEPT + 1; /* older ones are gone */
    for (uint64_t id = first; id <= s->last_id; id++) {
        const char *t = s->ring[(id - 1) % MLP_SERVE_KEPT].text;
        if (!queue(c, t, strlen(t)))
            return false;
    }
    c->sent_id = s->last_id;
    if (s->live && c->live_no != s->live_no && !queue(c, s->live, strlen(s->live)))
        return false;
    c->live_no = s->live_no;
    return true;
}

/* ---------------------------------------------------------------- requests */

static void reply_error(conn *c, int status, const char *why)
{
    char head[1024], body[512];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status, mlp_http_reason(status), why);
    size_t bl = n > 0 && (size_t)n < sizeof body ? (size_t)n : 0;
    size_t hl = mlp_http_head(head, sizeof head, status, "text/plain; charset=utf-8", bl, NULL);
    c->out_len = c->out_off = 0;
    if (!queue(c, head, hl) || !queue(c, body, bl))
        c->out_len = 0;
    c->state = CONN_WRITE;
}

static const char *why_refused(int status)
{
    switch (status) {
    case 405:
        return "only GET and POST are served";
    case 413:
        return "the body is larger than this server takes";
    case 414:
        return "the request target is too long";
    case 431:
        return "the request's head is too large (too many or too long header lines)";
    case 501:
        return "Transfer-Encoding is not supported; send Content-Length";
    case 505:
        return "only HTTP/1.1 and HTTP/1.0 are served";
    }
    return "malformed request";
}

static void dispatch(mlp_server *s, conn *c, const mlp_http_request *req, double now)
{
    if (!host_allowed(s, req->host)) {
        reply_error(c, 403, "the Host header must be localhost, 127.0.0.1 or [::1] with the port");
        return;
    }
    if (req->method == MLP_HTTP_POST && !origin_allowed(s, req->origin)) {
        reply_error(c, 403, "a POST from another site's page is refused");
        return;
    }
    mlp_serve_reply r = {.status = 500, .type = "text/plain"};
    s->o.handler(s->o.ctx, req, (const unsigned char *)c->in + req->head_len, &r);
    char head[1024];
    size_t hl = mlp_http_head(head, sizeof head, r.status, r.type, r.stream ? SIZE_MAX : r.len,
                              NULL);
    bool ok = hl > 0 && queue(c, head, hl) && (r.stream || queue(c, r.body, r.len));
    if (!r.fixed)
        free(r.body);
    if (!ok) {
        reply_error(c, 500, "the answer is too large");
        return;
    }
    if (!r.stream) {
        c->state = CONN_WRITE;
        return;
    }
    c->state = CONN_STREAM;
    atomic_fetch_add(&s->streams, 1);
    c->quiet_at = now + KEEPALIVE_S;
    c->sent_id = req->has_event_id ? req->last_event_id : 0;
    pthread_mutex_lock(&s->lock);
    ok = queue(c, "retry: 2000\n\n", 13) && feed_stream(s, c);
    pthread_mutex_unlock(&s->lock);
    if (!ok)
        conn_close(s, c);
}

/* Reads what the client sent; parses and answers once the request is whole. */
static void on_readable(mlp_server *s, conn *c, double now)
{
    const size_t cap = MLP_HTTP_MAX_HEAD + s->o.max_body;
    if (c->state == CONN_STREAM || c->state == CONN_WRITE) {
        char sink[512]; /* nothing more is read: a stream's client only closes */
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0 && c->state == CONN_WRITE)
            c->eof = true; /* a client that shut its side after the request still reads */
        else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_close(s, c);
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, cap - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(s, c);
        return;
    }
    c->in_len += (size_t)n;
    mlp_http_request req;
    int status = mlp_http_parse(&req, c->in, c->in_len, s->o.max_body);
    if (status == 200)
        dispatch(s, c, &req, now);
    else if (status != 0)
        reply_error(c, status, why_refused(status));
    else if (c->in_len == cap)
        reply_error(c, 413, why_refused(413)); /* cannot happen: the parser caps both parts */
}

static void on_writable(mlp_server *s, conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(s, c);
            return;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->state == CONN_WRITE) {
        shutdown(c->fd, SHUT_WR); /* the answer is complete; the client closes */
        conn_close(s, c);
    }
}

static void on_accept(mlp_server *s, double now)
{
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            return; /* EAGAIN: none left; anything else: the client is gone */
        conn *c = NULL;
        for (size_t k = 0; k < s->o.max_conns && !c; k++)
            if (s->conns[k].state == CONN_FREE)
                c = &s->conns[k];
        if (!c) { /* told, best effort, without waiting for it */
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\nRetry-After: 1\r\n\r\n";
            if (set_nonblocking(fd))
                (void)send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
            close(fd);
            continue;
        }
        if (!set_nonblocking(fd)) {
            close(fd);
            continue;
        }
        c->fd = fd;
        if (!(c->in = malloc(MLP_HTTP_MAX_HEAD + s->o.max_body))) {
            conn_close(s, c);
            continue;
        }
        c->state = CONN_READ;
        c->deadline = now + s->o.timeout;
    }
}

/* ---------------------------------------------------------------- the loop */

static bool quitting(mlp_server *s, const volatile sig_atomic_t *stop)
{
    pthread_mutex_lock(&s->lock);
    bool q = s->quit;
    pthread_mutex_unlock(&s->lock);
    return q || (stop && *stop);
}

mlp_status mlp_serve_run(mlp_server *s, const volatile sig_atomic_t *stop)
{
    const size_t N = s->o.max_conns;
    struct pollfd *fds = mlp_alloc_array(N + 2, sizeof *fds);
    size_t *which = mlp_alloc_array(N + 2, sizeof *which); /* fds[i] is conns[which[i]] */
    mlp_status st = MLP_OK;
    if (!fds || !which) {
        free(fds);
        free(which);
        return MLP_ENOMEM;
    }
    while (!quitting(s, stop)) {
        double now = mlp_now(), next = now + 1.0; /* a signal between the check and poll waits
                                                   * a second at most */
        size_t n = 2;
        fds[0] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        fds[1] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        for (size_t k = 0; k < N; k++) {
            conn *c = &s->conns[k];
            if (c->state == CONN_FREE)
                continue;
            short ev = c->eof ? 0 : POLLIN;
            if (c->out_len > c->out_off)
                ev |= POLLOUT;
            fds[n] = (struct pollfd){.fd = c->fd, .events = ev};
            which[n++] = k;
            double due = c->state == CONN_STREAM ? c->quiet_at : c->deadline;
            next = due < next ? due : next;
        }
        int wait_ms = next > now ? (int)((next - now) * 1000.0) + 1 : 0;
        if (poll(fds, (nfds_t)n, wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            st = MLP_EIO;
            break;
        }
        now = mlp_now();
        if (fds[1].revents & POLLIN) {
            char sink[64];
            while (read(s->wake[0], sink, sizeof sink) > 0)
                ;
            pthread_mutex_lock(&s->lock);
            for (size_t k = 0; k < N; k++)
                if (s->conns[k].state == CONN_STREAM && !feed_stream(s, &s->conns[k]))
                    conn_close(s, &s->conns[k]); /* it does not read what it is sent */
            pthread_mutex_unlock(&s->lock);
        }
        for (size_t i = 2; i < n; i++) {
            conn *c = &s->conns[which[i]];
            if (c->state != CONN_FREE && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                on_readable(s, c, now);
            if (c->state != CONN_FREE && c->out_len > c->out_off)
                on_writable(s, c);
        }
        for (size_t k = 0; k < N; k++) {
            conn *c = &s->conns[k];
            if (c->state == CONN_STREAM && now >= c->quiet_at) {
                c->quiet_at = now + KEEPALIVE_S;
                if (!queue(c, ": keep-alive\n\n", 14))
                    conn_close(s, c);
            } else if ((c->state == CONN_READ || c->state == CONN_WRITE) && now >= c->deadline) {
                conn_close(s, c); /* too slow to send its request or to read the answer */
            }
        }
        if (fds[0].revents & POLLIN)
            on_accept(s, now);
    }
    /* what was published last (training's "done") goes out, as far as the sockets take it */
    pthread_mutex_lock(&s->lock);
    for (size_t k = 0; k < N; k++)
        if (s->conns[k].state == CONN_STREAM && feed_stream(s, &s->conns[k]))
            on_writable(s, &s->conns[k]);
    pthread_mutex_unlock(&s->lock);
    free(fds);
    free(which);
    return st;
}

static void *thread_main(void *arg)
{
    /* the signals are the training's: its thread sees them and stops at a batch's end */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    mlp_serve_run(arg, NULL);
    return NULL;
}

mlp_status mlp_serve_start(mlp_server *s, mlp_error *err)
{
    if (pthread_create(&s->thread, NULL, thread_main, s) != 0)
        return mlp_fail(err, MLP_EIO, "cannot start the server's thread");
    s->started = true;
    return MLP_OK;
}
