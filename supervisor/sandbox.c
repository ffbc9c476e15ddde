/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of sandboxes with runtime state, keyed by namespace and id. */
#include "supervisor/sandboxd-internal.h"

#include "cgroups/cgroups.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 4096

static struct sup_sandbox *buckets[N_BUCKETS];
static unsigned n_sandboxes;
static uint64_t next_run_id = 1;

const char *sup_state_name(enum sup_state s)
{
        static const char *const names[] = {
                [SUP_STATE_CREATED] = "created",
                [SUP_STATE_RUNNING] = "running",
                [SUP_STATE_STOPPING] = "stopping",
                [SUP_STATE_STOPPED] = "stopped",
        };
        return names[s];
}

static unsigned hash(const char *ns, const char *id)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (const char *p = ns; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        h = (h ^ '/') * 16777619u;
        for (const char *p = id; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        return h % N_BUCKETS;
}

struct sup_sandbox *sup_sandbox_find(const char *ns, const char *id)
{
        for (struct sup_sandbox *sb = buckets[hash(ns, id)]; sb; sb = sb->hnext)
                if (strcmp(sb->id, id) == 0 && strcmp(sb->ns, ns) == 0)
                        return sb;
        return NULL;
}

struct sup_sandbox *sup_sandbox_find_cgroup(uint64_t cgroup_id)
{
        /* Only used for BPF events, which are rare (exits of sandbox processes are
         * filtered in the kernel to sandbox cgroups; OOM kills). */
        for (unsigned i = 0; i < N_BUCKETS; i++)
                for (struct sup_sandbox *sb = buckets[i]; sb; sb = sb->hnext)
                        if (sb->cgroup_id == cgroup_id)
                                return sb;
        return NULL;
}

int sup_sandbox_new_detached(const char *ns, const char *id, struct sup_sandbox **ret)
{
        struct sup_sandbox *sb = calloc(1, sizeof(*sb));

        if (!sb)
                return -ENOMEM;
        snprintf(sb->ns, sizeof(sb->ns), "%s", ns);
        snprintf(sb->id, sizeof(sb->id), "%s", id);
        sb->run_id = next_run_id++;
        sb->pidfd = -EBADF;
        sb->pid_watch.fd = -EBADF;
        sb->cg_watch.fd = -EBADF;
        sb->run_dirfd = -EBADF;
        sb->log.pipe_fd = -EBADF;
        sb->log.file_fd = -EBADF;
        sb->log.watch.fd = -EBADF;
        *ret = sb;
        return 0;
}

void sup_sandbox_attach(struct sup_sandbox *sb)
{
        unsigned h = hash(sb->ns, sb->id);

        if (sb->listed)
                return;
        sb->hnext = buckets[h];
        buckets[h] = sb;
        n_sandboxes++;
        sb->listed = true;
}

int sup_sandbox_new(const char *ns, const char *id, struct sup_sandbox **ret)
{
        int r = sup_sandbox_new_detached(ns, id, ret);

        if (r < 0)
                return r;
        sup_sandbox_attach(*ret);
        return 0;
}

static void sandbox_free_now(void *p)
{
        struct sup_sandbox *sb = p;

        if (sb->warnings)
                for (char **w = sb->warnings; *w; w++)
                        free(*w);
        free(sb->warnings);
        free(sb);
}

void sup_sandbox_free(struct sup_sandbox *sb)
{
        if (!sb || sb->dead)
                return;
        if (sb->listed) {
                for (struct sup_sandbox **p = &buckets[hash(sb->ns, sb->id)]; *p; p = &(*p)->hnext)
                        if (*p == sb) {
                                *p = sb->hnext;
                                break;
                        }
                n_sandboxes--;
                sb->listed = false;
        }
        sb->dead = true;
        sup_sandbox_notify(sb, SUP_WAKE_GONE);
        /* Anyone still listed (a waiter that ignored GONE) is detached. */
        while (sb->waiters)
                sup_request_unwait(sb->waiters);
        sup_timer_disarm(&sb->stop_timer);
        sup_loop_del(&sb->pid_watch);
        sup_loop_del(&sb->cg_watch);
        sb->pidfd = safe_close(sb->pidfd);
        sup_log_close(&sb->log);
        sb->run_dirfd = safe_close(sb->run_dirfd);
        cg_sandbox_free(sb->cg);
        sb->cg = NULL;
        sup_loop_defer_free(sandbox_free_now, sb);
}

struct sup_request **sup_sandbox_waiters(struct sup_sandbox *sb)
{
        return &sb->waiters;
}

void sup_sandbox_notify(struct sup_sandbox *sb, enum sup_wake why)
{
        struct sup_request *r = sb->waiters, *next;

        /* A callback may unlink itself (and only itself). */
        for (; r; r = next) {
                next = r->wnext;
                r->on_wake(r, why);
        }
}

void sup_sandbox_for_each(void (*cb)(struct sup_sandbox *sb, void *userdata), void *userdata)
{
        for (unsigned i = 0; i < N_BUCKETS; i++) {
                struct sup_sandbox *sb = buckets[i], *next;

                for (; sb; sb = next) {
                        next = sb->hnext;
                        cb(sb, userdata);
                }
        }
}

unsigned sup_sandbox_count(void)
{
        return n_sandboxes;
}
