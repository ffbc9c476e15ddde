/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A task's own seccomp profile, on top of its sandbox's (docs/api.md, "Tasks").
 *
 * The kernel runs every filter a process has attached and keeps the strictest
 * action (kernel/seccomp.c, seccomp_run_filters(): the lowest ACTION_ONLY() as a
 * signed number; on a tie the most recently attached filter's value).  The task
 * child loads one program (c->filter), so the two profiles are joined here into
 * one classic BPF program that computes exactly that:
 *
 *   T'      the task's program, each RET turned into a JA to a stub of T
 *   stubs   A = value; M[15] = A; jump to S
 *   S       X = 0; A = 0; then the sandbox's program, each RET a JA to a stub of S
 *   stubs   A = value; jump to the join
 *   join    M[14] = A (sandbox); compare (A & ACTION_FULL) ^ sign bit with the same
 *           of M[15] (task) and return the smaller (unsigned compare of the biased
 *           values = signed compare of the actions); on a tie, the task's value, as
 *           if its filter had been attached after the sandbox's.
 *
 * A RET keeps its slot (it becomes a JA of the same length), so no jump offset of
 * either program changes; all jumps stay forward.  The programs libseccomp
 * generates use no scratch memory; if one ever did (M[14] or M[15]), joining is
 * refused rather than guessed.
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>

#define M_TASK    15
#define M_SANDBOX 14

struct iso_task_seccomp {
        struct iso_config config; /* a shallow copy of the sandbox's, with .filter replaced */
        struct sock_filter *filter;
};

static bool is_ret(const struct sock_filter *i)
{
        return BPF_CLASS(i->code) == BPF_RET;
}

static bool uses_scratch(const struct sock_filter *f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                uint16_t c = f[i].code;
                bool mem = c == (BPF_ST) || c == (BPF_STX) || c == (BPF_LD | BPF_MEM) ||
                           c == (BPF_LDX | BPF_MEM);
                if (mem && (f[i].k == M_TASK || f[i].k == M_SANDBOX))
                        return true;
        }
        return false;
}

struct emitter {
        struct sock_filter *out;
        size_t n, cap;
};

static void emit(struct emitter *e, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
        if (e->n < e->cap)
                e->out[e->n] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
        e->n++;
}

/* Copies prog with each RET turned into a JA (same length: no offset changes) to a stub
 * placed after it.  A stub loads the returned value into A (RET A: it is there already),
 * with store_task also keeps it in M[15], and jumps on; the indices of those last jumps are
 * returned in *ret_jumps for the caller to point them where the next part starts. */
static int emit_rewritten(struct emitter *e, const struct sock_filter *prog, size_t n,
                          bool store_task, size_t **ret_jumps, size_t *ret_n_jumps)
{
        size_t base = e->n, n_rets = 0, *stub_of = calloc(n ? n : 1, sizeof(size_t));
        size_t *jumps;

        if (!stub_of)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                n_rets += is_ret(&prog[i]);
        jumps = calloc(n_rets ? n_rets : 1, sizeof(size_t));
        if (!jumps) {
                free(stub_of);
                return -ENOMEM;
        }
        /* The program, RETs as placeholders. */
        for (size_t i = 0; i < n; i++)
                emit(e, prog[i].code, prog[i].jt, prog[i].jf, prog[i].k);
        /* One stub per distinct returned value (libseccomp repeats them). */
        size_t n_jumps = 0;
        for (size_t i = 0; i < n; i++) {
                if (!is_ret(&prog[i]))
                        continue;
                bool ret_a = BPF_RVAL(prog[i].code) == BPF_A;
                size_t stub = SIZE_MAX;
                for (size_t j = 0; j < i && stub == SIZE_MAX; j++)
                        if (is_ret(&prog[j]) && prog[j].code == prog[i].code &&
                            (ret_a || prog[j].k == prog[i].k))
                                stub = stub_of[j];
                if (stub == SIZE_MAX) {
                        stub = e->n;
                        if (!ret_a)
                                emit(e, BPF_LD | BPF_IMM, 0, 0, prog[i].k);
                        if (store_task)
                                emit(e, BPF_ST, 0, 0, M_TASK);
                        jumps[n_jumps++] = e->n;
                        emit(e, BPF_JMP | BPF_JA, 0, 0, 0); /* target patched by the caller */
                }
                stub_of[i] = stub;
                if (base + i < e->cap)
                        e->out[base + i] = (struct sock_filter)BPF_JUMP(
                                BPF_JMP | BPF_JA, (uint32_t)(stub - (base + i) - 1), 0, 0);
        }
        free(stub_of);
        *ret_jumps = jumps;
        *ret_n_jumps = n_jumps;
        return 0;
}

