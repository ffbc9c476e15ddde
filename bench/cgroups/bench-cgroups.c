/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a sandbox's cgroup costs on the start and stop paths, against the floor of
 * a bare mkdir + rmdir of one cgroup directory measured in the same run.  Prints
 * one markdown section (scripts/run-bench.sh splices it into docs/benchmarks.md).
 *
 * Runs under a temporary root below the cgroup2 mount (/sys/fs/cgroup/unified on
 * the hybrid hosts), removed afterwards.  Needs root.
 */
#include <sys/wait.h>

#include "cgroups/cgroups.h"
#include "common/syscall.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define N 400

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

struct result {
        const char *what;
        double p50, p99; /* µs */
};

static struct result summarize(const char *what, uint64_t *ns, int n)
{
        qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
        return (struct result){what, ns[n / 2] / 1000.0, ns[(n * 99) / 100] / 1000.0};
}

static void die(const char *what, const struct sbx_error *err)
{
        fprintf(stderr, "bench-cgroups: %s: %s\n", what, err ? err->message : strerror(errno));
        exit(1);
}

static pid_t spawn_sleeper(int cgfd)
{
        struct clone_args a = {
                .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgfd};
        pid_t pid = sbx_clone3(&a, sizeof(a));
        if (pid == 0) {
                for (;;)
                        pause();
        }
        if (pid < 0)
                die("clone3", NULL);
        return pid;
}

int main(void)
{
        static const char *const parents[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
        const char *parent = NULL;
        struct sbx_error err = {};
        char root_path[256], p[512];
        static uint64_t t[N];
        struct result res[10];
        int nres = 0;

        for (size_t i = 0; i < 2 && !parent; i++) {
                struct statfs s;
                if (statfs(parents[i], &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
                        parent = parents[i];
        }
        if (!parent || geteuid() != 0) {
                printf("### cgroups\n\nNot measured: needs root and a cgroup2 mount.\n");
                return 0;
        }
        snprintf(root_path, sizeof(root_path), "%s/sbx-bench-%d", parent, (int)getpid());
        struct cg_root *r = NULL;
        if (cg_root_open(root_path, CG_ROOT_CREATE, &r, &err) < 0)
                die("cg_root_open", &err);

        /* Anchor: one bare cgroup directory made and removed. */
        for (int i = 0; i < N; i++) {
                uint64_t a = sbx_now_monotonic_ns();
                snprintf(p, sizeof(p), "%s/x", root_path);
                if (mkdir(p, 0755) < 0 || rmdir(p) < 0)
                        die("mkdir/rmdir", NULL);
                t[i] = sbx_now_monotonic_ns() - a;
        }
        res[nres++] = summarize("anchor: mkdir + rmdir of one cgroup", t, N);
        double floor_us = res[0].p50;

        static const struct {
                const char *what;
                unsigned flags;
                bool new_rules;
        } kinds[] = {
                {"create + remove, no device program", CG_NO_DEVICES, false},
                {"create + remove, default device program (cached after the first)", 0, false},
                {"create + remove, a new rule list each time (BPF_PROG_LOAD + attach)", 0, true},
        };
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                for (int i = 0; i < N; i++) {
                        struct cg_sandbox *sb = NULL;
                        struct cg_resources *cr = NULL;
                        if (cg_resources_parse(NULL, &cr, &err) < 0)
                                die("parse", &err);
                        if (kinds[k].new_rules &&
                            cg_resources_add_device_rule(cr, 'c', 10, i, "rw", true, &err) < 0)
                                die("rule", &err);
                        uint64_t a = sbx_now_monotonic_ns();
                        if (cg_sandbox_create(r, "bench", "sb", cr, kinds[k].flags, &sb, &err) <
                                    0 ||
                            cg_sandbox_remove(sb, &err) < 0)
                                die("create/remove", &err);
                        t[i] = sbx_now_monotonic_ns() - a;
                        cg_sandbox_free(sb);
                        cg_resources_free(cr);
                }
                res[nres++] = summarize(kinds[k].what, t, N);
        }

        /* Stop path: one sleeping process; cgroup.kill until "populated 0" (EPOLLPRI). */
        for (int i = 0; i < N / 4; i++) {
                struct cg_sandbox *sb = NULL;
                if (cg_sandbox_create(r, "bench", "kill", NULL, CG_NO_DEVICES, &sb, &err) < 0)
                        die("create", &err);
                pid_t pid = spawn_sleeper(cg_sandbox_init_fd(sb));
                /* The kernel sends at most one cgroup.events notification per 10 ms per
                 * file (CGROUP_FILE_NOTIFY_MIN_INTV): let "populated 1" age first, as it
                 * has in any sandbox that ran for a while. */
                usleep(15000);
                uint64_t a = sbx_now_monotonic_ns();
                if (cg_sandbox_kill(sb, &err) < 0 || cg_sandbox_wait_empty(sb, 10000, &err) < 0)
                        die("kill", &err);
                t[i] = sbx_now_monotonic_ns() - a;
                waitpid(pid, NULL, 0);
                if (cg_sandbox_remove(sb, &err) < 0)
                        die("remove", &err);
                cg_sandbox_free(sb);
        }
        res[nres++] = summarize("cgroup.kill → populated 0 seen, 1 process", t, N / 4);

        struct cg_sandbox *sb = NULL;
        if (cg_sandbox_create(r, "bench", "freeze", NULL, CG_NO_DEVICES, &sb, &err) < 0)
                die("create", &err);
        pid_t pid = spawn_sleeper(cg_sandbox_init_fd(sb));
        for (int i = 0; i < N / 4; i++) {
                uint64_t a = sbx_now_monotonic_ns();
                if (cg_sandbox_freeze(sb, 10000, &err) < 0 || cg_sandbox_thaw(sb, 10000, &err) < 0)
                        die("freeze/thaw", &err);
                t[i] = sbx_now_monotonic_ns() - a;
        }
        res[nres++] = summarize("freeze + thaw (frozen 1 / 0 seen), 1 process", t, N / 4);
        struct cg_stats st;
        for (int i = 0; i < N; i++) {
                uint64_t a = sbx_now_monotonic_ns();
                if (cg_sandbox_stats(sb, &st, &err) < 0)
                        die("stats", &err);
                t[i] = sbx_now_monotonic_ns() - a;
        }
        res[nres++] = summarize("cg_sandbox_stats (what the host's controllers offer)", t, N);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        (void)cg_sandbox_wait_empty(sb, 10000, &err);
        (void)cg_sandbox_remove(sb, &err);
        cg_sandbox_free(sb);

        cg_root_free(r);
        snprintf(p, sizeof(p), "%s/sandboxes", root_path);
        rmdir(p);
        rmdir(root_path);

        printf("### cgroups (cgroups/)\n\n");
        printf("Host: `%s`, %d iterations (kill and freeze: %d). Times in µs; ratio = p50 / "
               "the anchor's p50.\n\n",
               parent, N, N / 4);
        printf("| operation | p50 µs | p99 µs | × anchor |\n| --- | --- | --- | --- |\n");
        for (int i = 0; i < nres; i++)
                printf("| %s | %.1f | %.1f | %.1f |\n", res[i].what, res[i].p50, res[i].p99,
                       res[i].p50 / floor_us);
        printf("\n");
        return 0;
}
