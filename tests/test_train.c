/*
 * `mlp train` as a long-running program that must not lose work: checkpoints after every
 * epoch, --resume that continues bit for bit, SIGINT/SIGTERM, the divergence guard, and the
 * checks made before any training starts (output path, disk space, memory).
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "util.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { CAP = 1 << 16 };

typedef struct {
    tu_cli c; /* c.dir holds the dataset */
    char model[4096], copy[4096], so[4096], se[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_cli_open(&f->c);
    /* large enough that an epoch of a 64-unit network takes a few milliseconds, so signals
     * land while it trains */
    tu_write_synthetic(f->c.dir, 6000, 300, 12, 12, 6, 5);
    tu_path(f->model, f->c.dir, "m.bin");
    tu_path(f->copy, f->c.dir, "full.bin");
    tu_path(f->so, f->c.dir, "stdout");
    tu_path(f->se, f->c.dir, "stderr");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_cli_close(&f->c);
    free(f);
    return 0;
}

static void expect_one_line(const fixture *f, int status, int want, const char *text)
{
    if (status != want || tu_count_lines(f->c.err) != 1 || !strstr(f->c.err, text)) {
        print_error("exit %d (wanted %d), stderr '%s' (wanted one line with '%s')\n", status, want,
                    f->c.err, text);
        fail();
    }
}

static bool same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static size_t count_tmp_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static const char *run_flags = "--hidden 64 --epochs 8 --momentum 0.5 --lr 0.05 --batch 10";
/* every option that draws random numbers or keeps state across epochs */
static const char *fancy_flags =
    "--hidden 64,32 --activation relu --cost xent --epochs 6 --batch 32 --lr 0.05 "
    "--schedule cosine --lr-end 0.001 --warmup 1 --momentum 0.9 --nesterov --maxnorm 3 "
    "--dropout 0.3 --dropout-in 0.1 --translate 1 --rotate 5 --scale 0.05 --elastic 10,3 "
    "--val 500";

/* The uninterrupted run, kept as full.bin (the same output path is used for every run, so the
 * recorded command lines agree and files can be compared byte for byte). */
static void train_uninterrupted(fixture *f, const char *flags)
{
    int st = tu_cli_run(&f->c, "train %s %s --out %s", f->c.dir, flags, f->model);
    if (st != 0)
        print_error("train %s: exit %d, %s\n", flags, st, f->c.err);
    assert_int_equal(st, 0);
    assert_int_equal(rename(f->model, f->copy), 0);
}

/* Starts the same run, stops it with sig once `when` appears on stdout, resumes it, and
 * checks the result is byte-identical to the uninterrupted run. */
static void interrupt_and_resume(fixture *f, const char *flags, int sig, const char *when)
{
    char args[8192];
    snprintf(args, sizeof args, "train %s %s --out %s", f->c.dir, flags, f->model);
    /* the last run's output must not be taken for this one's before the child opens it */
    unlink(f->so);
    unlink(f->se);
    int pid = tu_spawn_mlp(args, f->so, f->se);
    assert_true(tu_wait_for_text(f->so, when, 60));
    assert_int_equal(kill(pid, sig), 0);
    int status = tu_wait_exit(pid);
    assert_int_equal(status, 128 + sig);
    size_t n;
    char *err = (char *)tu_read_file(f->se, &n);
    err = realloc(err, n + 1);
    err[n] = '\0';
    assert_int_equal(tu_count_lines(err), 1);
    assert_non_null(strstr(err, "--resume"));
    free(err);
    assert_int_equal(count_tmp_files(f->c.dir), 0);

    int st = tu_cli_run(&f->c, "train %s --resume %s", f->c.dir, f->model);
    if (st != 0)
        print_error("resuming %s: exit %d, %s\n", flags, st, f->c.err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(f->c.out, "resuming"));
    assert_true(same_file(f->model, f->copy));
}

static void test_sigint_then_resume_is_bit_identical(void **state)
{
    fixture *f = *state;
    train_uninterrupted(f, run_flags);
    interrupt_and_resume(f, run_flags, SIGINT, "epoch   2");
    interrupt_and_resume(f, run_flags, SIGTERM, "epoch   5");
}

/* The same with validation, dropout, augmentation, Nesterov momentum, max-norm, warm-up and a
 * cosine schedule: their random choices and state survive an interruption too. */
