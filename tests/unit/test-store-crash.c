/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash safety: a child writes (creates, updates, deletes, compactions) and
 * reports every submitted and every acknowledged write over a pipe; the
 * parent SIGKILLs it at a random moment — in a quarter of the rounds right
 * after it announced a compaction — then reopens the store and checks, id by
 * id, that the state is the one after the last acknowledged write or after a
 * later submitted one (byte for byte, timestamps included where known), and
 * that nothing else is there.
 */
#include "store/record-internal.h"
#include "test-store-util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define ROUNDS  200
#define MAX_IDS 4096
#define MAX_OPS 20000

enum { M_SUBMIT = 'S', M_ACK = 'A', M_COMPACT = 'C', M_COMPACT_DONE = 'D' };
enum { K_CREATE, K_UPDATE, K_DELETE };

struct msg {
        uint8_t kind;
        uint8_t op; /* K_* */
        uint8_t pathset;
        uint8_t pad;
        uint32_t seq;
        uint32_t idnum;
        uint32_t pad2;
        uint64_t created, updated;
};

static const char *const pathsets[][3] = {
        {NULL},
        {"labels.k1", "spec", NULL},
        {"labels", NULL},
        {"extensions", NULL},
        {"labels.k2", "extensions.x", NULL},
        {"runtime", NULL},
};
static const size_t pathset_n[] = {0, 2, 1, 1, 2, 1};

static void idname(uint32_t n, char buf[16])
{
        snprintf(buf, 16, "c%u", n);
}

/* The record content a write with this seq carries (deterministic). */
static struct store_record *gen(uint32_t idnum, uint32_t seq, bool keep_runtime)
{
        struct store_record *r = calloc(1, sizeof(*r));
        char id[16], v[32];
        idname(idnum, id);
        r->id = strdup(id);
        r->namespace = strdup("default");
        /* runtime.name never changes: a no-path update must keep it. */
        (void)keep_runtime;
        r->runtime_name = strdup("io.sandboxd.linux.v1");
        snprintf(v, sizeof(v), "%u", seq);
        if (seq % 3)
                store_any_set(&r->runtime_options, "type.example/Opts", v, strlen(v));
        store_record_set_label(r, "seq", v);
        if (seq % 2)
                store_record_set_label(r, "k1", v);
        if (seq % 5)
                store_record_set_label(r, "k2", "two");
        size_t len = (seq * 37u) % 3000u;
        char *spec = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
                spec[i] = (char)(seq + i);
        store_any_set(&r->spec, "types.containerd.io/opencontainers/runtime-spec/1/Spec", spec,
                      len);
        free(spec);
        if (seq % 4)
                store_record_set_extension(r, "x", "type.example/X", v, strlen(v));
        return r;
}

/* ---- child -------------------------------------------------------------------------------- */

static int out_fd;
static int child_fail = 0;

