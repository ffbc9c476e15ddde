/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record JSON of the API (supervisor/record-json.c): strict parsing, printing, round trip. */
#include "supervisor/sandboxd-internal.h"

#include "store/store.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static int parse(const char *text, bool create, const char *path_id, struct store_record **ret,
                 struct sbx_error *err)
{
        json_error_t jerr;
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        int r;

        cr_assert_not_null(j, "test JSON: %s", jerr.text);
        r = sup_record_parse(j, "default", path_id, create, ret, err);
        json_decref(j);
        return r;
}

Test(record, create_body_round_trips)
{
        struct sbx_error err = {0};
        struct store_record *rec = NULL;
        const char *body = "{\"id\":\"demo\",\"labels\":{\"a\":\"b\"},"
                           "\"runtime\":{\"name\":\"io.sandboxd.linux.v1\",\"options\":null},"
                           "\"spec\":{\"type_url\":\"t/Spec\",\"value\":\"e30=\"},"
                           "\"extensions\":{\"x\":{\"type_url\":\"u\",\"value\":\"\"}}}";

        cr_assert_eq(parse(body, true, NULL, &rec, &err), 0, "%s", err.message);
        cr_assert_str_eq(rec->id, "demo");
        cr_assert_str_eq(rec->namespace, "default");
        cr_assert_str_eq(rec->runtime_name, "io.sandboxd.linux.v1");
        cr_assert_eq(rec->spec.value_len, 2);
        cr_assert_eq(memcmp(rec->spec.value, "{}", 2), 0);
        cr_assert_str_eq(store_record_get_label(rec, "a"), "b");
        cr_assert_not_null(store_record_get_extension(rec, "x"));

        rec->created_at = rec->updated_at = 1000000000ULL;
        json_t *out = sup_record_json(rec);
        cr_assert_str_eq(json_string_value(json_object_get(out, "namespace")), "default");
        cr_assert_str_eq(json_string_value(json_object_get(out, "created_at")),
                         "1970-01-01T00:00:01.000000000Z");
        cr_assert(json_is_null(json_object_get(json_object_get(out, "runtime"), "options")));
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(out, "spec"), "value")),
                         "e30=");

        /* What Get answers can be sent back as an Update body. */
        struct store_record *again = NULL;
        cr_assert_eq(sup_record_parse(out, "default", "demo", false, &again, &err), 0, "%s",
                     err.message);
        cr_assert_eq(again->spec.value_len, 2);
        json_decref(out);
        store_record_free(again);
        store_record_free(rec);
}

Test(record, rejects_what_the_contract_rejects)
{
        static const struct {
                const char *body;
                bool create;
                const char *path_id;
                const char *message;
        } cases[] = {
                {"{\"runtime\":{\"name\":\"r\"}}", true, NULL, "id: required"},
                {"{\"id\":5,\"runtime\":{\"name\":\"r\"}}", true, NULL, "id: expected a string"},
                {"{\"id\":\"a\"}", true, NULL,
                 "runtime.name: required (sandboxd implements io.sandboxd.linux.v1)"},
                {"{\"id\":\"a\",\"runtime\":{\"name\":\"r\"},\"x\":1}", true, NULL,
                 "unknown field \"x\" in sandbox"},
                {"{\"id\":\"a\",\"runtime\":{\"name\":\"r\",\"y\":1}}", true, NULL,
                 "unknown field \"y\" in runtime"},
                {"{\"id\":\"a\",\"runtime\":{\"name\":\"r\"},\"labels\":{\"k\":1}}", true, NULL,
                 "labels.k: expected a string"},
                {"{\"id\":\"a\",\"runtime\":{\"name\":\"r\"},\"spec\":{\"value\":\"@@@@\"}}", true,
                 NULL, "spec.value: invalid base64"},
                {"{\"id\":\"a\",\"runtime\":{\"name\":\"r\"},\"spec\":{\"value\":\"e30\"}}", true,
                 NULL, "spec.value: invalid base64"},
                {"{\"id\":\"a\",\"runtime\":{\"name\":\"r\"},\"spec\":{\"z\":\"\"}}", true, NULL,
                 "unknown field \"z\" in spec"},
                {"{\"id\":\"a\",\"runtime\":{\"name\":\"r\"},\"extensions\":{\"e\":null}}", true,
                 NULL, "extensions.e: expected an Any, not null"},
                {"{\"id\":\"a\",\"namespace\":\"other\",\"runtime\":{\"name\":\"r\"}}", true, NULL,
                 "namespace in the body differs from the namespace query argument (\"default\")"},
                {"{\"id\":\"a b\",\"runtime\":{\"name\":\"r\"}}", true, NULL,
                 "invalid sandbox id \"a b\": want 1-76 of [A-Za-z0-9] separated by single . _ "
                 "or -"},
                {"{\"id\":\"b\"}", false, "a",
                 "id \"b\" in the body differs from \"a\" in the path"},
                {"{\"created_at\":5}", false, "a", "created_at: expected a string"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct sbx_error err = {0};
                struct store_record *rec = NULL;

                cr_assert_eq(parse(cases[i].body, cases[i].create, cases[i].path_id, &rec, &err),
                             -EINVAL, "accepted %s", cases[i].body);
                cr_assert_null(rec);
                cr_assert_str_eq(err.message, cases[i].message, "%s", cases[i].body);
        }
}

Test(record, update_body_may_omit_everything)
{
        struct sbx_error err = {0};
        struct store_record *rec = NULL;

        cr_assert_eq(parse("{}", false, "a", &rec, &err), 0, "%s", err.message);
        cr_assert_str_eq(rec->id, "a");
        cr_assert_null(rec->runtime_name);
        cr_assert_eq(rec->n_labels, 0);
        store_record_free(rec);
}
