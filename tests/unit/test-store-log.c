/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Durability and recovery: reopen, torn tails, corruption and repair,
 * compaction, the lock, group commit and write visibility. */
#include "store/store-internal.h"
#include "test-store-util.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

static char *tmp, *dir, *logpath;

static void setup(void)
{
        tmp = tmp_dir();
        dir = state_dir(tmp);
        cr_assert_geq(asprintf(&logpath, "%s/store.log", dir), 0);
}

static void teardown(void)
{
        rm_rf(tmp);
        free(logpath);
        free(dir);
        free(tmp);
}

TestSuite(store_log, .init = setup, .fini = teardown);

static void fill(struct store *s, int n, size_t spec)
{
        for (int i = 0; i < n; i++) {
                char id[32];
                snprintf(id, sizeof(id), "sb-%d", i);
                _cleanup_store_record_ struct store_record *r = mk_record("default", id, spec);
                create_ok(s, r);
        }
}

/* Every record of ns, as a list. */
static struct store_record **all(struct store *s, size_t *n)
{
        struct store_record **l = NULL;
        cr_assert_eq(store_list(s, "default", NULL, 0, &l, n, NULL), 0);
        return l;
}

static void assert_same(struct store_record **a, size_t na, struct store_record **b, size_t nb)
{
        cr_assert_eq(na, nb);
        for (size_t i = 0; i < na; i++)
                cr_assert(store_record_equal(a[i], b[i]), "record %s differs", a[i]->id);
}

static off_t file_size(const char *p)
{
        struct stat st;
        cr_assert_eq(stat(p, &st), 0);
        return st.st_size;
}

static void churn(struct store *s)
{
        fill(s, 40, 500);
        for (int i = 0; i < 40; i += 3) {
                char id[32];
                snprintf(id, sizeof(id), "sb-%d", i);
                cr_assert_eq(store_delete_sync(s, "default", id, NULL), 0);
        }
        for (int i = 1; i < 40; i += 3) {
                char id[32];
                snprintf(id, sizeof(id), "sb-%d", i);
                _cleanup_store_record_ struct store_record *r = mk_record("default", id, 700);
                store_record_set_label(r, "gen", "2");
                const char *p[] = {"labels.gen", "spec"};
                cr_assert_eq(store_update_sync(s, "default", r, p, 2, NULL, NULL), 0);
        }
}

Test(store_log, reopen_keeps_everything)
{
        struct store *s = open_ok(dir, 0);
        churn(s);
        size_t n1, n2;
        struct store_record **before = all(s, &n1);
        store_close(s);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s), "clean log: no report");
        struct store_record **after = all(s, &n2);
        assert_same(before, n1, after, n2);
        cr_assert_eq(n1, 26);
        store_record_array_free(before, n1);
        store_record_array_free(after, n2);
        store_close(s);
}

static void append_bytes(const void *p, size_t n)
{
        int fd = open(logpath, O_WRONLY | O_APPEND | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, p, n), (ssize_t)n);
        close(fd);
}

static void flip(uint64_t off);

static void write_at(uint64_t off, const void *p, size_t n)
{
        int fd = open(logpath, O_WRONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
        close(fd);
}

/* The end of the log (not of the file: preallocated zeros follow it). */
static uint64_t log_end(struct store *s)
{
        struct store_stats st;
        store_stats(s, &st);
        return st.file_size;
}

/* Fills, waits for the sync thread's preallocation, closes; returns the end. */
static uint64_t fill_and_close(int n, size_t spec)
{
        struct store *s = open_ok(dir, 0);
        fill(s, n, spec);
        uint64_t end = log_end(s);
        store_close(s);
        return end;
}

static uint8_t *frame_of(const char *id, size_t spec, size_t *ret_len)
{
        _cleanup_store_record_ struct store_record *r = mk_record("default", id, spec);
        cr_assert_eq(record_normalize(r, NULL), 0);
        cr_assert_eq(record_frame_size(r, ret_len, NULL), 0);
        uint8_t *f = malloc(*ret_len);
        record_frame_encode(r, f, *ret_len);
        return f;
}

Test(store_log, preallocated_zeros_after_the_end)
{
        struct store *s = open_ok(dir, 0);
        fill(s, 20, 300);
        uint64_t end = log_end(s);
        store_close(s); /* the sync thread has preallocated by now */
        off_t size = file_size(logpath);
        cr_assert_gt((uint64_t)size, end, "zeros written ahead of the end");
        cr_assert_leq((uint64_t)size, end + PREALLOC_STEP);
        int fd = open(logpath, O_RDONLY | O_CLOEXEC);
        static uint8_t buf[PREALLOC_STEP];
        ssize_t n = pread(fd, buf, sizeof(buf), (off_t)end);
        close(fd);
        cr_assert_eq(n, size - (off_t)end);
        for (ssize_t i = 0; i < n; i++)
                cr_assert_eq(buf[i], 0, "byte %zd after the end", i);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s), "zeros after the end are the clean end");
        cr_assert_eq(log_end(s), end);
        cr_assert_eq(store_count(s, NULL), 20);
        _cleanup_store_record_ struct store_record *r = mk_record("default", "next", 300);
        create_ok(s, r); /* written over the zeros */
        uint64_t end2 = log_end(s);
        store_close(s);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s));
        cr_assert_eq(log_end(s), end2);
        cr_assert_eq(store_count(s, NULL), 21);
        store_close(s);
}

