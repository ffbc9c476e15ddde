/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandboxd: flags, set-up and tear-down around the one event loop.  See
 * docs/sandboxd.8 for the flags and docs/architecture.md for how the parts fit.
 */
#include "supervisor/sandboxd-internal.h"
#include "supervisor/spawner-internal.h"
#include "supervisor/adopt-internal.h"
#include "supervisor/tasks-internal.h"
#include "supervisor/crashpoint-internal.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct sup_config sup_config = {
        .socket_path = "/run/sandboxd/sandboxd.sock",
        .state_dir = "/var/lib/sandboxd",
        .run_dir = "/run/sandboxd",
        .cgroup_root = NULL,
        .bpf_dir = "/sys/fs/bpf/sandboxd",
};

static void help(void)
{
        printf("Usage: sandboxd [OPTIONS]\n"
               "\n"
               "The sandboxd supervisor: keeps sandbox records, builds and supervises sandboxes,\n"
               "and serves the HTTP/JSON API (docs/api.md) on a unix socket.  Runs in the\n"
               "foreground and logs to stderr with <N> priority prefixes (for journald).\n"
               "\n"
               "  --socket PATH            API socket (default /run/sandboxd/sandboxd.sock);\n"
               "                           mode 0666: callers are checked with SO_PEERCRED\n"
               "  --state-dir DIR          metadata store directory, mode 0700\n"
               "                           (default /var/lib/sandboxd); one daemon per directory\n"
               "  --run-dir DIR            runtime state: sandboxd.pid and "
               "NS/ID/{state,log,netns}\n"
               "                           (default /run/sandboxd)\n"
               "  --cgroup-root PATH       cgroup v2 directory under which sandboxes are created\n"
               "                           (created if missing); default: the daemon's own\n"
               "                           cgroup on the cgroup2 mount, the daemon moving itself\n"
               "                           into its 'supervisor' leaf (systemd Delegate=yes), or\n"
               "                           MOUNT/sandboxd when that is the hierarchy's root\n"
               "  --bpf-dir DIR            bpffs directory where the exit/OOM watcher is pinned\n"
               "                           (default /sys/fs/bpf/sandboxd); without BPF the daemon\n"
               "                           still sees exits through pidfds, not OOM kills\n"
               "  --socket-group GROUP     members of GROUP (name or gid) may use the API too;\n"
               "                           otherwise only root may\n"
               "  --log-level LEVEL        err, warning, notice, info (default) or debug\n"
               "  --allow-missing-controllers\n"
               "                           start sandboxes whose spec needs a cgroup controller\n"
               "                           the host lacks, skipping those limits with a warning\n"
               "                           in Status (default: refuse with FailedPrecondition)\n"
               "  -h, --help               show this help\n"
               "  --version                show the version\n"
               "\n"
               "SIGTERM or SIGINT stops the daemon cleanly; running sandboxes keep running.\n");
}

enum {
        ARG_SOCKET = 0x100,
        ARG_STATE_DIR,
        ARG_RUN_DIR,
        ARG_CGROUP_ROOT,
        ARG_BPF_DIR,
        ARG_SOCKET_GROUP,
        ARG_LOG_LEVEL,
        ARG_ALLOW_MISSING,
        ARG_VERSION,
};

