/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * isolation/: properties observed from inside real sandboxes (root).  The
 * sandbox's root is the host's, read-only, so isolation-probe (built next to
 * this test) runs inside and prints what it sees.
 */
#include "isolation/isolation-internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE ISO_TEST_PROBE

static void need_root(void)
{
        if (geteuid() != 0)
                cr_skip_test("needs root (namespaces, mounts)");
}

/* The default spec puts fresh tmpfs on /tmp and /run.  When the build directory (and so
 * the probe) lives below one of them, as in a checkout under /tmp, bind it back in,
 * read-only, at the same path. */
static bool probe_is_shadowed(void)
{
        return strncmp(PROBE, "/tmp/", 5) == 0 || strncmp(PROBE, "/run/", 5) == 0;
}

static void add_probe_mount(json_t *spec)
{
        char dir[] = PROBE;
        json_t *mounts = json_object_get(spec, "mounts");

        if (!probe_is_shadowed() || !json_is_array(mounts))
                return;
        *strrchr(dir, '/') = '\0';
        json_array_append_new(mounts,
                              json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", dir, "type",
                                        "bind", "source", dir, "options", "rbind", "ro"));
}

/* A sandbox with a user namespace reaches the probe as its mapped root (host uid 100000):
 * every directory above the probe must let others search it.  A checkout in a private
 * directory (`mktemp -d` makes them 0700) does not. */
static void need_probe_reachable_from_userns(void)
{
        char dir[] = PROBE;
        struct stat st;

        for (char *slash = strrchr(dir, '/'); slash && slash > dir; slash = strrchr(dir, '/')) {
                *slash = '\0';
                if (stat(dir, &st) == 0 && !(st.st_mode & S_IXOTH))
                        cr_skip_test("%s is mode %03o: a user namespace's root (host uid 100000) "
                                     "cannot reach the probe below it",
                                     dir, (unsigned)(st.st_mode & 0777));
        }
}

/* Merges patch (JSON text) into the default spec: "linux" and "process" one level deep. */
static json_t *spec_with(const char *patch_text)
{
        json_t *spec = iso_default_spec_json(), *patch, *v;
        json_error_t e;
        const char *k;

        cr_assert_not_null(spec);
        add_probe_mount(spec);
        if (!patch_text)
                return spec;
        patch = json_loads(patch_text, 0, &e);
        cr_assert_not_null(patch, "bad patch: %s", e.text);
        json_object_foreach (patch, k, v) {
                json_t *old = json_object_get(spec, k);
                if ((strcmp(k, "linux") == 0 || strcmp(k, "process") == 0) && json_is_object(old))
                        json_object_update(old, v);
                else
                        json_object_set(spec, k, v);
        }
        json_decref(patch);
        return spec;
}

static void expect_spawn_error(json_t *spec, char *const *args, int code, const char *message);

static int shell_status(const siginfo_t *si)
{
        return si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
}

/* opts.netns_fd of the spawns of run() (-1: as the spec says). */
static int run_netns_fd = -1;

/* Spawns spec (consumed) with args, collects stdout into out; returns the spawn result
 * and sets *status to the sandbox's exit status (shell form). */
static int run(json_t *spec, char *const *args, char *out, size_t size, int *status,
               struct sbx_error *err)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        struct iso_process p;
        siginfo_t si = {};
        int pfd[2], r;
        size_t n = 0;
        ssize_t k;

        r = iso_config_parse_json(spec, &c, err);
        json_decref(spec);
        if (r < 0)
                return r;
        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        o.stdout_fd = pfd[1];
        o.args = args;
        o.netns_fd = run_netns_fd;
        r = iso_spawn(c, &o, &p, err);
        close(pfd[1]);
        if (r < 0) {
                close(pfd[0]);
                return r;
        }
        while (n + 1 < size && (k = read(pfd[0], out + n, size - 1 - n)) > 0)
                n += (size_t)k;
        out[n] = '\0';
        close(pfd[0]);
        cr_assert_eq(waitid(P_PIDFD, p.pidfd, &si, WEXITED), 0);
        *status = shell_status(&si);
        iso_process_release(&p);
        return 0;
}

static void probe(const char *patch, const char *cmd, const char *arg, char *out, size_t size,
                  int *status)
{
        char *args[] = {PROBE, (char *)cmd, (char *)arg, NULL};
        struct sbx_error err = {};

        cr_assert_eq(run(spec_with(patch), args, out, size, status, &err), 0, "%s", err.message);
}

static void probe_ok(const char *patch, const char *cmd, const char *arg, char *out, size_t size)
{
        int status = -1;

        probe(patch, cmd, arg, out, size, &status);
        cr_assert_eq(status, 0, "probe %s exited %d: %s", cmd, status, out);
}

Test(isolation_spawn, init_is_pid_1_and_process_is_pid_2)
{
        char out[256];

        need_root();
        probe_ok(NULL, "pid", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "2 1\n");
}

Test(isolation_spawn, hostname)
{
        char out[256];

        need_root();
        probe_ok("{\"hostname\": \"box-7\"}", "hostname", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "box-7\n");
}

Test(isolation_spawn, mount_table_is_exactly_the_spec)
{
        char out[4096];

        need_root();
        probe_ok(NULL, "mounts", NULL, out, sizeof(out));
        /* masked files are bind mounts of /dev/null (devtmpfs); masked directories are
         * read-only empty tmpfs; absent masked paths (/proc/kcore on some kernels) are
         * skipped, so only check the lines that must be there, in order. */
        const char *expected[] = {
                "/ ext4 ro\n",         "/proc proc rw\n",
                "/dev tmpfs rw\n",     "/dev/pts devpts rw\n",
                "/dev/shm tmpfs rw\n", "/dev/mqueue mqueue rw\n",
                "/sys sysfs ro\n",     "/sys/fs/cgroup cgroup2 ro\n",
                "/tmp tmpfs rw\n",     "/run tmpfs rw\n",
        };
        const char *p = out;
        struct stat st;

        if (stat("/", &st) == 0 && strstr(out, "/ ext4") == NULL)
                cr_skip_test("host root is not ext4; mount table check assumes it");
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
                cr_assert(strncmp(p, expected[i], strlen(expected[i])) == 0,
                          "line %zu: expected %s in:\n%s", i, expected[i], out);
                p += strlen(expected[i]);
        }
        /* The rest: masked and read-only paths only. */
        for (char *line = (char *)p; *line;) {
                char *nl = strchr(line, '\n');
                cr_assert_not_null(nl);
                bool probe_dir = probe_is_shadowed() &&
                                 strncmp(line, PROBE, strrchr(PROBE, '/') - PROBE) == 0;
                cr_expect(strncmp(line, "/proc/", 6) == 0 || strncmp(line, "/sys/", 5) == 0 ||
                                  probe_dir,
                          "unexpected mount: %.*s", (int)(nl - line), line);
                line = nl + 1;
        }
        cr_expect_not_null(strstr(out, "/proc/sys proc ro\n"));
        cr_expect_not_null(strstr(out, "/sys/firmware tmpfs ro\n"));
}