Test(store_log, torn_tail_is_truncated)
{
        uint64_t good = fill_and_close(5, 100);
        /* Half a frame of a record at the end, zeros after it: a crash in the
         * middle of writing a batch into preallocated space. */
        size_t len;
        _cleanup_free_ uint8_t *f = frame_of("torn", 300, &len);
        write_at(good, f, len / 2);
        struct store *s = open_ok(dir, 0);
        const char *rep = store_recovery_report(s);
        cr_assert_not_null(rep);
        char want[96];
        snprintf(want, sizeof(want), "torn tail of %zu bytes at offset %llu", len / 2,
                 (unsigned long long)good);
        cr_assert_not_null(strstr(rep, want), "%s (want %s)", rep, want);
        cr_assert_eq(log_end(s), good);
        cr_assert_eq(store_count(s, "default"), 5);
        cr_assert_eq(store_get(s, "default", "torn", NULL, NULL), -ENOENT);
        _cleanup_store_record_ struct store_record *after = mk_record("default", "after", 10);
        create_ok(s, after); /* writable again */
        store_close(s);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s));
        cr_assert_eq(store_count(s, "default"), 6);
        store_close(s);
}

Test(store_log, torn_tail_past_the_zeros)
{
        /* Half a frame appended after the preallocated zeros (a log whose
         * zeros were extended, then written past): torn, cut at the end. */
        uint64_t good = fill_and_close(5, 100);
        size_t len;
        _cleanup_free_ uint8_t *f = frame_of("torn", 300, &len);
        append_bytes(f, len / 2);
        struct store *s = open_ok(dir, 0);
        const char *rep = store_recovery_report(s);
        cr_assert_not_null(rep);
        cr_assert_not_null(strstr(rep, "torn tail"), "%s", rep);
        cr_assert_eq(log_end(s), good);
        /* Cut at the end, zeros included: nothing of the torn frame is left past the end.
         * (The sync thread may already have written new zeros there: only zeros count.) */
        store_close(s);
        off_t size = file_size(logpath);
        int fd = open(logpath, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        for (off_t at = (off_t)good; at < size;) {
                uint8_t buf[4096];
                ssize_t n = pread(fd, buf, sizeof(buf), at);
                cr_assert_gt(n, 0);
                for (ssize_t i = 0; i < n; i++)
                        cr_assert_eq(buf[i], 0, "byte %lld past the end is not zero",
                                     (long long)(at + i));
                at += n;
        }
        close(fd);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s), "the cut was durable");
        cr_assert_eq(store_count(s, "default"), 5);
        store_close(s);
}

Test(store_log, garbage_after_a_valid_end)
{
        uint64_t good = fill_and_close(4, 100);
        uint8_t junk[777];
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (uint8_t)(i * 131 + 7);
        write_at(good + 100, junk, sizeof(junk)); /* zeros, then garbage */
        struct store *s = open_ok(dir, 0);
        const char *rep = store_recovery_report(s);
        cr_assert_not_null(rep);
        char want[96];
        snprintf(want, sizeof(want), "torn tail of %zu bytes at offset %llu", 100 + sizeof(junk),
                 (unsigned long long)good);
        cr_assert_not_null(strstr(rep, want), "%s (want %s)", rep, want);
        cr_assert_eq(log_end(s), good);
        cr_assert_eq(store_count(s, NULL), 4);
        store_close(s);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s));
        store_close(s);
}

