/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iso_spawn(): one clone3 with every new namespace, CLONE_PIDFD and
 * CLONE_INTO_CGROUP; the parent writes user namespace maps and reads the
 * child's report on the sync socket (sync-internal.h) until EOF.
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/syscall.h" /* after <sys/wait.h>: P_PIDFD */

void iso_process_release(struct iso_process *p)
{
        if (!p)
                return;
        p->pidfd = safe_close(p->pidfd);
}

static const char *step_name(int step)
{
        switch (step) {
        case ISO_STEP_SYNC:
                return "waiting for the user namespace maps";
        case ISO_STEP_SETNS:
                return "setns";
        case ISO_STEP_STDIO:
                return "setting up stdio";
        case ISO_STEP_LOOPBACK:
                return "bringing up lo";
        case ISO_STEP_PROPAGATION:
                return "making mounts private";
        case ISO_STEP_ROOT_READONLY:
                return "making the root read-only";
        case ISO_STEP_DEVICES:
                return "creating /dev nodes";
        case ISO_STEP_HOSTNAME:
                return "sethostname";
        case ISO_STEP_OOM_SCORE_ADJ:
                return "writing oom_score_adj";
        case ISO_STEP_GROUPS:
                return "setgroups";
        case ISO_STEP_GID:
                return "setresgid";
        case ISO_STEP_UID:
                return "setresuid";
        case ISO_STEP_BOUNDING:
                return "dropping from the bounding set";
        case ISO_STEP_CAPS:
                return "capset";
        case ISO_STEP_AMBIENT:
                return "raising ambient capabilities";
        case ISO_STEP_NO_NEW_PRIVS:
                return "setting no_new_privs";
        case ISO_STEP_SECCOMP:
                return "loading the seccomp filter";
        case ISO_STEP_EXEC_INIT:
                return "executing sandbox-init";
        case ISO_STEP_INIT:
                return "sandbox-init";
        default:
                return "sandbox setup";
        }
}

int iso_child_error(const struct iso_config *c, const struct iso_proc *proc,
                    const struct iso_sync_msg *m, struct sbx_error *err)
{
        int e = m->error > 0 ? m->error : EIO;
        size_t i = m->index >= 0 ? (size_t)m->index : 0;
        const char *errs = strerror(e);
        const struct iso_mount *mnt = i < c->n_mounts ? &c->mounts[i] : NULL;

        switch (m->step) {
        case ISO_STEP_ROOT:
                return sbx_fail(err, -e, "pivot_root into %s: %s", c->root, errs);
        case ISO_STEP_PIVOT:
                return sbx_fail(err, -e, "pivot_root into %s: %s", c->root, errs);
        case ISO_STEP_MOUNT_RESOLVE:
                if (!mnt)
                        break;
                if (e == EXDEV)
                        return sbx_fail(err, -EINVAL,
                                        "mounts[%zu].destination %s: resolves outside the root", i,
                                        mnt->destination);
                return sbx_fail(err, -e, "mounts[%zu].destination %s: %s", i, mnt->destination,
                                errs);
        case ISO_STEP_MOUNT_MKDIR:
                if (!mnt)
                        break;
                return sbx_fail(err, -e, "mount on %s: creating the mount point: %s",
                                mnt->destination, errs);
        case ISO_STEP_MOUNT:
        case ISO_STEP_MOUNT_FLAGS:
                if (!mnt)
                        break;
                return sbx_fail(err, -e, "mount %s on %s%s: %s", mnt->source ?: mnt->fstype,
                                mnt->destination, m->step == ISO_STEP_MOUNT_FLAGS ? " (flags)" : "",
                                errs);
        case ISO_STEP_SYSCTL:
                if (i < c->n_sysctls)
                        return sbx_fail(err, -e, "sysctl %s: %s", c->sysctls[i].key, errs);
                break;
        case ISO_STEP_MASK:
                if (i < c->n_masked)
                        return sbx_fail(err, -e, "masking %s: %s", c->masked[i], errs);
                break;
        case ISO_STEP_READONLY_PATH:
                if (i < c->n_readonly)
                        return sbx_fail(err, -e, "making %s read-only: %s", c->readonly[i], errs);
                break;
        case ISO_STEP_RLIMIT:
                return sbx_fail(err, -e, "process.rlimits[%zu]: setrlimit: %s", i, errs);
        case ISO_STEP_CWD:
                return sbx_fail(err, -e, "chdir to %s: %s", proc->cwd, errs);
        case ISO_STEP_EXEC:
                return sbx_fail(err, -e, "exec %s: %s", proc->args ? proc->args[0] : "(none)",
                                errs);
        case ISO_STEP_SETNS:
                if (i < c->n_joins)
                        return sbx_fail(err, -e, "setns %s: %s", c->joins[i].path, errs);
                break;
        }
        return sbx_fail(err, -e, "%s: %s", step_name(m->step), errs);
}