static void test_resume_with_every_option(void **state)
{
    fixture *f = *state;
    train_uninterrupted(f, fancy_flags);
    interrupt_and_resume(f, fancy_flags, SIGINT, "epoch   1");
    interrupt_and_resume(f, fancy_flags, SIGINT, "epoch   4");
}

/* Adam and AdamW with every new option on (their betas and eps, L2 or weight decay, clipping,
 * label smoothing, patience long enough not to end the run): the moments and the step count
 * survive an interruption, mid-epoch or between epochs. */
static const char *const adam_flags =
    "--hidden 64,32 --activation relu --cost xent --epochs 6 --batch 10 --optimizer adam "
    "--lr 0.002 --beta1 0.85 --beta2 0.99 --eps 1e-7 --l2 1e-4 --clip 1 --label-smoothing 0.1 "
    "--dropout 0.2 --translate 1 --rotate 5 --val 500 --patience 6";
static const char *const adamw_flags =
    "--hidden 64,32 --activation relu --cost xent --epochs 6 --batch 10 --optimizer adamw "
    "--beta1 0.8 --beta2 0.995 --eps 1e-6 --weight-decay 0.05 --clip 0.5 "
    "--label-smoothing 0.05 --schedule cosine --warmup 1 --scale 0.05 --val 500 --patience 6";

static void test_resume_adam_and_adamw(void **state)
{
    fixture *f = *state;
    train_uninterrupted(f, adam_flags);
    interrupt_and_resume(f, adam_flags, SIGINT, "epoch   1");
    interrupt_and_resume(f, adam_flags, SIGTERM, "epoch   3");
    train_uninterrupted(f, adamw_flags);
    interrupt_and_resume(f, adamw_flags, SIGINT, "epoch   2");
}

/* --patience on a run whose validation accuracy is known: at a learning rate of 1e-30 no
 * parameter moves (every step is below half an ulp), so every epoch has the first epoch's
 * validation accuracy, the best stays epoch 1, and the run stops after epoch 1 + N. The model
 * holds epoch 1; info says where and why it stopped; resuming has nothing to do. */
static void test_patience_stops_at_the_right_epoch(void **state)
{
    fixture *f = *state;
    assert_int_equal(tu_cli_run(&f->c,
                                "train %s --hidden 8 --epochs 20 --lr 1e-30 --schedule constant "
                                "--val 500 --patience 3 --out %s",
                                f->c.dir, f->model),
                     0);
    assert_non_null(strstr(f->c.out, "epoch   4"));
    assert_null(strstr(f->c.out, "epoch   5"));
    assert_non_null(strstr(f->c.out, "stopped early after epoch 4 of 20: no better validation "
                                     "accuracy in the 3 epochs since epoch 1"));
    assert_non_null(strstr(f->c.out, "saved"));
    assert_non_null(strstr(f->c.out, "epoch 1, the best on validation"));
    assert_int_equal(tu_cli_run(&f->c, "info %s", f->model), 0);
    assert_non_null(strstr(f->c.out, "trained      4 of 20 epochs"));
    assert_non_null(strstr(f->c.out, "stopped      early after epoch 4 of 20"));
    assert_non_null(strstr(f->c.out, "parameters of epoch 1,"));
    assert_int_equal(tu_cli_run(&f->c, "train %s --resume %s", f->c.dir, f->model), 0);
    assert_non_null(strstr(f->c.out, "nothing to do"));
    assert_null(strstr(f->c.out, "epoch   5"));
    /* one patience more than the run has epochs left: it trains them all */
    assert_int_equal(tu_cli_run(&f->c,
                                "train %s --hidden 8 --epochs 5 --lr 1e-30 --schedule constant "
                                "--val 500 --patience 4 --out %s",
                                f->c.dir, f->model),
                     0);
    assert_non_null(strstr(f->c.out, "epoch   5"));
    assert_null(strstr(f->c.out, "stopped early"));
}

/* Resuming from the checkpoint of any epoch boundary (a crash right after a save) also
 * gives the uninterrupted result: copy the file away as training goes, resume from copies. */