Test(store_log, crash_while_preallocating)
{
        /* An extension that died part-way leaves any number of zeros after the
         * end (or a size extended with nothing written, which reads as zeros):
         * that is the clean end, nothing to report or cut. */
        uint64_t good = fill_and_close(3, 100);
        cr_assert_eq(truncate(logpath, (off_t)good), 0);
        static const uint8_t zeros[12345];
        for (int k = 0; k < 3; k++) {
                size_t n = k == 0 ? 5 : k == 1 ? sizeof(zeros) : 0;
                if (n)
                        append_bytes(zeros, n);
                else
                        cr_assert_eq(truncate(logpath, (off_t)good + 3 * PREALLOC_STEP), 0);
                struct store *s = open_ok(dir, 0);
                cr_assert_null(store_recovery_report(s), "%s", store_recovery_report(s));
                cr_assert_eq(log_end(s), good);
                cr_assert_eq(store_count(s, NULL), 3);
                store_close(s);
        }
}

Test(store_log, torn_last_record_is_dropped)
{
        uint64_t end = fill_and_close(4, 200);
        /* Cut into the last batch (its COMMIT): the whole batch goes. */
        cr_assert_eq(truncate(logpath, (off_t)end - 10), 0);
        struct store *s = open_ok(dir, 0);
        cr_assert_eq(store_count(s, NULL), 3);
        cr_assert_eq(store_get(s, "default", "sb-3", NULL, NULL), -ENOENT);
        store_close(s);
}

/* A batch of three records written by hand at off; hole_at (relative to the
 * batch, or -1) is zeroed over hole_len bytes, as a power cut leaves a batch
 * whose blocks were not all written.  Returns the batch's size. */
static uint64_t write_batch_at(uint64_t off, const char *prefix, long hole_at, size_t hole_len)
{
        uint8_t buf[8192];
        size_t used = 0;
        for (int i = 0; i < 3; i++) {
                char id[32];
                size_t len;
                snprintf(id, sizeof(id), "%s-%d", prefix, i);
                _cleanup_free_ uint8_t *f = frame_of(id, 600, &len);
                cr_assert_lt(used + len, sizeof(buf) - COMMIT_FRAME_SIZE);
                memcpy(buf + used, f, len);
                used += len;
        }
        commit_frame_encode(buf + used, used, 3);
        used += COMMIT_FRAME_SIZE;
        if (hole_at >= 0)
                memset(buf + hole_at, 0, hole_len);
        write_at(off, buf, used);
        return used;
}

Test(store_log, batch_with_a_hole_is_torn)
{
        /* Frames after the hole and the COMMIT itself are intact, but nothing
         * follows the batch: it was never acknowledged. */
        uint64_t good = fill_and_close(3, 100);
        write_batch_at(good, "holey", 200, 512);
        struct store *s = open_ok(dir, 0);
        const char *rep = store_recovery_report(s);
        cr_assert_not_null(rep);
        cr_assert_not_null(strstr(rep, "torn tail"), "%s", rep);
        cr_assert_eq(log_end(s), good);
        cr_assert_eq(store_count(s, NULL), 3, "the whole batch is dropped");
        store_close(s);
}

Test(store_log, complete_batch_without_commit_is_torn)
{
        /* All frames of the last batch, no COMMIT: not acknowledged either. */
        uint64_t good = fill_and_close(3, 100);
        uint64_t len = write_batch_at(good, "nocommit", -1, 0);
        static const uint8_t zeros[COMMIT_FRAME_SIZE];
        write_at(good + len - COMMIT_FRAME_SIZE, zeros, sizeof(zeros));
        struct store *s = open_ok(dir, 0);
        cr_assert_not_null(store_recovery_report(s));
        cr_assert_eq(store_count(s, NULL), 3);
        store_close(s);
}

