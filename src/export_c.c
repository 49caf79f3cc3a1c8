/*
 * export_c: writes a model as C99 source (the files and both arithmetics are described in
 * export_c.h). Knows the network through net.h's views W[] and b[], and mlp's forward pass
 * (net.c, the reference kernels of kernels.c), which the generated float code repeats step
 * for step.
 *
 * The code that does not depend on the model is kept here as text (snippets) in which '$'
 * stands for the prefix and '@' for the prefix in capitals; '`' stands for a word the
 * caller gives (the input type of an int8 layer). Only what the model uses is written, so the
 * generated files compile without an unused-function warning.
 */
#include "export_c.h"

#include "export.h"
#include "options.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- the prefix */

/* C99's keywords, and the ones C23 adds (those of C11 begin with '_', which no prefix does) */
static const char *const keywords[] = {
    "auto",    "break",  "case",          "char",   "const",    "continue",      "default",
    "do",      "double", "else",          "enum",   "extern",   "float",         "for",
    "goto",    "if",     "inline",        "int",    "long",     "register",      "restrict",
    "return",  "short",  "signed",        "sizeof", "static",   "struct",        "switch",
    "typedef", "union",  "unsigned",      "void",   "volatile", "while",         "alignas",
    "alignof", "bool",   "constexpr",     "false",  "nullptr",  "static_assert", "thread_local",
    "true",    "typeof", "typeof_unqual", NULL};

mlp_status mlp_export_c_check_name(const char *name, mlp_error *err)
{
    size_t n = strlen(name);
    /* an identifier made of the basic source characters; no leading '_', whose names the
     * C library reserves */
    bool ok = n > 0 && isalpha((unsigned char)name[0]) && (unsigned char)name[0] < 0x80;
    for (size_t i = 1; ok && i < n; i++)
        ok = name[i] == '_' || (isalnum((unsigned char)name[i]) && (unsigned char)name[i] < 0x80);
    if (!ok)
        return mlp_fail(err, MLP_EARG,
                        "'%.64s' is not a C identifier (a letter, then letters, digits or '_')",
                        name);
    if (n > MLP_EXPORT_C_MAX_NAME)
        return mlp_fail(err, MLP_EARG, "'%.64s' is longer than %d characters", name,
                        MLP_EXPORT_C_MAX_NAME);
    for (size_t k = 0; keywords[k]; k++)
        if (!strcmp(name, keywords[k]))
            return mlp_fail(err, MLP_EARG, "'%s' is a C keyword", name);
    return MLP_OK;
}

/* ---------------------------------------------------------------- sizes */

size_t mlp_export_c_param_bytes(const mlp_net *net, bool int8)
{
    size_t weights = 0, neurons = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        weights += net->sizes[l + 1] * net->sizes[l];
        neurons += net->sizes[l + 1];
    }
    return int8 ? weights + 2 * sizeof(float) * neurons : sizeof(float) * (weights + neurons);
}

static size_t widest_hidden(const mlp_net *net)
{
    size_t w = 0;
    for (size_t l = 1; l < net->n_layers; l++)
        w = net->sizes[l] > w ? net->sizes[l] : w;
    return w;
}

/* Bytes of the arrays each entry point declares (its own; what it calls adds its frame):
 * stack[0] for PREFIX_predict, stack[1] for PREFIX_predict_u8. */
static void stack_bytes(const mlp_net *net, bool int8, size_t stack[2])
{
    const size_t w = widest_hidden(net), in = net->sizes[0];
    const size_t bufs = net->n_layers > 2 ? 2 : net->n_layers - 1; /* hidden buffers in turn */
    if (int8) {
        stack[1] = w * (sizeof(float) + 1); /* z and x */
        stack[0] = stack[1] + in;           /* the pixels back */
    } else {
        stack[0] = bufs * w * sizeof(float);
        stack[1] = stack[0] + in * sizeof(float);
    }
}

/* ---------------------------------------------------------------- writing */

typedef struct {
    FILE *f;
    const mlp_net *net;
    const mlp_model_meta *meta;
    const char *name;                      /* the prefix */
    char upper[MLP_EXPORT_C_MAX_NAME + 1]; /* the prefix in capitals, for macros */
    bool int8;
} gen;

/* text with '$' the prefix, '@' its capitals and '`' the word w */
static void emit(const gen *g, const char *text, const char *w)
{
    for (const char *p = text; *p; p++) {
        if (*p == '$')
            fputs(g->name, g->f);
        else if (*p == '@')
            fputs(g->upper, g->f);
        else if (*p == '`' && w)
            fputs(w, g->f);
        else
            putc(*p, g->f);
    }
}

/* c as a comment shows it: printable ASCII as it is, any other byte as '?' */
static int shown(char c)
{
    return (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f ? c : '?';
}

/* s for a comment, bytes shown as above, with a space after the first character of anything
 * that would end the comment, open another or begin a trigraph ("* /", "/ *", "? ?"), so
 * that any command line can be shown. */
static void comment_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        int c = shown(s[0]), next = s[1] ? shown(s[1]) : 0;
        putc(c, f);
        if ((c == '*' && next == '/') || (c == '/' && next == '*') || (c == '?' && next == '?'))
            putc(' ', f);
    }
}

