/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Routes of tasks and of the event stream (docs/api.md "Tasks", "Events").
 *
 *   POST   /v1/sandboxes/{id}/tasks                 create and start a task
 *   GET    /v1/sandboxes/{id}/tasks                 list
 *   GET    /v1/sandboxes/{id}/tasks/{tid}           status
 *   GET    /v1/sandboxes/{id}/tasks/{tid}/wait      long poll until it exits
 *   POST   /v1/sandboxes/{id}/tasks/{tid}/kill      ?signal=S
 *   DELETE /v1/sandboxes/{id}/tasks/{tid}           exited tasks only
 *   GET    /v1/sandboxes/{id}/tasks/{tid}/logs      its stdout and stderr (?follow=1)
 *   GET    /v1/events                               ?namespace=N&filter=F...
 */
#include "supervisor/tasks-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/syscall.h"
#include "cgroups/cgroups.h"
#include "bpf/exitwatch.h"
#include "common/util.h"
#include "supervisor/adopt-internal.h"
#include "store/store.h"
#include "supervisor/events-internal.h"

/* The {tid} segment of /v1/sandboxes/{id}/tasks/{tid}[/...] (the router checks
 * the {id} part; this one is checked here). */
static const char *url_tid(struct sup_request *r, char buf[static SUP_NAME_MAX + 1])
{
        const char *p = strstr(r->url, "/tasks/");
        size_t n;

        buf[0] = '\0';
        if (!p)
                return buf;
        p += strlen("/tasks/");
        n = strcspn(p, "/");
        if (n <= SUP_NAME_MAX) {
                memcpy(buf, p, n);
                buf[n] = '\0';
        }
        return buf;
}

/* The running sandbox of the request, or a reply (404 / 412) and NULL. */
static struct sup_sandbox *running_sandbox(struct sup_request *r)
{
        struct sup_sandbox *sb = sup_sandbox_find(r->ns, r->id);

        if (sb && sb->state == SUP_STATE_RUNNING && sb->pidfd >= 0 && !sb->tearing_down)
                return sb;
        if (!sb && sup_store_exists(r->ns, r->id, NULL) < 0) {
                sup_reply_error(r, -ENOENT, "sandbox \"%s\" not found in namespace \"%s\"", r->id,
                                r->ns);
                return NULL;
        }
        sup_reply_error(r, -EBUSY, "sandbox \"%s\" is not running (state %s)", r->id,
                        sup_state_name(sb ? sb->state : SUP_STATE_CREATED));
        return NULL;
}

/* The task of the request, or a 404 reply and NULL. */
static struct sup_task *request_task(struct sup_request *r)
{
        char tid[SUP_NAME_MAX + 1];
        struct sup_task *t;

        if (!sup_valid_name(url_tid(r, tid))) {
                sup_reply_error(r, -EINVAL,
                                "invalid task id \"%.80s\": want 1-76 of [A-Za-z0-9] separated "
                                "by single . _ or -",
                                tid[0] ? tid : "(too long)");
                return NULL;
        }
        t = sup_task_find(sup_task_group_find(r->ns, r->id), tid);
        if (!t) {
                if (!sup_sandbox_find(r->ns, r->id) && sup_store_exists(r->ns, r->id, NULL) < 0)
                        sup_reply_error(r, -ENOENT, "sandbox \"%s\" not found in namespace \"%s\"",
                                        r->id, r->ns);
                else
                        sup_reply_error(r, -ENOENT, "task \"%s\" not found in sandbox \"%s\"", tid,
                                        r->id);
        }
        return t;
}

static int new_task_id(struct sup_task_group *g, char *buf, size_t size)
{
        for (int tries = 0; tries < 16; tries++) {
                uint8_t rnd[6];
                if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return -EIO;
                snprintf(buf, size, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
                         rnd[4], rnd[5]);
                if (!sup_task_find(g, buf))
                        return 0;
        }
        return -EEXIST;
}

