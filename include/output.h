/*
 * output: the one way mlp writes a file. Models and checkpoints, training logs and charts,
 * weight pictures, exported arrays: every command writes them through here, so one module
 * keeps these promises for all of them.
 *
 *  - Before any work, a command names what it reads and what it will write (a plan). A
 *    target is refused when it exists and is not a regular file (a device, a FIFO, a
 *    directory), when it is the same file as an input or as another target (same device and
 *    inode, symlinks followed; or, for a file not there yet, the same real directory and
 *    name), or when its directory is missing or cannot take a new file. A symlink to a
 *    regular file is written through: the file it points to is replaced, the link stays.
 *  - Each target is locked while it is written (PATH.lock, an empty file holding an flock),
 *    and a training run holds the locks of its outputs from start to end, so a second run
 *    aimed at the same file is refused instead of both writing it in turn. The lock file is
 *    removed when the lock is released.
 *  - Writing goes to PATH.tmp.PID in the same directory, which is flushed, fsynced, renamed
 *    over PATH, and the directory fsynced: a reader sees the old file or the new one, never
 *    half of one, and a failed write leaves the old file as it was.
 *  - Temporary and lock files are listed where the signal handlers can reach them: SIGINT,
 *    SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU and SIGXFSZ
 *    remove them before the program ends (a signal ignored at start stays ignored), so no
 *    exit path leaves one behind. Only SIGKILL can: a later run on the same target reuses
 *    the empty lock file and removes temporaries whose process is gone.
 *  - A target may not be the lock file of another target (or of an input's name).
 */
#ifndef MLP_OUTPUT_H
#define MLP_OUTPUT_H

#include "util.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define MLP_OUTPUT_MAX_PATH 4096 /* bytes of a path, its NUL included */

/* Flags of mlp_output_input() and mlp_output_target(). */
enum {
    /* An input that a target flagged MLP_OUTPUT_REPLACES may be: the checkpoint a resumed
     * run updates in place, which it has read whole before the first save. */
    MLP_OUTPUT_REPLACEABLE = 1 << 0,
    MLP_OUTPUT_REPLACES = 1 << 1,
    /* Take the target's lock now and hold it until mlp_output_plan_free(), instead of only
     * while the file is written. */
    MLP_OUTPUT_HOLD = 1 << 2,
};

typedef struct {
    const char *what;  /* for messages: "--out", "SVG", "training images", ... */
    const char *given; /* the path as the user spelled it (the plan's own copy) */
    char *path;        /* where it is written: real directory + name (symlinks followed) */
    unsigned flags;
    bool exists;
    dev_t dev;
    ino_t ino;
    int lock_fd; /* -1 unless held */
    int lock_slot;
} mlp_output_file;

/* What a command reads and writes, all checked before it starts. */
typedef struct {
    mlp_output_file *in, *out; /* (n_in), (n_out) */
    size_t n_in, n_out, cap_in, cap_out;
} mlp_output_plan;

/* Names an input. One that does not exist is not an error here (its reader says so);
 * it is checked against every target named so far, and later targets against it. */
mlp_status mlp_output_input(mlp_output_plan *p, const char *what, const char *path,
                            unsigned flags, mlp_error *err);

/* Names a target and checks it as above; MLP_EARG (refused) or MLP_EIO (cannot be written),
 * with a message naming what and the path. */
mlp_status mlp_output_target(mlp_output_plan *p, const char *what, const char *path,
                             unsigned flags, mlp_error *err);

/* MLP_OK if the file system holding target `path` (named in p) has room for `bytes` twice
 * over (the new file is written beside the old one). */
mlp_status mlp_output_room(const mlp_output_plan *p, const char *path, size_t bytes,
                           mlp_error *err);

/* Releases the locks (removing the lock files) and frees p; safe on a zeroed plan. */
void mlp_output_plan_free(mlp_output_plan *p);

/* One file being written. */
typedef struct {
    FILE *f; /* write the contents here */
    const mlp_output_file *target;
    char tmp[MLP_OUTPUT_MAX_PATH + 32];
    int tmp_slot, lock_fd, lock_slot;
    bool published; /* renamed into place, still open for appending (mlp_output_publish) */
} mlp_output;

/* Starts writing the target `path` of p (it must have been named there). */
mlp_status mlp_output_open(mlp_output *o, const mlp_output_plan *p, const char *path,
                           mlp_error *err);
/* Flushes, fsyncs and closes the file, renames it over the target and syncs the directory.
 * On any failure the temporary is removed and the target is as it was. */
mlp_status mlp_output_commit(mlp_output *o, mlp_error *err);
/* The same, but the file stays open at o->f, now under the target's name, for appending
 * (a training log: written whole once, then a line per epoch); mlp_output_close() ends it. */
mlp_status mlp_output_publish(mlp_output *o, mlp_error *err);
/* Flushes (and, when sync, fsyncs) what was appended since the last call. */
mlp_status mlp_output_flush(mlp_output *o, bool sync, mlp_error *err);
/* Commits (or, after publish, flushes, fsyncs and closes). */
mlp_status mlp_output_close(mlp_output *o, mlp_error *err);
/* Closes and removes the temporary; the target stays as it was. Safe on a zeroed or
 * already closed output. */
void mlp_output_abort(mlp_output *o);

/* Writes one file whole: plans the single target `path`, opens it, calls write(f, ctx) and
 * commits; when write returns an error (in err) nothing is left behind. For library callers
 * (and tests) that write one file with no inputs to guard; a write error of f that write
 * did not see is still caught by the commit. */
mlp_status mlp_output_save(const char *what, const char *path,
                           mlp_status (*write)(FILE *f, void *ctx, mlp_error *err), void *ctx,
                           mlp_error *err);

/* Installs the handlers described above. With stop NULL, each of those signals removes the
 * files and ends the program by the signal's own default action. With stop given, the first
 * SIGINT, SIGTERM or SIGHUP only stores its number in *stop (the caller finishes what it is
 * doing, saves and exits); any later one removes the files and ends the program. */
void mlp_output_signals(volatile sig_atomic_t *stop);

/* Removes every temporary and lock file still listed (what the handlers do). */
void mlp_output_cleanup(void);

#endif
