/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON and encoding helpers for the API: depth pre-check, base64, names, timestamps. */
#include "supervisor/sandboxd-internal.h"

#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool sup_json_too_deep(const char *buf, size_t len, unsigned max)
{
        unsigned depth = 0;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                char c = buf[i];

                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                switch (c) {
                case '"':
                        in_string = true;
                        break;
                case '[':
                case '{':
                        if (++depth > max)
                                return true;
                        break;
                case ']':
                case '}':
                        if (depth > 0)
                                depth--;
                        break;
                }
        }
        return false;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sup_base64_encode(const void *data, size_t len)
{
        const uint8_t *p = data;
        char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;

                if (i + 1 < len)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < len)
                        v |= p[i + 2];
                *o++ = b64[(v >> 18) & 63];
                *o++ = b64[(v >> 12) & 63];
                *o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
                *o++ = i + 2 < len ? b64[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

static int b64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int sup_base64_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len)
{
        uint8_t *out, *o;

        if (slen % 4 != 0)
                return -EINVAL;
        out = malloc(slen / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        for (size_t i = 0; i < slen; i += 4) {
                int v[4];
                int pad = 0;

                for (int k = 0; k < 4; k++) {
                        char c = s[i + k];

                        if (c == '=' && i + 4 == slen && k >= 2) {
                                v[k] = 0;
                                pad++;
                                continue;
                        }
                        if (pad > 0) /* data after padding */
                                goto fail;
                        v[k] = b64_value(c);
                        if (v[k] < 0)
                                goto fail;
                }
                uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                             (uint32_t)v[3];
                /* Canonical form: the bits below the padding are zero. */
                if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
                        goto fail;
                *o++ = w >> 16;
                if (pad < 2)
                        *o++ = (w >> 8) & 0xff;
                if (pad < 1)
                        *o++ = w & 0xff;
        }
        *o = 0;
        *ret = out;
        *ret_len = o - out;
        return 0;
fail:
        free(out);
        return -EINVAL;
}

bool sup_valid_name(const char *s)
{
        size_t n = strlen(s);
        bool prev_sep = true; /* no separator first */

        if (n < 1 || n > SUP_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum =
                        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

                if (alnum) {
                        prev_sep = false;
                        continue;
                }
                if ((c == '.' || c == '_' || c == '-') && !prev_sep) {
                        prev_sep = true;
                        continue;
                }
                return false;
        }
        return !prev_sep;
}

json_t *sup_json_time(uint64_t ns)
{
        char buf[SBX_RFC3339_MAX];

        if (ns == 0)
                return json_null();
        return json_string(sbx_format_rfc3339(ns, buf));
}

char *sup_json_dump(const json_t *j, size_t *ret_len)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t n;

        if (!s)
                return NULL;
        n = strlen(s);
        char *t = realloc(s, n + 2);
        if (!t) {
                free(s);
                return NULL;
        }
        t[n] = '\n';
        t[n + 1] = '\0';
        *ret_len = n + 1;
        return t;
}

int sup_json_strict(const json_t *object, const char *what, const char *const *keys,
                    struct sbx_error *err)
{
        const char *k;
        json_t *v;

        json_object_foreach ((json_t *)object, k, v) {
                bool ok = false;

                for (const char *const *p = keys; *p; p++)
                        if (strcmp(*p, k) == 0) {
                                ok = true;
                                break;
                        }
                if (!ok)
                        return sbx_fail(err, -EINVAL, "unknown field \"%s\" in %s", k, what);
        }
        return 0;
}