Test(store_log, hole_before_another_batch_is_corruption)
{
        /* The damaged batch was followed by another one, so it had been
         * synced and acknowledged: corruption, refused with the offset. */
        uint64_t good = fill_and_close(3, 100);
        uint64_t len = write_batch_at(good, "first", 200, 64);
        write_batch_at(good + len, "second", -1, 0);
        struct store *bad = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_open(dir, 0, &bad, &err), -EUCLEAN);
        char want[64];
        snprintf(want, sizeof(want), "corrupt at offset %llu", (unsigned long long)good);
        cr_assert_not_null(strstr(err.message, want), "%s (want %s)", err.message, want);
        struct store *s = open_ok(dir, STORE_OPEN_REPAIR);
        cr_assert_not_null(strstr(store_recovery_report(s), "repair: dropped"));
        /* first-0 lost its bytes; first-1, first-2 and the second batch stay. */
        cr_assert_eq(store_count(s, NULL), 3 + 2 + 3);
        cr_assert_eq(store_get(s, "default", "first-0", NULL, NULL), -ENOENT);
        cr_assert_eq(store_get(s, "default", "second-2", NULL, NULL), 0);
        store_close(s);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s));
        cr_assert_eq(store_count(s, NULL), 8);
        store_close(s);
}

Test(store_log, damaged_commit_before_another_batch_is_corruption)
{
        uint64_t good = fill_and_close(3, 100);
        uint64_t len = write_batch_at(good, "first", -1, 0);
        write_batch_at(good + len, "second", -1, 0);
        flip(good + len - 3); /* inside the first batch's COMMIT */
        struct store *bad = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_open(dir, 0, &bad, &err), -EUCLEAN, "%s", err.message);
        char want[64];
        snprintf(want, sizeof(want), "corrupt at offset %llu",
                 (unsigned long long)(good + len - COMMIT_FRAME_SIZE));
        cr_assert_not_null(strstr(err.message, want), "%s (want %s)", err.message, want);
        struct store *s = open_ok(dir, STORE_OPEN_REPAIR);
        cr_assert_eq(store_count(s, NULL), 3 + 3 + 3, "every record kept");
        store_close(s);
}

/* A version-1 log (no COMMIT frames) of n records, written by hand. */
static uint64_t write_v1_log(int n)
{
        cr_assert_eq(mkdir(dir, 0700), 0);
        uint8_t hdr[LOG_HEADER_SIZE];
        log_header_encode(hdr, 7);
        put_u32(hdr + 8, 1);
        put_u32(hdr + 28, store_crc32c(0, hdr, 28));
        int fd = open(logpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
        uint64_t end = sizeof(hdr);
        for (int i = 0; i < n; i++) {
                char id[32];
                size_t len;
                snprintf(id, sizeof(id), "old-%d", i);
                _cleanup_free_ uint8_t *f = frame_of(id, 200, &len);
                cr_assert_eq(write(fd, f, len), (ssize_t)len);
                end += len;
        }
        close(fd);
        return end;
}

Test(store_log, version_1_log_is_converted)
{
        uint64_t end = write_v1_log(5);
        size_t len;
        _cleanup_free_ uint8_t *f = frame_of("torn", 200, &len);
        write_at(end, f, len - 1); /* and a torn tail, cut by the old rule */
        struct store *s = open_ok(dir, 0);
        const char *rep = store_recovery_report(s);
        cr_assert_not_null(rep);
        cr_assert_not_null(strstr(rep, "torn tail"), "%s", rep);
        cr_assert_not_null(strstr(rep, "converted the log from format version 1 to 2"), "%s", rep);
        struct store_stats st;
        store_stats(s, &st);
        cr_assert_eq(st.generation, 8);
        cr_assert_eq(store_count(s, NULL), 5);
        _cleanup_store_record_ struct store_record *r = mk_record("default", "new", 100);
        create_ok(s, r);
        store_close(s);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s));
        cr_assert_eq(store_count(s, NULL), 6);
        store_close(s);
}

Test(store_log, version_1_log_with_damaged_header_repaired)
{
        /* The header cannot say the version: no COMMIT anywhere means 1. */
        write_v1_log(4);
        flip(3);
        struct store *bad = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_open(dir, 0, &bad, &err), -EUCLEAN);
        cr_assert_not_null(strstr(err.message, "offset 0"), "%s", err.message);
        struct store *s = open_ok(dir, STORE_OPEN_REPAIR);
        cr_assert_not_null(strstr(store_recovery_report(s), "header damaged"));
        cr_assert_eq(store_count(s, NULL), 4, "%s", store_recovery_report(s));
        store_close(s);
        s = open_ok(dir, 0);
        cr_assert_null(store_recovery_report(s));
        cr_assert_eq(store_count(s, NULL), 4);
        store_close(s);
}