static void test_resume_from_every_epoch_checkpoint(void **state)
{
    fixture *f = *state;
    train_uninterrupted(f, run_flags);
    for (int k = 1; k < 8; k += 3) {
        /* a run that plans 8 epochs, stopped cleanly after epoch k by a later SIGINT is the
         * same as a checkpoint taken after epoch k; use --epochs on resume to check both */
        char when[32];
        snprintf(when, sizeof when, "epoch %3d", k);
        interrupt_and_resume(f, run_flags, SIGINT, when);
    }
}

static void test_second_sigint_exits_at_once(void **state)
{
    fixture *f = *state;
    char args[8192];
    snprintf(args, sizeof args, "train %s --hidden 64 --epochs 1000 --out %s", f->c.dir, f->model);
    int pid = tu_spawn_mlp(args, f->so, f->se);
    assert_true(tu_wait_for_text(f->so, "epoch   1", 60));
    double t0 = mlp_now();
    kill(pid, SIGINT);
    kill(pid, SIGINT);
    int status = tu_wait_exit(pid);
    assert_true(mlp_now() - t0 < 5.0);
    assert_int_equal(status, 130);
    /* whatever moment it stopped at, the last complete checkpoint is there and intact */
    assert_int_equal(tu_cli_run(&f->c, "info %s", f->model), 0);
}

static void test_divergence_keeps_the_last_good_model(void **state)
{
    fixture *f = *state;
    /* the learning rate climbs to 1e6 over six epochs: fine at first, then NaN */
    int st = tu_cli_run(&f->c,
                        "train %s --activation relu --cost xent --lr 0.01 --lr-end 1e6 --epochs 6 "
                        "--out %s",
                        f->c.dir, f->model);
    expect_one_line(f, st, 1, "the cost is NaN");
    assert_non_null(strstr(f->c.err, ", batch "));
    assert_non_null(strstr(f->c.err, "learning rate"));
    assert_non_null(strstr(f->c.err, "last good model"));
    assert_int_equal(tu_cli_run(&f->c, "info %s", f->model), 0); /* finite, loadable */
    assert_non_null(strstr(f->c.out, "1 of 6 epochs"));          /* the model of the epoch before */

    /* diverging in the first epoch saves nothing at all */
    char other[4096];
    tu_path(other, f->c.dir, "none.bin");
    st = tu_cli_run(&f->c, "train %s --activation relu --cost xent --lr 1e6 --out %s", f->c.dir,
                    other);
    expect_one_line(f, st, 1, "nothing saved");
    FILE *fp = fopen(other, "rb");
    assert_null(fp);
}

static void test_resume_refuses_contradictions(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        tu_cli_run(&f->c, "train %s --hidden 8 --epochs 2 --out %s", f->c.dir, f->model), 0);
    const struct {
        const char *flags, *want;
    } cases[] = {
        {"--lr 0.9", "--lr contradicts"},
        {"--hidden 9", "--hidden contradicts"},
        {"--batch 7", "--batch contradicts"},
        {"--cost xent", "--cost contradicts"},
        {"--seed 4", "--seed contradicts"},
        {"--epochs 1", "already trained 2"},
        {"--optimizer adam", "--optimizer contradicts"},
        {"--beta1 0.5", "--beta1 contradicts"},
        {"--clip 1", "--clip contradicts"},
        {"--patience 2", "--patience contradicts"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_one_line(
            f, tu_cli_run(&f->c, "train %s --resume %s %s", f->c.dir, f->model, cases[k].flags), 2,
            cases[k].want);
    /* flags that agree are fine, and more epochs continue the run */
    assert_int_equal(
        tu_cli_run(&f->c, "train %s --resume %s --hidden 8 --epochs 3", f->c.dir, f->model), 0);
    assert_non_null(strstr(f->c.out, "epoch   3"));
    assert_null(strstr(f->c.out, "epoch   2"));
    /* nothing left to do is not an error */
    assert_int_equal(tu_cli_run(&f->c, "train %s --resume %s", f->c.dir, f->model), 0);
    assert_non_null(strstr(f->c.out, "nothing to do"));
    /* other data */
    char other[4096];
    tu_path(other, f->c.dir, "other");
    char mk[4200];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", other);
    assert_int_equal(system(mk), 0);
    tu_write_synthetic(other, 6000, 300, 12, 12, 6, 77);
    expect_one_line(f, tu_cli_run(&f->c, "train %s --resume %s --epochs 4", other, f->model), 1,
                    "not the data");
    expect_one_line(f, tu_cli_run(&f->c, "train %s --resume %s/none.bin", f->c.dir, f->c.dir), 1,
                    "none.bin");
}

static void test_output_checked_before_training(void **state)
{
    fixture *f = *state;
    int st = tu_cli_run(&f->c, "train %s --out %s/no/such/dir/m.bin", f->c.dir, f->c.dir);
    expect_one_line(f, st, 1, "cannot write");
    assert_null(strstr(f->c.out, "epoch"));
    st = tu_cli_run(&f->c, "train %s --out %s", f->c.dir, f->c.dir);
    expect_one_line(f, st, 1, "is a directory");
}

/* A disk that fills up while saving: the file-size limit makes writes fail the same way.
 * The previous model must survive, and no temporary file stay behind. */
static void test_full_disk_keeps_previous_model(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        tu_cli_run(&f->c, "train %s --hidden 4 --epochs 1 --out %s", f->c.dir, f->model), 0);
    assert_int_equal(rename(f->model, f->copy), 0);
    char cp[8400];
    snprintf(cp, sizeof cp, "cp '%s' '%s'", f->copy, f->model);
    assert_int_equal(system(cp), 0);
    char cmd[20000];
    /* 64 blocks is far less than the 150 kB this model takes */
    snprintf(cmd, sizeof cmd,
             "sh -c 'ulimit -f 64; trap \"\" XFSZ; exec \"${MLP_BIN:-./mlp}\" train %s "
             "--hidden 256 --epochs 1 --out %s' >'%s' 2>'%s'",
             f->c.dir, f->model, f->so, f->se);
    int ws = system(cmd);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 1);
    assert_true(same_file(f->model, f->copy));
    assert_int_equal(count_tmp_files(f->c.dir), 0);
}

