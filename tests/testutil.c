#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "util.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/mlp-test.XXXXXX", base && base[0] ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

void tu_rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

void tu_path(char *out, const char *dir, const char *name)
{
    snprintf(out, 4096, "%s/%s", dir, name);
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

unsigned char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    fclose(f);
    *len = n;
    return buf;
}

void tu_write_gzip(const char *path, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t blocks = len / 65535 + 1, cap = 18 + len + 5 * blocks;
    unsigned char *b = malloc(cap), *o = b;
    const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(o, head, 10);
    o += 10;
    for (size_t done = 0, k = 0; k < blocks; k++) {
        size_t n = len - done < 65535 ? len - done : 65535;
        *o++ = k + 1 == blocks; /* BFINAL, BTYPE 00: stored */
        mlp_put_u32(o, (uint32_t)(n | (~n & 0xffff) << 16));
        o += 4;
        memcpy(o, p + done, n);
        o += n;
        done += n;
    }
    mlp_put_u32(o, mlp_crc32(0, data, len));
    mlp_put_u32(o + 4, (uint32_t)len);
    o += 8;
    tu_write_file(path, b, (size_t)(o - b));
    free(b);
}

void tu_gzip_in_place(const char *path)
{
    size_t len;
    char gz[4200];
    unsigned char *b = tu_read_file(path, &len);
    assert_non_null(b);
    snprintf(gz, sizeof gz, "%s.gz", path);
    tu_write_gzip(gz, b, len);
    assert_int_equal(remove(path), 0);
    free(b);
}

bool tu_write_sparse(const char *path, const char *head, unsigned long long size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
    bool ok = ftruncate(fd, (off_t)size) == 0;
    assert_int_equal(close(fd), 0);
    return ok;
}

unsigned long long tu_beyond_memory(void)
{
    unsigned long long mem = mlp_mem_total(), most = 1ull << 43;
    return mem > most / 8 ? most : 8 * mem;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

void tu_write_idx_images(const char *path, uint32_t n, uint32_t rows, uint32_t cols,
                         const uint8_t *pixels)
{
    size_t len = (size_t)n * rows * cols;
    unsigned char *buf = malloc(16 + len);
    put_be32(buf, 0x00000803);
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    memcpy(buf + 16, pixels, len);
    tu_write_file(path, buf, 16 + len);
    free(buf);
}

void tu_write_idx_labels(const char *path, uint32_t n, const uint8_t *labels)
{
    unsigned char *buf = malloc(8 + (size_t)n);
    put_be32(buf, 0x00000801);
    put_be32(buf + 4, n);
    memcpy(buf + 8, labels, n);
    tu_write_file(path, buf, 8 + (size_t)n);
    free(buf);
}

static void write_synthetic_set(const char *dir, const char *prefix, uint32_t n, uint32_t dim,
                                uint32_t rows, uint32_t cols, uint32_t classes,
                                const uint8_t *proto, uint64_t *rng)
{
    uint8_t *px = malloc((size_t)n * dim), *y = malloc(n);
    for (uint32_t i = 0; i < n; i++) {
        y[i] = (uint8_t)mlp_rng_below(rng, classes);
        for (uint32_t k = 0; k < dim; k++) {
            /* the prototype, with a third of its pixels replaced by noise */
            bool noisy = mlp_rng_below(rng, 3) == 0;
            px[(size_t)i * dim + k] =
                noisy ? (uint8_t)mlp_rng_below(rng, 256) : proto[(size_t)y[i] * dim + k];
        }
    }
    char path[4096], name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    tu_path(path, dir, name);
    tu_write_idx_images(path, n, rows, cols, px);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    tu_path(path, dir, name);
    tu_write_idx_labels(path, n, y);
    free(px);
    free(y);
}

void tu_write_synthetic(const char *dir, uint32_t n_train, uint32_t n_test, uint32_t rows,
                        uint32_t cols, uint32_t classes, uint64_t seed)
{
    uint32_t dim = rows * cols;
    uint64_t rng = seed;
    uint8_t *proto = malloc((size_t)classes * dim);
    for (size_t k = 0; k < (size_t)classes * dim; k++)
        proto[k] = mlp_rng_below(&rng, 2) ? 255 : 0;
    write_synthetic_set(dir, "train", n_train, dim, rows, cols, classes, proto, &rng);
    write_synthetic_set(dir, "t10k", n_test, dim, rows, cols, classes, proto, &rng);
    free(proto);
}

static void read_capped(const char *path, char *out, size_t cap)
{
    size_t len = 0;
    unsigned char *buf = tu_read_file(path, &len);
    assert_non_null(buf);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, buf, len);
    out[len] = '\0';
    free(buf);
}

