/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Open = replay (the rule is in log.c's header comment): map the log, check
 * every frame, rebuild the index.  A torn tail is cut off; damage before the
 * tail is refused with its offset, or, with STORE_OPEN_REPAIR, skipped and
 * the log rewritten without it.
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
        if ((f[8] != REC_PUT && f[8] != REC_DELETE) || len > STORE_RECORD_MAX ||
            len > size - off - FRAME_HEADER)
                return false;
        if (frame_crc(f, len) != get_u32(f + 4))
                return false;
        if (record_payload_check(f[8], f + FRAME_HEADER, len) < 0)
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
        s->log_end = size;
        return 0;
}

int log_recover(struct store *s, struct sbx_error *err)
{
        struct stat st;
        bool repair = s->flags & STORE_OPEN_REPAIR;
        uint64_t dropped_bytes = 0, regions = 0;
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

        r = log_header_decode(m, size, &s->generation);
        if (r == -EPROTONOSUPPORT) {
                r = sbx_fail(err, -EPROTONOSUPPORT,
                             "%s/%s has format version %u, this sandboxd reads version %u", s->dir,
                             LOG_NAME, get_u32(m + 8), LOG_VERSION);
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
                regions++;
                report_add(s, "repair: file header damaged, rewritten");
        }

        uint64_t off = LOG_HEADER_SIZE;
        while (off < size) {
                uint32_t len;
                if (log_frame_valid(m, size, off, &len)) {
                        if ((r = apply_frame(s, m + off, len)) < 0) {
                                r = sbx_fail(err, r, "out of memory replaying the store log");
                                goto out;
                        }
                        off += FRAME_HEADER + len;
                        continue;
                }
                uint64_t next = off + 1;
                while (next + FRAME_HEADER <= size && !log_frame_valid(m, size, next, &len))
                        next++;
                if (next + FRAME_HEADER > size) {
                        /* Nothing valid follows: the unfinished tail of the last batch. */
                        if (ftruncate(s->log_fd, (off_t)off) < 0 || fdatasync(s->log_fd) < 0) {
                                r = sbx_fail_errno(err, -errno, "truncating the torn tail of %s/%s",
                                                   s->dir, LOG_NAME);
                                goto out;
                        }
                        report_add(s, "truncated a torn tail of %llu bytes at offset %llu",
                                   (unsigned long long)(size - off), (unsigned long long)off);
                        size = off;
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
                report_add(s, "repair: dropped %llu damaged bytes at offset %llu",
                           (unsigned long long)(next - off), (unsigned long long)off);
                dropped_bytes += next - off;
                regions++;
                off = next;
        }
        s->log_end = size;
        if (regions > 0) {
                if ((r = rewrite(s, err)) < 0)
                        goto out;
                report_add(s,
                           "repair: kept %zu records, dropped %llu bytes in %llu regions, log "
                           "rewritten as generation %llu",
                           s->idx.n, (unsigned long long)dropped_bytes, (unsigned long long)regions,
                           (unsigned long long)s->generation);
        }
        r = 0;
out:
        if (m)
                munmap(m, st.st_size);
        return r;
}
