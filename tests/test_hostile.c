/*
 * The promises of include/output.h, attacked from outside as a hostile user would: every
 * output flag aimed at every input by every spelling, devices, FIFOs and directories as
 * targets, directories that are missing, files that stop growing mid-run, a standard output
 * that cannot be written, signals at awkward moments, two runs on one file, and the recorded
 * command line with names that need quoting or are very long.
 *
 * Every command runs with the fixture's directory as its working directory, so that paths
 * can be spelled relative to it ("data/./x", "../NAME/data/x"), and under `timeout`, so a
 * program that blocks on a FIFO fails the test instead of hanging it.
 */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMD_CAP 32768

static char g_bin[4096]; /* absolute path of the program */

typedef struct {
    char *dir;        /* the working directory of every command; data/ inside */
    char *io;         /* captured stdout and stderr live here, out of the way */
    char base[4096];  /* basename of dir, for "../BASE/..." spellings */
    char so[4096], se[4096];
    char *out, *err;  /* the last command's stdout and stderr */
    char last[CMD_CAP]; /* the last command, for messages */
} fx;

/* ---- small helpers ---------------------------------------------------------------------- */

/* Shell-quotes s ('...' with '\'' for quotes) into one of a few rotating buffers. */
static const char *q(const char *s)
{
    static char bufs[8][9000];
    static int k;
    char *b = bufs[k++ & 7];
    size_t n = 0;
    b[n++] = '\'';
    for (; *s && n < sizeof bufs[0] - 8; s++) {
        if (*s == '\'') {
            memcpy(b + n, "'\\''", 4);
            n += 4;
        } else {
            b[n++] = *s;
        }
    }
    b[n++] = '\'';
    b[n] = '\0';
    return b;
}

static void pathf(char *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, 4096, fmt, ap);
    va_end(ap);
}

static void read_into(const char *path, char *buf, size_t cap)
{
    size_t n = 0;
    unsigned char *d = tu_read_file(path, &n);
    if (n >= cap)
        n = cap - 1;
    if (d)
        memcpy(buf, d, n);
    buf[d ? n : 0] = '\0';
    free(d);
}

static void die(const fx *f, const char *what)
{
    print_error("FAILED: %s\n  command: %s\n  stdout: %.2000s\n  stderr: %.2000s\n", what,
                f->last, f->out, f->err);
    fail();
}

/* Runs a shell snippet in f->dir with its stdout and stderr captured (a snippet may redirect
 * them itself). Returns the exit status, 128 + signal if the shell was killed. */
static int shrun(fx *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int shrun(fx *f, const char *fmt, ...)
{
    char snip[CMD_CAP - 9000];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(snip, sizeof snip, fmt, ap);
    va_end(ap);
    assert_true(len > 0 && (size_t)len < sizeof snip);
    snprintf(f->last, sizeof f->last, "%s", snip);
    char *cmd = malloc(CMD_CAP + 10000);
    snprintf(cmd, CMD_CAP + 10000, "cd %s && { %s\n} >%s 2>%s </dev/null", q(f->dir), snip,
             q(f->so), q(f->se));
    int ws = system(cmd);
    free(cmd);
    read_into(f->so, f->out, TU_CLI_CAP);
    read_into(f->se, f->err, TU_CLI_CAP);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
}

/* Runs the program with the given arguments (already shell syntax) under a timeout. */
static int mlp(fx *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int mlp(fx *f, const char *fmt, ...)
{
    char args[CMD_CAP - 10000];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    assert_true(len > 0 && (size_t)len < sizeof args);
    return shrun(f, "timeout -s KILL 60 %s %s", q(g_bin), args);
}

/* Starts the program in the background in f->dir; its pid (the program itself). `redir` is
 * the shell redirection of its output, e.g. ">OUT 2>ERR". */
static int spawn(fx *f, const char *args, const char *redir)
{
    snprintf(f->last, sizeof f->last, "(background) mlp %s %s", args, redir);
    char *cmd = malloc(CMD_CAP);
    snprintf(cmd, CMD_CAP, "exec %s %s %s </dev/null", q(g_bin), args, redir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(f->dir) != 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    free(cmd);
    return (int)pid;
}

static char *slurp(const char *path)
{
    size_t n = 0;
    char *d = (char *)tu_read_file(path, &n);
    d = realloc(d, n + 1);
    d[n] = '\0';
    return d;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void copy_file(const char *from, const char *to)
{
    size_t n = 0;
    unsigned char *d = tu_read_file(from, &n);
    assert_non_null(d);
    tu_write_file(to, d, n);
    free(d);
}

static void mkdir_p(const char *path)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", q(path));
    assert_int_equal(system(cmd), 0);
}

/* ---- snapshots of a directory: names, types and contents -------------------------------- */

enum { SNAP_MAX = 128 };
typedef struct {
    size_t n;
    struct {
        char name[256];
        mode_t type;
        off_t size;
        uint64_t hash;
    } e[SNAP_MAX];
} snap;

static uint64_t fnv(const unsigned char *d, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ull;
    return h;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void snap_take(const char *dir, snap *s)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        assert_true(s->n < SNAP_MAX);
        snprintf(s->e[s->n].name, sizeof s->e[0].name, "%s", e->d_name);
        char p[4096];
        tu_path(p, dir, e->d_name);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        s->e[s->n].type = st.st_mode & S_IFMT;
        s->e[s->n].size = st.st_size;
        if (S_ISREG(st.st_mode)) {
            size_t n = 0;
            unsigned char *data = tu_read_file(p, &n);
            s->e[s->n].hash = data ? fnv(data, n) : 0;
            free(data);
        }
        s->n++;
    }
    closedir(d);
    qsort(s->e, s->n, sizeof s->e[0], cmp_names);
}

static void snap_check(const fx *f, const snap *before, const char *dir, const char *what)
{
    snap *now = malloc(sizeof *now);
    snap_take(dir, now);
    char msg[8192];
    bool ok = now->n == before->n;
    for (size_t i = 0; ok && i < now->n; i++)
        ok = !strcmp(now->e[i].name, before->e[i].name) && now->e[i].type == before->e[i].type &&
             now->e[i].size == before->e[i].size && now->e[i].hash == before->e[i].hash;
    if (!ok) {
        size_t m = (size_t)snprintf(msg, sizeof msg, "%s: '%s' changed; before:", what, dir);
        for (size_t i = 0; i < before->n && m < sizeof msg - 300; i++)
            m += (size_t)snprintf(msg + m, sizeof msg - m, " %s(%lld)", before->e[i].name,
                                  (long long)before->e[i].size);
        m += (size_t)snprintf(msg + m, sizeof msg - m, "; now:");
        for (size_t i = 0; i < now->n && m < sizeof msg - 300; i++)
            m += (size_t)snprintf(msg + m, sizeof msg - m, " %s(%lld)", now->e[i].name,
                                  (long long)now->e[i].size);
        free(now);
        die(f, msg);
    }
    free(now);
}

/* No PATH.tmp.PID and no PATH.lock in dir. */
static void no_debris(const fx *f, const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char found[4096] = "";
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strstr(e->d_name, ".tmp.") || (n >= 5 && !strcmp(e->d_name + n - 5, ".lock")))
            snprintf(found + strlen(found), sizeof found - strlen(found), " %s", e->d_name);
    }
    closedir(d);
    if (found[0]) {
        char msg[8192];
        snprintf(msg, sizeof msg, "left behind in '%s':%s", dir, found);
        die(f, msg);
    }
}

