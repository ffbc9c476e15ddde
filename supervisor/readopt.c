/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Daemon start after a restart: turns what adopt.c found in the run directory
 * into sandboxes and tasks of this daemon (docs/api.md "Restarts").
 *
 *  1. The exit watcher's pinned ring buffer holds the exits that happened
 *     while no daemon ran; it is drained into the exit cache (adopt.c) first.
 *  2. sup_adopt_scan() decides for each state file: same process alive
 *     (adopted, with a pidfd), gone with an exact status (from 1), gone with an
 *     unknown status (with the reason), or damaged (reported, left alone).
 *  3. Each adopted or exited sandbox gets its struct back (cgroup re-opened,
 *     run directory, log file for appending); tasks likewise.
 *  4. What an interrupted Start or Shutdown left without a usable state file is
 *     removed: sandbox cgroups nobody owns are killed and removed, and run
 *     directories without a state file are cleaned.  Damaged entries are not
 *     touched: nothing is guessed about them.
 *  5. One daemon.started event says what was found.
 *
 * An adopted init or task is not our child any more (it was reparented when
 * the previous daemon died), so waitid() cannot give its status: its exit is
 * taken from the exit watcher (sup_adopted_exit_status()).
 */
#include "supervisor/adopt-internal.h"
#include "supervisor/events-internal.h"
#include "supervisor/tasks-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/exitwatch.h"
#include "cgroups/cgroups.h"
#include "common/log.h"
#include "common/util.h"

/* controller.c */
int sup_controller_watch_pidfd(struct sup_sandbox *sb);

/* Sandboxes whose exit status is unknown, with the reason; keyed by run_id. */
struct unknown_exit {
        struct unknown_exit *next;
        uint64_t run_id;
        char reason[256];
};
static struct unknown_exit *unknown_exits;

static void remember_unknown(const struct sup_sandbox *sb, const char *reason)
{
        struct unknown_exit *u = calloc(1, sizeof(*u));
        if (!u)
                return;
        u->run_id = sb->run_id;
        snprintf(u->reason, sizeof(u->reason), "%s", reason);
        u->next = unknown_exits;
        unknown_exits = u;
}

const char *sup_sandbox_exit_unknown_reason(const struct sup_sandbox *sb)
{
        for (struct unknown_exit *u = unknown_exits; u; u = u->next)
                if (u->run_id == sb->run_id)
                        return u->reason;
        return NULL;
}

int sup_adopted_exit_status(struct sup_sandbox *sb, int *ret_shell_status)
{
        int ws;
        uint64_t at = 0;
        char why[200] = "";
        int r = sup_exit_lookup(sb->pid, sb->start_time, sb->cgroup_id, &ws, &at, why, sizeof(why));

        if (r > 0) {
                *ret_shell_status = sup_wait_status_to_shell(ws);
                return 1;
        }
        if (r == 0)
                snprintf(why, sizeof(why),
                         "re-adopted after a restart and the exit watcher recorded no exit for "
                         "pid %d",
                         (int)sb->pid);
        remember_unknown(sb, why);
        log_warning("sandbox %s/%s: exit status unknown: %s", sb->ns, sb->id, why);
        *ret_shell_status = -1;
        return 0;
}

/* ---- step 1: drain the pinned ring buffer -------------------------------- */

static int record_exit(const struct exitwatch_event *ev, void *userdata)
{
        sup_exit_on_watcher_event(ev);
        return 0;
}

void sup_exit_on_watcher_event(const struct exitwatch_event *ev)
{
        uint64_t now_rt, now_mono, at;

        if (ev->type != EXITWATCH_EVENT_EXIT || !ev->group_dead)
                return;
        /* The event's time is CLOCK_MONOTONIC: convert to wall clock. */
        now_rt = sbx_now_realtime_ns();
        now_mono = sbx_now_monotonic_ns();
        at = ev->timestamp_ns && ev->timestamp_ns <= now_mono
                     ? now_rt - (now_mono - ev->timestamp_ns)
                     : now_rt;
        sup_exit_record(ev->tgid, 0, ev->cgroup_id, ev->watched_id, ev->exit_status, at);
}

/* ---- step 3 --------------------------------------------------------------- */

static int open_run_dir(const char *ns, const char *id)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s/%s", sup_config.run_dir, ns, id);
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static void parse_time(const struct sup_kv *kv, const char *key, uint64_t *ret)
{
        const char *v = sup_kv_get(kv, key);
        if (v && v[0])
                (void)sbx_parse_rfc3339(v, ret);
}

