/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store's API (store.h), loop side: open/close, reads from the index,
 * validation and queueing of writes, and store_dispatch(), which applies
 * durable writes to the index and runs their callbacks.
 */
#include "store/filter-internal.h"
#include "store/store-internal.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void store_wake(struct store *s)
{
        uint64_t one = 1;
        /* Cannot block (EFD_NONBLOCK) and cannot overflow in practice. */
        (void)!write(s->event_fd, &one, sizeof(one));
}

static void pend_key(const void *p, struct record_key *ret)
{
        const struct pend *pd = p;
        record_payload_key(entry_payload(pd->latest->entry), ret);
}

static void op_free(struct op *o)
{
        if (!o)
                return;
        free(o->entry);
        store_record_free(o->rec);
        free(o);
}

/* ---- open / close ----------------------------------------------------------------------- */

static int take_lock(struct store *s, struct sbx_error *err)
{
        s->lock_fd = openat(s->dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->lock_fd < 0)
                return sbx_fail_errno(err, -errno, "opening %s/%s", s->dir, LOCK_NAME);
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return sbx_fail_errno(err, -errno, "locking %s/%s", s->dir, LOCK_NAME);
                char pid[32] = "";
                ssize_t n = pread(s->lock_fd, pid, sizeof(pid) - 1, 0);
                pid[n > 0 ? n : 0] = '\0';
                pid[strcspn(pid, "\n")] = '\0';
                return sbx_fail(err, -EBUSY,
                                "state directory %s is in use by another sandboxd (pid %s); stop "
                                "it or use another --state-dir",
                                s->dir, *pid ? pid : "unknown");
        }
        char pid[32];
        int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(s->lock_fd, 0) < 0 || pwrite(s->lock_fd, pid, (size_t)len, 0) != len)
                return sbx_fail_errno(err, -errno, "writing %s/%s", s->dir, LOCK_NAME);
        return 0;
}

int store_open(const char *dir, unsigned flags, struct store **ret, struct sbx_error *err)
{
        _cleanup_(store_closep) struct store *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return sbx_fail(err, -ENOMEM, "out of memory");
        s->dir_fd = s->lock_fd = s->log_fd = s->event_fd = -EBADF;
        s->q_tail = &s->q_head;
        s->d_tail = &s->d_head;
        s->flags = flags;
        s->auto_ratio = 1.0;
        s->auto_min = 4u << 20;
        pthread_mutex_init(&s->qlock, NULL);
        pthread_mutex_init(&s->io_lock, NULL);
        pthread_cond_init(&s->qcond, NULL);
        if (!(s->dir = strdup(dir)))
                return sbx_fail(err, -ENOMEM, "out of memory");

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return sbx_fail_errno(err, -errno, "creating state directory %s", dir);
        s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0)
                return sbx_fail_errno(err, -errno, "opening state directory %s", dir);
        if ((r = take_lock(s, err)) < 0)
                return r;
        /* A leftover of a compaction (or repair) that died before its rename. */
        if (unlinkat(s->dir_fd, LOG_TMP_NAME, 0) < 0 && errno != ENOENT)
                return sbx_fail_errno(err, -errno, "removing %s/%s", dir, LOG_TMP_NAME);

        s->log_fd = openat(s->dir_fd, LOG_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (s->log_fd < 0 && errno == ENOENT) {
                uint64_t size;
                if ((r = log_write_new(s->dir_fd, 1, NULL, 0, &s->log_fd, &size, err)) < 0)
                        return r;
        } else if (s->log_fd < 0)
                return sbx_fail_errno(err, -errno, "opening %s/%s", dir, LOG_NAME);
        if ((r = log_recover(s, err)) < 0)
                return r;

        s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->event_fd < 0)
                return sbx_fail_errno(err, -errno, "eventfd");
        if ((r = pthread_create(&s->sync_thread, NULL, log_sync_thread, s)) != 0)
                return sbx_fail(err, -r, "starting the store's sync thread: %s", strerror(r));
        s->sync_started = true;
        *ret = TAKE_PTR(s);
        return 0;
}

static void wait_event(struct store *s)
{
        struct pollfd p = {.fd = s->event_fd, .events = POLLIN};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
}

