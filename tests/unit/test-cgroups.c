/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroups/: layout, CLONE_INTO_CGROUP placement, kill, freeze, events, removal,
 * missing-controller errors.  Runs on the hybrid host (cgroup2 at
 * /sys/fs/cgroup/unified, no memory/pids/cpu there) and in the VM.
 */
#include "test-cgroups-util.h"

#include "cgroups/cgroups-internal.h" /* cg_sandbox_kill_fallback */

#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>

TestSuite(cgroups, .init = t_setup, .fini = t_teardown);

static struct cg_sandbox *create(const char *ns, const char *id, const struct cg_resources *res,
                                 unsigned flags)
{
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        int k = cg_sandbox_create(t_root, ns, id, res, flags, &sb, &err);
        cr_assert_eq(k, 0, "cg_sandbox_create(%s/%s): %s", ns, id, err.message);
        return sb;
}

static void remove_sb(struct cg_sandbox *sb)
{
        struct sbx_error err = {};
        cr_assert_eq(cg_sandbox_remove(sb, &err), 0, "remove: %s", err.message);
        cg_sandbox_free(sb);
}

Test(cgroups, layout_ids_and_already_exists)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("default", "box1", NULL, 0);
        char p[1024];
        struct stat st;

        snprintf(p, sizeof(p), "%s/sandboxes/default/box1", t_root_path);
        cr_assert_str_eq(cg_sandbox_path(sb), p);
        cr_assert_eq(stat(p, &st), 0);
        cr_assert_eq(cg_sandbox_id(sb), (uint64_t)st.st_ino, "cgroup id is the dir's inode");
        snprintf(p, sizeof(p), "%s/sandboxes/default/box1/init", t_root_path);
        cr_assert_eq(stat(p, &st), 0, "init leaf exists");
        cr_assert_eq(cg_sandbox_init_id(sb), (uint64_t)st.st_ino);
        cr_assert_neq(cg_sandbox_id(sb), cg_sandbox_init_id(sb));

        char want[1024];
        snprintf(want, sizeof(want), "%s/sandboxes/default/box1", cg_root_cgroup(t_root));
        cr_assert_str_eq(cg_sandbox_cgroup(sb), want);
        cr_assert_null(cg_sandbox_skipped(sb)[0], "nothing skipped");

        /* Second create of the same sandbox: AlreadyExists, and the first is intact. */
        struct cg_sandbox *dup = NULL;
        cr_assert_eq(cg_sandbox_create(t_root, "default", "box1", NULL, 0, &dup, &err), -EEXIST);
        cr_assert_null(dup);
        cr_assert(strstr(err.message, "already exists"), "message: %s", err.message);
        cr_assert_eq(stat(p, &st), 0, "init leaf survived the failed duplicate");

        /* A second sandbox in the same namespace keeps <ns> alive when the first goes. */
        struct cg_sandbox *sb2 = create("default", "box2", NULL, 0);
        remove_sb(sb);
        snprintf(p, sizeof(p), "%s/sandboxes/default", t_root_path);
        cr_assert_eq(stat(p, &st), 0, "namespace dir kept while box2 lives");
        remove_sb(sb2);
        cr_assert_eq(stat(p, &st), -1, "namespace dir removed with its last sandbox");
        t_assert_nothing_left();
}

Test(cgroups, invalid_names)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        const char *bad[] = {"", ".", "..", "a/b"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(cg_sandbox_create(t_root, "default", bad[i], NULL, 0, &sb, &err),
                             -EINVAL, "name \"%s\"", bad[i]);
        cr_assert_eq(cg_sandbox_open(t_root, "default", "nope", &sb, &err), -ENOENT);
        t_assert_nothing_left();
}

static int child_check_cgroup(void *arg)
{
        const char *want = arg;
        char buf[4096];
        int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 10;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 11;
        buf[n] = '\0';
        char *l = strstr(buf, "0::");
        if (!l)
                return 12;
        l += 3;
        l[strcspn(l, "\n")] = '\0';
        return strcmp(l, want) == 0 ? 0 : 13;
}

