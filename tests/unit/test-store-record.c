/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Validation rules, CRUD semantics, field paths, namespaces, the record codec. */
#include "store/record-internal.h"
#include "test-store-util.h"

#include "common/util.h"

static char *tmp;
static char *dir;
static struct store *s;

static void setup(void)
{
        tmp = tmp_dir();
        dir = state_dir(tmp);
        s = open_ok(dir, 0);
}

static void teardown(void)
{
        store_close(s);
        rm_rf(tmp);
        free(dir);
        free(tmp);
}

TestSuite(store_record, .init = setup, .fini = teardown);

static void expect_create_fails(struct store_record *r, int code, const char *needle)
{
        struct sbx_error err = {};
        int ret = store_create_sync(s, r, NULL, &err);
        cr_assert_eq(ret, code, "create: want %d got %d (%s)", code, ret, err.message);
        cr_assert_eq(err.code, code);
        cr_assert_not_null(strstr(err.message, needle), "message \"%s\" lacks \"%s\"", err.message,
                           needle);
}

Test(store_record, valid_names)
{
        const char *ok[] = {
                "a",
                "A9",
                "abc-def",
                "a.b_c-d",
                "0",
                "x1.y2.z3",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                cr_assert_eq(store_validate_id(ok[i], NULL), 0, "%s", ok[i]);
        cr_assert_eq(strlen(ok[6]), 76);
}

Test(store_record, invalid_names)
{
        const char *bad[] = {
                "",
                "-a",
                "a-",
                "a..b",
                "a-_b",
                ".a",
                "a b",
                "a/b",
                "ä",
                "a:b",
                "_",
                "a.",
                "a\tb",
                "a@b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct sbx_error err = {};
                cr_assert_eq(store_validate_id(bad[i], &err), -EINVAL, "%s", bad[i]);
                cr_assert_neq(err.message[0], 0);
                cr_assert_eq(store_validate_namespace(bad[i], NULL), -EINVAL, "%s", bad[i]);
        }
        cr_assert_eq(store_validate_id(NULL, NULL), -EINVAL);
}

Test(store_record, create_rejects_bad_id)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "bad id", 10);
        expect_create_fails(r, -EINVAL, "sandbox id \"bad id\" is invalid");
}

Test(store_record, create_rejects_bad_namespace)
{
        _cleanup_store_record_ struct store_record *r = mk_record("-ns", "ok", 10);
        expect_create_fails(r, -EINVAL, "namespace");
}

Test(store_record, create_requires_runtime_name)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        free(r->runtime_name);
        r->runtime_name = NULL;
        expect_create_fails(r, -EINVAL, "runtime.name is required");
        r->runtime_name = strdup("");
        expect_create_fails(r, -EINVAL, "runtime.name is required");
}

Test(store_record, label_size_limit)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        char *v = malloc(4097);
        memset(v, 'x', 4096);
        v[4096 - 3] = '\0'; /* key "big" (3) + 4093 = 4096: allowed */
        cr_assert_eq(store_record_set_label(r, "big", v), 0);
        create_ok(s, r);
        v[4096 - 3] = 'x';
        v[4096 - 2] = '\0'; /* 4097: too long */
        free(r->id);
        r->id = strdup("b");
        cr_assert_eq(store_record_set_label(r, "big", v), 0);
        expect_create_fails(r, -EINVAL, "more than the limit of 4096");
        free(v);
}

Test(store_record, empty_label_key)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        cr_assert_eq(store_record_set_label(r, "", "v"), 0);
        expect_create_fails(r, -EINVAL, "label keys must not be empty");
}

Test(store_record, duplicate_label_key)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        r->labels[1].key[1] = '0'; /* k1 -> k0: a duplicate of labels[0] */
        expect_create_fails(r, -EINVAL, "label \"k0\" is given twice");
}

Test(store_record, any_without_type_url)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        free(r->spec.type_url);
        r->spec.type_url = NULL;
        expect_create_fails(r, -EINVAL, "spec has a value but no type_url");
}

Test(store_record, record_too_large)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", STORE_RECORD_MAX);
        expect_create_fails(r, -EINVAL, "more than the limit");
}

Test(store_record, create_get_roundtrip)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 4096);
        _cleanup_store_record_ struct store_record *got = NULL, *stored = NULL;
        struct sbx_error err = {};
        uint64_t before = sbx_now_realtime_ns();
        cr_assert_eq(store_create_sync(s, r, &stored, &err), 0, "%s", err.message);
        cr_assert_geq(stored->created_at, before);
        cr_assert_eq(stored->created_at, stored->updated_at);
        cr_assert_eq(store_get(s, "default", "a", &got, &err), 0);
        cr_assert(store_record_equal(got, stored));
        r->created_at = got->created_at;
        r->updated_at = got->updated_at;
        cr_assert(store_record_equal(got, r));
}

