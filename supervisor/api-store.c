/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Store routes (docs/api.md): create, list, get, update, delete.  One parser
 * for the record JSON (strict: unknown fields are errors), one printer.  Writes are
 * asynchronous: the request is suspended until the store says the write is durable.
 */
#include "supervisor/sandboxd-internal.h"
#include "supervisor/tasks-internal.h"
#include "supervisor/crashpoint-internal.h"

#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

struct store *sup_store;
static struct sup_watch store_watch;

/* ---- pending writes ---------------------------------------------------------------------- */

/* Outlives its request: a client may hang up before the write is durable. */
struct store_op {
        struct sup_request *r;
        unsigned status;                                 /* on success */
        char ns[SUP_NAME_MAX + 1], id[SUP_NAME_MAX + 1]; /* for the event (issue #7) */
        struct store_op *next_delete;                    /* in pending_deletes */
};

/* Deletes handed to the store and not yet durable: until then the record still reads as
 * present, and a Start must not take it (it would run a sandbox without a record). */
static struct store_op *pending_deletes;

bool sup_store_delete_pending(const char *ns, const char *id)
{
        for (struct store_op *op = pending_deletes; op; op = op->next_delete)
                if (strcmp(op->ns, ns) == 0 && strcmp(op->id, id) == 0)
                        return true;
        return false;
}

static void store_op_detach(struct sup_request *r)
{
        struct store_op *op = r->store_op;

        if (op)
                op->r = NULL;
        r->store_op = NULL;
}

static struct store_op *store_op_new(struct sup_request *r, unsigned status)
{
        struct store_op *op = calloc(1, sizeof(*op));

        if (!op)
                return NULL;
        op->r = r;
        op->status = status;
        memcpy(op->ns, r->ns, sizeof(op->ns));
        memcpy(op->id, r->id, sizeof(op->id));
        r->store_op = op;
        r->on_done = store_op_detach;
        return op;
}

static void on_store_done(void *userdata, int result, const struct store_record *rec,
                          const struct sbx_error *err)
{
        struct store_op *op = userdata;
        struct sup_request *r = op->r;

        for (struct store_op **p = &pending_deletes; *p; p = &(*p)->next_delete)
                if (*p == op) {
                        *p = op->next_delete;
                        break;
                }
        if (result >= 0) {
                log_info("sandbox %s/%s: %s", op->ns, rec ? rec->id : op->id,
                         op->status == MHD_HTTP_CREATED      ? "created"
                         : op->status == MHD_HTTP_NO_CONTENT ? "deleted"
                                                             : "updated");
                sup_issue7_store_event(op->status, rec, op->ns, op->id);
                if (op->status == MHD_HTTP_CREATED)
                        SUP_CRASH_POINT("create-durable");
                else if (op->status == MHD_HTTP_NO_CONTENT)
                        SUP_CRASH_POINT("delete-durable");
        } else {
                log_warning("sandbox %s/%s: store write failed: %s", op->ns, op->id,
                            err ? err->message : strerror(-result));
        }
        if (r) {
                r->store_op = NULL;
                r->on_done = NULL;
                if (result < 0)
                        sup_reply_sbx_error(r, err);
                else if (rec)
                        sup_reply_json(r, op->status, sup_record_json(rec));
                else
                        sup_reply_empty(r, op->status);
        }
        free(op);
}

static void submit_failed(struct sup_request *r, struct store_op *op, const struct sbx_error *err)
{
        store_op_detach(r);
        r->on_done = NULL;
        free(op);
        sup_reply_sbx_error(r, err);
}

/* ---- handlers ---------------------------------------------------------------------------- */

void sup_api_create(struct sup_request *r)
{
        struct sbx_error err = {0};
        _cleanup_store_record_ struct store_record *rec = NULL;
        json_t *j = NULL;
        struct store_op *op;
        int k;

        if (sup_request_json(r, false, &j) < 0)
                return;
        k = sup_record_parse(j, r->ns, NULL, true, &rec, &err);
        json_decref(j);
        if (k < 0) {
                sup_reply_sbx_error(r, &err);
                return;
        }
        op = store_op_new(r, MHD_HTTP_CREATED);
        if (!op) {
                sup_reply_error(r, -ENOMEM, "out of memory");
                return;
        }
        if (store_create(sup_store, rec, on_store_done, op, &err) < 0) {
                submit_failed(r, op, &err);
                return;
        }
        sup_request_suspend(r);
}

struct filters {
        const char **v;
        size_t n;
};

static int add_filter(const char *value, void *userdata)
{
        struct filters *f = userdata;
        const char **nv = realloc(f->v, (f->n + 1) * sizeof(*nv));

        if (!nv)
                return -ENOMEM;
        nv[f->n++] = value;
        f->v = nv;
        return 0;
}

void sup_api_list(struct sup_request *r)
{
        struct sbx_error err = {0};
        struct filters f = {0};
        struct store_record **recs = NULL;
        size_t n = 0;
        json_t *arr;

        if (sup_request_no_body(r) < 0)
                return;
        if (sup_request_args(r, "filter", add_filter, &f) < 0) {
                free(f.v);
                sup_reply_error(r, -ENOMEM, "out of memory");
                return;
        }
        if (store_list(sup_store, r->ns, f.v, f.n, &recs, &n, &err) < 0) {
                free(f.v);
                sup_reply_sbx_error(r, &err);
                return;
        }
        free(f.v);
        arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, sup_record_json(recs[i]));
        store_record_array_free(recs, n);
        sup_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "sandboxes", arr));
}

