/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The clone3 child: turns itself into the sandbox, starts the spec's process
 * (vfork + exec, so its exec result is known here) and executes sandbox-init.
 *
 * It runs either in a copy of a possibly multi-threaded parent (fork mode: raw
 * clone3 runs no atfork handlers) or, with CLONE_VM|CLONE_VFORK, in the
 * parent's own memory while the calling thread waits (vm mode; spawn.c).  So it
 * must not allocate, take locks or write the parent's globals: no malloc, no
 * stdio, no libcap/libseccomp calls, no glibc set*id wrappers (they signal the
 * parent's threads in a multi-threaded process): raw system calls for those.
 * Everything it needs was prepared by the parent.  A failing step is reported
 * as {step, index, errno} (into ctx->report in vm mode, on the sync socket in
 * fork mode) and the child exits; the parent turns that into the message.
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/syscall.h" /* after <sys/wait.h>: P_PIDFD */
#include "common/util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The running child's context, per thread: in vm mode the child runs on its parent
 * thread's TLS (clone3 without CLONE_SETTLS) while that thread waits (CLONE_VFORK), so
 * spawns from different threads each see their own. */
static __thread const struct iso_child_ctx *cx;

static void report(int step, int index, int error)
{
        struct iso_sync_msg m = {.step = step, .index = index, .error = error};

        if (cx->report) {
                if (step == ISO_STEP_INIT_STARTED)
                        cx->report->started = true;
                else if (step == ISO_STEP_CHILD_PID)
                        cx->report->pid = index;
                else if (cx->report->failure.step == 0)
                        cx->report->failure = m;
                return;
        }
        (void)!send(cx->sync_fd, &m, sizeof(m), MSG_NOSIGNAL);
}

static _Noreturn void fail(int step, int index, int error)
{
        report(step, index, error);
        _exit(1);
}

#define CHECK(expr, step, index)                  \
        do {                                      \
                if ((expr) < 0)                   \
                        fail(step, index, errno); \
        } while (0)

static int openat2_beneath(int dirfd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };

        while (*path == '/')
                path++;
        if (*path == '\0')
                path = ".";
        return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static int mount_setattr_fd(int fd, uint64_t set, uint64_t clr, bool recursive)
{
        struct mount_attr a = {.attr_set = set, .attr_clr = clr};

        return (int)syscall(SYS_mount_setattr, fd, "",
                            AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a));
}

/* "/proc/self/fd/N" in buf, without stdio. */
static const char *fd_path(char buf[static 32], int fd)
{
        char digits[12];
        int n = 0;

        memcpy(buf, "/proc/self/fd/", 14);
        do
                digits[n++] = (char)('0' + fd % 10);
        while ((fd /= 10) > 0);
        for (int i = 0; i < n; i++)
                buf[14 + i] = digits[n - 1 - i];
        buf[14 + n] = '\0';
        return buf;
}

/* Opens dest inside the root, creating missing directories (or, when is_file, an empty
 * file as the last component).  RESOLVE_BENEATH refuses a path that climbs out of the
 * root through ".." or a symlink (EXDEV). */
