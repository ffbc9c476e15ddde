/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iso_spawn(): one clone3 with every new namespace, CLONE_PIDFD and
 * CLONE_INTO_CGROUP.  In vm mode (x86-64, no user or time namespace, not under
 * AddressSanitizer) the child is made with CLONE_VM|CLONE_VFORK on a stack in
 * our frame: no page table is copied and no page of ours becomes copy-on-write,
 * we resume exactly when the child has executed sandbox-init (or died), and its
 * report is in our memory (sync-internal.h).  Otherwise (fork mode) the child
 * is a copy of us, we write the user namespace maps while it waits, and its
 * reports come on the sync socket until EOF.
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/syscall.h" /* after <sys/wait.h>: P_PIDFD */
#include "common/util.h"

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

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
        case ISO_STEP_NETNS:
                return "entering the prepared network namespace";
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
                return "starting the process";
        case ISO_STEP_UNSHARE:
                return "creating the namespaces";
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
        static int last = -1; /* any thread may fill it in: they all write the same */
        int v = __atomic_load_n(&last, __ATOMIC_RELAXED);

        if (v < 0) {
                v = (int)cap_max_bits() - 1;
                __atomic_store_n(&last, v, __ATOMIC_RELAXED);
        }
        return v;
}

/* ---- making the child -------------------------------------------------------------------- */

enum iso_clone_mode iso_clone_mode_max = ISO_CLONE_VM;

#if defined(__SANITIZE_ADDRESS__)
#define ISO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ISO_ASAN 1
#endif
#endif

/* AddressSanitizer keeps per-thread state and shadow memory that a CLONE_VM child
 * running on a foreign stack would corrupt: fork mode there. */
#if defined(__x86_64__) && !defined(ISO_ASAN)
#define ISO_HAVE_CLONE_VM 1
/* The child starts on its own stack with no frame to return to: it calls fn(arg) and
 * exits (status 127) if fn returns.  %r8/%r9 survive the syscall (only %rcx and %r11
 * are clobbered) and are inherited by the child. */
__asm__(".text\n"
        ".globl iso_clone3_vm\n"
        ".type iso_clone3_vm, @function\n"
        "iso_clone3_vm:\n"
        "        mov %rdx, %r8\n"
        "        mov %rcx, %r9\n"
        "        mov $435, %eax\n" /* __NR_clone3 */
        "        syscall\n"
        "        test %rax, %rax\n"
        "        jz 1f\n"
        "        ret\n"
        "1:      xor %ebp, %ebp\n"
        "        and $-16, %rsp\n"
        "        mov %r9, %rdi\n"
        "        call *%r8\n"
        "        mov $127, %edi\n"
        "        mov $231, %eax\n" /* __NR_exit_group */
        "        syscall\n"
        "        hlt\n"
        ".size iso_clone3_vm, .-iso_clone3_vm\n");
#else
pid_t iso_clone3_vm(struct clone_args *args, size_t size, void (*fn)(void *), void *arg)
{
        return -ENOSYS;
}
#endif

bool iso_clone_vm_supported(void)
{
#ifdef ISO_HAVE_CLONE_VM
        return true;
#else
        return false;
#endif
}

struct child_run {
        const struct iso_config *c;
        const struct iso_proc *proc;
        const struct iso_child_ctx *ctx;
};

static void vm_child(void *arg)
{
        const struct child_run *run = arg;

        iso_child_main(run->c, run->proc, run->ctx);
}

/* The child's stack: in this frame, which is ours again only once the child has
 * executed or exited (CLONE_VFORK).  The setup, the vfork of the process and execvp's
 * path buffer fit with room to spare. */
#define ISO_CHILD_STACK (64 * 1024)

static __attribute__((noinline)) pid_t clone_vm(struct clone_args *ca, const struct child_run *run)
{
        _Alignas(64) char stack[ISO_CHILD_STACK];
        sigset_t all, old;
        pid_t pid;

        /* No handler of ours may run in the child (on its stack, in our memory): it
         * starts with every signal blocked and resets the dispositions first. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        ca->flags |= CLONE_VM | CLONE_VFORK;
        ca->stack = (uint64_t)(uintptr_t)stack;
        ca->stack_size = sizeof(stack);
        pid = iso_clone3_vm(ca, sizeof(*ca), vm_child, (void *)run);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        __asm__ volatile("" : : "r"(stack) : "memory"); /* the stack lives until here */
        if (pid < 0) {
                errno = -pid;
                return -1;
        }
        return pid;
}

