/*
 * plot: the learning-curve log (write, parse) and the SVG chart. The chart is two panels
 * sharing the epoch axis: cost above, accuracies below, each with "nice" ticks (1, 2 or 5
 * times a power of ten), a legend with the last values, and a tooltip on every point.
 */
#define _POSIX_C_SOURCE 200809L
#include "plot.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

mlp_status mlp_plot_add(mlp_plot_curve *c, const mlp_plot_row *r, mlp_error *err)
{
    if (c->n > 0 && r->epoch <= c->rows[c->n - 1].epoch)
        return mlp_fail(err, MLP_EFORMAT, "epoch %zu comes after epoch %zu", r->epoch,
                        c->rows[c->n - 1].epoch);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        mlp_plot_row *rows = cap <= MLP_PLOT_MAX_ROWS && cap / 2 < SIZE_MAX / sizeof *rows
                                 ? realloc(c->rows, cap * sizeof *rows)
                                 : NULL;
        if (!rows)
            return mlp_fail(err, MLP_ENOMEM, "out of memory for %zu epochs", c->n + 1);
        c->rows = rows;
        c->cap = cap;
    }
    c->rows[c->n++] = *r;
    return MLP_OK;
}

void mlp_plot_free(mlp_plot_curve *c)
{
    free(c->rows);
    memset(c, 0, sizeof *c);
}

/* --- the log ----------------------------------------------------------------------------- */

bool mlp_plot_write_header(FILE *f)
{
    return fputs(MLP_PLOT_HEADER "\n", f) >= 0;
}

/* value with the given decimals, or "-" when it was not measured */
static bool put_value(FILE *f, double v, const char *fmt)
{
    return isnan(v) ? fputs("\t-", f) >= 0 : fprintf(f, fmt, v) > 0;
}

bool mlp_plot_write_row(FILE *f, const mlp_plot_row *r)
{
    return fprintf(f, "%zu", r->epoch) > 0 && put_value(f, r->cost, "\t%.6f") &&
           put_value(f, r->train_acc, "\t%.2f") && put_value(f, r->val_acc, "\t%.2f") &&
           put_value(f, r->test_acc, "\t%.2f") && put_value(f, r->lr, "\t%.6g") &&
           put_value(f, r->seconds, "\t%.3f") && fputc('\n', f) != EOF;
}

static const char *const columns[] = {"epoch",    "cost", "train_acc", "val_acc",
                                      "test_acc", "lr",   "seconds"};

/* Longest field read: every value mlp_plot_write_row prints fits ("%.6f" of -DBL_MAX is 317
 * bytes), so a log the program wrote always reads back. */
enum { FIELD_MAX = 400 };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* s (n bytes) is a decimal number: an optional sign, digits with an optional '.' and fraction
 * (a digit on at least one side), an optional exponent. strtod() takes more than the log
 * format does: "inf", "nan", hexadecimal ("0x1p3") and leading spaces. */
static bool is_decimal(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < n && is_digit(s[i]); i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && is_digit(s[i]); i++)
            digits++;
    if (digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t e0 = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == e0)
            return false;
    }
    return i == n;
}

/* One field: a finite decimal number, or "-" for not measured. A decimal beyond DBL_MAX
 * ("1e999") is refused; one below the smallest double reads as a denormal or zero. */
static bool parse_number(const char *s, size_t n, double *out)
{
    char buf[FIELD_MAX + 1];
    if (n == 1 && s[0] == '-') {
        *out = NAN;
        return true;
    }
    if (n == 0 || n > FIELD_MAX || !is_decimal(s, n))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Line `lineno` (n bytes at s, no newline) as a row. */
static mlp_status parse_row(mlp_plot_row *r, const char *s, size_t n, const char *name,
                            size_t lineno, mlp_error *err)
{
    double v[7];
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\t')
            continue;
        if (k == 7)
            return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: more than 7 fields", name, lineno);
        if (!parse_number(s + start, i - start, &v[k]))
            return mlp_fail(err, MLP_EFORMAT,
                            "%s: line %zu: %s '%.*s' is not a finite decimal number or '-'", name,
                            lineno, columns[k], (int)(i - start < 32 ? i - start : 32), s + start);
        k++;
        start = i + 1;
    }
    if (k != 7)
        return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: %zu fields, a row has 7 (%s)", name,
                        lineno, k, MLP_PLOT_HEADER);
    if (!(v[0] >= 1.0 && v[0] <= MLP_PLOT_MAX_EPOCH && v[0] == floor(v[0])))
        return mlp_fail(err, MLP_EFORMAT,
                        "%s: line %zu: the epoch is not a whole number from 1 to %.0f", name,
                        lineno, (double)MLP_PLOT_MAX_EPOCH);
    for (int a = 2; a <= 4; a++)
        if (v[a] < 0.0 || v[a] > 100.0)
            return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: %s %g is not a percentage", name,
                            lineno, columns[a], v[a]);
    if (v[1] < 0.0)
        return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: negative cost", name, lineno);
    *r = (mlp_plot_row){(size_t)v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    return MLP_OK;
}

