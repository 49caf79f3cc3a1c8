/*
 * plot: the log reads back what was written and refuses what was not; the SVG chart is
 * well-formed XML (checked here by a small parser of its own) with one line per series and
 * the title escaped; `mlp train --log --plot` and `mlp plot` end to end.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "plot.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- a well-formedness checker for the XML the chart uses -------------------------------- */

typedef struct {
    const char *s;
    size_t pos, len;
    char stack[32][32];
    size_t depth, elements;
    char why[128];
} xml;

static bool xml_fail(xml *x, const char *why)
{
    snprintf(x->why, sizeof x->why, "%s at byte %zu", why, x->pos);
    return false;
}

static bool is_name(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == ':' || c == '.';
}

/* character data or an attribute value up to `stop`: no '<', and '&' only in an entity */
static bool xml_chars(xml *x, char stop)
{
    while (x->pos < x->len && x->s[x->pos] != stop) {
        char c = x->s[x->pos];
        if (c == '<' && stop != '<')
            return xml_fail(x, "'<' in a value");
        if (c == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            size_t k = 0;
            for (; k < 5; k++)
                if (!strncmp(x->s + x->pos, ents[k], strlen(ents[k])))
                    break;
            if (k == 5)
                return xml_fail(x, "a bare '&'");
            x->pos += strlen(ents[k]);
            continue;
        }
        if ((unsigned char)c < 0x20 && c != '\n' && c != '\t' && c != '\r')
            return xml_fail(x, "a control character");
        x->pos++;
    }
    return true;
}

