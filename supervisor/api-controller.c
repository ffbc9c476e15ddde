/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The controller routes (docs/api.md): start, stop, shutdown, wait, status, metrics,
 * logs, plus health and version.  Long operations suspend the request on the
 * sandbox's waiter list; sup_sandbox_notify() wakes them.
 */
#include "supervisor/sandboxd-internal.h"
#include "supervisor/tasks-internal.h"

#include "bpf/exitwatch.h"
#include "cgroups/cgroups.h"
#include "common/log.h"
#include "common/util.h"
#include "isolation/isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 404 for an absent record; 0 when it exists. */
static int need_record(struct sup_request *r, uint64_t *ret_created_at)
{
        int k = sup_store_exists(r->ns, r->id, ret_created_at);

        if (k == -ENOENT)
                sup_reply_error(r, -ENOENT, "sandbox \"%s\" not found in namespace \"%s\"", r->id,
                                r->ns);
        else if (k < 0)
                sup_reply_error(r, k, "looking up sandbox \"%s\": %s", r->id, strerror(-k));
        return k;
}

void sup_api_health(struct sup_request *r)
{
        if (sup_request_no_body(r) < 0)
                return;
        sup_reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

void sup_api_version(struct sup_request *r)
{
        json_t *ctl = json_array();
        _cleanup_free_ char *controllers = NULL;
        char path[4096];

        if (sup_request_no_body(r) < 0) {
                json_decref(ctl);
                return;
        }
        snprintf(path, sizeof(path), "%s/cgroup.controllers", cg_root_path(sup_cgroot));
        if (sbx_read_file_at(AT_FDCWD, path, 4096, &controllers, NULL) == 0)
                for (char *tok = strtok(controllers, " \n"); tok; tok = strtok(NULL, " \n"))
                        json_array_append_new(ctl, json_string(tok));
        sup_reply_json(r, MHD_HTTP_OK,
                       json_pack("{s:s,s:s,s:s,s:[s],s:s,s:o,s:s,s:o}", "name", "sandboxd",
                                 "version", SUP_VERSION, "api", "v1", "runtimes", SUP_RUNTIME_NAME,
                                 "exit_watcher", sup_exitwatch ? "bpf" : "pidfd",
                                 "exit_watcher_reason",
                                 sup_exitwatch ? json_null() : json_string(sup_exitwatch_reason),
                                 "cgroup_root", cg_root_path(sup_cgroot), "controllers", ctl));
}

void sup_api_spec(struct sup_request *r)
{
        json_t *spec;

        if (sup_request_no_body(r) < 0)
                return;
        spec = iso_default_spec_json();
        if (!spec) {
                sup_reply_error(r, -ENOMEM, "out of memory");
                return;
        }
        sup_reply_json(r, MHD_HTTP_OK, spec);
}

/* ---- start ------------------------------------------------------------------------------- */

/* The Start finished: its reply (r is NULL when the client left). */
static void on_started(void *userdata, struct sup_sandbox *sb, const struct sbx_error *err)
{
        struct sup_request *r = userdata;
        char when[SBX_RFC3339_MAX];

        if (!r)
                return;
        r->on_done = NULL;
        if (!sb) {
                sup_reply_sbx_error(r, err);
                return;
        }
        sup_reply_json(r, MHD_HTTP_OK,
                       json_pack("{s:s,s:i,s:s}", "sandbox_id", sb->id, "pid", (int)sb->pid,
                                 "created_at", sbx_format_rfc3339(sb->started_at, when)));
}

/* The client of a Start in flight hung up: the Start goes on without it. */
static void start_request_gone(struct sup_request *r)
{
        sup_controller_start_forget(r);
}

void sup_api_start(struct sup_request *r)
{
        struct sbx_error err = {0};
        struct sup_sandbox *sb;

        if (sup_request_no_body(r) < 0)
                return;
        if (sup_controller_starting(r->ns, r->id)) {
                sup_reply_error(r, -EBUSY, "sandbox \"%s\" is starting", r->id);
                return;
        }
        if (sup_store_delete_pending(r->ns, r->id)) {
                sup_reply_error(r, -EBUSY, "sandbox \"%s\" is being deleted", r->id);
                return;
        }
        sb = sup_sandbox_find(r->ns, r->id);
        if (sb) {
                if (sb->state == SUP_STATE_STOPPED && !sb->tearing_down)
                        sup_reply_error(r, -EBUSY,
                                        "sandbox \"%s\" has exited; shut it down before "
                                        "starting it again",
                                        r->id);
                else if (sb->tearing_down)
                        sup_reply_error(r, -EBUSY, "sandbox \"%s\" is being shut down", r->id);
                else
                        sup_reply_error(r, -EBUSY, "sandbox \"%s\" is already running", r->id);
                return;
        }
        if (sup_controller_start(r->ns, r->id, on_started, r, &err) < 0) {
                sup_reply_sbx_error(r, &err);
                return;
        }
        /* Answered by on_started() once the spawner is done. */
        r->on_done = start_request_gone;
        sup_request_suspend(r);
}

/* Stop, Shutdown and Wait that arrive while the sandbox is starting wait for the Start to
 * finish, then run as if they had arrived just after it.  A daemon that is stopping
 * answers them 503 instead (sup_http_stop()). */
static void on_parked(struct sup_request *r, enum sup_wake why)
{
        if (why != SUP_WAKE_STARTED) /* log bytes of the starting sandbox */
                return;
        sup_request_unwait(r);
        if (!sup_loop_quitting())
                r->parked(r);
}

static bool park_if_starting(struct sup_request *r, void (*handler)(struct sup_request *r))
{
        struct sup_sandbox *sb = sup_controller_starting(r->ns, r->id);

        if (!sb)
                return false;
        r->parked = handler;
        sup_request_wait_on(r, sb, on_parked);
        sup_request_suspend(r);
        return true;
}

/* ---- stop, shutdown, wait ---------------------------------------------------------------- */

static json_t *exit_json(const struct sup_sandbox *sb, bool with_id)
{
        json_t *j = json_pack("{s:i,s:o}", "exit_status", sb->exit_status, "exited_at",
                              sup_json_time(sb->exited_at));

        if (j && with_id)
                json_object_set_new(j, "sandbox_id", json_string(sb->id));
        return sup_issue7_exit_fixup(sb, j);
}

static void on_stop_wake(struct sup_request *r, enum sup_wake why)
{
        if (why == SUP_WAKE_EXITED)
                sup_reply_json(r, MHD_HTTP_OK, exit_json(r->wsb, true));
        else if (why == SUP_WAKE_GONE)
                sup_reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "sandbox_id", r->id));
}

