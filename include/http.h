/*
 * http: the HTTP/1.1 of `mlp serve` (RFC 9110, RFC 9112), as a pure function over the bytes a
 * client sent, and the head of a response. No sockets here (serve.c has them): the parser is
 * what a hostile client reaches, so it is fuzzed on its own (tests/fuzz_http.c).
 *
 * What is accepted, and nothing else:
 *   request line   METHOD SP TARGET SP HTTP/1.1 (or HTTP/1.0) CRLF
 *                  METHOD a token; GET and POST are served, any other token gets 405
 *                  TARGET origin-form: "/" then visible ASCII, at most MLP_HTTP_MAX_TARGET
 *                  bytes; split at '?' into path and query
 *   header lines   NAME ":" OWS VALUE OWS CRLF; NAME a token, VALUE visible ASCII, spaces
 *                  and tabs; no obsolete line folding; at most MLP_HTTP_MAX_HEADERS of them
 *   end of head    an empty line (CRLF); the whole head at most MLP_HTTP_MAX_HEAD bytes
 *   body           exactly Content-Length bytes (digits only, one header), at most the
 *                  caller's cap; Transfer-Encoding is refused (501): no chunked bodies
 * Host is required in HTTP/1.1 and may come once. The headers read are Host, Origin,
 * Content-Length, Transfer-Encoding and Last-Event-ID; the others are checked and skipped.
 * Every connection closes after its response, so nothing after the body is read.
 */
#ifndef MLP_HTTP_H
#define MLP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLP_HTTP_MAX_HEAD    8192 /* bytes of request line and headers, CRLFs included */
#define MLP_HTTP_MAX_HEADERS 32
#define MLP_HTTP_MAX_TARGET  255 /* bytes of the request target */
#define MLP_HTTP_MAX_FIELD   255 /* bytes kept of Host and Origin; longer ones get 400 */

typedef enum { MLP_HTTP_GET, MLP_HTTP_POST, MLP_HTTP_OTHER } mlp_http_method;

typedef struct {
    mlp_http_method method;
    char path[MLP_HTTP_MAX_TARGET + 1];  /* "/api/test", NUL-terminated */
    char query[MLP_HTTP_MAX_TARGET + 1]; /* after '?', without it; "" if none */
    char host[MLP_HTTP_MAX_FIELD + 1];   /* "" if absent (HTTP/1.0) */
    char origin[MLP_HTTP_MAX_FIELD + 1]; /* "" if absent */
    bool has_event_id;
    uint64_t last_event_id;              /* Last-Event-ID, when has_event_id */
    size_t head_len;                     /* bytes of the head, the empty line included */
    size_t body_len;                     /* Content-Length; 0 without one */
} mlp_http_request;

/* Parses the len bytes at buf, the start of what a client sent, into req. Returns
 *   0     the head or the body is not complete yet: read more and call again
 *   200   a complete request: the body is buf[head_len .. head_len + body_len)
 *   4xx, 5xx  the status to answer with: 400 malformed, 405 a method other than GET and POST
 *         (req->method is MLP_HTTP_OTHER), 413 a body larger than max_body, 414 a target too
 *         long, 431 too many headers or a head longer than MLP_HTTP_MAX_HEAD, 501
 *         Transfer-Encoding, 505 an HTTP version other than 1.0 and 1.1
 * Never reads past buf[len - 1]; req is fully written whatever the result. */
int mlp_http_parse(mlp_http_request *req, const char *buf, size_t len, size_t max_body);

/* The reason phrase of a status ("Not Found"), "Error" for one it does not know. */
const char *mlp_http_reason(int status);

/* The head of a response of len bytes of type into buf (cap bytes): status line, Content-Type,
 * Content-Length, Connection: close, headers that keep the page from being cached or framed
 * elsewhere, and `extra` (more header lines, each ending in CRLF, or NULL). A len of SIZE_MAX
 * leaves Content-Length out (an event stream). Returns the head's length, 0 if it does not fit. */
size_t mlp_http_head(char *buf, size_t cap, int status, const char *type, size_t len,
                     const char *extra);

/* The value of NAME in a query string "a=1&b=2" into out (cap bytes, NUL-terminated): true if
 * NAME is there with a value that fits; no percent-decoding (the page sends digits). */
bool mlp_http_query(const char *query, const char *name, char *out, size_t cap);

#endif
