/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The append-only log: its file header and the sync thread that appends
 * batches of records with one fdatasync each (group commit).
 *
 * File DIR/store.log — all integers little-endian, fixed width, no padding.
 *
 *   File header (32 bytes, at offset 0):
 *     offset  size  field
 *          0     8  magic "sbxstore" (ASCII, no NUL)
 *          8     4  format version, 1
 *         12     4  header size, 32
 *         16     8  generation: 1 for a new store, +1 per compaction
 *         24     4  reserved, 0
 *         28     4  CRC-32C of bytes 0..27
 *
 *   Records (frames), one after another from offset 32 to the end of file:
 *     offset  size  field
 *          0     4  L, payload length in bytes (at most 16 MiB)
 *          4     4  CRC-32C over bytes 0..3 (L), byte 8 (type) and the payload
 *          8     1  type: 1 = PUT (a whole sandbox record), 2 = DELETE (tombstone)
 *          9     L  payload (layout in codec.c / docs/store-format.md)
 *
 * A frame is valid when its type is 1 or 2, it lies wholly inside the file,
 * its CRC matches and its payload parses completely (names valid, keys
 * ascending, no trailing bytes).  Replaying the valid frames in order — PUT
 * replaces the record of its (namespace, id), DELETE removes it — gives the
 * store.  Recovery (recover.c): at the first invalid frame, if no valid frame
 * starts anywhere after it, it is the torn tail of an unacknowledged batch
 * and the file is truncated there; otherwise the log is corrupt and open
 * fails naming the offset (or, in repair mode, skips to the next valid frame
 * and rewrites the log without the damage).
 *
 * Nothing is acknowledged before the fdatasync that covers it returns.  A
 * batch that fails to write or sync is cut off again with ftruncate+fdatasync
 * so no failed record can reappear after a crash.
 */
#include "store/store-internal.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

void log_header_encode(uint8_t buf[LOG_HEADER_SIZE], uint64_t generation)
{
        memset(buf, 0, LOG_HEADER_SIZE);
        memcpy(buf, LOG_MAGIC, 8);
        put_u32(buf + 8, LOG_VERSION);
        put_u32(buf + 12, LOG_HEADER_SIZE);
        put_u64(buf + 16, generation);
        put_u32(buf + 28, store_crc32c(0, buf, 28));
}

int log_header_decode(const uint8_t *buf, size_t len, uint64_t *ret_generation)
{
        if (len < LOG_HEADER_SIZE || memcmp(buf, LOG_MAGIC, 8) != 0)
                return -EBADMSG;
        if (get_u32(buf + 28) != store_crc32c(0, buf, 28))
                return -EBADMSG;
        if (get_u32(buf + 8) != LOG_VERSION || get_u32(buf + 12) != LOG_HEADER_SIZE)
                return -EPROTONOSUPPORT;
        *ret_generation = get_u64(buf + 16);
        return 0;
}

int fsync_dir(int dir_fd)
{
        return fsync(dir_fd) < 0 ? -errno : 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
        const uint8_t *p = buf;
        while (len) {
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

/* The error a client sees for a failed write: Unavailable (ENOSPC or EIO). */
static int io_error(struct sbx_error *err, int r, const char *what)
{
        int code = r == -ENOSPC || r == -EDQUOT ? -ENOSPC : -EIO;
        return sbx_fail(err, code, "%s the store log: %s", what, strerror(-r));
}

int log_write_new(int dir_fd, uint64_t generation, struct entry *const *entries, size_t n,
                  int *ret_fd, uint64_t *ret_size, struct sbx_error *err)
{
        _cleanup_close_ int fd = openat(dir_fd, LOG_TMP_NAME,
                                        O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return io_error(err, -errno, "creating a new generation of");
        uint8_t hdr[LOG_HEADER_SIZE];
        uint64_t size = LOG_HEADER_SIZE;
        log_header_encode(hdr, generation);
        int r = write_all(fd, hdr, sizeof(hdr));
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = write_all(fd, entries[i]->frame, entries[i]->frame_len);
                size += entries[i]->frame_len;
        }
        if (r >= 0 && fdatasync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, LOG_TMP_NAME, dir_fd, LOG_NAME) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dir_fd, LOG_TMP_NAME, 0);
                return io_error(err, r, "writing a new generation of");
        }
        if ((r = fsync_dir(dir_fd)) < 0)
                return io_error(err, r, "syncing the directory of");
        *ret_fd = TAKE_FD(fd);
        *ret_size = size;
        return 0;
}

