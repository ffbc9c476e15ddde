/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compaction, on its own thread, so neither the loop nor the writers wait:
 *
 *   1. Under io_lock (microseconds): note the committed end E0 of the log and
 *      dup its fd.  The bytes before E0 never change again (append-only).
 *   2. Replay [header, E0) from a read-only mapping into a private table of
 *      frame pointers, and write the live frames, verbatim and in file order,
 *      after a new header (generation + 1) to DIR/store.log.compact, with one
 *      COMMIT after them.  The new file has no preallocated zeros; the sync
 *      thread adds them after the switch.
 *   3. Catch up: copy [E0, E1) — frames committed meanwhile, tombstones
 *      included — and fdatasync, until the remaining tail is small.
 *   4. Under io_lock (the only writer stall): copy the last tail, fdatasync,
 *      rename over store.log, fsync the directory, switch the fd.
 *
 * A crash before the rename leaves the old log whole (the stale .compact
 * file is removed on open); after it, the new file is whole and synced.  No
 * write is acknowledged on the new file before the directory fsync returned.
 */
#include "store/store-internal.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE      (1u << 20)
#define CATCHUP_SMALL (256u << 10)
#define UNMAP_STEP    (16u << 20)

static void frame_key(const void *p, struct record_key *ret)
{
        record_payload_key((const uint8_t *)p + FRAME_HEADER, ret);
}

static int ptr_cmp(const void *a, const void *b)
{
        const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
        return x < y ? -1 : x > y;
}

struct writer {
        struct store *s;
        int fd;
        uint8_t *buf;
        size_t used;
        uint64_t size;
        uint64_t flushed; /* written back up to here */
        bool locked;      /* io_lock held (the switch): the writers wait for us */
};

/* Gives way to the writers: waits (in steps of 50 us, at most PACE_MAX_NS
 * per call, so the compaction always progresses) while the sync thread is
 * writing a batch or writes are queued for the next one.  The compaction's
 * next step of I/O then goes to the disk when no writer's fdatasync is
 * waiting, and a writer that arrives meanwhile finds at most one step's
 * I/O ahead of it in the device queue. */
#define PACE_MAX_NS (20 * NSEC_PER_MSEC)
static void give_way(struct store *s)
{
        uint64_t t0 = 0;
        while (__atomic_load_n(&s->sync_busy, __ATOMIC_ACQUIRE) ||
               __atomic_load_n(&s->q_head, __ATOMIC_ACQUIRE)) {
                uint64_t now = sbx_now_monotonic_ns();
                if (!t0)
                        t0 = now;
                else if (now - t0 > PACE_MAX_NS)
                        break;
                struct timespec ts = {0, 50 * NSEC_PER_USEC};
                nanosleep(&ts, NULL);
        }
        if (t0)
                s->compact_paused_ns += sbx_now_monotonic_ns() - t0;
}

static void pace(struct writer *w)
{
        if (!w->locked)
                give_way(w->s);
}

/* Unmaps the old log's mapping in steps: munmap(2) of hundreds of MB holds
 * the process's mmap lock for tens of ms while it tears the page tables
 * down, and the loop's and the sync thread's page faults (malloc) wait for
 * it. */
static void unmap_paced(struct store *s, uint8_t *m, uint64_t len)
{
        while (len > 0) {
                uint64_t n = len > UNMAP_STEP ? UNMAP_STEP : len;
                give_way(s);
                munmap(m + len - n, n);
                len -= n;
        }
}

/* Writes back what the writer wrote so far, in steps of WRITEBACK_STEP, each
 * after pace() and waited for.  Without this the new generation piles up as
 * dirty pages that the writers' fdatasyncs end up queued behind (with
 * hundreds of MB, a stall of seconds), and even written back in large steps
 * each step is a burst the writers' small writes wait behind in the device
 * queue (8 MiB steps: 100-150 ms).  sync_file_range(2) syncs no metadata;
 * the final fdatasync does. */
