/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The root of our cgroup subtree: where the cgroup2 hierarchy is mounted, which
 * cgroup is ours, which controllers it offers, and why one is missing.
 */
#include "cgroups/cgroups-internal.h"

#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

const char *const cg_controller_names[_CG_CTRL_MAX] = {
        [CG_CTRL_CPUSET] = "cpuset", [CG_CTRL_CPU] = "cpu",         [CG_CTRL_IO] = "io",
        [CG_CTRL_MEMORY] = "memory", [CG_CTRL_HUGETLB] = "hugetlb", [CG_CTRL_PIDS] = "pids",
        [CG_CTRL_RDMA] = "rdma",     [CG_CTRL_MISC] = "misc",
};

int cg_controller_from_name(const char *name, size_t len)
{
        for (int i = 0; i < _CG_CTRL_MAX; i++)
                if (strlen(cg_controller_names[i]) == len &&
                    memcmp(cg_controller_names[i], name, len) == 0)
                        return i;
        return -ENOENT;
}

int cg_valid_name(const char *s)
{
        if (!s || !*s || strlen(s) >= CG_NAME_MAX - 1 || strcmp(s, ".") == 0 ||
            strcmp(s, "..") == 0)
                return 0;
        for (const char *p = s; *p; p++)
                if (*p == '/' || *p == '\n' || (unsigned char)*p < 0x20)
                        return 0;
        return 1;
}

/* A child cgroup named like an interface file ("cgroup.procs", "memory.max") cannot be
 * created, and one named like a controller's prefix would shadow its files; escape
 * those, and names that begin with '_' or '.', with a leading '_', as systemd's
 * cg_escape() does.  Valid sandbox ids and namespaces never begin with '_', so the
 * mapping is one to one. */
const char *cg_escape_name(const char *s, char buf[static CG_NAME_MAX])
{
        const char *dot = strchr(s, '.');
        bool clash = s[0] == '_' || s[0] == '.' ||
                     (dot && (strncmp(s, "cgroup", (size_t)(dot - s)) == 0 ||
                              cg_controller_from_name(s, (size_t)(dot - s)) >= 0));

        if (!clash)
                return s;
        snprintf(buf, CG_NAME_MAX, "_%s", s);
        return buf;
}

const char *cg_unescape_name(const char *s)
{
        return s[0] == '_' ? s + 1 : s;
}

int cg_read_controllers(int dirfd, const char *file, unsigned *ret_mask)
{
        _cleanup_free_ char *buf = NULL;
        int r = sbx_read_file_at(dirfd, file, 4096, &buf, NULL);
        if (r < 0)
                return r;
        unsigned mask = 0;
        char *save = NULL;
        for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
                int c = cg_controller_from_name(tok, strlen(tok));
                if (c >= 0)
                        mask |= 1u << c;
        }
        *ret_mask = mask;
        return 0;
}

/* Unescapes the octal escapes (\040) of /proc/self/mountinfo in place. */
static void unescape(char *s)
{
        char *w = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else {
                        *w++ = *p;
                }
        }
        *w = '\0';
}

struct mount_entry {
        char root[4096];
        char point[4096];
        char fstype[64];
        char superopts[1024];
};

/* Calls cb for every line of /proc/self/mountinfo; cb returns > 0 to stop. */
static int for_each_mount(int (*cb)(const struct mount_entry *m, void *u), void *u)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        struct mount_entry *m = malloc(sizeof(*m));
        if (!m)
                return -ENOMEM;
        int r = 0;
        while (getline(&line, &cap, f) > 0) {
                /* id parent maj:min root point opts [optional...] - fstype source superopts */
                char *sep = strstr(line, " - ");
                if (!sep)
                        continue;
                *sep = '\0';
                if (sscanf(line, "%*s %*s %*s %4095s %4095s", m->root, m->point) != 2)
                        continue;
                m->superopts[0] = '\0';
                if (sscanf(sep + 3, "%63s %*s %1023s", m->fstype, m->superopts) < 1)
                        continue;
                unescape(m->root);
                unescape(m->point);
                r = cb(m, u);
                if (r != 0)
                        break;
        }
        free(m);
        return r < 0 ? r : 0;
}

struct find_cgroup2 {
        const char *want; /* a path below the mount, or NULL for the first cgroup2 mount */
        size_t best_len;
        char root[4096];
        char point[4096];
};

static int find_cgroup2_cb(const struct mount_entry *m, void *u)
{
        struct find_cgroup2 *f = u;
        if (strcmp(m->fstype, "cgroup2") != 0)
                return 0;
        size_t len = strlen(m->point);
        if (f->want) {
                if (strncmp(f->want, m->point, len) != 0 ||
                    (f->want[len] != '/' && f->want[len] != '\0' && strcmp(m->point, "/") != 0))
                        return 0;
                if (f->best_len && len <= f->best_len)
                        return 0;
        } else if (f->best_len) {
                return 0;
        }
        f->best_len = len ? len : 1;
        snprintf(f->root, sizeof(f->root), "%s", m->root);
        snprintf(f->point, sizeof(f->point), "%s", m->point);
        return 0;
}

