/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The event bus behind GET /v1/events (see events-internal.h).
 *
 * Delivery through libmicrohttpd without ever blocking the loop: a stream is
 * a response whose content reader copies queued lines into libmicrohttpd's
 * buffer.  When a subscriber's queue is empty the reader suspends the
 * connection (allowed from a content reader, microhttpd.h) and returns 0;
 * publishing resumes it.  libmicrohttpd writes with non-blocking sockets, so
 * a reader that stops reading only stops our reader from being called: its
 * queue fills up to the bound and further events are counted as dropped.
 *
 * The socket send buffer of an event connection is made small
 * (EVENTS_SNDBUF), so that a stalled reader's backlog is held (and bounded)
 * in our queue rather than in kernel memory, and the drop record is sent as
 * soon as the reader reads again.
 *
 * A suspended connection is not polled by libmicrohttpd, so a client that
 * hangs up while no events come would not be noticed: each subscriber's fd
 * is therefore also watched for EPOLLRDHUP on an epoll fd of our own
 * (sup_events_fd(), nested in the daemon's loop); on a hang-up the
 * connection is resumed and its reader ends the stream.
 */
#include "supervisor/events-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/unquote.h"
#include "common/util.h"

#define EVENTS_SNDBUF 4096

struct line {
        unsigned refs;
        size_t len;
        char data[];
};

struct sub {
        struct sub *next, *prev;
        struct MHD_Connection *conn;
        int fd;
        char *ns; /* NULL = every namespace */
        struct sup_event_filter **filters;
        size_t n_filters;

        struct line **ring;
        unsigned head, count;
        size_t offset;    /* bytes of ring[head] already sent */
        uint64_t dropped; /* events not queued since the last drop record */
        bool suspended;
        bool ending; /* the stream is to end (hang-up or daemon exit) */
        bool hung_up;
};

struct bus {
        struct sub *subs;
        struct line *sticky; /* the last daemon.started record, sent first to new streams */
        json_t *sticky_event;
        unsigned n_subs;
        unsigned queue_max;
        uint64_t seq;
        int epfd;
        bool done;
};

static struct bus *bus;
static json_t *(*labels_provider)(const char *ns, const char *id);

void sup_events_set_labels_provider(json_t *(*fn)(const char *ns, const char *id))
{
        labels_provider = fn;
}

static const char *const type_names[_SUP_EVENT_MAX] = {
        [SUP_EVENT_SANDBOX_CREATED] = "sandbox.created",
        [SUP_EVENT_SANDBOX_UPDATED] = "sandbox.updated",
        [SUP_EVENT_SANDBOX_DELETED] = "sandbox.deleted",
        [SUP_EVENT_SANDBOX_STARTED] = "sandbox.started",
        [SUP_EVENT_SANDBOX_EXITED] = "sandbox.exited",
        [SUP_EVENT_SANDBOX_OOM] = "sandbox.oom",
        [SUP_EVENT_SANDBOX_STOPPED] = "sandbox.stopped",
        [SUP_EVENT_TASK_STARTED] = "task.started",
        [SUP_EVENT_TASK_EXITED] = "task.exited",
        [SUP_EVENT_DAEMON_STARTED] = "daemon.started",
};

const char *sup_event_type_to_string(enum sup_event_type type)
{
        if ((unsigned)type >= _SUP_EVENT_MAX)
                return NULL;
        return type_names[type];
}

/* ---- filters: containerd syntax over the members of an event ----------- */

enum op { OP_PRESENT, OP_EQ, OP_NE, OP_MATCH };

struct selector {
        char **path; /* NULL-terminated field path */
        enum op op;
        char *value;
        regex_t re;
        bool has_re;
};

struct sup_event_filter {
        struct selector *sels;
        size_t n;
};

void sup_event_filter_free(struct sup_event_filter *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n; i++) {
                struct selector *s = &f->sels[i];
                for (char **p = s->path; p && *p; p++)
                        free(*p);
                free(s->path);
                free(s->value);
                if (s->has_re)
                        regfree(&s->re);
        }
        free(f->sels);
        free(f);
}

