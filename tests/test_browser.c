/*
 * The page of `mlp serve` in a real browser: tests/browser.js drives headless Chromium
 * (Debian's chromium package) through playwright-core, draws a digit on the canvas with
 * pointer events, chooses a true answer and picks a test image. What the page displayed must
 * be mlp's: the class `mlp predict --center` gives the drawing's pixels, the wishes the server
 * answers for them, as `mlp explain` prints them, and the class of the test image. The
 * screenshots are left in build/browser/ (page.png, phone.png) to be looked at.
 *
 * Needs chromium (MLP_CHROMIUM, default /usr/bin/chromium), node, and playwright-core in
 * MLP_PLAYWRIGHT_DIR (default build/playwright). Without them the test is skipped with one
 * line saying what to install, except under CI=true (.ci/run installs them), where it fails.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSTALL                                                                                    \
    "apt-get install chromium, and npm install --prefix build/playwright playwright-core@1.65.1"

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && v[0] ? v : fallback;
}

/* What is missing to run a browser, or NULL. */
static const char *missing(const char *chromium, const char *pw)
{
    char path[4096];
    if (access(chromium, X_OK) != 0)
        return chromium;
    snprintf(path, sizeof path, "%s/node_modules/playwright-core/package.json", pw);
    if (access(path, R_OK) != 0)
        return "playwright-core";
    if (system("node --version >/dev/null 2>&1") != 0)
        return "node";
    return NULL;
}

/* The integers of the JSON array after key in s, into v (at most n); their count. */
static size_t ints_after(const char *s, const char *key, int *v, size_t n)
{
    const char *p = strstr(s, key);
    assert_non_null(p);
    p += strlen(key);
    size_t k = 0;
    while (k < n && *p && *p != ']') {
        char *end;
        v[k++] = (int)strtol(p, &end, 10);
        assert_true(end > p);
        p = *end == ',' ? end + 1 : end;
    }
    return k;
}

static int int_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    assert_non_null(p);
    return (int)strtol(p + strlen(key), NULL, 10);
}

static void test_the_page_in_chromium_shows_mlps_answers(void **state)
{
    (void)state;
    const char *chromium = env_or("MLP_CHROMIUM", "/usr/bin/chromium");
    const char *pw = env_or("MLP_PLAYWRIGHT_DIR", "build/playwright");
    const char *lack = missing(chromium, pw);
    if (lack && !strcmp(env_or("CI", ""), "true"))
        fail_msg("test_browser: %s is missing; .ci/run installs it (%s)", lack, INSTALL);
    if (lack) {
        printf("test_browser: skipped: %s is missing; to run it: %s\n", lack, INSTALL);
        skip();
    }

    tu_cli c;
    tu_cli_open(&c);
    char model[4096], out[4096], err[4096], args[8192], shots[] = "build/browser";
    tu_write_synthetic(c.dir, 300, 20, 28, 28, 10, 9);
    tu_path(model, c.dir, "m.bin");
    assert_int_equal(tu_cli_run(&c, "train %s --hidden 16,12 --epochs 3 --out %s --quiet", c.dir,
                                model),
                     0);
    tu_path(out, c.dir, "serve.out");
    tu_path(err, c.dir, "serve.err");
    snprintf(args, sizeof args, "serve %s %s", model, c.dir);
    int pid = tu_spawn_mlp(args, out, err);
    assert_true(tu_wait_for_text(out, "http://127.0.0.1:", 120.0));
    size_t len;
    char *said = (char *)tu_read_file(out, &len);
    const char *url = strstr(said, "http://127.0.0.1:");
    unsigned port = (unsigned)strtoul(url + 17, NULL, 10);

    mkdir("build", 0755);
    mkdir(shots, 0755);
    char cmd[16384], got[4096];
    tu_path(got, c.dir, "browser.json");
    snprintf(cmd, sizeof cmd, "MLP_CHROMIUM='%s' node tests/browser.js '%s' "
             "http://127.0.0.1:%u/ %s > '%s' 2> '%s.err'", chromium, pw, port, shots, got, got);
    int rc = system(cmd);
    char *page = (char *)tu_read_file(got, &len);
    if (rc != 0) {
        char e[4200];
        snprintf(e, sizeof e, "%s.err", got);
        char *why = (char *)tu_read_file(e, &len);
        fail_msg("tests/browser.js failed: %s", why ? why : "?");
    }
    assert_non_null(page);

    /* the drawing: ink, and the class predict --center gives its pixels */
    int px[784], cls = int_after(page, "\"class\":"), label = int_after(page, "\"label\":");
    assert_int_equal(ints_after(page, "\"pixels\":[", px, 784), 784);
    size_t ink = 0;
    char pgm[4096];
    tu_path(pgm, c.dir, "drawn.pgm");
    FILE *f = fopen(pgm, "wb");
    assert_non_null(f);
    fprintf(f, "P5\n28 28\n255\n");
    for (int k = 0; k < 784; k++) {
        assert_true(px[k] >= 0 && px[k] <= 255);
        ink += px[k] > 128;
        fputc(px[k], f);
    }
    fclose(f);
    assert_true(ink > 20); /* the strokes reached the canvas */
    assert_int_equal(tu_cli_run(&c, "predict %s %s --center --json", model, pgm), 0);
    assert_int_equal(int_after(c.out, "\"class\":"), cls);

    /* the wishes table holds the server's numbers for those pixels, as explain prints them */
    char body[784 * 4 + 8], target[64];
    size_t n = 0;
    body[n++] = '[';
    for (int k = 0; k < 784; k++)
        n += (size_t)sprintf(body + n, "%s%d", k ? "," : "", px[k]);
    body[n++] = ']';
    body[n] = '\0';
    snprintf(target, sizeof target, "/api/predict?label=%d", label);
    tu_http_answer a = tu_http_ask(port, "POST", target, body);
    assert_int_equal(a.status, 200);
    const char *w = strstr(strstr(a.body, "\"explain\":"), "\"wish\":[") + 8;
    const char *shown = strstr(page, "\"wishes\":[");
    assert_non_null(shown);
    shown += 10;
    for (int j = 0; j < 10; j++) {
        char *end, mine[16];
        snprintf(mine, sizeof mine, "\"%+.2e\"", strtod(w, &end));
        w = end + 1;
        if (strncmp(shown, mine, strlen(mine)))
            fail_msg("output %d: the page shows %.12s, mlp says %s", j, shown, mine);
        shown += strlen(mine) + 1;
    }
    free(a.text);

    /* the test image picked: its class, and the label of the data set */
    a = tu_http_ask(port, "GET", "/api/test?index=0", NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(int_after(page, "\"test_class\":"), int_after(a.body, "\"class\":"));
    assert_int_equal(int_after(page, "\"test_label\":"), int_after(a.body, "\"true_label\":"));
    free(a.text);

    /* the screenshots were saved */
    struct stat st;
    assert_int_equal(stat("build/browser/page.png", &st), 0);
    assert_true(st.st_size > 10000);
    assert_int_equal(stat("build/browser/phone.png", &st), 0);
    assert_true(st.st_size > 10000);
    printf("test_browser: the page said %d for the drawing (predict --center: the same); "
           "screenshots in build/browser/\n", cls);

    kill(pid, SIGINT);
    assert_int_equal(tu_wait_exit(pid), 0);
    free(page);
    free(said);
    tu_cli_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_page_in_chromium_shows_mlps_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
