/*
 * output: the checks of a plan (targets that are devices, directories, inputs or other
 * targets by any spelling), the locks, atomic writes that keep the old file on failure, and
 * the removal of temporary and lock files when a signal ends the program.
 */
#define _XOPEN_SOURCE 700
#include "output.h"
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int setup(void **state)
{
    *state = tu_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    tu_rm_rf(*state);
    free(*state);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    tu_write_file(path, text, strlen(text));
}

/* The file's contents equal text. */
static bool holds(const char *path, const char *text)
{
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    bool same = b && n == strlen(text) && memcmp(b, text, n) == 0;
    free(b);
    return same;
}

/* Names in dir ending in ".lock" or holding ".tmp." */
static size_t leftovers(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strstr(e->d_name, ".tmp.") || (len > 5 && !strcmp(e->d_name + len - 5, ".lock")))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* One target in a plan of its own: the status, with the message in err. */
static mlp_status try_target(const char *path, mlp_error *err)
{
    mlp_output_plan p = {0};
    mlp_status st = mlp_output_target(&p, "--out", path, 0, err);
    mlp_output_plan_free(&p);
    return st;
}

static void test_targets_that_are_not_regular_files(void **state)
{
    const char *dir = *state;
    char path[4096], fifo[4096];
    mlp_error err;
    assert_int_equal(try_target("/dev/null", &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "not a regular file"));
    struct stat sb;
    assert_int_equal(stat("/dev/null", &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    tu_path(fifo, dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(try_target(fifo, &err), MLP_EARG);
    assert_int_equal(try_target(dir, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "is a directory"));
    tu_path(path, dir, "sub/");
    assert_int_equal(try_target(path, &err), MLP_EARG);
    tu_path(path, dir, "missing/m.bin");
    assert_int_equal(try_target(path, &err), MLP_EIO);
    assert_non_null(strstr(err.msg, "no such directory"));
    /* a symlink to nothing: refused rather than creating a file somewhere unexpected */
    tu_path(path, dir, "dangling");
    assert_int_equal(symlink("nowhere/at/all", path), 0);
    assert_int_equal(try_target(path, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_int_equal(try_target("", &err), MLP_EARG);
    assert_int_equal(leftovers(dir), 0);
}

static void test_target_that_is_an_input_by_any_name(void **state)
{
    const char *dir = *state;
    char in[4096], spelled[4096], sym[4096], hard[4096], other[4096];
    mlp_error err;
    tu_path(in, dir, "images");
    write_text(in, "pixels");
    snprintf(spelled, sizeof spelled, "%s/./../%s/images", dir, strrchr(dir, '/') + 1);
    tu_path(sym, dir, "link");
    assert_int_equal(symlink(in, sym), 0);
    tu_path(hard, dir, "hard");
    assert_int_equal(link(in, hard), 0);
    tu_path(other, dir, "other");
    const char *names[] = {in, spelled, sym, hard};
    for (size_t k = 0; k < 4; k++) {
        /* input first, then target; and target first, then input */
        mlp_output_plan p = {0};
        assert_int_equal(mlp_output_input(&p, "the training images", in, 0, &err), MLP_OK);
        assert_int_equal(mlp_output_target(&p, "--out", names[k], 0, &err), MLP_EARG);
        assert_non_null(strstr(err.msg, "same file"));
        mlp_output_plan_free(&p);
        assert_int_equal(mlp_output_target(&p, "--log", names[k], 0, &err), MLP_OK);
        assert_int_equal(mlp_output_input(&p, "the training images", in, 0, &err), MLP_EARG);
        mlp_output_plan_free(&p);
    }
    /* a different file is fine, and the one input that may be replaced is */
    mlp_output_plan p = {0};
    assert_int_equal(mlp_output_input(&p, "--resume", in, MLP_OUTPUT_REPLACEABLE, &err), MLP_OK);
    assert_int_equal(mlp_output_target(&p, "--log", other, 0, &err), MLP_OK);
    assert_int_equal(mlp_output_target(&p, "--plot", sym, 0, &err), MLP_EARG);
    assert_int_equal(mlp_output_target(&p, "--out", sym, MLP_OUTPUT_REPLACES, &err), MLP_OK);
    mlp_output_plan_free(&p);
    assert_true(holds(in, "pixels"));
}

static void test_two_targets_one_file(void **state)
{
    const char *dir = *state;
    char a[4096], b[4096];
    mlp_error err;
    mlp_output_plan p = {0};
    /* neither exists yet: the same real directory and name */
    tu_path(a, dir, "run.tsv");
    snprintf(b, sizeof b, "%s/.//run.tsv", dir);
    assert_int_equal(mlp_output_target(&p, "--log", a, 0, &err), MLP_OK);
    assert_int_equal(mlp_output_target(&p, "--plot", b, 0, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "two outputs"));
    mlp_output_plan_free(&p);
    /* both exist, one a hard link of the other */
    write_text(a, "log");
    tu_path(b, dir, "alias.tsv");
    assert_int_equal(link(a, b), 0);
    assert_int_equal(mlp_output_target(&p, "--log", a, 0, &err), MLP_OK);
    assert_int_equal(mlp_output_target(&p, "--plot", b, 0, &err), MLP_EARG);
    mlp_output_plan_free(&p);
}

static void test_lock_refuses_a_second_writer(void **state)
{
    const char *dir = *state;
    char path[4096], lock[4200];
    mlp_error err;
    tu_path(path, dir, "m.bin");
    snprintf(lock, sizeof lock, "%s.lock", path);
    mlp_output_plan p = {0}, q = {0};
    assert_int_equal(mlp_output_target(&p, "--out", path, MLP_OUTPUT_HOLD, &err), MLP_OK);
    assert_true(access(lock, F_OK) == 0);
    /* flock belongs to the open file, so a second plan in this process is a second writer */
    assert_int_equal(mlp_output_target(&q, "--out", path, MLP_OUTPUT_HOLD, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "another mlp is writing it"));
    mlp_output o;
    assert_int_equal(mlp_output_target(&q, "--out", path, 0, &err), MLP_OK);
    assert_int_equal(mlp_output_open(&o, &q, path, &err), MLP_EARG);
    mlp_output_plan_free(&q);
    mlp_output_plan_free(&p);
    assert_int_equal(leftovers(dir), 0);
    /* released: the next one takes it */
    assert_int_equal(mlp_output_target(&q, "--out", path, MLP_OUTPUT_HOLD, &err), MLP_OK);
    mlp_output_plan_free(&q);
    /* a lock file left by a killed run is empty and is taken over; a file that happens to
     * have that name and holds something is not touched */
    write_text(lock, "");
    assert_int_equal(mlp_output_target(&q, "--out", path, MLP_OUTPUT_HOLD, &err), MLP_OK);
    mlp_output_plan_free(&q);
    write_text(lock, "my notes");
    assert_int_equal(mlp_output_target(&q, "--out", path, MLP_OUTPUT_HOLD, &err), MLP_EARG);
    mlp_output_plan_free(&q);
    assert_true(holds(lock, "my notes"));
}

static mlp_status write_hello(FILE *f, void *ctx, mlp_error *err)
{
    (void)err;
    fputs(ctx, f);
    return MLP_OK;
}

static mlp_status refuse(FILE *f, void *ctx, mlp_error *err)
{
    fputs("half", f);
    (void)ctx;
    return mlp_fail(err, MLP_ENUMERIC, "not saved");
}

static void test_writes_are_atomic(void **state)
{
    const char *dir = *state;
    char path[4096];
    mlp_error err;
    tu_path(path, dir, "out.txt");
    write_text(path, "old");
    assert_int_equal(mlp_output_save("file", path, write_hello, "new", &err), MLP_OK);
    assert_true(holds(path, "new"));
    assert_int_equal(mlp_output_save("file", path, refuse, NULL, &err), MLP_ENUMERIC);
    assert_true(holds(path, "new"));
    /* aborted: the old file stays */
    mlp_output_plan p = {0};
    mlp_output o;
    assert_int_equal(mlp_output_target(&p, "file", path, 0, &err), MLP_OK);
    assert_int_equal(mlp_output_open(&o, &p, path, &err), MLP_OK);
    fputs("partial", o.f);
    mlp_output_abort(&o);
    assert_true(holds(path, "new"));
    /* a name the plan does not hold is refused */
    assert_int_equal(mlp_output_open(&o, &p, "elsewhere", &err), MLP_EARG);
    mlp_output_plan_free(&p);
    assert_int_equal(leftovers(dir), 0);
}

/* A write that fails for lack of room (a file-size limit stands for a full disk) leaves the
 * old file and no temporary. In a child, so the limit ends with it. */
static void test_failed_write_keeps_the_old_file(void **state)
{
    const char *dir = *state;
    char path[4096], big[8192];
    tu_path(path, dir, "model.bin");
    write_text(path, "old");
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {1024, 1024};
        mlp_error err;
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        mlp_status st = mlp_output_save("--out", path, write_hello, big, &err);
        _exit(st == MLP_EIO && strstr(err.msg, "write error") ? 0 : 1);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_true(holds(path, "old"));
    assert_int_equal(leftovers(dir), 0);
}

static void test_publish_then_append(void **state)
{
    const char *dir = *state;
    char path[4096];
    mlp_error err;
    tu_path(path, dir, "run.tsv");
    write_text(path, "an older log");
    mlp_output_plan p = {0};
    mlp_output o;
    assert_int_equal(mlp_output_target(&p, "--log", path, MLP_OUTPUT_HOLD, &err), MLP_OK);
    assert_int_equal(mlp_output_open(&o, &p, path, &err), MLP_OK);
    fputs("header\n", o.f);
    assert_true(holds(path, "an older log")); /* not before publish */
    assert_int_equal(mlp_output_publish(&o, &err), MLP_OK);
    assert_true(holds(path, "header\n"));
    fputs("row\n", o.f);
    assert_int_equal(mlp_output_flush(&o, false, &err), MLP_OK);
    assert_true(holds(path, "header\nrow\n"));
    assert_int_equal(mlp_output_close(&o, &err), MLP_OK);
    mlp_output_plan_free(&p);
    assert_int_equal(leftovers(dir), 0);
}

/* A child opens a target (a temporary and a lock file exist), then gets sig: it must die of
 * it having removed both. With stop given, the first signal only sets it. */
static void signal_child(const char *dir, int sig, bool stop_mode)
{
    char path[4096];
    tu_path(path, dir, "sig.bin");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static volatile sig_atomic_t stop;
        mlp_output_plan p = {0};
        mlp_output o;
        mlp_error err;
        struct rlimit no_core = {0, 0}; /* SIGQUIT's default action dumps core */
        setrlimit(RLIMIT_CORE, &no_core);
        mlp_output_signals(stop_mode ? &stop : NULL);
        if (mlp_output_target(&p, "--out", path, MLP_OUTPUT_HOLD, &err) != MLP_OK ||
            mlp_output_open(&o, &p, path, &err) != MLP_OK)
            _exit(3);
        fputs("partial", o.f);
        fflush(o.f);
        if (leftovers(dir) != 2)
            _exit(4);
        raise(sig);
        if (stop_mode && stop == sig)
            raise(sig); /* the second one ends it */
        _exit(5);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (!WIFSIGNALED(ws) || WTERMSIG(ws) != sig) {
        print_error("signal %d: child %s %d\n", sig, WIFSIGNALED(ws) ? "died of" : "exited",
                    WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
        fail();
    }
    assert_int_equal(leftovers(dir), 0);
    assert_true(access(path, F_OK) != 0); /* nothing half-written took its place */
}

static void test_signals_leave_nothing_behind(void **state)
{
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        signal_child(*state, sigs[k], false);
    signal_child(*state, SIGINT, true);
    signal_child(*state, SIGHUP, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_targets_that_are_not_regular_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_that_is_an_input_by_any_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_targets_one_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_refuses_a_second_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes_are_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_the_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_then_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signals_leave_nothing_behind, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