static bool xml_check(xml *x, const char *s, size_t len)
{
    memset(x, 0, sizeof *x);
    x->s = s;
    x->len = len;
    if (!strncmp(s, "<?xml", 5)) {
        const char *e = strstr(s, "?>");
        if (!e)
            return xml_fail(x, "unterminated declaration");
        x->pos = (size_t)(e - s) + 2;
    }
    bool root_done = false;
    while (x->pos < len) {
        if (s[x->pos] != '<') {
            size_t start = x->pos;
            if (!xml_chars(x, '<'))
                return false;
            if (x->depth == 0)
                for (size_t i = start; i < x->pos; i++)
                    if (!isspace((unsigned char)s[i]))
                        return xml_fail(x, "text outside the root");
            continue;
        }
        x->pos++;
        bool closing = x->pos < len && s[x->pos] == '/';
        x->pos += closing;
        size_t n0 = x->pos;
        while (x->pos < len && is_name((unsigned char)s[x->pos]))
            x->pos++;
        size_t n = x->pos - n0;
        if (n == 0 || n >= 32)
            return xml_fail(x, "bad tag name");
        if (closing) {
            if (x->depth == 0 || strncmp(x->stack[x->depth - 1], s + n0, n) ||
                x->stack[x->depth - 1][n] != '\0')
                return xml_fail(x, "mismatched closing tag");
            x->depth--;
            if (x->pos >= len || s[x->pos] != '>')
                return xml_fail(x, "bad closing tag");
            x->pos++;
            root_done = x->depth == 0;
            continue;
        }
        if (root_done || (x->depth == 0 && x->elements > 0))
            return xml_fail(x, "a second root element");
        x->elements++;
        for (;;) { /* attributes */
            while (x->pos < len && isspace((unsigned char)s[x->pos]))
                x->pos++;
            if (x->pos >= len)
                return xml_fail(x, "unterminated tag");
            if (s[x->pos] == '>' || !strncmp(s + x->pos, "/>", 2))
                break;
            size_t a0 = x->pos;
            while (x->pos < len && is_name((unsigned char)s[x->pos]))
                x->pos++;
            if (x->pos == a0 || x->pos + 1 >= len || s[x->pos] != '=' || s[x->pos + 1] != '"')
                return xml_fail(x, "bad attribute");
            x->pos += 2;
            if (!xml_chars(x, '"'))
                return false;
            if (x->pos >= len)
                return xml_fail(x, "unterminated attribute");
            x->pos++;
        }
        if (s[x->pos] == '/') {
            x->pos += 2;
            root_done = x->depth == 0;
        } else {
            if (x->depth == 32)
                return xml_fail(x, "too deep");
            memcpy(x->stack[x->depth], s + n0, n);
            x->stack[x->depth++][n] = '\0';
            x->pos++;
        }
    }
    if (x->depth != 0 || !root_done)
        return xml_fail(x, "unclosed elements");
    return true;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* Reads path as text and checks it is well-formed SVG; the caller frees it. */
static char *read_svg(const char *path)
{
    size_t len;
    char *s = (char *)tu_read_file(path, &len);
    assert_non_null(s);
    s = realloc(s, len + 1);
    s[len] = '\0';
    xml x;
    if (!xml_check(&x, s, len))
        print_error("%s: %s\n", path, x.why);
    assert_true(xml_check(&x, s, len));
    assert_non_null(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    return s;
}

static void test_the_xml_checker_catches_mistakes(void **state)
{
    (void)state;
    xml x;
    const char *good = "<?xml version=\"1.0\"?>\n<a b=\"1 &amp; 2\"><c/><d>x &lt; y</d></a>\n";
    assert_true(xml_check(&x, good, strlen(good)));
    const char *bad[] = {"<a><b></a></b>", "<a b=\"<\"/>", "<a>x & y</a>", "<a></a><b/>", "<a>",
                         "<a b=1/>",       "text<a/>"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_false(xml_check(&x, bad[k], strlen(bad[k])));
}

/* --- the log and the chart ----------------------------------------------------------------- */

static const mlp_plot_row rows[] = {
    {1, 0.5, 60.25, NAN, 70.5, 1.5, 0.25},
    {2, 0.25, 80.0, NAN, 85.75, 0.75, 0.125},
    {4, 0.125, 90.5, NAN, NAN, 0.03, 0.5}, /* a gap in the epochs, test not measured */
};

static void test_log_round_trip(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[4096];
    tu_path(path, dir, "run.tsv");
    FILE *f = fopen(path, "w");
    assert_true(mlp_plot_write_header(f));
    for (size_t i = 0; i < 3; i++)
        assert_true(mlp_plot_write_row(f, &rows[i]));
    assert_int_equal(fclose(f), 0);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    assert_memory_equal(text, MLP_PLOT_HEADER "\n1\t0.500000\t60.25\t-\t70.50\t1.5\t0.250\n", 53);
    free(text);

    mlp_plot_curve c;
    mlp_error err;
    assert_int_equal(mlp_plot_read(&c, path, &err), MLP_OK);
    assert_int_equal(c.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c.rows[i].epoch, rows[i].epoch);
        assert_true(c.rows[i].cost == rows[i].cost && c.rows[i].train_acc == rows[i].train_acc);
        assert_true(isnan(c.rows[i].val_acc));
        assert_true(c.rows[i].lr == rows[i].lr && c.rows[i].seconds == rows[i].seconds);
    }
    assert_true(c.rows[1].test_acc == 85.75 && isnan(c.rows[2].test_acc));
    mlp_plot_free(&c);
    tu_rm_rf(dir);
    free(dir);
}

static void test_bad_logs_are_refused(void **state)
{
    (void)state;
    const char *h = MLP_PLOT_HEADER "\n";
    const struct {
        const char *body, *want;
    } cases[] = {
        {"", "empty"},
        {"epoch cost\n1 2\n", "line 1: not a training log"},
        {"1\t0.5\t60\t-\t70\t1\t1\n", "line 1: not a training log"},
        {"@", "no epochs"},
        {"@1\t0.5\t60\t-\t70\t1\n", "line 2: 6 fields"},
        {"@1\t0.5\t60\t-\t70\t1\t1\t8\n", "more than 7 fields"},
        {"@1\t0.5\tabc\t-\t70\t1\t1\n", "train_acc 'abc'"},
        {"@1\t0.5\t\t-\t70\t1\t1\n", "train_acc ''"},
        {"@1\t0.5\t60\t-\t101\t1\t1\n", "test_acc 101 is not a percentage"},
        {"@1\tnan\t60\t-\t70\t1\t1\n", "cost 'nan'"},
        {"@1\t-0.5\t60\t-\t70\t1\t1\n", "negative cost"},
        {"@0\t0.5\t60\t-\t70\t1\t1\n", "the epoch is not a whole number"},
        {"@1.5\t0.5\t60\t-\t70\t1\t1\n", "the epoch is not a whole number"},
        {"@2\t0.5\t60\t-\t70\t1\t1\n1\t0.5\t60\t-\t70\t1\t1\n", "line 3: epoch 1 comes after"},
        {"@1\t 0.5\t60\t-\t70\t1\t1\n", "cost ' 0.5'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        const char *b = cases[k].body;
        snprintf(text, sizeof text, "%s%s", b[0] == '@' ? h : "", b[0] == '@' ? b + 1 : b);
        mlp_plot_curve c;
        mlp_error err = {{0}};
        mlp_status st = mlp_plot_parse(&c, text, strlen(text), "run.tsv", &err);
        if (st != MLP_EFORMAT || !strstr(err.msg, cases[k].want) || !strstr(err.msg, "run.tsv"))
            print_error("case %zu: status %d, '%s', wanted '%s'\n", k, (int)st, err.msg,
                        cases[k].want);
        assert_int_equal(st, MLP_EFORMAT);
        assert_non_null(strstr(err.msg, cases[k].want));
        assert_null(c.rows);
    }
    /* Windows line ends and blank lines are fine */
    const char ok[] = "epoch\tcost\ttrain_acc\tval_acc\ttest_acc\tlr\tseconds\r\n\r\n"
                      "1\t0.5\t60\t-\t70\t1\t1\r\n\n";
    mlp_plot_curve c;
    mlp_error err;
    assert_int_equal(mlp_plot_parse(&c, ok, sizeof ok - 1, "x", &err), MLP_OK);
    assert_int_equal(c.n, 1);
    mlp_plot_free(&c);
}

static void test_svg_is_well_formed(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), path[4096], tmp[4200];
    mlp_plot_curve c = {0};
    mlp_error err;
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mlp_plot_add(&c, &rows[i], &err), MLP_OK);
    assert_int_equal(mlp_plot_add(&c, &rows[0], &err), MLP_EFORMAT); /* epochs only go up */
    tu_path(path, dir, "run.svg");
    assert_int_equal(mlp_plot_svg_save(NULL, path, &c, "run <1> & \"two\"\x01", &err), MLP_OK);
    char *s = read_svg(path);
    assert_non_null(strstr(s, "run &lt;1&gt; &amp; &quot;two&quot; </text>"));
    /* one line per series: cost, train, val, test; val has no point, test has two, so
     * 3 + 3 + 0 + 2 dots */
    assert_int_equal(count(s, "<path "), 4);
    assert_int_equal(count(s, "<circle "), 8);
    assert_non_null(strstr(s, "val (not measured)"));
    assert_non_null(strstr(s, "<title>epoch 4: train 90.5%</title>"));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_null(fopen(tmp, "r")); /* renamed into place */
    free(s);

    /* a single epoch still makes a chart */
    c.n = 1;
    assert_int_equal(mlp_plot_svg_save(NULL, path, &c, "one", &err), MLP_OK);
    free(read_svg(path));
    c.n = 0;
    assert_int_equal(mlp_plot_svg_save(NULL, path, &c, "none", &err), MLP_EARG);
    mlp_plot_free(&c);
    tu_rm_rf(dir);
    free(dir);
}

/* --- strict numbers, and a chart for any log ------------------------------------------- */

static void test_non_decimal_values_are_refused(void **state)
{
    (void)state;
    static const char *const names[] = {"epoch",    "cost", "train_acc", "val_acc",
                                        "test_acc", "lr",   "seconds"};
    /* what strtod() takes and the log format does not, and near misses of a decimal */
    static const char *const bad[] = {"inf",   "-inf",   "Infinity", "nan",   "NaN", "nan(1)",
                                      "1e999", "-1e999", "0x1p3",    "0X10",  "1e",  "e5",
                                      ".",     "+",      "-.",       "1.2.3", "1e+", "1,5",
                                      " 1",    "1 ",     "1_0",      "--1",   "1e5x"};
    const char *good[7] = {"2", "0.5", "60", "-", "70", "1", "1"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        for (int k = 0; k < 7; k++) {
            char text[512], line[256] = "";
            for (int j = 0; j < 7; j++) {
                strcat(line, j == k ? bad[b] : good[j]);
                strcat(line, j < 6 ? "\t" : "\n");
            }
            snprintf(text, sizeof text, "%s\n1\t0.5\t60\t-\t70\t1\t1\n%s", MLP_PLOT_HEADER, line);
            mlp_plot_curve c;
            mlp_error err = {{0}};
            char want[64];
            snprintf(want, sizeof want, "line 3: %s '%s' is not a finite decimal", names[k],
                     bad[b]);
            mlp_status st = mlp_plot_parse(&c, text, strlen(text), "run.tsv", &err);
            if (st != MLP_EFORMAT || !strstr(err.msg, want))
                print_error("'%s' as %s: status %d, '%s'\n", bad[b], names[k], (int)st, err.msg);
            assert_int_equal(st, MLP_EFORMAT);
            assert_non_null(strstr(err.msg, want));
            assert_null(c.rows);
        }
    /* decimals in every form, denormals and the largest double are fine */
    const char ok[] = MLP_PLOT_HEADER "\n"
                                      "1e0\t1.7976931348623157e308\t+.5\t5.\t1E2\t-1e-5\t0\n"
                                      "1000000000\t4.9e-324\t1e-400\t-\t100.000\t-0\t-2.5\n";
    mlp_plot_curve c;
    mlp_error err;
    assert_int_equal(mlp_plot_parse(&c, ok, sizeof ok - 1, "x", &err), MLP_OK);
    assert_int_equal(c.n, 2);
    assert_true(c.rows[0].epoch == 1 && c.rows[0].cost == DBL_MAX);
    assert_true(c.rows[0].train_acc == 0.5 && c.rows[0].val_acc == 5.0);
    assert_true(c.rows[0].test_acc == 100.0 && c.rows[0].lr == -1e-5);
    assert_true(c.rows[1].epoch == MLP_PLOT_MAX_EPOCH && c.rows[1].cost == 4.9e-324);
    assert_true(c.rows[1].train_acc == 0.0 && isnan(c.rows[1].val_acc));
    mlp_plot_free(&c);
    const char late[] = MLP_PLOT_HEADER "\n1000000001\t1\t1\t1\t1\t1\t1\n";
    assert_int_equal(mlp_plot_parse(&c, late, sizeof late - 1, "x", &err), MLP_EFORMAT);
    assert_non_null(strstr(err.msg, "line 2: the epoch is not a whole number from 1 to"));

    /* what the writer prints for the largest cost (316 characters) reads back */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mlp_plot_row big = {7, DBL_MAX, 100, NAN, 0, DBL_MAX, -DBL_MAX};
    assert_true(mlp_plot_write_header(f) && mlp_plot_write_row(f, &big));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mlp_plot_parse(&c, text, len, "x", &err), MLP_OK);
    assert_true(c.rows[0].cost == DBL_MAX && c.rows[0].seconds == -DBL_MAX);
    mlp_plot_free(&c);
    free(text);
}

/* The chart of c in memory (NUL-terminated); *len gets its size. The caller frees. */
static char *draw(const mlp_plot_curve *c, const char *title, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    mlp_plot_svg_write(f, c, title);
    assert_false(ferror(f));
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* What plot.h promises a chart of n rows and a short title takes at most: a fixed part (about
 * 4 KB as drawn; 24 ticks an axis, of under 160 bytes each, and 4 legends), 56 bytes a row for
 * the lines, and 4 dots of 256 bytes a row when there are 300 rows or fewer. */
static size_t svg_bound(size_t n)
{
    return 32768 + 56 * n + (n <= 300 ? 4 * 256 * n : 0);
}

static bool has_ci(const char *s, const char *what)
{
    for (; *s; s++) {
        size_t i = 0;
        while (what[i] && tolower((unsigned char)s[i]) == what[i])
            i++;
        if (!what[i])
            return true;
    }
    return false;
}

/* Every coordinate (x, y, x1 ... cy attributes and the numbers of every path) is a finite
 * number inside the 760 x 600 picture. */
static void check_coordinates(const char *s)
{
    static const char *const attrs[] = {" x=\"",  " y=\"",  " x1=\"", " y1=\"", " x2=\"",
                                        " y2=\"", " cx=\"", " cy=\"", " d=\""};
    for (size_t k = 0; k < sizeof attrs / sizeof attrs[0]; k++)
        for (const char *p = s; (p = strstr(p, attrs[k])); p++) {
            const char *v = p + strlen(attrs[k]);
            bool path = k == 8;
            while (*v != '"') {
                while (path && (*v == 'M' || *v == 'L' || *v == ' '))
                    v++;
                if (*v == '"')
                    break;
                char *end;
                double d = strtod(v, &end);
                if (end == v || !(d >= 0.0 && d <= 760.0))
                    print_error("bad coordinate at '%.40s'\n", v);
                assert_true(end != v && d >= 0.0 && d <= 760.0);
                v = end;
                if (!path)
                    assert_true(*v == '"');
            }
        }
}

/* The labels of the texts anchored `anchor`, in order; returns how many (at most cap). */
static size_t labels(const char *s, const char *anchor, char (*out)[64], size_t cap)
{
    char key[64];
    size_t n = 0;
    snprintf(key, sizeof key, "text-anchor=\"%s\">", anchor);
    for (const char *p = s; (p = strstr(p, key)) && n < cap; p++) {
        const char *t = p + strlen(key), *e = strstr(t, "</text>");
        assert_non_null(e);
        assert_true(e - t < 64);
        snprintf(out[n++], 64, "%.*s", (int)(e - t), t);
    }
    return n;
}

/* The checks every chart passes, whatever it was drawn from. */
static void check_chart(const char *s, size_t len, size_t n, bool finite)
{
    if (len > svg_bound(n))
        print_error("%zu rows: %zu bytes, more than %zu\n", n, len, svg_bound(n));
    assert_true(len <= svg_bound(n));
    assert_true(len <= (2u << 20));
    assert_int_equal(strlen(s), len);
    assert_true(!strncmp(s, "<?xml", 5) && strstr(s, "\n<svg "));
    assert_true(len > 7 && !strcmp(s + len - 7, "</svg>\n"));
    xml x;
    if (!xml_check(&x, s, len))
        print_error("%s\n", x.why);
    assert_true(xml_check(&x, s, len));
    check_coordinates(s);
    if (finite) /* a parsed log: no "nan" or "inf" anywhere, labels and tooltips included */
        assert_false(has_ci(s, "nan") || has_ci(s, "inf"));
    assert_int_equal(count(s, "<path "), 4);
    /* the tick labels: a bounded number, neighbours told apart (not "100%" six times) */
    char lab[128][64];
    size_t ny = labels(s, "end", lab, 128);
    assert_true(ny >= 2 && ny <= 2 * 24);
    for (size_t i = 0; i + 1 < ny; i++) {
        if (!strcmp(lab[i], lab[i + 1]))
            print_error("label '%s' twice\n", lab[i]);
        assert_string_not_equal(lab[i], lab[i + 1]);
    }
    size_t nx = labels(s, "middle", lab, 128) - 1; /* the last is the caption "epoch" */
    assert_true(nx % 2 == 0 && nx >= 2 && nx <= 2 * 24);
    for (size_t i = 0; i + 1 < nx / 2; i++) /* the same epoch ticks under both panels */
        assert_string_not_equal(lab[i], lab[i + 1]);
}

/* A value for a log: ordinary, one of the extremes that broke the chart, or a repeat of prev
 * (runs of equal values); NAN is "-". */
static double gen_value(uint64_t *rng, int field, double prev)
{
    static const double cost[] = {0.0,
                                  DBL_MAX,
                                  1.7976931348623155e308,
                                  DBL_MAX / 2,
                                  1e308,
                                  1e300,
                                  4.9e-324,
                                  1e-310,
                                  DBL_MIN,
                                  1e-300,
                                  1e-15,
                                  1.0,
                                  1.0 + DBL_EPSILON};
    static const double acc[] = {0.0,
                                 100.0,
                                 99.999999999999986,
                                 99.999999999999972,
                                 99.99,
                                 100 - 1e-9,
                                 4.9e-324,
                                 DBL_MIN,
                                 1e-300,
                                 1e-12,
                                 50.0,
                                 0.01};
    static const double any[] = {-DBL_MAX, DBL_MAX, 0.0, -0.0, 1e-320, -1e-320, 1.5};
    uint64_t r = mlp_rng_below(rng, 16);
    if (r < 2)
        return NAN;
    if (r < 6 && !isnan(prev))
        return prev;
    bool extreme = r < 11;
    double u = mlp_rng_uniform(rng);
    if (field == 1)
        return extreme ? cost[mlp_rng_below(rng, sizeof cost / sizeof cost[0])]
                       : u * (r == 15 ? DBL_MAX : 3.0);
    if (field <= 4)
        return extreme ? acc[mlp_rng_below(rng, sizeof acc / sizeof acc[0])] : 100.0 * u;
    return extreme ? any[mlp_rng_below(rng, sizeof any / sizeof any[0])] : u;
}

/* A valid log of n rows, generated from rng into *text (the caller frees); the rows also go to
 * want. Values are printed with 17 digits (read back exactly) or, with `writer`, by
 * mlp_plot_write_row. */
static size_t gen_log(uint64_t *rng, size_t n, bool writer, bool constant, mlp_plot_row *want,
                      char **text)
{
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    assert_true(mlp_plot_write_header(f));
    size_t epoch = 1 + (size_t)mlp_rng_below(rng, 3) * mlp_rng_below(rng, 1000);
    double prev[7] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    for (size_t i = 0; i < n; i++) {
        mlp_plot_row *r = &want[i];
        double v[7];
        for (int k = 1; k < 7; k++) /* constant: the first row's values again and again */
            v[k] = constant && i > 0 ? prev[k] : gen_value(rng, k, prev[k]);
        memcpy(prev, v, sizeof v);
        *r = (mlp_plot_row){epoch, v[1], v[2], v[3], v[4], v[5], v[6]};
        if (writer) {
            assert_true(mlp_plot_write_row(f, r));
        } else {
            fprintf(f, "%zu", epoch);
            for (int k = 1; k < 7; k++)
                fprintf(f, isnan(v[k]) ? "\t-" : "\t%.17g", v[k]);
            fputc('\n', f);
        }
        /* gaps of one, of many, or up to the largest epoch; the rows that remain fit below */
        size_t room = MLP_PLOT_MAX_EPOCH - epoch - (n - i);
        uint64_t g = mlp_rng_below(rng, 8);
        epoch += 1 + (g < 5 ? 0 : g < 7 ? mlp_rng_below(rng, room / n + 1) : room);
    }
    assert_int_equal(fclose(f), 0);
    return len;
}

static bool same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void test_any_log_draws_a_bounded_chart(void **state)
{
    (void)state;
    uint64_t rng = 20240601;
    mlp_plot_row *want = malloc(1000 * sizeof *want);
    for (int t = 0; t < 600; t++) {
        static const size_t sizes[] = {1, 1, 2, 3, 7, 40, 299, 300, 301, 1000};
        size_t n = t % 3 ? sizes[t % 7] : sizes[mlp_rng_below(&rng, 10)];
        if (n == 1000 && t % 5)
            n = 50; /* a few long logs are enough */
        bool writer = t % 4 == 3, constant = t % 5 == 1;
        char *text;
        size_t len = gen_log(&rng, n, writer, constant, want, &text);
        mlp_plot_curve c;
        mlp_error err;
        mlp_status st = mlp_plot_parse(&c, text, len, "gen", &err);
        if (st != MLP_OK)
            print_error("log %d: %s\n", t, err.msg);
        assert_int_equal(st, MLP_OK);
        assert_int_equal(c.n, n);
        for (size_t i = 0; i < n && !writer; i++) {
            const mlp_plot_row *a = &c.rows[i], *b = &want[i];
            assert_int_equal(a->epoch, b->epoch);
            assert_true(same(a->cost, b->cost) && same(a->train_acc, b->train_acc) &&
                        same(a->val_acc, b->val_acc) && same(a->test_acc, b->test_acc) &&
                        same(a->lr, b->lr) && same(a->seconds, b->seconds));
        }
        size_t svg_len;
        char *svg = draw(&c, "t", &svg_len);
        check_chart(svg, svg_len, n, true);
        free(svg);

        mlp_plot_free(&c);

        /* the same log with its first row twice (a gap of 0), or its epoch negative, is
         * refused, naming the line */
        const char *row1 = strchr(text, '\n') + 1, *row2 = strchr(row1, '\n') + 1;
        char *bad = malloc(len + (size_t)(row2 - row1) + 1), msg[128];
        for (int k = 0; k < 2; k++) {
            size_t h = (size_t)(row1 - text), r1 = (size_t)(row2 - row1);
            memcpy(bad, text, h);
            memcpy(bad + h, k ? "-" : row1, k ? 1 : r1);
            memcpy(bad + h + (k ? 1 : r1), row1, len - h);
            snprintf(msg, sizeof msg,
                     k ? "line 2: the epoch is not a whole number"
                       : "line 3: epoch %zu comes after epoch %zu",
                     want[0].epoch, want[0].epoch);
            st = mlp_plot_parse(&c, bad, len + (k ? 1 : r1), "gen", &err);
            if (st != MLP_EFORMAT || !strstr(err.msg, msg))
                print_error("log %d: '%s', wanted '%s'\n", t, err.msg, msg);
            assert_int_equal(st, MLP_EFORMAT);
            assert_non_null(strstr(err.msg, msg));
            assert_null(c.rows);
        }
        free(bad);
        free(text);
    }
    free(want);
}

static void test_any_curve_draws_a_bounded_chart(void **state)
{
    (void)state;
    /* what no log holds but a curve given to mlp_plot_svg_write may: a diverged run's
     * infinite cost, values out of range, epochs out of order or as large as a size_t gets */
    mlp_plot_row r[] = {
        {SIZE_MAX, INFINITY, -5.0, 1e308, NAN, NAN, NAN},
        {0, -INFINITY, INFINITY, -INFINITY, 100.0, 0, 0},
        {3, -1.0, NAN, 101.0, DBL_MAX, 0, 0},
        {SIZE_MAX - 1, DBL_MAX, 0.0, 0.0, -DBL_MAX, 0, 0},
    };
    for (size_t n = 0; n <= 4; n++) {
        mlp_plot_curve c = {n, n, r};
        size_t len;
        char *s = draw(&c, n ? "any" : NULL, &len);
        check_chart(s, len, n, n == 0);
        free(s);
    }
    /* a single row at the largest epoch, and 0 */
    for (size_t k = 0; k < 2; k++) {
        mlp_plot_row one = {k ? SIZE_MAX : 0, 0.5, 50, 50, 50, 1, 1};
        mlp_plot_curve c = {1, 1, &one};
        size_t len;
        char *s = draw(&c, "one", &len);
        check_chart(s, len, 1, true);
        free(s);
    }
}

static void test_run_records_every_epoch(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), log[4096], svg[4096];
    tu_path(log, dir, "run.tsv");
    tu_path(svg, dir, "run.svg");
    mlp_plot_run r;
    mlp_output_plan files = {0};
    mlp_error err;
    assert_int_equal(mlp_output_target(&files, "--log", log, MLP_OUTPUT_HOLD, &err), MLP_OK);
    assert_int_equal(mlp_output_target(&files, "--plot", svg, MLP_OUTPUT_HOLD, &err), MLP_OK);
    assert_int_equal(mlp_plot_run_open(&r, &files, log, svg, "t", 0, &err), MLP_OK);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(mlp_plot_run_epoch(&r, &rows[i], &err), MLP_OK);
        size_t len; /* the log is complete after every epoch, not only at the end */
        char *text = (char *)tu_read_file(log, &len);
        text = realloc(text, len + 1);
        text[len] = '\0';
        assert_int_equal(tu_count_lines(text), 2 + i);
        free(text);
        free(read_svg(svg));
    }
    assert_int_equal(mlp_plot_run_close(&r, &err), MLP_OK);
    mlp_output_plan_free(&files);
    /* a log into a missing directory is refused when it is planned, before any work */
    assert_int_equal(mlp_output_target(&files, "--log", "/nonexistent/run.tsv", 0, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "no such directory"));
    mlp_output_plan_free(&files);
    tu_rm_rf(dir);
    free(dir);
}

