/*
 * json: a JSON writer that cannot write invalid JSON from valid calls: it places commas and
 * colons itself, escapes every string, and writes null where JSON has no number.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void mlp_json_start(mlp_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

static void put_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        size_t n = mlp_utf8_len(s);
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
        } else if (c < 0x20) {
            const char *short_form = c == '\n'   ? "\\n"
                                     : c == '\t' ? "\\t"
                                     : c == '\r' ? "\\r"
                                                 : NULL;
            if (short_form)
                fputs(short_form, f);
            else
                fprintf(f, "\\u%04x", c);
        } else if (n == 0) {
            fputs("\\ufffd", f); /* one replacement character per byte that is not UTF-8 */
            n = 1;
        } else {
            fwrite(s, 1, n, f);
        }
        s += n ? n : 1;
    }
    fputc('"', f);
}

/* Everything a value does before it is written: the comma, the key. */
static void begin_value(mlp_json *j, const char *key)
{
    bool in_object = j->depth > 0 && j->close[j->depth - 1] == '}';
    if ((key != NULL) != in_object || (j->depth == 0 && j->comma[0]))
        j->misuse = true;
    if (j->comma[j->depth])
        fputc(',', j->f);
    j->comma[j->depth] = true;
    if (key) {
        put_string(j->f, key);
        fputc(':', j->f);
    }
}

static void open_nested(mlp_json *j, const char *key, char opening, char closing)
{
    begin_value(j, key);
    if (j->depth == MLP_JSON_MAX_DEPTH) {
        j->misuse = true;
        return;
    }
    fputc(opening, j->f);
    j->close[j->depth++] = closing;
    j->comma[j->depth] = false;
}

void mlp_json_object(mlp_json *j, const char *key)
{
    open_nested(j, key, '{', '}');
}

void mlp_json_array(mlp_json *j, const char *key)
{
    open_nested(j, key, '[', ']');
}

void mlp_json_end(mlp_json *j)
{
    if (j->depth == 0) {
        j->misuse = true;
        return;
    }
    fputc(j->close[--j->depth], j->f);
}

void mlp_json_string(mlp_json *j, const char *key, const char *s)
{
    begin_value(j, key);
    if (s)
        put_string(j->f, s);
    else
        fputs("null", j->f);
}

/* The shortest %g form, of at most max_digits digits, that reads back as v (as a float
 * when single), so 0.1f prints as 0.1 and not as 0.100000001. */
static void put_number(mlp_json *j, const char *key, double v, int max_digits, bool single)
{
    char buf[40];
    begin_value(j, key);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    for (int digits = 1; digits <= max_digits; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (single ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, j->f);
}

void mlp_json_number(mlp_json *j, const char *key, double v)
{
    put_number(j, key, v, 17, false);
}

void mlp_json_float(mlp_json *j, const char *key, float v)
{
    put_number(j, key, (double)v, 9, true);
}

void mlp_json_uint(mlp_json *j, const char *key, uint64_t v)
{
    begin_value(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void mlp_json_bool(mlp_json *j, const char *key, bool v)
{
    begin_value(j, key);
    fputs(v ? "true" : "false", j->f);
}

void mlp_json_null(mlp_json *j, const char *key)
{
    begin_value(j, key);
    fputs("null", j->f);
}

mlp_status mlp_json_finish(mlp_json *j, const char *what, mlp_error *err)
{
    if (j->misuse || j->depth != 0 || !j->comma[0])
        return mlp_fail(err, MLP_EARG, "%s: internal error: malformed JSON document", what);
    fputc('\n', j->f);
    if (fflush(j->f) != 0 || ferror(j->f))
        return mlp_fail(err, MLP_EIO, "%s: write error: %s", what, strerror(errno));
    return MLP_OK;
}
