/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox-init: PID 1 of every sandbox (docs/isolation.md).
 *
 *     sandbox-init [ARG...]
 *
 * With arguments it runs them (PATH looked up in its environment, which is the
 * process's), forwards SIGTERM, SIGINT and SIGHUP to that child, reaps every
 * orphan, and exits with the child's status: its exit code, or 128+signal.
 * Without arguments it pauses (reaping) until SIGTERM, SIGINT or SIGHUP, then
 * exits 0.  It is started by isolation/ from a sealed memfd with the sync socket
 * as fd 3 (isolation/sync-internal.h): it reports that it runs, a failed exec of
 * the process is reported by the forked child, and fd 3 is closed as soon as the
 * process runs, so the sandbox keeps no fd but 0, 1 and 2.
 *
 * It is written against raw system calls only.  On x86-64 it is built
 * freestanding (-nostdlib, ISO_INIT_FREESTANDING): no libc start-up at all, which
 * is most of what a second exec per sandbox costs (a static glibc binary's
 * start-up, its CPUID probing in particular, costs more than the exec itself in
 * a VM).  Elsewhere the same code is linked statically against libc, whose
 * syscall(2) does the work.  Never built with sanitizers: it runs in any rootfs.
 */
#include "isolation/sync-internal.h"

#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>

#define PR_SET_DUMPABLE_        4
#define PR_SET_CHILD_SUBREAPER_ 36
#define F_SETFD_                2
#define FD_CLOEXEC_             1
#define MSG_NOSIGNAL_           0x4000
#define WNOHANG_                1
#define SIG_BLOCK_              0
#define SIG_SETMASK_            2
#define SIGHUP_                 1
#define SIGINT_                 2
#define SIGTERM_                15
#define SIGCHLD_                17
#define SIGSET_BIT(sig)         (1UL << ((sig)-1))

#ifdef ISO_INIT_FREESTANDING
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;
        register long r9 __asm__("r9") = f;
        long r;

        __asm__ volatile("syscall"
                         : "=a"(r)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        return r; /* -errno on failure */
}

/* The compiler may emit calls to these for struct copies and initialisers. */
void *memset(void *s, int c, size_t n)
{
        unsigned char *p = s;
        while (n--)
                *p++ = (unsigned char)c;
        return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
        unsigned char *p = d;
        const unsigned char *q = s;
        while (n--)
                *p++ = *q++;
        return d;
}

static void cmain(long *sp) __attribute__((used, noreturn));
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "        xor %rbp, %rbp\n"
        "        mov %rsp, %rdi\n"
        "        and $-16, %rsp\n"
        "        call cmain\n"
        "        hlt\n");
#else
#include <unistd.h>
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
        long r = syscall(n, a, b, c, d, e, f);
        return r == -1 ? -errno : r;
}
#endif

#define sys0(n)             sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a)          sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b)       sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c)    sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static _Noreturn void exit_group(int status)
{
        for (;;)
                sys1(SYS_exit_group, status);
}

static void report(int step, int error)
{
        struct iso_sync_msg m = {.step = step, .index = 0, .error = error};

        sys6(SYS_sendto, ISO_SYNC_FD, (long)&m, sizeof(m), MSG_NOSIGNAL_, 0, 0);
}

static size_t str_len(const char *s)
{
        size_t n = 0;
        while (s[n])
                n++;
        return n;
}

static int has_slash(const char *s)
{
        for (; *s; s++)
                if (*s == '/')
                        return 1;
        return 0;
}