Test(isolation_spawn, masked_paths_are_masked)
{
        char out[256];

        need_root();
        if (access("/proc/kcore", F_OK) == 0) {
                probe_ok(NULL, "read", "/proc/kcore", out, sizeof(out));
                cr_expect_str_eq(out, "ok 0\n");
        }
        probe_ok(NULL, "read", "/proc/keys", out, sizeof(out));
        cr_expect_str_eq(out, "ok 0\n");
        probe_ok(NULL, "write", "/proc/sys/kernel/hostname", out, sizeof(out));
        cr_expect_str_eq(out, "EROFS\n");
        probe_ok(NULL, "write", "/etc/iso-test-must-not-exist", out, sizeof(out));
        cr_expect_str_eq(out, "EROFS\n");
}

Test(isolation_spawn, host_processes_are_invisible)
{
        char out[256];

        need_root();
        probe_ok(NULL, "procs", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "2\n"); /* sandbox-init and the probe */
}

Test(isolation_spawn, loopback_only_and_up)
{
        char out[256];

        need_root();
        probe_ok(NULL, "ifaces", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "lo UP 127.0.0.1\n");
}

Test(isolation_spawn, default_capabilities_nnp_and_seccomp)
{
        char out[512];

        need_root();
        probe_ok(NULL, "caps", NULL, out, sizeof(out));
        /* Docker's 14 default capabilities. */
        cr_expect_str_eq(out, "CapInh:\t0000000000000000\n"
                              "CapPrm:\t00000000a80425fb\n"
                              "CapEff:\t00000000a80425fb\n"
                              "CapBnd:\t00000000a80425fb\n"
                              "CapAmb:\t0000000000000000\n"
                              "NoNewPrivs:\t1\n"
                              "Seccomp:\t2\n");
}

Test(isolation_spawn, capability_sets_equal_the_spec)
{
        char out[512];

        need_root();
        /* CAP_CHOWN 0, CAP_KILL 5, CAP_NET_BIND_SERVICE 10; root keeps bounding ∪ inheritable
         * as permitted across exec, so the spec's sets agree with that. */
        probe_ok("{\"process\": {\"noNewPrivileges\": false, \"capabilities\": {"
                 "\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"], "
                 "\"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"], "
                 "\"effective\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"], "
                 "\"inheritable\": [\"CAP_KILL\"], \"ambient\": [\"CAP_KILL\"]}}}",
                 "caps", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "CapInh:\t0000000000000020\n"
                              "CapPrm:\t0000000000000421\n"
                              "CapEff:\t0000000000000421\n"
                              "CapBnd:\t0000000000000421\n"
                              "CapAmb:\t0000000000000020\n"
                              "NoNewPrivs:\t0\n"
                              "Seccomp:\t2\n");
}

Test(isolation_spawn, non_root_user_keeps_only_ambient)
{
        char out[512];

        need_root();
        probe_ok("{\"process\": {\"user\": {\"uid\": 1000, \"gid\": 1000}, \"capabilities\": {"
                 "\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"], \"permitted\": [\"CAP_KILL\"], "
                 "\"effective\": [\"CAP_KILL\"], \"inheritable\": [\"CAP_KILL\"], "
                 "\"ambient\": [\"CAP_KILL\"]}}}",
                 "caps", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "CapInh:\t0000000000000020\n"
                              "CapPrm:\t0000000000000020\n"
                              "CapEff:\t0000000000000020\n"
                              "CapBnd:\t0000000000000021\n"
                              "CapAmb:\t0000000000000020\n"
                              "NoNewPrivs:\t1\n"
                              "Seccomp:\t2\n");
}

Test(isolation_spawn, default_seccomp_denies_with_eperm)
{
        char out[256];

        need_root();
        probe_ok(NULL, "syscall-unshare", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "EPERM\n");
}

Test(isolation_spawn, seccomp_kill_action_kills)
{
        char out[256];
        int status = -1;

        need_root();
        probe("{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
              "\"syscalls\": [{\"names\": [\"getppid\"], \"action\": "
              "\"SCMP_ACT_KILL_PROCESS\"}]}}}",
              "syscall-getppid", NULL, out, sizeof(out), &status);
        cr_expect_eq(status, 128 + SIGSYS);
        cr_expect_str_eq(out, "");
        /* The spec's errno action, with errnoRet. */
        probe("{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
              "\"syscalls\": [{\"names\": [\"unshare\"], \"action\": \"SCMP_ACT_ERRNO\", "
              "\"errnoRet\": 95}]}}}",
              "syscall-unshare", NULL, out, sizeof(out), &status);
        cr_expect_eq(status, 0);
        cr_expect_str_eq(out, "EOPNOTSUPP\n");
}

Test(isolation_spawn, rlimits)
{
        char out[256];

        need_root();
        probe_ok("{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 456, "
                 "\"soft\": 123}]}}",
                 "rlimit", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "123 456\n");
}

Test(isolation_spawn, exit_codes_and_signals_propagate)
{
        char out[64];
        int status = -1;

        need_root();
        probe(NULL, "exit", "3", out, sizeof(out), &status);
        cr_expect_eq(status, 3);
        probe(NULL, "kill-self", NULL, out, sizeof(out), &status);
        cr_expect_eq(status, 137);
}

Test(isolation_spawn, orphans_are_reaped)
{
        char out[64];

        need_root();
        probe_ok(NULL, "orphan", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "zombies 0\n");
}