static int parse_args(int argc, char **argv)
{
        static const struct option opts[] = {
                {"socket", required_argument, NULL, ARG_SOCKET},
                {"state-dir", required_argument, NULL, ARG_STATE_DIR},
                {"run-dir", required_argument, NULL, ARG_RUN_DIR},
                {"cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT},
                {"bpf-dir", required_argument, NULL, ARG_BPF_DIR},
                {"socket-group", required_argument, NULL, ARG_SOCKET_GROUP},
                {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
                {"allow-missing-controllers", no_argument, NULL, ARG_ALLOW_MISSING},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {},
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case ARG_SOCKET:
                        sup_config.socket_path = optarg;
                        break;
                case ARG_STATE_DIR:
                        sup_config.state_dir = optarg;
                        break;
                case ARG_RUN_DIR:
                        sup_config.run_dir = optarg;
                        break;
                case ARG_CGROUP_ROOT:
                        sup_config.cgroup_root = optarg;
                        break;
                case ARG_BPF_DIR:
                        sup_config.bpf_dir = optarg;
                        break;
                case ARG_SOCKET_GROUP: {
                        struct group *g = getgrnam(optarg);
                        uint64_t n;

                        if (g)
                                sup_config.socket_gid = g->gr_gid;
                        else if (sbx_parse_u64(optarg, &n) == 0 && n < (gid_t)-1)
                                sup_config.socket_gid = (gid_t)n;
                        else {
                                fprintf(stderr, "sandboxd: --socket-group: no group \"%s\"\n",
                                        optarg);
                                return -EINVAL;
                        }
                        sup_config.socket_group = optarg;
                        sup_config.have_socket_gid = true;
                        break;
                }
                case ARG_LOG_LEVEL:
                        level = sbx_log_level_from_string(optarg);
                        if (level < 0) {
                                fprintf(stderr, "sandboxd: --log-level: unknown level \"%s\"\n",
                                        optarg);
                                return -EINVAL;
                        }
                        sbx_log_set_max_level(level);
                        break;
                case ARG_ALLOW_MISSING:
                        sup_config.allow_missing_controllers = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("sandboxd %s\n", SUP_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "Try 'sandboxd --help'.\n");
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "sandboxd: unexpected argument \"%s\"\n", argv[optind]);
                return -EINVAL;
        }
        for (const char **p = (const char *[]){sup_config.socket_path, sup_config.state_dir,
                                               sup_config.run_dir, sup_config.bpf_dir, NULL};
             *p; p++)
                if ((*p)[0] != '/') {
                        fprintf(stderr, "sandboxd: paths must be absolute: \"%s\"\n", *p);
                        return -EINVAL;
                }
        return 1;
}

static int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int listen_socket(struct sbx_error *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = strdup(sup_config.socket_path);

        if (strlen(sup_config.socket_path) >= sizeof(sa.sun_path))
                return sbx_fail(err, -EINVAL, "socket path too long: %s", sup_config.socket_path);
        if (!dir)
                return -ENOMEM;
        *strrchr(dir, '/') = '\0';
        if (dir[0] && mkdir_p(dir, 0755) < 0)
                return sbx_fail_errno(err, -errno, "mkdir %s", dir);
        strcpy(sa.sun_path, sup_config.socket_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return sbx_fail_errno(err, -errno, "socket");
        /* A stale socket of an earlier daemon: safe to remove, because the store lock
         * (taken before) proves no other daemon uses this state directory.  Only a
         * socket is removed, never another kind of file. */
        struct stat st;
        if (lstat(sa.sun_path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return sbx_fail(err, -EEXIST, "%s exists and is not a socket", sa.sun_path);
                (void)unlink(sa.sun_path);
        }
        mode_t old = umask(0111);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return sbx_fail_errno(err, -errno, "bind %s", sa.sun_path);
        /* Anyone may connect (0666); who may call is decided per connection from
         * SO_PEERCRED (root, or --socket-group), so a refused caller gets a 403 that says
         * why, and the refusal is logged, rather than a bare EACCES from connect(2). */
        if (chmod(sa.sun_path, 0666) < 0)
                return sbx_fail_errno(err, -errno, "chmod %s", sa.sun_path);
        if (listen(fd, 512) < 0)
                return sbx_fail_errno(err, -errno, "listen %s", sa.sun_path);
        return TAKE_FD(fd);
}

static struct sup_watch signal_watch;

static void on_signal(struct sup_watch *w, uint32_t events)
{
        struct signalfd_siginfo si;

        while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                        log_notice("received %s, stopping (sandboxes keep running)",
                                   strsignal(si.ssi_signo));
                        sup_loop_quit();
                }
        }
}

static int write_pid_file(void)
{
        char path[4096], tmp[4096], buf[32];
        _cleanup_close_ int fd = -EBADF;

        snprintf(path, sizeof(path), "%s/sandboxd.pid", sup_config.run_dir);
        snprintf(tmp, sizeof(tmp), "%s/.sandboxd.pid.tmp", sup_config.run_dir);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (sbx_write_all(fd, buf, strlen(buf)) < 0 || rename(tmp, path) < 0)
                return -errno;
        return 0;
}

static void remove_pid_file(void)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/sandboxd.pid", sup_config.run_dir);
        (void)unlink(path);
}

