/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Store routes (docs/api.md): create, list, get, update, delete.  One parser
 * for the record JSON (strict: unknown fields are errors), one printer.  Writes are
 * asynchronous: the request is suspended until the store says the write is durable.
 */
#include "supervisor/sandboxd-internal.h"
#include "supervisor/tasks-internal.h"

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

/* ---- record <-> JSON --------------------------------------------------------------------- */

static json_t *any_json(const struct store_any *a)
{
        if ((!a->type_url || !a->type_url[0]) && a->value_len == 0)
                return json_null();
        _cleanup_free_ char *b =
                sup_base64_encode(a->value ? a->value : (const uint8_t *)"", a->value_len);
        if (!b)
                return NULL;
        return json_pack("{s:s,s:s}", "type_url", a->type_url ? a->type_url : "", "value", b);
}

json_t *sup_record_json(const struct store_record *rec)
{
        json_t *labels = json_object(), *ext = json_object();

        for (size_t i = 0; i < rec->n_labels; i++)
                json_object_set_new(labels, rec->labels[i].key, json_string(rec->labels[i].value));
        for (size_t i = 0; i < rec->n_extensions; i++)
                json_object_set_new(ext, rec->extensions[i].key,
                                    any_json(&rec->extensions[i].value));
        return json_pack("{s:s,s:s,s:o,s:{s:s,s:o},s:o,s:o,s:o,s:o}", "id", rec->id, "namespace",
                         rec->namespace, "labels", labels, "runtime", "name",
                         rec->runtime_name ? rec->runtime_name : "", "options",
                         any_json(&rec->runtime_options), "spec", any_json(&rec->spec),
                         "extensions", ext, "created_at", sup_json_time(rec->created_at),
                         "updated_at", sup_json_time(rec->updated_at));
}

static int parse_any(const json_t *j, const char *what, struct store_any *into,
                     struct sbx_error *err)
{
        static const char *const keys[] = {"type_url", "value", NULL};
        const json_t *t, *v;
        _cleanup_free_ uint8_t *bytes = NULL;
        size_t n = 0;
        int r;

        store_any_clear(into);
        if (!j || json_is_null(j))
                return 0;
        if (!json_is_object(j))
                return sbx_fail(err, -EINVAL, "%s: expected an object {type_url, value} or null",
                                what);
        r = sup_json_strict(j, what, keys, err);
        if (r < 0)
                return r;
        t = json_object_get(j, "type_url");
        v = json_object_get(j, "value");
        if (t && !json_is_string(t))
                return sbx_fail(err, -EINVAL, "%s.type_url: expected a string", what);
        if (v && !json_is_string(v))
                return sbx_fail(err, -EINVAL, "%s.value: expected a base64 string", what);
        if (v && sup_base64_decode(json_string_value(v), json_string_length(v), &bytes, &n) < 0)
                return sbx_fail(err, -EINVAL, "%s.value: invalid base64", what);
        if (store_any_set(into, t ? json_string_value(t) : "", bytes, n) < 0)
                return sbx_fail(err, -ENOMEM, "out of memory");
        return 0;
}

/* Builds a record from a request body.  need_id: Create (id and runtime.name required). */
static int parse_record(const json_t *j, const char *ns, const char *path_id, bool create,
                        struct store_record **ret, struct sbx_error *err)
{
        static const char *const keys[] = {"id",         "namespace",  "labels",
                                           "runtime",    "spec",       "extensions",
                                           "created_at", "updated_at", NULL};
        static const char *const runtime_keys[] = {"name", "options", NULL};
        _cleanup_store_record_ struct store_record *rec = calloc(1, sizeof(*rec));
        const json_t *v, *rt;
        const char *k;
        json_t *x;
        int r;

        if (!rec)
                return sbx_fail(err, -ENOMEM, "out of memory");
        r = sup_json_strict(j, "sandbox", keys, err);
        if (r < 0)
                return r;

        v = json_object_get(j, "id");
        if (v && !json_is_string(v))
                return sbx_fail(err, -EINVAL, "id: expected a string");
        if (create && !v)
                return sbx_fail(err, -EINVAL, "id: required");
        if (path_id && v && strcmp(json_string_value(v), path_id) != 0)
                return sbx_fail(err, -EINVAL,
                                "id \"%s\" in the body differs from \"%s\" in the path",
                                json_string_value(v), path_id);
        rec->id = strdup(v ? json_string_value(v) : path_id);
        rec->namespace = strdup(ns);
        if (!rec->id || !rec->namespace)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if (create && !sup_valid_name(rec->id))
                return sbx_fail(err, -EINVAL,
                                "invalid sandbox id \"%.80s\": want 1-76 of [A-Za-z0-9] "
                                "separated by single . _ or -",
                                rec->id);