static void send_msg(const struct msg *m)
{
        uint8_t buf[sizeof(*m)];
        memcpy(buf, m, sizeof(buf));
        if (write(out_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
                _exit(9);
}

struct ack_ctx {
        struct msg m;
};

static void ack_cb(void *u, int r, const struct store_record *rec, const struct sbx_error *e)
{
        struct ack_ctx *a = u;
        if (r < 0) {
                child_fail = 1;
                _exit(3);
        }
        a->m.kind = M_ACK;
        if (rec) {
                a->m.created = rec->created_at;
                a->m.updated = rec->updated_at;
        }
        send_msg(&a->m);
        free(a);
}

static bool compact_running;
static void compact_cb(void *u, int r, const struct store_record *rec, const struct sbx_error *e)
{
        struct msg m = {.kind = M_COMPACT_DONE};
        compact_running = false;
        if (r < 0)
                _exit(4);
        send_msg(&m);
}

static _Noreturn void child(const char *dir, uint32_t seq, unsigned seed, bool compact_round)
{
        struct store *s = NULL;
        struct sbx_error err = {};
        static bool exists[MAX_IDS];
        uint32_t next_id = 0;
        if (store_open(dir, 0, &s, &err) < 0)
                _exit(2);
        store_set_auto_compact(s, 0.5, 64 << 10);
        struct store_record **l = NULL;
        size_t n = 0;
        if (store_list(s, "default", NULL, 0, &l, &n, NULL) < 0)
                _exit(2);
        for (size_t i = 0; i < n; i++) {
                uint32_t k = (uint32_t)atoi(l[i]->id + 1);
                exists[k] = true;
        }
        store_record_array_free(l, n);
        struct store_stats st;
        store_stats(s, &st);
        (void)st;
        /* ids are never reused across rounds: start above every id seen. */
        next_id = seq % MAX_IDS;
        srand(seed);
        int acked_since_start = 0;
        for (;;) {
                store_stats(s, &st);
                if (st.pending < 16) {
                        int k = 1 + rand() % 4;
                        for (int i = 0; i < k; i++) {
                                uint32_t pick = (uint32_t)rand() % MAX_IDS;
                                int tries = 0;
                                while (!exists[pick] && tries++ < 64)
                                        pick = (uint32_t)rand() % MAX_IDS;
                                int op = exists[pick] ? (rand() % 3 ? K_UPDATE : K_DELETE)
                                                      : K_CREATE;
                                if (op == K_CREATE || rand() % 4 == 0) {
                                        op = K_CREATE;
                                        pick = next_id++ % MAX_IDS;
                                        if (exists[pick])
                                                continue;
                                }
                                struct ack_ctx *a = calloc(1, sizeof(*a));
                                a->m = (struct msg){.kind = M_SUBMIT,
                                                    .op = (uint8_t)op,
                                                    .seq = seq++,
                                                    .idnum = pick,
                                                    .pathset = (uint8_t)(rand() % 6)};
                                send_msg(&a->m);
                                int r;
                                char id[16];
                                idname(pick, id);
                                if (op == K_CREATE) {
                                        struct store_record *rec = gen(pick, a->m.seq, true);
                                        r = store_create(s, rec, ack_cb, a, &err);
                                        store_record_free(rec);
                                        exists[pick] = true;
                                } else if (op == K_UPDATE) {
                                        bool keep = a->m.pathset != 5;
                                        struct store_record *rec = gen(pick, a->m.seq, keep);
                                        r = store_update(
                                                s, "default", rec,
                                                (const char *const *)pathsets[a->m.pathset],
                                                pathset_n[a->m.pathset], ack_cb, a, &err);
                                        store_record_free(rec);
                                } else {
                                        r = store_delete(s, "default", id, ack_cb, a, &err);
                                        exists[pick] = false;
                                }
                                if (r < 0)
                                        _exit(5);
                        }
                }
                struct pollfd p = {.fd = store_get_fd(s), .events = POLLIN};
                poll(&p, 1, 1);
                acked_since_start += store_dispatch(s);
                if (!compact_running &&
                    (compact_round ? acked_since_start > 30 : rand() % 200 == 0)) {
                        struct msg m = {.kind = M_COMPACT};
                        send_msg(&m);
                        if (store_compact(s, compact_cb, NULL, &err) == 0)
                                compact_running = true;
                        acked_since_start = -1000000;
                }
        }
}

/* ---- parent ------------------------------------------------------------------------------- */

struct opl {
        struct msg sub;
        bool acked;
        uint64_t created, updated;
};

static struct store_record *model[MAX_IDS];
static struct opl ops[MAX_OPS];
static size_t n_ops;

static bool equal_content(const struct store_record *a, const struct store_record *b)
{
        struct store_record x = *b;
        x.created_at = a->created_at;
        x.updated_at = a->updated_at;
        return store_record_equal(a, &x);
}

/* Checks id against the ops of this round; returns a message or NULL. */
static const char *check_id(uint32_t idnum, const struct store_record *actual)
{
        struct store_record *state = NULL;
        bool exact_ts = true; /* state's timestamps are known */
        if (model[idnum])
                store_record_dup(model[idnum], &state);
        int last_acked = -1, j = -1;
        for (size_t i = 0; i < n_ops; i++)
                if (ops[i].sub.idnum == idnum && ops[i].acked)
                        last_acked = (int)i;
        /* candidate 0: the state before this round */
        bool ok = false;
        if (last_acked < 0) {
                if (!actual && !state)
                        ok = true;
                else if (actual && state && store_record_equal(actual, state))
                        ok = true;
        }
        for (size_t i = 0; i < n_ops && !ok; i++) {
                if (ops[i].sub.idnum != idnum)
                        continue;
                j = (int)i;
                const struct msg *m = &ops[i].sub;
                if (m->op == K_DELETE) {
                        store_record_free(state);
                        state = NULL;
                } else if (m->op == K_CREATE) {
                        store_record_free(state);
                        state = gen(idnum, m->seq, true);
                        state->created_at = ops[i].created;
                        exact_ts = ops[i].acked;
                } else {
                        struct store_record *from = gen(idnum, m->seq, m->pathset != 5);
                        if (!state ||
                            store_fieldpaths_apply(state, from,
                                                   (const char *const *)pathsets[m->pathset],
                                                   pathset_n[m->pathset], NULL) < 0) {
                                store_record_free(from);
                                store_record_free(state);
                                return "an update the child submitted cannot apply";
                        }
                        store_record_free(from);
                }
                if (state) {
                        record_normalize(state, NULL);
                        state->updated_at = ops[i].updated;
                        if (!ops[i].acked)
                                exact_ts = false;
                        else if (m->op != K_CREATE && exact_ts)
                                exact_ts = true;
                }
                if (j < last_acked)
                        continue;
                if (!actual && !state)
                        ok = true;
                else if (actual && state) {
                        if (ops[i].acked && exact_ts)
                                ok = store_record_equal(actual, state);
                        else if (ops[i].acked)
                                ok = equal_content(actual, state) &&
                                     actual->updated_at == ops[i].updated;
                        else
                                ok = equal_content(actual, state);
                }
        }
        store_record_free(state);
        return ok ? NULL : "state is neither the last acknowledged write nor a later submitted one";
}

Test(store_crash, sigkill_at_random_moments, .timeout = 280)
{
        _cleanup_free_ char *tmp = tmp_dir();
        _cleanup_free_ char *dir = state_dir(tmp);
        uint32_t seq = 1;
        int during_compaction = 0, total_acked = 0;
        srand(12345);

        for (int round = 0; round < ROUNDS; round++) {
                bool compact_round = round % 4 == 3;
                int p[2];
                cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
                unsigned seed = (unsigned)rand();
                pid_t pid = fork();
                cr_assert_geq(pid, 0);
                if (pid == 0) {
                        close(p[0]);
                        out_fd = p[1];
                        child(dir, seq, seed, compact_round);
                }
                close(p[1]);
                n_ops = 0;
                uint64_t deadline_us = compact_round ? 10000000 : 1000 + (uint64_t)(rand() % 40000);
                struct timespec t0;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                bool saw_compact = false, compact_done = false, killed = false;
                int delay_after_compact_us = rand() % 3000;
                struct msg m;
                for (;;) {
                        struct timespec t;
                        clock_gettime(CLOCK_MONOTONIC, &t);
                        uint64_t el = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000 +
                                      (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000);
                        if (!killed && el >= deadline_us) {
                                kill(pid, SIGKILL);
                                killed = true;
                        }
                        struct pollfd pf = {.fd = p[0], .events = POLLIN};
                        int timeout = killed ? -1 : (int)((deadline_us - el) / 1000) + 1;
                        if (poll(&pf, 1, timeout) <= 0)
                                continue;
                        ssize_t n = read(p[0], &m, sizeof(m));
                        if (n == 0)
                                break;
                        cr_assert_eq(n, (ssize_t)sizeof(m));
                        if (m.kind == M_SUBMIT) {
                                cr_assert_lt(n_ops, MAX_OPS);
                                ops[n_ops++] = (struct opl){.sub = m};
                                seq = m.seq + 1;
                        } else if (m.kind == M_ACK) {
                                size_t i = 0;
                                while (i < n_ops && ops[i].sub.seq != m.seq)
                                        i++;
                                cr_assert_lt(i, n_ops, "ack of an unknown write");
                                ops[i].acked = true;
                                ops[i].created = m.created;
                                ops[i].updated = m.updated;
                                total_acked++;
                        } else if (m.kind == M_COMPACT && !killed) {
                                saw_compact = true;
                                if (compact_round) {
                                        clock_gettime(CLOCK_MONOTONIC, &t);
                                        el = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000 +
                                             (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000);
                                        deadline_us = el + (uint64_t)delay_after_compact_us;
                                }
                        } else if (m.kind == M_COMPACT_DONE)
                                compact_done = true;
                }
                close(p[0]);
                int status;
                cr_assert_eq(waitpid(pid, &status, 0), pid);
                cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                          "round %d: child exited by itself (status %d)", round, status);
                if (saw_compact && !compact_done)
                        during_compaction++;

                struct store *s = NULL;
                struct sbx_error err = {};
                int r = store_open(dir, 0, &s, &err);
                cr_assert_eq(r, 0, "round %d: reopen: %s", round, err.message);
                struct store_record **l = NULL;
                size_t n = 0;
                cr_assert_eq(store_list(s, "default", NULL, 0, &l, &n, NULL), 0);
                static struct store_record *actual[MAX_IDS];
                memset(actual, 0, sizeof(actual));
                for (size_t i = 0; i < n; i++) {
                        uint32_t k = (uint32_t)atoi(l[i]->id + 1);
                        cr_assert_lt(k, MAX_IDS);
                        actual[k] = l[i];
                }
                for (uint32_t k = 0; k < MAX_IDS; k++) {
                        bool touched = model[k] || actual[k];
                        for (size_t i = 0; i < n_ops && !touched; i++)
                                touched = ops[i].sub.idnum == k;
                        if (!touched)
                                continue;
                        const char *why = check_id(k, actual[k]);
                        cr_assert_null(why, "round %d, id c%u: %s", round, k, why);
                }
                for (uint32_t k = 0; k < MAX_IDS; k++) {
                        store_record_free(model[k]);
                        model[k] = NULL;
                        if (actual[k])
                                store_record_dup(actual[k], &model[k]);
                }
                store_record_array_free(l, n);
                store_close(s);
        }
        for (uint32_t k = 0; k < MAX_IDS; k++)
                store_record_free(model[k]);
        cr_log_info("%d rounds, %d acknowledged writes, %d kills during a compaction", ROUNDS,
                    total_acked, during_compaction);
        cr_assert_geq(total_acked, ROUNDS, "the children did write");
        cr_assert_geq(during_compaction, ROUNDS / 8, "kills during compaction: %d",
                      during_compaction);
        rm_rf(tmp);
}