void sup_api_stop(struct sup_request *r)
{
        struct sbx_error err = {0};
        const char *t = sup_request_arg(r, "timeout");
        uint64_t timeout = 10;
        struct sup_sandbox *sb;

        if (t && (sbx_parse_u64(t, &timeout) < 0 || timeout > 86400)) {
                sup_reply_error(r, -EINVAL, "timeout: want whole seconds 0..86400, not \"%.40s\"",
                                t);
                return;
        }
        if (sup_request_no_body(r) < 0 || need_record(r, NULL) < 0)
                return;
        if (park_if_starting(r, sup_api_stop))
                return;
        sb = sup_sandbox_find(r->ns, r->id);
        if (!sb) {
                sup_reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "sandbox_id", r->id));
                return;
        }
        if (sb->exited) {
                sup_reply_json(r, MHD_HTTP_OK, exit_json(sb, true));
                return;
        }
        if (sup_controller_stop(sb, timeout * NSEC_PER_SEC, &err) < 0) {
                sup_reply_sbx_error(r, &err);
                return;
        }
        if (sb->exited) { /* timeout 0 and the kill was seen at once */
                sup_reply_json(r, MHD_HTTP_OK, exit_json(sb, true));
                return;
        }
        sup_request_wait_on(r, sb, on_stop_wake);
        sup_request_park(r);
}

