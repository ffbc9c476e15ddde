/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A sandbox's cgroup: <root>/sandboxes/<ns>/<id>/ with its init/ and tasks/
 * leaves.  Creation, limits, re-opening, task leaves and removal.
 */
#include "cgroups/cgroups-internal.h"

#include "common/util.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One interface file to write on <id>/. */
struct limit {
        int ctrl; /* -1: no controller (cgroup.*) */
        char file[80];
        char *value;
};

struct limits {
        struct limit *v;
        size_t n;
};

static void limits_done(struct limits *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].value);
        free(l->v);
}

static int add_limit(struct limits *l, int ctrl, const char *file, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int add_limit(struct limits *l, int ctrl, const char *file, const char *fmt, ...)
{
        struct limit *n = realloc(l->v, (l->n + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        l->v = n;
        struct limit *x = &n[l->n];
        x->ctrl = ctrl;
        snprintf(x->file, sizeof(x->file), "%s", file);
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&x->value, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        l->n++;
        return 0;
}

static const char *num_or_max(int64_t v, char buf[static 24])
{
        if (v < 0)
                return "max";
        snprintf(buf, 24, "%lld", (long long)v);
        return buf;
}

/* The interface files the resources turn into, in write order. */
static int build_limits(const struct cg_resources *res, struct limits *l)
{
        char b[24];
        int k = 0;

        if (!res)
                return 0;
        if (res->cpuset_cpus && *res->cpuset_cpus)
                k |= add_limit(l, CG_CTRL_CPUSET, "cpuset.cpus", "%s", res->cpuset_cpus);
        if (res->cpuset_mems && *res->cpuset_mems)
                k |= add_limit(l, CG_CTRL_CPUSET, "cpuset.mems", "%s", res->cpuset_mems);
        if (res->has_memory_reservation)
                k |= add_limit(l, CG_CTRL_MEMORY, "memory.low", "%s",
                               num_or_max(res->memory_reservation, b));
        if (res->has_memory_limit)
                k |= add_limit(l, CG_CTRL_MEMORY, "memory.max", "%s",
                               num_or_max(res->memory_limit, b));
        if (res->has_memory_swap)
                k |= add_limit(
                        l, CG_CTRL_MEMORY, "memory.swap.max", "%s",
                        num_or_max(res->memory_swap < 0 ? -1 : res->memory_swap - res->memory_limit,
                                   b));
        if (res->has_pids_limit)
                k |= add_limit(l, CG_CTRL_PIDS, "pids.max", "%s", num_or_max(res->pids_limit, b));
        if (res->has_cpu_shares)
                k |= add_limit(l, CG_CTRL_CPU, "cpu.weight", "%llu",
                               (unsigned long long)cg_shares_to_weight(res->cpu_shares));
        if (res->has_cpu_max)
                k |= add_limit(l, CG_CTRL_CPU, "cpu.max", "%s %llu",
                               num_or_max(res->cpu_quota > 0 ? res->cpu_quota : -1, b),
                               (unsigned long long)res->cpu_period);
        if (res->has_cpu_burst)
                k |= add_limit(l, CG_CTRL_CPU, "cpu.max.burst", "%llu",
                               (unsigned long long)res->cpu_burst);
        if (res->has_cpu_idle)
                k |= add_limit(l, CG_CTRL_CPU, "cpu.idle", "%lld", (long long)res->cpu_idle);
        for (size_t i = 0; i < res->n_hugetlb; i++) {
                char f[64];
                /* OCI says "2MB", the kernel's files say "hugetlb.2MB.max". */
                snprintf(f, sizeof(f), "hugetlb.%s.max", res->hugetlb[i].key);
                k |= add_limit(l, CG_CTRL_HUGETLB, f, "%s", res->hugetlb[i].value);
        }
        for (size_t i = 0; i < res->n_unified; i++) {
                const char *key = res->unified[i].key;
                const char *dot = strchr(key, '.');
                int c = cg_controller_from_name(key, (size_t)(dot - key));
                k |= add_limit(l, c, key, "%s", res->unified[i].value);
        }
        return k ? -ENOMEM : 0;
}

static int add_skipped(struct cg_sandbox *sb, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int add_skipped(struct cg_sandbox *sb, const char *fmt, ...)
{
        char **n = realloc(sb->skipped, (sb->n_skipped + 2) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        sb->skipped = n;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&n[sb->n_skipped], fmt, ap);
        va_end(ap);
        if (k < 0) {
                n[sb->n_skipped] = NULL;
                return -ENOMEM;
        }
        n[++sb->n_skipped] = NULL;
        return 0;
}

void cg_sandbox_free(struct cg_sandbox *sb)
{
        if (!sb)
                return;
        safe_close(sb->fd);
        safe_close(sb->init_fd);
        safe_close(sb->events_fd);
        free(sb->ns);
        free(sb->id);
        free(sb->path);
        free(sb->cgroup);
        for (size_t i = 0; i < sb->n_skipped; i++)
                free(sb->skipped[i]);
        free(sb->skipped);
        free(sb);
}

static struct cg_sandbox *sandbox_alloc(struct cg_root *r, const char *ns, const char *id)
{
        struct cg_sandbox *sb = calloc(1, sizeof(*sb));
        if (!sb)
                return NULL;
        sb->root = r;
        sb->fd = sb->init_fd = sb->events_fd = -EBADF;
        sb->ns = strdup(ns);
        sb->id = strdup(id);
        sb->skipped = calloc(1, sizeof(char *));
        if (asprintf(&sb->path, "%s/sandboxes/%s/%s", r->path, ns, id) < 0)
                sb->path = NULL;
        if (asprintf(&sb->cgroup, "%s/sandboxes/%s/%s", strcmp(r->cgroup, "/") ? r->cgroup : "", ns,
                     id) < 0)
                sb->cgroup = NULL;
        if (!sb->ns || !sb->id || !sb->skipped || !sb->path || !sb->cgroup) {
                cg_sandbox_free(sb);
                return NULL;
        }
        return sb;
}

/* Checks ns and id, escapes them (cg_escape_name()) and allocates the handle, whose ns and
 * id are the escaped directory names. */
static int sandbox_new(struct cg_root *r, const char *ns, const char *id, struct cg_sandbox **ret,
                       struct sbx_error *err)
{
        char ens[CG_NAME_MAX], eid[CG_NAME_MAX];

        if (!cg_valid_name(ns) || !cg_valid_name(id))
                return sbx_fail(err, -EINVAL, "invalid sandbox cgroup name \"%s/%s\"", ns ? ns : "",
                                id ? id : "");
        *ret = sandbox_alloc(r, cg_escape_name(ns, ens), cg_escape_name(id, eid));
        if (!*ret)
                return sbx_fail(err, -ENOMEM, "out of memory");
        return 0;
}

/* Opens <id>/ fds of an existing directory: the dir, init/ (created if missing) and
 * cgroup.events. */
static int sandbox_open_fds(struct cg_sandbox *sb, int nsfd, struct sbx_error *err)
{
        struct stat st;

        sb->fd = openat(nsfd, sb->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sb->fd < 0)
                return sbx_fail_errno(err, -errno, "opening %s", sb->path);
        if (fstat(sb->fd, &st) < 0)
                return sbx_fail_errno(err, -errno, "stat %s", sb->path);
        sb->cgroup_id = (uint64_t)st.st_ino;
        if (mkdirat(sb->fd, "init", 0755) < 0 && errno != EEXIST)
                return sbx_fail_errno(err, -errno, "creating %s/init", sb->path);
        sb->init_fd = openat(sb->fd, "init", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sb->init_fd < 0)
                return sbx_fail_errno(err, -errno, "opening %s/init", sb->path);
        if (fstat(sb->init_fd, &st) < 0)
                return sbx_fail_errno(err, -errno, "stat %s/init", sb->path);
        sb->init_cgroup_id = (uint64_t)st.st_ino;
        sb->events_fd = openat(sb->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (sb->events_fd < 0)
                return sbx_fail_errno(err, -errno, "opening %s/cgroup.events", sb->path);
        return 0;
}

/* Removes every directory below dfd/name depth-first, then dfd/name itself.  cgroupfs
 * directories hold only interface files, which go with rmdir. */
static int rmdir_tree(int dfd, const char *name)
{
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int k = -errno;
                safe_close(fd);
                return k;
        }
        int ret = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                int k = rmdir_tree(dirfd(d), de->d_name);
                if (k < 0 && ret == 0)
                        ret = k;
        }
        closedir(d);
        if (ret < 0)
                return ret;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int cg_sandbox_create(struct cg_root *r, const char *ns, const char *id,
                      const struct cg_resources *res, unsigned flags, struct cg_sandbox **ret,
                      struct sbx_error *err)
{
        struct limits lim = {};
        _cleanup_cg_sandbox_ struct cg_sandbox *sb = NULL;
        _cleanup_close_ int sfd = -EBADF, nsfd = -EBADF;
        unsigned avail = 0, need = 0;
        bool created = false;
        int k;

        k = sandbox_new(r, ns, id, &sb, err);
        if (k < 0)
                return k;
        ns = sb->ns;
        id = sb->id;

        k = build_limits(res, &lim);
        if (k < 0) {
                limits_done(&lim);
                return sbx_fail(err, k, "out of memory");
        }
        k = cg_read_controllers(r->fd, "cgroup.controllers", &avail);
        if (k < 0) {
                limits_done(&lim);
                return sbx_fail_errno(err, k, "reading %s/cgroup.controllers", r->path);
        }

        /* Which controllers the limits need, and what to do about the missing ones. */
        for (int c = 0; c < _CG_CTRL_MAX; c++) {
                char files[160] = "";
                size_t fl = 0;
                bool wanted = false;
                for (size_t i = 0; i < lim.n; i++)
                        if (lim.v[i].ctrl == c) {
                                wanted = true;
                                fl += (size_t)snprintf(files + fl, sizeof(files) - fl, "%s%s",
                                                       fl ? ", " : "", lim.v[i].file);
                                if (fl >= sizeof(files))
                                        fl = sizeof(files) - 1;
                        }
                if (!wanted)
                        continue;
                if (avail & (1u << c)) {
                        need |= 1u << c;
                        continue;
                }
                char why[256];
                cg_controller_missing_reason(r, c, why, sizeof(why));
                if (!(flags & CG_BEST_EFFORT)) {
                        limits_done(&lim);
                        return sbx_fail(err, -EBUSY, "%s (needed by %s)", why, files);
                }
                if (add_skipped(sb, "%s: %s (%s not set)", cg_controller_names[c], why, files) <
                    0) {
                        limits_done(&lim);
                        return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }
        for (size_t i = 0; res && i < res->n_unsupported; i++) {
                if (!(flags & CG_BEST_EFFORT)) {
                        limits_done(&lim);
                        return sbx_fail(err, -EBUSY, "linux.resources.%s", res->unsupported[i]);
                }
                if (add_skipped(sb, "%s", res->unsupported[i]) < 0) {
                        limits_done(&lim);
                        return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }
        if (flags & CG_ACCOUNTING)
                need |= avail & ((1u << CG_CTRL_MEMORY) | (1u << CG_CTRL_PIDS) |
                                 (1u << CG_CTRL_CPU) | (1u << CG_CTRL_IO));

        /* root → sandboxes → <ns>: enable what <id> needs on the way down.  Never above
         * the root (that is our delegation boundary). */
        k = cg_enable_controllers(r->fd, r->path, need, err);
        if (k < 0)
                goto fail;
        if (mkdirat(r->fd, "sandboxes", 0755) < 0 && errno != EEXIST) {
                k = sbx_fail_errno(err, -errno, "creating %s/sandboxes", r->path);
                goto fail;
        }
        sfd = openat(r->fd, "sandboxes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0) {
                k = sbx_fail_errno(err, -errno, "opening %s/sandboxes", r->path);
                goto fail;
        }
        char what[4096];
        snprintf(what, sizeof(what), "%s/sandboxes", r->path);
        k = cg_enable_controllers(sfd, what, need, err);
        if (k < 0)
                goto fail;
        if (mkdirat(sfd, ns, 0755) < 0 && errno != EEXIST) {
                k = sbx_fail_errno(err, -errno, "creating %s/%s", what, ns);
                goto fail;
        }
        nsfd = openat(sfd, ns, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (nsfd < 0) {
                k = sbx_fail_errno(err, -errno, "opening %s/%s", what, ns);
                goto fail;
        }
        snprintf(what, sizeof(what), "%s/sandboxes/%s", r->path, ns);
        k = cg_enable_controllers(nsfd, what, need, err);
        if (k < 0)
                goto fail;

        if (mkdirat(nsfd, id, 0755) < 0) {
                if (errno == EEXIST)
                        k = sbx_fail(err, -EEXIST, "sandbox cgroup %s already exists", sb->path);
                else
                        k = sbx_fail_errno(err, -errno, "creating %s", sb->path);
                goto fail;
        }
        created = true;
        k = sandbox_open_fds(sb, nsfd, err);
        if (k < 0)
                goto fail;

        for (size_t i = 0; i < lim.n; i++) {
                const struct limit *l = &lim.v[i];
                if (l->ctrl >= 0 && !(need & (1u << l->ctrl)))
                        continue; /* skipped above */
                k = sbx_write_file_at(sb->fd, l->file, l->value);
                if (k == -ENOENT && (flags & CG_BEST_EFFORT)) {
                        if (add_skipped(sb, "%s: the kernel does not provide it", l->file) < 0) {
                                k = sbx_fail(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        continue;
                }
                if (k == -ENOENT) {
                        k = sbx_fail(err, -EBUSY,
                                     "%s is not provided by the kernel (cannot apply \"%s\")",
                                     l->file, l->value);
                        goto fail;
                }
                if (k < 0) {
                        k = sbx_fail(err, k == -EINVAL || k == -ERANGE ? -EINVAL : k,
                                     "writing \"%s\" to %s/%s: %s", l->value, sb->path, l->file,
                                     strerror(-k));
                        goto fail;
                }
        }

        if (!(flags & CG_NO_DEVICES)) {
                k = cg_devices_attach(r, sb->fd, res ? res->devices : NULL,
                                      res ? res->n_devices : 0, err);
                if (k < 0) {
                        sbx_error_prefix(err, k, "%s", sb->path);
                        goto fail;
                }
        }

        limits_done(&lim);
        *ret = TAKE_PTR(sb);
        return 0;

fail:
        limits_done(&lim);
        if (created) {
                (void)rmdir_tree(nsfd, id);
        }
        if (nsfd >= 0 && sfd >= 0)
                (void)unlinkat(sfd, ns, AT_REMOVEDIR); /* only if empty */
        return k;
}

int cg_sandbox_open(struct cg_root *r, const char *ns, const char *id, struct cg_sandbox **ret,
                    struct sbx_error *err)
{
        _cleanup_cg_sandbox_ struct cg_sandbox *sb = NULL;
        _cleanup_close_ int nsfd = -EBADF;
        char p[512];
        int k;

        k = sandbox_new(r, ns, id, &sb, err);
        if (k < 0)
                return k;
        ns = sb->ns;
        id = sb->id;
        snprintf(p, sizeof(p), "sandboxes/%s", ns);
        nsfd = openat(r->fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (nsfd < 0) {
                if (errno == ENOENT)
                        return sbx_fail(err, -ENOENT, "sandbox cgroup %s does not exist", sb->path);
                return sbx_fail_errno(err, -errno, "opening %s/%s", r->path, p);
        }
        k = sandbox_open_fds(sb, nsfd, err);
        if (k == -ENOENT)
                return sbx_fail(err, -ENOENT, "sandbox cgroup %s does not exist", sb->path);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(sb);
        return 0;
}

const char *const *cg_sandbox_skipped(const struct cg_sandbox *sb)
{
        return (const char *const *)sb->skipped;
}

int cg_sandbox_init_fd(const struct cg_sandbox *sb)
{
        return sb->init_fd;
}

int cg_sandbox_fd(const struct cg_sandbox *sb)
{
        return sb->fd;
}

uint64_t cg_sandbox_id(const struct cg_sandbox *sb)
{
        return sb->cgroup_id;
}

uint64_t cg_sandbox_init_id(const struct cg_sandbox *sb)
{
        return sb->init_cgroup_id;
}

const char *cg_sandbox_path(const struct cg_sandbox *sb)
{
        return sb->path;
}

const char *cg_sandbox_cgroup(const struct cg_sandbox *sb)
{
        return sb->cgroup;
}

int cg_task_create(struct cg_sandbox *sb, const char *name, int *ret_fd, uint64_t *ret_id,
                   struct sbx_error *err)
{
        char p[256];
        struct stat st;

        if (!cg_valid_name(name))
                return sbx_fail(err, -EINVAL, "invalid task cgroup name \"%s\"", name ? name : "");
        char ename[CG_NAME_MAX];
        name = cg_escape_name(name, ename);
        if (mkdirat(sb->fd, "tasks", 0755) < 0 && errno != EEXIST)
                return sbx_fail_errno(err, -errno, "creating %s/tasks", sb->path);
        snprintf(p, sizeof(p), "tasks/%s", name);
        if (mkdirat(sb->fd, p, 0755) < 0) {
                if (errno == EEXIST)
                        return sbx_fail(err, -EEXIST, "task cgroup %s/%s already exists", sb->path,
                                        p);
                return sbx_fail_errno(err, -errno, "creating %s/%s", sb->path, p);
        }
        _cleanup_close_ int fd = openat(sb->fd, p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int k = -errno;
                (void)unlinkat(sb->fd, p, AT_REMOVEDIR);
                return sbx_fail_errno(err, k, "opening %s/%s", sb->path, p);
        }
        if (ret_id)
                *ret_id = (uint64_t)st.st_ino;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int cg_task_remove(struct cg_sandbox *sb, const char *name, struct sbx_error *err)
{
        char p[256];

        if (!cg_valid_name(name))
                return sbx_fail(err, -EINVAL, "invalid task cgroup name \"%s\"", name ? name : "");
        char ename[CG_NAME_MAX];
        name = cg_escape_name(name, ename);
        snprintf(p, sizeof(p), "tasks/%s", name);
        if (unlinkat(sb->fd, p, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                if (errno == EBUSY)
                        return sbx_fail(err, -EBUSY, "task cgroup %s/%s still holds processes",
                                        sb->path, p);
                return sbx_fail_errno(err, -errno, "removing %s/%s", sb->path, p);
        }
        return 0;
}

int cg_sandbox_remove(struct cg_sandbox *sb, struct sbx_error *err)
{
        char p[512];
        int k;

        if (sb->fd < 0)
                return 0; /* removed already */
        snprintf(p, sizeof(p), "sandboxes/%s", sb->ns);
        _cleanup_close_ int nsfd = openat(sb->root->fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (nsfd < 0 && errno != ENOENT)
                return sbx_fail_errno(err, -errno, "opening %s", p);
        if (nsfd >= 0) {
                /* The usual shape first, <id>/init in <id>: two rmdirs and no listing of
                 * cgroupfs directories.  Anything else below <id> (task cgroups): the whole
                 * tree.  The kernel refuses (EBUSY) while a process is left: no need to read
                 * cgroup.events first.  Our own fds do not keep a cgroup from being removed;
                 * they stay open until it is, so that a failed removal can be tried again. */
                char init[CG_NAME_MAX + 8];
                snprintf(init, sizeof(init), "%s/init", sb->id);
                if ((unlinkat(nsfd, init, AT_REMOVEDIR) == 0 || errno == ENOENT) &&
                    (unlinkat(nsfd, sb->id, AT_REMOVEDIR) == 0 || errno == ENOENT))
                        k = 0;
                else
                        k = rmdir_tree(nsfd, sb->id);
                if (k == -EBUSY)
                        return sbx_fail(err, -EBUSY, "sandbox cgroup %s still holds processes",
                                        sb->path);
                if (k < 0)
                        return sbx_fail_errno(err, k, "removing %s", sb->path);
        }
        sb->init_fd = safe_close(sb->init_fd);
        sb->events_fd = safe_close(sb->events_fd);
        sb->fd = safe_close(sb->fd);
        /* The namespace directory goes when it is empty (ENOTEMPTY/EBUSY: others live
         * there). */
        if (nsfd >= 0)
                (void)unlinkat(sb->root->fd, p, AT_REMOVEDIR);
        return 0;
}
