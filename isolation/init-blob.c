/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The embedded sandbox-init (isolation/init/sandbox-init.c, linked statically)
 * and its sealed memfd.  The binary is pulled into this object with .incbin
 * (ISO_INIT_BIN is set by isolation/module.mk); at first use it is copied into a
 * memfd whose seals forbid any further change, so no rootfs needs to contain
 * it and no sandbox can overwrite it (the CVE-2019-5736 class).  The memfd is
 * kept open (close-on-exec) for the life of the process.
 */
#include "isolation/isolation-internal.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: memfd_noexec sysctl */
#endif

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".global iso_init_blob\n"
        ".hidden iso_init_blob\n"
        "iso_init_blob:\n"
        ".incbin \"" ISO_INIT_BIN "\"\n"
        ".global iso_init_blob_end\n"
        ".hidden iso_init_blob_end\n"
        "iso_init_blob_end:\n"
        ".previous\n");

extern const unsigned char iso_init_blob[], iso_init_blob_end[];

static int init_memfd_locked(struct sbx_error *err)
{
        static int cached = -1;
        int fd, r;

        if (cached >= 0)
                return cached;
        fd = memfd_create("sandbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
                fd = memfd_create("sandbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return sbx_fail_errno(err, -errno, "memfd_create for sandbox-init");
        r = sbx_write_all(fd, iso_init_blob, (size_t)(iso_init_blob_end - iso_init_blob));
        if (r < 0) {
                close(fd);
                return sbx_fail(err, r, "writing sandbox-init into its memfd");
        }
        if (fchmod(fd, 0555) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
                r = -errno;
                close(fd);
                return sbx_fail_errno(err, r, "sealing the sandbox-init memfd");
        }
        cached = fd;
        return fd;
}

int iso_init_memfd(struct sbx_error *err)
{
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        int fd;

        /* Spawns may run on several threads: one memfd for all. */
        pthread_mutex_lock(&lock);
        fd = init_memfd_locked(err);
        pthread_mutex_unlock(&lock);
        return fd;
}
