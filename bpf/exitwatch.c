/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * exitwatch loader: reuse or (re)creation of the pinned objects (the pin
 * directory itself: pins.c), the watched set, the ring buffer consumer.
 *
 * Pin directory layout (docs/exitwatch.md):
 *
 *     <pin_dir>/events     BPF_MAP_TYPE_RINGBUF   the exit / OOM records
 *     <pin_dir>/watched    BPF_MAP_TYPE_HASH      u64 cgroup id → u8
 *     <pin_dir>/stats      BPF_MAP_TYPE_PERCPU_ARRAY  drop and event counters
 *     <pin_dir>/link-exit  bpf_link of the sched_process_exit program
 *     <pin_dir>/link-oom   bpf_link of the mark_victim program (if attached)
 *     <pin_dir>/version    BPF_MAP_TYPE_ARRAY     struct exitwatch_pin_version
 *
 * "version" is written and pinned last: its presence with our magic, ABI and
 * object hash is what makes the set valid.  Anything else found in the
 * directory is an incompatible or half-made set, and is removed and recreated.
 * The ring buffer's consumer position lives in the map itself, so a reopened
 * consumer starts where the previous one stopped.
 */

#include "bpf/exitwatch.h"
#include "bpf/exitwatch-events-internal.h"
#include "bpf/pins-internal.h"
#include "bpf/exitwatch.skel.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

enum {
        MODE_BTF = 1,
        MODE_RAW = 2,
};

struct exitwatch {
        int dir_fd; /* the pin directory, flock()ed: one user at a time */
        int events_fd;
        int watched_fd;
        int stats_fd;
        int ncpus;
        struct ring_buffer *rb;
        struct exitwatch_open_info info;

        /* set for the duration of exitwatch_consume() */
        exitwatch_event_fn cb;
        void *userdata;
};

static const char *gd_source_name(uint32_t gd)
{
        switch (gd) {
        case EXITWATCH_GD_TRACEPOINT:
                return "tracepoint";
        case EXITWATCH_GD_PROBE:
                return "taskstats_exit probe";
        default:
                return "signal->live";
        }
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct exitwatch_bpf *, exitwatch_bpf__destroy);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct btf *, btf__free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bpf_link *, bpf_link__destroy);

static int libbpf_print_debug(enum libbpf_print_level level, const char *fmt, va_list ap)
{
        char buf[512];

        /* Library code logs at debug level only (STYLE.md); libbpf's own
         * warnings are what a failed load explains itself with. */
        if (sbx_log_get_max_level() < LOG_DEBUG)
                return 0;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = 0;
        sbx_log(LOG_DEBUG, "libbpf: %s", buf);
        return 0;
}

