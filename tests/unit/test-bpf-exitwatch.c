/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bpf/exitwatch: real programs, real cgroups, real exits (root).
 *
 * Each test makes its own cgroup under the cgroup2 mount
 * (/sys/fs/cgroup/unified on hybrid hosts, /sys/fs/cgroup on pure v2 ones) and
 * its own pin directory /sys/fs/bpf/sbx-test-*, and removes both.  Children
 * report only through their exit status (criterion).  Waits are bounded by a
 * generous deadline that only guards against a hang; nothing asserts a timing.
 */

#include "bpf/exitwatch.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROUP2_MAGIC 0x63677270
#define DEADLINE_MS   20000

struct cg {
        char path[PATH_MAX];
        int fd;
        uint64_t id;
};

static struct {
        char cg2_root[64];
        char pin_dir[PATH_MAX];
        struct cg cgs[8];
        int ncgs;
        struct exitwatch *ew;
        bool ew_opened_once;
        char v1_mem[PATH_MAX]; /* v1 memory cgroup made by the OOM test */
} T;

struct evlist {
        struct exitwatch_event *v;
        size_t n, cap;
};

static void teardown(void);

/* criterion does not run .fini after a skip: clean up first. */
#define skip_test(...)                                     \
        do {                                               \
                char why_[256];                            \
                snprintf(why_, sizeof(why_), __VA_ARGS__); \
                teardown();                                \
                cr_skip_test("%s", why_);                  \
        } while (0)

/* ---- environment ------------------------------------------------------- */

static bool is_cgroup2(const char *p)
{
        struct statfs s;

        return statfs(p, &s) == 0 && (unsigned long)s.f_type == CGROUP2_MAGIC;
}

static void require_root_bpf_cgroup2(void)
{
        if (geteuid() != 0)
                skip_test("needs root");
        if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
                skip_test("no kernel BTF (/sys/kernel/btf/vmlinux)");
        if (is_cgroup2("/sys/fs/cgroup/unified"))
                strcpy(T.cg2_root, "/sys/fs/cgroup/unified");
        else if (is_cgroup2("/sys/fs/cgroup"))
                strcpy(T.cg2_root, "/sys/fs/cgroup");
        else
                skip_test("no cgroup2 mount at /sys/fs/cgroup[/unified]");
}

static struct cg *make_cgroup(const char *parent_path)
{
        struct cg *c;
        int r;

        cr_assert_lt(T.ncgs, (int)ELEMENTSOF(T.cgs));
        c = &T.cgs[T.ncgs];
        snprintf(c->path, sizeof(c->path), "%s/sbx-test-%d-%d", parent_path ?: T.cg2_root,
                 (int)getpid(), T.ncgs);
        cr_assert_eq(mkdir(c->path, 0755), 0, "mkdir %s: %m", c->path);
        T.ncgs++;
        c->fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(c->fd, 0);
        r = exitwatch_cgroup_id(c->fd, &c->id);
        cr_assert_eq(r, 0, "exitwatch_cgroup_id: %s", strerror(-r));
        cr_assert_neq(c->id, 0);
        return c;
}

static void open_watcher(unsigned flags)
{
        struct sbx_error err = {};
        int r;

        if (getenv("EXITWATCH_DEBUG")) /* libbpf's messages, for a failed load */
                sbx_log_set_max_level(LOG_DEBUG);
        r = exitwatch_open(T.pin_dir, flags, &T.ew, &err);

        /* Unavailable is a reason to skip only on the first open of a test;
         * after that it is a bug. */
        if (r == -EOPNOTSUPP && !T.ew_opened_once)
                skip_test("%s", err.message);
        cr_assert_eq(r, 0, "exitwatch_open: %s", err.message);
        T.ew_opened_once = true;
}

static void reopen(unsigned flags)
{
        exitwatch_close(T.ew);
        T.ew = NULL;
        open_watcher(flags);
}

static void setup(void)
{
        require_root_bpf_cgroup2();
        snprintf(T.pin_dir, sizeof(T.pin_dir), "/sys/fs/bpf/sbx-test-%d-%lx", (int)getpid(),
                 (unsigned long)sbx_now_monotonic_ns());
        open_watcher(0);
}