Test(isolation_spawn, proc_1_exe_is_not_writable)
{
        char out[64];

        need_root();
        probe_ok(NULL, "exe-write", NULL, out, sizeof(out));
        cr_expect_neq(strcmp(out, "opened\n"), 0, "%s", out);
        /* Even with CAP_SYS_PTRACE (which lifts the non-dumpable barrier) the sealed,
         * executing memfd refuses writers. */
        probe_ok("{\"process\": {\"capabilities\": {\"bounding\": [\"CAP_SYS_PTRACE\", "
                 "\"CAP_DAC_OVERRIDE\"], \"permitted\": [\"CAP_SYS_PTRACE\", "
                 "\"CAP_DAC_OVERRIDE\"], \"effective\": [\"CAP_SYS_PTRACE\", "
                 "\"CAP_DAC_OVERRIDE\"]}}}",
                 "exe-write", NULL, out, sizeof(out));
        cr_expect_neq(strcmp(out, "opened\n"), 0, "%s", out);
}

static void on_signal(int sig)
{
        (void)sig;
}

/* The caller's ignored and handled signals and its mask do not reach the process (in
 * both clone modes). */
Test(isolation_spawn, signal_dispositions_and_mask_are_reset)
{
        sigset_t block;
        char out[256];

        need_root();
        signal(SIGPIPE, SIG_IGN);
        signal(SIGUSR1, SIG_IGN);
        signal(SIGUSR2, on_signal);
        /* Signal 32, glibc's own (its sigaction() refuses it), ignored as some callers'
         * environments have it: the sandbox must not inherit that either. */
        {
                static const uint64_t ign[4] = {(uint64_t)(uintptr_t)SIG_IGN};

                cr_assert_eq(syscall(SYS_rt_sigaction, 32, ign, NULL, sizeof(uint64_t)), 0);
        }
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, NULL);
        for (int mode = 0; mode < 2; mode++) {
                iso_clone_mode_max = mode ? ISO_CLONE_FORK : ISO_CLONE_VM;
                probe_ok(NULL, "sigs", NULL, out, sizeof(out));
                cr_expect_str_eq(out,
                                 "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
                                 "SigCgt:\t0000000000000000\n",
                                 "mode %d: the process saw\n%s", mode, out);
        }
        iso_clone_mode_max = ISO_CLONE_VM;
}

Test(isolation_spawn, only_fds_0_to_2_inside)
{
        char out[256];
        int leak = open("/dev/null", O_RDONLY); /* not close-on-exec */

        need_root();
        cr_assert_geq(leak, 0);
        probe_ok(NULL, "fds", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "0\n1\n2\n");
        close(leak);
}

static void spawn_paused(const char *patch, int cgroup_fd, struct iso_process *p)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        struct sbx_error err = {};
        json_t *spec = spec_with(patch);

        json_object_del(json_object_get(spec, "process"), "args");
        cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
        json_decref(spec);
        cr_assert_not(iso_config_has_process(c));
        o.cgroup_fd = cgroup_fd;
        cr_assert_eq(iso_spawn(c, &o, p, &err), 0, "%s", err.message);
}

static int wait_status(struct iso_process *p)
{
        siginfo_t si = {};

        cr_assert_eq(waitid(P_PIDFD, p->pidfd, &si, WEXITED), 0);
        iso_process_release(p);
        return shell_status(&si);
}

/* Field 22 of /proc/PID/stat, the start time in clock ticks after boot. */
static uint64_t stat_start_time(pid_t pid)
{
        char path[64], buf[1024], *p;
        unsigned long long v = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        f = fopen(path, "re");
        cr_assert(f, "%s: %s", path, strerror(errno));
        cr_assert(fgets(buf, sizeof(buf), f));
        fclose(f);
        p = strrchr(buf, ')'); /* fields 3 on follow the command's closing parenthesis */
        cr_assert(p);
        for (int field = 3; field <= 22; field++) {
                p = strchr(p + 1, ' ');
                cr_assert(p);
        }
        cr_assert_eq(sscanf(p + 1, "%llu", &v), 1);
        return v;
}

/* The start time comes with the process in vm mode when the clone fell within one clock
 * tick (most spawns: the clone and its namespaces take a fraction of a 10 ms tick), and is
 * then the one /proc/PID/stat shows; in fork mode it is left unknown. */
Test(isolation_spawn, start_time_comes_with_the_process)
{
        int known = 0;

        need_root();
        if (!iso_clone_vm_supported())
                cr_skip_test("vm clone mode is not built in here (not x86-64, or ASan)");
        for (int mode = 0; mode < 2; mode++)
                for (int i = 0; i < 20; i++) {
                        struct iso_process p;

                        iso_clone_mode_max = mode ? ISO_CLONE_FORK : ISO_CLONE_VM;
                        spawn_paused(NULL, -1, &p);
                        if (mode == 1)
                                cr_expect_eq(p.start_time, 0, "fork mode: no start time");
                        else if (p.start_time) {
                                known++;
                                cr_expect_eq(p.start_time, stat_start_time(p.pid),
                                             "the start time /proc/%d/stat shows", (int)p.pid);
                        }
                        cr_assert_eq(syscall(SYS_pidfd_send_signal, p.pidfd, SIGTERM, NULL, 0), 0);
                        cr_expect_eq(wait_status(&p), 0);
                }
        iso_clone_mode_max = ISO_CLONE_VM;
        /* 8 to 10 of 10 here; none would mean it never comes. */
        cr_expect_gt(known, 0, "vm mode: a start time in none of 20 spawns");
}

Test(isolation_spawn, without_process_init_pauses_until_sigterm)
{
        struct iso_process p;
        struct pollfd pfd;

        need_root();
        spawn_paused(NULL, -1, &p);
        pfd = (struct pollfd){.fd = p.pidfd, .events = POLLIN};
        cr_expect_eq(poll(&pfd, 1, 50), 0, "sandbox-init exited while it should pause");
        cr_assert_eq(syscall(SYS_pidfd_send_signal, p.pidfd, SIGTERM, NULL, 0), 0);
        cr_expect_eq(wait_status(&p), 0);
}

Test(isolation_spawn, sigterm_to_init_is_forwarded)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        char *args[] = {"sleep", "100", NULL};
        struct sbx_error err = {};
        struct iso_process p;
        json_t *spec = spec_with(NULL);

        need_root();
        cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
        json_decref(spec);
        o.args = args;
        cr_assert_eq(iso_spawn(c, &o, &p, &err), 0, "%s", err.message);
        cr_assert_eq(syscall(SYS_pidfd_send_signal, p.pidfd, SIGTERM, NULL, 0), 0);
        cr_expect_eq(wait_status(&p), 128 + SIGTERM);
}