/* --- the commands ------------------------------------------------------------------------ */

static void test_train_log_and_plot_commands(void **state)
{
    (void)state;
    tu_cli cli;
    tu_cli_open(&cli);
    char *dir = cli.dir, *out = cli.out, *err = cli.err, path[4096];
    tu_write_synthetic(dir, 600, 100, 8, 8, 3, 4);
    assert_int_equal(tu_cli_run(&cli, "train %s --hidden 6 --epochs 3 --out %s/m.bin", dir, dir),
                     0);
    size_t lines_without = tu_count_lines(out);
    int st = tu_cli_run(&cli,
                        "train %s --hidden 6 --epochs 3 --out %s/m.bin --log %s/run.tsv "
                        "--plot %s/run.svg",
                        dir, dir, dir, dir);
    if (st != 0)
        print_error("%s", err);
    assert_int_equal(st, 0);
    assert_int_equal(tu_count_lines(out), lines_without); /* stdout is unchanged */
    assert_string_equal(err, "");

    mlp_plot_curve c;
    mlp_error e;
    tu_path(path, dir, "run.tsv");
    assert_int_equal(mlp_plot_read(&c, path, &e), MLP_OK);
    assert_int_equal(c.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c.rows[i].epoch, i + 1);
        assert_true(c.rows[i].cost > 0 && c.rows[i].seconds >= 0 && c.rows[i].lr > 0);
        assert_true(c.rows[i].train_acc > 0 && c.rows[i].test_acc > 0);
        assert_true(isnan(c.rows[i].val_acc)); /* no validation set yet */
    }
    /* the last row's test accuracy is the one train printed */
    char want[64];
    snprintf(want, sizeof want, "test accuracy %.2f%%", c.rows[2].test_acc);
    assert_non_null(strstr(out, want));
    mlp_plot_free(&c);
    tu_path(path, dir, "run.svg");
    free(read_svg(path));

    /* mlp plot: the SVG's name from the log's */
    assert_int_equal(remove(path), 0);
    assert_int_equal(tu_cli_run(&cli, "plot %s/run.tsv --title 'my run'", dir), 0);
    assert_non_null(strstr(out, "drew 3 epochs"));
    char *s = read_svg(path);
    assert_non_null(strstr(s, ">my run</text>"));
    free(s);
    assert_int_equal(tu_cli_run(&cli, "plot %s/run.tsv %s/other.svg", dir, dir), 0);
    tu_path(path, dir, "other.svg");
    free(read_svg(path));

    /* refusals */
    assert_int_equal(tu_cli_run(&cli, "plot"), 2);
    assert_non_null(strstr(err, "missing LOG"));
    assert_int_equal(tu_cli_run(&cli, "plot %s/none.tsv", dir), 1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_int_equal(tu_cli_run(&cli, "plot %s/m.bin", dir), 1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_non_null(strstr(err, "not a training log"));
    assert_int_equal(tu_cli_run(&cli, "plot %s/run.tsv %s/run.tsv", dir, dir), 1);
    assert_non_null(strstr(err, "same file"));
    assert_int_equal(
        tu_cli_run(&cli, "train %s --epochs 1 --log %s/no/run.tsv --out %s/m.bin", dir, dir, dir),
        1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_non_null(strstr(err, "no/run.tsv"));
    assert_int_equal(
        tu_cli_run(&cli, "train %s --epochs 1 --plot %s/no/run.svg --out %s/m.bin", dir, dir, dir),
        1);
    assert_int_equal(tu_count_lines(err), 1);
    assert_int_equal(tu_cli_run(&cli, "help plot"), 0);
    assert_non_null(strstr(out, "val_acc"));
    assert_int_equal(tu_cli_run(&cli, "help train"), 0);
    assert_non_null(strstr(out, "--log PATH"));
    assert_non_null(strstr(out, "--plot PATH"));
    tu_cli_close(&cli);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_xml_checker_catches_mistakes),
        cmocka_unit_test(test_log_round_trip),
        cmocka_unit_test(test_bad_logs_are_refused),
        cmocka_unit_test(test_svg_is_well_formed),
        cmocka_unit_test(test_non_decimal_values_are_refused),
        cmocka_unit_test(test_any_log_draws_a_bounded_chart),
        cmocka_unit_test(test_any_curve_draws_a_bounded_chart),
        cmocka_unit_test(test_run_records_every_epoch),
        cmocka_unit_test(test_train_log_and_plot_commands),
    };
    return cmocka_run_group_tests_name("plot", tests, NULL, NULL);
}
