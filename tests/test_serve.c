/*
 * serve: the server of `mlp serve` with a real client on loopback. In this process, on a
 * model trained for the test: the page and the JSON paths answer; a foreign Host or Origin
 * gets 403, an oversized body 413, an oversized head 431, other methods 405, unknown paths
 * 404, bad drawings 400 or 422, and the server goes on serving; a client that sends a byte a
 * second is dropped after the time-out; connections past the cap get 503; 100 requests leave
 * no file descriptor behind (and, under `make asan`, no memory: LeakSanitizer checks at exit);
 * the event stream is well formed and replays after Last-Event-ID. The numbers answered for a
 * drawing are `mlp predict --center`'s, and for a test image `mlp explain`'s. Then the
 * commands: `mlp serve` prints its address and stops on SIGINT, refuses bad flags, a port in
 * use and a file that is no model; `mlp train --serve` streams its epochs and its stop button
 * saves a checkpoint as SIGINT does.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "idx.h"
#include "model.h"
#include "serve.h"
#include "serve_app.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT 30.0 /* seconds the fixture's server gives a request: far more than a loaded
                      * machine takes, so that only the slow client's test sees it */
#define SLOW    2.0  /* the time-out of the slow client's own server */
#define CONNS   8

typedef struct {
    tu_cli cli;
    char model[4096];
    mlp_net net;
    mlp_model_meta meta;
    mlp_set test;
    mlp_app app;
    mlp_server *server;
    unsigned port;
} fixture;

static fixture *F;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mlp_error err;
    assert_non_null(f);
    tu_cli_open(&f->cli);
    tu_write_synthetic(f->cli.dir, 300, 20, 28, 28, 10, 5);
    tu_path(f->model, f->cli.dir, "m.bin");
    assert_int_equal(tu_cli_run(&f->cli, "train %s --hidden 16 --epochs 3 --out %s --quiet",
                                f->cli.dir, f->model),
                     0);
    assert_int_equal(mlp_model_load(f->model, &f->net, 1, &f->meta, &err), MLP_OK);
    assert_int_equal(mlp_idx_load_test(&f->test, f->cli.dir, &err), MLP_OK);
    assert_int_equal(mlp_app_init(&f->app, &f->net, 28, 28, &f->test, NULL, 0, &err), MLP_OK);
    mlp_serve_opts o = {.timeout = TIMEOUT, .max_conns = CONNS,
                        .max_body = mlp_app_max_body(&f->app), .handler = mlp_app_handle,
                        .ctx = &f->app};
    assert_int_equal(mlp_serve_open(&f->server, &o, &err), MLP_OK);
    f->app.server = f->server;
    f->port = mlp_serve_port(f->server);
    assert_true(f->port > 0);
    assert_int_equal(mlp_serve_start(f->server, &err), MLP_OK);
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mlp_serve_close(f->server);
    mlp_app_free(&f->app);
    mlp_idx_set_free(&f->test);
    mlp_net_free(&f->net);
    tu_cli_close(&f->cli);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- a client */

typedef tu_http_answer answer;

static int dial(unsigned port)
{
    return tu_http_dial(port);
}

static answer raw(unsigned port, const char *req, size_t n)
{
    return tu_http_raw(port, req, n);
}

static answer ask(const char *method, const char *target, const char *body)
{
    return tu_http_ask(F->port, method, target, body);
}

static void done(answer *a)
{
    free(a->text);
}

static void expect(const char *method, const char *target, const char *body, int status,
                   const char *says)
{
    answer a = ask(method, target, body);
    if (a.status != status || (says && !strstr(a.body, says)))
        fail_msg("%s %s: %d '%s', expected %d '%s'", method, target, a.status, a.body, status,
                 says ? says : "");
    done(&a);
}

/* A drawing: a thick diagonal stroke, as JSON and as bytes (28x28). */
static char *drawing(uint8_t *px, int bad_value)
{
    char *json = malloc(28 * 28 * 4 + 8), *p = json;
    assert_non_null(json);
    *p++ = '[';
    for (int r = 0; r < 28; r++)
        for (int c = 0; c < 28; c++) {
            int d = abs((c - 6) - (r - 4) / 2);
            uint8_t v = r > 3 && r < 24 && d < 3 ? (uint8_t)(255 - 60 * d) : 0;
            px[r * 28 + c] = v;
            p += sprintf(p, "%s%d", r || c ? "," : "", r == 10 && c == 10 && bad_value ? bad_value : v);
        }
    *p++ = ']';
    *p = '\0';
    return json;
}

