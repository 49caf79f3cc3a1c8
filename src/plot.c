/*
 * plot: the learning-curve log (write, parse) and the SVG chart. The chart is two panels
 * sharing the epoch axis: cost above, accuracies below, each with "nice" ticks (1, 2 or 5
 * times a power of ten), a legend with the last values, and a tooltip on every point.
 */
#define _POSIX_C_SOURCE 200809L
#include "plot.h"

#include <ctype.h>
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

/* One field: a number (finite, all of it), or "-" for not measured. */
static bool parse_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 1 && s[0] == '-') {
        *out = NAN;
        return true;
    }
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0' || !isfinite(v) || isspace((unsigned char)buf[0]))
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
            return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: %s '%.*s' is not a number or '-'",
                            name, lineno, columns[k], (int)(i - start < 32 ? i - start : 32),
                            s + start);
        k++;
        start = i + 1;
    }
    if (k != 7)
        return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: %zu fields, a row has 7 (%s)", name,
                        lineno, k, MLP_PLOT_HEADER);
    if (!(v[0] >= 1.0 && v[0] <= 1e9 && v[0] == floor(v[0])))
        return mlp_fail(err, MLP_EFORMAT, "%s: line %zu: the epoch is not a whole number >= 1",
                        name, lineno);
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
    FILE *f = fopen(path, "rb");
    if (!f)
        return mlp_fail(err, MLP_EIO, "%s: cannot open", path);
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

typedef struct {
    double lo, hi, step; /* the axis runs from lo to hi, a tick every step */
} axis;

/* A step of 1, 2 or 5 times a power of ten giving about `ticks` ticks over span (> 0). */
static double nice_step(double span, double ticks)
{
    double raw = span / ticks, mag = pow(10.0, floor(log10(raw))), norm = raw / mag;
    return (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
}

/* An axis from lo to hi (lo < hi), widened to whole steps. */
static axis make_axis(double lo, double hi, double ticks)
{
    axis a;
    a.step = nice_step(hi - lo, ticks);
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    if (a.hi <= a.lo)
        a.hi = a.lo + a.step;
    return a;
}

static double map(double v, const axis *a, double from, double to)
{
    return from + (v - a->lo) / (a->hi - a->lo) * (to - from);
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
    for (double v = y->lo; v <= y->hi + y->step * 1e-6; v += y->step) {
        double py = map(v, y, top + PANEL_H, top);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>\n",
                PLOT_X, py, PLOT_X + PLOT_W, py, PLOT_X - 6, py + 4, fabs(v) < 1e-12 ? 0.0 : v,
                unit);
    }
    for (double v = x->lo; v <= x->hi + x->step * 1e-6; v += x->step) {
        double px = map(v, x, PLOT_X, PLOT_X + PLOT_W);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                px, top, px, top + PANEL_H, px, top + PANEL_H + 16, v);
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
        fprintf(f, s ? "%.2f%%" : "%.4f", v);
    fputs("</text>\n", f);
}

static void chart(FILE *f, const mlp_plot_curve *c, const char *title)
{
    const mlp_plot_row *r = c->rows;
    double e0 = (double)r[0].epoch, e1 = (double)r[c->n - 1].epoch;
    axis x = make_axis(e0 == e1 ? e0 - 1.0 : e0, e0 == e1 ? e1 + 1.0 : e1, 10);
    if (x.step < 1.0) { /* epochs are whole numbers */
        x = (axis){e0 == e1 ? e0 - 1.0 : e0, e0 == e1 ? e1 + 1.0 : e1, 1.0};
    }
    double cmax = 0.0, amin = 100.0;
    for (size_t i = 0; i < c->n; i++) {
        if (!isnan(r[i].cost))
            cmax = fmax(cmax, r[i].cost);
        for (int s = 1; s <= 3; s++)
            if (!isnan(value(&r[i], s)))
                amin = fmin(amin, value(&r[i], s));
    }
    axis yc = make_axis(0.0, cmax > 0.0 ? cmax : 1.0, 5);
    axis ya = make_axis(amin < 100.0 ? amin : 90.0, 100.0, 5);
    ya.hi = 100.0; /* accuracy never goes above it */
    if (ya.lo < 0.0)
        ya.lo = 0.0;

    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n"
            "<text x=\"%d\" y=\"28\" font-size=\"15\" font-weight=\"bold\">",
            SVG_W, SVG_H, SVG_W, SVG_H, PLOT_X);
    put_text(f, title);
    fputs("</text>\n", f);
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