void sup_api_tasks_create(struct sup_request *r)
{
        static const char *const keys[] = {"id", "process", "linux", NULL};
        static const char *const linux_keys[] = {"seccomp", NULL};
        struct sbx_error err = {0};
        json_t *body = NULL;
        struct sup_sandbox *sb;
        struct sup_task_group *g;
        struct sup_task *t = NULL;
        char tid[SUP_NAME_MAX + 1];
        int k;

        if (sup_request_json(r, false, &body) < 0)
                return;
        if (sup_json_strict(body, "task", keys, &err) < 0)
                goto fail;
        json_t *jid = json_object_get(body, "id");
        json_t *proc = json_object_get(body, "process");
        if (jid && !json_is_null(jid)) {
                if (!json_is_string(jid)) {
                        sbx_fail(&err, -EINVAL, "id: expected string");
                        goto fail;
                }
                if (!sup_valid_name(json_string_value(jid))) {
                        sbx_fail(&err, -EINVAL,
                                 "invalid task id \"%.80s\": want 1-76 of [A-Za-z0-9] separated "
                                 "by single . _ or -",
                                 json_string_value(jid));
                        goto fail;
                }
        }
        if (!json_is_object(proc)) {
                sbx_fail(&err, -EINVAL,
                         proc ? "process: expected object"
                              : "process: required (an OCI process object)");
                goto fail;
        }
        /* linux.seccomp: the task's own profile, stacked on the sandbox's (docs/api.md). */
        json_t *jlinux = json_object_get(body, "linux"), *seccomp = NULL;
        if (jlinux && !json_is_null(jlinux)) {
                if (!json_is_object(jlinux)) {
                        sbx_fail(&err, -EINVAL, "linux: expected object");
                        goto fail;
                }
                if (sup_json_strict(jlinux, "linux", linux_keys, &err) < 0)
                        goto fail;
                seccomp = json_object_get(jlinux, "seccomp");
                if (json_is_null(seccomp))
                        seccomp = NULL;
                if (seccomp && !json_is_object(seccomp)) {
                        sbx_fail(&err, -EINVAL,
                                 "linux.seccomp: expected object (an OCI linux.seccomp)");
                        goto fail;
                }
        }
        json_t *args = json_object_get(proc, "args");
        if (!json_is_array(args) || json_array_size(args) == 0) {
                sbx_fail(&err, -EINVAL, "process.args: expected a non-empty array of strings");
                goto fail;
        }
        for (size_t i = 0; i < json_array_size(args); i++)
                if (!json_is_string(json_array_get(args, i))) {
                        sbx_fail(&err, -EINVAL, "process.args[%zu]: expected string", i);
                        goto fail;
                }

        sb = running_sandbox(r);
        if (!sb)
                goto out;
        g = sup_task_group_get(r->ns, r->id);
        if (!g) {
                sbx_fail(&err, -ENOMEM, "out of memory");
                goto fail;
        }
        if (jid && json_is_string(jid)) {
                snprintf(tid, sizeof(tid), "%s", json_string_value(jid));
                if (sup_task_find(g, tid)) {
                        sbx_fail(&err, -EEXIST, "task \"%s\" already exists in sandbox \"%s\"", tid,
                                 r->id);
                        goto fail;
                }
        } else if (new_task_id(g, tid, sizeof(tid)) < 0) {
                sbx_fail(&err, -EIO, "cannot generate a task id");
                goto fail;
        }
        if (g->n_tasks >= SUP_TASKS_MAX) {
                sbx_fail(&err, -EBUSY, "sandbox \"%s\" has %d tasks; delete exited tasks first",
                         r->id, SUP_TASKS_MAX);
                goto fail;
        }

        k = sup_task_start(sb, g, tid, proc, seccomp, &t, &err);
        if (k < 0)
                goto fail;
        sup_reply_json(r, MHD_HTTP_CREATED, sup_task_to_json(t));
        goto out;
fail:
        sup_reply_sbx_error(r, &err);
out:
        if ((g = sup_task_group_find(r->ns, r->id)) && !g->tasks)
                sup_task_group_drop_if_empty(g);
        json_decref(body);
}

static int cmp_task(const void *a, const void *b)
{
        const struct sup_task *x = *(struct sup_task *const *)a, *y = *(struct sup_task *const *)b;
        if (x->started_at != y->started_at)
                return x->started_at < y->started_at ? -1 : 1;
        return strcmp(x->id, y->id);
}

void sup_api_tasks_list(struct sup_request *r)
{
        struct sup_task_group *g = sup_task_group_find(r->ns, r->id);
        json_t *arr = json_array();
        _cleanup_free_ struct sup_task **v = NULL;
        size_t n = 0;

        if (!g && !sup_sandbox_find(r->ns, r->id) && sup_store_exists(r->ns, r->id, NULL) < 0) {
                json_decref(arr);
                sup_reply_error(r, -ENOENT, "sandbox \"%s\" not found in namespace \"%s\"", r->id,
                                r->ns);
                return;
        }
        if (g && g->n_tasks > 0) {
                v = calloc(g->n_tasks, sizeof(*v));
                if (v)
                        for (struct sup_task *t = g->tasks; t && n < g->n_tasks; t = t->next)
                                v[n++] = t;
                qsort(v, n, sizeof(*v), cmp_task);
        }
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, sup_task_to_json(v[i]));
        sup_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "tasks", arr));
}

