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

char *sup_statefile_format(const struct sup_sandbox *sb)
{
        char created[SBX_RFC3339_MAX] = "", started[SBX_RFC3339_MAX] = "",
             exited[SBX_RFC3339_MAX] = "", status[16] = "", netns[4096] = "";
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        if (sb->created_at)
                sbx_format_rfc3339(sb->created_at, created);
        if (sb->started_at)
                sbx_format_rfc3339(sb->started_at, started);
        if (sb->exited) {
                sbx_format_rfc3339(sb->exited_at, exited);
                snprintf(status, sizeof(status), "%d", sb->exit_status);
        }
        if (sb->netns_mounted)
                snprintf(netns, sizeof(netns), "%s/%s/%s/netns", sup_config.run_dir, sb->ns,
                         sb->id);
        fprintf(f,
                "ID=%s\nNAMESPACE=%s\nSTATE=%s\nPID=%d\nSTART_TIME=%llu\nCGROUP=%s\n"
                "CGROUP_ID=%llu\nCREATED_AT=%s\nSTARTED_AT=%s\nEXITED_AT=%s\nEXIT_STATUS=%s\n"
                "OOM_KILLED=%d\nNETNS=%s\nLOG=%s/%s/%s/log\n",
                sb->id, sb->ns, sup_state_name(sb->state), (int)sb->pid,
                (unsigned long long)sb->start_time, sb->cg ? cg_sandbox_path(sb->cg) : "",
                (unsigned long long)sb->cgroup_id, created, started, exited, status,
                sb->oom_killed ? 1 : 0, netns, sup_config.run_dir, sb->ns, sb->id);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int sup_statefile_write(const struct sup_sandbox *sb)
{
        _cleanup_free_ char *text = sup_statefile_format(sb);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!text)
                return -ENOMEM;
        if (sb->run_dirfd < 0)
                return -EBADF;
        fd = openat(sb->run_dirfd, "state.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        r = sbx_write_all(fd, text, strlen(text));
        if (r < 0)
                return r;
        fd = safe_close(fd);
        if (renameat(sb->run_dirfd, "state.tmp", sb->run_dirfd, "state") < 0)
                return -errno;
        return 0;
}