Test(cgroups, clone_into_cgroup_places_init_and_tasks)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("ns1", "place", NULL, 0);
        char want[1024];

        snprintf(want, sizeof(want), "%s/init", cg_sandbox_cgroup(sb));
        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_check_cgroup, want);
        cr_assert_eq(t_wait(&c), 0, "child's /proc/self/cgroup is %s", want);

        int tfd = -1;
        uint64_t tid = 0;
        cr_assert_eq(cg_task_create(sb, "exec1", &tfd, &tid, &err), 0, "%s", err.message);
        cr_assert_gt(tid, 0);
        int tfd2 = -1;
        cr_assert_eq(cg_task_create(sb, "exec1", &tfd2, NULL, &err), -EEXIST);
        snprintf(want, sizeof(want), "%s/tasks/exec1", cg_sandbox_cgroup(sb));
        c = t_spawn(tfd, child_check_cgroup, want);
        cr_assert_eq(t_wait(&c), 0, "task child's /proc/self/cgroup is %s", want);
        close(tfd);
        cr_assert_eq(cg_task_remove(sb, "exec1", &err), 0, "%s", err.message);
        cr_assert_eq(cg_task_remove(sb, "exec1", &err), 0, "removing a gone task is fine");

        remove_sb(sb);
        t_assert_nothing_left();
}

/* A tree: child → grandchild → great-grandchild; the grandchild exits so the last
 * one is an orphan (reparented to us, the subreaper).  Everyone sleeps. */
static int child_tree(void *arg)
{
        int *ready = arg;
        pid_t p = fork();
        if (p == 0) {
                pid_t q = fork();
                if (q == 0) {
                        __atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
                        for (;;)
                                pause();
                }
                _exit(0); /* the great-grandchild is now an orphan */
        }
        waitpid(p, NULL, 0);
        pid_t r = fork();
        if (r == 0) {
                __atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
                for (;;)
                        pause();
        }
        __atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
        for (;;)
                pause();
}

static int *shared_int(void)
{
        int *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        cr_assert_neq(p, MAP_FAILED);
        *p = 0;
        return p;
}

static void wait_counter(volatile int *p, int n)
{
        uint64_t deadline = sbx_now_monotonic_ns() + 30 * NSEC_PER_SEC;
        while (__atomic_load_n(p, __ATOMIC_SEQ_CST) < n) {
                cr_assert_lt(sbx_now_monotonic_ns(), deadline, "children did not start");
                usleep(1000);
        }
}

Test(cgroups, kill_ends_tree_with_orphan_and_populated_0_via_epollpri)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("default", "killme", NULL, 0);
        int *ready = shared_int();

        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_tree, ready);
        wait_counter(ready, 3);
        cr_assert_eq(cg_sandbox_populated(sb), 1);

        char procs[4096];
        snprintf(procs, sizeof(procs), "%s/init", cg_sandbox_path(sb));
        char buf[4096];
        cr_assert_eq(t_read_file(procs, "cgroup.procs", buf, sizeof(buf)), 0);

        /* Watch cgroup.events with epoll, as the daemon does. */
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLPRI};
        cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, cg_sandbox_events_fd(sb), &ev), 0);
        cr_assert_eq(cg_sandbox_populated(sb), 1); /* (re)arms the notification */

        struct sbx_error rerr = {};
        cr_assert_eq(cg_sandbox_remove(sb, &rerr), -EBUSY, "remove while populated");
        cr_assert(strstr(rerr.message, "still holds processes"), "%s", rerr.message);

        cr_assert_eq(cg_sandbox_kill(sb, &err), 0, "%s", err.message);
        int populated = 1;
        uint64_t deadline = sbx_now_monotonic_ns() + 30 * NSEC_PER_SEC;
        while (populated) {
                struct epoll_event out;
                int n = epoll_wait(ep, &out, 1, 30000);
                cr_assert_geq(n, 0);
                if (n == 1)
                        cr_assert(out.events & EPOLLPRI);
                populated = cg_sandbox_populated(sb);
                cr_assert_lt(sbx_now_monotonic_ns(), deadline, "still populated");
        }
        close(ep);
        cr_assert_eq(t_wait(&c), 128 + SIGKILL, "the init child was SIGKILLed");
        /* The orphan (ours as subreaper) died too. */
        siginfo_t si = {};
        int reaped = 0;
        while (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0) {
                cr_assert_eq(si.si_code, CLD_KILLED);
                cr_assert_eq(si.si_status, SIGKILL);
                reaped++;
                memset(&si, 0, sizeof(si));
        }
        cr_assert_geq(reaped, 1, "the double-forked orphan was killed and reaped");
        cr_assert_eq(cg_sandbox_wait_empty(sb, 1000, &err), 0, "%s", err.message);
        remove_sb(sb);
        t_assert_nothing_left();
}

