/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capture of a sandbox's stdout and stderr.  The sandbox writes into a pipe; the
 * loop copies what arrives into RUN_DIR/NS/ID/log and wakes the clients that follow
 * the log.  A pipe (rather than handing the sandbox the file) is what lets us cap the
 * file: past SUP_LOG_MAX bytes the output is still drained, so the sandbox never
 * blocks on a full pipe, but dropped, after one line saying so (docs/api.md, Logs).
 */
#include "supervisor/sandboxd-internal.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static void log_watch_cb(struct sup_watch *w, uint32_t events)
{
        struct sup_log *log = (struct sup_log *)((char *)w - offsetof(struct sup_log, watch));
        struct sup_sandbox *sb =
                (struct sup_sandbox *)((char *)log - offsetof(struct sup_sandbox, log));

        sup_log_drain(sb);
}

int sup_log_open(struct sup_sandbox *sb, int *ret_write_fd, struct sbx_error *err)
{
        int p[2];
        int r;

        sb->log.file_fd = openat(sb->run_dirfd, "log",
                                 O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
        if (sb->log.file_fd < 0)
                return sbx_fail_errno(err, -errno, "create %s/%s/%s/log", sup_config.run_dir,
                                      sb->ns, sb->id);
        if (pipe2(p, O_CLOEXEC) < 0)
                return sbx_fail_errno(err, -errno, "pipe2");
        /* Only our end is non-blocking: the sandbox's output fd keeps blocking semantics. */
        if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                close(p[0]);
                close(p[1]);
                return sbx_fail_errno(err, r, "fcntl(O_NONBLOCK)");
        }
        sb->log.pipe_fd = p[0];
        sb->log.watch.cb = log_watch_cb;
        r = sup_loop_add(p[0], EPOLLIN, &sb->log.watch);
        if (r < 0) {
                close(p[1]);
                return sbx_fail_errno(err, r, "epoll_ctl(log pipe)");
        }
        *ret_write_fd = p[1];
        return 0;
}

void sup_log_close(struct sup_log *log)
{
        sup_loop_del(&log->watch);
        log->pipe_fd = safe_close(log->pipe_fd);
        log->file_fd = safe_close(log->file_fd);
}

void sup_log_drain(struct sup_sandbox *sb)
{
        struct sup_log *log = &sb->log;
        char buf[65536];
        bool got = false;

        while (log->pipe_fd >= 0) {
                ssize_t n = read(log->pipe_fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        log_warning("sandbox %s/%s: reading its output: %s", sb->ns, sb->id,
                                    strerror(errno));
                        n = 0;
                }
                if (n == 0) {
                        /* Every writer is gone: the sandbox's processes exited. */
                        sup_loop_del(&log->watch);
                        log->pipe_fd = safe_close(log->pipe_fd);
                        log->eof = true;
                        got = true;
                        break;
                }
                if (log->capped)
                        continue;
                size_t keep = (size_t)n;
                if (log->size + keep > SUP_LOG_MAX)
                        keep = SUP_LOG_MAX - log->size;
                if (keep > 0 && sbx_write_all(log->file_fd, buf, keep) == 0) {
                        log->size += keep;
                        got = true;
                }
                if (keep < (size_t)n) {
                        char line[128];
                        int m = snprintf(line, sizeof(line),
                                         "\n[sandboxd: log limit of %d bytes reached, further "
                                         "output discarded]\n",
                                         SUP_LOG_MAX);

                        (void)sbx_write_all(log->file_fd, line, m);
                        log->capped = true;
                        got = true;
                        log_notice("sandbox %s/%s: log limit of %d bytes reached", sb->ns, sb->id,
                                   SUP_LOG_MAX);
                }
        }
        if (got)
                sup_sandbox_notify(sb, SUP_WAKE_LOG);
}