/* Our own cgroup from the "0::/path" line of /proc/self/cgroup. */
static int own_cgroup(char **ret)
{
        _cleanup_free_ char *buf = NULL;
        int r = sbx_read_file_at(AT_FDCWD, "/proc/self/cgroup", 65536, &buf, NULL);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (strncmp(l, "0::", 3) == 0) {
                        char *p = strdup(l + 3);
                        if (!p)
                                return -ENOMEM;
                        *ret = p;
                        return 0;
                }
        return -ENOENT;
}

static int mkdir_p_below(const char *mount, const char *path)
{
        /* Creates each component of path below mount (path starts with mount). */
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + strlen(mount) + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int cg_root_open(const char *explicit_root, unsigned flags, struct cg_root **ret,
                 struct sbx_error *err)
{
        _cleanup_free_ char *path = NULL, *cgroup = NULL;
        struct find_cgroup2 *f = calloc(1, sizeof(*f));
        if (!f)
                return sbx_fail(err, -ENOMEM, "out of memory");
        int r;

        if (explicit_root) {
                if (explicit_root[0] != '/') {
                        free(f);
                        return sbx_fail(err, -EINVAL, "cgroup root %s: not an absolute path",
                                        explicit_root);
                }
                path = strdup(explicit_root);
                if (!path) {
                        free(f);
                        return sbx_fail(err, -ENOMEM, "out of memory");
                }
                size_t n = strlen(path);
                while (n > 1 && path[n - 1] == '/')
                        path[--n] = '\0';
                f->want = path;
        }
        r = for_each_mount(find_cgroup2_cb, f);
        if (r < 0 || !f->best_len) {
                free(f);
                if (r < 0)
                        return sbx_fail_errno(err, r, "reading /proc/self/mountinfo");
                return sbx_fail(err, -ENOENT, "%s%s: no cgroup2 hierarchy is mounted there",
                                explicit_root ? "cgroup root " : "cgroup root",
                                explicit_root ? explicit_root : "");
        }

        _cleanup_free_ char *mount = strdup(f->point);
        if (!mount) {
                free(f);
                return sbx_fail(err, -ENOMEM, "out of memory");
        }
        if (explicit_root) {
                /* cgroup path = mount root + the part below the mount point. */
                const char *below = path + (strcmp(mount, "/") == 0 ? 0 : strlen(mount));
                const char *mroot = strcmp(f->root, "/") == 0 ? "" : f->root;
                if (asprintf(&cgroup, "%s%s", mroot, *below ? below : "/") < 0)
                        cgroup = NULL;
        } else {
                r = own_cgroup(&cgroup);
                if (r < 0) {
                        free(f);
                        return sbx_fail_errno(err, r, "reading /proc/self/cgroup");
                }
                /* The mount may show a subtree (cgroup namespace, bind mount). */
                const char *rel = cgroup;
                size_t rl = strlen(f->root);
                if (strcmp(f->root, "/") != 0 && strncmp(cgroup, f->root, rl) == 0)
                        rel = cgroup + rl;
                if (asprintf(&path, "%s%s", strcmp(mount, "/") == 0 ? "" : mount,
                             strcmp(rel, "/") == 0 ? "" : rel) < 0)
                        path = NULL;
                if (path && !*path) {
                        free(path);
                        path = strdup("/");
                }
        }
        free(f);
        if (!path || !cgroup)
                return sbx_fail(err, -ENOMEM, "out of memory");

        if (strcmp(path, mount) == 0)
                return sbx_fail(err, -EBUSY,
                                "cgroup root %s is the top of the cgroup2 hierarchy; refusing to "
                                "manage the host's root cgroup (give a --cgroup-root below it)",
                                path);

        if ((flags & CG_ROOT_CREATE) && explicit_root) {
                r = mkdir_p_below(mount, path);
                if (r < 0)
                        return sbx_fail_errno(err, r, "creating cgroup root %s", path);
        }

        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return sbx_fail_errno(err, -errno, "opening cgroup root %s", path);
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return sbx_fail_errno(err, -errno, "statfs %s", path);
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return sbx_fail(err, -EINVAL, "cgroup root %s is not on a cgroup2 file system",
                                path);

        struct cg_root *root = calloc(1, sizeof(*root));
        if (!root)
                return sbx_fail(err, -ENOMEM, "out of memory");
        root->fd = TAKE_FD(fd);
        root->key_link = -EBADF;
        root->path = TAKE_PTR(path);
        root->cgroup = TAKE_PTR(cgroup);
        root->mount = TAKE_PTR(mount);
        *ret = root;
        return 0;
}

void cg_root_free(struct cg_root *r)
{
        if (!r)
                return;
        cg_devices_cache_clear(r);
        safe_close(r->key_link);
        safe_close(r->fd);
        free(r->path);
        free(r->cgroup);
        free(r->mount);
        free(r);
}

const char *cg_root_path(const struct cg_root *r)
{
        return r->path;
}

const char *cg_root_cgroup(const struct cg_root *r)
{
        return r->cgroup;
}

int cg_root_fd(const struct cg_root *r)
{
        return r->fd;
}

int cg_root_move_self_to_supervisor(struct cg_root *r, struct sbx_error *err)
{
        if (mkdirat(r->fd, "supervisor", 0755) < 0 && errno != EEXIST)
                return sbx_fail_errno(err, -errno, "creating %s/supervisor", r->path);
        /* "0" moves the writing process (all its threads) — cgroup-v2.rst. */
        int k = sbx_write_file_at(r->fd, "supervisor/cgroup.procs", "0");
        if (k < 0)
                return sbx_fail_errno(err, k, "moving the daemon into %s/supervisor", r->path);
        return 0;
}

int cg_root_for_each_sandbox(struct cg_root *r,
                             int (*cb)(const char *ns, const char *id, void *userdata),
                             void *userdata, struct sbx_error *err)
{
        int sfd = openat(r->fd, "sandboxes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0) {
                if (errno == ENOENT)
                        return 0;
                return sbx_fail_errno(err, -errno, "opening %s/sandboxes", r->path);
        }
        DIR *d = fdopendir(sfd);
        if (!d) {
                int k = -errno;
                safe_close(sfd);
                return sbx_fail_errno(err, k, "opening %s/sandboxes", r->path);
        }
        int ret = 0;
        struct dirent *de;
        while (ret >= 0 && (de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                int nfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (nfd < 0)
                        continue;
                DIR *nd = fdopendir(nfd);
                if (!nd) {
                        safe_close(nfd);
                        continue;
                }
                struct dirent *ie;
                while (ret >= 0 && (ie = readdir(nd))) {
                        if (ie->d_type != DT_DIR || ie->d_name[0] == '.')
                                continue;
                        int k = cb(cg_unescape_name(de->d_name), cg_unescape_name(ie->d_name),
                                   userdata);
                        if (k < 0)
                                ret = k;
                }
                closedir(nd);
        }
        closedir(d);
        return ret;
}

struct v1_find {
        const char *ctrl;
        bool found;
};

static int v1_find_cb(const struct mount_entry *m, void *u)
{
        struct v1_find *v = u;
        if (strcmp(m->fstype, "cgroup") != 0)
                return 0;
        size_t l = strlen(v->ctrl);
        for (const char *p = m->superopts; (p = strstr(p, v->ctrl)); p += l) {
                bool start = p == m->superopts || p[-1] == ',';
                bool end = p[l] == ',' || p[l] == '\0';
                if (start && end) {
                        v->found = true;
                        return 1;
                }
        }
        return 0;
}

void cg_controller_missing_reason(const struct cg_root *r, int ctrl, char *buf, size_t size)
{
        const char *name = cg_controller_names[ctrl];
        struct v1_find v = {.ctrl = name};

        (void)for_each_mount(v1_find_cb, &v);
        if (v.found) {
                snprintf(buf, size, "%s controller is bound to a cgroup v1 hierarchy", name);
                return;
        }
        unsigned top = 0;
        _cleanup_close_ int mfd = open(r->mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (mfd >= 0 && cg_read_controllers(mfd, "cgroup.controllers", &top) >= 0 &&
            (top & (1u << ctrl))) {
                snprintf(buf, size,
                         "%s controller is not delegated to %s (enable it in its parent's "
                         "cgroup.subtree_control)",
                         name, r->path);
                return;
        }
        snprintf(buf, size, "%s controller is not available in the running kernel", name);
}

int cg_enable_controllers(int dirfd, const char *what, unsigned mask, struct sbx_error *err)
{
        unsigned have = 0;
        int k;

        if (!mask)
                return 0; /* nothing to enable: no need to read what is */
        k = cg_read_controllers(dirfd, "cgroup.subtree_control", &have);
        if (k < 0)
                return sbx_fail_errno(err, k, "reading %s/cgroup.subtree_control", what);
        for (int c = 0; c < _CG_CTRL_MAX; c++) {
                if (!(mask & (1u << c)) || (have & (1u << c)))
                        continue;
                char buf[32];
                snprintf(buf, sizeof(buf), "+%s", cg_controller_names[c]);
                k = sbx_write_file_at(dirfd, "cgroup.subtree_control", buf);
                if (k == -EBUSY)
                        return sbx_fail(err, -EBUSY,
                                        "cannot enable the %s controller in %s: it holds "
                                        "processes (no-internal-processes rule; move the daemon "
                                        "into a supervisor leaf first)",
                                        cg_controller_names[c], what);
                if (k < 0)
                        return sbx_fail_errno(err, k, "enabling the %s controller in %s",
                                              cg_controller_names[c], what);
        }
        return 0;
}
