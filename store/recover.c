/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Open = replay (the rule is in log.c's header comment): map the log, check
 * every frame, apply the frames of each committed batch, rebuild the index.
 *
 * At the first frame that is not valid, at offset o, with B the end of the
 * last committed batch (B <= o) and Z the end of the non-zero bytes:
 *   - o >= Z and B == o: the clean end, zeros (preallocated) or nothing after.
 *   - torn: the last batch never completed — no valid COMMIT starts in
 *     (o, Z), or the first one that does ends the batch that started at B
 *     (its byte count says so) and no valid frame follows it.  A later batch
 *     is only written after the fdatasync of the earlier one returned, so
 *     damage followed by another batch cannot be an unfinished write (a power
 *     cut can leave holes of zeros anywhere in the last batch, since its
 *     blocks are overwritten in place).  The file is cut at B.
 *   - otherwise corruption: refused naming o (and where valid frames resume),
 *     or in repair mode skipped up to the next valid frame.
 * Format version 1 (no COMMIT frames, each frame stands alone) is replayed by
 * the old rule (torn iff no valid frame follows) and rewritten as version 2.
 */
#include "store/store-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

bool log_frame_valid(const uint8_t *m, uint64_t size, uint64_t off, uint32_t *ret_len)
{
        if (size < off || size - off < FRAME_HEADER)
                return false;
        const uint8_t *f = m + off;
        uint32_t len = get_u32(f);
        if ((f[8] != REC_PUT && f[8] != REC_DELETE && f[8] != FRAME_COMMIT) ||
            len > STORE_RECORD_MAX || len > size - off - FRAME_HEADER ||
            (f[8] == FRAME_COMMIT && len != COMMIT_PAYLOAD))
                return false;
        if (frame_crc(f, len) != get_u32(f + 4))
                return false;
        if (f[8] != FRAME_COMMIT && record_payload_check(f[8], f + FRAME_HEADER, len) < 0)
                return false;
        *ret_len = len;
        return true;
}

static int apply_frame(struct store *s, const uint8_t *f, uint32_t len)
{
        struct record_key key;
        record_payload_key(f + FRAME_HEADER, &key);
        uint64_t h = record_key_hash(key.ns, key.ns_len, key.id, key.id_len);
        if (f[8] == REC_DELETE) {
                struct entry *old = index_remove(&s->idx, h, &key, entry_key);
                if (old) {
                        s->live_bytes -= old->frame_len;
                        free(old);
                }
                return 0;
        }
        struct entry *e = entry_new(f, FRAME_HEADER + (size_t)len), *old = NULL;
        if (!e)
                return -ENOMEM;
        record_payload_key(entry_payload(e), &key); /* point the key at the copy */
        int r = index_put(&s->idx, h, e, &key, entry_key, (void **)&old);
        if (r < 0) {
                free(e);
                return r;
        }
        if (old) {
                s->live_bytes -= old->frame_len;
                free(old);
        }
        s->live_bytes += e->frame_len;
        return 0;
}

static void report_add(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report_add(struct store *s, const char *fmt, ...)
{
        char buf[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        char *n = NULL;
        if (asprintf(&n, "%s%s%s", s->report ? s->report : "", s->report ? "; " : "", buf) < 0)
                return;
        free(s->report);
        s->report = n;
}

/* Rewrites the log from the index (after a repair), as the next generation. */
static int rewrite(struct store *s, struct sbx_error *err)
{
        _cleanup_free_ struct entry **v = calloc(s->idx.n ? s->idx.n : 1, sizeof(*v));
        size_t n = 0;
        if (!v)
                return sbx_fail(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < s->idx.cap; i++)
                if (s->idx.slots[i].p && s->idx.slots[i].p != INDEX_TOMB)
                        v[n++] = s->idx.slots[i].p;
        int fd;
        uint64_t size;
        int r = log_write_new(s->dir_fd, s->generation + 1, v, n, &fd, &size, err);
        if (r < 0)
                return r;
        safe_close(s->log_fd);
        s->log_fd = fd;
        s->generation++;
        s->log_end = s->file_size = size;
        return 0;
}

/* The end of the non-zero bytes of m[0, size). */
static uint64_t nonzero_end(const uint8_t *m, uint64_t size)
{
        uint64_t z = size;
        while (z >= 8) {
                uint64_t w;
                memcpy(&w, m + z - 8, 8);
                if (w)
                        break;
                z -= 8;
        }
        while (z > 0 && m[z - 1] == 0)
                z--;
        return z;
}

/* The first offset in [from, to) where a valid frame (of any type, or only a
 * COMMIT) starts, or `to`. */
static uint64_t next_valid(const uint8_t *m, uint64_t size, uint64_t from, uint64_t to,
                           bool commit_only)
{
        uint32_t len;
        for (uint64_t o = from; o < to; o++) {
                if (commit_only && (o + FRAME_HEADER > size || m[o + 8] != FRAME_COMMIT))
                        continue;
                if (log_frame_valid(m, size, o, &len))
                        return o;
        }
        return to;
}

/* Applies the data frames of [from, to), already checked. */
static int apply_range(struct store *s, const uint8_t *m, uint64_t from, uint64_t to)
{
        while (from < to) {
                uint32_t len = get_u32(m + from);
                if (m[from + 8] != FRAME_COMMIT) {
                        int r = apply_frame(s, m + from, len);
                        if (r < 0)
                                return r;
                }
                from += FRAME_HEADER + len;
        }
        return 0;
}

int log_recover(struct store *s, struct sbx_error *err)
{
        struct stat st;
        bool repair = s->flags & STORE_OPEN_REPAIR;
        uint64_t dropped_bytes = 0, regions = 0;
        uint32_t version = LOG_VERSION;
        int r;

        if (fstat(s->log_fd, &st) < 0)
                return sbx_fail_errno(err, -errno, "stat %s/%s", s->dir, LOG_NAME);
        uint64_t size = (uint64_t)st.st_size;
        uint8_t *m = NULL;
        if (size > 0) {
                m = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, s->log_fd, 0);
                if (m == MAP_FAILED)
                        return sbx_fail_errno(err, -errno, "mapping %s/%s", s->dir, LOG_NAME);
        }

        r = log_header_decode(m, size, &s->generation, &version);
        if (r == -EPROTONOSUPPORT) {
                r = sbx_fail(err, -EPROTONOSUPPORT,
                             "%s/%s has format version %u, this sandboxd reads versions 1 and %u "
                             "(a newer sandboxd wrote it?)",
                             s->dir, LOG_NAME, version, LOG_VERSION);
                goto out;
        }
        if (r < 0) {
                if (!repair) {
                        r = sbx_fail(err, -EUCLEAN,
                                     "%s/%s is corrupt at offset 0 (damaged file header); open "
                                     "it in repair mode to keep the valid records",
                                     s->dir, LOG_NAME);
                        goto out;
                }
                s->generation = 1;
                version = LOG_VERSION;
                regions++;
                report_add(s, "repair: file header damaged, rewritten");
        }

        uint64_t off = LOG_HEADER_SIZE, batch = LOG_HEADER_SIZE, n_frames = 0, z = UINT64_MAX;
        /* A damaged header does not say which version wrote the frames: a
         * log without a single COMMIT is taken for version 1 (read as
         * version 2, all its records would look uncommitted). */
        if (r < 0 && size > LOG_HEADER_SIZE) {
                z = nonzero_end(m, size);
                if (next_valid(m, size, LOG_HEADER_SIZE, z, true) >= z)
                        version = 1;
        }
        bool v1 = version == 1, lenient = false;
        for (;;) {
                uint32_t len;
                if (off < size && log_frame_valid(m, size, off, &len)) {
                        if (m[off + 8] != FRAME_COMMIT) {
                                off += FRAME_HEADER + len;
                                n_frames++;
                                if (v1) { /* each frame stands alone */
                                        if ((r = apply_range(s, m, batch, off)) < 0)
                                                goto oom;
                                        batch = off;
                                        n_frames = 0;
                                }
                                continue;
                        }
                        /* A COMMIT ends the batch it counts (after a repaired
                         * region, whatever precedes it). */
                        if (!v1 && (lenient || (get_u64(m + off + FRAME_HEADER) == off - batch &&
                                                get_u32(m + off + FRAME_HEADER + 8) == n_frames))) {
                                if ((r = apply_range(s, m, batch, off)) < 0)
                                        goto oom;
                                off += COMMIT_FRAME_SIZE;
                                batch = off;
                                n_frames = 0;
                                lenient = false;
                                continue;
                        }
                }
                /* Not a valid frame at off (or the end of the file). */
                if (z == UINT64_MAX)
                        z = nonzero_end(m, size);
                if (off >= z && batch == off)
                        break; /* the clean end */
                uint64_t next = next_valid(m, size, off + 1, z, false);
                bool torn;
                if (v1)
                        torn = next >= z;
                else {
                        /* The first COMMIT after the damage: does it end the
                         * damaged batch (its byte count leads back to batch),
                         * with nothing valid after it? */
                        uint64_t c = next_valid(m, size, off + 1, z, true);
                        torn = c >= z ||
                               (get_u64(m + c + FRAME_HEADER) == c - batch &&
                                next_valid(m, size, c + COMMIT_FRAME_SIZE, z, false) >= z);
                }
                if (torn) {
                        /* The unfinished last batch: nothing in it was acknowledged. */
                        if (ftruncate(s->log_fd, (off_t)batch) < 0 || fdatasync(s->log_fd) < 0) {
                                r = sbx_fail_errno(err, -errno, "truncating the torn tail of %s/%s",
                                                   s->dir, LOG_NAME);
                                goto out;
                        }
                        report_add(s, "truncated a torn tail of %llu bytes at offset %llu",
                                   (unsigned long long)((z > off ? z : off) - batch),
                                   (unsigned long long)batch);
                        size = batch;
                        break;
                }
                if (!repair) {
                        r = sbx_fail(err, -EUCLEAN,
                                     "%s/%s is corrupt at offset %llu (bad record; valid records "
                                     "resume at offset %llu); open it in repair mode to drop the "
                                     "damaged bytes and keep every valid record",
                                     s->dir, LOG_NAME, (unsigned long long)off,
                                     (unsigned long long)next);
                        goto out;
                }
                /* Keep the valid frames before the damage, skip it, go on. */
                if ((r = apply_range(s, m, batch, off)) < 0)
                        goto oom;
                report_add(s, "repair: dropped %llu damaged bytes at offset %llu",
                           (unsigned long long)(next - off), (unsigned long long)off);
                dropped_bytes += next - off;
                regions++;
                off = batch = next;
                n_frames = 0;
                lenient = true;
        }
        s->log_end = batch;
        s->file_size = size;
        if (regions > 0 || v1) {
                uint64_t from_gen = s->generation;
                if ((r = rewrite(s, err)) < 0)
                        goto out;
                if (regions > 0)
                        report_add(s,
                                   "repair: kept %zu records, dropped %llu bytes in %llu regions, "
                                   "log rewritten as generation %llu",
                                   s->idx.n, (unsigned long long)dropped_bytes,
                                   (unsigned long long)regions, (unsigned long long)s->generation);
                else
                        report_add(s,
                                   "converted the log from format version 1 to %u (generation "
                                   "%llu to %llu, %zu records)",
                                   LOG_VERSION, (unsigned long long)from_gen,
                                   (unsigned long long)s->generation, s->idx.n);
        }
        r = 0;
        goto out;
oom:
        r = sbx_fail(err, r, "out of memory replaying the store log");
out:
        if (m)
                munmap(m, st.st_size);
        return r;
}
