/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of cgroups/: the structs behind the opaque types. */

#include "cgroups/cgroups.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Controllers we know, as bits (names in cg_controller_names). */
enum {
        CG_CTRL_CPUSET,
        CG_CTRL_CPU,
        CG_CTRL_IO,
        CG_CTRL_MEMORY,
        CG_CTRL_HUGETLB,
        CG_CTRL_PIDS,
        CG_CTRL_RDMA,
        CG_CTRL_MISC,
        _CG_CTRL_MAX,
};
extern const char *const cg_controller_names[_CG_CTRL_MAX];
int cg_controller_from_name(const char *name, size_t len);

/* A loaded device program, kept for the next sandbox with the same rule list: the
 * verifier is most of a sandbox cgroup's creation cost, and one program may be
 * attached to any number of cgroups. */
struct cg_prog_cache {
        struct cg_device_rule *rules; /* the full list: spec rules + defaults */
        size_t n;
        int fd;
};
#define CG_PROG_CACHE_MAX 8

struct cg_root {
        struct cg_prog_cache progs[CG_PROG_CACHE_MAX]; /* most recently loaded last */
        size_t n_progs;
        int fd;       /* O_PATH|O_DIRECTORY */
        char *path;   /* absolute filesystem path */
        char *cgroup; /* path relative to the cgroup2 hierarchy, "/..." */
        char *mount;  /* mount point of the cgroup2 hierarchy */
        int key_link; /* BPF link of the allow-all device program on the root (devices.c) */
        bool key_tried;
};

/* Device access bits, as the kernel's BPF_DEVCG_ACC_*. */
enum {
        CG_DEV_MKNOD = 1,
        CG_DEV_READ = 2,
        CG_DEV_WRITE = 4,
        CG_DEV_ALL = 7,
};

#define CG_MAX_DEVICE_RULES 4096

struct cg_device_rule {
        char type;     /* 'a', 'b', 'c' */
        int64_t major; /* -1: any */
        int64_t minor; /* -1: any */
        unsigned access;
        bool allow;
};

struct cg_kv {
        char *key;
        char *value;
};

struct cg_resources {
        bool has_memory_limit, has_memory_reservation, has_memory_swap;
        int64_t memory_limit, memory_reservation, memory_swap; /* -1: unlimited */
        bool has_pids_limit;
        int64_t pids_limit;
        bool has_cpu_max;
        int64_t cpu_quota; /* <= 0: max */
        uint64_t cpu_period;
        bool has_cpu_shares;
        uint64_t cpu_shares;
        bool has_cpu_burst;
        uint64_t cpu_burst;
        bool has_cpu_idle;
        int64_t cpu_idle;
        char *cpuset_cpus, *cpuset_mems;
        struct cg_kv *hugetlb; /* key: page size ("2MB"), value: limit */
        size_t n_hugetlb;
        struct cg_kv *unified; /* linux.resources.unified */
        size_t n_unified;
        struct cg_device_rule *devices;
        size_t n_devices;
        char **unsupported; /* "field: reason" */
        size_t n_unsupported;
};

struct cg_sandbox {
        struct cg_root *root; /* borrowed */
        char *ns, *id;
        int fd;        /* <id>/, O_RDONLY|O_DIRECTORY (BPF attach needs a real fd) */
        int init_fd;   /* <id>/init, O_PATH|O_DIRECTORY */
        int events_fd; /* <id>/cgroup.events, O_RDONLY */
        uint64_t cgroup_id, init_cgroup_id;
        char *path, *cgroup;
        char **skipped; /* NULL-terminated */
        size_t n_skipped;
};

/* root.c */
/* Bitmask of controllers listed in dirfd/cgroup.controllers. */
int cg_read_controllers(int dirfd, const char *file, unsigned *ret_mask);
/* "memory controller is bound to a cgroup v1 hierarchy" and the like. */
void cg_controller_missing_reason(const struct cg_root *r, int ctrl, char *buf, size_t size);
int cg_enable_controllers(int dirfd, const char *what, unsigned mask, struct sbx_error *err);
/* Longest cgroup directory name we make (escaped), including the NUL. */
#define CG_NAME_MAX 256
int cg_valid_name(const char *s);
const char *cg_escape_name(const char *s, char buf[static CG_NAME_MAX]);
const char *cg_unescape_name(const char *s);

/* devices.c */
/* The default allowed nodes (null, zero, full, random, urandom, tty, ptmx, pts). */
extern const struct cg_device_rule cg_default_devices[];
extern const size_t cg_n_default_devices;
/* Assembles the program for the rules (last match wins, default deny).  Returns
 * the instruction count or -errno; *ret is malloc'ed. */
struct bpf_insn;
int cg_devices_assemble(const struct cg_device_rule *rules, size_t n, struct bpf_insn **ret);
/* Assembles (spec rules, then the defaults), loads (or takes from r's cache) and
 * attaches to cgfd. */
int cg_devices_attach(struct cg_root *r, int cgfd, const struct cg_device_rule *rules, size_t n,
                      struct sbx_error *err);
void cg_devices_cache_clear(struct cg_root *r);

/* control.c */
int cg_events_read(int events_fd, const char *key, uint64_t *ret);
/* cg_sandbox_kill() for kernels without cgroup.kill (before 5.14): freeze, SIGKILL
 * every pid of the subtree, thaw.  Separate so the tests can run it on any kernel. */
int cg_sandbox_kill_fallback(struct cg_sandbox *sb, struct sbx_error *err);