Test(isolation_spawn, namespaces_with_a_path_are_joined)
{
        struct iso_process a;
        char patch[512], out[256];

        need_root();
        spawn_paused("{\"hostname\": \"first\"}", -1, &a);
        snprintf(patch, sizeof(patch),
                 "{\"hostname\": \"\", \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, "
                 "{\"type\": \"pid\", \"path\": \"/proc/%d/ns/pid\"}, {\"type\": \"uts\", "
                 "\"path\": \"/proc/%d/ns/uts\"}, {\"type\": \"network\", \"path\": "
                 "\"/proc/%d/ns/net\"}]}}",
                 (int)a.pid, (int)a.pid, (int)a.pid);
        /* The second sandbox's init is pid 2 in the first one's pid namespace. */
        probe_ok(patch, "pid", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "3 2\n");
        probe_ok(patch, "hostname", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "first\n");
        cr_assert_eq(syscall(SYS_pidfd_send_signal, a.pidfd, SIGTERM, NULL, 0), 0);
        cr_expect_eq(wait_status(&a), 0);
}

/* A sleeping child of the test holding new namespaces (unshare(flags)); with a user
 * namespace, its maps (0 → 100000, 65536 ids) are written from here. */
static pid_t hold_namespaces(int flags)
{
        int ready[2];
        char c = 0;
        pid_t pid;

        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || unshare(flags) < 0)
                        _exit(1);
                (void)!write(ready[1], &c, 1);
                for (;;)
                        pause();
        }
        close(ready[1]);
        cr_assert_eq(read(ready[0], &c, 1), 1, "the namespace holder failed to unshare");
        close(ready[0]);
        if (flags & CLONE_NEWUSER) {
                static const char map[] = "0 100000 65536\n";
                char path[64];
                for (int i = 0; i < 2; i++) {
                        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid,
                                 i ? "gid_map" : "uid_map");
                        int fd = open(path, O_WRONLY | O_CLOEXEC);
                        cr_assert_geq(fd, 0);
                        cr_assert_eq(write(fd, map, strlen(map)), (ssize_t)strlen(map));
                        close(fd);
                }
        }
        return pid;
}

static void release_holder(pid_t pid)
{
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

/* "user:[N]\nmnt:[N]\nnet:[N]\n" of pid, as isolation-probe ns prints its own. */
static void ns_links(pid_t pid, char *out, size_t size)
{
        static const char *const names[] = {"user", "mnt", "net"};
        size_t n = 0;

        for (size_t i = 0; i < 3; i++) {
                char path[64], link[64] = "";
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, names[i]);
                cr_assert_gt(readlink(path, link, sizeof(link) - 1), 0);
                n += (size_t)snprintf(out + n, size - n, "%s\n", link);
        }
}

/* One sandbox joining the namespaces of a fresh holder (a joined mount namespace is
 * where the root is set up: pivot_root changes it for its other processes too, so
 * each sandbox gets its own).  patch_fmt has up to three %d, each the holder's pid.  *want gets the
 * holder's ns links. */
static void joined_probe(int holder_flags, const char *patch_fmt, const char *cmd, const char *arg,
                         char *want, char *out, size_t size)
{
        char patch[1024];
        pid_t h = hold_namespaces(holder_flags);

        ns_links(h, want, 256);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(patch, sizeof(patch), patch_fmt, (int)h, (int)h, (int)h);
#pragma GCC diagnostic pop
        probe_ok(patch, cmd, arg, out, size);
        release_holder(h);
}

#define NEW_NS_EXCEPT_NET_MNT_USER                                                      \
        "{\"hostname\": \"joined\", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, " \
        "{\"type\": \"uts\"}, {\"type\": \"ipc\"}, {\"type\": \"cgroup\"}, "

Test(isolation_spawn, joins_network_and_mount_namespaces_by_path)
{
        static const char fmt[] = NEW_NS_EXCEPT_NET_MNT_USER
                "{\"type\": \"mount\", \"path\": \"/proc/%d/ns/mnt\"}, "
                "{\"type\": \"network\", \"path\": \"/proc/%d/ns/net\"}]}}";
        char want[256], out[256];

        need_root();
        /* Both ways of making the child (vm mode is the default where it is built in). */
        for (int mode = 0; mode < 2; mode++) {
                iso_clone_mode_max = mode ? ISO_CLONE_FORK : ISO_CLONE_VM;
                joined_probe(CLONE_NEWNET | CLONE_NEWNS, fmt, "ns", NULL, want, out, sizeof(out));
                cr_expect_str_eq(out, want, "mode %d", mode);
                /* The root was set up inside the joined mount namespace. */
                joined_probe(CLONE_NEWNET | CLONE_NEWNS, fmt, "pid", NULL, want, out, sizeof(out));
                cr_expect_str_eq(out, "2 1\n", "mode %d", mode);
        }
        iso_clone_mode_max = ISO_CLONE_VM;
}

Test(isolation_spawn, joins_a_user_namespace_by_path)
{
        /* The holder's network and mount namespaces belong to its user namespace: joined
         * after it.  The sandbox's new namespaces are created inside it; no maps are
         * written (they are the holder's: 0 → 100000). */
        static const char all[] = NEW_NS_EXCEPT_NET_MNT_USER
                "{\"type\": \"mount\", \"path\": \"/proc/%d/ns/mnt\"}, "
                "{\"type\": \"network\", \"path\": \"/proc/%d/ns/net\"}, "
                "{\"type\": \"user\", \"path\": \"/proc/%d/ns/user\"}]}}";
        static const char user_only[] = NEW_NS_EXCEPT_NET_MNT_USER
                "{\"type\": \"mount\"}, {\"type\": \"network\"}, "
                "{\"type\": \"user\", \"path\": \"/proc/%d/ns/user\"}]}}";
        const int flags = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS;
        char want[256], out[256];

        need_root();
        need_probe_reachable_from_userns();
        joined_probe(flags, all, "ns", NULL, want, out, sizeof(out));
        cr_expect_str_eq(out, want);
        joined_probe(flags, all, "pid", NULL, want, out, sizeof(out));
        cr_expect_str_eq(out, "2 1\n");
        joined_probe(flags, all, "cat", "/proc/self/uid_map", want, out, sizeof(out));
        cr_expect_str_eq(out, "         0     100000      65536\n");
        joined_probe(flags, all, "hostname", NULL, want, out, sizeof(out));
        cr_expect_str_eq(out, "joined\n");

        /* Only the user namespace joined: everything else new, inside it. */
        joined_probe(CLONE_NEWUSER, user_only, "ns", NULL, want, out, sizeof(out));
        cr_expect(strncmp(out, want, strcspn(want, "\n") + 1) == 0, "%s vs %s", out, want);
        joined_probe(CLONE_NEWUSER, user_only, "ifaces", NULL, want, out, sizeof(out));
        cr_expect_str_eq(out, "lo UP 127.0.0.1\n");
}