void sup_api_task_get(struct sup_request *r)
{
        struct sup_task *t = request_task(r);
        if (t)
                sup_reply_json(r, MHD_HTTP_OK, sup_task_to_json(t));
}

static json_t *exit_json(const struct sup_task *t)
{
        json_t *j =
                json_pack("{s:s,s:o}", "task_id", t->id, "exited_at", sup_json_time(t->exited_at));
        if (!j)
                return NULL;
        json_object_set_new(j, "exit_status",
                            t->exit_status >= 0 ? json_integer(t->exit_status) : json_null());
        if (t->exit_status < 0)
                json_object_set_new(j, "exit_reason", json_string(t->exit_reason));
        return j;
}

struct task_wait {
        char tid[SUP_NAME_MAX + 1];
};

static void task_wait_wake(struct sup_request *r, enum sup_wake why)
{
        struct task_wait *w = r->op;
        struct sup_task *t = sup_task_find(sup_task_group_find(r->ns, r->id), w->tid);

        if (t && t->state == SUP_TASK_EXITED)
                sup_reply_json(r, MHD_HTTP_OK, exit_json(t));
        else if (!t)
                sup_reply_error(r, -ENOENT, "task \"%s\" is gone (sandbox \"%s\" shut down)",
                                w->tid, r->id);
        else if (why == SUP_WAKE_GONE)
                sup_reply_error(r, -EIO, "sandbox \"%s\" went away before task \"%s\" exited",
                                r->id, w->tid);
}

void sup_api_task_wait(struct sup_request *r)
{
        struct sup_task *t = request_task(r);
        struct sup_sandbox *sb;
        struct task_wait *w;

        if (!t)
                return;
        if (t->state == SUP_TASK_EXITED) {
                sup_reply_json(r, MHD_HTTP_OK, exit_json(t));
                return;
        }
        sb = sup_sandbox_find(r->ns, r->id);
        w = calloc(1, sizeof(*w));
        if (!sb || !w) {
                free(w);
                sup_reply_error(r, -EIO, "cannot wait for task \"%s\"", t->id);
                return;
        }
        snprintf(w->tid, sizeof(w->tid), "%s", t->id);
        free(r->op);
        r->op = w;
        sup_request_wait_on(r, sb, task_wait_wake);
        sup_request_park(r);
}

/* "TERM", "SIGTERM", "15". */
static int parse_signal(const char *s)
{
        uint64_t v;

        if (!s || !s[0])
                return SIGTERM;
        if (sbx_parse_u64(s, &v) >= 0)
                return v >= 1 && v < (uint64_t)NSIG ? (int)v : -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int i = 1; i < NSIG; i++) {
                const char *n = sigabbrev_np(i);
                if (n && strcasecmp(n, s) == 0)
                        return i;
        }
        return -EINVAL;
}

void sup_api_task_kill(struct sup_request *r)
{
        const char *arg = sup_request_arg(r, "signal");
        struct sup_task *t;
        int sig;

        if (sup_request_no_body(r) < 0)
                return;
        sig = parse_signal(arg);
        if (sig < 0) {
                sup_reply_error(r, -EINVAL,
                                "invalid signal \"%.40s\": want a number or a name like TERM or "
                                "SIGKILL",
                                arg);
                return;
        }
        t = request_task(r);
        if (!t)
                return;
        if (t->state != SUP_TASK_RUNNING || t->pidfd < 0) {
                sup_reply_error(r, -EBUSY, "task \"%s\" has exited", t->id);
                return;
        }
        /* A pidfd, never a pid: the signal cannot reach a process that reused it. */
        if (sbx_pidfd_send_signal(t->pidfd, sig, NULL, 0) < 0) {
                if (errno == ESRCH) {
                        sup_reply_error(r, -EBUSY, "task \"%s\" has exited", t->id);
                        return;
                }
                sup_reply_error(r, -errno, "kill task \"%s\": %s", t->id, strerror(errno));
                return;
        }
        log_info("sandbox %s/%s: task %s: sent signal %d", r->ns, r->id, t->id, sig);
        sup_reply_json(
                r, MHD_HTTP_OK,
                json_pack("{s:s,s:s,s:i}", "sandbox_id", r->id, "task_id", t->id, "signal", sig));
}

