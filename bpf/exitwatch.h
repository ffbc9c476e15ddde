/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * exitwatch — the eBPF exit and OOM watcher (DESIGN.md §3, docs/exitwatch.md).
 *
 * BPF programs on the sched_process_exit and mark_victim tracepoints report
 * every thread/process exit and every OOM victim whose cgroup2 cgroup, or any
 * ancestor of it, is in the watched set.  Events travel through a BPF ring
 * buffer; the daemon polls exitwatch_fd() in its epoll loop and calls
 * exitwatch_consume() when it is readable.
 *
 * Everything the programs need (links, the watched map, the ring buffer, the
 * drop counters) is pinned under a per-daemon-instance directory in bpffs
 * (default EXITWATCH_DEFAULT_PIN_DIR).  exitwatch_close() keeps the pins, so
 * the programs keep recording while the daemon is down; the next
 * exitwatch_open() on the same directory reuses them and delivers, in order,
 * the events recorded meanwhile.  Pins left by an incompatible build are
 * removed and replaced (reported in exitwatch_open_info()).
 * exitwatch_uninstall() removes everything.
 *
 * Functions return 0 (or a count where said) on success and a negative errno
 * on failure, with a message in *err (may be NULL).  Nothing here logs above
 * debug; nothing exits.  Not thread-safe: one loop owns a struct exitwatch.
 */

#include "common/cleanup.h"
#include "common/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define EXITWATCH_DEFAULT_PIN_DIR "/sys/fs/bpf/sandboxd"

struct exitwatch;

enum exitwatch_event_type {
        EXITWATCH_EVENT_EXIT = 1, /* a thread exited (group_dead: the whole process) */
        EXITWATCH_EVENT_OOM = 2,  /* the OOM killer chose a victim (it exits soon after) */
};

struct exitwatch_oom_info {
        /* The victim's memory at the time it was chosen, in KiB. */
        uint64_t total_vm_kb;  /* mapped virtual memory */
        uint64_t anon_rss_kb;  /* resident anonymous memory */
        uint64_t file_rss_kb;  /* resident file-backed memory */
        uint64_t shmem_rss_kb; /* resident shared memory */
        uint64_t pgtables_kb;  /* page tables */
        int32_t oom_score_adj; /* the victim's /proc/PID/oom_score_adj */
};

struct exitwatch_event {
        enum exitwatch_event_type type;
        pid_t pid;  /* thread id (in the initial pid namespace) */
        pid_t tgid; /* process id */
        pid_t ppid; /* tgid of the (real) parent; 0 when unknown */
        /* EXIT: the wait status (decode with WIFEXITED/WEXITSTATUS/WIFSIGNALED/
         * WTERMSIG).  For a group_dead event it is what waitpid() on the process
         * reports on the running kernel (the group exit code after exit_group() or
         * a fatal signal; when threads exit one by one, the leader's code, or on
         * newer kernels the last thread's); for a thread it is that thread's code.
         * OOM: 0. */
        int exit_status;
        /* EXIT: the last thread of the thread group exited — the process is gone
         * (the leader may have exited earlier, as its own thread event). */
        bool group_dead;
        /* EXIT: the process id in its own pid namespace (its getpid()), 0 when unknown.
         * ns_first_child: it is pid 2 of its pid namespace and its parent is pid 1 of the
         * same namespace — the first process the namespace's init started.  A supervisor
         * whose init starts the workload first learns of the workload's exit from it,
         * before its init has even been woken. */
        pid_t ns_tgid;
        bool ns_first_child;
        char comm[16];         /* NUL-terminated */
        uint64_t cgroup_id;    /* the task's cgroup2 cgroup id (inode of its directory) */
        uint64_t watched_id;   /* the watched cgroup id it matched (itself or an ancestor) */
        uint64_t timestamp_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) at the event */
        struct exitwatch_oom_info oom; /* OOM only; zeros for EXIT */
};

/* Flags of exitwatch_open(). */
enum {
        /* Use the raw tracepoint programs even where tp_btf works (tests). */
        EXITWATCH_FORCE_FALLBACK = 1u << 0,
        /* Do not reuse pins even if compatible: replace them (tests). */
        EXITWATCH_REPLACE_PINS = 1u << 1,
        /* Ignore sched_process_exit's group_dead argument where it exists and
         * learn it as on 6.1 kernels, from a taskstats_exit probe (tests). */
        EXITWATCH_NO_GROUP_DEAD_ARG = 1u << 2,
        /* A 64 KiB ring (512 records) instead of 4 MiB, to test the drop
         * counter (tests). */
        EXITWATCH_SMALL_RING = 1u << 3,
};

