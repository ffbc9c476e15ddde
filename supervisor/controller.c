/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The controller (DESIGN.md §3): the lifecycle of a sandbox's runtime state.
 *
 *   created --start--> running --stop--> stopping --exit--> stopped --shutdown--> created
 *
 * Exits are seen through the init's pidfd (waitid(P_PIDFD) gives the exact status)
 * and, for OOM kills and processes below the init, through the BPF exit watcher.
 * Teardown (Shutdown, Delete) is asynchronous: cgroup.kill, then wait for the init
 * to be reaped and for "populated 0" in cgroup.events (EPOLLPRI), then remove.
 */
#include "supervisor/sandboxd-internal.h"
#include "supervisor/crashpoint-internal.h"
#include "supervisor/adopt-internal.h"
#include "supervisor/spawner-internal.h"
#include "supervisor/tasks-internal.h"

#include <sys/wait.h> /* before common/syscall.h, which defines P_PIDFD if glibc does not */

#include "bpf/exitwatch.h"
#include "cgroups/cgroups.h"
#include "common/log.h"
#include "common/syscall.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct cg_root *sup_cgroot;
struct exitwatch *sup_exitwatch;
char sup_exitwatch_reason[256];
int sup_run_dirfd = -EBADF;
static struct sup_watch ew_watch;
static uint64_t exitwatch_dropped_seen;
/* The exit watcher reports pids of the initial pid namespace (proc_ns_operations: its inode
 * is PROC_PID_INIT_INO); only there are they the daemon's own pids. */
static bool sup_in_initial_pidns;
#define PROC_PID_INIT_INO 0xEFFFFFFCU

int sup_wait_status_to_shell_form(int code, int status)
{
        if (code == CLD_EXITED)
                return status;
        return 128 + status; /* CLD_KILLED, CLD_DUMPED */
}

/* ---- exits ------------------------------------------------------------------------------- */

static void teardown_maybe_finish(struct sup_sandbox *sb);

/* The sandbox's init exited with shell_status: record it and answer the waiters.  This runs
 * at the first of two signs.  The exit watcher's event comes from the init's own exit, before
 * the kernel tears its namespaces down; the pidfd turns readable only after that teardown,
 * one or more milliseconds later on this kind of host.  The second sign only reaps (below). */
static void sandbox_exited(struct sup_sandbox *sb, int shell_status)
{
        char when[SBX_RFC3339_MAX];

        if (sb->exited)
                return;
        sup_timer_disarm(&sb->stop_timer);
        sb->exited = true;
        sb->exit_status = shell_status;
        sb->exited_at = sbx_now_realtime_ns();
        sb->state = SUP_STATE_STOPPED;
        /* What the sandbox wrote before exiting is in the pipe: copy it before anyone
         * waiting for the exit reads the log. */
        sup_log_drain(sb);
        (void)sup_statefile_write(sb);
        log_info("sandbox %s/%s: exited with status %d at %s%s", sb->ns, sb->id, shell_status,
                 sbx_format_rfc3339(sb->exited_at, when), sb->oom_killed ? " (OOM kill)" : "");
        sup_issue7_on_sandbox_exited(sb);
        sup_sandbox_notify(sb, SUP_WAKE_EXITED);
        if (sb->tearing_down)
                teardown_maybe_finish(sb);
}

/* The init is reaped (or, re-adopted, gone): its pidfd is done with.  A teardown waits for
 * this as well as for the empty cgroup, so no zombie is left behind. */
static void sandbox_reaped(struct sup_sandbox *sb, int shell_status, bool exact)
{
        sup_loop_del(&sb->pid_watch);
        sb->pidfd = safe_close(sb->pidfd);
        if (!sb->exited) {
                sandbox_exited(sb, shell_status);
        } else if (exact && shell_status != sb->exit_status) {
                /* Not expected (the init is single-threaded): the reaped status wins. */
                log_warning("sandbox %s/%s: exit watcher said status %d, waitid says %d", sb->ns,
                            sb->id, sb->exit_status, shell_status);
                sb->exit_status = shell_status;
                (void)sup_statefile_write(sb);
        }
        if (sb->tearing_down)
                teardown_maybe_finish(sb);
}