void store_close(struct store *s)
{
        if (!s)
                return;
        if (s->sync_started) {
                while (s->pending > 0 || s->compacting) {
                        wait_event(s);
                        store_dispatch(s);
                }
                pthread_mutex_lock(&s->qlock);
                s->stop = true;
                pthread_cond_signal(&s->qcond);
                pthread_mutex_unlock(&s->qlock);
                pthread_join(s->sync_thread, NULL);
        }
        for (size_t i = 0; i < s->idx.cap; i++)
                if (s->idx.slots[i].p != INDEX_TOMB)
                        free(s->idx.slots[i].p);
        index_free(&s->idx);
        index_free(&s->pend);
        pthread_mutex_destroy(&s->qlock);
        pthread_mutex_destroy(&s->io_lock);
        pthread_cond_destroy(&s->qcond);
        safe_close(s->event_fd);
        safe_close(s->log_fd);
        safe_close(s->lock_fd); /* releases the flock */
        safe_close(s->dir_fd);
        free(s->report);
        free(s->dir);
        free(s);
}

const char *store_recovery_report(const struct store *s)
{
        return s->report;
}

int store_get_fd(struct store *s)
{
        return s->event_fd;
}

/* ---- reads ------------------------------------------------------------------------------ */

static struct entry *lookup(struct store *s, const char *ns, const char *id, uint64_t *ret_hash)
{
        struct record_key key = {ns, strlen(ns), id, strlen(id)};
        uint64_t h = record_key_hash(key.ns, key.ns_len, key.id, key.id_len);
        if (ret_hash)
                *ret_hash = h;
        return index_get(&s->idx, h, &key, entry_key);
}

static int decode_entry(const struct entry *e, struct store_record **ret, struct sbx_error *err)
{
        int r = store_record_decode(entry_payload(e), entry_payload_len(e), ret, err);
        if (r == -ENOMEM)
                return sbx_fail(err, r, "out of memory");
        return r;
}

int store_get(struct store *s, const char *ns, const char *id, struct store_record **ret,
              struct sbx_error *err)
{
        int r;
        if ((r = store_validate_namespace(ns, err)) < 0 || (r = store_validate_id(id, err)) < 0)
                return r;
        struct entry *e = lookup(s, ns, id, NULL);
        if (!e)
                return sbx_fail(err, -ENOENT, "sandbox %s not found in namespace %s", id, ns);
        return ret ? decode_entry(e, ret, err) : 0;
}

struct hit {
        const struct entry *e;
        const char *id;
        size_t id_len;
};