static int write_map(pid_t pid, const char *file, const char *map, struct sbx_error *err)
{
        char path[64];
        _cleanup_close_ int fd = -EBADF;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
                return sbx_fail_errno(err, -errno, "writing %s", path);
        return 0;
}

static int last_cap(void)
{
        static int last = -1;

        if (last < 0)
                last = (int)cap_max_bits() - 1;
        return last;
}

/* Reads the reports until EOF.  Returns 0 when sandbox-init (or, with needs_init false,
 * the task's exec) ran, or the error. */
static int read_reports(int fd, const struct iso_config *c, const struct iso_proc *proc,
                        bool needs_init, struct sbx_error *err)
{
        bool started = false, failed = false;
        struct iso_sync_msg m;
        ssize_t n;
        int r = 0;

        for (;;) {
                n = recv(fd, &m, sizeof(m), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return sbx_fail_errno(err, -errno, "reading the sandbox's report");
                if (n == 0)
                        break;
                if (n != sizeof(m))
                        return sbx_fail(err, -EIO, "sandbox setup: malformed report");
                if (m.step == ISO_STEP_INIT_STARTED)
                        started = true;
                else if (!failed) {
                        failed = true;
                        r = iso_child_error(c, proc, &m, err);
                }
        }
        if (failed)
                return r;
        if (needs_init && !started)
                return sbx_fail(err, -ECHILD,
                                "sandbox setup: the child died before executing "
                                "sandbox-init");
        return 0;
}

static void kill_and_reap(int pidfd)
{
        siginfo_t si;

        sbx_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
}

struct spawn_fds {
        int sp[2];
        int io[3];
        int *joins;
        size_t n_joins;
        char **argv;
};

static void spawn_fds_done(struct spawn_fds *f)
{
        safe_close(f->sp[0]);
        safe_close(f->sp[1]);
        for (int i = 0; i < 3; i++)
                safe_close(f->io[i]);
        for (size_t i = 0; i < f->n_joins; i++)
                safe_close(f->joins[i]);
        free(f->joins);
        free(f->argv);
}

static int spawn_prepare(const struct iso_config *c, const struct iso_spawn_opts *o,
                         char *const *args, struct spawn_fds *f, struct sbx_error *err)
{
        const int want[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
        size_t n = 0;

        *f = (struct spawn_fds){.sp = {-EBADF, -EBADF}, .io = {-EBADF, -EBADF, -EBADF}};
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sp) < 0)
                return sbx_fail_errno(err, -errno, "socketpair");
        for (int i = 0; i < 3; i++) {
                f->io[i] = want[i] >= 0 ? fcntl(want[i], F_DUPFD_CLOEXEC, 3)
                                        : open("/dev/null", O_RDWR | O_CLOEXEC);
                if (f->io[i] < 0)
                        return sbx_fail_errno(err, -errno, "stdio fd %d", i);
        }
        f->joins = calloc(c->n_joins + 1, sizeof(int));
        if (!f->joins)
                return sbx_fail(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < c->n_joins; i++) {
                f->joins[i] = open(c->joins[i].path, O_RDONLY | O_CLOEXEC);
                if (f->joins[i] < 0)
                        return sbx_fail_errno(err, -errno, "namespace %s", c->joins[i].path);
                f->n_joins++;
        }
        while (args && args[n])
                n++;
        f->argv = calloc(n + 2, sizeof(char *));
        if (!f->argv)
                return sbx_fail(err, -ENOMEM, "out of memory");
        f->argv[0] = (char *)"sandbox-init";
        for (size_t i = 0; i < n; i++)
                f->argv[i + 1] = args[i];
        return 0;
}