#define WRITEBACK_STEP (256u << 10)
static void w_writeback_to(struct writer *w, uint64_t to, bool all)
{
        while (to > w->flushed && to - w->flushed >= (all ? 1 : WRITEBACK_STEP)) {
                uint64_t n = to - w->flushed < WRITEBACK_STEP ? to - w->flushed : WRITEBACK_STEP;
                pace(w);
                (void)sync_file_range(w->fd, (off_t)w->flushed, (off_t)n,
                                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                              SYNC_FILE_RANGE_WAIT_AFTER);
                w->flushed += n;
        }
}

static void w_writeback(struct writer *w, bool all)
{
        w_writeback_to(w, w->size - w->used, all);
}

/* Preallocates the new generation like the sync thread does the log (see
 * log.c): written zeros from the current end to `to`, written back at the
 * writers' pace.  The catch-up and the tail copied at the switch overwrite
 * them, so neither their fdatasyncs nor the writers' first ones after the
 * switch have a size to commit through the journal.  Best effort: on
 * failure (disk full) the zeros are cut off again.  Returns the file size. */
static uint64_t w_preallocate(struct writer *w, uint64_t to)
{
        uint64_t from = w->size - w->used;
        if (w->used || to <= from)
                return from;
        memset(w->buf, 0, BUF_SIZE);
        for (uint64_t at = from; at < to;) {
                size_t n = to - at < BUF_SIZE ? (size_t)(to - at) : BUF_SIZE;
                ssize_t k = pwrite(w->fd, w->buf, n, (off_t)at);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        (void)!ftruncate(w->fd, (off_t)from);
                        return from;
                }
                at += (uint64_t)k;
        }
        w_writeback_to(w, to, true);
        w->flushed = from; /* what is written from here on is new again */
        return to;
}

