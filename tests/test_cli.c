/*
 * The built program end to end (MLP_BIN, default ./mlp): training on a synthetic dataset
 * written here, evaluation of the saved model, reproducibility, and the one-line errors and
 * exit statuses of bad arguments, data and model files.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CAP = 1 << 16 };

typedef tu_cli fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_cli_open(f);
    tu_write_synthetic(f->dir, 2000, 500, 12, 12, 6, 42);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    tu_cli_close(*state);
    free(*state);
    return 0;
}

/* The percentage after the last occurrence of key (e.g. "test "), or -1. */
static double last_percent(const char *s, const char *key)
{
    const char *p = NULL, *q = s;
    while ((q = strstr(q, key))) {
        p = q;
        q += strlen(key);
    }
    return p ? atof(p + strlen(key)) : -1.0;
}

/* Exit status st with exactly one line on stderr that contains want. */
static void expect_error(fixture *f, int status, int want_status, const char *want)
{
    if (status != want_status || tu_count_lines(f->err) != 1 || !strstr(f->err, want)) {
        print_error("exit %d (wanted %d), stderr: '%s' (wanted one line with '%s')\n", status,
                    want_status, f->err, want);
        fail();
    }
}

static void test_train_then_eval_agree(void **state)
{
    fixture *f = *state;
    int st =
        tu_cli_run(f, "train %s --hidden 16 --epochs 4 --seed 3 --out %s/m.bin", f->dir, f->dir);
    if (st != 0)
        print_error("%s", f->err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(f->out, "epoch   4"));
    double acc = last_percent(f->out, "test accuracy ");
    assert_true(acc >= 90.0); /* from chance, 1 in 6 */
    char train_acc[32];
    snprintf(train_acc, sizeof train_acc, "%.2f%%", acc);

    st = tu_cli_run(f, "eval %s/m.bin %s", f->dir, f->dir);
    assert_int_equal(st, 0);
    char want[64];
    snprintf(want, sizeof want, "accuracy %s", train_acc);
    if (!strstr(f->out, want)) {
        print_error("eval printed:\n%s\nwanted '%s'\n", f->out, want);
        fail();
    }
    assert_non_null(strstr(f->out, "confusion matrix"));
    assert_non_null(strstr(f->out, "precision"));

    st = tu_cli_run(f, "info %s/m.bin", f->dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(f->out, "144-16-6"));
    assert_non_null(strstr(f->out, "--hidden 16 "));
    assert_non_null(strstr(f->out, "--seed 3 "));
}

