/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/exitwatch: how fast does an exit reach user space through the BPF ring
 * buffer?  Prints one markdown section (scripts/run-bench.sh).
 *
 *   latency   a child stores CLOCK_MONOTONIC in shared memory and calls _exit();
 *             the parent, blocked in epoll on exitwatch_fd(), takes the time when
 *             exitwatch_consume() hands it the event.  2,000 exits, p50/p99.
 *   anchor    the same with a pidfd in epoll instead (readable after the exit
 *             is complete; what the daemon uses for the processes it started).
 *   burst     10,000 children exit as fast as one process can vfork them, while
 *             the parent consumes live; then the same burst consumed only after
 *             it ended (backlog drain: the consumer's own rate).
 *
 * Needs root and BPF; otherwise it prints why and exits 0.
 */

#include "bpf/exitwatch.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CGROUP2_MAGIC 0x63677270
#define N_LAT         2000
#define N_BURST       10000

struct shared {
        volatile uint64_t t0;
};

struct lat_ctx {
        pid_t want;
        uint64_t t1;
        uint64_t kernel_ns; /* the event's timestamp (the tracepoint) */
        size_t burst_seen;
        pid_t burst_parent;
        uint64_t first_ns, last_ns;
};

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, size_t n, double p)
{
        size_t i = (size_t)(p * (double)(n - 1) + 0.5);

        return (double)v[i] / 1000.0;
}

static int lat_cb(const struct exitwatch_event *ev, void *userdata)
{
        struct lat_ctx *c = userdata;

        if (ev->type == EXITWATCH_EVENT_EXIT && ev->group_dead && ev->tgid == c->want) {
                c->t1 = sbx_now_monotonic_ns();
                c->kernel_ns = ev->timestamp_ns;
        }
        if (ev->type == EXITWATCH_EVENT_EXIT && ev->group_dead && c->burst_parent &&
            ev->ppid == c->burst_parent) {
                uint64_t now = sbx_now_monotonic_ns();

                if (c->burst_seen++ == 0)
                        c->first_ns = now;
                c->last_ns = now;
        }
        return 0;
}

/* One byte through a pipe from a fresh child to this process asleep in epoll: ns. */
static uint64_t pipe_wakeup(struct shared *sh)
{
        _cleanup_close_ int pep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event pe = {.events = EPOLLIN}, out;
        uint64_t t1;
        int p[2];
        char x;
        pid_t pid;

        if (pep < 0 || pipe2(p, O_CLOEXEC) < 0)
                return 0;
        epoll_ctl(pep, EPOLL_CTL_ADD, p[0], &pe);
        pid = fork();
        if (pid == 0) {
                sh->t0 = sbx_now_monotonic_ns();
                (void)!write(p[1], "x", 1);
                _exit(0);
        }
        epoll_wait(pep, &out, 1, 5000);
        t1 = sbx_now_monotonic_ns();
        (void)!read(p[0], &x, 1);
        waitpid(pid, NULL, 0);
        close(p[0]);
        close(p[1]);
        return t1 > sh->t0 ? t1 - sh->t0 : 0;
}

static int write_str(const char *path, const char *s)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return -errno;
        r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -errno;
        close(fd);
        return r;
}

static __attribute__((noinline)) pid_t vfork_exit(int code)
{
        pid_t pid = vfork();

        if (pid == 0)
                _exit(code);
        return pid;
}

static void burst_children(void)
{
        for (int i = 0; i < N_BURST; i++) {
                if (vfork_exit(0) < 0)
                        _exit(100);
                while (waitpid(-1, NULL, i % 64 == 63 ? 0 : WNOHANG) > 0)
                        ;
        }
        while (waitpid(-1, NULL, 0) > 0)
                ;
        _exit(0);
}

/* Runs one burst; live: consume while it runs.  Returns events/s seen by the
 * consumer (from first to last event delivered) and the production window. */
