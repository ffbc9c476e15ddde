/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Quoted strings of containerd's filter and fieldpath syntax (common/unquote.h). */

#include "common/unquote.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
        if (cp < 0x80) {
                o[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char)(0xc0 | cp >> 6);
                o[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                o[0] = (char)(0xe0 | cp >> 12);
                o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                o[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        o[0] = (char)(0xf0 | cp >> 18);
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

int sbx_unquote(const char *s, size_t *pos, char **ret, size_t *ret_len, const char **why)
{
        char q = s[*pos];
        size_t i = *pos + 1, n = 0;
        /* The result is never longer than the input (escapes only shrink, \u is
         * at most 4 bytes for 6 characters). */
        _cleanup_free_ char *o = malloc(strlen(s + i) + 1);
        if (!o)
                return -ENOMEM;
        for (;;) {
                char c = s[i];
                if (c == '\0') {
                        *why = "unterminated quoted string";
                        *pos = i;
                        return -EINVAL;
                }
                if (c == q)
                        break;
                if (c == '\n' && q == '"') {
                        *why = "newline in quoted string";
                        *pos = i;
                        return -EINVAL;
                }
                if (c != '\\') {
                        o[n++] = c;
                        i++;
                        continue;
                }
                char e = s[i + 1];
                if (q != '"') {
                        /* /regex/ and |x|: only the delimiter is escaped, everything
                         * else stays for the regex engine. */
                        if (e == q) {
                                o[n++] = q;
                                i += 2;
                        } else if (e == '\0') {
                                *why = "unterminated quoted string";
                                *pos = i + 1;
                                return -EINVAL;
                        } else {
                                o[n++] = '\\';
                                o[n++] = e;
                                i += 2;
                        }
                        continue;
                }
                size_t esc = i;
                i += 2;
                switch (e) {
                case 'a':
                        o[n++] = '\a';
                        break;
                case 'b':
                        o[n++] = '\b';
                        break;
                case 'f':
                        o[n++] = '\f';
                        break;
                case 'n':
                        o[n++] = '\n';
                        break;
                case 'r':
                        o[n++] = '\r';
                        break;
                case 't':
                        o[n++] = '\t';
                        break;
                case 'v':
                        o[n++] = '\v';
                        break;
                case '\\':
                        o[n++] = '\\';
                        break;
                case '"':
                        o[n++] = '"';
                        break;
                case '\'':
                        o[n++] = '\'';
                        break;
                case 'x':
                case 'u':
                case 'U': {
                        int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                        uint32_t v = 0;
                        for (int d = 0; d < digits; d++) {
                                int h = hexval(s[i]);
                                if (h < 0) {
                                        *why = "bad hexadecimal escape";
                                        *pos = i;
                                        return -EINVAL;
                                }
                                v = v << 4 | (uint32_t)h;
                                i++;
                        }
                        if (e != 'x' && (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))) {
                                *why = "escape is not a valid Unicode code point";
                                *pos = esc;
                                return -EINVAL;
                        }
                        if (v == 0) {
                                *why = "NUL byte in quoted string";
                                *pos = esc;
                                return -EINVAL;
                        }
                        if (e == 'x')
                                o[n++] = (char)v;
                        else
                                n += put_utf8(o + n, v);
                        break;
                }
                default:
                        if (e >= '0' && e <= '7') {
                                uint32_t v = 0;
                                i--;
                                for (int d = 0; d < 3; d++, i++) {
                                        if (s[i] < '0' || s[i] > '7') {
                                                *why = "bad octal escape (want 3 digits)";
                                                *pos = i;
                                                return -EINVAL;
                                        }
                                        v = v * 8 + (uint32_t)(s[i] - '0');
                                }
                                if (v > 255 || v == 0) {
                                        *why = v ? "octal escape above \\377"
                                                 : "NUL byte in quoted string";
                                        *pos = esc;
                                        return -EINVAL;
                                }
                                o[n++] = (char)v;
                                break;
                        }
                        *why = "unknown escape sequence";
                        *pos = esc;
                        return -EINVAL;
                }
        }
        o[n] = '\0';
        *pos = i + 1;
        *ret_len = n;
        *ret = TAKE_PTR(o);
        return 0;
}