static int child_count(void *arg)
{
        volatile uint64_t *n = arg;
        for (;;)
                __atomic_add_fetch(n, 1, __ATOMIC_SEQ_CST);
        return 0;
}

Test(cgroups, freeze_stops_and_thaw_resumes)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("default", "freezer", NULL, 0);
        uint64_t *n = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        cr_assert_neq(n, MAP_FAILED);

        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_count, n);
        while (__atomic_load_n(n, __ATOMIC_SEQ_CST) == 0)
                usleep(1000);

        cr_assert_eq(cg_sandbox_freeze(sb, 30000, &err), 0, "%s", err.message);
        char buf[256];
        cr_assert_eq(t_read_file(cg_sandbox_path(sb), "cgroup.events", buf, sizeof(buf)), 0);
        uint64_t a = __atomic_load_n(n, __ATOMIC_SEQ_CST);
        usleep(50 * 1000);
        uint64_t b = __atomic_load_n(n, __ATOMIC_SEQ_CST);
        cr_assert_eq(a, b, "the counter stands still while frozen (%lu → %lu)", (unsigned long)a,
                     (unsigned long)b);

        cr_assert_eq(cg_sandbox_thaw(sb, 30000, &err), 0, "%s", err.message);
        uint64_t deadline = sbx_now_monotonic_ns() + 30 * NSEC_PER_SEC;
        while (__atomic_load_n(n, __ATOMIC_SEQ_CST) == b) {
                cr_assert_lt(sbx_now_monotonic_ns(), deadline, "counter did not resume");
                usleep(1000);
        }

        /* Kill works on a frozen sandbox too. */
        cr_assert_eq(cg_sandbox_freeze(sb, 30000, &err), 0, "%s", err.message);
        cr_assert_eq(cg_sandbox_kill(sb, &err), 0, "%s", err.message);
        cr_assert_eq(t_wait(&c), 128 + SIGKILL);
        cr_assert_eq(cg_sandbox_wait_empty(sb, 30000, &err), 0, "%s", err.message);
        remove_sb(sb);
        t_assert_nothing_left();
}