static void kill_and_rmdir(const char *path)
{
        char p[PATH_MAX + 32];

        for (int i = 0; i < 200; i++) {
                if (rmdir(path) == 0 || errno == ENOENT)
                        return;
                if (errno != EBUSY)
                        break;
                snprintf(p, sizeof(p), "%s/cgroup.kill", path);
                int fd = open(p, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void)!write(fd, "1", 1);
                        close(fd);
                }
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                usleep(10000); /* teardown only: the kill completes asynchronously */
        }
        fprintf(stderr, "teardown: cannot remove %s: %m\n", path);
}

static void teardown(void)
{
        struct sbx_error err = {};

        exitwatch_close(T.ew);
        T.ew = NULL;
        if (T.pin_dir[0] && exitwatch_uninstall(T.pin_dir, &err) < 0)
                fprintf(stderr, "teardown: %s\n", err.message);
        T.pin_dir[0] = 0;
        for (int i = T.ncgs - 1; i >= 0; i--) {
                safe_close(T.cgs[i].fd);
                kill_and_rmdir(T.cgs[i].path);
        }
        T.ncgs = 0;
        if (T.v1_mem[0])
                kill_and_rmdir(T.v1_mem);
        T.v1_mem[0] = 0;
}

/* ---- events ------------------------------------------------------------ */

static int push_cb(const struct exitwatch_event *ev, void *userdata)
{
        struct evlist *l = userdata;

        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                void *v = realloc(l->v, cap * sizeof(*l->v));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = *ev;
        return 0;
}

static void pump(struct exitwatch *ew, struct evlist *l, int timeout_ms)
{
        struct pollfd p = {.fd = exitwatch_fd(ew), .events = POLLIN};
        int r;

        (void)poll(&p, 1, timeout_ms);
        r = exitwatch_consume(ew, push_cb, l);
        cr_assert_geq(r, 0, "exitwatch_consume: %s", strerror(-r));
}

static const struct exitwatch_event *find(struct evlist *l, enum exitwatch_event_type type,
                                          pid_t pid, int group_dead)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].type == type && l->v[i].pid == pid &&
                    (group_dead < 0 || l->v[i].group_dead == group_dead))
                        return &l->v[i];
        return NULL;
}

/* Pumps until an event of type for pid shows up; NULL after the deadline. */
static const struct exitwatch_event *wait_event(struct evlist *l, enum exitwatch_event_type type,
                                                pid_t pid, int group_dead)
{
        uint64_t end = sbx_now_monotonic_ns() + DEADLINE_MS * NSEC_PER_MSEC;

        for (;;) {
                const struct exitwatch_event *e = find(l, type, pid, group_dead);
                if (e || sbx_now_monotonic_ns() > end)
                        return e;
                pump(T.ew, l, 100);
        }
}

/* ---- children ------------------------------------------------------------ */

static int join_cgroup(int cg_fd)
{
        int fd = openat(cg_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        int r = fd >= 0 && write(fd, "0", 1) == 1 ? 0 : -1;

        if (fd >= 0)
                close(fd);
        return r;
}

/* Forks a child that joins cgroup cg_fd (-1: stays), then runs fn(arg) and
 * exits with its return value (fn may also exit or die itself).  Returns once
 * the child is in its cgroup. */
static pid_t spawn(int cg_fd, int (*fn)(void *), void *arg)
{
        int p[2];
        char c;
        pid_t pid;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(p[0]);
                if (cg_fd >= 0 && join_cgroup(cg_fd) < 0)
                        _exit(120);
                if (write(p[1], "x", 1) != 1)
                        _exit(121);
                close(p[1]);
                _exit(fn(arg));
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "child %d did not join its cgroup", (int)pid);
        close(p[0]);
        return pid;
}

static int reap(pid_t pid)
{
        int st;

        cr_assert_eq(waitpid(pid, &st, 0), pid);
        return st;
}

static int exit_with(void *arg)
{
        prctl(PR_SET_NAME, "ew-child");
        _exit((int)(intptr_t)arg);
}

static int sleep_forever(void *arg)
{
        for (;;)
                pause();
        return 0;
}

/* ---- tests --------------------------------------------------------------- */

TestSuite(exitwatch, .init = setup, .fini = teardown, .timeout = 240);