Test(isolation_spawn_errors, joined_namespace_path_checked)
{
        char *args[] = {"/bin/true", NULL};

        need_root();
        expect_spawn_error(
                spec_with(
                        "{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"uts\"}, "
                        "{\"type\": \"network\", \"path\": \"/etc/hostname\"}]}}"),
                args, -EINVAL, "joining the network namespace /etc/hostname: not a namespace file");
        expect_spawn_error(
                spec_with(
                        "{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"uts\"}, "
                        "{\"type\": \"network\", \"path\": \"/proc/self/ns/uts\"}]}}"),
                args, -EINVAL,
                "joining the network namespace /proc/self/ns/uts: it is a uts namespace");
        expect_spawn_error(
                spec_with(
                        "{\"linux\": {\"namespaces\": [{\"type\": \"uts\"}, {\"type\": \"mount\", "
                        "\"path\": \"/nonexistent/ns\"}]}}"),
                args, -ENOENT,
                "joining the mount namespace /nonexistent/ns: No such file or "
                "directory");
}

Test(isolation_spawn, netns_bind_and_namespace_inodes)
{
        char dir[] = "/tmp/iso-test-netns-XXXXXX", path[64], nspath[64];
        struct iso_ns_inodes ino = {};
        struct sbx_error err = {};
        struct iso_process p;
        struct stat a, b;

        need_root();
        spawn_paused(NULL, -1, &p);
        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/netns", dir);
        cr_assert_eq(iso_netns_bind(&p, path, &err), 0, "%s", err.message);
        snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)p.pid);
        cr_assert_eq(stat(path, &a), 0);
        cr_assert_eq(stat(nspath, &b), 0);
        cr_expect_eq(a.st_ino, b.st_ino);
        cr_expect_eq(a.st_dev, b.st_dev);

        cr_assert_eq(iso_ns_inodes(p.pid, &ino), 0);
        cr_expect_eq(ino.net, (uint64_t)b.st_ino);
        cr_assert_eq(stat("/proc/self/ns/pid", &b), 0);
        cr_expect_neq(ino.pid, (uint64_t)b.st_ino); /* its own pid namespace */
        cr_expect_neq(ino.mnt, 0);

        cr_expect_eq(umount2(path, MNT_DETACH), 0);
        unlink(path);
        rmdir(dir);
        syscall(SYS_pidfd_send_signal, p.pidfd, SIGTERM, NULL, 0);
        cr_expect_eq(wait_status(&p), 0);
}

static uint64_t ino_of(const char *path, int fd)
{
        struct stat st;

        cr_assert_eq(fd >= 0 ? fstat(fd, &st) : stat(path, &st), 0, "%s: %m", path);
        return st.st_ino;
}

/* A network namespace made ahead (iso_netns_new(), what the daemon keeps one spare of)
 * stands in for the one the clone would create: the sandbox is in it, with lo up, and the
 * caller's thread is back in its own namespace. */
Test(isolation_spawn, prepared_netns_is_entered_with_lo_up)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        uint64_t own = ino_of("/proc/thread-self/ns/net", -1);
        struct sbx_error err = {};
        struct iso_process p;
        char out[256], path[64];
        json_t *spec;
        int fd;

        need_root();
        fd = iso_netns_new(&err);
        cr_assert_geq(fd, 0, "%s", err.message);
        cr_expect_eq(ino_of("/proc/thread-self/ns/net", -1), own, "the caller did not come back");
        cr_expect_neq(ino_of("netns fd", fd), own);

        run_netns_fd = fd;
        probe_ok(NULL, "ifaces", NULL, out, sizeof(out));
        run_netns_fd = -1;
        cr_expect_str_eq(out, "lo UP 127.0.0.1\n");

        spec = spec_with(NULL);
        json_object_del(json_object_get(spec, "process"), "args");
        cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
        json_decref(spec);
        cr_expect(iso_config_takes_netns_fd(c));
        o.netns_fd = fd;
        cr_assert_eq(iso_spawn(c, &o, &p, &err), 0, "%s", err.message);
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)p.pid);
        cr_expect_eq(ino_of(path, -1), ino_of("netns fd", fd));
        syscall(SYS_pidfd_send_signal, p.pidfd, SIGTERM, NULL, 0);
        cr_expect_eq(wait_status(&p), 0);
        close(fd);
}

/* A started_fd gets the token once the process runs (before sandbox-init's exec), with
 * the pid and pidfd already in place, in both clone modes; a seccomp profile that might
 * stop write(2) gets no announcement, and the spawn is the same. */
