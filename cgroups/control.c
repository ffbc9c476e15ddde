/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Acting on a running sandbox's cgroup: kill, freeze/thaw, cgroup.events,
 * statistics.
 */
#include "cgroups/cgroups-internal.h"

#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Finds "key N" at the start of a line of a flat-keyed file (cgroup.events,
 * memory.events, cpu.stat). */
static int keyed_value(const char *buf, const char *key, uint64_t *ret)
{
        size_t kl = strlen(key);
        for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
                        char num[32];
                        size_t n = strcspn(p + kl + 1, "\n");
                        if (n == 0 || n >= sizeof(num))
                                return -EINVAL;
                        memcpy(num, p + kl + 1, n);
                        num[n] = '\0';
                        return sbx_parse_u64(num, ret);
                }
        }
        return -ENOENT;
}

int cg_events_read(int events_fd, const char *key, uint64_t *ret)
{
        char buf[512];
        ssize_t n;

        /* Reading the same open file re-arms its EPOLLPRI notification (kernfs compares
         * the file's event counter with the one seen at the last read). */
        if (lseek(events_fd, 0, SEEK_SET) < 0)
                return -errno;
        do
                n = read(events_fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return keyed_value(buf, key, ret);
}

int cg_sandbox_events_fd(const struct cg_sandbox *sb)
{
        return sb->events_fd;
}

int cg_sandbox_populated(struct cg_sandbox *sb)
{
        uint64_t v;
        int k = cg_events_read(sb->events_fd, "populated", &v);
        if (k < 0)
                return k;
        return v ? 1 : 0;
}

/* Waits for "key want" in cgroup.events: read, poll for EPOLLPRI, read again.  No
 * sleeping; a change between the read and the poll makes the poll return at once. */
static int wait_event(struct cg_sandbox *sb, const char *key, uint64_t want, int timeout_ms)
{
        uint64_t deadline =
                timeout_ms >= 0 ? sbx_now_monotonic_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC : 0;
        for (;;) {
                uint64_t v;
                int k = cg_events_read(sb->events_fd, key, &v);
                if (k < 0)
                        return k;
                if (v == want)
                        return 0;
                int t = -1;
                if (timeout_ms >= 0) {
                        uint64_t now = sbx_now_monotonic_ns();
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        t = (int)((deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
                }
                struct pollfd p = {.fd = sb->events_fd, .events = POLLPRI};
                if (poll(&p, 1, t) < 0 && errno != EINTR)
                        return -errno;
        }
}

int cg_sandbox_wait_empty(struct cg_sandbox *sb, int timeout_ms, struct sbx_error *err)
{
        int k = wait_event(sb, "populated", 0, timeout_ms);
        if (k == -ETIMEDOUT)
                return sbx_fail(err, k, "sandbox cgroup %s still populated after %d ms", sb->path,
                                timeout_ms);
        if (k < 0)
                return sbx_fail_errno(err, k, "watching %s/cgroup.events", sb->path);
        return 0;
}

static int set_frozen(struct cg_sandbox *sb, bool freeze, int timeout_ms, struct sbx_error *err)
{
        const char *what = freeze ? "freezing" : "thawing";
        int k = sbx_write_file_at(sb->fd, "cgroup.freeze", freeze ? "1" : "0");
        if (k < 0)
                return sbx_fail_errno(err, k, "%s %s", what, sb->path);
        k = wait_event(sb, "frozen", freeze ? 1 : 0, timeout_ms);
        if (k == -ETIMEDOUT)
                return sbx_fail(err, k, "%s %s: not done after %d ms", what, sb->path, timeout_ms);
        if (k < 0)
                return sbx_fail_errno(err, k, "%s %s", what, sb->path);
        return 0;
}

int cg_sandbox_freeze(struct cg_sandbox *sb, int timeout_ms, struct sbx_error *err)
{
        return set_frozen(sb, true, timeout_ms, err);
}

int cg_sandbox_thaw(struct cg_sandbox *sb, int timeout_ms, struct sbx_error *err)
{
        return set_frozen(sb, false, timeout_ms, err);
}

/* SIGKILLs every pid in dfd's cgroup.procs and below.  Used frozen: a frozen task
 * cannot fork or exit on its own, so a pid read here is still that task when the
 * signal arrives (a v2-frozen task still dies of SIGKILL). */
static int kill_tree(int dfd)
{
        _cleanup_free_ char *procs = NULL;
        int k = sbx_read_file_at(dfd, "cgroup.procs", 16 << 20, &procs, NULL);
        if (k < 0)
                return k;
        char *save = NULL;
        for (char *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                uint64_t pid;
                if (sbx_parse_u64(t, &pid) == 0 && pid > 0)
                        (void)kill((pid_t)pid, SIGKILL);
        }
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                k = -errno;
                safe_close(fd);
                return k;
        }
        int ret = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int cfd =
                        openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cfd < 0)
                        continue;
                k = kill_tree(cfd);
                if (k < 0 && k != -ENOENT && ret == 0)
                        ret = k;
        }
        closedir(d);
        return ret;
}

