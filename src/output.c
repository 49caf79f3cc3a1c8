/*
 * output: plans, locks and atomic writes (see output.h).
 *
 * The one piece of global state is the table of files to remove when a signal ends the
 * program: a handler can reach nothing else. A slot's path is written while the slot is
 * not live, then the slot is made live, so a handler never reads half a path.
 */
#define _XOPEN_SOURCE 700 /* realpath() */
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---------------------------------------------------------------- files to remove */

#define CLEANUP_SLOTS 16 /* a few temporaries and locks are ever live at once */

static struct {
    char path[MLP_OUTPUT_MAX_PATH + 32];
    volatile sig_atomic_t live;
} cleanup[CLEANUP_SLOTS];

/* A slot for path, or -1 when all are taken (the caller refuses to write). */
static int slot_take(const char *path)
{
    for (int s = 0; s < CLEANUP_SLOTS; s++) {
        if (!cleanup[s].live && strlen(path) < sizeof cleanup[s].path) {
            strcpy(cleanup[s].path, path);
            cleanup[s].live = 1;
            return s;
        }
    }
    return -1;
}

static void slot_drop(int s)
{
    if (s >= 0)
        cleanup[s].live = 0;
}

/* Async-signal-safe: unlink() only. */
void mlp_output_cleanup(void)
{
    for (int s = 0; s < CLEANUP_SLOTS; s++)
        if (cleanup[s].live)
            unlink(cleanup[s].path);
}

static volatile sig_atomic_t *stop_flag;

/* The signals whose handler removes the files of the cleanup slots (mlp_output_signals). */
static const int handled[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGPIPE,
                              SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ};

/* Blocks (or, with old, restores) those signals in this thread: between creating a lock file
 * and giving it a cleanup slot, a signal would leave the file behind. */
static void hold_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t k = 0; k < sizeof handled / sizeof handled[0]; k++)
        sigaddset(&set, handled[k]);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void on_signal(int sig)
{
    bool asks_stop = sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
    if (stop_flag && asks_stop && !*stop_flag) {
        *stop_flag = sig;
        return;
    }
    mlp_output_cleanup();
    signal(sig, SIG_DFL);
    raise(sig); /* blocked while we run; delivered, with its default action, on return */
}

void mlp_output_signals(volatile sig_atomic_t *stop)
{
    static bool ignored[sizeof handled / sizeof handled[0]], first = true;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t k = 0; k < sizeof handled / sizeof handled[0]; k++)
        sigaddset(&sa.sa_mask, handled[k]); /* one handler at a time */
    stop_flag = stop;
    for (size_t k = 0; k < sizeof handled / sizeof handled[0]; k++) {
        /* a signal ignored when the program started stays ignored (nohup, trap '' XFSZ) */
        if (first && sigaction(handled[k], NULL, &old) == 0)
            ignored[k] = old.sa_handler == SIG_IGN;
        if (!ignored[k])
            sigaction(handled[k], &sa, NULL);
    }
    first = false;
}

/* ---------------------------------------------------------------- paths */

/* The directory part of path ("." when it has none) into dir. */
static bool dir_of(char *dir, size_t cap, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return snprintf(dir, cap, ".") > 0;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        return false;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return true;
}

/* Where a target is really written: the file a symlink points to when it exists, else the
 * real directory joined with the name. Fails with a message when the directory is missing or
 * the name cannot be a file. */
static mlp_status real_target(char *out, const char *what, const char *path, mlp_error *err)
{
    char dir[MLP_OUTPUT_MAX_PATH], real[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= MLP_OUTPUT_MAX_PATH - 40)
        return mlp_fail(err, MLP_EARG, "%s '%.64s...': path empty or too long", what, path);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return mlp_fail(err, MLP_EARG, "%s '%s': names a directory, not a file", what, path);
    if (realpath(path, real)) {
        snprintf(out, MLP_OUTPUT_MAX_PATH, "%s", real);
        return MLP_OK;
    }
    struct stat lsb;
    if (lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode))
        return mlp_fail(err, MLP_EARG, "%s '%s': a symlink to a file that does not exist", what,
                        path);
    if (!dir_of(dir, sizeof dir, path) || !realpath(dir, real))
        return mlp_fail(err, MLP_EIO, "%s '%s': cannot write in '%s': no such directory", what,
                        path, dir_of(dir, sizeof dir, path) ? dir : path);
    if ((size_t)snprintf(out, MLP_OUTPUT_MAX_PATH, "%s/%s", strcmp(real, "/") ? real : "",
                         name) >= MLP_OUTPUT_MAX_PATH - 40)
        return mlp_fail(err, MLP_EARG, "%s '%.64s...': path too long", what, path);
    return MLP_OK;
}

