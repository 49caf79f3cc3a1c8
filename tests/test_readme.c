/*
 * README.md against the program (MLP_BIN, default ./mlp): every mlp command the README's
 * code blocks show names a command `mlp help` lists, and uses only flags that command's
 * `mlp help COMMAND` lists, so a renamed or made-up flag in the README fails here. The
 * pictures the README shows must exist. Run from the repository's root, as `make test` does.
 *
 * What counts as a command: a line of a fenced code block that starts with "./mlp " or
 * "mlp ", after an optional "$ " prompt. In a block where some line has the prompt, only
 * the prompted lines are commands and the rest is their output (which may well start with
 * "mlp bench: ..."). A line ending in a backslash goes on on the next line; a comment (#),
 * a pipe, a redirection or a ; or & ends the mlp part of a line.
 */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_COMMANDS = 32, NAME_CAP = 32, MAX_TOKENS = 128, TOKEN_CAP = 256 };

/* What a flag's name is made of after its two dashes. */
#define FLAG_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"

typedef struct {
    tu_cli cli;
    char names[MAX_COMMANDS][NAME_CAP]; /* as `mlp help` lists them, help and --version too */
    char *help[MAX_COMMANDS];           /* `mlp help NAME`, or NULL for help and --version */
    size_t n_names;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_cli_open(&f->cli);
    /* the commands, as the overview lists them: "  NAME ARGS   summary" after "commands:" */
    assert_int_equal(tu_cli_run(&f->cli, "help"), 0);
    char *overview = strdup(f->cli.out);
    assert_non_null(overview);
    const char *list = strstr(overview, "commands:\n");
    assert_non_null(list);
    for (const char *line = list + strlen("commands:\n"); strncmp(line, "  ", 2) == 0;) {
        size_t n = strcspn(line + 2, " \n");
        assert_true(n > 0 && n < NAME_CAP && f->n_names < MAX_COMMANDS);
        snprintf(f->names[f->n_names++], NAME_CAP, "%.*s", (int)n, line + 2);
        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
    free(overview);
    assert_true(f->n_names >= 10); /* the overview must have been read */
    for (size_t c = 0; c < f->n_names; c++) {
        const char *name = f->names[c];
        if (name[0] == '-' || !strcmp(name, "help"))
            continue; /* no help text of its own */
        assert_int_equal(tu_cli_run(&f->cli, "help %s", name), 0);
        f->help[c] = strdup(f->cli.out);
        assert_non_null(f->help[c]);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t c = 0; c < f->n_names; c++)
        free(f->help[c]);
    tu_cli_close(&f->cli);
    free(f);
    return 0;
}

/* True if text holds word, not as part of a longer name: "--lr" is not found in "--lr-end". */
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

static char *read_readme(void)
{
    size_t len;
    char *s = (char *)tu_read_file("README.md", &len);
    if (!s)
        fail_msg("cannot read README.md (the tests run from the repository's root)");
    s = realloc(s, len + 1);
    assert_non_null(s);
    s[len] = '\0';
    return s;
}

/* The index of name among the commands, or -1. */
static int command_index(const fixture *f, const char *name)
{
    for (size_t c = 0; c < f->n_names; c++)
        if (!strcmp(f->names[c], name))
            return (int)c;
    return -1;
}

/* Splits a command line into shell words, as far as the mlp command goes: up to a comment,
 * a pipe, a redirection, ; or &. quoted[i] says whether word i had quotes (a quoted word is
 * an argument, never a flag). Returns the number of words. */
static size_t split_words(const char *s, char words[][TOKEN_CAP], bool *quoted, size_t cap)
{
    size_t n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || strchr("#|;&<>", *s))
            return n;
        assert_true(n < cap);
        size_t w = 0;
        quoted[n] = false;
        while (*s && *s != ' ' && *s != '\t' && !strchr("|;&<>", *s)) {
            if (*s == '\'' || *s == '"') {
                char q = *s++;
                quoted[n] = true;
                while (*s && *s != q) {
                    if (q == '"' && *s == '\\' && s[1])
                        s++;
                    if (w + 1 < TOKEN_CAP)
                        words[n][w++] = *s;
                    s++;
                }
                if (*s)
                    s++;
            } else {
                if (*s == '\\' && s[1])
                    s++;
                if (w + 1 < TOKEN_CAP)
                    words[n][w++] = *s;
                s++;
            }
        }
        words[n++][w] = '\0';
    }
}

/* Checks one command line (without its prompt and its "mlp" or "./mlp"); returns the number
 * of problems, each printed with the README's line number. */