/* Appends the frames of a batch at log_end and syncs them.  Called with io_lock held. */
static int write_batch(struct store *s, struct op *batch, struct sbx_error *err)
{
        struct iovec iov[256];
        uint64_t off = s->log_end, total = 0;
        size_t n_ops = 0;
        int r = 0;

        for (struct op *o = batch; o && r >= 0;) {
                int n = 0;
                size_t chunk = 0;
                for (; o && n < (int)ELEMENTSOF(iov); o = o->next, n++) {
                        iov[n] = (struct iovec){o->entry->frame, o->entry->frame_len};
                        chunk += o->entry->frame_len;
                        n_ops++;
                }
                struct iovec *v = iov;
                uint64_t at = off + total;
                while (chunk > 0) {
                        ssize_t w = pwritev(s->log_fd, v, n, (off_t)at);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                r = -errno;
                                break;
                        }
                        if (w == 0) {
                                r = -ENOSPC;
                                break;
                        }
                        at += (uint64_t)w;
                        total += (uint64_t)w;
                        chunk -= (size_t)w;
                        while (n > 0 && (size_t)w >= v->iov_len) {
                                w -= (ssize_t)v->iov_len;
                                v++;
                                n--;
                        }
                        if (n > 0) {
                                v->iov_base = (uint8_t *)v->iov_base + w;
                                v->iov_len -= (size_t)w;
                        }
                }
        }
        if (r >= 0 && fdatasync(s->log_fd) < 0)
                r = -errno;
        if (r < 0) {
                io_error(err, r, "writing");
                /* Cut the failed batch off so none of it can reappear after a crash.
                 * If even that fails, the log's tail is unknown: stop writing. */
                if (ftruncate(s->log_fd, (off_t)off) < 0 || fdatasync(s->log_fd) < 0) {
                        sbx_fail(&s->broken_err, -EIO,
                                 "the store log is in an unknown state after a failed write "
                                 "(%s); reopen the store",
                                 err->message);
                        __atomic_store_n(&s->broken, true, __ATOMIC_RELEASE);
                }
                return err->code;
        }
        __atomic_store_n(&s->log_end, off + total, __ATOMIC_RELEASE);
        __atomic_add_fetch(&s->commits, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&s->writes, n_ops, __ATOMIC_RELAXED);
        return 0;
}

static void fail_list(struct op *list, const struct sbx_error *e)
{
        for (struct op *o = list; o; o = o->next) {
                o->result = e->code;
                o->err = *e;
        }
}

/* Moves list to the done queue (qlock held). */
static void to_done(struct store *s, struct op *list)
{
        if (!list)
                return;
        *s->d_tail = list;
        while (list->next)
                list = list->next;
        s->d_tail = &list->next;
}

/* Group commit under steady concurrency: when fewer writes are queued than
 * the last batch had, the clients of that batch are most likely about to send
 * their next ones (their replies went out a moment ago).  Wait for them a
 * little — at most a quarter of the last sync's duration, and never more than
 * 2 ms — so they share one fdatasync instead of trailing in batches of their
 * own.  A lone writer (last batch of 1) never waits.  Called with qlock held. */
static void linger(struct store *s)
{
        if (s->last_batch <= 1 || s->q_len >= s->last_batch)
                return;
        uint64_t wait = s->last_sync_ns / 4;
        if (wait > 2 * NSEC_PER_MSEC)
                wait = 2 * NSEC_PER_MSEC;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t until = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec + wait;
        ts.tv_sec = (time_t)(until / NSEC_PER_SEC);
        ts.tv_nsec = (long)(until % NSEC_PER_SEC);
        while (!s->stop && s->q_len < s->last_batch)
                if (pthread_cond_timedwait(&s->qcond, &s->qlock, &ts) == ETIMEDOUT)
                        break;
}

void *log_sync_thread(void *arg)
{
        struct store *s = arg;

        pthread_mutex_lock(&s->qlock);
        for (;;) {
                /* Wait for writes, and for the loop to have run the callbacks of
                 * the previous batch: the writes those callbacks submit then
                 * join this batch instead of trailing it in a batch of their
                 * own (with N clients in lock-step this keeps N writes per
                 * fdatasync instead of N/2). */
                while (!s->stop && (!s->q_head || s->d_head || s->dispatching))
                        pthread_cond_wait(&s->qcond, &s->qlock);
                if (!s->q_head)
                        break;
                linger(s);
                struct op *batch = s->q_head;
                size_t n_batch = s->q_len;
                s->q_head = NULL;
                s->q_tail = &s->q_head;
                s->q_len = 0;

                if (__atomic_load_n(&s->broken, __ATOMIC_ACQUIRE) || s->poisoned) {
                        struct sbx_error e = {};
                        if (__atomic_load_n(&s->broken, __ATOMIC_ACQUIRE))
                                e = s->broken_err;
                        else
                                sbx_fail(&e, s->poison_err.code,
                                         "an earlier write queued with this one failed: %s",
                                         s->poison_err.message);
                        fail_list(batch, &e);
                        to_done(s, batch);
                        store_wake(s);
                        continue;
                }
                pthread_mutex_unlock(&s->qlock);

                struct sbx_error e = {};
                uint64_t t0 = sbx_now_monotonic_ns();
                pthread_mutex_lock(&s->io_lock);
                int r = write_batch(s, batch, &e);
                pthread_mutex_unlock(&s->io_lock);
                s->last_sync_ns = sbx_now_monotonic_ns() - t0;
                s->last_batch = n_batch;

                pthread_mutex_lock(&s->qlock);
                if (r < 0) {
                        fail_list(batch, &e);
                        s->poisoned = true;
                        s->poison_err = e;
                }
                to_done(s, batch);
                store_wake(s);
        }
        pthread_mutex_unlock(&s->qlock);
        return NULL;
}