static void skip_space(const char **p)
{
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

static bool is_field_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

/* A quoted string as containerd's filters take it: "..." with Go's escapes, or (values
 * only) /.../ and |...|, in which only the delimiter is escaped and every other backslash
 * is kept for the regex engine (`id~=/^a\.b$/`, `labels.path~=|^/srv/|`).  Or, unquoted, a
 * bare token accepted by ok(). */
static int scan_token(const char **p, bool (*ok)(char), bool value, char **ret, const char *what,
                      const char *start, struct sbx_error *err)
{
        const char *s = *p, *why = NULL;
        _cleanup_free_ char *out = NULL;
        char q = *s;

        if (q == '"' || (value && (q == '/' || q == '|'))) {
                size_t pos = 0, len;
                int r = sbx_unquote(s, &pos, &out, &len, &why);

                if (r == -EINVAL && strcmp(why, "unterminated quoted string") == 0)
                        return sbx_fail(err, -EINVAL,
                                        "filter \"%s\": unterminated quoted %s at offset %zu",
                                        start, what, (size_t)(*p - start));
                if (r == -EINVAL)
                        return sbx_fail(err, -EINVAL,
                                        "filter \"%s\": %s in the quoted %s at offset %zu", start,
                                        why, what, (size_t)(s + pos - start));
                if (r < 0)
                        return r;
                s += pos;
        } else {
                while (*s && ok(*s))
                        s++;
                if (s == *p)
                        return sbx_fail(err, -EINVAL, "filter \"%s\": expected a %s at offset %zu",
                                        start, what, (size_t)(*p - start));
                out = strndup(*p, s - *p);
                if (!out)
                        return -ENOMEM;
        }
        *p = s;
        *ret = TAKE_PTR(out);
        return 0;
}

static bool is_value_char(char c)
{
        return c != ',' && c != ' ' && c != '\t' && c != '"' && c != '\0';
}

static int parse_selector(const char **p, const char *start, struct selector *sel,
                          struct sbx_error *err)
{
        size_t n = 0;
        int r;

        for (;;) {
                char **np = realloc(sel->path, (n + 2) * sizeof(char *));
                if (!np)
                        return -ENOMEM;
                sel->path = np;
                sel->path[n] = NULL;
                sel->path[n + 1] = NULL;
                r = scan_token(p, is_field_char, false, &sel->path[n], "field name", start, err);
                if (r < 0)
                        return r;
                n++;
                if (**p != '.')
                        break;
                (*p)++;
        }
        skip_space(p);
        if ((*p)[0] == '=' && (*p)[1] == '=')
                sel->op = OP_EQ;
        else if ((*p)[0] == '!' && (*p)[1] == '=')
                sel->op = OP_NE;
        else if ((*p)[0] == '~' && (*p)[1] == '=')
                sel->op = OP_MATCH;
        else {
                sel->op = OP_PRESENT;
                return 0;
        }
        *p += 2;
        skip_space(p);
        r = scan_token(p, is_value_char, true, &sel->value, "value", start, err);
        if (r < 0)
                return r;
        if (sel->op == OP_MATCH) {
                r = regcomp(&sel->re, sel->value, REG_EXTENDED | REG_NOSUB);
                if (r != 0) {
                        char msg[128];
                        regerror(r, &sel->re, msg, sizeof(msg));
                        return sbx_fail(err, -EINVAL, "filter \"%s\": bad regular expression: %s",
                                        start, msg);
                }
                sel->has_re = true;
        }
        return 0;
}

int sup_event_filter_parse(const char *s, struct sup_event_filter **ret, struct sbx_error *err)
{
        struct sup_event_filter *f = calloc(1, sizeof(*f));
        const char *p = s;
        int r;

        if (!f)
                return -ENOMEM;
        for (;;) {
                struct selector *ns = realloc(f->sels, (f->n + 1) * sizeof(*ns));
                if (!ns) {
                        sup_event_filter_free(f);
                        return -ENOMEM;
                }
                f->sels = ns;
                memset(&f->sels[f->n], 0, sizeof(*ns));
                f->n++;
                skip_space(&p);
                r = parse_selector(&p, s, &f->sels[f->n - 1], err);
                if (r < 0) {
                        sup_event_filter_free(f);
                        return r;
                }
                skip_space(&p);
                if (*p == '\0')
                        break;
                if (*p != ',') {
                        sup_event_filter_free(f);
                        return sbx_fail(err, -EINVAL,
                                        "filter \"%s\": unexpected '%c' at offset %zu", s, *p,
                                        (size_t)(p - s));
                }
                p++;
        }
        *ret = f;
        return 0;
}

/* The string value of a field path in an event: top-level members, with
 * "id" an alias of sandbox_id and labels.KEY looked up in the labels. */
static const char *lookup(char **path, const json_t *event, const json_t *labels, char *buf,
                          size_t size)
{
        const json_t *v;

        if (strcmp(path[0], "labels") == 0) {
                if (!path[1] || path[2] || !labels)
                        return NULL;
                v = json_object_get(labels, path[1]);
        } else {
                if (path[1])
                        return NULL;
                v = json_object_get(event, strcmp(path[0], "id") == 0 ? "sandbox_id" : path[0]);
        }
        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v)) {
                snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return buf;
        }
        if (json_is_true(v))
                return "true";
        if (json_is_false(v))
                return "false";
        return NULL;
}

