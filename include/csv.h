/*
 * csv: reads datasets stored as CSV text, one image a line, into the sets the IDX reader
 * makes (idx.h), so that training on a CSV written out of IDX files is training on those
 * files, float for float.
 *
 * The format, as Kaggle's digit-recognizer files and the mnist_train.csv of many tutorials
 * have it:
 *
 *   label,pixel0,pixel1,...,pixel783      an optional header (line 1)
 *   5,0,0,...,0                           one image a line: its label and its pixels,
 *   0,0,0,...,0                           rows top to bottom, each left to right
 *
 *  - Header: line 1 is one when it holds an ASCII letter or a double quote; otherwise it is
 *    the first image. Names may be double-quoted; a UTF-8 byte order mark before line 1 is
 *    skipped. The column named "label" (in any case, at any place) holds the labels; every
 *    other column is a pixel. A header without one is a file of pixels only (Kaggle's
 *    test.csv). An empty name, or a second label column, is refused.
 *  - No header: the first column is the label (mnist_train.csv), unless the caller says the
 *    file has no labels or, with MLP_CSV_AUTO and a shape, the width says so.
 *  - Values: whole decimal numbers of one to three digits, pixels 0 to 255 and labels 0 to
 *    255 (below `classes` when the caller gives it), separated by commas with nothing else:
 *    no sign, point, exponent, space or quotes. "-1", "256", "1.5", " 7" and "abc" are
 *    refused, each naming its line and column.
 *  - Rows: every line has as many values as line 1, and none is empty; lines end in LF or
 *    CRLF, and the last one may end without.
 *  - Shape: rows x cols given by the caller, or else square: the number of pixel columns
 *    must then be a perfect square.
 *  - gzip: a file that starts with the gzip magic is decompressed first (inflate.h),
 *    whatever its name.
 *
 * Errors are one line naming the file and, where there is one, the line and column:
 * "train.csv: line 17, column 785: 256 is not a pixel value (0 to 255)".
 *
 * Streaming: a plain file is read a window at a time and its pixels kept as bytes as they are
 * parsed; the floats (4 bytes a pixel) are made once the row count is known. Memory is
 * checked against the machine's (util.h) before anything large is allocated: once line 1
 * gives the width, against the fewest rows the file's size can hold (every value takes at
 * most three digits and a comma), so a file too large for memory is refused before it is
 * read; whenever the byte copy grows; and against the exact count before the floats. No
 * allocation is sized by anything but bytes really read and rows really parsed.
 */
#ifndef MLP_CSV_H
#define MLP_CSV_H

#include "idx.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>

/* The most pixel columns a row may have: a 1024x1024 image. */
#define MLP_CSV_MAX_PIXELS (1u << 20)
/* The longest header line read, in bytes. */
#define MLP_CSV_MAX_HEADER (32u << 20)

/* Whether the rows carry a label. */
typedef enum {
    MLP_CSV_LABELED,   /* they must: a header names a label column, or the first one is */
    MLP_CSV_UNLABELED, /* they must not: every column is a pixel; a label column is refused */
    MLP_CSV_AUTO,      /* a header decides (a label column or none); without a header, with
                        * the shape given, rows * cols columns are pixels only and one more
                        * is a label first; without a header or a shape, the label is first */
} mlp_csv_labels;

typedef struct {
    mlp_csv_labels labels;  /* zero: MLP_CSV_LABELED */
    size_t rows, cols;      /* the image's shape; 0, 0: square */
    size_t classes;         /* labels must be below it; 0: any byte (0 to 255) */
    const char *classes_of; /* whose classes, for messages ("the model's"); NULL: none */
} mlp_csv_opts;

/* What a file turned out to hold. */
typedef struct {
    bool header;         /* line 1 was a header */
    bool labeled;        /* the rows have a label; otherwise the set's y is NULL */
    size_t label_column; /* its place among the columns, from 0, when labeled */
    size_t columns;      /* values a row: the pixels, and the label when labeled */
} mlp_csv_info;

/* Reads the CSV file at path (plain or gzipped) into s (which must be zeroed): s->x holds
 * (n, rows * cols) pixels / 255, converted exactly as the IDX reader converts them, and s->y
 * the n labels, or NULL when the rows have none. opt NULL is {0}: labeled, square, any label.
 * info, if not NULL, says what the file held. On failure s stays zeroed. */
mlp_status mlp_csv_load(mlp_set *s, mlp_csv_info *info, const char *path, const mlp_csv_opts *opt,
                        mlp_error *err);

/* A labeled CSV dataset as `mlp train` names it. */
typedef struct {
    const char *train, *test; /* the files; test NULL: none (the caller splits one off) */
    size_t test_split;        /* the training rows to hold out as the test set; 0: default */
    size_t rows, cols;        /* the image's shape; 0, 0: square */
} mlp_csv_files;

/* Reads files->train and, when named, files->test into d, labeled, and checks them as
 * mlp_idx_load_files() checks IDX files: the class count is the largest training label + 1,
 * at least two; the test rows have the training images' shape and labels below that count.
 * Without a test file d->test stays empty. */
mlp_status mlp_csv_load_files(mlp_data *d, const mlp_csv_files *files, mlp_error *err);

#endif