static void test_memory_needed_is_refused_up_front(void **state)
{
    fixture *f = *state;
    double t0 = mlp_now();
    int st = tu_cli_run(&f->c, "train %s --hidden 100000000 --out %s", f->c.dir, f->model);
    expect_one_line(f, st, 1, "bytes");
    assert_non_null(strstr(f->c.err, "memory"));
    assert_true(mlp_now() - t0 < 30.0);
    FILE *fp = fopen(f->model, "rb");
    assert_null(fp);
}

/* gcc says it builds with AddressSanitizer by __SANITIZE_ADDRESS__, clang by __has_feature */
#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILT_WITH_ASAN 1
#endif
#endif

/* A short training run under valgrind's memcheck: no error, nothing definitely lost. Skipped
 * where valgrind is missing, and in sanitizer builds (the two cannot run together). */
static void test_valgrind_finds_nothing(void **state)
{
    fixture *f = *state;
#if defined(BUILT_WITH_ASAN)
    (void)f;
    skip();
#else
    if (system("valgrind --version >/dev/null 2>&1") != 0) {
        print_message("  valgrind not installed; skipped\n");
        skip();
    }
    char cmd[20000];
    /* 300 images are plenty to run every code path of an epoch, the pool's included */
    char small[4096];
    tu_path(small, f->c.dir, "small");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", small);
    assert_int_equal(system(cmd), 0);
    tu_write_synthetic(small, 300, 50, 12, 12, 6, 5);
    snprintf(cmd, sizeof cmd,
             "valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 "
             "\"${MLP_BIN:-./mlp}\" train %s --hidden 300 --epochs 2 --threads 2 --out %s "
             ">'%s' 2>'%s'",
             small, f->model, f->so, f->se);
    int ws = system(cmd);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        size_t n;
        char *e = (char *)tu_read_file(f->se, &n);
        print_error("valgrind: exit %d\n%.*s\n", WEXITSTATUS(ws), (int)n, e ? e : "");
        free(e);
        fail();
    }
#endif
}

/* With --val the saved model is the epoch with the best validation accuracy: info names it,
 * and evaluating the file gives the test accuracy printed for that epoch. */
