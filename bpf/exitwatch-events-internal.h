/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The records the BPF programs write into the ring buffer, and the layout of
 * the other pinned maps.  Shared by exitwatch.bpf.c and the loader; the public
 * struct exitwatch_event (exitwatch.h) is filled from struct exitwatch_raw_event.
 *
 * Changing anything here changes the pinned objects' meaning: bump
 * EXITWATCH_ABI, so that pins left by an older build are replaced rather than
 * misread (the loader also hashes the BPF object, so a changed program alone
 * replaces them too).
 */

#include <linux/types.h>

#define EXITWATCH_ABI   2
#define EXITWATCH_MAGIC 0x73627865786974ULL /* "sbxexit" */

/* Upper bound of the cgroup ancestor walk (cgroup2 nests deeper only by
 * pathological setups; a deeper cgroup matches only through its 32 nearest
 * ancestors). */
#define EXITWATCH_MAX_DEPTH 32

/* Ring size: 4 MiB holds 29,127 records of 136 bytes + an 8-byte header each
 * (docs/exitwatch.md). */
#define EXITWATCH_RING_BYTES       (4u << 20)
#define EXITWATCH_SMALL_RING_BYTES (64u << 10) /* EXITWATCH_SMALL_RING, tests */
#define EXITWATCH_MAX_WATCHED      16384

enum {
        EXITWATCH_RAW_EXIT = 1,
        EXITWATCH_RAW_OOM = 2,
};

enum {
        EXITWATCH_RAW_GROUP_DEAD = 1u << 0,
};

/* Index into the per-CPU "stats" array. */
enum {
        EXITWATCH_STAT_DROPPED = 0, /* ring buffer full: event lost */
        EXITWATCH_STAT_EXITS = 1,   /* exit records written */
        EXITWATCH_STAT_OOMS = 2,    /* OOM records written */
        EXITWATCH_STAT_MAX = 4,
};

struct exitwatch_raw_event {
        __u32 type;  /* EXITWATCH_RAW_* */
        __u32 flags; /* EXITWATCH_RAW_GROUP_DEAD */
        __u32 pid;
        __u32 tgid;
        __u32 ppid;
        __s32 exit_status;
        __u64 cgroup_id;
        __u64 watched_id;
        __u64 timestamp_ns;
        char comm[16];
        /* OOM only, in pages (total_vm, rss) or bytes (pgtables) */
        __u64 total_vm_pages;
        __u64 rss_pages[4]; /* MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
        __u64 pgtables_bytes;
        __s32 oom_score_adj;
        /* EXIT only: the process id in its own pid namespace and that namespace's depth,
         * and the same for its real parent. */
        __u32 ns_level;
        __u32 ns_tgid;
        __u32 parent_ns_level;
        __u32 parent_ns_tgid;
        __u32 pad;
};

/* Where the exit program learns whether the thread group is dead. */
enum {
        EXITWATCH_GD_TRACEPOINT = 1, /* sched_process_exit's argument (after 6.1) */
        EXITWATCH_GD_PROBE = 2,      /* fentry/kprobe on taskstats_exit (6.1) */
        EXITWATCH_GD_LIVE = 3,       /* signal->live == 0 (racy last resort) */
};

/* The single value of the pinned "version" array: written last when pins are
 * created, checked first when they are reused. */
struct exitwatch_pin_version {
        __u64 magic;           /* EXITWATCH_MAGIC */
        __u32 abi;             /* EXITWATCH_ABI */
        __u32 mode;            /* 1 = tp_btf programs, 2 = raw_tp fallback */
        __u64 obj_hash;        /* FNV-1a of the BPF object the programs came from */
        __u32 oom;             /* the OOM program is attached */
        __u32 group_dead_from; /* EXITWATCH_GD_* */
};