/* Reaps the init if it is a zombie: 1 if it was, 0 if it still runs. */
static int try_reap(struct sup_sandbox *sb)
{
        siginfo_t si = {0};
        int st = 255;

        if (waitid((idtype_t)P_PIDFD, sb->pidfd, &si, WEXITED | WNOHANG) < 0) {
                if (errno == ECHILD) {
                        /* Re-adopted after a restart (issue #7): not our child, so waitid()
                         * says ECHILD whether or not it has exited; its pidfd tells (readable
                         * once it has).  The exit watcher wrote the status before the pidfd
                         * became readable; without it the status is unknown (st = -1, the
                         * reason is kept). */
                        struct pollfd pfd = {.fd = sb->pidfd, .events = POLLIN};

                        if (poll(&pfd, 1, 0) <= 0)
                                return 0; /* still running: its pidfd calls again */
                        sup_controller_drain_exitwatch();
                        if (!sb->exited)
                                (void)sup_adopted_exit_status(sb, &st);
                } else {
                        log_error("sandbox %s/%s: waitid(pidfd): %s", sb->ns, sb->id,
                                  strerror(errno));
                }
                sandbox_reaped(sb, st, false);
                return 1;
        }
        if (si.si_pid == 0)
                return 0;
        sandbox_reaped(sb, sup_wait_status_to_shell_form(si.si_code, si.si_status), true);
        return 1;
}

static void on_pidfd(struct sup_watch *w, uint32_t events)
{
        struct sup_sandbox *sb =
                (struct sup_sandbox *)((char *)w - offsetof(struct sup_sandbox, pid_watch));

        (void)try_reap(sb);
}

int sup_controller_watch_pidfd(struct sup_sandbox *sb)
{
        sb->pid_watch.cb = on_pidfd;
        return sup_loop_add(sb->pidfd, EPOLLIN, &sb->pid_watch);
}

static int on_exitwatch_event(const struct exitwatch_event *ev, void *userdata)
{
        struct sup_sandbox *sb;

        sup_exit_on_watcher_event(ev);
        sb = sup_sandbox_find_cgroup(ev->watched_id);
        if (sb)
                sup_controller_exit_event(sb, ev);
        else
                sup_controller_start_early_event(ev);
        return 0;
}

void sup_controller_exit_event(struct sup_sandbox *sb, const struct exitwatch_event *ev)
{
        if (ev->type == EXITWATCH_EVENT_EXIT) {
                /* Answer Wait at the sandbox's exit itself, not after its pidfd.  When the
                 * spec has a process, sandbox-init's first child (pid 2 of the sandbox's new
                 * pid namespace) is that process, and the init exits with its status (code,
                 * or 128 + signal) as soon as it has reaped it; otherwise the init's own
                 * exit is the sandbox's.  Either comes before the init's pidfd turns readable,
                 * which waits for the teardown of the namespaces.  The event's pids are the
                 * initial pid namespace's: only a daemon living there compares them. */
                bool main = ev->tgid == sb->pid ||
                            (sb->main_is_first_child && ev->ns_first_child && ev->ppid == sb->pid);

                if (main && ev->group_dead && sup_in_initial_pidns && sb->pidfd >= 0 &&
                    !sb->exited) {
                        log_debug("sandbox %s/%s: exit of %s (pid %d) from the exit watcher, "
                                  "%llu us after it",
                                  sb->ns, sb->id, ev->tgid == sb->pid ? "its init" : "its process",
                                  (int)ev->tgid,
                                  (unsigned long long)((sbx_now_monotonic_ns() - ev->timestamp_ns) /
                                                       1000));
                        sandbox_exited(sb, sup_wait_status_to_shell(ev->exit_status));
                }
                return;
        }
        sb->oom_killed = true;
        sb->oom_kills++;
        log_warning("sandbox %s/%s: OOM killer chose pid %d (%s), anon rss %llu KiB", sb->ns,
                    sb->id, (int)ev->tgid, ev->comm, (unsigned long long)ev->oom.anon_rss_kb);
        (void)sup_statefile_write(sb);
        sup_issue7_on_oom(sb, ev);
}