static uint64_t fnv1a64(const void *p, size_t n)
{
        const unsigned char *b = p;
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < n; i++) {
                h ^= b[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static uint64_t object_hash(void)
{
        size_t sz = 0;
        const void *bytes = exitwatch_bpf__elf_bytes(&sz);

        return fnv1a64(bytes, sz);
}

/* Why the bpf() syscall said EPERM, as a person can act on it. */
static const char *eperm_reason(void)
{
        _cleanup_free_ char *lockdown = NULL;
        FILE *f = fopen("/sys/kernel/security/lockdown", "re");
        char line[128] = "";

        if (f) {
                if (!fgets(line, sizeof(line), f))
                        line[0] = 0;
                fclose(f);
        }
        if (strstr(line, "[confidentiality]"))
                return "kernel lockdown (confidentiality) forbids BPF tracing";
        if (geteuid() != 0)
                return "no CAP_BPF/CAP_SYS_ADMIN (not root)";
        return "permission denied by the kernel (missing CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN, "
               "or a security module)";
}

static uint32_t ring_bytes(unsigned flags)
{
        return flags & EXITWATCH_SMALL_RING ? EXITWATCH_SMALL_RING_BYTES : EXITWATCH_RING_BYTES;
}

/* Opens a complete, compatible pin set.  Returns 0, or -ENOENT (nothing
 * pinned), -EPROTO (incompatible or partial: reason in *why), -EPERM. */
static int open_pins(struct exitwatch *ew, const char *pin_dir, unsigned flags, char *why,
                     size_t why_len)
{
        struct exitwatch_pin_version v = {};
        _cleanup_close_ int version_fd = -EBADF, link_fd = -EBADF;
        uint32_t key = 0;
        int r;

        version_fd = pins_obj_get(pin_dir, "version");
        if (version_fd < 0) {
                if (version_fd == -ENOENT && pins_count(ew->dir_fd) == 0)
                        return -ENOENT;
                if (version_fd == -EPERM)
                        return -EPERM;
                snprintf(why, why_len, "no valid version pin (%s)", strerror(-version_fd));
                return -EPROTO;
        }
        if (pins_check_map(version_fd, BPF_MAP_TYPE_ARRAY, sizeof(uint32_t), sizeof(v), 1) < 0 ||
            bpf_map_lookup_elem(version_fd, &key, &v) < 0 || v.magic != EXITWATCH_MAGIC) {
                snprintf(why, why_len, "version pin is not exitwatch's");
                return -EPROTO;
        }
        if (v.abi != EXITWATCH_ABI || v.obj_hash != object_hash()) {
                snprintf(why, why_len,
                         "pins from another build (abi %u, object %016llx; this build: abi %u, "
                         "object %016llx)",
                         v.abi, (unsigned long long)v.obj_hash, EXITWATCH_ABI,
                         (unsigned long long)object_hash());
                return -EPROTO;
        }
        if ((flags & EXITWATCH_FORCE_FALLBACK) && v.mode != MODE_RAW) {
                snprintf(why, why_len, "pinned programs are tp_btf, raw_tp requested");
                return -EPROTO;
        }
        if ((flags & EXITWATCH_NO_GROUP_DEAD_ARG) && v.group_dead_from == EXITWATCH_GD_TRACEPOINT) {
                snprintf(why, why_len, "pinned programs use the group_dead argument");
                return -EPROTO;
        }

        ew->events_fd = pins_obj_get(pin_dir, "events");
        ew->watched_fd = pins_obj_get(pin_dir, "watched");
        ew->stats_fd = pins_obj_get(pin_dir, "stats");
        link_fd = pins_obj_get(pin_dir, "link-exit");
        if (ew->events_fd < 0 || ew->watched_fd < 0 || ew->stats_fd < 0 || link_fd < 0) {
                snprintf(why, why_len, "incomplete pin set");
                return -EPROTO;
        }
        r = pins_check_map(ew->events_fd, BPF_MAP_TYPE_RINGBUF, 0, 0, ring_bytes(flags));
        if (r >= 0)
                r = pins_check_map(ew->watched_fd, BPF_MAP_TYPE_HASH, sizeof(uint64_t),
                                   sizeof(uint8_t), EXITWATCH_MAX_WATCHED);
        if (r >= 0)
                r = pins_check_map(ew->stats_fd, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(uint32_t),
                                   sizeof(uint64_t), EXITWATCH_STAT_MAX);
        if (r < 0) {
                snprintf(why, why_len, "pinned maps have another layout");
                return -EPROTO;
        }
        ew->info.fallback = v.mode == MODE_RAW;
        ew->info.oom_events = v.oom != 0;
        ew->info.group_dead_source = gd_source_name(v.group_dead_from);
        return 0;
}

/* Whether sched_process_exit's BTF prototype has the group_dead argument
 * (void *, struct task_struct *, bool): kernels after 6.1. */
static bool exit_tp_has_group_dead(void)
{
        _cleanup_(btf__freep) struct btf *btf = btf__load_vmlinux_btf();
        const struct btf_type *t;
        int id;

        if (!btf)
                return false;
        id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
        if (id < 0)
                return false;
        t = btf__type_by_id(btf, id); /* typedef → pointer → func proto */
        t = btf__type_by_id(btf, t->type);
        if (!t || !btf_is_ptr(t))
                return false;
        t = btf__type_by_id(btf, t->type);
        return t && btf_is_func_proto(t) && btf_vlen(t) >= 3;
}

static int load_and_pin_once(const char *pin_dir, int mode, uint32_t ring_size, bool group_dead_arg,
                             bool try_probe, bool *ret_load_failed, bool *ret_oom, uint32_t *ret_gd,
                             struct sbx_error *err)
{
        _cleanup_(exitwatch_bpf__destroyp) struct exitwatch_bpf *skel = NULL;
        struct exitwatch_pin_version v = {
                .magic = EXITWATCH_MAGIC,
                .abi = EXITWATCH_ABI,
                .mode = mode,
                .obj_hash = object_hash(),
        };
        struct bpf_program *exit_prog, *oom_prog, *gd_fentry, *gd_kprobe, *gd_prog;
        _cleanup_(bpf_link__destroyp) struct bpf_link *gd_link = NULL; /* before skel's end */
        struct bpf_link *exit_link, *oom_link;
        char path[PATH_MAX];
        uint32_t key = 0;
        int r;

        skel = exitwatch_bpf__open();
        if (!skel)
                return sbx_fail_errno(err, -errno, "open BPF object");
        skel->rodata->exit_has_group_dead_arg = group_dead_arg;
        r = bpf_map__set_max_entries(skel->maps.events, ring_size);
        if (r < 0)
                return sbx_fail_errno(err, r, "size the ring buffer");

        exit_prog = mode == MODE_BTF ? skel->progs.exit_btf : skel->progs.exit_raw;
        oom_prog = mode == MODE_BTF ? skel->progs.oom_btf : skel->progs.oom_raw;
        bpf_program__set_autoload(skel->progs.exit_btf, mode == MODE_BTF);
        bpf_program__set_autoload(skel->progs.oom_btf, mode == MODE_BTF);
        bpf_program__set_autoload(skel->progs.exit_raw, mode == MODE_RAW);
        bpf_program__set_autoload(skel->progs.oom_raw, mode == MODE_RAW);
        /* Without the tracepoint's group_dead argument, a probe on
         * taskstats_exit(tsk, group_dead) tells (fentry with tp_btf; kprobe,
         * x86-64 only, with raw_tp). */
        gd_fentry = skel->progs.group_dead_fentry;
        gd_kprobe = bpf_object__find_program_by_name(skel->obj, "group_dead_kprobe");
        gd_prog = group_dead_arg || !try_probe ? NULL : mode == MODE_BTF ? gd_fentry : gd_kprobe;
        bpf_program__set_autoload(gd_fentry, gd_prog == gd_fentry);
        if (gd_kprobe)
                bpf_program__set_autoload(gd_kprobe, gd_prog == gd_kprobe);

        r = exitwatch_bpf__load(skel);
        *ret_load_failed = r < 0;
        if (r < 0)
                return sbx_fail_errno(err, r, "load BPF programs (%s)",
                                      mode == MODE_BTF ? "tp_btf" : "raw_tp");

        exit_link = bpf_program__attach(exit_prog);
        if (!exit_link)
                return sbx_fail_errno(err, -errno, "attach %s",
                                      bpf_program__section_name(exit_prog));
        /* Kept in the skeleton, so they are destroyed with it. */
        if (mode == MODE_BTF)
                skel->links.exit_btf = exit_link;
        else
                skel->links.exit_raw = exit_link;
        /* mark_victim is a nice-to-have: without it exits are still reported
         * (the victim's SIGKILL exit), only the "OOM" reason is missing. */
        oom_link = bpf_program__attach(oom_prog);
        if (oom_link) {
                if (mode == MODE_BTF)
                        skel->links.oom_btf = oom_link;
                else
                        skel->links.oom_raw = oom_link;
        }
        v.oom = oom_link != NULL;
        *ret_oom = oom_link != NULL;

        v.group_dead_from = group_dead_arg ? EXITWATCH_GD_TRACEPOINT : EXITWATCH_GD_LIVE;
        if (gd_prog) {
                gd_link = bpf_program__attach(gd_prog);
                if (gd_link) {
                        skel->bss->group_dead_probe_ok = true;
                        v.group_dead_from = EXITWATCH_GD_PROBE;
                }
        }
        *ret_gd = v.group_dead_from;

        struct {
                const char *name;
                struct bpf_map *map;
                struct bpf_link *link;
        } pins[] = {
                {"events", skel->maps.events, NULL}, {"watched", skel->maps.watched, NULL},
                {"stats", skel->maps.stats, NULL},   {"link-exit", NULL, exit_link},
                {"link-oom", NULL, oom_link},        {"link-group-dead", NULL, gd_link},
        };
        for (size_t i = 0; i < ELEMENTSOF(pins); i++) {
                snprintf(path, sizeof(path), "%s/%s", pin_dir, pins[i].name);
                if (pins[i].map)
                        r = bpf_map__pin(pins[i].map, path);
                else if (pins[i].link)
                        r = bpf_link__pin(pins[i].link, path);
                else
                        continue;
                if (r < 0)
                        return sbx_fail_errno(err, r, "pin %s", path);
        }

        if (bpf_map_update_elem(bpf_map__fd(skel->maps.version), &key, &v, BPF_ANY) < 0)
                return sbx_fail_errno(err, -errno, "write version map");
        snprintf(path, sizeof(path), "%s/version", pin_dir);
        r = bpf_map__pin(skel->maps.version, path);
        if (r < 0)
                return sbx_fail_errno(err, r, "pin %s", path);
        /* Destroying the skeleton closes our fds; the pins keep maps and links
         * (and so the attached programs) alive. */
        return 0;
}

/* The taskstats_exit probe is optional: some kernels refuse fentry on it
 * (EPERM) or have no kprobes.  Then the exit program falls back to
 * signal->live. */
static int load_and_pin(const char *pin_dir, int mode, uint32_t ring_size, bool group_dead_arg,
                        bool *ret_oom, uint32_t *ret_gd, struct sbx_error *err)
{
        bool load_failed = false;
        int r;

        if (!group_dead_arg) {
                r = load_and_pin_once(pin_dir, mode, ring_size, false, true, &load_failed, ret_oom,
                                      ret_gd, err);
                if (r >= 0 || !load_failed)
                        return r;
                sbx_error_clear(err);
        }
        return load_and_pin_once(pin_dir, mode, ring_size, group_dead_arg, false, &load_failed,
                                 ret_oom, ret_gd, err);
}

static int install(struct exitwatch *ew, const char *pin_dir, unsigned flags, struct sbx_error *err)
{
        bool group_dead_arg = !(flags & EXITWATCH_NO_GROUP_DEAD_ARG) && exit_tp_has_group_dead();
        struct sbx_error btf_err = {}, raw_err = {};
        bool oom = false;
        uint32_t gd = 0;
        int r;

        if (!(flags & EXITWATCH_FORCE_FALLBACK)) {
                r = load_and_pin(pin_dir, MODE_BTF, ring_bytes(flags), group_dead_arg, &oom, &gd,
                                 &btf_err);
                if (r >= 0) {
                        ew->info.fallback = false;
                        goto done;
                }
                /* Whatever the tp_btf attempt left behind goes before the
                 * fallback pins its own. */
                (void)pins_remove(ew->dir_fd, NULL);
                if (r == -EPERM)
                        return exitwatch_unavailable(err, "%s", eperm_reason());
        }
        r = load_and_pin(pin_dir, MODE_RAW, ring_bytes(flags), group_dead_arg, &oom, &gd, &raw_err);
        if (r < 0) {
                (void)pins_remove(ew->dir_fd, NULL);
                if (r == -EPERM)
                        return exitwatch_unavailable(err, "%s", eperm_reason());
                if (btf_err.code)
                        return exitwatch_unavailable(err, "%s; fallback: %s", btf_err.message,
                                                     raw_err.message);
                return exitwatch_unavailable(err, "%s", raw_err.message);
        }
        ew->info.fallback = true;
done:
        ew->info.oom_events = oom;
        ew->info.group_dead_source = gd_source_name(gd);
        return 0;
}

static int sample_cb(void *ctx, void *data, size_t size)
{
        struct exitwatch *ew = ctx;
        const struct exitwatch_raw_event *raw = data;
        struct exitwatch_event ev = {};
        long page_kb = sysconf(_SC_PAGESIZE) / 1024;

        if (size < sizeof(*raw))
                return 0; /* not ours: the ABI check makes this impossible */

        ev.type = raw->type == EXITWATCH_RAW_OOM ? EXITWATCH_EVENT_OOM : EXITWATCH_EVENT_EXIT;
        ev.pid = (pid_t)raw->pid;
        ev.tgid = (pid_t)raw->tgid;
        ev.ppid = (pid_t)raw->ppid;
        ev.exit_status = raw->exit_status;
        ev.group_dead = raw->flags & EXITWATCH_RAW_GROUP_DEAD;
        ev.ns_tgid = (pid_t)raw->ns_tgid;
        /* Same depth: the parent's namespace is the child's (a child is made in its
         * parent's namespace or one below it). */
        ev.ns_first_child = raw->type == EXITWATCH_RAW_EXIT && raw->ns_tgid == 2 &&
                            raw->parent_ns_tgid == 1 && raw->ns_level == raw->parent_ns_level;
        memcpy(ev.comm, raw->comm, sizeof(ev.comm));
        ev.comm[sizeof(ev.comm) - 1] = 0;
        ev.cgroup_id = raw->cgroup_id;
        ev.watched_id = raw->watched_id;
        ev.timestamp_ns = raw->timestamp_ns;
        if (ev.type == EXITWATCH_EVENT_OOM) {
                ev.oom.total_vm_kb = raw->total_vm_pages * page_kb;
                ev.oom.file_rss_kb = raw->rss_pages[0] * page_kb;
                ev.oom.anon_rss_kb = raw->rss_pages[1] * page_kb;
                ev.oom.shmem_rss_kb = raw->rss_pages[3] * page_kb;
                ev.oom.pgtables_kb = raw->pgtables_bytes / 1024;
                ev.oom.oom_score_adj = raw->oom_score_adj;
        }
        if (!ew->cb)
                return 0;
        return ew->cb(&ev, ew->userdata);
}

void exitwatch_close(struct exitwatch *ew)
{
        if (!ew)
                return;
        ring_buffer__free(ew->rb);
        safe_close(ew->events_fd);
        safe_close(ew->watched_fd);
        safe_close(ew->stats_fd);
        safe_close(ew->dir_fd); /* drops the flock */
        free(ew);
}

int exitwatch_open(const char *pin_dir, unsigned flags, struct exitwatch **ret,
                   struct sbx_error *err)
{
        _cleanup_exitwatch_ struct exitwatch *ew = NULL;
        char why[sizeof(ew->info.replaced_reason)] = "";
        int r;

        if (!ret)
                return sbx_fail(err, -EINVAL, "exitwatch_open: ret is NULL");
        if (!pin_dir)
                pin_dir = EXITWATCH_DEFAULT_PIN_DIR;
        r = pins_check_dir(pin_dir, err);
        if (r < 0)
                return r;

        libbpf_set_print(libbpf_print_debug);

        if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
                return exitwatch_unavailable(err,
                                             "the kernel has no BTF (/sys/kernel/btf/vmlinux: %s; "
                                             "needs CONFIG_DEBUG_INFO_BTF)",
                                             strerror(errno));

        ew = calloc(1, sizeof(*ew));
        if (!ew)
                return sbx_fail(err, -ENOMEM, "out of memory");
        ew->dir_fd = ew->events_fd = ew->watched_fd = ew->stats_fd = -EBADF;

        r = pins_ensure_bpffs(pin_dir, err);
        if (r < 0)
                return r;
        r = pins_mkdir_p(pin_dir, err);
        if (r == -EACCES || r == -EPERM)
                return exitwatch_unavailable(err, "cannot create %s (%s): not privileged", pin_dir,
                                             strerror(-r));
        if (r < 0)
                return r;
        if (!pins_on_bpffs(pin_dir))
                return sbx_fail(err, -EINVAL, "pin directory %s is not on a bpf filesystem",
                                pin_dir);
        ew->dir_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ew->dir_fd < 0)
                return sbx_fail_errno(err, -errno, "open %s", pin_dir);
        /* One daemon per pin directory: two consumers of one ring buffer
         * would steal each other's events. */
        if (flock(ew->dir_fd, LOCK_EX | LOCK_NB) < 0)
                return sbx_fail_errno(err, errno == EWOULDBLOCK ? -EBUSY : -errno,
                                      "pin directory %s is in use by another exitwatch", pin_dir);

        if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 0)
                return exitwatch_unavailable(err,
                                             "kernel too old: no BPF ring buffer (Linux 5.8+)");

        r = (flags & EXITWATCH_REPLACE_PINS) ? -EPROTO
                                             : open_pins(ew, pin_dir, flags, why, sizeof(why));
        if (flags & EXITWATCH_REPLACE_PINS)
                snprintf(why, sizeof(why), "replacement requested");
        if (r == -EPERM)
                return exitwatch_unavailable(err, "%s", eperm_reason());
        if (r == 0) {
                ew->info.reused_pins = true;
        } else {
                ew->events_fd = safe_close(ew->events_fd);
                ew->watched_fd = safe_close(ew->watched_fd);
                ew->stats_fd = safe_close(ew->stats_fd);
                if (r == -EPROTO && pins_count(ew->dir_fd) > 0) {
                        ew->info.replaced_pins = true;
                        snprintf(ew->info.replaced_reason, sizeof(ew->info.replaced_reason), "%s",
                                 why);
                }
                r = pins_remove(ew->dir_fd, err);
                if (r < 0)
                        return r;
                r = install(ew, pin_dir, flags, err);
                if (r < 0)
                        return r;
                r = open_pins(ew, pin_dir, flags, why, sizeof(why));
                if (r < 0)
                        return sbx_fail(err, r == -EPROTO ? -EIO : r,
                                        "reopen freshly pinned objects: %s", why);
        }

        ew->ncpus = libbpf_num_possible_cpus();
        if (ew->ncpus <= 0)
                return sbx_fail(err, ew->ncpus < 0 ? ew->ncpus : -EIO, "count possible CPUs");
        ew->rb = ring_buffer__new(ew->events_fd, sample_cb, ew, NULL);
        if (!ew->rb)
                return sbx_fail_errno(err, -errno, "map the BPF ring buffer");

        *ret = TAKE_PTR(ew);
        return 0;
}