int iso_spawn(const struct iso_config *c, const struct iso_spawn_opts *o,
              struct iso_process *ret_process, struct sbx_error *err)
{
        struct iso_spawn_opts dflt = ISO_SPAWN_OPTS_INIT;
        _cleanup_close_ int own_pidns = -EBADF;
        struct spawn_fds f;
        int pidfd = -1, init_fd, r;
        pid_t pid;

        if (!o)
                o = &dflt;
        init_fd = iso_init_memfd(err);
        if (init_fd < 0)
                return init_fd;
        r = spawn_prepare(c, o, o->args ?: c->proc.args, &f, err);
        if (r < 0)
                goto out;

        struct iso_child_ctx ctx = {
                .sync_fd = f.sp[1],
                .init_fd = init_fd,
                .stdio = {f.io[0], f.io[1], f.io[2]},
                .join_fds = f.joins,
                .init_argv = f.argv,
                .last_cap = last_cap(),
        };
        struct iso_proc proc = c->proc;
        if (o->args)
                proc.args = (char **)o->args;
        struct clone_args ca = {
                .flags = c->ns_new | CLONE_PIDFD | (o->cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = o->cgroup_fd >= 0 ? (uint64_t)o->cgroup_fd : 0,
        };

        /* A pid namespace given by path is entered by children only: switch our
         * pid_for_children to it for this one clone3, and back. */
        for (size_t i = 0; i < c->n_joins; i++)
                if (c->joins[i].flag == CLONE_NEWPID) {
                        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                        if (own_pidns < 0) {
                                r = sbx_fail_errno(err, -errno, "opening /proc/self/ns/pid");
                                goto out;
                        }
                        if (setns(f.joins[i], CLONE_NEWPID) < 0) {
                                r = sbx_fail_errno(err, -errno, "setns %s", c->joins[i].path);
                                goto out;
                        }
                }
        pid = sbx_clone3(&ca, sizeof(ca));
        if (pid == 0)
                iso_child_main(c, &proc, &ctx);
        if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0)
                abort(); /* cannot happen: our own pid namespace is always enterable */
        if (pid < 0) {
                r = sbx_fail_errno(err, -errno, "clone3");
                goto out;
        }

        f.sp[1] = safe_close(f.sp[1]);
        if (c->ns_new & CLONE_NEWUSER) {
                struct iso_sync_msg go = {.step = ISO_STEP_GO};

                r = write_map(pid, "uid_map", c->uid_map, err);
                if (r >= 0)
                        r = write_map(pid, "gid_map", c->gid_map, err);
                if (r >= 0 && send(f.sp[0], &go, sizeof(go), MSG_NOSIGNAL) < 0)
                        r = sbx_fail_errno(err, -errno, "sync with the sandbox");
                if (r < 0) {
                        kill_and_reap(pidfd);
                        close(pidfd);
                        goto out;
                }
        }
        r = read_reports(f.sp[0], c, &proc, true, err);
        if (r < 0) {
                kill_and_reap(pidfd);
                close(pidfd);
                goto out;
        }
        *ret_process = (struct iso_process){.pid = pid, .pidfd = pidfd};
        r = 0;
out:
        spawn_fds_done(&f);
        return r;
}

int iso_spawn_task(const struct iso_process *sandbox_init, const struct iso_config *sandbox,
                   const struct iso_task_config *task, const struct iso_spawn_opts *o,
                   struct iso_process *ret_process, struct sbx_error *err)
{
        struct iso_spawn_opts dflt = ISO_SPAWN_OPTS_INIT;
        _cleanup_close_ int own_pidns = -EBADF;
        struct iso_config tc = *sandbox;
        struct spawn_fds f;
        int pidfd = -1, r, join;
        pid_t pid;