static void on_shutdown_wake(struct sup_request *r, enum sup_wake why)
{
        if (why == SUP_WAKE_GONE)
                sup_reply_json(r, MHD_HTTP_OK,
                               json_pack("{s:s,s:s}", "sandbox_id", r->id, "state", "created"));
}

void sup_api_shutdown(struct sup_request *r)
{
        struct sup_sandbox *sb;

        if (sup_request_no_body(r) < 0 || need_record(r, NULL) < 0)
                return;
        if (park_if_starting(r, sup_api_shutdown))
                return;
        sb = sup_sandbox_find(r->ns, r->id);
        if (sb && sup_controller_teardown(sb) == 0) {
                sup_request_wait_on(r, sb, on_shutdown_wake);
                sup_request_park(r);
                return;
        }
        sup_reply_json(r, MHD_HTTP_OK,
                       json_pack("{s:s,s:s}", "sandbox_id", r->id, "state", "created"));
}

static void on_wait_wake(struct sup_request *r, enum sup_wake why)
{
        if (why == SUP_WAKE_EXITED)
                sup_reply_json(r, MHD_HTTP_OK, exit_json(r->wsb, false));
        else if (why == SUP_WAKE_GONE)
                sup_reply_error(r, -EBUSY, "sandbox \"%s\" was shut down before it exited", r->id);
}

void sup_api_wait(struct sup_request *r)
{
        struct sup_sandbox *sb;

        if (sup_request_no_body(r) < 0 || park_if_starting(r, sup_api_wait))
                return;
        sb = sup_sandbox_find(r->ns, r->id);
        /* A sandbox with runtime state has a record: no store lookup on this path. */
        if (!sb) {
                if (need_record(r, NULL) == 0)
                        sup_reply_error(r, -EBUSY, "sandbox \"%s\" is not started", r->id);
                return;
        }
        if (sb->exited) {
                sup_reply_json(r, MHD_HTTP_OK, exit_json(sb, false));
                return;
        }
        sup_request_wait_on(r, sb, on_wait_wake);
        sup_request_park(r);
}

/* ---- status, metrics --------------------------------------------------------------------- */

static json_t *metrics_json(struct sup_sandbox *sb, struct sbx_error *err)
{
        struct cg_stats st;
        json_t *mem = json_null(), *pids = json_null(), *cpu = json_null();

        if (!sb->cg || cg_sandbox_stats(sb->cg, &st, err) < 0)
                return NULL;
        if (st.present & CG_STATS_MEMORY)
                mem = json_pack("{s:I,s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "current",
                                (json_int_t)st.memory.current, "peak",
                                (st.present & CG_STATS_MEMORY_PEAK)
                                        ? json_integer((json_int_t)st.memory.peak)
                                        : json_null(),
                                "events", "low", (json_int_t)st.memory.low, "high",
                                (json_int_t)st.memory.high, "max", (json_int_t)st.memory.max, "oom",
                                (json_int_t)st.memory.oom, "oom_kill",
                                (json_int_t)st.memory.oom_kill);
        if (st.present & CG_STATS_PIDS)
                pids = json_pack("{s:I,s:o}", "current", (json_int_t)st.pids.current, "peak",
                                 (st.present & CG_STATS_PIDS_PEAK)
                                         ? json_integer((json_int_t)st.pids.peak)
                                         : json_null());
        if (st.present & CG_STATS_CPU) {
                cpu = json_pack("{s:I,s:I,s:I}", "usage_usec", (json_int_t)st.cpu.usage_usec,
                                "user_usec", (json_int_t)st.cpu.user_usec, "system_usec",
                                (json_int_t)st.cpu.system_usec);
                bool thr = st.present & CG_STATS_CPU_THROTTLE;
                json_object_set_new(cpu, "nr_periods",
                                    thr ? json_integer(st.cpu.nr_periods) : json_null());
                json_object_set_new(cpu, "nr_throttled",
                                    thr ? json_integer(st.cpu.nr_throttled) : json_null());
                json_object_set_new(cpu, "throttled_usec",
                                    thr ? json_integer(st.cpu.throttled_usec) : json_null());
        }
        return json_pack("{s:s,s:o,s:o,s:o,s:i}", "sandbox_id", sb->id, "memory", mem, "pids", pids,
                         "cpu", cpu, "oom_kills", (int)sb->oom_kills);
}