static int open_or_create(int rootfd, const char *dest, bool is_file, int step, int index)
{
        char buf[PATH_MAX];
        size_t len = strlen(dest), i;
        int fd = openat2_beneath(rootfd, dest, O_PATH);

        if (fd >= 0)
                return fd;
        if (errno != ENOENT)
                fail(ISO_STEP_MOUNT_RESOLVE, index, errno);
        if (len >= sizeof(buf))
                fail(ISO_STEP_MOUNT_RESOLVE, index, ENAMETOOLONG);
        memcpy(buf, dest, len + 1);
        for (i = 1; i <= len; i++) {
                bool last = i == len;
                int dfd;

                if (!last && buf[i] != '/')
                        continue;
                buf[i] = '\0';
                fd = openat2_beneath(rootfd, buf, O_PATH);
                if (fd < 0 && errno == ENOENT) {
                        char *slash = strrchr(buf, '/');
                        *slash = '\0';
                        dfd = openat2_beneath(rootfd, buf, O_PATH | O_DIRECTORY);
                        *slash = '/';
                        if (dfd < 0)
                                fail(ISO_STEP_MOUNT_RESOLVE, index, errno);
                        if (last && is_file) {
                                int f = openat(dfd, slash + 1,
                                               O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                                if (f < 0)
                                        fail(step, index, errno);
                                close(f);
                        } else if (mkdirat(dfd, slash + 1, 0755) < 0 && errno != EEXIST)
                                fail(step, index, errno);
                        close(dfd);
                        fd = openat2_beneath(rootfd, buf, O_PATH);
                }
                if (fd < 0)
                        fail(ISO_STEP_MOUNT_RESOLVE, index, errno);
                if (!last) {
                        close(fd);
                        buf[i] = '/';
                }
        }
        return fd;
}

static uint64_t ms_to_attr(unsigned long ms)
{
        uint64_t a = 0;

        if (ms & MS_RDONLY)
                a |= MOUNT_ATTR_RDONLY;
        if (ms & MS_NOSUID)
                a |= MOUNT_ATTR_NOSUID;
        if (ms & MS_NODEV)
                a |= MOUNT_ATTR_NODEV;
        if (ms & MS_NOEXEC)
                a |= MOUNT_ATTR_NOEXEC;
        if (ms & MS_NODIRATIME)
                a |= MOUNT_ATTR_NODIRATIME;
        return a;
}

static void make_devices(int rootfd, bool userns)
{
        static const struct {
                const char *name;
                unsigned maj, min;
        } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                     {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
        static const struct {
                const char *target, *name;
        } links[] = {{"/proc/self/fd", "fd"},
                     {"/proc/self/fd/0", "stdin"},
                     {"/proc/self/fd/1", "stdout"},
                     {"/proc/self/fd/2", "stderr"},
                     {"pts/ptmx", "ptmx"}};
        char p[32];
        int dev = openat2_beneath(rootfd, "dev", O_PATH | O_DIRECTORY);

        if (dev < 0)
                fail(ISO_STEP_DEVICES, 0, errno);
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                if (!userns) {
                        CHECK(mknodat(dev, nodes[i].name, S_IFCHR | 0666,
                                      makedev(nodes[i].maj, nodes[i].min)),
                              ISO_STEP_DEVICES, (int)i);
                        continue;
                }
                /* A user namespace may not mknod: bind the host's node instead. */
                char src[16] = "/dev/";
                int f = openat(dev, nodes[i].name, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
                CHECK(f, ISO_STEP_DEVICES, (int)i);
                close(f);
                f = openat2_beneath(dev, nodes[i].name, O_PATH);
                CHECK(f, ISO_STEP_DEVICES, (int)i);
                strcat(src, nodes[i].name);
                CHECK(mount(src, fd_path(p, f), NULL, MS_BIND, NULL), ISO_STEP_DEVICES, (int)i);
                close(f);
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                CHECK(symlinkat(links[i].target, dev, links[i].name), ISO_STEP_DEVICES, 0);
        close(dev);
}

static void do_mounts(const struct iso_config *c, int rootfd)
{
        bool userns = cx->userns;
        char p[32], q[32];

        for (size_t i = 0; i < c->n_mounts; i++) {
                const struct iso_mount *m = &c->mounts[i];
                bool is_file = false;
                int fd;

                if (m->bind) {
                        struct stat st;
                        CHECK(stat(m->source, &st), ISO_STEP_MOUNT, (int)i);
                        is_file = !S_ISDIR(st.st_mode);
                }
                fd = open_or_create(rootfd, m->destination, is_file, ISO_STEP_MOUNT_MKDIR, (int)i);
                if (m->bind) {
                        CHECK(mount(m->source, fd_path(p, fd), NULL,
                                    MS_BIND | (m->recursive ? MS_REC : 0), NULL),
                              ISO_STEP_MOUNT, (int)i);
                        if (m->flags || m->clear) {
                                /* The flags apply to the new mount: reopen it. */
                                int nfd = openat2_beneath(rootfd, m->destination, O_PATH);
                                CHECK(nfd, ISO_STEP_MOUNT_FLAGS, (int)i);
                                CHECK(mount_setattr_fd(nfd, ms_to_attr(m->flags),
                                                       ms_to_attr(m->clear), m->recursive),
                                      ISO_STEP_MOUNT_FLAGS, (int)i);
                                close(nfd);
                        }
                } else {
                        CHECK(mount(m->source ?: m->fstype, fd_path(p, fd), m->fstype, m->flags,
                                    m->data),
                              ISO_STEP_MOUNT, (int)i);
                        if (strcmp(m->destination, "/dev") == 0 && strcmp(m->fstype, "tmpfs") == 0)
                                make_devices(rootfd, userns);
                }
                if (m->propagation) {
                        int nfd = openat2_beneath(rootfd, m->destination, O_PATH);
                        CHECK(nfd, ISO_STEP_MOUNT_FLAGS, (int)i);
                        CHECK(mount(NULL, fd_path(q, nfd), NULL, m->propagation, NULL),
                              ISO_STEP_MOUNT_FLAGS, (int)i);
                        close(nfd);
                }
                close(fd);
        }
}

static void mask_paths(const struct iso_config *c, int rootfd)
{
        char p[32];

        for (size_t i = 0; i < c->n_masked; i++) {
                struct stat st;
                int fd = openat2_beneath(rootfd, c->masked[i], O_PATH);

                if (fd < 0 && errno == ENOENT)
                        continue;
                CHECK(fd, ISO_STEP_MASK, (int)i);
                CHECK(fstat(fd, &st), ISO_STEP_MASK, (int)i);
                if (S_ISDIR(st.st_mode))
                        CHECK(mount("tmpfs", fd_path(p, fd), "tmpfs", MS_RDONLY, "size=0"),
                              ISO_STEP_MASK, (int)i);
                else
                        CHECK(mount("/dev/null", fd_path(p, fd), NULL, MS_BIND, NULL),
                              ISO_STEP_MASK, (int)i);
                close(fd);
        }
        for (size_t i = 0; i < c->n_readonly; i++) {
                int fd = openat2_beneath(rootfd, c->readonly[i], O_PATH);

                if (fd < 0 && errno == ENOENT)
                        continue;
                CHECK(fd, ISO_STEP_READONLY_PATH, (int)i);
                CHECK(mount(fd_path(p, fd), fd_path(p, fd), NULL, MS_BIND | MS_REC, NULL),
                      ISO_STEP_READONLY_PATH, (int)i);
                close(fd);
                fd = openat2_beneath(rootfd, c->readonly[i], O_PATH);
                CHECK(fd, ISO_STEP_READONLY_PATH, (int)i);
                CHECK(mount_setattr_fd(fd, MOUNT_ATTR_RDONLY, 0, true), ISO_STEP_READONLY_PATH,
                      (int)i);
                close(fd);
        }
}

static void write_string(const char *path, const char *s, size_t len, int step, int index)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        CHECK(fd, step, index);
        if (write(fd, s, len) != (ssize_t)len)
                fail(step, index, errno ?: EIO);
        close(fd);
}

/* Everything up to pivot_root: the sandbox's mount table. */
static void build_root(const struct iso_config *c)
{
        bool userns = cx->userns;
        int rootfd;

        /* Nothing we mount may propagate back to the host (nor host mounts in). */
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), ISO_STEP_PROPAGATION, 0);

        /* A detached copy of the root (recursive in a user namespace, where the host's
         * mounts below are locked and may not be left out), attached over root.path:
         * works for root.path "/" too, where a plain bind over / would be invisible to
         * lookups starting at /. */
        rootfd = (int)syscall(SYS_open_tree, AT_FDCWD, c->root,
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (userns ? AT_RECURSIVE : 0));
        CHECK(rootfd, ISO_STEP_ROOT, 0);
        {
                struct stat st;
                CHECK(fstat(rootfd, &st), ISO_STEP_ROOT, 0);
                if (!S_ISDIR(st.st_mode))
                        fail(ISO_STEP_ROOT, 0, ENOTDIR);
        }
        if (c->root_readonly)
                CHECK(mount_setattr_fd(rootfd, MOUNT_ATTR_RDONLY, 0, false), ISO_STEP_ROOT_READONLY,
                      0);
        CHECK(syscall(SYS_move_mount, rootfd, "", AT_FDCWD, c->root, MOVE_MOUNT_F_EMPTY_PATH),
              ISO_STEP_ROOT, 0);

        do_mounts(c, rootfd);
        /* Sysctls through the host's /proc: net, ipc and uts entries act on the writer's
         * namespaces, which are the sandbox's. */
        for (size_t i = 0; i < c->n_sysctls; i++)
                write_string(c->sysctls[i].path, c->sysctls[i].value, strlen(c->sysctls[i].value),
                             ISO_STEP_SYSCTL, (int)i);
        mask_paths(c, rootfd);

        /* pivot_root(".", "."): the old root ends up stacked under the new one and is
         * detached at once (pivot_root(2), "new_root and put_old may be the same"). */
        CHECK(fchdir(rootfd), ISO_STEP_PIVOT, 0);
        CHECK(sbx_pivot_root(".", "."), ISO_STEP_PIVOT, 0);
        CHECK(umount2(".", MNT_DETACH), ISO_STEP_PIVOT, 0);
        CHECK(chdir("/"), ISO_STEP_PIVOT, 0);
        close(rootfd);
}