/* Opens the watcher: mounts bpffs at /sys/fs/bpf if absent, creates pin_dir
 * (NULL = EXITWATCH_DEFAULT_PIN_DIR; must be inside a bpffs mount), reuses its
 * pins when they come from a compatible build, or otherwise loads, attaches
 * and pins the programs.
 *
 * When eBPF cannot be used here (no kernel BTF, no CAP_BPF/CAP_SYS_ADMIN,
 * kernel lockdown, kernel too old, no bpffs) it returns -EOPNOTSUPP with a
 * message "exitwatch unavailable: <reason>", so the daemon can run on pidfds
 * alone.  Other errors (bad pin_dir, out of memory) keep their own errno. */
int exitwatch_open(const char *pin_dir, unsigned flags, struct exitwatch **ret,
                   struct sbx_error *err);

/* Frees user-space state.  Keeps every pin: the programs keep recording into
 * the pinned ring buffer until the next exitwatch_open() or an uninstall.
 * Accepts NULL. */
void exitwatch_close(struct exitwatch *ew);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct exitwatch *, exitwatch_close);
#define _cleanup_exitwatch_ _cleanup_(exitwatch_closep)

/* Details of how exitwatch_open() went, for the daemon's log. */
struct exitwatch_open_info {
        bool reused_pins;          /* compatible pins found and reused */
        bool replaced_pins;        /* incompatible (or partial) pins were removed */
        char replaced_reason[128]; /* why, when replaced_pins */
        bool fallback;             /* raw_tp programs (no tp_btf) */
        bool oom_events;           /* the OOM program is attached */
        /* Where group_dead comes from: "tracepoint" (the argument, after 6.1),
         * "taskstats_exit probe" (6.1), or "signal->live" (a racy last resort
         * when neither exists: a thread may be reported group_dead too). */
        const char *group_dead_source;
};
const struct exitwatch_open_info *exitwatch_open_info(const struct exitwatch *ew);

/* Adds / removes a cgroup2 cgroup id to / from the watched set.  Processes in
 * that cgroup or any descendant match.  watch of a watched id is 0; unwatch of
 * an unwatched id is -ENOENT.  The watched set is pinned: it survives
 * exitwatch_close() and restarts. */
int exitwatch_watch(struct exitwatch *ew, uint64_t cgroup_id, struct sbx_error *err);
int exitwatch_unwatch(struct exitwatch *ew, uint64_t cgroup_id, struct sbx_error *err);

/* Whether cgroup_id is in the watched set: 1 yes, 0 no, or -errno. */
int exitwatch_is_watched(struct exitwatch *ew, uint64_t cgroup_id);

/* The id of a cgroup2 directory (an fd opened on it, O_PATH is enough), as
 * the events carry it.  0 or -errno. */
int exitwatch_cgroup_id(int cgroup_fd, uint64_t *ret_id);

/* An fd that polls readable (EPOLLIN) when events are waiting.  Owned by ew. */
int exitwatch_fd(const struct exitwatch *ew);

/* Calls cb for every event waiting, oldest first.  A negative return from cb
 * stops the walk and is returned: that event counts as delivered, the later
 * ones stay queued for the next call.
 * Otherwise returns the number of events delivered (>= 0). */
typedef int (*exitwatch_event_fn)(const struct exitwatch_event *ev, void *userdata);
int exitwatch_consume(struct exitwatch *ew, exitwatch_event_fn cb, void *userdata);

/* Events lost because the ring buffer was full, since the pins were created
 * (the counter survives restarts).  A daemon that sees it grow must fall back
 * to pidfds/cgroup.events for the sandboxes it watches. */
uint64_t exitwatch_dropped(const struct exitwatch *ew);

/* Removes every pin under pin_dir (NULL = default) and the directory itself;
 * the programs detach once no one holds them.  Missing pins are not an error.
 * Used by `sandboxd-bpf-uninstall` and tests. */
int exitwatch_uninstall(const char *pin_dir, struct sbx_error *err);
