/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pin directory of the exit watcher (pins-internal.h): bpffs, the
 * directory itself, and the checks of what is pinned in it.  The layout of
 * the directory is described in exitwatch.c.
 */
#include "bpf/pins-internal.h"

#include "common/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BPFFS_ROOT "/sys/fs/bpf"

int exitwatch_unavailable(struct sbx_error *err, const char *fmt, ...)
{
        char reason[200];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        return sbx_fail(err, -EOPNOTSUPP, "exitwatch unavailable: %s", reason);
}

bool pins_on_bpffs(const char *path)
{
        struct statfs sfs;

        return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == BPF_FS_MAGIC;
}

/* Mounts bpffs at /sys/fs/bpf when pin_dir lives there and it is not mounted
 * (systemd mounts it on most hosts; minimal systems and VMs do not).  Safe:
 * bpffs is an empty, root-only (mode 0700) filesystem at its standard place. */
int pins_ensure_bpffs(const char *pin_dir, struct sbx_error *err)
{
        _cleanup_close_ int lock_fd = -EBADF;
        size_t n = strlen(BPFFS_ROOT);

        if (strncmp(pin_dir, BPFFS_ROOT, n) != 0 || (pin_dir[n] != '/' && pin_dir[n] != 0))
                return 0;
        if (pins_on_bpffs(BPFFS_ROOT))
                return 0;
        if (mkdir(BPFFS_ROOT, 0700) < 0 && errno != EEXIST)
                return sbx_fail_errno(err, -errno, "mkdir %s", BPFFS_ROOT);
        /* Two openers racing here (tests run in parallel on a fresh machine)
         * would stack two mounts, hiding the first one's pins: serialise on the
         * directory under the mount point, and look again once we hold it. */
        lock_fd = open(BPFFS_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock_fd < 0)
                return sbx_fail_errno(err, -errno, "open %s", BPFFS_ROOT);
        if (flock(lock_fd, LOCK_EX) < 0)
                return sbx_fail_errno(err, -errno, "lock %s", BPFFS_ROOT);
        if (pins_on_bpffs(BPFFS_ROOT))
                return 0;
        if (mount("bpf", BPFFS_ROOT, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0) {
                if (errno == EPERM)
                        return exitwatch_unavailable(
                                err, "cannot mount bpffs at %s (not privileged)", BPFFS_ROOT);
                if (errno == ENODEV)
                        return exitwatch_unavailable(err, "kernel has no bpf filesystem");
                return sbx_fail_errno(err, -errno, "mount bpffs at %s", BPFFS_ROOT);
        }
        return 0;
}

int pins_mkdir_p(const char *path, struct sbx_error *err)
{
        char buf[PATH_MAX];

        if (strlen(path) >= sizeof(buf))
                return sbx_fail(err, -ENAMETOOLONG, "pin directory path too long");
        strcpy(buf, path);
        for (char *p = buf + 1;; p++) {
                if (*p == '/' || *p == 0) {
                        char c = *p;

                        *p = 0;
                        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                                return sbx_fail_errno(err, -errno, "mkdir %s", buf);
                        *p = c;
                        if (c == 0)
                                break;
                }
        }
        return 0;
}

int pins_check_dir(const char *pin_dir, struct sbx_error *err)
{
        if (pin_dir[0] != '/')
                return sbx_fail(err, -EINVAL, "pin directory %s: not an absolute path", pin_dir);
        if (strlen(pin_dir) + 16 >= PATH_MAX)
                return sbx_fail(err, -ENAMETOOLONG, "pin directory path too long");
        for (const char *p = pin_dir; p; p = strchr(p + 1, '/')) {
                size_t n = strcspn(p + 1, "/");

                if ((n == 1 && p[1] == '.') || (n == 2 && p[1] == '.' && p[2] == '.'))
                        return sbx_fail(err, -EINVAL, "pin directory %s: '.' or '..' component",
                                        pin_dir);
        }
        return 0;
}

int pins_remove(int dir_fd, struct sbx_error *err)
{
        _cleanup_close_ int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fd < 0)
                return sbx_fail_errno(err, -errno, "dup pin directory fd");
        d = fdopendir(fd);
        if (!d)
                return sbx_fail_errno(err, -errno, "read pin directory");
        TAKE_FD(fd);
        rewinddir(d); /* the dup shares its offset with dir_fd */
        while ((de = readdir(d))) {
                if (de->d_type == DT_DIR)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        r = sbx_fail_errno(err, -errno, "remove pin %s", de->d_name);
                        break;
                }
        }
        closedir(d);
        return r;
}

int pins_count(int dir_fd)
{
        _cleanup_close_ int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        struct dirent *de;
        DIR *d;
        int n = 0;

        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d)
                return 0;
        TAKE_FD(fd);
        rewinddir(d); /* the dup shares its offset with dir_fd */
        while ((de = readdir(d)))
                if (de->d_type != DT_DIR)
                        n++;
        closedir(d);
        return n;
}

int pins_obj_get(const char *pin_dir, const char *name)
{
        char path[PATH_MAX];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
        fd = bpf_obj_get(path);
        return fd < 0 ? -errno : fd;
}

int pins_check_map(int fd, enum bpf_map_type type, uint32_t key_size, uint32_t value_size,
                   uint32_t max_entries)
{
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        if (info.type != type || info.key_size != key_size || info.value_size != value_size ||
            info.max_entries != max_entries)
                return -EPROTO;
        return 0;
}