mlp_status mlp_plot_svg_save(const char *path, const mlp_plot_curve *c, const char *title,
                             mlp_error *err)
{
    char tmp[4096];
    if (c->n == 0)
        return mlp_fail(err, MLP_EARG, "%s: no epochs to draw", path);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return mlp_fail(err, MLP_EARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return mlp_fail(err, MLP_EIO, "%s: cannot create", tmp);
    chart(f, c, title);
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok) {
        remove(tmp);
        return mlp_fail(err, MLP_EIO, "%s: write error", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return mlp_fail(err, MLP_EIO, "%s: cannot replace it", path);
    }
    return MLP_OK;
}

/* --- during training --------------------------------------------------------------------- */

mlp_status mlp_plot_run_open(mlp_plot_run *r, const char *log_path, const char *svg_path,
                             const char *title, size_t keep_epochs, mlp_error *err)
{
    mlp_plot_curve old = {0};
    memset(r, 0, sizeof *r);
    r->log_path = log_path;
    r->svg_path = svg_path;
    r->title = title;
    if (!log_path)
        return MLP_OK;
    /* A resumed run keeps the rows of the epochs it resumes after, if the log has them; a log
     * that is missing or does not parse starts afresh. */
    mlp_error ignored;
    if (keep_epochs > 0 && mlp_plot_read(&old, log_path, &ignored) != MLP_OK)
        mlp_plot_free(&old);
    if (!(r->log = fopen(log_path, "w"))) {
        mlp_plot_free(&old);
        return mlp_fail(err, MLP_EIO, "%s: cannot create", log_path);
    }
    mlp_status st = MLP_OK;
    if (!mlp_plot_write_header(r->log))
        st = mlp_fail(err, MLP_EIO, "%s: write error", log_path);
    for (size_t i = 0; st == MLP_OK && i < old.n && old.rows[i].epoch <= keep_epochs; i++) {
        if ((st = mlp_plot_add(&r->curve, &old.rows[i], err)) == MLP_OK &&
            !mlp_plot_write_row(r->log, &old.rows[i]))
            st = mlp_fail(err, MLP_EIO, "%s: write error", log_path);
    }
    mlp_plot_free(&old);
    if (st == MLP_OK && fflush(r->log) != 0)
        st = mlp_fail(err, MLP_EIO, "%s: write error", log_path);
    return st;
}

mlp_status mlp_plot_run_epoch(mlp_plot_run *r, const mlp_plot_row *row, mlp_error *err)
{
    mlp_status st = mlp_plot_add(&r->curve, row, err);
    if (st != MLP_OK)
        return st;
    if (r->log && (!mlp_plot_write_row(r->log, row) || fflush(r->log) != 0))
        return mlp_fail(err, MLP_EIO, "%s: write error", r->log_path);
    if (r->svg_path)
        return mlp_plot_svg_save(r->svg_path, &r->curve, r->title, err);
    return MLP_OK;
}

mlp_status mlp_plot_run_close(mlp_plot_run *r, mlp_error *err)
{
    mlp_status st = MLP_OK;
    if (r->log && fclose(r->log) != 0)
        st = mlp_fail(err, MLP_EIO, "%s: write error", r->log_path);
    mlp_plot_free(&r->curve);
    memset(r, 0, sizeof *r);
    return st;
}
