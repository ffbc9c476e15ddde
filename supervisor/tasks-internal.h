/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Tasks: processes started inside a running sandbox after its start
 * (docs/api.md "Tasks").
 *
 * A task joins the sandbox's namespaces through setns(pidfd) and is born into
 * CGROUP/tasks/TID with CLONE_INTO_CGROUP (isolation/ and cgroups/ do that);
 * this file keeps the daemon's side: the task table, pidfd and log pipe
 * watches, the exit status, waiters, the state file RUN_DIR/NS/ID/tasks/TID.state
 * (read back by adopt.c after a restart) and the log RUN_DIR/NS/ID/tasks/TID.log.
 *
 * Tasks are kept per sandbox, keyed by namespace and sandbox id, so that the
 * controller only calls the sup_tasks_on_*() hooks below.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "supervisor/sandboxd-internal.h"

enum sup_task_state {
        SUP_TASK_RUNNING,
        SUP_TASK_EXITED,
};

struct sup_task {
        struct sup_task *next;
        struct sup_task_group *group;
        char id[80];
        enum sup_task_state state;
        pid_t pid;
        int pidfd;
        uint64_t start_time; /* /proc/PID/stat field 22 */
        uint64_t cgroup_id;
        uint64_t started_at, exited_at; /* ns since the epoch */
        int exit_status;                /* shell form; -1 = unknown */
        char exit_reason[256];          /* why exit_status is unknown */
        bool adopted;                   /* re-adopted after a restart: not our child */
        json_t *args;
        struct sup_watch pidfd_watch;

        /* output: pipe → log file, capped */
        int out_fd; /* read end; -EBADF after EOF */
        int log_fd;
        uint64_t log_size;
        bool log_capped;
        struct sup_watch out_watch;
};

/* The tasks of one sandbox. */
struct sup_task_group {
        struct sup_task_group *next;
        char ns[80];
        char id[80];
        struct sup_task *tasks;
        unsigned n_tasks;
        uint64_t next_seq; /* for generated ids */
};

/* Looks up a group (NULL when the sandbox has no task). */
struct sup_task_group *sup_task_group_find(const char *ns, const char *id);
struct sup_task *sup_task_find(struct sup_task_group *g, const char *tid);

/* Controller hooks. */

/* The sandbox's init exited: tasks still running are killed (in a pid
 * namespace the kernel does it; without one we do); they stay listed as
 * exited until Shutdown. */
void sup_tasks_on_sandbox_exited(const char *ns, const char *id);

/* Shutdown/Delete: every task is SIGKILLed (if the cgroup kill has not
 * already done it), reaped, its waiters answered, and the group freed.
 * Run after the sandbox cgroup is killed and before its run directory goes. */
void sup_tasks_on_sandbox_gone(const char *ns, const char *id);

/* Daemon exit: frees everything without killing (tasks outlive a restart). */
void sup_tasks_done(void);

/* Re-adoption of a task after a restart (adopt.c found it alive or exited). */
int sup_task_adopt(const char *ns, const char *id, const char *tid, pid_t pid, int pidfd,
                   uint64_t start_time, uint64_t cgroup_id, uint64_t started_at, int exit_status,
                   uint64_t exited_at, const char *exit_reason, const char *args_json,
                   struct sbx_error *err);

/* Used by api-tasks.c. */
struct sup_task_group *sup_task_group_get(const char *ns, const char *id);
void sup_task_group_drop_if_empty(struct sup_task_group *g);
int sup_task_dir_open(const char *ns, const char *id, bool create);
int sup_task_write_state(const struct sup_task *t);
/* seccomp: the task's own linux.seccomp object, or NULL. */
int sup_task_start(struct sup_sandbox *sb, struct sup_task_group *g, const char *tid,
                   const json_t *process, const json_t *seccomp, struct sup_task **ret,
                   struct sbx_error *err);
/* Spawns the process of a task inside sb (joins its namespaces, born into the
 * cgroup of cg_fd, stdout and stderr on out_fd, stdin /dev/null), with the
 * sandbox's seccomp filter and, when seccomp is not NULL, that profile stacked on
 * it.  The child is ours (waitid works on it).  task-spawn.c. */
int sup_task_spawn(struct sup_sandbox *sb, const json_t *process, const json_t *seccomp, int cg_fd,
                   int out_fd, pid_t *ret_pid, int *ret_pidfd, struct sbx_error *err);
/* Forgets the parsed spec kept for spawning tasks of a sandbox (it went away). */
void sup_task_spawn_forget(const char *ns, const char *id);
void sup_task_spawn_done(void);
struct sup_task *sup_task_alloc(const char *tid);
int sup_task_register(struct sup_task_group *g, struct sup_task *t, int out_fd, int log_fd);
/* Removes an exited task: its files and its entry (frees t, and g when empty). */
int sup_task_remove(struct sup_task_group *g, struct sup_task *t);

/* API handlers (api-tasks.c). */
void sup_api_tasks_create(struct sup_request *r);
void sup_api_tasks_list(struct sup_request *r);
void sup_api_task_get(struct sup_request *r);
void sup_api_task_wait(struct sup_request *r);
void sup_api_task_kill(struct sup_request *r);
void sup_api_task_delete(struct sup_request *r);
void sup_api_task_logs(struct sup_request *r);
void sup_api_events(struct sup_request *r);

/* Daemon start-up (after the store, before the controller) and exit (before
 * sup_http_stop(); after sup_controller_done()). */
int sup_issue7_init(struct sbx_error *err);
void sup_issue7_stop(void);
void sup_issue7_done(void);

/* Controller hooks (one line each in controller.c / api-controller.c). */
struct exitwatch_event;
void sup_issue7_on_sandbox_started(struct sup_sandbox *sb);
/* The init exited (sb->exit_status set): kills the tasks, publishes sandbox.exited. */
void sup_issue7_on_sandbox_exited(struct sup_sandbox *sb);
/* Teardown, cgroup empty, before the run directory is removed: tasks go. */
void sup_issue7_on_sandbox_gone(struct sup_sandbox *sb);
/* Teardown finished: publishes sandbox.stopped. */
void sup_issue7_on_sandbox_stopped(struct sup_sandbox *sb);
void sup_issue7_on_oom(struct sup_sandbox *sb, const struct exitwatch_event *ev);
struct store_record;
/* A store write was acknowledged: 201 → created, 200 with rec → updated, no rec →
 * deleted (ns, id used then). */
void sup_issue7_store_event(unsigned http_status, const struct store_record *rec, const char *ns,
                            const char *id);
/* Sets exit_status null + exit_status_unknown when sb's status is unknown. */
json_t *sup_issue7_exit_fixup(const struct sup_sandbox *sb, json_t *j);
/* Drains the exit watcher's ring buffer now (controller.c). */
void sup_controller_drain_exitwatch(void);

/* JSON view of a task (GET .../tasks/TID). */
json_t *sup_task_to_json(const struct sup_task *t);

/* Task output cap, as for the sandbox log. */
#define SUP_TASK_LOG_MAX (8 * 1024 * 1024)
/* Tasks per sandbox (running and exited, until deleted). */
#define SUP_TASKS_MAX 1024
