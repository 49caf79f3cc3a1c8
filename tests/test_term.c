/*
 * term: shades get darker with brightness, bars have the width asked for and the length the
 * value says, signs go the right way, and a short buffer never gets half a character.
 */
#include "testutil.h"

#include "term.h"

#include <math.h>
#include <string.h>

static void test_shades_darken_with_brightness(void **state)
{
    (void)state;
    for (int ascii = 0; ascii < 2; ascii++) {
        const float px[] = {0.0f, 0.3f, 0.6f, 1.0f, 2.0f, -1.0f, NAN};
        char row[256];
        mlp_term_shade_row(row, sizeof row, px, 7, ascii);
        assert_int_equal(mlp_term_width(row), 14); /* two characters a pixel */
        assert_memory_equal(row, "  ", 2);         /* black is blank */
        /* 1 and anything brighter draw the darkest shade; NaN and negatives draw blank */
        const char *full = ascii ? "@@" : "██";
        size_t fl = strlen(full);
        const char *p = row + 2;
        char cells[7][8];
        for (int i = 1; i < 7; i++) {
            size_t n = (*p == ' ' || ascii) ? 2 : 2 * strlen("░");
            memcpy(cells[i], p, n);
            cells[i][n] = '\0';
            p += n;
        }
        assert_string_equal(cells[3], full);
        assert_string_equal(cells[4], full);
        assert_string_equal(cells[5], "  ");
        assert_string_equal(cells[6], "  ");
        assert_string_not_equal(cells[1], cells[2]);
        assert_string_not_equal(cells[2], cells[3]);
        assert_int_equal(strlen(cells[3]), fl);
    }
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0, w = strlen(what);
    for (const char *p = s; (p = strstr(p, what)); p += w)
        n++;
    return n;
}

static void test_bars_have_their_length(void **state)
{
    (void)state;
    char b[256];
    for (int ascii = 0; ascii < 2; ascii++) {
        const char *cell = ascii ? "#" : "█";
        mlp_term_bar(b, sizeof b, 0.0, 10, ascii);
        assert_string_equal(b, "");
        mlp_term_bar(b, sizeof b, 1.0, 10, ascii);
        assert_int_equal(count(b, cell), 10);
        mlp_term_bar(b, sizeof b, 7.0, 10, ascii); /* clamped */
        assert_int_equal(count(b, cell), 10);
        mlp_term_bar(b, sizeof b, 0.5, 10, ascii);
        assert_int_equal(count(b, cell), 5);
        assert_int_equal(mlp_term_width(b), 5);
        mlp_term_bar(b, sizeof b, 0.33, 7, ascii);
        assert_int_equal(mlp_term_width(b), ascii ? 2 : 3); /* 2.31 cells */
    }
    /* Unicode shows eighths: 0.55 of 10 cells is 5 full cells and a half cell */
    mlp_term_bar(b, sizeof b, 0.55, 10, false);
    assert_int_equal(count(b, "█"), 5);
    assert_int_equal(count(b, "▌"), 1);
}

static void test_signed_bars_point_the_right_way(void **state)
{
    (void)state;
    char b[256];
    for (int ascii = 0; ascii < 2; ascii++) {
        const char *centre = ascii ? "|" : "│", *cell = ascii ? "#" : "█";
        mlp_term_signed_bar(b, sizeof b, 0.5, 4, ascii);
        assert_int_equal(mlp_term_width(b), 7); /* 4 left, the centre, 2 right */
        const char *mid = strstr(b, centre);
        assert_non_null(mid);
        assert_int_equal(count(mid, cell), 2); /* right of the centre */
        assert_int_equal(count(b, cell), 2);
        mlp_term_signed_bar(b, sizeof b, -1.0, 4, ascii);
        mid = strstr(b, centre);
        assert_int_equal(count(mid, cell), 0); /* all left of the centre */
        assert_int_equal(count(b, cell), 4);
        mlp_term_signed_bar(b, sizeof b, 0.0, 4, ascii);
        assert_int_equal(count(b, cell), 0);
        assert_int_equal(mlp_term_width(b), 5);
    }
}

static void test_short_buffers_keep_whole_characters(void **state)
{
    (void)state;
    const float px[4] = {1, 1, 1, 1};
    char b[8];
    mlp_term_shade_row(b, sizeof b, px, 4, false); /* "██" is 6 bytes: one pixel fits */
    assert_string_equal(b, "██");
    mlp_term_bar(b, 5, 1.0, 10, false);
    assert_string_equal(b, "█");
    mlp_term_bar(b, 1, 1.0, 10, true);
    assert_string_equal(b, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shades_darken_with_brightness),
        cmocka_unit_test(test_bars_have_their_length),
        cmocka_unit_test(test_signed_bars_point_the_right_way),
        cmocka_unit_test(test_short_buffers_keep_whole_characters),
    };
    return cmocka_run_group_tests_name("term", tests, NULL, NULL);
}
