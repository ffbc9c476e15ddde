/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/store: sandboxd's store against SQLite (WAL, synchronous=FULL, one
 * transaction per operation) and LMDB (default flags: durable commits), with
 * the same records (a 4 KiB OCI spec, 8 labels, 2 extensions, encoded with
 * the store's own codec so all three hold the same bytes) in the same run.
 * Prints one markdown section on stdout (scripts/run-bench.sh splices it into
 * docs/benchmarks.md); progress goes to stderr.
 *
 *   BENCH_DIR=/var/tmp  where the databases go (default /var/tmp)
 *   BENCH_SCALE=1       divide the record counts (for a quick look)
 *   --latency N         only the latency of one durable create (p50/p99), next
 *                       to one SQLite insert, N of each interleaved
 *   --compact N         only sandboxd's compaction of N live + N dead records
 *                       with a concurrent writer (workload 6)
 */
#include "store/filter-internal.h"
#include "store/record-internal.h"
#include "store/store-internal.h" /* compact_stall_ns, for the report */
#include "store/store.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int scale = 1;
static char base[256];
static int N_CREATE = 10000, N_GET = 100000, N_BIG = 100000;

static double now_s(void)
{
        return (double)sbx_now_monotonic_ns() / 1e9;
}

static void die(const char *what, const char *msg)
{
        fprintf(stderr, "bench-store: %s: %s\n", what, msg);
        exit(1);
}

static struct store_record *mk(const char *id, int i)
{
        static char spec[4096];
        if (!spec[0]) {
                int n = snprintf(spec, sizeof(spec),
                                 "{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"/pause\"],"
                                 "\"cwd\":\"/\",\"env\":[\"PATH=/usr/sbin:/usr/bin\"]},"
                                 "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"linux\":{"
                                 "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},"
                                 "{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"network\"}],"
                                 "\"maskedPaths\":[");
                while (n < (int)sizeof(spec) - 40)
                        n += snprintf(spec + n, sizeof(spec) - (size_t)n, "\"/proc/k%04d\",", n);
                snprintf(spec + n, sizeof(spec) - (size_t)n, "\"/x\"]}}");
                memset(spec + strlen(spec), ' ', sizeof(spec) - strlen(spec));
        }
        struct store_record *r = calloc(1, sizeof(*r));
        char k[32], v[64];
        r->namespace = strdup("default");
        r->id = strdup(id);
        r->runtime_name = strdup("io.sandboxd.linux.v1");
        for (int l = 0; l < 7; l++) {
                snprintf(k, sizeof(k), "io.kubernetes.label-%d", l);
                snprintf(v, sizeof(v), "value-%d-%d", l, i);
                store_record_set_label(r, k, v);
        }
        snprintf(v, sizeof(v), "t%d", i % 10);
        store_record_set_label(r, "tier", v);
        store_any_set(&r->spec, "types.containerd.io/opencontainers/runtime-spec/1/Spec", spec,
                      sizeof(spec));
        store_record_set_extension(r, "io.sandboxd.netns", "type.example/Netns", "/run/netns/x",
                                   12);
        store_record_set_extension(r, "io.sandboxd.owner", "type.example/Owner", "kubelet", 7);
        record_normalize(r, NULL);
        r->created_at = r->updated_at = sbx_now_realtime_ns();
        return r;
}

/* The encoded payload, which SQLite and LMDB store as a blob. */
static uint8_t *blob(const struct store_record *r, size_t *len)
{
        size_t n;
        record_frame_size(r, &n, NULL);
        uint8_t *f = malloc(n);
        record_frame_encode(r, f, n);
        memmove(f, f + FRAME_HEADER, n - FRAME_HEADER);
        *len = n - FRAME_HEADER;
        return f;
}

static void idof(int i, char buf[32])
{
        snprintf(buf, 32, "sandbox-%07d", i);
}

static void rmrf(const char *p)
{
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
        if (system(cmd) != 0)
                die("rm", p);
}

static char *path(const char *name)
{
        char *p;
        if (asprintf(&p, "%s/%s", base, name) < 0)
                die("asprintf", "");
        return p;
}

static long rss_kib(void)
{
        FILE *f = fopen("/proc/self/statm", "re");
        long pages = 0, res = 0;
        if (f && fscanf(f, "%ld %ld", &pages, &res) != 2)
                res = 0;
        if (f)
                fclose(f);
        return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- sandboxd ----------------------------------------------------------------------------- */

static struct store *sx_open(const char *dir, unsigned flags)
{
        struct store *s = NULL;
        struct sbx_error err = {};
        if (store_open(dir, flags, &s, &err) < 0)
                die("store_open", err.message);
        return s;
}

static void sx_cb(void *u, int r, const struct store_record *rec, const struct sbx_error *e)
{
        if (r < 0)
                die("store write", e->message);
}

/* Creates ids [from, to) keeping up to depth writes in flight, as the daemon's loop would. */
static void sx_create_range(struct store *s, int from, int to, int depth)
{
        struct store_stats st;
        for (int i = from; i < to; i++) {
                char id[32];
                idof(i, id);
                struct store_record *r = mk(id, i);
                struct sbx_error err = {};
                for (;;) {
                        store_stats(s, &st);
                        if ((int)st.pending < depth)
                                break;
                        struct pollfd p = {.fd = store_get_fd(s), .events = POLLIN};
                        poll(&p, 1, -1);
                        store_dispatch(s);
                }
                if (store_create(s, r, sx_cb, NULL, &err) < 0)
                        die("store_create", err.message);
                store_record_free(r);
        }
        store_flush(s);
}

/* Rewrites the spec and labels of ids [0, n) (each update leaves a dead record behind),
 * keeping up to depth writes in flight. */
static void sx_update_range(struct store *s, int n, int depth)
{
        struct store_stats st;
        for (int i = 0; i < n; i++) {
                char id[32];
                idof(i, id);
                struct store_record *r = mk(id, i + 1);
                const char *p[] = {"spec", "labels"};
                struct sbx_error err = {};
                for (;;) {
                        store_stats(s, &st);
                        if ((int)st.pending < depth)
                                break;
                        struct pollfd pf = {.fd = store_get_fd(s), .events = POLLIN};
                        poll(&pf, 1, -1);
                        store_dispatch(s);
                }
                if (store_update(s, "default", r, p, 2, sx_cb, NULL, &err) < 0)
                        die("update", err.message);
                store_record_free(r);
        }
        store_flush(s);
}

/* ---- SQLite ------------------------------------------------------------------------------- */

static sqlite3 *sq_open(const char *file)
{
        sqlite3 *db;
        if (sqlite3_open(file, &db) != SQLITE_OK)
                die("sqlite3_open", sqlite3_errmsg(db));
        sqlite3_busy_timeout(db, 60000);
        char *msg = NULL;
        if (sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "CREATE TABLE IF NOT EXISTS sandboxes(ns TEXT NOT NULL, id TEXT NOT NULL,"
                         " rec BLOB NOT NULL, PRIMARY KEY(ns, id)) WITHOUT ROWID;",
                         NULL, NULL, &msg) != SQLITE_OK)
                die("sqlite3 schema", msg);
        return db;
}

static void sq_put(sqlite3 *db, sqlite3_stmt *st, const struct store_record *r)
{
        size_t len;
        uint8_t *b = blob(r, &len);
        sqlite3_bind_text(st, 1, r->namespace, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, b, (int)len, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_BUSY)
                ;
        if (rc != SQLITE_DONE)
                die("sqlite3 insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
        free(b);
}

static void sq_create_range(sqlite3 *db, int from, int to)
{
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO sandboxes VALUES(?,?,?)", -1, &st, NULL);
        for (int i = from; i < to; i++) {
                char id[32];
                idof(i, id);
                struct store_record *r = mk(id, i);
                sq_put(db, st, r);
                store_record_free(r);
        }
        sqlite3_finalize(st);
}

struct sq_thread {
        const char *file;
        int from, to;
};

static void *sq_writer(void *arg)
{
        struct sq_thread *t = arg;
        sqlite3 *db = sq_open(t->file);
        sq_create_range(db, t->from, t->to);
        sqlite3_close(db);
        return NULL;
}

/* ---- LMDB --------------------------------------------------------------------------------- */

static MDB_env *lm_open(const char *dir)
{
        MDB_env *env;
        mkdir(dir, 0700);
        if (mdb_env_create(&env) || mdb_env_set_mapsize(env, (size_t)4 << 30) ||
            mdb_env_open(env, dir, 0, 0600))
                die("mdb_env_open", dir);
        return env;
}

static void lm_put(MDB_env *env, const struct store_record *r)
{
        MDB_txn *txn;
        MDB_dbi dbi;
        char key[160];
        size_t len;
        uint8_t *b = blob(r, &len);
        int kl = snprintf(key, sizeof(key), "%s/%s", r->namespace, r->id);
        MDB_val k = {(size_t)kl, key}, v = {len, b};
        int rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (!rc)
                rc = mdb_dbi_open(txn, NULL, 0, &dbi);
        if (!rc)
                rc = mdb_put(txn, dbi, &k, &v, 0);
        if (!rc)
                rc = mdb_txn_commit(txn);
        if (rc)
                die("lmdb put", mdb_strerror(rc));
        free(b);
}

static void lm_create_range(MDB_env *env, int from, int to)
{
        for (int i = from; i < to; i++) {
                char id[32];
                idof(i, id);
                struct store_record *r = mk(id, i);
                lm_put(env, r);
                store_record_free(r);
        }
}

struct lm_thread {
        MDB_env *env;
        int from, to;
};

static void *lm_writer(void *arg)
{
        struct lm_thread *t = arg;
        lm_create_range(t->env, t->from, t->to);
        return NULL;
}

/* ---- the workloads ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static uint32_t rng = 2463534242u;
static int rnd(int n)
{
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        return (int)(rng % (uint32_t)n);
}

static void decode_blob(const void *p, size_t len)
{
        struct store_record *r = NULL;
        if (store_record_decode(p, len, &r, NULL) < 0)
                die("decode", "bad blob");
        store_record_free(r);
}

/* Lists the records of "default" matching f from a stream of blobs: view,
 * filter, decode the matches — what the store does over its index. */
static int filter_blob(const struct store_filter *f, const void *p, size_t len)
{
        struct record_view v;
        record_payload_view(p, len, &v);
        if (!filter_match_view(f, &v))
                return 0;
        decode_blob(p, len);
        return 1;
}

struct result {
        double sx, sq, lm;
};

/* Memory and time of an open, measured in a child so the heap starts clean. */
struct open_figures {
        double seconds;
        long rss_kib;
        uint64_t live_bytes;
};

static struct open_figures measure_open(int what, const char *where)
{
        struct open_figures o = {};
        long r0 = rss_kib();
        double t0 = now_s();
        if (what == 0) {
                struct store *s = sx_open(where, STORE_OPEN_NO_AUTO_COMPACT);
                o.seconds = now_s() - t0;
                struct store_stats st;
                store_stats(s, &st);
                o.live_bytes = st.live_bytes;
                o.rss_kib = rss_kib() - r0;
        } else if (what == 1) {
                sqlite3 *db = sq_open(where);
                sqlite3_stmt *st;
                sqlite3_prepare_v2(db, "SELECT count(*) FROM sandboxes", -1, &st, NULL);
                sqlite3_step(st);
                sqlite3_finalize(st);
                o.seconds = now_s() - t0;
                o.rss_kib = rss_kib() - r0;
        } else {
                MDB_env *env = lm_open(where);
                MDB_stat ms;
                mdb_env_stat(env, &ms);
                o.seconds = now_s() - t0;
                o.rss_kib = rss_kib() - r0;
        }
        return o;
}

/* Runs measure_open() in a freshly executed copy of this program, so the
 * heap starts empty and the RSS growth is the open's alone. */
static struct open_figures in_child(int what, const char *where)
{
        int p[2];
        struct open_figures o = {};
        char w[8];
        snprintf(w, sizeof(w), "%d", what);
        if (pipe(p) < 0)
                die("pipe", strerror(errno));
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                execl("/proc/self/exe", "bench-store", "--open", w, where, (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        if (read(p[0], &o, sizeof(o)) != sizeof(o))
                die("child", "no figures");
        close(p[0]);
        waitpid(pid, NULL, 0);
        return o;
}

struct stall {
        volatile int stop;
        double max_ms;
        int writes;
        void *h; /* sqlite3 * or MDB_env * */
        int base;
};

static void *sq_stall_writer(void *arg)
{
        struct stall *w = arg;
        sqlite3 *db = sq_open((const char *)w->h);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO sandboxes VALUES(?,?,?)", -1, &st, NULL);
        while (!w->stop) {
                char id[32];
                idof(w->base + w->writes, id);
                struct store_record *r = mk(id, w->writes);
                double t0 = now_s();
                sq_put(db, st, r);
                double ms = (now_s() - t0) * 1e3;
                if (ms > w->max_ms)
                        w->max_ms = ms;
                w->writes++;
                store_record_free(r);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return NULL;
}

static void *lm_stall_writer(void *arg)
{
        struct stall *w = arg;
        while (!w->stop) {
                char id[32];
                idof(w->base + w->writes, id);
                struct store_record *r = mk(id, w->writes);
                double t0 = now_s();
                lm_put(w->h, r);
                double ms = (now_s() - t0) * 1e3;
                if (ms > w->max_ms)
                        w->max_ms = ms;
                w->writes++;
                store_record_free(r);
        }
        return NULL;
}

static void sx_compact_done(void *u, int r, const struct store_record *rec,
                            const struct sbx_error *e)
{
        if (r < 0)
                die("compaction", e->message);
        *(bool *)u = true;
}

/* --latency N: the latency of one durable create as the daemon's loop sees it
 * (store_create_sync: submit, wait on the eventfd, dispatch), next to one
 * SQLite insert transaction, interleaved in rounds of 100.  Prints p50/p99. */
static int latency_mode(int n)
{
        const char *b = getenv("BENCH_DIR");
        snprintf(base, sizeof(base), "%s/sbx-bench-XXXXXX", b ? b : "/var/tmp");
        if (!mkdtemp(base))
                die("mkdtemp", strerror(errno));
        char *sxd = path("lat-sx"), *sqd = path("lat-sq.db");
        struct store *s = sx_open(sxd, 0);
        sqlite3 *db = sq_open(sqd);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO sandboxes VALUES(?,?,?)", -1, &st, NULL);
        double *a = calloc((size_t)n, sizeof(double)), *q = calloc((size_t)n, sizeof(double));
        double ta = 0, tq = 0;
        for (int i = 0; i < n; i += 100) {
                for (int k = i; k < n && k < i + 100; k++) {
                        char id[32];
                        idof(k, id);
                        struct store_record *r = mk(id, k);
                        struct sbx_error err = {};
                        double t0 = now_s();
                        if (store_create_sync(s, r, NULL, &err) < 0)
                                die("create", err.message);
                        a[k] = (now_s() - t0) * 1e3;
                        ta += a[k];
                        store_record_free(r);
                }
                for (int k = i; k < n && k < i + 100; k++) {
                        char id[32];
                        idof(k, id);
                        struct store_record *r = mk(id, k);
                        double t0 = now_s();
                        sq_put(db, st, r);
                        q[k] = (now_s() - t0) * 1e3;
                        tq += q[k];
                        store_record_free(r);
                }
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        store_close(s);
        qsort(a, (size_t)n, sizeof(double), cmp_double);
        qsort(q, (size_t)n, sizeof(double), cmp_double);
        printf("one create, %d rounds: sandboxd p50 %.3f ms p99 %.3f ms mean %.3f ms (%.0f/s); "
               "SQLite p50 %.3f ms p99 %.3f ms mean %.3f ms (%.0f/s); ratio %.2fx\n",
               n, a[n / 2], a[n * 99 / 100], ta / n, n / ta * 1e3, q[n / 2], q[n * 99 / 100],
               tq / n, n / tq * 1e3, tq / ta);
        free(a);
        free(q);
        rmrf(base);
        return 0;
}

/* --compact N: only sandboxd's part of workload 6 (N live + N dead records,
 * compaction with one writer), for iterating on the compaction's pacing. */
static int compact_mode(int n)
{
        const char *b = getenv("BENCH_DIR");
        snprintf(base, sizeof(base), "%s/sbx-bench-XXXXXX", b ? b : "/var/tmp");
        if (!mkdtemp(base))
                die("mkdtemp", strerror(errno));
        char *d = path("cmp");
        struct store *s = sx_open(d, STORE_OPEN_NO_AUTO_COMPACT);
        sx_create_range(s, 0, n, 1000);
        sx_update_range(s, n, 1000);
        static double lat[100000];
        int nlat = 0;
        bool done = false;
        double max_stall = 0, t = now_s();
        struct sbx_error err = {};
        if (store_compact(s, sx_compact_done, &done, &err) < 0)
                die("compact", err.message);
        while (!done) {
                char id[32];
                idof(n + nlat, id);
                struct store_record *r = mk(id, nlat);
                double t0 = now_s();
                if (store_create_sync(s, r, NULL, &err) < 0)
                        die("create during compaction", err.message);
                double ms = (now_s() - t0) * 1e3;
                if (nlat < 100000)
                        lat[nlat] = ms;
                nlat++;
                if (ms > max_stall)
                        max_stall = ms;
                store_record_free(r);
        }
        double secs = now_s() - t;
        int nl = nlat < 100000 ? nlat : 100000;
        qsort(lat, (size_t)nl, sizeof(double), cmp_double);
        printf("compaction of %d live + %d dead: %.2f s, paused %.2f s, switch %.1f ms; writer: %d "
               "creates, p50 %.2f ms, p99 %.2f ms, longest %.1f ms\n",
               n, n, secs, (double)s->compact_paused_ns / 1e9, (double)s->compact_stall_ns / 1e6,
               nlat, nl ? lat[nl / 2] : 0, nl ? lat[nl * 99 / 100] : 0, max_stall);
        store_close(s);
        rmrf(base);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 3 && strcmp(argv[1], "--compact") == 0)
                return compact_mode(atoi(argv[2]));
        if (argc == 3 && strcmp(argv[1], "--latency") == 0)
                return latency_mode(atoi(argv[2]));
        if (argc == 4 && strcmp(argv[1], "--open") == 0) {
                struct open_figures o = measure_open(atoi(argv[2]), argv[3]);
                return write(STDOUT_FILENO, &o, sizeof(o)) == sizeof(o) ? 0 : 1;
        }
        const char *b = getenv("BENCH_DIR");
        if (getenv("BENCH_SCALE"))
                scale = atoi(getenv("BENCH_SCALE")) > 0 ? atoi(getenv("BENCH_SCALE")) : 1;
        N_CREATE /= scale;
        N_GET /= scale;
        N_BIG /= scale;
        snprintf(base, sizeof(base), "%s/sbx-bench-XXXXXX", b ? b : "/var/tmp");
        if (!mkdtemp(base))
                die("mkdtemp", strerror(errno));
        fprintf(stderr, "bench-store: working in %s\n", base);

        char *sx1 = path("sx1"), *sq1 = path("sq1.db"), *lm1 = path("lm1");
        char *sx2 = path("sx2"), *sq2 = path("sq2.db"), *lm2 = path("lm2");
        char *sxb = path("sxb"), *sqb = path("sqb.db"), *lmb = path("lmb");
        struct result w1, w2, w3, w4, w5t, w6t, w6s;
        struct open_figures o_sx, o_sq, o_lm;
        double t;

        /* 1 and 2 run in 10 interleaved rounds (sandboxd, SQLite, LMDB, again)
         * so a disk whose speed drifts during the run (it is shared) hurts all
         * three alike. */
        const int ROUNDS = 10;
        double t1[3] = {0}, t2[3] = {0};
        double *l1sx = calloc((size_t)N_CREATE, sizeof(double));
        double *l1sq = calloc((size_t)N_CREATE, sizeof(double));
        fprintf(stderr, "1. %d creates, one writer\n", N_CREATE);
        struct store *s = sx_open(sx1, 0);
        sqlite3 *db = sq_open(sq1);
        MDB_env *env = lm_open(lm1);
        for (int round = 0; round < ROUNDS; round++) {
                int from = round * N_CREATE / ROUNDS, to = (round + 1) * N_CREATE / ROUNDS;
                t = now_s();
                for (int i = from; i < to; i++) {
                        char id[32];
                        idof(i, id);
                        struct store_record *r = mk(id, i);
                        struct sbx_error err = {};
                        double t0 = now_s();
                        if (store_create_sync(s, r, NULL, &err) < 0)
                                die("create", err.message);
                        l1sx[i] = (now_s() - t0) * 1e3;
                        store_record_free(r);
                }
                t1[0] += now_s() - t;
                sqlite3_stmt *ins;
                sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO sandboxes VALUES(?,?,?)", -1, &ins,
                                   NULL);
                t = now_s();
                for (int i = from; i < to; i++) {
                        char id[32];
                        idof(i, id);
                        struct store_record *r = mk(id, i);
                        double t0 = now_s();
                        sq_put(db, ins, r);
                        l1sq[i] = (now_s() - t0) * 1e3;
                        store_record_free(r);
                }
                t1[1] += now_s() - t;
                sqlite3_finalize(ins);
                t = now_s();
                lm_create_range(env, from, to);
                t1[2] += now_s() - t;
        }
        w1 = (struct result){N_CREATE / t1[0], N_CREATE / t1[1], N_CREATE / t1[2]};
        struct store_stats st1;
        store_stats(s, &st1);
        uint64_t preallocs1 = s->preallocs;
        qsort(l1sx, (size_t)N_CREATE, sizeof(double), cmp_double);
        qsort(l1sq, (size_t)N_CREATE, sizeof(double), cmp_double);

        /* 2. creates from 16 concurrent writers */
        fprintf(stderr, "2. %d creates, 16 writers\n", N_CREATE);
        struct store *s2 = sx_open(sx2, 0);
        sqlite3 *db2 = sq_open(sq2);
        MDB_env *env2 = lm_open(lm2);
        pthread_t th[16];
        struct sq_thread sqt[16];
        struct lm_thread lmt[16];
        for (int round = 0; round < ROUNDS; round++) {
                int from = round * N_CREATE / ROUNDS, to = (round + 1) * N_CREATE / ROUNDS;
                int n = to - from;
                t = now_s();
                sx_create_range(s2, from, to, 16);
                t2[0] += now_s() - t;
                t = now_s();
                for (int i = 0; i < 16; i++) {
                        sqt[i] =
                                (struct sq_thread){sq2, from + i * n / 16, from + (i + 1) * n / 16};
                        pthread_create(&th[i], NULL, sq_writer, &sqt[i]);
                }
                for (int i = 0; i < 16; i++)
                        pthread_join(th[i], NULL);
                t2[1] += now_s() - t;
                t = now_s();
                for (int i = 0; i < 16; i++) {
                        lmt[i] = (struct lm_thread){env2, from + i * n / 16,
                                                    from + (i + 1) * n / 16};
                        pthread_create(&th[i], NULL, lm_writer, &lmt[i]);
                }
                for (int i = 0; i < 16; i++)
                        pthread_join(th[i], NULL);
                t2[2] += now_s() - t;
        }
        w2 = (struct result){N_CREATE / t2[0], N_CREATE / t2[1], N_CREATE / t2[2]};
        struct store_stats st2;
        store_stats(s2, &st2);
        store_close(s2);
        sqlite3_close(db2);
        mdb_env_close(env2);

        /* 3. random gets (decoded records) */
        fprintf(stderr, "3. %d random gets\n", N_GET);
        t = now_s();
        for (int i = 0; i < N_GET; i++) {
                char id[32];
                idof(rnd(N_CREATE), id);
                struct store_record *r = NULL;
                if (store_get(s, "default", id, &r, NULL) < 0)
                        die("get", id);
                store_record_free(r);
        }
        w3.sx = N_GET / (now_s() - t);
        sqlite3_stmt *sel;
        sqlite3_prepare_v2(db, "SELECT rec FROM sandboxes WHERE ns=? AND id=?", -1, &sel, NULL);
        t = now_s();
        for (int i = 0; i < N_GET; i++) {
                char id[32];
                idof(rnd(N_CREATE), id);
                sqlite3_bind_text(sel, 1, "default", -1, SQLITE_STATIC);
                sqlite3_bind_text(sel, 2, id, -1, SQLITE_STATIC);
                if (sqlite3_step(sel) != SQLITE_ROW)
                        die("sqlite get", id);
                decode_blob(sqlite3_column_blob(sel, 0), (size_t)sqlite3_column_bytes(sel, 0));
                sqlite3_reset(sel);
        }
        w3.sq = N_GET / (now_s() - t);
        sqlite3_finalize(sel);
        MDB_txn *rtxn;
        MDB_dbi dbi;
        mdb_txn_begin(env, NULL, MDB_RDONLY, &rtxn);
        mdb_dbi_open(rtxn, NULL, 0, &dbi);
        mdb_txn_reset(rtxn);
        t = now_s();
        for (int i = 0; i < N_GET; i++) {
                char id[32], key[64];
                idof(rnd(N_CREATE), id);
                int kl = snprintf(key, sizeof(key), "default/%s", id);
                MDB_val k = {(size_t)kl, key}, v;
                mdb_txn_renew(rtxn);
                if (mdb_get(rtxn, dbi, &k, &v))
                        die("lmdb get", id);
                decode_blob(v.mv_data, v.mv_size);
                mdb_txn_reset(rtxn);
        }
        w3.lm = N_GET / (now_s() - t);

        /* 4. list with a label filter (1 in 10 match) over N_CREATE records */
        fprintf(stderr, "4. list with a label filter\n");
        const char *flt[] = {"labels.tier==t3"};
        struct store_filter *f = NULL;
        store_filter_parse(flt, 1, &f, NULL);
        const int LISTS = 20;
        size_t matched = 0;
        t = now_s();
        for (int i = 0; i < LISTS; i++) {
                struct store_record **l = NULL;
                size_t n = 0;
                if (store_list(s, "default", flt, 1, &l, &n, NULL) < 0)
                        die("list", "");
                matched = n;
                store_record_array_free(l, n);
        }
        w4.sx = (now_s() - t) / LISTS * 1e3;
        sqlite3_prepare_v2(db, "SELECT rec FROM sandboxes WHERE ns=?", -1, &sel, NULL);
        t = now_s();
        for (int i = 0; i < LISTS; i++) {
                sqlite3_bind_text(sel, 1, "default", -1, SQLITE_STATIC);
                while (sqlite3_step(sel) == SQLITE_ROW)
                        filter_blob(f, sqlite3_column_blob(sel, 0),
                                    (size_t)sqlite3_column_bytes(sel, 0));
                sqlite3_reset(sel);
        }
        w4.sq = (now_s() - t) / LISTS * 1e3;
        sqlite3_finalize(sel);
        t = now_s();
        for (int i = 0; i < LISTS; i++) {
                MDB_cursor *c;
                MDB_val k = {8, "default/"}, v;
                mdb_txn_renew(rtxn);
                mdb_cursor_open(rtxn, dbi, &c);
                int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
                while (!rc && k.mv_size > 8 && memcmp(k.mv_data, "default/", 8) == 0) {
                        filter_blob(f, v.mv_data, v.mv_size);
                        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
                }
                mdb_cursor_close(c);
                mdb_txn_reset(rtxn);
        }
        w4.lm = (now_s() - t) / LISTS * 1e3;
        mdb_txn_abort(rtxn);
        store_filter_free(f);
        store_close(s);
        sqlite3_close(db);
        mdb_env_close(env);

        /* 5. open/recovery of N_BIG records, and memory after it */
        fprintf(stderr, "5. open of %d records (building them first)\n", N_BIG);
        s = sx_open(sxb, STORE_OPEN_NO_AUTO_COMPACT);
        sx_create_range(s, 0, N_BIG, 1000);
        store_close(s);
        db = sq_open(sqb);
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sq_create_range(db, 0, N_BIG);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(db);
        env = lm_open(lmb);
        {
                MDB_txn *txn;
                mdb_txn_begin(env, NULL, 0, &txn);
                mdb_dbi_open(txn, NULL, 0, &dbi);
                for (int i = 0; i < N_BIG; i++) {
                        char id[32], key[64];
                        idof(i, id);
                        struct store_record *r = mk(id, i);
                        size_t len;
                        uint8_t *bl = blob(r, &len);
                        int kl = snprintf(key, sizeof(key), "default/%s", id);
                        MDB_val k = {(size_t)kl, key}, v = {len, bl};
                        if (mdb_put(txn, dbi, &k, &v, 0))
                                die("lmdb bulk", "put");
                        free(bl);
                        store_record_free(r);
                }
                mdb_txn_commit(txn);
        }
        mdb_env_close(env);
        o_sx = in_child(0, sxb);
        o_sq = in_child(1, sqb);
        o_lm = in_child(2, lmb);
        w5t = (struct result){o_sx.seconds * 1e3, o_sq.seconds * 1e3, o_lm.seconds * 1e3};

        /* 6. compaction of N_BIG live + N_BIG dead, with a writer running */
        fprintf(stderr, "6. compaction with a concurrent writer\n");
        s = sx_open(sxb, STORE_OPEN_NO_AUTO_COMPACT);
        sx_update_range(s, N_BIG, 1000);
        struct store_stats before;
        store_stats(s, &before);
        static double lat[100000];
        int nlat = 0;
        bool done = false;
        struct sbx_error err = {};
        double max_stall = 0, base_max = 0;
        /* The same writer without a compaction, for comparison. */
        for (int i = 0; i < 200; i++) {
                char id[32];
                snprintf(id, sizeof(id), "baseline-%d", i);
                struct store_record *r = mk(id, i);
                double t0 = now_s();
                if (store_create_sync(s, r, NULL, &err) < 0)
                        die("create", err.message);
                double ms = (now_s() - t0) * 1e3;
                lat[i] = ms;
                if (ms > base_max)
                        base_max = ms;
                store_record_free(r);
        }
        qsort(lat, 200, sizeof(double), cmp_double);
        double base_p50 = lat[100];
        t = now_s();
        if (store_compact(s, sx_compact_done, &done, &err) < 0)
                die("compact", err.message);
        while (!done) {
                char id[32];
                idof(N_BIG + nlat, id);
                struct store_record *r = mk(id, nlat);
                double t0 = now_s();
                if (store_create_sync(s, r, NULL, &err) < 0)
                        die("create during compaction", err.message);
                double ms = (now_s() - t0) * 1e3;
                if (nlat < (int)(sizeof(lat) / sizeof(lat[0])))
                        lat[nlat] = ms;
                nlat++;
                if (ms > max_stall)
                        max_stall = ms;
                store_record_free(r);
        }
        double compact_s = now_s() - t;
        struct store_stats after;
        store_stats(s, &after);
        double switch_ms = (double)s->compact_stall_ns / 1e6;
        double paused_s = (double)s->compact_paused_ns / 1e9;
        store_close(s);
        int nl = nlat < 100000 ? nlat : 100000;
        qsort(lat, (size_t)nl, sizeof(double), cmp_double);
        double p50 = nl ? lat[nl / 2] : 0;

        /* SQLite: the same dead rows, then VACUUM while a writer inserts. */
        db = sq_open(sqb);
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sq_create_range(db, 0, N_BIG); /* replaces every row: the old pages are free */
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        struct stall sw = {.h = sqb, .base = N_BIG};
        pthread_t wt;
        pthread_create(&wt, NULL, sq_stall_writer, &sw);
        usleep(20000);
        t = now_s();
        char *msg = NULL;
        if (sqlite3_exec(db, "VACUUM", NULL, NULL, &msg) != SQLITE_OK)
                die("vacuum", msg);
        double vac_s = now_s() - t;
        sw.stop = 1;
        pthread_join(wt, NULL);
        sqlite3_close(db);

        /* LMDB: rewrite every record, then a compacting copy while a writer puts. */
        env = lm_open(lmb);
        lm_create_range(env, 0, N_BIG / 10); /* LMDB reuses freed pages; a copy is its compaction */
        struct stall lw = {.h = env, .base = 2 * N_BIG};
        pthread_create(&wt, NULL, lm_stall_writer, &lw);
        usleep(20000);
        char *lmc = path("lmc");
        mkdir(lmc, 0700);
        t = now_s();
        if (mdb_env_copy2(env, lmc, MDB_CP_COMPACT))
                die("mdb_env_copy2", lmc);
        double lmcopy_s = now_s() - t;
        lw.stop = 1;
        pthread_join(wt, NULL);
        mdb_env_close(env);
        w6t = (struct result){compact_s, vac_s, lmcopy_s};
        w6s = (struct result){max_stall, sw.max_ms, lw.max_ms};

        /* ---- report ---- */
        double live_mib = (double)o_sx.live_bytes / (1 << 20);
        printf("Measured by `bench/store` (%s): sandboxd's store vs SQLite %s (WAL, "
               "`synchronous=FULL`, one transaction per operation) and LMDB %s (default flags), "
               "same records (4 KiB OCI spec, 8 labels, 2 extensions, ~%zu bytes encoded), "
               "same run, files on the machine's disk (%s); workloads 1 and 2 alternate the three "
               "in 10 rounds. Ratio = sandboxd's speed / SQLite's (above 1 = sandboxd "
               "faster).\n\n",
               scale > 1 ? "BENCH_SCALE reduced" : "full size", sqlite3_libversion(),
               MDB_VERSION_STRING, (size_t)(o_sx.live_bytes / (uint64_t)(N_BIG ? N_BIG : 1)),
               b ? b : "/var/tmp");
        printf("| # | workload | sandboxd | SQLite | LMDB | ratio to SQLite | target | met |\n");
        printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        printf("| 1 | %d creates, one writer (creates/s) | %.0f | %.0f | %.0f | %.2fx | >= 1x | "
               "%s |\n",
               N_CREATE, w1.sx, w1.sq, w1.lm, w1.sx / w1.sq, w1.sx >= w1.sq ? "yes" : "**no**");
        printf("| 2 | %d creates, 16 concurrent writers (creates/s) | %.0f | %.0f | %.0f | %.2fx | "
               ">= 10x | %s |\n",
               N_CREATE, w2.sx, w2.sq, w2.lm, w2.sx / w2.sq,
               w2.sx >= 10 * w2.sq ? "yes" : "**no**");
        printf("| 3 | %d random gets, decoded (gets/s) | %.0f | %.0f | %.0f | %.2fx | - | - |\n",
               N_GET, w3.sx, w3.sq, w3.lm, w3.sx / w3.sq);
        printf("| 4 | list, label filter, %d records, %zu match (ms per list) | %.2f | %.2f | %.2f "
               "| %.2fx | - | - |\n",
               N_CREATE, matched, w4.sx, w4.sq, w4.lm, w4.sq / w4.sx);
        printf("| 5 | open of %d records, warm cache (ms) | %.0f | %.1f | %.1f | %.3fx | < 300 ms "
               "| %s |\n",
               N_BIG, w5t.sx, w5t.sq, w5t.lm, w5t.sq / w5t.sx, w5t.sx < 300 ? "yes" : "**no**");
        printf("| 5 | memory after open (MiB; live data %.0f MiB) | %.0f (%.2fx live) | %.1f | "
               "%.1f | - | < 1.5x live | %s |\n",
               live_mib, o_sx.rss_kib / 1024.0, o_sx.rss_kib / 1024.0 / live_mib,
               o_sq.rss_kib / 1024.0, o_lm.rss_kib / 1024.0,
               o_sx.rss_kib / 1024.0 < 1.5 * live_mib ? "yes" : "**no**");
        printf("| 6 | compaction, %d live + %d dead (s; SQLite VACUUM, LMDB compacting copy) | "
               "%.2f | %.2f | %.2f | %.2fx | - | - |\n",
               N_BIG, N_BIG, w6t.sx, w6t.sq, w6t.lm, w6t.sq / w6t.sx);
        printf("| 6 | longest stall of a concurrent writer during it (ms) | %.1f | %.1f | %.1f | "
               "%.2fx | <= 10 ms | %s |\n",
               w6s.sx, w6s.sq, w6s.lm, w6s.sq / w6s.sx, w6s.sx <= 10 ? "yes" : "**no**");
        printf("\nDetails: (1) one create as the daemon's loop sees it (submit, eventfd, "
               "dispatch, callback): sandboxd p50 %.3f ms, p99 %.3f ms; one SQLite insert "
               "transaction: p50 %.3f ms, p99 %.3f ms; sandboxd's log took %llu preallocation "
               "steps of 1 MiB for %llu commits. ",
               l1sx[N_CREATE / 2], l1sx[N_CREATE * 99 / 100], l1sq[N_CREATE / 2],
               l1sq[N_CREATE * 99 / 100], (unsigned long long)preallocs1,
               (unsigned long long)st1.commits);
        printf("(2) sandboxd kept 16 creates in flight on one loop thread and "
               "committed them in %llu fdatasyncs (%.1f writes per sync); SQLite and LMDB ran 16 "
               "threads with one transaction per create. (6) sandboxd's compaction went from "
               "%.0f MiB to %.0f MiB (generation %llu to %llu); the writer made %d creates "
               "meanwhile, p50 %.2f ms; the same writer without a compaction: p50 %.2f ms, longest "
               "%.1f ms; the switch to the new generation held the log for %.1f ms, and the "
               "compaction gave way to the writer for %.2f s in all. SQLite's "
               "writer "
               "waits for the whole VACUUM (%d writes during it).\n",
               (unsigned long long)st2.commits,
               st2.commits ? (double)st2.writes / (double)st2.commits : 0.0,
               before.file_size / 1048576.0, after.file_size / 1048576.0,
               (unsigned long long)before.generation, (unsigned long long)after.generation, nlat,
               p50, base_p50, base_max, switch_ms, paused_s, sw.writes);
        rmrf(base);
        return 0;
}
