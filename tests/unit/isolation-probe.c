/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * isolation-probe: run inside sandboxes by tests/unit/test-isolation*.c; prints
 * what it observes on stdout, one fact per line.  Built without sanitizers
 * (it runs under the sandbox's seccomp filter).
 *
 *   pid | hostname | mounts | caps | ifaces | procs | rlimit | uid | fds |
 *   exe-write | orphan | syscall-unshare | syscall-getppid | exit N | kill-self |
 *   read PATH | cat PATH | write PATH | ns (the user, mnt and net namespace links) |
 *   sigs (blocked, ignored and caught signal sets)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void cat_matching(const char *path, const char *const *prefixes)
{
        char line[4096];
        FILE *f = fopen(path, "re");

        if (!f) {
                printf("error %s\n", strerror(errno));
                return;
        }
        while (fgets(line, sizeof(line), f))
                for (const char *const *p = prefixes; *p; p++)
                        if (strncmp(line, *p, strlen(*p)) == 0)
                                fputs(line, stdout);
        fclose(f);
}

static int zombies(void)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        while (d && (de = readdir(d))) {
                char path[300], buf[512], *p;
                FILE *f;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[2] == 'Z')
                        n++;
                fclose(f);
        }
        if (d)
                closedir(d);
        return n;
}

int main(int argc, char **argv)
{
        const char *cmd = argc > 1 ? argv[1] : "";

        if (strcmp(cmd, "pid") == 0)
                printf("%d %d\n", getpid(), getppid());
        else if (strcmp(cmd, "hostname") == 0) {
                char h[256] = "";
                gethostname(h, sizeof(h) - 1);
                printf("%s\n", h);
        } else if (strcmp(cmd, "mounts") == 0) {
                /* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPER */
                char line[4096];
                FILE *f = fopen("/proc/self/mountinfo", "re");
                while (f && fgets(line, sizeof(line), f)) {
                        char root[1024], mp[1024], opts[256], fstype[64];
                        char *dash = strstr(line, " - ");
                        if (!dash ||
                            sscanf(line, "%*d %*d %*s %1023s %1023s %255s", root, mp, opts) != 3 ||
                            sscanf(dash + 3, "%63s", fstype) != 1)
                                continue;
                        printf("%s %s %s\n", mp, fstype, strncmp(opts, "ro", 2) == 0 ? "ro" : "rw");
                }
        } else if (strcmp(cmd, "caps") == 0)
                cat_matching("/proc/self/status",
                             (const char *const[]){"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                                                   "NoNewPrivs", "Seccomp:", NULL});
        else if (strcmp(cmd, "ifaces") == 0) {
                struct if_nameindex *ifs = if_nameindex(), *i;
                int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                for (i = ifs; i && i->if_index; i++) {
                        struct ifreq r = {};
                        char addr[64] = "-";
                        snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", i->if_name);
                        ioctl(s, SIOCGIFFLAGS, &r);
                        int up = !!(r.ifr_flags & IFF_UP);
                        if (ioctl(s, SIOCGIFADDR, &r) == 0)
                                inet_ntop(AF_INET, &((struct sockaddr_in *)&r.ifr_addr)->sin_addr,
                                          addr, sizeof(addr));
                        printf("%s %s %s\n", i->if_name, up ? "UP" : "DOWN", addr);
                }
        } else if (strcmp(cmd, "procs") == 0) {
                DIR *d = opendir("/proc");
                struct dirent *de;
                int n = 0;
                while (d && (de = readdir(d)))
                        n += de->d_name[0] >= '0' && de->d_name[0] <= '9';
                printf("%d\n", n);
        } else if (strcmp(cmd, "rlimit") == 0) {
                struct rlimit rl;
                getrlimit(RLIMIT_NOFILE, &rl);
                printf("%llu %llu\n", (unsigned long long)rl.rlim_cur,
                       (unsigned long long)rl.rlim_max);
        } else if (strcmp(cmd, "uid") == 0) {
                printf("%u %u\n", getuid(), getgid());
                cat_matching("/proc/self/uid_map", (const char *const[]){"", NULL});
        } else if (strcmp(cmd, "fds") == 0) {
                DIR *d = opendir("/proc/self/fd");
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
                                printf("%s\n", de->d_name);
        } else if (strcmp(cmd, "exe-write") == 0) {
                int fd = open("/proc/1/exe", O_WRONLY | O_CLOEXEC);
                printf("%s\n", fd < 0 ? strerrorname_np(errno) : "opened");
        } else if (strcmp(cmd, "orphan") == 0) {
                int p[2];
                char c;
                if (pipe(p) < 0)
                        return 1;
                pid_t a = fork();
                if (a == 0) {
                        if (fork() == 0) {
                                close(p[0]);
                                usleep(10000);
                                _exit(0); /* closes p[1]: the reader sees EOF */
                        }
                        _exit(0);
                }
                close(p[1]);
                waitpid(a, NULL, 0);
                while (read(p[0], &c, 1) > 0)
                        ;
                int z = 0;
                for (int i = 0; i < 1000 && (z = zombies()) > 0; i++)
                        usleep(5000);
                printf("zombies %d\n", z);
        } else if (strcmp(cmd, "syscall-unshare") == 0) {
                int r = unshare(0);
                printf("%s\n", r < 0 ? strerrorname_np(errno) : "ok");
        } else if (strcmp(cmd, "syscall-getppid") == 0) {
                syscall(SYS_getppid);
                printf("survived\n");
        } else if (strcmp(cmd, "exit") == 0 && argc > 2)
                return atoi(argv[2]);
        else if (strcmp(cmd, "kill-self") == 0)
                kill(getpid(), SIGKILL);
        else if (strcmp(cmd, "read") == 0 && argc > 2) {
                char buf[64];
                int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
                printf("%s %zd\n",
                       fd < 0  ? strerrorname_np(errno)
                       : n < 0 ? strerrorname_np(errno)
                               : "ok",
                       n);
        } else if (strcmp(cmd, "cat") == 0 && argc > 2) {
                char buf[256];
                int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
                if (n < 0)
                        printf("%s\n", strerrorname_np(errno));
                else
                        fwrite(buf, 1, (size_t)n, stdout);
        } else if (strcmp(cmd, "sigs") == 0) {
                static const char *const p[] = {"SigBlk:", "SigIgn:", "SigCgt:", NULL};
                cat_matching("/proc/self/status", p);
        } else if (strcmp(cmd, "ns") == 0) {
                static const char *const names[] = {"user", "mnt", "net"};
                for (size_t i = 0; i < 3; i++) {
                        char path[64], link[64] = "";
                        snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
                        if (readlink(path, link, sizeof(link) - 1) < 0)
                                snprintf(link, sizeof(link), "%s", strerrorname_np(errno));
                        printf("%s\n", link);
                }
        } else if (strcmp(cmd, "write") == 0 && argc > 2) {
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                printf("%s\n", fd < 0 ? strerrorname_np(errno) : "ok");
        } else {
                fprintf(stderr, "isolation-probe: unknown command\n");
                return 2;
        }
        fflush(stdout);
        return 0;
}
