/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * sandboxd's private interfaces: the event loop (loop.c), the HTTP server
 * (http.c, router.c), JSON helpers (json.c), the controller (controller.c,
 * sandbox.c), state files (statefile.c) and log capture (logfile.c).
 *
 * Everything runs on one thread; nothing here is thread-safe.
 */

#include "common/cleanup.h"
#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SUP_NAME_MAX       76
#define SUP_BODY_MAX       (1024 * 1024)
#define SUP_JSON_DEPTH_MAX 64
#define SUP_LOG_MAX        (8 * 1024 * 1024)
#define SUP_RUNTIME_NAME   "io.sandboxd.linux.v1"
#define SUP_SPEC_TYPE_URL  "types.containerd.io/opencontainers/runtime-spec/1/Spec"
#define SUP_VERSION        "0.1.0"

/* ---- configuration (main.c) ---------------------------------------------------------- */

struct sup_config {
        const char *socket_path;
        const char *state_dir;
        const char *run_dir;
        const char *cgroup_root; /* NULL: the daemon's own cgroup */
        const char *bpf_dir;
        const char *socket_group;
        gid_t socket_gid;
        bool have_socket_gid;
        bool allow_missing_controllers;
};

extern struct sup_config sup_config;

/* ---- event loop (loop.c) --------------------------------------------------------------- */

struct sup_watch {
        int fd; /* -EBADF once removed */
        void (*cb)(struct sup_watch *w, uint32_t events);
};

struct sup_timer {
        uint64_t when; /* CLOCK_MONOTONIC ns */
        void (*cb)(struct sup_timer *t);
        struct sup_timer *next;
        bool armed;
};

int sup_loop_init(struct sbx_error *err);
void sup_loop_done(void);
int sup_loop_add(int fd, uint32_t events, struct sup_watch *w);
int sup_loop_mod(struct sup_watch *w, uint32_t events);
void sup_loop_del(struct sup_watch *w);
void sup_timer_arm(struct sup_timer *t, uint64_t when_ns);
void sup_timer_disarm(struct sup_timer *t);
/* Frees p with fn after the current batch of events (a watch freed inside a batch may
 * still be reported later in it). */
void sup_loop_defer_free(void (*fn)(void *), void *p);
void sup_loop_set_idle_hook(int (*hook)(int timeout_ms));
int sup_loop_run(void);
void sup_loop_quit(void);
bool sup_loop_quitting(void);

/* ---- HTTP (http.c) --------------------------------------------------------------------- */

enum sup_method {
        SUP_GET,
        SUP_POST,
        SUP_PATCH,
        SUP_DELETE,
        _SUP_METHOD_MAX,
};

struct sup_request;
struct sup_sandbox;
struct MHD_Response;

typedef void (*sup_handler_t)(struct sup_request *r);

/* Why a waiting request is woken up (sup_sandbox_notify()). */
enum sup_wake {
        SUP_WAKE_EXITED,   /* the sandbox init exited */
        SUP_WAKE_TORNDOWN, /* teardown finished (Shutdown, Delete) */
        SUP_WAKE_LOG,      /* new log bytes, or log EOF */
        SUP_WAKE_GONE,     /* the sandbox struct is being freed */
        SUP_WAKE_TASK,     /* a task changed state (issue #7: tasks.c) */
        SUP_WAKE_STARTED,  /* its Start finished, successfully or not (parked requests) */
};

struct sup_request {
        struct MHD_Connection *conn;
        enum sup_method method;
        const char *method_name; /* as sent: "GET", "PUT"... */
        const char *url;
        char *body;
        size_t body_len;
        bool body_overflow;
        bool dispatched;
        bool suspended;
        bool aborted; /* the client hung up while suspended, or the daemon stops */
        bool queued;
        unsigned status;
        struct MHD_Response *response;

        /* Routing results. */
        char ns[SUP_NAME_MAX + 1];
        char id[SUP_NAME_MAX + 1];

        /* Waiting on a sandbox (Wait, Stop, Shutdown, Delete, log follow). */
        struct sup_sandbox *wsb;
        struct sup_request *wnext, *wprev;
        void (*on_wake)(struct sup_request *r, enum sup_wake why);
        void (*parked)(struct sup_request *r); /* handler run again once a Start is finished */
        struct sup_watch hup_watch;

        /* Operation state. */
        int log_fd;
        bool (*log_more)(struct sup_request *r); /* a followed log at its end (sup_reply_log) */
        void *op;                                /* freed with free() when the request ends */
        void *store_op;                          /* a store write in flight (api-store.c) */
        void (*on_done)(struct sup_request *r);  /* called when the request ends */

