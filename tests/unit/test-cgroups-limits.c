/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Limits enforced on real processes: memory.max (OOM kill counted), pids.max (a
 * fork loop stops), cpu.max (throttling counted), cpu.weight and cpuset values.
 * These need the memory/pids/cpu/cpuset controllers on cgroup v2, which the hybrid
 * hosts do not have: there every test skips with the library's own
 * FailedPrecondition message; tests/vm/ runs them in a guest with pure cgroup v2.
 */
#include "test-cgroups-util.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

TestSuite(cgroups_limits, .init = t_setup, .fini = t_teardown);

/* Creates the sandbox, or skips the test when the host lacks a controller. */
static struct cg_sandbox *create_or_skip(const char *id, const char *json)
{
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        struct cg_resources *res = t_resources(json);
        int k = cg_sandbox_create(t_root, "lim", id, res, CG_ACCOUNTING, &sb, &err);
        cg_resources_free(res);
        if (k == -EBUSY) {
                T_SKIP("%s", err.message);
        }
        cr_assert_eq(k, 0, "%s", err.message);
        return sb;
}

static void finish(struct cg_sandbox *sb)
{
        struct sbx_error err = {};
        cr_assert_eq(cg_sandbox_kill(sb, &err), 0, "%s", err.message);
        cr_assert_eq(cg_sandbox_wait_empty(sb, 60000, &err), 0, "%s", err.message);
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        cr_assert_eq(cg_sandbox_remove(sb, &err), 0, "%s", err.message);
        cg_sandbox_free(sb);
        t_assert_nothing_left();
}

static void assert_file(struct cg_sandbox *sb, const char *file, const char *want)
{
        char buf[256];
        cr_assert_eq(t_read_file(cg_sandbox_path(sb), file, buf, sizeof(buf)), 0, "read %s", file);
        cr_assert_str_eq(buf, want, "%s", file);
}

static int child_hog_memory(void *arg)
{
        /* Touch 256 MiB, 1 MiB at a time; memory.max stops us long before. */
        for (int i = 0; i < 256; i++) {
                char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               -1, 0);
                if (p == MAP_FAILED)
                        return 2;
                memset(p, 0x5a, 1 << 20);
        }
        return 0; /* not killed: the limit did not hold */
}

Test(cgroups_limits, memory_max_oom_kills_and_events_count_it)
{
        T_REQUIRE_ROOT();
        /* swap == limit: no swap on top (memory.swap.max 0). */
        struct cg_sandbox *sb =
                create_or_skip("mem", "{\"memory\": {\"limit\": 33554432, \"swap\": 33554432, "
                                      "\"reservation\": 1048576}}");
        assert_file(sb, "memory.max", "33554432");
        assert_file(sb, "memory.low", "1048576");
        char buf[64];
        if (t_read_file(cg_sandbox_path(sb), "memory.swap.max", buf, sizeof(buf)) == 0)
                cr_assert_str_eq(buf, "0");

        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_hog_memory, NULL);
        cr_assert_eq(t_wait(&c), 128 + SIGKILL, "the hog was OOM-killed");

        struct sbx_error err = {};
        struct cg_stats s;
        cr_assert_eq(cg_sandbox_stats(sb, &s, &err), 0, "%s", err.message);
        cr_assert(s.present & CG_STATS_MEMORY);
        cr_assert_geq(s.memory.oom_kill, 1, "memory.events oom_kill counts it");
        cr_assert_geq(s.memory.oom, 1);
        cr_assert_geq(s.memory.max, 1, "memory.events max counts hits of the limit");
        if (s.present & CG_STATS_MEMORY_PEAK) {
                cr_assert_gt(s.memory.peak, 16u << 20, "peak %lu", (unsigned long)s.memory.peak);
                cr_assert_leq(s.memory.peak, 32u << 20, "peak within memory.max");
        }
        cr_log_info("memory: current %lu peak %lu oom %lu oom_kill %lu max %lu",
                    (unsigned long)s.memory.current, (unsigned long)s.memory.peak,
                    (unsigned long)s.memory.oom, (unsigned long)s.memory.oom_kill,
                    (unsigned long)s.memory.max);
        finish(sb);
}

static int child_fork_loop(void *arg)
{
        /* Fork until the kernel says no; exit with how many children we got. */
        for (int n = 0; n < 100; n++) {
                pid_t p = fork();
                if (p == 0) {
                        for (;;)
                                pause();
                }
                if (p < 0)
                        return errno == EAGAIN ? n : 200;
        }
        return 201;
}

Test(cgroups_limits, pids_max_stops_a_fork_loop)
{
        T_REQUIRE_ROOT();
        struct cg_sandbox *sb = create_or_skip("pids", "{\"pids\": {\"limit\": 8}}");
        assert_file(sb, "pids.max", "8");
        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_fork_loop, NULL);
        cr_assert_eq(t_wait(&c), 7, "the loop got 7 children besides itself, then EAGAIN");

        struct sbx_error err = {};
        struct cg_stats s;
        cr_assert_eq(cg_sandbox_stats(sb, &s, &err), 0, "%s", err.message);
        cr_assert(s.present & CG_STATS_PIDS);
        cr_assert_eq(s.pids.current, 7, "the 7 children still live");
        if (s.present & CG_STATS_PIDS_PEAK)
                cr_assert_eq(s.pids.peak, 8);
        char ev[128];
        cr_assert_eq(t_read_file(cg_sandbox_path(sb), "pids.events", ev, sizeof(ev)), 0);
        cr_assert_str_neq(ev, "max 0", "pids.events counts the refused fork");
        finish(sb);
}