static void write_int(const char *path, int v, int step)
{
        char buf[16], *p = buf + sizeof(buf);
        unsigned u = v < 0 ? (unsigned)-v : (unsigned)v;

        do
                *--p = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                *--p = '-';
        write_string(path, p, (size_t)(buf + sizeof(buf) - p), step, 0);
}

static void load_seccomp(const struct iso_config *c)
{
        struct sock_fprog prog = {.len = (unsigned short)c->filter_len, .filter = c->filter};

        if (c->filter)
                CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), ISO_STEP_SECCOMP, 0);
}

/* Credentials, capabilities, no_new_privs and (last) seccomp. */
static void become_process(const struct iso_config *c, const struct iso_proc *p, int last_cap)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2] = {};

        for (size_t i = 0; i < p->n_rlimits; i++)
                CHECK(setrlimit(p->rlimits[i].resource, &p->rlimits[i].limit), ISO_STEP_RLIMIT,
                      (int)i);
        for (int cap = 0; cap <= last_cap; cap++)
                if (!(p->caps.bounding & (1ULL << cap)))
                        CHECK(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), ISO_STEP_BOUNDING, cap);

        /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the user
         * switch below may drop: load it first (the profile must allow what follows). */
        if (!p->no_new_privs)
                load_seccomp(c);

        CHECK(syscall(SYS_setgroups, p->n_gids, p->gids), ISO_STEP_GROUPS, 0);
        CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), ISO_STEP_UID, 0);
        CHECK(syscall(SYS_setresgid, p->gid, p->gid, p->gid), ISO_STEP_GID, 0);
        CHECK(syscall(SYS_setresuid, p->uid, p->uid, p->uid), ISO_STEP_UID, 0);
        CHECK(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), ISO_STEP_UID, 0);

        data[0].effective = (uint32_t)p->caps.effective;
        data[1].effective = (uint32_t)(p->caps.effective >> 32);
        data[0].permitted = (uint32_t)p->caps.permitted;
        data[1].permitted = (uint32_t)(p->caps.permitted >> 32);
        data[0].inheritable = (uint32_t)p->caps.inheritable;
        data[1].inheritable = (uint32_t)(p->caps.inheritable >> 32);
        CHECK(syscall(SYS_capset, &hdr, data), ISO_STEP_CAPS, 0);
        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), ISO_STEP_AMBIENT, 0);
        for (int cap = 0; cap <= last_cap; cap++)
                if (p->caps.ambient & (1ULL << cap))
                        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0),
                              ISO_STEP_AMBIENT, cap);
        if (p->umask >= 0)
                umask((mode_t)p->umask);
        CHECK(chdir(p->cwd), ISO_STEP_CWD, 0);
        if (p->no_new_privs) {
                CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), ISO_STEP_NO_NEW_PRIVS, 0);
                load_seccomp(c);
        }
}