/* exit `want`, exactly one line on stderr containing text, no training on stdout */
static void expect_refused(const fx *f, int st, int want, const char *text)
{
    char msg[512];
    if (st != want) {
        snprintf(msg, sizeof msg, "exit %d, wanted %d", st, want);
        die(f, msg);
    }
    if (tu_count_lines(f->err) != 1 || !strstr(f->err, text)) {
        snprintf(msg, sizeof msg, "wanted exactly one line on stderr containing '%s'", text);
        die(f, msg);
    }
    if (strstr(f->out, "epoch")) {
        snprintf(msg, sizeof msg, "refused ('%s') but trained (\"epoch\" on stdout)", text);
        die(f, msg);
    }
}

static void expect_ok(const fx *f, int st)
{
    if (st != 0)
        die(f, "expected exit 0");
}

/* The "command" string of `mlp info --json`'s output (JSON-unescaped) into out. */
static void json_command(const fx *f, char *out, size_t cap)
{
    const char *p = strstr(f->out, "\"command\":\"");
    if (!p)
        die(f, "no \"command\" in info --json");
    p += strlen("\"command\":\"");
    size_t n = 0;
    while (*p && *p != '"' && n + 4 < cap) {
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            unsigned v = 0;
            sscanf(p, "%4x", &v);
            p += 4;
            if (v < 0x80) {
                out[n++] = (char)v;
            } else if (v < 0x800) {
                out[n++] = (char)(0xc0 | (v >> 6));
                out[n++] = (char)(0x80 | (v & 0x3f));
            } else {
                out[n++] = (char)(0xe0 | (v >> 12));
                out[n++] = (char)(0x80 | ((v >> 6) & 0x3f));
                out[n++] = (char)(0x80 | (v & 0x3f));
            }
            break;
        }
        default: out[n++] = c; break;
        }
    }
    if (*p != '"')
        die(f, "unterminated \"command\" in info --json");
    out[n] = '\0';
}

/* The text after "resume with: " on stderr, to the end of its line. */
static void resume_command(const fx *f, char *out, size_t cap)
{
    const char *p = strstr(f->err, "resume with: ");
    if (!p)
        die(f, "no 'resume with: ' on stderr");
    p += strlen("resume with: ");
    size_t n = strcspn(p, "\n");
    if (n >= cap)
        die(f, "resume command too long");
    memcpy(out, p, n);
    out[n] = '\0';
    if (strncmp(out, "mlp ", 4) != 0)
        die(f, "the resume command does not start with 'mlp '");
}

/* Runs a printed command with its leading "mlp " replaced by the program's path. */
static int run_printed(fx *f, const char *cmd)
{
    char buf[CMD_CAP - 10000];
    snprintf(buf, sizeof buf, "%s", cmd);
    return shrun(f, "%s %s", q(g_bin), buf + 4);
}

/* Runs a record (commands joined by ';', each starting with "mlp") with mlp defined as a
 * shell function that calls the program. */
static int run_record(fx *f, const char *record)
{
    return shrun(f, "mlp() { %s \"$@\"; }\n%s", q(g_bin), record);
}

static void must_load(fx *f, const char *model)
{
    char saved[CMD_CAP];
    snprintf(saved, sizeof saved, "%s", f->last);
    if (mlp(f, "info %s", q(model)) != 0) {
        char msg[CMD_CAP + 64];
        snprintf(msg, sizeof msg, "model '%s' does not load (after: %s)", model, saved);
        die(f, msg);
    }
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->io = tu_tmpdir();
    const char *b = strrchr(f->dir, '/');
    snprintf(f->base, sizeof f->base, "%s", b ? b + 1 : f->dir);
    tu_path(f->so, f->io, "stdout");
    tu_path(f->se, f->io, "stderr");
    f->out = calloc(1, TU_CLI_CAP);
    f->err = calloc(1, TU_CLI_CAP);
    char data[4096];
    tu_path(data, f->dir, "data");
    mkdir_p(data);
    tu_write_synthetic(data, 1200, 100, 12, 12, 6, 5);
    alarm(600); /* a hung program fails the test program rather than hanging it */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    alarm(0);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s 2>/dev/null; rm -rf %s", q(f->dir), q(f->dir));
    if (system(cmd) != 0)
        print_error("could not remove %s\n", f->dir);
    tu_rm_rf(f->io);
    free(f->dir);
    free(f->io);
    free(f->out);
    free(f->err);
    free(f);
    return 0;
}

static const char *data_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* A bigger data set in NAME (6000 images): epochs long enough for signals to land in. */
static void write_big(fx *f, const char *name)
{
    char d[4096];
    tu_path(d, f->dir, name);
    mkdir_p(d);
    tu_write_synthetic(d, 6000, 300, 12, 12, 6, 5);
}

/* ==== 1. outputs never overwrite inputs ================================================== */

/* Every output flag of train aimed at every data file, by five spellings. */
static void test_train_outputs_never_overwrite_data(void **state)
{
    fx *f = *state;
    char data[4096], p[4096];
    tu_path(data, f->dir, "data");
    for (int k = 0; k < 4; k++) {
        char from[4096], to[4096];
        pathf(from, "data/%s", data_names[k]);
        pathf(to, "%s/sym-%d", f->dir, k);
        assert_int_equal(symlink(from, to), 0);
        pathf(from, "%s/data/%s", f->dir, data_names[k]);
        pathf(to, "%s/hard-%d", f->dir, k);
        assert_int_equal(link(from, to), 0);
    }
    snap before, top;
    snap_take(data, &before);
    snap_take(f->dir, &top);
    const char *flags[3] = {"--out", "--log", "--plot"};
    int cases = 0;
    for (int fl = 0; fl < 3; fl++)
        for (int k = 0; k < 4; k++)
            for (int sp = 0; sp < 5; sp++) {
                switch (sp) {
                case 0: pathf(p, "data/%s", data_names[k]); break;
                case 1: pathf(p, "data/./%s", data_names[k]); break;
                case 2: pathf(p, "../%s/data/%s", f->base, data_names[k]); break;
                case 3: pathf(p, "sym-%d", k); break;
                default: pathf(p, "hard-%d", k); break;
                }
                int st = mlp(f, "train data --hidden 8 --epochs 1 %s %s%s", flags[fl], q(p),
                             fl ? " --out m.bin" : "");
                expect_refused(f, st, 1, "same file");
                snap_check(f, &before, data, "data directory");
                snap_check(f, &top, f->dir, "working directory");
                no_debris(f, data);
                cases++;
            }
    assert_int_equal(cases, 60);
}