        struct sup_request *all_next, *all_prev;
};

int sup_http_start(int listen_fd, struct sbx_error *err);
/* Stops accepting, answers waiting requests with 503, lets in-flight requests finish (up
 * to a few seconds) and stops the server. */
void sup_http_stop(void);

/* Reply now (in the handler) or later (from a callback after sup_request_suspend()).
 * Takes the reference to body. */
void sup_reply_json(struct sup_request *r, unsigned status, json_t *body);
void sup_reply_empty(struct sup_request *r, unsigned status);
void sup_reply_error(struct sup_request *r, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Maps err->code (negative errno) to the API's code and status. */
void sup_reply_sbx_error(struct sup_request *r, const struct sbx_error *err);
void sup_reply_response(struct sup_request *r, unsigned status, struct MHD_Response *resp);
/* Answers 200 with the log file fd (taken): all of it as it is now, or with more set, a
 * stream that calls more() whenever it has sent everything there is.  more() returns false
 * to end the stream, or parks the request (sup_request_wait_on + sup_request_park) until
 * the log grows and returns true. */
void sup_reply_log(struct sup_request *r, int fd, bool (*more)(struct sup_request *r));
/* Marks the request as answered later; the handler returns without replying.  For work the
 * daemon finishes by itself (a store write, a spawn): a client that hangs up meanwhile is
 * seen when the answer is written. */
void sup_request_suspend(struct sup_request *r);
/* The same for a long poll (Wait, Stop, a teardown, a log stream), which may last as long as
 * the sandbox: the connection is also watched for the client's hang-up, which resumes the
 * request with r->aborted set, so that a gone client does not hold it until then. */
void sup_request_park(struct sup_request *r);
/* For streamed responses: stop polling the connection until sup_request_resume(). */
void sup_request_resume(struct sup_request *r);

/* Query arguments. */
const char *sup_request_arg(struct sup_request *r, const char *key);
/* A boolean argument: 1, true or empty; 0 or false; absent = false.  Anything else: replies
 * 400 naming the argument and returns false. */
bool sup_request_flag_arg(struct sup_request *r, const char *key, bool *ret);
/* Calls cb for every value of a repeatable argument. */
int sup_request_args(struct sup_request *r, const char *key,
                     int (*cb)(const char *value, void *userdata), void *userdata);

/* Parses the body as a JSON object (size, depth, duplicates checked).  An empty body
 * gives NULL with 0 when allow_empty.  On error replies 400 and returns <0. */
int sup_request_json(struct sup_request *r, bool allow_empty, json_t **ret);
/* For routes that take no body: replies 400 and returns <0 if a non-empty one is not {}. */
int sup_request_no_body(struct sup_request *r);

/* Waiter lists of a sandbox. */
void sup_request_wait_on(struct sup_request *r, struct sup_sandbox *sb,
                         void (*on_wake)(struct sup_request *r, enum sup_wake why));
void sup_request_unwait(struct sup_request *r);

/* ---- router (router.c) ----------------------------------------------------------------- */

/* Finds the route, checks method, query arguments, namespace and id, and calls the
 * handler (or replies 404/405/400). */
void sup_route(struct sup_request *r);

/* ---- JSON helpers (json.c) ------------------------------------------------------------- */

/* Bytes nested deeper than max arrays/objects (outside strings)?  A cheap pre-check
 * before jansson, whose own limit is 2048. */
bool sup_json_too_deep(const char *buf, size_t len, unsigned max);
/* Base64 (RFC 4648 §4, padded).  decode: -EINVAL on bad input. */
char *sup_base64_encode(const void *data, size_t len);
int sup_base64_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len);
bool sup_valid_name(const char *s);
json_t *sup_json_time(uint64_t ns); /* RFC 3339 string, or null when ns == 0 */
/* Dumps compactly with a trailing newline. */
char *sup_json_dump(const json_t *j, size_t *ret_len);
/* Checks that every key of object is one of keys (NULL-terminated); otherwise fails with
 * "unknown field "K" in WHAT". */
int sup_json_strict(const json_t *object, const char *what, const char *const *keys,
                    struct sbx_error *err);

/* ---- API handlers (api-store.c, api-controller.c) --------------------------------------- */

