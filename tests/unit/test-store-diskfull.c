/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Disk full, on a 512 KiB tmpfs mounted in a private mount namespace of a
 * forked child (so nothing leaks if the test dies): writes fail as
 * Unavailable (-ENOSPC), the store keeps serving, nothing acknowledged is
 * lost, a compaction fails cleanly, and writes work again once space is
 * freed.  The child reports through its exit code only.
 */
#include "test-store-util.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define SKIP 77

static int scenario(const char *tmp)
{
        char mnt[512], dir[600], filler[600], leftover[700];
        snprintf(mnt, sizeof(mnt), "%s/mnt", tmp);
        snprintf(dir, sizeof(dir), "%s/state", mnt);
        snprintf(filler, sizeof(filler), "%s/filler", mnt);
        snprintf(leftover, sizeof(leftover), "%s/store.log.compact", dir);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return SKIP;
        if (mkdir(mnt, 0700) < 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=512k,mode=0700") < 0)
                return SKIP;

        /* Room to free later. */
        int fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        static char chunk[64 << 10];
        memset(chunk, 'f', sizeof(chunk));
        for (int i = 0; i < 2; i++)
                if (fd < 0 || write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
                        return 20;
        close(fd);

        struct store *s = NULL;
        struct sbx_error err = {};
        if (store_open(dir, STORE_OPEN_NO_AUTO_COMPACT, &s, &err) < 0)
                return 21;
        int acked = 0, r = 0;
        for (int i = 0; i < 1000; i++) {
                char id[32];
                snprintf(id, sizeof(id), "full-%d", i);
                struct store_record *rec = mk_record("default", id, 8000);
                r = store_create_sync(s, rec, NULL, &err);
                store_record_free(rec);
                if (r < 0)
                        break;
                acked++;
        }
        if (r != -ENOSPC || err.code != -ENOSPC || !strstr(err.message, "No space left"))
                return 10;
        if (acked < 5)
                return 22;
        /* Still serving reads, nothing acknowledged lost. */
        for (int i = 0; i < acked; i++) {
                char id[32];
                snprintf(id, sizeof(id), "full-%d", i);
                if (store_get(s, "default", id, NULL, NULL) < 0)
                        return 11;
        }
        if ((int)store_count(s, "default") != acked)
                return 11;
        /* A compaction needs room too: it fails cleanly (or fits). */
        r = store_compact_sync(s, &err);
        if (r < 0 && r != -ENOSPC)
                return 13;
        if (access(leftover, F_OK) == 0)
                return 13;
        /* Free space: writes work again. */
        if (unlink(filler) < 0)
                return 23;
        struct store_record *rec = mk_record("default", "after", 8000);
        r = store_create_sync(s, rec, NULL, &err);
        store_record_free(rec);
        if (r < 0)
                return 12;
        store_close(s);
        s = NULL;
        if (store_open(dir, 0, &s, &err) < 0)
                return 14;
        for (int i = 0; i < acked; i++) {
                char id[32];
                snprintf(id, sizeof(id), "full-%d", i);
                if (store_get(s, "default", id, NULL, NULL) < 0)
                        return 14;
        }
        if (store_get(s, "default", "after", NULL, NULL) < 0 ||
            (int)store_count(s, "default") != acked + 1)
                return 15;
        store_close(s);
        return 0;
}

Test(store_diskfull, enospc_is_unavailable_and_recoverable)
{
        if (geteuid() != 0)
                cr_skip_test("needs root to mount a tmpfs");
        _cleanup_free_ char *tmp = tmp_dir();
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(scenario(tmp));
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        rm_rf(tmp);
        cr_assert(WIFEXITED(status), "child died: status %d", status);
        if (WEXITSTATUS(status) == SKIP)
                cr_skip_test("cannot mount a tmpfs in a private mount namespace");
        cr_assert_eq(WEXITSTATUS(status), 0,
                     "scenario failed at step %d (see the return codes in scenario())",
                     WEXITSTATUS(status));
}