static void test_same_seed_same_bytes(void **state)
{
    fixture *f = *state;
    const char *flags = "--hidden 8,8 --epochs 2 --activation relu --cost xent --batch 7";
    char p[4096], q[4096];
    size_t na, nb, nc;
    snprintf(p, sizeof p, "%s/m.bin", f->dir);
    snprintf(q, sizeof q, "%s/first.bin", f->dir);
    assert_int_equal(tu_cli_run(f, "train %s %s --out %s", f->dir, flags, p), 0);
    assert_int_equal(rename(p, q), 0);
    unsigned char *a = tu_read_file(q, &na);
    assert_int_equal(tu_cli_run(f, "train %s %s --out %s", f->dir, flags, p), 0);
    unsigned char *b = tu_read_file(p, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    assert_int_equal(tu_cli_run(f, "train %s %s --seed 2 --out %s", f->dir, flags, p), 0);
    unsigned char *c = tu_read_file(p, &nc);
    assert_int_equal(na, nc);
    assert_memory_not_equal(a + na - 1000, c + nc - 1000, 996);
    free(a);
    free(b);
    free(c);
}

/* Threads split every product by output element, so their number changes no bit: the files
 * of a run on 1, 2 and 3 threads differ only in the recorded --out path. The hidden layer is
 * wide enough (144 x 700 weights) for the products to use three threads. */
static void same_model_on_1_to_3_threads(fixture *f, const char *flags)
{
    unsigned char *first = NULL;
    size_t n_first = 0;
    for (int t = 1; t <= 3; t++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/t%d.bin", f->dir, t);
        assert_int_equal(
            tu_cli_run(f, "train %s --hidden 700 --epochs 2 --batch 32 %s --threads %d --out %s",
                       f->dir, flags, t, p),
            0);
        assert_non_null(strstr(f->out, t == 1 ? "1 thread\n" : "threads\n"));
        size_t n;
        unsigned char *m = tu_read_file(p, &n);
        if (!first) {
            first = m;
            n_first = n;
            continue;
        }
        /* the files differ only in the recorded --out path and the checksum after it */
        assert_int_equal(n, n_first);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += m[i] != first[i];
        assert_true(diff <= 5);
        size_t tail = 4 * 1000; /* the last thousand parameters and the checksum */
        assert_memory_equal(m + n - tail, first + n - tail, tail - 4);
        free(m);
    }
    free(first);
}

/* SGD, and Adam and AdamW with every option of theirs (and clipping, label smoothing and
 * patience), give the same model on 1, 2 and 3 threads. */
static void test_thread_count_does_not_change_the_model(void **state)
{
    fixture *f = *state;
    static const char *const flags[] = {
        "",
        ("--optimizer adam --beta1 0.8 --beta2 0.99 --eps 1e-6 --l2 1e-3 --clip 0.5 --cost xent "
         "--label-smoothing 0.1 --val 300 --patience 4"),
        "--optimizer adamw --weight-decay 0.05 --clip 2 --cost xent --label-smoothing 0.05",
    };
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        same_model_on_1_to_3_threads(f, flags[k]);
}

/* The flags of the optimisers, clipping, label smoothing and patience: a bad value, or a flag
 * without the option it needs, is one line naming the flag, exit 2, before any data is read
 * (the directory does not exist). */
static void test_optimiser_flags_refused_before_data(void **state)
{
    fixture *f = *state;
    const struct {
        const char *args, *want;
    } cases[] = {
        {"--patience 3", "--patience needs --val"},
        {"--patience 0 --val 10", "--patience"},
        {"--patience -1 --val 10", "--patience"},
        {"--beta1 1 --optimizer adam", "--beta1"},
        {"--beta1 -0.1 --optimizer adam", "--beta1"},
        {"--beta2 nan --optimizer adamw", "--beta2"},
        {"--eps 0 --optimizer adam", "--eps"},
        {"--beta1 0.9", "--beta1 needs --optimizer adam or adamw"},
        {"--optimizer sgd --beta2 0.9", "--beta2 needs --optimizer adam or adamw"},
        {"--eps 1e-8", "--eps needs --optimizer adam or adamw"},
        {"--weight-decay 0.1", "--weight-decay needs --optimizer adamw"},
        {"--optimizer adam --weight-decay 0.1", "--weight-decay needs --optimizer adamw"},
        {"--optimizer adamw --l2 0.1", "--l2 with --optimizer adamw"},
        {"--optimizer adam --momentum 0.9", "--momentum is sgd's"},
        {"--optimizer adamw --nesterov", "--nesterov is sgd's"},
        {"--optimizer rmsprop", "--optimizer"},
        {"--optimizer", "--optimizer needs a value"},
        {"--clip 0", "--clip"},
        {"--clip -1", "--clip"},
        {"--clip inf", "--clip"},
        {"--clip 1e300", "--clip"},
        {"--label-smoothing 1 --cost xent", "--label-smoothing"},
        {"--label-smoothing 0.1", "--label-smoothing needs --cost xent"},
        {"--label-smoothing 1e-50 --cost xent", "--label-smoothing"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = tu_cli_run(f, "train %s/nowhere %s", f->dir, cases[k].args);
        expect_error(f, st, 2, cases[k].want);
        assert_non_null(strstr(f->err, "mlp help"));
    }
}

static void test_usage_errors_exit_2_with_one_line(void **state)
{
    fixture *f = *state;
    const struct {
        const char *args, *want;
    } cases[] = {
        {"train %s --bogus", "unknown flag '--bogus'"},
        {"train %s --batch 0", "--batch"},
        {"train %s --batch abc", "--batch"},
        {"train %s --batch", "--batch needs a value"},
        {"train %s --epochs 0", "--epochs"},
        {"train %s --epochs -3", "--epochs"},
        {"train %s --epochs 1000000", "--epochs"},
        {"train %s --batch 1000000", "--batch"},
        {"train %s --lr 1e9", "--lr"},
        {"train %s --lr -1", "--lr"},
        {"train %s --lr 0", "--lr"},
        {"train %s --lr nan", "--lr"},
        {"train %s --lr 1x", "--lr"},
        {"train %s --hidden 16,,16", "--hidden"},
        {"train %s --hidden 0", "--hidden"},
        {"train %s --hidden 1,2,3,4,5,6,7,8", "--hidden"},
        {"train %s --activation swish", "--activation"},
        {"train %s --cost hinge", "--cost"},
        {"train %s --seed x", "--seed"},
        {"train %s --threads 0", "--threads"},
        {"train %s --threads 100000", "--threads"},
        {"train %s --kernels avx9000", "--kernels"},
        {"train %s --momentum 1", "--momentum"},
        {"train %s --momentum -0.5", "--momentum"},
        {"bench %s --config Z", "--config"},
        {"bench %s --epochs 0", "--epochs"},
        {"train %s extra", "unexpected argument 'extra'"},
        {"eval", "missing MODEL"},
        {"eval a b c", "unexpected argument 'c'"},
        {"info", "missing MODEL"},
        {"eval m.bin --test-images", "--test-images needs a value"},
        {"eval m.bin --train-images x", "unknown flag '--train-images'"},
        {"eval m.bin --json=yes", "unknown flag '--json=yes'"},
        {"train %s --train-labels=", "--train-labels needs a value"},
        {"info m.bin --bogus", "unknown flag '--bogus'"},
        {"info a b", "unexpected argument 'b'"},
        {"export", "missing MODEL"},
        {"export m.bin", "missing --npy"},
        {"export m.bin --npy", "--npy needs a value"},
        {"export m.bin n.bin --npy x", "unexpected argument 'n.bin'"},
        {"bench %s --jsn", "unknown flag '--jsn'"},
        {"frobnicate %s", "unknown command 'frobnicate'"},
        {"help nothing", "unknown command 'nothing'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = tu_cli_run(f, cases[k].args, f->dir);
        expect_error(f, st, 2, cases[k].want);
        assert_non_null(strstr(f->err, "mlp help"));
    }
}

static void test_bad_data_and_models_exit_1_with_one_line(void **state)
{
    fixture *f = *state;
    char p[4096];

    /* no data */
    expect_error(f, tu_cli_run(f, "train %s/nowhere --out %s/m.bin", f->dir, f->dir), 1, "nowhere");
    /* a broken label file */
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", f->dir);
    size_t n;
    unsigned char *keep = tu_read_file(p, &n);
    tu_write_file(p, keep, n - 1);
    expect_error(f, tu_cli_run(f, "train %s --epochs 1 --out %s/m.bin", f->dir, f->dir), 1,
                 "t10k-labels-idx1-ubyte");
    tu_write_file(p, keep, n);
    free(keep);

    /* an output directory that does not exist is reported before any training */
    expect_error(f, tu_cli_run(f, "train %s --out %s/no/m.bin", f->dir, f->dir), 1, "cannot write");

    /* models: missing, not a model, truncated, mismatched with the data */
    expect_error(f, tu_cli_run(f, "eval %s/none.bin %s", f->dir, f->dir), 1, "none.bin");
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", f->dir);
    expect_error(f, tu_cli_run(f, "eval %s %s", p, f->dir), 1, "not an mlp model");
    expect_error(f, tu_cli_run(f, "info %s", p), 1, "not an mlp model");

    assert_int_equal(tu_cli_run(f, "train %s --hidden 4 --epochs 1 --out %s/m.bin", f->dir, f->dir),
                     0);
    snprintf(p, sizeof p, "%s/m.bin", f->dir);
    unsigned char *m = tu_read_file(p, &n);
    char q[4096];
    snprintf(q, sizeof q, "%s/cut.bin", f->dir);
    tu_write_file(q, m, n / 2);
    expect_error(f, tu_cli_run(f, "eval %s %s", q, f->dir), 1, "truncated");
    free(m);

    char other[4096];
    snprintf(other, sizeof other, "%s/other", f->dir);
    char mk[4200];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", other);
    assert_int_equal(system(mk), 0);
    tu_write_synthetic(other, 50, 20, 10, 10, 6, 1);
    expect_error(f, tu_cli_run(f, "eval %s %s", p, other), 1, "12x12");
}

/* s quoted for the shell that tu_run_mlp() uses */
static const char *shq(char *buf, size_t cap, const char *s)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, cap, "'");
    for (; *s && n < cap; s++)
        n += (size_t)snprintf(buf + n, cap - n, *s == '\'' ? "'\\''" : "%c", *s);
    snprintf(buf + n, cap - n, "'");
    return buf;
}

static size_t longest_line(const char *s)
{
    size_t best = 0, cur = 0;
    for (; *s; s++) {
        cur = *s == '\n' ? 0 : cur + 1;
        best = cur > best ? cur : best;
    }
    return best;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (; (s = strstr(s, what)); s += strlen(what))
        n++;
    return n;
}

/* An EMNIST-letters-like dataset: 20x20 images, 26 classes, files with their own names
 * (spaces and quotes among them), some gzipped, named by the path flags. */
static void test_any_dataset_by_explicit_paths(void **state)
{
    fixture *f = *state;
    const char *std[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    const char *mine[4] = {"emnist-letters-train-images-idx3-ubyte", "letters 'train' labels",
                           "emnist-letters-test-images-idx3-ubyte", "test \"labels\""};
    char sub[4096], from[4096], to[4][4096], q[4][4200], out[4096], qout[4200];
    tu_path(sub, f->dir, "emnist dir");
    char mk[4200];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", sub);
    assert_int_equal(system(mk), 0);
    tu_write_synthetic(sub, 2600, 520, 20, 20, 26, 7);
    for (int k = 0; k < 4; k++) {
        tu_path(from, sub, std[k]);
        tu_path(to[k], sub, mine[k]);
        assert_int_equal(rename(from, to[k]), 0);
    }
    tu_gzip_in_place(to[0]); /* given without .gz: found as .gz */
    tu_gzip_in_place(to[2]);
    strcat(to[2], ".gz"); /* given with it */
    for (int k = 0; k < 4; k++)
        shq(q[k], sizeof q[k], to[k]);
    tu_path(out, sub, "letters.bin");
    shq(qout, sizeof qout, out);

    int st =
        tu_cli_run(f,
                   "train --train-images %s --train-labels %s --test-images %s --test-labels %s "
                   "--hidden 64 --cost xent --epochs 4 --out %s",
                   q[0], q[1], q[2], q[3], qout);
    if (st != 0)
        print_error("%s", f->err);
    assert_int_equal(st, 0);
    assert_non_null(strstr(f->out, "network 400-64-26,"));
    assert_non_null(strstr(f->out, "20x20, 26 classes"));
    assert_true(last_percent(f->out, "test accuracy ") >= 90.0); /* chance: 4% */

    /* the recorded command line names the files, quoted so that it runs as printed */
    assert_int_equal(tu_cli_run(f, "info %s", qout), 0);
    assert_non_null(strstr(f->out, "--train-labels '"));
    assert_non_null(strstr(f->out, "letters '\\''train'\\'' labels'"));

    /* eval on the same files: a readable 26-class report */
    st = tu_cli_run(f, "eval %s --test-images %s --test-labels %s", qout, q[2], q[3]);
    assert_int_equal(st, 0);
    assert_true(longest_line(f->out) <= 100);
    assert_non_null(strstr(f->out, "in 2 parts"));
    assert_non_null(strstr(f->out, "\n   25 "));  /* a row for the last class */
    assert_null(strstr(f->out, "not shown"));     /* all 26 classes have test images */
    assert_non_null(strstr(f->out, "precision")); /* the per-class table */
    char acc[64];
    snprintf(acc, sizeof acc, "accuracy %.2f%%", last_percent(f->out, "accuracy "));

    /* and as JSON: one line, nothing else, same accuracy */
    st = tu_cli_run(f, "eval %s --test-images %s --test-labels %s --json", qout, q[2], q[3]);
    assert_int_equal(st, 0);
    assert_string_equal(f->err, "");
    assert_int_equal(tu_count_lines(f->out), 1);
    assert_true(tu_json_valid(f->out));
    assert_non_null(strstr(f->out, "\"classes\":26,\"confusion\":[["));
    assert_int_equal(count(f->out, "{\"class\":"), 26);
    assert_non_null(strstr(f->out, "\"seconds\":{\"load_model\":"));
    char *conf = strstr(f->out, "\"confusion\""), *per_class = strstr(f->out, "\"per_class\"");
    assert_true(conf && per_class > conf);
    *per_class = '\0';
    assert_int_equal(count(conf, "["), 1 + 26);           /* 26 rows */
    assert_int_equal(count(conf, ","), 26 * 25 + 25 + 1); /* of 26 counts each */
}

/* The label values index the outputs: labels 1 to 5 make a 6-output network whose class 0
 * never occurs, and the report leaves that class out, saying so. */
static void test_classes_without_images_are_named(void **state)
{
    fixture *f = *state;
    char p[4096];
    size_t n;
    for (int k = 0; k < 2; k++) {
        tu_path(p, f->dir, k ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte");
        unsigned char *b = tu_read_file(p, &n);
        for (size_t i = 8; i < n; i++)
            b[i] = b[i] ? b[i] : 1; /* 0 becomes 1 */
        tu_write_file(p, b, n);
        free(b);
    }
    assert_int_equal(
        tu_cli_run(f, "train %s --hidden 16 --epochs 2 --out %s/m.bin", f->dir, f->dir), 0);
    assert_non_null(strstr(f->out, "-16-6,"));
    assert_int_equal(tu_cli_run(f, "eval %s/m.bin %s", f->dir, f->dir), 0);
    assert_non_null(strstr(f->out, "not shown, without test images or predictions: class 0\n"));
    assert_null(strstr(f->out, "\n    0  ")); /* no row for it */
    assert_int_equal(tu_cli_run(f, "eval %s/m.bin %s --json", f->dir, f->dir), 0);
    assert_non_null(strstr(f->out, "{\"class\":0,\"images\":0,\"predicted\":0,\"correct\":0,"
                                   "\"precision\":null,\"recall\":null,\"f1\":null}"));
}

/* Training from gzipped files gives the same run as from the plain ones. */
static void test_gzipped_directory_trains_the_same(void **state)
{
    fixture *f = *state;
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char gz[4096], src[4096], dst[4096], cmd[9000];
    tu_path(gz, f->dir, "gz");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", gz);
    assert_int_equal(system(cmd), 0);
    bool real_gzip = system("gzip --version >/dev/null 2>&1") == 0;
    for (int k = 0; k < 4; k++) {
        tu_path(src, f->dir, names[k]);
        tu_path(dst, gz, names[k]);
        if (real_gzip && k % 2 == 0) { /* Huffman-coded by gzip, when there is one */
            snprintf(cmd, sizeof cmd, "gzip -9 -c '%s' > '%s.gz'", src, dst);
            assert_int_equal(system(cmd), 0);
        } else {
            size_t n;
            unsigned char *b = tu_read_file(src, &n);
            strcat(dst, ".gz");
            tu_write_gzip(dst, b, n);
            free(b);
        }
    }
    const char *flags = "--hidden 8 --epochs 2 --threads 1";
    assert_int_equal(tu_cli_run(f, "train %s %s --out %s/a.bin", f->dir, flags, f->dir), 0);
    char plain[CAP];
    strcpy(plain, strstr(f->out, "epoch   1"));
    assert_int_equal(tu_cli_run(f, "train %s %s --out %s/a.bin", gz, flags, f->dir), 0);
    /* epoch lines hold timings: compare the cost and accuracies of each */
    const char *a = plain, *b = strstr(f->out, "epoch   1");
    assert_non_null(b);
    for (int e = 0; e < 2; e++) {
        assert_memory_equal(a, b, strlen("epoch   1  cost 0.0000  train  00.00%  test  00.00%"));
        a = strchr(a, '\n') + 1;
        b = strchr(b, '\n') + 1;
    }

    /* a damaged .gz: one line naming it */
    tu_path(dst, gz, "t10k-labels-idx1-ubyte.gz");
    size_t n;
    unsigned char *bytes = tu_read_file(dst, &n);
    tu_write_file(dst, bytes, n - 5);
    expect_error(f, tu_cli_run(f, "train %s --epochs 1 --out %s/a.bin", gz, f->dir), 1,
                 "t10k-labels-idx1-ubyte.gz: truncated");
    bytes[n - 6] ^= 0x40; /* in the CRC-32 */
    tu_write_file(dst, bytes, n);
    expect_error(f, tu_cli_run(f, "eval %s/a.bin %s", f->dir, gz), 1, "CRC-32 mismatch");
    free(bytes);
}

static void test_info_json_and_export(void **state)
{
    fixture *f = *state;
    assert_int_equal(tu_cli_run(f, "train %s --hidden 5 --epochs 1 --out %s/m.bin", f->dir, f->dir),
                     0);
    assert_int_equal(tu_cli_run(f, "info %s/m.bin --json", f->dir), 0);
    assert_string_equal(f->err, "");
    assert_int_equal(tu_count_lines(f->out), 1);
    assert_true(tu_json_valid(f->out));
    assert_non_null(strstr(f->out, "\"sizes\":[144,5,6]"));
    assert_non_null(strstr(f->out, "\"command\":\"mlp train "));

    assert_int_equal(tu_cli_run(f, "export %s/m.bin --npy %s/npy", f->dir, f->dir), 0);
    assert_non_null(strstr(f->out, "W0.npy b0.npy W1.npy b1.npy model.json"));
    char p[4096];
    size_t shape[8], ndim;
    snprintf(p, sizeof p, "%s/npy/W1.npy", f->dir);
    free(tu_npy_read(p, shape, &ndim));
    assert_int_equal(ndim, 2);
    assert_int_equal(shape[0], 6);
    assert_int_equal(shape[1], 5);
    expect_error(f, tu_cli_run(f, "export %s/m.bin --npy %s/no/npy", f->dir, f->dir), 1,
                 "cannot create");
}

static void test_bench_json_is_one_object(void **state)
{
    fixture *f = *state;
    assert_int_equal(tu_cli_run(f, "bench %s --config A --epochs 2 --json", f->dir), 0);
    assert_string_equal(f->err, "");
    assert_int_equal(tu_count_lines(f->out), 1);
    assert_true(tu_json_valid(f->out));
    assert_non_null(strstr(f->out, "\"configs\":[{\"name\":\"A\",\"sizes\":[144,16,16,6]"));
    assert_int_equal(count(f->out, "\"epoch_seconds\":["), 1);
    assert_non_null(strstr(f->out, "\"peak_rss_mb\":"));
}

/* What a flag's name is made of after its two dashes. */
#define FLAG_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"

/* True if text holds word, not as part of a longer name: "--lr" is not found in "--lr-end",
 * nor "mlp plot" in "mlp plots". */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)); p++) {
        bool starts = p == text || !strchr(FLAG_CHARS, p[-1]);
        bool ends = p[n] == '\0' || !strchr(FLAG_CHARS, p[n]);
        if (starts && ends)
            return true;
    }
    return false;
}

