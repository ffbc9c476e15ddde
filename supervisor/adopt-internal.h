/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Restart: what the previous daemon left running, read back from the run
 * directory (docs/api.md "Restarts").
 *
 * sup_adopt_scan() reads every RUN_DIR/NS/ID/state file (and the task state
 * files RUN_DIR/NS/ID/tasks/TID.state) and decides, for each process
 * recorded as running, whether it is still the same process:
 *
 *   - pidfd_open(PID) succeeds, field 22 of /proc/PID/stat equals START_TIME,
 *     the process's cgroup v2 path (/proc/PID/cgroup, "0::" line) is the one
 *     recorded (the sandbox's init/ leaf, or the task's leaf), and the pidfd
 *     still refers to a live process after those reads: adopted, with the pidfd;
 *   - otherwise it is gone (a pid that now names another process is never
 *     adopted).  Its exit status comes from the exit watcher's backlog when
 *     the lookup callback finds it (exact), else it is unknown, with the reason.
 *
 * A state file that cannot be parsed, lacks a required key, or names another
 * sandbox than its directory is DAMAGED: reported with the reason, nothing is
 * guessed and nothing is adopted from it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* KEY=VALUE lines, as in the state files (docs/api.md "Files"). */
struct sup_kv {
        size_t n;
        char **keys;
        char **values;
};

/* Parses text; -EINVAL with a message (line number) on a line without '=',
 * an empty or non-[A-Z0-9_] key, or a duplicate key. */
int sup_kv_parse(const char *text, struct sup_kv *ret, struct sbx_error *err);
const char *sup_kv_get(const struct sup_kv *kv, const char *key);
void sup_kv_done(struct sup_kv *kv);

/* Writes KEY=VALUE lines atomically: dir_fd/name.tmp, fsync-free rename over
 * dir_fd/name (a /run file: tmpfs).  keys/values are parallel arrays; a NULL
 * value is written empty. */
int sup_kv_write_at(int dir_fd, const char *name, const char *const *keys,
                    const char *const *values, size_t n, struct sbx_error *err);

/* Field 22 of /proc/PID/stat (start time, clock ticks after boot). */
int sup_proc_start_time(pid_t pid, uint64_t *ret);
/* The cgroup v2 path of PID as /proc/PID/cgroup shows it ("0::PATH" line). */
int sup_proc_cgroup(pid_t pid, char **ret);

/* How a process was found. */
enum sup_adopt_outcome {
        SUP_ADOPT_RUNNING,      /* same process, alive: pidfd is set */
        SUP_ADOPT_EXITED,       /* gone; exit_status exact (from the exit watcher) */
        SUP_ADOPT_EXIT_UNKNOWN, /* gone; exit status unknown, reason says why */
        SUP_ADOPT_NOT_RUNNING,  /* recorded as created/stopped/exited: nothing to check */
        SUP_ADOPT_DAMAGED,      /* state file unusable: reason says why */
};

const char *sup_adopt_outcome_to_string(enum sup_adopt_outcome o);

struct sup_adopt_proc {
        enum sup_adopt_outcome outcome;
        pid_t pid;
        int pidfd;           /* SUP_ADOPT_RUNNING only; owned, -EBADF otherwise */
        uint64_t start_time; /* recorded START_TIME */
        int exit_status;     /* shell form (code, or 128+signal); -1 unknown */
        uint64_t exited_at;  /* ns since the epoch; 0 unknown */
        char reason[256];    /* EXIT_UNKNOWN, DAMAGED, and why a pid was not adopted */
        bool state_missing;  /* DAMAGED because there is no state file at all (a Start
                              * interrupted before it wrote one) */
        struct sup_kv state; /* the state file's keys (empty when unreadable) */
};

struct sup_adopt_task {
        char id[80];
        struct sup_adopt_proc proc;
};

struct sup_adopt_sandbox {
        char ns[80];
        char id[80];
        struct sup_adopt_proc proc;
        struct sup_adopt_task *tasks;
        size_t n_tasks;
};

struct sup_adopt_result {
        struct sup_adopt_sandbox *sandboxes;
        size_t n;
        /* counts, for the daemon.started event and the log */
        unsigned readopted, exited, unknown, damaged, tasks_readopted, tasks_exited, tasks_unknown;
};