/* The function each layer's outputs go through: the hidden activation, then the output one */
static const char *layer_fn(const mlp_net *net, size_t l)
{
    return l + 1 < net->n_layers ? mlp_act_name(net->act) : mlp_export_output_activation(net);
}

/* One field of the header's comment, " * Label       text", the text (as printf formats it,
 * then '$' and '@' as in emit, '~' a space the line does not break at) wrapped at 96
 * columns. Fields are a few lines at most. */
static void field(const gen *g, const char *label, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void field(const gen *g, const char *label, const char *fmt, ...)
{
    enum { INDENT = 15, WIDTH = 96 };
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(g->f, " * %-*s", INDENT - 3, label);
    size_t col = INDENT;
    for (char *w = text; *w;) {
        size_t n = strcspn(w, " "), len = n;
        char *next = w + n + (w[n] == ' ');
        w[n] = '\0';
        for (char *c = w; *c; c++) {
            len += *c == '$' || *c == '@' ? strlen(g->name) - 1 : 0;
            *c = *c == '~' ? ' ' : *c;
        }
        if (col > INDENT && col + 1 + len > WIDTH) {
            fprintf(g->f, "\n *%*s", INDENT - 2, "");
            col = INDENT;
        } else if (col > INDENT) {
            putc(' ', g->f);
            col++;
        }
        emit(g, w, NULL);
        col += len;
        w = next;
    }
    putc('\n', g->f);
}

/* "16, 16 and 16" */
static void hidden_list(char *buf, size_t cap, const mlp_net *net)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t l = 1; l < net->n_layers && len < cap; l++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu",
                                l == 1                  ? ""
                                : l + 1 < net->n_layers ? ", "
                                                        : " and ",
                                net->sizes[l]);
}

/* The network, its input and output. */
static void describe_network(const gen *g)
{
    const mlp_net *net = g->net;
    const size_t L = net->n_layers;
    char layout[16 * (MLP_MAX_LAYERS + 1)], hidden[sizeof layout + 64] = "", list[sizeof layout];
    size_t len = 0;
    for (size_t l = 0; l <= L; l++)
        len += (size_t)snprintf(layout + len, sizeof layout - len, "%s%zu", l ? "-" : "",
                                net->sizes[l]);
    if (L > 1) {
        hidden_list(list, sizeof list, net);
        snprintf(hidden, sizeof hidden, " hidden layer%s of %s %s neurons,", L > 2 ? "s" : "", list,
                 mlp_act_name(net->act));
    }
    field(g, "Network", "%s: %zu inputs,%s %zu %s outputs (%s cost); %zu parameters.", layout,
          net->sizes[0], hidden, net->sizes[L], layer_fn(net, L - 1), mlp_cost_name(net->cost),
          net->n_params);
    field(g, "Input",
          "a %ux%u image, row by row from the top, each pixel p (0 to 255) given as p / 255 to "
          "$_predict or as the byte itself to $_predict_u8.",
          (unsigned)g->meta->rows, (unsigned)g->meta->cols);
    field(g, "Output",
          "%s Both functions return the class of the largest (the first of equal "
          "ones).",
          net->cost == MLP_COST_XENT
              ? "out[c] is the probability of class c (softmax: they sum to 1)."
              : "out[c] is output neuron c's sigmoid, in (0, 1): how much the input looks like "
                "class c (they need not sum to 1).");
    field(g, "Layer l",
          "a[l+1] = f(W_l a[l] + b_l), W_l of (outputs, inputs), row-major, one "
          "row per neuron; a[0] is the input.");
}

static const char arith_float[] =
    "float, as mlp's reference kernels compute: each sum starts at the bias and adds the inputs "
    "in order; expf and tanhf of <math.h>; the softmax after subtracting the largest output. The "
    "parameters are the model's own floats, as hex constants (C99), exact whatever a compiler's "
    "decimal rounding. The outputs are mlp's to within rounding (1e-5).";

static const char arith_int8[] =
    "int8. Each neuron's weights w are kept as q~=~round(w~/~s), |q|~<=~127, with "
    "s~=~max|w|~/~127 over the neuron (symmetric, per output row), s and the bias as floats. A "
    "layer's inputs are 8-bit: the pixels themselves (scale 1/255), then each hidden layer's "
    "outputs, quantised over the layer as the call runs: x~=~round(a~/~s), s~=~max(a)~/~255 "
    "(uint8: sigmoid and relu outputs) or max|a|~/~127 (int8: tanh). A neuron sums q~*~x "
    "exactly in int32 and scales once: z~=~s_w~*~s_x~*~sum~+~b, in float. The activations' "
    "exponential is a polynomial of this file's own (relative error below 2e-7): no <math.h>. "
    "$_predict clamps in[] to [0,~1] and rounds it to the nearest pixel value: p itself for "
    "p~/~255.";