mlp_status mlp_plot_parse(mlp_plot_curve *c, const char *text, size_t len, const char *name,
                          mlp_error *err)
{
    size_t lineno = 0, pos = 0;
    bool header = false;
    memset(c, 0, sizeof *c);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *s = text + pos;
        pos += n + (nl != NULL);
        lineno++;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (n == 0)
            continue; /* blank lines, e.g. at the end */
        mlp_status st;
        if (!header) {
            if (n != strlen(MLP_PLOT_HEADER) || memcmp(s, MLP_PLOT_HEADER, n) != 0) {
                mlp_plot_free(c);
                return mlp_fail(err, MLP_EFORMAT,
                                "%s: line %zu: not a training log (the first line must be the "
                                "header 'epoch cost train_acc val_acc test_acc lr seconds')",
                                name, lineno);
            }
            header = true;
            continue;
        }
        mlp_plot_row r;
        if ((st = parse_row(&r, s, n, name, lineno, err)) != MLP_OK ||
            (st = mlp_plot_add(c, &r, err)) != MLP_OK) {
            if (st == MLP_EFORMAT && strncmp(err->msg, name, strlen(name)) != 0) {
                mlp_error e = *err; /* mlp_plot_add's message, without the file and line */
                mlp_fail(err, st, "%s: line %zu: %s", name, lineno, e.msg);
            }
            mlp_plot_free(c);
            return st;
        }
    }
    if (!header)
        return mlp_fail(err, MLP_EFORMAT, "%s: empty: not a training log", name);
    if (c->n == 0)
        return mlp_fail(err, MLP_EFORMAT, "%s: no epochs in the log", name);
    return MLP_OK;
}