/* ---------------------------------------------------------------- in this process */

static void test_the_page_and_its_json_answer(void **state)
{
    (void)state;
    answer a = ask("GET", "/", NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.text, "Content-Type: text/html"));
    assert_int_equal(a.body_len, mlp_page_html_len);
    assert_non_null(strstr(a.body, "<svg id=\"net\""));
    /* nothing loaded from elsewhere: the one address is SVG's namespace, a name only */
    char *page = strndup(a.body, a.body_len), *ns;
    while ((ns = strstr(page, "http://www.w3.org/2000/svg")))
        memset(ns, '_', 4);
    assert_null(strstr(page, "http://"));
    assert_null(strstr(page, "https://"));
    assert_null(strstr(page, "src=\"//"));
    free(page);
    done(&a);

    a = ask("GET", "/api/model", NULL);
    assert_int_equal(a.status, 200);
    assert_true(tu_json_valid(a.body));
    assert_non_null(strstr(a.body, "\"layout\":\"784-16-10\""));
    assert_non_null(strstr(a.body, "\"test_images\":20"));
    assert_non_null(strstr(a.body, "\"training\":false"));
    done(&a);

    a = ask("GET", "/api/test?index=3", NULL);
    assert_int_equal(a.status, 200);
    assert_true(tu_json_valid(a.body));
    char want[64];
    snprintf(want, sizeof want, "\"true_label\":%u,", F->test.y[3]);
    assert_non_null(strstr(a.body, want));
    assert_non_null(strstr(a.body, "\"explain\":{\"label\""));
    done(&a);

    a = ask("GET", "/api/weights.png", NULL);
    assert_int_equal(a.status, 200);
    size_t w, h, ch;
    uint8_t *px = tu_png_decode((const unsigned char *)a.body, a.body_len, &w, &h, &ch);
    assert_int_equal(ch, 3);
    assert_int_equal(w, 4 * (28 * 2 + 2) + 2); /* 16 tiles, 4 across, as mlp weights lays them */
    free(px);
    done(&a);
}

static void test_a_client_that_shuts_its_side_still_gets_the_answer(void **state)
{
    (void)state;
    char req[256];
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", F->port);
    /* a small receive window, so that the page cannot all be sent before the server sees the
     * shut side */
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 2048;
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)F->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    tu_http_send(fd, req, (size_t)n);
    shutdown(fd, SHUT_WR); /* as a script may, after the request */
    nanosleep(&(struct timespec){0, 300000000}, NULL); /* the server sees it before we read */
    size_t len;
    char *got = tu_http_read(fd, &len);
    close(fd);
    assert_non_null(strstr(got, "HTTP/1.1 200 OK\r\n"));
    const char *body = strstr(got, "\r\n\r\n");
    assert_non_null(body);
    assert_int_equal(len - (size_t)(body + 4 - got), mlp_page_html_len); /* all of the page */
    free(got);
}

static void test_foreign_hosts_and_origins_get_403(void **state)
{
    (void)state;
    char req[512];
    static const struct {
        const char *host; /* %u: the port */
        int status;
    } hosts[] = {{"evil.com", 403},        {"evil.com:%u", 403},  {"127.0.0.1", 403},
                 {"127.0.0.1:1", 403},     {"localhost.evil.com:%u", 403},
                 {"localhost:%u", 200},    {"LOCALHOST:%u", 200}, {"[::1]:%u", 200},
                 {"127.0.0.1:%u", 200}};
    for (size_t k = 0; k < sizeof hosts / sizeof hosts[0]; k++) {
        char host[128];
        snprintf(host, sizeof host, hosts[k].host, F->port);
        int n = snprintf(req, sizeof req, "GET /api/model HTTP/1.1\r\nHost: %s\r\n\r\n", host);
        answer a = raw(F->port, req, (size_t)n);
        if (a.status != hosts[k].status)
            fail_msg("Host %s: %d, not %d", host, a.status, hosts[k].status);
        done(&a);
    }
    /* a page of another site posting a drawing */
    int n = snprintf(req, sizeof req,
                     "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
                     "http://evil.com\r\nContent-Length: 2\r\n\r\n[]",
                     F->port);
    answer a = raw(F->port, req, (size_t)n);
    assert_int_equal(a.status, 403);
    done(&a);
}