/* Fork mode: reads the reports until EOF (the child and, after a joined user namespace,
 * its sibling have executed or exited). */
static int read_reports(int fd, struct iso_child_report *rep, struct sbx_error *err)
{
        struct iso_sync_msg m;
        ssize_t n;

        for (;;) {
                n = recv(fd, &m, sizeof(m), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return sbx_fail_errno(err, -errno, "reading the sandbox's report");
                if (n == 0)
                        return 0;
                if (n != sizeof(m))
                        return sbx_fail(err, -EIO, "sandbox setup: malformed report");
                if (m.step == ISO_STEP_INIT_STARTED)
                        rep->started = true;
                else if (m.step == ISO_STEP_CHILD_PID)
                        rep->pid = m.index;
                else if (rep->failure.step == 0)
                        rep->failure = m;
        }
}

static void kill_and_reap(int pidfd)
{
        siginfo_t si;

        if (pidfd < 0)
                return;
        sbx_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
}

struct spawn_fds {
        int sp[2];
        int io[3];
        int *joins;
        size_t n_joins;
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
}

static int open_join(const struct iso_ns_join *j, struct sbx_error *err)
{
        const char *type = iso_ns_type_name(j->flag);
        _cleanup_close_ int fd = open(j->path, O_RDONLY | O_CLOEXEC);
        int t;

        if (fd < 0)
                return sbx_fail_errno(err, -errno, "joining the %s namespace %s", type, j->path);
        t = ioctl(fd, NS_GET_NSTYPE);
        if (t < 0 && errno == ENOTTY)
                return sbx_fail(err, -EINVAL, "joining the %s namespace %s: not a namespace file",
                                type, j->path);
        if (t < 0)
                return sbx_fail_errno(err, -errno, "joining the %s namespace %s", type, j->path);
        if ((uint64_t)t != j->flag)
                return sbx_fail(err, -EINVAL, "joining the %s namespace %s: it is a %s namespace",
                                type, j->path, iso_ns_type_name((uint64_t)t));
        return TAKE_FD(fd);
}

static int spawn_prepare(const struct iso_config *c, const struct iso_spawn_opts *o, bool vm,
                         struct spawn_fds *f, struct sbx_error *err)
{
        const int want[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};

        *f = (struct spawn_fds){.sp = {-EBADF, -EBADF}, .io = {-EBADF, -EBADF, -EBADF}};
        if (!vm && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sp) < 0)
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
                f->joins[i] = open_join(&c->joins[i], err);
                if (f->joins[i] < 0)
                        return f->joins[i];
                f->n_joins++;
        }
        return 0;
}

/* The length of a clock tick of /proc/PID/stat's start time (USER_HZ), 0 if it does not
 * divide a second (the kernel then rounds otherwise: no start time from the child). */
static uint64_t clock_tick_ns(void)
{
        long hz = sysconf(_SC_CLK_TCK); /* from the auxiliary vector: no system call */

        return hz > 0 && NSEC_PER_SEC % (uint64_t)hz == 0 ? NSEC_PER_SEC / (uint64_t)hz : 0;
}

/* Vm mode when it is built in, allowed, and no user or time namespace is involved (the
 * kernel refuses to enter those from a process whose memory is shared: the user
 * namespace's maps are written by us while the child waits, and setns() into an existing
 * one needs a single-user mm). */
static bool use_vm(uint64_t namespaces)
{
        return iso_clone_vm_supported() && iso_clone_mode_max == ISO_CLONE_VM &&
               !(namespaces & (CLONE_NEWUSER | CLONE_NEWTIME));
}

/* Makes the child (its namespaces per ca), lets it run to its exec, and collects the
 * outcome.  On success *pid and *pidfd name the process that runs (after a joined user
 * namespace: the child's sibling in the new pid namespace); on failure everything was
 * reaped. */
static int run_child(const struct iso_config *c, const struct iso_proc *proc,
                     struct iso_child_ctx *ctx, struct clone_args *ca, bool vm, struct spawn_fds *f,
                     pid_t *ret_pid, int *ret_pidfd, uint64_t *ret_start_time,
                     struct sbx_error *err)
{
        struct iso_child_report rep = {};
        const struct child_run run = {.c = c, .proc = proc, .ctx = ctx};
        int pidfd = -EBADF, sibling = -EBADF, r = 0;
        /* Where the kernel writes the pidfd: the caller's (an announced spawn) or ours. */
        int *pidfd_at = ca->pidfd ? (int *)(uintptr_t)ca->pidfd : &pidfd;
        pid_t pid;