static void write_header(const gen *g)
{
    const mlp_net *net = g->net;
    const mlp_model_meta *meta = g->meta;
    size_t stack[2];
    stack_bytes(net, g->int8, stack);
    emit(g,
         "/*\n * $.h: a multilayer perceptron trained by mlp, exported as C99 source ($.c;\n"
         " * $_check.c measures its accuracy on an IDX test set).\n *\n",
         NULL);
    describe_network(g);
    field(g, "Arithmetic", "%s", g->int8 ? arith_int8 : arith_float);
    field(g, "Memory",
          "%zu bytes of const parameters (%s; %s: %zu). Arrays on the stack: %zu bytes in "
          "$_predict, %zu in $_predict_u8 (%s). No heap, no state that changes: calls may run "
          "at once, in threads or interrupts.",
          mlp_export_c_param_bytes(net, g->int8), g->int8 ? "int8" : "float",
          g->int8 ? "float" : "int8", mlp_export_c_param_bytes(net, !g->int8), stack[0], stack[1],
          g->int8 ? "which it calls" : "which calls it");
    char acc[64] = "";
    if (meta->test_accuracy >= 0.0f)
        snprintf(acc, sizeof acc, "; test accuracy %.2f%% when saved", 100.0 * meta->test_accuracy);
    field(g, "Trained", "on %u images, seed %llu%s.", (unsigned)(meta->n_train - meta->opt.val),
          (unsigned long long)meta->seed, acc);
    if (meta->cmdline[0]) {
        fprintf(g->f, " * Command     '");
        comment_text(g->f, meta->cmdline);
        fprintf(g->f, "'\n");
    }
    emit(g, " *\n * Build: cc -O2 -c $.c", NULL);
    emit(g, g->int8 ? "" : " (link with -lm)", NULL);
    emit(g,
         "; for a Cortex-M4F, for instance,\n"
         " *     arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 "
         "-Os -c $.c\n"
         " * Check: cc -O2 -o $_check $_check.c $.c -lm\n"
         " *        ./$_check t10k-images-idx3-ubyte t10k-labels-idx1-ubyte\n"
         " * $.c is C99, which C++ compilers take only from C++17 (its hex constants); $.h\n"
         " * can be included from C++.\n */\n",
         NULL);
    emit(g, "#ifndef @_H\n#define @_H\n\n#include <stdint.h>\n\n", NULL);
    fprintf(g->f, "#define %s_ROWS    %u\n#define %s_COLS    %u\n", g->upper, (unsigned)meta->rows,
            g->upper, (unsigned)meta->cols);
    fprintf(g->f, "#define %s_INPUTS  %zu /* ROWS * COLS */\n#define %s_CLASSES %zu\n\n", g->upper,
            net->sizes[0], g->upper, net->sizes[net->n_layers]);
    emit(g,
         "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
         "/* The class of the image in[], every class's output in out[]. */\n"
         "int $_predict(const float in[@_INPUTS], float out[@_CLASSES]);\n"
         "int $_predict_u8(const uint8_t in[@_INPUTS], float out[@_CLASSES]);\n\n"
         "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
         NULL);
}

/* n values of v as C constants, `per` to a line (finite: mlp_export_c_plan() checks) */
static void write_floats(const gen *g, const float *v, size_t n, size_t per)
{
    for (size_t i = 0; i < n; i++)
        fprintf(g->f, "%s%af,%s", i % per ? " " : "    ", (double)v[i],
                i % per == per - 1 || i + 1 == n ? "\n" : "");
}

/* The scale of a row of n weights: max|w| / 127, 0 for a row of zeros. */
static float row_scale(const float *w, size_t n)
{
    float mx = 0.0f;
    for (size_t k = 0; k < n; k++)
        mx = fabsf(w[k]) > mx ? fabsf(w[k]) : mx;
    return mx / 127.0f;
}

/* w as int8 on the scale s: round(w / s), halves away from zero */
static int quantise(float w, float s)
{
    if (s == 0.0f)
        return 0;
    double q = round((double)w / (double)s);
    return q > 127.0 ? 127 : q < -127.0 ? -127 : (int)q;
}

/* Layer l's weights, a neuron a line or more, as float or int8. */
static void write_weights(const gen *g, size_t l)
{
    const size_t in = g->net->sizes[l], out = g->net->sizes[l + 1];
    fprintf(g->f, "/* layer %zu: (%zu, %zu) weights, a row per neuron, then %zu %s */\n", l + 1,
            out, in, out, g->int8 ? "scales and biases" : "biases");
    fprintf(g->f, "static const %s %s_w%zu[%zu] = {\n", g->int8 ? "int8_t" : "float", g->name, l,
            out * in);
    for (size_t j = 0; j < out; j++) {
        const float *w = g->net->W[l] + j * in;
        fprintf(g->f, "    /* neuron %zu */\n", j);
        if (!g->int8) {
            write_floats(g, w, in, 6);
            continue;
        }
        float s = row_scale(w, in);
        for (size_t k = 0; k < in; k++)
            fprintf(g->f, "%s %4d,%s", k % 16 ? "" : "   ", quantise(w[k], s),
                    k % 16 == 15 || k + 1 == in ? "\n" : "");
    }
    fprintf(g->f, "};\n");
}

