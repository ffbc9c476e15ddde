/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * containerd's filter language (its filters package), for List:
 *
 *   filter    := ws* [ selector (ws* "," ws* selector)* ] ws*
 *   selector  := fieldpath ws* [ op ws* value ]
 *   fieldpath := field ("." field)*
 *   field     := quoted | [A-Za-z0-9_]+
 *   op        := "==" | "!=" | "~="
 *   value     := quoted | [^\s,]+
 *   quoted    := "..." (Go escapes) | /.../ | |...|  (only the delimiter is escaped)
 *
 * Inside one filter selectors are ANDed; several filters are ORed.  As in
 * containerd, an absent field reads as "" for != and ~= (so `labels.x!=y` is
 * true when there is no label x), and as absent for == and presence.
 * Unlike containerd, unknown fields are an error instead of never matching.
 */
#include "store/filter-internal.h"

#include "common/unquote.h"

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool field_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

static bool space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void sel_done(struct filter_sel *s)
{
        free(s->key);
        free(s->value);
        if (s->have_re)
                regfree(&s->re);
}

void store_filter_free(struct store_filter *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n_alts; i++) {
                for (size_t j = 0; j < f->alts[i].n_sels; j++)
                        sel_done(&f->alts[i].sels[j]);
                free(f->alts[i].sels);
        }
        free(f->alts);
        free(f);
}

struct parser {
        const char *s;
        size_t pos;
        size_t idx; /* which filter, for messages */
        struct sbx_error *err;
};

