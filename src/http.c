/*
 * http: the request parser and the response head of http.h. Works on the bytes given and
 * nothing else: no allocation, no state between calls (the caller calls again with more).
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* tchar of RFC 9110 section 5.6.2 */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_vchar(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e;
}

/* The end of the head: the index just past the empty line, or 0 if it is not in buf[0..n). */
static size_t head_end(const char *buf, size_t n)
{
    for (size_t i = 3; i < n; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* The request line buf[0..n), CRLF excluded. */
static int parse_request_line(mlp_http_request *req, const char *s, size_t n)
{
    size_t m = 0;
    while (m < n && is_tchar((unsigned char)s[m]))
        m++;
    if (m == 0 || m == n || s[m] != ' ')
        return 400;
    if (m == 3 && !memcmp(s, "GET", 3))
        req->method = MLP_HTTP_GET;
    else if (m == 4 && !memcmp(s, "POST", 4))
        req->method = MLP_HTTP_POST;
    else
        req->method = MLP_HTTP_OTHER;
    const char *t = s + m + 1;
    size_t rest = n - m - 1, tl = 0;
    while (tl < rest && is_vchar((unsigned char)t[tl]))
        tl++;
    if (tl == 0 || tl == rest || t[tl] != ' ' || t[0] != '/')
        return 400;
    const char *v = t + tl + 1;
    size_t vl = rest - tl - 1;
    if (vl != 8 || memcmp(v, "HTTP/1.", 7) || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[7] != '0' && v[7] != '1')
        return 505;
    if (tl > MLP_HTTP_MAX_TARGET)
        return 414;
    if (memchr(t, '#', tl))
        return 400; /* a fragment is never sent */
    const char *q = memchr(t, '?', tl);
    size_t pl = q ? (size_t)(q - t) : tl;
    memcpy(req->path, t, pl);
    req->path[pl] = '\0';
    if (q) {
        memcpy(req->query, q + 1, tl - pl - 1);
        req->query[tl - pl - 1] = '\0';
    }
    return v[7] == '1' ? 11 : 10; /* the minor version, for the Host rule */
}

/* Stores value (n bytes) into a field of MLP_HTTP_MAX_FIELD + 1 bytes; false if it comes a
 * second time or does not fit. */
static bool keep(char *field, bool *seen, const char *value, size_t n)
{
    if (*seen || n > MLP_HTTP_MAX_FIELD)
        return false;
    *seen = true;
    memcpy(field, value, n);
    field[n] = '\0';
    return true;
}

/* Decimal digits only, without overflow past limit + 1 (larger values saturate there). */
static bool parse_digits(const char *s, size_t n, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v > limit ? v : v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

int mlp_http_parse(mlp_http_request *req, const char *buf, size_t len, size_t max_body)
{
    memset(req, 0, sizeof *req);
    req->method = MLP_HTTP_OTHER;
    size_t end = head_end(buf, len < MLP_HTTP_MAX_HEAD ? len : MLP_HTTP_MAX_HEAD);
    if (end == 0)
        return len >= MLP_HTTP_MAX_HEAD ? 431 : 0;
    const char *line = buf, *stop = buf + end - 2; /* stop: the empty line's CR */
    const char *eol = memchr(line, '\r', (size_t)(stop - line) + 1);
    if (!eol || eol[1] != '\n' || memchr(line, '\n', (size_t)(eol - line)))
        return 400;
    int version = parse_request_line(req, line, (size_t)(eol - line));
    if (version >= 400)
        return version;
    bool seen_host = false, seen_origin = false, seen_length = false, seen_id = false;
    size_t headers = 0;
    for (line = eol + 2; line < stop; line = eol + 2) {
        eol = memchr(line, '\r', (size_t)(stop - line) + 1);
        if (!eol || eol[1] != '\n' || memchr(line, '\n', (size_t)(eol - line)))
            return 400; /* a bare CR or LF */
        if (++headers > MLP_HTTP_MAX_HEADERS)
            return 431;
        size_t n = (size_t)(eol - line), k = 0;
        while (k < n && is_tchar((unsigned char)line[k]))
            k++;
        if (k == 0 || k == n || line[k] != ':')
            return 400; /* no name, a space before the colon, or obsolete folding */
        const char *v = line + k + 1, *ve = eol;
        for (const char *p = v; p < ve; p++)
            if (!is_vchar((unsigned char)*p) && *p != ' ' && *p != '\t')
                return 400;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
        if (k == 4 && !strncasecmp(line, "Host", 4)) {
            if (!keep(req->host, &seen_host, v, vl))
                return 400;
        } else if (k == 6 && !strncasecmp(line, "Origin", 6)) {
            if (!keep(req->origin, &seen_origin, v, vl))
                return 400;
        } else if (k == 14 && !strncasecmp(line, "Content-Length", 14)) {
            uint64_t cl;
            if (seen_length || !parse_digits(v, vl, (uint64_t)max_body, &cl))
                return 400;
            seen_length = true;
            if (cl > max_body)
                return 413;
            req->body_len = (size_t)cl;
        } else if (k == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
            return 501;
        } else if (k == 13 && !strncasecmp(line, "Last-Event-ID", 13)) {
            if (seen_id || !parse_digits(v, vl, UINT64_MAX / 10 - 1, &req->last_event_id))
                return 400;
            seen_id = req->has_event_id = true;
        }
    }
    if (version == 11 && !seen_host)
        return 400;
    if (req->method == MLP_HTTP_OTHER)
        return 405;
    req->head_len = end;
    if (len - end < req->body_len)
        return 0;
    return 200;
}

const char *mlp_http_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        {200, "OK"},
        {204, "No Content"},
        {400, "Bad Request"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {503, "Service Unavailable"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t k = 0; k < sizeof reasons / sizeof reasons[0]; k++)
        if (reasons[k].status == status)
            return reasons[k].reason;
    return "Error";
}

size_t mlp_http_head(char *buf, size_t cap, int status, const char *type, size_t len,
                     const char *extra)
{
    char length[48] = "";
    if (len != SIZE_MAX)
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", len);
    /* the page and its data are never cached (they change as the model trains), never framed
     * by another site, and their type is never sniffed */
    int n = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%sConnection: close\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "X-Frame-Options: DENY\r\n"
                     "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
                     "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
                     "frame-ancestors 'none'\r\n%s%s\r\n",
                     status, mlp_http_reason(status), type, length,
                     status == 405 ? "Allow: GET, POST\r\n" : "", extra ? extra : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

bool mlp_http_query(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = query; *p;) {
        size_t n = strcspn(p, "&");
        if (n > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t vl = n - nl - 1;
            if (vl >= cap)
                return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p += n + (p[n] == '&');
    }
    return false;
}