Test(exitwatch, exit_codes_zero_and_three)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        int codes[] = {0, 3};

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        cr_assert_eq(exitwatch_is_watched(T.ew, c->id), 1);
        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                pid_t pid = spawn(c->fd, exit_with, (void *)(intptr_t)codes[i]);
                int st = reap(pid);
                const struct exitwatch_event *e = wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1);

                cr_assert_not_null(e, "no exit event for pid %d", (int)pid);
                cr_assert_eq(e->tgid, pid);
                cr_assert_eq(e->ppid, getpid());
                cr_assert_eq(e->exit_status, st, "status %#x, waitpid said %#x", e->exit_status,
                             st);
                cr_assert(WIFEXITED(e->exit_status));
                cr_assert_eq(WEXITSTATUS(e->exit_status), codes[i]);
                cr_assert_eq(e->cgroup_id, c->id);
                cr_assert_eq(e->watched_id, c->id);
                cr_assert_str_eq(e->comm, "ew-child");
                cr_assert_gt(e->timestamp_ns, 0);
        }
        cr_assert_eq(exitwatch_dropped(T.ew), 0);
        free(l.v);
}

Test(exitwatch, sigkill)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        pid_t pid;
        const struct exitwatch_event *e;

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        pid = spawn(c->fd, sleep_forever, NULL);
        cr_assert_eq(kill(pid, SIGKILL), 0);
        cr_assert_eq(reap(pid), SIGKILL);
        e = wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1);
        cr_assert_not_null(e);
        cr_assert(WIFSIGNALED(e->exit_status));
        cr_assert_eq(WTERMSIG(e->exit_status), SIGKILL);
        free(l.v);
}

static void *thread_exit5(void *arg)
{
        syscall(SYS_exit, 5); /* this thread only, not the group */
        return NULL;
}

/* A thread exits with 5, then the process with 0. */
static int thread_then_group(void *arg)
{
        pthread_t t;

        if (pthread_create(&t, NULL, thread_exit5, NULL) != 0)
                return 100;
        pthread_join(t, NULL); /* the kernel clears the tid on the raw exit too */
        return 0;
}

/* Whether the thread group's leader is a zombie: set in exit_notify(), after
 * its sched_process_exit tracepoint. */
static bool leader_is_zombie(void)
{
        char path[64], buf[256], *p;
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)getpid(), (int)getpid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = 0;
        p = strrchr(buf, ')');
        return p && p[1] == ' ' && p[2] == 'Z';
}

static void *thread_wait_then_exit0(void *arg)
{
        /* Exit only once the leader is gone, so the order is certain. */
        for (int i = 0; i < 20000 && !leader_is_zombie(); i++)
                usleep(500);
        syscall(SYS_exit, 0);
        return NULL;
}

/* The leader exits first (status 4), then its last thread (status 0).  Which
 * of the two waitpid() reports changed over kernel versions (6.18 reports the
 * last thread's); the group_dead event must say what waitpid() says. */
static int leader_first(void *arg)
{
        pthread_t t;

        if (pthread_create(&t, NULL, thread_wait_then_exit0, NULL) != 0)
                return 100;
        syscall(SYS_exit, 4);
        return 101;
}

/* One process whose thread exits (5) before the process (0).  The two events
 * may arrive in either order: the kernel wakes the thread's joiner (exit_mm
 * clears the tid) before the thread reaches the tracepoint. */
static void check_thread_exit(struct cg *c)
{
        struct evlist l = {};
        const struct exitwatch_event *thr = NULL, *grp = NULL;
        uint64_t end = sbx_now_monotonic_ns() + DEADLINE_MS * NSEC_PER_MSEC;
        pid_t pid;

        pid = spawn(c->fd, thread_then_group, NULL);
        cr_assert_eq(reap(pid), 0);
        while ((!thr || !grp) && sbx_now_monotonic_ns() < end) {
                pump(T.ew, &l, 100);
                thr = grp = NULL;
                for (size_t i = 0; i < l.n; i++) {
                        if (l.v[i].tgid != pid)
                                continue;
                        if (l.v[i].pid != pid)
                                thr = &l.v[i];
                        else
                                grp = &l.v[i];
                }
        }
        cr_assert_not_null(grp, "no event for the process");
        cr_assert_not_null(thr, "no event for the thread");
        cr_assert(grp->group_dead);
        cr_assert_eq(grp->exit_status, 0);
        cr_assert_not(thr->group_dead, "thread reported group_dead (source: %s)",
                      exitwatch_open_info(T.ew)->group_dead_source);
        cr_assert_eq(thr->exit_status, 5 << 8);
        free(l.v);
}