static void test_val_keeps_the_best_epoch(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        tu_cli_run(&f->c,
                   "train %s --hidden 12 --epochs 6 --lr 4 --schedule constant --val 1000 "
                   "--out %s",
                   f->c.dir, f->model),
        0);
    double best = -1, test_at_best = -1;
    int best_epoch = 0;
    for (const char *p = strstr(f->c.out, "epoch "); p; p = strstr(p + 1, "\nepoch ")) {
        int e;
        double v, t;
        const char *q = p[0] == '\n' ? p + 1 : p;
        if (sscanf(q, "epoch %d cost %*f train %*f%% val %lf%% test %lf%%", &e, &v, &t) != 3)
            continue;
        if (v > best) {
            best = v;
            best_epoch = e;
            test_at_best = t;
        }
    }
    assert_true(best_epoch > 0);
    char want[128];
    snprintf(want, sizeof want, "epoch %d,", best_epoch);
    assert_non_null(strstr(f->c.out, want)); /* "saved ...: epoch k, the best on validation" */
    assert_int_equal(tu_cli_run(&f->c, "info %s", f->model), 0);
    snprintf(want, sizeof want, "parameters of epoch %d,", best_epoch);
    assert_non_null(strstr(f->c.out, want));
    assert_int_equal(tu_cli_run(&f->c, "eval %s %s", f->model, f->c.dir), 0);
    snprintf(want, sizeof want, "accuracy %.2f%%", test_at_best);
    if (!strstr(f->c.out, want)) {
        print_error("eval printed:\n%s\nwanted '%s' (epoch %d)\n", f->c.out, want, best_epoch);
        fail();
    }
}

static void test_presets(void **state)
{
    fixture *f = *state;
    char listed[CAP];
    assert_int_equal(tu_cli_run(&f->c, "presets"), 0);
    strcpy(listed, f->c.out);
    const char *names[] = {"3b1b", "nielsen", "nielsen2", "simard", "best", "fashion"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char with_space[32];
        snprintf(with_space, sizeof with_space, "  %s ", names[k]);
        assert_non_null(strstr(listed, with_space));
        /* every listed preset is accepted, and flags after it win */
        assert_int_equal(tu_cli_run(&f->c, "train %s --preset %s --hidden 8 --epochs 1 --out %s",
                                    f->c.dir, names[k], f->model),
                         0);
        assert_non_null(strstr(f->c.out, "-8-"));
    }
    char help_presets[CAP];
    assert_int_equal(tu_cli_run(&f->c, "presets"), 0);
    strcpy(help_presets, f->c.out);
    assert_int_equal(tu_cli_run(&f->c, "help presets"), 0);
    assert_string_equal(f->c.out, help_presets);
    /* a preset's own values, and the command line recorded for them */
    assert_int_equal(
        tu_cli_run(&f->c, "train %s --preset nielsen --epochs 1 --out %s", f->c.dir, f->model), 0);
    assert_non_null(strstr(f->c.out, "144-30-6"));
    assert_int_equal(tu_cli_run(&f->c, "info %s", f->model), 0);
    assert_non_null(strstr(f->c.out, "--lr 3 --schedule constant"));
    expect_one_line(f, tu_cli_run(&f->c, "train %s --preset nope", f->c.dir), 2,
                    "unknown preset 'nope'");
    expect_one_line(f, tu_cli_run(&f->c, "train %s --nesterov", f->c.dir), 2,
                    "--nesterov needs --momentum");
    expect_one_line(f, tu_cli_run(&f->c, "train %s --dropout 1", f->c.dir), 2, "--dropout");
    expect_one_line(f, tu_cli_run(&f->c, "train %s --elastic 10,0", f->c.dir), 2, "--elastic");
    expect_one_line(f, tu_cli_run(&f->c, "train %s --schedule wavy", f->c.dir), 2, "--schedule");
    expect_one_line(f, tu_cli_run(&f->c, "train %s --val 6000", f->c.dir), 2, "--val");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sigint_then_resume_is_bit_identical),
        T(test_resume_with_every_option),
        T(test_resume_adam_and_adamw),
        T(test_patience_stops_at_the_right_epoch),
        T(test_resume_from_every_epoch_checkpoint),
        T(test_val_keeps_the_best_epoch),
        T(test_presets),
        T(test_second_sigint_exits_at_once),
        T(test_divergence_keeps_the_last_good_model),
        T(test_resume_refuses_contradictions),
        T(test_output_checked_before_training),
        T(test_full_disk_keeps_previous_model),
        T(test_memory_needed_is_refused_up_front),
        T(test_valgrind_finds_nothing),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
