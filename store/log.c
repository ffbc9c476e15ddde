/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The append-only log: its file header and the sync thread that appends
 * batches of records with one fdatasync each (group commit), in space
 * preallocated with written zeros.
 *
 * File DIR/store.log — all integers little-endian, fixed width, no padding.
 *
 *   File header (32 bytes, at offset 0):
 *     offset  size  field
 *          0     8  magic "sbxstore" (ASCII, no NUL)
 *          8     4  format version, 2 (1 is read and converted, see recover.c)
 *         12     4  header size, 32
 *         16     8  generation: 1 for a new store, +1 per compaction
 *         24     4  reserved, 0
 *         28     4  CRC-32C of bytes 0..27
 *
 *   Frames, one after another from offset 32:
 *     offset  size  field
 *          0     4  L, payload length in bytes (at most 16 MiB)
 *          4     4  CRC-32C over bytes 0..3 (L), byte 8 (type) and the payload
 *          8     1  type: 1 = PUT (a whole sandbox record), 2 = DELETE (tombstone),
 *                   3 = COMMIT (ends a batch)
 *          9     L  payload (PUT/DELETE: codec.c / docs/store-format.md;
 *                   COMMIT: L = 12, u64 bytes of the batch's frames before it,
 *                   u32 number of those frames)
 *
 *   Then zeros to the end of the file (preallocated space), or nothing.
 *
 * A frame is valid when its type is 1, 2 or 3, it lies wholly inside the
 * file, its CRC matches and its payload parses completely (names valid, keys
 * ascending, no trailing bytes; a COMMIT is 12 bytes).  A batch is the frames
 * since the previous COMMIT (or the header) and the COMMIT that ends it, whose
 * byte count must match.  Replaying the frames of the committed batches in
 * order — PUT replaces the record of its (namespace, id), DELETE removes it —
 * gives the store.  The log ends at the first frame that is not valid: with
 * only zeros from there on, that is the clean end.  Recovery (recover.c)
 * otherwise decides between a torn last batch (truncated) and corruption
 * (refused with the offset, or skipped in repair mode).
 *
 * Nothing is acknowledged before the fdatasync that covers its batch and
 * COMMIT returns.  A batch that fails to write or sync is cut off again with
 * ftruncate+fdatasync so no failed record can reappear after a crash.
 *
 * Preallocation: the sync thread keeps up to PREALLOC_STEP of written zeros
 * (not fallocate's unwritten extents) after the end, extending by a step with
 * one fdatasync when less than half a step is left and no batch is waiting,
 * or less than an eighth in any case.  A batch then overwrites
 * blocks that are already allocated and within the file size, so its
 * fdatasync has no size or extent change to commit through the journal.
 * When an extension fails (disk full), batches append past the end as
 * before, and the extension is retried a step later.
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

int log_header_decode(const uint8_t *buf, size_t len, uint64_t *ret_generation,
                      uint32_t *ret_version)
{
        if (len < LOG_HEADER_SIZE || memcmp(buf, LOG_MAGIC, 8) != 0)
                return -EBADMSG;
        if (get_u32(buf + 28) != store_crc32c(0, buf, 28))
                return -EBADMSG;
        *ret_version = get_u32(buf + 8);
        if ((*ret_version != 1 && *ret_version != LOG_VERSION) ||
            get_u32(buf + 12) != LOG_HEADER_SIZE)
                return -EPROTONOSUPPORT;
        *ret_generation = get_u64(buf + 16);
        return 0;
}

void commit_frame_encode(uint8_t buf[COMMIT_FRAME_SIZE], uint64_t bytes, uint32_t n)
{
        put_u32(buf, COMMIT_PAYLOAD);
        buf[8] = FRAME_COMMIT;
        put_u64(buf + FRAME_HEADER, bytes);
        put_u32(buf + FRAME_HEADER + 8, n);
        put_u32(buf + 4, frame_crc(buf, COMMIT_PAYLOAD));
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
        if (n > 0 && r >= 0) {
                /* One batch: everything since the header. */
                uint8_t commit[COMMIT_FRAME_SIZE];
                commit_frame_encode(commit, size - LOG_HEADER_SIZE, (uint32_t)n);
                r = write_all(fd, commit, sizeof(commit));
                size += sizeof(commit);
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

static int pwritev_all(int fd, struct iovec *v, int n, uint64_t at)
{
        while (n > 0) {
                ssize_t w = pwritev(fd, v, n, (off_t)at);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (w == 0)
                        return -ENOSPC;
                at += (uint64_t)w;
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
        return 0;
}

/* Writes the frames of a batch and its COMMIT at log_end and syncs them.
 * Called with io_lock held. */
static int write_batch(struct store *s, struct op *batch, struct sbx_error *err)
{
        struct iovec iov[256];
        uint8_t commit[COMMIT_FRAME_SIZE];
        uint64_t off = s->log_end, total = 0, bytes = 0;
        size_t n_ops = 0;
        int r = 0;

        for (struct op *o = batch; o; o = o->next) {
                bytes += o->entry->frame_len;
                n_ops++;
        }
        commit_frame_encode(commit, bytes, (uint32_t)n_ops);
        for (struct op *o = batch;;) {
                int n = 0;
                size_t chunk = 0;
                for (; o && n < (int)ELEMENTSOF(iov) - 1; o = o->next, n++) {
                        iov[n] = (struct iovec){o->entry->frame, o->entry->frame_len};
                        chunk += o->entry->frame_len;
                }
                bool last = !o;
                if (last) {
                        iov[n++] = (struct iovec){commit, sizeof(commit)};
                        chunk += sizeof(commit);
                }
                if ((r = pwritev_all(s->log_fd, iov, n, off + total)) < 0)
                        break;
                total += chunk;
                if (last)
                        break;
        }
        if (r >= 0 && fdatasync(s->log_fd) < 0)
                r = -errno;
        if (r < 0) {
                io_error(err, r, "writing");
                /* Cut the failed batch off so none of it can reappear after a crash
                 * (and the preallocated zeros with it: the next extension writes
                 * them again).  If even that fails, the log's tail is unknown:
                 * stop writing. */
                if (ftruncate(s->log_fd, (off_t)off) < 0 || fdatasync(s->log_fd) < 0) {
                        sbx_fail(&s->broken_err, -EIO,
                                 "the store log is in an unknown state after a failed write "
                                 "(%s); reopen the store",
                                 err->message);
                        __atomic_store_n(&s->broken, true, __ATOMIC_RELEASE);
                }
                s->file_size = off;
                s->prealloc_retry_at = off + PREALLOC_STEP;
                return err->code;
        }
        __atomic_store_n(&s->log_end, off + total, __ATOMIC_RELEASE);
        if (s->file_size < off + total)
                s->file_size = off + total;
        __atomic_add_fetch(&s->commits, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&s->writes, n_ops, __ATOMIC_RELAXED);
        return 0;
}

void log_preallocate(struct store *s, bool idle)
{
        static const uint8_t zeros[64 << 10];

        pthread_mutex_lock(&s->io_lock);
        uint64_t end = s->log_end, from = s->file_size;
        uint64_t low = idle ? PREALLOC_STEP / 2 : PREALLOC_STEP / 8;
        if (__atomic_load_n(&s->broken, __ATOMIC_ACQUIRE) || from - end >= low ||
            end < s->prealloc_retry_at) {
                pthread_mutex_unlock(&s->io_lock);
                return;
        }
        /* Up to a step past the end, ending on a 4 KiB boundary. */
        uint64_t to = (end + PREALLOC_STEP) & ~(uint64_t)4095;
        int r = 0;
        for (uint64_t at = from; at < to && r >= 0;) {
                size_t n = to - at < sizeof(zeros) ? (size_t)(to - at) : sizeof(zeros);
                ssize_t w = pwrite(s->log_fd, zeros, n, (off_t)at);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        r = w < 0 ? -errno : -ENOSPC;
                else
                        at += (uint64_t)w;
        }
        if (r >= 0 && fdatasync(s->log_fd) < 0)
                r = -errno;
        if (r < 0) {
                /* Disk full (or an I/O error): give the space back and append past
                 * the end meanwhile.  Zeros that stay behind are harmless. */
                (void)!ftruncate(s->log_fd, (off_t)from);
                s->prealloc_retry_at = end + PREALLOC_STEP;
        } else {
                s->file_size = to;
                __atomic_add_fetch(&s->preallocs, 1, __ATOMIC_RELAXED);
        }
        pthread_mutex_unlock(&s->io_lock);
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

/* The next batch is ready: writes queued, and the callbacks of the previous
 * batch have run (qlock held; without it, only a hint). */
static bool batch_ready(struct store *s)
{
        return __atomic_load_n(&s->q_head, __ATOMIC_ACQUIRE) &&
               !__atomic_load_n(&s->d_head, __ATOMIC_ACQUIRE) &&
               !__atomic_load_n(&s->dispatching, __ATOMIC_ACQUIRE);
}

void *log_sync_thread(void *arg)
{
        struct store *s = arg;
        bool delivered = false;

        log_preallocate(s, true);
        pthread_mutex_lock(&s->qlock);
        for (;;) {
                /* Wait for writes, and for the loop to have run the callbacks of
                 * the previous batch: the writes those callbacks submit then
                 * join this batch instead of trailing it in a batch of their
                 * own (with N clients in lock-step this keeps N writes per
                 * fdatasync instead of N/2). */
                if (delivered) {
                        bool stopping = s->stop;

                        pthread_mutex_unlock(&s->qlock);
                        /* The loop, woken, takes qlock at once to run the
                         * callbacks: ring after the unlock, or it sleeps on the
                         * lock (one more wake-up on every durable request). */
                        store_wake(s);
                        /* Keep zeros ahead: in idle time from half a step left,
                         * before the next batch from an eighth. */
                        if (!stopping)
                                log_preallocate(s, !batch_ready(s));
                        pthread_mutex_lock(&s->qlock);
                }
                delivered = false;
                while (!s->stop && !batch_ready(s))
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
                __atomic_store_n(&s->sync_busy, true, __ATOMIC_RELEASE);
                pthread_mutex_lock(&s->io_lock);
                int r = write_batch(s, batch, &e);
                pthread_mutex_unlock(&s->io_lock);
                __atomic_store_n(&s->sync_busy, false, __ATOMIC_RELEASE);
                s->last_sync_ns = sbx_now_monotonic_ns() - t0;
                s->last_batch = n_batch;

                pthread_mutex_lock(&s->qlock);
                if (r < 0) {
                        fail_list(batch, &e);
                        s->poisoned = true;
                        s->poison_err = e;
                }
                to_done(s, batch);
                delivered = true; /* the loop is woken at the top */
        }
        pthread_mutex_unlock(&s->qlock);
        return NULL;
}
