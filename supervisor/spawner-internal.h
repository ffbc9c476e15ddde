/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The spawner threads (spawner.c): with the store's, the only threads of sandboxd besides
 * the loop.  A sandbox's iso_spawn() waits for its child's whole setup and exec
 * (milliseconds); it runs here so that the loop keeps serving meanwhile, and on several
 * threads so that Starts in flight together build their sandboxes in parallel (each
 * spawn's state is its thread's own: isolation.h).
 *
 * A job is owned by the spawner from sup_spawner_submit() until its done() callback,
 * which runs on the loop thread.  In between the loop must neither touch nor free what
 * the job points to (config, opts, and the fds in opts): in vm mode the sandbox's child
 * runs in the daemon's memory, on the spawner thread's stack, concurrently with the loop.
 * Nothing else is shared: no daemon state is locked.
 *
 * A job may also ask to hear of the sandbox's start before that (started): the child
 * writes the job's token into a pipe the loop watches right before it executes
 * sandbox-init (iso_spawn_opts.started_fd), and the loop runs started() with the pid and
 * pidfd the kernel wrote into job->early at the clone.  That is often milliseconds before
 * done(): on a busy machine the spawner thread, woken when the child executes, may wait
 * that long for a CPU, and the loop need not wait for it.  started() may use early and
 * netns_fd; the rest stays the spawner's until done(), which still runs.
 *
 * The threads also take the loop's other blocking kernel work (job->work): unmounting a
 * sandbox's netns bind mount waits for an expedited RCU grace period (0.3 ms p50 on a
 * 2-vCPU guest while the sandbox's init exits on the other CPU; milliseconds on a large
 * host), which would stall every other client of the loop meanwhile.
 *
 * Network namespaces are made ahead of time: when the queue is empty a thread makes one
 * spare (iso_netns_new(): a new namespace with lo up, ~0.8 ms of CPU here, made at
 * nice 19 so that it does not take a CPU the sandboxes and the loop want), which the next
 * sandbox that needs a new network namespace enters instead of creating one in its clone.
 * The spare exists only once a sandbox has asked for one; if making it fails, the spawn
 * creates the namespace itself as before.
 */

#include "common/error.h"
#include "isolation/isolation.h"

#include <stdbool.h>
#include <stdint.h>

struct sup_spawn_job {
        /* In, read by the spawner thread.  With work set, the thread runs work(job) instead
         * of a spawn (blocking kernel work that is not one: an unmount), and of the rest
         * only done and the times are used. */
        void (*work)(struct sup_spawn_job *job);
        const struct iso_config *config;
        struct iso_spawn_opts opts;
        bool want_netns; /* config takes a prepared network namespace (iso_netns_new()) */
        /* Out, written by the spawner thread. */
        int netns_fd; /* the prepared network namespace the sandbox entered, or -1; the
                       * loop's to close after done() */
        int result;
        struct iso_process process;
        struct sbx_error err;
        uint64_t spawn_ns; /* time iso_spawn() took */
        /* Monotonic times: submitted by the loop, taken by a spawner thread, finished (the
         * loop's done() runs some time later: the two hand-offs of a Start). */
        uint64_t submitted_at, taken_at, finished_at;
        /* Runs on the loop thread once the job is finished. */
        void (*done)(struct sup_spawn_job *job);
        /* Optional: runs on the loop thread when the child announces its exec, before
         * done(); early holds the pid and pidfd then (the same done() finds in process). */
        void (*started)(struct sup_spawn_job *job);
        struct iso_process early;
        uint64_t token;
        struct sup_spawn_job *next;
        struct sup_spawn_job *announcing_next; /* the loop's list of jobs still to announce */
};

/* Starts the threads (one per CPU, up to 4) and watches the completion eventfd in the loop.  The
 * caller has blocked the signals the loop takes (threads inherit the mask; they also block every
 * other one). */
int sup_spawner_init(struct sbx_error *err);
/* Stops and joins the threads.  Call after sup_spawner_drain(). */
void sup_spawner_done(void);
/* Queues job; job->done runs on the loop thread later (never from inside this call). */
void sup_spawner_submit(struct sup_spawn_job *job);
/* Jobs submitted and not yet done. */
unsigned sup_spawner_in_flight(void);
/* Blocks until every job submitted is finished and its done() has run (daemon shutdown:
 * a sandbox being spawned is finished and left running). */
void sup_spawner_drain(void);