Test(store_log, unknown_version_refused)
{
        write_v1_log(1);
        uint8_t hdr[LOG_HEADER_SIZE];
        log_header_encode(hdr, 1);
        put_u32(hdr + 8, 3);
        put_u32(hdr + 28, store_crc32c(0, hdr, 28));
        write_at(0, hdr, sizeof(hdr));
        struct store *bad = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_open(dir, 0, &bad, &err), -EPROTONOSUPPORT);
        cr_assert_not_null(strstr(err.message, "format version 3"), "%s", err.message);
}

/* Offset of the frame of the i-th record written by fill() into a fresh log. */
static uint64_t frame_offset(int i, size_t spec)
{
        uint64_t off = LOG_HEADER_SIZE;
        for (int k = 0; k < i; k++) {
                char id[32];
                snprintf(id, sizeof(id), "sb-%d", k);
                _cleanup_store_record_ struct store_record *r = mk_record("default", id, spec);
                size_t len;
                record_frame_size(r, &len, NULL);
                off += len + COMMIT_FRAME_SIZE; /* fill() writes one record per batch */
        }
        return off;
}

static void flip(uint64_t off)
{
        int fd = open(logpath, O_RDWR | O_CLOEXEC);
        uint8_t b;
        cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
        b ^= 0x20;
        cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
        close(fd);
}

Test(store_log, flipped_byte_refused_then_repaired)
{
        struct store *s = open_ok(dir, 0);
        fill(s, 10, 300);
        store_close(s);
        uint64_t off5 = frame_offset(5, 300);
        flip(off5 + 100); /* inside record 5's payload */

        struct sbx_error err = {};
        struct store *bad = NULL;
        cr_assert_eq(store_open(dir, 0, &bad, &err), -EUCLEAN);
        char want[64];
        snprintf(want, sizeof(want), "corrupt at offset %llu", (unsigned long long)off5);
        cr_assert_not_null(strstr(err.message, want), "%s (want %s)", err.message, want);
        cr_assert_not_null(strstr(err.message, "repair"));

        s = open_ok(dir, STORE_OPEN_REPAIR);
        const char *rep = store_recovery_report(s);
        cr_assert_not_null(rep);
        cr_assert_not_null(strstr(rep, "dropped"), "%s", rep);
        cr_assert_not_null(strstr(rep, want + strlen("corrupt at ")), "%s", rep);
        cr_assert_eq(store_count(s, NULL), 9);
        cr_assert_eq(store_get(s, "default", "sb-5", NULL, NULL), -ENOENT);
        for (int i = 0; i < 10; i++) {
                char id[32];
                snprintf(id, sizeof(id), "sb-%d", i);
                if (i != 5)
                        cr_assert_eq(store_get(s, "default", id, NULL, NULL), 0, "%s kept", id);
        }
        store_close(s);
        s = open_ok(dir, 0); /* the repair rewrote the log: clean now */
        cr_assert_null(store_recovery_report(s));
        cr_assert_eq(store_count(s, NULL), 9);
        store_close(s);
}

Test(store_log, flipped_length_refused_then_repaired)
{
        struct store *s = open_ok(dir, 0);
        fill(s, 6, 300);
        store_close(s);
        uint64_t off2 = frame_offset(2, 300);
        flip(off2 + 1); /* the length field */
        struct store *bad = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_open(dir, 0, &bad, &err), -EUCLEAN, "%s", err.message);
        s = open_ok(dir, STORE_OPEN_REPAIR);
        cr_assert_eq(store_count(s, NULL), 5);
        store_close(s);
}

Test(store_log, damaged_header)
{
        struct store *s = open_ok(dir, 0);
        fill(s, 3, 100);
        store_close(s);
        flip(3);
        struct store *bad = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_open(dir, 0, &bad, &err), -EUCLEAN);
        cr_assert_not_null(strstr(err.message, "offset 0"), "%s", err.message);
        s = open_ok(dir, STORE_OPEN_REPAIR);
        cr_assert_eq(store_count(s, NULL), 3);
        store_close(s);
}