        ca->pidfd = (uint64_t)(uintptr_t)pidfd_at;
        ca->flags |= CLONE_CLEAR_SIGHAND; /* the child resets the ignored ones */
        *ret_start_time = 0;
        if (vm) {
                ctx->sync_fd = -1;
                ctx->report = &rep;
                ctx->tick_ns = clock_tick_ns();
                ctx->boot_before_ns = sbx_now_boottime_ns(); /* last: the bracket's start */
                pid = clone_vm(ca, &run);
        } else {
                ctx->sync_fd = f->sp[1];
                ctx->report = NULL;
                pid = sbx_clone3(ca, sizeof(*ca));
                if (pid == 0)
                        iso_child_main(c, proc, ctx);
        }
        *ret_pid = pid;
        if (pid < 0)
                return sbx_fail_errno(err, -errno, "clone3");
        pidfd = *pidfd_at;
        if (!vm) {
                f->sp[1] = safe_close(f->sp[1]);
                if (c->ns_new & CLONE_NEWUSER && !ctx->ns_late) {
                        struct iso_sync_msg go = {.step = ISO_STEP_GO};

                        r = write_map(pid, "uid_map", c->uid_map, err);
                        if (r >= 0)
                                r = write_map(pid, "gid_map", c->gid_map, err);
                        if (r >= 0 && send(f->sp[0], &go, sizeof(go), MSG_NOSIGNAL) < 0)
                                r = sbx_fail_errno(err, -errno, "sync with the sandbox");
                }
                if (r >= 0)
                        r = read_reports(f->sp[0], &rep, err);
        }
        if (r >= 0 && rep.pid > 0) {
                /* The sibling is our child too (CLONE_PARENT) and not reaped: its pid is
                 * still its own.  The first child has exited after reporting it. */
                sibling = sbx_pidfd_open(rep.pid, 0);
                if (sibling < 0)
                        r = sbx_fail_errno(err, -errno, "the sandbox's process %d", (int)rep.pid);
        }
        if (r >= 0 && rep.failure.step != 0)
                r = iso_child_error(c, proc, &rep.failure, err);
        else if (r >= 0 && !rep.started)
                r = sbx_fail(err, -ECHILD, "sandbox setup: the child died before executing %s",
                             ctx->task ? "the process" : "sandbox-init");
        if (sibling >= 0 || r < 0) {
                /* The first child is done (or must be): reap it. */
                kill_and_reap(pidfd);
                safe_close(pidfd);
                pidfd = sibling;
                *ret_pid = rep.pid;
        }
        if (r < 0) {
                kill_and_reap(pidfd);
                safe_close(pidfd);
                return r;
        }
        *ret_pidfd = pidfd;
        *ret_start_time = sibling >= 0 ? 0 : rep.start_time;
        return 0;
}

int iso_spawn(const struct iso_config *c, const struct iso_spawn_opts *o,
              struct iso_process *ret_process, struct sbx_error *err)
{
        struct iso_spawn_opts dflt = ISO_SPAWN_OPTS_INIT;
        _cleanup_close_ int own_pidns = -EBADF;
        uint64_t all = iso_config_namespaces(c);
        bool joins_user = (all & ~c->ns_new) & CLONE_NEWUSER, vm = use_vm(all);
        struct spawn_fds f;
        int pidfd = -EBADF, init_fd, r;
        uint64_t start_time;
        pid_t pid;

        if (!o)
                o = &dflt;
        if (o->netns_fd >= 0 && !iso_config_takes_netns_fd(c))
                return sbx_fail(err, -EINVAL,
                                "a prepared network namespace cannot stand in for this spec's "
                                "(none, joined, or owned by a user namespace)");
        init_fd = iso_init_memfd(err);
        if (init_fd < 0)
                return init_fd;
        r = spawn_prepare(c, o, vm, &f, err);
        if (r < 0)
                goto out;

