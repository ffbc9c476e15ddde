/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OCI linux.resources parsing, the shares→weight formula, and the device program
 * assembler (run here by a small interpreter of the instructions it emits, so the
 * rule semantics are checked for every rule shape without a kernel).
 */
#include "cgroups/cgroups-internal.h"

#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

static struct cg_resources *parse_ok(const char *text)
{
        json_error_t jerr;
        struct sbx_error err = {};
        struct cg_resources *res = NULL;
        json_t *j = json_loads(text, 0, &jerr);
        cr_assert_not_null(j, "bad test JSON: %s", jerr.text);
        cr_assert_eq(cg_resources_parse(j, &res, &err), 0, "%s", err.message);
        json_decref(j);
        return res;
}

static void parse_fails(const char *text, const char *msg_part)
{
        json_error_t jerr;
        struct sbx_error err = {};
        struct cg_resources *res = NULL;
        json_t *j = json_loads(text, 0, &jerr);
        cr_assert_not_null(j, "bad test JSON: %s", jerr.text);
        cr_assert_eq(cg_resources_parse(j, &res, &err), -EINVAL, "should fail: %s", text);
        cr_assert_null(res);
        cr_assert(strstr(err.message, msg_part), "message \"%s\" lacks \"%s\"", err.message,
                  msg_part);
        json_decref(j);
}

Test(cgroups_resources, shares_to_weight_formula)
{
        /* The three anchors: v1 min/default/max onto v2 min/default/max. */
        cr_assert_eq(cg_shares_to_weight(2), 1);
        cr_assert_eq(cg_shares_to_weight(1024), 100);
        cr_assert_eq(cg_shares_to_weight(262144), 10000);
        /* In between, ceil(10^((l-1)(l+126)/612)) with l = log2(shares). */
        cr_assert_eq(cg_shares_to_weight(3), 2);
        cr_assert_eq(cg_shares_to_weight(16), 5);
        cr_assert_eq(cg_shares_to_weight(512), 59);
        cr_assert_eq(cg_shares_to_weight(2048), 174);
        cr_assert_eq(cg_shares_to_weight(4096), 303);
        cr_assert_eq(cg_shares_to_weight(10000), 627);
        cr_assert_eq(cg_shares_to_weight(100000), 4340);
        cr_assert_eq(cg_shares_to_weight(262143), 10000);
        cr_assert_eq(cg_shares_to_weight(1), 1, "clamped below");
        cr_assert_eq(cg_shares_to_weight(1000000), 10000, "clamped above");
        /* Monotonic over the whole range. */
        uint64_t prev = 0;
        for (uint64_t s = 2; s <= 262144; s++) {
                uint64_t w = cg_shares_to_weight(s);
                cr_assert_geq(w, prev, "shares %lu", (unsigned long)s);
                prev = w;
        }
}

Test(cgroups_resources, null_and_empty)
{
        struct sbx_error err = {};
        struct cg_resources *res = NULL;
        cr_assert_eq(cg_resources_parse(NULL, &res, &err), 0);
        cr_assert_eq(res->n_devices, 0);
        cr_assert_not(res->has_memory_limit);
        cg_resources_free(res);
        json_t *null = json_null();
        cr_assert_eq(cg_resources_parse(null, &res, &err), 0);
        cg_resources_free(res);
        json_decref(null);
}