Test(isolation_spawn, start_is_announced_with_pid_and_pidfd)
{
        static const char *const patches[] = {
                NULL,
                "{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                "\"syscalls\": [{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ERRNO\"}]}}}",
        };

        need_root();
        for (int mode = 0; mode < 2; mode++)
                for (size_t i = 0; i < ELEMENTSOF(patches); i++) {
                        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
                        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
                        struct iso_process p, early = {.pid = -1, .pidfd = -1};
                        struct sbx_error err = {};
                        json_t *spec = spec_with(patches[i]);
                        uint64_t token = 0;
                        int pfd[2];

                        iso_clone_mode_max = mode ? ISO_CLONE_FORK : ISO_CLONE_VM;
                        json_array_clear(json_object_get(json_object_get(spec, "process"), "args"));
                        json_array_append_new(
                                json_object_get(json_object_get(spec, "process"), "args"),
                                json_string("/bin/true"));
                        cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
                        json_decref(spec);
                        cr_assert_eq(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
                        o.started_fd = pfd[1];
                        o.started_token = 0x5eed0000u + i;
                        o.started = &early;
                        cr_assert_eq(iso_spawn(c, &o, &p, &err), 0, "%s", err.message);
                        if (i == 0) {
                                cr_expect_eq(read(pfd[0], &token, sizeof(token)),
                                             (ssize_t)sizeof(token), "mode %d: announced", mode);
                                cr_expect_eq(token, o.started_token);
                                cr_expect_eq(early.pid, p.pid, "mode %d: the pid", mode);
                                cr_expect_eq(early.pidfd, p.pidfd, "mode %d: the pidfd", mode);
                                cr_expect_eq(early.start_time, p.start_time,
                                             "mode %d: the start time", mode);
                        } else {
                                cr_expect_eq(read(pfd[0], &token, sizeof(token)), -1,
                                             "mode %d: write may be filtered: no announcement",
                                             mode);
                        }
                        cr_expect_eq(wait_status(&p), 0, "mode %d, profile %zu", mode, i);
                        close(pfd[0]);
                        close(pfd[1]);
                }
        iso_clone_mode_max = ISO_CLONE_VM;
}

/* ...but not for a spec that has no new network namespace, or a user namespace (which
 * must own the network namespace): refused, nothing spawned. */
Test(isolation_spawn, prepared_netns_refused_where_it_cannot_stand_in)
{
        static const char *const patches[] = {
                "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, "
                "{\"type\": \"uts\"}]}}",
                "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, "
                "{\"type\": \"uts\"}, {\"type\": \"network\"}, {\"type\": \"user\"}], "
                "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}], "
                "\"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]}}",
        };
        struct sbx_error err = {};
        int fd;

        need_root();
        fd = iso_netns_new(&err);
        cr_assert_geq(fd, 0, "%s", err.message);
        for (size_t i = 0; i < 2; i++) {
                _cleanup_(iso_config_freep) struct iso_config *c = NULL;
                struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
                struct iso_process p = ISO_PROCESS_NULL;
                json_t *spec = spec_with(patches[i]);

                cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
                json_decref(spec);
                cr_expect_not(iso_config_takes_netns_fd(c));
                o.netns_fd = fd;
                cr_expect_eq(iso_spawn(c, &o, &p, &err), -EINVAL);
                cr_expect(strstr(err.message, "prepared network namespace"), "%s", err.message);
                cr_expect_eq(p.pid, 0);
        }
        close(fd);
}

struct par_spawner {
        const struct iso_config *c;
        char *args[2];
        bool want_ok;
        int right;       /* spawns that ended as they should */
        char wrong[512]; /* the first one that did not */
};

static void *par_spawner_main(void *arg)
{
        struct par_spawner *ps = arg;

        for (int i = 0; i < 15; i++) {
                struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
                struct sbx_error err = {};
                struct iso_process p;
                siginfo_t si = {};
                int r;

                o.args = ps->args;
                r = iso_spawn(ps->c, &o, &p, &err);
                if (r == 0) {
                        waitid(P_PIDFD, p.pidfd, &si, WEXITED);
                        iso_process_release(&p);
                }
                if (ps->want_ok ? r == 0 && shell_status(&si) == 0
                                : r < 0 && strstr(err.message, ps->args[0]))
                        ps->right++;
                else if (!ps->wrong[0])
                        snprintf(ps->wrong, sizeof(ps->wrong), "%s: r=%d status=%d: %s",
                                 ps->args[0], r, r == 0 ? shell_status(&si) : -1, err.message);
        }
        return NULL;
}

/* Spawns run on several threads at once (the daemon's spawner threads): each child reports
 * to its own thread, so every error names that spawn's program and no success is lost. */
Test(isolation_spawn, concurrent_spawns_keep_their_own_reports)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct par_spawner ps[3] = {
                {.args = {"/nonexistent-a", NULL}},
                {.args = {"/bin/true", NULL}, .want_ok = true},
                {.args = {"/nonexistent-c", NULL}},
        };
        struct sbx_error err = {};
        pthread_t t[3];

        need_root();
        cr_assert_eq(iso_config_parse_json(spec_with(NULL), &c, &err), 0, "%s", err.message);
        for (int i = 0; i < 3; i++) {
                ps[i].c = c;
                cr_assert_eq(pthread_create(&t[i], NULL, par_spawner_main, &ps[i]), 0);
        }
        for (int i = 0; i < 3; i++) {
                pthread_join(t[i], NULL);
                cr_expect_eq(ps[i].right, 15, "%s", ps[i].wrong);
        }
}

Test(isolation_spawn, user_namespace_maps_uid_0)
{
        struct iso_process p;
        char path[64], *status = NULL, *uid;
        size_t n = 0;
        FILE *f;

        need_root();
        need_probe_reachable_from_userns();
        spawn_paused(
                "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, "
                "{\"type\": \"uts\"}, {\"type\": \"ipc\"}, {\"type\": \"network\"}, "
                "{\"type\": \"cgroup\"}, {\"type\": \"user\"}], "
                "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}], "
                "\"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]}}",
                -1, &p);
        snprintf(path, sizeof(path), "/proc/%d/status", (int)p.pid);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        cr_assert_gt(getdelim(&status, &n, '\0', f), 0);
        fclose(f);
        uid = strstr(status, "\nUid:");
        cr_assert_not_null(uid);
        cr_expect(strncmp(uid, "\nUid:\t100000\t100000\t100000\t100000\n", 34) == 0, "%.40s", uid);
        free(status);
        cr_assert_eq(syscall(SYS_pidfd_send_signal, p.pidfd, SIGTERM, NULL, 0), 0);
        cr_expect_eq(wait_status(&p), 0);
}