/* Data named by --train-images etc., gzipped, outside any DIR; and one flag overriding DIR. */
static void test_explicit_and_gz_inputs_are_protected(void **state)
{
    fx *f = *state;
    char gz[4096], src[4096], dst[4096];
    tu_path(gz, f->dir, "gz");
    mkdir_p(gz);
    for (int k = 0; k < 4; k++) {
        pathf(src, "%s/data/%s", f->dir, data_names[k]);
        pathf(dst, "%s/%s", gz, data_names[k]);
        copy_file(src, dst);
        tu_gzip_in_place(dst);
    }
    pathf(dst, "%s/lab.gz", f->dir);
    assert_int_equal(symlink("gz/train-labels-idx1-ubyte.gz", dst), 0);
    const char *flagset =
        "--train-images gz/train-images-idx3-ubyte.gz --train-labels lab.gz "
        "--test-images gz/t10k-images-idx3-ubyte.gz --test-labels gz/t10k-labels-idx1-ubyte.gz";
    /* the explicit set trains */
    expect_ok(f, mlp(f, "train %s --hidden 8 --epochs 1 --out ok.bin", flagset));
    snap before, top;
    snap_take(gz, &before);
    snap_take(f->dir, &top);
    const char *targets[] = {"gz/train-images-idx3-ubyte.gz", "./gz/../gz/t10k-images-idx3-ubyte.gz",
                             "lab.gz", "gz/train-labels-idx1-ubyte.gz",
                             "gz/./t10k-labels-idx1-ubyte.gz"};
    const char *flags[3] = {"--out", "--log", "--plot"};
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++)
        for (int fl = 0; fl < 3; fl++) {
            int st = mlp(f, "train %s --hidden 8 --epochs 1 %s %s%s", flagset, flags[fl],
                         targets[t], fl ? " --out m.bin" : "");
            expect_refused(f, st, 1, "same file");
            snap_check(f, &before, gz, "gz directory");
            snap_check(f, &top, f->dir, "working directory");
            no_debris(f, gz);
        }
    /* DIR given, one file overridden: the override is the input, DIR's own is not read */
    int st = mlp(f, "train data --test-images gz/t10k-images-idx3-ubyte.gz --hidden 8 --epochs 1 "
                    "--log gz/t10k-images-idx3-ubyte.gz --out m.bin");
    expect_refused(f, st, 1, "same file");
    snap_check(f, &before, gz, "gz directory");
}

/* --resume: its checkpoint may be replaced by --out (the default), never by --log/--plot. */
static void test_resume_checkpoint_protected_and_replaceable(void **state)
{
    fx *f = *state;
    char m[4096], p[4096];
    tu_path(m, f->dir, "m.bin");
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 1 --seed 3 --out m.bin"));
    tu_path(p, f->dir, "msym");
    assert_int_equal(symlink("m.bin", p), 0);
    tu_path(p, f->dir, "mhard");
    assert_int_equal(link(m, p), 0);
    snap top, data;
    snap_take(f->dir, &top);
    tu_path(p, f->dir, "data");
    snap_take(p, &data);
    const char *spell[] = {"m.bin", "./m.bin", "msym", "mhard", "../%s/m.bin"};
    for (int fl = 0; fl < 2; fl++)
        for (size_t s = 0; s < 5; s++) {
            char t[4096];
            pathf(t, spell[s], f->base);
            int st = mlp(f, "train data --resume m.bin --epochs 2 %s %s", fl ? "--plot" : "--log",
                         q(t));
            expect_refused(f, st, 1, "same file");
            snap_check(f, &top, f->dir, "working directory");
        }
    /* the resumed run's --out may not be a data file either */
    expect_refused(f, mlp(f, "train data --resume m.bin --epochs 2 --out data/./t10k-labels-idx1-ubyte"),
                   1, "same file");
    snap_check(f, &data, p, "data directory");
    /* allowed: --out is the checkpoint, by default and by other spellings */
    expect_ok(f, mlp(f, "train data --resume m.bin --epochs 2"));
    if (!strstr(f->out, "epoch   2"))
        die(f, "resume did not train epoch 2");
    expect_ok(f, mlp(f, "train data --resume m.bin --out ./m.bin --epochs 3"));
    expect_ok(f, mlp(f, "train data --resume msym --out msym --epochs 4"));
    struct stat st;
    tu_path(p, f->dir, "msym");
    assert_int_equal(lstat(p, &st), 0);
    if (!S_ISLNK(st.st_mode))
        die(f, "--out through a symlink replaced the link instead of the file it points to");
    expect_ok(f, mlp(f, "info m.bin"));
    if (!strstr(f->out, "4 of 4 epochs"))
        die(f, "the checkpoint resumed through its symlink is not at epoch 4");
    expect_ok(f, mlp(f, "train data --resume m.bin --out mhard --epochs 5"));
    must_load(f, "mhard");
    no_debris(f, f->dir);
}

/* Outputs against each other, by several spellings, existing or not. */
static void test_outputs_against_each_other(void **state)
{
    fx *f = *state;
    char p[4096];
    tu_path(p, f->dir, "sub");
    mkdir_p(p);
    tu_path(p, f->dir, "subl");
    assert_int_equal(symlink("sub", p), 0);
    tu_path(p, f->dir, "z.out");
    tu_write_file(p, "precious\n", 9);
    char q2[4096];
    tu_path(q2, f->dir, "zsym");
    assert_int_equal(symlink("z.out", q2), 0);
    tu_path(q2, f->dir, "zhard");
    assert_int_equal(link(p, q2), 0);
    snap top, sub;
    snap_take(f->dir, &top);
    tu_path(p, f->dir, "sub");
    snap_take(p, &sub);
    const char *pairs[][2] = {
        {"--log x.tsv", "--plot x.tsv"},
        {"--log x.tsv", "--plot ./x.tsv"},
        {"--out x.bin", "--log sub/../x.bin"},
        {"--out y.bin", "--plot ../%s/y.bin"},
        {"--log sub/z.tsv", "--plot subl/z.tsv"},
        {"--log sub/z.tsv", "--out subl/./z.tsv"},
        {"--out z.out", "--log zsym"},
        {"--out z.out", "--plot zhard"},
        {"--log zsym", "--plot zhard"},
        {"--plot z.out", "--out ./zhard"},
    };
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        char second[4096];
        pathf(second, pairs[k][1], f->base);
        int st = mlp(f, "train data --hidden 8 --epochs 1 %s %s%s", pairs[k][0], second,
                     strstr(pairs[k][0], "--out") || strstr(second, "--out") ? "" : " --out m.bin");
        expect_refused(f, st, 1, "same file");
        snap_check(f, &top, f->dir, "working directory");
        snap_check(f, &sub, p, "sub directory");
        no_debris(f, f->dir);
    }
}

/* An output named like another output's lock file (PATH.lock): either refused, or written
 * and still there at the end, never deleted with the lock. */
static void test_output_named_like_a_lock_file(void **state)
{
    fx *f = *state;
    const struct {
        const char *args, *file;
        bool model;
    } cases[] = {
        {"--log k.tsv --out k.tsv.lock", "k.tsv.lock", true},
        {"--out k.bin --log k.bin.lock", "k.bin.lock", false},
        {"--out k.bin --plot k.bin.lock", "k.bin.lock", false},
        {"--out k.bin --log k.tsv --plot k.tsv.lock", "k.tsv.lock", false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char cmd[] = "rm -f k.bin k.tsv k.tsv.lock k.bin.lock";
        expect_ok(f, shrun(f, "%s", cmd));
        int st = mlp(f, "train data --hidden 8 --epochs 2 %s", cases[k].args);
        char p[4096];
        tu_path(p, f->dir, cases[k].file);
        if (st == 0) {
            if (!exists(p)) {
                char msg[512];
                snprintf(msg, sizeof msg, "exit 0, but the output %s is gone (removed as a lock)",
                         cases[k].file);
                die(f, msg);
            }
            if (cases[k].model)
                must_load(f, cases[k].file);
        } else {
            expect_refused(f, st, 1, cases[k].file);
        }
    }
}

/* mlp plot LOG SVG with SVG the log by another name. */
static void test_plot_svg_never_overwrites_log(void **state)
{
    fx *f = *state;
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 3 --out m.bin --log l.tsv"));
    char l[4096], p[4096];
    tu_path(l, f->dir, "l.tsv");
    tu_path(p, f->dir, "lsym");
    assert_int_equal(symlink("l.tsv", p), 0);
    tu_path(p, f->dir, "lhard");
    assert_int_equal(link(l, p), 0);
    tu_path(p, f->dir, "log.svg"); /* a log whose name ends in .svg: the default SVG is itself */
    copy_file(l, p);
    snap top;
    snap_take(f->dir, &top);
    const char *cases[] = {"l.tsv ./l.tsv", "l.tsv lsym", "lsym l.tsv", "l.tsv lhard",
                           "lhard ./lsym", "l.tsv ../%s/l.tsv", "log.svg", "log.svg ./log.svg"};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char a[4096];
        pathf(a, cases[k], f->base);
        expect_refused(f, mlp(f, "plot %s", a), 1, "same file");
        snap_check(f, &top, f->dir, "working directory");
        no_debris(f, f->dir);
    }
    /* and the plain case works */
    expect_ok(f, mlp(f, "plot l.tsv"));
    tu_path(p, f->dir, "l.svg");
    assert_true(exists(p));
}

