/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The event bus: what happens to sandboxes and tasks, as one JSON object per
 * line, streamed to every subscriber of GET /v1/events.
 *
 * Publishing never blocks and never fails visibly: an event is encoded once
 * into a reference-counted line that every matching subscriber queues.  Each
 * subscriber's queue is bounded (SUP_EVENTS_QUEUE_MAX lines); when a slow
 * reader's queue is full, further events for it are counted, not queued, and
 * the reader gets one {"type":"dropped","count":N} record at the place of the
 * gap, then the stream goes on.  The connection is kept.
 *
 * There is one bus per daemon process, held in this module (sup_events_init),
 * so that a state change anywhere in the controller is one call:
 *     sup_event_sandbox(SUP_EVENT_SANDBOX_STARTED, ns, id, labels, fields);
 * Before sup_events_init() and after sup_events_done() publishing is a no-op.
 */

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

enum sup_event_type {
        SUP_EVENT_SANDBOX_CREATED,
        SUP_EVENT_SANDBOX_UPDATED,
        SUP_EVENT_SANDBOX_DELETED,
        SUP_EVENT_SANDBOX_STARTED,
        SUP_EVENT_SANDBOX_EXITED,
        SUP_EVENT_SANDBOX_OOM,
        SUP_EVENT_SANDBOX_STOPPED,
        SUP_EVENT_TASK_STARTED,
        SUP_EVENT_TASK_EXITED,
        SUP_EVENT_DAEMON_STARTED,
        _SUP_EVENT_MAX,
};

/* Lines a subscriber may have queued before events are dropped for it. */
#define SUP_EVENTS_QUEUE_MAX 256
/* Subscribers at once; more are refused with 503. */
#define SUP_EVENTS_SUBSCRIBERS_MAX 256

/* "sandbox.created", ...; NULL when out of range. */
const char *sup_event_type_to_string(enum sup_event_type type);

/* Creates the bus of this process.  queue_max 0 = SUP_EVENTS_QUEUE_MAX
 * (the environment variable SANDBOXD_EVENTS_QUEUE_MAX overrides it, for
 * tests).  Returns 0 or -errno. */
int sup_events_init(unsigned queue_max);

/* Ends every stream (resuming suspended connections so that libmicrohttpd
 * can close them) and frees the bus once the last subscriber is gone.  Call
 * before MHD_stop_daemon(). */
void sup_events_done(void);

/* Publishes one event.  ns/sandbox_id/task_id may be NULL.  labels (borrowed,
 * may be NULL) are the sandbox's labels, used only for filter matching.
 * fields (stolen, may be NULL) is an object of extra members. */
void sup_event_publish(enum sup_event_type type, const char *ns, const char *sandbox_id,
                       const char *task_id, const json_t *labels, json_t *fields);

static inline void sup_event_sandbox(enum sup_event_type type, const char *ns,
                                     const char *sandbox_id, const json_t *labels, json_t *fields)
{
        sup_event_publish(type, ns, sandbox_id, NULL, labels, fields);
}

/* An epoll fd (to nest in the daemon's loop, EPOLLIN) that becomes readable
 * when a subscriber hangs up; then call sup_events_process(). */
int sup_events_fd(void);
void sup_events_process(void);

/* Where the labels of a sandbox come from when a publisher passes none and a
 * subscriber filters (returns a new reference to an object, or NULL). */
void sup_events_set_labels_provider(json_t *(*fn)(const char *ns, const char *id));

/* Number of subscribers connected now (for tests and Metrics). */
unsigned sup_events_subscribers(void);

/*
 * Answers GET /v1/events on conn: parses namespace and filter query
 * arguments (a missing namespace means every namespace), and on success
 * returns a streaming response in *ret_response that the caller queues with
 * status 200 and then destroys.  On failure returns -errno with err set
 * (-EINVAL bad filter or namespace, -EBUSY too many subscribers).
 */
int sup_events_subscribe(struct MHD_Connection *conn, struct MHD_Response **ret_response,
                         struct sbx_error *err);

/* A containerd-syntax filter over event fields (type, namespace, id /
 * sandbox_id, task_id, labels.KEY, and any top-level member of the event).
 * Exposed for unit tests. */
struct sup_event_filter;
int sup_event_filter_parse(const char *s, struct sup_event_filter **ret, struct sbx_error *err);
bool sup_event_filter_match(const struct sup_event_filter *f, const json_t *event,
                            const json_t *labels);
void sup_event_filter_free(struct sup_event_filter *f);