bool sup_event_filter_match(const struct sup_event_filter *f, const json_t *event,
                            const json_t *labels)
{
        for (size_t i = 0; i < f->n; i++) {
                const struct selector *s = &f->sels[i];
                char buf[32];
                const char *v = lookup(s->path, event, labels, buf, sizeof(buf));
                bool ok;

                switch (s->op) {
                case OP_PRESENT:
                        ok = v != NULL;
                        break;
                case OP_EQ:
                        ok = v && strcmp(v, s->value) == 0;
                        break;
                case OP_NE:
                        ok = !v || strcmp(v, s->value) != 0;
                        break;
                case OP_MATCH:
                        ok = v && regexec(&s->re, v, 0, NULL, 0) == 0;
                        break;
                default:
                        ok = false;
                }
                if (!ok)
                        return false;
        }
        return true;
}

/* ---- lines and queues ---------------------------------------------------- */

static struct line *line_new(const char *data, size_t len)
{
        struct line *l = malloc(sizeof(*l) + len);
        if (!l)
                return NULL;
        l->refs = 1;
        l->len = len;
        memcpy(l->data, data, len);
        return l;
}

static void line_unref(struct line *l)
{
        if (l && --l->refs == 0)
                free(l);
}

static bool sub_push(struct sub *s, struct line *l)
{
        if (s->count >= bus->queue_max)
                return false;
        s->ring[(s->head + s->count) % bus->queue_max] = l;
        l->refs++;
        s->count++;
        return true;
}

static struct line *drop_line(uint64_t count)
{
        char buf[96];
        int n = snprintf(buf, sizeof(buf), "{\"type\":\"dropped\",\"count\":%" PRIu64 "}\n", count);
        return line_new(buf, n);
}

static void sub_wake(struct sub *s)
{
        if (s->suspended) {
                s->suspended = false;
                MHD_resume_connection(s->conn);
        }
}

static void sub_unlink(struct sub *s)
{
        if (s->prev)
                s->prev->next = s->next;
        else if (bus && bus->subs == s)
                bus->subs = s->next;
        if (s->next)
                s->next->prev = s->prev;
        s->next = s->prev = NULL;
}