static void test_bad_requests_get_their_status_and_serving_goes_on(void **state)
{
    (void)state;
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: "
                     "10000000\r\n\r\n",
                     F->port);
    answer a = raw(F->port, req, (size_t)n);
    assert_int_equal(a.status, 413);
    done(&a);
    char *big = malloc(3 * MLP_HTTP_MAX_HEAD);
    assert_non_null(big);
    n = sprintf(big, "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nX-Pad: ", F->port);
    memset(big + n, 'a', 2 * MLP_HTTP_MAX_HEAD);
    memcpy(big + n + 2 * MLP_HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
    a = raw(F->port, big, (size_t)n + MLP_HTTP_MAX_HEAD + 100); /* past the cap, not all */
    assert_int_equal(a.status, 431);
    done(&a);
    free(big);
    n = snprintf(req, sizeof req, "DELETE / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", F->port);
    a = raw(F->port, req, (size_t)n);
    assert_int_equal(a.status, 405);
    done(&a);
    a = raw(F->port, "GARBAGE\r\n\r\n", 11);
    assert_int_equal(a.status, 400);
    done(&a);

    expect("GET", "/nope", NULL, 404, NULL);
    expect("GET", "/etc/passwd", NULL, 404, NULL);
    expect("GET", "/../src/page.html", NULL, 404, NULL);
    expect("POST", "/api/stop", "{}", 404, NULL); /* not training */
    expect("GET", "/api/predict", NULL, 405, NULL);
    expect("POST", "/api/model", "{}", 405, NULL);
    expect("GET", "/api/test?index=20", NULL, 400, "index");
    expect("GET", "/api/test?index=abc", NULL, 400, "index");
    expect("GET", "/api/test", NULL, 400, "index");
    expect("GET", "/api/test?index=0&label=10", NULL, 400, "label");

    uint8_t px[784];
    char *json = drawing(px, 0);
    expect("POST", "/api/predict", "[1,2,3]", 400, "3 pixels");
    expect("POST", "/api/predict", "{\"pixels\":[]}", 400, "JSON array");
    expect("POST", "/api/predict", "[1,,2]", 400, "pixel 1");
    expect("POST", "/api/predict", "[-1]", 400, "pixel 0");
    expect("POST", "/api/predict", "[1.5]", 400, "after pixel 0");
    expect("POST", "/api/predict", "", 400, "JSON array");
    expect("POST", "/api/predict?label=x", json, 400, "label");
    free(json);
    json = drawing(px, 256);
    expect("POST", "/api/predict", json, 400, "pixel 290");
    free(json);
    char zeros[784 * 2 + 2] = "[";
    for (int k = 0; k < 784; k++)
        strcat(zeros, k ? ",0" : "0");
    strcat(zeros, "]");
    expect("POST", "/api/predict", zeros, 422, "ink");
    /* and after all of that, it still answers */
    expect("GET", "/api/model", NULL, 200, "layout");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_a_client_sending_a_byte_a_second_is_dropped(void **state)
{
    (void)state;
    mlp_server *slow;
    mlp_error err;
    mlp_serve_opts o = {.timeout = SLOW, .max_conns = 2, .max_body = 16,
                        .handler = mlp_app_handle, .ctx = &F->app};
    assert_int_equal(mlp_serve_open(&slow, &o, &err), MLP_OK);
    assert_int_equal(mlp_serve_start(slow, &err), MLP_OK);
    const char *req = "GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    int fd = dial(mlp_serve_port(slow));
    double t0 = now_s();
    size_t sent = 0;
    bool dropped = false;
    for (; sent < strlen(req) && now_s() - t0 < 60.0; sent++) {
        if (send(fd, req + sent, 1, MSG_NOSIGNAL) != 1) {
            dropped = true;
            break;
        }
        struct timeval tv = {1, 0}; /* a byte a second: wait for the server's close as well */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char c;
        ssize_t k = recv(fd, &c, 1, 0);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            dropped = true;
            break;
        }
    }
    double t = now_s() - t0;
    close(fd);
    mlp_serve_close(slow);
    assert_true(dropped);
    assert_true(sent < strlen(req) - 1); /* before its request was whole */
    assert_true(t >= SLOW - 0.5);
    assert_true(t < SLOW + 40.0); /* a loaded machine delays the close */
}