/* Layer l's parameters: weights, then for int8 the row scales, then the biases. */
static void write_layer(const gen *g, size_t l)
{
    const size_t in = g->net->sizes[l], out = g->net->sizes[l + 1];
    write_weights(g, l);
    if (g->int8) {
        float s[8];
        fprintf(g->f, "static const float %s_s%zu[%zu] = {\n", g->name, l, out);
        for (size_t j0 = 0; j0 < out; j0 += 8) {
            size_t n = out - j0 < 8 ? out - j0 : 8;
            for (size_t j = 0; j < n; j++)
                s[j] = row_scale(g->net->W[l] + (j0 + j) * in, in);
            write_floats(g, s, n, 8);
        }
        fprintf(g->f, "};\n");
    }
    fprintf(g->f, "static const float %s_b%zu[%zu] = {\n", g->name, l, out);
    write_floats(g, g->net->b[l], out, 6);
    fprintf(g->f, "};\n\n");
}

/* ---------------------------------------------------------------- the functions */

static const char exp_float[] = "/* e^x: <math.h>'s, which mlp's forward pass uses too */\n"
                                "static float $_exp(float x)\n"
                                "{\n"
                                "    return expf(x);\n"
                                "}\n\n";

static const char exp_int8[] =
    "/* e^x without <math.h>, in the manner of Cephes' expf: x = k ln2 + r with |r| <= ln2 / 2,\n"
    " * e^r by a polynomial of degree 6, 2^k as a product of exact powers of two. x is clamped\n"
    " * to [-87, 88] first (a NaN to -87), so every value on the way is a normal float. Relative\n"
    " * error below 2e-7. */\n"
    "static float $_exp(float x)\n"
    "{\n"
    "    static const float pow2[7] = {2.0f, 4.0f, 16.0f, 256.0f, 65536.0f, 4294967296.0f,\n"
    "                                  18446744073709551616.0f}; /* 2^(2^i) */\n"
    "    float r, p, s = 1.0f;\n"
    "    long k;\n"
    "    unsigned long m;\n"
    "    int i;\n"
    "    if (!(x >= -87.0f))\n"
    "        x = -87.0f;\n"
    "    if (x > 88.0f)\n"
    "        x = 88.0f;\n"
    "    k = (long)(x * 1.44269504f + (x < 0.0f ? -0.5f : 0.5f)); /* round(x / ln2) */\n"
    "    r = x - (float)k * 0.693359375f; /* ln2 in two parts, the first exact in float */\n"
    "    r = r + (float)k * 2.12194440e-4f;\n"
    "    p = 1.9875691500e-4f;\n"
    "    p = p * r + 1.3981999507e-3f;\n"
    "    p = p * r + 8.3334519073e-3f;\n"
    "    p = p * r + 4.1665795894e-2f;\n"
    "    p = p * r + 1.6666665459e-1f;\n"
    "    p = p * r + 5.0000001201e-1f;\n"
    "    p = p * r * r + r + 1.0f;\n"
    "    m = k < 0 ? (unsigned long)-k : (unsigned long)k;\n"
    "    for (i = 0; m != 0; i++, m >>= 1)\n"
    "        if (m & 1u)\n"
    "            s *= pow2[i];\n"
    "    return k < 0 ? p / s : p * s;\n"
    "}\n\n";

static const char fn_sigmoid[] = "/* a(n) = 1 / (1 + e^-a), in place */\n"
                                 "static void $_sigmoid(float *a, size_t n)\n"
                                 "{\n"
                                 "    for (size_t i = 0; i < n; i++)\n"
                                 "        a[i] = 1.0f / (1.0f + $_exp(-a[i]));\n"
                                 "}\n\n";

static const char fn_tanh_float[] = "/* a(n) = tanh(a), in place */\n"
                                    "static void $_tanh(float *a, size_t n)\n"
                                    "{\n"
                                    "    for (size_t i = 0; i < n; i++)\n"
                                    "        a[i] = tanhf(a[i]);\n"
                                    "}\n\n";

static const char fn_tanh_int8[] = "/* a(n) = tanh(a) = 2 / (1 + e^-2a) - 1, in place */\n"
                                   "static void $_tanh(float *a, size_t n)\n"
                                   "{\n"
                                   "    for (size_t i = 0; i < n; i++)\n"
                                   "        a[i] = 2.0f / (1.0f + $_exp(-2.0f * a[i])) - 1.0f;\n"
                                   "}\n\n";

static const char fn_relu[] = "/* a(n) = max(a, 0), in place */\n"
                              "static void $_relu(float *a, size_t n)\n"
                              "{\n"
                              "    for (size_t i = 0; i < n; i++)\n"
                              "        a[i] = a[i] > 0.0f ? a[i] : 0.0f;\n"
                              "}\n\n";

static const char fn_softmax[] =
    "/* a(n) = e^a / sum(e^a), in place, after subtracting the largest a so that no e^a\n"
    " * overflows */\n"
    "static void $_softmax(float *a, size_t n)\n"
    "{\n"
    "    float mx = a[0], sum = 0.0f;\n"
    "    for (size_t i = 1; i < n; i++)\n"
    "        mx = a[i] > mx ? a[i] : mx;\n"
    "    for (size_t i = 0; i < n; i++) {\n"
    "        a[i] = $_exp(a[i] - mx);\n"
    "        sum += a[i];\n"
    "    }\n"
    "    for (size_t i = 0; i < n; i++)\n"
    "        a[i] /= sum;\n"
    "}\n\n";