mlp_status mlp_plot_read(mlp_plot_curve *c, const char *path, mlp_error *err)
{
    memset(c, 0, sizeof *c);
    FILE *f = mlp_open_input(path, err);
    if (!f)
        return MLP_EIO;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    mlp_status st = MLP_OK;
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        if (cap >= MLP_PLOT_MAX_LOG) {
            st = mlp_fail(err, MLP_EFORMAT, "%s: larger than %u MiB: not a training log", path,
                          MLP_PLOT_MAX_LOG >> 20);
            goto out;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb)
            break;
        buf = nb;
        cap *= 2;
    }
    if (!buf || ferror(f)) {
        st = buf ? mlp_fail(err, MLP_EIO, "%s: read error", path)
                 : mlp_fail(err, MLP_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    st = mlp_plot_parse(c, buf, len, path, err);
out:
    free(buf);
    fclose(f);
    return st;
}

/* --- the chart ------------------------------------------------------------------------- */

enum {
    SVG_W = 760,
    SVG_H = 600,
    PLOT_X = 80,  /* left edge of both panels */
    PLOT_W = 500, /* width of both panels; the legend is right of them */
    COST_Y = 70,  /* top of the cost panel */
    ACC_Y = 330,  /* top of the accuracy panel */
    PANEL_H = 200,
};

enum { MAX_TICKS = 24 }; /* per axis; make_axis gives at most 1.5 * 10 + 3 */

/* Every axis here is of values >= 0 (cost, accuracy, epoch), so hi - lo never overflows. An
 * axis narrower than REL_SPAN of its top is widened: its steps would fall below the spacing of
 * doubles (ulp(100) is 1.4e-14, the accuracy a hair under 100) and its labels could not
 * differ; with it every tick index (hi / step) stays below 2^53, an exact whole double.
 * MIN_SPAN keeps the steps normal doubles when every value is 0 or denormal. */
#define REL_SPAN 1e-9
#define MIN_SPAN 1e-300

typedef struct {
    double lo, hi, step; /* the axis runs from lo to hi (0 <= lo < hi <= DBL_MAX) */
    double first;        /* the ticks are at (first + i) * step, for i < ticks */
    int ticks;           /* 0 to MAX_TICKS */
    int digits;          /* significant digits that tell neighbouring tick labels apart */
} axis;

/* A step of 1, 2 or 5 times a power of ten giving about `ticks` ticks over span (finite,
 * >= MIN_SPAN): never below span / (1.5 ticks), so make_axis's tick count is bounded. */
static double nice_step(double span, int ticks)
{
    double raw = span / ticks, mag = pow(10.0, floor(log10(raw))), norm = raw / mag;
    double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
    return isfinite(step) && step >= raw / 1.5 ? step : raw; /* 10 * 1e308 overflows */
}

/* The ticks of a between its ends, and the digits their labels need. */
static void place_ticks(axis *a)
{
    double first = ceil(a->lo / a->step - 1e-9), last = floor(a->hi / a->step + 1e-9);
    double n = last - first + 1.0;
    a->first = first;
    a->ticks = n >= 1.0 ? (int)fmin(n, MAX_TICKS) : 0;
    /* %g's 6 digits, or as many as the step needs at the axis' magnitude, up to 17 */
    double d = floor(log10(a->hi)) - floor(log10(a->step)) + 1.0;
    a->digits = (int)fmin(fmax(d, 6.0), 17.0);
}

static double tick(const axis *a, int i)
{
    return (a->first + i) * a->step + 0.0; /* + 0.0: never "-0" */
}

/* An axis covering [lo, hi] (0 <= lo <= hi <= DBL_MAX) with about `ticks` ticks a step of at
 * least min_step apart, its ends widened to whole steps where that stays finite. */
static axis make_axis(double lo, double hi, int ticks, double min_step)
{
    double need = fmax(hi * REL_SPAN, MIN_SPAN);
    if (!(hi - lo >= need)) { /* widened about its middle, inside [0, DBL_MAX] */
        lo = fmax(lo + (hi - lo) / 2 - need / 2, 0.0);
        hi = fmin(lo + need, DBL_MAX);
        lo = hi - need;
    }
    axis a;
    a.step = fmax(nice_step(hi - lo, ticks), min_step);
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    if (!(a.hi <= DBL_MAX))
        a.hi = hi;        /* ceil(DBL_MAX / 5e307) * 5e307 overflows */
    if (!(a.lo < a.hi)) { /* a hair of widening lost to rounding */
        a.lo = lo;
        a.hi = hi;
    }
    place_ticks(&a);
    return a;
}

/* v's position from `from` (at a->lo) to `to` (at a->hi); a value beyond the axis (or NaN)
 * sits on its edge, so every coordinate written is inside the panel. */
static double map(double v, const axis *a, double from, double to)
{
    double t = (v - a->lo) / (a->hi - a->lo);
    return from + fmin(fmax(t, 0.0), 1.0) * (to - from); /* fmax(NaN, 0) is 0 */
}

/* Text with the five characters XML reserves replaced by their entities. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            /* control characters are not allowed in XML 1.0 text */
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
        }
    }
}

/* The value of series s (0 cost, 1 train, 2 val, 3 test) in row r. */
static double value(const mlp_plot_row *r, int s)
{
    return s == 0 ? r->cost : s == 1 ? r->train_acc : s == 2 ? r->val_acc : r->test_acc;
}

static const char *const series_name[] = {"cost", "train", "val", "test"};
static const char *const series_colour[] = {"#333333", "#1f77b4", "#2ca02c", "#d62728"};

/* One panel's frame, grid, tick labels and caption. */
static void panel(FILE *f, const axis *x, const axis *y, double top, const char *caption,
                  const char *unit)
{
    fprintf(f,
            "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#ffffff\" "
            "stroke=\"#888888\"/>\n",
            PLOT_X, top, PLOT_W, PANEL_H);
    for (int i = 0; i < y->ticks; i++) {
        double v = tick(y, i), py = map(v, y, top + PANEL_H, top);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*g%s</text>\n",
                PLOT_X, py, PLOT_X + PLOT_W, py, PLOT_X - 6, py + 4, y->digits, v, unit);
    }
    for (int i = 0; i < x->ticks; i++) {
        double v = tick(x, i), px = map(v, x, PLOT_X, PLOT_X + PLOT_W);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*g</text>\n",
                px, top, px, top + PANEL_H, px, top + PANEL_H + 16, x->digits, v);
    }
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-weight=\"bold\">%s</text>\n", PLOT_X, top - 8,
            caption);
}

