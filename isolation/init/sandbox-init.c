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
 * Built statically, without sanitizers: it runs in any root file system.
 */
#include "isolation/sync-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(int step, int error)
{
        struct iso_sync_msg m = {.step = step, .index = 0, .error = error};

        (void)!send(ISO_SYNC_FD, &m, sizeof(m), MSG_NOSIGNAL);
}

int main(int argc, char *argv[])
{
        sigset_t set, old;
        pid_t child = -1;
        int status = 0;

        /* Orphans of the sandbox are reparented to us even without a pid namespace. */
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        /* Non-dumpable: the sandbox's processes may not ptrace us or open /proc/1/exe
         * and friends without CAP_SYS_PTRACE. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, &old);
        report(ISO_STEP_INIT_STARTED, 0);

        if (argc > 1) {
                /* vfork: the child only execs (or reports and exits); no page tables to
                 * copy, as posix_spawn(3) does it. */
                child = vfork();
                if (child < 0) {
                        report(ISO_STEP_INIT, errno);
                        return 127;
                }
                if (child == 0) {
                        sigprocmask(SIG_SETMASK, &old, NULL);
                        fcntl(ISO_SYNC_FD, F_SETFD, FD_CLOEXEC);
                        execvp(argv[1], argv + 1);
                        report(ISO_STEP_EXEC, errno);
                        _exit(errno == ENOENT ? 127 : 126);
                }
        }
        close(ISO_SYNC_FD);

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&set, &si);

                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        if (child < 0)
                                return 0; /* nothing to run: a stop request ends the pause */
                        kill(child, sig);
                        continue;
                }
                for (;;) {
                        int st;
                        pid_t p = waitpid(-1, &st, WNOHANG);

                        if (p <= 0)
                                break;
                        if (p == child) {
                                status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                                /* Our exit kills what is left in the pid namespace. */
                                return status;
                        }
                }
        }
}