static int child_spin(void *arg)
{
        volatile uint64_t n = 0;
        for (;;)
                n++;
        return 0;
}

Test(cgroups_limits, cpu_max_throttles)
{
        T_REQUIRE_ROOT();
        struct cg_sandbox *sb =
                create_or_skip("cpumax", "{\"cpu\": {\"quota\": 1000, \"period\": 10000}}");
        assert_file(sb, "cpu.max", "1000 10000");
        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_spin, NULL);

        struct sbx_error err = {};
        struct cg_stats s;
        uint64_t deadline = sbx_now_monotonic_ns() + 60 * NSEC_PER_SEC;
        do {
                usleep(10000);
                cr_assert_eq(cg_sandbox_stats(sb, &s, &err), 0, "%s", err.message);
                cr_assert(s.present & CG_STATS_CPU_THROTTLE);
                cr_assert_lt(sbx_now_monotonic_ns(), deadline, "never throttled");
        } while (s.cpu.nr_throttled < 3);
        cr_assert_gt(s.cpu.nr_periods, 0);
        /* throttled_usec is not asserted: the kernel adds a period's throttled time
         * only when that cfs_rq is unthrottled, so it may still read 0 here. */
        cr_log_info("cpu: usage %lu periods %lu throttled %lu (%lu usec)",
                    (unsigned long)s.cpu.usage_usec, (unsigned long)s.cpu.nr_periods,
                    (unsigned long)s.cpu.nr_throttled, (unsigned long)s.cpu.throttled_usec);
        finish(sb);
        (void)c;
}

static int child_affinity(void *arg)
{
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) < 0)
                return 2;
        return CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set) ? 0 : 3;
}

Test(cgroups_limits, cpu_weight_cpuset_and_friends_land)
{
        T_REQUIRE_ROOT();
        struct cg_sandbox *sb = create_or_skip(
                "weights", "{\"cpu\": {\"shares\": 1024, \"cpus\": \"0\", \"mems\": \"0\", "
                           "\"quota\": -1, \"period\": 50000},"
                           " \"memory\": {\"limit\": -1, \"swap\": -1},"
                           " \"pids\": {\"limit\": -1},"
                           " \"unified\": {\"memory.high\": \"100000000\"}}");
        assert_file(sb, "cpu.weight", "100");
        assert_file(sb, "cpuset.cpus", "0");
        assert_file(sb, "cpuset.mems", "0");
        assert_file(sb, "cpu.max", "max 50000");
        assert_file(sb, "memory.max", "max");
        assert_file(sb, "pids.max", "max");
        assert_file(sb, "memory.high", "99999744"); /* rounded down to pages */
        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_affinity, NULL);
        cr_assert_eq(t_wait(&c), 0, "the init leaf is confined to cpu 0");
        finish(sb);

        sb = create_or_skip("weights2", "{\"cpu\": {\"shares\": 262144}}");
        assert_file(sb, "cpu.weight", "10000");
        finish(sb);
        sb = create_or_skip("weights3", "{\"cpu\": {\"shares\": 2}}");
        assert_file(sb, "cpu.weight", "1");
        finish(sb);
}

Test(cgroups_limits, hugetlb_limit_lands)
{
        T_REQUIRE_ROOT();
        struct cg_sandbox *sb = create_or_skip(
                "huge", "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}]}");
        assert_file(sb, "hugetlb.2MB.max", "4194304");
        finish(sb);
}

Test(cgroups_limits, bad_value_is_invalid_argument_and_leaves_nothing)
{
        T_REQUIRE_ROOT();
        if (!t_root_has_controller("cpuset"))
                T_SKIP("cpuset controller not available here");
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        struct cg_resources *res = t_resources("{\"cpu\": {\"cpus\": \"4000\"}}");
        cr_assert_eq(cg_sandbox_create(t_root, "lim", "badcpu", res, 0, &sb, &err), -EINVAL, "%s",
                     err.message);
        cr_assert(strstr(err.message, "cpuset.cpus"), "%s", err.message);
        cg_resources_free(res);
        t_assert_nothing_left();
}

/* Runs everywhere: each limit either lands or is refused naming its controller. */
Test(cgroups_limits, each_limit_lands_or_names_its_controller)
{
        T_REQUIRE_ROOT();
        static const struct {
                const char *ctrl, *json, *file, *want;
        } cases[] = {
                {"memory", "{\"memory\": {\"limit\": 8388608}}", "memory.max", "8388608"},
                {"pids", "{\"pids\": {\"limit\": 5}}", "pids.max", "5"},
                {"cpu", "{\"cpu\": {\"shares\": 512}}", "cpu.weight", "59"},
                {"cpuset", "{\"cpu\": {\"cpus\": \"0\"}}", "cpuset.cpus", "0"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct sbx_error err = {};
                struct cg_sandbox *sb = NULL;
                struct cg_resources *res = t_resources(cases[i].json);
                int k = cg_sandbox_create(t_root, "lim", cases[i].ctrl, res, 0, &sb, &err);
                cg_resources_free(res);
                if (t_root_has_controller(cases[i].ctrl)) {
                        cr_assert_eq(k, 0, "%s", err.message);
                        assert_file(sb, cases[i].file, cases[i].want);
                        finish(sb);
                } else {
                        char want[64];
                        snprintf(want, sizeof(want), "%s controller ", cases[i].ctrl);
                        cr_assert_eq(k, -EBUSY, "%s", err.message);
                        cr_assert(strncmp(err.message, want, strlen(want)) == 0, "%s", err.message);
                        cr_assert(strstr(err.message, cases[i].file), "%s", err.message);
                }
        }
        t_assert_nothing_left();
}