static json_t *namespaces_json(pid_t pid)
{
        static const char *const names[] = {"pid", "mnt",    "uts",  "ipc",
                                            "net", "cgroup", "user", "time"};
        json_t *j = json_object();
        char path[64];
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, names[i]);
                if (stat(path, &st) == 0)
                        json_object_set_new(j, names[i], json_integer((json_int_t)st.st_ino));
        }
        return j;
}

/* "Seccomp:" and "NoNewPrivs:" of /proc/PID/status. */
static void proc_security(pid_t pid, json_t *info)
{
        char path[64];
        _cleanup_free_ char *buf = NULL;
        const char *p;

        json_object_set_new(info, "seccomp", json_null());
        json_object_set_new(info, "no_new_privs", json_null());
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        if (sbx_read_file_at(AT_FDCWD, path, 64 * 1024, &buf, NULL) < 0)
                return;
        p = strstr(buf, "\nSeccomp:");
        if (p) {
                int mode = atoi(p + strlen("\nSeccomp:"));

                json_object_set_new(info, "seccomp",
                                    json_string(mode == 2   ? "filter"
                                                : mode == 1 ? "strict"
                                                            : "disabled"));
        }
        p = strstr(buf, "\nNoNewPrivs:");
        if (p)
                json_object_set_new(info, "no_new_privs",
                                    json_boolean(atoi(p + strlen("\nNoNewPrivs:")) == 1));
}

static json_t *verbose_info(struct sup_sandbox *sb)
{
        char path[4096];
        struct sbx_error err = {0};
        json_t *info = json_object();
        json_t *res = metrics_json(sb, &err);

        json_object_set_new(info, "cgroup_path",
                            sb->cg ? json_string(cg_sandbox_path(sb->cg)) : json_null());
        json_object_set_new(info, "cgroup_id", json_integer((json_int_t)sb->cgroup_id));
        if (!sb->exited) {
                json_object_set_new(info, "namespaces", namespaces_json(sb->pid));
                proc_security(sb->pid, info);
        } else {
                json_object_set_new(info, "seccomp", json_null());
                json_object_set_new(info, "no_new_privs", json_null());
        }
        snprintf(path, sizeof(path), "%s/%s/%s/netns", sup_config.run_dir, sb->ns, sb->id);
        json_object_set_new(info, "netns_path",
                            sb->netns_mounted ? json_string(path) : json_null());
        snprintf(path, sizeof(path), "%s/%s/%s/log", sup_config.run_dir, sb->ns, sb->id);
        json_object_set_new(info, "log_path", json_string(path));
        json_object_set_new(info, "exit_watcher", json_string(sup_exitwatch ? "bpf" : "pidfd"));
        json_object_set_new(info, "resources", res ? res : json_null());
        return info;
}