Test(store_log, compaction_equivalence)
{
        struct store *s = open_ok(dir, STORE_OPEN_NO_AUTO_COMPACT);
        churn(s);
        struct store_stats st1, st2;
        store_stats(s, &st1);
        cr_assert_gt(st1.dead_bytes, 0);
        size_t n1, n2, n3;
        struct store_record **before = all(s, &n1);
        struct sbx_error err = {};
        cr_assert_eq(store_compact_sync(s, &err), 0, "%s", err.message);
        store_stats(s, &st2);
        cr_assert_eq(st2.generation, st1.generation + 1);
        cr_assert_eq(st2.dead_bytes, COMMIT_FRAME_SIZE, "one COMMIT after the live records");
        cr_assert_eq(st2.live_bytes, st1.live_bytes);
        cr_assert_eq(st2.compactions, 1);
        cr_assert_geq((uint64_t)file_size(logpath), st2.file_size);
        cr_assert_lt(st2.file_size, st1.file_size);
        struct store_record **after = all(s, &n2);
        assert_same(before, n1, after, n2);
        store_close(s);
        s = open_ok(dir, 0);
        struct store_record **reopened = all(s, &n3);
        assert_same(before, n1, reopened, n3);
        store_record_array_free(before, n1);
        store_record_array_free(after, n2);
        store_record_array_free(reopened, n3);
        store_close(s);
}

static int acks;
static void count_cb(void *u, int r, const struct store_record *rec, const struct sbx_error *e)
{
        int *expect = u;
        cr_assert_eq(r, 0, "%s", e ? e->message : "");
        cr_assert_eq(*expect, acks, "callbacks in submission order");
        acks++;
}

Test(store_log, compaction_while_writing)
{
        struct store *s = open_ok(dir, STORE_OPEN_NO_AUTO_COMPACT);
        fill(s, 200, 2000);
        for (int i = 0; i < 200; i += 2) {
                char id[32];
                snprintf(id, sizeof(id), "sb-%d", i);
                cr_assert_eq(store_delete_sync(s, "default", id, NULL), 0);
        }
        struct sbx_error err = {};
        cr_assert_eq(store_compact(s, NULL, NULL, &err), 0);
        cr_assert_eq(store_compact(s, NULL, NULL, &err), -EBUSY, "one at a time");
        static int order[300];
        acks = 0;
        for (int i = 0; i < 300; i++) {
                char id[32];
                snprintf(id, sizeof(id), "new-%d", i);
                _cleanup_store_record_ struct store_record *r = mk_record("default", id, 1000);
                order[i] = i;
                cr_assert_eq(store_create(s, r, count_cb, &order[i], &err), 0);
                if (i % 10 == 0)
                        store_dispatch(s);
        }
        store_flush(s);
        while (store_stats(s, &(struct store_stats){}), s->compacting) {
                store_dispatch(s);
                usleep(1000);
        }
        cr_assert_eq(acks, 300);
        struct store_stats st;
        store_stats(s, &st);
        cr_assert_eq(st.compactions, 1);
        cr_assert_eq(st.live_records, 400);
        size_t n1, n2;
        struct store_record **before = all(s, &n1);
        store_close(s);
        s = open_ok(dir, 0);
        struct store_record **after = all(s, &n2);
        assert_same(before, n1, after, n2);
        store_record_array_free(before, n1);
        store_record_array_free(after, n2);
        store_close(s);
}

Test(store_log, auto_compaction_by_ratio)
{
        struct store *s = open_ok(dir, 0);
        store_set_auto_compact(s, 1.0, 0);
        _cleanup_store_record_ struct store_record *r = mk_record("default", "hot", 1000);
        create_ok(s, r);
        const char *p[] = {"spec"};
        for (int i = 0; i < 20; i++)
                cr_assert_eq(store_update_sync(s, "default", r, p, 1, NULL, NULL), 0);
        store_close(s); /* waits for a running compaction */
        s = open_ok(dir, 0);
        struct store_stats st;
        store_stats(s, &st);
        cr_assert_gt(st.generation, 1, "a compaction ran by itself");
        cr_assert_eq(st.live_records, 1);
        store_close(s);
}

Test(store_log, second_opener_refused)
{
        struct store *s = open_ok(dir, 0);
        struct store *t = NULL;
        struct sbx_error err = {};
        cr_assert_eq(store_open(dir, 0, &t, &err), -EBUSY);
        char want[64];
        snprintf(want, sizeof(want), "in use by another sandboxd (pid %d)", (int)getpid());
        cr_assert_not_null(strstr(err.message, want), "%s", err.message);
        store_close(s);
        t = open_ok(dir, 0);
        store_close(t);
}