/* mlp export MODEL --npy DIR with MODEL inside DIR under an output's name. */
static void test_export_never_overwrites_model(void **state)
{
    fx *f = *state;
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 1 --out m.bin"));
    char m[4096], ex[4096], p[4096];
    tu_path(m, f->dir, "m.bin");
    tu_path(ex, f->dir, "ex");
    mkdir_p(ex);
    const char *names[] = {"model.json", "W0.npy", "b0.npy", "W1.npy", "b1.npy"};
    const char *dirs[] = {"ex", "ex/.", "./ex/", "../%s/ex", "exl"};
    tu_path(p, f->dir, "exl");
    assert_int_equal(symlink("ex", p), 0);
    for (size_t k = 0; k < 5; k++) {
        tu_path(p, ex, names[k]);
        copy_file(m, p); /* DIR/NAME is a model: the input */
        snap before;
        snap_take(ex, &before);
        char d[4096];
        pathf(d, dirs[k], f->base);
        expect_refused(f, mlp(f, "export ex/%s --npy %s", names[k], d), 1, "same file");
        snap_check(f, &before, ex, "export directory");
        no_debris(f, ex);
        /* the model stays where it is for the next case (several inputs-in-DIR at once) */
    }
}

/* mlp weights MODEL --out DIR with MODEL one of the pictures. */
static void test_weights_never_overwrites_model(void **state)
{
    fx *f = *state;
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 1 --out m.bin"));
    char m[4096], wd[4096], p[4096];
    tu_path(m, f->dir, "m.bin");
    tu_path(wd, f->dir, "wd");
    mkdir_p(wd);
    const struct {
        const char *name, *dir, *flags;
    } cases[] = {
        {"weights.png", "wd", ""},
        {"neuron-000.png", "./wd/", ""},
        {"neuron-007.png", "wd/../wd", ""},
        {"neuron-003.png", "../%s/wd", ""},
        {"weights.ppm", "wd", "--format pnm"},
        {"neuron-005.pgm", "wd/.", "--format pnm --grey"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        tu_path(p, wd, cases[k].name);
        copy_file(m, p);
        snap before;
        snap_take(wd, &before);
        char d[4096];
        pathf(d, cases[k].dir, f->base);
        expect_refused(f, mlp(f, "weights wd/%s --out %s %s", cases[k].name, d, cases[k].flags), 1,
                       "same file");
        snap_check(f, &before, wd, "weights directory");
        no_debris(f, wd);
    }
}

/* ==== 2. devices, FIFOs, directories ===================================================== */

static void check_dev_null(const fx *f)
{
    struct stat st;
    if (stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode))
        die(f, "/dev/null is no longer a character device");
}

static void check_fifo(const fx *f, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISFIFO(st.st_mode))
        die(f, "the FIFO was replaced");
}