/* Moves the fds the child keeps out of the way of 0..2 (they may be any numbers), as
 * close-on-exec copies above 10; then 0..2 (without close-on-exec). */
static int setup_fds(const struct iso_child_ctx *ctx)
{
        int io[3], init_fd = -1;

        if (!ctx->task) {
                init_fd = fcntl(ctx->init_fd, F_DUPFD_CLOEXEC, 10);
                CHECK(init_fd, ISO_STEP_STDIO, 0);
        }
        for (int i = 0; i < 3; i++)
                CHECK(io[i] = fcntl(ctx->stdio[i], F_DUPFD_CLOEXEC, 10), ISO_STEP_STDIO, i);
        for (int i = 0; i < 3; i++)
                CHECK(dup2(io[i], i), ISO_STEP_STDIO, i); /* dup2 clears FD_CLOEXEC */
        return init_fd;
}

/* execvp(3) without allocating and without the parent's environment: PATH is looked up in
 * envp (the process's), as a shell in the sandbox would.  EACCES wins over ENOENT; other
 * errors stop the search.  Returns the errno. */
static int exec_path(char *const *argv, char *const *envp)
{
        const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        size_t nlen = strlen(argv[0]);
        bool eacces = false;
        char buf[PATH_MAX];

        if (nlen == 0)
                return ENOENT;
        if (strchr(argv[0], '/')) {
                execve(argv[0], argv, envp);
                return errno;
        }
        for (char *const *e = envp; *e; e++)
                if (strncmp(*e, "PATH=", 5) == 0)
                        path = *e + 5;
        for (const char *p = path;; p++) {
                const char *start = p;
                size_t dlen;

                while (*p && *p != ':')
                        p++;
                dlen = (size_t)(p - start);
                if (dlen + 2 + nlen <= sizeof(buf)) {
                        size_t i = 0;

                        if (dlen == 0)
                                buf[i++] = '.'; /* an empty PATH entry is the cwd */
                        memcpy(buf + i, start, dlen);
                        i += dlen;
                        buf[i++] = '/';
                        memcpy(buf + i, argv[0], nlen + 1);
                        execve(buf, argv, envp);
                        if (errno == EACCES)
                                eacces = true;
                        else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
                                 errno != ENODEV && errno != ETIMEDOUT)
                                return errno;
                }
                if (!*p)
                        break;
        }
        return eacces ? EACCES : ENOENT;
}