static const char fn_argmax[] = "/* The index of the largest of a(n), the first of equal ones */\n"
                                "static int $_argmax(const float *a, size_t n)\n"
                                "{\n"
                                "    size_t best = 0;\n"
                                "    for (size_t i = 1; i < n; i++)\n"
                                "        if (a[i] > a[best])\n"
                                "            best = i;\n"
                                "    return (int)best;\n"
                                "}\n\n";

static const char fn_dense_float[] =
    "/* y(out) = W(out, in) . x(in) + b(out): each sum starts at the bias and adds the inputs in\n"
    " * order, as mlp's reference kernel does */\n"
    "static void $_dense(float *y, const float *x, const float *W, const float *b, size_t in,\n"
    "        size_t out)\n"
    "{\n"
    "    for (size_t j = 0; j < out; j++) {\n"
    "        const float *w = W + j * in;\n"
    "        float s = b[j];\n"
    "        for (size_t k = 0; k < in; k++)\n"
    "            s += x[k] * w[k];\n"
    "        y[j] = s;\n"
    "    }\n"
    "}\n\n";

/* '`' is the input type without its _t: uint8 for the pixels and sigmoid or relu outputs,
 * int8 for tanh outputs */
static const char fn_dense_int8[] =
    "/* y(out) = sw(out) * sx * (W(out, in) . x(in)) + b(out): int8 weights times 8-bit inputs\n"
    " * x = a / sx, summed exactly in int32, then scaled once per neuron */\n"
    "static void $_dense_`(float *y, const `_t *x, float sx, const int8_t *W, const float *sw,\n"
    "        const float *b, size_t in, size_t out)\n"
    "{\n"
    "    for (size_t j = 0; j < out; j++) {\n"
    "        const int8_t *w = W + j * in;\n"
    "        int32_t sum = 0;\n"
    "        for (size_t k = 0; k < in; k++)\n"
    "            sum += (int32_t)w[k] * x[k];\n"
    "        y[j] = (float)sum * (sw[j] * sx) + b[j];\n"
    "    }\n"
    "}\n\n";

static const char fn_quantise_uint8[] =
    "/* x(n) = round(a / s) with s = max(a) / 255, for a(n) >= 0 (sigmoid and relu outputs);\n"
    " * returns s, 0 when every a is 0 */\n"
    "static float $_quantise_uint8(uint8_t *x, const float *a, size_t n)\n"
    "{\n"
    "    float mx = 0.0f, inv;\n"
    "    for (size_t i = 0; i < n; i++)\n"
    "        mx = a[i] > mx ? a[i] : mx;\n"
    "    inv = mx > 0.0f ? 255.0f / mx : 0.0f;\n"
    "    for (size_t i = 0; i < n; i++) {\n"
    "        float v = a[i] * inv + 0.5f;\n"
    "        x[i] = (uint8_t)(v < 255.0f ? v : 255.0f);\n"
    "    }\n"
    "    return mx / 255.0f;\n"
    "}\n\n";

static const char fn_quantise_int8[] =
    "/* x(n) = round(a / s) with s = max|a| / 127, halves away from zero (tanh outputs);\n"
    " * returns s, 0 when every a is 0 */\n"
    "static float $_quantise_int8(int8_t *x, const float *a, size_t n)\n"
    "{\n"
    "    float mx = 0.0f, inv;\n"
    "    for (size_t i = 0; i < n; i++) {\n"
    "        float m = a[i] < 0.0f ? -a[i] : a[i];\n"
    "        mx = m > mx ? m : mx;\n"
    "    }\n"
    "    inv = mx > 0.0f ? 127.0f / mx : 0.0f;\n"
    "    for (size_t i = 0; i < n; i++) {\n"
    "        float v = a[i] * inv;\n"
    "        v = v < 0.0f ? v - 0.5f : v + 0.5f;\n"
    "        x[i] = (int8_t)(v < 127.0f ? (v > -127.0f ? v : -127.0f) : 127.0f);\n"
    "    }\n"
    "    return mx / 127.0f;\n"
    "}\n\n";

/* The helpers the forward pass calls, each once, in the order they are called. */
static void write_helpers(const gen *g)
{
    const mlp_net *net = g->net;
    const bool tanh_hidden = net->n_layers > 1 && net->act == MLP_ACT_TANH;
    static const struct {
        const char *name, *text_float, *text_int8;
    } acts[] = {
        {"sigmoid", fn_sigmoid, fn_sigmoid},
        {"tanh", fn_tanh_float, fn_tanh_int8},
        {"relu", fn_relu, fn_relu},
        {"softmax", fn_softmax, fn_softmax},
    };
    emit(g, g->int8 ? exp_int8 : exp_float, NULL);
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        bool used = false;
        for (size_t l = 0; l < net->n_layers; l++)
            used = used || !strcmp(layer_fn(net, l), acts[a].name);
        if (used)
            emit(g, g->int8 ? acts[a].text_int8 : acts[a].text_float, NULL);
    }
    emit(g, fn_argmax, NULL);
    if (!g->int8) {
        emit(g, fn_dense_float, NULL);
        return;
    }
    emit(g, fn_dense_int8, "uint8");
    if (tanh_hidden)
        emit(g, fn_dense_int8, "int8");
    if (net->n_layers > 1)
        emit(g, tanh_hidden ? fn_quantise_int8 : fn_quantise_uint8, NULL);
}