Test(store_record, labels_come_back_sorted)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 1);
        cr_assert_eq(store_record_set_label(r, "a-first", "1"), 0);
        create_ok(s, r);
        _cleanup_store_record_ struct store_record *got = NULL;
        cr_assert_eq(store_get(s, "default", "a", &got, NULL), 0);
        cr_assert_str_eq(got->labels[0].key, "a-first");
        for (size_t i = 1; i < got->n_labels; i++)
                cr_assert_lt(strcmp(got->labels[i - 1].key, got->labels[i].key), 0);
}

Test(store_record, duplicate_create)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        expect_create_fails(r, -EEXIST, "sandbox a already exists in namespace default");
}

Test(store_record, get_missing)
{
        _cleanup_store_record_ struct store_record *got = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_get(s, "default", "nope", &got, &err), -ENOENT);
        cr_assert_str_eq(err.message, "sandbox nope not found in namespace default");
        cr_assert_eq(store_get(s, "default", "bad id", &got, &err), -EINVAL);
}

Test(store_record, delete_then_missing)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        struct sbx_error err = {};
        create_ok(s, r);
        cr_assert_eq(store_delete_sync(s, "default", "a", &err), 0);
        cr_assert_eq(store_get(s, "default", "a", NULL, &err), -ENOENT);
        cr_assert_eq(store_delete_sync(s, "default", "a", &err), -ENOENT);
        create_ok(s, r); /* the id can be used again */
}

Test(store_record, namespace_isolation)
{
        _cleanup_store_record_ struct store_record *a = mk_record("ns1", "same", 10);
        _cleanup_store_record_ struct store_record *b = mk_record("ns2", "same", 20);
        create_ok(s, a);
        create_ok(s, b);
        _cleanup_store_record_ struct store_record *ga = NULL, *gb = NULL;
        cr_assert_eq(store_get(s, "ns1", "same", &ga, NULL), 0);
        cr_assert_eq(store_get(s, "ns2", "same", &gb, NULL), 0);
        cr_assert_eq(ga->spec.value_len, 10);
        cr_assert_eq(gb->spec.value_len, 20);
        struct store_record **l = NULL;
        size_t n = 0;
        cr_assert_eq(store_list(s, "ns1", NULL, 0, &l, &n, NULL), 0);
        cr_assert_eq(n, 1);
        cr_assert_str_eq(l[0]->namespace, "ns1");
        store_record_array_free(l, n);
        cr_assert_eq(store_list(s, "ns3", NULL, 0, &l, &n, NULL), 0);
        cr_assert_eq(n, 0);
        cr_assert_eq(store_delete_sync(s, "ns1", "same", NULL), 0);
        cr_assert_eq(store_get(s, "ns2", "same", NULL, NULL) == 0 ? 0 : 1, 0);
        cr_assert_eq(store_count(s, NULL), 1);
        cr_assert_eq(store_count(s, "ns2"), 1);
        cr_assert_eq(store_count(s, "ns1"), 0);
}

Test(store_record, list_sorted_by_id)
{
        const char *ids[] = {"c", "a", "b10", "b2"};
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                _cleanup_store_record_ struct store_record *r = mk_record("default", ids[i], 1);
                create_ok(s, r);
        }
        struct store_record **l = NULL;
        size_t n = 0;
        cr_assert_eq(store_list(s, "default", NULL, 0, &l, &n, NULL), 0);
        cr_assert_eq(n, 4);
        cr_assert_str_eq(l[0]->id, "a");
        cr_assert_str_eq(l[1]->id, "b10");
        cr_assert_str_eq(l[2]->id, "b2");
        cr_assert_str_eq(l[3]->id, "c");
        store_record_array_free(l, n);
}

/* ---- updates ---------------------------------------------------------------------------- */

static struct store_record *update(struct store_record *from, const char *const *paths, size_t n,
                                   int want)
{
        struct store_record *out = NULL;
        struct sbx_error err = {};
        int r = store_update_sync(s, "default", from, paths, n, &out, &err);
        cr_assert_eq(r, want, "update: want %d got %d (%s)", want, r, err.message);
        if (want < 0)
                cr_assert_neq(err.message[0], 0);
        return out;
}

