/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/util.h"

#include "common/cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t sbx_now_realtime_ns(void)
{
        return now(CLOCK_REALTIME);
}

uint64_t sbx_now_monotonic_ns(void)
{
        return now(CLOCK_MONOTONIC);
}

uint64_t sbx_now_boottime_ns(void)
{
        return now(CLOCK_BOOTTIME);
}

char *sbx_format_rfc3339(uint64_t ns, char buf[static SBX_RFC3339_MAX])
{
        time_t sec = (time_t)(ns / NSEC_PER_SEC);
        struct tm tm;

        gmtime_r(&sec, &tm);
        size_t n = strftime(buf, SBX_RFC3339_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, SBX_RFC3339_MAX - n, ".%09lluZ", (unsigned long long)(ns % NSEC_PER_SEC));
        return buf;
}

static int digits(const char **p, int n, int *ret)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)**p))
                        return -EINVAL;
                v = v * 10 + (**p - '0');
                (*p)++;
        }
        *ret = v;
        return 0;
}

int sbx_parse_rfc3339(const char *s, uint64_t *ret_ns)
{
        struct tm tm = {};
        int year, mon, day, hour, min, sec;
        const char *p = s;

        if (digits(&p, 4, &year) < 0 || *p++ != '-' || digits(&p, 2, &mon) < 0 || *p++ != '-' ||
            digits(&p, 2, &day) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
                return -EINVAL;
        p++;
        if (digits(&p, 2, &hour) < 0 || *p++ != ':' || digits(&p, 2, &min) < 0 || *p++ != ':' ||
            digits(&p, 2, &sec) < 0)
                return -EINVAL;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 ||
            year < 1970)
                return -EINVAL;

        uint64_t frac = 0;
        if (*p == '.') {
                int n = 0;
                p++;
                while (isdigit((unsigned char)*p)) {
                        if (n < 9) {
                                frac = frac * 10 + (uint64_t)(*p - '0');
                                n++;
                        }
                        p++;
                }
                if (n == 0)
                        return -EINVAL;
                while (n++ < 9)
                        frac *= 10;
        }

        long offset = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1, oh, om;
                if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0)
                        return -EINVAL;
                offset = sign * (oh * 3600L + om * 60L);
        } else {
                return -EINVAL;
        }
        if (*p != '\0')
                return -EINVAL;

        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        time_t t = timegm(&tm);
        if (t == (time_t)-1 || (long long)t - offset < 0)
                return -EINVAL;
        *ret_ns = (uint64_t)(t - offset) * NSEC_PER_SEC + frac;
        return 0;
}

int sbx_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

ssize_t sbx_read_all(int fd, void *buf, size_t len)
{
        char *p = buf;
        size_t done = 0;
        while (done < len) {
                ssize_t n = read(fd, p + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

int sbx_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        /* Read up to max + 1 bytes: one more than allowed tells "too large". */
        size_t cap = max + 1 < 4096 ? max + 1 : 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap > max)
                                return -EFBIG;
                        cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max)
                return -EFBIG;
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int sbx_write_file_at(int dirfd, const char *path, const char *s)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        size_t len = strlen(s);
        ssize_t n;
        do
                n = write(fd, s, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}

int sbx_parse_u64(const char *s, uint64_t *ret)
{
        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return errno ? -errno : -EINVAL;
        *ret = v;
        return 0;
}