        struct iso_child_ctx ctx = {
                .init_fd = init_fd,
                .stdio = {f.io[0], f.io[1], f.io[2]},
                .join_fds = f.joins,
                .last_cap = last_cap(),
                .userns = all & CLONE_NEWUSER,
                /* After joining a user namespace, the new ones are created inside it. */
                .ns_late = joins_user ? c->ns_new : 0,
                .netns_fd = o->netns_fd,
                .started_fd = -1,
        };
        struct iso_proc proc = c->proc;
        if (o->args)
                proc.args = (char **)o->args;
        struct clone_args ca = {
                .flags = ((joins_user ? 0 : c->ns_new) & ~(o->netns_fd >= 0 ? CLONE_NEWNET : 0)) |
                         CLONE_PIDFD | (o->cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                .exit_signal = SIGCHLD,
                .cgroup = o->cgroup_fd >= 0 ? (uint64_t)o->cgroup_fd : 0,
        };
        if (o->started_fd >= 0 && o->started && !joins_user && c->filter_allows_write) {
                /* The pid and pidfd land where the reader of the announcement finds them,
                 * written by the kernel before the child runs. */
                ctx.started_fd = o->started_fd;
                ctx.started_token = o->started_token;
                ctx.started = o->started; /* vm mode: the child writes its start_time there */
                *o->started = ISO_PROCESS_NULL;
                ca.flags |= CLONE_PARENT_SETTID;
                ca.parent_tid = (uint64_t)(uintptr_t)&o->started->pid;
                ca.pidfd = (uint64_t)(uintptr_t)&o->started->pidfd;
        }

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
                                r = sbx_fail_errno(err, -errno, "joining the pid namespace %s",
                                                   c->joins[i].path);
                                goto out;
                        }
                }
        r = run_child(c, &proc, &ctx, &ca, vm, &f, &pid, &pidfd, &start_time, err);
        if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0)
                abort(); /* cannot happen: our own pid namespace is always enterable */
        if (r < 0)
                goto out;
        *ret_process = (struct iso_process){.pid = pid, .pidfd = pidfd, .start_time = start_time};
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
        uint64_t all = iso_config_namespaces(sandbox);
        struct iso_config tc = *sandbox;
        bool vm = use_vm(all);
        struct spawn_fds f;
        int pidfd = -EBADF, r;
        uint64_t start_time;
        pid_t pid;

        if (!o)
                o = &dflt;
        tc.ns_new = 0;
        tc.n_joins = 0;
        r = spawn_prepare(&tc, o, vm, &f, err);
        if (r < 0)
                goto out;
        /* A pid namespace is entered by children only: switch our pid_for_children to
         * the sandbox's for the one clone3, and back. */
        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0) {
                r = sbx_fail_errno(err, -errno, "opening /proc/self/ns/pid");
                goto out;
        }
        if ((all & CLONE_NEWPID) && setns(sandbox_init->pidfd, CLONE_NEWPID) < 0) {
                r = sbx_fail_errno(err, -errno, "entering the sandbox's pid namespace");
                goto out;
        }
        /* The task enters every namespace of the sandbox through the init's pidfd
         * (setns(2) with a pidfd: Linux 5.8); nothing is created or mounted. */
        struct iso_child_ctx ctx = {
                .init_fd = -1,
                .started_fd = -1,
                .stdio = {f.io[0], f.io[1], f.io[2]},
                .join_fds = f.joins,
                .last_cap = last_cap(),
                .userns = all & CLONE_NEWUSER,
                .netns_fd = -1,
                .task = true,
                .task_pidfd = sandbox_init->pidfd,
                .task_join = (int)(all & (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC |
                                          CLONE_NEWCGROUP | CLONE_NEWUSER | CLONE_NEWTIME)),
        };
        struct clone_args ca = {
                .flags = CLONE_PIDFD | (o->cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                .exit_signal = SIGCHLD,
                .cgroup = o->cgroup_fd >= 0 ? (uint64_t)o->cgroup_fd : 0,
        };
        r = run_child(&tc, &task->proc, &ctx, &ca, vm, &f, &pid, &pidfd, &start_time, err);
        if ((all & CLONE_NEWPID) && setns(own_pidns, CLONE_NEWPID) < 0)
                abort(); /* cannot happen: our own pid namespace is always enterable */
        if (r < 0)
                goto out;
        *ret_process = (struct iso_process){.pid = pid, .pidfd = pidfd, .start_time = start_time};
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