int cg_sandbox_kill(struct cg_sandbox *sb, struct sbx_error *err)
{
        /* cgroup.kill (Linux 5.14) kills the whole subtree atomically, forks in flight
         * included. */
        int k = sbx_write_file_at(sb->fd, "cgroup.kill", "1");
        if (k == 0)
                return 0;
        if (k != -ENOENT)
                return sbx_fail_errno(err, k, "writing %s/cgroup.kill", sb->path);

        return cg_sandbox_kill_fallback(sb, err);
}

int cg_sandbox_kill_fallback(struct cg_sandbox *sb, struct sbx_error *err)
{
        int k;

        /* Older kernels: freeze so nothing forks while we walk, kill, thaw. */
        k = cg_sandbox_freeze(sb, 10000, err);
        if (k < 0)
                return sbx_error_prefix(err, k, "killing %s", sb->path);
        int kk = kill_tree(sb->fd);
        k = cg_sandbox_thaw(sb, 10000, err);
        if (kk < 0)
                return sbx_fail_errno(err, kk, "killing the processes of %s", sb->path);
        return k;
}

static int read_u64_file(int dfd, const char *file, uint64_t *ret)
{
        _cleanup_free_ char *buf = NULL;
        int k = sbx_read_file_at(dfd, file, 64, &buf, NULL);
        if (k < 0)
                return k;
        buf[strcspn(buf, "\n")] = '\0';
        if (strcmp(buf, "max") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return sbx_parse_u64(buf, ret);
}

int cg_sandbox_stats(struct cg_sandbox *sb, struct cg_stats *ret, struct sbx_error *err)
{
        struct cg_stats s = {};
        _cleanup_free_ char *buf = NULL;
        int k;

        /* A missing file means the controller is not enabled for <id> (or the kernel
         * predates the file): leave its bit clear. */
        if (read_u64_file(sb->fd, "memory.current", &s.memory.current) == 0) {
                s.present |= CG_STATS_MEMORY;
                if (sbx_read_file_at(sb->fd, "memory.events", 4096, &buf, NULL) == 0) {
                        (void)keyed_value(buf, "low", &s.memory.low);
                        (void)keyed_value(buf, "high", &s.memory.high);
                        (void)keyed_value(buf, "max", &s.memory.max);
                        (void)keyed_value(buf, "oom", &s.memory.oom);
                        (void)keyed_value(buf, "oom_kill", &s.memory.oom_kill);
                        buf = (free(buf), NULL);
                }
                if (read_u64_file(sb->fd, "memory.peak", &s.memory.peak) == 0)
                        s.present |= CG_STATS_MEMORY_PEAK;
        }
        if (read_u64_file(sb->fd, "pids.current", &s.pids.current) == 0) {
                s.present |= CG_STATS_PIDS;
                if (read_u64_file(sb->fd, "pids.peak", &s.pids.peak) == 0)
                        s.present |= CG_STATS_PIDS_PEAK;
        }
        k = sbx_read_file_at(sb->fd, "cpu.stat", 4096, &buf, NULL);
        if (k == 0) {
                if (keyed_value(buf, "usage_usec", &s.cpu.usage_usec) == 0)
                        s.present |= CG_STATS_CPU;
                (void)keyed_value(buf, "user_usec", &s.cpu.user_usec);
                (void)keyed_value(buf, "system_usec", &s.cpu.system_usec);
                if (keyed_value(buf, "nr_periods", &s.cpu.nr_periods) == 0)
                        s.present |= CG_STATS_CPU_THROTTLE;
                (void)keyed_value(buf, "nr_throttled", &s.cpu.nr_throttled);
                (void)keyed_value(buf, "throttled_usec", &s.cpu.throttled_usec);
                buf = (free(buf), NULL);
        } else if (k != -ENOENT) {
                return sbx_fail_errno(err, k, "reading %s/cpu.stat", sb->path);
        }
        if (sbx_read_file_at(sb->fd, "io.stat", 1 << 20, &buf, NULL) == 0) {
                /* "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" per device. */
                s.present |= CG_STATS_IO;
                char *save = NULL;
                for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
                        static const struct {
                                const char *k;
                                size_t off;
                        } f[] = {
                                {"rbytes=", offsetof(struct cg_stats, io.rbytes)},
                                {"wbytes=", offsetof(struct cg_stats, io.wbytes)},
                                {"rios=", offsetof(struct cg_stats, io.rios)},
                                {"wios=", offsetof(struct cg_stats, io.wios)},
                        };
                        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                                size_t l = strlen(f[i].k);
                                uint64_t v;
                                if (strncmp(t, f[i].k, l) == 0 && sbx_parse_u64(t + l, &v) == 0)
                                        *(uint64_t *)((char *)&s + f[i].off) += v;
                        }
                }
        }
        *ret = s;
        return 0;
}
