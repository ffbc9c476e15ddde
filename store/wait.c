/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Synchronous wrappers, compaction requests and statistics (loop side). */
#include "store/store-internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

struct waiter {
        bool done;
        bool want_rec;
        int result;
        struct store_record *rec;
        struct sbx_error err;
};

static void waiter_cb(void *userdata, int result, const struct store_record *rec,
                      const struct sbx_error *err)
{
        struct waiter *w = userdata;
        w->done = true;
        w->result = result;
        if (err)
                w->err = *err;
        if (result == 0 && rec && w->want_rec && store_record_dup(rec, &w->rec) < 0)
                w->result = sbx_fail(&w->err, -ENOMEM, "out of memory");
}

static void wait_once(struct store *s)
{
        struct pollfd p = {.fd = s->event_fd, .events = POLLIN};
        /* Called from a callback, we are inside store_dispatch(): let the sync
         * thread go on without waiting for the rest of those callbacks. */
        pthread_mutex_lock(&s->qlock);
        s->dispatching = false;
        if (s->q_head)
                pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qlock);
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
        store_dispatch(s);
}

static int finish(struct store *s, struct waiter *w, struct store_record **ret,
                  struct sbx_error *err)
{
        while (!w->done)
                wait_once(s);
        if (w->result < 0) {
                if (err)
                        *err = w->err;
                return w->result;
        }
        if (ret)
                *ret = w->rec;
        else
                store_record_free(w->rec);
        return 0;
}

int store_create_sync(struct store *s, const struct store_record *rec, struct store_record **ret,
                      struct sbx_error *err)
{
        struct waiter w = {.want_rec = ret != NULL};
        int r = store_create(s, rec, waiter_cb, &w, err);
        return r < 0 ? r : finish(s, &w, ret, err);
}

int store_update_sync(struct store *s, const char *ns, const struct store_record *rec,
                      const char *const *fieldpaths, size_t n_fieldpaths, struct store_record **ret,
                      struct sbx_error *err)
{
        struct waiter w = {.want_rec = ret != NULL};
        int r = store_update(s, ns, rec, fieldpaths, n_fieldpaths, waiter_cb, &w, err);
        return r < 0 ? r : finish(s, &w, ret, err);
}

int store_delete_sync(struct store *s, const char *ns, const char *id, struct sbx_error *err)
{
        struct waiter w = {};
        int r = store_delete(s, ns, id, waiter_cb, &w, err);
        return r < 0 ? r : finish(s, &w, NULL, err);
}

int store_flush(struct store *s)
{
        while (s->pending > 0)
                wait_once(s);
        return 0;
}

int store_compact(struct store *s, store_done_fn cb, void *userdata, struct sbx_error *err)
{
        int r = compact_start(s, err);
        if (r < 0)
                return r;
        s->compact_cb = cb;
        s->compact_userdata = userdata;
        return 0;
}

int store_compact_sync(struct store *s, struct sbx_error *err)
{
        /* On the heap: the store keeps the pointer until the callback ran. */
        _cleanup_free_ struct waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return sbx_fail(err, -ENOMEM, "out of memory");
        int r = store_compact(s, waiter_cb, w, err);
        return r < 0 ? r : finish(s, w, NULL, err);
}

void store_set_auto_compact(struct store *s, double ratio, uint64_t min_dead_bytes)
{
        s->auto_ratio = ratio;
        s->auto_min = min_dead_bytes;
}

void store_stats(struct store *s, struct store_stats *ret)
{
        uint64_t end = __atomic_load_n(&s->log_end, __ATOMIC_ACQUIRE);
        uint64_t used = LOG_HEADER_SIZE + s->live_bytes;
        *ret = (struct store_stats){
                .live_records = s->idx.n,
                .live_bytes = s->live_bytes,
                .dead_bytes = end > used ? end - used : 0,
                .file_size = end,
                .generation = __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE),
                .compactions = __atomic_load_n(&s->compactions, __ATOMIC_RELAXED),
                .commits = __atomic_load_n(&s->commits, __ATOMIC_RELAXED),
                .writes = __atomic_load_n(&s->writes, __ATOMIC_RELAXED),
                .pending = s->pending,
                .compacting = s->compacting,
        };
}
