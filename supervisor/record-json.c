/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox record in JSON (docs/api.md, "Sandbox record"): one printer for every
 * response, one strict parser for Create and Update bodies.  Pure: no I/O, so it is
 * unit-tested and fuzzed on its own.
 */
#include "supervisor/sandboxd-internal.h"

#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int sup_record_parse(const json_t *j, const char *ns, const char *path_id, bool create,
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
