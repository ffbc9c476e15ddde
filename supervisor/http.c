/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The HTTP server: libmicrohttpd in external epoll mode inside our loop, no
 * threads.  Three things about libmicrohttpd 0.9.75 shape this file:
 *
 *  - If the access handler queues a response (or suspends) on its *first* call for
 *    a request, every reply carries "Connection: close".  So the first call only
 *    allocates the request context; work starts on a later call.
 *  - A suspended connection is not polled: a client that hangs up during a long
 *    poll is not noticed.  For long polls (sup_request_park()) we watch the
 *    connection fd ourselves for EPOLLRDHUP, and resume (then drop) the request
 *    when it fires.  Short suspensions (a store write, a spawn) skip the two
 *    epoll_ctl calls: the hang-up shows when the answer is written.
 *  - MHD_stop_daemon() with suspended connections leaks or crashes: every
 *    suspended request is resumed first (sup_http_stop()).
 */
#include "supervisor/sandboxd-internal.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <grp.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

static struct MHD_Daemon *mhd;
static struct sup_watch mhd_watch;
static struct sup_request *all_requests;
static unsigned n_requests;
static bool stopping;
/* Without an internal thread libmicrohttpd has no wake-up fd for MHD_resume_connection():
 * the application must call MHD_run() afterwards.  The loop's idle hook does. */
static bool resumed;

/* Per-connection peer verdict, kept in MHD's socket context (no allocation). */
#define PEER_ALLOWED ((void *)1)
#define PEER_DENIED  ((void *)2)

static bool gid_in_proc_groups(pid_t pid, gid_t gid)
{
        char path[64];
        _cleanup_free_ char *buf = NULL;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        if (sbx_read_file_at(-EBADF, path, 64 * 1024, &buf, NULL) < 0)
                return false;
        const char *p = strstr(buf, "\nGroups:");
        if (!p)
                return false;
        p += strlen("\nGroups:");
        while (*p && *p != '\n') {
                char *end;
                unsigned long g = strtoul(p, &end, 10);

                if (end == p)
                        break;
                if ((gid_t)g == gid)
                        return true;
                p = end;
        }
        return false;
}

static void *peer_verdict(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                log_warning("refusing a connection whose peer credentials cannot be read");
                return PEER_DENIED;
        }
        if (cred.uid == 0)
                return PEER_ALLOWED;
        if (sup_config.have_socket_gid && (cred.gid == sup_config.socket_gid ||
                                           gid_in_proc_groups(cred.pid, sup_config.socket_gid)))
                return PEER_ALLOWED;
        log_warning("refused API client uid=%u gid=%u pid=%d: not root%s%s", (unsigned)cred.uid,
                    (unsigned)cred.gid, (int)cred.pid,
                    sup_config.have_socket_gid ? " and not in group " : "",
                    sup_config.have_socket_gid ? sup_config.socket_group : "");
        return PEER_DENIED;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
        if (toe == MHD_CONNECTION_NOTIFY_STARTED)
                *socket_context = peer_verdict(conn);
}

static bool peer_allowed(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return ci && ci->socket_context == PEER_ALLOWED;
}

/* ---- replies ----------------------------------------------------------------------------- */

void sup_reply_response(struct sup_request *r, unsigned status, struct MHD_Response *resp)
{
        if (r->response) /* answered twice: keep the first */
                MHD_destroy_response(r->response);
        r->response = resp;
        r->status = status;
        if (r->suspended) {
                sup_request_unwait(r);
                sup_request_resume(r);
        }
}

static struct MHD_Response *json_response(json_t *body)
{
        size_t len = 0;
        char *s = sup_json_dump(body, &len);
        struct MHD_Response *resp;

        json_decref(body);
        if (!s)
                return NULL;
        resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(s);
                return NULL;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json; charset=utf-8");
        return resp;
}