Test(store_record, update_label_key_set_and_delete)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        _cleanup_store_record_ struct store_record *from = mk_record("default", "a", 10);
        store_record_set_label(from, "k1", "changed");
        store_record_set_label(from, "k2", NULL);
        store_record_set_label(from, "k3", "ignored");
        const char *paths[] = {"labels.k1", "labels.k2", "labels.new"};
        _cleanup_store_record_ struct store_record *out = update(from, paths, 3, 0);
        cr_assert_str_eq(store_record_get_label(out, "k1"), "changed");
        cr_assert_null(store_record_get_label(out, "k2"), "labels.k2 absent in update: deleted");
        cr_assert_str_eq(store_record_get_label(out, "k3"), "a-v3", "k3 not named: kept");
        cr_assert_null(store_record_get_label(out, "new"));
        cr_assert_eq(out->n_labels, 7);
        cr_assert_gt(out->updated_at, 0);
        _cleanup_store_record_ struct store_record *got = NULL;
        cr_assert_eq(store_get(s, "default", "a", &got, NULL), 0);
        cr_assert(store_record_equal(got, out));
}

Test(store_record, update_keeps_created_at_sets_updated_at)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        _cleanup_store_record_ struct store_record *c = NULL;
        cr_assert_eq(store_create_sync(s, r, &c, NULL), 0);
        usleep(1000);
        const char *paths[] = {"spec"};
        r->created_at = 1; /* ignored */
        _cleanup_store_record_ struct store_record *out = update(r, paths, 1, 0);
        cr_assert_eq(out->created_at, c->created_at);
        cr_assert_gt(out->updated_at, c->updated_at);
}

Test(store_record, update_whole_labels)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        _cleanup_store_record_ struct store_record *from = calloc(1, sizeof(*from));
        from->id = strdup("a");
        store_record_set_label(from, "only", "1");
        const char *paths[] = {"labels"};
        _cleanup_store_record_ struct store_record *out = update(from, paths, 1, 0);
        cr_assert_eq(out->n_labels, 1);
        cr_assert_str_eq(out->labels[0].key, "only");
        cr_assert_eq(out->n_extensions, 2, "extensions untouched");
        cr_assert_eq(out->spec.value_len, 10, "spec untouched");
}

Test(store_record, update_extensions_replace_removes_keys)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        _cleanup_store_record_ struct store_record *from = calloc(1, sizeof(*from));
        from->id = strdup("a");
        store_record_set_extension(from, "ext.c", "type.example/C", "c", 1);
        const char *paths[] = {"extensions"};
        _cleanup_store_record_ struct store_record *out = update(from, paths, 1, 0);
        cr_assert_eq(out->n_extensions, 1, "ext.a and ext.b really removed");
        cr_assert_str_eq(out->extensions[0].key, "ext.c");
        cr_assert_null(store_record_get_extension(out, "ext.a"));
}

Test(store_record, update_extension_key)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        _cleanup_store_record_ struct store_record *from = calloc(1, sizeof(*from));
        from->id = strdup("a");
        store_record_set_extension(from, "ext.new", "type.example/N", "n", 1);
        const char *paths[] = {"extensions.ext.new", "extensions.ext.a"};
        _cleanup_store_record_ struct store_record *out = update(from, paths, 2, 0);
        cr_assert_not_null(store_record_get_extension(out, "ext.new"));
        cr_assert_null(store_record_get_extension(out, "ext.a"), "absent in update: removed");
        cr_assert_not_null(store_record_get_extension(out, "ext.b"));
}

Test(store_record, update_quoted_label_key)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        _cleanup_store_record_ struct store_record *from = calloc(1, sizeof(*from));
        from->id = strdup("a");
        store_record_set_label(from, "a/b", "slash");
        const char *paths[] = {"labels.\"a/b\""};
        _cleanup_store_record_ struct store_record *out = update(from, paths, 1, 0);
        cr_assert_str_eq(store_record_get_label(out, "a/b"), "slash");
}

Test(store_record, update_no_paths_replaces_all_runtime_name_immutable)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        _cleanup_store_record_ struct store_record *from = mk_record("default", "a", 99);
        store_record_set_label(from, "k0", NULL);
        store_record_set_extension(from, "ext.b", NULL, NULL, 0);
        _cleanup_store_record_ struct store_record *out = update(from, NULL, 0, 0);
        cr_assert_eq(out->spec.value_len, 99);
        cr_assert_eq(out->n_labels, 7);
        cr_assert_eq(out->n_extensions, 1);
        free(from->runtime_name);
        from->runtime_name = strdup("io.other.v2");
        struct store_record *none = update(from, NULL, 0, -EINVAL);
        cr_assert_null(none);
        struct sbx_error err = {};
        store_update_sync(s, "default", from, NULL, 0, NULL, &err);
        cr_assert_not_null(strstr(err.message, "runtime.name is immutable"), "%s", err.message);
}