static int w_flush(struct writer *w)
{
        const uint8_t *p = w->buf;
        size_t len = w->used;
        while (len) {
                ssize_t n = write(w->fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        w->used = 0;
        return 0;
}

static int w_add(struct writer *w, const void *p, size_t len)
{
        while (len) {
                size_t n = BUF_SIZE - w->used < len ? BUF_SIZE - w->used : len;
                memcpy(w->buf + w->used, p, n);
                w->used += n;
                w->size += n;
                p = (const uint8_t *)p + n;
                len -= n;
                if (w->used == BUF_SIZE) {
                        int r = w_flush(w);
                        if (r < 0)
                                return r;
                        w_writeback(w, false);
                }
        }
        return 0;
}

/* Copies [from, to) of the old log to the writer. */
static int copy_range(struct writer *w, int old_fd, uint64_t from, uint64_t to)
{
        int r = w_flush(w);
        if (r < 0)
                return r;
        while (from < to) {
                size_t want = to - from < BUF_SIZE ? (size_t)(to - from) : BUF_SIZE;
                ssize_t n = pread(old_fd, w->buf, want, (off_t)from);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                w->used = (size_t)n;
                w->size += (uint64_t)n;
                from += (uint64_t)n;
                if ((r = w_flush(w)) < 0)
                        return r;
                w_writeback(w, false);
        }
        return 0;
}

static int fail_io(struct sbx_error *err, int r, const char *what)
{
        return sbx_fail(err,
                        r == -ENOSPC || r == -EDQUOT ? -ENOSPC
                        : r == -ENOMEM               ? r
                                                     : -EIO,
                        "compaction: %s: %s", what, strerror(-r));
}

static int compact_run(struct store *s, struct sbx_error *err)
{
        _cleanup_close_ int old_fd = -EBADF, new_fd = -EBADF;
        _cleanup_free_ uint8_t *buf = malloc(BUF_SIZE);
        _cleanup_free_ const uint8_t **live = NULL;
        struct index tab = {};
        uint8_t *m = MAP_FAILED;
        uint64_t start, gen;
        int r;

        if (!buf)
                return sbx_fail(err, -ENOMEM, "compaction: out of memory");
        pthread_mutex_lock(&s->io_lock);
        old_fd = fcntl(s->log_fd, F_DUPFD_CLOEXEC, 3);
        start = s->log_end;
        gen = s->generation;
        pthread_mutex_unlock(&s->io_lock);
        if (old_fd < 0)
                return fail_io(err, -errno, "dup");

        m = mmap(NULL, start, PROT_READ, MAP_SHARED, old_fd, 0);
        if (m == MAP_FAILED)
                return fail_io(err, -errno, "mapping the log");

        /* Replay the frozen prefix into a table of frame pointers. */
        for (uint64_t off = LOG_HEADER_SIZE; off < start;) {
                uint32_t len;
                if (!log_frame_valid(m, start, off, &len)) {
                        r = sbx_fail(err, -EUCLEAN,
                                     "compaction: %s/%s is corrupt at offset %llu; not compacting",
                                     s->dir, LOG_NAME, (unsigned long long)off);
                        goto out;
                }
                const uint8_t *f = m + off;
                struct record_key key;
                void *old;
                off += FRAME_HEADER + len;
                if (f[8] == FRAME_COMMIT)
                        continue; /* the prefix is committed: only records matter */
                record_payload_key(f + FRAME_HEADER, &key);
                uint64_t h = record_key_hash(key.ns, key.ns_len, key.id, key.id_len);
                if (f[8] == REC_DELETE)
                        index_remove(&tab, h, &key, frame_key);
                else if ((r = index_put(&tab, h, (void *)f, &key, frame_key, &old)) < 0) {
                        r = fail_io(err, r, "replaying");
                        goto out;
                }
        }
        live = calloc(tab.n ? tab.n : 1, sizeof(*live));
        if (!live) {
                r = fail_io(err, -ENOMEM, "collecting records");
                goto out;
        }
        size_t n = 0;
        for (size_t i = 0; i < tab.cap; i++)
                if (tab.slots[i].p && tab.slots[i].p != INDEX_TOMB)
                        live[n++] = tab.slots[i].p;
        qsort(live, n, sizeof(*live), ptr_cmp);

        new_fd = openat(s->dir_fd, LOG_TMP_NAME,
                        O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (new_fd < 0) {
                r = fail_io(err, -errno, "creating " LOG_TMP_NAME);
                goto out;
        }
        struct writer w = {.s = s, .fd = new_fd, .buf = buf};
        uint8_t hdr[LOG_HEADER_SIZE];
        log_header_encode(hdr, gen + 1);
        r = w_add(&w, hdr, sizeof(hdr));
        for (size_t i = 0; i < n && r >= 0; i++)
                r = w_add(&w, live[i], FRAME_HEADER + (size_t)get_u32(live[i]));
        if (r >= 0 && n > 0) {
                /* The live records are one batch; the tail copied after it
                 * consists of whole batches of the old log, COMMITs included. */
                uint8_t commit[COMMIT_FRAME_SIZE];
                commit_frame_encode(commit, w.size - LOG_HEADER_SIZE, (uint32_t)n);
                r = w_add(&w, commit, sizeof(commit));
        }
        if (r >= 0)
                r = w_flush(&w);
        uint64_t new_size = w.size;
        if (r >= 0) {
                /* Room for what was committed meanwhile, and a step more. */
                uint64_t behind = __atomic_load_n(&s->log_end, __ATOMIC_ACQUIRE) - start;
                w_writeback(&w, true);
                new_size = w_preallocate(&w, (w.size + behind + PREALLOC_STEP) & ~(uint64_t)4095);
                pace(&w);
        }
        if (r >= 0 && fdatasync(new_fd) < 0)
                r = -errno;
        if (r < 0) {
                r = fail_io(err, r, "writing " LOG_TMP_NAME);
                goto out;
        }

        /* Catch up with what was committed meanwhile, outside the lock. */
        uint64_t pos = start;
        for (int round = 0; round < 8; round++) {
                uint64_t end = __atomic_load_n(&s->log_end, __ATOMIC_ACQUIRE);
                if (end - pos < CATCHUP_SMALL)
                        break;
                if ((r = copy_range(&w, old_fd, pos, end)) >= 0) {
                        w_writeback(&w, true);
                        pace(&w);
                        if (fdatasync(new_fd) < 0)
                                r = -errno;
                }
                if (r < 0) {
                        r = fail_io(err, r, "copying the tail");
                        goto out;
                }
                pos = end;
        }

        /* The switch: writers wait only for this. */
        pthread_mutex_lock(&s->io_lock);
        w.locked = true;
        uint64_t t0 = sbx_now_monotonic_ns();
        r = copy_range(&w, old_fd, pos, s->log_end);
        if (r >= 0 && fdatasync(new_fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(s->dir_fd, LOG_TMP_NAME, s->dir_fd, LOG_NAME) < 0)
                r = -errno;
        if (r < 0) {
                pthread_mutex_unlock(&s->io_lock);
                r = fail_io(err, r, "finishing the new generation");
                goto out;
        }
        /* Renamed: from here the new file is the log.  A failed directory sync
         * leaves the rename's durability unknown, so writers must stop. */
        if ((r = fsync_dir(s->dir_fd)) < 0) {
                sbx_fail(&s->broken_err, -EIO,
                         "compaction: syncing the directory failed (%s); reopen the store",
                         strerror(-r));
                __atomic_store_n(&s->broken, true, __ATOMIC_RELEASE);
        }
        int prev = s->log_fd;
        s->log_fd = TAKE_FD(new_fd);
        __atomic_store_n(&s->log_end, w.size, __ATOMIC_RELEASE);
        __atomic_store_n(&s->generation, gen + 1, __ATOMIC_RELEASE);
        s->file_size = new_size > w.size ? new_size : w.size;
        s->prealloc_retry_at = 0;
        uint64_t held = sbx_now_monotonic_ns() - t0;
        if (held > s->compact_stall_ns)
                s->compact_stall_ns = held;
        pthread_mutex_unlock(&s->io_lock);
        w.locked = false;
        safe_close(prev);
        unmap_paced(s, m, start);
        m = MAP_FAILED;
        r = r < 0 ? sbx_fail(err, -EIO, "compaction: syncing the directory: %s", strerror(-r)) : 0;
out:
        if (r < 0 && new_fd >= 0)
                unlinkat(s->dir_fd, LOG_TMP_NAME, 0);
        if (m != MAP_FAILED)
                munmap(m, start);
        index_free(&tab);
        return r;
}

/* ioprio_set(2) has no glibc wrapper. */
#define IOPRIO_CLASS_IDLE  3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

void *compact_thread(void *arg)
{
        struct store *s = arg;
        struct sbx_error e = {};
        /* The copy is background work: give this thread's I/O the idle class
         * so the writers' fdatasyncs go first (honoured by mq-deadline and
         * bfq; mq-deadline ages starved requests after 10 s, so compaction
         * still finishes).  Best effort: nothing depends on it. */
        (void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)gettid(),
                      IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT);
        /* Its CPU too (replay, CRCs, copies): on a small machine the writers'
         * loop and sync thread go first.  Linux's nice is per thread. */
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
        int r = compact_run(s, &e);
        pthread_mutex_lock(&s->qlock);
        s->compact_finished = true;
        s->compact_result = r;
        s->compact_err = e;
        store_wake(s);
        pthread_mutex_unlock(&s->qlock);
        return NULL;
}

int compact_start(struct store *s, struct sbx_error *err)
{
        if (s->compacting)
                return sbx_fail(err, -EBUSY, "a compaction of %s is already running", s->dir);
        if (__atomic_load_n(&s->broken, __ATOMIC_ACQUIRE))
                return sbx_fail(err, -EIO, "%s", s->broken_err.message);
        s->compact_finished = false;
        int r = pthread_create(&s->compact_thread, NULL, compact_thread, s);
        if (r != 0)
                return sbx_fail(err, -r, "starting the compaction thread: %s", strerror(r));
        s->compacting = true;
        return 0;
}
