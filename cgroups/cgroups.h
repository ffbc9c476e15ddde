/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * cgroups — the sandbox's cgroup v2 subtree (DESIGN.md §5, docs/cgroups.md).
 *
 * Everything goes through dirfds below one root: the daemon's delegated
 * cgroup (systemd Delegate=yes) or an explicit --cgroup-root.  Layout:
 *
 *     <root>/supervisor/                     the daemon itself (after move_self)
 *     <root>/sandboxes/<ns>/<id>/            limits, device program, kill, freeze
 *     <root>/sandboxes/<ns>/<id>/init/       the sandbox's init (CLONE_INTO_CGROUP)
 *     <root>/sandboxes/<ns>/<id>/tasks/<t>/  tasks started later
 *
 * Functions return 0 (or a positive value where said) on success and a
 * negative errno on failure, with a message in *err (may be NULL).  The errno
 * follows DESIGN.md: -EEXIST AlreadyExists, -ENOENT NotFound, -EINVAL
 * InvalidArgument, -EBUSY FailedPrecondition (missing controller, sandbox
 * still populated), anything else Internal.
 *
 * Library code: nothing here logs above debug, nothing exits.
 */

#include "common/cleanup.h"
#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_root;
struct cg_sandbox;
struct cg_resources;

/* ---- root -------------------------------------------------------------- */

enum {
        /* cg_root_open: create an explicit root directory if it is missing (mkdir -p
         * below the cgroup2 mount). */
        CG_ROOT_CREATE = 1u << 0,
};

/* Opens the root of our subtree.  explicit_root: an absolute path inside a cgroup2
 * mount (e.g. "/sys/fs/cgroup/sandboxd"), or NULL for the daemon's own cgroup (from
 * /proc/self/cgroup, on the cgroup2 mount found in /proc/self/mountinfo).  The
 * host's root cgroup itself is refused (-EBUSY): we never write its
 * subtree_control. */
int cg_root_open(const char *explicit_root, unsigned flags, struct cg_root **ret,
                 struct sbx_error *err);
void cg_root_free(struct cg_root *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cg_root *, cg_root_free);
#define _cleanup_cg_root_ _cleanup_(cg_root_freep)

/* Absolute filesystem path of the root ("/sys/fs/cgroup/unified/x"). */
const char *cg_root_path(const struct cg_root *r);
/* The root's path as /proc/PID/cgroup shows it ("/x"). */
const char *cg_root_cgroup(const struct cg_root *r);
/* O_PATH|O_DIRECTORY fd of the root, owned by r. */
int cg_root_fd(const struct cg_root *r);

/* Delegate=yes layout: moves the calling process into <root>/supervisor, so that
 * the root holds no process and may enable controllers for its children. */
int cg_root_move_self_to_supervisor(struct cg_root *r, struct sbx_error *err);

/* Calls cb for every <root>/sandboxes/<ns>/<id> directory (e.g. leftovers after a
 * crash).  A negative return of cb stops the walk and is returned. */
int cg_root_for_each_sandbox(struct cg_root *r,
                             int (*cb)(const char *ns, const char *id, void *userdata),
                             void *userdata, struct sbx_error *err);

/* ---- resources (OCI linux.resources) ----------------------------------- */

/* Parses OCI linux.resources (jansson object; NULL or JSON null = no limits, default
 * device rules).  Unknown keys are ignored; malformed values are -EINVAL naming the
 * field.  v1-only fields (memory.swappiness, kernel, kernelTCP, disableOOMKiller,
 * network) and blockIO are kept as "unsupported" and treated at create time like a
 * missing controller. */
int cg_resources_parse(const json_t *linux_resources, struct cg_resources **ret,
                       struct sbx_error *err);
void cg_resources_free(struct cg_resources *res);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cg_resources *, cg_resources_free);
#define _cleanup_cg_resources_ _cleanup_(cg_resources_freep)

/* Appends one device rule after those of the spec (e.g. for linux.devices nodes, as
 * runc does).  type 'a', 'b' or 'c'; major/minor -1 = any; access a subset of "rwm". */
