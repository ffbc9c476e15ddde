/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/spawn: spawn → exit of /bin/true with the default spec (pid, mount, uts,
 * ipc, net and cgroup namespaces, pivot_root, default seccomp), against a raw
 * clone3 loop doing the same kernel work in the same run (the floor), with the
 * floor built up step by step to price each step.  Prints one markdown section
 * (scripts/run-bench.sh splices it into docs/benchmarks.md); progress to stderr.
 *
 *   spawn [RUNS]      (default 500; the floor and sandboxd runs are interleaved)
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/syscall.h" /* after <sys/wait.h>: P_PIDFD */

enum {
        F_NS = 1 << 0,      /* pid, mount, uts, ipc, cgroup namespaces */
        F_NET = 1 << 1,     /* + network namespace, lo up */
        F_PIVOT = 1 << 2,   /* + read-only root bind, pivot_root */
        F_MOUNTS = 1 << 3,  /* + the default spec's mounts, devices, masked/read-only paths */
        F_SECCOMP = 1 << 4, /* + capabilities, no_new_privs, the default seccomp filter */
};

static struct sock_filter *filter;
static int last_cap;
static size_t filter_len;

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static _Noreturn void die(const char *what)
{
        _exit(100 + (errno & 0x1f) + 0 * (what != NULL));
}

static int fdmount(const char *src, int rootfd, const char *dest, const char *type,
                   unsigned long flags, const char *data)
{
        char p[64];
        int fd = openat(rootfd, dest, O_PATH | O_CLOEXEC);

        if (fd < 0 && errno == ENOENT) {
                mkdirat(rootfd, dest, 0755);
                fd = openat(rootfd, dest, O_PATH | O_CLOEXEC);
        }
        if (fd < 0)
                return -1;
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        int r = mount(src, p, type, flags, data);
        close(fd);
        return r;
}

/* The floor's child: the same kernel work as iso_spawn()'s, written straight (no sync
 * socket, no sandbox-init: /bin/true is PID 1). */