Test(exitwatch, thread_exit_is_not_group_exit)
{
        struct cg *c = make_cgroup(NULL);

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        for (int i = 0; i < 10; i++)
                check_thread_exit(c);
}

/* The 6.1 way (no group_dead argument on the tracepoint) on any kernel: the
 * taskstats_exit probe, fentry with tp_btf and kprobe with raw_tp. */
Test(exitwatch, thread_exit_via_taskstats_probe)
{
        struct cg *c = make_cgroup(NULL);

        reopen(EXITWATCH_NO_GROUP_DEAD_ARG);
        if (strcmp(exitwatch_open_info(T.ew)->group_dead_source, "taskstats_exit probe") != 0)
                skip_test("this kernel refuses fentry on taskstats_exit (source: %s)",
                          exitwatch_open_info(T.ew)->group_dead_source);
        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        for (int i = 0; i < 10; i++)
                check_thread_exit(c);
}

Test(exitwatch, thread_exit_via_taskstats_kprobe_in_fallback)
{
        struct cg *c = make_cgroup(NULL);

        reopen(EXITWATCH_NO_GROUP_DEAD_ARG | EXITWATCH_FORCE_FALLBACK);
        cr_assert(exitwatch_open_info(T.ew)->fallback);
        if (strcmp(exitwatch_open_info(T.ew)->group_dead_source, "taskstats_exit probe") != 0)
                skip_test("no taskstats_exit kprobe here (source: %s)",
                          exitwatch_open_info(T.ew)->group_dead_source);
        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        for (int i = 0; i < 10; i++)
                check_thread_exit(c);
}

Test(exitwatch, leader_exits_before_its_thread)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        const struct exitwatch_event *lead = NULL, *last = NULL;
        pid_t pid;
        int st;

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        pid = spawn(c->fd, leader_first, NULL);
        st = reap(pid);
        for (uint64_t end = sbx_now_monotonic_ns() + DEADLINE_MS * NSEC_PER_MSEC;
             !last && sbx_now_monotonic_ns() < end;) {
                pump(T.ew, &l, 100);
                for (size_t i = 0; i < l.n; i++)
                        if (l.v[i].tgid == pid && l.v[i].group_dead)
                                last = &l.v[i];
        }
        cr_assert_not_null(last, "no group_dead event");
        lead = find(&l, EXITWATCH_EVENT_EXIT, pid, 0);
        cr_assert_not_null(lead, "no event for the leader's own exit");
        cr_assert_eq(lead->exit_status, 4 << 8);
        cr_assert_neq(last->pid, pid, "the last thread is not the leader");
        cr_assert_eq(last->exit_status, st, "group status %#x, waitpid %#x", last->exit_status, st);
        free(l.v);
}

struct nested {
        int cg_fd;
        pid_t grandchild;
};

static int grandchild_main(void *arg)
{
        prctl(PR_SET_NAME, "ew-grandchild");
        return 9;
}

/* Child: forks a grandchild into the nested cgroup, reaps it, exits 0. */
static int fork_nested(void *arg)
{
        struct nested *n = arg;
        int st;
        pid_t pid = fork();

        if (pid < 0)
                return 100;
        if (pid == 0) {
                if (join_cgroup(n->cg_fd) < 0)
                        _exit(120);
                _exit(grandchild_main(NULL));
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 9)
                return 101;
        /* The parent learns the grandchild's pid from the events (ppid == us). */
        return 0;
}

Test(exitwatch, grandchild_in_nested_cgroup)
{
        struct cg *a = make_cgroup(NULL);
        struct cg *b = make_cgroup(a->path);
        struct cg *c = make_cgroup(b->path);
        struct nested n = {.cg_fd = c->fd};
        struct evlist l = {};
        const struct exitwatch_event *gc = NULL;
        pid_t pid;

        cr_assert_eq(exitwatch_watch(T.ew, a->id, NULL), 0);
        pid = spawn(a->fd, fork_nested, &n);
        cr_assert_eq(reap(pid), 0);
        cr_assert_not_null(wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1));
        for (size_t i = 0; i < l.n; i++)
                if (l.v[i].ppid == pid && l.v[i].group_dead)
                        gc = &l.v[i];
        cr_assert_not_null(gc, "no event for the grandchild");
        cr_assert_str_eq(gc->comm, "ew-grandchild");
        cr_assert_eq(WEXITSTATUS(gc->exit_status), 9);
        cr_assert_eq(gc->cgroup_id, c->id);
        cr_assert_eq(gc->watched_id, a->id);
        cr_assert_lt(gc - l.v, find(&l, EXITWATCH_EVENT_EXIT, pid, 1) - l.v);
        free(l.v);
}