        if (!o)
                o = &dflt;
        /* The task enters every namespace of the sandbox through the init's pidfd
         * (setns(2) with a pidfd: Linux 5.8); nothing is created or mounted. */
        join = (int)(iso_config_namespaces(sandbox) &
                     (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP |
                      CLONE_NEWUSER | CLONE_NEWTIME));
        tc.ns_new = 0;
        tc.n_joins = 0;
        r = spawn_prepare(&tc, o, NULL, &f, err);
        if (r < 0)
                goto out;
        /* A pid namespace is entered by children only: switch our pid_for_children to
         * the sandbox's for the one clone3, and back. */
        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0) {
                r = sbx_fail_errno(err, -errno, "opening /proc/self/ns/pid");
                goto out;
        }
        if ((iso_config_namespaces(sandbox) & CLONE_NEWPID) &&
            setns(sandbox_init->pidfd, CLONE_NEWPID) < 0) {
                r = sbx_fail_errno(err, -errno, "entering the sandbox's pid namespace");
                goto out;
        }
        struct iso_child_ctx ctx = {
                .sync_fd = f.sp[1],
                .init_fd = f.sp[1], /* unused for tasks */
                .stdio = {f.io[0], f.io[1], f.io[2]},
                .join_fds = &f.sp[1],
                .last_cap = last_cap(),
                .task = true,
                .task_pidfd = sandbox_init->pidfd,
                .task_join = join,
        };
        struct clone_args ca = {
                .flags = CLONE_PIDFD | (o->cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = o->cgroup_fd >= 0 ? (uint64_t)o->cgroup_fd : 0,
        };
        pid = sbx_clone3(&ca, sizeof(ca));
        if (pid == 0)
                iso_child_main(&tc, &task->proc, &ctx);
        if (pid < 0)
                r = sbx_fail_errno(err, -errno, "clone3");
        if ((iso_config_namespaces(sandbox) & CLONE_NEWPID) && setns(own_pidns, CLONE_NEWPID) < 0)
                abort(); /* cannot happen: our own pid namespace is always enterable */
        if (pid < 0)
                goto out;
        f.sp[1] = safe_close(f.sp[1]);
        r = read_reports(f.sp[0], &tc, &task->proc, false, err);
        if (r < 0) {
                kill_and_reap(pidfd);
                close(pidfd);
                goto out;
        }
        *ret_process = (struct iso_process){.pid = pid, .pidfd = pidfd};
        r = 0;
out:
        spawn_fds_done(&f);
        return r;
}

int iso_netns_bind(const struct iso_process *p, const char *path, struct sbx_error *err)
{
        char src[64];
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);

        if (fd < 0)
                return sbx_fail_errno(err, -errno, "creating %s", path);
        /* Check the pid still names p (pids are reused; pidfds are not). */
        if (sbx_pidfd_send_signal(p->pidfd, 0, NULL, 0) < 0)
                return sbx_fail_errno(err, -errno, "sandbox process %d", (int)p->pid);
        snprintf(src, sizeof(src), "/proc/%d/ns/net", (int)p->pid);
        if (mount(src, path, NULL, MS_BIND, NULL) < 0)
                return sbx_fail_errno(err, -errno, "bind-mounting %s on %s", src, path);
        return 0;
}

int iso_ns_inodes(pid_t pid, struct iso_ns_inodes *ret)
{
        static const char *const names[] = {"pid", "mnt",    "uts",  "ipc",
                                            "net", "cgroup", "user", "time"};
        uint64_t *fields[] = {&ret->pid, &ret->mnt,    &ret->uts,  &ret->ipc,
                              &ret->net, &ret->cgroup, &ret->user, &ret->time};
        char path[64];
        struct stat st;
        int found = 0;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, names[i]);
                *fields[i] = stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
                found += *fields[i] != 0;
        }
        return found ? 0 : -ESRCH;
}