static void sub_free(struct sub *s)
{
        if (!s)
                return;
        if (bus) {
                for (unsigned i = 0; i < s->count; i++)
                        line_unref(s->ring[(s->head + i) % bus->queue_max]);
                if (s->fd >= 0 && bus->epfd >= 0)
                        (void)epoll_ctl(bus->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        }
        for (size_t i = 0; i < s->n_filters; i++)
                sup_event_filter_free(s->filters[i]);
        free(s->filters);
        free(s->ring);
        free(s->ns);
        free(s);
}

static void bus_free_if_done(void)
{
        if (bus && bus->done && !bus->subs) {
                line_unref(bus->sticky);
                json_decref(bus->sticky_event);
                safe_close(bus->epfd);
                free(bus);
                bus = NULL;
        }
}

/* ---- publishing ---------------------------------------------------------- */

static bool sub_matches(const struct sub *s, const json_t *ev, const json_t *labels)
{
        if (s->n_filters == 0)
                return true;
        for (size_t i = 0; i < s->n_filters; i++)
                if (sup_event_filter_match(s->filters[i], ev, labels))
                        return true;
        return false;
}

void sup_event_publish(enum sup_event_type type, const char *ns, const char *sandbox_id,
                       const char *task_id, const json_t *labels, json_t *fields)
{
        char ts[SBX_RFC3339_MAX];
        json_t *ev;

        if (!bus || bus->done || (unsigned)type >= _SUP_EVENT_MAX) {
                json_decref(fields);
                return;
        }
        bus->seq++;
        if (!bus->subs && type != SUP_EVENT_DAEMON_STARTED) {
                json_decref(fields);
                return;
        }

        ev = json_object();
        if (!ev) {
                json_decref(fields);
                return;
        }
        json_object_set_new(ev, "type", json_string(type_names[type]));
        json_object_set_new(ev, "seq", json_integer((json_int_t)bus->seq));
        json_object_set_new(ev, "timestamp",
                            json_string(sbx_format_rfc3339(sbx_now_realtime_ns(), ts)));
        if (ns)
                json_object_set_new(ev, "namespace", json_string(ns));
        if (sandbox_id)
                json_object_set_new(ev, "sandbox_id", json_string(sandbox_id));
        if (task_id)
                json_object_set_new(ev, "task_id", json_string(task_id));
        if (fields) {
                json_object_update_missing(ev, fields);
                json_decref(fields);
        }

        _cleanup_free_ char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        struct line *l = NULL;
        if (text) {
                size_t n = strlen(text);
                text[n] = '\n'; /* replaces the NUL: line_new copies n+1 bytes */
                l = line_new(text, n + 1);
        }
        if (!l) {
                json_decref(ev);
                return;
        }
        if (type == SUP_EVENT_DAEMON_STARTED) {
                /* Streams opened later begin with it: it says what this daemon found. */
                line_unref(bus->sticky);
                json_decref(bus->sticky_event);
                bus->sticky = l;
                l->refs++;
                bus->sticky_event = json_incref(ev);
        }

        /* Labels are looked up only when someone filters and the publisher had none. */
        json_t *own_labels = NULL;
        if (!labels && sandbox_id && ns && labels_provider)
                for (struct sub *s = bus->subs; s; s = s->next)
                        if (s->n_filters > 0) {
                                labels = own_labels = labels_provider(ns, sandbox_id);
                                break;
                        }

        for (struct sub *s = bus->subs; s; s = s->next) {
                if (s->ending)
                        continue;
                if (s->ns && (!ns || strcmp(s->ns, ns) != 0))
                        continue;
                if (!sub_matches(s, ev, labels))
                        continue;

                if (s->dropped > 0) {
                        /* The drop record goes where the gap is: before this event,
                         * and only when both fit. */
                        if (s->count + 2 > bus->queue_max) {
                                s->dropped++;
                                continue;
                        }
                        struct line *d = drop_line(s->dropped);
                        if (!d) {
                                s->dropped++;
                                continue;
                        }
                        sub_push(s, d);
                        line_unref(d);
                        s->dropped = 0;
                }
                if (!sub_push(s, l))
                        s->dropped++;
                sub_wake(s);
        }
        line_unref(l);
        json_decref(ev);
        json_decref(own_labels);
}

/* ---- streaming ----------------------------------------------------------- */

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct sub *s = cls;
        size_t n = 0;

        while (s->count > 0 && n < max) {
                struct line *l = s->ring[s->head];
                size_t k = l->len - s->offset;
                if (k > max - n)
                        k = max - n;
                memcpy(buf + n, l->data + s->offset, k);
                n += k;
                s->offset += k;
                if (s->offset == l->len) {
                        line_unref(l);
                        s->ring[s->head] = NULL;
                        s->head = (s->head + 1) % bus->queue_max;
                        s->count--;
                        s->offset = 0;
                }
        }
        if (s->count == 0 && s->dropped > 0 && n == 0) {
                /* Everything queued went out; the gap is at the end. */
                struct line *d = drop_line(s->dropped);
                if (d) {
                        sub_push(s, d);
                        line_unref(d);
                        s->dropped = 0;
                        return reader(cls, pos, buf, max);
                }
        }
        if (n > 0)
                return (ssize_t)n;
        if (s->hung_up)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->ending)
                return MHD_CONTENT_READER_END_OF_STREAM;
        s->suspended = true;
        MHD_suspend_connection(s->conn);
        return 0;
}

static void reader_free(void *cls)
{
        struct sub *s = cls;

        if (bus) {
                sub_unlink(s);
                bus->n_subs--;
        }
        sub_free(s);
        bus_free_if_done();
}

struct collect {
        struct sub *s;
        int r;
        struct sbx_error *err;
};

