/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parsed spec and the pieces shared by the files of isolation/. */

#include "isolation/isolation.h"
#include "isolation/sync-internal.h"

#include <linux/filter.h>
#include <linux/sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct iso_mount {
        char *destination;         /* absolute */
        char *source;              /* NULL for pseudo file systems without one */
        char *fstype;              /* NULL for bind mounts; "cgroup" is mounted as "cgroup2" */
        char *data;                /* comma-separated options the kernel parses, or NULL */
        unsigned long flags;       /* MS_* to set */
        unsigned long clear;       /* MS_* the options cleared explicitly ("rw", "suid") */
        unsigned long propagation; /* MS_PRIVATE, MS_SLAVE, ... (| MS_REC), or 0 */
        bool bind, recursive;
};

struct iso_rlimit {
        int resource;
        struct rlimit limit;
};

struct iso_caps {
        uint64_t bounding, effective, inheritable, permitted, ambient;
};

/* What is needed to turn a process into the spec's process (sandbox or task). */
struct iso_proc {
        char **args; /* NULL when absent */
        char **env;  /* never NULL */
        char *cwd;
        uid_t uid;
        gid_t gid;
        gid_t *gids;
        size_t n_gids;
        int umask; /* -1: unchanged */
        struct iso_caps caps;
        bool no_new_privs;
        struct iso_rlimit *rlimits;
        size_t n_rlimits;
        bool has_oom_score_adj;
        int oom_score_adj;
};

struct iso_ns_join {
        uint64_t flag; /* CLONE_NEW* */
        char *path;
};

struct iso_sysctl {
        char *key;  /* as written in the spec */
        char *path; /* "/proc/sys/net/ipv4/ip_forward" */
        char *value;
};

struct iso_config {
        json_t *spec; /* a reference to the parsed document */
        struct iso_proc proc;
        bool has_process, terminal;
        char *root;
        bool root_readonly;
        char *hostname;
        uint64_t ns_new; /* CLONE_NEW* flags of namespaces to create */
        struct iso_ns_join *joins;
        size_t n_joins;
        char *uid_map, *gid_map; /* text for /proc/PID/{u,g}id_map, or NULL */
        struct iso_mount *mounts;
        size_t n_mounts;
        char **masked, **readonly;
        size_t n_masked, n_readonly;
        struct iso_sysctl *sysctls;
        size_t n_sysctls;
        struct sock_filter *filter; /* compiled seccomp program, or NULL for none */
        size_t filter_len;
        bool filter_allows_write; /* write(2) passes it: the child may announce its exec */
};

struct iso_task_config {
        struct iso_proc proc;
};

/* What the parent hands the clone3 child (all prepared before clone3: the child
 * allocates nothing). */
struct iso_child_ctx {
        int sync_fd;                     /* fork mode: the socket; -1 in vm mode */
        struct iso_child_report *report; /* vm mode: where the child reports; NULL: socket */
        int init_fd;                     /* the sealed memfd of sandbox-init */
        int stdio[3];                    /* fds to become 0, 1, 2 */
        int *join_fds;                   /* one per c->joins, opened by the parent */
        int last_cap;                    /* highest capability number the kernel knows */
        bool userns;                     /* in a new or joined user namespace */
        uint64_t ns_late;                /* CLONE_NEW* to create after the joins (joined userns) */
        int netns_fd;                    /* -1, or a network namespace to enter (not create) */
        int started_fd;                  /* -1, or where to announce the exec (iso_spawn_opts) */
        uint64_t started_token;
        struct iso_process *started; /* vm mode, announcing: where start_time goes too */
        /* vm mode: CLOCK_BOOTTIME right before the clone, and the length of a clock tick of
         * /proc/PID/stat (0: no start time from the child) */
        uint64_t boot_before_ns, tick_ns;
        bool task;      /* joining a running sandbox: no mounts, no new namespaces */
        int task_pidfd; /* the sandbox init's pidfd (tasks) */
        int task_join;  /* CLONE_NEW* flags to setns() through it (tasks) */
};

/* spawn.c: how the child is made.  ISO_CLONE_VM: clone3(CLONE_VM|CLONE_VFORK) on a
 * child stack (x86-64, not under AddressSanitizer); ISO_CLONE_FORK: a copy of the
 * parent (always available; required with user or time namespaces).  Tests and
 * bench/spawn may force fork mode. */
enum iso_clone_mode { ISO_CLONE_VM, ISO_CLONE_FORK };
extern enum iso_clone_mode iso_clone_mode_max;
/* True when vm mode is built in (x86-64 without AddressSanitizer). */
bool iso_clone_vm_supported(void);
/* clone3(args) whose child runs fn(arg) on args->stack and exits when fn returns;
 * returns the pid or -errno (x86-64 only). */
pid_t iso_clone3_vm(struct clone_args *args, size_t size, void (*fn)(void *), void *arg);

/* spec.c: JSON helpers (errors name path) */
void iso_strv_free(char **v);
char **iso_strv_copy(char *const *v);
int iso_strv_parse(const json_t *a, const char *path, char ***ret, struct sbx_error *err);
int iso_get_u32(const json_t *v, const char *path, uint32_t *ret, struct sbx_error *err);
int iso_get_u32_opt(const json_t *v, const char *path, uint32_t *ret, struct sbx_error *err);
int iso_get_u64(const json_t *v, const char *path, uint64_t *ret, struct sbx_error *err);

/* spec.c: "network" for CLONE_NEWNET (the spec's names) */
const char *iso_ns_type_name(uint64_t flag);

/* spec-process.c */
int iso_proc_parse(const json_t *process, const char *path, const struct iso_proc *defaults,
                   struct iso_proc *ret, struct sbx_error *err);
void iso_proc_done(struct iso_proc *p);

/* spec-mounts.c */
int iso_mounts_parse(const json_t *mounts, struct iso_config *c, struct sbx_error *err);
int iso_mount_options_parse(const json_t *options, const char *path, struct iso_mount *m,
                            struct sbx_error *err);

/* spec-caps.c: capability names (libcap) and the defaults */
extern const char *const iso_default_caps[];
int iso_caps_parse(const json_t *caps, const char *path, struct iso_caps *ret,
                   struct sbx_error *err);
uint64_t iso_caps_default_mask(void);

/* spec-seccomp.c: whether write(2) passes linux.seccomp (the default profile when NULL)
 * unconditionally */
bool iso_seccomp_allows_write(const json_t *seccomp);
/* spec-seccomp.c: compiles linux.seccomp (or the default profile when spec is NULL) */
int iso_seccomp_compile(const json_t *seccomp, struct sock_filter **ret_filter, size_t *ret_len,
                        struct sbx_error *err);

/* init-blob.c: the embedded sandbox-init, copied once into a sealed memfd */
int iso_init_memfd(struct sbx_error *err);

/* child.c: runs in the clone3 child; never returns */
_Noreturn void iso_child_main(const struct iso_config *c, const struct iso_proc *proc,
                              const struct iso_child_ctx *ctx);

/* netlink.c: brings lo up in the current network namespace; returns 0 or -errno
 * (no allocation: safe in the clone3 child) */
int iso_loopback_up(void);

/* spawn.c: formats a child's report as a message */
int iso_child_error(const struct iso_config *c, const struct iso_proc *proc,
                    const struct iso_sync_msg *m, struct sbx_error *err);

int iso_json_path_error(struct sbx_error *err, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
