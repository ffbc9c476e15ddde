/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How the clone3 child of iso_spawn()/iso_spawn_task() reports to the parent.
 * Every report is one struct iso_sync_msg.  In fork mode they travel on one
 * SOCK_SEQPACKET socketpair (close-on-exec in the child, so the parent reads
 * until EOF); in vm mode (CLONE_VM|CLONE_VFORK) the child stores them in a
 * struct iso_child_report in the parent's memory, which the parent reads once
 * clone3 returns (the child has then executed sandbox-init, or exited).
 *
 *   parent → child   ISO_STEP_GO once the user namespace maps are written (fork mode)
 *   child  → parent  {step, index, errno} when a setup step fails (then it exits)
 *   child  → parent  ISO_STEP_CHILD_PID {index = pid}: after joining a user namespace,
 *                    the sibling that carries on in the new pid namespace (fork mode)
 *   child  → parent  ISO_STEP_INIT_STARTED right before executing sandbox-init (or a
 *                    task's process); the spec's process has been executed by then
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum iso_step {
        ISO_STEP_GO = 1,
        ISO_STEP_INIT_STARTED,
        ISO_STEP_SYNC,
        ISO_STEP_CHILD_PID,
        ISO_STEP_SETNS,
        ISO_STEP_UNSHARE,
        ISO_STEP_STDIO,
        ISO_STEP_LOOPBACK,
        ISO_STEP_NETNS,
        ISO_STEP_PROPAGATION,
        ISO_STEP_ROOT,
        ISO_STEP_ROOT_READONLY,
        ISO_STEP_MOUNT_RESOLVE,
        ISO_STEP_MOUNT_MKDIR,
        ISO_STEP_MOUNT,
        ISO_STEP_MOUNT_FLAGS,
        ISO_STEP_DEVICES,
        ISO_STEP_SYSCTL,
        ISO_STEP_MASK,
        ISO_STEP_READONLY_PATH,
        ISO_STEP_PIVOT,
        ISO_STEP_HOSTNAME,
        ISO_STEP_RLIMIT,
        ISO_STEP_OOM_SCORE_ADJ,
        ISO_STEP_GROUPS,
        ISO_STEP_GID,
        ISO_STEP_UID,
        ISO_STEP_BOUNDING,
        ISO_STEP_CAPS,
        ISO_STEP_AMBIENT,
        ISO_STEP_NO_NEW_PRIVS,
        ISO_STEP_SECCOMP,
        ISO_STEP_CWD,
        ISO_STEP_EXEC_INIT,
        ISO_STEP_EXEC,
        ISO_STEP_INIT,
};

struct iso_sync_msg {
        int32_t step;
        int32_t index; /* mount, sysctl, path or rlimit index; 0 otherwise */
        int32_t error; /* positive errno */
};

/* vm mode: the child's reports, in the parent's memory. */
struct iso_child_report {
        struct iso_sync_msg failure; /* step 0: none */
        pid_t pid;                   /* ISO_STEP_CHILD_PID */
        bool started;                /* ISO_STEP_INIT_STARTED */
        uint64_t start_time;         /* iso_process.start_time, 0: unknown */
};
