/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API's pure helpers (supervisor/json.c): base64, names, JSON depth, strict objects. */
#include "supervisor/sandboxd-internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *dec(const char *s, int *ret)
{
        uint8_t *out = NULL;
        size_t n = 0;

        *ret = sup_base64_decode(s, strlen(s), &out, &n);
        if (*ret < 0)
                return NULL;
        return (char *)out;
}

Test(base64, roundtrip_every_length)
{
        const char *in = "any carnal pleasure, and some binary \x01\xff\x80";

        for (size_t len = 0; len <= strlen(in); len++) {
                char *e = sup_base64_encode(in, len);
                uint8_t *d = NULL;
                size_t n = 0;

                cr_assert_not_null(e);
                cr_assert_eq(strlen(e) % 4, 0);
                cr_assert_eq(sup_base64_decode(e, strlen(e), &d, &n), 0, "decode %s", e);
                cr_assert_eq(n, len);
                cr_assert_eq(memcmp(d, in, len), 0);
                free(e);
                free(d);
        }
}

Test(base64, known_vectors)
{
        /* RFC 4648 §10 */
        const char *v[][2] = {{"", ""},
                              {"f", "Zg=="},
                              {"fo", "Zm8="},
                              {"foo", "Zm9v"},
                              {"foob", "Zm9vYg=="},
                              {"fooba", "Zm9vYmE="},
                              {"foobar", "Zm9vYmFy"}};
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char *e = sup_base64_encode(v[i][0], strlen(v[i][0]));
                int r;
                char *d = dec(v[i][1], &r);

                cr_assert_str_eq(e, v[i][1]);
                cr_assert_eq(r, 0);
                cr_assert_str_eq(d, v[i][0]);
                free(e);
                free(d);
        }
}

Test(base64, rejects_bad_input)
{
        const char *bad[] = {"Zg",   "Zg=",  "Z===", "Zm9v!",  "Zm 9v", "Zg==Zg==",
                             "=Zg=", "Zh==", "Zm9=", "Zm9vYg", "****"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r;
                char *d = dec(bad[i], &r);

                cr_assert_eq(r, -EINVAL, "accepted \"%s\"", bad[i]);
                cr_assert_null(d);
        }
}

Test(names, valid_and_invalid)
{
        const char *good[] = {"a", "demo", "a.b-c_d", "A1", "x9.y8"};
        const char *bad[] = {"", "-a", "a-", "a..b", "a/b", "a b", ".", "é", "a_-b"};
        char long77[78];

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                cr_assert(sup_valid_name(good[i]), "%s", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_not(sup_valid_name(bad[i]), "%s", bad[i]);
        memset(long77, 'a', 77);
        long77[77] = '\0';
        cr_assert_not(sup_valid_name(long77));
        long77[76] = '\0';
        cr_assert(sup_valid_name(long77));
}

Test(json, depth_limit_counts_nesting_outside_strings)
{
        char buf[300];

        memset(buf, '[', 64);
        memset(buf + 64, ']', 64);
        cr_assert_not(sup_json_too_deep(buf, 128, 64));
        memset(buf, '[', 65);
        memset(buf + 65, ']', 65);
        cr_assert(sup_json_too_deep(buf, 130, 64));
        /* Brackets inside strings (with escaped quotes) do not count. */
        const char *s =
                "{\"k\":\"[[[[\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                "[[[[[[[[[[[[[[[\"}";
        cr_assert_not(sup_json_too_deep(s, strlen(s), 2));
}

Test(json, strict_names_the_unknown_field)
{
        static const char *const keys[] = {"id", "labels", NULL};
        json_t *j = json_pack("{s:s,s:{},s:i}", "id", "x", "labels", "bogus", 1);
        struct sbx_error err = {0};

        cr_assert_eq(sup_json_strict(j, "sandbox", keys, &err), -EINVAL);
        cr_assert_str_eq(err.message, "unknown field \"bogus\" in sandbox");
        json_object_del(j, "bogus");
        cr_assert_eq(sup_json_strict(j, "sandbox", keys, &err), 0);
        json_decref(j);
}

Test(json, time_and_dump)
{
        json_t *t = sup_json_time(0);
        size_t n = 0;
        char *s;

        cr_assert(json_is_null(t));
        json_decref(t);
        t = sup_json_time(1000000000ULL * 86400 + 5);
        cr_assert_str_eq(json_string_value(t), "1970-01-02T00:00:00.000000005Z");
        s = sup_json_dump(t, &n);
        cr_assert_str_eq(s, "\"1970-01-02T00:00:00.000000005Z\"\n");
        cr_assert_eq(n, strlen(s));
        free(s);
        json_decref(t);
}
