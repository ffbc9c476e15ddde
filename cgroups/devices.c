/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device rules → a BPF_PROG_TYPE_CGROUP_DEVICE program, assembled here from
 * struct bpf_insn (no clang at run time, no object file), as runc's devicefilter
 * and crun's ebpf.c do.
 *
 * The kernel calls the program with struct bpf_cgroup_dev_ctx:
 *     u32 access_type   (access << 16) | type   type: BPF_DEVCG_DEV_BLOCK 1, _CHAR 2
 *                                               access: MKNOD 1, READ 2, WRITE 4
 *     u32 major, minor
 * and allows the operation when it returns 1.
 *
 * Evaluation: the LAST rule that matches decides (as runc and crun evaluate OCI
 * rules), so the rules are emitted last-to-first and the first match in the program
 * returns.  No match: deny.  A rule matches when its type is 'a' or equals the
 * device's, its major/minor are -1 or equal, and the requested access is a subset
 * of the rule's.
 */
#include "cgroups/cgroups-internal.h"

#include "common/log.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

/* Always allowed, after the spec's rules (so a leading "deny all" of a stock
 * config.json does not take them away) — runc's default set without its
 * "mknod anything" wildcards. */
const struct cg_device_rule cg_default_devices[] = {
        {'c', 1, 3, CG_DEV_ALL, true},    /* /dev/null */
        {'c', 1, 5, CG_DEV_ALL, true},    /* /dev/zero */
        {'c', 1, 7, CG_DEV_ALL, true},    /* /dev/full */
        {'c', 1, 8, CG_DEV_ALL, true},    /* /dev/random */
        {'c', 1, 9, CG_DEV_ALL, true},    /* /dev/urandom */
        {'c', 5, 0, CG_DEV_ALL, true},    /* /dev/tty */
        {'c', 5, 2, CG_DEV_ALL, true},    /* /dev/ptmx */
        {'c', 136, -1, CG_DEV_ALL, true}, /* /dev/pts/N */
};
const size_t cg_n_default_devices = ELEMENTSOF(cg_default_devices);

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        return (struct bpf_insn){
                .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

#define LDX_W(dst, src, off)  insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
#define ALU32_K(op, dst, imm) insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src)     insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm)     insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_K(dst, imm, off)  insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define EXIT()                insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

int cg_devices_assemble(const struct cg_device_rule *rules, size_t n, struct bpf_insn **ret)
{
        /* 6 prologue + at most 8 per rule (type 1, access 3, major 1, minor 1, verdict 2)
         * + 2 epilogue. */
        struct bpf_insn *p = calloc(8 * n + 8, sizeof(*p));
        size_t c = 0;
        bool terminated = false;

        if (!p)
                return -ENOMEM;
        /* r2 = type, r3 = access, r4 = major, r5 = minor (32-bit loads zero-extend). */
        p[c++] = LDX_W(BPF_REG_2, BPF_REG_1, 0);
        p[c++] = ALU32_K(BPF_AND, BPF_REG_2, 0xffff);
        p[c++] = LDX_W(BPF_REG_3, BPF_REG_1, 0);
        p[c++] = ALU32_K(BPF_RSH, BPF_REG_3, 16);
        p[c++] = LDX_W(BPF_REG_4, BPF_REG_1, 4);
        p[c++] = LDX_W(BPF_REG_5, BPF_REG_1, 8);

        for (size_t i = n; i-- > 0 && !terminated;) {
                const struct cg_device_rule *r = &rules[i];
                bool t = r->type != 'a', a = (r->access & CG_DEV_ALL) != CG_DEV_ALL;
                bool ma = r->major >= 0, mi = r->minor >= 0;
                /* Instructions after each conditional jump up to the end of the block. */
                int len = (t ? 1 : 0) + (a ? 3 : 0) + (ma ? 1 : 0) + (mi ? 1 : 0) + 2;
                int left = len;

                if (t) {
                        p[c++] = JNE_K(BPF_REG_2,
                                       r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
                                       (int16_t)(left - 1));
                        left -= 1;
                }
                if (a) {
                        /* (requested & ~rule) != 0 → not a subset → next rule. */
                        p[c++] = MOV32_X(BPF_REG_1, BPF_REG_3);
                        p[c++] = ALU32_K(BPF_AND, BPF_REG_1, (int32_t)(~r->access & CG_DEV_ALL));
                        p[c++] = JNE_K(BPF_REG_1, 0, (int16_t)(left - 3));
                        left -= 3;
                }
                if (ma) {
                        p[c++] = JNE_K(BPF_REG_4, (int32_t)r->major, (int16_t)(left - 1));
                        left -= 1;
                }
                if (mi) {
                        p[c++] = JNE_K(BPF_REG_5, (int32_t)r->minor, (int16_t)(left - 1));
                        left -= 1;
                }
                p[c++] = MOV64_K(BPF_REG_0, r->allow ? 1 : 0);
                p[c++] = EXIT();
                /* A rule that matches everything ends the program: the verifier rejects
                 * unreachable instructions after it. */
                terminated = !t && !a && !ma && !mi;
        }
        if (!terminated) {
                p[c++] = MOV64_K(BPF_REG_0, 0);
                p[c++] = EXIT();
        }
        *ret = p;
        return (int)c;
}

static bool same_rules(const struct cg_device_rule *a, const struct cg_device_rule *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (a[i].type != b[i].type || a[i].major != b[i].major ||
                    a[i].minor != b[i].minor || a[i].access != b[i].access ||
                    a[i].allow != b[i].allow)
                        return false;
        return true;
}

void cg_devices_cache_clear(struct cg_root *r)
{
        for (size_t i = 0; i < r->n_progs; i++) {
                safe_close(r->progs[i].fd);
                free(r->progs[i].rules);
        }
        r->n_progs = 0;
}

static int load(const struct cg_device_rule *all, size_t total, struct sbx_error *err)
{
        _cleanup_free_ struct bpf_insn *prog = NULL;
        int cnt = cg_devices_assemble(all, total, &prog);
        if (cnt < 0)
                return sbx_fail(err, cnt, "out of memory");

        int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "sbx_devices", "GPL", prog, (size_t)cnt,
                               NULL);
        if (fd < 0) {
                /* Load again with the verifier's log, for a message a person can act on. */
                char log[1024] = "";
                LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
                            .log_level = 1);
                int fd2 = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "sbx_devices", "GPL", prog,
                                        (size_t)cnt, &opts);
                safe_close(fd2);
                for (char *s = log; *s; s++)
                        if (*s == '\n')
                                *s = ' ';
                return sbx_fail(err, fd, "loading the device program (%d instructions): %s%s%s",
                                cnt, strerror(-fd), log[0] ? ": " : "", log);
        }
        return fd;
}