int cg_resources_add_device_rule(struct cg_resources *res, char type, int64_t major, int64_t minor,
                                 const char *access, bool allow, struct sbx_error *err);

/* The OCI cpu.shares → cgroup v2 cpu.weight conversion of crun 1.23+ and runc 1.3.2+:
 * l = log2(shares), weight = ceil(10^((l^2 + 125 l) / 612 - 7/34)), shares clamped to
 * [2, 262144]; 2 → 1, 1024 → 100, 262144 → 10000 (docs/cgroups.md). */
uint64_t cg_shares_to_weight(uint64_t shares);

/* ---- sandboxes ---------------------------------------------------------- */

enum {
        /* A limit whose controller is unavailable is skipped and reported by
         * cg_sandbox_skipped() instead of failing with -EBUSY. */
        CG_BEST_EFFORT = 1u << 0,
        /* Do not attach a device program (the caller enforces devices otherwise). */
        CG_NO_DEVICES = 1u << 1,
        /* Also enable the accounting controllers (memory, pids, cpu, io) where the root
         * has them, so cg_sandbox_stats() reports them for a sandbox without limits.
         * A missing one is not an error. */
        CG_ACCOUNTING = 1u << 2,
};

/* Creates <root>/sandboxes/<ns>/<id>/ and its init/ leaf, enables in
 * subtree_control (of root, sandboxes/, <ns>/ only) the controllers the limits
 * need, writes the limits on <id>/ and attaches the device program.  res may be NULL
 * (no limits, default device rules).  -EEXIST if the sandbox cgroup exists; -EBUSY
 * ("memory controller is bound to a cgroup v1 hierarchy") when a controller is
 * missing and CG_BEST_EFFORT is not given; -EINVAL for an invalid name or a value the
 * kernel rejects (naming file and value).  The device program is loaded once per
 * distinct rule list and cached in r.  On failure nothing is left behind. */
int cg_sandbox_create(struct cg_root *r, const char *ns, const char *id,
                      const struct cg_resources *res, unsigned flags, struct cg_sandbox **ret,
                      struct sbx_error *err);

/* Re-opens an existing sandbox cgroup (daemon restart, leftover cleanup).  -ENOENT
 * if missing.  The init/ leaf is created if it is missing. */
int cg_sandbox_open(struct cg_root *r, const char *ns, const char *id, struct cg_sandbox **ret,
                    struct sbx_error *err);

/* Closes fds and frees; does not touch the cgroup. */
void cg_sandbox_free(struct cg_sandbox *sb);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cg_sandbox *, cg_sandbox_free);
#define _cleanup_cg_sandbox_ _cleanup_(cg_sandbox_freep)

/* NULL-terminated list of "controller: reason" strings for limits skipped under
 * CG_BEST_EFFORT (empty list, never NULL). Owned by sb. */
const char *const *cg_sandbox_skipped(const struct cg_sandbox *sb);

/* O_PATH|O_DIRECTORY fd of the init/ leaf for clone3(CLONE_INTO_CGROUP). Owned by sb. */
int cg_sandbox_init_fd(const struct cg_sandbox *sb);
/* O_RDONLY|O_DIRECTORY fd of <id>/ (a real open file, as BPF_PROG_ATTACH needs). Owned
 * by sb. */
int cg_sandbox_fd(const struct cg_sandbox *sb);
/* cgroup id of <id>/: the inode number of the directory, which is what BPF sees
 * (bpf_get_current_ancestor_cgroup_id() at <id>'s level for any process inside;
 * task->cgroups->dfl_cgrp->kn->id of an ancestor). */
uint64_t cg_sandbox_id(const struct cg_sandbox *sb);
/* cgroup id of the init/ leaf (what bpf_get_current_cgroup_id() returns for the init). */
uint64_t cg_sandbox_init_id(const struct cg_sandbox *sb);
/* Absolute filesystem path of <id>/ ("/sys/fs/cgroup/x/sandboxes/ns/id"). */
const char *cg_sandbox_path(const struct cg_sandbox *sb);
/* <id>/ as /proc/PID/cgroup shows it ("/x/sandboxes/ns/id"). */
const char *cg_sandbox_cgroup(const struct cg_sandbox *sb);

