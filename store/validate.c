/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation rules of DESIGN.md §2 (containerd's identifiers.Validate and
 * labels.Validate, made strict): names, required fields, label sizes, Any
 * values that carry bytes must say what type they are.
 */
#include "store/record-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$ : alphanumeric runs joined by single separators. */
bool store_name_valid(const char *s, size_t len)
{
        if (len == 0 || len > STORE_NAME_MAX)
                return false;
        bool prev_sep = true; /* so a leading separator fails */
        for (size_t i = 0; i < len; i++) {
                if (alnum(s[i]))
                        prev_sep = false;
                else if (s[i] == '.' || s[i] == '_' || s[i] == '-') {
                        if (prev_sep)
                                return false;
                        prev_sep = true;
                } else
                        return false;
        }
        return !prev_sep;
}

static int validate_name(const char *what, const char *s, struct sbx_error *err)
{
        if (!s || !*s)
                return sbx_fail(err, -EINVAL, "%s must not be empty", what);
        size_t len = strlen(s);
        if (len > STORE_NAME_MAX)
                return sbx_fail(err, -EINVAL, "%s \"%.40s...\" is %zu characters, more than %d",
                                what, s, len, STORE_NAME_MAX);
        if (!store_name_valid(s, len))
                return sbx_fail(err, -EINVAL,
                                "%s \"%s\" is invalid: use letters and digits, joined by single "
                                "'.', '_' or '-' (not at the start or end)",
                                what, s);
        return 0;
}

int store_validate_id(const char *id, struct sbx_error *err)
{
        return validate_name("sandbox id", id, err);
}

int store_validate_namespace(const char *ns, struct sbx_error *err)
{
        return validate_name("namespace", ns, err);
}

static int validate_any(const char *what, const char *key, const struct store_any *a,
                        struct sbx_error *err)
{
        if (a->value_len > 0 && (!a->type_url || !*a->type_url))
                return sbx_fail(err, -EINVAL, "%s%s%s%s has a value but no type_url", what,
                                key ? " \"" : "", key ? key : "", key ? "\"" : "");
        if (a->value_len > 0 && !a->value)
                return sbx_fail(err, -EINVAL, "%s has a length but no value", what);
        return 0;
}

int store_validate_record(const struct store_record *rec, struct sbx_error *err)
{
        int r;
        if (!rec)
                return sbx_fail(err, -EINVAL, "no sandbox given");
        if ((r = store_validate_namespace(rec->namespace, err)) < 0 ||
            (r = store_validate_id(rec->id, err)) < 0)
                return r;
        if (!rec->runtime_name || !*rec->runtime_name)
                return sbx_fail(err, -EINVAL, "sandbox %s: runtime.name is required", rec->id);
        if ((r = validate_any("runtime.options", NULL, &rec->runtime_options, err)) < 0 ||
            (r = validate_any("spec", NULL, &rec->spec, err)) < 0)
                return r;
        if (rec->n_labels && !rec->labels)
                return sbx_fail(err, -EINVAL, "sandbox %s: labels array missing", rec->id);
        for (size_t i = 0; i < rec->n_labels; i++) {
                const struct store_label *l = &rec->labels[i];
                if (!l->key || !*l->key)
                        return sbx_fail(err, -EINVAL, "sandbox %s: label keys must not be empty",
                                        rec->id);
                size_t n = strlen(l->key) + (l->value ? strlen(l->value) : 0);
                if (n > STORE_LABEL_MAX)
                        return sbx_fail(err, -EINVAL,
                                        "label \"%.64s\": key and value are %zu bytes, more than "
                                        "the limit of %d",
                                        l->key, n, STORE_LABEL_MAX);
        }
        if (rec->n_extensions && !rec->extensions)
                return sbx_fail(err, -EINVAL, "sandbox %s: extensions array missing", rec->id);
        for (size_t i = 0; i < rec->n_extensions; i++) {
                const struct store_extension *e = &rec->extensions[i];
                if (!e->key || !*e->key)
                        return sbx_fail(err, -EINVAL,
                                        "sandbox %s: extension keys must not be empty", rec->id);
                if ((r = validate_any("extension", e->key, &e->value, err)) < 0)
                        return r;
        }
        return 0;
}