void sup_reply_json(struct sup_request *r, unsigned status, json_t *body)
{
        struct MHD_Response *resp = body ? json_response(body) : NULL;

        if (!resp) {
                /* Out of memory while building the reply: a bare 500. */
                resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
        sup_reply_response(r, status, resp);
}

void sup_reply_empty(struct sup_request *r, unsigned status)
{
        sup_reply_response(r, status,
                           MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

static void reply_error_code(struct sup_request *r, unsigned status, const char *code,
                             const char *message)
{
        sup_reply_json(r, status,
                       json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

static void errno_to_api(int code, unsigned *ret_status, const char **ret_code)
{
        switch (-code) {
        case ENOENT:
                *ret_status = MHD_HTTP_NOT_FOUND;
                *ret_code = "NotFound";
                break;
        case EEXIST:
                *ret_status = MHD_HTTP_CONFLICT;
                *ret_code = "AlreadyExists";
                break;
        case EINVAL:
                *ret_status = MHD_HTTP_BAD_REQUEST;
                *ret_code = "InvalidArgument";
                break;
        case EBUSY:
        case EALREADY:
                *ret_status = MHD_HTTP_PRECONDITION_FAILED;
                *ret_code = "FailedPrecondition";
                break;
        case ENOSPC:
        case EIO:
        case EDQUOT:
        case ESHUTDOWN:
                *ret_status = MHD_HTTP_SERVICE_UNAVAILABLE;
                *ret_code = "Unavailable";
                break;
        case EACCES:
                *ret_status = MHD_HTTP_FORBIDDEN;
                *ret_code = "PermissionDenied";
                break;
        case EOPNOTSUPP: /* used for 405 only by the router */
                *ret_status = MHD_HTTP_METHOD_NOT_ALLOWED;
                *ret_code = "MethodNotAllowed";
                break;
        default:
                *ret_status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                *ret_code = "Internal";
                break;
        }
}

void sup_reply_error(struct sup_request *r, int code, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        unsigned status;
        const char *name;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        errno_to_api(code, &status, &name);
        if (status == MHD_HTTP_INTERNAL_SERVER_ERROR)
                log_error("%s %s: internal error: %s", r->method_name, r->url, msg);
        reply_error_code(r, status, name, msg);
}

void sup_reply_sbx_error(struct sup_request *r, const struct sbx_error *err)
{
        int code = err->code < 0 ? err->code : -EIO;

        sup_reply_error(r, code, "%s", err->message[0] ? err->message : strerror(-code));
}

/* ---- suspension -------------------------------------------------------------------------- */

static void on_hangup(struct sup_watch *w, uint32_t events)
{
        struct sup_request *r =
                (struct sup_request *)((char *)w - offsetof(struct sup_request, hup_watch));

        log_debug("client hung up during %s", r->url);
        r->aborted = true;
        sup_request_unwait(r);
        sup_request_resume(r);
}

void sup_request_suspend(struct sup_request *r)
{
        if (r->suspended)
                return;
        MHD_suspend_connection(r->conn);
        r->suspended = true;
}

void sup_request_park(struct sup_request *r)
{
        const union MHD_ConnectionInfo *ci;

        sup_request_suspend(r);
        if (r->hup_watch.fd >= 0)
                return;
        ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        r->hup_watch.cb = on_hangup;
        /* Only hang-ups: the client may already have pipelined its next request. */
        if (ci && sup_loop_add(ci->connect_fd, EPOLLRDHUP, &r->hup_watch) < 0)
                r->hup_watch.fd = -EBADF;
}

void sup_request_resume(struct sup_request *r)
{
        if (!r->suspended)
                return;
        sup_loop_del(&r->hup_watch);
        r->suspended = false;
        MHD_resume_connection(r->conn);
        resumed = true;
}

/* ---- waiters ----------------------------------------------------------------------------- */

/* The waiter list head lives in struct sup_sandbox; sandbox.c owns it. */
struct sup_request **sup_sandbox_waiters(struct sup_sandbox *sb);

void sup_request_wait_on(struct sup_request *r, struct sup_sandbox *sb,
                         void (*on_wake)(struct sup_request *r, enum sup_wake why))
{
        struct sup_request **head = sup_sandbox_waiters(sb);

        sup_request_unwait(r);
        r->wsb = sb;
        r->on_wake = on_wake;
        r->wprev = NULL;
        r->wnext = *head;
        if (*head)
                (*head)->wprev = r;
        *head = r;
}

void sup_request_unwait(struct sup_request *r)
{
        if (!r->wsb)
                return;
        struct sup_request **head = sup_sandbox_waiters(r->wsb);

        if (r->wprev)
                r->wprev->wnext = r->wnext;
        else
                *head = r->wnext;
        if (r->wnext)
                r->wnext->wprev = r->wprev;
        r->wnext = r->wprev = NULL;
        r->wsb = NULL;
}

/* ---- requests ---------------------------------------------------------------------------- */

static int parse_method(const char *m, enum sup_method *ret)
{
        static const char *const names[] = {[SUP_GET] = "GET",
                                            [SUP_POST] = "POST",
                                            [SUP_PATCH] = "PATCH",
                                            [SUP_DELETE] = "DELETE"};

        for (int i = 0; i < _SUP_METHOD_MAX; i++)
                if (strcmp(m, names[i]) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct sup_request *r = *con_cls;

        if (!r) {
                /* First call: only the context (the keep-alive trap, see above). */
                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->conn = conn;
                r->url = url;
                r->method_name = method;
                r->log_fd = -EBADF;
                r->hup_watch.fd = -EBADF;
                r->method = _SUP_METHOD_MAX;
                (void)parse_method(method, &r->method);
                r->all_next = all_requests;
                if (all_requests)
                        all_requests->all_prev = r;
                all_requests = r;
                n_requests++;
                *con_cls = r;
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0;
                if (r->body_overflow || r->body_len + n > SUP_BODY_MAX) {
                        /* Read and drop the rest, then answer 400. */
                        r->body_overflow = true;
                        r->body = (free(r->body), NULL);
                        r->body_len = 0;
                        return MHD_YES;
                }
                char *nb = realloc(r->body, r->body_len + n + 1);
                if (!nb)
                        return MHD_NO;
                memcpy(nb + r->body_len, upload_data, n);
                r->body = nb;
                r->body_len += n;
                r->body[r->body_len] = '\0';
                return MHD_YES;
        }

        if (r->response && !r->queued) {
                /* Resumed with an answer ready. */
                r->queued = true;
                return MHD_queue_response(conn, r->status, r->response);
        }
        if (r->queued)
                return MHD_YES;
        if (r->aborted)
                return MHD_NO; /* hung up (or daemon stopping) before any answer: drop it */

        if (!r->dispatched) {
                r->dispatched = true;
                if (!peer_allowed(conn))
                        reply_error_code(r, MHD_HTTP_FORBIDDEN, "PermissionDenied",
                                         "only root or members of the socket group may use "
                                         "this API");
                else if (stopping)
                        reply_error_code(r, MHD_HTTP_SERVICE_UNAVAILABLE, "Unavailable",
                                         "sandboxd is shutting down");
                else if (r->body_overflow)
                        sup_reply_error(r, -EINVAL, "request body larger than %d bytes",
                                        SUP_BODY_MAX);
                else
                        sup_route(r);
        }
        if (r->response && !r->queued && !r->suspended) {
                r->queued = true;
                return MHD_queue_response(conn, r->status, r->response);
        }
        if (!r->suspended && !r->queued) {
                /* A handler that neither replied nor suspended is a bug. */
                log_error("%s: handler gave no answer", url);
                reply_error_code(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal",
                                 "handler gave no answer");
                r->queued = true;
                return MHD_queue_response(conn, r->status, r->response);
        }
        return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct sup_request *r = *con_cls;

        if (!r)
                return;
        *con_cls = NULL;
        if (r->on_done)
                r->on_done(r);
        sup_request_unwait(r);
        sup_loop_del(&r->hup_watch);
        if (r->response)
                MHD_destroy_response(r->response);
        if (r->all_prev)
                r->all_prev->all_next = r->all_next;
        else
                all_requests = r->all_next;
        if (r->all_next)
                r->all_next->all_prev = r->all_prev;
        n_requests--;
        safe_close(r->log_fd);
        free(r->op);
        free(r->body);
        free(r);
}

/* ---- request helpers --------------------------------------------------------------------- */

const char *sup_request_arg(struct sup_request *r, const char *key)
{
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool sup_request_flag_arg(struct sup_request *r, const char *key, bool *ret)
{
        const char *v = sup_request_arg(r, key);

        *ret = false;
        if (!v)
                return true;
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || v[0] == '\0')
                *ret = true;
        else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0) {
                sup_reply_error(r, -EINVAL, "%s: want 1, true, 0 or false, not \"%.40s\"", key, v);
                return false;
        }
        return true;
}

/* ---- logs -------------------------------------------------------------------------------- */

static ssize_t log_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct sup_request *r = cls;
        ssize_t n;

        if (r->aborted)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        n = pread(r->log_fd, buf, max, (off_t)pos);
        if (n > 0)
                return n;
        if (n < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        /* Returning 0 with the connection suspended: MHD calls again once resumed. */
        return r->log_more(r) ? 0 : MHD_CONTENT_READER_END_OF_STREAM;
}

void sup_reply_log(struct sup_request *r, int fd, bool (*more)(struct sup_request *r))
{
        struct MHD_Response *resp;
        struct stat st;

        if (fstat(fd, &st) < 0) {
                sup_reply_error(r, -errno, "reading the log: %s", strerror(errno));
                close(fd);
                return;
        }
        if (more) {
                r->log_fd = fd; /* closed with the request */
                r->log_more = more;
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, log_reader, r,
                                                         NULL);
        } else {
                /* MHD owns fd from here (and closes it). */
                resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
                if (!resp)
                        close(fd);
        }
        if (!resp) {
                sup_reply_error(r, -ENOMEM, "out of memory");
                return;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        sup_reply_response(r, MHD_HTTP_OK, resp);
}

struct args_ctx {
        const char *key;
        int (*cb)(const char *value, void *userdata);
        void *userdata;
        int ret;
};

static enum MHD_Result args_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
        struct args_ctx *c = cls;

        if (strcmp(key, c->key) != 0)
                return MHD_YES;
        c->ret = c->cb(value ? value : "", c->userdata);
        return c->ret < 0 ? MHD_NO : MHD_YES;
}

int sup_request_args(struct sup_request *r, const char *key,
                     int (*cb)(const char *value, void *userdata), void *userdata)
{
        struct args_ctx c = {.key = key, .cb = cb, .userdata = userdata};

        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, args_iter, &c);
        return c.ret;
}

int sup_request_json(struct sup_request *r, bool allow_empty, json_t **ret)
{
        json_error_t jerr;
        json_t *j;

        if (r->body_len == 0) {
                if (allow_empty) {
                        *ret = NULL;
                        return 0;
                }
                sup_reply_error(r, -EINVAL, "request body missing: a JSON object is required");
                return -EINVAL;
        }
        if (sup_json_too_deep(r->body, r->body_len, SUP_JSON_DEPTH_MAX)) {
                sup_reply_error(r, -EINVAL, "JSON nested deeper than %d levels",
                                SUP_JSON_DEPTH_MAX);
                return -EINVAL;
        }
        j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                sup_reply_error(r, -EINVAL, "invalid JSON at line %d column %d: %s", jerr.line,
                                jerr.column, jerr.text);
                return -EINVAL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                sup_reply_error(r, -EINVAL, "request body must be a JSON object");
                return -EINVAL;
        }
        *ret = j;
        return 0;
}

int sup_request_no_body(struct sup_request *r)
{
        json_t *j = NULL;
        int k;

        k = sup_request_json(r, true, &j);
        if (k < 0)
                return k;
        if (j && json_object_size(j) > 0) {
                json_decref(j);
                sup_reply_error(r, -EINVAL, "this route takes no request body (or {})");
                return -EINVAL;
        }
        json_decref(j);
        return 0;
}

/* ---- server ------------------------------------------------------------------------------ */

static void on_mhd(struct sup_watch *w, uint32_t events)
{
        MHD_run(mhd);
}

static int http_idle(int timeout_ms)
{
        MHD_UNSIGNED_LONG_LONG t;

        /* Resumed connections and buffered input are processed without waiting for the fd;
         * MHD_get_timeout() reports 0 while there is such work. */
        for (int i = 0; i < 8; i++) {
                if (resumed) {
                        resumed = false;
                        MHD_run(mhd);
                        continue;
                }
                if (MHD_get_timeout(mhd, &t) != MHD_YES)
                        return timeout_ms;
                if (t > 0)
                        return t > INT32_MAX ? INT32_MAX : (int)t;
                MHD_run(mhd);
        }
        return 0;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
        char buf[512];

        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = '\0';
        log_debug("http: %s", buf);
}

int sup_http_start(int listen_fd, struct sbx_error *err)
{
        const union MHD_DaemonInfo *di;

        mhd = MHD_start_daemon(
                MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG, 0,
                NULL, NULL, on_request, NULL,
                /* The logger first, or earlier options log through libmicrohttpd's own. */
                MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_LISTEN_SOCKET, listen_fd,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                on_connection, NULL,
                /* Idle or slow (slow-loris) connections are closed after 30 s. */
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
                (unsigned)4096, MHD_OPTION_END);
        if (!mhd)
                return sbx_fail(err, -EIO, "cannot start the HTTP server (libmicrohttpd)");
        di = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!di)
                return sbx_fail(err, -EIO, "libmicrohttpd has no epoll fd");
        mhd_watch.cb = on_mhd;
        if (sup_loop_add(di->epoll_fd, EPOLLIN, &mhd_watch) < 0)
                return sbx_fail_errno(err, -errno, "epoll_ctl(http)");
        sup_loop_set_idle_hook(http_idle);
        return 0;
}

void sup_http_stop(void)
{
        if (!mhd)
                return;
        stopping = true;
        /* Stop accepting: the listening socket is closed; clients get ECONNREFUSED. */
        int lfd = MHD_quiesce_daemon(mhd);
        if (lfd >= 0)
                close(lfd);

        /* Answer what is waiting, then let MHD send it (a few seconds at most). */
        for (struct sup_request *r = all_requests; r; r = r->all_next)
                if (r->suspended) {
                        r->aborted = true;
                        if (!r->response)
                                reply_error_code(r, MHD_HTTP_SERVICE_UNAVAILABLE, "Unavailable",
                                                 "sandboxd is shutting down");
                        else
                                sup_request_resume(r);
                }
        uint64_t deadline = sbx_now_monotonic_ns() + 3 * NSEC_PER_SEC;
        while (sbx_now_monotonic_ns() < deadline) {
                bool busy = false;

                for (struct sup_request *r = all_requests; r; r = r->all_next)
                        if (r->dispatched || r->body_len > 0)
                                busy = true;
                if (!busy)
                        break;
                resumed = false;
                MHD_run(mhd);
                struct epoll_event ev;
                (void)epoll_wait(mhd_watch.fd, &ev, 1, 20);
        }
        for (struct sup_request *r = all_requests; r; r = r->all_next)
                sup_request_resume(r);
        sup_loop_del(&mhd_watch);
        MHD_stop_daemon(mhd);
        mhd = NULL;
}
