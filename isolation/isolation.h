/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * isolation/: turns an OCI runtime spec (the subset of DESIGN.md §4) into a
 * running, isolated process whose PID 1 is sandbox-init (docs/isolation.md).
 *
 *     _cleanup_(iso_config_freep) struct iso_config *c = NULL;
 *     struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
 *     struct iso_process p;
 *     r = iso_config_parse(json, len, &c, &err);
 *     o.cgroup_fd = cgfd;  o.stdout_fd = o.stderr_fd = logfd;
 *     r = iso_spawn(c, &o, &p, &err);        // p.pid, p.pidfd: the sandbox's init
 *
 * The library never opens cgroups (the caller passes a dirfd for
 * CLONE_INTO_CGROUP), never logs above debug, and never reaps: the caller waits
 * on the pidfd (waitid(P_PIDFD)).  Errors are negative errno values with a
 * message in *err; parse errors are -EINVAL naming the JSON path
 * ("linux.seccomp.syscalls[3].names[0]: unknown syscall \"foo\"").
 */

#include "common/cleanup.h"
#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct iso_config;      /* a validated sandbox spec; immutable after parsing */
struct iso_task_config; /* a validated `process` object of a task */

/* ---- the spec ------------------------------------------------------------------------------ */

/* Parses and validates config.json text (duplicate keys rejected).  The result
 * holds everything spawning needs, including the compiled seccomp filter, so it
 * can be reused for any number of spawns. */
int iso_config_parse(const char *json, size_t len, struct iso_config **ret_config,
                     struct sbx_error *err);
/* The same from an already parsed JSON object (not modified; a reference is kept
 * for iso_config_resources()). */
int iso_config_parse_json(json_t *spec, struct iso_config **ret_config, struct sbx_error *err);
void iso_config_free(struct iso_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iso_config *, iso_config_free);

/* The default spec (what `sandboxctl spec` prints): host root read-only, fresh
 * /proc, minimal /dev, read-only /sys, tmpfs /tmp and /run, new pid, mount,
 * uts, ipc, network and cgroup namespaces, Docker's default capabilities,
 * noNewPrivileges, crun's masked and read-only paths, process.args ["sh"].
 * linux.seccomp is absent, which means the built-in default profile.
 * Returns malloc'ed, pretty-printed JSON text ending in a newline, or NULL
 * on allocation failure. */
char *iso_default_spec(void);
/* The same as a new JSON object (caller owns the reference). */
json_t *iso_default_spec_json(void);
/* The built-in default seccomp profile written out as an OCI linux.seccomp object (the
 * denied calls that exist on this architecture), for other runtimes to be given the same
 * profile: a spec with it compiles to the same filter as a spec without linux.seccomp.
 * NULL on allocation failure; the caller owns the reference. */
json_t *iso_default_seccomp_json(void);

/* Accessors for the daemon. */
const char *iso_config_hostname(const struct iso_config *c); /* NULL when the spec has none */
/* Namespaces the sandbox gets, as CLONE_NEW* flags: new ones and joined ones. */
uint64_t iso_config_namespaces(const struct iso_config *c);
/* True when the sandbox gets a NEW network namespace (the daemon bind-mounts it). */
bool iso_config_has_netns(const struct iso_config *c);
bool iso_config_has_userns(const struct iso_config *c);
/* The spec's linux.resources object, borrowed (valid while c lives), or NULL.
 * isolation/ does not interpret it: cgroups/ does. */
const json_t *iso_config_resources(const struct iso_config *c);
/* process.terminal (a terminal is not supported: true is rejected at parse). */
bool iso_config_terminal(const struct iso_config *c);
/* True when the spec has process.args; without, sandbox-init pauses until signalled. */
bool iso_config_has_process(const struct iso_config *c);
/* process.args (NULL-terminated, borrowed) or NULL. */
char *const *iso_config_args(const struct iso_config *c);

/* ---- spawning ------------------------------------------------------------------------------ */

struct iso_process {
        pid_t pid; /* in the caller's pid namespace */
        int pidfd; /* owned; O_CLOEXEC */
        /* Its start time as /proc/PID/stat's field 22 shows it (clock ticks after boot),
         * when known without reading that file: the child's clone is bracketed by two
         * CLOCK_BOOTTIME readings, and when both fall in the same tick, that tick is it
         * (vm mode; most spawns).  0: unknown, read /proc/PID/stat. */
        uint64_t start_time;
};
#define ISO_PROCESS_NULL ((struct iso_process){.pid = 0, .pidfd = -EBADF})

/* Closes the pidfd (does not kill or reap).  Accepts an already released process. */
void iso_process_release(struct iso_process *p);

