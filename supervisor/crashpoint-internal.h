/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Crash points: fault injection for the restart tests (tests/integration/test-restart.sh).
 *
 * With SANDBOXD_CRASH_AT=NAME or NAME:N in its environment, the daemon SIGKILLs itself the
 * N-th time (default: the first) it passes the point called NAME — the same death as a
 * `kill -9` from outside, but at a chosen step.  Without the variable a crash point is one
 * predictable branch.  The points, in the order a sandbox meets them:
 *
 *   create-durable         the record is in the store, the client has no answer yet
 *   start-cgroup           the sandbox's cgroup exists, nothing spawned yet
 *   start-spawned          the init runs, no netns bind mount and no state file yet
 *   start-statefile        the state file says running, the client has no answer yet
 *   shutdown-killed        cgroup.kill written (or the cgroup found empty), nothing removed
 *   shutdown-cgroup-gone   the cgroup removed, the /run entry (state file, netns mount) not
 *   shutdown-run-gone      everything removed, the client has no answer yet
 *   delete-durable         the record is gone from the store, the client has no answer yet
 */

void sup_crash_point_init(void);
void sup_crash_point_check(const char *name);

extern const char *sup_crash_point_armed;

/* The name must be one of the list above (a literal). */
#define SUP_CRASH_POINT(name)                        \
        do {                                         \
                if (sup_crash_point_armed)           \
                        sup_crash_point_check(name); \
        } while (0)
