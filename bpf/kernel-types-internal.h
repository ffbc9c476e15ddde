/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The few kernel types exitwatch.bpf.c reads, written by hand instead of a
 * generated vmlinux.h so the build does not depend on the build machine's
 * kernel.  Every struct carries preserve_access_index: clang records each field
 * access as a CO-RE relocation, and libbpf moves it to the field's real offset
 * in the running kernel's BTF at load time.  Only the fields used are listed;
 * their order and the structs' sizes here mean nothing.
 *
 * Checked against the BTF of Linux 6.1 (Debian 12) and 6.18.  Differences:
 *   - mm_struct.rss_stat: `struct mm_rss_stat` of atomic counters up to 6.1,
 *     an array of `struct percpu_counter` from 6.2 (two flavours below; the
 *     program picks with bpf_core_type_exists(struct mm_rss_stat)).
 *   - sched_process_exit gained a `bool group_dead` argument after 6.1 (the
 *     loader reads the tracepoint's prototype from BTF).
 */

#include <linux/types.h>

#ifndef __pai
#define __pai __attribute__((preserve_access_index))
#endif

typedef struct {
        int counter;
} __pai atomic_t;

typedef struct {
        long long counter;
} __pai atomic_long_t;

struct kernfs_node {
        __u64 id; /* the cgroup id, as name_to_handle_at() and the inode number show it */
} __pai;

struct cgroup_subsys_state {
        struct cgroup_subsys_state *parent; /* NULL at the root */
} __pai;

struct cgroup {
        struct cgroup_subsys_state self; /* first member: &cgrp->self == cgrp */
        struct kernfs_node *kn;
        int level;
} __pai;

struct css_set {
        struct cgroup *dfl_cgrp; /* the task's cgroup2 (default hierarchy) cgroup */
} __pai;

/* include/linux/sched/signal.h, unchanged since 5.x */
#define SIGNAL_GROUP_EXIT 0x00000004

struct signal_struct {
        atomic_t live; /* threads not yet past do_exit()'s decrement */
        int group_exit_code;
        unsigned int flags;
        short oom_score_adj;
} __pai;

/* mm counters: MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
#define EXITWATCH_NR_MM_COUNTERS 4

struct mm_rss_stat {
        atomic_long_t count[EXITWATCH_NR_MM_COUNTERS];
} __pai;

struct percpu_counter {
        long long count; /* the approximate total (per-CPU deltas not folded in) */
} __pai;

struct mm_struct {
        unsigned long total_vm;
        atomic_long_t pgtables_bytes;
} __pai;

struct mm_struct___pre62 {
        struct mm_rss_stat rss_stat;
} __pai;

struct mm_struct___post62 {
        struct percpu_counter rss_stat[EXITWATCH_NR_MM_COUNTERS];
} __pai;

#if defined(__TARGET_ARCH_x86)
/* The kprobe's registers (x86-64 kernel naming): the 2nd argument is in si. */
struct pt_regs {
        unsigned long di;
        unsigned long si;
} __pai;
#endif

/* include/linux/pid.h: a process id at each level of pid namespace nesting. */
struct upid {
        int nr;
        void *ns; /* struct pid_namespace *; here for the element size of numbers[] */
} __pai;

struct pid {
        unsigned int level;     /* depth of the pid namespace the id was made in (0 = initial) */
        struct upid numbers[1]; /* flexible in the kernel: numbers[0..level] */
} __pai;

struct task_struct {
        int pid;
        int tgid;
        int exit_code; /* a wait status: (code << 8) | signal */
        char comm[16];
        struct task_struct *real_parent;
        struct task_struct *group_leader;
        struct pid *thread_pid;
        struct signal_struct *signal;
        struct css_set *cgroups;
        struct mm_struct *mm;
} __pai;
