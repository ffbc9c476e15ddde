/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The filter language: a table of cases, each checked on a record in memory
 * (store_filter_match) and through store_list on a stored record (the
 * zero-copy path), which must agree. */
#include "test-store-util.h"

struct fcase {
        const char *f[3]; /* up to 3 filters, ORed */
        int want;         /* 1 match, 0 no match, -1 parse error */
        const char *msg;  /* for errors: a substring of the message */
};

static const struct fcase cases[] = {
        /* presence */
        {{"id"}, 1, NULL},
        {{"runtime.name"}, 1, NULL},
        {{"labels.app"}, 1, NULL},
        {{"labels.missing"}, 0, NULL},
        {{"labels.empty"}, 1, NULL}, /* present with an empty value */
        {{"extensions.ext.a"}, 1, NULL},
        {{"extensions.nope"}, 0, NULL},
        /* == */
        {{"id==web-1"}, 1, NULL},
        {{"id==web-2"}, 0, NULL},
        {{"id == web-1"}, 1, NULL},
        {{"  id==web-1  "}, 1, NULL},
        {{"runtime.name==io.sandboxd.linux.v1"}, 1, NULL},
        {{"runtime.name==io.other"}, 0, NULL},
        {{"labels.app==web"}, 1, NULL},
        {{"labels.app==Web"}, 0, NULL},
        {{"labels.missing==x"}, 0, NULL},
        {{"labels.empty==\"\""}, 1, NULL},
        {{"labels.missing==\"\""}, 0, NULL}, /* == needs presence */
        {{"extensions.ext.a==type.example/A"}, 1, NULL},
        {{"labels.io.k8s.pod==pod1"}, 1, NULL}, /* dotted key, joined */
        /* != */
        {{"labels.app!=web"}, 0, NULL},
        {{"labels.app!=db"}, 1, NULL},
        {{"labels.missing!=x"}, 1, NULL}, /* absent: != is true, as in containerd */
        {{"labels.missing!=\"\""}, 0, NULL},
        {{"id!=web-1"}, 0, NULL},
        {{"runtime.name!=x"}, 1, NULL},
        /* ~= (POSIX ERE) */
        {{"labels.app~=^w"}, 1, NULL},
        {{"labels.app~=^d"}, 0, NULL},
        {{"labels.app~=/e.$/"}, 1, NULL},
        {{"id~=^web-[0-9]+$"}, 1, NULL},
        {{"id~=\"^web-[0-9]$\""}, 1, NULL},
        {{"labels.missing~=^$"}, 1, NULL}, /* absent reads as "" */
        {{"labels.missing~=."}, 0, NULL},
        {{"labels.tier~=front|back"}, 1, NULL},
        {{"labels.app~=|w.b|"}, 1, NULL},
        {{"labels.app~=/a\\/b/"}, 0, NULL}, /* escaped delimiter */
        {{"labels.\"a/b\"~=/^sl/"}, 1, NULL},
        /* quoting */
        {{"labels.\"a/b\"==slash"}, 1, NULL},
        {{"labels.\"a/b\""}, 1, NULL},
        {{"labels.spaces==\"a b\""}, 1, NULL},
        {{"labels.comma==\"x,y\""}, 1, NULL},
        {{"labels.quote==\"say \\\"hi\\\"\""}, 1, NULL},
        {{"labels.app==\"w\\x65b\""}, 1, NULL},
        {{"labels.app==\"w\\u0065b\""}, 1, NULL},
        {{"labels.app==\"w\\145b\""}, 1, NULL},
        {{"\"labels\".\"app\"==web"}, 1, NULL},
        {{"labels.\"io.k8s.pod\"==pod1"}, 1, NULL},
        {{"labels.uni==\"\\u00e9t\\u00e9\""}, 1, NULL},
        /* AND inside a filter, OR across filters */
        {{"labels.app==web,labels.tier==front"}, 1, NULL},
        {{"labels.app==web,labels.tier==back"}, 0, NULL},
        {{"labels.app==web , labels.tier==front , id"}, 1, NULL},
        {{"labels.app==db", "labels.tier==front"}, 1, NULL},
        {{"labels.app==db", "labels.tier==back"}, 0, NULL},
        {{"labels.app==db", "id==x", "runtime.name~=sandboxd"}, 1, NULL},
        {{"labels.app==web,labels.missing", "id==nope"}, 0, NULL},
        {{""}, 1, NULL}, /* an empty filter matches everything */
        {{"   "}, 1, NULL},
        {{"labels.app==db", ""}, 1, NULL},
        /* malformed */
        {{"labels.app=="}, -1, "at offset 12: expected a value"},
        {{"labels.app=web"}, -1, "at offset 10: unknown operator"},
        {{"labels.app<web"}, -1, "at offset 10: expected ','"},
        {{"labels"}, -1, "needs a key"},
        {{"labels."}, -1, "at offset 7: expected a field name"},
        {{"foo==bar"}, -1, "at offset 0: unknown field \"foo\""},
        {{"runtime==x"}, -1, "needs a subfield"},
        {{"runtime.options"}, -1, "unknown field runtime.options"},
        {{"id.x"}, -1, "has no subfields"},
        {{"labels.app==web,"}, -1, "at offset 16: expected a field name"},
        {{",labels.app"}, -1, "at offset 0: expected a field name"},
        {{"labels.app==\"web"}, -1, "unterminated quoted string"},
        {{"labels.\"a/b==x"}, -1, "unterminated quoted string"},
        {{"labels.app==\"w\\qb\""}, -1, "unknown escape sequence"},
        {{"labels.app==\"w\\x6\""}, -1, "bad hexadecimal escape"},
        {{"labels.app==\"\\x00\""}, -1, "NUL byte"},
        {{"labels.app~=(unclosed"}, -1, "invalid regular expression"},
        {{"labels.app==web labels.tier==front"}, -1, "expected ',' or the end"},
        {{"labels.app==web", "bogus"}, -1, "filter 2"},
        {{"labels.\"\"==x"}, -1, "empty field name"},
        {{"labels.app~=/x"}, -1, "unterminated"},
        {{"labels.a-b==x"}, -1, "at offset 8: expected ','"},
        {{"==x"}, -1, "at offset 0: expected a field name"},
};