/* In a new pid namespace: the namespace's init (ns pid 1) starts two children in turn. */
static int pidns_child(const char *name, int code)
{
        pid_t pid = fork();

        if (pid == 0) {
                prctl(PR_SET_NAME, name);
                _exit(code);
        }
        return pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : -1;
}

static int fork_pidns(void *arg)
{
        pid_t init;
        int st;

        if (unshare(CLONE_NEWPID) < 0)
                return 100;
        init = fork();
        if (init == 0) {
                prctl(PR_SET_NAME, "ew-nsinit");
                if (pidns_child("ew-first", 5) < 0 || pidns_child("ew-second", 6) < 0)
                        _exit(101);
                _exit(7);
        }
        if (init < 0 || waitpid(init, &st, 0) != init)
                return 102;
        return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 103;
}

static const struct exitwatch_event *find_comm(const struct evlist *l, const char *comm)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].group_dead && strcmp(l->v[i].comm, comm) == 0)
                        return &l->v[i];
        return NULL;
}

Test(exitwatch, pid_namespace_ids_and_first_child)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        const struct exitwatch_event *first, *second, *init, *outer;
        pid_t pid;

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        pid = spawn(c->fd, fork_pidns, NULL);
        cr_assert_eq(reap(pid), 0, "the pid namespace scenario failed");
        outer = wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1);
        cr_assert_not_null(outer);
        first = find_comm(&l, "ew-first");
        second = find_comm(&l, "ew-second");
        init = find_comm(&l, "ew-nsinit");
        cr_assert(first && second && init, "missing events in the pid namespace");
        cr_assert_eq(first->ns_tgid, 2);
        cr_assert(first->ns_first_child, "pid 2, child of pid 1: the first child");
        cr_assert_eq(WEXITSTATUS(first->exit_status), 5);
        cr_assert_eq(first->ppid, init->tgid);
        cr_assert_eq(second->ns_tgid, 3);
        cr_assert_not(second->ns_first_child);
        cr_assert_eq(init->ns_tgid, 1);
        cr_assert_not(init->ns_first_child);
        cr_assert_neq(first->tgid, 2, "tgid stays the initial namespace's");
        cr_assert_eq(outer->ns_tgid, pid, "in the initial namespace, ns_tgid is the tgid");
        cr_assert_not(outer->ns_first_child);
        free(l.v);
}

Test(exitwatch, outside_watched_cgroups_no_event)
{
        struct cg *watched = make_cgroup(NULL);
        struct cg *other = make_cgroup(NULL);
        struct evlist l = {};
        pid_t out, in, none;

        cr_assert_eq(exitwatch_watch(T.ew, watched->id, NULL), 0);
        out = spawn(other->fd, exit_with, (void *)1);
        none = spawn(-1, exit_with, (void *)2); /* stays in the test's own cgroup */
        reap(out);
        reap(none);
        in = spawn(watched->fd, exit_with, (void *)0); /* the marker: exits last */
        reap(in);
        cr_assert_not_null(wait_event(&l, EXITWATCH_EVENT_EXIT, in, 1));
        cr_assert_null(find(&l, EXITWATCH_EVENT_EXIT, out, -1));
        cr_assert_null(find(&l, EXITWATCH_EVENT_EXIT, none, -1));
        free(l.v);
}

Test(exitwatch, unwatch_stops_events)
{
        struct cg *a = make_cgroup(NULL);
        struct cg *marker = make_cgroup(NULL);
        struct evlist l = {};
        struct sbx_error err = {};
        pid_t pid, m;

        cr_assert_eq(exitwatch_watch(T.ew, a->id, NULL), 0);
        cr_assert_eq(exitwatch_watch(T.ew, marker->id, NULL), 0);
        cr_assert_eq(exitwatch_unwatch(T.ew, a->id, NULL), 0);
        cr_assert_eq(exitwatch_is_watched(T.ew, a->id), 0);
        cr_assert_eq(exitwatch_unwatch(T.ew, a->id, &err), -ENOENT);
        pid = spawn(a->fd, exit_with, (void *)0);
        reap(pid);
        m = spawn(marker->fd, exit_with, (void *)0);
        reap(m);
        cr_assert_not_null(wait_event(&l, EXITWATCH_EVENT_EXIT, m, 1));
        cr_assert_null(find(&l, EXITWATCH_EVENT_EXIT, pid, -1));
        free(l.v);
}