Test(cgroups, missing_controller_is_failed_precondition)
{
        T_REQUIRE_ROOT();
        if (t_root_has_controller("memory"))
                T_SKIP("the memory controller is available here (VM?): nothing to refuse");
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        struct cg_resources *res =
                t_resources("{\"memory\": {\"limit\": 67108864}, \"pids\": {\"limit\": 10}}");

        int k = cg_sandbox_create(t_root, "default", "nomem", res, 0, &sb, &err);
        cr_assert_eq(k, -EBUSY, "FailedPrecondition (-EBUSY), got %d", k);
        cr_assert_null(sb);
        /* On the hybrid hosts memory lives in a v1 hierarchy. */
        bool v1 = access("/sys/fs/cgroup/memory", F_OK) == 0;
        if (v1)
                cr_assert_str_eq(err.message, "memory controller is bound to a cgroup v1 hierarchy "
                                              "(needed by memory.max)");
        else
                cr_assert(strstr(err.message, "memory controller"), "%s", err.message);
        t_assert_nothing_left();

        /* Best effort: created, and every skipped limit is reported. */
        cr_assert_eq(cg_sandbox_create(t_root, "default", "nomem", res, CG_BEST_EFFORT, &sb, &err),
                     0, "%s", err.message);
        const char *const *sk = cg_sandbox_skipped(sb);
        cr_assert_not_null(sk[0]);
        cr_assert_not_null(sk[1], "memory and pids both reported");
        cr_assert_null(sk[2]);
        if (v1)
                cr_assert_str_eq(sk[0], "memory: memory controller is bound to a cgroup v1 "
                                        "hierarchy (memory.max not set)");
        cr_assert(strncmp(sk[1], "pids: pids controller", 21) == 0, "%s", sk[1]);
        cg_resources_free(res);
        remove_sb(sb);
        t_assert_nothing_left();
}

Test(cgroups, undelegated_controller_names_the_parent)
{
        T_REQUIRE_ROOT();
        /* hugetlb is offered by the host's cgroup2 root but not enabled in its
         * subtree_control, so our temporary root does not get it. */
        char buf[512];
        const char *parent = t_cgroup2_parent();
        if (t_read_file(parent, "cgroup.controllers", buf, sizeof(buf)) < 0 ||
            !strstr(buf, "hugetlb") || t_root_has_controller("hugetlb"))
                T_SKIP("needs hugetlb in the cgroup2 root but not delegated to us");
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        struct cg_resources *res =
                t_resources("{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 0}]}");
        cr_assert_eq(cg_sandbox_create(t_root, "default", "huge", res, 0, &sb, &err), -EBUSY);
        char want[1024];
        snprintf(want, sizeof(want),
                 "hugetlb controller is not delegated to %s (enable it in its parent's "
                 "cgroup.subtree_control) (needed by hugetlb.2MB.max)",
                 t_root_path);
        cr_assert_str_eq(err.message, want);
        cg_resources_free(res);
        t_assert_nothing_left();
}

Test(cgroups, unsupported_v1_fields_refused_or_skipped)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        struct cg_resources *res = t_resources("{\"memory\": {\"swappiness\": 10}}");
        cr_assert_eq(cg_sandbox_create(t_root, "default", "v1", res, 0, &sb, &err), -EBUSY);
        cr_assert_str_eq(err.message, "linux.resources.memory.swappiness: cgroup v1 only");
        cr_assert_eq(cg_sandbox_create(t_root, "default", "v1", res, CG_BEST_EFFORT, &sb, &err), 0);
        cr_assert_str_eq(cg_sandbox_skipped(sb)[0], "memory.swappiness: cgroup v1 only");
        cg_resources_free(res);
        remove_sb(sb);
        t_assert_nothing_left();
}

static int count_sandbox(const char *ns, const char *id, void *u)
{
        (*(int *)u)++;
        return strcmp(ns, "crashed") == 0 && strcmp(id, "left") == 0 ? 0 : -EINVAL;
}

Test(cgroups, reopen_and_remove_leftover_after_crash)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("crashed", "left", NULL, 0);
        int tfd = -1;
        cr_assert_eq(cg_task_create(sb, "t1", &tfd, NULL, &err), 0, "%s", err.message);
        close(tfd);
        uint64_t id = cg_sandbox_id(sb);
        /* The "crash": the handle goes, the cgroups stay; add a stray nested dir. */
        cg_sandbox_free(sb);
        char p[1024];
        snprintf(p, sizeof(p), "%s/sandboxes/crashed/left/tasks/t1/stray", t_root_path);
        cr_assert_eq(mkdir(p, 0755), 0);

        int seen = 0;
        cr_assert_eq(cg_root_for_each_sandbox(t_root, count_sandbox, &seen, &err), 0);
        cr_assert_eq(seen, 1);

        cr_assert_eq(cg_sandbox_open(t_root, "crashed", "left", &sb, &err), 0, "%s", err.message);
        cr_assert_eq(cg_sandbox_id(sb), id, "same cgroup id after re-open");
        cr_assert_eq(cg_sandbox_populated(sb), 0);
        remove_sb(sb);
        t_assert_nothing_left();
}

