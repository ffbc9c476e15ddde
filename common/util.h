/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by every module.  Nothing here knows a module's data. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NSEC_PER_SEC  1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

/* CLOCK_REALTIME / CLOCK_MONOTONIC / CLOCK_BOOTTIME in nanoseconds. */
uint64_t sbx_now_realtime_ns(void);
uint64_t sbx_now_monotonic_ns(void);
uint64_t sbx_now_boottime_ns(void);

/* Formats ns since the epoch as RFC 3339 UTC with nanoseconds
 * ("2026-11-29T02:46:20.123456789Z").  buf must hold SBX_RFC3339_MAX bytes. */
#define SBX_RFC3339_MAX 40
char *sbx_format_rfc3339(uint64_t ns, char buf[static SBX_RFC3339_MAX]);

/* Parses RFC 3339 (UTC "Z" or a numeric offset; fraction optional).
 * Returns 0 and sets *ret_ns, or -EINVAL. */
int sbx_parse_rfc3339(const char *s, uint64_t *ret_ns);

/* write(2)/read(2) until done, retrying EINTR.  Return 0 or -errno
 * (read_all returns the byte count, short only at EOF). */
int sbx_write_all(int fd, const void *buf, size_t len);
ssize_t sbx_read_all(int fd, void *buf, size_t len);

/* Reads a whole (small) file relative to dirfd into a NUL-terminated heap
 * buffer.  At most max bytes; -EFBIG when larger.  Returns 0 or -errno. */
int sbx_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);

/* Writes a string to an existing file relative to dirfd in one write(2),
 * as cgroupfs and procfs want.  Returns 0 or -errno. */
int sbx_write_file_at(int dirfd, const char *path, const char *s);

/* Parses a decimal unsigned integer that must fill the whole string. */
int sbx_parse_u64(const char *s, uint64_t *ret);
