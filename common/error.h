/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Errors: a negative errno and, where a person will read it, a message.
 * The struct is owned by the caller (usually on its stack); nothing on the
 * error path allocates.  The API layer maps the errno to the closed set of
 * error codes of DESIGN.md §2:
 *
 *     ENOENT → NotFound          EEXIST → AlreadyExists
 *     EINVAL → InvalidArgument   EBUSY, EALREADY → FailedPrecondition
 *     ENOSPC, EIO → Unavailable  anything else → Internal
 */

#include <stddef.h>

struct sbx_error {
        int code;          /* negative errno; 0 when unset */
        char message[256]; /* NUL-terminated, never empty when code != 0 */
};

/* Sets *err (if non-NULL) and returns code, so callers can write
 * `return sbx_fail(err, -EINVAL, "label %s: value too long", key);`.
 * code must be negative. */
int sbx_fail(struct sbx_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Like sbx_fail(), and appends ": strerror(-code)" to the message. */
int sbx_fail_errno(struct sbx_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prefixes an error message that is already set: "PREFIX: old message".
 * Returns err->code (or code when err is NULL). */
int sbx_error_prefix(struct sbx_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Resets *err to "no error". */
void sbx_error_clear(struct sbx_error *err);