static void patch_jumps(struct emitter *e, const size_t *jumps, size_t n, size_t target)
{
        for (size_t i = 0; i < n; i++)
                if (jumps[i] < e->cap)
                        e->out[jumps[i]].k = (uint32_t)(target - jumps[i] - 1);
}

/* Builds into e (counting only when e->cap is too small). */
static int join(struct emitter *e, const struct sock_filter *task, size_t n_task,
                const struct sock_filter *sb, size_t n_sb)
{
        _cleanup_free_ size_t *tj = NULL, *sj = NULL;
        size_t n_tj, n_sj, start_sb, join_at;
        int r;

        r = emit_rewritten(e, task, n_task, true, &tj, &n_tj);
        if (r < 0)
                return r;
        start_sb = e->n;
        patch_jumps(e, tj, n_tj, start_sb);
        /* The sandbox's program starts as if it were run alone: A = X = 0. */
        emit(e, BPF_LDX | BPF_W | BPF_IMM, 0, 0, 0);
        emit(e, BPF_LD | BPF_W | BPF_IMM, 0, 0, 0);
        r = emit_rewritten(e, sb, n_sb, false, &sj, &n_sj);
        if (r < 0)
                return r;
        join_at = e->n;
        patch_jumps(e, sj, n_sj, join_at);
        emit(e, BPF_ST, 0, 0, M_SANDBOX);
        emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, SECCOMP_RET_ACTION_FULL);
        emit(e, BPF_ALU | BPF_XOR | BPF_K, 0, 0, 0x80000000u);
        emit(e, BPF_MISC | BPF_TAX, 0, 0, 0);
        emit(e, BPF_LD | BPF_MEM, 0, 0, M_TASK);
        emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, SECCOMP_RET_ACTION_FULL);
        emit(e, BPF_ALU | BPF_XOR | BPF_K, 0, 0, 0x80000000u);
        /* task's action less strict than the sandbox's: the sandbox's value */
        emit(e, BPF_JMP | BPF_JGT | BPF_X, 2, 0, 0);
        emit(e, BPF_LD | BPF_MEM, 0, 0, M_TASK);
        emit(e, BPF_RET | BPF_A, 0, 0, 0);
        emit(e, BPF_LD | BPF_MEM, 0, 0, M_SANDBOX);
        emit(e, BPF_RET | BPF_A, 0, 0, 0);
        return 0;
}

int iso_task_seccomp_new(const struct iso_config *sandbox, const json_t *seccomp,
                         struct iso_task_seccomp **ret, struct sbx_error *err)
{
        _cleanup_free_ struct sock_filter *task = NULL;
        struct iso_task_seccomp *ts;
        size_t n_task = 0;
        int r;

        if (!json_is_object(seccomp))
                return iso_json_path_error(err, "linux.seccomp", "must be an object");
        r = iso_seccomp_compile(seccomp, &task, &n_task, err);
        if (r < 0)
                return r;
        ts = calloc(1, sizeof(*ts));
        if (!ts)
                return sbx_fail(err, -ENOMEM, "out of memory");
        ts->config = *sandbox;
        if (!sandbox->filter) {
                /* The sandbox runs without a filter: the task's alone. */
                ts->filter = TAKE_PTR(task);
                ts->config.filter = ts->filter;
                ts->config.filter_len = n_task;
                *ret = ts;
                return 0;
        }
        if (uses_scratch(task, n_task) || uses_scratch(sandbox->filter, sandbox->filter_len)) {
                free(ts);
                return sbx_fail(err, -EINVAL,
                                "linux.seccomp: cannot be combined with the sandbox's profile "
                                "(a filter uses BPF scratch memory)");
        }
        struct emitter e = {0};
        r = join(&e, task, n_task, sandbox->filter, sandbox->filter_len); /* count */
        if (r == 0 && e.n > BPF_MAXINSNS)
                r = sbx_fail(err, -E2BIG,
                             "linux.seccomp: with the sandbox's profile, %zu BPF instructions "
                             "(at most %d)",
                             e.n, BPF_MAXINSNS);
        if (r == 0) {
                e = (struct emitter){.out = calloc(e.n, sizeof(struct sock_filter)), .cap = e.n};
                r = e.out ? join(&e, task, n_task, sandbox->filter, sandbox->filter_len) : -ENOMEM;
        }
        if (r < 0) {
                free(e.out);
                free(ts);
                return r == -ENOMEM ? sbx_fail(err, r, "out of memory") : r;
        }
        ts->filter = e.out;
        ts->config.filter = ts->filter;
        ts->config.filter_len = e.n;
        *ret = ts;
        return 0;
}

const struct iso_config *iso_task_seccomp_config(const struct iso_task_seccomp *ts)
{
        return &ts->config;
}

void iso_task_seccomp_free(struct iso_task_seccomp *ts)
{
        if (!ts)
                return;
        free(ts->filter);
        free(ts);
}
