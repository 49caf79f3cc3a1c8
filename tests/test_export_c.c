/*
 * export_c: the C source `mlp export --c` writes, compiled and run. On small networks trained
 * here on synthetic data (every activation with both costs, none to three hidden layers):
 *  - the files compile without a warning under gcc and clang, -std=c99 -pedantic and more;
 *  - float: the parameters are the model's floats bit for bit, and every test image gets
 *    mlp's class and mlp's outputs (its reference kernels' forward pass) within 1e-5;
 *  - int8: the weights and scales are the documented quantisation of the model's, the outputs
 *    those of a double-precision forward pass of the documented arithmetic, the accuracy
 *    little below float's, and the exponential as accurate as the header says;
 *  - the check program prints `mlp eval`'s accuracy line, and refuses malformed files;
 *  - the command refuses bad prefixes, flags and targets, leaving nothing behind;
 *  - the export cross-compiles for a Cortex-M4 when arm-none-eabi-gcc is there.
 * A compiler that is missing is one skipped check and one line saying what to install, or a
 * failure under CI=true, where .ci/run has installed them all.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "export_c.h"
#include "kernels.h"
#include "model.h"
#include "net.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { ROWS = 6, COLS = 5, INPUTS = ROWS * COLS, CLASSES = 5, N_TRAIN = 400, N_TEST = 150 };
#define MAX_UNITS 32 /* no layer below is wider, the input included */

/* every hidden activation with both costs, and none to three hidden layers among them */
static const struct {
    const char *act, *cost, *hidden, *lr;
} nets[] = {
    {"sigmoid", "quadratic", "8,6", "3"},  {"sigmoid", "xent", "none", "0.5"},
    {"tanh", "quadratic", "9,5,6", "0.3"}, {"tanh", "xent", "7", "0.1"},
    {"relu", "quadratic", "10,7", "0.3"},  {"relu", "xent", "12,6,5", "0.2"},
};
#define N_NETS (sizeof nets / sizeof nets[0])

/* Flags the generated files must compile under without a warning: the C99 the header
 * promises, and what matters on a microcontroller (no silent double arithmetic). */
static const char strict[] = "-std=c99 -pedantic -Wall -Wextra -Werror -Wshadow -Wconversion "
                             "-Wdouble-promotion -Wstrict-prototypes -Wmissing-prototypes";

typedef struct {
    tu_cli c;
    char model[N_NETS][4096];
    char images[4096], labels[4096], raw[4096]; /* the test set, and its pixels alone */
    uint8_t px[N_TEST * INPUTS];
    uint8_t y[N_TEST];
    char *out;      /* what the last sh() printed, stdout and stderr */
    const char *cc; /* gcc, or where it is missing cc */
    bool clang;     /* whether clang compiles the export too */
} fixture;