static int expect_escaped_ids(const char *ns, const char *id, void *userdata)
{
        int *seen = userdata;
        if (strcmp(ns, "cpu.ns") == 0 &&
            (strcmp(id, "memory.max") == 0 || strcmp(id, "cgroup.procs") == 0))
                (*seen)++;
        return 0;
}

/* Valid sandbox ids may look like interface files; they live under an escaped name. */
Test(cgroups, ids_like_interface_files_are_escaped)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *a = create("cpu.ns", "memory.max", NULL, 0);
        struct cg_sandbox *b = create("cpu.ns", "cgroup.procs", NULL, 0);
        char p[1024];
        int tfd = -1, seen = 0;

        snprintf(p, sizeof(p), "%s/sandboxes/_cpu.ns/_memory.max", t_root_path);
        cr_assert_str_eq(cg_sandbox_path(a), p);
        cr_assert_eq(access(p, F_OK), 0);
        cr_assert_eq(cg_task_create(a, "io.weight", &tfd, NULL, &err), 0, "%s", err.message);
        close(tfd);
        snprintf(p, sizeof(p), "%s/sandboxes/_cpu.ns/_memory.max/tasks/_io.weight", t_root_path);
        cr_assert_eq(access(p, F_OK), 0);
        cr_assert_eq(cg_task_remove(a, "io.weight", &err), 0, "%s", err.message);
        cr_assert_eq(cg_root_for_each_sandbox(t_root, expect_escaped_ids, &seen, &err), 0);
        cr_assert_eq(seen, 2, "cg_root_for_each_sandbox reports the ids as given");
        uint64_t id = cg_sandbox_id(a);
        cg_sandbox_free(a);
        cr_assert_eq(cg_sandbox_open(t_root, "cpu.ns", "memory.max", &a, &err), 0, "%s",
                     err.message);
        cr_assert_eq(cg_sandbox_id(a), id);
        remove_sb(a);
        remove_sb(b);
        t_assert_nothing_left();
}

Test(cgroups, stats_report_cpu_and_absent_controllers)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("default", "stats", NULL, CG_ACCOUNTING);
        uint64_t *n = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_count, n);
        struct cg_stats s;
        uint64_t deadline = sbx_now_monotonic_ns() + 30 * NSEC_PER_SEC;
        do {
                cr_assert_eq(cg_sandbox_stats(sb, &s, &err), 0, "%s", err.message);
                cr_assert(s.present & CG_STATS_CPU, "cpu.stat is always there on cgroup v2");
                cr_assert_lt(sbx_now_monotonic_ns(), deadline, "no cpu usage counted");
                usleep(1000);
        } while (s.cpu.usage_usec == 0);
        cr_assert_geq(s.cpu.usage_usec, s.cpu.user_usec);
        if (!t_root_has_controller("memory"))
                cr_assert_not(s.present & CG_STATS_MEMORY, "no memory controller, no fields");
        else
                cr_assert(s.present & CG_STATS_MEMORY, "CG_ACCOUNTING enables memory");
        if (!t_root_has_controller("pids"))
                cr_assert_not(s.present & CG_STATS_PIDS);
        else
                cr_assert_eq(s.pids.current, 1);
        cr_assert_eq(cg_sandbox_kill(sb, &err), 0, "%s", err.message);
        t_wait(&c);
        cr_assert_eq(cg_sandbox_wait_empty(sb, 30000, &err), 0, "%s", err.message);
        remove_sb(sb);
        t_assert_nothing_left();
}

