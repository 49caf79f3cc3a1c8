/*
 * http: the request parser accepts what RFC 9112 allows of GET and POST and answers every
 * other request with the status http.h documents; a request arriving a byte at a time is
 * incomplete until its last byte; the head of a response and the query reader.
 */
#include "testutil.h"

#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, mlp_http_request *req)
{
    return mlp_http_parse(req, text, strlen(text), 100);
}

static void test_a_get_and_a_post_parse(void **state)
{
    (void)state;
    mlp_http_request r;
    assert_int_equal(parse("GET /api/test?index=3&label=7 HTTP/1.1\r\nHost: localhost:80\r\n"
                           "Accept: */*\r\nLast-Event-ID: 12\r\n\r\n",
                           &r),
                     200);
    assert_int_equal(r.method, MLP_HTTP_GET);
    assert_string_equal(r.path, "/api/test");
    assert_string_equal(r.query, "index=3&label=7");
    assert_string_equal(r.host, "localhost:80");
    assert_true(r.has_event_id);
    assert_int_equal(r.last_event_id, 12);
    assert_int_equal(r.body_len, 0);

    const char *post = "POST /api/predict HTTP/1.1\r\nhost:  127.0.0.1:9 \r\nOrigin: "
                       "http://127.0.0.1:9\r\ncontent-length: 5\r\n\r\n[1,2]";
    assert_int_equal(parse(post, &r), 200);
    assert_int_equal(r.method, MLP_HTTP_POST);
    assert_string_equal(r.host, "127.0.0.1:9"); /* spaces around the value are not its own */
    assert_string_equal(r.origin, "http://127.0.0.1:9");
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(post + r.head_len, "[1,2]", 5);

    /* HTTP/1.0 needs no Host */
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r), 200);
    assert_string_equal(r.host, "");
}

static void test_a_request_is_incomplete_until_its_last_byte(void **state)
{
    (void)state;
    const char *post = "POST /api/predict HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n[0]";
    size_t n = strlen(post);
    mlp_http_request r;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(mlp_http_parse(&r, post, k, 100), 0);
    assert_int_equal(mlp_http_parse(&r, post, n, 100), 200);
}

static void test_bad_requests_get_their_status(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int status;
    } cases[] = {
        {"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
        {"PUT /api/stop HTTP/1.1\r\nHost: a\r\n\r\n", 405},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
        {"GET / HTTP/1.1\r\n\r\n", 400},                        /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},  /* two */
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},            /* two spaces */
        {"GET api HTTP/1.1\r\nHost: a\r\n\r\n", 400},           /* not origin-form */
        {"GET /#x HTTP/1.1\r\nHost: a\r\n\r\n", 400},           /* a fragment */
        {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},               /* a bare LF */
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},            /* space before the colon */
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},  /* obsolete folding */
        {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},         /* a control byte */
        {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        {"GET / HTTP/1.1\r\nHost: a\r\nLast-Event-ID: x\r\n\r\n", 400},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mlp_http_request r;
        int got = parse(cases[k].text, &r);
        if (got != cases[k].status)
            fail_msg("case %zu: %d, not %d", k, got, cases[k].status);
    }
}

static void test_the_caps_hold(void **state)
{
    (void)state;
    mlp_http_request r;
    char *big = malloc(MLP_HTTP_MAX_HEAD * 2);
    assert_non_null(big);
    /* a target of 256 bytes */
    int n = snprintf(big, MLP_HTTP_MAX_HEAD, "GET /%0255d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
    assert_int_equal(mlp_http_parse(&r, big, (size_t)n, 100), 414);
    /* 33 header lines */
    n = snprintf(big, MLP_HTTP_MAX_HEAD, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int k = 0; k < MLP_HTTP_MAX_HEADERS; k++)
        n += snprintf(big + n, MLP_HTTP_MAX_HEAD - (size_t)n, "X-%d: y\r\n", k);
    n += snprintf(big + n, MLP_HTTP_MAX_HEAD - (size_t)n, "\r\n");
    assert_int_equal(mlp_http_parse(&r, big, (size_t)n, 100), 431);
    /* a head that never ends: 431 as soon as the cap is reached, not later */
    memset(big, 'a', MLP_HTTP_MAX_HEAD * 2);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(mlp_http_parse(&r, big, MLP_HTTP_MAX_HEAD - 1, 100), 0);
    assert_int_equal(mlp_http_parse(&r, big, MLP_HTTP_MAX_HEAD, 100), 431);
    /* a Host too long to keep */
    n = snprintf(big, MLP_HTTP_MAX_HEAD, "GET / HTTP/1.1\r\nHost: %0300d\r\n\r\n", 0);
    assert_int_equal(mlp_http_parse(&r, big, (size_t)n, 100), 400);
    free(big);
}

static void test_the_response_head_and_the_query(void **state)
{
    (void)state;
    char head[1024], v[8];
    size_t n = mlp_http_head(head, sizeof head, 404, "text/plain", 12, NULL);
    assert_int_equal(n, strlen(head));
    assert_non_null(strstr(head, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(head, "Content-Length: 12\r\n"));
    assert_non_null(strstr(head, "Connection: close\r\n"));
    assert_non_null(strstr(head, "X-Frame-Options: DENY\r\n"));
    assert_string_equal(head + n - 4, "\r\n\r\n");
    n = mlp_http_head(head, sizeof head, 200, "text/event-stream", SIZE_MAX, NULL);
    assert_null(strstr(head, "Content-Length"));
    n = mlp_http_head(head, sizeof head, 405, "text/plain", 0, NULL);
    assert_non_null(strstr(head, "Allow: GET, POST\r\n"));
    assert_int_equal(mlp_http_head(head, 20, 200, "text/plain", 0, NULL), 0); /* too small */

    assert_true(mlp_http_query("index=12&label=3", "label", v, sizeof v));
    assert_string_equal(v, "3");
    assert_true(mlp_http_query("index=12&label=3", "index", v, sizeof v));
    assert_string_equal(v, "12");
    assert_false(mlp_http_query("xlabel=3", "label", v, sizeof v));
    assert_false(mlp_http_query("label=123456789", "label", v, sizeof v)); /* does not fit */
    assert_true(mlp_http_query("label=", "label", v, sizeof v));
    assert_string_equal(v, "");
    assert_string_equal(mlp_http_reason(431), "Request Header Fields Too Large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_get_and_a_post_parse),
        cmocka_unit_test(test_a_request_is_incomplete_until_its_last_byte),
        cmocka_unit_test(test_bad_requests_get_their_status),
        cmocka_unit_test(test_the_caps_hold),
        cmocka_unit_test(test_the_response_head_and_the_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