Test(isolation_spawn, born_into_the_given_cgroup)
{
        char dir[128], path[160], *text = NULL, expect[160];
        struct iso_process p;
        size_t n = 0;
        FILE *f;
        int fd;

        need_root();
        /* Hybrid hosts (these machines) have cgroup2 at /sys/fs/cgroup/unified, pure v2
         * hosts at /sys/fs/cgroup.  Only a child of our own is created, never the root's
         * subtree_control touched. */
        const char *base = access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0
                                   ? "/sys/fs/cgroup/unified"
                           : access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0 ? "/sys/fs/cgroup"
                                                                              : NULL;
        if (!base)
                cr_skip_test("no cgroup2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup");
        snprintf(dir, sizeof(dir), "%s/sbx-iso-test-%d", base, (int)getpid());
        cr_assert_eq(mkdir(dir, 0755), 0);
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        spawn_paused(NULL, fd, &p);
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)p.pid);
        f = fopen(path, "re");
        cr_assert_not_null(f);
        cr_assert_gt(getdelim(&text, &n, '\0', f), 0);
        fclose(f);
        snprintf(expect, sizeof(expect), "0::/sbx-iso-test-%d\n", (int)getpid());
        cr_expect_not_null(strstr(text, expect), "%s", text);
        free(text);
        syscall(SYS_pidfd_send_signal, p.pidfd, SIGKILL, NULL, 0);
        wait_status(&p);
        close(fd);
        cr_expect_eq(rmdir(dir), 0);
}

static void task_joins_the_sandbox(void)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        _cleanup_(iso_task_config_freep) struct iso_task_config *t = NULL;
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        struct iso_process init, task;
        struct sbx_error err = {};
        char out[256];
        int pfd[2];
        ssize_t k;
        json_t *spec = spec_with("{\"hostname\": \"tasky\"}"), *proc;

        need_root();
        json_object_del(json_object_get(spec, "process"), "args");
        cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
        json_decref(spec);
        cr_assert_eq(iso_spawn(c, NULL, &init, &err), 0, "%s", err.message);

        proc = json_pack("{s:[s,s]}", "args", PROBE, "hostname");
        cr_assert_eq(iso_task_config_parse(proc, c, &t, &err), 0, "%s", err.message);
        json_decref(proc);
        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        o.stdout_fd = pfd[1];
        cr_assert_eq(iso_spawn_task(&init, c, t, &o, &task, &err), 0, "%s", err.message);
        close(pfd[1]);
        k = read(pfd[0], out, sizeof(out) - 1);
        cr_assert_gt(k, 0);
        out[k] = '\0';
        cr_expect_str_eq(out, "tasky\n");
        cr_expect_eq(wait_status(&task), 0);
        close(pfd[0]);

        /* A task whose executable is missing fails with the message. */
        iso_task_config_free(TAKE_PTR(t));
        proc = json_pack("{s:[s]}", "args", "/nonexistent/task");
        cr_assert_eq(iso_task_config_parse(proc, c, &t, &err), 0, "%s", err.message);
        json_decref(proc);
        cr_expect_eq(iso_spawn_task(&init, c, t, NULL, &task, &err), -ENOENT);
        cr_expect_str_eq(err.message, "exec /nonexistent/task: No such file or directory");

        syscall(SYS_pidfd_send_signal, init.pidfd, SIGTERM, NULL, 0);
        cr_expect_eq(wait_status(&init), 0);
}

Test(isolation_spawn, task_joins_the_sandbox)
{
        task_joins_the_sandbox();
}

/* The same and the basic sandbox facts with the child made as a copy of the parent (the
 * mode of user namespaces, of other architectures and of ASan builds). */
Test(isolation_spawn, fork_mode)
{
        char out[256], *missing[] = {"/nonexistent/bin", NULL};

        need_root();
        iso_clone_mode_max = ISO_CLONE_FORK;
        task_joins_the_sandbox();
        probe_ok("{\"hostname\": \"forked\"}", "hostname", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "forked\n");
        probe_ok(NULL, "pid", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "2 1\n");
        probe_ok(NULL, "fds", NULL, out, sizeof(out));
        cr_expect_str_eq(out, "0\n1\n2\n");
        expect_spawn_error(spec_with(NULL), missing, -ENOENT,
                           "exec /nonexistent/bin: No such file or directory");
        expect_spawn_error(spec_with("{\"process\": {\"cwd\": \"/nonexistent-dir\"}}"), missing,
                           -ENOENT, "chdir to /nonexistent-dir: No such file or directory");
        iso_clone_mode_max = ISO_CLONE_VM;
}

Test(isolation_spawn, sysctl_and_oom_score_adj)
{
        char out[256];

        need_root();
        probe_ok("{\"linux\": {\"sysctl\": {\"net.ipv4.ip_unprivileged_port_start\": \"77\"}}}",
                 "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", out, sizeof(out));
        cr_expect_str_eq(out, "77\n");
        probe_ok("{\"process\": {\"oomScoreAdj\": 123}}", "cat", "/proc/self/oom_score_adj", out,
                 sizeof(out));
        cr_expect_str_eq(out, "123\n");
}

static int count_fds(void)
{
        int n = 0;
        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

Test(isolation_spawn, parent_keeps_no_fd_and_errors_reap_the_child)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        char *ok[] = {"/bin/true", NULL}, *bad[] = {"/nonexistent", NULL};
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        struct sbx_error err = {};
        struct iso_process p;
        json_t *spec = spec_with(NULL);
        int before;

        need_root();
        cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
        json_decref(spec);
        o.args = ok;
        cr_assert_eq(iso_spawn(c, &o, &p, &err), 0, "%s", err.message); /* makes the memfd */
        cr_expect_eq(wait_status(&p), 0);
        before = count_fds();
        cr_assert_eq(iso_spawn(c, &o, &p, &err), 0, "%s", err.message);
        cr_expect_eq(wait_status(&p), 0);
        o.args = bad;
        cr_assert_lt(iso_spawn(c, &o, &p, &err), 0);
        cr_expect_eq(count_fds(), before);
        /* The failed sandbox was reaped: no child is left to wait for. */
        cr_expect_eq(waitpid(-1, NULL, WNOHANG), -1);
        cr_expect_eq(errno, ECHILD);
}

/* A stock `crun spec` (terminal off, the host root): ambient capabilities without
 * inheritable, rlimits, the cgroup mount, resources for cgroups/. */
