/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The sandbox metadata store: containerd's sandbox Store (metadata/sandbox.go)
 * made strict, kept in an append-only, CRC-checked log with group commit and
 * online compaction.  The byte layout is in docs/store-format.md and at the
 * top of store/log.c.
 *
 * Threading: every function here is called from ONE thread (the daemon's
 * loop).  The store runs its own sync thread (writes + fdatasync) and, while
 * compacting, a compaction thread; the caller never blocks on the disk except
 * in the *_sync() wrappers and store_open()/store_close().
 *
 * Writes (create/update/delete) validate at once and return a negative errno
 * with a message when the request is wrong; otherwise they return 0 and the
 * callback fires later, from store_dispatch(), once the write is durable
 * (fdatasync done) — or failed.  Writes that arrive together share one
 * fdatasync.  Put store_get_fd() in the loop's epoll (EPOLLIN) and call
 * store_dispatch() when it is readable.
 *
 * Visibility: a write is visible to store_get()/store_list() only once it is
 * durable, i.e. just before its callback runs.  Writes still in flight are
 * seen by later writes' validation: a second create of an id whose create is
 * in flight is AlreadyExists, an update or delete after an in-flight delete is
 * NotFound, and an update applies on top of in-flight updates (they are
 * committed in submission order).  If a batch fails (disk full, I/O error),
 * that batch and every write queued behind it fail with the same error, and
 * the store is usable again for the next write.
 *
 * Errors (negative errno, message in struct sbx_error):
 *   -ENOENT NotFound, -EEXIST AlreadyExists, -EINVAL InvalidArgument,
 *   -EBUSY FailedPrecondition (state directory in use, compaction running),
 *   -ENOSPC / -EIO Unavailable, -EUCLEAN on open: corruption (refused).
 */

#include "common/cleanup.h"
#include "common/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX   76          /* ids and namespace names */
#define STORE_LABEL_MAX  4096        /* a label's key + value, bytes */
#define STORE_RECORD_MAX (16u << 20) /* an encoded record, bytes */

struct store;

/* containerd's Any: a type URL and opaque bytes. */
struct store_any {
        char *type_url; /* NULL or "" = unset */
        uint8_t *value;
        size_t value_len;
};

struct store_label {
        char *key;
        char *value;
};

struct store_extension {
        char *key;
        struct store_any value;
};

/* containerd's Sandbox.  The store keeps labels and extensions sorted by key
 * (records it returns are sorted; records it is given may be in any order,
 * duplicate keys are InvalidArgument). */
struct store_record {
        char *namespace;
        char *id;
        struct store_label *labels;
        size_t n_labels;
        char *runtime_name;
        struct store_any runtime_options;
        struct store_any spec;
        uint64_t created_at; /* ns since the epoch, UTC; set by the store */
        uint64_t updated_at; /* ns since the epoch, UTC; set by the store */
        struct store_extension *extensions;
        size_t n_extensions;
};

/* ---- records ------------------------------------------------------------------------- */

/* Frees a record and everything it points to; accepts NULL and half-built records. */
void store_record_free(struct store_record *rec);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store_record *, store_record_free);
#define _cleanup_store_record_ _cleanup_(store_record_freep)

/* Frees an array returned by store_list(). */
void store_record_array_free(struct store_record **recs, size_t n);

/* Deep copy.  Returns 0 or -ENOMEM. */
int store_record_dup(const struct store_record *rec, struct store_record **ret);

/* Helpers to build a record (they copy their arguments; 0 or -ENOMEM).
 * store_record_set_label() replaces an existing key; a NULL value removes it. */
int store_record_set_label(struct store_record *rec, const char *key, const char *value);
const char *store_record_get_label(const struct store_record *rec, const char *key);
int store_record_set_extension(struct store_record *rec, const char *key, const char *type_url,
                               const void *value, size_t value_len);
const struct store_any *store_record_get_extension(const struct store_record *rec, const char *key);
int store_any_set(struct store_any *any, const char *type_url, const void *value, size_t len);
void store_any_clear(struct store_any *any);

/* Byte-for-byte equality of two records (timestamps included). */
bool store_record_equal(const struct store_record *a, const struct store_record *b);

/* ---- validation and parsers (also used by the API layer, and fuzzed) ------------------ */

/* ids and namespaces: ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$, 1..76 characters. */
int store_validate_id(const char *id, struct sbx_error *err);
int store_validate_namespace(const char *ns, struct sbx_error *err);
/* The whole record as Create would check it (timestamps are ignored). */
int store_validate_record(const struct store_record *rec, struct sbx_error *err);

/* A parsed list of filters: OR across filters, AND inside one.  The syntax is
 * containerd's (filters package): `sel ("," sel)*`, sel = field [op value],
 * op one of == != ~=, field `id`, `runtime.name`, `labels.KEY`,
 * `extensions.KEY` (KEY may be a quoted string: labels."a/b"), values bare or
 * quoted ("..." with Go escapes, or /.../ for regexes).  A malformed filter is
 * -EINVAL with a message naming the filter and the byte position. */
struct store_filter;
int store_filter_parse(const char *const *filters, size_t n_filters, struct store_filter **ret,
                       struct sbx_error *err);
bool store_filter_match(const struct store_filter *f, const struct store_record *rec);
void store_filter_free(struct store_filter *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store_filter *, store_filter_free);

/* Update field paths: `labels`, `labels.KEY`, `extensions`, `extensions.KEY`,
 * `runtime`, `spec`; anything else is -EINVAL.  KEY may be quoted.
 * store_fieldpaths_apply() writes the fields named by paths from `from` into
 * `into` (in place).  With no paths, all four are applied and runtime.name
 * must not change (-EINVAL otherwise).  Timestamps and ids are untouched. */