#define BURST 10000

/* vfork: the child only exits, and no page-table copy keeps the burst fast
 * (and bursty) even under ASan or in the VM. */
static __attribute__((noinline)) pid_t vfork_exit(int code)
{
        pid_t pid = vfork();

        if (pid == 0)
                _exit(code);
        return pid;
}

/* Forks BURST children that exit at once (status i & 0x7f), reaping as it goes. */
static int burst_main(void *arg)
{
        for (int i = 0; i < BURST; i++) {
                if (vfork_exit(i & 0x7f) < 0)
                        return 100;
                while (waitpid(-1, NULL, i % 64 == 63 ? 0 : WNOHANG) > 0)
                        ;
        }
        while (waitpid(-1, NULL, 0) > 0)
                ;
        return 0;
}

Test(exitwatch, burst_of_10000_exits)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        size_t got = 0;
        uint64_t dropped0 = exitwatch_dropped(T.ew), dropped;
        pid_t spawner;
        int st;

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        spawner = spawn(c->fd, burst_main, NULL);
        /* Consume while the burst runs, as the daemon's loop would. */
        while (waitpid(spawner, &st, WNOHANG) == 0)
                pump(T.ew, &l, 10);
        cr_assert_eq(st, 0);
        cr_assert_not_null(wait_event(&l, EXITWATCH_EVENT_EXIT, spawner, 1));
        for (size_t i = 0; i < l.n; i++)
                if (l.v[i].ppid == spawner && l.v[i].group_dead)
                        got++;
        dropped = exitwatch_dropped(T.ew) - dropped0;
        cr_log_info("burst: %zu events received, %llu dropped", got, (unsigned long long)dropped);
        cr_assert_eq(got + dropped, BURST, "received %zu + dropped %llu != %d", got,
                     (unsigned long long)dropped, BURST);
        free(l.v);
}

#define OVERFLOW 2000

static int overflow_main(void *arg)
{
        for (int i = 0; i < OVERFLOW; i++) {
                if (vfork_exit(1) < 0)
                        return 100;
                while (waitpid(-1, NULL, i % 64 == 63 ? 0 : WNOHANG) > 0)
                        ;
        }
        while (waitpid(-1, NULL, 0) > 0)
                ;
        return 0;
}

/* Nobody consumes while 2,000 processes exit into a 512-record ring: the ones
 * that did not fit are counted, none is lost silently. */
Test(exitwatch, full_ring_counts_drops)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        size_t got = 0;
        uint64_t dropped;
        pid_t spawner;

        reopen(EXITWATCH_SMALL_RING);
        cr_assert(exitwatch_open_info(T.ew)->replaced_pins, "the 4 MiB ring gives way");
        cr_assert_eq(exitwatch_dropped(T.ew), 0);
        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        exitwatch_close(T.ew); /* down: nobody consumes */
        T.ew = NULL;

        spawner = spawn(c->fd, overflow_main, NULL);
        cr_assert_eq(reap(spawner), 0);

        open_watcher(EXITWATCH_SMALL_RING);
        cr_assert(exitwatch_open_info(T.ew)->reused_pins);
        pump(T.ew, &l, 0);
        for (size_t i = 0; i < l.n; i++)
                if (l.v[i].ppid == spawner || l.v[i].pid == spawner)
                        got++;
        dropped = exitwatch_dropped(T.ew);
        cr_log_info("full ring: %zu received, %llu dropped", got, (unsigned long long)dropped);
        cr_assert_gt(dropped, 0);
        cr_assert_leq(got, 512);
        cr_assert_eq(got + dropped, OVERFLOW + 1, "received %zu + dropped %llu != %d", got,
                     (unsigned long long)dropped, OVERFLOW + 1);
        free(l.v);
}

