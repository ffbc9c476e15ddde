/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/error.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int vfail(struct sbx_error *err, int code, bool with_errno, const char *fmt, va_list ap)
{
        assert(code < 0);
        if (!err)
                return code;

        err->code = code;
        int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
        if (n < 0)
                n = 0;
        if (with_errno && (size_t)n < sizeof(err->message))
                snprintf(err->message + n, sizeof(err->message) - n, ": %s", strerror(-code));
        if (err->message[0] == '\0')
                snprintf(err->message, sizeof(err->message), "%s", strerror(-code));
        return code;
}

int sbx_fail(struct sbx_error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(err, code, false, fmt, ap);
        va_end(ap);
        return r;
}

int sbx_fail_errno(struct sbx_error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(err, code, true, fmt, ap);
        va_end(ap);
        return r;
}

int sbx_error_prefix(struct sbx_error *err, int code, const char *fmt, ...)
{
        if (!err)
                return code;

        char prefix[sizeof(err->message)];
        char old[sizeof(err->message)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->message, sizeof(old));
        if (err->code == 0)
                err->code = code;
        snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old);
        return err->code;
}

void sbx_error_clear(struct sbx_error *err)
{
        if (err) {
                err->code = 0;
                err->message[0] = '\0';
        }
}