int store_fieldpath_validate(const char *path, struct sbx_error *err);
int store_fieldpaths_apply(struct store_record *into, const struct store_record *from,
                           const char *const *paths, size_t n_paths, struct sbx_error *err);

/* ---- opening --------------------------------------------------------------------------- */

enum {
        /* Open a corrupt log by keeping every valid record and dropping the
         * rest (store_recovery_report() says what was dropped). */
        STORE_OPEN_REPAIR = 1u << 0,
        /* Never start a compaction by itself (store_compact() still works). */
        STORE_OPEN_NO_AUTO_COMPACT = 1u << 1,
};

/* Opens (creating if needed, mode 0700) the store in directory dir, replaying
 * the log.  A torn tail is truncated.  Corruption before the tail fails with
 * -EUCLEAN naming the offset, unless STORE_OPEN_REPAIR.  A directory held by
 * another opener fails with -EBUSY ("... in use by another process (pid N)"). */
int store_open(const char *dir, unsigned flags, struct store **ret, struct sbx_error *err);

/* Waits for in-flight writes and a running compaction, runs their callbacks,
 * and frees everything.  Accepts NULL. */
void store_close(struct store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store *, store_close);
#define _cleanup_store_ _cleanup_(store_closep)

/* What open did to the log ("truncated a torn tail of 12 bytes at offset
 * 4096", "repair: dropped 1 damaged region (93 bytes at offset 512)").
 * NULL when the log was clean. */
const char *store_recovery_report(const struct store *s);

/* ---- reads (synchronous, see only durable data) -------------------------------------- */

/* -ENOENT when absent.  ret may be NULL (existence check). */
int store_get(struct store *s, const char *ns, const char *id, struct store_record **ret,
              struct sbx_error *err);

/* Records of namespace ns matching any of the filters (all when n_filters is
 * 0), sorted by id.  *ret is a malloc'd array of n records (free with
 * store_record_array_free()); NULL when n is 0. */
int store_list(struct store *s, const char *ns, const char *const *filters, size_t n_filters,
               struct store_record ***ret, size_t *ret_n, struct sbx_error *err);

/* Number of durable records in ns (all namespaces when ns is NULL). */
size_t store_count(struct store *s, const char *ns);

/* ---- writes (asynchronous, group-committed) ------------------------------------------- */

/* Called from store_dispatch() (or store_close()) once the write is durable
 * (result 0; rec is the stored record, valid during the call only; NULL for
 * deletes) or has failed (result < 0, err says why). */
typedef void (*store_done_fn)(void *userdata, int result, const struct store_record *rec,
                              const struct sbx_error *err);

/* Creates rec (namespace rec->namespace, id rec->id); sets both timestamps. */
int store_create(struct store *s, const struct store_record *rec, store_done_fn cb, void *userdata,
                 struct sbx_error *err);

/* Updates record rec->id in ns with the fields named by fieldpaths (see
 * store_fieldpaths_apply()).  rec->namespace may be NULL or must equal ns.
 * Keeps created_at, sets updated_at. */
int store_update(struct store *s, const char *ns, const struct store_record *rec,
                 const char *const *fieldpaths, size_t n_fieldpaths, store_done_fn cb,
                 void *userdata, struct sbx_error *err);

/* Deletes ns/id. */
int store_delete(struct store *s, const char *ns, const char *id, store_done_fn cb, void *userdata,
                 struct sbx_error *err);

/* An eventfd, readable when store_dispatch() has work: completed writes, a
 * finished compaction.  Owned by the store. */
int store_get_fd(struct store *s);

/* Runs the callbacks of completed writes (in submission order) and finishes a
 * compaction.  Never blocks on the disk.  Returns the number of callbacks run. */
int store_dispatch(struct store *s);

/* Synchronous wrappers for tools and tests: submit, then wait (running
 * store_dispatch(), so other callbacks may run too; they may also be called
 * from inside a callback).  ret may be NULL. */
int store_create_sync(struct store *s, const struct store_record *rec, struct store_record **ret,
                      struct sbx_error *err);
int store_update_sync(struct store *s, const char *ns, const struct store_record *rec,
                      const char *const *fieldpaths, size_t n_fieldpaths, struct store_record **ret,
                      struct sbx_error *err);
int store_delete_sync(struct store *s, const char *ns, const char *id, struct sbx_error *err);

/* Waits until every write submitted so far has completed and its callback ran. */
int store_flush(struct store *s);

/* ---- compaction and statistics --------------------------------------------------------- */

/* Starts a compaction now, on the store's compaction thread: live records go
 * to a new generation file, the tail written meanwhile is appended, then it is
 * fsynced and renamed over the log.  cb (may be NULL) fires from
 * store_dispatch() with rec NULL.  -EBUSY when one is already running. */
int store_compact(struct store *s, store_done_fn cb, void *userdata, struct sbx_error *err);
int store_compact_sync(struct store *s, struct sbx_error *err);

/* Automatic compaction starts (after a commit) when dead bytes exceed
 * ratio x live bytes and min_dead_bytes.  Defaults: 1.0 and 4 MiB. */
void store_set_auto_compact(struct store *s, double ratio, uint64_t min_dead_bytes);

struct store_stats {
        uint64_t live_records;
        uint64_t live_bytes;  /* encoded size of the live records on disk */
        uint64_t dead_bytes;  /* superseded records and tombstones on disk */
        uint64_t file_size;   /* end of the log, header included (not the zeros after it) */
        uint64_t generation;  /* bumped by each compaction */
        uint64_t compactions; /* completed since open */
        uint64_t commits;     /* fdatasync batches since open */
        uint64_t writes;      /* records committed since open */
        uint64_t pending;     /* writes submitted, callback not yet run */
        bool compacting;
};
void store_stats(struct store *s, struct store_stats *ret);