Test(exitwatch, restart_delivers_exits_that_happened_while_closed)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        pid_t pids[5];
        int st[5];
        size_t k = 0;

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        exitwatch_close(T.ew); /* the "daemon" goes down; pins stay */
        T.ew = NULL;

        for (int i = 0; i < 5; i++) {
                pids[i] = spawn(c->fd, exit_with, (void *)(intptr_t)(10 + i));
                st[i] = reap(pids[i]);
        }

        open_watcher(0);
        cr_assert(exitwatch_open_info(T.ew)->reused_pins);
        cr_assert_not(exitwatch_open_info(T.ew)->replaced_pins);
        cr_assert_eq(exitwatch_is_watched(T.ew, c->id), 1, "the watched set survives");
        pump(T.ew, &l, 0);
        for (size_t i = 0; i < l.n; i++) {
                cr_assert_lt(k, 5, "more events than exits");
                cr_assert_eq(l.v[i].pid, pids[k], "event %zu: pid %d, expected %d", i,
                             (int)l.v[i].pid, (int)pids[k]);
                cr_assert(l.v[i].group_dead);
                cr_assert_eq(l.v[i].exit_status, st[k]);
                cr_assert_eq(WEXITSTATUS(l.v[i].exit_status), 10 + (int)k);
                k++;
        }
        cr_assert_eq(k, 5, "got %zu of the 5 exits", k);

        /* And it keeps working after the restart. */
        pid_t again = spawn(c->fd, exit_with, (void *)7);
        reap(again);
        cr_assert_not_null(wait_event(&l, EXITWATCH_EVENT_EXIT, again, 1));
        free(l.v);
}

Test(exitwatch, incompatible_pins_replaced)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        char path[PATH_MAX + 16];
        unsigned char buf[64] = {};
        uint32_t key = 0;
        int fd;
        pid_t pid;

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        exitwatch_close(T.ew);
        T.ew = NULL;

        /* Pretend an older build left the pins: another ABI number. */
        snprintf(path, sizeof(path), "%s/version", T.pin_dir);
        fd = bpf_obj_get(path);
        cr_assert_geq(fd, 0);
        cr_assert_eq(bpf_map_lookup_elem(fd, &key, buf), 0);
        buf[8] ^= 0xff; /* struct exitwatch_pin_version.abi */
        cr_assert_eq(bpf_map_update_elem(fd, &key, buf, BPF_ANY), 0);
        close(fd);

        open_watcher(0);
        cr_assert_not(exitwatch_open_info(T.ew)->reused_pins);
        cr_assert(exitwatch_open_info(T.ew)->replaced_pins);
        cr_assert(strstr(exitwatch_open_info(T.ew)->replaced_reason, "another build"), "%s",
                  exitwatch_open_info(T.ew)->replaced_reason);
        cr_assert_eq(exitwatch_is_watched(T.ew, c->id), 0, "a fresh watched set");

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        pid = spawn(c->fd, exit_with, (void *)6);
        reap(pid);
        cr_assert_not_null(wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1));
        free(l.v);
}

Test(exitwatch, foreign_pins_replaced)
{
        struct evlist l = {};
        char path[PATH_MAX + 16];
        struct cg *c = make_cgroup(NULL);
        int fd;
        pid_t pid;

        exitwatch_close(T.ew);
        T.ew = NULL;
        cr_assert_eq(exitwatch_uninstall(T.pin_dir, NULL), 0);
        cr_assert_eq(mkdir(T.pin_dir, 0700), 0);
        /* A half-made set: an "events" map of the wrong type and no version. */
        fd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 8, 8, 4, NULL);
        cr_assert_geq(fd, 0);
        snprintf(path, sizeof(path), "%s/events", T.pin_dir);
        cr_assert_eq(bpf_obj_pin(fd, path), 0);
        close(fd);

        open_watcher(0);
        cr_assert(exitwatch_open_info(T.ew)->replaced_pins);
        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        pid = spawn(c->fd, exit_with, (void *)0);
        reap(pid);
        cr_assert_not_null(wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1));
        free(l.v);
}

Test(exitwatch, raw_tracepoint_fallback)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        const struct exitwatch_event *e;
        pid_t pid;
        int st;

        exitwatch_close(T.ew);
        T.ew = NULL;
        open_watcher(EXITWATCH_FORCE_FALLBACK);
        cr_assert(exitwatch_open_info(T.ew)->fallback);
        cr_assert(exitwatch_open_info(T.ew)->replaced_pins, "tp_btf pins give way");
        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        pid = spawn(c->fd, exit_with, (void *)3);
        st = reap(pid);
        e = wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1);
        cr_assert_not_null(e);
        cr_assert_eq(e->exit_status, st);
        free(l.v);
}

