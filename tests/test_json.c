/* json: what the writer prints, byte for byte, for every kind of value and string. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *f;
    mlp_json j;
    char text[4096];
} doc;

static void begin(doc *d)
{
    d->f = tmpfile();
    assert_non_null(d->f);
    mlp_json_start(&d->j, d->f);
}

/* Finishes the document and reads back what was written. */
static mlp_status end(doc *d)
{
    mlp_error err = {{0}};
    mlp_status st = mlp_json_finish(&d->j, "test", &err);
    rewind(d->f);
    size_t n = fread(d->text, 1, sizeof d->text - 1, d->f);
    d->text[n] = '\0';
    fclose(d->f);
    return st;
}

static void test_structure_and_commas(void **state)
{
    (void)state;
    doc d;
    begin(&d);
    mlp_json_object(&d.j, NULL);
    mlp_json_string(&d.j, "name", "A");
    mlp_json_array(&d.j, "sizes");
    mlp_json_uint(&d.j, NULL, 784);
    mlp_json_uint(&d.j, NULL, 10);
    mlp_json_end(&d.j);
    mlp_json_array(&d.j, "empty");
    mlp_json_end(&d.j);
    mlp_json_object(&d.j, "nested");
    mlp_json_bool(&d.j, "yes", true);
    mlp_json_bool(&d.j, "no", false);
    mlp_json_null(&d.j, "nothing");
    mlp_json_end(&d.j);
    mlp_json_array(&d.j, "matrix");
    for (int r = 0; r < 2; r++) {
        mlp_json_array(&d.j, NULL);
        for (int c = 0; c < 2; c++)
            mlp_json_uint(&d.j, NULL, (uint64_t)(2 * r + c));
        mlp_json_end(&d.j);
    }
    mlp_json_end(&d.j);
    mlp_json_uint(&d.j, "big", UINT64_MAX);
    mlp_json_end(&d.j);
    assert_int_equal(end(&d), MLP_OK);
    assert_string_equal(d.text,
                        "{\"name\":\"A\",\"sizes\":[784,10],\"empty\":[],\"nested\":{\"yes\":"
                        "true,\"no\":false,\"nothing\":null},\"matrix\":[[0,1],[2,3]],"
                        "\"big\":18446744073709551615}\n");
    assert_true(tu_json_valid(d.text));
}

static void test_numbers_are_shortest_and_never_nan(void **state)
{
    (void)state;
    doc d;
    begin(&d);
    mlp_json_array(&d.j, NULL);
    mlp_json_number(&d.j, NULL, 0.9712);
    mlp_json_number(&d.j, NULL, 1.0);
    mlp_json_number(&d.j, NULL, -0.5);
    mlp_json_number(&d.j, NULL, 1.0 / 3.0);
    mlp_json_number(&d.j, NULL, 1e-300);
    mlp_json_number(&d.j, NULL, NAN);
    mlp_json_number(&d.j, NULL, INFINITY);
    mlp_json_number(&d.j, NULL, -INFINITY);
    mlp_json_float(&d.j, NULL, 0.1f); /* not 0.100000001 */
    mlp_json_float(&d.j, NULL, 2e-5f);
    mlp_json_float(&d.j, NULL, NAN);
    mlp_json_end(&d.j);
    assert_int_equal(end(&d), MLP_OK);
    assert_string_equal(d.text, "[0.9712,1,-0.5,0.3333333333333333,1e-300,null,null,null,0.1,"
                                "2e-05,null]\n");
    assert_true(tu_json_valid(d.text));
    /* and each reads back exactly */
    assert_true(strtod("0.3333333333333333", NULL) == 1.0 / 3.0);
}

static void test_strings_are_escaped(void **state)
{
    (void)state;
    doc d;
    begin(&d);
    mlp_json_object(&d.j, NULL);
    mlp_json_string(&d.j, "quote\"key", "a \"b\" \\c\\");
    mlp_json_string(&d.j, "ctl", "tab\there\nnew\r\x01\x1f");
    mlp_json_string(&d.j, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* a lone continuation byte, an overlong '/', a surrogate, a truncated sequence */
    mlp_json_string(&d.j, "bad",
                    "a\x80"
                    "b\xc0\xaf"
                    "c\xed\xa0\x80"
                    "d\xe2\x82");
    mlp_json_string(&d.j, "none", NULL);
    mlp_json_end(&d.j);
    assert_int_equal(end(&d), MLP_OK);
    assert_string_equal(d.text,
                        "{\"quote\\\"key\":\"a \\\"b\\\" \\\\c\\\\\","
                        "\"ctl\":\"tab\\there\\nnew\\r\\u0001\\u001f\","
                        "\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
                        "\"bad\":\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd\","
                        "\"none\":null}\n");
    assert_true(tu_json_valid(d.text));
}

static void test_misuse_is_reported(void **state)
{
    (void)state;
    doc d;
    begin(&d); /* left open */
    mlp_json_object(&d.j, NULL);
    assert_int_equal(end(&d), MLP_EARG);
    begin(&d); /* a key inside an array */
    mlp_json_array(&d.j, NULL);
    mlp_json_uint(&d.j, "k", 1);
    mlp_json_end(&d.j);
    assert_int_equal(end(&d), MLP_EARG);
    begin(&d); /* no key inside an object */
    mlp_json_object(&d.j, NULL);
    mlp_json_uint(&d.j, NULL, 1);
    mlp_json_end(&d.j);
    assert_int_equal(end(&d), MLP_EARG);
    begin(&d); /* one end too many */
    mlp_json_array(&d.j, NULL);
    mlp_json_end(&d.j);
    mlp_json_end(&d.j);
    assert_int_equal(end(&d), MLP_EARG);
    begin(&d); /* two documents */
    mlp_json_uint(&d.j, NULL, 1);
    mlp_json_uint(&d.j, NULL, 2);
    assert_int_equal(end(&d), MLP_EARG);
    begin(&d); /* nothing */
    assert_int_equal(end(&d), MLP_EARG);
    begin(&d); /* too deep */
    for (int i = 0; i <= MLP_JSON_MAX_DEPTH; i++)
        mlp_json_array(&d.j, NULL);
    assert_int_equal(end(&d), MLP_EARG);
}

static void test_write_errors_are_reported(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    mlp_json j;
    mlp_error err = {{0}};
    mlp_json_start(&j, f);
    mlp_json_uint(&j, NULL, 1);
    assert_int_equal(mlp_json_finish(&j, "out", &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "out: write error"));
    fclose(f);
}

static void test_the_checker_itself(void **state)
{
    (void)state;
    /* tu_json_valid is what the other tests trust, so it must refuse what is not JSON */
    assert_true(tu_json_valid(" {\"a\": [1, -0.5e+3, true, null, \"x\\u00e9\"]} "));
    const char *bad[] = {"",         "{",          "[1,]", "{\"a\":1,}", "NaN",     "[nan]",
                         "01",       "1.",         ".5",   "\"\x01\"",   "\"\\x\"", "[1] [2]",
                         "{'a': 1}", "[Infinity]", "tru",  "\"\\u12\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tu_json_valid(bad[i])) {
            print_error("accepted '%s'\n", bad[i]);
            fail();
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_and_commas),
        cmocka_unit_test(test_numbers_are_shortest_and_never_nan),
        cmocka_unit_test(test_strings_are_escaped),
        cmocka_unit_test(test_misuse_is_reported),
        cmocka_unit_test(test_write_errors_are_reported),
        cmocka_unit_test(test_the_checker_itself),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