static struct store_record *subject(void)
{
        struct store_record *r = mk_record("default", "web-1", 64);
        struct {
                const char *k, *v;
        } l[] = {{"app", "web"},   {"tier", "front"},       {"a/b", "slash"},
                 {"empty", ""},    {"io.k8s.pod", "pod1"},  {"spaces", "a b"},
                 {"comma", "x,y"}, {"quote", "say \"hi\""}, {"uni", "\xc3\xa9t\xc3\xa9"}};
        for (size_t i = 0; i < ELEMENTSOF(l); i++)
                cr_assert_eq(store_record_set_label(r, l[i].k, l[i].v), 0);
        return r;
}

static size_t n_filters(const struct fcase *c)
{
        size_t n = 0;
        while (n < 3 && c->f[n])
                n++;
        return n;
}

Test(store_filter, table_has_enough_cases)
{
        cr_assert_geq(ELEMENTSOF(cases), 60);
}

Test(store_filter, table_in_memory)
{
        _cleanup_store_record_ struct store_record *r = subject();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct fcase *c = &cases[i];
                struct store_filter *f = NULL;
                struct sbx_error err = {};
                int ret = store_filter_parse(c->f, n_filters(c), &f, &err);
                if (c->want < 0) {
                        cr_expect_eq(ret, -EINVAL, "case %zu [%s] parsed", i, c->f[0]);
                        cr_expect_not_null(strstr(err.message, c->msg),
                                           "case %zu [%s]: message \"%s\" lacks \"%s\"", i, c->f[0],
                                           err.message, c->msg);
                        continue;
                }
                cr_expect_eq(ret, 0, "case %zu [%s]: %s", i, c->f[0], err.message);
                if (ret == 0)
                        cr_expect_eq(store_filter_match(f, r), c->want == 1, "case %zu [%s]", i,
                                     c->f[0]);
                store_filter_free(f);
        }
}

Test(store_filter, table_through_list)
{
        _cleanup_free_ char *tmp = tmp_dir();
        _cleanup_free_ char *dir = state_dir(tmp);
        struct store *s = open_ok(dir, 0);
        _cleanup_store_record_ struct store_record *r = subject();
        _cleanup_store_record_ struct store_record *other = mk_record("default", "zzz", 8);
        create_ok(s, r);
        create_ok(s, other);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct fcase *c = &cases[i];
                struct store_record **l = NULL;
                size_t n = 0;
                struct sbx_error err = {};
                int ret = store_list(s, "default", c->f, n_filters(c), &l, &n, &err);
                if (c->want < 0) {
                        cr_expect_eq(ret, -EINVAL, "case %zu", i);
                        continue;
                }
                cr_expect_eq(ret, 0, "case %zu: %s", i, err.message);
                bool found = false;
                for (size_t j = 0; j < n; j++)
                        found |= strcmp(l[j]->id, "web-1") == 0;
                cr_expect_eq(found, c->want == 1, "case %zu [%s] via list", i, c->f[0]);
                store_record_array_free(l, n);
        }
        store_close(s);
        rm_rf(tmp);
}

Test(store_filter, no_filters_match_all)
{
        struct store_filter *f = NULL;
        cr_assert_eq(store_filter_parse(NULL, 0, &f, NULL), 0);
        _cleanup_store_record_ struct store_record *r = subject();
        cr_assert(store_filter_match(f, r));
        store_filter_free(f);
}