static int run_burst(struct exitwatch *ew, int ep, bool live, double *ret_rate, double *ret_ms,
                     size_t *ret_seen)
{
        struct lat_ctx c = {};
        struct epoll_event e;
        uint64_t t_start, t_end;
        pid_t pid;
        int st;

        t_start = sbx_now_monotonic_ns();
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                burst_children();
        c.burst_parent = pid;
        if (live) {
                while (waitpid(pid, &st, WNOHANG) == 0) {
                        if (epoll_wait(ep, &e, 1, 10) > 0)
                                exitwatch_consume(ew, lat_cb, &c);
                }
        } else {
                waitpid(pid, &st, 0);
        }
        t_end = sbx_now_monotonic_ns();
        if (!live)
                c.first_ns = 0;
        uint64_t drain_start = sbx_now_monotonic_ns();
        while (exitwatch_consume(ew, lat_cb, &c) > 0)
                ;
        if (!live)
                c.first_ns = drain_start;
        *ret_seen = c.burst_seen;
        *ret_rate = c.last_ns > c.first_ns
                            ? (double)c.burst_seen * 1e9 / (double)(c.last_ns - c.first_ns)
                            : 0;
        *ret_ms = (double)(t_end - t_start) / 1e6;
        return 0;
}

int main(void)
{
        _cleanup_exitwatch_ struct exitwatch *ew = NULL;
        struct sbx_error err = {};
        char cg2[64] = "", cg[PATH_MAX], procs[PATH_MAX + 16], own[PATH_MAX] = "";
        char pin[PATH_MAX];
        _cleanup_free_ uint64_t *lat = calloc(N_LAT, sizeof(uint64_t));
        _cleanup_free_ uint64_t *anchor = calloc(N_LAT, sizeof(uint64_t));
        _cleanup_free_ uint64_t *spin = calloc(N_LAT, sizeof(uint64_t));
        _cleanup_free_ uint64_t *to_tp = calloc(N_LAT, sizeof(uint64_t));
        _cleanup_free_ uint64_t *tp_to_user = calloc(N_LAT, sizeof(uint64_t));
        _cleanup_free_ uint64_t *wake = calloc(N_LAT, sizeof(uint64_t));
        _cleanup_close_ int cg_fd = -EBADF, ep = -EBADF;
        struct shared *sh;
        struct statfs s;
        uint64_t id, dropped0;
        struct epoll_event e = {.events = EPOLLIN};
        double live_rate, live_ms, drain_rate, drain_ms;
        size_t live_seen, drain_seen;
        FILE *f;
        int r;

        printf("### exitwatch: exit → event latency\n\n");
        if (geteuid() != 0) {
                printf("Not run: needs root.\n");
                return 0;
        }
        if (statfs("/sys/fs/cgroup/unified", &s) == 0 && (unsigned long)s.f_type == CGROUP2_MAGIC)
                strcpy(cg2, "/sys/fs/cgroup/unified");
        else if (statfs("/sys/fs/cgroup", &s) == 0 && (unsigned long)s.f_type == CGROUP2_MAGIC)
                strcpy(cg2, "/sys/fs/cgroup");
        else {
                printf("Not run: no cgroup2 mount.\n");
                return 0;
        }
        /* Our own cgroup2 cgroup, to go back to before removing the bench's. */
        f = fopen("/proc/self/cgroup", "re");
        if (f) {
                char line[PATH_MAX];
                while (fgets(line, sizeof(line), f))
                        if (strncmp(line, "0::", 3) == 0) {
                                line[strcspn(line, "\n")] = 0;
                                snprintf(own, sizeof(own), "%s%s", cg2, line + 3);
                        }
                fclose(f);
        }
        snprintf(pin, sizeof(pin), "/sys/fs/bpf/sbx-bench-%d", (int)getpid());
        r = exitwatch_open(pin, 0, &ew, &err);
        if (r < 0) {
                printf("Not run: %s\n", err.message);
                return 0;
        }
        snprintf(cg, sizeof(cg), "%s/sbx-bench-%d", cg2, (int)getpid());
        if (mkdir(cg, 0755) < 0 || (cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
            exitwatch_cgroup_id(cg_fd, &id) < 0 || exitwatch_watch(ew, id, &err) < 0) {
                fprintf(stderr, "bench-exitwatch: cgroup setup failed: %m %s\n", err.message);
                exitwatch_uninstall(pin, NULL);
                rmdir(cg);
                return 1;
        }
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
        if (write_str(procs, "0") < 0) {
                fprintf(stderr, "bench-exitwatch: cannot join %s\n", cg);
                return 1;
        }
        sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ep = epoll_create1(EPOLL_CLOEXEC);
        e.data.fd = exitwatch_fd(ew);
        epoll_ctl(ep, EPOLL_CTL_ADD, exitwatch_fd(ew), &e);
        dropped0 = exitwatch_dropped(ew);

        fprintf(stderr, "bench-exitwatch: %d exits through the ring buffer\n", N_LAT);
        for (int i = 0; i < N_LAT; i++) {
                struct lat_ctx c = {};
                struct epoll_event out;

                c.want = fork();
                if (c.want == 0) {
                        sh->t0 = sbx_now_monotonic_ns();
                        _exit(0);
                }
                while (!c.t1) {
                        if (epoll_wait(ep, &out, 1, 5000) <= 0)
                                break;
                        exitwatch_consume(ew, lat_cb, &c);
                }
                waitpid(c.want, NULL, 0);
                lat[i] = c.t1 > sh->t0 ? c.t1 - sh->t0 : 0;
                to_tp[i] = c.kernel_ns > sh->t0 ? c.kernel_ns - sh->t0 : 0;
                tp_to_user[i] = c.t1 > c.kernel_ns ? c.t1 - c.kernel_ns : 0;

                /* Interleaved, the host's wake-up floor: the same kind of child writes one
                 * byte into a pipe instead of exiting, the parent asleep in epoll on it.  No
                 * notification of a sleeping process can be faster on this machine. */
                wake[i] = pipe_wakeup(sh);
                while (exitwatch_consume(ew, lat_cb, &(struct lat_ctx){}) > 0)
                        ;
        }

        /* The same with a consumer that never sleeps: what is left is the BPF and
         * ring-buffer path, without the wakeup of an idle CPU. */
        fprintf(stderr, "bench-exitwatch: %d exits, busy-polling consumer\n", N_LAT);
        for (int i = 0; i < N_LAT; i++) {
                struct lat_ctx c = {};
                uint64_t give_up;

                c.want = fork();
                if (c.want == 0) {
                        sh->t0 = sbx_now_monotonic_ns();
                        _exit(0);
                }
                give_up = sbx_now_monotonic_ns() + 5 * NSEC_PER_SEC;
                while (!c.t1 && sbx_now_monotonic_ns() < give_up)
                        exitwatch_consume(ew, lat_cb, &c);
                waitpid(c.want, NULL, 0);
                spin[i] = c.t1 > sh->t0 ? c.t1 - sh->t0 : 0;
        }

        fprintf(stderr, "bench-exitwatch: %d exits through pidfds (anchor)\n", N_LAT);
        for (int i = 0; i < N_LAT; i++) {
                _cleanup_close_ int pfd = -EBADF, pep = epoll_create1(EPOLL_CLOEXEC);
                struct epoll_event pe = {.events = EPOLLIN}, out;
                int p[2];
                char x;
                pid_t pid;

                if (pipe2(p, O_CLOEXEC) < 0)
                        return 1;
                pid = fork();
                if (pid == 0) {
                        close(p[1]);
                        (void)!read(p[0], &x, 1); /* wait until the parent holds the pidfd */
                        sh->t0 = sbx_now_monotonic_ns();
                        _exit(0);
                }
                close(p[0]);
                pfd = (int)syscall(SYS_pidfd_open, pid, 0);
                epoll_ctl(pep, EPOLL_CTL_ADD, pfd, &pe);
                (void)!write(p[1], "x", 1);
                close(p[1]);
                epoll_wait(pep, &out, 1, 5000);
                uint64_t t1 = sbx_now_monotonic_ns();
                waitpid(pid, NULL, 0);
                anchor[i] = t1 > sh->t0 ? t1 - sh->t0 : 0;
                while (exitwatch_consume(ew, lat_cb, &(struct lat_ctx){}) > 0)
                        ;
        }

        fprintf(stderr, "bench-exitwatch: bursts of %d exits\n", N_BURST);
        run_burst(ew, ep, true, &live_rate, &live_ms, &live_seen);
        run_burst(ew, ep, false, &drain_rate, &drain_ms, &drain_seen);

        qsort(lat, N_LAT, sizeof(uint64_t), cmp_u64);
        qsort(anchor, N_LAT, sizeof(uint64_t), cmp_u64);
        qsort(to_tp, N_LAT, sizeof(uint64_t), cmp_u64);
        qsort(spin, N_LAT, sizeof(uint64_t), cmp_u64);
        qsort(tp_to_user, N_LAT, sizeof(uint64_t), cmp_u64);
        qsort(wake, N_LAT, sizeof(uint64_t), cmp_u64);
        char load[64] = "?";
        FILE *lf = fopen("/proc/loadavg", "re");
        if (lf) {
                if (fgets(load, sizeof(load), lf))
                        load[strcspn(load, " ")] = 0;
                fclose(lf);
        }
        printf("Machine: %ld CPUs, 1-min load average %s at the end of the run (the figures "
               "below are scheduling-sensitive).\n\n",
               sysconf(_SC_NPROCESSORS_ONLN), load);
        printf("%d exits, one at a time (`_exit()` in the child → callback in the parent, "
               "blocked in epoll). Fallback programs: %s.\n\n",
               N_LAT, exitwatch_open_info(ew)->fallback ? "yes (raw_tp)" : "no (tp_btf)");
        printf("| path | p50 µs | p99 µs |\n| --- | ---: | ---: |\n");
        printf("| exitwatch ring buffer event | %.1f | %.1f |\n", pct_us(lat, N_LAT, 0.5),
               pct_us(lat, N_LAT, 0.99));
        printf("| … of which `_exit()` → tracepoint (exit_mm etc.) | %.1f | %.1f |\n",
               pct_us(to_tp, N_LAT, 0.5), pct_us(to_tp, N_LAT, 0.99));
        printf("| … of which tracepoint → callback (wakeup) | %.1f | %.1f |\n",
               pct_us(tp_to_user, N_LAT, 0.5), pct_us(tp_to_user, N_LAT, 0.99));
        printf("| exitwatch, consumer busy-polling (no wakeup) | %.1f | %.1f |\n",
               pct_us(spin, N_LAT, 0.5), pct_us(spin, N_LAT, 0.99));
        printf("| pidfd readable (anchor) | %.1f | %.1f |\n", pct_us(anchor, N_LAT, 0.5),
               pct_us(anchor, N_LAT, 0.99));
        printf("| the host's wake-up floor: a byte through a pipe from a fresh child to the "
               "parent asleep in epoll (interleaved with the first row) | %.1f | %.1f |\n",
               pct_us(wake, N_LAT, 0.5), pct_us(wake, N_LAT, 0.99));
        printf("\nexitwatch p50 / pidfd p50 = %.2f; exitwatch p50 − the wake-up floor's p50 = "
               "%.1f µs (target: exitwatch p50 under 100 µs).\n\n",
               pct_us(lat, N_LAT, 0.5) / pct_us(anchor, N_LAT, 0.5),
               pct_us(lat, N_LAT, 0.5) - pct_us(wake, N_LAT, 0.5));
        printf("Burst of %d exits (one process vforks children that exit at once):\n\n", N_BURST);
        printf("| mode | events received | dropped | burst took ms | events/s delivered |\n"
               "| --- | ---: | ---: | ---: | ---: |\n");
        printf("| consumed live | %zu | - | %.0f | %.0f |\n", live_seen, live_ms, live_rate);
        printf("| backlog drained after the burst | %zu | - | %.0f | %.0f |\n", drain_seen,
               drain_ms, drain_rate);
        printf("\nDrop counter after both bursts: %llu. Live, the consumer keeps up with "
               "the rate exits are produced (%.0f exits/s); the drain row is the consumer's "
               "own rate.\n",
               (unsigned long long)(exitwatch_dropped(ew) - dropped0),
               live_ms > 0 ? N_BURST * 1000.0 / live_ms : 0.0);

        /* Leave the bench cgroup, then remove everything. */
        if (own[0]) {
                snprintf(procs, sizeof(procs), "%s/cgroup.procs", own);
                write_str(procs, "0");
        }
        exitwatch_close(TAKE_PTR(ew));
        exitwatch_uninstall(pin, NULL);
        rmdir(cg);
        munmap(sh, 4096);
        return 0;
}
