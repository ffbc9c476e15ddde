/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by tests/unit/test-cgroups*.c: a temporary cgroup root of our own
 * (sbx-test-PID below the cgroup2 mount: /sys/fs/cgroup/unified on the hybrid
 * hosts, /sys/fs/cgroup in the VM), removed after each test, and children born
 * into a cgroup with clone3(CLONE_INTO_CGROUP).
 *
 * Children report only through their exit code (a criterion assertion in a child
 * would hang the runner).
 */

/* <sys/wait.h> before common/syscall.h: glibc defines P_PIDFD as an enum there. */
#include <sys/wait.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/syscall.h"
#include "common/util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static char t_root_path[512];
static struct cg_root *t_root;
static const char *t_skip_reason;

static inline const char *t_cgroup2_parent(void)
{
        static const char *const cands[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
        for (size_t i = 0; i < ELEMENTSOF(cands); i++) {
                struct statfs s;
                if (statfs(cands[i], &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
                        return cands[i];
        }
        return NULL;
}

/* Removes every cgroup below path (depth first) after killing what lives there. */
static inline void t_rmdir_tree(const char *path)
{
        char p[1024];
        snprintf(p, sizeof(p), "%s/cgroup.kill", path);
        int fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void)!write(fd, "1", 1);
                close(fd);
        }
        DIR *d = opendir(path);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                        t_rmdir_tree(p);
                }
        closedir(d);
        /* Killed processes take a moment to leave; rmdir fails with EBUSY until then. */
        for (int i = 0; i < 2000 && rmdir(path) < 0 && errno == EBUSY; i++)
                usleep(1000);
}

static inline void t_setup(void)
{
        const char *parent = t_cgroup2_parent();
        struct sbx_error err = {};

        if (geteuid() != 0) {
                t_skip_reason = "needs root";
                return;
        }
        if (!parent) {
                t_skip_reason = "no cgroup2 mount at /sys/fs/cgroup/unified or /sys/fs/cgroup";
                return;
        }
        snprintf(t_root_path, sizeof(t_root_path), "%s/sbx-test-%d", parent, (int)getpid());
        t_rmdir_tree(t_root_path);
        if (cg_root_open(t_root_path, CG_ROOT_CREATE, &t_root, &err) < 0) {
                t_skip_reason = "cannot create a temporary cgroup root";
                fprintf(stderr, "cg_root_open(%s): %s\n", t_root_path, err.message);
                return;
        }
        /* Orphans of our children come back to us, so we can reap them. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static inline void t_teardown(void)
{
        cg_root_free(t_root);
        t_root = NULL;
        if (t_root_path[0])
                t_rmdir_tree(t_root_path);
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

/* criterion does not run .fini for a skipped test: clean up first. */
#define T_SKIP(...)                        \
        do {                               \
                t_teardown();              \
                cr_skip_test(__VA_ARGS__); \
        } while (0)

#define T_REQUIRE_ROOT()                                                 \
        do {                                                             \
                if (t_skip_reason) {                                     \
                        fprintf(stderr, "skipped: %s\n", t_skip_reason); \
                        T_SKIP("%s", t_skip_reason);                     \
                }                                                        \
        } while (0)

/* Nothing may be left under <root>/sandboxes after a test removed its sandboxes. */
static inline void t_assert_nothing_left(void)
{
        char p[1024];
        snprintf(p, sizeof(p), "%s/sandboxes", t_root_path);
        DIR *d = opendir(p);
        if (!d)
                return;
        struct dirent *de;
        int n = 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && de->d_type == DT_DIR) {
                        cr_log_error("left behind: %s/%s", p, de->d_name);
                        n++;
                }
        closedir(d);
        cr_assert_eq(n, 0, "%d cgroup(s) left under %s", n, p);
}

struct t_child {
        pid_t pid;
        int pidfd;
};

/* Starts fn(arg) in a child born in the cgroup cgfd; its exit code is fn's return. */
static inline struct t_child t_spawn(int cgfd, int (*fn)(void *), void *arg)
{
        int pidfd = -1;
        struct clone_args a = {
                .flags = CLONE_PIDFD | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t)(cgfd >= 0 ? cgfd : 0),
        };
        pid_t pid = sbx_clone3(&a, sizeof(a));
        if (pid == 0)
                _exit(fn(arg));
        cr_assert_gt(pid, 0, "clone3: %s", strerror(errno));
        return (struct t_child){.pid = pid, .pidfd = pidfd};
}

/* Waits for the child; returns its wait status as a shell shows it (code, 128+sig). */
static inline int t_wait(struct t_child *c)
{
        siginfo_t si = {};
        int k;
        do
                k = waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED);
        while (k < 0 && errno == EINTR);
        cr_assert_eq(k, 0, "waitid: %s", strerror(errno));
        close(c->pidfd);
        c->pidfd = -1;
        return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static inline int t_read_file(const char *dir, const char *file, char *buf, size_t size)
{
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, file);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

static inline bool t_root_has_controller(const char *name)
{
        char buf[512], *save = NULL;
        if (t_read_file(t_root_path, "cgroup.controllers", buf, sizeof(buf)) < 0)
                return false;
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
                if (strcmp(t, name) == 0)
                        return true;
        return false;
}

/* Parses a JSON text into linux.resources. */
static inline struct cg_resources *t_resources(const char *json)
{
        json_error_t jerr;
        struct sbx_error err = {};
        struct cg_resources *res = NULL;
        json_t *j = json ? json_loads(json, 0, &jerr) : NULL;
        if (json)
                cr_assert_not_null(j, "bad test JSON: %s", jerr.text);
        cr_assert_eq(cg_resources_parse(j, &res, &err), 0, "%s", err.message);
        json_decref(j);
        return res;
}