/* The part of the manual from the line that starts with head (followed by a space or a
 * quote) to the next .SS or .SH line, as a new string; NULL if there is no such line. */
static char *man_part(const char *man, const char *head)
{
    size_t n = strlen(head);
    for (const char *p = man; (p = strstr(p, head)); p += n) {
        if ((p != man && p[-1] != '\n') || (p[n] != ' ' && p[n] != '"' && p[n] != '\n'))
            continue;
        const char *body = p + n, *end = body + strlen(body);
        const char *ss = strstr(body, "\n.SS "), *sh = strstr(body, "\n.SH ");
        if (ss && ss < end)
            end = ss;
        if (sh && sh < end)
            end = sh;
        char *part = malloc((size_t)(end - p) + 1);
        assert_non_null(part);
        memcpy(part, p, (size_t)(end - p));
        part[end - p] = '\0';
        return part;
    }
    return NULL;
}

/* Every command `mlp help` lists has a line in the manual's SYNOPSIS and a subsection
 * `.SS "mlp NAME ..."`; every flag a command's help lists appears in that command's
 * subsection; and every flag the manual names is one that some help lists. So a flag added
 * to a help text and not to the manual, a new command without its subsection, or a flag the
 * manual describes but the program does not have all fail here. */
static void test_manual_page_matches_help(void **state)
{
    fixture *f = *state;
    size_t len;
    char *man = (char *)tu_read_file("man/mlp.1", &len);
    assert_non_null(man);
    man = realloc(man, len + 1);
    man[len] = '\0';
    /* roff writes a hyphen as \- */
    size_t w = 0;
    for (size_t r = 0; r < len; r++) {
        if (man[r] == '\\' && man[r + 1] == '-')
            r++;
        man[w++] = man[r];
    }
    man[w] = '\0';
    char *synopsis = man_part(man, ".SH SYNOPSIS");
    assert_non_null(synopsis);

    /* the commands, as the overview lists them: "  NAME ARGS   summary" after "commands:" */
    assert_int_equal(tu_cli_run(f, "help"), 0);
    char overview[CAP], names[32][32];
    size_t n_names = 0;
    strcpy(overview, f->out);
    const char *list = strstr(overview, "commands:\n");
    assert_non_null(list);
    for (const char *line = list + strlen("commands:\n"); strncmp(line, "  ", 2) == 0;) {
        size_t n = strcspn(line + 2, " \n");
        assert_true(n > 0 && n < sizeof names[0] && n_names < 32);
        snprintf(names[n_names++], sizeof names[0], "%.*s", (int)n, line + 2);
        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
    /* the overview must have been read: these at least are there */
    const char *known[] = {"train", "presets",   "eval",     "info",    "export",
                           "bench", "gradcheck", "explain",  "predict", "weights",
                           "plot",  "help",      "--version"};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        bool found = false;
        for (size_t c = 0; c < n_names; c++)
            found = found || !strcmp(names[c], known[k]);
        if (!found) {
            print_error("'mlp help' does not list '%s'\n", known[k]);
            fail();
        }
    }

    int bad = 0;
    char all_flags[CAP] = " --help --version ";
    for (size_t c = 0; c <= n_names; c++) {
        /* the overview's own flags first, then each command's help */
        char help[CAP], head[80], word[80];
        const char *name = c < n_names ? names[c] : NULL;
        char *section = NULL;
        if (name) {
            snprintf(word, sizeof word, "mlp %.31s", name);
            if (!has_word(synopsis, word)) {
                print_error("the SYNOPSIS of man/mlp.1 has no '%s'\n", word);
                bad++;
            }
            snprintf(head, sizeof head, ".SS \"mlp %.31s", name);
            section = man_part(man, head);
            if (!section) {
                print_error("man/mlp.1 has no section '.SS \"mlp %s ...\"'\n", name);
                bad++;
            }
            if (name[0] == '-' || !strcmp(name, "help")) {
                free(section); /* not a command with a help text of its own */
                continue;
            }
            assert_int_equal(tu_cli_run(f, "help %s", name), 0);
        }
        strcpy(help, name ? f->out : overview);
        for (const char *p = help; (p = strstr(p, "--"));) {
            size_t n = 2 + strspn(p + 2, FLAG_CHARS);
            char flag[64];
            snprintf(flag, sizeof flag, "%.*s", (int)n, p);
            p += n;
            if (n == 2)
                continue;
            if (section && !has_word(section, flag)) {
                print_error("'mlp help %s' lists %s, its section of man/mlp.1 does not\n", name,
                            flag);
                bad++;
            }
            snprintf(word, sizeof word, " %s ", flag);
            if (!strstr(all_flags, word)) {
                strcat(all_flags, flag);
                strcat(all_flags, " ");
            }
        }
        free(section);
    }
    char unknown[CAP] = " ";
    for (const char *p = man; (p = strstr(p, "--"));) {
        size_t n = 2 + strspn(p + 2, FLAG_CHARS);
        char flag[66];
        snprintf(flag, sizeof flag, " %.*s ", (int)n, p);
        p += n;
        if (n > 2 && !strstr(all_flags, flag) && !strstr(unknown, flag)) {
            print_error("man/mlp.1 names%sbut no command's help does\n", flag);
            strcat(unknown, flag + 1);
            bad++;
        }
    }
    free(synopsis);
    free(man);
    if (bad)
        fail_msg("man/mlp.1 and the help texts differ in %d place(s)", bad);
}

