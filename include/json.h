/*
 * json: writes one JSON document (RFC 8259) to a stream, for scripts that read mlp's
 * results and for the model description that goes with an export. Output is compact, one
 * line with a final newline, so that each document is one line of a log.
 *
 * The writer inserts the commas and the quotes; callers say what, not how:
 *
 *     mlp_json j;
 *     mlp_json_start(&j, stdout);
 *     mlp_json_object(&j, NULL);           {
 *     mlp_json_number(&j, "accuracy", a);    "accuracy":0.9712,
 *     mlp_json_array(&j, "sizes");           "sizes":[
 *     mlp_json_uint(&j, NULL, 784);            784
 *     mlp_json_end(&j);                      ]
 *     mlp_json_end(&j);                    }
 *     mlp_json_finish(&j, "stdout", &err);
 *
 * Keys are given inside objects and NULL inside arrays and at the top. Strings are escaped
 * (quotes, backslashes, control characters; bytes that are not UTF-8, such as those of an
 * odd file name, become U+FFFD), numbers that are NaN or infinite are written as null, and
 * every number is the shortest decimal that reads back as the same value.
 */
#ifndef MLP_JSON_H
#define MLP_JSON_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MLP_JSON_MAX_DEPTH 16

typedef struct {
    FILE *f;
    size_t depth;                       /* open objects and arrays */
    char close[MLP_JSON_MAX_DEPTH];     /* '}' or ']' for each of them */
    bool comma[MLP_JSON_MAX_DEPTH + 1]; /* a value was written at this depth already */
    bool misuse;                        /* too deep, an unbalanced end, a missing key */
} mlp_json;

void mlp_json_start(mlp_json *j, FILE *f);
void mlp_json_object(mlp_json *j, const char *key);
void mlp_json_array(mlp_json *j, const char *key);
void mlp_json_end(mlp_json *j); /* closes the innermost object or array */
void mlp_json_string(mlp_json *j, const char *key, const char *s); /* NULL: null */
void mlp_json_number(mlp_json *j, const char *key, double v);
void mlp_json_float(mlp_json *j, const char *key, float v); /* shortest that reads back as v */
void mlp_json_uint(mlp_json *j, const char *key, uint64_t v);
void mlp_json_bool(mlp_json *j, const char *key, bool v);
void mlp_json_null(mlp_json *j, const char *key);

/* Ends the document with a newline and flushes. Fails if the document was left open or
 * misused, or if writing failed (what names the destination in the message). */
mlp_status mlp_json_finish(mlp_json *j, const char *what, mlp_error *err);

#endif