/* Creates <id>/tasks/<name>/ and returns an O_PATH|O_DIRECTORY|O_CLOEXEC fd of it
 * (caller owns) for CLONE_INTO_CGROUP; ret_id (may be NULL) gets its cgroup id.
 * -EEXIST if it exists. */
int cg_task_create(struct cg_sandbox *sb, const char *name, int *ret_fd, uint64_t *ret_id,
                   struct sbx_error *err);
/* Removes <id>/tasks/<name>/ (-EBUSY while populated; 0 if already gone). */
int cg_task_remove(struct cg_sandbox *sb, const char *name, struct sbx_error *err);

/* SIGKILLs every process in the sandbox subtree: cgroup.kill (Linux 5.14+); on
 * older kernels freeze, SIGKILL every pid of every cgroup.procs, thaw.  Returns
 * without waiting for the processes to be gone (see cg_sandbox_wait_empty). */
int cg_sandbox_kill(struct cg_sandbox *sb, struct sbx_error *err);

/* cgroup.freeze = 1 / 0, then waits (EPOLLPRI on cgroup.events, no sleeping) for
 * "frozen 1" / "frozen 0".  timeout_ms < 0: no timeout; -ETIMEDOUT on expiry. */
int cg_sandbox_freeze(struct cg_sandbox *sb, int timeout_ms, struct sbx_error *err);
int cg_sandbox_thaw(struct cg_sandbox *sb, int timeout_ms, struct sbx_error *err);

/* fd of <id>/cgroup.events (owned by sb): poll it for EPOLLPRI, which fires when
 * "populated" or "frozen" changes; then call cg_sandbox_populated(). */
int cg_sandbox_events_fd(const struct cg_sandbox *sb);
/* 1 if any process lives in the subtree, 0 if not, or -errno. */
int cg_sandbox_populated(struct cg_sandbox *sb);
/* Waits until "populated 0" (EPOLLPRI).  -ETIMEDOUT after timeout_ms (<0: forever). */
int cg_sandbox_wait_empty(struct cg_sandbox *sb, int timeout_ms, struct sbx_error *err);

enum {
        CG_STATS_MEMORY = 1u << 0,       /* memory.current, memory.events */
        CG_STATS_MEMORY_PEAK = 1u << 1,  /* memory.peak (Linux 5.19+) */
        CG_STATS_PIDS = 1u << 2,         /* pids.current */
        CG_STATS_PIDS_PEAK = 1u << 3,    /* pids.peak (when the kernel has it) */
        CG_STATS_CPU = 1u << 4,          /* cpu.stat usage/user/system (always on v2) */
        CG_STATS_CPU_THROTTLE = 1u << 5, /* cpu.stat nr_periods/nr_throttled/throttled_usec */
        CG_STATS_IO = 1u << 6,           /* io.stat, summed over devices */
};

struct cg_stats {
        unsigned present; /* CG_STATS_* bits: fields outside it are 0 and meaningless */
        struct {
                uint64_t current, peak;
                uint64_t low, high, max, oom, oom_kill; /* memory.events */
        } memory;
        struct {
                uint64_t current, peak;
        } pids;
        struct {
                uint64_t usage_usec, user_usec, system_usec;
                uint64_t nr_periods, nr_throttled, throttled_usec;
        } cpu;
        struct {
                uint64_t rbytes, wbytes, rios, wios;
        } io;
};

/* Reads the statistics of <id>/ (hierarchical: init and tasks included). */
int cg_sandbox_stats(struct cg_sandbox *sb, struct cg_stats *ret, struct sbx_error *err);

/* Removes <id>/ with its init/ and tasks/ leaves, then <ns>/ if it is empty.  -EBUSY
 * while any process lives in it (kill and wait first).  Safe on leftovers of an
 * earlier run: missing leaves are fine, unknown subdirectories are removed
 * depth-first.  sb stays valid for cg_sandbox_free() only. */
int cg_sandbox_remove(struct cg_sandbox *sb, struct sbx_error *err);