/*
 * Looks up the exit of a process in the exit watcher's backlog.  pid,
 * start_time (0 = do not check) and cgroup_id identify it.  Returns 1 and
 * sets the raw wait status and time when found, 0 when not found, -errno when
 * the watcher is unavailable (then *reason says why).
 */
typedef int (*sup_exit_lookup_t)(void *userdata, pid_t pid, uint64_t start_time, uint64_t cgroup_id,
                                 int *ret_wait_status, uint64_t *ret_exited_at_ns, char *reason,
                                 size_t reason_size);

/* Scans run_dir.  lookup may be NULL (no watcher: exits are unknown, with
 * unavailable_reason).  cgroup_mount is the cgroup2 mount point
 * ("/sys/fs/cgroup/unified"), to turn CGROUP= paths into /proc/PID/cgroup
 * form.  Never fails for one bad entry; -errno only when run_dir itself
 * cannot be read. */
int sup_adopt_scan(const char *run_dir, const char *cgroup_mount, sup_exit_lookup_t lookup,
                   void *userdata, const char *unavailable_reason, struct sup_adopt_result *ret,
                   struct sbx_error *err);

/* Closes pidfds not taken (set entry pidfd to -EBADF to take one) and frees. */
void sup_adopt_result_done(struct sup_adopt_result *r);

/* Shell form of a wait status: the code, or 128 + the signal. */
int sup_wait_status_to_shell(int wait_status);

/* Checks pid against a recorded start time and cgroup (in /proc/PID/cgroup
 * form) and, when it is the same process, returns its pidfd in *ret_pidfd.
 * Returns 1 adopted, 0 gone or another process (reason set), -errno on error. */
int sup_adopt_check(pid_t pid, uint64_t start_time, const char *cgroup, int *ret_pidfd,
                    char *reason, size_t reason_size);

/*
 * Recent exits reported by the exit watcher, kept so that the exit of a
 * process that is not our child (re-adopted after a restart: reparented to
 * the host's init or the sandbox's) can be looked up when its pidfd fires,
 * and so that sup_adopt_scan() finds exits that happened while the daemon
 * was down (the pinned ring buffer is drained into it before the scan).
 * The watcher writes its record before the pidfd becomes readable
 * (sched_process_exit runs before exit_notify), so draining the ring buffer
 * first is enough.
 */
void sup_exit_record(pid_t pid, uint64_t start_boottime_ns, uint64_t cgroup_id,
                     uint64_t ancestor_cgroup_id, int wait_status, uint64_t exited_at_ns);
/* The exit watcher is not running: lookups fail with this reason. */
void sup_exit_set_unavailable(const char *reason);
/* Called before a lookup to drain the watcher's ring buffer (may be NULL). */
void sup_exit_set_drain(void (*drain)(void));
/* sup_exit_lookup_t for the cache (userdata unused).  start_time is field 22
 * of /proc/PID/stat (0 = do not check). */
int sup_exit_lookup(pid_t pid, uint64_t start_time, uint64_t cgroup_id, int *ret_wait_status,
                    uint64_t *ret_exited_at_ns, char *reason, size_t reason_size);
int sup_exit_lookup_cb(void *userdata, pid_t pid, uint64_t start_time, uint64_t cgroup_id,
                       int *ret_wait_status, uint64_t *ret_exited_at_ns, char *reason,
                       size_t reason_size);

/* ---- readopt.c: the daemon's start-up after a restart -------------------- */

struct sup_sandbox;
struct exitwatch_event;

/* Drains the exit watcher, scans the run directory, restores sandboxes and
 * tasks, removes leftovers of interrupted operations, publishes
 * daemon.started.  Call once, after the controller is initialised and before
 * the HTTP server starts. */
int sup_readopt(struct sbx_error *err);

/* Feeds an exit watcher event to the exit cache (call for every event). */
void sup_exit_on_watcher_event(const struct exitwatch_event *ev);

/* For an adopted sandbox whose pidfd fired (waitid: ECHILD): the exact status
 * from the exit watcher (returns 1), or unknown (returns 0, *ret -1, reason
 * kept for sup_sandbox_exit_unknown_reason()). */
int sup_adopted_exit_status(struct sup_sandbox *sb, int *ret_shell_status);

/* Why the exit status of this run of sb is unknown; NULL when it is known. */
const char *sup_sandbox_exit_unknown_reason(const struct sup_sandbox *sb);