Test(cgroups_resources, full_spec)
{
        struct cg_resources *res =
                parse_ok("{\"memory\": {\"limit\": 104857600, \"reservation\": 52428800, "
                         "\"swap\": 209715200},"
                         " \"cpu\": {\"shares\": 1024, \"quota\": 50000, \"period\": 100000, "
                         "\"cpus\": \"0-1\", \"mems\": \"0\"},"
                         " \"pids\": {\"limit\": 32},"
                         " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}],"
                         " \"unified\": {\"memory.high\": \"90000000\"},"
                         " \"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                         "   {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 200, "
                         "\"access\": \"rw\"}]}");
        cr_assert(res->has_memory_limit && res->memory_limit == 104857600);
        cr_assert(res->has_memory_reservation && res->memory_reservation == 52428800);
        cr_assert(res->has_memory_swap && res->memory_swap == 209715200);
        cr_assert(res->has_cpu_shares && res->cpu_shares == 1024);
        cr_assert(res->has_cpu_max && res->cpu_quota == 50000 && res->cpu_period == 100000);
        cr_assert_str_eq(res->cpuset_cpus, "0-1");
        cr_assert_str_eq(res->cpuset_mems, "0");
        cr_assert(res->has_pids_limit && res->pids_limit == 32);
        cr_assert_eq(res->n_hugetlb, 1);
        cr_assert_str_eq(res->hugetlb[0].key, "2MB");
        cr_assert_str_eq(res->hugetlb[0].value, "4194304");
        cr_assert_eq(res->n_unified, 1);
        cr_assert_eq(res->n_devices, 2);
        cr_assert_eq(res->devices[0].type, 'a');
        cr_assert_eq(res->devices[0].major, -1);
        cr_assert_eq(res->devices[0].access, CG_DEV_ALL);
        cr_assert_not(res->devices[0].allow);
        cr_assert_eq(res->devices[1].type, 'c');
        cr_assert_eq(res->devices[1].access, CG_DEV_READ | CG_DEV_WRITE);
        cr_assert_eq(res->n_unsupported, 0);
        cg_resources_free(res);
}

Test(cgroups_resources, runc_conventions)
{
        /* 0 = not set; -1 = unlimited; quota alone gets the default period. */
        struct cg_resources *res = parse_ok("{\"memory\": {\"limit\": 0, \"swap\": -1},"
                                            " \"pids\": {\"limit\": -1},"
                                            " \"cpu\": {\"quota\": 20000, \"shares\": 0}}");
        cr_assert_not(res->has_memory_limit);
        cr_assert(res->has_memory_swap && res->memory_swap == -1);
        cr_assert(res->has_pids_limit && res->pids_limit == -1);
        cr_assert(res->has_cpu_max && res->cpu_period == 100000);
        cr_assert_not(res->has_cpu_shares);
        cg_resources_free(res);
}

Test(cgroups_resources, unsupported_fields_are_recorded)
{
        struct cg_resources *res = parse_ok("{\"memory\": {\"swappiness\": 60, \"kernel\": 1},"
                                            " \"blockIO\": {\"weight\": 10},"
                                            " \"cpu\": {\"realtimeRuntime\": 5}}");
        cr_assert_eq(res->n_unsupported, 4);
        cr_assert_str_eq(res->unsupported[0], "memory.kernel: cgroup v1 only");
        cr_assert_str_eq(res->unsupported[1], "memory.swappiness: cgroup v1 only");
        cg_resources_free(res);
}

Test(cgroups_resources, malformed)
{
        parse_fails("[]", "not an object");
        parse_fails("{\"memory\": 5}", "memory: not an object");
        parse_fails("{\"memory\": {\"limit\": \"1G\"}}", "memory.limit: not an integer");
        parse_fails("{\"memory\": {\"limit\": 100, \"swap\": 50}}", "below memory.limit");
        parse_fails("{\"memory\": {\"swap\": 50}}", "memory.limit is not");
        parse_fails("{\"cpu\": {\"period\": 10}}", "outside [1000, 1000000]");
        parse_fails("{\"cpu\": {\"cpus\": \"0;rm\"}}", "bad list");
        parse_fails("{\"devices\": [{\"access\": \"rwm\"}]}", "allow: missing");
        parse_fails("{\"devices\": [{\"allow\": true, \"type\": \"x\"}]}", "type");
        parse_fails("{\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]}", "subset of rwm");
        parse_fails("{\"devices\": {}}", "not an array");
        parse_fails("{\"unified\": {\"../escape\": \"1\"}}", "is not a cgroup interface file");
        parse_fails("{\"unified\": {\"cgroup.procs\": \"1\"}}", "is not a cgroup interface file");
        parse_fails("{\"unified\": {\"memory.max\": \"1\\n2\"}}", "one-line");
        parse_fails("{\"hugepageLimits\": [{\"pageSize\": \"2MB/../x\", \"limit\": 1}]}",
                    "bad size");
}

/* ---- the device program, interpreted ---- */

/* Runs the subset of eBPF the assembler emits.  Returns r0, or -1 on anything
 * unexpected (unknown opcode, running off the end, a jump out of range). */
static int run(const struct bpf_insn *p, int n, unsigned type, unsigned access, unsigned major,
               unsigned minor)
{
        uint32_t ctx[3] = {(access << 16) | type, major, minor};
        uint64_t r[11] = {0};
        for (int pc = 0; pc >= 0 && pc < n; pc++) {
                const struct bpf_insn *i = &p[pc];
                switch (i->code) {
                case BPF_LDX | BPF_W | BPF_MEM:
                        if (i->src_reg != BPF_REG_1 || i->off % 4 || i->off < 0 || i->off > 8)
                                return -1;
                        r[i->dst_reg] = ctx[i->off / 4];
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                        r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
                        break;
                case BPF_ALU | BPF_MOV | BPF_X:
                        r[i->dst_reg] = (uint32_t)r[i->src_reg];
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                        if (r[i->dst_reg] != (uint64_t)(int64_t)i->imm)
                                pc += i->off;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int)r[0];
                default:
                        return -1;
                }
        }
        return -1;
}

#define B  BPF_DEVCG_DEV_BLOCK
#define C  BPF_DEVCG_DEV_CHAR
#define R  BPF_DEVCG_ACC_READ
#define W  BPF_DEVCG_ACC_WRITE
#define MK BPF_DEVCG_ACC_MKNOD