static _Noreturn void floor_child(unsigned what)
{
        static char *const argv[] = {"/bin/true", NULL}, *const envp[] = {NULL};
        int rootfd = -1;

        if (what & F_NET) {
                struct ifreq r = {.ifr_name = "lo"};
                int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                r.ifr_flags = IFF_UP;
                if (s < 0 || ioctl(s, SIOCSIFFLAGS, &r) < 0)
                        die("lo");
                close(s);
        }
        if (what & F_PIVOT) {
                struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
                if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        die("private");
                rootfd = (int)syscall(SYS_open_tree, AT_FDCWD, "/",
                                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (rootfd < 0 ||
                    syscall(SYS_mount_setattr, rootfd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 ||
                    syscall(SYS_move_mount, rootfd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        die("root");
        }
        if (what & F_MOUNTS) {
                static const char *const nodes[] = {"dev/null",   "dev/zero",    "dev/full",
                                                    "dev/random", "dev/urandom", "dev/tty"};
                static const unsigned minors[] = {3, 5, 7, 8, 9, 0};
                if (fdmount("proc", rootfd, "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                            NULL) < 0 ||
                    fdmount("tmpfs", rootfd, "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                            "mode=755,size=65536k") < 0)
                        die("mount");
                for (int i = 0; i < 6; i++)
                        mknodat(rootfd, nodes[i], S_IFCHR | 0666,
                                makedev(i == 5 ? 5 : 1, minors[i]));
                if (symlinkat("/proc/self/fd", rootfd, "dev/fd") < 0)
                        die("symlink");
                if (symlinkat("/proc/self/fd/0", rootfd, "dev/stdin") < 0)
                        die("symlink");
                if (symlinkat("/proc/self/fd/1", rootfd, "dev/stdout") < 0)
                        die("symlink");
                if (symlinkat("/proc/self/fd/2", rootfd, "dev/stderr") < 0)
                        die("symlink");
                if (symlinkat("pts/ptmx", rootfd, "dev/ptmx") < 0)
                        die("symlink");
                if (fdmount("devpts", rootfd, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                            "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0 ||
                    fdmount("shm", rootfd, "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                            "mode=1777,size=65536k") < 0 ||
                    fdmount("mqueue", rootfd, "dev/mqueue", "mqueue",
                            MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0 ||
                    fdmount("sysfs", rootfd, "sys", "sysfs",
                            MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL) < 0 ||
                    fdmount("cgroup", rootfd, "sys/fs/cgroup", "cgroup2",
                            MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL) < 0 ||
                    fdmount("tmpfs", rootfd, "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") <
                            0 ||
                    fdmount("tmpfs", rootfd, "run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                            "mode=755") < 0)
                        die("mount");
                static const char *const masked_dirs[] = {"proc/acpi", "sys/firmware",
                                                          "sys/dev/block"};
                static const char *const masked_files[] = {"proc/keys", "proc/timer_list"};
                static const char *const ro[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys"};
                for (size_t i = 0; i < 3; i++)
                        fdmount("tmpfs", rootfd, masked_dirs[i], "tmpfs", MS_RDONLY, "size=0");
                for (size_t i = 0; i < 2; i++)
                        fdmount("/dev/null", rootfd, masked_files[i], NULL, MS_BIND, NULL);
                for (size_t i = 0; i < 4; i++) {
                        char p[64];
                        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
                        int fd = openat(rootfd, ro[i], O_PATH | O_CLOEXEC);
                        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
                        mount(p, p, NULL, MS_BIND | MS_REC, NULL);
                        close(fd);
                        fd = openat(rootfd, ro[i], O_PATH | O_CLOEXEC);
                        syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a,
                                sizeof(a));
                        close(fd);
                }
        }
        if (what & F_PIVOT) {
                if (fchdir(rootfd) < 0 || sbx_pivot_root(".", ".") < 0 ||
                    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                        die("pivot");
        }
        if (what & F_NS)
                if (sethostname("sandbox", 7) < 0)
                        die("hostname");
        if (what & F_SECCOMP) {
                /* Docker's capabilities: the bounding set, then capset. */
                struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
                struct __user_cap_data_struct data[2] = {{0xa80425fb, 0xa80425fb, 0}, {0, 0, 0}};
                for (int cap = 0; cap <= last_cap; cap++)
                        if (!(0xa80425fbULL & (1ULL << cap)))
                                prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
                if (syscall(SYS_capset, &hdr, data) < 0)
                        die("capset");
                struct sock_fprog prog = {.len = (unsigned short)filter_len, .filter = filter};
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                        die("seccomp");
        }
        execve(argv[0], argv, envp);
        die("exec");
}

static void floor_child_vm(void *arg)
{
        floor_child((unsigned)(uintptr_t)arg);
}

/* The floor's clone3: like iso_spawn()'s in the same mode (vm: CLONE_VM|CLONE_VFORK on
 * a stack in this frame, we resume when the child has executed; fork: a copy of us). */
static __attribute__((noinline)) pid_t floor_clone(struct clone_args *ca, unsigned what, bool vm)
{
        _Alignas(64) char stack[64 * 1024];
        pid_t pid;

        if (!vm) {
                pid = sbx_clone3(ca, sizeof(*ca));
                if (pid == 0)
                        floor_child(what);
                return pid;
        }
        ca->flags |= CLONE_VM | CLONE_VFORK;
        ca->stack = (uint64_t)(uintptr_t)stack;
        ca->stack_size = sizeof(stack);
        pid = iso_clone3_vm(ca, sizeof(*ca), floor_child_vm, (void *)(uintptr_t)what);
        __asm__ volatile("" : : "r"(stack) : "memory");
        if (pid < 0)
                errno = -pid;
        return pid < 0 ? -1 : pid;
}

static bool vm_default;

static uint64_t run_floor_mode(unsigned what, bool vm)
{
        uint64_t flags = CLONE_PIDFD;
        int pidfd = -1;
        siginfo_t si;
        uint64_t t0 = now_ns();

        if (what & F_NS)
                flags |= CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
        if (what & F_NET)
                flags |= CLONE_NEWNET;
        struct clone_args ca = {
                .flags = flags, .pidfd = (uint64_t)(uintptr_t)&pidfd, .exit_signal = SIGCHLD};
        pid_t pid = floor_clone(&ca, what, vm);
        if (pid < 0) {
                perror("clone3");
                exit(1);
        }
        waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED);
        close(pidfd);
        if (si.si_code != CLD_EXITED || si.si_status != 0) {
                fprintf(stderr, "floor variant %#x: child status %d\n", what, si.si_status);
                exit(1);
        }
        return now_ns() - t0;
}

static uint64_t run_floor(unsigned what)
{
        return run_floor_mode(what, vm_default);
}

/* netns_fd: -1, or a network namespace made ahead (iso_netns_new()) to enter. */
static uint64_t run_sandboxd_in(const struct iso_config *c, int netns_fd)
{
        static char *const args[] = {"/bin/true", NULL};
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        struct sbx_error err = {};
        struct iso_process p;
        siginfo_t si;
        uint64_t t0 = now_ns();

        o.args = args;
        o.netns_fd = netns_fd;
        if (iso_spawn(c, &o, &p, &err) < 0) {
                fprintf(stderr, "iso_spawn: %s\n", err.message);
                exit(1);
        }
        waitid((idtype_t)P_PIDFD, (id_t)p.pidfd, &si, WEXITED);
        iso_process_release(&p);
        if (si.si_code != CLD_EXITED || si.si_status != 0) {
                fprintf(stderr, "sandbox: status %d\n", si.si_status);
                exit(1);
        }
        return now_ns() - t0;
}

static uint64_t run_sandboxd(const struct iso_config *c)
{
        return run_sandboxd_in(c, -1);
}

/* What the daemon does: the network namespace made ahead (not timed), entered by the
 * spawn. */
static uint64_t run_sandboxd_netns_ahead(const struct iso_config *c)
{
        struct sbx_error err = {};
        int fd = iso_netns_new(&err);
        uint64_t t;

        if (fd < 0) {
                fprintf(stderr, "iso_netns_new: %s\n", err.message);
                exit(1);
        }
        t = run_sandboxd_in(c, fd);
        close(fd);
        return t;
}

/* CPU time (user + system) of this process and its reaped descendants, in ns. */
static uint64_t cpu_ns(void)
{
        struct rusage s, c;
        uint64_t t = 0;

        getrusage(RUSAGE_SELF, &s);
        getrusage(RUSAGE_CHILDREN, &c);
        t += (uint64_t)(s.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_utime.tv_sec +
                        c.ru_stime.tv_sec) *
             1000000000ULL;
        t += (uint64_t)(s.ru_utime.tv_usec + s.ru_stime.tv_usec + c.ru_utime.tv_usec +
                        c.ru_stime.tv_usec) *
             1000ULL;
        return t;
}

/* Context switches (voluntary + involuntary) of this process and its reaped descendants. */
static uint64_t ctx_switches(void)
{
        struct rusage s, c;

        getrusage(RUSAGE_SELF, &s);
        getrusage(RUSAGE_CHILDREN, &c);
        return (uint64_t)(s.ru_nvcsw + s.ru_nivcsw + c.ru_nvcsw + c.ru_nivcsw);
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double q)
{
        qsort(v, n, sizeof(*v), cmp_u64);
        size_t i = (size_t)(q * (double)(n - 1) + 0.5);
        return (double)v[i] / 1e6;
}

int main(int argc, char **argv)
{
        size_t runs = argc > 1 ? strtoul(argv[1], NULL, 10) : 500, steps_runs;
        static const struct {
                const char *name;
                unsigned what;
        } variants[] = {
                {"clone3 + exec, no namespaces", 0},
                {"+ pid/mount/uts/ipc/cgroup namespaces", F_NS},
                {"+ network namespace, lo up", F_NS | F_NET},
                {"+ read-only root, pivot_root", F_NS | F_NET | F_PIVOT},
                {"+ spec mounts, /dev nodes, masked/read-only paths",
                 F_NS | F_NET | F_PIVOT | F_MOUNTS},
                {"+ capabilities, no_new_privs, default seccomp (= the floor)",
                 F_NS | F_NET | F_PIVOT | F_MOUNTS | F_SECCOMP},
        };
        const size_t nv = sizeof(variants) / sizeof(variants[0]);
        struct sbx_error err = {};
        struct iso_config *c = NULL;
        char *spec;
        uint64_t *fl, *sb, *st[6];
        double p50[6];

        if (geteuid() != 0) {
                printf("### Spawn (isolation)\n\nSkipped: needs root.\n");
                return 0;
        }
        if (runs < 10)
                runs = 10;
        steps_runs = runs / 2;
        spec = iso_default_spec();
        if (!spec || iso_config_parse(spec, strlen(spec), &c, &err) < 0 ||
            iso_seccomp_compile(NULL, &filter, &filter_len, &err) < 0) {
                fprintf(stderr, "setup: %s\n", err.message);
                return 1;
        }
        {
                FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
                if (!f || fscanf(f, "%d", &last_cap) != 1)
                        last_cap = 40;
                if (f)
                        fclose(f);
        }
        vm_default = iso_clone_vm_supported();
        fl = calloc(runs, sizeof(uint64_t));
        sb = calloc(runs, sizeof(uint64_t));
        for (size_t i = 0; i < 20; i++) { /* warm up: page cache, memfd of sandbox-init */
                run_floor(variants[nv - 1].what);
                run_sandboxd(c);
        }
        fprintf(stderr, "spawn: %zu interleaved runs of the floor and of iso_spawn\n", runs);
        for (size_t i = 0; i < runs; i++) {
                fl[i] = run_floor(variants[nv - 1].what);
                sb[i] = run_sandboxd(c);
        }
        /* CPU time per spawn: less sensitive to a busy machine than wall time. */
        fprintf(stderr, "spawn: CPU time, %zu runs of each\n", steps_runs);
        uint64_t x0 = ctx_switches(), c0 = cpu_ns();
        for (size_t i = 0; i < steps_runs; i++)
                run_floor(variants[nv - 1].what);
        uint64_t x1 = ctx_switches(), c1 = cpu_ns();
        for (size_t i = 0; i < steps_runs; i++)
                run_sandboxd(c);
        uint64_t x2 = ctx_switches(), c2 = cpu_ns();
        double fcs = (double)(x1 - x0) / (double)steps_runs;
        double scs = (double)(x2 - x1) / (double)steps_runs;
        double fcpu = (double)(c1 - c0) / (double)steps_runs / 1e6;
        double scpu = (double)(c2 - c1) / (double)steps_runs / 1e6;
        double load[1] = {0};
        getloadavg(load, 1);
        /* As the daemon spawns: with the network namespace made ahead. */
        fprintf(stderr, "spawn: %zu interleaved runs with a network namespace made ahead\n",
                steps_runs);
        uint64_t *nfl = calloc(steps_runs, sizeof(uint64_t)),
                 *nsb = calloc(steps_runs, sizeof(uint64_t));
        for (size_t i = 0; i < steps_runs; i++) {
                nfl[i] = run_floor(variants[nv - 1].what);
                nsb[i] = run_sandboxd_netns_ahead(c);
        }
        fprintf(stderr, "spawn: %zu runs of each step variant\n", steps_runs);
        for (size_t v = 0; v < nv; v++) {
                st[v] = calloc(steps_runs, sizeof(uint64_t));
                for (size_t i = 0; i < steps_runs; i++)
                        st[v][i] = run_floor(variants[v].what);
                p50[v] = pct(st[v], steps_runs, 0.5);
        }

        /* The same from a parent with a daemon-sized resident set: in fork mode clone3
         * copies its page tables and write-protects its pages (the parent's next write
         * to each is a fault); in vm mode the child shares them. */
        enum { B_FLOOR_FORK, B_FLOOR_VM, B_ISO_FORK, B_ISO_VM, NB };
        uint64_t *bl[NB];
        size_t bruns = steps_runs, ballast_size = 16u << 20;
        char *ballast = malloc(ballast_size);
        if (!ballast)
                return 1;
        memset(ballast, 1, ballast_size);
        for (int b = 0; b < NB; b++)
                bl[b] = calloc(bruns, sizeof(uint64_t));
        fprintf(stderr, "spawn: %zu runs of each clone mode with 16 MiB of ballast\n", bruns);
        for (size_t i = 0; i < bruns; i++) {
                bl[B_FLOOR_FORK][i] = run_floor_mode(variants[nv - 1].what, false);
                iso_clone_mode_max = ISO_CLONE_FORK;
                bl[B_ISO_FORK][i] = run_sandboxd(c);
                iso_clone_mode_max = ISO_CLONE_VM;
                if (vm_default) {
                        bl[B_FLOOR_VM][i] = run_floor_mode(variants[nv - 1].what, true);
                        bl[B_ISO_VM][i] = run_sandboxd(c);
                }
                ballast[(i * 4096) % ballast_size]++;
        }

        double f50 = pct(fl, runs, 0.5), f99 = pct(fl, runs, 0.99);
        double s50 = pct(sb, runs, 0.5), s99 = pct(sb, runs, 0.99);
        printf("### Spawn → exit of `/bin/true` (isolation)\n\n");
        printf("Default spec (pid, mount, uts, ipc, net, cgroup namespaces; read-only host root;\n"
               "pivot_root; /proc, /dev, /sys, /tmp, /run and masked paths; default seccomp),\n"
               "%zu runs each, interleaved with the floor: a raw clone3 loop doing the same\n"
               "kernel work and executing `/bin/true` directly. `bench/spawn`, `make bench`.\n\n",
               runs);
        printf("Clone mode: %s (the floor uses the same).\n\n",
               vm_default ? "vm — clone3 with CLONE_VM|CLONE_VFORK on a child stack"
                          : "fork — clone3 copying the parent (vm mode is not built in here)");
        printf("| what | p50 ms | p99 ms | p50 / floor | CPU ms per spawn | CPU / floor | context "
               "switches per spawn |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        printf("| floor: raw clone3, same kernel work | %.3f | %.3f | 1.00 | %.3f | 1.00 | %.1f "
               "|\n",
               f50, f99, fcpu, fcs);
        printf("| sandboxd `iso_spawn()` (+ sandbox-init from a sealed memfd) | %.3f | %.3f | "
               "%.2f | %.3f | %.2f | %.1f |\n\n",
               s50, s99, s50 / f50, scpu, scpu / fcpu, scs);
        printf("As the daemon spawns, with the network namespace made ahead (docs/architecture.md; "
               "making it, ~0.8 ms of CPU here, is outside the timed spawn), %zu runs interleaved "
               "with the floor: `iso_spawn()` p50 %.3f ms against the floor's %.3f ms, %.2fx.\n\n",
               steps_runs, pct(nsb, steps_runs, 0.5), pct(nfl, steps_runs, 0.5),
               pct(nsb, steps_runs, 0.5) / pct(nfl, steps_runs, 0.5));
        printf("Target: p50 within 1.25x of the floor. Load average during the run: %.1f on %ld "
               "CPUs (wall-clock figures are only comparable on a quiet machine; CPU time is "
               "user + system of the spawner and every reaped descendant, %zu runs each).\n\n",
               load[0], sysconf(_SC_NPROCESSORS_ONLN), steps_runs);
        printf("Cost of each step (the floor built up one step at a time, %zu runs each; a step's "
               "cost is the difference of p50s):\n\n",
               steps_runs);
        printf("| step | p50 ms | step cost ms |\n| --- | --- | --- |\n");
        for (size_t v = 0; v < nv; v++)
                printf("| %s | %.3f | %s%.3f |\n", variants[v].name, p50[v], v ? "+" : "",
                       v ? p50[v] - p50[v - 1] : p50[v]);
        printf("| sandboxd `iso_spawn()`, against the interleaved floor above (sandbox-init exec, "
               "vfork of the process, fd hygiene) | "
               "%.3f | +%.3f |\n",
               s50, s50 - f50);
        printf("\nFrom a parent with 16 MiB of touched ballast (about the daemon's resident "
               "set), %zu interleaved runs of each (the parent's later copy-on-write faults "
               "after a fork-mode spawn are not in these figures):\n\n",
               bruns);
        printf("| clone mode | floor p50 ms | floor p99 ms | `iso_spawn()` p50 ms | "
               "`iso_spawn()` p99 ms | p50 / floor |\n| --- | --- | --- | --- | --- | --- |\n");
        for (int vm = 0; vm < (vm_default ? 2 : 1); vm++) {
                uint64_t *fv = bl[vm ? B_FLOOR_VM : B_FLOOR_FORK],
                         *sv = bl[vm ? B_ISO_VM : B_ISO_FORK];
                double a = pct(fv, bruns, 0.5), b = pct(fv, bruns, 0.99);
                double x = pct(sv, bruns, 0.5), y = pct(sv, bruns, 0.99);
                printf("| %s | %.3f | %.3f | %.3f | %.3f | %.2f |\n",
                       vm ? "vm (CLONE_VM\\|CLONE_VFORK)" : "fork (copy of the parent)", a, b, x, y,
                       x / a);
        }
        iso_config_free(c);
        free(spec);
        free(ballast);
        return 0;
}