/* "N" into buf (a pid for sandbox-init's command line). */
static char *format_pid(char buf[static 16], pid_t pid)
{
        char *p = buf + 15;

        *p = '\0';
        do
                *--p = (char)('0' + pid % 10);
        while ((pid /= 10) > 0);
        return p;
}

/* Starts the process as our child with vfork semantics: we (the future PID 1) resume
 * once it has executed, or failed to (the errno it leaves in our memory).  It gets
 * the signal mask empty; we keep SIGCHLD and the forwarded signals blocked, so none is
 * lost before sandbox-init waits for them. */
static pid_t start_process(const struct iso_proc *proc)
{
        volatile int exec_errno = 0;
        sigset_t none;
        pid_t pid;

        sigemptyset(&none);
        pid = vfork();
        if (pid == 0) {
                sigprocmask(SIG_SETMASK, &none, NULL);
                exec_errno = exec_path(proc->args, proc->env);
                _exit(127);
        }
        CHECK(pid, ISO_STEP_INIT, 0);
        if (exec_errno != 0) {
                int e = exec_errno;

                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                fail(ISO_STEP_EXEC, 0, e);
        }
        return pid;
}

/* Joins the namespaces given by path (runc's order: user first), then, after a joined
 * user namespace, creates the new ones (owned by it).  A new pid (or time) namespace
 * needs a new process: a sibling made with CLONE_PARENT (so the caller is its parent),
 * which goes on while this one reports its pid and exits. */