static int eval(const struct cg_device_rule *rules, size_t n, unsigned type, unsigned access,
                unsigned major, unsigned minor)
{
        struct bpf_insn *p = NULL;
        int cnt = cg_devices_assemble(rules, n, &p);
        cr_assert_gt(cnt, 0);
        int v = run(p, cnt, type, access, major, minor);
        free(p);
        cr_assert_geq(v, 0, "program fell off or used an unknown instruction");
        return v;
}

Test(cgroups_resources, device_program_semantics)
{
        /* Empty: deny all. */
        cr_assert_eq(eval(NULL, 0, C, R, 1, 3), 0);

        /* The defaults: the standard nodes, nothing else. */
        const struct cg_device_rule *d = cg_default_devices;
        size_t nd = cg_n_default_devices;
        cr_assert_eq(eval(d, nd, C, R | W, 1, 3), 1, "null");
        cr_assert_eq(eval(d, nd, C, R, 1, 5), 1, "zero");
        cr_assert_eq(eval(d, nd, C, R, 1, 9), 1, "urandom");
        cr_assert_eq(eval(d, nd, C, R | W, 5, 2), 1, "ptmx");
        cr_assert_eq(eval(d, nd, C, R | W, 136, 7), 1, "pts/7");
        cr_assert_eq(eval(d, nd, C, R, 1, 1), 0, "mem denied");
        cr_assert_eq(eval(d, nd, B, R, 1, 3), 0, "a block 1:3 is not /dev/null");
        cr_assert_eq(eval(d, nd, B, R, 8, 0), 0, "sda denied");

        /* Last match wins. */
        struct cg_device_rule r1[] = {
                {'a', -1, -1, CG_DEV_ALL, false},
                {'b', 8, -1, CG_DEV_READ, true},
                {'b', 8, 1, CG_DEV_ALL, false},
        };
        cr_assert_eq(eval(r1, 3, B, R, 8, 0), 1, "sda read allowed by b 8:* r");
        cr_assert_eq(eval(r1, 3, B, W, 8, 0), 0, "write is not a subset of r");
        cr_assert_eq(eval(r1, 3, B, R | W, 8, 0), 0, "rw is not a subset of r");
        cr_assert_eq(eval(r1, 3, B, R, 8, 1), 0, "the later deny of 8:1 wins");
        cr_assert_eq(eval(r1, 3, C, R, 8, 0), 0, "type matters");

        /* A catch-all allow at the end makes everything before it unreachable; the
         * assembler stops there (the verifier rejects dead code). */
        struct cg_device_rule r2[] = {
                {'c', 1, 3, CG_DEV_ALL, false},
                {'a', -1, -1, CG_DEV_ALL, true},
        };
        struct bpf_insn *p = NULL;
        int cnt = cg_devices_assemble(r2, 2, &p);
        cr_assert_eq(cnt, 8, "prologue + mov + exit, got %d", cnt);
        free(p);
        cr_assert_eq(eval(r2, 2, C, R, 1, 3), 1);
        cr_assert_eq(eval(r2, 2, B, MK, 7, 7), 1);

        /* Every condition at once, many times: the longest block (8 instructions). */
        struct cg_device_rule full[64];
        for (size_t i = 0; i < ELEMENTSOF(full); i++)
                full[i] = (struct cg_device_rule){'c', 10, (int64_t)i, CG_DEV_READ, i % 2 == 0};
        cnt = cg_devices_assemble(full, ELEMENTSOF(full), &p);
        cr_assert_eq(cnt, 6 + 64 * 8 + 2);
        free(p);
        cr_assert_eq(eval(full, 64, C, R, 10, 62), 1);
        cr_assert_eq(eval(full, 64, C, R, 10, 63), 0);
        cr_assert_eq(eval(full, 64, C, W, 10, 62), 0);

        /* mknod-only rule */
        struct cg_device_rule r3[] = {{'c', -1, -1, CG_DEV_MKNOD, true}};
        cr_assert_eq(eval(r3, 1, C, MK, 4, 4), 1);
        cr_assert_eq(eval(r3, 1, C, R, 4, 4), 0);
}

Test(cgroups_resources, add_device_rule)
{
        struct sbx_error err = {};
        struct cg_resources *res = parse_ok("{}");
        cr_assert_eq(cg_resources_add_device_rule(res, 'c', 10, 200, "rwm", true, &err), 0);
        cr_assert_eq(cg_resources_add_device_rule(res, 'x', 1, 1, "r", true, &err), -EINVAL);
        cr_assert_eq(cg_resources_add_device_rule(res, 'c', 1, 1, "q", true, &err), -EINVAL);
        cr_assert_eq(res->n_devices, 1);
        cr_assert_eq(res->devices[0].major, 10);
        cg_resources_free(res);
}