/* Series s as a line (broken where a value is missing), with a dot and tooltip per point. */
static void series(FILE *f, const mlp_plot_curve *c, int s, const axis *x, const axis *y,
                   double top)
{
    bool pen = false;
    fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"", series_colour[s]);
    for (size_t i = 0; i < c->n; i++) {
        double v = value(&c->rows[i], s);
        if (isnan(v)) {
            pen = false;
            continue;
        }
        fprintf(f, "%s%.1f %.1f ", pen ? "L" : "M",
                map((double)c->rows[i].epoch, x, PLOT_X, PLOT_X + PLOT_W),
                map(v, y, top + PANEL_H, top));
        pen = true;
    }
    fprintf(f, "\"/>\n");
    if (c->n > 300)
        return; /* dots would hide the line */
    for (size_t i = 0; i < c->n; i++) {
        double v = value(&c->rows[i], s);
        if (isnan(v))
            continue;
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>epoch %zu: %s "
                "%.4g%s</title></circle>\n",
                map((double)c->rows[i].epoch, x, PLOT_X, PLOT_X + PLOT_W),
                map(v, y, top + PANEL_H, top), series_colour[s], c->rows[i].epoch, series_name[s],
                v, s ? "%" : "");
    }
}

/* The last measured value of series s, NaN if none. */
static double last(const mlp_plot_curve *c, int s)
{
    for (size_t i = c->n; i-- > 0;)
        if (!isnan(value(&c->rows[i], s)))
            return value(&c->rows[i], s);
    return NAN;
}

static void legend(FILE *f, const mlp_plot_curve *c, int s, double y)
{
    double v = last(c, s);
    fprintf(f,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"2\"/>\n<text x=\"%d\" y=\"%.1f\">%s ",
            PLOT_X + PLOT_W + 16, y, PLOT_X + PLOT_W + 40, y, series_colour[s],
            PLOT_X + PLOT_W + 46, y + 4, series_name[s]);
    if (isnan(v))
        fputs("(not measured)", f);
    else
        fprintf(f, s ? "%.2f%%" : fabs(v) < 1e6 ? "%.4f" : "%.4g", v); /* not 300 digits */
    fputs("</text>\n", f);
}

/* The three axes of c: epochs, cost (from 0) and accuracy (up to 100), over the values the
 * panels can show: finite costs >= 0 and accuracies from 0 to 100; the rest sits on an edge. */
static void chart_axes(const mlp_plot_curve *c, axis *x, axis *yc, axis *ya)
{
    double e0 = c->n ? (double)c->rows[0].epoch : 1.0, e1 = e0, cmax = 0.0, amin = 100.0;
    for (size_t i = 0; i < c->n; i++) {
        const mlp_plot_row *r = &c->rows[i];
        e0 = fmin(e0, (double)r->epoch); /* in order from mlp_plot_add, but any curve draws */
        e1 = fmax(e1, (double)r->epoch);
        if (r->cost >= 0.0 && r->cost <= DBL_MAX)
            cmax = fmax(cmax, r->cost);
        for (int s = 1; s <= 3; s++)
            if (value(r, s) >= 0.0)
                amin = fmin(amin, value(r, s));
    }
    /* one epoch: a step either side of it */
    *x = make_axis(e0 == e1 ? fmax(e0 - 1.0, 0.0) : e0, e0 == e1 ? e1 + 1.0 : e1, 10, 1.0);
    *yc = make_axis(0.0, cmax > 0.0 ? cmax : 1.0, 5, 0.0);
    *ya = make_axis(amin < 100.0 ? amin : 90.0, 100.0, 5, 0.0);
    ya->hi = 100.0; /* accuracy never goes above it */
    place_ticks(ya);
}

/* The start of a chart of height h: the document, its background and the title. */
static void svg_head(FILE *f, int h, const char *title)
{
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n"
            "<text x=\"%d\" y=\"28\" font-size=\"15\" font-weight=\"bold\">",
            SVG_W, h, SVG_W, h, PLOT_X);
    put_text(f, title ? title : "");
    fputs("</text>\n", f);
}

