/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The store's private state, shared by store.c (API, loop side), log.c (file
 * header, the sync thread), recover.c (replay on open), compact.c (the
 * compaction thread) and index.c (hash tables).
 *
 * Threads and locks:
 *   loop thread  — everything in store.h; owns idx, pend, live_bytes.
 *   sync thread  — takes the whole submitted queue (qlock), writes it with
 *                  one pwritev+fdatasync under io_lock, moves it to done.
 *   compaction   — reads the log, writes the next generation, and swaps it
 *                  in under io_lock.
 *   qlock guards the queues and flags; io_lock guards log_fd, log_end and
 *   generation (the loop reads log_end/generation with atomic loads).
 */

#include "store/record-internal.h"

#include <pthread.h>

#define LOG_NAME        "store.log"
#define LOG_TMP_NAME    "store.log.compact"
#define LOCK_NAME       "LOCK"
#define LOG_HEADER_SIZE 32u
#define LOG_MAGIC       "sbxstore"
#define LOG_VERSION     2u /* 1: no commit frames, the log ends at the end of the file */

/* Version 2: every batch ends with a commit frame (log.c); the log ends at
 * the first invalid frame, and the zeros after it are preallocated space. */
#define FRAME_COMMIT      3u  /* type of a commit frame */
#define COMMIT_PAYLOAD    12u /* u64 bytes of the batch's frames, u32 number of frames */
#define COMMIT_FRAME_SIZE (FRAME_HEADER + COMMIT_PAYLOAD)
#define PREALLOC_STEP     (1u << 20) /* zeros written ahead of the end, per step */

/* A frame held in memory: the index keeps one per live record. */
struct entry {
        uint32_t frame_len;
        uint8_t frame[]; /* FRAME_HEADER + payload, exactly as on disk */
};

static inline const uint8_t *entry_payload(const struct entry *e)
{
        return e->frame + FRAME_HEADER;
}

static inline size_t entry_payload_len(const struct entry *e)
{
        return e->frame_len - FRAME_HEADER;
}

struct entry *entry_new(const uint8_t *frame, size_t frame_len);

/* ---- index.c: open addressing, keyed by (namespace, id) -------------------------------- */

struct index_slot {
        uint64_t hash;
        void *p; /* NULL: empty; INDEX_TOMB: deleted */
};
#define INDEX_TOMB ((void *)1)

struct index {
        struct index_slot *slots;
        size_t cap;  /* power of two, or 0 */
        size_t n;    /* live */
        size_t used; /* live + tombstones */
};

/* Returns the key of a stored pointer. */
typedef void (*index_key_fn)(const void *p, struct record_key *ret);

void *index_get(const struct index *ix, uint64_t hash, const struct record_key *key,
                index_key_fn kf);
/* Inserts or replaces; *ret_old gets the replaced pointer (or NULL).  -ENOMEM. */
int index_put(struct index *ix, uint64_t hash, void *p, const struct record_key *key,
              index_key_fn kf, void **ret_old);
void *index_remove(struct index *ix, uint64_t hash, const struct record_key *key, index_key_fn kf);
void index_free(struct index *ix);
void entry_key(const void *p, struct record_key *ret); /* for struct entry */

/* ---- write queue ------------------------------------------------------------------------ */

struct op {
        struct op *next;
        uint8_t type; /* REC_PUT, REC_DELETE */
        struct entry *entry;
        struct store_record *rec; /* PUT: the record as stored */
        uint64_t hash;
        store_done_fn cb;
        void *userdata;
        int result;
        struct sbx_error err;
};

/* In-flight writes of one key (loop thread only). */
struct pend {
        struct op *latest;
        unsigned count;
};

struct store {
        int dir_fd, lock_fd, log_fd, event_fd;
        char *dir;
        unsigned flags;
        char *report;

        struct index idx;  /* durable records: struct entry */
        struct index pend; /* in-flight writes: struct pend */
        uint64_t live_bytes;
        uint64_t pending;

        pthread_mutex_t qlock;
        pthread_cond_t qcond;
        struct op *q_head, **q_tail; /* submitted, not yet taken */
        size_t q_len;
        size_t last_batch;           /* sync thread */
        uint64_t last_sync_ns;       /* sync thread */
        struct op *d_head, **d_tail; /* completed, callbacks not yet run */
        bool stop;
        bool dispatching; /* the loop is running callbacks */
        bool poisoned;    /* a batch failed; fail everything until dispatch */
        struct sbx_error poison_err;
        bool broken; /* the log's state is unknown after an I/O error */
        struct sbx_error broken_err;
        pthread_t sync_thread;
        bool sync_started;

        pthread_mutex_t io_lock;
        uint64_t log_end;
        uint64_t generation;
        uint64_t file_size;         /* io_lock: log_end plus the preallocated zeros */
        uint64_t prealloc_retry_at; /* io_lock: after a failed extension, retry past this end */
        uint64_t preallocs;         /* atomic: extensions done (for the bench) */
        bool sync_busy;             /* atomic: the sync thread is writing a batch */
        uint64_t compact_paused_ns; /* compaction thread: time it gave way to writers */

        uint64_t commits, writes, compactions; /* atomics */

        /* compaction */
        bool compacting;       /* loop */
        bool compact_finished; /* qlock */
        int compact_result;    /* qlock */
        struct sbx_error compact_err;
        pthread_t compact_thread;
        store_done_fn compact_cb;
        void *compact_userdata;
        double auto_ratio;
        uint64_t auto_min;
        uint64_t compact_stall_ns; /* longest io_lock hold by the switch (for the bench) */
};

/* ---- log.c ------------------------------------------------------------------------------ */

void log_header_encode(uint8_t buf[LOG_HEADER_SIZE], uint64_t generation);
/* -EBADMSG (damaged), -EPROTONOSUPPORT (unknown version; *ret_version says which). */
int log_header_decode(const uint8_t *buf, size_t len, uint64_t *ret_generation,
                      uint32_t *ret_version);
/* The commit frame that ends a batch of n frames of bytes bytes. */
void commit_frame_encode(uint8_t buf[COMMIT_FRAME_SIZE], uint64_t bytes, uint32_t n);
/* Writes zeros ahead of the log's end, up to PREALLOC_STEP past it, when less
 * than half a step (idle) or an eighth (not idle) is left.  Sync thread;
 * takes io_lock. */
void log_preallocate(struct store *s, bool idle);
/* Writes a new log file (header + the given frames) under tmp_name, fsyncs it,
 * renames it to LOG_NAME and fsyncs the directory.  Returns the new fd. */
int log_write_new(int dir_fd, uint64_t generation, struct entry *const *entries, size_t n,
                  int *ret_fd, uint64_t *ret_size, struct sbx_error *err);
void *log_sync_thread(void *arg);
int fsync_dir(int dir_fd);

/* ---- recover.c -------------------------------------------------------------------------- */

/* Replays s->log_fd into s->idx; truncates a torn tail; refuses or repairs corruption. */
int log_recover(struct store *s, struct sbx_error *err);
/* Whether a valid frame (of any type: PUT, DELETE, COMMIT) starts at off,
 * judged on its own; *ret_len is its payload length. */
bool log_frame_valid(const uint8_t *m, uint64_t size, uint64_t off, uint32_t *ret_len);

/* ---- compact.c -------------------------------------------------------------------------- */

int compact_start(struct store *s, struct sbx_error *err);
void *compact_thread(void *arg);

/* ---- store.c ---------------------------------------------------------------------------- */

void store_wake(struct store *s); /* eventfd write */
