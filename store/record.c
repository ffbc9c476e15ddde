/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* struct store_record: memory, copies, comparisons and small builders. */
#include "store/record-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void store_any_clear(struct store_any *any)
{
        if (!any)
                return;
        free(any->type_url);
        free(any->value);
        *any = (struct store_any){};
}

void store_record_free(struct store_record *rec)
{
        if (!rec)
                return;
        free(rec->namespace);
        free(rec->id);
        for (size_t i = 0; i < rec->n_labels && rec->labels; i++) {
                free(rec->labels[i].key);
                free(rec->labels[i].value);
        }
        free(rec->labels);
        free(rec->runtime_name);
        store_any_clear(&rec->runtime_options);
        store_any_clear(&rec->spec);
        for (size_t i = 0; i < rec->n_extensions && rec->extensions; i++) {
                free(rec->extensions[i].key);
                store_any_clear(&rec->extensions[i].value);
        }
        free(rec->extensions);
        free(rec);
}

void store_record_array_free(struct store_record **recs, size_t n)
{
        if (!recs)
                return;
        for (size_t i = 0; i < n; i++)
                store_record_free(recs[i]);
        free(recs);
}

static int dup_str(const char *s, char **ret)
{
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int dup_bytes(const void *p, size_t len, uint8_t **ret)
{
        *ret = NULL;
        if (len == 0)
                return 0;
        *ret = malloc(len);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, p, len);
        return 0;
}

int store_any_set(struct store_any *any, const char *type_url, const void *value, size_t len)
{
        struct store_any n = {};
        if (dup_str(type_url, &n.type_url) < 0 || dup_bytes(value, value ? len : 0, &n.value) < 0) {
                store_any_clear(&n);
                return -ENOMEM;
        }
        n.value_len = n.value ? len : 0;
        store_any_clear(any);
        *any = n;
        return 0;
}

static int dup_any(const struct store_any *a, struct store_any *ret)
{
        *ret = (struct store_any){};
        return store_any_set(ret, a->type_url, a->value, a->value_len);
}

int store_record_dup(const struct store_record *rec, struct store_record **ret)
{
        _cleanup_store_record_ struct store_record *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        if (dup_str(rec->namespace, &n->namespace) < 0 || dup_str(rec->id, &n->id) < 0 ||
            dup_str(rec->runtime_name, &n->runtime_name) < 0 ||
            dup_any(&rec->runtime_options, &n->runtime_options) < 0 ||
            dup_any(&rec->spec, &n->spec) < 0)
                return -ENOMEM;
        if (rec->n_labels) {
                n->labels = calloc(rec->n_labels, sizeof(*n->labels));
                if (!n->labels)
                        return -ENOMEM;
                for (size_t i = 0; i < rec->n_labels; i++) {
                        n->n_labels++;
                        if (dup_str(rec->labels[i].key, &n->labels[i].key) < 0 ||
                            dup_str(rec->labels[i].value, &n->labels[i].value) < 0)
                                return -ENOMEM;
                }
        }
        if (rec->n_extensions) {
                n->extensions = calloc(rec->n_extensions, sizeof(*n->extensions));
                if (!n->extensions)
                        return -ENOMEM;
                for (size_t i = 0; i < rec->n_extensions; i++) {
                        n->n_extensions++;
                        if (dup_str(rec->extensions[i].key, &n->extensions[i].key) < 0 ||
                            dup_any(&rec->extensions[i].value, &n->extensions[i].value) < 0)
                                return -ENOMEM;
                }
        }
        n->created_at = rec->created_at;
        n->updated_at = rec->updated_at;
        *ret = TAKE_PTR(n);
        return 0;
}

const char *store_record_get_label(const struct store_record *rec, const char *key)
{
        for (size_t i = 0; i < rec->n_labels; i++)
                if (rec->labels[i].key && strcmp(rec->labels[i].key, key) == 0)
                        return rec->labels[i].value ? rec->labels[i].value : "";
        return NULL;
}

