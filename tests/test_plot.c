/*
 * plot: the log reads back what was written and refuses what was not; the SVG chart is
 * well-formed XML (checked here by a small parser of its own) with one line per series and
 * the title escaped; `mlp train --log --plot` and `mlp plot` end to end.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "plot.h"

#include <ctype.h>
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
    assert_int_equal(mlp_plot_svg_save(path, &c, "run <1> & \"two\"\x01", &err), MLP_OK);
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
    assert_int_equal(mlp_plot_svg_save(path, &c, "one", &err), MLP_OK);
    free(read_svg(path));
    c.n = 0;
    assert_int_equal(mlp_plot_svg_save(path, &c, "none", &err), MLP_EARG);
    mlp_plot_free(&c);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_records_every_epoch(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), log[4096], svg[4096];
    tu_path(log, dir, "run.tsv");
    tu_path(svg, dir, "run.svg");
    mlp_plot_run r;
    mlp_error err;
    assert_int_equal(mlp_plot_run_open(&r, log, svg, "t", 0, &err), MLP_OK);
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
    assert_int_equal(mlp_plot_run_open(&r, "/nonexistent/run.tsv", NULL, "t", 0, &err), MLP_EIO);
    assert_int_equal(mlp_plot_run_close(&r, &err), MLP_OK);
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
    assert_int_equal(tu_cli_run(&cli, "plot %s/run.tsv %s/run.tsv", dir, dir), 2);
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
        cmocka_unit_test(test_run_records_every_epoch),
        cmocka_unit_test(test_train_log_and_plot_commands),
    };
    return cmocka_run_group_tests_name("plot", tests, NULL, NULL);
}
