/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the store's test files (header-only, static). */

#include "store/store.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static inline void rm_rf(const char *dir)
{
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary directory; the store goes in DIR/state. */
static inline char *tmp_dir(void)
{
        char *d = strdup("/tmp/sbx-store-test-XXXXXX");
        cr_assert_not_null(mkdtemp(d));
        return d;
}

static inline char *state_dir(const char *tmp)
{
        char *p;
        cr_assert_geq(asprintf(&p, "%s/state", tmp), 0);
        return p;
}

/* A realistic record: 8 labels, 2 extensions, a spec of spec_len bytes. */
static inline struct store_record *mk_record(const char *ns, const char *id, size_t spec_len)
{
        struct store_record *r = calloc(1, sizeof(*r));
        cr_assert_not_null(r);
        r->namespace = strdup(ns);
        r->id = strdup(id);
        r->runtime_name = strdup("io.sandboxd.linux.v1");
        char k[32], v[64];
        for (int i = 0; i < 8; i++) {
                snprintf(k, sizeof(k), "k%d", i);
                snprintf(v, sizeof(v), "%s-v%d", id, i);
                cr_assert_eq(store_record_set_label(r, k, v), 0);
        }
        char *spec = malloc(spec_len + 1);
        for (size_t i = 0; i < spec_len; i++)
                spec[i] = (char)('a' + (i + strlen(id)) % 26);
        cr_assert_eq(store_any_set(&r->spec,
                                   "types.containerd.io/opencontainers/runtime-spec/1/Spec", spec,
                                   spec_len),
                     0);
        free(spec);
        cr_assert_eq(store_any_set(&r->runtime_options, "type.example/Options", "opt", 3), 0);
        cr_assert_eq(store_record_set_extension(r, "ext.a", "type.example/A", "aaaa", 4), 0);
        cr_assert_eq(store_record_set_extension(r, "ext.b", "type.example/B", "\0b\0", 3), 0);
        return r;
}

static inline struct store *open_ok(const char *dir, unsigned flags)
{
        struct store *s = NULL;
        struct sbx_error err = {};
        int r = store_open(dir, flags, &s, &err);
        cr_assert_eq(r, 0, "store_open(%s): %d %s", dir, r, err.message);
        return s;
}

static inline void create_ok(struct store *s, const struct store_record *rec)
{
        struct sbx_error err = {};
        int r = store_create_sync(s, rec, NULL, &err);
        cr_assert_eq(r, 0, "create %s: %d %s", rec->id, r, err.message);
}