static int restore_sandbox(struct sup_adopt_sandbox *e, struct sup_sandbox **ret)
{
        struct sup_adopt_proc *p = &e->proc;
        struct sup_sandbox *sb;
        struct sbx_error err = {0};
        uint64_t created_at = 0;
        const char *netns;
        int r;

        if (sup_store_exists(e->ns, e->id, &created_at) < 0)
                log_warning("sandbox %s/%s: running but its record is gone from the store "
                            "(deleted during a restart); it will be shut down",
                            e->ns, e->id);
        r = sup_sandbox_new(e->ns, e->id, &sb);
        if (r < 0)
                return r;
        sb->created_at = created_at;
        sb->pid = p->pid;
        sb->start_time = p->start_time;
        parse_time(&p->state, "STARTED_AT", &sb->started_at);
        r = cg_sandbox_open(sup_cgroot, e->ns, e->id, &sb->cg, &err);
        if (r < 0) {
                sb->cg = NULL;
                log_warning("sandbox %s/%s: %s", e->ns, e->id, err.message);
        } else {
                sb->cgroup_id = cg_sandbox_id(sb->cg);
                if (sup_exitwatch)
                        (void)exitwatch_watch(sup_exitwatch, sb->cgroup_id, NULL);
        }
        sb->run_dirfd = open_run_dir(e->ns, e->id);
        netns = sup_kv_get(&p->state, "NETNS");
        sb->netns_mounted = netns && netns[0];
        /* Output written while no daemon ran waits in the sandbox's FIFO. */
        if (p->outcome == SUP_ADOPT_RUNNING)
                sup_log_reattach(sb);
        else
                sb->log.eof = true;

        switch (p->outcome) {
        case SUP_ADOPT_RUNNING:
                sb->state = SUP_STATE_RUNNING;
                sb->pidfd = p->pidfd;
                p->pidfd = -EBADF;
                r = sup_controller_watch_pidfd(sb);
                if (r < 0)
                        log_error("sandbox %s/%s: cannot watch its pidfd: %s", e->ns, e->id,
                                  strerror(-r));
                log_notice("sandbox %s/%s: re-adopted, pid %d", e->ns, e->id, (int)sb->pid);
                break;
        case SUP_ADOPT_EXITED:
        case SUP_ADOPT_EXIT_UNKNOWN:
                sb->state = SUP_STATE_STOPPED;
                sb->exited = true;
                sb->exit_status = p->exit_status;
                sb->exited_at = p->exited_at ? p->exited_at : sbx_now_realtime_ns();
                if (p->outcome == SUP_ADOPT_EXIT_UNKNOWN) {
                        remember_unknown(sb, p->reason);
                        log_warning("sandbox %s/%s: exited while the daemon was down, status "
                                    "unknown: %s",
                                    e->ns, e->id, p->reason);
                } else {
                        log_notice("sandbox %s/%s: exited while the daemon was down, status %d",
                                   e->ns, e->id, p->exit_status);
                }
                break;
        default: /* NOT_RUNNING: recorded as stopped */
                sb->state = SUP_STATE_STOPPED;
                sb->exited = true;
                sb->exit_status = p->exit_status;
                sb->exited_at = p->exited_at;
                parse_time(&p->state, "EXITED_AT", &sb->exited_at);
                {
                        const char *oom = sup_kv_get(&p->state, "OOM_KILLED");
                        sb->oom_killed = oom && strcmp(oom, "1") == 0;
                }
                break;
        }
        (void)sup_statefile_write(sb);
        if (sb->state == SUP_STATE_STOPPED) {
                json_t *f = json_pack("{s:i,s:o,s:b}", "pid", (int)sb->pid, "exited_at",
                                      sup_json_time(sb->exited_at), "while_down", 1);
                if (f) {
                        json_object_set_new(f, "exit_status",
                                            sb->exit_status >= 0 ? json_integer(sb->exit_status)
                                                                 : json_null());
                        if (sb->exit_status < 0)
                                json_object_set_new(f, "reason", json_string(p->reason));
                }
                if (p->outcome != SUP_ADOPT_NOT_RUNNING)
                        sup_event_sandbox(SUP_EVENT_SANDBOX_EXITED, e->ns, e->id, NULL, f);
                else
                        json_decref(f);
        }
        *ret = sb;
        return 0;
}