static bool same_file(const mlp_output_file *a, const mlp_output_file *b)
{
    if (a->exists && b->exists)
        return a->dev == b->dev && a->ino == b->ino;
    return a->path && b->path && !strcmp(a->path, b->path);
}

/* True if f is the lock file (PATH.lock) of target t: an output of that name would be
 * removed with the lock, an input of that name could be emptied. */
static bool is_lock_of(const mlp_output_file *f, const mlp_output_file *t)
{
    char lock[MLP_OUTPUT_MAX_PATH + 8];
    struct stat sb;
    snprintf(lock, sizeof lock, "%s.lock", t->path);
    if (f->path) /* a target: its real path says it, with no I/O for each pair of targets */
        return !strcmp(f->path, lock);
    return f->exists && stat(lock, &sb) == 0 && sb.st_dev == f->dev && sb.st_ino == f->ino;
}

static mlp_status lock_clash(const mlp_output_file *f, const mlp_output_file *t, mlp_error *err)
{
    return mlp_fail(err, MLP_EARG, "%s '%s' is the lock file of %s '%s'; name it otherwise",
                    f->what, f->given, t->what, t->given);
}

static bool grow(mlp_output_file **v, size_t n, size_t *cap)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 8;
    mlp_output_file *p = realloc(*v, c * sizeof *p);
    if (!p)
        return false;
    *v = p;
    *cap = c;
    return true;
}

/* ---------------------------------------------------------------- locks */

/* Removes PATH.tmp.PID files that processes no longer running left (a SIGKILL, a power
 * cut). Called with PATH's lock held, and only when a dead run's lock file was found, so it
 * costs one directory scan after a crash, not one per file written; the PID test also
 * spares a writer that predates locks. */
static void remove_stale(const char *path)
{
    char dir[MLP_OUTPUT_MAX_PATH], full[MLP_OUTPUT_MAX_PATH + 300];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = strlen(base);
    if (!dir_of(dir, sizeof dir, path))
        return;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *tail = e->d_name + n + 5;
        if (strncmp(e->d_name, base, n) != 0 || strncmp(e->d_name + n, ".tmp.", 5) != 0 ||
            !*tail || strspn(tail, "0123456789") != strlen(tail) || strlen(tail) > 9)
            continue;
        long pid = strtol(tail, NULL, 10);
        if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
            unlink(full);
        }
    }
    if (d)
        closedir(d);
}

/* Takes path's lock (PATH.lock): created if missing, an flock on it, and then a check that
 * the name still refers to the file locked (a run that just released it removes it, and
 * whoever locked the removed file must try again). */
static mlp_status lock_take_held(const mlp_output_file *t, int *fd_out, int *slot_out,
                                 mlp_error *err);