static void on_exitwatch(struct sup_watch *w, uint32_t events)
{
        static uint64_t dropped_checked_at;
        int r = exitwatch_consume(sup_exitwatch, on_exitwatch_event, NULL);
        uint64_t dropped, now;

        if (r < 0)
                log_warning("exit watcher: %s", strerror(-r));
        /* Losses are rare and only logged: their per-CPU counters (a bpf syscall) are read
         * at most once a second, not on the way from every exit to its Wait. */
        now = sbx_now_monotonic_ns();
        if (now - dropped_checked_at < NSEC_PER_SEC)
                return;
        dropped_checked_at = now;
        dropped = exitwatch_dropped(sup_exitwatch);
        if (dropped != exitwatch_dropped_seen) {
                /* Exits are still seen through pidfds; only OOM reports may be missing. */
                log_warning("exit watcher: %llu events lost (ring buffer full)",
                            (unsigned long long)(dropped - exitwatch_dropped_seen));
                exitwatch_dropped_seen = dropped;
        }
}

void sup_controller_drain_exitwatch(void)
{
        if (sup_exitwatch)
                on_exitwatch(NULL, 0);
}

/* ---- stop -------------------------------------------------------------------------------- */

static void on_stop_timer(struct sup_timer *t)
{
        struct sup_sandbox *sb =
                (struct sup_sandbox *)((char *)t - offsetof(struct sup_sandbox, stop_timer));
        struct sbx_error err = {0};

        if (sb->exited || !sb->cg)
                return;
        log_info("sandbox %s/%s: stop timeout reached, killing its cgroup", sb->ns, sb->id);
        if (cg_sandbox_kill(sb->cg, &err) < 0)
                log_error("sandbox %s/%s: %s", sb->ns, sb->id, err.message);
        sb->kill_sent = true;
}