static void restore_tasks(struct sup_adopt_sandbox *e)
{
        for (size_t i = 0; i < e->n_tasks; i++) {
                struct sup_adopt_task *t = &e->tasks[i];
                struct sup_adopt_proc *p = &t->proc;
                struct sbx_error err = {0};
                uint64_t started = 0, exited = 0, cgid = 0;
                const char *reason = NULL;
                int status = p->exit_status, pidfd = -EBADF;

                if (p->outcome == SUP_ADOPT_DAMAGED) {
                        log_error("sandbox %s/%s: task %s not re-adopted: %s", e->ns, e->id, t->id,
                                  p->reason);
                        continue;
                }
                parse_time(&p->state, "STARTED_AT", &started);
                parse_time(&p->state, "EXITED_AT", &exited);
                (void)sbx_parse_u64(sup_kv_get(&p->state, "CGROUP_ID") ?: "", &cgid);
                if (p->outcome == SUP_ADOPT_RUNNING) {
                        pidfd = p->pidfd;
                        p->pidfd = -EBADF;
                } else if (p->outcome == SUP_ADOPT_EXITED) {
                        exited = p->exited_at;
                } else if (p->outcome == SUP_ADOPT_EXIT_UNKNOWN) {
                        reason = p->reason;
                        status = -1;
                } else {
                        const char *r = sup_kv_get(&p->state, "EXIT_REASON");
                        reason = r && r[0] ? r : NULL;
                }
                if (sup_task_adopt(e->ns, e->id, t->id, p->pid, pidfd, p->start_time, cgid, started,
                                   status, exited ? exited : sbx_now_realtime_ns(), reason,
                                   sup_kv_get(&p->state, "ARGS"), &err) < 0) {
                        log_error("sandbox %s/%s: task %s: %s", e->ns, e->id, t->id, err.message);
                        safe_close(pidfd);
                        continue;
                }
                if (p->outcome == SUP_ADOPT_RUNNING)
                        log_notice("sandbox %s/%s: task %s re-adopted, pid %d", e->ns, e->id, t->id,
                                   (int)p->pid);
        }
}

/* ---- step 4: leftovers ----------------------------------------------------- */

static void clean_run_dir(const char *ns, const char *id)
{
        char path[PATH_MAX];
        int fd = open_run_dir(ns, id);

        snprintf(path, sizeof(path), "%s/%s/%s/netns", sup_config.run_dir, ns, id);
        (void)umount2(path, MNT_DETACH);
        if (fd >= 0) {
                int tfd = openat(fd, "tasks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (tfd >= 0) {
                        DIR *d = fdopendir(tfd);
                        struct dirent *de;
                        while (d && (de = readdir(d)))
                                if (de->d_name[0] != '.')
                                        (void)unlinkat(dirfd(d), de->d_name, 0);
                        if (d)
                                closedir(d);
                        else
                                close(tfd);
                        (void)unlinkat(fd, "tasks", AT_REMOVEDIR);
                }
                (void)unlinkat(fd, "netns", 0);
                (void)unlinkat(fd, "log", 0);
                (void)unlinkat(fd, "out", 0);
                (void)unlinkat(fd, "state.tmp", 0);
                close(fd);
        }
        snprintf(path, sizeof(path), "%s/%s/%s", sup_config.run_dir, ns, id);
        (void)rmdir(path);
        snprintf(path, sizeof(path), "%s/%s", sup_config.run_dir, ns);
        (void)rmdir(path);
}

struct leftover_ctx {
        const struct sup_adopt_result *res;
        unsigned removed;
};

static int leftover_cgroup(const char *ns, const char *id, void *userdata)
{
        struct leftover_ctx *c = userdata;
        struct sbx_error err = {0};
        struct cg_sandbox *cg = NULL;

        if (sup_sandbox_find(ns, id))
                return 0;
        for (size_t i = 0; i < c->res->n; i++)
                if (strcmp(c->res->sandboxes[i].ns, ns) == 0 &&
                    strcmp(c->res->sandboxes[i].id, id) == 0 &&
                    c->res->sandboxes[i].proc.outcome == SUP_ADOPT_DAMAGED &&
                    !c->res->sandboxes[i].proc.state_missing)
                        return 0; /* damaged: reported, not touched */
        if (cg_sandbox_open(sup_cgroot, ns, id, &cg, &err) < 0)
                return 0;
        /* An interrupted Start (no state file) or Shutdown: nothing owns it. */
        if (sup_exitwatch)
                (void)exitwatch_unwatch(sup_exitwatch, cg_sandbox_id(cg), NULL);
        (void)cg_sandbox_kill(cg, &err);
        if (cg_sandbox_wait_empty(cg, 5000, &err) < 0 || cg_sandbox_remove(cg, &err) < 0)
                log_warning("sandbox %s/%s: leftover cgroup: %s", ns, id, err.message);
        else {
                log_notice("sandbox %s/%s: removed a cgroup left by an interrupted operation", ns,
                           id);
                c->removed++;
        }
        cg_sandbox_free(cg);
        return 0;
}