static size_t open_fds(void)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void test_a_hundred_requests_leave_nothing_behind(void **state)
{
    (void)state;
    uint8_t px[784];
    char *json = drawing(px, 0);
    answer a = ask("GET", "/api/model", NULL); /* whatever is made once is made */
    done(&a);
    /* the server closes its socket just after the client has read the end: the count is
     * taken once that has happened */
    size_t before = open_fds();
    for (double t0 = now_s(); now_s() - t0 < 0.5; nanosleep(&(struct timespec){0, 20000000}, NULL))
        before = open_fds() < before ? open_fds() : before;
    for (int k = 0; k < 100; k++) {
        if (k % 3 == 0)
            a = ask("POST", "/api/predict?label=2", json);
        else if (k % 3 == 1)
            a = ask("GET", "/api/test?index=1", NULL);
        else
            a = ask("GET", "/nothing", NULL);
        assert_int_equal(a.status, k % 3 == 2 ? 404 : 200);
        done(&a);
    }
    free(json);
    /* the server closes its side after writing: give it time on a loaded machine (whose
     * benchmarks may stop this process for a while) */
    for (double t0 = now_s(); open_fds() > before && now_s() - t0 < 60.0;)
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    /* which one, for the failure below */
    if (open_fds() > before && system("ls -l /proc/$PPID/fd >&2") != 0)
        print_error("cannot list the descriptors\n");
    assert_true(open_fds() <= before);
}

static void test_connections_past_the_cap_get_503(void **state)
{
    (void)state;
    int idle[CONNS];
    for (int k = 0; k < CONNS; k++)
        idle[k] = dial(F->port);
    nanosleep(&(struct timespec){0, 300000000}, NULL); /* accepted, all of them */
    int fd = dial(F->port);
    char *got = tu_http_read(fd, NULL);
    close(fd);
    assert_non_null(strstr(got, "HTTP/1.1 503"));
    free(got);
    for (int k = 0; k < CONNS; k++)
        close(idle[k]);
    /* room again, once the server has seen them go */
    for (double t0 = now_s();; nanosleep(&(struct timespec){0, 50000000}, NULL)) {
        answer a = ask("GET", "/api/model", NULL);
        int st = a.status;
        done(&a);
        if (st == 200)
            break;
        assert_int_equal(st, 503);
        assert_true(now_s() - t0 < 60.0);
    }
}

/* Reads a stream until it holds `until` (or the server closes). */
static char *read_until(int fd, const char *until)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\0';
    while (!strstr(buf, until) && n + 1 < cap) {
        ssize_t k = recv(fd, buf + n, cap - n - 1, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
    }
    return buf;
}

static int events(const char *last_id)
{
    char req[512];
    int fd = dial(F->port);
    int n = snprintf(req, sizeof req,
                     "GET /api/events HTTP/1.1\r\nHost: localhost:%u\r\nAccept: "
                     "text/event-stream\r\n%s%s%s\r\n",
                     F->port, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "",
                     last_id ? "\r\n" : "");
    tu_http_send(fd, req, (size_t)n);
    return fd;
}

/* Every event of a stream's text (after the head, if it is there): lines "field: value",
 * events ended by an empty line. */
static void check_events(const char *s)
{
    const char *body = strstr(s, "\r\n\r\n");
    for (const char *line = body ? body + 4 : s; *line;) {
        const char *eol = strchr(line, '\n');
        assert_non_null(eol); /* every line is complete */
        if (eol > line) {
            bool known = !strncmp(line, "id: ", 4) || !strncmp(line, "event: ", 7) ||
                         !strncmp(line, "data: ", 6) || !strncmp(line, "retry: ", 7) ||
                         line[0] == ':';
            if (!known)
                fail_msg("not an event line: %.*s", (int)(eol - line), line);
            if (!strncmp(line, "data: ", 6)) {
                char *data = strndup(line + 6, (size_t)(eol - line - 6));
                assert_true(tu_json_valid(data));
                free(data);
            }
        }
        line = eol + 1;
    }
}