int store_record_set_label(struct store_record *rec, const char *key, const char *value)
{
        for (size_t i = 0; i < rec->n_labels; i++) {
                if (!rec->labels[i].key || strcmp(rec->labels[i].key, key) != 0)
                        continue;
                if (!value) {
                        free(rec->labels[i].key);
                        free(rec->labels[i].value);
                        memmove(rec->labels + i, rec->labels + i + 1,
                                (rec->n_labels - i - 1) * sizeof(*rec->labels));
                        rec->n_labels--;
                        return 0;
                }
                char *v = strdup(value);
                if (!v)
                        return -ENOMEM;
                free(rec->labels[i].value);
                rec->labels[i].value = v;
                return 0;
        }
        if (!value)
                return 0;
        struct store_label *l = realloc(rec->labels, (rec->n_labels + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        rec->labels = l;
        char *k = strdup(key), *v = strdup(value);
        if (!k || !v) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        l[rec->n_labels++] = (struct store_label){k, v};
        return 0;
}

const struct store_any *store_record_get_extension(const struct store_record *rec, const char *key)
{
        for (size_t i = 0; i < rec->n_extensions; i++)
                if (rec->extensions[i].key && strcmp(rec->extensions[i].key, key) == 0)
                        return &rec->extensions[i].value;
        return NULL;
}

int store_record_set_extension(struct store_record *rec, const char *key, const char *type_url,
                               const void *value, size_t value_len)
{
        for (size_t i = 0; i < rec->n_extensions; i++) {
                struct store_extension *e = &rec->extensions[i];
                if (!e->key || strcmp(e->key, key) != 0)
                        continue;
                if (!type_url && !value) {
                        free(e->key);
                        store_any_clear(&e->value);
                        memmove(e, e + 1, (rec->n_extensions - i - 1) * sizeof(*e));
                        rec->n_extensions--;
                        return 0;
                }
                return store_any_set(&e->value, type_url, value, value_len);
        }
        if (!type_url && !value)
                return 0;
        struct store_extension *x = realloc(rec->extensions, (rec->n_extensions + 1) * sizeof(*x));
        if (!x)
                return -ENOMEM;
        rec->extensions = x;
        struct store_extension n = {.key = strdup(key)};
        if (!n.key || store_any_set(&n.value, type_url, value, value_len) < 0) {
                free(n.key);
                return -ENOMEM;
        }
        x[rec->n_extensions++] = n;
        return 0;
}

static bool str_eq(const char *a, const char *b)
{
        return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool any_eq(const struct store_any *a, const struct store_any *b)
{
        return str_eq(a->type_url, b->type_url) && a->value_len == b->value_len &&
               (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

bool store_record_equal(const struct store_record *a, const struct store_record *b)
{
        if (!str_eq(a->namespace, b->namespace) || !str_eq(a->id, b->id) ||
            !str_eq(a->runtime_name, b->runtime_name) ||
            !any_eq(&a->runtime_options, &b->runtime_options) || !any_eq(&a->spec, &b->spec) ||
            a->created_at != b->created_at || a->updated_at != b->updated_at ||
            a->n_labels != b->n_labels || a->n_extensions != b->n_extensions)
                return false;
        for (size_t i = 0; i < a->n_labels; i++)
                if (!str_eq(a->labels[i].key, b->labels[i].key) ||
                    !str_eq(a->labels[i].value, b->labels[i].value))
                        return false;
        for (size_t i = 0; i < a->n_extensions; i++)
                if (!str_eq(a->extensions[i].key, b->extensions[i].key) ||
                    !any_eq(&a->extensions[i].value, &b->extensions[i].value))
                        return false;
        return true;
}

static int label_cmp(const void *x, const void *y)
{
        const struct store_label *a = x, *b = y;
        return strcmp(a->key ? a->key : "", b->key ? b->key : "");
}

static int ext_cmp(const void *x, const void *y)
{
        const struct store_extension *a = x, *b = y;
        return strcmp(a->key ? a->key : "", b->key ? b->key : "");
}

int record_normalize(struct store_record *rec, struct sbx_error *err)
{
        if (rec->n_labels > 1)
                qsort(rec->labels, rec->n_labels, sizeof(*rec->labels), label_cmp);
        for (size_t i = 1; i < rec->n_labels; i++)
                if (label_cmp(&rec->labels[i - 1], &rec->labels[i]) == 0)
                        return sbx_fail(err, -EINVAL, "label \"%s\" is given twice",
                                        rec->labels[i].key ? rec->labels[i].key : "");
        if (rec->n_extensions > 1)
                qsort(rec->extensions, rec->n_extensions, sizeof(*rec->extensions), ext_cmp);
        for (size_t i = 1; i < rec->n_extensions; i++)
                if (ext_cmp(&rec->extensions[i - 1], &rec->extensions[i]) == 0)
                        return sbx_fail(err, -EINVAL, "extension \"%s\" is given twice",
                                        rec->extensions[i].key ? rec->extensions[i].key : "");
        return 0;
}