int tu_run_mlp(const char *args, char *out, size_t out_cap, char *err, size_t err_cap)
{
    const char *bin = getenv("MLP_BIN");
    char *dir = tu_tmpdir();
    char cmd[16384], o[4096], e[4096];
    tu_path(o, dir, "stdout");
    tu_path(e, dir, "stderr");
    snprintf(cmd, sizeof cmd, "%s %s >'%s' 2>'%s'", bin && bin[0] ? bin : "./mlp", args, o, e);
    int ws = system(cmd);
    read_capped(o, out, out_cap);
    read_capped(e, err, err_cap);
    tu_rm_rf(dir);
    free(dir);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

int tu_spawn_mlp(const char *args, const char *out_path, const char *err_path)
{
    const char *bin = getenv("MLP_BIN");
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "exec %s %s >'%s' 2>'%s'", bin && bin[0] ? bin : "./mlp", args,
             out_path, err_path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* mlp keeps a signal ignored that was ignored when it started (as nohup wants); a
         * suite run as a background job starts with SIGINT ignored, and the tests send it */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return (int)pid;
}

bool tu_wait_for_text(const char *path, const char *text, double timeout)
{
    double end = mlp_now() + timeout;
    do {
        size_t len = 0;
        unsigned char *buf = tu_read_file(path, &len);
        if (buf) {
            buf = realloc(buf, len + 1);
            buf[len] = '\0';
            bool found = strstr((const char *)buf, text) != NULL;
            free(buf);
            if (found)
                return true;
        }
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    } while (mlp_now() < end);
    return false;
}

int tu_wait_exit(int pid)
{
    int ws;
    assert_int_equal(waitpid((pid_t)pid, &ws, 0), pid);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
}

void tu_cli_open(tu_cli *c)
{
    c->dir = tu_tmpdir();
    c->out = malloc(TU_CLI_CAP);
    c->err = malloc(TU_CLI_CAP);
    assert_true(c->out && c->err);
    c->out[0] = c->err[0] = '\0';
}

void tu_cli_close(tu_cli *c)
{
    tu_rm_rf(c->dir);
    free(c->dir);
    free(c->out);
    free(c->err);
}

int tu_cli_run(tu_cli *c, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_run_mlp(args, c->out, TU_CLI_CAP, c->err, TU_CLI_CAP);
}

/* ---- a strict JSON checker: each function advances *p past one element or returns false */

static void json_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static bool json_value(const char **p, int depth);

static bool json_string(const char **p)
{
    if (*(*p)++ != '"')
        return false;
    for (;;) {
        unsigned char c = (unsigned char)*(*p)++;
        if (c == '"')
            return true;
        if (c < 0x20) /* raw control characters (and the end of s) are not allowed */
            return false;
        if (c == '\\') {
            c = (unsigned char)*(*p)++;
            if (c == 'u') {
                for (int k = 0; k < 4; k++)
                    if (!strchr("0123456789abcdefABCDEF", **p) || !*(*p)++)
                        return false;
            } else if (!c || !strchr("\"\\/bfnrt", c)) {
                return false;
            }
        }
    }
}

static bool json_digits(const char **p)
{
    if (**p < '0' || **p > '9')
        return false;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return true;
}

static bool json_number(const char **p)
{
    if (**p == '-')
        (*p)++;
    if (**p == '0')
        (*p)++;
    else if (!json_digits(p))
        return false;
    if (**p == '.') {
        (*p)++;
        if (!json_digits(p))
            return false;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-')
            (*p)++;
        if (!json_digits(p))
            return false;
    }
    return true;
}

static bool json_items(const char **p, char close, bool keys, int depth)
{
    (*p)++;
    json_ws(p);
    if (**p == close) {
        (*p)++;
        return true;
    }
    for (;;) {
        json_ws(p);
        if (keys) {
            if (!json_string(p))
                return false;
            json_ws(p);
            if (*(*p)++ != ':')
                return false;
        }
        if (!json_value(p, depth + 1))
            return false;
        json_ws(p);
        char c = *(*p)++;
        if (c == close)
            return true;
        if (c != ',')
            return false;
    }
}

static bool json_value(const char **p, int depth)
{
    json_ws(p);
    if (depth > 64)
        return false;
    switch (**p) {
    case '{':
        return json_items(p, '}', true, depth);
    case '[':
        return json_items(p, ']', false, depth);
    case '"':
        return json_string(p);
    case 't':
        return strncmp(*p, "true", 4) == 0 && (*p += 4);
    case 'f':
        return strncmp(*p, "false", 5) == 0 && (*p += 5);
    case 'n':
        return strncmp(*p, "null", 4) == 0 && (*p += 4);
    default:
        return json_number(p);
    }
}

bool tu_json_valid(const char *s)
{
    if (!json_value(&s, 0))
        return false;
    json_ws(&s);
    return *s == '\0';
}

float *tu_npy_read(const char *path, size_t *shape, size_t *ndim)
{
    size_t len;
    unsigned char *b = tu_read_file(path, &len);
    assert_non_null(b);
    assert_true(len >= 10);
    assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8, start = 10 + hlen;
    assert_true(start <= len);
    assert_int_equal(start % 64, 0);
    assert_int_equal(b[start - 1], '\n');
    /* the dict, as NumPy writes it: keys in this order, then a tuple of sizes */
    char dict[65536];
    memcpy(dict, b + 10, hlen);
    dict[hlen] = '\0';
    const char *head = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    assert_memory_equal(dict, head, strlen(head));
    const char *p = dict + strlen(head);
    size_t count = 1;
    *ndim = 0;
    while (*p != ')') {
        char *end;
        assert_true(*p >= '0' && *p <= '9');
        assert_true(*ndim < 8);
        shape[*ndim] = (size_t)strtoull(p, &end, 10);
        count *= shape[(*ndim)++];
        p = end;
        if (*p == ',')
            p++;
        if (*p == ' ')
            p++;
    }
    assert_true(*ndim != 1 || p[-1] == ','); /* (n,) is a tuple; (n) would not be */
    assert_memory_equal(p, "), }", 4);
    for (p += 4; p < dict + hlen - 1; p++)
        assert_int_equal(*p, ' ');
    assert_int_equal(len - start, 4 * count);
    float *x = malloc(4 * count + 1);
    for (size_t i = 0; i < count; i++) {
        uint32_t bits = mlp_get_u32(b + start + 4 * i);
        memcpy(&x[i], &bits, 4);
    }
    free(b);
    return x;
}

size_t tu_count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

void tu_check_close(const char *what, const double *a, const double *b, size_t n, double atol,
                    double rtol)
{
    double worst = 0.0;
    size_t worst_i = 0, bad = 0, first_bad = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs(a[i] - b[i]);
        if (!(diff <= atol + rtol * fabs(b[i]))) {
            if (bad++ == 0)
                first_bad = i;
        }
        if (!(diff <= worst)) {
            worst = diff;
            worst_i = i;
        }
    }
    if (bad) {
        print_error("%s: %zu of %zu differ; first at %zu (%.9g vs %.9g); worst at %zu (%.9g vs "
                    "%.9g)\n",
                    what, bad, n, first_bad, a[first_bad], b[first_bad], worst_i, a[worst_i],
                    b[worst_i]);
        fail();
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define PNG_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error(__VA_ARGS__);                                                              \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

uint8_t *tu_png_decode(const unsigned char *d, size_t len, size_t *w, size_t *h, size_t *ch)
{
    PNG_CHECK(len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0, "png: bad signature\n");
    unsigned char *z = NULL;
    size_t zlen = 0, pos = 8, chunks = 0;
    bool end = false;
    while (pos < len) {
        PNG_CHECK(!end, "png: data after IEND\n");
        PNG_CHECK(len - pos >= 12, "png: truncated chunk at %zu\n", pos);
        size_t n = be32(d + pos);
        PNG_CHECK(n <= len - pos - 12, "png: chunk at %zu runs past the end\n", pos);
        const unsigned char *type = d + pos + 4, *data = d + pos + 8;
        PNG_CHECK(mlp_crc32(0, type, 4 + n) == be32(data + n), "png: bad CRC of %.4s chunk\n",
                  (const char *)type);
        if (chunks == 0) {
            PNG_CHECK(memcmp(type, "IHDR", 4) == 0 && n == 13, "png: IHDR is not first\n");
            *w = be32(data);
            *h = be32(data + 4);
            PNG_CHECK(*w > 0 && *h > 0, "png: empty image\n");
            PNG_CHECK(data[8] == 8 && (data[9] == 0 || data[9] == 2) && data[10] == 0 &&
                          data[11] == 0 && data[12] == 0,
                      "png: unexpected IHDR fields\n");
            *ch = data[9] == 2 ? 3 : 1;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            z = realloc(z, zlen + n);
            memcpy(z + zlen, data, n);
            zlen += n;
        } else {
            PNG_CHECK(memcmp(type, "IEND", 4) == 0 && n == 0, "png: unexpected %.4s chunk\n",
                      (const char *)type);
            end = true;
        }
        chunks++;
        pos += 12 + n;
    }
    PNG_CHECK(end, "png: no IEND\n");

    /* zlib: CMF/FLG, stored blocks, Adler-32 */
    PNG_CHECK(zlen >= 6 && (z[0] & 0x0f) == 8 && ((z[0] << 8) | z[1]) % 31 == 0 && !(z[1] & 0x20),
              "png: bad zlib header\n");
    size_t row = 1 + *w * *ch, raw_len = row * *h, got = 0, zp = 2;
    uint8_t *raw = malloc(raw_len);
    bool final = false;
    while (!final) {
        PNG_CHECK(zp + 5 <= zlen, "png: truncated deflate block\n");
        final = z[zp] & 1;
        PNG_CHECK((z[zp] >> 1 & 3) == 0, "png: not a stored block\n");
        size_t n = z[zp + 1] | (size_t)z[zp + 2] << 8, nn = z[zp + 3] | (size_t)z[zp + 4] << 8;
        PNG_CHECK((n ^ 0xffff) == nn, "png: NLEN is not the complement of LEN\n");
        zp += 5;
        PNG_CHECK(zp + n <= zlen && got + n <= raw_len, "png: block runs past the data\n");
        memcpy(raw + got, z + zp, n);
        got += n;
        zp += n;
    }
    PNG_CHECK(got == raw_len, "png: %zu bytes decompressed, the image needs %zu\n", got, raw_len);
    PNG_CHECK(zp + 4 == zlen, "png: %zu bytes after the deflate stream\n", zlen - zp);
    uint32_t a = 1, b = 0; /* Adler-32 the slow way, independent of png.c */
    for (size_t i = 0; i < raw_len; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    PNG_CHECK((b << 16 | a) == be32(z + zp), "png: bad Adler-32\n");
    uint8_t *px = malloc(raw_len);
    for (size_t y = 0; y < *h; y++) {
        PNG_CHECK(raw[y * row] == 0, "png: row %zu has filter type %u\n", y, raw[y * row]);
        memcpy(px + y * (row - 1), raw + y * row + 1, row - 1);
    }
    free(raw);
    free(z);
    return px;
}

void tu_net_input(mlp_net *net, const float *x, size_t B)
{
    for (size_t i = 0; i < B; i++)
        mlp_net_set_input(net, i, x + i * net->sizes[0]);
}

/* ---- a client of `mlp serve` */

int tu_http_dial(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {30, 0}; /* a loaded machine is slow, never this slow */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

void tu_http_send(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(k > 0);
        p += k;
        n -= (size_t)k;
    }
}

char *tu_http_read(int fd, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (n + 1 == cap)
            assert_non_null(buf = realloc(buf, cap *= 2));
        ssize_t k = recv(fd, buf + n, cap - n - 1, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

tu_http_answer tu_http_raw(unsigned port, const char *req, size_t n)
{
    tu_http_answer a = {0};
    int fd = tu_http_dial(port);
    tu_http_send(fd, req, n);
    size_t len;
    a.text = tu_http_read(fd, &len);
    close(fd);
    assert_true(sscanf(a.text, "HTTP/1.1 %d ", &a.status) == 1);
    const char *b = strstr(a.text, "\r\n\r\n");
    assert_non_null(b);
    a.body = b + 4;
    a.body_len = len - (size_t)(a.body - a.text);
    return a;
}

tu_http_answer tu_http_ask(unsigned port, const char *method, const char *target,
                           const char *body)
{
    char *req = malloc(16384 + (body ? strlen(body) : 0));
    assert_non_null(req);
    int n = sprintf(req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n", method, target, port);
    if (body)
        n += sprintf(req + n, "Origin: http://127.0.0.1:%u\r\nContent-Length: %zu\r\n\r\n%s",
                     port, strlen(body), body);
    else
        n += sprintf(req + n, "\r\n");
    tu_http_answer a = tu_http_raw(port, req, (size_t)n);
    free(req);
    return a;
}
