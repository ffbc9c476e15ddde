/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Raw system calls that glibc 2.36 does not wrap (or wraps only partly), in
 * the manner of crun's syscall header.  All return what the kernel returns:
 * -1 with errno set on failure.
 */

#include <linux/sched.h> /* struct clone_args, CLONE_* (CLONE_INTO_CGROUP: Linux 5.7) */
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static inline pid_t sbx_clone3(struct clone_args *args, size_t size)
{
        return (pid_t)syscall(SYS_clone3, args, size);
}

static inline int sbx_pidfd_open(pid_t pid, unsigned int flags)
{
        return (int)syscall(SYS_pidfd_open, pid, flags);
}

static inline int sbx_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags);
}

static inline int sbx_pidfd_getfd(int pidfd, int targetfd, unsigned int flags)
{
        return (int)syscall(SYS_pidfd_getfd, pidfd, targetfd, flags);
}

static inline int sbx_pivot_root(const char *new_root, const char *put_old)
{
        return (int)syscall(SYS_pivot_root, new_root, put_old);
}