struct iso_spawn_opts {
        int cgroup_fd; /* -1: the caller's cgroup; else a cgroup2 dirfd for CLONE_INTO_CGROUP */
        int stdin_fd;  /* -1: /dev/null */
        int stdout_fd; /* -1: /dev/null */
        int stderr_fd; /* -1: /dev/null */
        /* Overrides process.args when non-NULL (NULL-terminated). */
        char *const *args;
        /* -1: the new network namespace is created by the clone, as the spec says.  Else a
         * namespace from iso_netns_new() the child enters instead (its lo is already up);
         * only for a config where iso_config_takes_netns_fd() is true (-EINVAL otherwise). */
        int netns_fd;
        /* -1, or the write end of a pipe (O_CLOEXEC|O_NONBLOCK) to which the child writes
         * started_token (8 bytes, one atomic write) once every step has succeeded and the
         * spec's process has been executed, right before it executes sandbox-init: the
         * sandbox is started.  started->pid and started->pidfd are written by the kernel
         * in the clone (CLONE_PARENT_SETTID, CLONE_PIDFD) and can be read by whoever reads
         * the token, before iso_spawn() has returned; they are the pid and pidfd
         * iso_spawn() then returns.  If executing sandbox-init fails after the token went
         * out, iso_spawn() still succeeds and the init exits at once with status 127.
         * Ignored (no token ever) with a joined user namespace, or when the spec's seccomp
         * filter might not let the write through. */
        int started_fd;
        uint64_t started_token;
        struct iso_process *started;
};
#define ISO_SPAWN_OPTS_INIT                       \
        ((struct iso_spawn_opts){.cgroup_fd = -1, \
                                 .stdin_fd = -1,  \
                                 .stdout_fd = -1, \
                                 .stderr_fd = -1, \
                                 .netns_fd = -1,  \
                                 .started_fd = -1})

/* Builds the sandbox: one clone3 with the spec's namespaces, CLONE_PIDFD and
 * CLONE_INTO_CGROUP; user namespace maps written from here; the child sets up
 * mounts, pivot_root, hostname, sysctls, loopback, rlimits, oom_score_adj,
 * user, capabilities, no_new_privs and seccomp, then executes sandbox-init
 * from a sealed memfd, which starts the spec's process.  Returns once that
 * process has been executed (or, with no process, once sandbox-init runs), or
 * fails with the child's error ("pivot_root into /x: No such file or
 * directory", "exec /bin/nope: No such file or directory"); on failure the
 * child is reaped and nothing is left behind.
 * Exit status of the sandbox: the process's exit code, or 128+signal. */
int iso_spawn(const struct iso_config *c, const struct iso_spawn_opts *o,
              struct iso_process *ret_process, struct sbx_error *err);

/* A new network namespace with its lo up, as an O_CLOEXEC nsfs fd, owned by the caller's
 * user namespace: made ahead of time (off the start path), it stands in for the one a
 * spawn would create (iso_spawn_opts.netns_fd), and the caller holds it from before the
 * sandbox exists, so it can bind-mount it whenever the sandbox has already exited.
 * Switches the calling thread's network namespace for the duration (per-thread state):
 * call it from a thread that is not spawning at the same time.  -errno with err. */
int iso_netns_new(struct sbx_error *err);
/* True when spawning c creates a network namespace that iso_netns_new() can stand in
 * for: a new one, and no user namespace (which would have to own it). */
bool iso_config_takes_netns_fd(const struct iso_config *c);

/* Bind-mounts the network namespace of p onto path (created as an empty file if
 * missing), like `ip netns add`.  Returns 0 or -errno. */
int iso_netns_bind(const struct iso_process *p, const char *path, struct sbx_error *err);

/* Namespace inodes of a process (0 when unknown), for Status verbose. */
struct iso_ns_inodes {
        uint64_t pid, mnt, uts, ipc, net, cgroup, user, time;
};
int iso_ns_inodes(pid_t pid, struct iso_ns_inodes *ret);

/* ---- tasks: processes started later inside a running sandbox ---------------------------- */

/* Parses a task's `process` object (OCI process: args required, env, cwd,
 * user, capabilities, noNewPrivileges, rlimits, oomScoreAdj).  Fields it leaves
 * out are taken from the sandbox's process; the sandbox's seccomp filter
 * always applies. */
int iso_task_config_parse(const json_t *process, const struct iso_config *sandbox,
                          struct iso_task_config **ret_task, struct sbx_error *err);
void iso_task_config_free(struct iso_task_config *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iso_task_config *, iso_task_config_free);

/* Starts a task: joins every namespace of the sandbox's init via
 * setns(pidfd), is born into o->cgroup_fd with CLONE_INTO_CGROUP, and gets the
 * same capabilities/no_new_privs/seccomp rules.  Returns once the task's
 * process was executed, or fails with the message ("exec /bin/nope: ...").
 * The calling thread's pid_for_children is switched to the sandbox's pid
 * namespace for the one clone3 and back (so is iso_spawn()'s with a pid
 * namespace given by path).  Both may run on several threads at once: what a
 * spawn changes (pid_for_children, the signal mask, the vm-mode child's
 * context) is the calling thread's own. */
int iso_spawn_task(const struct iso_process *sandbox_init, const struct iso_config *sandbox,
                   const struct iso_task_config *task, const struct iso_spawn_opts *o,
                   struct iso_process *ret_process, struct sbx_error *err);

/* ---- a task's own seccomp profile, stacked on the sandbox's (task-seccomp.c) ------------- */

struct iso_task_seccomp;
/* Compiles seccomp (an OCI linux.seccomp object; errors name "linux.seccomp...")
 * and joins it with the sandbox's filter into one program that returns what the
 * kernel returns for the two filters stacked (the task's attached last): the
 * strictest action, so the task can only be restricted further.  Without a
 * sandbox filter, the task's profile alone. */
int iso_task_seccomp_new(const struct iso_config *sandbox, const json_t *seccomp,
                         struct iso_task_seccomp **ret, struct sbx_error *err);
/* The sandbox's config with the joined filter, to pass to iso_spawn_task() as its
 * `sandbox`: borrowed, valid while both ts and sandbox live. */
const struct iso_config *iso_task_seccomp_config(const struct iso_task_seccomp *ts);
void iso_task_seccomp_free(struct iso_task_seccomp *ts);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct iso_task_seccomp *, iso_task_seccomp_free);