void sup_api_get(struct sup_request *r)
{
        struct sbx_error err = {0};
        _cleanup_store_record_ struct store_record *rec = NULL;

        if (sup_request_no_body(r) < 0)
                return;
        if (store_get(sup_store, r->ns, r->id, &rec, &err) < 0) {
                sup_reply_sbx_error(r, &err);
                return;
        }
        sup_reply_json(r, MHD_HTTP_OK, sup_record_json(rec));
}

void sup_api_update(struct sup_request *r)
{
        struct sbx_error err = {0};
        _cleanup_store_record_ struct store_record *rec = NULL;
        struct filters paths = {0};
        json_t *j = NULL;
        struct store_op *op;
        int k;

        if (sup_request_json(r, false, &j) < 0)
                return;
        k = sup_record_parse(j, r->ns, r->id, false, &rec, &err);
        json_decref(j);
        if (k < 0) {
                sup_reply_sbx_error(r, &err);
                return;
        }
        if (sup_request_args(r, "fieldpath", add_filter, &paths) < 0) {
                free(paths.v);
                sup_reply_error(r, -ENOMEM, "out of memory");
                return;
        }
        op = store_op_new(r, MHD_HTTP_OK);
        if (!op) {
                free(paths.v);
                sup_reply_error(r, -ENOMEM, "out of memory");
                return;
        }
        k = store_update(sup_store, r->ns, rec, paths.v, paths.n, on_store_done, op, &err);
        free(paths.v);
        if (k < 0) {
                submit_failed(r, op, &err);
                return;
        }
        sup_request_suspend(r);
}

static void delete_record(struct sup_request *r)
{
        struct sbx_error err = {0};
        struct store_op *op = store_op_new(r, MHD_HTTP_NO_CONTENT);

        if (!op) {
                sup_reply_error(r, -ENOMEM, "out of memory");
                return;
        }
        if (store_delete(sup_store, r->ns, r->id, on_store_done, op, &err) < 0) {
                submit_failed(r, op, &err);
                return;
        }
        op->next_delete = pending_deletes;
        pending_deletes = op;
        sup_request_suspend(r);
}

static void on_delete_teardown(struct sup_request *r, enum sup_wake why)
{
        if (why != SUP_WAKE_GONE)
                return;
        sup_request_unwait(r);
        delete_record(r);
}

void sup_api_delete(struct sup_request *r)
{
        struct sup_sandbox *sb;

        if (sup_request_no_body(r) < 0)
                return;
        if (sup_store_exists(r->ns, r->id, NULL) == -ENOENT) {
                sup_reply_error(r, -ENOENT, "sandbox \"%s\" not found in namespace \"%s\"", r->id,
                                r->ns);
                return;
        }
        sb = sup_sandbox_find(r->ns, r->id);
        if (sup_controller_starting(r->ns, r->id) ||
            (sb && !sb->tearing_down &&
             (sb->state == SUP_STATE_RUNNING || sb->state == SUP_STATE_STOPPING))) {
                sup_reply_error(r, -EBUSY, "sandbox \"%s\" is running; stop or shut it down first",
                                r->id);
                return;
        }
        if (sb && sup_controller_teardown(sb) == 0) {
                /* Leftovers of the exited sandbox go first, then the record. */
                sup_request_wait_on(r, sb, on_delete_teardown);
                sup_request_park(r);
                return;
        }
        delete_record(r);
}

/* ---- the store in the loop --------------------------------------------------------------- */

int sup_store_exists(const char *ns, const char *id, uint64_t *ret_created_at)
{
        _cleanup_store_record_ struct store_record *rec = NULL;
        int r = store_get(sup_store, ns, id, &rec, NULL);

        if (r < 0)
                return r;
        if (ret_created_at)
                *ret_created_at = rec->created_at;
        return 0;
}

static void on_store(struct sup_watch *w, uint32_t events)
{
        (void)store_dispatch(sup_store);
}

int sup_store_init(struct sbx_error *err)
{
        const char *report;
        int r;

        r = store_open(sup_config.state_dir, 0, &sup_store, err);
        if (r < 0)
                return sbx_error_prefix(err, r, "store %s", sup_config.state_dir);
        report = store_recovery_report(sup_store);
        if (report)
                log_warning("store %s: %s", sup_config.state_dir, report);
        log_info("store %s: %zu sandboxes", sup_config.state_dir, store_count(sup_store, NULL));
        store_watch.cb = on_store;
        r = sup_loop_add(store_get_fd(sup_store), EPOLLIN, &store_watch);
        if (r < 0)
                return sbx_fail_errno(err, r, "epoll_ctl(store)");
        return 0;
}

void sup_store_flush(void)
{
        if (sup_store)
                (void)store_flush(sup_store);
}

void sup_store_done(void)
{
        sup_loop_del(&store_watch);
        store_close(sup_store);
        sup_store = NULL;
}