/* ---- the whole start-up ----------------------------------------------------- */

int sup_readopt(struct sbx_error *err)
{
        struct sup_adopt_result res = {0};
        char mount[PATH_MAX];
        const char *path = cg_root_path(sup_cgroot), *cg = cg_root_cgroup(sup_cgroot);
        size_t pl = strlen(path), cl = strlen(cg);
        int r;

        if (sup_exitwatch) {
                r = exitwatch_consume(sup_exitwatch, record_exit, NULL);
                if (r < 0)
                        log_warning("exit watcher: reading exits recorded while down: %s",
                                    strerror(-r));
                else if (r > 0)
                        log_info("exit watcher: %d events recorded while the daemon was down", r);
                sup_exit_set_unavailable(NULL);
                /* Later lookups (an adopted process's pidfd fired) read what is queued. */
                sup_exit_set_drain(sup_controller_drain_exitwatch);
        } else {
                sup_exit_set_unavailable(sup_exitwatch_reason[0] ? sup_exitwatch_reason
                                                                 : "not loaded");
        }

        /* cg_root_path() = mount point + cg_root_cgroup(). */
        if (cl > 1 && pl > cl && strcmp(path + pl - cl, cg) == 0)
                snprintf(mount, sizeof(mount), "%.*s", (int)(pl - cl), path);
        else
                snprintf(mount, sizeof(mount), "%s", path);

        r = sup_adopt_scan(sup_config.run_dir, mount, sup_exit_lookup_cb, NULL,
                           sup_exitwatch ? NULL : sup_exitwatch_reason, &res, err);
        if (r < 0)
                return r;

        json_t *damaged = json_array();
        for (size_t i = 0; i < res.n; i++) {
                struct sup_adopt_sandbox *e = &res.sandboxes[i];
                struct sup_sandbox *sb = NULL;

                if (e->proc.outcome == SUP_ADOPT_DAMAGED) {
                        if (e->proc.state_missing) {
                                log_notice("sandbox %s/%s: run directory without a state file "
                                           "(interrupted start or shutdown): removed",
                                           e->ns, e->id);
                                clean_run_dir(e->ns, e->id);
                                continue;
                        }
                        log_error("sandbox %s/%s: state file damaged, not re-adopted: %s", e->ns,
                                  e->id, e->proc.reason);
                        json_array_append_new(damaged, json_pack("{s:s,s:s,s:s}", "namespace",
                                                                 e->ns, "sandbox_id", e->id,
                                                                 "reason", e->proc.reason));
                        continue;
                }
                if (e->proc.outcome == SUP_ADOPT_NOT_RUNNING) {
                        const char *st = sup_kv_get(&e->proc.state, "STATE");
                        if (!st || strcmp(st, "stopped") != 0) {
                                log_notice("sandbox %s/%s: stale run directory (state %s) "
                                           "removed",
                                           e->ns, e->id, st ? st : "?");
                                clean_run_dir(e->ns, e->id);
                                continue;
                        }
                }
                if (restore_sandbox(e, &sb) < 0) {
                        log_error("sandbox %s/%s: cannot restore: out of memory", e->ns, e->id);
                        continue;
                }
                restore_tasks(e);
                if (sup_store_exists(e->ns, e->id, NULL) < 0)
                        (void)sup_controller_teardown(sb);
        }

        struct leftover_ctx lc = {.res = &res};
        (void)cg_root_for_each_sandbox(sup_cgroot, leftover_cgroup, &lc, NULL);

        log_notice("re-adopted %u running sandboxes (%u exited while down, %u with unknown "
                   "status, %u damaged), %u tasks (%u exited while down, %u unknown)",
                   res.readopted, res.exited, res.unknown, res.damaged, res.tasks_readopted,
                   res.tasks_exited, res.tasks_unknown);
        sup_event_publish(SUP_EVENT_DAEMON_STARTED, NULL, NULL, NULL, NULL,
                          json_pack("{s:s,s:i,s:i,s:i,s:o,s:i,s:i,s:i,s:i,s:s?}", "version",
                                    SUP_VERSION, "readopted", (int)res.readopted,
                                    "exited_while_down", (int)res.exited, "exit_unknown",
                                    (int)res.unknown, "damaged", damaged, "tasks_readopted",
                                    (int)res.tasks_readopted, "tasks_exited_while_down",
                                    (int)res.tasks_exited, "tasks_exit_unknown",
                                    (int)res.tasks_unknown, "leftovers_removed", (int)lc.removed,
                                    "exit_watcher", sup_exitwatch ? "bpf" : NULL));
        sup_adopt_result_done(&res);
        return 0;
}
