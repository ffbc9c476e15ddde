/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Update field paths (containerd's metadata/sandbox.go Update, made strict):
 * `labels`, `labels.KEY`, `extensions`, `extensions.KEY`, `runtime`, `spec`.
 * KEY is the rest of the path, or a quoted string (labels."a/b").  Setting a
 * key that the new record lacks removes it.  A whole `extensions` replace
 * really replaces (containerd only merges).  No paths = all four, with
 * runtime.name immutable.
 */
#include "store/filter-internal.h"

#include "common/unquote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum fp_kind {
        FP_LABELS,
        FP_LABEL,
        FP_EXTENSIONS,
        FP_EXTENSION,
        FP_RUNTIME,
        FP_SPEC,
};

static int fp_parse(const char *path, enum fp_kind *kind, char **ret_key, struct sbx_error *err)
{
        static const struct {
                const char *name;
                enum fp_kind whole, one;
        } tab[] = {
                {"labels", FP_LABELS, FP_LABEL},
                {"extensions", FP_EXTENSIONS, FP_EXTENSION},
                {"runtime", FP_RUNTIME, FP_RUNTIME},
                {"spec", FP_SPEC, FP_SPEC},
        };
        if (!path)
                return sbx_fail(err, -EINVAL, "field path is NULL");
        for (size_t i = 0; i < ELEMENTSOF(tab); i++) {
                size_t n = strlen(tab[i].name);
                if (strncmp(path, tab[i].name, n) != 0)
                        continue;
                if (path[n] == '\0') {
                        *kind = tab[i].whole;
                        *ret_key = NULL;
                        return 0;
                }
                if (path[n] != '.' || tab[i].whole == tab[i].one)
                        break;
                const char *k = path + n + 1;
                char *key;
                if (*k == '"') {
                        size_t pos = 0, len;
                        const char *why = NULL;
                        int r = sbx_unquote(k, &pos, &key, &len, &why);
                        if (r == -EINVAL)
                                return sbx_fail(err, -EINVAL,
                                                "field path \"%s\": at offset %zu: %s", path,
                                                (size_t)(k - path) + pos, why);
                        if (r < 0)
                                return sbx_fail(err, r, "out of memory");
                        if (k[pos] != '\0') {
                                free(key);
                                return sbx_fail(err, -EINVAL,
                                                "field path \"%s\": at offset %zu: text after the "
                                                "quoted key",
                                                path, (size_t)(k - path) + pos);
                        }
                } else if (!(key = strdup(k)))
                        return sbx_fail(err, -ENOMEM, "out of memory");
                if (!*key) {
                        free(key);
                        return sbx_fail(err, -EINVAL, "field path \"%s\": empty key", path);
                }
                *kind = tab[i].one;
                *ret_key = key;
                return 0;
        }
        return sbx_fail(err, -EINVAL,
                        "cannot update field \"%s\" of a sandbox (allowed: labels, labels.KEY, "
                        "extensions, extensions.KEY, runtime, spec)",
                        path);
}

int store_fieldpath_validate(const char *path, struct sbx_error *err)
{
        enum fp_kind kind;
        char *key = NULL;
        int r = fp_parse(path, &kind, &key, err);
        free(key);
        return r;
}

/* Replaces field `what` of dst with a copy of src's. */
static int copy_labels(struct store_record *dst, const struct store_record *src)
{
        while (dst->n_labels)
                store_record_set_label(dst, dst->labels[dst->n_labels - 1].key, NULL);
        for (size_t i = 0; i < src->n_labels; i++)
                if (store_record_set_label(dst, src->labels[i].key,
                                           src->labels[i].value ? src->labels[i].value : "") < 0)
                        return -ENOMEM;
        return 0;
}

static int copy_extensions(struct store_record *dst, const struct store_record *src)
{
        while (dst->n_extensions)
                store_record_set_extension(dst, dst->extensions[dst->n_extensions - 1].key, NULL,
                                           NULL, 0);
        for (size_t i = 0; i < src->n_extensions; i++) {
                const struct store_any *a = &src->extensions[i].value;
                if (store_record_set_extension(dst, src->extensions[i].key,
                                               a->type_url ? a->type_url : "", a->value,
                                               a->value_len) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int copy_runtime(struct store_record *dst, const struct store_record *src)
{
        char *n = NULL;
        if (src->runtime_name && !(n = strdup(src->runtime_name)))
                return -ENOMEM;
        free(dst->runtime_name);
        dst->runtime_name = n;
        return store_any_set(&dst->runtime_options, src->runtime_options.type_url,
                             src->runtime_options.value, src->runtime_options.value_len);
}

static int apply_one(struct store_record *n, const struct store_record *from, enum fp_kind kind,
                     const char *key)
{
        switch (kind) {
        case FP_LABELS:
                return copy_labels(n, from);
        case FP_LABEL:
                return store_record_set_label(n, key, store_record_get_label(from, key));
        case FP_EXTENSIONS:
                return copy_extensions(n, from);
        case FP_EXTENSION: {
                const struct store_any *a = store_record_get_extension(from, key);
                if (!a)
                        return store_record_set_extension(n, key, NULL, NULL, 0);
                return store_record_set_extension(n, key, a->type_url ? a->type_url : "", a->value,
                                                  a->value_len);
        }
        case FP_RUNTIME:
                return copy_runtime(n, from);
        case FP_SPEC:
                return store_any_set(&n->spec, from->spec.type_url, from->spec.value,
                                     from->spec.value_len);
        }
        return -EINVAL;
}

int store_fieldpaths_apply(struct store_record *into, const struct store_record *from,
                           const char *const *paths, size_t n_paths, struct sbx_error *err)
{
        _cleanup_store_record_ struct store_record *n = NULL;
        int r;

        /* Parse every path first, so a bad one changes nothing. */
        for (size_t i = 0; i < n_paths; i++)
                if ((r = store_fieldpath_validate(paths[i], err)) < 0)
                        return r;
        if (n_paths == 0) {
                const char *a = into->runtime_name ? into->runtime_name : "";
                const char *b = from->runtime_name ? from->runtime_name : "";
                if (strcmp(a, b) != 0)
                        return sbx_fail(err, -EINVAL,
                                        "runtime.name is immutable (is \"%s\", update gives "
                                        "\"%s\"); name the fieldpath \"runtime\" to change it",
                                        a, b);
        }
        if (store_record_dup(into, &n) < 0)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if (n_paths == 0) {
                if (copy_labels(n, from) < 0 || copy_extensions(n, from) < 0 ||
                    copy_runtime(n, from) < 0 ||
                    store_any_set(&n->spec, from->spec.type_url, from->spec.value,
                                  from->spec.value_len) < 0)
                        return sbx_fail(err, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n_paths; i++) {
                enum fp_kind kind;
                _cleanup_free_ char *key = NULL;
                if ((r = fp_parse(paths[i], &kind, &key, err)) < 0)
                        return r;
                if (apply_one(n, from, kind, key) < 0)
                        return sbx_fail(err, -ENOMEM, "out of memory");
        }
        /* Swap the contents: into gets n's fields, n takes the old ones to free. */
        struct store_record tmp = *into;
        *into = *n;
        *n = tmp;
        return 0;
}