static void enter_namespaces(const struct iso_config *c, const struct iso_child_ctx *ctx)
{
        for (size_t i = 0; i < c->n_joins; i++) {
                /* A joined pid namespace was entered by the parent (for this child's birth). */
                if (c->joins[i].flag == CLONE_NEWPID)
                        continue;
                CHECK(setns(ctx->join_fds[i], (int)c->joins[i].flag), ISO_STEP_SETNS, (int)i);
                if (c->joins[i].flag == CLONE_NEWUSER) {
                        /* Root inside it, as with a new one (its maps are its creator's). */
                        CHECK(syscall(SYS_setresgid, 0, 0, 0), ISO_STEP_GID, 0);
                        CHECK(syscall(SYS_setresuid, 0, 0, 0), ISO_STEP_UID, 0);
                }
        }
        if (ctx->netns_fd >= 0)
                CHECK(setns(ctx->netns_fd, CLONE_NEWNET), ISO_STEP_NETNS, 0);
        if (!ctx->ns_late)
                return;
        if (ctx->ns_late & ~(uint64_t)(CLONE_NEWPID | CLONE_NEWTIME))
                CHECK(unshare((int)(ctx->ns_late & ~(uint64_t)(CLONE_NEWPID | CLONE_NEWTIME))),
                      ISO_STEP_UNSHARE, 0);
        if (ctx->ns_late & (CLONE_NEWPID | CLONE_NEWTIME)) {
                struct clone_args ca = {.flags = CLONE_PARENT |
                                                 (ctx->ns_late & (CLONE_NEWPID | CLONE_NEWTIME))};
                pid_t pid = sbx_clone3(&ca, sizeof(ca));

                CHECK(pid, ISO_STEP_UNSHARE, 0);
                if (pid > 0) {
                        report(ISO_STEP_CHILD_PID, pid, 0);
                        _exit(0);
                }
        }
}

/* The handled signals were reset by clone3's CLONE_CLEAR_SIGHAND; the ignored ones would
 * stay ignored across exec: reset those, found in /proc/self/status (SigIgn) rather
 * than with 64 sigaction calls.  Without that line, all of them.  Through the system call:
 * glibc's sigaction() refuses its own signals 32 and 33, which a caller may have inherited
 * ignored too.  SIG_DFL is 0, so an all-zero kernel sigaction is SIG_DFL on every layout. */