void sup_api_health(struct sup_request *r);
void sup_api_version(struct sup_request *r);
void sup_api_spec(struct sup_request *r);
void sup_api_list(struct sup_request *r);
void sup_api_create(struct sup_request *r);
void sup_api_get(struct sup_request *r);
void sup_api_update(struct sup_request *r);
void sup_api_delete(struct sup_request *r);
void sup_api_start(struct sup_request *r);
void sup_api_stop(struct sup_request *r);
void sup_api_shutdown(struct sup_request *r);
void sup_api_wait(struct sup_request *r);
void sup_api_status(struct sup_request *r);
void sup_api_metrics(struct sup_request *r);
void sup_api_logs(struct sup_request *r);

/* ---- sandboxes with runtime state (sandbox.c) ------------------------------------------- */

struct cg_sandbox;

enum sup_state {
        SUP_STATE_CREATED,
        SUP_STATE_RUNNING,
        SUP_STATE_STOPPING,
        SUP_STATE_STOPPED,
};

const char *sup_state_name(enum sup_state s);

struct sup_log {
        int pipe_fd; /* read end; -EBADF after EOF */
        struct sup_watch watch;
        int file_fd;
        uint64_t size;
        bool capped;
        bool eof;
};

/*
 * A sandbox that has runtime state: started at least once and not shut down since.
 * A sandbox in state "created" has no struct (its record is all there is).  Tasks
 * (issue #7) will hang off this struct, as will re-adoption after a restart: every
 * field needed for that is in the state file.
 */
struct sup_sandbox {
        char ns[SUP_NAME_MAX + 1];
        char id[SUP_NAME_MAX + 1];
        struct sup_sandbox *hnext;
        uint64_t run_id; /* unique per Start, for requests that outlive a run */

        enum sup_state state;
        pid_t pid;
        int pidfd;
        struct sup_watch pid_watch;
        uint64_t start_time; /* /proc/PID/stat field 22 */
        /* The init's first child (pid 2 of its pid namespace) is the spec's process, whose
         * exit is the sandbox's (sandbox-init exits with its status right after). */
        bool main_is_first_child;

        struct cg_sandbox *cg;
        uint64_t cgroup_id;
        struct sup_watch cg_watch; /* cgroup.events during teardown */

        uint64_t created_at, started_at, exited_at; /* ns since the epoch */
        int exit_status;
        bool exited;
        bool oom_killed;
        unsigned oom_kills;
        char **warnings; /* NULL-terminated, may be NULL */

        int run_dirfd; /* RUN_DIR/NS/ID */
        bool netns_mounted;
        bool netns_unmounting; /* a spawner thread unmounts it; the teardown waits */
        struct sup_log log;

        struct sup_timer stop_timer;
        uint64_t stop_deadline; /* monotonic ns, 0 = none */
        bool tearing_down;
        uint64_t teardown_at; /* monotonic ns: when the teardown began (for its log line) */
        bool kill_sent;
        bool dead;   /* removed from the table, freed after this loop iteration */
        bool listed; /* in the table (not while its Start is in flight) */

        struct sup_request *waiters;
};

struct sup_sandbox *sup_sandbox_find(const char *ns, const char *id);
struct sup_sandbox *sup_sandbox_find_cgroup(uint64_t cgroup_id);
int sup_sandbox_new(const char *ns, const char *id, struct sup_sandbox **ret);
/* A sandbox outside the table (a Start in flight: lookups do not find it; requests parked
 * on it wait on its waiter list), and putting it there. */
int sup_sandbox_new_detached(const char *ns, const char *id, struct sup_sandbox **ret);
void sup_sandbox_attach(struct sup_sandbox *sb);
/* Removes it from the table, wakes its waiters with SUP_WAKE_GONE, closes every fd and
 * frees it after the current loop iteration. Does not touch cgroups or mounts. */
void sup_sandbox_free(struct sup_sandbox *sb);
/* Wakes every waiter (each decides whether it is done). */
void sup_sandbox_notify(struct sup_sandbox *sb, enum sup_wake why);
void sup_sandbox_for_each(void (*cb)(struct sup_sandbox *sb, void *userdata), void *userdata);
unsigned sup_sandbox_count(void);

/* ---- state files (statefile.c) ---------------------------------------------------------- */

/* Writes RUN_DIR/NS/ID/state atomically (temporary file + rename). */
int sup_statefile_write(const struct sup_sandbox *sb);
/* The KEY=VALUE text of the state file (for tests). */
char *sup_statefile_format(const struct sup_sandbox *sb);

/* ---- log capture (logfile.c) ------------------------------------------------------------ */

