/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox-init: PID 1 of every sandbox (docs/isolation.md).
 *
 *     sandbox-init [PID]
 *
 * isolation/ has already started the spec's process as this process's child
 * (before executing sandbox-init from a sealed memfd in the same process), and
 * passes its pid.  sandbox-init forwards SIGTERM, SIGINT and SIGHUP to it, reaps
 * every orphan, and exits with the process's status: its exit code, or
 * 128+signal.  Without a PID it pauses (reaping) until SIGTERM, SIGINT or
 * SIGHUP, then exits 0.  It starts with those signals and SIGCHLD blocked
 * (isolation/ blocked them before the process was started), so none is lost,
 * and reaps once before waiting: the process may already have exited.
 *
 * It is written against raw system calls only.  On x86-64 it is built
 * freestanding (-nostdlib, ISO_INIT_FREESTANDING): no libc start-up at all, which
 * is most of what a second exec per sandbox costs (a static glibc binary's
 * start-up, its CPUID probing in particular, costs more than the exec itself in
 * a VM).  Elsewhere the same code is linked statically against libc, whose
 * syscall(2) does the work.  Never built with sanitizers: it runs in any rootfs.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>

#define PR_SET_DUMPABLE_        4
#define PR_SET_CHILD_SUBREAPER_ 36
#define WNOHANG_                1
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

static long parse_pid(const char *s)
{
        long v = 0;

        if (!*s)
                return -1;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > 100000000)
                        return -1;
                v = v * 10 + (*s - '0');
        }
        return v > 0 ? v : -1;
}

static int run(int argc, char **argv)
{
        unsigned long set = SIGSET_BIT(SIGCHLD_) | SIGSET_BIT(SIGTERM_) | SIGSET_BIT(SIGINT_) |
                            SIGSET_BIT(SIGHUP_);
        unsigned char info[128];
        long child = argc > 1 ? parse_pid(argv[1]) : -1;

        if (argc > 1 && child < 0)
                return 127;
        /* Orphans of the sandbox are reparented to us even without a pid namespace. */
        sys2(SYS_prctl, PR_SET_CHILD_SUBREAPER_, 1);
        /* Non-dumpable: the sandbox's processes may not ptrace us or open /proc/1/exe
         * and friends without CAP_SYS_PTRACE. */
        sys2(SYS_prctl, PR_SET_DUMPABLE_, 0);
        sys4(SYS_rt_sigprocmask, SIG_SETMASK_, &set, 0, sizeof(set));

        for (long sig = SIGCHLD_;;) {
                if (sig == SIGCHLD_) {
                        for (;;) {
                                int st = 0;
                                long p = sys4(SYS_wait4, -1, &st, WNOHANG_, 0);

                                if (p <= 0)
                                        break;
                                if (p == child) /* our exit kills what is left in the pid ns */
                                        return (st & 0x7f) == 0 ? (st >> 8) & 0xff
                                                                : 128 + (st & 0x7f);
                        }
                } else if (sig > 0) {
                        if (child < 0)
                                return 0; /* nothing to run: a stop request ends the pause */
                        sys2(SYS_kill, child, sig);
                }
                sig = sys4(SYS_rt_sigtimedwait, &set, info, 0, sizeof(set));
        }
}

#ifdef ISO_INIT_FREESTANDING
static void cmain(long *sp)
{
        int argc = (int)sp[0];
        char **argv = (char **)(sp + 1);

        exit_group(run(argc, argv));
}
#else
int main(int argc, char **argv)
{
        return run(argc, argv);
}
#endif