static int hit_cmp(const void *a, const void *b)
{
        const struct hit *x = a, *y = b;
        int r = memcmp(x->id, y->id, x->id_len < y->id_len ? x->id_len : y->id_len);
        return r ? r : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

int store_list(struct store *s, const char *ns, const char *const *filters, size_t n_filters,
               struct store_record ***ret, size_t *ret_n, struct sbx_error *err)
{
        _cleanup_(store_filter_freep) struct store_filter *f = NULL;
        _cleanup_free_ struct hit *hits = NULL;
        size_t n = 0, ns_len;
        int r;

        if ((r = store_validate_namespace(ns, err)) < 0)
                return r;
        if ((r = store_filter_parse(filters, n_filters, &f, err)) < 0)
                return r;
        ns_len = strlen(ns);
        if (s->idx.n && !(hits = malloc(s->idx.n * sizeof(*hits))))
                return sbx_fail(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < s->idx.cap; i++) {
                const struct entry *e = s->idx.slots[i].p;
                if (!e || e == INDEX_TOMB)
                        continue;
                struct record_view v;
                record_payload_key(entry_payload(e), &v.key);
                if (v.key.ns_len != ns_len || memcmp(v.key.ns, ns, ns_len) != 0)
                        continue;
                if (!f->match_all) {
                        record_payload_view(entry_payload(e), entry_payload_len(e), &v);
                        if (!filter_match_view(f, &v))
                                continue;
                }
                hits[n++] = (struct hit){e, v.key.id, v.key.id_len};
        }
        if (n > 1)
                qsort(hits, n, sizeof(*hits), hit_cmp);
        struct store_record **out = NULL;
        if (n && !(out = calloc(n, sizeof(*out))))
                return sbx_fail(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                if ((r = decode_entry(hits[i].e, &out[i], err)) < 0) {
                        store_record_array_free(out, i);
                        return r;
                }
        *ret = out;
        *ret_n = n;
        return 0;
}

size_t store_count(struct store *s, const char *ns)
{
        if (!ns)
                return s->idx.n;
        size_t n = 0, ns_len = strlen(ns);
        for (size_t i = 0; i < s->idx.cap; i++) {
                const struct entry *e = s->idx.slots[i].p;
                if (!e || e == INDEX_TOMB)
                        continue;
                struct record_key k;
                record_payload_key(entry_payload(e), &k);
                n += k.ns_len == ns_len && memcmp(k.ns, ns, ns_len) == 0;
        }
        return n;
}

/* ---- writes ----------------------------------------------------------------------------- */

/* The newest version of ns/id counting in-flight writes: *ret_pending is the
 * in-flight state (its rec is NULL for a pending delete), or NULL when the
 * durable index decides. */
static struct pend *pending_of(struct store *s, const char *ns, const char *id, uint64_t h)
{
        struct record_key key = {ns, strlen(ns), id, strlen(id)};
        return index_get(&s->pend, h, &key, pend_key);
}

static int current(struct store *s, const char *ns, const char *id, uint64_t h,
                   struct store_record **ret, struct sbx_error *err)
{
        struct pend *p = pending_of(s, ns, id, h);
        if (p) {
                if (!p->latest->rec)
                        return sbx_fail(err, -ENOENT, "sandbox %s not found in namespace %s", id,
                                        ns);
                if (!ret)
                        return 0;
                return store_record_dup(p->latest->rec, ret) < 0
                               ? sbx_fail(err, -ENOMEM, "out of memory")
                               : 0;
        }
        struct entry *e = lookup(s, ns, id, NULL);
        if (!e)
                return sbx_fail(err, -ENOENT, "sandbox %s not found in namespace %s", id, ns);
        return ret ? decode_entry(e, ret, err) : 0;
}

static int check_writable(struct store *s, struct sbx_error *err)
{
        if (__atomic_load_n(&s->broken, __ATOMIC_ACQUIRE))
                return sbx_fail(err, -EIO, "%s", s->broken_err.message);
        return 0;
}

static int submit(struct store *s, struct op *o, struct sbx_error *err)
{
        struct record_key key;
        record_payload_key(entry_payload(o->entry), &key);
        struct pend *p = index_get(&s->pend, o->hash, &key, pend_key);
        if (!p) {
                void *old;
                if (!(p = calloc(1, sizeof(*p))))
                        return sbx_fail(err, -ENOMEM, "out of memory");
                p->latest = o;
                if (index_put(&s->pend, o->hash, p, &key, pend_key, &old) < 0) {
                        free(p);
                        return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }
        p->latest = o;
        p->count++;
        s->pending++;
        pthread_mutex_lock(&s->qlock);
        *s->q_tail = o;
        s->q_tail = &o->next;
        s->q_len++;
        pthread_mutex_unlock(&s->qlock);
        /* After the unlock: the woken thread does not find the lock still held. */
        pthread_cond_signal(&s->qcond);
        return 0;
}

/* Encodes rec into a new PUT op that owns rec. */
static int make_put(struct store_record *rec, store_done_fn cb, void *userdata, struct op **ret,
                    struct sbx_error *err)
{
        size_t len;
        int r = record_frame_size(rec, &len, err);
        if (r < 0)
                return r;
        struct op *o = calloc(1, sizeof(*o));
        if (!o || !(o->entry = malloc(sizeof(struct entry) + len))) {
                free(o);
                return sbx_fail(err, -ENOMEM, "out of memory");
        }
        o->entry->frame_len = (uint32_t)len;
        record_frame_encode(rec, o->entry->frame, len);
        o->type = REC_PUT;
        o->rec = rec;
        o->hash = record_key_hash(rec->namespace, strlen(rec->namespace), rec->id, strlen(rec->id));
        o->cb = cb;
        o->userdata = userdata;
        *ret = o;
        return 0;
}

int store_create(struct store *s, const struct store_record *rec, store_done_fn cb, void *userdata,
                 struct sbx_error *err)
{
        _cleanup_store_record_ struct store_record *n = NULL;
        struct op *o;
        uint64_t h;
        int r;

        if ((r = store_validate_record(rec, err)) < 0 || (r = check_writable(s, err)) < 0)
                return r;
        if (store_record_dup(rec, &n) < 0)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if ((r = record_normalize(n, err)) < 0)
                return r;
        h = record_key_hash(n->namespace, strlen(n->namespace), n->id, strlen(n->id));
        struct sbx_error ignored = {};
        if (current(s, n->namespace, n->id, h, NULL, &ignored) != -ENOENT)
                return sbx_fail(err, -EEXIST, "sandbox %s already exists in namespace %s", n->id,
                                n->namespace);
        n->created_at = n->updated_at = sbx_now_realtime_ns();
        if ((r = make_put(n, cb, userdata, &o, err)) < 0)
                return r;
        TAKE_PTR(n);
        if ((r = submit(s, o, err)) < 0)
                op_free(o);
        return r;
}

int store_update(struct store *s, const char *ns, const struct store_record *rec,
                 const char *const *fieldpaths, size_t n_fieldpaths, store_done_fn cb,
                 void *userdata, struct sbx_error *err)
{
        _cleanup_store_record_ struct store_record *from = NULL, *n = NULL;
        struct op *o;
        uint64_t h;
        int r;

        if ((r = store_validate_namespace(ns, err)) < 0)
                return r;
        if (!rec)
                return sbx_fail(err, -EINVAL, "no sandbox given");
        if ((r = store_validate_id(rec->id, err)) < 0 || (r = check_writable(s, err)) < 0)
                return r;
        if (rec->namespace && strcmp(rec->namespace, ns) != 0)
                return sbx_fail(err, -EINVAL, "sandbox %s: namespace \"%s\" does not match \"%s\"",
                                rec->id, rec->namespace, ns);
        for (size_t i = 0; i < n_fieldpaths; i++)
                if ((r = store_fieldpath_validate(fieldpaths[i], err)) < 0)
                        return r;
        if (store_record_dup(rec, &from) < 0)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if ((r = record_normalize(from, err)) < 0)
                return r;
        h = record_key_hash(ns, strlen(ns), rec->id, strlen(rec->id));
        if ((r = current(s, ns, rec->id, h, &n, err)) < 0)
                return r;
        if ((r = store_fieldpaths_apply(n, from, fieldpaths, n_fieldpaths, err)) < 0)
                return r;
        if ((r = record_normalize(n, err)) < 0 || (r = store_validate_record(n, err)) < 0)
                return r;
        uint64_t now = sbx_now_realtime_ns();
        n->updated_at = now > n->created_at ? now : n->created_at;
        if ((r = make_put(n, cb, userdata, &o, err)) < 0)
                return r;
        TAKE_PTR(n);
        if ((r = submit(s, o, err)) < 0)
                op_free(o);
        return r;
}

int store_delete(struct store *s, const char *ns, const char *id, store_done_fn cb, void *userdata,
                 struct sbx_error *err)
{
        uint64_t h;
        int r;
        if ((r = store_validate_namespace(ns, err)) < 0 || (r = store_validate_id(id, err)) < 0 ||
            (r = check_writable(s, err)) < 0)
                return r;
        h = record_key_hash(ns, strlen(ns), id, strlen(id));
        if ((r = current(s, ns, id, h, NULL, err)) < 0)
                return r;
        size_t len = tombstone_frame_size(ns, id);
        struct op *o = calloc(1, sizeof(*o));
        if (!o || !(o->entry = malloc(sizeof(struct entry) + len))) {
                free(o);
                return sbx_fail(err, -ENOMEM, "out of memory");
        }
        o->entry->frame_len = (uint32_t)len;
        tombstone_frame_encode(ns, id, sbx_now_realtime_ns(), o->entry->frame, len);
        o->type = REC_DELETE;
        o->hash = h;
        o->cb = cb;
        o->userdata = userdata;
        if ((r = submit(s, o, err)) < 0)
                op_free(o);
        return r;
}

/* ---- dispatch --------------------------------------------------------------------------- */

static void apply(struct store *s, struct op *o)
{
        struct record_key key;
        record_payload_key(entry_payload(o->entry), &key);
        /* First the in-flight table, whose key lives in the newest op's entry. */
        struct pend *p = index_get(&s->pend, o->hash, &key, pend_key);
        if (p && --p->count == 0) {
                index_remove(&s->pend, o->hash, &key, pend_key);
                free(p);
        }
        if (o->result == 0) {
                struct entry *old = NULL;
                if (o->type == REC_DELETE)
                        old = index_remove(&s->idx, o->hash, &key, entry_key);
                else if (index_put(&s->idx, o->hash, o->entry, &key, entry_key, (void **)&old) <
                         0) {
                        /* Durable but not indexed: the next open will see it. */
                        o->result = sbx_fail(&o->err, -ENOMEM,
                                             "out of memory indexing a committed record");
                } else {
                        s->live_bytes += o->entry->frame_len;
                        o->entry = NULL;
                }
                if (old) {
                        s->live_bytes -= old->frame_len;
                        free(old);
                }
        }
}

static void maybe_auto_compact(struct store *s)
{
        if ((s->flags & STORE_OPEN_NO_AUTO_COMPACT) || s->compacting)
                return;
        uint64_t end = __atomic_load_n(&s->log_end, __ATOMIC_ACQUIRE);
        uint64_t used = LOG_HEADER_SIZE + s->live_bytes;
        uint64_t dead = end > used ? end - used : 0;
        if (dead >= s->auto_min && (double)dead > s->auto_ratio * (double)s->live_bytes) {
                struct sbx_error e = {};
                s->compact_cb = NULL;
                (void)compact_start(s, &e);
        }
}

int store_dispatch(struct store *s)
{
        uint64_t v;
        int n = 0;
        bool wake;
        (void)!read(s->event_fd, &v, sizeof(v));

        pthread_mutex_lock(&s->qlock);
        struct op *list = s->d_head;
        s->d_head = NULL;
        s->d_tail = &s->d_head;
        if (s->poisoned) {
                /* Everything still queued was built on top of the failed batch. */
                for (struct op *o = s->q_head; o; o = o->next) {
                        sbx_fail(&o->err, s->poison_err.code,
                                 "an earlier write queued with this one failed: %s",
                                 s->poison_err.message);
                        o->result = o->err.code;
                }
                struct op **tail = &list;
                while (*tail)
                        tail = &(*tail)->next;
                *tail = s->q_head;
                s->q_head = NULL;
                s->q_tail = &s->q_head;
                s->q_len = 0;
                s->poisoned = false;
        }
        bool compact_done = s->compacting && s->compact_finished;
        s->dispatching = list != NULL;
        pthread_mutex_unlock(&s->qlock);

        while (list) {
                struct op *o = list;
                list = o->next;
                apply(s, o);
                s->pending--;
                if (o->cb)
                        o->cb(o->userdata, o->result, o->result == 0 ? o->rec : NULL,
                              o->result < 0 ? &o->err : NULL);
                op_free(o);
                n++;
        }
        pthread_mutex_lock(&s->qlock);
        s->dispatching = false;
        /* The sync thread waits for the end of a dispatch only when writes are queued
         * (batch_ready()); waking it for nothing costs a context switch on each side. */
        wake = s->q_head != NULL;
        pthread_mutex_unlock(&s->qlock);
        if (wake)
                pthread_cond_signal(&s->qcond);
        if (compact_done) {
                pthread_join(s->compact_thread, NULL);
                s->compacting = false;
                if (s->compact_result == 0)
                        __atomic_add_fetch(&s->compactions, 1, __ATOMIC_RELAXED);
                store_done_fn cb = s->compact_cb;
                s->compact_cb = NULL;
                if (cb) {
                        cb(s->compact_userdata, s->compact_result, NULL,
                           s->compact_result < 0 ? &s->compact_err : NULL);
                        n++;
                }
        } else if (n > 0)
                maybe_auto_compact(s);
        return n;
}