static mlp_status lock_take(const mlp_output_file *t, int *fd_out, int *slot_out, mlp_error *err)
{
    sigset_t old;
    hold_signals(&old); /* delivered, with the lock in its slot, when they are let through */
    mlp_status st = lock_take_held(t, fd_out, slot_out, err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

static mlp_status lock_take_held(const mlp_output_file *t, int *fd_out, int *slot_out,
                                 mlp_error *err)
{
    char lock[MLP_OUTPUT_MAX_PATH + 8];
    snprintf(lock, sizeof lock, "%s.lock", t->path);
    for (int attempt = 0; attempt < 8; attempt++) {
        /* a lock file already there was left by a run that died holding it (a clean exit
         * and every caught signal remove it): only then can stale temporaries exist */
        int fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        bool left = fd < 0 && errno == EEXIST;
        if (left)
            fd = open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        struct stat a, b;
        if (fd < 0)
            return mlp_fail(err, MLP_EIO, "%s '%s': cannot create %s: %s", t->what, t->given,
                            lock, strerror(errno));
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode) || a.st_size != 0) {
            close(fd);
            return mlp_fail(err, MLP_EARG,
                            "%s '%s': %s exists and is not an mlp lock file (an empty file); "
                            "move it away",
                            t->what, t->given, lock);
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return mlp_fail(err, MLP_EARG,
                                "%s '%s': another mlp is writing it (it holds %s)", t->what,
                                t->given, lock);
            return mlp_fail(err, MLP_EIO, "%s '%s': cannot lock %s: %s", t->what, t->given,
                            lock, strerror(e));
        }
        if (stat(lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            if ((*slot_out = slot_take(lock)) < 0) {
                close(fd);
                return mlp_fail(err, MLP_EIO, "%s '%s': too many files open for writing",
                                t->what, t->given);
            }
            *fd_out = fd;
            if (left)
                remove_stale(t->path);
            return MLP_OK;
        }
        close(fd);
    }
    return mlp_fail(err, MLP_EIO, "%s '%s': cannot take %s (it keeps changing)", t->what,
                    t->given, lock);
}

/* Removes the lock file while still holding the lock, then lets go. */
static void lock_release(int *fd, int *slot)
{
    if (*fd < 0)
        return;
    if (*slot >= 0)
        unlink(cleanup[*slot].path);
    slot_drop(*slot);
    close(*fd);
    *fd = -1;
    *slot = -1;
}

/* ---------------------------------------------------------------- the plan */

static mlp_output_file describe(const char *what, const char *path, unsigned flags)
{
    mlp_output_file f = {.what = what, .given = path, .flags = flags, .lock_fd = -1,
                         .lock_slot = -1};
    struct stat sb;
    if (stat(path, &sb) == 0) {
        f.exists = true;
        f.dev = sb.st_dev;
        f.ino = sb.st_ino;
    }
    return f;
}

static bool may_share(const mlp_output_file *in, const mlp_output_file *out)
{
    return (in->flags & MLP_OUTPUT_REPLACEABLE) && (out->flags & MLP_OUTPUT_REPLACES);
}

static mlp_status clash(const mlp_output_file *t, const mlp_output_file *other, bool input,
                        mlp_error *err)
{
    if (input)
        return mlp_fail(err, MLP_EARG,
                        "%s '%s' is the same file as %s '%s', an input; refusing to overwrite it",
                        t->what, t->given, other->what, other->given);
    return mlp_fail(err, MLP_EARG,
                    "%s '%s' is the same file as %s '%s'; one file cannot take two outputs",
                    t->what, t->given, other->what, other->given);
}

mlp_status mlp_output_input(mlp_output_plan *p, const char *what, const char *path,
                            unsigned flags, mlp_error *err)
{
    if (!grow(&p->in, p->n_in, &p->cap_in))
        return mlp_fail(err, MLP_ENOMEM, "out of memory");
    mlp_output_file f = describe(what, path, flags);
    if (!f.exists)
        return MLP_OK; /* its reader reports it */
    for (size_t k = 0; k < p->n_out; k++) {
        if (same_file(&f, &p->out[k]) && !may_share(&f, &p->out[k]))
            return clash(&p->out[k], &f, true, err);
        if (is_lock_of(&f, &p->out[k]))
            return lock_clash(&f, &p->out[k], err);
    }
    if (!(f.given = strdup(path)))
        return mlp_fail(err, MLP_ENOMEM, "out of memory");
    p->in[p->n_in++] = f;
    return MLP_OK;
}

/* The checks of a target that concern the file itself and its directory. */
static mlp_status check_target(mlp_output_file *t, mlp_error *err)
{
    struct stat sb;
    char dir[MLP_OUTPUT_MAX_PATH];
    if (stat(t->path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return mlp_fail(err, MLP_EARG, "%s '%s': is a directory", t->what, t->given);
        if (!S_ISREG(sb.st_mode))
            return mlp_fail(err, MLP_EARG,
                            "%s '%s': not a regular file (a device, FIFO or socket); "
                            "refusing to replace it",
                            t->what, t->given);
        t->exists = true;
        t->dev = sb.st_dev;
        t->ino = sb.st_ino;
    }
    dir_of(dir, sizeof dir, t->path);
    if (access(dir, W_OK | X_OK) != 0)
        return mlp_fail(err, MLP_EIO, "%s '%s': cannot write in %s: %s", t->what, t->given, dir,
                        strerror(errno));
    return MLP_OK;
}

mlp_status mlp_output_target(mlp_output_plan *p, const char *what, const char *path,
                             unsigned flags, mlp_error *err)
{
    char real[MLP_OUTPUT_MAX_PATH];
    mlp_status st;
    if (!grow(&p->out, p->n_out, &p->cap_out))
        return mlp_fail(err, MLP_ENOMEM, "out of memory");
    mlp_output_file t = {.what = what, .given = path, .flags = flags, .lock_fd = -1,
                         .lock_slot = -1};
    if ((st = real_target(real, what, path, err)) != MLP_OK)
        return st;
    t.path = real;
    if ((st = check_target(&t, err)) != MLP_OK)
        return st;
    for (size_t k = 0; k < p->n_in; k++) {
        if (same_file(&p->in[k], &t) && !may_share(&p->in[k], &t))
            return clash(&t, &p->in[k], true, err);
        if (is_lock_of(&p->in[k], &t))
            return lock_clash(&p->in[k], &t, err);
    }
    for (size_t k = 0; k < p->n_out; k++) {
        if (same_file(&p->out[k], &t))
            return clash(&t, &p->out[k], false, err);
        if (is_lock_of(&t, &p->out[k]))
            return lock_clash(&t, &p->out[k], err);
        if (is_lock_of(&p->out[k], &t))
            return lock_clash(&p->out[k], &t, err);
    }
    t.path = strdup(real);
    t.given = strdup(path);
    if (!t.path || !t.given)
        st = mlp_fail(err, MLP_ENOMEM, "out of memory");
    else if (flags & MLP_OUTPUT_HOLD)
        st = lock_take(&t, &t.lock_fd, &t.lock_slot, err);
    if (st != MLP_OK) {
        free(t.path);
        free((char *)t.given);
        return st;
    }
    p->out[p->n_out++] = t;
    return MLP_OK;
}

static const mlp_output_file *find_target(const mlp_output_plan *p, const char *path)
{
    for (size_t k = 0; k < p->n_out; k++)
        if (!strcmp(p->out[k].given, path))
            return &p->out[k];
    return NULL;
}

mlp_status mlp_output_room(const mlp_output_plan *p, const char *path, size_t bytes,
                           mlp_error *err)
{
    const mlp_output_file *t = find_target(p, path);
    char dir[MLP_OUTPUT_MAX_PATH], need[32], have[32];
    struct statvfs vfs;
    if (!t)
        return mlp_fail(err, MLP_EARG, "%s: not a planned output", path);
    dir_of(dir, sizeof dir, t->path);
    if (statvfs(dir, &vfs) != 0)
        return MLP_OK; /* unknown: the write itself still checks */
    double free_bytes = (double)vfs.f_bavail * (double)vfs.f_frsize;
    if (free_bytes >= 2.0 * (double)bytes)
        return MLP_OK;
    return mlp_fail(err, MLP_EIO, "%s '%s': needs %s, twice over while saving; %s has %s free",
                    t->what, t->given, mlp_bytes_text(need, sizeof need, (double)bytes), dir,
                    mlp_bytes_text(have, sizeof have, free_bytes));
}

void mlp_output_plan_free(mlp_output_plan *p)
{
    for (size_t k = 0; k < p->n_out; k++) {
        lock_release(&p->out[k].lock_fd, &p->out[k].lock_slot);
        free(p->out[k].path);
        free((char *)p->out[k].given);
    }
    for (size_t k = 0; k < p->n_in; k++)
        free((char *)p->in[k].given);
    free(p->in);
    free(p->out);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------- writing */

/* fsync the directory holding path, so a rename survives a power cut. */
static void sync_dir_of(const char *path)
{
    char dir[MLP_OUTPUT_MAX_PATH];
    if (!dir_of(dir, sizeof dir, path))
        return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
}

mlp_status mlp_output_open(mlp_output *o, const mlp_output_plan *p, const char *path,
                           mlp_error *err)
{
    const mlp_output_file *t = find_target(p, path);
    mlp_status st;
    *o = (mlp_output){.tmp_slot = -1, .lock_fd = -1, .lock_slot = -1};
    if (!t)
        return mlp_fail(err, MLP_EARG, "%s: not a planned output", path);
    o->target = t;
    if (t->lock_fd < 0 && (st = lock_take(t, &o->lock_fd, &o->lock_slot, err)) != MLP_OK)
        return st;
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", t->path, (long)getpid());
    if ((o->tmp_slot = slot_take(o->tmp)) < 0) {
        lock_release(&o->lock_fd, &o->lock_slot);
        return mlp_fail(err, MLP_EIO, "%s '%s': too many files open for writing", t->what,
                        t->given);
    }
    /* We hold the lock, so a file of this name is one a killed run of ours left. */
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST && unlink(o->tmp) == 0)
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        slot_drop(o->tmp_slot);
        lock_release(&o->lock_fd, &o->lock_slot);
        return mlp_fail(err, MLP_EIO, "%s '%s': cannot create %s: %s", t->what, t->given, o->tmp,
                        strerror(e));
    }
    return MLP_OK;
}

static mlp_status write_error(mlp_output *o, int e, mlp_error *err)
{
    const mlp_output_file *t = o->target;
    mlp_output_abort(o);
    return mlp_fail(err, MLP_EIO, "%s '%s': write error: %s", t->what, t->given,
                    strerror(e ? e : EIO));
}

/* Everything written so far on its way to the disk. */
static int flush_sync(FILE *f, bool sync)
{
    if (fflush(f) != 0 || ferror(f))
        return errno ? errno : EIO;
    if (sync && fsync(fileno(f)) != 0)
        return errno;
    return 0;
}

static mlp_status rename_into_place(mlp_output *o, mlp_error *err)
{
    const mlp_output_file *t = o->target;
    if (rename(o->tmp, t->path) != 0) {
        int e = errno;
        mlp_output_abort(o);
        return mlp_fail(err, MLP_EIO, "%s '%s': cannot replace it: %s", t->what, t->given,
                        strerror(e));
    }
    slot_drop(o->tmp_slot);
    o->tmp_slot = -1;
    sync_dir_of(t->path);
    return MLP_OK;
}

mlp_status mlp_output_commit(mlp_output *o, mlp_error *err)
{
    errno = 0;
    int e = flush_sync(o->f, true);
    if (e)
        return write_error(o, e, err);
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) != 0)
        return write_error(o, errno, err);
    mlp_status st = rename_into_place(o, err);
    lock_release(&o->lock_fd, &o->lock_slot);
    return st;
}

