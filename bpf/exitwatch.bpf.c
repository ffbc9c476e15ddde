// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitwatch: report exits and OOM victims of processes inside watched cgroups.
 *
 * Two pairs of programs; the loader keeps one pair (autoload):
 *   tp_btf/sched_process_exit + tp_btf/mark_victim   (BTF-typed tracepoints, 5.5+)
 *   raw_tp/sched_process_exit + raw_tp/mark_victim   (fallback: raw tracepoints,
 *       no BPF trampoline needed; the classic perf tracepoint of mark_victim
 *       carries only the pid, and the victim is not `current` there)
 * Both read the task from the tracepoint's first argument, the same in 6.1
 * and 6.18, and use the same CO-RE reads (kernel-types-internal.h).
 *
 * GPL: bpf_probe_read_kernel and the tracing attach types are GPL-only.
 */

#include "bpf/kernel-types-internal.h"
#include "bpf/exitwatch-events-internal.h"

#include <linux/bpf.h>
#include <stdbool.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load: sched_process_exit has a second argument,
 * `bool group_dead` (kernels after 6.1). */
const volatile bool exit_has_group_dead_arg = false;

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, EXITWATCH_RING_BYTES);
} events SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, EXITWATCH_MAX_WATCHED);
        __type(key, __u64);  /* cgroup id */
        __type(value, __u8); /* unused */
} watched SEC(".maps");

/* Kernels whose sched_process_exit has no group_dead argument (6.1): the
 * thread ids for which do_exit() computed group_dead, noted by a probe on
 * taskstats_exit(tsk, group_dead), which do_exit() calls before the
 * tracepoint, in the same task.  The tracepoint takes the entry out again. */
struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, 8192);
        __type(key, __u32); /* tid */
        __type(value, __u8);
} group_dead_tids SEC(".maps");

/* Set by the loader once the taskstats_exit probe is attached. */
volatile bool group_dead_probe_ok = false;

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, EXITWATCH_STAT_MAX);
        __type(key, __u32);
        __type(value, __u64);
} stats SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct exitwatch_pin_version);
} version SEC(".maps");

static __always_inline void count(__u32 which)
{
        __u64 *v = bpf_map_lookup_elem(&stats, &which);
        if (v)
                *v += 1; /* per-CPU slot: no other writer */
}

/* Walks from the task's cgroup2 cgroup towards the root and returns the first
 * watched id (0: none).  *ret_self gets the task's own cgroup id. */
static __always_inline __u64 match_watched(struct task_struct *task, __u64 *ret_self)
{
        struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);

        *ret_self = 0;
        for (int i = 0; i < EXITWATCH_MAX_DEPTH; i++) {
                __u64 id;

                if (!cg)
                        break;
                id = BPF_CORE_READ(cg, kn, id);
                if (i == 0)
                        *ret_self = id;
                if (bpf_map_lookup_elem(&watched, &id))
                        return id;
                /* self is cgroup's first member, so the parent css is the parent
                 * cgroup. */
                cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
        }
        return 0;
}

/* The process id of t's thread group in its own pid namespace, and that namespace's depth. */
static __always_inline void ns_tgid_of(struct task_struct *t, __u32 *ret_level, __u32 *ret_nr)
{
        struct pid *p = BPF_CORE_READ(t, group_leader, thread_pid);
        unsigned int level;

        *ret_level = *ret_nr = 0;
        if (!p)
                return;
        level = BPF_CORE_READ(p, level);
        if (level > EXITWATCH_MAX_DEPTH) /* pid namespaces nest at most 32 deep */
                return;
        *ret_level = level;
        bpf_core_read(ret_nr, sizeof(*ret_nr), &p->numbers[level].nr);
}

static __always_inline int handle_exit(struct task_struct *task, int group_dead_arg)
{
        struct exitwatch_raw_event *e;
        __u64 self_id, watched_id;
        int status, group_dead = group_dead_arg;
        __u32 tid = BPF_CORE_READ(task, pid);

        if (group_dead < 0 && group_dead_probe_ok) {
                /* Taken out for every task, watched or not, so no entry outlives
                 * its thread. */
                group_dead = bpf_map_lookup_elem(&group_dead_tids, &tid) != NULL;
                if (group_dead)
                        bpf_map_delete_elem(&group_dead_tids, &tid);
        }

        watched_id = match_watched(task, &self_id);
        if (!watched_id)
                return 0;

        if (group_dead < 0)
                /* Last resort: do_exit() decrements signal->live before the
                 * tracepoint.  Racy: a thread that is slow to get from the
                 * decrement to the tracepoint (exit_mm wakes a joiner first)
                 * can see the next thread's decrement to 0 as well. */
                group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;

        status = BPF_CORE_READ(task, exit_code);
        if (group_dead) {
                /* What wait_task_zombie() reports for the process. */
                if (BPF_CORE_READ(task, signal, flags) & SIGNAL_GROUP_EXIT)
                        status = BPF_CORE_READ(task, signal, group_exit_code);
                else
                        status = BPF_CORE_READ(task, group_leader, exit_code);
        }

        e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
        if (!e) {
                count(EXITWATCH_STAT_DROPPED);
                return 0;
        }
        __builtin_memset(e, 0, sizeof(*e));
        e->type = EXITWATCH_RAW_EXIT;
        e->flags = group_dead ? EXITWATCH_RAW_GROUP_DEAD : 0;
        e->pid = tid;
        e->tgid = BPF_CORE_READ(task, tgid);
        e->ppid = BPF_CORE_READ(task, real_parent, tgid);
        e->exit_status = status;
        ns_tgid_of(task, &e->ns_level, &e->ns_tgid);
        ns_tgid_of(BPF_CORE_READ(task, real_parent), &e->parent_ns_level, &e->parent_ns_tgid);
        e->cgroup_id = self_id;
        e->watched_id = watched_id;
        e->timestamp_ns = bpf_ktime_get_ns();
        BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
        bpf_ringbuf_submit(e, 0);
        count(EXITWATCH_STAT_EXITS);
        return 0;
}

