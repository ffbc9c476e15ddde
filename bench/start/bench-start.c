/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/start: sandboxd's per-sandbox lifecycle through the API (create → start →
 * wait → shutdown → delete of /bin/true with the default isolation), against
 * anchors measured in the same run: a raw clone3 floor, crun, runc, bwrap and
 * unshare; sandboxes per second with 2 and 8 concurrent clients; exit → Wait
 * response latency; Status requests per second over 16 keep-alive connections;
 * daemon RSS with 1,000 idle sandboxes.  It starts its own daemon
 * ($BUILD/sandboxd) on temporary directories and a temporary cgroup, and talks
 * raw HTTP/1.1 over the socket with sandboxctl's client (cli/http.c), so the
 * client is not the bottleneck.  Prints one markdown section; progress to stderr.
 *
 *   bench-start [RUNS]            (default 300)
 *   bench-start --exit-on-fifo P  (internal: the sandbox process of the Wait
 *                                  latency run; exits when a byte arrives in P)
 *   BENCH_START_ONLY=lifecycle|status|wait  (while iterating: only the lifecycle and the
 *                                  floor, only Status requests per second, or only the
 *                                  exit → Wait latency)
 *   BENCH_START_DAEMON_LOG=FILE   (the daemon's log, at level debug, kept in FILE)
 */
#include "cli/http-internal.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/mount.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/syscall.h" /* after <sys/wait.h>: P_PIDFD */
#include "isolation/isolation.h"

#define SPEC_TYPE_URL "types.containerd.io/opencontainers/runtime-spec/1/Spec"

static char sock_path[256], tmp_dir[128], cg_root[128], bpf_dir[128], self_path[4096];
static pid_t daemon_pid;
static json_t *default_spec;

static uint64_t now_ns(clockid_t clk)
{
        struct timespec ts;

        clock_gettime(clk, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
#define MONO() now_ns(CLOCK_MONOTONIC)

static void stop_daemon(void);

static _Noreturn __attribute__((format(printf, 1, 2))) void die(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fprintf(stderr, "bench-start: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        if (daemon_pid > 0)
                stop_daemon();
        exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

/* Percentile q of n samples (sorts them), in ms. */
static double pct(uint64_t *v, size_t n, double q)
{
        if (n == 0)
                return 0;
        qsort(v, n, sizeof(*v), cmp_u64);
        return (double)v[(size_t)(q * (double)(n - 1) + 0.5)] / 1e6;
}

/* ---- the API client ---------------------------------------------------------------------- */

static void conn_open(struct http_conn *c)
{
        struct sbx_error err = {0};

        if (http_connect(c, sock_path, &err) < 0)
                die("%s", err.message);
}

/* One request and its answer into *r (to free); dies on transport errors or an unexpected
 * status. */
static void exchange(struct http_conn *c, const char *method, const char *target, const char *body,
                     int want, struct http_response *r)
{
        struct sbx_error err = {0};

        if (http_request(c, method, target, body, body ? strlen(body) : 0, NULL, NULL, r, &err) < 0)
                die("%s", err.message);
        if (r->status != want) {
                fprintf(stderr, "%s %s: HTTP %d: %s\n", method, target, r->status,
                        r->body ? r->body : "");
                die("unexpected status from %s", target);
        }
}

/* One request; returns its answer's JSON body (NULL when empty). */
static json_t *call(struct http_conn *c, const char *method, const char *target, json_t *body,
                    int want)
{
        _cleanup_free_ char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
        struct http_response r;
        json_t *j = NULL;

        exchange(c, method, target, data, want, &r);
        if (r.body && r.body_len)
                j = json_loadb(r.body, r.body_len, 0, NULL);
        http_response_free(&r);
        return j;
}

/* A request whose answer's body is not needed: only its status is checked, and the body is
 * not parsed (the client's own JSON work is not what is measured). */
static void request(struct http_conn *c, const char *method, const char *target, const char *body,
                    int want)
{
        struct http_response r;

        exchange(c, method, target, body, want, &r);
        http_response_free(&r);
}

static void call0(struct http_conn *c, const char *method, const char *target, json_t *body,
                  int want)
{
        _cleanup_free_ char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;

        request(c, method, target, data, want);
}

static char *b64(const char *s)
{
        static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(s), i;
        char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
        const unsigned char *in = (const unsigned char *)s;

        for (i = 0; i + 2 < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
                *o++ = t[v >> 18], *o++ = t[(v >> 12) & 63], *o++ = t[(v >> 6) & 63],
                *o++ = t[v & 63];
        }
        if (i < n) {
                uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
                *o++ = t[v >> 18], *o++ = t[(v >> 12) & 63];
                *o++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
                *o++ = '=';
        }
        *o = '\0';
        return out;
}

/* The default spec with process.args = args (NULL: no process, the init pauses). */
static json_t *spec_with(char *const *args)
{
        json_t *s = json_deep_copy(default_spec), *a;

        if (!args) {
                json_object_del(s, "process");
                return s;
        }
        a = json_array();
        for (; *args; args++)
                json_array_append_new(a, json_string(*args));
        json_object_set_new(json_object_get(s, "process"), "args", a);
        return s;
}

static json_t *record(const char *id, json_t *spec)
{
        _cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
        _cleanup_free_ char *v = b64(text);

        return json_pack("{s:s, s:{s:s}, s:{s:s, s:s}}", "id", id, "runtime", "name",
                         "io.sandboxd.linux.v1", "spec", "type_url", SPEC_TYPE_URL, "value", v);
}

/* record()'s JSON text, as a create sends it. */
static char *record_text(const char *id, json_t *spec)
{
        json_t *rec = record(id, spec);
        char *text = json_dumps(rec, JSON_COMPACT);

        json_decref(rec);
        if (!text)
                die("out of memory");
        return text;
}

static const char *target(char *buf, size_t size, const char *id, const char *suffix)
{
        snprintf(buf, size, "/v1/sandboxes/%s%s%s", id, suffix ? "/" : "", suffix ? suffix : "");
        return buf;
}

/* create (of rec, a record's JSON text, made before the clock starts) → start → wait →
 * shutdown → delete; per-step times into steps[5] when given. */
static void lifecycle(struct http_conn *c, const char *id, const char *rec, uint64_t *steps)
{
        char t[256];
        uint64_t t0 = MONO(), t1;
        json_t *w;

        request(c, "POST", "/v1/sandboxes", rec, 201);
        t1 = MONO();
        if (steps)
                steps[0] = t1 - t0, t0 = t1;
        request(c, "POST", target(t, sizeof(t), id, "start"), NULL, 200);
        t1 = MONO();
        if (steps)
                steps[1] = t1 - t0, t0 = t1;
        w = call(c, "GET", target(t, sizeof(t), id, "wait"), NULL, 200);
        if (json_integer_value(json_object_get(w, "exit_status")) != 0)
                die("%s: /bin/true did not exit 0", id);
        json_decref(w);
        t1 = MONO();
        if (steps)
                steps[2] = t1 - t0, t0 = t1;
        request(c, "POST", target(t, sizeof(t), id, "shutdown"), NULL, 200);
        t1 = MONO();
        if (steps)
                steps[3] = t1 - t0, t0 = t1;
        request(c, "DELETE", target(t, sizeof(t), id, NULL), NULL, 204);
        if (steps)
                steps[4] = MONO() - t0;
}

/* ---- the daemon -------------------------------------------------------------------------- */

static void start_daemon(void)
{
        const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
        char bin[512], state[256], run[256], log[256];
        int i;

        snprintf(tmp_dir, sizeof(tmp_dir), "/var/tmp/sbx-bench-start.XXXXXX");
        if (!mkdtemp(tmp_dir))
                die("mkdtemp: %s", strerror(errno));
        snprintf(sock_path, sizeof(sock_path), "%s/sock", tmp_dir);
        snprintf(state, sizeof(state), "%s/state", tmp_dir);
        snprintf(run, sizeof(run), "%s/run", tmp_dir);
        if (getenv("BENCH_START_DAEMON_LOG"))
                snprintf(log, sizeof(log), "%s", getenv("BENCH_START_DAEMON_LOG"));
        else
                snprintf(log, sizeof(log), "%s/daemon.log", tmp_dir);
        /* The run directory on a tmpfs, as /run is on any systemd host (on this VM /run is
         * part of the ext4 root, where replacing a state file starts writeback of it). */
        if (mkdir(run, 0755) < 0 || mount("tmpfs", run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                          "mode=0755,size=64m") < 0)
                die("tmpfs on %s: %s", run, strerror(errno));
        snprintf(cg_root, sizeof(cg_root), "/sys/fs/cgroup/unified/sbx-bench-start-%d", getpid());
        snprintf(bpf_dir, sizeof(bpf_dir), "/sys/fs/bpf/sbx-bench-start-%d", getpid());
        snprintf(bin, sizeof(bin), "%s/sandboxd", build);
        daemon_pid = fork();
        if (daemon_pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                dup2(fd, 1);
                dup2(fd, 2);
                execl(bin, bin, "--socket", sock_path, "--state-dir", state, "--run-dir", run,
                      "--cgroup-root", cg_root, "--bpf-dir", bpf_dir, "--allow-missing-controllers",
                      "--log-level", getenv("BENCH_START_DAEMON_LOG") ? "debug" : "warning",
                      (char *)NULL);
                _exit(127);
        }
        for (i = 0; i < 400; i++) {
                struct http_conn c = {.fd = -EBADF};
                struct sbx_error err = {0};

                if (http_connect(&c, sock_path, &err) == 0) {
                        http_close(&c);
                        return;
                }
                http_close(&c);
                if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid)
                        break;
                usleep(25000);
        }
        die("the daemon did not start (see %s)", log);
}

static void stop_daemon(void)
{
        char cmd[1536];

        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = 0;
        /* Leftovers (none expected unless a run failed): the sandboxes' processes, their
         * cgroups, netns mounts under the run dir, the pins, the directories. */
        snprintf(cmd, sizeof(cmd),
                 "find %s -name cgroup.kill -exec sh -c 'echo 1 > \"$1\"' _ {} \\; "
                 "2>/dev/null; sleep 0.2; find %s -depth -type d -exec rmdir {} \\; 2>/dev/null; "
                 "awk -v r=%s 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | "
                 "xargs -r umount -l; rm -rf %s %s",
                 cg_root, cg_root, tmp_dir, bpf_dir, tmp_dir);
        if (system(cmd) != 0)
                fprintf(stderr, "bench-start: cleanup: %s failed\n", cmd);
}

static uint64_t daemon_rss_kb(void)
{
        char path[64], line[256];
        uint64_t kb = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", daemon_pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

static uint64_t pss_kb(pid_t pid)
{
        char path[64], line[256];
        uint64_t kb = 0, v;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Pss: %lu kB", &v) == 1)
                        kb = v;
        fclose(f);
        return kb;
}

/* ---- the floor: the same kernel work, written straight ----------------------------------- */

static _Noreturn void floor_child(void)
{
        static char *const argv[] = {"/bin/true", NULL}, *const envp[] = {NULL};
        struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
        struct ifreq ifr = {.ifr_name = "lo", .ifr_flags = IFF_UP};
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), root;

        if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                _exit(101);
        close(s);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                _exit(102);
        root = (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (root < 0 || syscall(SYS_mount_setattr, root, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 ||
            syscall(SYS_move_mount, root, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                _exit(103);
        if (fchdir(root) < 0 ||
            mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                _exit(104);
        if (sbx_pivot_root(".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                _exit(105);
        if (sethostname("sandbox", 7) < 0)
                _exit(106);
        execve(argv[0], argv, envp);
        _exit(107);
}

static uint64_t run_floor(void)
{
        int pidfd = -1;
        struct clone_args ca = {.flags = CLONE_PIDFD | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS |
                                         CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP,
                                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                                .exit_signal = SIGCHLD};
        uint64_t t0 = MONO();
        siginfo_t si;
        pid_t pid = sbx_clone3(&ca, sizeof(ca));

        if (pid < 0)
                die("clone3: %s", strerror(errno));
        if (pid == 0)
                floor_child();
        waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED);
        close(pidfd);
        if (si.si_code != CLD_EXITED || si.si_status != 0)
                die("floor child failed (status %d)", si.si_status);
        return MONO() - t0;
}

/* ---- what any daemon pays here: the sandbox itself and the API's shape ----------------- */

/* The sandbox alone: the same spec built by iso_spawn() in this process, as the daemon's
 * spawner does it (network namespace made ahead, untimed), to the reaped exit; no cgroup,
 * no daemon.  What any daemon with this spec and sandbox-init pays per sandbox. */
static uint64_t run_sandbox_alone(const struct iso_config *c)
{
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        struct sbx_error err = {0};
        struct iso_process p;
        siginfo_t si;
        uint64_t t0;
        int netns = iso_netns_new(&err);

        if (netns < 0)
                die("iso_netns_new: %s", err.message);
        o.netns_fd = netns;
        t0 = MONO();
        if (iso_spawn(c, &o, &p, &err) < 0)
                die("iso_spawn: %s", err.message);
        waitid((idtype_t)P_PIDFD, (id_t)p.pidfd, &si, WEXITED);
        t0 = MONO() - t0;
        iso_process_release(&p);
        close(netns);
        if (si.si_code != CLD_EXITED || si.si_status != 0)
                die("the sandbox alone: status %d", si.si_status);
        return t0;
}

/* One request that does no work in the daemon: the round trip itself. */
static uint64_t run_round_trip(struct http_conn *c)
{
        uint64_t t0 = MONO();

        call0(c, "GET", "/v1/version", NULL, 200);
        return MONO() - t0;
}

/* A file on the state directory's filesystem, preallocated with written zeros as the
 * store's log is (docs/store-format.md), for durable appends into it. */
static int durable_fd = -EBADF;
static uint64_t durable_off;

static void durable_open(void)
{
        static const char zeros[1 << 16];
        char path[256];

        snprintf(path, sizeof(path), "%s/durable", tmp_dir);
        durable_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (durable_fd < 0)
                die("%s: %s", path, strerror(errno));
        for (int i = 0; i < 64; i++) /* 4 MiB: 64-byte appends for 65,536 runs */
                if (write(durable_fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros))
                        die("%s: short write", path);
        if (fsync(durable_fd) < 0)
                die("fsync %s: %s", path, strerror(errno));
}

/* One durable append of a small record, as the store makes for a delete: pwrite +
 * fdatasync into the preallocated file. */
static uint64_t run_durable_append(void)
{
        static const char rec[64] = "a 64-byte record, as small as a store tombstone";
        uint64_t t0 = MONO();

        if (pwrite(durable_fd, rec, sizeof(rec), (off_t)durable_off) != (ssize_t)sizeof(rec) ||
            fdatasync(durable_fd) < 0)
                die("durable append: %s", strerror(errno));
        durable_off = (durable_off + sizeof(rec)) % (4u << 20);
        return MONO() - t0;
}

/* What the rows "the sandbox alone" … "a daemon that cost nothing" say, in words. */
static void print_bound(double floor50, double sbx50, double alone50, double bound50)
{
        printf("\nThe sandbox itself (DESIGN.md §4: the default spec's mounts, `/dev`, masked "
               "paths, capabilities, seccomp, and sandbox-init as PID 1) is %.2fx the floor; "
               "a lifecycle adds five requests, two of them (create, delete) acknowledged only "
               "once durable. So even a daemon whose own work cost nothing would be **%.2fx** "
               "the floor on this host. sandboxd's own share is the rest, %.2f ms at p50 (its "
               "cgroup, the netns bind mount, the output FIFO, state files, parsing, and its "
               "threads' hand-offs).\n",
               alone50 / floor50, bound50 / floor50, sbx50 - bound50);
}

/* ---- external anchors -------------------------------------------------------------------- */

static int run_once(char *const *argv, bool show_stderr, uint64_t *ret)
{
        uint64_t t0 = MONO();
        int st;
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

                dup2(fd, 0), dup2(fd, 1);
                if (!show_stderr)
                        dup2(fd, 2);
                execvp(argv[0], argv);
                _exit(127);
        }
        waitpid(pid, &st, 0);
        *ret = MONO() - t0;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Runs argv n times (fork + exec + wait), times into out; returns runs done (0 = failed).
 * A failed run is retried twice (on this shared host, namespace creation fails now and
 * then when other jobs hold many); the third failure, with its stderr shown, gives up. */
static size_t time_cmd(char *const *argv, size_t n, uint64_t *out)
{
        for (size_t i = 0; i < n; i++) {
                int tries = 0;

                while (run_once(argv, i == 0 || tries == 2, &out[i]) < 0) {
                        if (++tries == 3) {
                                fprintf(stderr, "bench-start: %s failed 3 times\n", argv[0]);
                                return 0;
                        }
                }
        }
        return n;
}

/* crun and runc get a bundle with the same config.json (the default spec, /bin/true).  The
 * default spec has no linux.seccomp, which sandboxd reads as its built-in profile and crun and
 * runc as no filter at all; with_seccomp writes that profile out, so that they do the same
 * work (ENVIRONMENT.md: "add one, or note it"). */
static void write_bundle(const char *dir, bool with_seccomp)
{
        char path[512];
        json_t *s = spec_with((char *const[]){"/bin/true", NULL}), *sc;

        mkdir(dir, 0755);
        snprintf(path, sizeof(path), "%s/rootfs", dir);
        mkdir(path, 0755);
        json_object_set_new(json_object_get(s, "root"), "path", json_string("rootfs"));
        if (with_seccomp) {
                if (!(sc = iso_default_seccomp_json()))
                        die("out of memory");
                json_object_set_new(json_object_get(s, "linux"), "seccomp", sc);
        }
        snprintf(path, sizeof(path), "%s/config.json", dir);
        if (json_dump_file(s, path, JSON_INDENT(2)) < 0)
                die("cannot write %s", path);
        json_decref(s);
}

/* crun and runc cannot pivot_root into "/" itself (EBUSY): each runs in a private mount
 * namespace where the host's root is bind-mounted at BUNDLE/rootfs (the config.json says
 * root.path "rootfs").  crun 1.8 also refuses this hybrid host (the unified hierarchy lists
 * hugetlb), so for it a throwaway tmpfs covers /sys/fs/cgroup/unified and it sees pure
 * cgroup v1 (ENVIRONMENT.md).  The child runs the loop; the times come back in a pipe. */
static size_t time_runtime(const char *rt, const char *bundle, size_t n, uint64_t *out)
{
        int p[2], st;
        size_t got = 0;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return 0;
        pid = fork();
        if (pid == 0) {
                char root[512], id[64], rootfs[512];

                close(p[0]);
                snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("/", rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                        _exit(1);
                if (strcmp(rt, "crun") == 0 &&
                    mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", 0, "size=1m") < 0)
                        _exit(1);
                snprintf(root, sizeof(root), "%s/%s-state", tmp_dir, rt);
                for (size_t i = 0; i < n; i++) {
                        snprintf(id, sizeof(id), "bench-%s-%zu", rt, i);
                        char *argv[] = {(char *)rt, "--root",       root, "run",
                                        "-b",       (char *)bundle, id,   NULL};
                        uint64_t t;

                        if (time_cmd(argv, 1, &t) != 1)
                                _exit(2);
                        if (write(p[1], &t, sizeof(t)) != sizeof(t))
                                _exit(3);
                }
                _exit(0);
        }
        close(p[1]);
        while (got < n && read(p[0], &out[got], sizeof(uint64_t)) == sizeof(uint64_t))
                got++;
        close(p[0]);
        waitpid(pid, &st, 0);
        return got == n ? n : 0;
}

/* ---- concurrency, Wait latency, Status throughput ---------------------------------------- */

struct worker {
        pthread_t thread;
        int index;
        size_t count;
        json_t *spec;
        uint64_t stop_at; /* status workers: run until then */
        uint64_t done;
};

static void *lifecycle_worker(void *arg)
{
        struct worker *w = arg;
        struct http_conn c = {.fd = -EBADF};

        conn_open(&c);
        for (size_t i = 0; i < w->count; i++) {
                char id[64];
                _cleanup_free_ char *rec = NULL;

                snprintf(id, sizeof(id), "c%d-%zu", w->index, i);
                rec = record_text(id, w->spec);
                lifecycle(&c, id, rec, NULL);
                w->done++;
        }
        http_close(&c);
        return NULL;
}

static double sandboxes_per_s(int clients, size_t per_client, json_t *spec)
{
        struct worker w[8] = {0};
        uint64_t t0 = MONO();

        for (int i = 0; i < clients; i++) {
                w[i] = (struct worker){.index = i, .count = per_client, .spec = spec};
                pthread_create(&w[i].thread, NULL, lifecycle_worker, &w[i]);
        }
        for (int i = 0; i < clients; i++)
                pthread_join(w[i].thread, NULL);
        return (double)(clients * per_client) / ((double)(MONO() - t0) / 1e9);
}

static void *status_worker(void *arg)
{
        struct worker *w = arg;
        struct http_conn c = {.fd = -EBADF};

        conn_open(&c);
        while (MONO() < w->stop_at) {
                for (int k = 0; k < 64; k++)
                        call0(&c, "GET", "/v1/sandboxes/idle0/status", NULL, 200);
                w->done += 64;
        }
        http_close(&c);
        return NULL;
}

static double status_per_s(int conns, double seconds)
{
        struct worker w[16] = {0};
        uint64_t t0 = MONO(), total = 0;

        for (int i = 0; i < conns; i++) {
                w[i] = (struct worker){.index = i, .stop_at = t0 + (uint64_t)(seconds * 1e9)};
                pthread_create(&w[i].thread, NULL, status_worker, &w[i]);
        }
        for (int i = 0; i < conns; i++) {
                pthread_join(w[i].thread, NULL);
                total += w[i].done;
        }
        return (double)total / ((double)(MONO() - t0) / 1e9);
}

/* The sandbox process blocks reading a FIFO (on the host's root, which the default spec
 * shows read-only).  A Wait is sent and given time to be parked; then T is taken and one
 * byte written; the Wait's answer arrives at R.  R − T is the exit → Wait latency; it
 * includes the process's wake-up and the kernel's exit of it and of the sandbox's init. */
static size_t wait_latency(size_t n, uint64_t *out, uint64_t *out_pidfd, uint64_t *out_exit)
{
        struct http_conn c = {.fd = -EBADF}, wc = {.fd = -EBADF};
        char fifo[256], tfifo[300];
        size_t got = 0;
        int tfd;

        snprintf(fifo, sizeof(fifo), "%s/exit.fifo", tmp_dir);
        snprintf(tfifo, sizeof(tfifo), "%s.t", fifo);
        if (mkfifo(fifo, 0600) < 0 || mkfifo(tfifo, 0600) < 0)
                die("mkfifo: %s", strerror(errno));
        /* Held open for reading throughout, so the process's open for writing never blocks. */
        tfd = open(tfifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (tfd < 0)
                die("open %s: %s", tfifo, strerror(errno));
        conn_open(&c);
        conn_open(&wc);
        for (size_t i = 0; i < n; i++) {
                char id[64], t[256];
                struct sbx_error err = {0};
                struct http_response resp;
                json_t *spec = spec_with((char *const[]){self_path, "--exit-on-fifo", fifo, NULL});
                json_t *rec, *res;
                uint64_t t0;
                int fd, pidfd;

                snprintf(id, sizeof(id), "wl%zu", i);
                rec = record(id, spec);
                call0(&c, "POST", "/v1/sandboxes", rec, 201);
                res = call(&c, "POST", target(t, sizeof(t), id, "start"), NULL, 200);
                /* A pidfd on the sandbox's init (any process can be opened): when it turns
                 * readable splits the latency into the kernel's part and the daemon's. */
                pidfd = sbx_pidfd_open((pid_t)json_integer_value(json_object_get(res, "pid")), 0);
                json_decref(res);
                /* Blocks until the sandbox process has opened its end. */
                fd = open(fifo, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        die("open %s: %s", fifo, strerror(errno));
                if (http_send(&wc, "GET", target(t, sizeof(t), id, "wait"), NULL, 0, &err) < 0)
                        die("%s", err.message);
                usleep(5000); /* the Wait is parked by then */
                t0 = MONO();
                if (write(fd, "x", 1) != 1)
                        die("write: %s", strerror(errno));
                /* Whichever comes first: the daemon may answer before the pidfd turns
                 * readable (it hears of the init's exit from the exit watcher, before the
                 * kernel has torn the sandbox's namespaces down). */
                {
                        struct pollfd pfd[2] = {{.fd = wc.fd, .events = POLLIN},
                                                {.fd = pidfd, .events = POLLIN}};
                        uint64_t answered = 0, readable = pidfd >= 0 ? 0 : 1;

                        while (!answered || !readable) {
                                if (poll(pfd, pidfd >= 0 ? 2 : 1, 10000) <= 0)
                                        die("no exit seen within 10 s");
                                if (!answered && pfd[0].revents) {
                                        answered = MONO() - t0;
                                        pfd[0].fd = -1;
                                }
                                if (!readable && pidfd >= 0 && pfd[1].revents) {
                                        readable = MONO() - t0;
                                        pfd[1].fd = -1;
                                }
                        }
                        if (pidfd >= 0) {
                                out_pidfd[got] = readable;
                                close(pidfd);
                        }
                        {
                                uint64_t t_exit = 0;

                                if (read(tfd, &t_exit, sizeof(t_exit)) != sizeof(t_exit) ||
                                    t_exit < t0 || t_exit > t0 + answered)
                                        die("the sandbox's process did not report its exit time");
                                out_exit[got] = t0 + answered - t_exit;
                        }
                        if (http_recv(&wc, "GET", NULL, NULL, &resp, &err) < 0)
                                die("%s", err.message);
                        out[got++] = answered;
                }
                if (resp.status != 200)
                        die("wait: HTTP %s", resp.body ? resp.body : "?");
                http_response_free(&resp);
                close(fd);
                call0(&c, "POST", target(t, sizeof(t), id, "shutdown"), NULL, 200);
                call0(&c, "DELETE", target(t, sizeof(t), id, NULL), NULL, 204);
                json_decref(rec);
                json_decref(spec);
        }
        unlink(fifo);
        unlink(tfifo);
        close(tfd);
        http_close(&c);
        http_close(&wc);
        return got;
}

/* Exit → Wait latency (see wait_latency()), printed as a table. */
static void report_wait_latency(size_t runs)
{
        size_t n, before_pidfd = 0;
        uint64_t *v = calloc(runs, sizeof(*v)), *pidfd_v = calloc(runs, sizeof(*v)),
                 *exit_v = calloc(runs, sizeof(*v));

        fprintf(stderr, "exit → wait latency\n");
        if (!v || !pidfd_v || !exit_v)
                die("out of memory");
        n = wait_latency(runs < 200 ? runs : 200, v, pidfd_v, exit_v);
        for (size_t i = 0; i < n; i++)
                if (v[i] < pidfd_v[i])
                        before_pidfd++;
        if (n)
                printf("\nExit → Wait latency: a Wait is parked; the sandbox's process, blocked "
                       "reading a FIFO, is released at T, reads the clock and exits.  The "
                       "target is measured from that clock reading, the process's exit; the "
                       "rows from T add the process's wake-up.  %zu runs.\n"
                       "\n| interval | p50 ms | p99 ms |\n| --- | ---: | ---: |\n"
                       "| **the process's exit → the parked Wait answered** (target p50 < 0.3 "
                       "ms) | **%.3f** | %.3f |\n"
                       "| T → the parked Wait answered | %.3f | %.3f |\n"
                       "| T → the init's pidfd readable (the kernel's exit of the process, then of "
                       "the init and its namespaces) | %.3f | %.3f |\n"
                       "\nThe Wait was answered before the init's pidfd turned readable in %zu of "
                       "%zu runs: the daemon hears of the process's exit from the exit watcher "
                       "(docs/architecture.md), not from the pidfd.\n",
                       n, pct(exit_v, n, 0.5), pct(exit_v, n, 0.99), pct(v, n, 0.5),
                       pct(v, n, 0.99), pct(pidfd_v, n, 0.5), pct(pidfd_v, n, 0.99), before_pidfd,
                       n);
        free(v);
        free(pidfd_v);
        free(exit_v);
}

/* The sandbox's process: waits for a byte on PATH, then writes the time it is about to exit
 * (CLOCK_MONOTONIC, which no namespace here changes) to PATH.t and exits. */
static int exit_on_fifo_main(const char *path)
{
        char b, tpath[PATH_MAX];
        int fd, tfd;
        uint64_t t;

        snprintf(tpath, sizeof(tpath), "%s.t", path);
        tfd = open(tpath, O_WRONLY | O_CLOEXEC);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || tfd < 0)
                return 1;
        if (read(fd, &b, 1) != 1)
                return 2;
        t = MONO();
        if (write(tfd, &t, sizeof(t)) != sizeof(t))
                return 3;
        _exit(0);
}

/* ---- main -------------------------------------------------------------------------------- */

/* The 1-minute load average, as /proc/loadavg shows it. */
static void read_load_avg(char *buf, size_t size)
{
        FILE *f = fopen("/proc/loadavg", "re");

        snprintf(buf, size, "?");
        if (f) {
                if (fgets(buf, (int)size, f))
                        buf[strcspn(buf, " ")] = '\0';
                fclose(f);
        }
}

int main(int argc, char **argv)
{
        char load_avg[32];

        size_t runs = 300, anchor_runs, n;
        uint64_t *v, *floor_v, *alone_v, *rt_v, *dur_v, steps[5], *step_v[5];
        double floor50, floor99, sbx50, sbx99, alone50, rt50, dur50, bound50, r;
        struct iso_config *true_config = NULL;
        struct sbx_error err = {0};
        struct http_conn c = {.fd = -EBADF};
        json_t *true_spec, *idle_spec;
        char bundle[512], bundle_sc[512];
        static const char *const step_names[] = {"create", "start", "wait", "shutdown", "delete"};

        if (argc == 3 && strcmp(argv[1], "--exit-on-fifo") == 0)
                return exit_on_fifo_main(argv[2]);
        if (argc > 1)
                runs = strtoul(argv[1], NULL, 10);
        if (runs < 20)
                runs = 20;
        anchor_runs = runs < 100 ? runs : 100;
        read_load_avg(load_avg, sizeof(load_avg));
        if (!realpath("/proc/self/exe", self_path))
                die("realpath: %s", strerror(errno));
        signal(SIGPIPE, SIG_IGN);
        v = calloc(runs * 2, sizeof(*v));
        floor_v = calloc(runs, sizeof(*v));
        alone_v = calloc(runs, sizeof(*v));
        rt_v = calloc(runs, sizeof(*v));
        dur_v = calloc(runs, sizeof(*v));
        for (int k = 0; k < 5; k++)
                step_v[k] = calloc(runs, sizeof(uint64_t));

        start_daemon();
        conn_open(&c);
        default_spec = call(&c, "GET", "/v1/spec", NULL, 200);
        true_spec = spec_with((char *const[]){"/bin/true", NULL});
        if (iso_config_parse_json(true_spec, &true_config, &err) < 0)
                die("the default spec: %s", err.message);
        idle_spec = spec_with(NULL);

        /* While iterating: BENCH_START_ONLY=wait measures only the exit → Wait latency. */
        if (getenv("BENCH_START_ONLY") && strcmp(getenv("BENCH_START_ONLY"), "wait") == 0) {
                report_wait_latency(runs);
                http_close(&c);
                stop_daemon();
                return 0;
        }

        /* While iterating: BENCH_START_ONLY=status measures only Status requests per second
         * (one idle sandbox). */
        if (getenv("BENCH_START_ONLY") && strcmp(getenv("BENCH_START_ONLY"), "status") == 0) {
                json_t *rec = record("idle0", idle_spec);
                char t[256];

                call0(&c, "POST", "/v1/sandboxes", rec, 201);
                call0(&c, "POST", target(t, sizeof(t), "idle0", "start"), NULL, 200);
                printf("Status requests per second over 16 keep-alive connections: %.0f\n",
                       status_per_s(16, 3.0));
                call0(&c, "POST", target(t, sizeof(t), "idle0", "shutdown"), NULL, 200);
                json_decref(rec);
                http_close(&c);
                stop_daemon();
                return 0;
        }

        /* 1. Lifecycle vs the floor, interleaved with the sandbox alone so that all three see
         * the same machine state; then what the API's shape costs here: a round trip, a
         * durable append. */
        fprintf(stderr, "lifecycle and floor, %zu runs each\n", runs);
        durable_open();
        for (size_t i = 0; i < 10; i++) { /* warm-up */
                char id[32];
                _cleanup_free_ char *rec = NULL;

                snprintf(id, sizeof(id), "warm%zu", i);
                rec = record_text(id, true_spec);
                lifecycle(&c, id, rec, NULL);
                run_floor();
                run_sandbox_alone(true_config);
        }
        for (size_t i = 0; i < runs; i++) {
                char id[32];
                _cleanup_free_ char *rec = NULL;
                uint64_t t0;

                snprintf(id, sizeof(id), "life%zu", i);
                rec = record_text(id, true_spec);
                t0 = MONO();
                lifecycle(&c, id, rec, steps);
                v[i] = MONO() - t0;
                for (int k = 0; k < 5; k++)
                        step_v[k][i] = steps[k];
                floor_v[i] = run_floor();
                alone_v[i] = run_sandbox_alone(true_config);
        }
        /* Apart from the floor, whose kernel clean-up (its network namespace, in a kworker)
         * runs on after it and would be timed with them; each after a pause, so that the
         * CPUs have gone idle as they do between a lifecycle's steps. */
        for (size_t i = 0; i < runs; i++) {
                usleep(1000);
                rt_v[i] = run_round_trip(&c);
                usleep(1000);
                dur_v[i] = run_durable_append();
        }
        sbx50 = pct(v, runs, 0.5);
        sbx99 = pct(v, runs, 0.99);
        floor50 = pct(floor_v, runs, 0.5);
        floor99 = pct(floor_v, runs, 0.99);

        printf("Per-sandbox lifecycle of `/bin/true` with the default spec, through the API "
               "(create → start → wait → shutdown → delete, one keep-alive connection), %zu runs "
               "interleaved with the floor and the sandbox alone; anchors %zu runs each. The "
               "daemon's state in "
               "/var/tmp (ext4), its run directory on a tmpfs as /run is on a systemd host. "
               "Host: %ld CPUs, 1-min load average %s at the start.\n\n",
               runs, anchor_runs, sysconf(_SC_NPROCESSORS_ONLN), load_avg);
        printf("| what | p50 ms | p99 ms | p50 / floor |\n| --- | ---: | ---: | ---: |\n");
        printf("| raw clone3 floor: pid, mnt, uts, ipc, net, cgroup ns + lo up + read-only root + "
               "/proc + pivot_root + exec | %.2f | %.2f | 1.00 |\n",
               floor50, floor99);
        printf("| **sandboxd lifecycle through the API** | **%.2f** | **%.2f** | **%.2f** |\n",
               sbx50, sbx99, sbx50 / floor50);
        for (int k = 0; k < 5; k++)
                printf("| … of which %s | %.2f | %.2f | |\n", step_names[k],
                       pct(step_v[k], runs, 0.5), pct(step_v[k], runs, 0.99));
        alone50 = pct(alone_v, runs, 0.5);
        rt50 = pct(rt_v, runs, 0.5);
        dur50 = pct(dur_v, runs, 0.5);
        bound50 = alone50 + 5 * rt50 + 2 * dur50;
        printf("| the sandbox alone: `iso_spawn()` → exit with the same spec in the benchmark's "
               "process (network namespace made ahead, as the daemon does; no cgroup, no daemon) "
               "| %.2f | %.2f | %.2f |\n",
               alone50, pct(alone_v, runs, 0.99), alone50 / floor50);
        printf("| one API round trip that does no work (`GET /v1/version`, same connection) | "
               "%.3f | %.3f | |\n",
               rt50, pct(rt_v, runs, 0.99));
        printf("| one durable 64-byte append on the state directory's filesystem (pwrite + "
               "fdatasync, preallocated file) | %.3f | %.3f | |\n",
               dur50, pct(dur_v, runs, 0.99));
        printf("| a daemon that cost nothing: the sandbox alone + 5 round trips + 2 durable "
               "appends (sum of the p50s) | %.2f | | %.2f |\n",
               bound50, bound50 / floor50);
        /* While iterating: BENCH_START_ONLY=lifecycle stops here. */
        if (getenv("BENCH_START_ONLY") && strcmp(getenv("BENCH_START_ONLY"), "lifecycle") == 0) {
                print_bound(floor50, sbx50, alone50, bound50);
                http_close(&c);
                stop_daemon();
                return 0;
        }

        /* 2. Anchors. */
        write_bundle((snprintf(bundle, sizeof(bundle), "%s/bundle", tmp_dir), bundle), false);
        write_bundle(
                (snprintf(bundle_sc, sizeof(bundle_sc), "%s/bundle-seccomp", tmp_dir), bundle_sc),
                true);
        {
                struct {
                        const char *name;
                        char *argv[16];
                } cmds[] = {
                        {"`unshare -fpmuinC --mount-proc /bin/true`",
                         {"unshare", "-fpmuinC", "--mount-proc", "/bin/true", NULL}},
                        {"bubblewrap `--unshare-all --ro-bind / / --proc /proc --dev /dev`",
                         {"bwrap", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc",
                          "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true", NULL}},
                };
                for (size_t k = 0; k < ELEMENTSOF(cmds); k++) {
                        fprintf(stderr, "%s\n", cmds[k].name);
                        n = time_cmd(cmds[k].argv, anchor_runs, v);
                        if (n)
                                printf("| %s | %.2f | %.2f | %.2f |\n", cmds[k].name,
                                       pct(v, n, 0.5), pct(v, n, 0.99), pct(v, n, 0.5) / floor50);
                        else
                                printf("| %s | failed | | |\n", cmds[k].name);
                }
        }
        {
                static const char *const rts[] = {"crun", "runc"};
                /* [runtime][0: the config.json as is, 1: with the profile written out] */
                double p50[2][2] = {{0, 0}, {0, 0}};

                for (int k = 0; k < 2; k++)
                        for (int w = 0; w < 2; w++) {
                                fprintf(stderr, "%s%s\n", rts[k], w ? " with seccomp" : "");
                                n = time_runtime(rts[k], w ? bundle_sc : bundle, anchor_runs, v);
                                if (!n) {
                                        printf("| `%s run`%s | failed (see stderr) | | |\n", rts[k],
                                               w ? " with seccomp" : "");
                                        continue;
                                }
                                p50[k][w] = pct(v, n, 0.5);
                                printf("| `%s run` of the same config.json%s | %.2f | %.2f | %.2f "
                                       "|\n",
                                       rts[k],
                                       w ? ", sandboxd's default seccomp profile written out "
                                           "into it (the same work)"
                                         : " as is (no linux.seccomp: no filter for them, the "
                                           "built-in profile for sandboxd)",
                                       p50[k][w], pct(v, n, 0.99), p50[k][w] / floor50);
                        }
                printf("\nsandboxd's whole lifecycle (p50) is **%.2fx** the floor's "
                       "spawn → exit (target ≤ 1.5x)",
                       sbx50 / floor50);
                if (p50[0][1] > 0)
                        printf(", **%.1fx** faster than `crun run` with the same seccomp profile "
                               "(target ≥ 4x; %.1fx against crun without a filter)",
                               p50[0][1] / sbx50, p50[0][0] / sbx50);
                if (p50[1][1] > 0)
                        printf(" and %.1fx faster than `runc run` (%.1fx without)",
                               p50[1][1] / sbx50, p50[1][0] / sbx50);
                printf(".\n");
        }
        print_bound(floor50, sbx50, alone50, bound50);

        /* 3. Concurrency. */
        fprintf(stderr, "concurrent clients\n");
        printf("\n| concurrent clients (each: full lifecycles on its own connection) | "
               "sandboxes/s |\n| --- | ---: |\n");
        printf("| 1 | %.0f |\n", 1e3 / sbx50);
        r = sandboxes_per_s(2, runs / 2, true_spec);
        printf("| 2 | %.0f |\n", r);
        r = sandboxes_per_s(8, runs / 8 + 1, true_spec);
        printf("| 8 | %.0f |\n", r);

        /* 4. Exit → Wait latency. */
        report_wait_latency(runs);

        /* 5. Status throughput and memory with 1,000 idle sandboxes. */
        {
                size_t idle = 1000, started = 0;
                uint64_t rss0 = daemon_rss_kb(), rss1, pss = 0;
                pid_t *inits = calloc(idle, sizeof(*inits));
                char t[256], id[32];

                fprintf(stderr, "1000 idle sandboxes\n");
                for (size_t i = 0; i < idle; i++) {
                        json_t *rec, *res;

                        snprintf(id, sizeof(id), "idle%zu", i);
                        rec = record(id, idle_spec);
                        call0(&c, "POST", "/v1/sandboxes", rec, 201);
                        res = call(&c, "POST", target(t, sizeof(t), id, "start"), NULL, 200);
                        if (inits)
                                inits[started] =
                                        (pid_t)json_integer_value(json_object_get(res, "pid"));
                        json_decref(res);
                        json_decref(rec);
                        started++;
                }
                rss1 = daemon_rss_kb();
                /* Once all run: a Start answers when the child announces its exec of
                 * sandbox-init, so right after it the init may still be mid-exec. */
                for (size_t i = 0; inits && i < started; i++)
                        pss += pss_kb(inits[i]);
                free(inits);
                fprintf(stderr, "status throughput\n");
                r = status_per_s(16, 3.0);
                printf("\nStatus requests per second over 16 keep-alive connections (C client "
                       "threads on the same %ld-CPU host, 3 s): **%.0f** (target 30,000).\n",
                       sysconf(_SC_NPROCESSORS_ONLN), r);
                printf("\n| memory | value | target |\n| --- | ---: | ---: |\n");
                printf("| daemon RSS, no sandbox running | %.1f MiB | |\n", (double)rss0 / 1024);
                printf("| daemon RSS, %zu idle sandboxes running | %.1f MiB | < 64 MiB |\n",
                       started, (double)rss1 / 1024);
                printf("| daemon RSS per sandbox | %.1f KiB | |\n",
                       (double)(rss1 - rss0) / (double)started);
                printf("| sandbox-init PSS per sandbox (its own memory; the sealed memfd binary "
                       "is shared) | %.1f KiB | |\n",
                       (double)pss / (double)started);
                printf("| **per sandbox, daemon + init** | **%.1f KiB** | < 256 KiB |\n",
                       (double)(rss1 - rss0 + pss) / (double)started);
                printf("\nNot counted: kernel memory of each sandbox's namespaces, mounts and "
                       "cgroup (this hybrid host has no memory controller to read it from).\n");
                fprintf(stderr, "shutting the idle sandboxes down\n");
                for (size_t i = 0; i < started; i++) {
                        snprintf(id, sizeof(id), "idle%zu", i);
                        call0(&c, "POST", target(t, sizeof(t), id, "shutdown"), NULL, 200);
                        call0(&c, "DELETE", target(t, sizeof(t), id, NULL), NULL, 204);
                }
        }
        http_close(&c);
        stop_daemon();
        iso_config_free(true_config);
        json_decref(true_spec);
        json_decref(idle_spec);
        json_decref(default_spec);
        return 0;
}
