/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Start (DESIGN.md §3): record → spec → run directory → cgroup → log → spawn →
 * netns bind mount → watch → state file.  Every step before the spawn is undone
 * when a later one fails; after the spawn the sandbox exists and only a teardown
 * removes it.
 *
 * The spawn runs on a spawner thread (spawner.c): the loop does the steps before it,
 * submits the job, serves other requests, and does the steps after it when the job
 * comes back.  Meanwhile the sandbox is "starting": its struct is outside the table
 * (Status and List show the record's "created"), a second Start or a Delete is refused,
 * and Stop, Shutdown and Wait wait on it until the Start is finished.
 *
 * The hot path stays lean: parsed specs are cached by content, so starting a
 * sandbox whose config.json was seen before parses no JSON and compiles no seccomp
 * filter.
 */
#include "supervisor/sandboxd-internal.h"
#include "supervisor/adopt-internal.h"
#include "supervisor/crashpoint-internal.h"
#include "supervisor/spawner-internal.h"
#include "supervisor/tasks-internal.h"

#include "bpf/exitwatch.h"
#include "cgroups/cgroups.h"
#include "common/log.h"
#include "common/util.h"
#include "isolation/isolation.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

extern int sup_run_dirfd;
int sup_controller_watch_pidfd(struct sup_sandbox *sb);

/* ---- parsed spec cache ------------------------------------------------------------------- */

/*
 * Keyed by the spec's bytes: sandboxes created from the same config.json (the common
 * case: a node agent's template, `sandboxctl run` with the default spec) share one
 * parsed config, seccomp filter included.  A small most-recently-used list.
 */
struct spec_cache {
        uint64_t hash;
        size_t len;
        uint8_t *bytes;
        struct iso_config *config;
        struct cg_resources *resources;
        struct spec_cache *next;
        unsigned pins; /* Starts in flight using config (a spawner thread reads it) */
        bool evicted;  /* out of the list; freed when the last pin goes */
};

#define SPEC_CACHE_MAX 64
static struct spec_cache *cache;
static unsigned cache_n;

static void cache_entry_free(struct spec_cache *c)
{
        iso_config_free(c->config);
        cg_resources_free(c->resources);
        free(c->bytes);
        free(c);
}

/* Out of the list: freed now, or by the last spec_unpin(). */
static void cache_entry_evict(struct spec_cache *c)
{
        c->next = NULL;
        if (c->pins > 0)
                c->evicted = true;
        else
                cache_entry_free(c);
}

static void spec_unpin(struct spec_cache *c)
{
        if (--c->pins == 0 && c->evicted)
                cache_entry_free(c);
}

void sup_spec_cache_clear(void)
{
        while (cache) {
                struct spec_cache *c = cache;

                cache = c->next;
                cache_entry_evict(c);
        }
        cache_n = 0;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
        uint64_t h = 14695981039346656037ULL;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 1099511628211ULL;
        return h;
}

/* Finds or builds the parsed spec of rec. */
static int spec_get(const struct store_record *rec, struct spec_cache **ret, struct sbx_error *err)
{
        struct spec_cache *c;
        uint64_t h;
        int r;

        if (!rec->spec.type_url || !rec->spec.type_url[0] || rec->spec.value_len == 0)
                return sbx_fail(err, -EINVAL,
                                "sandbox \"%s\" has no spec: set spec to an OCI runtime spec "
                                "(type_url %s)",
                                rec->id, SUP_SPEC_TYPE_URL);
        if (strcmp(rec->spec.type_url, SUP_SPEC_TYPE_URL) != 0)
                return sbx_fail(err, -EINVAL, "spec.type_url \"%s\" is not %s", rec->spec.type_url,
                                SUP_SPEC_TYPE_URL);

        h = fnv1a64(rec->spec.value, rec->spec.value_len);
        for (struct spec_cache **p = &cache; *p; p = &(*p)->next) {
                c = *p;
                if (c->hash != h || c->len != rec->spec.value_len ||
                    memcmp(c->bytes, rec->spec.value, c->len) != 0)
                        continue;
                *p = c->next; /* move to the front */
                c->next = cache;
                cache = c;
                *ret = c;
                return 0;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return sbx_fail(err, -ENOMEM, "out of memory");
        c->bytes = malloc(rec->spec.value_len);
        if (!c->bytes) {
                free(c);
                return sbx_fail(err, -ENOMEM, "out of memory");
        }
        memcpy(c->bytes, rec->spec.value, rec->spec.value_len);
        c->len = rec->spec.value_len;
        c->hash = h;
        r = iso_config_parse((const char *)rec->spec.value, rec->spec.value_len, &c->config, err);
        if (r < 0) {
                cache_entry_free(c);
                return r; /* the message names the JSON path ("spec: ...", "process.args: ...") */
        }
        r = cg_resources_parse(iso_config_resources(c->config), &c->resources, err);
        if (r < 0) {
                cache_entry_free(c);
                return sbx_error_prefix(err, r, "spec: linux.resources");
        }
        c->next = cache;
        cache = c;
        if (++cache_n > SPEC_CACHE_MAX) {
                struct spec_cache **p = &cache;

                while ((*p)->next)
                        p = &(*p)->next;
                cache_entry_evict(*p);
                *p = NULL;
                cache_n--;
        }
        *ret = c;
        return 0;
}

#define IN_SET_SPEC_ERRNO(e)                                                                   \
        ((e) == ENOENT || (e) == ENOTDIR || (e) == EACCES || (e) == ENOEXEC || (e) == ELOOP || \
         (e) == EPERM || (e) == EROFS || (e) == ENAMETOOLONG || (e) == EINVAL)

/* ---- helpers ----------------------------------------------------------------------------- */

/* RUN/NS/ID/ (mode 0755: the state file and netns are for any local tool; the log is
 * 0640). */
static int run_dir_open(const char *ns, const char *id, struct sbx_error *err)
{
        _cleanup_close_ int nsfd = -EBADF;
        int fd;

        if (mkdirat(sup_run_dirfd, ns, 0755) < 0 && errno != EEXIST)
                return sbx_fail_errno(err, -errno, "mkdir %s/%s", sup_config.run_dir, ns);
        nsfd = openat(sup_run_dirfd, ns, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (nsfd < 0)
                return sbx_fail_errno(err, -errno, "open %s/%s", sup_config.run_dir, ns);
        if (mkdirat(nsfd, id, 0755) < 0 && errno != EEXIST)
                return sbx_fail_errno(err, -errno, "mkdir %s/%s/%s", sup_config.run_dir, ns, id);
        fd = openat(nsfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return sbx_fail_errno(err, -errno, "open %s/%s/%s", sup_config.run_dir, ns, id);
        return fd;
}

/* RUN/NS/ID/netns: a bind mount of the sandbox's network namespace, the target a file
 * we created in our own run directory.  The source is the namespace prepared for it
 * (netns_fd, held since before the spawn, so the mount is made even if the sandbox has
 * already exited), or else the nsfs file of the process we just created (pinned by its
 * pidfd and still our unreaped child: gone, though, once it has exited). */
static int netns_mount(struct sup_sandbox *sb, int netns_fd)
{
        char src[64], dst[4096];
        int fd;

        fd = openat(sb->run_dirfd, "netns", O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd < 0)
                return -errno;
        close(fd);
        if (netns_fd >= 0)
                snprintf(src, sizeof(src), "/proc/self/fd/%d", netns_fd);
        else
                snprintf(src, sizeof(src), "/proc/%d/ns/net", (int)sb->pid);
        snprintf(dst, sizeof(dst), "%s/%s/%s/netns", sup_config.run_dir, sb->ns, sb->id);
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
                return -errno;
        sb->netns_mounted = true;
        return 0;
}

static void warn(struct sup_sandbox *sb, const char *w)
{
        size_t n = 0;
        char **nw;

        if (sb->warnings)
                while (sb->warnings[n])
                        n++;
        nw = realloc(sb->warnings, (n + 2) * sizeof(char *));
        if (!nw)
                return;
        sb->warnings = nw;
        nw[n] = strdup(w);
        nw[n + (nw[n] ? 1 : 0)] = NULL;
}

/* ---- start ------------------------------------------------------------------------------- */

/* Exit watcher events of a sandbox whose Start has not come back yet, kept for it. */
#define START_EARLY_EVENTS_MAX 4

/* A Start in flight.  job is the spawner's until job.done runs; sb is outside the table. */
struct start_op {
        struct sup_spawn_job job;
        struct sup_sandbox *sb;
        struct spec_cache *spec; /* pinned */
        int out_fd;              /* the write end of the output pipe, in job.opts */
        sup_start_done_t done;
        void *userdata;
        uint64_t t0, t_spec, t_cg, t_back; /* t_back: start_complete() began */
        struct exitwatch_event early[START_EARLY_EVENTS_MAX];
        unsigned n_early;
        bool completed; /* the second half ran (start_complete()) */
        struct start_op *next;
};

static struct start_op *starting;

struct sup_sandbox *sup_controller_starting(const char *ns, const char *id)
{
        for (struct start_op *op = starting; op; op = op->next)
                if (strcmp(op->sb->id, id) == 0 && strcmp(op->sb->ns, ns) == 0)
                        return op->sb;
        return NULL;
}

void sup_controller_start_early_event(const struct exitwatch_event *ev)
{
        for (struct start_op *op = starting; op; op = op->next)
                if (op->sb->cgroup_id == ev->watched_id) {
                        if (op->n_early < START_EARLY_EVENTS_MAX)
                                op->early[op->n_early++] = *ev;
                        return;
                }
}

void sup_controller_start_forget(void *userdata)
{
        for (struct start_op *op = starting; op; op = op->next)
                if (op->userdata == userdata)
                        op->userdata = NULL;
}

/* Undoes the steps before the spawn and frees sb (not in the table). */
static void start_undo(struct sup_sandbox *sb, const struct sbx_error *err)
{
        struct sbx_error e = {0};
        const char *ns = sb->ns, *id = sb->id;

        if (sb->cg) {
                if (sup_exitwatch)
                        (void)exitwatch_unwatch(sup_exitwatch, sb->cgroup_id, NULL);
                if (cg_sandbox_remove(sb->cg, &e) < 0)
                        log_warning("sandbox %s/%s: %s", ns, id, e.message);
        }
        if (sb->run_dirfd >= 0) {
                (void)unlinkat(sb->run_dirfd, "log", 0);
                _cleanup_close_ int nsfd =
                        openat(sup_run_dirfd, ns, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (nsfd >= 0)
                        (void)unlinkat(nsfd, id, AT_REMOVEDIR);
                (void)unlinkat(sup_run_dirfd, ns, AT_REMOVEDIR);
        }
        log_info("sandbox %s/%s: start failed: %s", ns, id, err->message);
        sup_sandbox_free(sb);
}

/* The steps after the spawn, on the loop: 0 with sb in the table, or <0 with err (sb and
 * everything undone). */
static int start_finish(struct start_op *op, int r, const struct iso_process *process,
                        struct sbx_error *err)
{
        struct sup_sandbox *sb = op->sb;
        const char *ns = sb->ns, *id = sb->id;
        char spawn[96];

        _cleanup_close_ int netns_fd = TAKE_FD(op->job.netns_fd);

        op->out_fd = safe_close(op->out_fd); /* the sandbox holds the only write end now */
        if (r < 0) {
                *err = op->job.err;
                /* What the child could not do is the spec's fault (missing root, program,
                 * mount source...): InvalidArgument, not NotFound, whatever the errno. */
                if (IN_SET_SPEC_ERRNO(-r))
                        r = err->code = -EINVAL;
                else if (err->code == 0)
                        err->code = r;
                start_undo(sb, err);
                return r;
        }
        sup_sandbox_attach(sb);
        sb->pid = process->pid;
        sb->pidfd = process->pidfd;
        sb->main_is_first_child = iso_config_has_process(op->spec->config) &&
                                  (iso_config_namespaces(op->spec->config) & CLONE_NEWPID);
        SUP_CRASH_POINT("start-spawned");
        sb->started_at = sbx_now_realtime_ns();
        sb->state = SUP_STATE_RUNNING;

        /* From here on the sandbox exists: failures are logged, not fatal.  The start time
         * usually comes with the process; /proc/PID/stat otherwise, which can block while
         * the init executes (its mm's lock). */
        sb->start_time = process->start_time;
        r = sb->start_time ? 0 : sup_proc_start_time(sb->pid, &sb->start_time);
        if (r < 0)
                log_warning("sandbox %s/%s: start time of pid %d: %s", ns, id, (int)sb->pid,
                            strerror(-r));
        r = iso_config_has_netns(op->spec->config) ? netns_mount(sb, netns_fd) : 0;
        if (r < 0)
                log_warning("sandbox %s/%s: netns bind mount: %s", ns, id, strerror(-r));
        r = sup_controller_watch_pidfd(sb);
        if (r < 0) {
                /* Without its pidfd in the loop the exit would go unseen: undo. */
                sbx_fail_errno(err, r, "epoll_ctl(pidfd)");
                (void)sup_controller_teardown(sb);
                return r;
        }
        r = sup_statefile_write(sb);
        if (r < 0)
                log_warning("sandbox %s/%s: state file: %s", ns, id, strerror(-r));
        SUP_CRASH_POINT("start-statefile");
        if (process == &op->job.early) /* announced: the spawner thread is not back yet */
                snprintf(spawn, sizeof(spawn), "spawn to its exec %llu",
                         (unsigned long long)((op->t_back - op->job.taken_at) / 1000));
        else
                snprintf(spawn, sizeof(spawn), "spawn %llu, back to the loop %llu",
                         (unsigned long long)(op->job.spawn_ns / 1000),
                         (unsigned long long)((op->t_back - op->job.finished_at) / 1000));
        log_info("sandbox %s/%s: started, pid %d, cgroup id %llu (%llu us: spec %llu, cgroup "
                 "%llu, to the spawner %llu, %s)",
                 ns, id, (int)sb->pid, (unsigned long long)sb->cgroup_id,
                 (unsigned long long)((sbx_now_monotonic_ns() - op->t0) / 1000),
                 (unsigned long long)((op->t_spec - op->t0) / 1000),
                 (unsigned long long)((op->t_cg - op->t_spec) / 1000),
                 (unsigned long long)((op->job.taken_at - op->job.submitted_at) / 1000), spawn);
        sup_issue7_on_sandbox_started(sb);
        return 0;
}

/* The Start's second half, on the loop, once: when the child announces that it executes
 * sandbox-init (on_exec_announced) or, when it could not, when the spawner thread is back
 * (on_spawned). */
static void start_complete(struct start_op *op, int result, const struct iso_process *process)
{
        struct sup_sandbox *sb = op->sb;
        struct sbx_error err = {0};
        struct sup_request **parked = NULL;
        size_t n_parked = 0;
        int r;

        op->completed = true;
        op->t_back = sbx_now_monotonic_ns();
        for (struct start_op **p = &starting; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        break;
                }
        /* The requests that arrived meanwhile, taken off before sb can go away. */
        for (struct sup_request *w = sb->waiters; w; w = w->wnext)
                n_parked++;
        if (n_parked > 0) {
                parked = calloc(n_parked, sizeof(*parked));
                n_parked = 0;
                while (parked && sb->waiters) {
                        parked[n_parked++] = sb->waiters;
                        sup_request_unwait(sb->waiters);
                }
        }

        r = start_finish(op, result, process, &err);
        if (op->done)
                op->done(op->userdata, r < 0 ? NULL : sb, r < 0 ? &err : NULL);
        /* A short-lived sandbox may have exited while the spawner thread waited for a CPU:
         * its exit came from the exit watcher before the sandbox was in the table. */
        for (unsigned i = 0; r == 0 && i < op->n_early; i++)
                sup_controller_exit_event(sb, &op->early[i]);
        /* Then the parked requests, as if they had arrived now. */
        for (size_t i = 0; i < n_parked; i++)
                parked[i]->on_wake(parked[i], SUP_WAKE_STARTED);
        free(parked);
}

static void on_exec_announced(struct sup_spawn_job *job)
{
        start_complete((struct start_op *)job, 0, &job->early);
}

static void on_spawned(struct sup_spawn_job *job)
{
        struct start_op *op = (struct start_op *)job;

        if (!op->completed)
                start_complete(op, job->result, &job->process);
        else if (job->result < 0)
                /* Not expected: after the announcement the child only executes sandbox-init,
                 * and a failure there ends the init with 127, which iso_spawn() does not
                 * report (isolation.h). */
                log_warning("spawner: %s (after the sandbox's start was announced)",
                            job->err.message);
        /* Only now: until the spawner thread was back, the child could still read the
         * spec's config (sandbox-init's argv and environment). */
        spec_unpin(op->spec);
        free(op);
}

int sup_controller_start(const char *ns, const char *id, sup_start_done_t done, void *userdata,
                         struct sbx_error *err)
{
        _cleanup_store_record_ struct store_record *rec = NULL;
        _cleanup_close_ int out_fd = -EBADF;
        struct spec_cache *spec = NULL;
        struct sup_sandbox *sb = NULL;
        struct start_op *op = NULL;
        struct sbx_error e = {0};
        /* Accounting controllers too, so Metrics has memory and pids without limits. */
        unsigned cg_flags = CG_ACCOUNTING;
        uint64_t t0 = sbx_now_monotonic_ns(), t_spec, t_cg;
        int r;

        r = store_get(sup_store, ns, id, &rec, err);
        if (r < 0)
                return r;
        if (!rec->runtime_name || strcmp(rec->runtime_name, SUP_RUNTIME_NAME) != 0)
                return sbx_fail(err, -EINVAL,
                                "runtime \"%s\" is not implemented by sandboxd (runtimes: %s)",
                                rec->runtime_name ? rec->runtime_name : "", SUP_RUNTIME_NAME);
        r = spec_get(rec, &spec, err);
        if (r < 0)
                return r;
        t_spec = sbx_now_monotonic_ns();

        op = calloc(1, sizeof(*op));
        if (!op)
                return sbx_fail(err, -ENOMEM, "out of memory");
        op->out_fd = -EBADF;
        r = sup_sandbox_new_detached(ns, id, &sb);
        if (r < 0) {
                free(op);
                return sbx_fail(err, r, "out of memory");
        }
        sb->created_at = rec->created_at;

        sb->run_dirfd = run_dir_open(ns, id, err);
        if (sb->run_dirfd < 0) {
                r = sb->run_dirfd;
                goto fail;
        }

        if (sup_config.allow_missing_controllers)
                cg_flags |= CG_BEST_EFFORT;
        r = cg_sandbox_create(sup_cgroot, ns, id, spec->resources, cg_flags, &sb->cg, err);
        if (r == -EEXIST) {
                sbx_fail(err, -EBUSY,
                         "cgroup %s/sandboxes/%s/%s exists (left by an earlier daemon?); "
                         "shut the sandbox down first",
                         cg_root_path(sup_cgroot), ns, id);
                goto fail;
        }
        if (r < 0)
                goto fail;
        for (const char *const *s = cg_sandbox_skipped(sb->cg); *s; s++) {
                char w[512];

                snprintf(w, sizeof(w), "limit not applied: %s", *s);
                warn(sb, w);
                log_warning("sandbox %s/%s: %s", ns, id, w);
        }
        sb->cgroup_id = cg_sandbox_id(sb->cg);
        t_cg = sbx_now_monotonic_ns();
        SUP_CRASH_POINT("start-cgroup");
        if (sup_exitwatch && exitwatch_watch(sup_exitwatch, sb->cgroup_id, &e) < 0)
                log_warning("sandbox %s/%s: BPF watch: %s", ns, id, e.message);

        r = sup_log_open(sb, &out_fd, err);
        if (r < 0)
                goto fail;

        /* To the spawner.  Until on_spawned() nobody on the loop touches the job, the
         * pinned config, the cgroup (its fd is in the job) or the pipe's write end. */
        op->sb = sb;
        op->spec = spec;
        spec->pins++;
        op->out_fd = TAKE_FD(out_fd);
        op->done = done;
        op->userdata = userdata;
        op->t0 = t0;
        op->t_spec = t_spec;
        op->t_cg = t_cg;
        op->job.config = spec->config;
        op->job.want_netns = iso_config_takes_netns_fd(spec->config);
        op->job.netns_fd = -EBADF;
        op->job.opts = ISO_SPAWN_OPTS_INIT;
        op->job.opts.cgroup_fd = cg_sandbox_init_fd(sb->cg);
        op->job.opts.stdout_fd = op->job.opts.stderr_fd = op->out_fd;
        op->job.done = on_spawned;
        op->job.started = on_exec_announced;
        op->next = starting;
        starting = op;
        sup_spawner_submit(&op->job);
        return 0;

fail:
        start_undo(sb, err);
        free(op);
        return r;
}
