/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tasks: the daemon's side (see tasks-internal.h).
 *
 * A task is a child of the daemon (the spawn makes it so: the intermediate
 * process that joins the sandbox's namespaces creates it with CLONE_PARENT),
 * so its exit status is exact through waitid(P_PIDFD).  A task re-adopted
 * after a restart is no longer our child (it was reparented to the sandbox's
 * init, which reaps it): its status then comes from the exit watcher, or is
 * reported unknown with the reason.
 *
 * Output goes through a pipe that the loop copies into tasks/TID.log, capped at
 * SUP_TASK_LOG_MAX like the sandbox log, so that a task never blocks on its
 * output and never fills the disk.
 */
#include "supervisor/tasks-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/syscall.h"
#include "common/util.h"
#include "supervisor/adopt-internal.h"
#include "supervisor/events-internal.h"

static struct sup_task_group *groups;

struct sup_task_group *sup_task_group_find(const char *ns, const char *id)
{
        for (struct sup_task_group *g = groups; g; g = g->next)
                if (strcmp(g->ns, ns) == 0 && strcmp(g->id, id) == 0)
                        return g;
        return NULL;
}

struct sup_task_group *sup_task_group_get(const char *ns, const char *id)
{
        struct sup_task_group *g = sup_task_group_find(ns, id);

        if (g)
                return g;
        g = calloc(1, sizeof(*g));
        if (!g)
                return NULL;
        snprintf(g->ns, sizeof(g->ns), "%s", ns);
        snprintf(g->id, sizeof(g->id), "%s", id);
        g->next = groups;
        groups = g;
        return g;
}

struct sup_task *sup_task_find(struct sup_task_group *g, const char *tid)
{
        if (!g)
                return NULL;
        for (struct sup_task *t = g->tasks; t; t = t->next)
                if (strcmp(t->id, tid) == 0)
                        return t;
        return NULL;
}

static void group_free(struct sup_task_group *g)
{
        for (struct sup_task_group **p = &groups; *p; p = &(*p)->next)
                if (*p == g) {
                        *p = g->next;
                        break;
                }
        free(g);
}

/* ---- files --------------------------------------------------------------- */

int sup_task_dir_open(const char *ns, const char *id, bool create)
{
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/%s/%s/tasks", sup_config.run_dir, ns, id);
        if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int sup_task_write_state(const struct sup_task *t)
{
        _cleanup_close_ int dfd = sup_task_dir_open(t->group->ns, t->group->id, false);
        char pid[16], st[24], cgid[24], started[SBX_RFC3339_MAX], exited[SBX_RFC3339_MAX],
                status[16], name[96], cgpath[PATH_MAX];
        _cleanup_free_ char *args = NULL;
        struct sbx_error err = {0};
        struct sup_sandbox *sb = sup_sandbox_find(t->group->ns, t->group->id);

        if (dfd < 0)
                return dfd;
        snprintf(pid, sizeof(pid), "%d", (int)t->pid);
        snprintf(st, sizeof(st), "%" PRIu64, t->start_time);
        snprintf(cgid, sizeof(cgid), "%" PRIu64, t->cgroup_id);
        snprintf(status, sizeof(status), "%d", t->exit_status);
        snprintf(name, sizeof(name), "%s.state", t->id);
        snprintf(cgpath, sizeof(cgpath), "%s/tasks/%s", sb && sb->cg ? cg_sandbox_path(sb->cg) : "",
                 t->id);
        if (t->args)
                args = json_dumps(t->args, JSON_COMPACT);
        const char *keys[] = {"ID",          "SANDBOX",     "NAMESPACE", "STATE",      "PID",
                              "START_TIME",  "CGROUP",      "CGROUP_ID", "STARTED_AT", "EXITED_AT",
                              "EXIT_STATUS", "EXIT_REASON", "ARGS"};
        const char *values[] = {
                t->id,
                t->group->id,
                t->group->ns,
                t->state == SUP_TASK_RUNNING ? "running" : "exited",
                pid,
                st,
                cgpath,
                cgid,
                t->started_at ? sbx_format_rfc3339(t->started_at, started) : "",
                t->exited_at ? sbx_format_rfc3339(t->exited_at, exited) : "",
                t->state == SUP_TASK_EXITED && t->exit_status >= 0 ? status : "",
                t->exit_reason,
                args ? args : "",
        };
        int r = sup_kv_write_at(dfd, name, keys, values, ELEMENTSOF(keys), &err);
        if (r < 0)
                log_warning("sandbox %s/%s: task %s: %s", t->group->ns, t->group->id, t->id,
                            err.message);
        return r;
}

/* ---- output -------------------------------------------------------------- */

static void task_drain(struct sup_task *t)
{
        char buf[65536];
        bool got = false;

        while (t->out_fd >= 0) {
                ssize_t n = read(t->out_fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        n = 0;
                }
                if (n == 0) {
                        sup_loop_del(&t->out_watch);
                        t->out_fd = safe_close(t->out_fd);
                        t->log_fd = safe_close(t->log_fd);
                        break;
                }
                if (t->log_capped || t->log_fd < 0)
                        continue;
                size_t keep = (size_t)n;
                if (t->log_size + keep > SUP_TASK_LOG_MAX)
                        keep = SUP_TASK_LOG_MAX - t->log_size;
                if (keep > 0 && sbx_write_all(t->log_fd, buf, keep) == 0) {
                        t->log_size += keep;
                        got = true;
                }
                if (keep < (size_t)n) {
                        char line[128];
                        int m = snprintf(line, sizeof(line),
                                         "\n[sandboxd: log limit of %d bytes reached, further "
                                         "output discarded]\n",
                                         SUP_TASK_LOG_MAX);
                        (void)sbx_write_all(t->log_fd, line, m);
                        t->log_capped = true;
                        got = true;
                }
        }
        /* Followers of the task's log (api-tasks.c) read what was added. */
        if (got) {
                struct sup_sandbox *sb = sup_sandbox_find(t->group->ns, t->group->id);
                if (sb)
                        sup_sandbox_notify(sb, SUP_WAKE_TASK);
        }
}

static void out_cb(struct sup_watch *w, uint32_t events)
{
        struct sup_task *t = (struct sup_task *)((char *)w - offsetof(struct sup_task, out_watch));
        task_drain(t);
}

/* ---- exits --------------------------------------------------------------- */

static void task_free_now(void *p)
{
        struct sup_task *t = p;

        json_decref(t->args);
        free(t);
}

/* Retires a task: out of the loop and its fds closed at once, its memory freed after the
 * loop's current batch, in which one of its watches may still be pending. */
static void task_free(struct sup_task *t)
{
        sup_loop_del(&t->pidfd_watch);
        sup_loop_del(&t->out_watch);
        safe_close(t->pidfd);
        safe_close(t->out_fd);
        safe_close(t->log_fd);
        sup_loop_defer_free(task_free_now, t);
}

static void task_exited(struct sup_task *t, int exit_status, const char *reason)
{
        char at[SBX_RFC3339_MAX];
        struct sup_sandbox *sb;

        if (t->state == SUP_TASK_EXITED)
                return;
        t->state = SUP_TASK_EXITED;
        t->exit_status = exit_status;
        if (!t->exited_at)
                t->exited_at = sbx_now_realtime_ns();
        snprintf(t->exit_reason, sizeof(t->exit_reason), "%s", reason ?: "");
        sup_loop_del(&t->pidfd_watch);
        t->pidfd = safe_close(t->pidfd);
        task_drain(t);
        (void)sup_task_write_state(t);

        if (exit_status >= 0)
                log_info("sandbox %s/%s: task %s (pid %d) exited with status %d", t->group->ns,
                         t->group->id, t->id, (int)t->pid, exit_status);
        else
                log_warning("sandbox %s/%s: task %s (pid %d) exited, status unknown: %s",
                            t->group->ns, t->group->id, t->id, (int)t->pid, t->exit_reason);

        json_t *f = json_pack("{s:i,s:s}", "pid", (int)t->pid, "exited_at",
                              sbx_format_rfc3339(t->exited_at, at));
        if (f) {
                json_object_set_new(f, "exit_status",
                                    exit_status >= 0 ? json_integer(exit_status) : json_null());
                if (exit_status < 0)
                        json_object_set_new(f, "reason", json_string(t->exit_reason));
        }
        sup_event_publish(SUP_EVENT_TASK_EXITED, t->group->ns, t->group->id, t->id, NULL, f);

        sb = sup_sandbox_find(t->group->ns, t->group->id);
        if (sb)
                sup_sandbox_notify(sb, SUP_WAKE_TASK);
}

/* Collects the exit status: waitid for our children, the exit watcher for
 * re-adopted tasks.  block: wait for it (the task was killed). */
static void task_reap(struct sup_task *t, bool block)
{
        siginfo_t si = {0};
        int ws;
        uint64_t at = 0;
        char why[200] = "";

        if (t->state == SUP_TASK_EXITED || t->pidfd < 0)
                return;
        if (!t->adopted) {
                if (waitid(P_PIDFD, t->pidfd, &si, WEXITED | (block ? 0 : WNOHANG)) == 0) {
                        if (si.si_pid == 0)
                                return; /* not yet */
                        task_exited(t, si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status,
                                    NULL);
                        return;
                }
                if (errno != ECHILD) {
                        log_warning("task %s: waitid: %m", t->id);
                        return;
                }
        }
        /* Not our child: the exit watcher has the status, if it is running. */
        int r = sup_exit_lookup(t->pid, t->start_time, t->cgroup_id, &ws, &at, why, sizeof(why));
        if (r > 0) {
                t->exited_at = at;
                task_exited(t, sup_wait_status_to_shell(ws), NULL);
                return;
        }
        if (!block) {
                /* The pidfd says it exited: it has (pidfd readiness follows the exit). */
                if (r == 0)
                        snprintf(why, sizeof(why),
                                 "re-adopted after a restart and the exit watcher recorded no "
                                 "exit for pid %d",
                                 (int)t->pid);
                task_exited(t, -1, why);
        }
}

static void pidfd_cb(struct sup_watch *w, uint32_t events)
{
        struct sup_task *t =
                (struct sup_task *)((char *)w - offsetof(struct sup_task, pidfd_watch));
        task_reap(t, false);
}

/* ---- creation ------------------------------------------------------------ */

int sup_task_register(struct sup_task_group *g, struct sup_task *t, int out_fd, int log_fd)
{
        int r;

        t->group = g;
        t->pidfd_watch.fd = -EBADF;
        t->out_watch.fd = -EBADF;
        t->out_fd = out_fd;
        t->log_fd = log_fd;
        if (t->pidfd >= 0) {
                t->pidfd_watch.cb = pidfd_cb;
                r = sup_loop_add(t->pidfd, EPOLLIN, &t->pidfd_watch);
                if (r < 0)
                        return r;
        }
        if (t->out_fd >= 0) {
                t->out_watch.cb = out_cb;
                r = sup_loop_add(t->out_fd, EPOLLIN, &t->out_watch);
                if (r < 0) {
                        sup_loop_del(&t->pidfd_watch);
                        return r;
                }
        }
        t->next = g->tasks;
        g->tasks = t;
        g->n_tasks++;
        return 0;
}

struct sup_task *sup_task_alloc(const char *tid)
{
        struct sup_task *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        snprintf(t->id, sizeof(t->id), "%s", tid);
        t->pidfd = -EBADF;
        t->out_fd = -EBADF;
        t->log_fd = -EBADF;
        t->pidfd_watch.fd = -EBADF;
        t->out_watch.fd = -EBADF;
        t->exit_status = -1;
        return t;
}

void sup_task_release(struct sup_task *t)
{
        if (t)
                task_free(t);
}

int sup_task_adopt(const char *ns, const char *id, const char *tid, pid_t pid, int pidfd,
                   uint64_t start_time, uint64_t cgroup_id, uint64_t started_at, int exit_status,
                   uint64_t exited_at, const char *exit_reason, const char *args_json,
                   struct sbx_error *err)
{
        struct sup_task_group *g = sup_task_group_get(ns, id);
        struct sup_task *t;
        int r;

        if (!g)
                return -ENOMEM;
        if (sup_task_find(g, tid))
                return sbx_fail(err, -EEXIST, "task %s adopted twice", tid);
        t = sup_task_alloc(tid);
        if (!t)
                return -ENOMEM;
        t->pid = pid;
        t->pidfd = pidfd;
        t->start_time = start_time;
        t->cgroup_id = cgroup_id;
        t->started_at = started_at;
        t->adopted = true;
        if (args_json && args_json[0])
                t->args = json_loads(args_json, 0, NULL);
        if (pidfd < 0) {
                t->state = SUP_TASK_EXITED;
                t->exit_status = exit_status;
                t->exited_at = exited_at;
                snprintf(t->exit_reason, sizeof(t->exit_reason), "%s", exit_reason ?: "");
        }
        /* Output written while no daemon ran waits in the task's FIFO. */
        int out_fd = -EBADF, log_fd = -EBADF;
        _cleanup_close_ int dfd = sup_task_dir_open(ns, id, false);
        if (dfd >= 0 && pidfd >= 0) {
                char name[96];
                struct stat st;
                snprintf(name, sizeof(name), "%s.out", tid);
                out_fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                snprintf(name, sizeof(name), "%s.log", tid);
                log_fd = openat(dfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
                if (log_fd >= 0 && fstat(log_fd, &st) == 0)
                        t->log_size = (uint64_t)st.st_size;
                if (out_fd < 0 || log_fd < 0) {
                        out_fd = safe_close(out_fd);
                        log_fd = safe_close(log_fd);
                }
        }
        r = sup_task_register(g, t, out_fd, log_fd);
        if (r < 0) {
                t->pidfd = -EBADF; /* the caller keeps it */
                task_free(t);
                return sbx_fail_errno(err, r, "watch task %s", tid);
        }
        return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

json_t *sup_task_to_json(const struct sup_task *t)
{
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:o,s:o}", "task_id", t->id, "sandbox_id",
                              t->group->id, "namespace", t->group->ns, "state",
                              t->state == SUP_TASK_RUNNING ? "running" : "exited", "pid",
                              (int)t->pid, "started_at", sup_json_time(t->started_at), "exited_at",
                              sup_json_time(t->exited_at));
        if (!j)
                return NULL;
        json_object_set_new(j, "exit_status",
                            t->state == SUP_TASK_EXITED && t->exit_status >= 0
                                    ? json_integer(t->exit_status)
                                    : json_null());
        if (t->state == SUP_TASK_EXITED && t->exit_status < 0)
                json_object_set_new(j, "exit_reason", json_string(t->exit_reason));
        json_object_set_new(j, "args", t->args ? json_incref(t->args) : json_array());
        json_object_set_new(j, "adopted", json_boolean(t->adopted));
        return j;
}

/* ---- controller hooks ---------------------------------------------------- */

void sup_tasks_on_sandbox_exited(const char *ns, const char *id)
{
        struct sup_task_group *g = sup_task_group_find(ns, id);

        if (!g)
                return;
        /* With a pid namespace the kernel kills every task when the init dies;
         * without one, we do, so that no task outlives its sandbox. */
        for (struct sup_task *t = g->tasks; t; t = t->next)
                if (t->state == SUP_TASK_RUNNING && t->pidfd >= 0)
                        (void)sbx_pidfd_send_signal(t->pidfd, SIGKILL, NULL, 0);
}

static void remove_task_dir(const char *ns, const char *id)
{
        int dfd = sup_task_dir_open(ns, id, false);
        DIR *d;
        struct dirent *de;
        char path[PATH_MAX];

        if (dfd < 0)
                return;
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return;
        }
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        snprintf(path, sizeof(path), "%s/%s/%s/tasks", sup_config.run_dir, ns, id);
        (void)rmdir(path);
}

void sup_tasks_on_sandbox_gone(const char *ns, const char *id)
{
        struct sup_task_group *g = sup_task_group_find(ns, id);
        struct sup_sandbox *sb;

        sup_task_spawn_forget(ns, id);
        if (!g) {
                remove_task_dir(ns, id);
                return;
        }
        for (struct sup_task *t = g->tasks; t; t = t->next)
                if (t->state == SUP_TASK_RUNNING && t->pidfd >= 0) {
                        (void)sbx_pidfd_send_signal(t->pidfd, SIGKILL, NULL, 0);
                        task_reap(t, true);
                        if (t->state == SUP_TASK_RUNNING)
                                task_exited(t, 128 + SIGKILL,
                                            "killed with the sandbox; exit not observed");
                }
        /* Waiters see the final statuses before the tasks go. */
        sb = sup_sandbox_find(ns, id);
        if (sb)
                sup_sandbox_notify(sb, SUP_WAKE_TASK);
        while (g->tasks) {
                struct sup_task *t = g->tasks;
                g->tasks = t->next;
                task_free(t);
        }
        group_free(g);
        remove_task_dir(ns, id);
}

void sup_tasks_done(void)
{
        sup_task_spawn_done();
        while (groups) {
                struct sup_task_group *g = groups;
                while (g->tasks) {
                        struct sup_task *t = g->tasks;
                        g->tasks = t->next;
                        task_free(t);
                }
                group_free(g);
        }
}

int sup_task_remove(struct sup_task_group *g, struct sup_task *t)
{
        _cleanup_close_ int dfd = sup_task_dir_open(g->ns, g->id, false);
        char name[96];

        if (dfd >= 0) {
                snprintf(name, sizeof(name), "%s.state", t->id);
                (void)unlinkat(dfd, name, 0);
                snprintf(name, sizeof(name), "%s.log", t->id);
                (void)unlinkat(dfd, name, 0);
                snprintf(name, sizeof(name), "%s.out", t->id);
                (void)unlinkat(dfd, name, 0);
        }
        for (struct sup_task **p = &g->tasks; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        g->n_tasks--;
        task_free(t);
        if (!g->tasks)
                group_free(g);
        return 0;
}

void sup_task_group_drop_if_empty(struct sup_task_group *g)
{
        if (g && !g->tasks)
                group_free(g);
}

/* ---- start --------------------------------------------------------------- */

int sup_task_start(struct sup_sandbox *sb, struct sup_task_group *g, const char *tid,
                   const json_t *process, const json_t *seccomp, struct sup_task **ret,
                   struct sbx_error *err)
{
        _cleanup_close_ int dfd = -EBADF, log_fd = -EBADF, cg_fd = -EBADF;
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF, pidfd = -EBADF;
        char name[96], fifo[96], at[SBX_RFC3339_MAX];
        uint64_t cgid = 0;
        struct sup_task *t;
        pid_t pid = 0;
        int r;

        dfd = sup_task_dir_open(g->ns, g->id, true);
        if (dfd < 0)
                return sbx_fail_errno(err, dfd, "create %s/%s/%s/tasks", sup_config.run_dir, g->ns,
                                      g->id);
        snprintf(name, sizeof(name), "%s.log", tid);
        log_fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
        if (log_fd < 0)
                return sbx_fail_errno(err, -errno, "create task log %s", name);
        /* The output goes through a FIFO in the run directory rather than a pipe: the task's
         * end is opened O_RDWR, so the task itself counts as a reader and never gets
         * EPIPE/SIGPIPE when no daemon reads (SIGKILLed, restarting); it blocks once the
         * FIFO is full instead.  The next daemon re-opens the FIFO and drains it. */
        snprintf(fifo, sizeof(fifo), "%s.out", tid);
        (void)unlinkat(dfd, fifo, 0);
        if (mkfifoat(dfd, fifo, 0600) < 0)
                return sbx_fail_errno(err, -errno, "mkfifo %s", fifo);
        out_r = openat(dfd, fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (out_r >= 0)
                out_w = openat(dfd, fifo, O_RDWR | O_CLOEXEC);
        if (out_r < 0 || out_w < 0) {
                r = -errno;
                (void)unlinkat(dfd, fifo, 0);
                return sbx_fail_errno(err, r, "open %s", fifo);
        }

        r = cg_task_create(sb->cg, tid, &cg_fd, &cgid, err);
        if (r < 0) {
                (void)unlinkat(dfd, name, 0);
                (void)unlinkat(dfd, fifo, 0);
                return r;
        }
        r = sup_task_spawn(sb, process, seccomp, cg_fd, out_w, &pid, &pidfd, err);
        if (r < 0) {
                struct sbx_error e2 = {0};
                (void)cg_task_remove(sb->cg, tid, &e2);
                (void)unlinkat(dfd, name, 0);
                (void)unlinkat(dfd, fifo, 0);
                return r;
        }
        out_w = safe_close(out_w);

        t = sup_task_alloc(tid);
        if (!t) {
                (void)sbx_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                (void)waitid(P_PIDFD, pidfd, &(siginfo_t){0}, WEXITED);
                return sbx_fail(err, -ENOMEM, "out of memory");
        }
        t->pid = pid;
        t->cgroup_id = cgid;
        t->started_at = sbx_now_realtime_ns();
        t->args = json_deep_copy(json_object_get(process, "args"));
        /* Our child: its /proc entry stays (as a zombie at worst) until we reap it. */
        (void)sup_proc_start_time(pid, &t->start_time);
        t->pidfd = TAKE_FD(pidfd);
        r = sup_task_register(g, t, out_r, log_fd);
        if (r < 0) {
                (void)sbx_pidfd_send_signal(t->pidfd, SIGKILL, NULL, 0);
                (void)waitid(P_PIDFD, t->pidfd, &(siginfo_t){0}, WEXITED);
                t->out_fd = t->log_fd = -EBADF; /* still owned by the cleanup variables */
                task_free(t);
                return sbx_fail_errno(err, r, "watch task");
        }
        out_r = -EBADF;
        log_fd = -EBADF;
        (void)sup_task_write_state(t);

        log_info("sandbox %s/%s: task %s started, pid %d", g->ns, g->id, tid, (int)pid);
        sup_event_publish(SUP_EVENT_TASK_STARTED, g->ns, g->id, tid, NULL,
                          json_pack("{s:i,s:s,s:O}", "pid", (int)pid, "started_at",
                                    sbx_format_rfc3339(t->started_at, at), "args",
                                    t->args ? t->args : json_null()));
        /* It may already have exited before we watched it: the pidfd is level-triggered,
         * so the loop sees it either way. */
        *ret = t;
        return 0;
}