void sup_api_task_delete(struct sup_request *r)
{
        struct sup_task *t = request_task(r);
        struct sup_sandbox *sb;

        if (!t)
                return;
        if (t->state != SUP_TASK_EXITED) {
                sup_reply_error(r, -EBUSY, "task \"%s\" is running; kill it and wait first", t->id);
                return;
        }
        sb = sup_sandbox_find(r->ns, r->id);
        if (sb && sb->cg) {
                struct sbx_error err = {0};
                if (cg_task_remove(sb->cg, t->id, &err) < 0)
                        log_debug("task %s: %s", t->id, err.message);
        }
        sup_task_remove(t->group, t);
        sup_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* A follower of a task's log sleeps on its sandbox's waiter list; tasks.c wakes the
 * list with SUP_WAKE_TASK when a task's output grew or a task exited. */
struct task_log_follow {
        char tid[SUP_NAME_MAX + 1];
};

static void on_task_log_wake(struct sup_request *r, enum sup_wake why)
{
        if (why != SUP_WAKE_TASK && why != SUP_WAKE_GONE)
                return;
        sup_request_unwait(r);
        sup_request_resume(r);
}

static bool task_log_more(struct sup_request *r)
{
        struct task_log_follow *lf = r->op;
        struct sup_sandbox *sb = sup_sandbox_find(r->ns, r->id);
        struct sup_task *t = sup_task_find(sup_task_group_find(r->ns, r->id), lf->tid);

        /* The stream ends when the task has exited (task_exited() drained what it wrote
         * first), was deleted, or its sandbox went. */
        if (!t || !sb || t->state == SUP_TASK_EXITED)
                return false;
        /* Nothing new yet: sleep until the task writes or exits. */
        sup_request_wait_on(r, sb, on_task_log_wake);
        sup_request_park(r);
        return true;
}

void sup_api_task_logs(struct sup_request *r)
{
        struct sup_task *t;
        _cleanup_close_ int dfd = -EBADF;
        char name[96];
        bool follow;
        int fd;

        if (!sup_request_flag_arg(r, "follow", &follow) || sup_request_no_body(r) < 0)
                return;
        t = request_task(r);
        if (!t)
                return;
        dfd = sup_task_dir_open(r->ns, r->id, false);
        snprintf(name, sizeof(name), "%s.log", t->id);
        fd = dfd >= 0 ? openat(dfd, name, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0) {
                sup_reply_error(r, -ENOENT, "task \"%s\" has no log%s", t->id,
                                t->adopted ? " (re-adopted after a restart)" : "");
                return;
        }
        if (follow) {
                struct task_log_follow *lf = calloc(1, sizeof(*lf));

                if (!lf) {
                        close(fd);
                        sup_reply_error(r, -ENOMEM, "out of memory");
                        return;
                }
                snprintf(lf->tid, sizeof(lf->tid), "%s", t->id);
                free(r->op);
                r->op = lf;
        }
        sup_reply_log(r, fd, follow ? task_log_more : NULL);
}

/* ---- events -------------------------------------------------------------- */

void sup_api_events(struct sup_request *r)
{
        struct sbx_error err = {0};
        struct MHD_Response *resp = NULL;
        const char *ns = sup_request_arg(r, "namespace");

        if (ns && ns[0] && !sup_valid_name(ns)) {
                sup_reply_error(r, -EINVAL, "invalid namespace \"%.80s\"", ns);
                return;
        }
        if (sup_request_no_body(r) < 0)
                return;
        if (sup_events_subscribe(r->conn, &resp, &err) < 0) {
                sup_reply_sbx_error(r, &err);
                return;
        }
        sup_reply_response(r, MHD_HTTP_OK, resp);
}

/* ---- start-up and shut-down of the parts of issue #7 ----------------------- */

extern struct store *sup_store; /* api-store.c */

/* The labels of sandboxes as of their last created/updated event, so that the deleted
 * event (the record is gone by then) still matches label filters. */
static json_t *labels_seen; /* "ns/id" → labels */

static struct sup_watch events_watch;

static void on_events_fd(struct sup_watch *w, uint32_t events)
{
        sup_events_process();
}

static json_t *labels_of(const char *ns, const char *id)
{
        _cleanup_store_record_ struct store_record *rec = NULL;
        json_t *j;

        if (!sup_store || store_get(sup_store, ns, id, &rec, NULL) < 0 || !rec)
                return NULL;
        j = json_object();
        for (size_t i = 0; j && i < rec->n_labels; i++)
                json_object_set_new(j, rec->labels[i].key, json_string(rec->labels[i].value));
        return j;
}

int sup_issue7_init(struct sbx_error *err)
{
        int r = sup_events_init(0);

        if (r < 0)
                return sbx_fail_errno(err, r, "event bus");
        sup_events_set_labels_provider(labels_of);
        events_watch.cb = on_events_fd;
        r = sup_loop_add(sup_events_fd(), EPOLLIN, &events_watch);
        if (r < 0)
                return sbx_fail_errno(err, r, "epoll_ctl(events)");
        return 0;
}

void sup_issue7_stop(void)
{
        /* Streams end before the HTTP server stops (suspended connections must be resumed
         * before MHD_stop_daemon()). */
        sup_events_done();
}

void sup_issue7_done(void)
{
        json_decref(labels_seen);
        labels_seen = NULL;
        sup_loop_del(&events_watch);
        sup_tasks_done();
}

/* ---- controller hooks ------------------------------------------------------ */

void sup_issue7_on_sandbox_exited(struct sup_sandbox *sb)
{
        const char *unknown = sup_sandbox_exit_unknown_reason(sb);
        json_t *f = json_pack("{s:i,s:o,s:b}", "pid", (int)sb->pid, "exited_at",
                              sup_json_time(sb->exited_at), "oom_killed", sb->oom_killed);

        if (f) {
                json_object_set_new(f, "exit_status",
                                    unknown || sb->exit_status < 0 ? json_null()
                                                                   : json_integer(sb->exit_status));
                if (unknown)
                        json_object_set_new(f, "reason", json_string(unknown));
        }
        sup_tasks_on_sandbox_exited(sb->ns, sb->id);
        sup_event_sandbox(SUP_EVENT_SANDBOX_EXITED, sb->ns, sb->id, NULL, f);
}

void sup_issue7_on_sandbox_gone(struct sup_sandbox *sb)
{
        sup_tasks_on_sandbox_gone(sb->ns, sb->id);
}

void sup_issue7_on_sandbox_stopped(struct sup_sandbox *sb)
{
        sup_event_sandbox(SUP_EVENT_SANDBOX_STOPPED, sb->ns, sb->id, NULL, NULL);
}

void sup_issue7_on_oom(struct sup_sandbox *sb, const struct exitwatch_event *ev)
{
        sup_event_sandbox(SUP_EVENT_SANDBOX_OOM, sb->ns, sb->id, NULL,
                          json_pack("{s:i,s:s,s:I,s:I}", "pid", (int)ev->tgid, "comm", ev->comm,
                                    "anon_rss_kb", (json_int_t)ev->oom.anon_rss_kb, "cgroup_id",
                                    (json_int_t)ev->cgroup_id));
}

void sup_issue7_on_sandbox_started(struct sup_sandbox *sb)
{
        sup_event_sandbox(SUP_EVENT_SANDBOX_STARTED, sb->ns, sb->id, NULL,
                          json_pack("{s:i,s:o}", "pid", (int)sb->pid, "started_at",
                                    sup_json_time(sb->started_at)));
}

/* Status / Wait / Stop JSON of a sandbox whose exit status is unknown (re-adopted
 * after a restart without the exit watcher): exit_status null and the reason. */
json_t *sup_issue7_exit_fixup(const struct sup_sandbox *sb, json_t *j)
{
        const char *why;

        if (!j || !sb->exited)
                return j;
        why = sup_sandbox_exit_unknown_reason(sb);
        if (!why && sb->exit_status >= 0)
                return j;
        json_object_set_new(j, "exit_status", json_null());
        json_object_set_new(j, "exit_status_unknown",
                            json_string(why ? why : "exit status unknown"));
        return j;
}

void sup_issue7_store_event(unsigned http_status, const struct store_record *rec, const char *ns,
                            const char *id)
{
        json_t *labels = NULL;
        char key[2 * SUP_NAME_MAX + 2];

        if (rec) {
                labels = json_object();
                for (size_t i = 0; labels && i < rec->n_labels; i++)
                        json_object_set_new(labels, rec->labels[i].key,
                                            json_string(rec->labels[i].value));
                ns = rec->namespace;
                id = rec->id;
        }
        if (!ns || !id || !ns[0] || !id[0]) {
                json_decref(labels);
                return;
        }
        snprintf(key, sizeof(key), "%s/%s", ns, id);
        if (!labels_seen)
                labels_seen = json_object();
        if (rec && labels && json_object_size(labels) > 0) {
                json_object_set(labels_seen, key, labels);
        } else if (!rec) {
                labels = json_incref(json_object_get(labels_seen, key));
                json_object_del(labels_seen, key);
        } else {
                json_object_del(labels_seen, key);
        }
        sup_event_sandbox(http_status == MHD_HTTP_CREATED ? SUP_EVENT_SANDBOX_CREATED
                          : rec                           ? SUP_EVENT_SANDBOX_UPDATED
                                                          : SUP_EVENT_SANDBOX_DELETED,
                          ns, id, labels, NULL);
        json_decref(labels);
}