int main(int argc, char **argv)
{
        struct sbx_error err = {0};
        _cleanup_close_ int sfd = -EBADF, lfd = -EBADF;
        sigset_t mask;
        int r;

        r = parse_args(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        sup_crash_point_init();
        if (geteuid() != 0)
                log_warning("not running as root: starting sandboxes will fail");

        /* Each running sandbox holds a handful of fds (pidfd, log pipe and file, run and
         * cgroup directories): raise the soft limit to the hard one, as systemd does for
         * its own services, so a thousand sandboxes fit.  Sandboxes get the spec's rlimits. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }

        r = mkdir_p(sup_config.run_dir, 0755);
        if (r < 0) {
                log_error("cannot create %s: %s", sup_config.run_dir, strerror(-r));
                return 1;
        }
        r = mkdir_p(sup_config.state_dir, 0700);
        if (r < 0) {
                log_error("cannot create %s: %s", sup_config.state_dir, strerror(-r));
                return 1;
        }

        /* SIGTERM/SIGINT arrive through the loop.  The mask is inherited by children:
         * the isolation module restores the default mask in every sandbox before exec. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        if (sup_loop_init(&err) < 0)
                goto fail;
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                sbx_fail_errno(&err, -errno, "signalfd");
                goto fail;
        }
        signal_watch.cb = on_signal;
        if (sup_loop_add(sfd, EPOLLIN, &signal_watch) < 0) {
                sbx_fail_errno(&err, -errno, "epoll_ctl(signalfd)");
                goto fail;
        }

        /* The store first: its lock is what refuses a second daemon on one state dir. */
        if (sup_store_init(&err) < 0)
                goto fail;
        if (sup_controller_init(&err) < 0)
                goto fail;
        /* Events, then what an earlier daemon left running (issue #7), before serving. */
        if (sup_issue7_init(&err) < 0 || sup_readopt(&err) < 0)
                goto fail;
        lfd = listen_socket(&err);
        if (lfd < 0)
                goto fail;
        if (sup_http_start(lfd, &err) < 0)
                goto fail;
        lfd = -EBADF; /* owned by the HTTP server now */
        (void)write_pid_file();

        log_notice("sandboxd %s listening on %s (state %s, run %s)", SUP_VERSION,
                   sup_config.socket_path, sup_config.state_dir, sup_config.run_dir);
        r = sup_loop_run();
        if (r < 0)
                log_error("event loop failed: %s", strerror(-r));

        /* Answer what is in flight: Starts first (their sandboxes are left running), then
         * store writes (they complete), then the HTTP server answers waiters with 503 and
         * sends what is queued. */
        sup_spawner_drain();
        sup_store_flush();
        sup_issue7_stop();
        sup_http_stop();
        (void)unlink(sup_config.socket_path);
        sup_controller_done();
        sup_issue7_done();
        sup_store_done();
        remove_pid_file();
        signal_watch.fd = -EBADF;
        sup_loop_done();
        log_notice("sandboxd stopped");
        return r < 0 ? 1 : 0;

fail:
        log_error("%s", err.message[0] ? err.message : "start-up failed");
        sup_controller_done();
        sup_store_done();
        sup_loop_done();
        return 1;
}
