/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The sync protocol between iso_spawn() (the parent), the clone3 child and
 * sandbox-init, over one SOCK_SEQPACKET socketpair.  Every message is one
 * struct iso_sync_msg.
 *
 *   parent → child   ISO_STEP_GO once the user namespace maps are written
 *   child  → parent  {step, index, errno} when a setup step fails (then it exits)
 *   init   → parent  ISO_STEP_INIT_STARTED once sandbox-init runs
 *   init's child → parent  {ISO_STEP_EXEC, 0, errno} when exec of the process fails
 *
 * The socket reaches sandbox-init as fd ISO_SYNC_FD; sandbox-init closes it as
 * soon as the process is started, and the process gets it close-on-exec, so the
 * parent reads until EOF: success is INIT_STARTED without an error.
 */

#include <stdint.h>

#define ISO_SYNC_FD 3

enum iso_step {
        ISO_STEP_GO = 1,
        ISO_STEP_INIT_STARTED,
        ISO_STEP_SYNC,
        ISO_STEP_SETNS,
        ISO_STEP_STDIO,
        ISO_STEP_LOOPBACK,
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