/* PREFIX_predict, float: the layers in turn through two buffers */
static void write_predict_float(const gen *g)
{
    const mlp_net *net = g->net;
    const size_t L = net->n_layers, w = widest_hidden(net);
    emit(g, "int $_predict(const float in[@_INPUTS], float out[@_CLASSES])\n{\n", NULL);
    if (L > 2)
        fprintf(g->f, "    float h0[%zu], h1[%zu]; /* the hidden layers' outputs, in turn */\n\n",
                w, w);
    else if (L == 2)
        fprintf(g->f, "    float h0[%zu]; /* the hidden layer's outputs */\n\n", w);
    for (size_t l = 0; l < L; l++) {
        const char *x = l == 0 ? "in" : (l - 1) % 2 ? "h1" : "h0";
        const char *y = l + 1 == L ? "out" : l % 2 ? "h1" : "h0";
        fprintf(g->f, "    %s_dense(%s, %s, %s_w%zu, %s_b%zu, %zu, %zu);\n", g->name, y, x, g->name,
                l, g->name, l, net->sizes[l], net->sizes[l + 1]);
        fprintf(g->f, "    %s_%s(%s, %zu);\n", g->name, layer_fn(net, l), y, net->sizes[l + 1]);
    }
    fprintf(g->f, "    return %s_argmax(out, %zu);\n}\n\n", g->name, net->sizes[L]);
    emit(g,
         "int $_predict_u8(const uint8_t in[@_INPUTS], float out[@_CLASSES])\n"
         "{\n"
         "    float x[@_INPUTS];\n"
         "    for (size_t i = 0; i < @_INPUTS; i++)\n"
         "        x[i] = (float)in[i] / 255.0f; /* as mlp reads a pixel */\n"
         "    return $_predict(x, out);\n"
         "}\n",
         NULL);
}

/* PREFIX_predict_u8, int8: each layer's outputs in z, quantised into x for the next */
static void write_predict_int8(const gen *g)
{
    const mlp_net *net = g->net;
    const size_t L = net->n_layers, w = widest_hidden(net);
    const char *type = net->act == MLP_ACT_TANH ? "int8" : "uint8";
    emit(g, "int $_predict_u8(const uint8_t in[@_INPUTS], float out[@_CLASSES])\n{\n", NULL);
    if (L > 1) {
        char z[64], x[64];
        snprintf(z, sizeof z, "float z[%zu];", w);
        snprintf(x, sizeof x, "%s_t x[%zu];", type, w);
        fprintf(g->f,
                "    %-18s /* a hidden layer's outputs */\n"
                "    %-18s /* the same, quantised */\n"
                "    %-18s /* their scale */\n\n",
                z, x, "float s;");
    }
    for (size_t l = 0; l < L; l++) {
        const char *y = l + 1 == L ? "out" : "z";
        fprintf(g->f, "    %s_dense_%s(%s, %s, %s, %s_w%zu, %s_s%zu, %s_b%zu, %zu, %zu);\n",
                g->name, l == 0 ? "uint8" : type, y, l == 0 ? "in" : "x",
                l == 0 ? "1.0f / 255.0f" : "s", g->name, l, g->name, l, g->name, l, net->sizes[l],
                net->sizes[l + 1]);
        fprintf(g->f, "    %s_%s(%s, %zu);\n", g->name, layer_fn(net, l), y, net->sizes[l + 1]);
        if (l + 1 < L)
            fprintf(g->f, "    s = %s_quantise_%s(x, z, %zu);\n", g->name, type, net->sizes[l + 1]);
    }
    fprintf(g->f, "    return %s_argmax(out, %zu);\n}\n\n", g->name, net->sizes[L]);
    emit(g,
         "/* in[] back to pixels: each value clamped to [0, 1] and rounded to a multiple of\n"
         " * 1/255, which gives p back for p / 255 */\n"
         "int $_predict(const float in[@_INPUTS], float out[@_CLASSES])\n"
         "{\n"
         "    uint8_t px[@_INPUTS];\n"
         "    for (size_t i = 0; i < @_INPUTS; i++) {\n"
         "        float v = in[i] * 255.0f + 0.5f;\n"
         "        px[i] = (uint8_t)(v > 0.5f ? (v < 255.0f ? v : 255.0f) : 0.0f);\n"
         "    }\n"
         "    return $_predict_u8(px, out);\n"
         "}\n",
         NULL);
}

static void write_source(const gen *g)
{
    emit(g,
         "/*\n * $.c: the parameters and the forward pass of the network $.h describes.\n */\n"
         "#include \"$.h\"\n\n#include <stddef.h>\n",
         NULL);
    emit(g, g->int8 ? "\n" : "#include <math.h>\n\n", NULL);
    for (size_t l = 0; l < g->net->n_layers; l++)
        write_layer(g, l);
    write_helpers(g);
    if (g->int8)
        write_predict_int8(g);
    else
        write_predict_float(g);
}