static __always_inline int handle_oom(struct task_struct *victim)
{
        struct exitwatch_raw_event *e;
        __u64 self_id, watched_id;
        struct mm_struct *mm;

        /* mark_victim runs in the killer's context (often another cgroup's task
         * or a kernel thread): everything comes from the victim's task. */
        watched_id = match_watched(victim, &self_id);
        if (!watched_id)
                return 0;

        e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
        if (!e) {
                count(EXITWATCH_STAT_DROPPED);
                return 0;
        }
        __builtin_memset(e, 0, sizeof(*e));
        e->type = EXITWATCH_RAW_OOM;
        e->pid = BPF_CORE_READ(victim, pid);
        e->tgid = BPF_CORE_READ(victim, tgid);
        e->ppid = BPF_CORE_READ(victim, real_parent, tgid);
        e->cgroup_id = self_id;
        e->watched_id = watched_id;
        e->timestamp_ns = bpf_ktime_get_ns();
        e->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
        BPF_CORE_READ_STR_INTO(&e->comm, victim, comm);

        mm = BPF_CORE_READ(victim, mm);
        if (mm) {
                e->total_vm_pages = BPF_CORE_READ(mm, total_vm);
                e->pgtables_bytes = BPF_CORE_READ(mm, pgtables_bytes.counter);
                if (bpf_core_type_exists(struct mm_rss_stat)) {
                        struct mm_struct___pre62 *old = (void *)mm;

                        for (int i = 0; i < EXITWATCH_NR_MM_COUNTERS; i++)
                                e->rss_pages[i] = BPF_CORE_READ(old, rss_stat.count[i].counter);
                } else {
                        struct mm_struct___post62 *new = (void *)mm;

                        for (int i = 0; i < EXITWATCH_NR_MM_COUNTERS; i++)
                                e->rss_pages[i] = BPF_CORE_READ(new, rss_stat[i].count);
                }
        }
        bpf_ringbuf_submit(e, 0);
        count(EXITWATCH_STAT_OOMS);
        return 0;
}

/* ctx[0] is the task in both prototypes: (task) in 6.1, (task, group_dead) later. */
SEC("tp_btf/sched_process_exit")
int exit_btf(unsigned long long *ctx)
{
        return handle_exit((struct task_struct *)ctx[0],
                           exit_has_group_dead_arg ? (int)(ctx[1] & 1) : -1);
}

static __always_inline void note_group_dead(struct task_struct *task, int group_dead)
{
        __u32 tid;
        __u8 one = 1;

        if (!group_dead)
                return;
        tid = BPF_CORE_READ(task, pid);
        bpf_map_update_elem(&group_dead_tids, &tid, &one, BPF_ANY);
}

/* void taskstats_exit(struct task_struct *tsk, int group_dead) */
SEC("fentry/taskstats_exit")
int group_dead_fentry(unsigned long long *ctx)
{
        note_group_dead((struct task_struct *)ctx[0], (int)ctx[1]);
        return 0;
}

#if defined(__TARGET_ARCH_x86)
SEC("kprobe/taskstats_exit")
int group_dead_kprobe(struct pt_regs *ctx)
{
        note_group_dead((struct task_struct *)ctx->di, (int)ctx->si);
        return 0;
}
#endif

/* (task, uid) in 6.1 and 6.18 */
SEC("tp_btf/mark_victim")
int oom_btf(unsigned long long *ctx)
{
        return handle_oom((struct task_struct *)ctx[0]);
}

SEC("raw_tp/sched_process_exit")
int exit_raw(unsigned long long *ctx)
{
        return handle_exit((struct task_struct *)ctx[0],
                           exit_has_group_dead_arg ? (int)(ctx[1] & 1) : -1);
}

SEC("raw_tp/mark_victim")
int oom_raw(unsigned long long *ctx)
{
        return handle_oom((struct task_struct *)ctx[0]);
}