Test(store_log, group_commit_shares_syncs)
{
        struct store *s = open_ok(dir, 0);
        static int order[100];
        struct sbx_error err = {};
        acks = 0;
        /* Hold the log while submitting, as a slow disk would: the sync
         * thread then finds everything queued at once. */
        pthread_mutex_lock(&s->io_lock);
        for (int i = 0; i < 100; i++) {
                char id[32];
                snprintf(id, sizeof(id), "g-%d", i);
                _cleanup_store_record_ struct store_record *r = mk_record("default", id, 100);
                order[i] = i;
                cr_assert_eq(store_create(s, r, count_cb, &order[i], &err), 0);
        }
        pthread_mutex_unlock(&s->io_lock);
        store_flush(s);
        struct store_stats st;
        store_stats(s, &st);
        cr_assert_eq(acks, 100);
        cr_assert_eq(st.writes, 100);
        cr_assert_leq(st.commits, 2, "100 writes in %llu fdatasyncs",
                      (unsigned long long)st.commits);
        store_close(s);
}

static void note_cb(void *u, int r, const struct store_record *rec, const struct sbx_error *e)
{
        int *res = u;
        *res = r == 0 ? 1 : r;
}

Test(store_log, in_flight_writes_not_visible_but_conflict)
{
        struct store *s = open_ok(dir, 0);
        _cleanup_store_record_ struct store_record *r = mk_record("default", "p", 10);
        int res = 0, res2 = 0, res3 = 0;
        struct sbx_error err = {};
        pthread_mutex_lock(&s->io_lock); /* keep it in flight */
        cr_assert_eq(store_create(s, r, note_cb, &res, &err), 0);
        cr_assert_eq(store_get(s, "default", "p", NULL, NULL), -ENOENT, "not durable: invisible");
        cr_assert_eq(store_create(s, r, note_cb, &res2, &err), -EEXIST, "in-flight create");
        const char *p[] = {"labels.k0"};
        store_record_set_label(r, "k0", "updated");
        cr_assert_eq(store_update(s, "default", r, p, 1, note_cb, &res2, &err), 0,
                     "update on top of an in-flight create: %s", err.message);
        cr_assert_eq(store_delete(s, "default", "p", note_cb, &res3, &err), 0);
        cr_assert_eq(store_update(s, "default", r, p, 1, note_cb, &res2, &err), -ENOENT,
                     "after an in-flight delete");
        struct store_stats st;
        store_stats(s, &st);
        cr_assert_eq(st.pending, 3);
        pthread_mutex_unlock(&s->io_lock);
        store_flush(s);
        cr_assert_eq(res, 1);
        cr_assert_eq(res2, 1);
        cr_assert_eq(res3, 1);
        cr_assert_eq(store_get(s, "default", "p", NULL, NULL), -ENOENT);
        store_close(s);
}

Test(store_log, close_runs_pending_callbacks)
{
        struct store *s = open_ok(dir, 0);
        int res = 0;
        _cleanup_store_record_ struct store_record *r = mk_record("default", "c", 10);
        cr_assert_eq(store_create(s, r, note_cb, &res, NULL), 0);
        store_close(s);
        cr_assert_eq(res, 1);
        s = open_ok(dir, 0);
        cr_assert_eq(store_get(s, "default", "c", NULL, NULL), 0);
        store_close(s);
}

Test(store_log, event_fd_signals_completion)
{
        struct store *s = open_ok(dir, 0);
        int res = 0;
        _cleanup_store_record_ struct store_record *r = mk_record("default", "e", 10);
        cr_assert_eq(store_create(s, r, note_cb, &res, NULL), 0);
        struct pollfd pfd = {.fd = store_get_fd(s), .events = POLLIN};
        cr_assert_eq(poll(&pfd, 1, 10000), 1);
        while (res == 0) {
                poll(&pfd, 1, 10000);
                store_dispatch(s);
        }
        cr_assert_eq(res, 1);
        store_close(s);
}

static struct store *nested_store;
static int nested_result = 1;
static void nested_cb(void *u, int r, const struct store_record *rec, const struct sbx_error *e)
{
        _cleanup_store_record_ struct store_record *n = mk_record("default", "inner", 10);
        nested_result = store_create_sync(nested_store, n, NULL, NULL);
}

Test(store_log, sync_call_from_a_callback)
{
        nested_store = open_ok(dir, 0);
        _cleanup_store_record_ struct store_record *r = mk_record("default", "outer", 10);
        cr_assert_eq(store_create(nested_store, r, nested_cb, NULL, NULL), 0);
        store_flush(nested_store);
        cr_assert_eq(nested_result, 0);
        cr_assert_eq(store_get(nested_store, "default", "inner", NULL, NULL), 0);
        store_close(nested_store);
}