/* Creates RUN_DIR/NS/ID/log and a pipe; ret_write_fd is the write end for the sandbox's
 * stdout and stderr (the caller closes it after the spawn). */
int sup_log_open(struct sup_sandbox *sb, int *ret_write_fd, struct sbx_error *err);
void sup_log_close(struct sup_log *log);
/* After a restart: re-opens the log file and the output FIFO of a re-adopted running
 * sandbox and drains what it wrote while no daemon ran. */
void sup_log_reattach(struct sup_sandbox *sb);
/* Drains what is in the pipe now (also called when the sandbox exits). */
void sup_log_drain(struct sup_sandbox *sb);

/* ---- start-up and shut-down of the parts (api-store.c, controller.c) ---------------------- */

struct store;
struct store_record;
extern struct store *sup_store;
int sup_store_init(struct sbx_error *err);
/* Waits for the writes in flight and runs their callbacks (daemon shutdown). */
void sup_store_flush(void);
void sup_store_done(void);
/* The record as the API shows it (record-json.c). */
json_t *sup_record_json(const struct store_record *rec);
/* A record from a Create (create: id and runtime.name required) or Update body (path_id:
 * the id in the URL, which a body id must equal).  Strict: unknown fields, wrong types,
 * bad base64 are -EINVAL naming the field. */
int sup_record_parse(const json_t *j, const char *ns, const char *path_id, bool create,
                     struct store_record **ret, struct sbx_error *err);
int sup_controller_init(struct sbx_error *err);
void sup_controller_done(void);

/* ---- the controller (controller.c) ------------------------------------------------------- */

struct cg_root;
struct exitwatch;
struct exitwatch_event;

extern struct cg_root *sup_cgroot;
extern struct exitwatch *sup_exitwatch; /* NULL when unavailable */
extern char sup_exitwatch_reason[256];  /* why it is unavailable */

/* Record lookups the controller needs (api-store.c).  -ENOENT when absent. */
int sup_store_exists(const char *ns, const char *id, uint64_t *ret_created_at);
/* A Delete of the record has been handed to the store and is not durable yet. */
bool sup_store_delete_pending(const char *ns, const char *id);

/*
 * Starts the sandbox in two phases.  On the loop: record, spec, run directory, cgroup, exit
 * watch, output pipe; then the spawn goes to a spawner thread (spawner-internal.h) and this
 * returns 0, or <0 with err when a step failed (everything undone).  When the spawn is
 * finished, again on the loop: pidfd, start time, netns mount, state file, then
 * done(userdata, sb, NULL) — or, everything undone, done(userdata, NULL, err).
 * done runs even when the daemon is stopping (sup_spawner_drain()).
 */
typedef void (*sup_start_done_t)(void *userdata, struct sup_sandbox *sb,
                                 const struct sbx_error *err);
int sup_controller_start(const char *ns, const char *id, sup_start_done_t done, void *userdata,
                         struct sbx_error *err);
/* The sandbox whose Start is in flight (not in the table yet), or NULL.  Requests that
 * must see the outcome wait on it (sup_request_wait_on) and get SUP_WAKE_STARTED once
 * the Start has finished, after its reply: they are then dispatched again. */
struct sup_sandbox *sup_controller_starting(const char *ns, const char *id);
/* The client of a Start in flight left: done will get NULL as userdata. */
void sup_controller_start_forget(void *userdata);
/* An exit watcher event for the cgroup of a Start in flight is kept and applied once the
 * sandbox is in the table (a short-lived one may exit before its Start comes back); any
 * other is dropped. */
void sup_controller_start_early_event(const struct exitwatch_event *ev);
/* Applies an exit watcher event (exit or OOM kill) to a sandbox in the table. */
void sup_controller_exit_event(struct sup_sandbox *sb, const struct exitwatch_event *ev);
/* SIGTERM now, cgroup.kill at deadline (monotonic ns; 0 = at once). */
int sup_controller_stop(struct sup_sandbox *sb, uint64_t timeout_ns, struct sbx_error *err);
/* Kills everything and removes cgroup, netns mount and run directory, then frees sb
 * (waiters see SUP_WAKE_GONE).  May finish at once (sb is then already freed):
 * returns 1 when finished, 0 when in progress. */
int sup_controller_teardown(struct sup_sandbox *sb);
/* Shell form of a wait status: code, or 128 + signal. */
int sup_wait_status_to_shell_form(int code, int status);

/* ---- start (controller-start.c) ------------------------------------------------------------ */

void sup_spec_cache_clear(void);