void mlp_plot_svg_write(FILE *f, const mlp_plot_curve *c, const char *title)
{
    axis x, yc, ya;
    chart_axes(c, &x, &yc, &ya);
    svg_head(f, SVG_H, title);
    panel(f, &x, &yc, COST_Y, "mean training cost per image", "");
    series(f, c, 0, &x, &yc, COST_Y);
    legend(f, c, 0, COST_Y + 14);
    panel(f, &x, &ya, ACC_Y, "accuracy", "%");
    for (int s = 1; s <= 3; s++) {
        series(f, c, s, &x, &ya, ACC_Y);
        legend(f, c, s, ACC_Y + 14 + 20 * (s - 1));
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n", PLOT_X + PLOT_W / 2,
            ACC_Y + PANEL_H + 40);
    fputs("</svg>\n", f);
}

struct drawing {
    const mlp_plot_curve *c;
    const char *title;
};

static mlp_status write_chart(FILE *f, void *ctx, mlp_error *err)
{
    const struct drawing *d = ctx;
    (void)err; /* a write error is the commit's to report */
    mlp_plot_svg_write(f, d->c, d->title);
    return MLP_OK;
}

mlp_status mlp_plot_svg_save(const mlp_output_plan *files, const char *path,
                             const mlp_plot_curve *c, const char *title, mlp_error *err)
{
    struct drawing d = {c, title};
    mlp_output o;
    mlp_status st;
    if (c->n == 0)
        return mlp_fail(err, MLP_EARG, "%s: no epochs to draw", path);
    if (!files)
        return mlp_output_save("SVG", path, write_chart, &d, err);
    if ((st = mlp_output_open(&o, files, path, err)) != MLP_OK)
        return st;
    write_chart(o.f, &d, err);
    return mlp_output_commit(&o, err);
}

/* --- during training --------------------------------------------------------------------- */

/* --- a curve on a logarithmic x axis ------------------------------------------------------ */

enum { LOGX_H = 340 }; /* the chart's height: one panel at COST_Y */

/* x's position on the panel whose decades run from 10^d0 to 10^d1 */
static double map_log(double x, double d0, double d1)
{
    return PLOT_X + fmin(fmax((log10(x) - d0) / (d1 - d0), 0.0), 1.0) * PLOT_W;
}

/* The powers of ten about the positive finite x, at least one decade apart. */
static void decades(const double *x, size_t n, double *d0, double *d1)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > 0.0 && isfinite(x[i])) {
            /* a hair of slack: 1e-6 kept as a float is a little below 10^-6 */
            lo = fmin(lo, floor(log10(x[i]) + 1e-6));
            hi = fmax(hi, ceil(log10(x[i]) - 1e-6));
        }
    if (!(lo <= hi)) /* no usable x */
        lo = hi = 0.0;
    *d0 = fmax(lo, -300.0);
    *d1 = fmin(fmax(hi, *d0 + 1.0), 300.0);
}

void mlp_plot_logx_svg_write(FILE *f, const double *x, const double *y, size_t n, double mark,
                             const char *title, const char *xcaption, const char *ycaption)
{
    double d0, d1, ymax = 0.0;
    decades(x, n, &d0, &d1);
    for (size_t i = 0; i < n; i++)
        if (y[i] >= 0.0 && y[i] <= DBL_MAX)
            ymax = fmax(ymax, y[i]);
    axis ya = make_axis(0.0, ymax > 0.0 ? ymax : 1.0, 5, 0.0);
    svg_head(f, LOGX_H, title);
    /* the frame and the y ticks as the epoch charts draw them, with no x ticks */
    axis none = {.lo = 0.0, .hi = 1.0, .step = 1.0, .ticks = 0};
    panel(f, &none, &ya, COST_Y, "", "");
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", PLOT_X, COST_Y - 8);
    put_text(f, ycaption ? ycaption : "");
    fputs("</text>\n", f);
    for (double d = d0; d <= d1; d += 1.0) {
        double px = map_log(pow(10.0, d), d0, d1);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">1e%+.0f</text>\n",
                px, COST_Y, px, COST_Y + PANEL_H, px, COST_Y + PANEL_H + 16, d);
    }
    bool pen = false;
    /* about 1,000 points at most, the last always: more are finer than the panel's 500 pixels */
    const size_t every = n / 1000 + 1;
    fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"", series_colour[0]);
    for (size_t i = 0; i < n; i = i + 1 == n ? n : i + every < n ? i + every : n - 1) {
        if (!(x[i] > 0.0) || isnan(y[i])) {
            pen = false;
            continue;
        }
        fprintf(f, "%s%.1f %.1f ", pen ? "L" : "M", map_log(x[i], d0, d1),
                map(y[i], &ya, COST_Y + PANEL_H, COST_Y));
        pen = true;
    }
    fputs("\"/>\n", f);
    if (mark > 0.0 && isfinite(mark)) {
        double px = map_log(mark, d0, d1);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                "stroke-dasharray=\"4 3\"/>\n<text x=\"%.1f\" y=\"%d\" fill=\"%s\">%.3g</text>\n",
                px, COST_Y, px, COST_Y + PANEL_H, series_colour[3], px + 4, COST_Y + 14,
                series_colour[3], mark);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", PLOT_X + PLOT_W / 2,
            COST_Y + PANEL_H + 40);
    put_text(f, xcaption ? xcaption : "");
    fputs("</text>\n</svg>\n", f);
}