static int sh(fixture *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Runs a shell command; its stdout and stderr go to f->out. Returns its exit status. */
static int sh(fixture *f, const char *fmt, ...)
{
    char cmd[16384], full[sizeof cmd + 2 * 4096], log[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    tu_path(log, f->c.dir, "sh.log");
    snprintf(full, sizeof full, "(%s) >'%s' 2>&1", cmd, log);
    int ws = system(full);
    size_t n = 0;
    unsigned char *d = tu_read_file(log, &n);
    n = n < TU_CLI_CAP - 1 ? n : TU_CLI_CAP - 1;
    memcpy(f->out, d, n);
    f->out[n] = '\0';
    free(d);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && !strcmp(ci, "true");
}

/* Whether tool runs; if not, one line saying what to install (a failure under CI). */
static bool have(const char *tool, const char *package, const char *why)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", tool);
    if (system(cmd) == 0)
        return true;
    if (in_ci())
        fail_msg("%s not found, and CI installs it (%s)", tool, package);
    print_message("  %s not found: install %s to %s\n", tool, package, why);
    return false;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_cli_open(&f->c);
    f->out = malloc(TU_CLI_CAP);
    assert_non_null(f->out);
    f->cc = have("gcc", "gcc", "compile the export with it") ? "gcc" : "cc";
    f->clang = have("clang", "clang", "compile the export with it too");
    tu_write_synthetic(f->c.dir, N_TRAIN, N_TEST, ROWS, COLS, CLASSES, 7);
    tu_path(f->images, f->c.dir, "t10k-images-idx3-ubyte");
    tu_path(f->labels, f->c.dir, "t10k-labels-idx1-ubyte");
    tu_path(f->raw, f->c.dir, "test.raw");
    size_t n;
    unsigned char *d = tu_read_file(f->images, &n);
    assert_int_equal(n, 16 + sizeof f->px);
    memcpy(f->px, d + 16, sizeof f->px);
    free(d);
    d = tu_read_file(f->labels, &n);
    assert_int_equal(n, 8 + sizeof f->y);
    memcpy(f->y, d + 8, sizeof f->y);
    free(d);
    tu_write_file(f->raw, f->px, sizeof f->px);
    for (size_t m = 0; m < N_NETS; m++) {
        snprintf(f->model[m], sizeof f->model[m], "%s/m%zu.bin", f->c.dir, m);
        int st = tu_cli_run(&f->c,
                            "train %s --hidden %s --activation %s --cost %s --lr %s --epochs 8 "
                            "--threads 1 --quiet --out %s",
                            f->c.dir, nets[m].hidden, nets[m].act, nets[m].cost, nets[m].lr,
                            f->model[m]);
        if (st != 0)
            fail_msg("training model %zu: %s", m, f->c.err);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->out);
    tu_cli_close(&f->c);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- building and running */

/* Exports model m into dir/ (removed first) as prefix "net"; int8 or float. */
static void export(fixture *f, size_t m, const char *dir, bool int8)
{
    assert_int_equal(sh(f, "rm -rf '%s'", dir), 0);
    int st =
        tu_cli_run(&f->c, "export %s --c %s --name net%s", f->model[m], dir, int8 ? " --int8" : "");
    if (st != 0)
        fail_msg("export: %s", f->c.err);
    assert_non_null(strstr(f->c.out, "net.h net.c net_check.c"));
}

/* dir's net.c and net_check.c, compiled by cc under the strict flags: no message at all */
static void compile_strict(fixture *f, const char *cc, const char *dir)
{
    int st = sh(f,
                "cd '%s' && %s %s -O2 -c -o net-%s.o net.c && "
                "%s %s -O2 -o check-%s net_check.c net-%s.o -lm",
                dir, cc, strict, cc, cc, strict, cc, cc);
    if (st != 0 || f->out[0])
        fail_msg("%s on the export of %s: exit %d\n%s", cc, dir, st, f->out);
}

/* driver.c in dir: includes net.c to reach its static parts. "dump" prints every parameter
 * array in the order of the file; "run RAW" prints, for each image of RAW, the class and the
 * outputs as hex floats, and a complaint if the float and the byte entry points disagree;
 * "exp" prints net_exp's largest relative error over [-87, 88] and its value at -1e30, 1e30
 * and NaN. Built with the sanitizers, so that undefined behaviour of the generated code
 * fails the test. */
static void build_driver(fixture *f, const char *dir, size_t n_layers, bool int8)
{
    char path[4096];
    tu_path(path, dir, "driver.c");
    FILE *d = fopen(path, "w");
    assert_non_null(d);
    fprintf(d, "#include \"net.c\"\n#include <math.h>\n#include <stdio.h>\n#include <string.h>\n"
               "static void dump_f(const float *v, size_t n)\n{\n"
               "    for (size_t i = 0; i < n; i++)\n        printf(\"%%a\\n\", (double)v[i]);\n}\n"
               "static void dump_i(const int8_t *v, size_t n)\n{\n"
               "    for (size_t i = 0; i < n; i++)\n        printf(\"%%d\\n\", v[i]);\n}\n"
               "#define DUMP(f, a) f(a, sizeof a / sizeof a[0])\n"
               "int main(int argc, char **argv)\n{\n"
               "    if (argc == 2 && !strcmp(argv[1], \"dump\")) {\n");
    for (size_t l = 0; l < n_layers; l++) {
        fprintf(d, "        DUMP(%s, net_w%zu);\n", int8 ? "dump_i" : "dump_f", l);
        if (int8)
            fprintf(d, "        DUMP(dump_f, net_s%zu);\n", l);
        fprintf(d, "        DUMP(dump_f, net_b%zu);\n", l);
    }
    fprintf(d, "        return 0;\n    }\n");
    if (int8)
        fprintf(d, "    if (argc == 2 && !strcmp(argv[1], \"exp\")) {\n"
                   "        double worst = 0.0;\n"
                   "        for (long i = -870000; i <= 880000; i++) {\n"
                   "            float x = (float)i / 10000.0f;\n"
                   "            double e = exp((double)x), r = fabs(net_exp(x) - e) / e;\n"
                   "            worst = r > worst ? r : worst;\n"
                   "        }\n"
                   "        printf(\"%%g %%g %%g %%g\\n\", worst, (double)net_exp(-1e30f),\n"
                   "               (double)net_exp(1e30f), (double)net_exp(NAN));\n"
                   "        return 0;\n    }\n");
    fprintf(d, "    FILE *in = fopen(argv[2], \"rb\");\n"
               "    uint8_t px[NET_INPUTS];\n"
               "    float x[NET_INPUTS], o[NET_CLASSES], o2[NET_CLASSES];\n"
               "    while (in && fread(px, 1, sizeof px, in) == sizeof px) {\n"
               "        for (size_t i = 0; i < NET_INPUTS; i++)\n"
               "            x[i] = (float)px[i] / 255.0f;\n"
               "        int c = net_predict_u8(px, o), c2 = net_predict(x, o2);\n"
               "        if (c != c2 || memcmp(o, o2, sizeof o) != 0)\n"
               "            printf(\"the entry points differ\\n\");\n"
               "        printf(\"%%d\", c);\n"
               "        for (size_t j = 0; j < NET_CLASSES; j++)\n"
               "            printf(\" %%a\", (double)o[j]);\n"
               "        printf(\"\\n\");\n"
               "    }\n"
               "    return in ? 0 : 1;\n}\n");
    assert_int_equal(fclose(d), 0);
    int st = sh(f,
                "cd '%s' && cc -std=c99 -O1 -fsanitize=address,undefined,float-cast-overflow,"
                "float-divide-by-zero -fno-sanitize-recover=all -o driver driver.c -lm",
                dir);
    if (st != 0)
        fail_msg("driver: %s", f->out);
}

/* The driver's "run": classes (N_TEST) and outputs (N_TEST, CLASSES) */
static void run_driver(fixture *f, const char *dir, int *cls, double *outs)
{
    assert_int_equal(sh(f, "cd '%s' && ./driver run '%s'", dir, f->raw), 0);
    if (strstr(f->out, "differ"))
        fail_msg("%s: predict and predict_u8 disagree on an image", dir);
    char *p = f->out;
    for (size_t i = 0; i < N_TEST; i++) {
        cls[i] = (int)strtol(p, &p, 10);
        for (size_t j = 0; j < CLASSES; j++)
            outs[i * CLASSES + j] = strtod(p, &p);
    }
}

/* The check program's accuracy line on the test set; returns the images it counts right */
static size_t run_check(fixture *f, const char *dir, const char *cc, char *line, size_t cap)
{
    unsigned long right, n;
    assert_int_equal(sh(f, "cd '%s' && ./check-%s '%s' '%s'", dir, cc, f->images, f->labels), 0);
    snprintf(line, cap, "%s", f->out);
    if (sscanf(f->out, "accuracy %*f%% (%lu/%lu)", &right, &n) != 2 || n != N_TEST)
        fail_msg("check program: '%s'", f->out);
    return right;
}

/* ---------------------------------------------------------------- references */

/* mlp's own forward pass, on the reference kernels: classes and outputs as run_driver's */
static size_t mlp_reference(const char *model, int *cls, double *outs, const uint8_t *px,
                            const uint8_t *y)
{
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    float x[INPUTS];
    size_t right = 0;
    assert_int_equal(mlp_model_load(model, &net, 1, &meta, &err), MLP_OK);
    mlp_net_attach(&net, mlp_kernels_get("ref"), NULL);
    for (size_t i = 0; i < N_TEST; i++) {
        for (size_t k = 0; k < INPUTS; k++)
            x[k] = (float)px[i * INPUTS + k] / 255.0f;
        mlp_net_set_input(&net, 0, x);
        mlp_net_forward(&net, 1);
        cls[i] = (int)mlp_net_predict_row(&net, 0);
        right += cls[i] == y[i];
        for (size_t j = 0; j < CLASSES; j++)
            outs[i * CLASSES + j] = net.a[net.n_layers][j];
    }
    mlp_net_free(&net);
    return right;
}

/* The documented weight quantisation: the scale of a row, and a weight on it */
static float row_scale(const float *w, size_t n)
{
    float mx = 0.0f;
    for (size_t k = 0; k < n; k++)
        mx = fabsf(w[k]) > mx ? fabsf(w[k]) : mx;
    return mx / 127.0f;
}

static long quantised(float w, float s)
{
    return s == 0.0f ? 0 : lround((double)w / (double)s);
}

/* The documented int8 arithmetic in double, for one image: out (CLASSES); returns the class */
static int int8_forward(const mlp_net *net, const uint8_t *px, double *out)
{
    const size_t L = net->n_layers;
    long x[MAX_UNITS];
    double a[MAX_UNITS] = {0}, sx = 1.0 / 255.0;
    for (size_t k = 0; k < net->sizes[0]; k++)
        x[k] = px[k];
    for (size_t l = 0; l < L; l++) {
        const size_t in = net->sizes[l], n = net->sizes[l + 1];
        for (size_t j = 0; j < n; j++) {
            const float *w = net->W[l] + j * in;
            float s = row_scale(w, in);
            long sum = 0;
            for (size_t k = 0; k < in; k++)
                sum += quantised(w[k], s) * x[k];
            double z = (double)sum * (double)s * sx + (double)net->b[l][j];
            a[j] = l + 1 == L && net->cost == MLP_COST_XENT    ? z
                   : l + 1 == L || net->act == MLP_ACT_SIGMOID ? 1.0 / (1.0 + exp(-z))
                   : net->act == MLP_ACT_TANH                  ? tanh(z)
                                                               : fmax(z, 0.0);
        }
        if (l + 1 == L)
            break;
        const bool sign = net->act == MLP_ACT_TANH;
        double mx = 0.0;
        for (size_t j = 0; j < n; j++)
            mx = fmax(mx, fabs(a[j]));
        sx = mx / (sign ? 127.0 : 255.0);
        for (size_t j = 0; j < n; j++)
            x[j] = mx > 0.0 ? lround(a[j] / sx) : 0;
    }
    double sum = 0.0, mx = a[0];
    size_t best = 0;
    for (size_t j = 0; j < net->sizes[L]; j++) {
        mx = fmax(mx, a[j]);
        best = a[j] > a[best] ? j : best;
    }
    for (size_t j = 0; j < net->sizes[L]; j++)
        sum += net->cost == MLP_COST_XENT ? exp(a[j] - mx) : 0.0;
    for (size_t j = 0; j < net->sizes[L]; j++)
        out[j] = net->cost == MLP_COST_XENT ? exp(a[j] - mx) / sum : a[j];
    return (int)best;
}

/* `mlp eval`'s accuracy line, up to the two spaces before "mean cost" */
static void eval_line(fixture *f, size_t m, char *line, size_t cap)
{
    assert_int_equal(tu_cli_run(&f->c, "eval %s %s", f->model[m], f->c.dir), 0);
    const char *start = strstr(f->c.out, "accuracy "), *end = strstr(f->c.out, "  mean cost");
    assert_true(start && end && start < end);
    snprintf(line, cap, "%.*s\n", (int)(end - start), start);
}

/* The driver's "dump" as numbers, in order; returns how many */
static size_t dump(fixture *f, const char *dir, double *v, size_t cap)
{
    assert_int_equal(sh(f, "cd '%s' && ./driver dump", dir), 0);
    size_t n = 0;
    for (char *p = f->out, *end; n < cap; p = end) {
        v[n] = strtod(p, &end);
        if (end == p)
            break;
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- float */

/* The parameters in the file are the model's, bit for bit. */
static void expect_exact_parameters(fixture *f, const char *dir, const mlp_net *net)
{
    double v[4096];
    size_t n = dump(f, dir, v, 4096), i = 0;
    assert_int_equal(n, net->n_params);
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t w = net->sizes[l + 1] * net->sizes[l];
        for (size_t k = 0; k < w + net->sizes[l + 1]; k++, i++) {
            float want = k < w ? net->W[l][k] : net->b[l][k - w], got = (float)v[i];
            if (memcmp(&want, &got, sizeof got) != 0)
                fail_msg("%s: parameter %zu is %a, the model's %a", dir, i, (double)got,
                         (double)want);
        }
    }
}

static void test_float_is_mlp(void **state)
{
    fixture *f = *state;
    char dir[4096], line[256], want[256];
    int cls[N_TEST], ref_cls[N_TEST];
    double outs[N_TEST * CLASSES], ref[N_TEST * CLASSES];
    tu_path(dir, f->c.dir, "float");
    for (size_t m = 0; m < N_NETS; m++) {
        mlp_net net;
        mlp_model_meta meta;
        mlp_error err;
        assert_int_equal(mlp_model_load(f->model[m], &net, 1, &meta, &err), MLP_OK);
        export(f, m, dir, false);
        compile_strict(f, f->cc, dir);
        if (f->clang)
            compile_strict(f, "clang", dir);
        build_driver(f, dir, net.n_layers, false);
        expect_exact_parameters(f, dir, &net);
        size_t right = mlp_reference(f->model[m], ref_cls, ref, f->px, f->y);
        run_driver(f, dir, cls, outs);
        for (size_t i = 0; i < N_TEST; i++)
            if (cls[i] != ref_cls[i])
                fail_msg("model %zu, image %zu: class %d, mlp's %d", m, i, cls[i], ref_cls[i]);
        tu_check_close(nets[m].act, outs, ref, N_TEST * CLASSES, 1e-5, 0.0);
        /* the check program says what mlp eval says, in the same words */
        eval_line(f, m, want, sizeof want);
        assert_int_equal(run_check(f, dir, f->cc, line, sizeof line), right);
        assert_string_equal(line, want);
        if (f->clang)
            assert_int_equal(run_check(f, dir, "clang", line, sizeof line), right);
        mlp_net_free(&net);
    }
}

/* ---------------------------------------------------------------- int8 */

/* The int8 weights and scales are the documented quantisation of the model's; the biases are
 * the model's own. */
static void expect_quantised_parameters(fixture *f, const char *dir, const mlp_net *net)
{
    double v[4096];
    size_t n = dump(f, dir, v, 4096), i = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const size_t in = net->sizes[l], out = net->sizes[l + 1];
        for (size_t k = 0; k < out * in; k++, i++) {
            long want = quantised(net->W[l][k], row_scale(net->W[l] + k / in * in, in));
            assert_true(i < n && labs(want) <= 127);
            if ((double)want != v[i])
                fail_msg("%s: weight %zu of layer %zu is %g, not %ld", dir, k, l, v[i], want);
        }
        for (size_t j = 0; j < out; j++, i++)
            assert_true(i < n && (float)v[i] == row_scale(net->W[l] + j * in, in));
        for (size_t j = 0; j < out; j++, i++)
            assert_true(i < n && (float)v[i] == net->b[l][j]);
    }
    assert_int_equal(n, i);
}

static void test_int8_is_as_documented(void **state)
{
    fixture *f = *state;
    char dir[4096], fdir[4096], line[256];
    int cls[N_TEST], ref_cls[N_TEST];
    double outs[N_TEST * CLASSES], ref[N_TEST * CLASSES];
    tu_path(dir, f->c.dir, "int8");
    tu_path(fdir, f->c.dir, "float8");
    for (size_t m = 0; m < N_NETS; m++) {
        mlp_net net;
        mlp_model_meta meta;
        mlp_error err;
        assert_int_equal(mlp_model_load(f->model[m], &net, 1, &meta, &err), MLP_OK);
        export(f, m, dir, true);
        compile_strict(f, f->cc, dir);
        if (f->clang)
            compile_strict(f, "clang", dir);
        build_driver(f, dir, net.n_layers, true);
        expect_quantised_parameters(f, dir, &net);
        run_driver(f, dir, cls, outs);
        size_t right = 0, agree = 0;
        for (size_t i = 0; i < N_TEST; i++) {
            ref_cls[i] = int8_forward(&net, f->px + i * INPUTS, ref + i * CLASSES);
            agree += cls[i] == ref_cls[i];
            right += cls[i] == f->y[i];
        }
        /* float rounding may put a quantised activation one step from the double one */
        tu_check_close(nets[m].act, outs, ref, N_TEST * CLASSES, 2e-3, 0.0);
        assert_true(agree >= N_TEST - 1);
        assert_int_equal(run_check(f, dir, f->cc, line, sizeof line), right);
        /* and it loses little against the float export */
        export(f, m, fdir, false);
        compile_strict(f, f->cc, fdir);
        size_t right_float = run_check(f, fdir, f->cc, line, sizeof line);
        if (right + 2 < right_float)
            fail_msg("model %zu: int8 gets %zu of %d right, float %zu", m, right, N_TEST,
                     right_float);
        mlp_net_free(&net);
    }
}

/* The int8 source's own exponential: within the header's 2e-7, and finite at the ends. */
static void test_int8_exponential(void **state)
{
    fixture *f = *state;
    char dir[4096];
    double worst, lo, hi, nan_;
    tu_path(dir, f->c.dir, "exp");
    export(f, 0, dir, true);
    build_driver(f, dir, 3, true);
    assert_int_equal(sh(f, "cd '%s' && ./driver exp", dir), 0);
    assert_int_equal(sscanf(f->out, "%lg %lg %lg %lg", &worst, &lo, &hi, &nan_), 4);
    if (!(worst < 2e-7))
        fail_msg("net_exp: relative error %g", worst);
    assert_true(lo > 0.0 && lo < 1e-37 && hi > 1e38 && isfinite(hi) && isfinite(nan_));
}

/* ---------------------------------------------------------------- the check program */

/* Runs the check program of dir with args; wants exit status st, one line on stderr that
 * holds want, and nothing on stdout. */
static void expect_check_refuses(fixture *f, const char *dir, const char *args, int st,
                                 const char *want)
{
    int got = sh(f, "cd '%s' && ./check-%s %s 2>&1 >/dev/null", dir, f->cc, args);
    if (got != st || !strstr(f->out, want) || tu_count_lines(f->out) != 1)
        fail_msg("check %s: exit %d, '%s'; wanted %d and '%s'", args, got, f->out, st, want);
}

/* Every way a test file can be wrong: exit status 1 (2 for usage), one line on stderr that
 * says what, nothing on stdout. */
static void test_check_program_refuses_bad_files(void **state)
{
    fixture *f = *state;
    char dir[4096], x[4096], args[9000];
    tu_path(dir, f->c.dir, "chk");
    tu_path(x, dir, "x");
    export(f, 0, dir, false);
    compile_strict(f, f->cc, dir);
    snprintf(args, sizeof args, "'%s' '%s' extra", f->images, f->labels);
    expect_check_refuses(f, dir, "", 2, "usage: net_check IMAGES LABELS");
    expect_check_refuses(f, dir, args, 2, "usage: net_check IMAGES LABELS");
    snprintf(args, sizeof args, "'%s/missing' '%s'", dir, f->labels);
    expect_check_refuses(f, dir, args, 1, "missing: No such file");
    snprintf(args, sizeof args, "'%s' '%s'", dir, f->labels);
    expect_check_refuses(f, dir, args, 1, "Is a directory");
    tu_write_gzip(x, f->px, 100);
    snprintf(args, sizeof args, "'%s' '%s'", x, f->labels);
    expect_check_refuses(f, dir, args, 1, "gzipped: gunzip it first");

    uint8_t labels[N_TEST + 1];
    memcpy(labels, f->y, N_TEST);
    labels[N_TEST] = 0;
    static const unsigned char im150[] = {0, 0, 8, 3, 0, 0, 0, 150, 0, 0, 0, ROWS, 0, 0, 0, COLS};
    static const unsigned char im5x6[] = {0, 0, 8, 3, 0, 0, 0, 150, 0, 0, 0, COLS, 0, 0, 0, ROWS};
    static const unsigned char im0[] = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, ROWS, 0, 0, 0, COLS};
    static const unsigned char lb150[] = {0, 0, 8, 1, 0, 0, 0, 150};
    static const unsigned char lb149[] = {0, 0, 8, 1, 0, 0, 0, 149};
    static const struct {
        const unsigned char *head;
        size_t head_len;
        bool pixels;     /* the body: the test pixels, else the labels */
        size_t body_len; /* of those bytes, cut short or with one more */
        bool as_images;  /* x is given as the images, else as the labels */
        bool bad_label;  /* label 3 set to CLASSES */
        const char *want;
    } cases[] = {
        {im150, 3, true, 0, true, false, "truncated header"},
        {lb150, 8, false, N_TEST, true, false, "not IDX images"},
        {im150, 16, true, N_TEST * INPUTS, false, false, "not IDX labels"},
        {im5x6, 16, true, N_TEST * INPUTS, true, false,
         "images of 5x6 pixels; the network takes 6x5"},
        {im0, 16, true, 0, true, false, "no images"},
        {lb149, 8, false, N_TEST - 1, false, false, "holds 150 images, "},
        {im150, 16, true, 100 * INPUTS, true, false, "truncated after 100 of 150"},
        {lb150, 8, false, 120, false, false, "truncated after 120 of 150"},
        {im150, 16, true, N_TEST * INPUTS + 1, true, false, "more bytes than its header"},
        {lb150, 8, false, N_TEST + 1, false, false, "more bytes than its header"},
        {lb150, 8, false, N_TEST, false, true, "label 5 (item 3) is not a class"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char *b = malloc(cases[k].head_len + cases[k].body_len + 1);
        assert_non_null(b);
        labels[3] = cases[k].bad_label ? CLASSES : f->y[3];
        memcpy(b, cases[k].head, cases[k].head_len);
        memcpy(b + cases[k].head_len, cases[k].pixels ? f->px : labels, cases[k].body_len);
        tu_write_file(x, b, cases[k].head_len + cases[k].body_len);
        free(b);
        snprintf(args, sizeof args, "'%s' '%s'", cases[k].as_images ? x : f->images,
                 cases[k].as_images ? f->labels : x);
        expect_check_refuses(f, dir, args, 1, cases[k].want);
    }
}

/* ---------------------------------------------------------------- the command */

/* No file of the export but `there` (what was there before), and no temporary or lock
 * file, in dir (which may not exist). */
static void expect_nothing_written(fixture *f, const char *dir, const char *there)
{
    assert_int_equal(sh(f,
                        "ls -A '%s' 2>/dev/null | grep -v '^%s$' | "
                        "grep -E '^net(\\.h|\\.c|_check\\.c)$|\\.tmp\\.|\\.lock$' || true",
                        dir, there),
                     0);
    if (f->out[0])
        fail_msg("%s holds %s", dir, f->out);
}

static void expect_usage(fixture *f, const char *args, const char *want)
{
    int st = tu_cli_run(&f->c, "export %s", args);
    if (st != 2 || !strstr(f->c.err, want) || tu_count_lines(f->c.err) != 1 || f->c.out[0])
        fail_msg("export %s: exit %d, '%s'; wanted 2 and '%s'", args, st, f->c.err, want);
}

static void test_flags_and_prefixes_refused(void **state)
{
    fixture *f = *state;
    char d[4096], args[9000];
    tu_path(d, f->c.dir, "never");
    const char *m = f->model[0];
    static const struct {
        const char *flags, *want;
    } cases[] = {
        {"--int8", "--int8 is for C source: it needs --c DIR"},
        {"--name net", "--name is for C source: it needs --c DIR"},
        {"--npy %s --int8", "--int8 is for C source"},
        {"--c", "--c needs a value"},
        {"--c %s --int8=yes", "unknown flag '--int8=yes'"},
        {"--c %s --name", "--name needs a value"},
        {"--c %s --name ''", "--name"},
        {"--c %s --name 3d", "--name: '3d' is not a C identifier"},
        {"--c %s --name a-b", "--name: 'a-b' is not a C identifier"},
        {"--c %s --name 'a b'", "--name: 'a b' is not a C identifier"},
        {"--c %s --name _net", "--name: '_net' is not a C identifier"},
        {"--c %s --name n\xc3\xa9t", "is not a C identifier"},
        {"--c %s --name int", "--name: 'int' is a C keyword"},
        {"--c %s --name static_assert", "--name: 'static_assert' is a C keyword"},
        {"--c %s --name abcdefghijklmnopqrstu", "is longer than 20 characters"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char flags[4200];
        snprintf(flags, sizeof flags, cases[k].flags, d);
        snprintf(args, sizeof args, "%s %s", m, flags);
        expect_usage(f, args, cases[k].want);
        struct stat st;
        assert_int_not_equal(stat(d, &st), 0); /* not even the directory */
    }
    /* a prefix at the limit, in any case, is fine */
    assert_int_equal(tu_cli_run(&f->c, "export %s --c %s --name Abcdefghijklmnopq_t9", m, d), 0);
}

/* Bad targets: a file for DIR, a missing parent, a directory or a FIFO where a file goes,
 * the model itself as a target. Each is refused with one line and leaves nothing. */
static void test_targets_refused(void **state)
{
    fixture *f = *state;
    const char *bin = getenv("MLP_BIN") && getenv("MLP_BIN")[0] ? getenv("MLP_BIN") : "./mlp";
    char d[4096], p[4096];
    const char *m = f->model[1];
    tu_path(d, f->c.dir, "targets");
    assert_int_equal(sh(f, "rm -rf '%s' && mkdir '%s'", d, d), 0);
    static const struct {
        const char *prepare, *dir, *want; /* prepare and dir: %s is the directory */
        const char *there;                /* what prepare made */
    } cases[] = {
        {"touch '%s/file'", "%s/file", "not a directory", "file"},
        {"true", "%s/missing/parent", "cannot create", ""},
        {"mkdir '%s/net.h'", "%s", "net.h", "net.h"},
        {"mkfifo '%s/net_check.c'", "%s", "net_check.c", "net_check.c"},
        {"ln -s /dev/null '%s/net.c'", "%s", "net.c", "net.c"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char prep[9000], dir[4200];
        snprintf(prep, sizeof prep, cases[k].prepare, d);
        snprintf(dir, sizeof dir, cases[k].dir, d);
        assert_int_equal(sh(f, "rm -rf '%s'/* && %s", d, prep), 0);
        int st =
            sh(f, "timeout 60 %s export '%s' --c '%s' --name net 2>&1 >/dev/null", bin, m, dir);
        if (st != 1 || !strstr(f->out, cases[k].want) || tu_count_lines(f->out) != 1)
            fail_msg("--c %s: exit %d, '%s'; wanted 1 and '%s'", dir, st, f->out, cases[k].want);
        expect_nothing_written(f, d, cases[k].there);
    }
    /* the model as one of the files, by another spelling: refused, and the model intact */
    size_t n, n2;
    assert_int_equal(sh(f, "rm -rf '%s'/* && cp '%s' '%s/net.c'", d, m, d), 0);
    tu_path(p, d, "net.c");
    unsigned char *before = tu_read_file(p, &n);
    assert_int_equal(tu_cli_run(&f->c, "export %s --c %s/. --name net", p, d), 1);
    assert_non_null(strstr(f->c.err, "same file"));
    unsigned char *after = tu_read_file(p, &n2);
    assert_true(n == n2 && memcmp(before, after, n) == 0);
    free(before);
    free(after);
    assert_int_equal(sh(f, "ls -A '%s'", d), 0);
    assert_string_equal(f->out, "net.c\n");
    /* a directory that cannot be written (root writes anywhere: not checked as root) */
    if (geteuid() != 0) {
        assert_int_equal(sh(f, "rm -rf '%s'/* && chmod 555 '%s'", d, d), 0);
        assert_int_equal(tu_cli_run(&f->c, "export %s --c %s --name net", m, d), 1);
        assert_int_equal(tu_count_lines(f->c.err), 1);
        assert_int_equal(sh(f, "chmod 755 '%s'", d), 0);
        expect_nothing_written(f, d, "");
    }
}

/* --npy and --c together, into one directory; a second export replaces the files. */
static void test_npy_and_c_together(void **state)
{
    fixture *f = *state;
    char d[4096];
    tu_path(d, f->c.dir, "both");
    for (int run = 0; run < 2; run++) {
        assert_int_equal(tu_cli_run(&f->c, "export %s --npy %s --c %s --int8", f->model[2], d, d),
                         0);
        assert_int_equal(tu_count_lines(f->c.out), 2);
        assert_non_null(strstr(f->c.out, "W3.npy b3.npy model.json\n"));
        assert_non_null(strstr(f->c.out, "mlp_model.h mlp_model.c mlp_model_check.c; int8 "));
    }
    assert_int_equal(sh(f, "ls '%s' | tr '\\n' ' '", d), 0);
    assert_string_equal(f->out, "W0.npy W1.npy W2.npy W3.npy b0.npy b1.npy b2.npy b3.npy "
                                "mlp_model.c mlp_model.h mlp_model_check.c model.json ");
}

/* ---------------------------------------------------------------- the library */

static void test_names(void **state)
{
    (void)state;
    mlp_error err;
    const char *good[] = {"a", "net", "Net_2", "mlp_model", "abcdefghijklmnopqrst", "Int", "for_"};
    const char *bad[] = {"",     "2net",         "_net",       "a-b",
                         "a.b",  "a b",          "n\xc3\xa9t", "abcdefghijklmnopqrstu",
                         "int",  "while",        "restrict",   "bool",
                         "true", "typeof_unqual"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++)
        assert_int_equal(mlp_export_c_check_name(good[k], &err), MLP_OK);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(mlp_export_c_check_name(bad[k], &err), MLP_EARG);
        assert_non_null(strstr(err.msg, "'"));
    }
    /* the default network's parameters: 13,002 floats, or 12,960 bytes and 42 scales and
     * biases */
    mlp_net net;
    const size_t sizes[] = {784, 16, 16, 10};
    assert_int_equal(
        mlp_net_init(&net, sizes, 4, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err),
        MLP_OK);
    assert_int_equal(mlp_export_c_param_bytes(&net, false), 52008);
    assert_int_equal(mlp_export_c_param_bytes(&net, true), 12960 + 42 * 8);
    mlp_net_free(&net);
}

/* A 3-4-2 network built here: parameters i / 7 - 1, and the recorded command line. */
static void tiny(mlp_net *net, mlp_model_meta *meta, mlp_act act, const char *cmdline)
{
    mlp_error err;
    const size_t sizes[3] = {3, 4, 2};
    assert_int_equal(mlp_net_init(net, sizes, 3, act, MLP_COST_XENT, 1, NULL, NULL, &err), MLP_OK);
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = (float)i / 7.0f - 1.0f;
    *meta = (mlp_model_meta){.rows = 1, .cols = 3, .n_train = 10, .test_accuracy = -1.0f};
    snprintf(meta->cmdline, sizeof meta->cmdline, "%s", cmdline);
}

/* Whatever the command line recorded (comment ends and starts, trigraphs, a backslash at the
 * end, control and non-ASCII bytes), the header still compiles without a warning; a neuron
 * whose weights are all 0 gets scale 0. */
static void test_odd_models(void **state)
{
    fixture *f = *state;
    char d[4096];
    mlp_net net;
    mlp_model_meta meta;
    mlp_error err;
    tu_path(d, f->c.dir, "odd");
    tiny(&net, &meta, MLP_ACT_TANH,
         "mlp train 'a*/b' /* c ?\?/ ?\?= ?\?' \t\x01\x7f \xc3\xa9/ \x01?/ d/*/e?\?/ \\");
    memset(net.W[0] + 2 * 3, 0, 3 * sizeof(float)); /* neuron 2 of layer 1 */
    for (int int8 = 0; int8 < 2; int8++) {
        mlp_export_c_opts o = {.name = "net", .int8 = int8};
        assert_int_equal(mlp_export_c(d, &o, &net, &meta, &err), MLP_OK);
        compile_strict(f, f->cc, d);
        if (int8) {
            build_driver(f, d, 2, true);
            double v[64];
            size_t n = dump(f, d, v, 64);
            assert_int_equal(n, 12 + 4 + 4 + 8 + 2 + 2);
            assert_true(v[6] == 0.0 && v[7] == 0.0 && v[8] == 0.0 && v[12 + 2] == 0.0);
        }
    }
    /* a parameter that is not a number: refused before anything is written */
    net.params[5] = NAN;
    assert_int_equal(sh(f, "rm -rf '%s'", d), 0);
    mlp_export_c_opts o = {.name = "net"};
    assert_int_equal(mlp_export_c(d, &o, &net, &meta, &err), MLP_ENUMERIC);
    assert_non_null(strstr(err.msg, "parameter 5"));
    expect_nothing_written(f, d, "");
    mlp_net_free(&net);

    /* int8 sums of too many inputs could overflow int32: refused; float is fine */
    const size_t wide[2] = {MLP_EXPORT_C_MAX_INT8_INPUTS + 1, 1};
    mlp_output_plan p = {0};
    assert_int_equal(mlp_net_init(&net, wide, 2, MLP_ACT_RELU, MLP_COST_XENT, 1, NULL, NULL, &err),
                     MLP_OK);
    o.int8 = true;
    assert_int_equal(mlp_export_c_plan(&p, d, &o, &net, &err), MLP_EARG);
    assert_non_null(strstr(err.msg, "could overflow int32"));
    mlp_output_plan_free(&p);
    o.int8 = false;
    assert_int_equal(mlp_export_c_plan(&p, d, &o, &net, &err), MLP_OK);
    mlp_output_plan_free(&p);
    mlp_net_free(&net);
}

/* info lists the formats a model can be exported in: all of them, with the ONNX file's exact
 * size; a model with a layer too wide for int8 sums, without --int8. */
static void test_info_lists_exports(void **state)
{
    fixture *f = *state;
    char onnx[4096], wide_model[4096], want[128];
    tu_path(onnx, f->c.dir, "m.onnx");
    assert_int_equal(tu_cli_run(&f->c, "info %s", f->model[0]), 0);
    const char *line = strstr(f->c.out, "\nexports      --npy; --onnx (");
    assert_non_null(line);
    assert_non_null(strstr(line, ", --c --int8 ("));
    assert_int_equal(tu_cli_run(&f->c, "export %s --onnx %s", f->model[0], onnx), 0);
    struct stat st;
    assert_int_equal(stat(onnx, &st), 0);
    /* the size as mlp_cli_count prints it: digits in threes */
    char digits[32], grouped[48] = "";
    snprintf(digits, sizeof digits, "%lld", (long long)st.st_size);
    for (size_t i = 0, n = strlen(digits); i < n; i++) {
        size_t len = strlen(grouped);
        grouped[len] = digits[i];
        grouped[len + 1] = '\0';
        if ((n - 1 - i) % 3 == 0 && i + 1 < n)
            strcat(grouped, ",");
    }
    snprintf(want, sizeof want, "--onnx (%s bytes)", grouped);
    assert_int_equal(tu_cli_run(&f->c, "info %s", f->model[0]), 0);
    assert_non_null(strstr(f->c.out, want));
    assert_int_equal(tu_cli_run(&f->c, "info %s --json", f->model[0]), 0);
    assert_non_null(strstr(f->c.out, "\"exports\":[\"npy\",\"onnx\",\"c\",\"c-int8\"]"));

    mlp_net net, wide;
    mlp_model_meta meta;
    mlp_error err;
    assert_int_equal(mlp_model_load(f->model[0], &net, 1, &meta, &err), MLP_OK);
    const size_t sizes[2] = {MLP_EXPORT_C_MAX_INT8_INPUTS + 1, 2};
    assert_int_equal(mlp_net_init(&wide, sizes, 2, MLP_ACT_RELU, net.cost, 1, NULL, NULL, &err),
                     MLP_OK);
    mlp_net_init_params(&wide, 1);
    meta.rows = 1;
    meta.cols = (uint32_t)sizes[0];
    meta.has_state = 0;
    tu_path(wide_model, f->c.dir, "wide.bin");
    assert_int_equal(mlp_model_save(wide_model, &wide, &meta, &err), MLP_OK);
    assert_int_equal(tu_cli_run(&f->c, "info %s --json", wide_model), 0);
    assert_non_null(strstr(f->c.out, "\"exports\":[\"npy\",\"onnx\",\"c\"]"));
    assert_int_equal(tu_cli_run(&f->c, "info %s", wide_model), 0);
    assert_non_null(strstr(f->c.out, "; not --int8 (a layer of over 66311 inputs)"));
    mlp_net_free(&wide);
    mlp_net_free(&net);
}

/* ---------------------------------------------------------------- a microcontroller */

/* The default 784-16-16-10 network's export, float and int8, compiled for a Cortex-M4
 * without a warning; prints the flash it takes (.text + .rodata). */
static void test_cortex_m4(void **state)
{
    fixture *f = *state;
    static const char arm[] = "arm-none-eabi-gcc";
    static const char pkgs[] = "gcc-arm-none-eabi and libnewlib-arm-none-eabi";
    if (!have(arm, pkgs, "cross-compile the export for a Cortex-M4"))
        skip();
    if (sh(f, "printf '#include <math.h>\\n#include <stdint.h>\\n' | %s -x c -c -o /dev/null -",
           arm) != 0) {
        if (in_ci())
            fail_msg("%s has no C library headers: CI installs %s", arm, pkgs);
        print_message("  %s has no <math.h>: install libnewlib-arm-none-eabi to cross-compile "
                      "the export\n",
                      arm);
        skip();
    }
    char d[4096];
    mlp_net net;
    mlp_model_meta meta = {.rows = 28, .cols = 28, .n_train = 60000, .test_accuracy = -1.0f};
    mlp_error err;
    const size_t sizes[] = {784, 16, 16, 10};
    tu_path(d, f->c.dir, "m4");
    assert_int_equal(
        mlp_net_init(&net, sizes, 4, MLP_ACT_SIGMOID, MLP_COST_QUADRATIC, 1, NULL, NULL, &err),
        MLP_OK);
    mlp_net_init_params(&net, 1);
    for (int int8 = 0; int8 < 2; int8++) {
        mlp_export_c_opts o = {.name = "net", .int8 = int8};
        assert_int_equal(mlp_export_c(d, &o, &net, &meta, &err), MLP_OK);
        int st = sh(f,
                    "cd '%s' && %s %s -mcpu=cortex-m4 -mthumb -Os -c -o net.o net.c && "
                    "%s %s -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -c "
                    "-o net-hf.o net.c",
                    d, arm, strict, arm, strict);
        if (st != 0 || f->out[0])
            fail_msg("%s: exit %d\n%s", arm, st, f->out);
        assert_int_equal(sh(f,
                            "cd '%s' && arm-none-eabi-size -A net.o | awk '$1 == \".text\" "
                            "|| $1 ~ /^\\.rodata/ { n += $2 } END { print n }'",
                            d),
                         0);
        print_message("  Cortex-M4 flash of the 784-16-16-10 export, %s: %ld bytes\n",
                      int8 ? "int8" : "float", strtol(f->out, NULL, 10));
    }
    mlp_net_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_float_is_mlp),
        cmocka_unit_test(test_int8_is_as_documented),
        cmocka_unit_test(test_int8_exponential),
        cmocka_unit_test(test_check_program_refuses_bad_files),
        cmocka_unit_test(test_flags_and_prefixes_refused),
        cmocka_unit_test(test_targets_refused),
        cmocka_unit_test(test_npy_and_c_together),
        cmocka_unit_test(test_odd_models),
        cmocka_unit_test(test_info_lists_exports),
        cmocka_unit_test(test_cortex_m4),
    };
    return cmocka_run_group_tests_name("export_c", tests, setup, teardown);
}