static void reset_signals(void)
{
        static const uint64_t kernel_sigaction_dfl[4];
        uint64_t ign = ~(uint64_t)0;
        char buf[4096];
        ssize_t n = -1;
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

        if (fd >= 0) {
                n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
        }
        if (n > 0) {
                const char *p;

                buf[n] = '\0';
                p = strstr(buf, "\nSigIgn:\t");
                if (p) {
                        ign = 0;
                        for (p += 9; *p && *p != '\n'; p++)
                                ign = ign << 4 |
                                      (uint64_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
                }
        }
        for (int sig = 1; sig < _NSIG && sig <= 64; sig++)
                if ((ign & (1ULL << (sig - 1))) && sig != SIGKILL && sig != SIGSTOP)
                        (void)syscall(SYS_rt_sigaction, sig, kernel_sigaction_dfl, NULL,
                                      sizeof(uint64_t));
}

/* vm mode: our start time (iso_process.start_time), when the clone fell within one clock
 * tick: the kernel took it between the parent's reading of CLOCK_BOOTTIME and this one. */
static void note_start_time(const struct iso_child_ctx *ctx)
{
        uint64_t now, tick = ctx->tick_ns;

        if (!ctx->report || tick == 0)
                return;
        now = sbx_now_boottime_ns();
        if (now / tick != ctx->boot_before_ns / tick)
                return; /* a tick boundary in between: unknown */
        ctx->report->start_time = now / tick;
        if (ctx->started)
                ctx->started->start_time = now / tick;
}

/* Tells whoever reads iso_spawn_opts.started_fd that the sandbox is started (its process
 * executed; only sandbox-init's own exec is left).  True when that record went out. */
static bool announce_started(const struct iso_child_ctx *ctx)
{
        /* After the seccomp filter: iso_spawn() asks only when it lets write(2) through. */
        return ctx->started_fd >= 0 &&
               write(ctx->started_fd, &ctx->started_token, sizeof(ctx->started_token)) ==
                       (ssize_t)sizeof(ctx->started_token);
}

_Noreturn void iso_child_main(const struct iso_config *c, const struct iso_proc *proc,
                              const struct iso_child_ctx *ctx)
{
        char pidbuf[16], *init_argv[3] = {(char *)"sandbox-init", NULL, NULL};
        pid_t process = 0;
        bool announced;
        sigset_t keep;
        int init_fd, e;

        cx = ctx;
        note_start_time(ctx);
        /* The daemon's signal dispositions and mask are not the sandbox's.  SIGCHLD and
         * the signals sandbox-init forwards stay blocked until it waits for them. */
        reset_signals();
        sigemptyset(&keep);
        if (!ctx->task) {
                sigaddset(&keep, SIGCHLD);
                sigaddset(&keep, SIGTERM);
                sigaddset(&keep, SIGINT);
                sigaddset(&keep, SIGHUP);
        }
        sigprocmask(SIG_SETMASK, &keep, NULL);
        umask(0022);

        if (c->ns_new & CLONE_NEWUSER) {
                struct iso_sync_msg go;

                /* Wait for the parent to write our uid/gid maps (fork mode only). */
                if (read(ctx->sync_fd, &go, sizeof(go)) != sizeof(go) || go.step != ISO_STEP_GO)
                        fail(ISO_STEP_SYNC, 0, errno ?: EPIPE);
                CHECK(syscall(SYS_setresgid, 0, 0, 0), ISO_STEP_GID, 0);
                CHECK(syscall(SYS_setresuid, 0, 0, 0), ISO_STEP_UID, 0);
        }
        if (ctx->task)
                CHECK(setns(ctx->task_pidfd, ctx->task_join), ISO_STEP_SETNS, 0);
        else
                enter_namespaces(c, ctx);
        init_fd = setup_fds(ctx);

        if (!ctx->task) {
                if ((c->ns_new & CLONE_NEWNET) && ctx->netns_fd < 0) {
                        int r = iso_loopback_up();
                        if (r < 0)
                                fail(ISO_STEP_LOOPBACK, 0, -r);
                }
                if (proc->has_oom_score_adj)
                        write_int("/proc/self/oom_score_adj", proc->oom_score_adj,
                                  ISO_STEP_OOM_SCORE_ADJ);
                build_root(c);
                if (c->hostname)
                        CHECK(sethostname(c->hostname, strlen(c->hostname)), ISO_STEP_HOSTNAME, 0);
        } else if (proc->has_oom_score_adj)
                write_int("/proc/self/oom_score_adj", proc->oom_score_adj, ISO_STEP_OOM_SCORE_ADJ);

        become_process(c, proc, ctx->last_cap);

        /* No fd of the daemon reaches the sandbox: everything above 2 is closed by the
         * exec (the sync socket too, which then reads EOF in fork mode). */
        CHECK(syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC), ISO_STEP_STDIO, 0);
        if (ctx->task) {
                /* A task is executed directly (the sandbox's init already reaps it). */
                report(ISO_STEP_INIT_STARTED, 0, 0);
                fail(ISO_STEP_EXEC, 0, exec_path(proc->args, proc->env));
        }
        if (proc->args) {
                process = start_process(proc);
                init_argv[1] = format_pid(pidbuf, process);
        }
        report(ISO_STEP_INIT_STARTED, 0, 0);
        announced = announce_started(ctx);
        syscall(SYS_execveat, init_fd, "", init_argv, proc->env, AT_EMPTY_PATH);
        e = errno;
        if (process > 0) { /* not left running without its init */
                kill(process, SIGKILL);
                while (waitpid(process, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (announced)
                _exit(127); /* the sandbox counts as started: it exits (iso_spawn_opts) */
        fail(ISO_STEP_EXEC_INIT, 0, e);
}