Test(cgroups, root_open_errors)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_root *r = NULL;
        cr_assert_eq(cg_root_open("relative/path", 0, &r, &err), -EINVAL);
        cr_assert_eq(cg_root_open(t_cgroup2_parent(), 0, &r, &err), -EBUSY,
                     "the top of the hierarchy is refused");
        cr_assert(strstr(err.message, "refusing"), "%s", err.message);
        cr_assert_eq(cg_root_open("/proc/sys", 0, &r, &err), -ENOENT, "%s", err.message);
        char p[1024];
        snprintf(p, sizeof(p), "%s/does-not-exist", t_root_path);
        cr_assert_eq(cg_root_open(p, 0, &r, &err), -ENOENT, "%s", err.message);
        /* Our own cgroup (NULL): whatever it is, it is on a cgroup2 mount or refused. */
        int k = cg_root_open(NULL, 0, &r, &err);
        cr_assert(k == 0 || k == -EBUSY, "%d %s", k, err.message);
        cg_root_free(r);
}

Test(cgroups, kill_fallback_for_old_kernels_ends_the_tree)
{
        T_REQUIRE_ROOT();
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("default", "oldkill", NULL, 0);
        int *ready = shared_int();
        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_tree, ready);
        wait_counter(ready, 3);
        int tfd = -1;
        cr_assert_eq(cg_task_create(sb, "t", &tfd, NULL, &err), 0, "%s", err.message);
        struct t_child c2 = t_spawn(tfd, child_tree, ready);
        wait_counter(ready, 6);
        close(tfd);

        cr_assert_eq(cg_sandbox_kill_fallback(sb, &err), 0, "%s", err.message);
        cr_assert_eq(cg_sandbox_wait_empty(sb, 30000, &err), 0, "%s", err.message);
        cr_assert_eq(t_wait(&c), 128 + SIGKILL);
        cr_assert_eq(t_wait(&c2), 128 + SIGKILL);
        char buf[64];
        cr_assert_eq(t_read_file(cg_sandbox_path(sb), "cgroup.freeze", buf, sizeof(buf)), 0);
        cr_assert_str_eq(buf, "0", "thawed again afterwards");
        remove_sb(sb);
        t_assert_nothing_left();
}

static int child_move_self(void *arg)
{
        char want[1024];
        if (cg_root_move_self_to_supervisor(t_root, NULL) < 0)
                return 2;
        snprintf(want, sizeof(want), "%s/supervisor", cg_root_cgroup(t_root));
        return child_check_cgroup(want);
}

Test(cgroups, move_self_to_supervisor_leaf)
{
        T_REQUIRE_ROOT();
        /* Born in the root itself, as a daemon under Delegate=yes starts. */
        struct t_child c = t_spawn(cg_root_fd(t_root), child_move_self, NULL);
        cr_assert_eq(t_wait(&c), 0, "the child moved itself into <root>/supervisor");
        struct sbx_error err = {};
        struct cg_sandbox *sb = create("default", "after-move", NULL, 0);
        remove_sb(sb);
        (void)err;
        t_assert_nothing_left();
}

static int child_open_own_root(void *arg)
{
        const char *want = arg;
        struct cg_root *r = NULL;
        if (cg_root_open(NULL, 0, &r, NULL) < 0)
                return 2;
        int ok = strcmp(cg_root_path(r), want) == 0;
        cg_root_free(r);
        return ok ? 0 : 3;
}

Test(cgroups, null_root_is_our_own_cgroup)
{
        T_REQUIRE_ROOT();
        /* A process living in <root>/daemon (as under systemd's Delegate=yes) opens
         * that cgroup as its root. */
        char p[1024];
        snprintf(p, sizeof(p), "%s/daemon", t_root_path);
        cr_assert_eq(mkdir(p, 0755), 0);
        int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        struct t_child c = t_spawn(fd, child_open_own_root, p);
        cr_assert_eq(t_wait(&c), 0, "cg_root_open(NULL) in %s", p);
        close(fd);
}