Test(store_record, update_runtime_path_may_change_name)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        free(r->runtime_name);
        r->runtime_name = strdup("io.other.v2");
        const char *paths[] = {"runtime"};
        _cleanup_store_record_ struct store_record *out = update(r, paths, 1, 0);
        cr_assert_str_eq(out->runtime_name, "io.other.v2");
        free(r->runtime_name);
        r->runtime_name = NULL;
        struct store_record *none = update(r, paths, 1, -EINVAL); /* name required */
        cr_assert_null(none);
}

Test(store_record, update_bad_paths)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 10);
        create_ok(s, r);
        const char *bad[] = {"id",
                             "runtime.name",
                             "created_at",
                             "labels.",
                             "extensions.",
                             "label",
                             "specs",
                             "",
                             "labels.\"unterminated",
                             "labels.\"a\"b",
                             "namespace",
                             "updated_at"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct sbx_error err = {};
                cr_assert_eq(store_fieldpath_validate(bad[i], &err), -EINVAL, "%s", bad[i]);
                const char *p[] = {bad[i]};
                struct store_record *none = update(r, p, 1, -EINVAL);
                cr_assert_null(none);
        }
        /* A bad path among good ones changes nothing. */
        const char *mixed[] = {"spec", "bogus"};
        r->spec.value_len = 1;
        struct store_record *none = update(r, mixed, 2, -EINVAL);
        cr_assert_null(none);
        _cleanup_store_record_ struct store_record *got = NULL;
        cr_assert_eq(store_get(s, "default", "a", &got, NULL), 0);
        cr_assert_eq(got->spec.value_len, 10);
}

Test(store_record, update_missing_and_namespace_mismatch)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "nope", 10);
        const char *paths[] = {"spec"};
        struct store_record *none = update(r, paths, 1, -ENOENT);
        cr_assert_null(none);
        create_ok(s, r);
        struct sbx_error err = {};
        cr_assert_eq(store_update_sync(s, "other", r, paths, 1, NULL, &err), -EINVAL);
        free(r->namespace);
        r->namespace = NULL;
        cr_assert_eq(store_update_sync(s, "other", r, paths, 1, NULL, &err), -ENOENT,
                     "same id in another namespace does not exist");
}

/* ---- codec ------------------------------------------------------------------------------ */

Test(store_record, codec_roundtrip_and_rejects_garbage)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", "a", 300);
        r->created_at = 123;
        r->updated_at = 456;
        size_t len;
        cr_assert_eq(record_frame_size(r, &len, NULL), 0);
        uint8_t *f = malloc(len);
        record_frame_encode(r, f, len);
        cr_assert_eq(get_u32(f), len - FRAME_HEADER);
        cr_assert_eq(get_u32(f + 4), frame_crc(f, (uint32_t)(len - FRAME_HEADER)));
        _cleanup_store_record_ struct store_record *d = NULL;
        cr_assert_eq(store_record_decode(f + FRAME_HEADER, len - FRAME_HEADER, &d, NULL), 0);
        cr_assert(store_record_equal(d, r));
        /* Every truncation is rejected. */
        for (size_t cut = 0; cut < len - FRAME_HEADER; cut += 7) {
                struct store_record *x = NULL;
                cr_assert_eq(store_record_decode(f + FRAME_HEADER, cut, &x, NULL), -EBADMSG);
        }
        free(f);
}

Test(store_record, crc32c_known_values)
{
        /* RFC 3720 B.4 test vectors. */
        uint8_t zeros[32] = {0}, ones[32], inc[32];
        memset(ones, 0xff, 32);
        for (int i = 0; i < 32; i++)
                inc[i] = (uint8_t)i;
        cr_assert_eq(store_crc32c(0, zeros, 32), 0x8a9136aa);
        cr_assert_eq(store_crc32c(0, ones, 32), 0x62a8ab43);
        cr_assert_eq(store_crc32c(0, inc, 32), 0x46dd794e);
        cr_assert_eq(store_crc32c(0, "123456789", 9), 0xe3069283);
        uint8_t big[1000];
        for (int i = 0; i < 1000; i++)
                big[i] = (uint8_t)(i * 7);
        for (size_t off = 0; off < 9; off++)
                cr_assert_eq(store_crc32c_extend(0, big + off, 900, true),
                             store_crc32c_extend(0, big + off, 900, false));
        cr_assert_eq(store_crc32c(store_crc32c(0, big, 400), big + 400, 600),
                     store_crc32c(0, big, 1000), "incremental == one-shot");
}