static void test_the_event_stream_is_well_formed_and_replays(void **state)
{
    (void)state;
    int fd = events(NULL);
    char *got = read_until(fd, "retry: 2000\n\n");
    assert_non_null(strstr(got, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(got, "Content-Type: text/event-stream\r\n"));
    assert_null(strstr(got, "Content-Length"));
    free(got);
    for (size_t e = 1; e <= 3; e++) {
        mlp_plot_row row = {e, 0.5 / (double)e, 80.0 + (double)e, NAN, 81.0, 0.1, 0.2};
        mlp_app_epoch(&F->app, &F->net, &row);
    }
    mlp_app_progress(&F->app, 4, 10, 300, 1e9, &(double){0.0});
    got = read_until(fd, "event: progress\n");
    char *more = read_until(fd, "\n\n");
    got = realloc(got, strlen(got) + strlen(more) + 1);
    strcat(got, more);
    free(more);
    close(fd);
    assert_non_null(strstr(got, "id: 1\nevent: epoch\ndata: {\"epoch\":1,"));
    assert_non_null(strstr(got, "id: 3\nevent: epoch\ndata: {\"epoch\":3,"));
    assert_non_null(strstr(got, "\"val\":null"));
    assert_non_null(strstr(got, "event: progress\ndata: {\"epoch\":4,"));
    check_events(got);
    free(got);

    /* a reconnection after id 2 gets id 3 and not what it had */
    fd = events("2");
    got = read_until(fd, "id: 3\n");
    char *rest = read_until(fd, "\n\n");
    close(fd);
    assert_non_null(strstr(got, "id: 3\nevent: epoch\n"));
    assert_null(strstr(got, "id: 1\n"));
    assert_null(strstr(got, "id: 2\n"));
    free(got);
    free(rest);
    for (double t0 = now_s(); mlp_serve_streams(F->server) && now_s() - t0 < 60.0;)
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    assert_int_equal(mlp_serve_streams(F->server), 0); /* both closed streams are gone */
}

/* ---------------------------------------------------------------- the numbers */

/* The n numbers of the JSON array after `key` (the first after `from`). */
static void json_numbers(const char *json, const char *from, const char *key, double *v, size_t n)
{
    const char *p = strstr(json, from);
    assert_non_null(p);
    p = strstr(p, key);
    assert_non_null(p);
    p += strlen(key);
    for (size_t k = 0; k < n; k++) {
        char *end;
        v[k] = strtod(p, &end);
        assert_true(end > p);
        p = end + 1;
    }
}

static void test_a_drawing_gets_predict_centers_numbers(void **state)
{
    fixture *f = *state;
    uint8_t px[784];
    char *json = drawing(px, 0), pgm[4096];
    answer a = ask("POST", "/api/predict", json);
    free(json);
    assert_int_equal(a.status, 200);
    double page[10], cli[10];
    json_numbers(a.body, "{", "\"scores\":[", page, 10);
    tu_path(pgm, f->cli.dir, "drawn.pgm");
    FILE *fp = fopen(pgm, "wb");
    assert_non_null(fp);
    fprintf(fp, "P5\n28 28\n255\n");
    fwrite(px, 1, 784, fp);
    fclose(fp);
    assert_int_equal(tu_cli_run(&f->cli, "predict %s %s --center --json", f->model, pgm), 0);
    json_numbers(f->cli.out, "{", "\"scores\":[", cli, 10);
    for (int k = 0; k < 10; k++)
        assert_true(page[k] == cli[k]);
    char cls[32];
    const char *c = strstr(f->cli.out, "\"class\":");
    assert_non_null(c);
    snprintf(cls, sizeof cls, "%.*s", (int)strcspn(c, ","), c);
    assert_non_null(strstr(a.body, cls));
    done(&a);
}

/* The tokens of s shaped as %+.2e prints, in order, into out (at most n); their count. */
static size_t e2_tokens(const char *s, const char *end, char out[][16], size_t n)
{
    size_t k = 0;
    for (const char *p = s; p + 9 <= end && k < n; p++)
        if ((*p == '+' || *p == '-') && p[2] == '.' && p[5] == 'e' && (p == s || p[-1] == ' ')) {
            snprintf(out[k++], 16, "%.9s", p);
            p += 8;
        }
    return k;
}

static void test_a_test_image_gets_explains_numbers(void **state)
{
    fixture *f = *state;
    answer a = ask("GET", "/api/test?index=2", NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(tu_cli_run(&f->cli, "explain %s %s --index 2", f->model, f->cli.dir), 0);
    double out_wish[10], hid_wish[16], hid_ask[16];
    json_numbers(a.body, "\"explain\":", "\"wish\":[", out_wish, 10);
    json_numbers(a.body, "\"hidden\":[", "\"asked\":[", hid_ask, 16);
    json_numbers(a.body, "\"hidden\":[", "\"wish\":[", hid_wish, 16);

    /* explain's output table: one wish a line, after its header */
    const char *t = strstr(f->cli.out, "desired  wish");
    assert_non_null(t);
    for (int j = 0; j < 10; j++) {
        t = strchr(t, '\n') + 1;
        char tok[2][16], mine[16];
        assert_int_equal(e2_tokens(t, strchr(t, '\n'), tok, 2), 1);
        snprintf(mine, sizeof mine, "%+.2e", out_wish[j]);
        assert_string_equal(tok[0], mine);
    }
    /* layer 1's table: asked, then the wish */
    t = strstr(f->cli.out, "neuron  activation  asked");
    assert_non_null(t);
    for (int k = 0; k < 16; k++) {
        t = strchr(t, '\n') + 1;
        char tok[2][16], mine[16];
        assert_int_equal(e2_tokens(t, strchr(t, '\n'), tok, 2), 2);
        snprintf(mine, sizeof mine, "%+.2e", hid_ask[k]);
        assert_string_equal(tok[0], mine);
        snprintf(mine, sizeof mine, "%+.2e", hid_wish[k]);
        assert_string_equal(tok[1], mine);
    }
    /* the strongest wish */
    double s;
    json_numbers(a.body, "\"strongest\":", "\"wish\":", &s, 1);
    char line[128];
    snprintf(line, sizeof line, "(-dC/dz = %+.2e)", s);
    assert_non_null(strstr(f->cli.out, line));
    done(&a);
}

/* ---------------------------------------------------------------- the commands */

static unsigned port_in(const char *path)
{
    assert_true(tu_wait_for_text(path, "http://127.0.0.1:", 120.0));
    size_t len;
    unsigned char *text = tu_read_file(path, &len);
    const char *p = strstr((const char *)text, "http://127.0.0.1:");
    unsigned port = (unsigned)strtoul(p + 17, NULL, 10);
    free(text);
    return port;
}

static void test_mlp_serve_prints_its_address_and_stops_on_sigint(void **state)
{
    fixture *f = *state;
    char args[8192], out[4096], err[4096];
    tu_path(out, f->cli.dir, "serve.out");
    tu_path(err, f->cli.dir, "serve.err");
    snprintf(args, sizeof args, "serve %s %s", f->model, f->cli.dir);
    int pid = tu_spawn_mlp(args, out, err);
    unsigned port = port_in(out);
    unsigned mine = F->port;
    F->port = port; /* ask() speaks to the command now */
    expect("GET", "/api/model", NULL, 200, "\"test_images\":20");
    expect("GET", "/", NULL, 200, "<canvas id=\"pad\"");
    /* a second server on the same port is refused with one line */
    assert_int_equal(tu_cli_run(&f->cli, "serve %s --port %u", f->model, port), 1);
    assert_non_null(strstr(f->cli.err, "in use"));
    assert_int_equal(tu_count_lines(f->cli.err), 1);
    F->port = mine;
    kill(pid, SIGINT);
    assert_int_equal(tu_wait_exit(pid), 0);
}

static void test_mlp_serve_refuses_bad_flags_and_files(void **state)
{
    fixture *f = *state;
    assert_int_equal(tu_cli_run(&f->cli, "serve"), 2);
    assert_non_null(strstr(f->cli.err, "missing MODEL"));
    assert_int_equal(tu_cli_run(&f->cli, "serve %s --port 70000", f->model), 2);
    assert_non_null(strstr(f->cli.err, "--port"));
    assert_int_equal(tu_cli_run(&f->cli, "serve %s --host 0.0.0.0", f->model), 2);
    assert_non_null(strstr(f->cli.err, "--public"));
    assert_int_equal(tu_count_lines(f->cli.err), 1);
    assert_int_equal(tu_cli_run(&f->cli, "serve %s --host ::2", f->model), 2);
    assert_int_equal(tu_cli_run(&f->cli, "serve %s --bogus", f->model), 2);
    assert_int_equal(tu_cli_run(&f->cli, "serve %s/t10k-labels-idx1-ubyte", f->cli.dir), 1);
    assert_int_equal(tu_count_lines(f->cli.err), 1);
    assert_int_equal(tu_cli_run(&f->cli, "serve %s %s/nowhere", f->model, f->cli.dir), 1);
    assert_int_equal(tu_count_lines(f->cli.err), 1);
}

static void test_train_serve_streams_epochs_and_its_stop_button_saves(void **state)
{
    fixture *f = *state;
    char args[8192], out[4096], err[4096], ck[4096];
    tu_path(out, f->cli.dir, "train.out");
    tu_path(err, f->cli.dir, "train.err");
    tu_path(ck, f->cli.dir, "ck.bin");
    snprintf(args, sizeof args, "train %s --hidden 16 --epochs 100000 --out %s --serve --quiet",
             f->cli.dir, ck);
    int pid = tu_spawn_mlp(args, out, err);
    unsigned mine = F->port;
    F->port = port_in(out);
    expect("GET", "/api/model", NULL, 200, "\"training\":true");
    int fd = events(NULL);
    /* progress lines may come first (a slow machine is still in the first epoch), and the
     * first epochs may be out of the ring already (small epochs go fast) */
    char *got = read_until(fd, "\nevent: epoch\ndata: {\"epoch\":");
    char *rest = read_until(fd, "\n\n");
    close(fd);
    bool epoch = strstr(got, "\nevent: epoch\ndata: {\"epoch\":") != NULL;
    bool planned = strstr(rest, "\"epochs\":100000,") != NULL;
    free(got);
    free(rest);
    assert_true(epoch);
    assert_true(planned);
    expect("GET", "/api/test?index=0", NULL, 200, "\"explain\"");
    /* another site's page cannot press the button */
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST /api/stop HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: "
                     "http://evil.com\r\nContent-Length: 0\r\n\r\n",
                     F->port);
    answer a = raw(F->port, req, (size_t)n);
    assert_int_equal(a.status, 403);
    done(&a);
    expect("POST", "/api/stop", "", 200, "stopping");
    F->port = mine;
    assert_int_equal(tu_wait_exit(pid), 130); /* as after Ctrl-C */
    size_t len;
    char *text = (char *)tu_read_file(err, &len);
    assert_non_null(strstr(text, "mlp: interrupted: the checkpoint"));
    assert_non_null(strstr(text, "resume with: mlp train"));
    free(text);
    assert_int_equal(tu_cli_run(&f->cli, "info %s", ck), 0);

    assert_int_equal(tu_cli_run(&f->cli, "train %s --serve 70000 --epochs 1", f->cli.dir), 2);
    assert_non_null(strstr(f->cli.err, "--serve"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_page_and_its_json_answer),
        cmocka_unit_test(test_a_client_that_shuts_its_side_still_gets_the_answer),
        cmocka_unit_test(test_foreign_hosts_and_origins_get_403),
        cmocka_unit_test(test_bad_requests_get_their_status_and_serving_goes_on),
        cmocka_unit_test(test_a_client_sending_a_byte_a_second_is_dropped),
        cmocka_unit_test(test_a_hundred_requests_leave_nothing_behind),
        cmocka_unit_test(test_connections_past_the_cap_get_503),
        cmocka_unit_test(test_the_event_stream_is_well_formed_and_replays),
        cmocka_unit_test(test_a_drawing_gets_predict_centers_numbers),
        cmocka_unit_test(test_a_test_image_gets_explains_numbers),
        cmocka_unit_test(test_mlp_serve_prints_its_address_and_stops_on_sigint),
        cmocka_unit_test(test_mlp_serve_refuses_bad_flags_and_files),
        cmocka_unit_test(test_train_serve_streams_epochs_and_its_stop_button_saves),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