/* The kernel checks device programs only while one is attached somewhere: a static key
 * that goes on at the first attachment on the host and off at the last one's release,
 * and each turn patches kernel text on every CPU (the IPIs of text_poke_bp: 0.3 ms of a
 * Start on this 2-vCPU guest, machine-wide on any host).  With sandboxes coming and going
 * and no other device program on the host, that would happen at every first Start and
 * after every last Shutdown.  So the root holds the key on with a program that allows
 * everything, attached through a BPF link to the root's cgroup.  It takes nothing away:
 * links attach as BPF_F_ALLOW_MULTI, and every effective program must allow.  The link
 * is released with its fd (cg_root_free(), or the daemon's exit): nothing is left on the
 * host.  Best effort: without it only the speed differs. */
static void hold_key(struct cg_root *r)
{
        const struct bpf_insn allow_all[] = {MOV64_K(BPF_REG_0, 1), EXIT()};
        _cleanup_close_ int prog = -EBADF, cgfd = -EBADF;

        r->key_tried = true;
        prog = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "sbx_devices_on", "GPL", allow_all,
                             ELEMENTSOF(allow_all), NULL);
        /* r->fd is O_PATH, which the bpf syscall does not take. */
        cgfd = openat(r->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (prog >= 0 && cgfd >= 0)
                r->key_link = bpf_link_create(prog, cgfd, BPF_CGROUP_DEVICE, NULL);
        if (r->key_link < 0)
                log_debug("cgroup root %s: no allow-all device program to keep the kernel's "
                          "static key on (%s); device programs still apply",
                          r->path,
                          strerror(prog < 0   ? -prog
                                   : cgfd < 0 ? errno
                                              : -r->key_link));
}

int cg_devices_attach(struct cg_root *r, int cgfd, const struct cg_device_rule *rules, size_t n,
                      struct sbx_error *err)
{
        size_t total = n + cg_n_default_devices;
        _cleanup_free_ struct cg_device_rule *all = calloc(total, sizeof(*all));
        int fd = -EBADF;

        if (!all)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if (!r->key_tried)
                hold_key(r);
        if (n)
                memcpy(all, rules, n * sizeof(*all));
        memcpy(all + n, cg_default_devices, cg_n_default_devices * sizeof(*all));

        for (size_t i = 0; i < r->n_progs; i++)
                if (r->progs[i].n == total && same_rules(r->progs[i].rules, all, total)) {
                        fd = r->progs[i].fd;
                        break;
                }
        if (fd < 0) {
                fd = load(all, total, err);
                if (fd < 0)
                        return fd;
                if (r->n_progs == CG_PROG_CACHE_MAX) {
                        /* Drop the oldest; cgroups it is attached to keep it alive. */
                        safe_close(r->progs[0].fd);
                        free(r->progs[0].rules);
                        memmove(&r->progs[0], &r->progs[1],
                                (CG_PROG_CACHE_MAX - 1) * sizeof(r->progs[0]));
                        r->n_progs--;
                }
                r->progs[r->n_progs++] =
                        (struct cg_prog_cache){.rules = TAKE_PTR(all), .n = total, .fd = fd};
        }
        /* BPF_F_ALLOW_MULTI as runc and crun: a program of an ancestor (systemd's, a
         * parent's) still runs, and every program must allow.  The attachment holds its
         * own reference to the program. */
        int k = bpf_prog_attach(fd, cgfd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
        if (k < 0)
                return sbx_fail_errno(err, k, "attaching the device program");
        return 0;
}