int sup_controller_stop(struct sup_sandbox *sb, uint64_t timeout_ns, struct sbx_error *err)
{
        uint64_t deadline = sbx_now_monotonic_ns() + timeout_ns;

        if (sb->exited)
                return 0;
        if (sb->state == SUP_STATE_RUNNING) {
                /* pidfd_send_signal: the pidfd pins this very process, never a reused pid. */
                if (sbx_pidfd_send_signal(sb->pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
                        return sbx_fail_errno(err, -errno, "SIGTERM to the sandbox init");
                sb->state = SUP_STATE_STOPPING;
                (void)sup_statefile_write(sb);
                log_info("sandbox %s/%s: stopping (SIGTERM, kill after %llu s)", sb->ns, sb->id,
                         (unsigned long long)(timeout_ns / NSEC_PER_SEC));
        }
        if (timeout_ns == 0) {
                sup_timer_disarm(&sb->stop_timer);
                on_stop_timer(&sb->stop_timer);
                return 0;
        }
        /* A later Stop may bring the kill forward, never back. */
        if (!sb->stop_timer.armed || deadline < sb->stop_timer.when) {
                sb->stop_timer.cb = on_stop_timer;
                sup_timer_arm(&sb->stop_timer, deadline);
        }
        return 0;
}

/* ---- teardown ---------------------------------------------------------------------------- */

/* RUN/NS/ID/netns goes first, at the start of a teardown, while the kernel is still busy
 * with the sandbox's exit, and the state file that says the sandbox exists stays until the
 * end (a daemon killed in between finds it and tears down again; a missing mount is no
 * error then).  The unmount runs on a spawner thread: it waits for an expedited RCU grace
 * period (namespace_unlock()), 0.3 ms p50 here while the init exits on the other CPU, which
 * the loop's other clients need not wait for.  The teardown finishes once it is done. */
struct netns_umount {
        struct sup_spawn_job job; /* first: done() gets &job back */
        struct sup_sandbox *sb;
        int error;
        char path[4096];
};

/* 0 or an errno.  Detach: a process that entered the netns through this file keeps it. */
static int umount_netns(const char *path)
{
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return errno;
        return 0;
}

static void on_netns_umount_work(struct sup_spawn_job *job)
{
        struct netns_umount *u = (struct netns_umount *)job;

        u->error = umount_netns(u->path);
}

static void netns_unmounted(struct sup_sandbox *sb, const char *path, int error)
{
        if (error)
                log_warning("sandbox %s/%s: umount %s: %s", sb->ns, sb->id, path, strerror(error));
        if (sb->run_dirfd >= 0)
                (void)unlinkat(sb->run_dirfd, "netns", 0);
}

static void on_netns_umount_done(struct sup_spawn_job *job)
{
        struct netns_umount *u = (struct netns_umount *)job;
        struct sup_sandbox *sb = u->sb;

        netns_unmounted(sb, u->path, u->error);
        free(u);
        sb->netns_unmounting = false;
        teardown_maybe_finish(sb);
}

static void rm_netns(struct sup_sandbox *sb)
{
        struct netns_umount *u;
        char path[4096];

        if (!sb->netns_mounted) {
                netns_unmounted(sb, NULL, 0);
                return;
        }
        sb->netns_mounted = false;
        snprintf(path, sizeof(path), "%s/%s/%s/netns", sup_config.run_dir, sb->ns, sb->id);
        u = calloc(1, sizeof(*u));
        if (!u) { /* then here, on the loop */
                netns_unmounted(sb, path, umount_netns(path));
                return;
        }
        u->sb = sb;
        snprintf(u->path, sizeof(u->path), "%s", path);
        u->job.work = on_netns_umount_work;
        u->job.done = on_netns_umount_done;
        sb->netns_unmounting = true;
        sup_spawner_submit(&u->job);
}

/* The rest of RUN/NS/ID, at the end of a teardown (rm_netns() ran at its start). */
static int rm_run_entry(struct sup_sandbox *sb)
{
        _cleanup_close_ int nsfd = -EBADF;

        if (sb->run_dirfd >= 0) {
                (void)unlinkat(sb->run_dirfd, "log", 0);
                (void)unlinkat(sb->run_dirfd, "out", 0);
                (void)unlinkat(sb->run_dirfd, "state", 0);
                /* No state.tmp: sup_statefile_write() leaves none, and one left by a
                 * crash is removed at the next start (readopt.c). */
        }
        nsfd = openat(sup_run_dirfd, sb->ns, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (nsfd < 0)
                return -errno;
        if (unlinkat(nsfd, sb->id, AT_REMOVEDIR) < 0 && errno != ENOENT)
                log_warning("sandbox %s/%s: rmdir %s/%s/%s: %s", sb->ns, sb->id, sup_config.run_dir,
                            sb->ns, sb->id, strerror(errno));
        /* The namespace directory goes when its last sandbox goes (ENOTEMPTY otherwise). */
        (void)unlinkat(sup_run_dirfd, sb->ns, AT_REMOVEDIR);
        return 0;
}

static void teardown_maybe_finish(struct sup_sandbox *sb)
{
        struct sbx_error err = {0};
        uint64_t t0, t_cg, t_run;
        int r;

        if (!sb->exited || sb->pidfd >= 0)
                return; /* not exited, or not reaped yet: its pidfd calls again */
        if (sb->netns_unmounting)
                return; /* on_netns_umount_done() calls again */
        t0 = sbx_now_monotonic_ns();
        if (sb->cg) {
                r = cg_sandbox_populated(sb->cg);
                if (r > 0) {
                        log_debug("sandbox %s/%s: waiting for its cgroup to empty", sb->ns, sb->id);
                        return; /* EPOLLPRI on cgroup.events calls again */
                }
                sup_loop_del(&sb->cg_watch);
                if (sup_exitwatch)
                        (void)exitwatch_unwatch(sup_exitwatch, sb->cgroup_id, NULL);
                if (cg_sandbox_remove(sb->cg, &err) < 0)
                        log_error("sandbox %s/%s: removing its cgroup: %s", sb->ns, sb->id,
                                  err.message);
                SUP_CRASH_POINT("shutdown-cgroup-gone");
        }
        t_cg = sbx_now_monotonic_ns();
        sup_issue7_on_sandbox_gone(sb);
        (void)rm_run_entry(sb);
        SUP_CRASH_POINT("shutdown-run-gone");
        t_run = sbx_now_monotonic_ns();
        log_info("sandbox %s/%s: shut down (%llu us: waiting for the exit %llu, cgroup %llu, run "
                 "directory %llu)",
                 sb->ns, sb->id, (unsigned long long)((t_run - sb->teardown_at) / 1000),
                 (unsigned long long)((t0 - sb->teardown_at) / 1000),
                 (unsigned long long)((t_cg - t0) / 1000),
                 (unsigned long long)((t_run - t_cg) / 1000));
        sup_issue7_on_sandbox_stopped(sb);
        sup_sandbox_notify(sb, SUP_WAKE_TORNDOWN);
        sup_sandbox_free(sb);
}

static void on_cgroup_events(struct sup_watch *w, uint32_t events)
{
        struct sup_sandbox *sb =
                (struct sup_sandbox *)((char *)w - offsetof(struct sup_sandbox, cg_watch));

        teardown_maybe_finish(sb);
}

int sup_controller_teardown(struct sup_sandbox *sb)
{
        struct sbx_error err = {0};

        if (sb->tearing_down)
                return 0;
        sb->tearing_down = true;
        sb->teardown_at = sbx_now_monotonic_ns();
        sup_timer_disarm(&sb->stop_timer);
        if (sb->cg) {
                /* Usually the sandbox has exited already (a Wait came first) and its cgroup
                 * is empty: then there is nothing to kill and nothing to wait for. */
                if (cg_sandbox_populated(sb->cg) != 0) {
                        if (cg_sandbox_kill(sb->cg, &err) < 0)
                                log_error("sandbox %s/%s: %s", sb->ns, sb->id, err.message);
                        sb->cg_watch.cb = on_cgroup_events;
                        if (sup_loop_add(cg_sandbox_events_fd(sb->cg), EPOLLPRI, &sb->cg_watch) < 0)
                                log_error("sandbox %s/%s: cannot watch cgroup.events: %s", sb->ns,
                                          sb->id, strerror(errno));
                }
                SUP_CRASH_POINT("shutdown-killed");
        } else if (!sb->exited && sb->pidfd >= 0) {
                (void)sbx_pidfd_send_signal(sb->pidfd, SIGKILL, NULL, 0);
        }
        rm_netns(sb);
        if (sb->pidfd >= 0) {
                /* The init may already be a zombie whose pidfd event is queued. */
                (void)try_reap(sb);
                if (sb->dead)
                        return 1;
        }
        teardown_maybe_finish(sb);
        return sb->dead ? 1 : 0;
}

/* ---- start-up ---------------------------------------------------------------------------- */

static int count_leftover(const char *ns, const char *id, void *userdata)
{
        (*(unsigned *)userdata)++;
        log_notice("sandbox %s/%s: cgroup left by an earlier daemon; left alone", ns, id);
        return 0;
}

/* True when /proc/self/cgroup puts us at "/" of the cgroup2 hierarchy; then ret gets
 * "<cgroup2 mount>/sandboxd". */
static bool own_cgroup_is_top(char *ret, size_t size)
{
        _cleanup_free_ char *cg = NULL, *mi = NULL;
        const char *p;

        if (sbx_read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &cg, NULL) < 0)
                return false;
        p = strncmp(cg, "0::", 3) == 0 ? cg : strstr(cg, "\n0::");
        if (!p)
                return false;
        p += p == cg ? 3 : 4;
        if (strncmp(p, "/\n", 2) != 0 && strcmp(p, "/") != 0)
                return false;
        if (sbx_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1024 * 1024, &mi, NULL) < 0)
                return false;
        /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - cgroup2 SOURCE SUPEROPTS" */
        for (char *line = strtok(mi, "\n"); line; line = strtok(NULL, "\n")) {
                char root[512], mnt[512];

                if (!strstr(line, " - cgroup2 "))
                        continue;
                if (sscanf(line, "%*s %*s %*s %511s %511s", root, mnt) != 2 ||
                    strcmp(root, "/") != 0)
                        continue;
                snprintf(ret, size, "%s/sandboxd", mnt);
                return true;
        }
        return false;
}

int sup_controller_init(struct sbx_error *err)
{
        static char fallback_root[600];
        bool fallback = false;
        struct sbx_error e = {0};
        unsigned leftovers = 0;
        int r;

        sup_run_dirfd = open(sup_config.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sup_run_dirfd < 0)
                return sbx_fail_errno(err, -errno, "open %s", sup_config.run_dir);
        r = sup_spawner_init(err);
        if (r < 0)
                return r;
        struct stat st;
        sup_in_initial_pidns =
                stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == PROC_PID_INIT_INO;

        if (!sup_config.cgroup_root && own_cgroup_is_top(fallback_root, sizeof(fallback_root))) {
                /* Started from the top of the hierarchy (a login shell on a host without
                 * systemd's unified delegation, `make run`): our own cgroup is the host's
                 * root, which we never manage.  Use a "sandboxd" child of it instead, as a
                 * systemd unit would get /system.slice/sandboxd.service. */
                log_notice("own cgroup is the cgroup2 root; using %s", fallback_root);
                sup_config.cgroup_root = fallback_root;
                fallback = true;
        }
        r = cg_root_open(sup_config.cgroup_root, sup_config.cgroup_root ? CG_ROOT_CREATE : 0,
                         &sup_cgroot, err);
        if (r < 0)
                return sbx_error_prefix(err, r, "cgroup root");
        if (!sup_config.cgroup_root && !fallback) {
                /* Our own cgroup (systemd Delegate=yes): move into the supervisor leaf so
                 * the root may hand controllers down (no internal processes). */
                if (cg_root_move_self_to_supervisor(sup_cgroot, &e) < 0)
                        log_warning("cgroup root %s: %s", cg_root_path(sup_cgroot), e.message);
        }
        log_info("cgroup root %s", cg_root_path(sup_cgroot));
        (void)cg_root_for_each_sandbox(sup_cgroot, count_leftover, &leftovers, NULL);

        sbx_error_clear(&e);
        r = exitwatch_open(sup_config.bpf_dir, 0, &sup_exitwatch, &e);
        if (r < 0) {
                snprintf(sup_exitwatch_reason, sizeof(sup_exitwatch_reason), "%s", e.message);
                log_warning("BPF exit watcher not used (%s): exits through pidfds only, OOM "
                            "kills not reported",
                            e.message);
                sup_exitwatch = NULL;
        } else {
                exitwatch_dropped_seen = exitwatch_dropped(sup_exitwatch);
                ew_watch.cb = on_exitwatch;
                r = sup_loop_add(exitwatch_fd(sup_exitwatch), EPOLLIN, &ew_watch);
                if (r < 0)
                        return sbx_fail_errno(err, r, "epoll_ctl(exit watcher)");
                const struct exitwatch_open_info *info = exitwatch_open_info(sup_exitwatch);
                if (info->replaced_pins)
                        log_notice("BPF exit watcher: replaced the pins at %s (%s); exits "
                                   "recorded in the old ring buffer are lost",
                                   sup_config.bpf_dir, info->replaced_reason);
                log_info("BPF exit watcher %s at %s (group exits from %s%s%s)",
                         info->reused_pins ? "re-used its pins" : "pinned", sup_config.bpf_dir,
                         info->group_dead_source, info->fallback ? ", raw tracepoints" : "",
                         info->oom_events ? "" : ", no OOM events");
        }
        return 0;
}

static void free_one(struct sup_sandbox *sb, void *userdata)
{
        /* Closing our fds leaves the sandbox running (re-adopted on the next start). */
        sup_sandbox_free(sb);
}

void sup_controller_done(void)
{
        /* No Start in flight: main() drained them (or none was submitted). */
        sup_spawner_drain();
        sup_spawner_done();
        sup_sandbox_for_each(free_one, NULL);
        sup_spec_cache_clear();
        sup_loop_del(&ew_watch);
        exitwatch_close(sup_exitwatch);
        sup_exitwatch = NULL;
        cg_root_free(sup_cgroot);
        sup_cgroot = NULL;
        sup_run_dirfd = safe_close(sup_run_dirfd);
}
