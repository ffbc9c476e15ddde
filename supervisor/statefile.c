/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RUN_DIR/NS/ID/state: KEY=VALUE lines for shell tools (docs/api.md, "Files"),
 * replaced atomically: written to state.tmp, then renamed over state, so a reader
 * sees the old or the new file, never a mix.  No fsync: /run is a tmpfs and the
 * file describes processes that do not survive a reboot either.
 */
#include "supervisor/sandboxd-internal.h"

#include "cgroups/cgroups.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Formats into buf; returns the length, or -ENAMETOOLONG when it does not fit. */
static int format_into(const struct sup_sandbox *sb, char *buf, size_t size)
{
        char created[SBX_RFC3339_MAX] = "", started[SBX_RFC3339_MAX] = "",
             exited[SBX_RFC3339_MAX] = "", status[16] = "";
        int n;

        if (sb->created_at)
                sbx_format_rfc3339(sb->created_at, created);
        if (sb->started_at)
                sbx_format_rfc3339(sb->started_at, started);
        if (sb->exited) {
                sbx_format_rfc3339(sb->exited_at, exited);
                snprintf(status, sizeof(status), "%d", sb->exit_status);
        }
        n = snprintf(buf, size,
                     "ID=%s\nNAMESPACE=%s\nSTATE=%s\nPID=%d\nSTART_TIME=%llu\nCGROUP=%s\n"
                     "CGROUP_ID=%llu\nCREATED_AT=%s\nSTARTED_AT=%s\nEXITED_AT=%s\n"
                     "EXIT_STATUS=%s\nOOM_KILLED=%d\nNETNS=%s%s%s%s%s%s\nLOG=%s/%s/%s/log\n",
                     sb->id, sb->ns, sup_state_name(sb->state), (int)sb->pid,
                     (unsigned long long)sb->start_time, sb->cg ? cg_sandbox_path(sb->cg) : "",
                     (unsigned long long)sb->cgroup_id, created, started, exited, status,
                     sb->oom_killed ? 1 : 0, sb->netns_mounted ? sup_config.run_dir : "",
                     sb->netns_mounted ? "/" : "", sb->netns_mounted ? sb->ns : "",
                     sb->netns_mounted ? "/" : "", sb->netns_mounted ? sb->id : "",
                     sb->netns_mounted ? "/netns" : "", sup_config.run_dir, sb->ns, sb->id);
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return n;
}

char *sup_statefile_format(const struct sup_sandbox *sb)
{
        char buf[16384];

        return format_into(sb, buf, sizeof(buf)) < 0 ? NULL : strdup(buf);
}

/* On every state change, so no allocation: the text is built on the stack. */
int sup_statefile_write(const struct sup_sandbox *sb)
{
        char text[16384];
        _cleanup_close_ int fd = -EBADF;
        int n, r;

        if (sb->run_dirfd < 0)
                return -EBADF;
        n = format_into(sb, text, sizeof(text));
        if (n < 0)
                return n;
        fd = openat(sb->run_dirfd, "state.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        r = sbx_write_all(fd, text, (size_t)n);
        fd = safe_close(fd);
        if (r == 0 && renameat(sb->run_dirfd, "state.tmp", sb->run_dirfd, "state") < 0)
                r = -errno;
        if (r < 0) /* the old state stays; no state.tmp is left for the teardown */
                (void)unlinkat(sb->run_dirfd, "state.tmp", 0);
        return r;
}
