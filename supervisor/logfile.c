/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capture of a sandbox's stdout and stderr.  The sandbox writes into a FIFO,
 * RUN_DIR/NS/ID/out; the loop copies what arrives into RUN_DIR/NS/ID/log and wakes the
 * clients that follow the log.  Reading it ourselves (rather than handing the sandbox
 * the file) is what lets us cap the file: past SUP_LOG_MAX bytes the output is still
 * drained, so the sandbox never blocks on a full FIFO, but dropped, after one line
 * saying so (docs/api.md, Logs).
 *
 * A FIFO rather than a pipe, and the sandbox's end opened O_RDWR: the sandbox itself
 * then counts as a reader, so while no daemon runs (killed, restarting) its writes
 * never fail with EPIPE/SIGPIPE; they block once the FIFO is full, and the next daemon
 * re-opens the FIFO by name and drains it (sup_log_reattach()).
 */
#include "supervisor/sandboxd-internal.h"

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

static void log_watch_cb(struct sup_watch *w, uint32_t events)
{
        struct sup_log *log = (struct sup_log *)((char *)w - offsetof(struct sup_log, watch));
        struct sup_sandbox *sb =
                (struct sup_sandbox *)((char *)log - offsetof(struct sup_sandbox, log));

        sup_log_drain(sb);
}

static int log_watch(struct sup_sandbox *sb, int read_fd)
{
        sb->log.pipe_fd = read_fd;
        sb->log.watch.cb = log_watch_cb;
        sb->log.eof = false;
        return sup_loop_add(read_fd, EPOLLIN, &sb->log.watch);
}

int sup_log_open(struct sup_sandbox *sb, int *ret_write_fd, struct sbx_error *err)
{
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        int r;

        sb->log.file_fd = openat(sb->run_dirfd, "log",
                                 O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
        if (sb->log.file_fd < 0)
                return sbx_fail_errno(err, -errno, "create %s/%s/%s/log", sup_config.run_dir,
                                      sb->ns, sb->id);
        /* A leftover FIFO (a crash between Start and Shutdown) is replaced. */
        r = mkfifoat(sb->run_dirfd, "out", 0600);
        if (r < 0 && errno == EEXIST) {
                (void)unlinkat(sb->run_dirfd, "out", 0);
                r = mkfifoat(sb->run_dirfd, "out", 0600);
        }
        if (r < 0)
                return sbx_fail_errno(err, -errno, "mkfifo %s/%s/%s/out", sup_config.run_dir,
                                      sb->ns, sb->id);
        /* Our end non-blocking (opened first, so the O_RDWR open below never waits); the
         * sandbox's end keeps blocking semantics. */
        rfd = openat(sb->run_dirfd, "out", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (rfd >= 0)
                wfd = openat(sb->run_dirfd, "out", O_RDWR | O_CLOEXEC);
        if (rfd < 0 || wfd < 0)
                return sbx_fail_errno(err, -errno, "open %s/%s/%s/out", sup_config.run_dir, sb->ns,
                                      sb->id);
        r = log_watch(sb, rfd);
        if (r < 0) {
                sb->log.pipe_fd = -EBADF; /* rfd is still ours, closed on return */
                return sbx_fail_errno(err, r, "epoll_ctl(log fifo)");
        }
        TAKE_FD(rfd);
        *ret_write_fd = TAKE_FD(wfd);
        return 0;
}

void sup_log_reattach(struct sup_sandbox *sb)
{
        struct stat st;

        sb->log.eof = true;
        if (sb->run_dirfd < 0)
                return;
        sb->log.file_fd = openat(sb->run_dirfd, "log", O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
        if (sb->log.file_fd < 0)
                return;
        if (fstat(sb->log.file_fd, &st) == 0)
                sb->log.size = (uint64_t)st.st_size;
        int rfd = openat(sb->run_dirfd, "out", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (rfd < 0) {
                log_warning("sandbox %s/%s: its output FIFO is gone (%s): later output is not "
                            "captured",
                            sb->ns, sb->id, strerror(errno));
                return;
        }
        if (log_watch(sb, rfd) < 0) {
                sb->log.pipe_fd = safe_close(rfd);
                sb->log.eof = true;
                return;
        }
        sup_log_drain(sb);
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