static void test_help_and_version(void **state)
{
    fixture *f = *state;
    assert_int_equal(tu_cli_run(f, "--version"), 0);
    assert_non_null(strstr(f->out, "mlp "));
    assert_int_equal(tu_cli_run(f, "help"), 0);
    assert_non_null(strstr(f->out, "exit status"));
    assert_int_equal(tu_cli_run(f, "help train"), 0);
    assert_non_null(strstr(f->out, "--hidden"));
    char help_train[CAP];
    strcpy(help_train, f->out);
    assert_int_equal(tu_cli_run(f, "train --help"), 0);
    assert_string_equal(f->out, help_train);
    assert_int_equal(tu_cli_run(f, "help eval"), 0);
    assert_int_equal(tu_cli_run(f, "help info"), 0);
    assert_int_equal(tu_cli_run(f, "%s", ""), 2); /* no command: the overview, on stderr */
    assert_non_null(strstr(f->err, "usage"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_train_then_eval_agree),
        T(test_same_seed_same_bytes),
        T(test_thread_count_does_not_change_the_model),
        T(test_usage_errors_exit_2_with_one_line),
        T(test_optimiser_flags_refused_before_data),
        T(test_bad_data_and_models_exit_1_with_one_line),
        T(test_any_dataset_by_explicit_paths),
        T(test_classes_without_images_are_named),
        T(test_gzipped_directory_trains_the_same),
        T(test_info_json_and_export),
        T(test_bench_json_is_one_object),
        T(test_manual_page_matches_help),
        T(test_help_and_version),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
