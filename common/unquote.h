/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * A quoted string as containerd's filters and fieldpaths take it (store/filter.c,
 * store/fieldpath.c, supervisor/events.c): "..." with Go's escapes (strconv.Unquote: \a \b
 * \f \n \r \t \v \\ \" \', \NNN octal, \xHH, \uHHHH, \UHHHHHHHH; no NUL), or /.../ and
 * |...|, in which only the delimiter is escaped and every other backslash is kept for the
 * regex engine (`id~=/^a\.b$/`).
 *
 * Reads the string starting at s[*pos] (the opening '"', '/' or '|') into a new
 * NUL-terminated string (*ret, *ret_len) and moves *pos past the closing delimiter.  On a
 * malformed string returns -EINVAL with *pos at the offending byte and *why a static
 * explanation ("unterminated quoted string", "unknown escape sequence", ...); -ENOMEM.
 */
int sbx_unquote(const char *s, size_t *pos, char **ret, size_t *ret_len, const char **why);
