/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Spawning a task's process inside a running sandbox.  The work (setns through
 * the init's pidfd, CLONE_INTO_CGROUP, the sandbox's seccomp profile,
 * capabilities, no_new_privs, user, rlimits, exec) belongs to isolation/
 * (iso_spawn_task()); this file adapts it to the daemon.
 */
#include "supervisor/tasks-internal.h"

#include <errno.h>

int sup_task_spawn(struct sup_sandbox *sb, const json_t *process, int cg_fd, int out_fd,
                   pid_t *ret_pid, int *ret_pidfd, struct sbx_error *err)
{
        return sbx_fail(err, -EOPNOTSUPP,
                        "tasks are not available: this build has no task spawner "
                        "(isolation/iso_spawn_task)");
}