void sup_api_status(struct sup_request *r)
{
        bool verbose;
        uint64_t created_at = 0;
        struct sup_sandbox *sb;
        json_t *warnings;

        if (!sup_request_flag_arg(r, "verbose", &verbose) || sup_request_no_body(r) < 0)
                return;
        sb = sup_sandbox_find(r->ns, r->id);
        if (!sb) {
                if (need_record(r, &created_at) < 0)
                        return;
                sup_reply_json(r, MHD_HTTP_OK,
                               json_pack("{s:s,s:s,s:s,s:i,s:o,s:n,s:n,s:n,s:b,s:[],s:{}}",
                                         "sandbox_id", r->id, "namespace", r->ns, "state",
                                         "created", "pid", 0, "created_at",
                                         sup_json_time(created_at), "started_at", "exited_at",
                                         "exit_status", "oom_killed", 0, "warnings", "info"));
                return;
        }
        warnings = json_array();
        if (sb->warnings)
                for (char **w = sb->warnings; *w; w++)
                        json_array_append_new(warnings, json_string(*w));
        sup_reply_json(
                r, MHD_HTTP_OK,
                sup_issue7_exit_fixup(
                        sb,
                        json_pack("{s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:b,s:o,s:o}", "sandbox_id",
                                  sb->id, "namespace", sb->ns, "state", sup_state_name(sb->state),
                                  "pid", (int)sb->pid, "created_at", sup_json_time(sb->created_at),
                                  "started_at", sup_json_time(sb->started_at), "exited_at",
                                  sb->exited ? sup_json_time(sb->exited_at) : json_null(),
                                  "exit_status",
                                  sb->exited ? json_integer(sb->exit_status) : json_null(),
                                  "oom_killed", sb->oom_killed, "warnings", warnings, "info",
                                  verbose ? verbose_info(sb) : json_object())));
}

void sup_api_metrics(struct sup_request *r)
{
        struct sbx_error err = {0};
        struct sup_sandbox *sb = sup_sandbox_find(r->ns, r->id);
        json_t *j;

        if (sup_request_no_body(r) < 0)
                return;
        if (!sb) {
                if (need_record(r, NULL) == 0)
                        sup_reply_error(r, -EBUSY, "sandbox \"%s\" is not started", r->id);
                return;
        }
        j = metrics_json(sb, &err);
        if (!j) {
                sup_reply_error(r, err.code ? err.code : -ENOMEM, "metrics of \"%s\": %s", r->id,
                                err.message);
                return;
        }
        sup_reply_json(r, MHD_HTTP_OK, j);
}

/* ---- logs -------------------------------------------------------------------------------- */

struct log_follow {
        uint64_t run_id;
        bool done; /* the sandbox's output ended (or it was shut down) */
};

static void on_log_wake(struct sup_request *r, enum sup_wake why)
{
        struct log_follow *lf = r->op;

        if (why == SUP_WAKE_GONE)
                lf->done = true;
        else if (why != SUP_WAKE_LOG)
                return;
        sup_request_unwait(r);
        sup_request_resume(r);
}

static bool log_more(struct sup_request *r)
{
        struct log_follow *lf = r->op;
        struct sup_sandbox *sb = sup_sandbox_find(r->ns, r->id);

        if (lf->done || !sb || sb->run_id != lf->run_id || sb->log.eof)
                return false;
        /* Nothing new yet: sleep until the log grows. */
        sup_request_wait_on(r, sb, on_log_wake);
        sup_request_park(r);
        return true;
}

void sup_api_logs(struct sup_request *r)
{
        bool follow;
        struct sup_sandbox *sb;
        int fd;

        if (!sup_request_flag_arg(r, "follow", &follow) || sup_request_no_body(r) < 0)
                return;
        sb = sup_sandbox_find(r->ns, r->id);
        if (!sb || sb->run_dirfd < 0) {
                if (need_record(r, NULL) == 0)
                        sup_reply_error(r, -ENOENT, "sandbox \"%s\" has no log (not started)",
                                        r->id);
                return;
        }
        fd = openat(sb->run_dirfd, "log", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                sup_reply_error(r, -errno, "opening the log of \"%s\": %s", r->id, strerror(errno));
                return;
        }
        if (follow) {
                struct log_follow *lf = calloc(1, sizeof(*lf));

                if (!lf) {
                        close(fd);
                        sup_reply_error(r, -ENOMEM, "out of memory");
                        return;
                }
                lf->run_id = sb->run_id;
                r->op = lf;
        }
        sup_reply_log(r, fd, follow ? log_more : NULL);
}
