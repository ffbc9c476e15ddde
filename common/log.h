/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging to stderr with sd-daemon(3) priority prefixes ("<6>message"), which
 * journald turns into priorities.  Libraries log at debug level only; the
 * daemon decides what is worth more.
 */

#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG */

/* Messages above this priority (numerically greater) are dropped.  Default LOG_INFO. */
void sbx_log_set_max_level(int level);
int sbx_log_get_max_level(void);

/* Parses "err", "warning", "notice", "info", "debug" (or a digit 0-7).
 * Returns the level, or -EINVAL. */
int sbx_log_level_from_string(const char *s);

void sbx_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   sbx_log(LOG_ERR, __VA_ARGS__)
#define log_warning(...) sbx_log(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  sbx_log(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    sbx_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                    \
        do {                                              \
                if (sbx_log_get_max_level() >= LOG_DEBUG) \
                        sbx_log(LOG_DEBUG, __VA_ARGS__);  \
        } while (0)