Test(exitwatch, one_user_per_pin_dir_and_uninstall)
{
        struct exitwatch *second = NULL;
        struct sbx_error err = {};
        struct stat s;

        cr_assert_eq(exitwatch_open(T.pin_dir, 0, &second, &err), -EBUSY);
        cr_assert(strstr(err.message, "in use"), "%s", err.message);
        cr_assert_eq(exitwatch_uninstall(T.pin_dir, &err), -EBUSY);
        exitwatch_close(T.ew);
        T.ew = NULL;
        cr_assert_eq(exitwatch_uninstall(T.pin_dir, &err), 0, "%s", err.message);
        cr_assert_eq(stat(T.pin_dir, &s), -1);
        cr_assert_eq(errno, ENOENT);
        cr_assert_eq(exitwatch_uninstall(T.pin_dir, &err), 0, "uninstall twice");
        cr_assert_eq(exitwatch_open("relative/dir", 0, &second, &err), -EINVAL);
        cr_assert_eq(exitwatch_open("/sys/fs/bpf/../x", 0, &second, &err), -EINVAL);
}

/* ---- OOM --------------------------------------------------------------- */

static int write_file(const char *dir, const char *file, const char *s)
{
        char p[PATH_MAX + 64];
        int fd, r;

        snprintf(p, sizeof(p), "%s/%s", dir, file);
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -errno;
        close(fd);
        return r;
}

struct hog {
        const char *v1_mem; /* NULL on pure cgroup v2 */
};

static int memory_hog(void *arg)
{
        struct hog *h = arg;
        size_t sz = 256u << 20;
        char *p;

        prctl(PR_SET_NAME, "ew-hog");
        if (h->v1_mem && write_file(h->v1_mem, "cgroup.procs", "0") < 0)
                return 110;
        p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return 111;
        for (size_t i = 0; i < sz; i += 4096)
                p[i] = 1; /* the OOM killer stops this at the limit */
        return 112;
}

Test(exitwatch, oom_victim)
{
        struct cg *c = make_cgroup(NULL);
        struct evlist l = {};
        struct hog h = {};
        const struct exitwatch_event *oom, *ex;
        char ctl[256] = "";
        pid_t pid;
        int st;

        if (!exitwatch_open_info(T.ew)->oom_events)
                skip_test("the mark_victim program did not attach on this kernel");
        /* Pure cgroup v2 (the VM): memory.max on our cgroup.  Hybrid host: a v1
         * memory cgroup of our own, the process in both. */
        if (write_file(c->path, "memory.max", "33554432") == 0) {
                (void)write_file(c->path, "memory.swap.max", "0");
        } else if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0) {
                snprintf(T.v1_mem, sizeof(T.v1_mem), "/sys/fs/cgroup/memory/sbx-test-%d",
                         (int)getpid());
                cr_assert_eq(mkdir(T.v1_mem, 0755), 0, "mkdir %s: %m", T.v1_mem);
                cr_assert_eq(write_file(T.v1_mem, "memory.limit_in_bytes", "33554432"), 0);
                (void)write_file(T.v1_mem, "memory.memsw.limit_in_bytes", "33554432");
                h.v1_mem = T.v1_mem;
        } else {
                snprintf(ctl, sizeof(ctl), "no memory controller (v2 memory.max or v1 memory)");
                skip_test("%s", ctl);
        }

        cr_assert_eq(exitwatch_watch(T.ew, c->id, NULL), 0);
        pid = spawn(c->fd, memory_hog, &h);
        st = reap(pid);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "hog status %#x", st);
        oom = wait_event(&l, EXITWATCH_EVENT_OOM, pid, -1);
        ex = wait_event(&l, EXITWATCH_EVENT_EXIT, pid, 1);
        cr_assert_not_null(oom, "no OOM event");
        cr_assert_not_null(ex);
        cr_assert_lt(oom - l.v, ex - l.v, "OOM before the victim's exit");
        cr_assert_eq(oom->tgid, pid);
        cr_assert_str_eq(oom->comm, "ew-hog");
        cr_assert_eq(oom->cgroup_id, c->id);
        cr_assert_eq(oom->watched_id, c->id);
        cr_assert_gt(oom->oom.anon_rss_kb, 1024, "anon rss %llu KiB",
                     (unsigned long long)oom->oom.anon_rss_kb);
        cr_assert_gt(oom->oom.total_vm_kb, 200 * 1024);
        cr_assert_eq(WTERMSIG(ex->exit_status), SIGKILL);
        free(l.v);
}