static int check_command(const fixture *f, const char *line, size_t lineno)
{
    static char words[MAX_TOKENS][TOKEN_CAP];
    bool quoted[MAX_TOKENS];
    size_t n = split_words(line, words, quoted, MAX_TOKENS);
    int bad = 0;
    if (n == 0) {
        print_error("README.md:%zu: 'mlp' without a command\n", lineno);
        return 1;
    }
    int c = command_index(f, words[0]);
    if (c < 0) {
        print_error("README.md:%zu: 'mlp %s': not a command 'mlp help' lists\n", lineno, words[0]);
        return 1;
    }
    if (!strcmp(words[0], "help") && n > 1 && words[1][0] != '-' &&
        command_index(f, words[1]) < 0) {
        print_error("README.md:%zu: 'mlp help %s': not a command 'mlp help' lists\n", lineno,
                    words[1]);
        bad++;
    }
    for (size_t i = 1; i < n; i++) {
        if (quoted[i] || strncmp(words[i], "--", 2) != 0)
            continue;
        char flag[TOKEN_CAP];
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(words[i], "="), words[i]);
        if (!strcmp(flag, "--help"))
            continue;
        if (!f->help[c] || !has_word(f->help[c], flag)) {
            print_error("README.md:%zu: 'mlp %s %s': 'mlp help %s' has no %s\n", lineno, words[0],
                        flag, words[0], flag);
            bad++;
        }
    }
    return bad;
}

/* If line (up to its end) is an mlp command in the README's sense, the text after "mlp ";
 * else NULL. With prompts, only a line after "$ " is one. */
static const char *mlp_command(const char *line, bool prompts)
{
    if (strncmp(line, "$ ", 2) == 0)
        line += 2;
    else if (prompts)
        return NULL;
    if (strncmp(line, "./mlp ", 6) == 0)
        return line + 6;
    if (strncmp(line, "mlp ", 4) == 0)
        return line + 4;
    return NULL;
}

static void test_readme_commands_are_real(void **state)
{
    const fixture *f = *state;
    char *readme = read_readme();
    int bad = 0;
    size_t commands = 0, lineno = 1;
    bool in_block = false, prompts = false;
    for (char *line = readme; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *next = end ? end + 1 : line + len;
        size_t this_line = lineno++;
        if (strncmp(line, "```", 3) == 0) {
            in_block = !in_block;
            prompts = false;
            if (in_block) { /* does this block use "$ " prompts? */
                for (const char *p = next; *p && strncmp(p, "```", 3) != 0;) {
                    if (strncmp(p, "$ ", 2) == 0)
                        prompts = true;
                    const char *e = strchr(p, '\n');
                    p = e ? e + 1 : p + strlen(p);
                }
            }
            line = next;
            continue;
        }
        char *text = malloc(len + 1);
        assert_non_null(text);
        memcpy(text, line, len);
        text[len] = '\0';
        const char *cmd = in_block ? mlp_command(text, prompts) : NULL;
        if (cmd) {
            /* a trailing backslash continues the command on the next line */
            size_t tl = len;
            char *joined = text;
            while (tl > 0 && joined[tl - 1] == '\\' && *next && strncmp(next, "```", 3) != 0) {
                char *e = strchr(next, '\n');
                size_t nl = e ? (size_t)(e - next) : strlen(next);
                size_t off = (size_t)(cmd - joined);
                joined = realloc(joined, tl + nl + 2);
                assert_non_null(joined);
                joined[tl - 1] = ' ';
                memcpy(joined + tl, next, nl);
                tl += nl;
                joined[tl] = '\0';
                cmd = joined + off;
                next = e ? e + 1 : next + nl;
                lineno++;
            }
            text = joined;
            commands++;
            bad += check_command(f, cmd, this_line);
        }
        free(text);
        line = next;
    }
    assert_false(in_block); /* every block is closed */
    free(readme);
    /* the README shows a command of every kind; finding few means the parsing broke */
    if (commands < 15)
        fail_msg("README.md: only %zu mlp commands found in its code blocks", commands);
    if (bad)
        fail_msg("README.md: %d command(s) that mlp would refuse", bad);
}

/* Every picture the README shows by a relative path, ![text](path), is in the tree. */
static void test_readme_pictures_exist(void **state)
{
    (void)state;
    char *readme = read_readme();
    int pictures = 0, bad = 0;
    for (const char *p = readme; (p = strstr(p, "![")); p += 2) {
        const char *open = strstr(p, "](");
        const char *nl = strchr(p, '\n');
        if (!open || (nl && open > nl))
            continue;
        open += 2;
        size_t n = strcspn(open, ") \n");
        char path[4096];
        snprintf(path, sizeof path, "%.*s", (int)n, open);
        if (strstr(path, "://"))
            continue;
        pictures++;
        if (access(path, R_OK) != 0) {
            print_error("README.md shows %s, which is not in the tree\n", path);
            bad++;
        }
    }
    free(readme);
    assert_true(pictures >= 1);
    if (bad)
        fail_msg("README.md: %d picture(s) missing", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readme_commands_are_real, setup, teardown),
        cmocka_unit_test(test_readme_pictures_exist),
    };
    return cmocka_run_group_tests_name("readme", tests, NULL, NULL);
}