static enum MHD_Result collect_filter(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
        struct collect *c = cls;
        struct sup_event_filter *f;
        void *nf;

        if (c->r < 0 || strcmp(key, "filter") != 0)
                return MHD_YES;
        if (!value || !value[0]) {
                c->r = sbx_fail(c->err, -EINVAL, "filter: empty filter");
                return MHD_NO;
        }
        nf = realloc(c->s->filters, (c->s->n_filters + 1) * sizeof(void *));
        if (!nf) {
                c->r = -ENOMEM;
                return MHD_NO;
        }
        c->s->filters = nf;
        c->r = sup_event_filter_parse(value, &f, c->err);
        if (c->r < 0)
                return MHD_NO;
        c->s->filters[c->s->n_filters++] = f;
        return MHD_YES;
}

int sup_events_subscribe(struct MHD_Connection *conn, struct MHD_Response **ret_response,
                         struct sbx_error *err)
{
        struct sub *s;
        struct MHD_Response *resp;
        const char *ns;
        int r;

        if (!bus || bus->done)
                return sbx_fail(err, -EAGAIN, "the daemon is shutting down");
        if (bus->n_subs >= SUP_EVENTS_SUBSCRIBERS_MAX)
                return sbx_fail(err, -EBUSY, "too many event subscribers (at most %d)",
                                SUP_EVENTS_SUBSCRIBERS_MAX);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -EBADF;
        s->ring = calloc(bus->queue_max, sizeof(*s->ring));
        if (!s->ring) {
                sub_free(s);
                return -ENOMEM;
        }

        ns = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "namespace");
        if (ns && ns[0]) {
                s->ns = strdup(ns);
                if (!s->ns) {
                        sub_free(s);
                        return -ENOMEM;
                }
        }

        /* Every filter= argument; several are OR'ed.  MHD_get_connection_values
         * sees repeated keys, MHD_lookup_connection_value only the first. */
        struct collect c = {s, 0, err};
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_filter, &c);
        if (c.r < 0) {
                r = c.r;
                sub_free(s);
                return r;
        }

        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, s,
                                                 reader_free);
        if (!resp) {
                sub_free(s);
                return -ENOMEM;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");

        s->conn = conn;
        /* A stream may be quiet for hours: no idle timeout on this connection. */
        (void)MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)0);
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) {
                int sz = EVENTS_SNDBUF;
                s->fd = ci->connect_fd;
                (void)setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
                struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = s};
                if (epoll_ctl(bus->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
                        log_debug("events: cannot watch fd %d for hang-up: %m", s->fd);
        }
        if (bus->sticky && (!s->ns) && sub_matches(s, bus->sticky_event, NULL))
                sub_push(s, bus->sticky);
        s->next = bus->subs;
        if (bus->subs)
                bus->subs->prev = s;
        bus->subs = s;
        bus->n_subs++;
        *ret_response = resp;
        return 0;
}

int sup_events_fd(void)
{
        return bus ? bus->epfd : -EBADF;
}

void sup_events_process(void)
{
        struct epoll_event evs[16];
        int n;

        if (!bus)
                return;
        while ((n = epoll_wait(bus->epfd, evs, ELEMENTSOF(evs), 0)) > 0) {
                for (int i = 0; i < n; i++) {
                        struct sub *s = evs[i].data.ptr;
                        /* Level-triggered: stop watching, or this fires forever. */
                        (void)epoll_ctl(bus->epfd, EPOLL_CTL_DEL, s->fd, NULL);
                        s->fd = -EBADF;
                        s->hung_up = true;
                        s->ending = true;
                        sub_wake(s);
                }
        }
}

unsigned sup_events_subscribers(void)
{
        return bus ? bus->n_subs : 0;
}

int sup_events_init(unsigned queue_max)
{
        const char *e = getenv("SANDBOXD_EVENTS_QUEUE_MAX");
        uint64_t v;

        if (bus)
                return -EALREADY;
        if (e && sbx_parse_u64(e, &v) >= 0 && v >= 2 && v <= 1000000)
                queue_max = (unsigned)v;
        if (queue_max < 2)
                queue_max = SUP_EVENTS_QUEUE_MAX;
        bus = calloc(1, sizeof(*bus));
        if (!bus)
                return -ENOMEM;
        bus->queue_max = queue_max;
        bus->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (bus->epfd < 0) {
                int r = -errno;
                free(bus);
                bus = NULL;
                return r;
        }
        return 0;
}

void sup_events_done(void)
{
        if (!bus)
                return;
        bus->done = true;
        for (struct sub *s = bus->subs; s; s = s->next) {
                s->ending = true;
                sub_wake(s);
        }
        bus_free_if_done();
}