__attribute__((format(printf, 3, 4))) static int perr(struct parser *p, size_t at, const char *fmt,
                                                      ...)
{
        char what[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return sbx_fail(p->err, -EINVAL, "filter %zu \"%.60s%s\": at offset %zu: %s", p->idx + 1,
                        p->s, strlen(p->s) > 60 ? "..." : "", at, what);
}

static void skip_ws(struct parser *p)
{
        while (space(p->s[p->pos]))
                p->pos++;
}

/* One field of a fieldpath, quoted or bare, as a new string. */
static int parse_field(struct parser *p, char **ret, size_t *ret_len)
{
        const char *s = p->s;
        size_t start = p->pos;
        if (s[start] == '"' || s[start] == '/' || s[start] == '|') {
                const char *why = NULL;
                size_t at = p->pos;
                int r = sbx_unquote(s, &at, ret, ret_len, &why);
                if (r == -EINVAL)
                        return perr(p, at, "%s", why);
                if (r < 0)
                        return r;
                if (*ret_len == 0) {
                        *ret = mfree(*ret);
                        return perr(p, start, "empty field name");
                }
                p->pos = at;
                return 0;
        }
        while (field_char(s[p->pos]))
                p->pos++;
        if (p->pos == start) {
                if (s[start] == '\0')
                        return perr(p, start, "expected a field name, found the end of the filter");
                char c[2] = {s[start], 0};
                return perr(p, start, "expected a field name, found '%s'", c);
        }
        *ret_len = p->pos - start;
        *ret = strndup(s + start, *ret_len);
        return *ret ? 0 : -ENOMEM;
}

static int parse_fieldpath(struct parser *p, struct filter_sel *sel)
{
        _cleanup_free_ char *first = NULL;
        size_t len, start = p->pos;
        int r = parse_field(p, &first, &len);
        if (r < 0)
                return r;

        if (strcmp(first, "id") == 0 || strcmp(first, "runtime") == 0) {
                bool rt = first[0] == 'r';
                if (!rt && p->s[p->pos] != '.') {
                        sel->field = FIELD_ID;
                        return 0;
                }
                if (rt && p->s[p->pos] == '.') {
                        _cleanup_free_ char *sub = NULL;
                        size_t at = ++p->pos;
                        if ((r = parse_field(p, &sub, &len)) < 0)
                                return r;
                        if (strcmp(sub, "name") == 0 && p->s[p->pos] != '.') {
                                sel->field = FIELD_RUNTIME_NAME;
                                return 0;
                        }
                        return perr(p, at,
                                    "unknown field runtime.%s (only runtime.name can be filtered)",
                                    sub);
                }
                return perr(p, start, "%s",
                            rt ? "field \"runtime\" needs a subfield: runtime.name"
                               : "field \"id\" has no subfields");
        }
        if (strcmp(first, "labels") != 0 && strcmp(first, "extensions") != 0)
                return perr(p, start,
                            "unknown field \"%s\" (known: id, runtime.name, labels.KEY, "
                            "extensions.KEY)",
                            first);
        sel->field = first[0] == 'l' ? FIELD_LABEL : FIELD_EXTENSION;
        if (p->s[p->pos] != '.')
                return perr(p, p->pos, "field \"%s\" needs a key, as in %s.KEY", first, first);
        /* The key is the rest of the fieldpath joined with '.', as containerd's
         * adaptor joins it. */
        size_t cap = 0, n = 0;
        char *key = NULL;
        while (p->s[p->pos] == '.') {
                _cleanup_free_ char *part = NULL;
                size_t plen;
                p->pos++;
                if ((r = parse_field(p, &part, &plen)) < 0) {
                        free(key);
                        return r;
                }
                if (n + plen + 2 > cap) {
                        cap = (n + plen + 2) * 2;
                        char *k = realloc(key, cap);
                        if (!k) {
                                free(key);
                                return -ENOMEM;
                        }
                        key = k;
                }
                if (n)
                        key[n++] = '.';
                memcpy(key + n, part, plen);
                n += plen;
                key[n] = '\0';
        }
        sel->key = key;
        sel->key_len = n;
        return 0;
}

static int parse_value(struct parser *p, struct filter_sel *sel)
{
        const char *s = p->s;
        size_t start = p->pos;
        if (s[start] == '"' || s[start] == '/' || s[start] == '|') {
                const char *why = NULL;
                size_t at = start;
                int r = sbx_unquote(s, &at, &sel->value, &sel->value_len, &why);
                if (r == -EINVAL)
                        return perr(p, at, "%s", why);
                if (r < 0)
                        return r;
                p->pos = at;
        } else {
                while (s[p->pos] && s[p->pos] != ',' && !space(s[p->pos]))
                        p->pos++;
                if (p->pos == start)
                        return perr(p, start, "expected a value after the operator");
                sel->value_len = p->pos - start;
                if (!(sel->value = strndup(s + start, sel->value_len)))
                        return -ENOMEM;
        }
        if (sel->op == OP_MATCH) {
                int r = regcomp(&sel->re, sel->value, REG_EXTENDED | REG_NOSUB);
                if (r != 0) {
                        char msg[100];
                        regerror(r, &sel->re, msg, sizeof(msg));
                        return perr(p, start, "invalid regular expression: %s", msg);
                }
                sel->have_re = true;
        }
        return 0;
}

static int parse_one(struct parser *p, struct filter_conj *conj)
{
        skip_ws(p);
        if (p->s[p->pos] == '\0')
                return 1; /* empty filter: matches everything */
        for (;;) {
                struct filter_sel *n = realloc(conj->sels, (conj->n_sels + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                conj->sels = n;
                struct filter_sel *sel = &n[conj->n_sels++];
                *sel = (struct filter_sel){};
                int r = parse_fieldpath(p, sel);
                if (r < 0)
                        return r;
                skip_ws(p);
                const char *o = p->s + p->pos;
                if ((o[0] == '=' || o[0] == '!' || o[0] == '~') && o[1] == '=') {
                        sel->op = o[0] == '=' ? OP_EQ : o[0] == '!' ? OP_NE : OP_MATCH;
                        p->pos += 2;
                        skip_ws(p);
                        if ((r = parse_value(p, sel)) < 0)
                                return r;
                        skip_ws(p);
                } else if (o[0] == '=' || o[0] == '!' || o[0] == '~') {
                        char c[2] = {o[0], 0};
                        return perr(p, p->pos,
                                    "unknown operator starting with '%s' (use ==, != or ~=)", c);
                } else
                        sel->op = OP_PRESENT;
                if (p->s[p->pos] == '\0')
                        return 0;
                if (p->s[p->pos] != ',') {
                        char c[2] = {p->s[p->pos], 0};
                        return perr(p, p->pos, "expected ',' or the end of the filter, found '%s'",
                                    c);
                }
                p->pos++;
                skip_ws(p);
        }
}

int store_filter_parse(const char *const *filters, size_t n_filters, struct store_filter **ret,
                       struct sbx_error *err)
{
        _cleanup_(store_filter_freep) struct store_filter *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->match_all = n_filters == 0;
        for (size_t i = 0; i < n_filters; i++) {
                if (!filters[i])
                        return sbx_fail(err, -EINVAL, "filter %zu is NULL", i + 1);
                struct filter_conj *a = realloc(f->alts, (f->n_alts + 1) * sizeof(*a));
                if (!a)
                        return -ENOMEM;
                f->alts = a;
                struct filter_conj *conj = &a[f->n_alts++];
                *conj = (struct filter_conj){};
                struct parser p = {.s = filters[i], .idx = i, .err = err};
                int r = parse_one(&p, conj);
                if (r < 0)
                        return r == -ENOMEM ? sbx_fail(err, r, "out of memory") : r;
                if (r > 0)
                        f->match_all = true;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

/* ---- matching --------------------------------------------------------------------------- */

struct subject {
        bool (*field)(const void *ctx, const struct filter_sel *s, const char **v, size_t *len);
        const void *ctx;
};

static bool sel_match(const struct filter_sel *s, const struct subject *subj)
{
        const char *v = NULL;
        size_t len = 0;
        bool present = subj->field(subj->ctx, s, &v, &len);
        if (!present) {
                v = "";
                len = 0;
        }
        switch (s->op) {
        case OP_PRESENT:
                return present;
        case OP_EQ:
                return present && len == s->value_len && memcmp(v, s->value, len) == 0;
        case OP_NE:
                return !(len == s->value_len && memcmp(v, s->value, len) == 0);
        case OP_MATCH: {
                regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)len};
                return regexec(&s->re, v, 1, &m, REG_STARTEND) == 0;
        }
        }
        return false;
}

static bool match(const struct store_filter *f, const struct subject *subj)
{
        if (f->match_all)
                return true;
        for (size_t i = 0; i < f->n_alts; i++) {
                bool all = true;
                for (size_t j = 0; j < f->alts[i].n_sels && all; j++)
                        all = sel_match(&f->alts[i].sels[j], subj);
                if (all)
                        return true;
        }
        return false;
}

static bool rec_field(const void *ctx, const struct filter_sel *s, const char **v, size_t *len)
{
        const struct store_record *rec = ctx;
        const char *x = NULL;
        switch (s->field) {
        case FIELD_ID:
                x = rec->id && *rec->id ? rec->id : NULL;
                break;
        case FIELD_RUNTIME_NAME:
                x = rec->runtime_name && *rec->runtime_name ? rec->runtime_name : NULL;
                break;
        case FIELD_LABEL:
                x = store_record_get_label(rec, s->key);
                break;
        case FIELD_EXTENSION: {
                const struct store_any *a = store_record_get_extension(rec, s->key);
                if (a)
                        x = a->type_url ? a->type_url : "";
                break;
        }
        }
        if (!x)
                return false;
        *v = x;
        *len = strlen(x);
        return true;
}

bool store_filter_match(const struct store_filter *f, const struct store_record *rec)
{
        struct subject subj = {rec_field, rec};
        return match(f, &subj);
}

static bool view_field(const void *ctx, const struct filter_sel *s, const char **v, size_t *len)
{
        const struct record_view *view = ctx;
        switch (s->field) {
        case FIELD_ID:
                *v = view->key.id;
                *len = view->key.id_len;
                return true; /* never empty in a stored record */
        case FIELD_RUNTIME_NAME:
                *v = view->runtime_name;
                *len = view->runtime_name_len;
                return true;
        case FIELD_LABEL:
                return record_view_label(view, s->key, s->key_len, v, len);
        case FIELD_EXTENSION:
                return record_view_extension(view, s->key, s->key_len, v, len);
        }
        return false;
}

bool filter_match_view(const struct store_filter *f, const struct record_view *v)
{
        struct subject subj = {view_field, v};
        return match(f, &subj);
}