/* execvp(3): PATH from envp; EACCES wins over ENOENT, other errors stop the search. */
static int exec_path(char **argv, char **envp)
{
        const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        char buf[4096];
        size_t nlen = str_len(argv[0]);
        int seen_eacces = 0;
        long r;

        if (nlen == 0)
                return ENOENT;
        if (has_slash(argv[0]))
                return (int)-sys3(SYS_execve, argv[0], argv, envp);
        for (char **e = envp; *e; e++)
                if ((*e)[0] == 'P' && (*e)[1] == 'A' && (*e)[2] == 'T' && (*e)[3] == 'H' &&
                    (*e)[4] == '=')
                        path = *e + 5;
        for (const char *p = path;; p++) {
                const char *start = p;
                size_t dlen;

                while (*p && *p != ':')
                        p++;
                dlen = (size_t)(p - start);
                if (dlen + 1 + nlen + 1 <= sizeof(buf)) {
                        size_t i = 0;
                        if (dlen == 0)
                                buf[i++] = '.'; /* an empty PATH entry is the cwd */
                        for (size_t k = 0; k < dlen; k++)
                                buf[i++] = start[k];
                        buf[i++] = '/';
                        for (size_t k = 0; k <= nlen; k++)
                                buf[i++] = argv[0][k];
                        r = sys3(SYS_execve, buf, argv, envp);
                        if (r == -EACCES)
                                seen_eacces = 1;
                        else if (r != -ENOENT && r != -ENOTDIR && r != -ESTALE && r != -ENODEV &&
                                 r != -ETIMEDOUT)
                                return (int)-r;
                }
                if (!*p)
                        break;
        }
        return seen_eacces ? EACCES : ENOENT;
}

static int run(int argc, char **argv, char **envp)
{
        unsigned long set = SIGSET_BIT(SIGCHLD_) | SIGSET_BIT(SIGTERM_) | SIGSET_BIT(SIGINT_) |
                            SIGSET_BIT(SIGHUP_);
        unsigned long old = 0;
        unsigned char info[128];
        long child = -1;

        /* Orphans of the sandbox are reparented to us even without a pid namespace. */
        sys2(SYS_prctl, PR_SET_CHILD_SUBREAPER_, 1);
        /* Non-dumpable: the sandbox's processes may not ptrace us or open /proc/1/exe
         * and friends without CAP_SYS_PTRACE. */
        sys2(SYS_prctl, PR_SET_DUMPABLE_, 0);
        sys4(SYS_rt_sigprocmask, SIG_BLOCK_, &set, &old, sizeof(set));

        if (argc > 1) {
                /* fork(2) of this tiny process: a handful of pages. */
                child = sys6(SYS_clone, SIGCHLD_, 0, 0, 0, 0, 0);
                if (child < 0) {
                        report(ISO_STEP_INIT, (int)-child);
                        return 127;
                }
                if (child == 0) {
                        int e;

                        sys4(SYS_rt_sigprocmask, SIG_SETMASK_, &old, 0, sizeof(old));
                        sys3(SYS_fcntl, ISO_SYNC_FD, F_SETFD_, FD_CLOEXEC_);
                        e = exec_path(argv + 1, envp);
                        report(ISO_STEP_EXEC, e);
                        exit_group(e == ENOENT ? 127 : 126);
                }
        }
        /* Reported only now, right before our copy of the socket goes: the parent then
         * usually reads this and the EOF in one wakeup. */
        report(ISO_STEP_INIT_STARTED, 0);
        sys1(SYS_close, ISO_SYNC_FD);

        for (;;) {
                long sig = sys4(SYS_rt_sigtimedwait, &set, info, 0, sizeof(set));

                if (sig < 0)
                        continue;
                if (sig != SIGCHLD_) {
                        if (child < 0)
                                return 0; /* nothing to run: a stop request ends the pause */
                        sys2(SYS_kill, child, sig);
                        continue;
                }
                for (;;) {
                        int st = 0;
                        long p = sys4(SYS_wait4, -1, &st, WNOHANG_, 0);

                        if (p <= 0)
                                break;
                        if (p == child) /* our exit kills what is left in the pid namespace */
                                return (st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f);
                }
        }
}

#ifdef ISO_INIT_FREESTANDING
static void cmain(long *sp)
{
        int argc = (int)sp[0];
        char **argv = (char **)(sp + 1);

        exit_group(run(argc, argv, argv + argc + 1));
}
#else
int main(int argc, char **argv, char **envp)
{
        return run(argc, argv, envp);
}
#endif