        v = json_object_get(j, "namespace");
        if (v && !json_is_null(v) && (!json_is_string(v) || strcmp(json_string_value(v), ns) != 0))
                return sbx_fail(err, -EINVAL,
                                "namespace in the body differs from the namespace query "
                                "argument (\"%s\")",
                                ns);
        for (const char *const *p = (const char *const[]){"created_at", "updated_at", NULL}; *p;
             p++) {
                v = json_object_get(j, *p);
                if (v && !json_is_null(v) && !json_is_string(v))
                        return sbx_fail(err, -EINVAL, "%s: expected a string", *p);
        }

        v = json_object_get(j, "labels");
        if (v && !json_is_null(v)) {
                if (!json_is_object(v))
                        return sbx_fail(err, -EINVAL, "labels: expected an object of strings");
                json_object_foreach ((json_t *)v, k, x) {
                        if (!json_is_string(x))
                                return sbx_fail(err, -EINVAL, "labels.%s: expected a string", k);
                        if (store_record_set_label(rec, k, json_string_value(x)) < 0)
                                return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }

        rt = json_object_get(j, "runtime");
        if (rt && !json_is_null(rt)) {
                if (!json_is_object(rt))
                        return sbx_fail(err, -EINVAL,
                                        "runtime: expected an object {name, options}");
                r = sup_json_strict(rt, "runtime", runtime_keys, err);
                if (r < 0)
                        return r;
                v = json_object_get(rt, "name");
                if (v && !json_is_string(v))
                        return sbx_fail(err, -EINVAL, "runtime.name: expected a string");
                if (v) {
                        rec->runtime_name = strdup(json_string_value(v));
                        if (!rec->runtime_name)
                                return sbx_fail(err, -ENOMEM, "out of memory");
                }
                r = parse_any(json_object_get(rt, "options"), "runtime.options",
                              &rec->runtime_options, err);
                if (r < 0)
                        return r;
        }
        if (create && (!rec->runtime_name || !rec->runtime_name[0]))
                return sbx_fail(err, -EINVAL, "runtime.name: required (sandboxd implements %s)",
                                SUP_RUNTIME_NAME);

        r = parse_any(json_object_get(j, "spec"), "spec", &rec->spec, err);
        if (r < 0)
                return r;

        v = json_object_get(j, "extensions");
        if (v && !json_is_null(v)) {
                if (!json_is_object(v))
                        return sbx_fail(err, -EINVAL, "extensions: expected an object of Any");
                json_object_foreach ((json_t *)v, k, x) {
                        struct store_any a = {0};
                        char what[128];

                        snprintf(what, sizeof(what), "extensions.%s", k);
                        if (!x || json_is_null(x))
                                return sbx_fail(err, -EINVAL, "%s: expected an Any, not null",
                                                what);
                        r = parse_any(x, what, &a, err);
                        if (r < 0)
                                return r;
                        r = store_record_set_extension(rec, k, a.type_url ? a.type_url : "",
                                                       a.value, a.value_len);
                        store_any_clear(&a);
                        if (r < 0)
                                return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }
        *ret = TAKE_PTR(rec);
        return 0;
}

/* ---- pending writes ---------------------------------------------------------------------- */

/* Outlives its request: a client may hang up before the write is durable. */
struct store_op {
        struct sup_request *r;
        unsigned status; /* on success */
        char ns[SUP_NAME_MAX + 1], id[SUP_NAME_MAX + 1]; /* for the event (issue #7) */
};

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

        if (result >= 0)
                sup_issue7_store_event(op->status, rec, op->ns, op->id);
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
        k = parse_record(j, r->ns, NULL, true, &rec, &err);
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
        log_info("sandbox %s/%s: create submitted", r->ns, rec->id);
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
        k = parse_record(j, r->ns, r->id, false, &rec, &err);
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
        log_info("sandbox %s/%s: delete submitted", r->ns, r->id);
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
        if (sb && !sb->tearing_down &&
            (sb->state == SUP_STATE_RUNNING || sb->state == SUP_STATE_STOPPING)) {
                sup_reply_error(r, -EBUSY, "sandbox \"%s\" is running; stop or shut it down first",
                                r->id);
                return;
        }
        if (sb && sup_controller_teardown(sb) == 0) {
                /* Leftovers of the exited sandbox go first, then the record. */
                sup_request_wait_on(r, sb, on_delete_teardown);
                sup_request_suspend(r);
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