const struct exitwatch_open_info *exitwatch_open_info(const struct exitwatch *ew)
{
        return &ew->info;
}

int exitwatch_watch(struct exitwatch *ew, uint64_t cgroup_id, struct sbx_error *err)
{
        uint8_t one = 1;

        if (cgroup_id == 0)
                return sbx_fail(err, -EINVAL, "cgroup id 0 is not a cgroup");
        if (bpf_map_update_elem(ew->watched_fd, &cgroup_id, &one, BPF_ANY) < 0)
                return sbx_fail_errno(err, errno == E2BIG ? -ENOSPC : -errno, "watch cgroup %llu",
                                      (unsigned long long)cgroup_id);
        return 0;
}

int exitwatch_unwatch(struct exitwatch *ew, uint64_t cgroup_id, struct sbx_error *err)
{
        if (bpf_map_delete_elem(ew->watched_fd, &cgroup_id) < 0)
                return sbx_fail_errno(err, -errno, "unwatch cgroup %llu",
                                      (unsigned long long)cgroup_id);
        return 0;
}

int exitwatch_is_watched(struct exitwatch *ew, uint64_t cgroup_id)
{
        uint8_t v;

        if (bpf_map_lookup_elem(ew->watched_fd, &cgroup_id, &v) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 1;
}

int exitwatch_cgroup_id(int cgroup_fd, uint64_t *ret_id)
{
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = {.fh.handle_bytes = sizeof(uint64_t)};
        int mnt_id;

        /* cgroupfs (kernfs) file handles are the 64-bit kernfs node id, the
         * same id BPF reads from cgroup->kn->id (Linux 5.5+). */
        if (name_to_handle_at(cgroup_fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0)
                return -errno;
        if (h.fh.handle_bytes != sizeof(uint64_t))
                return -EOPNOTSUPP;
        memcpy(ret_id, h.fh.f_handle, sizeof(uint64_t));
        return 0;
}

int exitwatch_fd(const struct exitwatch *ew)
{
        return ring_buffer__epoll_fd(ew->rb);
}

int exitwatch_consume(struct exitwatch *ew, exitwatch_event_fn cb, void *userdata)
{
        int r;

        ew->cb = cb;
        ew->userdata = userdata;
        r = ring_buffer__consume(ew->rb);
        ew->cb = NULL;
        ew->userdata = NULL;
        return r;
}

uint64_t exitwatch_dropped(const struct exitwatch *ew)
{
        _cleanup_free_ uint64_t *v = calloc(ew->ncpus, sizeof(uint64_t));
        uint32_t key = EXITWATCH_STAT_DROPPED;
        uint64_t sum = 0;

        if (!v || bpf_map_lookup_elem(ew->stats_fd, &key, v) < 0)
                return 0;
        for (int i = 0; i < ew->ncpus; i++)
                sum += v[i];
        return sum;
}

int exitwatch_uninstall(const char *pin_dir, struct sbx_error *err)
{
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        if (!pin_dir)
                pin_dir = EXITWATCH_DEFAULT_PIN_DIR;
        r = pins_check_dir(pin_dir, err);
        if (r < 0)
                return r;
        dir_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return sbx_fail_errno(err, -errno, "open %s", pin_dir);
        }
        if (!pins_on_bpffs(pin_dir))
                return sbx_fail(err, -EINVAL, "%s is not on a bpf filesystem", pin_dir);
        if (flock(dir_fd, LOCK_EX | LOCK_NB) < 0)
                return sbx_fail_errno(err, errno == EWOULDBLOCK ? -EBUSY : -errno,
                                      "pin directory %s is in use (is the daemon running?)",
                                      pin_dir);
        r = pins_remove(dir_fd, err);
        if (r < 0)
                return r;
        if (rmdir(pin_dir) < 0 && errno != ENOENT)
                return sbx_fail_errno(err, -errno, "remove %s", pin_dir);
        return 0;
}
