/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

Test(common, fail_sets_code_and_message)
{
        struct sbx_error err = {};
        int r = sbx_fail(&err, -EINVAL, "label %s: value too long", "k");
        cr_assert_eq(r, -EINVAL);
        cr_assert_eq(err.code, -EINVAL);
        cr_assert_str_eq(err.message, "label k: value too long");
}

Test(common, fail_errno_appends_strerror)
{
        struct sbx_error err = {};
        sbx_fail_errno(&err, -ENOENT, "open %s", "/x");
        cr_assert_str_eq(err.message, "open /x: No such file or directory");
}

Test(common, fail_null_error_only_returns)
{
        cr_assert_eq(sbx_fail(NULL, -EIO, "x"), -EIO);
}

Test(common, error_prefix_keeps_code)
{
        struct sbx_error err = {};
        sbx_fail(&err, -ENOSPC, "disk full");
        cr_assert_eq(sbx_error_prefix(&err, -EIO, "create %s", "a"), -ENOSPC);
        cr_assert_str_eq(err.message, "create a: disk full");
}

Test(common, long_message_truncates_safely)
{
        struct sbx_error err = {};
        char big[1000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        sbx_fail_errno(&err, -EIO, "%s", big);
        cr_assert_eq(strlen(err.message), sizeof(err.message) - 1);
}

Test(common, rfc3339_round_trip)
{
        char buf[SBX_RFC3339_MAX];
        uint64_t ns = 1795920380123456789ULL, back = 0;
        sbx_format_rfc3339(ns, buf);
        cr_assert_eq(sbx_parse_rfc3339(buf, &back), 0);
        cr_assert_eq(back, ns);
        cr_assert_eq(sbx_parse_rfc3339("2026-11-29T02:46:20+01:00", &back), 0);
        cr_assert_eq(back, 1795920380ULL * NSEC_PER_SEC - 3600ULL * NSEC_PER_SEC);
}

Test(common, rfc3339_rejects_garbage)
{
        uint64_t ns;
        cr_assert_eq(sbx_parse_rfc3339("2026-13-01T00:00:00Z", &ns), -EINVAL);
        cr_assert_eq(sbx_parse_rfc3339("2026-11-29T02:46:20", &ns), -EINVAL);
        cr_assert_eq(sbx_parse_rfc3339("2026-11-29T02:46:20.Z", &ns), -EINVAL);
        cr_assert_eq(sbx_parse_rfc3339("yesterday", &ns), -EINVAL);
}

Test(common, parse_u64)
{
        uint64_t v;
        cr_assert_eq(sbx_parse_u64("18446744073709551615", &v), 0);
        cr_assert_eq(v, UINT64_MAX);
        cr_assert_lt(sbx_parse_u64("18446744073709551616", &v), 0);
        cr_assert_lt(sbx_parse_u64("-1", &v), 0);
        cr_assert_lt(sbx_parse_u64("12a", &v), 0);
        cr_assert_lt(sbx_parse_u64("", &v), 0);
}

Test(common, read_and_write_file_at)
{
        char dir[] = "/tmp/sbx-common-XXXXXX";
        cr_assert_not_null(mkdtemp(dir));
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int f = openat(dfd, "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        cr_assert_geq(f, 0);
        cr_assert_eq(sbx_write_file_at(dfd, "f", "hello\n"), 0);
        _cleanup_free_ char *s = NULL;
        size_t len;
        cr_assert_eq(sbx_read_file_at(dfd, "f", 1024, &s, &len), 0);
        cr_assert_str_eq(s, "hello\n");
        cr_assert_eq(len, 6);
        _cleanup_free_ char *t = NULL;
        cr_assert_eq(sbx_read_file_at(dfd, "f", 3, &t, NULL), -EFBIG);
        cr_assert_eq(sbx_read_file_at(dfd, "missing", 1024, &t, NULL), -ENOENT);
        unlinkat(dfd, "f", 0);
        rmdir(dir);
}

Test(common, log_levels_parse)
{
        cr_assert_eq(sbx_log_level_from_string("debug"), LOG_DEBUG);
        cr_assert_eq(sbx_log_level_from_string("warning"), LOG_WARNING);
        cr_assert_eq(sbx_log_level_from_string("3"), LOG_ERR);
        cr_assert_eq(sbx_log_level_from_string("loud"), -EINVAL);
}
