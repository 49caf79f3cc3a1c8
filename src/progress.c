/*
 * progress: the bar's text, when to redraw it, and blanking it. Writes to the stream it is
 * given and nowhere else.
 */
#include "progress.h"

#include "cli.h"
#include "util.h"

#include <string.h>

void mlp_progress_init(mlp_progress *p, FILE *f, size_t epochs)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->epochs = epochs;
}

void mlp_progress_epoch(mlp_progress *p, size_t epoch, double now)
{
    if (p->epoch == 0)
        p->t_start = now;
    else if (epoch > p->epoch)
        p->finished++;
    p->epoch = epoch;
    p->t_epoch = p->t_drawn = now;
}

/* "0:07", "12:34", "3:02:09" */
static void duration(char *buf, size_t cap, double s)
{
    unsigned long t = s > 0.0 ? (s < 3.6e8 ? (unsigned long)(s + 0.5) : 359999999ul) : 0;
    if (t >= 3600)
        snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

void mlp_progress_format(char *buf, size_t cap, const mlp_progress *p, size_t done, size_t total,
                         double now)
{
    enum { BAR = 14 };
    char bar[BAR + 1], left[32], all[32], line[320];
    double frac = total ? (double)done / (double)total : 1.0;
    size_t fill = (size_t)(frac * BAR + 0.5);
    for (size_t i = 0; i < BAR; i++)
        bar[i] = i < fill ? '=' : ' ';
    if (fill > 0 && fill < BAR)
        bar[fill - 1] = '>';
    bar[BAR] = '\0';

    double secs = now - p->t_epoch, rate = secs > 0.0 ? (double)done / secs : 0.0;
    double epoch_left = rate > 0.0 ? (double)(total - done) / rate : 0.0;
    /* the remaining epochs at the mean wall-clock time of the finished ones, which includes
     * evaluation; while none has finished, at this epoch's training speed */
    double per_epoch = p->finished > 0 ? (p->t_epoch - p->t_start) / (double)p->finished
                       : rate > 0.0    ? (double)total / rate
                                       : 0.0;
    size_t after = p->epochs > p->epoch ? p->epochs - p->epoch : 0;
    duration(left, sizeof left, epoch_left);
    duration(all, sizeof all, epoch_left + (double)after * per_epoch);
    int n = snprintf(line, sizeof line, "epoch %zu/%zu [%s] %s/%s %s img/s %s left", p->epoch,
                     p->epochs, bar, mlp_cli_count(done).s, mlp_cli_count(total).s,
                     mlp_cli_count((size_t)(rate + 0.5)).s, left);
    if (after > 0 && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, ", %s in all", all);
    line[MLP_PROGRESS_WIDTH] = '\0'; /* the tail goes first on absurdly large numbers */
    snprintf(buf, cap, "%s", line);
}

void mlp_progress_update(mlp_progress *p, size_t done, size_t total, double now)
{
    char line[MLP_PROGRESS_WIDTH + 1];
    if (!p->f || now - p->t_drawn < MLP_PROGRESS_INTERVAL)
        return;
    mlp_progress_format(line, sizeof line, p, done, total, now);
    size_t n = strlen(line);
    /* pad over the end of a longer bar drawn before */
    fprintf(p->f, "\r%s%*s", line, (int)(p->shown > n ? p->shown - n : 0), "");
    fflush(p->f);
    p->shown = n > p->shown ? n : p->shown;
    p->t_drawn = now;
}

void mlp_progress_hook(void *ctx, size_t done, size_t total)
{
    mlp_progress *p = ctx;
    if (p->f)
        mlp_progress_update(p, done, total, mlp_now());
}

void mlp_progress_clear(mlp_progress *p)
{
    if (!p->f || p->shown == 0)
        return;
    fprintf(p->f, "\r%*s\r", (int)p->shown, "");
    fflush(p->f);
    p->shown = 0;
}