Test(isolation_spawn, stock_crun_spec_runs)
{
        static const char spec[] =
                "{\"ociVersion\": \"1.0.0\", \"process\": {\"terminal\": false, \"user\": "
                "{\"uid\": 0, \"gid\": 0}, \"args\": [\"" PROBE "\", \"caps\"], \"env\": "
                "[\"PATH=/usr/bin:/bin\", \"TERM=xterm\"], \"cwd\": \"/\", \"capabilities\": {"
                "\"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"], "
                "\"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"], "
                "\"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"], "
                "\"ambient\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]}, "
                "\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}], "
                "\"noNewPrivileges\": true}, \"root\": {\"path\": \"/\", \"readonly\": true}, "
                "\"hostname\": \"crun\", \"mounts\": ["
                "{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"}, "
                "{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", "
                "\"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]}, "
                "{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", "
                "\"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", "
                "\"mode=0620\", \"gid=5\"]}, "
                "{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", "
                "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", "
                "\"size=65536k\"]}, "
                "{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", "
                "\"options\": [\"nosuid\", \"noexec\", \"nodev\"]}, "
                "{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", "
                "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]}, "
                "{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": "
                "\"cgroup\", \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", "
                "\"ro\"]}], "
                "\"linux\": {\"resources\": {\"devices\": [{\"allow\": false, \"access\": "
                "\"rwm\"}]}, \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, "
                "{\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"cgroup\"}, "
                "{\"type\": \"mount\"}], \"maskedPaths\": [\"/proc/acpi\", \"/proc/kcore\", "
                "\"/proc/keys\", \"/sys/firmware\"], \"readonlyPaths\": [\"/proc/bus\", "
                "\"/proc/sys\"]}}";
        struct sbx_error err = {};
        json_error_t je;
        char out[512];
        int status = -1;
        json_t *j;

        need_root();
        j = json_loads(spec, 0, &je);
        cr_assert_not_null(j, "%s", je.text);
        cr_assert_eq(run(j, NULL, out, sizeof(out), &status, &err), 0, "%s", err.message);
        cr_expect_eq(status, 0);
        cr_expect_str_eq(out, "CapInh:\t0000000020000420\n"
                              "CapPrm:\t0000000020000420\n"
                              "CapEff:\t0000000020000420\n"
                              "CapBnd:\t0000000020000420\n"
                              "CapAmb:\t0000000020000420\n"
                              "NoNewPrivs:\t1\n"
                              "Seccomp:\t2\n");
}

/* ---- error cases, each with its exact message --------------------------------------------- */

static void expect_spawn_error(json_t *spec, char *const *args, int code, const char *message)
{
        struct sbx_error err = {};
        char out[64];
        int status;

        cr_expect_eq(run(spec, args, out, sizeof(out), &status, &err), code, "%s", err.message);
        cr_expect_str_eq(err.message, message);
}

Test(isolation_spawn_errors, missing_rootfs)
{
        char *args[] = {"/bin/true", NULL};

        need_root();
        expect_spawn_error(spec_with("{\"root\": {\"path\": \"/nonexistent-root\"}}"), args,
                           -ENOENT, "pivot_root into /nonexistent-root: No such file or directory");
}

Test(isolation_spawn_errors, file_as_rootfs)
{
        char *args[] = {"/bin/true", NULL};

        need_root();
        expect_spawn_error(spec_with("{\"root\": {\"path\": \"/etc/hostname\"}}"), args, -ENOTDIR,
                           "pivot_root into /etc/hostname: Not a directory");
}

Test(isolation_spawn_errors, bad_mount_source)
{
        char *args[] = {"/bin/true", NULL};
        json_t *spec = spec_with(NULL);

        need_root();
        json_array_append_new(json_object_get(spec, "mounts"),
                              json_pack("{s:s, s:s, s:s, s:[s]}", "destination", "/mnt", "type",
                                        "bind", "source", "/nonexistent-src", "options", "rbind"));
        expect_spawn_error(spec, args, -ENOENT,
                           "mount /nonexistent-src on /mnt: No such file or directory");
}

Test(isolation_spawn_errors, unknown_syscall_and_capability)
{
        char *args[] = {"/bin/true", NULL};

        need_root();
        expect_spawn_error(spec_with("{\"linux\": {\"seccomp\": {\"defaultAction\": "
                                     "\"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                                     "[\"frobnicate\"], \"action\": \"SCMP_ACT_ERRNO\"}]}}}"),
                           args, -EINVAL,
                           "linux.seccomp.syscalls[0].names[0]: unknown syscall \"frobnicate\"");
        expect_spawn_error(spec_with("{\"process\": {\"capabilities\": {\"bounding\": "
                                     "[\"CAP_FLY\"]}}}"),
                           args, -EINVAL,
                           "process.capabilities.bounding[0]: unknown capability \"CAP_FLY\"");
}

Test(isolation_spawn_errors, mount_destination_escaping_through_a_symlink)
{
        char root[] = "/tmp/iso-test-root-XXXXXX", link[64], *args[] = {"/bin/true", NULL};
        json_t *spec;

        need_root();
        cr_assert_not_null(mkdtemp(root));
        snprintf(link, sizeof(link), "%s/escape", root);
        cr_assert_eq(symlink("../../../../etc", link), 0);
        spec = spec_with("{\"mounts\": [{\"destination\": \"/escape/x\", \"type\": \"tmpfs\", "
                         "\"source\": \"tmpfs\"}], \"linux\": {\"maskedPaths\": [], "
                         "\"readonlyPaths\": []}}");
        json_object_set_new(spec, "root", json_pack("{s:s}", "path", root));
        expect_spawn_error(spec, args, -EINVAL,
                           "mounts[0].destination /escape/x: resolves outside the root");
        unlink(link);
        rmdir(root);
}

Test(isolation_spawn_errors, user_namespace_without_mappings)
{
        char *args[] = {"/bin/true", NULL};

        need_root();
        expect_spawn_error(
                spec_with(
                        "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, "
                        "{\"type\": \"uts\"}, {\"type\": \"user\"}]}}"),
                args, -EINVAL,
                "linux.uidMappings: a new user namespace needs uid and gid mappings");
}

Test(isolation_spawn_errors, executable_missing_in_the_rootfs)
{
        char *args[] = {"/nonexistent/bin", NULL}, *path_args[] = {"no-such-command", NULL};

        need_root();
        expect_spawn_error(spec_with(NULL), args, -ENOENT,
                           "exec /nonexistent/bin: No such file or directory");
        expect_spawn_error(spec_with(NULL), path_args, -ENOENT,
                           "exec no-such-command: No such file or directory");
}

Test(isolation_spawn_errors, bad_cwd)
{
        char *args[] = {"/bin/true", NULL};

        need_root();
        expect_spawn_error(spec_with("{\"process\": {\"cwd\": \"/nonexistent-dir\"}}"), args,
                           -ENOENT, "chdir to /nonexistent-dir: No such file or directory");
}