/* PREFIX_check.c, in pieces of at most the 4095 bytes C99 promises a string */
static const char check_head[] =
    "/*\n"
    " * $_check: the accuracy of the network of $.h on a labelled IDX test set, so that the\n"
    " * export can be checked on the machine that builds it:\n"
    " *\n"
    " *     cc -O2 -o $_check $_check.c $.c -lm\n"
    " *     ./$_check t10k-images-idx3-ubyte t10k-labels-idx1-ubyte\n"
    " *\n"
    " * prints \"accuracy 96.07% (9607/10000)\" as `mlp eval` does. The files must be\n"
    " * uncompressed (gunzip MNIST's .gz files first) and fit the network: images of\n"
    " * @_ROWS x @_COLS pixels, as many labels as images, each below @_CLASSES. Exit status 0;\n"
    " * 1 when a file cannot be read or does not fit; 2 for a usage error.\n"
    " */\n"
    "#include \"$.h\"\n"
    "\n"
    "#include <errno.h>\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "\n"
    "typedef struct {\n"
    "    const char *path;\n"
    "    FILE *f;\n"
    "    unsigned long n; /* images or labels, as the header says */\n"
    "} idx_file;\n"
    "\n"
    "static int fail(const idx_file *x, const char *msg)\n"
    "{\n"
    "    fprintf(stderr, \"$_check: %s: %s\\n\", x->path, msg);\n"
    "    return 1;\n"
    "}\n"
    "\n"
    "static unsigned long be32(const unsigned char *p)\n"
    "{\n"
    "    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 "
    "|\n"
    "           (unsigned long)p[3];\n"
    "}\n"
    "\n"
    "/* Opens path and checks its header, every field a big-endian u32: magic 0x00000803, count,\n"
    " * rows, cols for images; magic 0x00000801, count for labels. 0, or 1 with a message. */\n"
    "static int idx_open(idx_file *x, const char *path, int images)\n"
    "{\n"
    "    unsigned char h[16];\n"
    "    size_t len = images ? 16 : 8;\n"
    "    x->path = path;\n"
    "    if (!(x->f = fopen(path, \"rb\")))\n"
    "        return fail(x, strerror(errno));\n"
    "    if (fread(h, 1, len, x->f) != len)\n"
    "        return fail(x, ferror(x->f) ? strerror(errno) : \"truncated header\");\n"
    "    if (h[0] == 0x1f && h[1] == 0x8b)\n"
    "        return fail(x, \"gzipped: gunzip it first\");\n"
    "    if (be32(h) != (images ? 0x803ul : 0x801ul))\n"
    "        return fail(x, images ? \"not IDX images (magic 0x00000803)\"\n"
    "                              : \"not IDX labels (magic 0x00000801)\");\n"
    "    x->n = be32(h + 4);\n"
    "    if (images && (be32(h + 8) != @_ROWS || be32(h + 12) != @_COLS)) {\n"
    "        fprintf(stderr, \"$_check: %s: images of %lux%lu pixels; the network takes "
    "%lux%lu\\n\",\n"
    "                path, be32(h + 8), be32(h + 12), (unsigned long)@_ROWS, (unsigned "
    "long)@_COLS);\n"
    "        return 1;\n"
    "    }\n"
    "    return 0;\n"
    "}\n"
    "\n";

static const char check_run[] =
    "/* Classifies every image; *right counts the correct ones. 0, or 1 with a message. */\n"
    "static int run(idx_file *im, idx_file *lb, unsigned long *right)\n"
    "{\n"
    "    uint8_t px[@_INPUTS];\n"
    "    float out[@_CLASSES];\n"
    "    char msg[80];\n"
    "    if (im->n == 0)\n"
    "        return fail(im, \"no images\");\n"
    "    if (im->n != lb->n) {\n"
    "        fprintf(stderr, \"$_check: %s holds %lu images, %s %lu labels\\n\", im->path, im->n,\n"
    "                lb->path, lb->n);\n"
    "        return 1;\n"
    "    }\n"
    "    for (unsigned long i = 0; i < im->n; i++) {\n"
    "        int label = getc(lb->f);\n"
    "        if (fread(px, 1, sizeof px, im->f) != sizeof px || label == EOF) {\n"
    "            idx_file *x = label == EOF ? lb : im;\n"
    "            snprintf(msg, sizeof msg, \"truncated after %lu of %lu\", i, x->n);\n"
    "            return fail(x, ferror(x->f) ? strerror(errno) : msg);\n"
    "        }\n"
    "        if (label >= @_CLASSES) {\n"
    "            snprintf(msg, sizeof msg, \"label %d (item %lu) is not a class of the network\",\n"
    "                     label, i);\n"
    "            return fail(lb, msg);\n"
    "        }\n"
    "        *right += $_predict_u8(px, out) == label;\n"
    "    }\n"
    "    if (getc(im->f) != EOF)\n"
    "        return fail(im, \"more bytes than its header says\");\n"
    "    if (getc(lb->f) != EOF)\n"
    "        return fail(lb, \"more bytes than its header says\");\n"
    "    return 0;\n"
    "}\n"
    "\n";