struct logx_drawing {
    const double *x, *y;
    size_t n;
    double mark;
    const char *title, *xcaption, *ycaption;
};

static mlp_status write_logx(FILE *f, void *ctx, mlp_error *err)
{
    const struct logx_drawing *d = ctx;
    (void)err; /* a write error is the commit's to report */
    mlp_plot_logx_svg_write(f, d->x, d->y, d->n, d->mark, d->title, d->xcaption, d->ycaption);
    return MLP_OK;
}

mlp_status mlp_plot_logx_svg_save(const mlp_output_plan *files, const char *path, const double *x,
                                  const double *y, size_t n, double mark, const char *title,
                                  const char *xcaption, const char *ycaption, mlp_error *err)
{
    struct logx_drawing d = {x, y, n, mark, title, xcaption, ycaption};
    mlp_output o;
    mlp_status st = mlp_output_open(&o, files, path, err);
    if (st != MLP_OK)
        return st;
    write_logx(o.f, &d, err);
    return mlp_output_commit(&o, err);
}

mlp_status mlp_plot_run_open(mlp_plot_run *r, const mlp_output_plan *files, const char *log_path,
                             const char *svg_path, const char *title, size_t keep_epochs,
                             mlp_error *err)
{
    mlp_plot_curve old = {0};
    memset(r, 0, sizeof *r);
    r->files = files;
    r->log_path = log_path;
    r->svg_path = svg_path;
    r->title = title;
    if (!log_path)
        return MLP_OK;
    /* A resumed run keeps the rows of the epochs it resumes after, if the log has them; a log
     * that is missing or does not parse starts afresh. The old log stays whole until the new
     * one, with those rows, replaces it. */
    mlp_error ignored;
    if (keep_epochs > 0 && mlp_plot_read(&old, log_path, &ignored) != MLP_OK)
        mlp_plot_free(&old);
    mlp_status st = mlp_output_open(&r->log, files, log_path, err);
    if (st == MLP_OK)
        r->log_open = true;
    if (st == MLP_OK && !mlp_plot_write_header(r->log.f))
        st = mlp_fail(err, MLP_EIO, "%s: write error", log_path);
    for (size_t i = 0; st == MLP_OK && i < old.n && old.rows[i].epoch <= keep_epochs; i++) {
        if ((st = mlp_plot_add(&r->curve, &old.rows[i], err)) == MLP_OK &&
            !mlp_plot_write_row(r->log.f, &old.rows[i]))
            st = mlp_fail(err, MLP_EIO, "%s: write error", log_path);
    }
    mlp_plot_free(&old);
    if (st == MLP_OK)
        st = mlp_output_publish(&r->log, err);
    if (st != MLP_OK && r->log_open) {
        mlp_output_abort(&r->log);
        r->log_open = false;
    }
    return st;
}

mlp_status mlp_plot_run_epoch(mlp_plot_run *r, const mlp_plot_row *row, mlp_error *err)
{
    mlp_status st = mlp_plot_add(&r->curve, row, err);
    if (st != MLP_OK)
        return st;
    if (r->log_open && !mlp_plot_write_row(r->log.f, row))
        return mlp_fail(err, MLP_EIO, "%s: write error", r->log_path);
    if (r->log_open && (st = mlp_output_flush(&r->log, false, err)) != MLP_OK)
        return st;
    if (r->svg_path)
        return mlp_plot_svg_save(r->files, r->svg_path, &r->curve, r->title, err);
    return MLP_OK;
}

mlp_status mlp_plot_run_close(mlp_plot_run *r, mlp_error *err)
{
    mlp_status st = MLP_OK;
    if (r->log_open)
        st = mlp_output_close(&r->log, err);
    mlp_plot_free(&r->curve);
    memset(r, 0, sizeof *r);
    return st;
}
