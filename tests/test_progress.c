/*
 * progress: the bar's text, its rate limit, its blanking, and that `mlp train` shows it on a
 * terminal only: with stderr redirected, or --quiet, nothing but the epoch lines.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_format(void **state)
{
    (void)state;
    mlp_progress p;
    char line[256];
    mlp_progress_init(&p, NULL, 40);
    mlp_progress_epoch(&p, 1, 0.0);
    mlp_progress_epoch(&p, 2, 5.0);
    mlp_progress_epoch(&p, 3, 10.0); /* two epochs finished, 5 s each */
    /* 24,000 of 60,000 in 2 s: 12,000 img/s, 3 s left in the epoch, then 37 epochs of 5 s */
    mlp_progress_format(line, sizeof line, &p, 24000, 60000, 12.0);
    assert_string_equal(
        line, "epoch 3/40 [=====>        ] 24,000/60,000 12,000 img/s 0:03 left, 3:08 in all");
    assert_true(strlen(line) <= MLP_PROGRESS_WIDTH);

    /* the last epoch: nothing after it */
    mlp_progress_epoch(&p, 40, 100.0);
    mlp_progress_format(line, sizeof line, &p, 60000, 60000, 101.0);
    assert_string_equal(line, "epoch 40/40 [==============] 60,000/60,000 60,000 img/s 0:00 left");

    /* the first epoch estimates the rest from its own speed: 100 img/s, 6 s an epoch */
    mlp_progress_init(&p, NULL, 3);
    mlp_progress_epoch(&p, 1, 0.0);
    mlp_progress_format(line, sizeof line, &p, 300, 600, 3.0);
    assert_non_null(strstr(line, "0:03 left, 0:15 in all"));
    /* hours, and absurd sizes stay within the width */
    mlp_progress_format(line, sizeof line, &p, 1, 600, 3.0); /* 599 images at 3 s each */
    assert_non_null(strstr(line, "29:57 left"));
    mlp_progress_format(line, sizeof line, &p, 1, 6000, 3.0);
    assert_non_null(strstr(line, "4:59:57 left"));
    mlp_progress_init(&p, NULL, 100000);
    mlp_progress_epoch(&p, 99999, 0.0);
    mlp_progress_format(line, sizeof line, &p, 1, (size_t)1 << 40, 1e-9);
    assert_true(strlen(line) <= MLP_PROGRESS_WIDTH);
    mlp_progress_format(line, 10, &p, 1, 2, 1.0);
    assert_int_equal(strlen(line), 9);
}

static void test_redraws_are_rate_limited_and_cleared(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    mlp_progress p;
    mlp_progress_init(&p, f, 2);
    mlp_progress_epoch(&p, 1, 0.0);
    const double times[] = {0.01, 0.05, 0.1, 0.12, 0.19, 0.2, 0.5};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        mlp_progress_update(&p, 10 * (i + 1), 100, times[i]);
    size_t drawn_bytes = (size_t)ftell(f);
    mlp_progress_clear(&p);
    mlp_progress_clear(&p); /* a second time: nothing left to blank */
    rewind(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    /* drawn at 0.1, 0.2 and 0.5 only, then blanked once: \r line, \r line, \r line, \r spaces \r */
    size_t cr = 0;
    for (size_t i = 0; i < n; i++)
        cr += buf[i] == '\r';
    assert_int_equal(cr, 3 + 2);
    assert_null(strchr(buf, '\n'));
    assert_non_null(strstr(buf, "30/100"));
    assert_non_null(strstr(buf, "60/100"));
    assert_non_null(strstr(buf, "70/100"));
    assert_null(strstr(buf, "40/100"));
    assert_int_equal(buf[n - 1], '\r');
    for (size_t i = drawn_bytes + 1; i < n - 1; i++)
        assert_int_equal(buf[i], ' ');

    /* without a stream, nothing happens */
    mlp_progress_init(&p, NULL, 2);
    mlp_progress_epoch(&p, 1, 0.0);
    mlp_progress_update(&p, 1, 2, 5.0);
    mlp_progress_hook(&p, 1, 2);
    mlp_progress_clear(&p);
    assert_int_equal(p.shown, 0);
}

static void test_train_shows_no_bar_when_not_on_a_terminal(void **state)
{
    (void)state;
    tu_cli c;
    tu_cli_open(&c);
    tu_write_synthetic(c.dir, 3000, 50, 10, 10, 3, 2);
    for (int quiet = 0; quiet < 2; quiet++) {
        assert_int_equal(tu_cli_run(&c,
                                    "train %s --hidden 64 --batch 1 --epochs 2 --out %s/m.bin%s",
                                    c.dir, c.dir, quiet ? " --quiet" : ""),
                         0);
        assert_string_equal(c.err, "");
        assert_null(strchr(c.out, '\r'));
        assert_non_null(strstr(c.out, "epoch   2"));
    }
    tu_cli_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_redraws_are_rate_limited_and_cleared),
        cmocka_unit_test(test_train_shows_no_bar_when_not_on_a_terminal),
    };
    return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
