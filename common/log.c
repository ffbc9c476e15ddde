/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int max_level = LOG_INFO;

void sbx_log_set_max_level(int level)
{
        max_level = level;
}

int sbx_log_get_max_level(void)
{
        return max_level;
}

int sbx_log_level_from_string(const char *s)
{
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
        };

        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
                if (strcasecmp(s, names[i]) == 0)
                        return i;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        if (strcasecmp(s, "warn") == 0)
                return LOG_WARNING;
        return -EINVAL;
}

void sbx_log(int level, const char *fmt, ...)
{
        if (level > max_level)
                return;

        /* One write(2) per line, so lines from concurrent writers never interleave. */
        char buf[2048];
        int saved = errno;
        int n = snprintf(buf, sizeof(buf), "<%d>", level);
        va_list ap;

        va_start(ap, fmt);
        int m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
                m = 0;
        n += m;
        if (n > (int)sizeof(buf) - 2)
                n = sizeof(buf) - 2;
        buf[n++] = '\n';
        (void)!write(STDERR_FILENO, buf, n);
        errno = saved;
}