mlp_status mlp_output_publish(mlp_output *o, mlp_error *err)
{
    errno = 0;
    int e = flush_sync(o->f, true);
    if (e)
        return write_error(o, e, err);
    mlp_status st = rename_into_place(o, err);
    o->published = st == MLP_OK;
    return st;
}

mlp_status mlp_output_flush(mlp_output *o, bool sync, mlp_error *err)
{
    errno = 0;
    int e = flush_sync(o->f, sync);
    if (e)
        return mlp_fail(err, MLP_EIO, "%s '%s': write error: %s", o->target->what,
                        o->target->given, strerror(e));
    return MLP_OK;
}

mlp_status mlp_output_close(mlp_output *o, mlp_error *err)
{
    if (!o->published)
        return mlp_output_commit(o, err);
    mlp_status st = mlp_output_flush(o, true, err);
    if (fclose(o->f) != 0 && st == MLP_OK)
        st = mlp_fail(err, MLP_EIO, "%s '%s': write error: %s", o->target->what,
                      o->target->given, strerror(errno));
    o->f = NULL;
    o->published = false;
    lock_release(&o->lock_fd, &o->lock_slot);
    return st;
}

void mlp_output_abort(mlp_output *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp_slot >= 0) {
        unlink(o->tmp);
        slot_drop(o->tmp_slot);
        o->tmp_slot = -1;
    }
    o->published = false;
    lock_release(&o->lock_fd, &o->lock_slot);
}

mlp_status mlp_output_save(const char *what, const char *path,
                           mlp_status (*write)(FILE *f, void *ctx, mlp_error *err), void *ctx,
                           mlp_error *err)
{
    mlp_output_plan p = {0};
    mlp_output o;
    mlp_status st = mlp_output_target(&p, what, path, 0, err);
    if (st == MLP_OK && (st = mlp_output_open(&o, &p, path, err)) == MLP_OK) {
        if ((st = write(o.f, ctx, err)) != MLP_OK)
            mlp_output_abort(&o);
        else
            st = mlp_output_commit(&o, err);
    }
    mlp_output_plan_free(&p);
    return st;
}