static const char check_main[] =
    "int main(int argc, char **argv)\n"
    "{\n"
    "    idx_file im, lb;\n"
    "    unsigned long right = 0;\n"
    "    int rc;\n"
    "    if (argc != 3) {\n"
    "        fprintf(stderr, \"usage: $_check IMAGES LABELS (uncompressed IDX files)\\n\");\n"
    "        return 2;\n"
    "    }\n"
    "    im.f = lb.f = NULL;\n"
    "    rc = idx_open(&im, argv[1], 1);\n"
    "    if (rc == 0)\n"
    "        rc = idx_open(&lb, argv[2], 0);\n"
    "    if (rc == 0)\n"
    "        rc = run(&im, &lb, &right);\n"
    "    if (im.f)\n"
    "        fclose(im.f);\n"
    "    if (lb.f)\n"
    "        fclose(lb.f);\n"
    "    if (rc == 0 && (printf(\"accuracy %.2f%% (%lu/%lu)\\n\", 100.0 * (double)right / "
    "(double)im.n,\n"
    "                           right, im.n) < 0 || fflush(stdout) != 0)) {\n"
    "        fprintf(stderr, \"$_check: standard output: %s\\n\", strerror(errno));\n"
    "        rc = 1;\n"
    "    }\n"
    "    return rc;\n"
    "}\n";

static const char *const check_program[] = {check_head, check_run, check_main};

/* ---------------------------------------------------------------- the files */

enum { FILE_H, FILE_C, FILE_CHECK, N_FILES };

static mlp_status file_path(char *path, size_t cap, const char *dir, const char *name, int k,
                            mlp_error *err)
{
    static const char *const suffix[N_FILES] = {".h", ".c", "_check.c"};
    char file[MLP_EXPORT_C_MAX_NAME + 16];
    snprintf(file, sizeof file, "%s%s", name, suffix[k]);
    return mlp_export_path(path, cap, dir, file, err);
}

static const char *const file_what[N_FILES] = {"C header", "C source", "C check program"};

mlp_status mlp_export_c_plan(mlp_output_plan *p, const char *dir, const mlp_export_c_opts *o,
                             const mlp_net *net, mlp_error *err)
{
    char path[MLP_OUTPUT_MAX_PATH];
    mlp_status st = mlp_export_c_check_name(o->name, err);
    for (size_t i = 0; st == MLP_OK && i < net->n_params; i++)
        if (!isfinite(net->params[i]))
            st = mlp_fail(err, MLP_ENUMERIC, "parameter %zu is not a finite number", i);
    for (size_t l = 0; st == MLP_OK && o->int8 && l < net->n_layers; l++)
        if (net->sizes[l] > MLP_EXPORT_C_MAX_INT8_INPUTS)
            st = mlp_fail(err, MLP_EARG,
                          "layer %zu has %zu inputs; int8 sums of more than %d could overflow "
                          "int32",
                          l + 1, net->sizes[l], MLP_EXPORT_C_MAX_INT8_INPUTS);
    if (st == MLP_OK)
        st = mlp_export_dir(dir, err);
    for (int k = 0; st == MLP_OK && k < N_FILES; k++)
        if ((st = file_path(path, sizeof path, dir, o->name, k, err)) == MLP_OK)
            st = mlp_output_target(p, file_what[k], path, 0, err);
    return st;
}

static void write_file(const gen *g, int k)
{
    if (k == FILE_H)
        write_header(g);
    else if (k == FILE_C)
        write_source(g);
    else
        for (size_t i = 0; i < sizeof check_program / sizeof check_program[0]; i++)
            emit(g, check_program[i], NULL);
}

mlp_status mlp_export_c(const char *dir, const mlp_export_c_opts *o, const mlp_net *net,
                        const mlp_model_meta *meta, mlp_error *err)
{
    char path[N_FILES][MLP_OUTPUT_MAX_PATH];
    mlp_output out[N_FILES] = {0};
    mlp_output_plan p = {0};
    gen g = {.net = net, .meta = meta, .name = o->name, .int8 = o->int8};
    int opened = 0;
    if ((size_t)meta->rows * meta->cols != net->sizes[0])
        return mlp_fail(err, MLP_EARG, "images of %ux%u do not make %zu inputs",
                        (unsigned)meta->rows, (unsigned)meta->cols, net->sizes[0]);
    mlp_status st = mlp_export_c_plan(&p, dir, o, net, err);
    for (size_t i = 0; g.name[i] && i < MLP_EXPORT_C_MAX_NAME; i++)
        g.upper[i] = (char)toupper((unsigned char)g.name[i]);
    /* every file written whole before any is renamed into place */
    for (int k = 0; st == MLP_OK && k < N_FILES; k++) {
        if ((st = file_path(path[k], sizeof path[k], dir, o->name, k, err)) != MLP_OK ||
            (st = mlp_output_open(&out[k], &p, path[k], err)) != MLP_OK)
            break;
        opened++;
        g.f = out[k].f;
        write_file(&g, k); /* a write error is the commit's to report */
    }
    for (int k = 0; k < opened; k++) {
        if (st == MLP_OK)
            st = mlp_output_commit(&out[k], err);
        else
            mlp_output_abort(&out[k]);
    }
    mlp_output_plan_free(&p);
    return st;
}
