/*
 * term: text pictures for a terminal. An image drawn in shades, bars for values in [0, 1] and
 * bars centred on zero for signed ones. Each function writes one NUL-terminated line into a
 * caller's buffer and prints nothing; the commands print it.
 *
 * Two alphabets: Unicode block elements (UTF-8: shades ░▒▓█, bars in eighths ▏▎▍▌▋▊▉█) and
 * plain ASCII for terminals and files that cannot show them. A character that does not fit
 * in the buffer is left out whole, so a short buffer never ends in half a UTF-8 sequence.
 */
#ifndef MLP_TERM_H
#define MLP_TERM_H

#include <stdbool.h>
#include <stddef.h>

/* One image row of cols pixels in [0, 1] (clamped; NaN counts as 0), two characters per pixel
 * so the picture keeps its aspect: 0 is blank, 1 is the darkest shade ("██" or "@@"). */
void mlp_term_shade_row(char *buf, size_t cap, const float *px, size_t cols, bool ascii);

/* frac in [0, 1] (clamped) as a bar of up to `width` cells; Unicode resolves eighths of a
 * cell, ASCII whole cells of '#'. Nothing follows the bar's end: a line never ends in spaces,
 * so a bar goes last on its line. */
void mlp_term_bar(char *buf, size_t cap, double frac, size_t width, bool ascii);

/* v in [-1, 1] (clamped) as a bar growing left (negative) or right (positive) from a centre
 * mark, up to `half` cells each side; the left side is padded, so centres line up. */
void mlp_term_signed_bar(char *buf, size_t cap, double v, size_t half, bool ascii);

/* Characters (code points) of a UTF-8 string: what a terminal shows of it. */
size_t mlp_term_width(const char *s);

#endif