static void test_devices_fifos_directories_refused(void **state)
{
    fx *f = *state;
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 2 --out m.bin --log l.tsv"));
    char p[4096], fifo[4096], m2[4096];
    tu_path(fifo, f->dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    tu_path(p, f->dir, "adir");
    mkdir_p(p);
    tu_path(p, f->dir, "nullsym");
    assert_int_equal(symlink("/dev/null", p), 0);
    tu_path(m2, f->dir, "m2.bin");
    snap top;
    snap_take(f->dir, &top);
    const struct {
        const char *args, *text;
    } cases[] = {
        {"train data --hidden 8 --epochs 1 --out /dev/null", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out nullsym", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out m2.bin --plot /dev/null", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out m2.bin --log /dev/null", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out m2.bin --log /dev/zero", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out m2.bin --log fifo", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out m2.bin --plot ./fifo", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out fifo", "not a regular file"},
        {"train data --hidden 8 --epochs 1 --out adir", "directory"},
        {"train data --hidden 8 --epochs 1 --out adir/", "directory"},
        {"train data --hidden 8 --epochs 1 --out m2.bin --log adir", "directory"},
        {"train data --hidden 8 --epochs 1 --out m2.bin --plot adir/.", "directory"},
        {"plot l.tsv fifo", "not a regular file"},
        {"plot l.tsv /dev/null", "not a regular file"},
        {"plot l.tsv adir", "directory"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int st = mlp(f, "%s", cases[k].args);
        if (st == 137)
            die(f, "timed out: it blocked (opened a FIFO for writing?)");
        expect_refused(f, st, 1, cases[k].text);
        check_dev_null(f);
        check_fifo(f, fifo);
        snap_check(f, &top, f->dir, "working directory");
        no_debris(f, f->dir);
        if (exists(m2))
            die(f, "a model was written although the command was refused");
    }
    /* export where W0.npy is a FIFO; weights where the sheet is a FIFO, a neuron a directory */
    char ex[4096], ef[4096];
    tu_path(ex, f->dir, "ex");
    mkdir_p(ex);
    tu_path(ef, ex, "W0.npy");
    assert_int_equal(mkfifo(ef, 0644), 0);
    snap exs;
    snap_take(ex, &exs);
    int st = mlp(f, "export m.bin --npy ex");
    if (st == 137)
        die(f, "export timed out: it blocked on the FIFO W0.npy");
    expect_refused(f, st, 1, "not a regular file");
    snap_check(f, &exs, ex, "export directory");
    check_fifo(f, ef);
    no_debris(f, ex);

    char wd[4096], wf[4096];
    tu_path(wd, f->dir, "wd");
    mkdir_p(wd);
    tu_path(wf, wd, "weights.png");
    assert_int_equal(mkfifo(wf, 0644), 0);
    snap wds;
    snap_take(wd, &wds);
    st = mlp(f, "weights m.bin --out wd");
    if (st == 137)
        die(f, "weights timed out: it blocked on the FIFO weights.png");
    expect_refused(f, st, 1, "not a regular file");
    snap_check(f, &wds, wd, "weights directory");
    check_fifo(f, wf);
    no_debris(f, wd);
    assert_int_equal(unlink(wf), 0);
    tu_path(wf, wd, "neuron-003.png");
    mkdir_p(wf);
    snap_take(wd, &wds);
    expect_refused(f, mlp(f, "weights m.bin --out wd"), 1, "directory");
    snap_check(f, &wds, wd, "weights directory");
    no_debris(f, wd);
    check_dev_null(f);
}

/* ==== 3. late path failures ============================================================== */

static void test_missing_directories_refused_before_training(void **state)
{
    fx *f = *state;
    char p[4096];
    tu_path(p, f->dir, "afile");
    tu_write_file(p, "x", 1);
    snap top;
    snap_take(f->dir, &top);
    const struct {
        const char *args, *text;
    } cases[] = {
        {"--out m.bin --plot missing/p.svg", "missing/p.svg"},
        {"--out m.bin --log missing/l.tsv", "missing/l.tsv"},
        {"--out missing/m.bin", "missing/m.bin"},
        {"--out m.bin --log afile/l.tsv", "afile/l.tsv"},
        {"--out m.bin --plot missing/deeper/p.svg", "missing/deeper/p.svg"},
        {"--out m.bin --log l.tsv --plot missing/p.svg", "missing/p.svg"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int st = mlp(f, "train data --hidden 8 --epochs 2 %s", cases[k].args);
        expect_refused(f, st, 1, cases[k].text);
        snap_check(f, &top, f->dir, "working directory"); /* no model, no log */
        no_debris(f, f->dir);
    }
}

/* A log (or chart) that stops growing mid-run: the file-size limit fails only the growing
 * file; the checkpoint, smaller, still fits. */
static void growing_output_fails(fx *f, const char *flag, const char *name)
{
    /* measure the checkpoint of this run */
    expect_ok(f, mlp(f, "train data --hidden none --epochs 1 --out probe.bin"));
    char p[4096];
    struct stat st;
    tu_path(p, f->dir, "probe.bin");
    assert_int_equal(stat(p, &st), 0);
    long blocks = (long)(st.st_size + 1023) / 512 + 1; /* dash: 512-byte blocks */
    assert_true(blocks * 512 < 300 * 30);               /* the log of 300 epochs crosses it */
    assert_int_equal(unlink(p), 0);
    int s = shrun(f,
                  "sh -c 'ulimit -f %ld; trap \"\" XFSZ; exec timeout -s KILL 60 \"$0\" train "
                  "data --hidden none --epochs 300 %s %s --out lm.bin >/dev/null' %s",
                  blocks, flag, name, q(g_bin));
    if (s != 1)
        die(f, "a failing log/chart: wanted exit 1");
    if (tu_count_lines(f->err) != 1 || !strstr(f->err, name) || !strstr(f->err, "checkpoint") ||
        !strstr(f->err, "resume with:"))
        die(f, "wanted one line naming the file, the checkpoint and 'resume with:'");
    no_debris(f, f->dir);
    char resume[8192];
    resume_command(f, resume, sizeof resume);
    must_load(f, "lm.bin");
    expect_ok(f, run_printed(f, resume)); /* as printed: continues to epoch 300 */
    expect_ok(f, mlp(f, "info lm.bin"));
    if (!strstr(f->out, "300 of 300 epochs"))
        die(f, "the printed resume command did not finish the run");
    expect_ok(f, mlp(f, "train data --resume lm.bin --epochs 301"));
    if (!strstr(f->out, "resuming") || !strstr(f->out, "epoch 301"))
        die(f, "--resume --epochs 301 did not resume");
    no_debris(f, f->dir);
}

static void test_log_failing_mid_run_keeps_checkpoint(void **state)
{
    growing_output_fails(*state, "--log", "lm.tsv");
}

static void test_plot_failing_mid_run_keeps_checkpoint(void **state)
{
    growing_output_fails(*state, "--plot", "lm.svg");
}

/* ==== 4. standard output errors ========================================================== */

static void make_pgm(fx *f)
{
    char p[4096], buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof buf, "P2\n12 12\n255\n");
    for (int i = 0; i < 144; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%d\n", (i * 37) % 256);
    tu_path(p, f->dir, "im.pgm");
    tu_write_file(p, buf, n);
}

static void test_stdout_errors_are_reported(void **state)
{
    fx *f = *state;
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 1 --out m.bin --log l.tsv"));
    make_pgm(f);
    const char *cmds[] = {
        "presets",          "help",
        "help train",       "--version",
        "info m.bin",       "info --json m.bin",
        "eval m.bin data",  "eval m.bin data --json",
        "predict m.bin im.pgm", "export m.bin --npy ex",
        "plot l.tsv l.svg", "weights m.bin --out wd",
    };
    /* every command is tried; the failures are listed together */
    int failures = 0;
    for (size_t k = 0; k < sizeof cmds / sizeof *cmds; k++) {
        int st = mlp(f, "%s >/dev/full", cmds[k]);
        const char *why = st != 1                            ? "exit status is not 1"
                          : !strstr(f->err, "standard output") ? "no 'standard output' on stderr"
                          : tu_count_lines(f->err) != 1       ? "not exactly one line on stderr"
                                                              : NULL;
        if (why) {
            print_error("FAILED: stdout on /dev/full: %s (exit %d)\n  command: %s\n  stderr: %s\n",
                        why, st, f->last, f->err);
            failures++;
        }
        no_debris(f, f->dir);
    }
    check_dev_null(f);
    assert_int_equal(failures, 0);
}

static void test_train_stdout_full_keeps_checkpoint(void **state)
{
    fx *f = *state;
    /* /dev/full */
    int st = mlp(f, "train data --hidden 8 --epochs 2 --out m2.bin >/dev/full");
    if (st != 1)
        die(f, "train with stdout on /dev/full: wanted exit 1");
    if (!strstr(f->err, "standard output") || !strstr(f->err, "resume with"))
        die(f, "train with stdout on /dev/full: wanted 'standard output' and 'resume with'");
    if (tu_count_lines(f->err) != 1)
        die(f, "train with stdout on /dev/full: wanted exactly one line on stderr");
    no_debris(f, f->dir);
    must_load(f, "m2.bin");
}

/* a pipe closed by its reader: exit 1, not killed by SIGPIPE */
static void test_train_stdout_pipe_closed_keeps_checkpoint(void **state)
{
    fx *f = *state;
    char status_path[4096], err_path[4096];
    tu_path(status_path, f->io, "status");
    tu_path(err_path, f->io, "train.err");
    shrun(f, "(timeout -s KILL 60 %s train data --hidden 8 --epochs 50 --out m3.bin 2>%s; "
                  "echo $? >%s) | head -n 1",
               q(g_bin), q(err_path), q(status_path));
    char *sts = slurp(status_path), *err = slurp(err_path);
    snprintf(f->err, TU_CLI_CAP, "%s", err);
    if (atoi(sts) != 1) {
        char msg[128];
        snprintf(msg, sizeof msg, "train | head -n 1: train exited %d, wanted 1 (141 = SIGPIPE)",
                 atoi(sts));
        free(sts);
        free(err);
        die(f, msg);
    }
    free(sts);
    free(err);
    if (!strstr(f->err, "resume with"))
        die(f, "train | head -n 1: no 'resume with' on stderr");
    if (tu_count_lines(f->err) != 1)
        die(f, "train | head -n 1: wanted exactly one line on stderr");
    no_debris(f, f->dir);
    char resume[8192];
    resume_command(f, resume, sizeof resume);
    must_load(f, "m3.bin");
    expect_ok(f, run_printed(f, resume));
    expect_ok(f, mlp(f, "info m3.bin"));
    if (!strstr(f->out, "50 of 50 epochs"))
        die(f, "the printed resume command did not finish the run");
}

/* With standard output closed, the first file the program opens gets descriptor 1: nothing
 * meant for stdout may land in it. A lock file that received the progress lines is no
 * longer an empty mlp lock, so after a SIGKILL the next run is refused. */
static void test_closed_stdout_never_reaches_output_files(void **state)
{
    fx *f = *state;
    char lock[4096], log[4096];
    tu_path(lock, f->dir, "c.bin.lock");
    tu_path(log, f->dir, "c.tsv");
    /* stdout closed: the first files opened must not become it. What train prints cannot
     * go anywhere, so the run stops after its first checkpoint, saying so on stderr. */
    int st = shrun(f, "timeout -s KILL 60 %s train data --hidden 8 --epochs 50 --out c.bin --log c.tsv >&-",
                   q(g_bin));
    if (st != 1 || !strstr(f->err, "standard output") || !strstr(f->err, "resume with"))
        die(f, "train with stdout closed: wanted exit 1 naming standard output and how to resume");
    struct stat sb;
    if (stat(lock, &sb) == 0)
        die(f, "with stdout closed, a lock file was left behind");
    size_t n;
    char *text = (char *)tu_read_file(log, &n);
    if (!text || n < 5 || memcmp(text, "epoch", 5) != 0)
        die(f, "with stdout closed, the log does not start with its header");
    free(text);
    must_load(f, "c.bin");
    /* the same for a command that writes files and prints a line */
    st = shrun(f, "timeout -s KILL 60 %s export c.bin --npy npy >&-", q(g_bin));
    if (st != 1 || !strstr(f->err, "standard output"))
        die(f, "export with stdout closed: wanted exit 1 naming standard output");
    for (const char *name = "npy/W0.npy"; name; name = NULL) {
        char p[4096];
        tu_path(p, f->dir, name);
        if (stat(p, &sb) != 0 || sb.st_size < 128)
            die(f, "export with stdout closed: W0.npy is not a whole array");
    }
}

/* ==== 5. signals ========================================================================= */

static void test_double_sigint_leaves_no_debris(void **state)
{
    fx *f = *state;
    write_big(f, "big");
    char so[4096], se[4096], redir[9000], m[4096];
    tu_path(so, f->io, "bg.out");
    tu_path(se, f->io, "bg.err");
    snprintf(redir, sizeof redir, ">%s 2>%s", q(so), q(se));
    tu_path(m, f->dir, "m.bin");
    for (int moment = 0; moment < 4; moment++) {
        unlink(m);
        unlink(so);
        int pid = spawn(f,
                        "train big --hidden 256 --epochs 100000 --out m.bin --log l.tsv --plot p.svg",
                        redir);
        if (moment >= 1)
            assert_true(tu_wait_for_text(so, "epoch   1", 120));
        if (moment == 2)
            nanosleep(&(struct timespec){0, 5000000}, NULL);
        if (moment == 3)
            nanosleep(&(struct timespec){0, 37000000}, NULL);
        kill(pid, SIGINT);
        kill(pid, SIGINT);
        int st = tu_wait_exit(pid);
        char *e = slurp(se);
        snprintf(f->err, TU_CLI_CAP, "%s", e);
        free(e);
        f->out[0] = '\0';
        if (st != 130) {
            char msg[128];
            snprintf(msg, sizeof msg, "two SIGINTs at moment %d: exit %d, wanted 130", moment, st);
            die(f, msg);
        }
        no_debris(f, f->dir);
        if (exists(m))
            must_load(f, "m.bin");
    }
}

/* SIGHUP saves like SIGTERM; SIGTERM with names that need quoting; the printed resume
 * command, run as printed, gives the bytes of an uninterrupted run. */
static void interrupt_resume_identical(fx *f, int sig, const char *data, const char *out,
                                       const char *want, int code)
{
    char flags[8192];
    snprintf(flags, sizeof flags, "train %s --hidden 64 --epochs 40 --seed 7 --out %s", q(data),
             q(out));
    char full[4096], model[4096];
    tu_path(model, f->dir, out);
    tu_path(full, f->dir, "full.bin");
    expect_ok(f, mlp(f, "%s", flags));
    assert_int_equal(rename(model, full), 0);

    char so[4096], se[4096], redir[9000];
    tu_path(so, f->io, "bg.out");
    tu_path(se, f->io, "bg.err");
    unlink(so);
    snprintf(redir, sizeof redir, ">%s 2>%s", q(so), q(se));
    int pid = spawn(f, flags, redir);
    assert_true(tu_wait_for_text(so, "epoch   2", 120));
    kill(pid, sig);
    int st = tu_wait_exit(pid);
    char *e = slurp(se);
    snprintf(f->err, TU_CLI_CAP, "%s", e);
    free(e);
    f->out[0] = '\0';
    if (st != 128 + code) {
        char msg[128];
        snprintf(msg, sizeof msg, "signal %d: exit %d, wanted %d", sig, st, 128 + code);
        die(f, msg);
    }
    if (tu_count_lines(f->err) != 1 || !strstr(f->err, want) || !strstr(f->err, "resume with"))
        die(f, "wanted one line on stderr with the signal's word and 'resume with'");
    no_debris(f, f->dir);
    char resume[8192];
    resume_command(f, resume, sizeof resume);
    expect_ok(f, run_printed(f, resume));
    if (!strstr(f->out, "resuming"))
        die(f, "the printed command did not resume");
    if (!same_bytes(model, full))
        die(f, "the resumed model differs from the uninterrupted run's");
    no_debris(f, f->dir);
    unlink(full);
}

static void test_sighup_saves_and_printed_resume_is_identical(void **state)
{
    fx *f = *state;
    write_big(f, "big");
    interrupt_resume_identical(f, SIGHUP, "big", "m.bin", "hung up", SIGHUP);
    interrupt_resume_identical(f, SIGINT, "big", "m.bin", "interrupted", SIGINT);
}

static void test_sigterm_printed_resume_with_quoted_names(void **state)
{
    fx *f = *state;
    write_big(f, "da ta;x'y");
    interrupt_resume_identical(f, SIGTERM, "da ta;x'y", "o u;t'.bin", "terminated", SIGTERM);
}

static void test_signals_during_weights_and_export(void **state)
{
    fx *f = *state;
    /* a wide first layer: thousands of pictures, a few MB of arrays */
    expect_ok(f, mlp(f, "train data --hidden 2500 --epochs 1 --out big.bin --quiet"));
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGTERM, SIGTERM};
    const long waits_us[] = {0, 1000, 20000, 100000, 300000};
    char wd[4096], ex[4096];
    tu_path(wd, f->dir, "wd");
    tu_path(ex, f->dir, "ex");
    for (int k = 0; k < 5; k++) {
        for (int which = 0; which < 2; which++) {
            int pid = spawn(f, which ? "export big.bin --npy ex" : "weights big.bin --out wd",
                            ">/dev/null 2>/dev/null");
            if (waits_us[k])
                nanosleep(&(struct timespec){0, waits_us[k] * 1000}, NULL);
            kill(pid, sigs[k]);
            int st = tu_wait_exit(pid);
            if (st != 0 && st != 128 + sigs[k]) {
                char msg[128];
                snprintf(msg, sizeof msg, "%s killed by signal %d: exit %d",
                         which ? "export" : "weights", sigs[k], st);
                die(f, msg);
            }
            no_debris(f, f->dir);
            if (exists(which ? ex : wd))
                no_debris(f, which ? ex : wd);
        }
    }
}

/* SIGKILL leaves a lock and maybe a temporary: a later run reuses or replaces them. */
static void test_sigkill_leftovers_are_reused_or_replaced(void **state)
{
    fx *f = *state;
    write_big(f, "big");
    char so[4096], redir[9000], p[4096];
    tu_path(so, f->io, "bg.out");
    snprintf(redir, sizeof redir, ">%s 2>/dev/null", q(so));
    int pid = spawn(f, "train big --hidden 64 --epochs 100000 --out k.bin --log k.tsv", redir);
    assert_true(tu_wait_for_text(so, "epoch   2", 120));
    kill(pid, SIGKILL);
    assert_int_equal(tu_wait_exit(pid), 128 + SIGKILL);
    /* and a temporary of a writer that died (a pid that no longer runs) */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    assert_int_equal(tu_wait_exit((int)dead), 0);
    pathf(p, "%s/k.bin.tmp.%d", f->dir, (int)dead);
    tu_write_file(p, "half a model", 12);
    snprintf(f->last, sizeof f->last, "SIGKILL of a run on k.bin");
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 1 --out k.bin --log k.tsv"));
    must_load(f, "k.bin");
    no_debris(f, f->dir);
}

/* ==== 6. two runs at once ================================================================ */

static void test_two_runs_one_output(void **state)
{
    fx *f = *state;
    write_big(f, "big");
    char so[4096], se[4096], redir[9000], p[4096];
    tu_path(so, f->io, "run1.out");
    tu_path(se, f->io, "run1.err");
    snprintf(redir, sizeof redir, ">%s 2>%s", q(so), q(se));
    tu_path(p, f->dir, "msym");
    assert_int_equal(symlink("m.bin", p), 0);
    tu_path(p, f->dir, "bigl");
    assert_int_equal(symlink("big", p), 0);
    int pid = spawn(f, "train big --hidden 64 --epochs 300 --out m.bin --log l.tsv", redir);
    /* by the second epoch's line the first checkpoint is saved (--resume needs one) */
    assert_true(tu_wait_for_text(so, "epoch   2", 120));
    const char *second[] = {
        "train data --hidden 8 --epochs 1 --out m.bin",
        "train data --hidden 8 --epochs 1 --out ./m.bin",
        "train data --hidden 8 --epochs 1 --out msym",
        "train data --hidden 8 --epochs 1 --out m2.bin --log l.tsv",
        "train data --hidden 8 --epochs 1 --out m2.bin --log ../%s/l.tsv",
        "train data --hidden 8 --epochs 1 --out m2.bin --plot l.tsv",
        "train big --resume m.bin --epochs 400",
        "plot l.tsv m.bin",
    };
    char m2[4096];
    tu_path(m2, f->dir, "m2.bin");
    for (size_t k = 0; k < sizeof second / sizeof *second; k++) {
        char args[4096];
        pathf(args, second[k], f->base);
        int st = mlp(f, "%s", args);
        int ws;
        if (st == 0 && waitpid((pid_t)pid, &ws, WNOHANG) == pid)
            die(f, "run 1 ended before run 2 was tried (too fast a machine?)");
        expect_refused(f, st, 1, "another mlp is writing");
        if (exists(m2))
            die(f, "the refused run wrote its own --out");
    }
    int st = tu_wait_exit(pid);
    char *e = slurp(se);
    snprintf(f->err, TU_CLI_CAP, "%s", e);
    free(e);
    snprintf(f->last, sizeof f->last, "(run 1) train big --hidden 64 --epochs 300 --out m.bin");
    if (st != 0)
        die(f, "run 1 did not finish normally");
    expect_ok(f, mlp(f, "info m.bin"));
    if (!strstr(f->out, "300 of 300 epochs"))
        die(f, "run 1's model is not its own finished model");
    no_debris(f, f->dir);
    expect_ok(f, mlp(f, "train data --hidden 8 --epochs 1 --out m.bin --log l.tsv"));
    must_load(f, "m.bin");
    no_debris(f, f->dir);
}

/* ==== 7. the recorded command line ======================================================= */

/* Runs the record with mlp as a function that prints each call's arguments as <a><b>... */
static void record_argv(fx *f, const char *record)
{
    int st = shrun(f, "mlp() { printf '<%%s>' \"$@\"; printf '\\n'; }\n%s", record);
    if (st != 0)
        die(f, "the record is not valid shell");
}

static void test_record_reproduces_run(void **state)
{
    fx *f = *state;
    const char *data = "da ta;x'y", *out = "o u;t'.bin", *other = "oth er;'x.bin";
    char d[4096], o[4096], o1[4096], ot[4096], ot1[4096];
    tu_path(d, f->dir, data);
    mkdir_p(d);
    tu_write_synthetic(d, 1200, 100, 12, 12, 6, 9);
    tu_path(o, f->dir, out);
    tu_path(o1, f->dir, "first.bin");
    tu_path(ot, f->dir, other);
    tu_path(ot1, f->dir, "second.bin");
    expect_ok(f, mlp(f, "train %s --seed 5 --epochs 2 --hidden 8 --out %s", q(data), q(out)));
    expect_ok(f, mlp(f, "info --json %s", q(out)));
    char rec[8192];
    json_command(f, rec, sizeof rec);
    expect_ok(f, mlp(f, "info %s", q(out)));
    if (!strstr(f->out, rec))
        die(f, "info's command line differs from info --json's");
    assert_int_equal(rename(o, o1), 0);
    expect_ok(f, run_record(f, rec));
    if (!same_bytes(o, o1))
        die(f, "running the recorded command did not reproduce the model");

    expect_ok(f, mlp(f, "train %s --resume %s --out %s --epochs 4", q(data), q(out), q(other)));
    expect_ok(f, mlp(f, "info --json %s", q(other)));
    char rec2[8192];
    json_command(f, rec2, sizeof rec2);
    record_argv(f, rec2);
    const char *line2 = strchr(f->out, '\n');
    char want[3][1024];
    snprintf(want[0], sizeof want[0], "<--resume><%s>", out);
    snprintf(want[1], sizeof want[1], "<--out><%s>", other);
    snprintf(want[2], sizeof want[2], "<--epochs><4>");
    if (tu_count_lines(f->out) != 2 || !line2)
        die(f, "the record of a resumed run is not two commands");
    for (int k = 0; k < 3; k++)
        if (!strstr(line2, want[k])) {
            char msg[1200];
            snprintf(msg, sizeof msg, "the resume part of the record lacks %.1000s", want[k]);
            die(f, msg);
        }
    if (strncmp(f->out, "<train>", 7) != 0 || strncmp(line2 + 1, "<train>", 7) != 0)
        die(f, "the record's commands are not 'mlp train ...'");
    /* from scratch: both commands reproduce both files */
    assert_int_equal(rename(ot, ot1), 0);
    assert_int_equal(unlink(o), 0);
    expect_ok(f, run_record(f, rec2));
    if (!same_bytes(ot, ot1))
        die(f, "running the whole record did not reproduce the resumed model");
    if (!same_bytes(o, o1))
        die(f, "running the whole record did not reproduce the first model");
    no_debris(f, f->dir);
}

static void test_record_keeps_explicit_data_flags(void **state)
{
    fx *f = *state;
    char d[4096];
    tu_path(d, f->dir, "od d'x");
    mkdir_p(d);
    tu_write_synthetic(d, 1200, 100, 12, 12, 6, 11);
    const char *flags = "--train-images 'od d'\\''x/train-images-idx3-ubyte' "
                        "--train-labels 'od d'\\''x/train-labels-idx1-ubyte' "
                        "--test-images data/t10k-images-idx3-ubyte "
                        "--test-labels ./data/t10k-labels-idx1-ubyte";
    expect_ok(f, mlp(f, "train %s --seed 5 --epochs 2 --hidden 8 --out e.bin", flags));
    expect_ok(f, mlp(f, "train %s --resume e.bin --out e2.bin --epochs 3", flags));
    expect_ok(f, mlp(f, "info --json e2.bin"));
    char rec[8192];
    json_command(f, rec, sizeof rec);
    record_argv(f, rec);
    const char *line2 = strchr(f->out, '\n');
    if (tu_count_lines(f->out) != 2 || !line2)
        die(f, "the record of a resumed run is not two commands");
    const char *want[] = {"<--train-images><od d'x/train-images-idx3-ubyte>",
                          "<--train-labels><od d'x/train-labels-idx1-ubyte>",
                          "<--test-images><data/t10k-images-idx3-ubyte>",
                          "<--test-labels><./data/t10k-labels-idx1-ubyte>", "<--resume><e.bin>",
                          "<--out><e2.bin>", "<--epochs><3>"};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        if (!strstr(line2, want[k]) || (k < 4 && !strstr(f->out, want[k]))) {
            char msg[1200];
            snprintf(msg, sizeof msg, "the record lacks %s (in the resume part)", want[k]);
            die(f, msg);
        }
    }
    char e[4096], e2[4096], s1[4096], s2[4096];
    tu_path(e, f->dir, "e.bin");
    tu_path(e2, f->dir, "e2.bin");
    tu_path(s1, f->dir, "e.keep");
    tu_path(s2, f->dir, "e2.keep");
    assert_int_equal(rename(e, s1), 0);
    assert_int_equal(rename(e2, s2), 0);
    expect_ok(f, run_record(f, rec));
    if (!same_bytes(e, s1) || !same_bytes(e2, s2))
        die(f, "running the record did not reproduce the models");

    /* a run with explicit flags stopped by a signal: the printed resume keeps them */
    write_big(f, "big");
    char so[4096], se[4096], redir[9000];
    tu_path(so, f->io, "bg.out");
    tu_path(se, f->io, "bg.err");
    snprintf(redir, sizeof redir, ">%s 2>%s", q(so), q(se));
    int pid = spawn(f,
                    "train --train-images big/train-images-idx3-ubyte --train-labels "
                    "big/train-labels-idx1-ubyte --test-images big/t10k-images-idx3-ubyte "
                    "--test-labels big/t10k-labels-idx1-ubyte --hidden 64 --epochs 100000 "
                    "--out s.bin",
                    redir);
    assert_true(tu_wait_for_text(so, "epoch   1", 120));
    kill(pid, SIGTERM);
    assert_int_equal(tu_wait_exit(pid), 128 + SIGTERM);
    char *er = slurp(se);
    snprintf(f->err, TU_CLI_CAP, "%s", er);
    free(er);
    char resume[8192];
    resume_command(f, resume, sizeof resume);
    if (!strstr(resume, "--train-images big/train-images-idx3-ubyte") ||
        !strstr(resume, "--test-labels big/t10k-labels-idx1-ubyte"))
        die(f, "the printed resume command lost the data flags");
}

/* ==== 8. long command lines ============================================================== */

static size_t record_len(fx *f, const char *model)
{
    expect_ok(f, mlp(f, "info --json %s", model));
    char rec[8192];
    json_command(f, rec, sizeof rec);
    return strlen(rec);
}

/* "././.../data" with k "./" */
static void dotted(char *out, size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        out[n++] = '.';
        out[n++] = '/';
    }
    strcpy(out + n, "data");
}

static void test_record_length_limit(void **state)
{
    fx *f = *state;
    const char *flags = "--hidden 8 --epochs 2 --seed 5";
    expect_ok(f, mlp(f, "train data %s --out a.bin", flags));
    size_t l0 = record_len(f, "a.bin"); /* with "data" and "a.bin" */
    char a[4096];
    tu_path(a, f->dir, "a.bin");
    unlink(a);
    snap top;
    snap_take(f->dir, &top);
    static char dir[4200];
    /* each "./" adds 2 bytes; the name of --out ("a.bin" or "ab.bin") the odd one */
    for (size_t want = 4096; want <= 4098; want++) {
        size_t extra = want - l0;
        const char *out = extra % 2 ? "ab.bin" : "a.bin";
        dotted(dir, (extra - (extra % 2)) / 2);
        assert_true(strlen(dir) + 30 < 4096);
        int st = mlp(f, "train %s %s --out %s", dir, flags, out);
        char n1[32], n2[32];
        snprintf(n1, sizeof n1, "%zu", want);
        snprintf(n2, sizeof n2, "%zu,%03zu", want / 1000, want % 1000);
        expect_refused(f, st, 2, "4095");
        if (!strstr(f->err, n1) && !strstr(f->err, n2))
            die(f, "the message does not give the record's length");
        snap_check(f, &top, f->dir, "working directory");
        no_debris(f, f->dir);
    }
    for (size_t want = 4095; want >= 4094; want--) {
        size_t extra = want - l0;
        const char *out = extra % 2 ? "ab.bin" : "a.bin";
        dotted(dir, (extra - (extra % 2)) / 2);
        expect_ok(f, mlp(f, "train %s %s --out %s", dir, flags, out));
        must_load(f, out);
        if (record_len(f, out) != want)
            die(f, "the record is not the length expected");
        /* and it still reproduces the run */
        char path[4096], keep[4096], rec[8192];
        tu_path(path, f->dir, out);
        tu_path(keep, f->dir, "keep.bin");
        expect_ok(f, mlp(f, "info --json %s", out));
        json_command(f, rec, sizeof rec);
        assert_int_equal(rename(path, keep), 0);
        expect_ok(f, run_record(f, rec));
        if (!same_bytes(path, keep))
            die(f, "a record of the maximum length does not reproduce the run");
        /* resuming it for more epochs would record more than the maximum: refused up front,
         * the checkpoint untouched */
        snap before;
        snap_take(f->dir, &before);
        expect_refused(f, mlp(f, "train %s --resume %s --epochs 3", dir, out), 2, "4095");
        snap_check(f, &before, f->dir, "working directory");
        assert_int_equal(unlink(path), 0);
        assert_int_equal(unlink(keep), 0);
    }
}

int main(void)
{
    const char *bin = getenv("MLP_BIN");
    if (!realpath(bin && bin[0] ? bin : "./mlp", g_bin)) {
        fprintf(stderr, "test_hostile: cannot find the program (MLP_BIN=%s)\n", bin ? bin : "");
        return 1;
    }
    signal(SIGPIPE, SIG_DFL);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_train_outputs_never_overwrite_data),
        T(test_explicit_and_gz_inputs_are_protected),
        T(test_resume_checkpoint_protected_and_replaceable),
        T(test_outputs_against_each_other),
        T(test_output_named_like_a_lock_file),
        T(test_plot_svg_never_overwrites_log),
        T(test_export_never_overwrites_model),
        T(test_weights_never_overwrites_model),
        T(test_devices_fifos_directories_refused),
        T(test_missing_directories_refused_before_training),
        T(test_log_failing_mid_run_keeps_checkpoint),
        T(test_plot_failing_mid_run_keeps_checkpoint),
        T(test_stdout_errors_are_reported),
        T(test_train_stdout_full_keeps_checkpoint),
        T(test_train_stdout_pipe_closed_keeps_checkpoint),
        T(test_closed_stdout_never_reaches_output_files),
        T(test_double_sigint_leaves_no_debris),
        T(test_sighup_saves_and_printed_resume_is_identical),
        T(test_sigterm_printed_resume_with_quoted_names),
        T(test_signals_during_weights_and_export),
        T(test_sigkill_leftovers_are_reused_or_replaced),
        T(test_two_runs_one_output),
        T(test_record_reproduces_run),
        T(test_record_keeps_explicit_data_flags),
        T(test_record_length_limit),
    };
    return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
