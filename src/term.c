/*
 * term: image rows and bars as text, in Unicode block elements or ASCII.
 */
#include "term.h"

#include <math.h>
#include <string.h>

/* Appends s to buf (holding *len bytes) if all of it fits with the terminating NUL. */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n < cap) {
        memcpy(buf + *len, s, n + 1);
        *len += n;
    }
}

static double clamp01(double v)
{
    return v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0; /* NaN fails v > 0: 0 */
}

void mlp_term_shade_row(char *buf, size_t cap, const float *px, size_t cols, bool ascii)
{
    static const char *const uni[] = {"  ", "░░", "▒▒", "▓▓", "██"};
    static const char *const asc[] = {"  ", "..", "::", "--", "==", "++", "**", "##", "%%", "@@"};
    const char *const *shade = ascii ? asc : uni;
    const size_t n = ascii ? 10 : 5;
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    for (size_t c = 0; c < cols; c++) {
        size_t level = (size_t)(clamp01((double)px[c]) * (double)n);
        put(buf, cap, &len, shade[level < n ? level : n - 1]);
    }
}

/* Appends the bar for the fraction f of `cells` cells, eighths in Unicode; nothing after its
 * end, so a line never ends in spaces. */
static void bar_cells(char *buf, size_t cap, size_t *len, double f, size_t cells, bool ascii)
{
    static const char *const eighth[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    size_t units = (size_t)lround(clamp01(f) * (double)cells * (ascii ? 1.0 : 8.0));
    size_t full = ascii ? units : units / 8;
    for (size_t i = 0; i < full; i++)
        put(buf, cap, len, ascii ? "#" : "█");
    if (!ascii && units % 8)
        put(buf, cap, len, eighth[units % 8]);
}

void mlp_term_bar(char *buf, size_t cap, double frac, size_t width, bool ascii)
{
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    bar_cells(buf, cap, &len, frac, width, ascii);
}

void mlp_term_signed_bar(char *buf, size_t cap, double v, size_t half, bool ascii)
{
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    double m = v != v ? 0.0 : (v < -1.0 ? -1.0 : (v > 1.0 ? 1.0 : v));
    /* the left half grows towards the centre, so it is drawn as blanks then whole cells;
     * eighth blocks fill from the left and cannot end a bar on its right side */
    size_t left = m < 0.0 ? (size_t)lround(-m * (double)half) : 0;
    for (size_t i = 0; i < half; i++)
        put(buf, cap, &len, i + left >= half ? (ascii ? "#" : "█") : " ");
    put(buf, cap, &len, ascii ? "|" : "│");
    bar_cells(buf, cap, &len, m > 0.0 ? m : 0.0, half, ascii);
}

size_t mlp_term_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80; /* count all but continuation bytes */
    return n;
}
