/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Re-adoption after a daemon restart (see adopt-internal.h).
 *
 * Identity of a process: a pid alone means nothing after a restart (pids are
 * reused), so a recorded pid is adopted only when the process that has it now
 * was started at the recorded time (field 22 of /proc/PID/stat, clock ticks
 * after boot, fixed for the life of a process) and lives in the recorded
 * cgroup.  The order matters: the pidfd is opened first, then /proc is read,
 * then the pidfd is checked to be alive.  If the pidfd's process had died
 * and the pid been reused in between, /proc shows the newcomer (whose start
 * time differs: not adopted); if it is alive after the reads, /proc showed
 * the pidfd's own process.
 */
#include "supervisor/adopt-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/syscall.h"
#include "common/util.h"

/* ---- KEY=VALUE ----------------------------------------------------------- */

void sup_kv_done(struct sup_kv *kv)
{
        for (size_t i = 0; i < kv->n; i++) {
                free(kv->keys[i]);
                free(kv->values[i]);
        }
        free(kv->keys);
        free(kv->values);
        *kv = (struct sup_kv){0};
}

const char *sup_kv_get(const struct sup_kv *kv, const char *key)
{
        for (size_t i = 0; i < kv->n; i++)
                if (strcmp(kv->keys[i], key) == 0)
                        return kv->values[i];
        return NULL;
}

int sup_kv_parse(const char *text, struct sup_kv *ret, struct sbx_error *err)
{
        struct sup_kv kv = {0};
        const char *p = text;
        unsigned lineno = 0;

        while (*p) {
                const char *eol = strchrnul(p, '\n');
                const char *eq = memchr(p, '=', eol - p);
                lineno++;

                if (eol == p) { /* empty line */
                        p = *eol ? eol + 1 : eol;
                        continue;
                }
                if (!eq || eq == p) {
                        sup_kv_done(&kv);
                        return sbx_fail(err, -EINVAL, "line %u: not KEY=VALUE", lineno);
                }
                for (const char *k = p; k < eq; k++)
                        if (!((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_')) {
                                sup_kv_done(&kv);
                                return sbx_fail(err, -EINVAL, "line %u: invalid key", lineno);
                        }
                for (const char *v = eq + 1; v < eol; v++)
                        if (*v == '\0' || *v == '\r') {
                                sup_kv_done(&kv);
                                return sbx_fail(err, -EINVAL, "line %u: invalid value", lineno);
                        }

                _cleanup_free_ char *key = strndup(p, eq - p);
                _cleanup_free_ char *value = strndup(eq + 1, eol - eq - 1);
                if (!key || !value) {
                        sup_kv_done(&kv);
                        return -ENOMEM;
                }
                if (sup_kv_get(&kv, key)) {
                        sup_kv_done(&kv);
                        return sbx_fail(err, -EINVAL, "line %u: duplicate key %s", lineno, key);
                }
                char **nk = realloc(kv.keys, (kv.n + 1) * sizeof(char *));
                if (nk)
                        kv.keys = nk;
                char **nv = realloc(kv.values, (kv.n + 1) * sizeof(char *));
                if (nv)
                        kv.values = nv;
                if (!nk || !nv) {
                        sup_kv_done(&kv);
                        return -ENOMEM;
                }
                kv.keys[kv.n] = TAKE_PTR(key);
                kv.values[kv.n] = TAKE_PTR(value);
                kv.n++;
                p = *eol ? eol + 1 : eol;
        }
        *ret = kv;
        return 0;
}

int sup_kv_write_at(int dir_fd, const char *name, const char *const *keys,
                    const char *const *values, size_t n, struct sbx_error *err)
{
        char tmp[PATH_MAX];
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &size);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!f)
                return sbx_fail_errno(err, -errno, "open_memstream");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s=%s\n", keys[i], values[i] ? values[i] : "");
        if (fflush(f) != 0)
                return sbx_fail_errno(err, -ENOMEM, "state file");
        snprintf(tmp, sizeof(tmp), "%s.tmp", name);
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return sbx_fail_errno(err, -errno, "create %s", tmp);
        r = sbx_write_all(fd, buf, size);
        if (r < 0) {
                (void)unlinkat(dir_fd, tmp, 0);
                return sbx_fail_errno(err, r, "write %s", tmp);
        }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = -errno;
                (void)unlinkat(dir_fd, tmp, 0);
                return sbx_fail_errno(err, r, "rename %s", tmp);
        }
        return 0;
}

/* ---- /proc --------------------------------------------------------------- */

/* Reads /proc/PID/stat into *ret_buf and points *ret_fields just past the last ')': comm
 * (field 2) may hold spaces and parentheses, so fields resume there, at " S ..." (field 3). */
static int proc_stat(pid_t pid, char **ret_buf, char **ret_fields)
{
        char path[64];
        char *buf = NULL, *p;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        r = sbx_read_file_at(AT_FDCWD, path, 4096, &buf, NULL);
        if (r < 0)
                return r;
        p = strrchr(buf, ')');
        if (!p || p[1] != ' ' || !p[2]) {
                free(buf);
                return -EIO;
        }
        *ret_buf = buf;
        *ret_fields = p + 1;
        return 0;
}

/* Field 3 of /proc/PID/stat: the state letter ('Z' zombie, 'X' dead). */
static int proc_state(pid_t pid, char *ret)
{
        _cleanup_free_ char *buf = NULL;
        char *p;
        int r = proc_stat(pid, &buf, &p);

        if (r < 0)
                return r;
        *ret = p[1];
        return 0;
}

int sup_proc_start_time(pid_t pid, uint64_t *ret)
{
        _cleanup_free_ char *buf = NULL;
        char *p;
        int r = proc_stat(pid, &buf, &p);

        if (r < 0)
                return r;
        /* Field 3 is the state; field 22 (starttime) is 19 fields later. */
        for (int field = 2; field < 22; field++) {
                while (*p == ' ')
                        p++;
                if (field == 21)
                        break;
                while (*p && *p != ' ')
                        p++;
                if (!*p)
                        return -EIO;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno != 0 || end == p)
                return -EIO;
        *ret = v;
        return 0;
}

int sup_proc_cgroup(pid_t pid, char **ret)
{
        char path[64];
        _cleanup_free_ char *buf = NULL;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        r = sbx_read_file_at(AT_FDCWD, path, 65536, &buf, NULL);
        if (r < 0)
                return r;
        for (char *line = buf; line && *line;) {
                char *eol = strchr(line, '\n');
                if (eol)
                        *eol = '\0';
                if (strncmp(line, "0::", 3) == 0) {
                        char *c = strdup(line + 3);
                        if (!c)
                                return -ENOMEM;
                        *ret = c;
                        return 0;
                }
                line = eol ? eol + 1 : NULL;
        }
        return -ENODATA;
}

int sup_wait_status_to_shell(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

const char *sup_adopt_outcome_to_string(enum sup_adopt_outcome o)
{
        switch (o) {
        case SUP_ADOPT_RUNNING:
                return "running";
        case SUP_ADOPT_EXITED:
                return "exited";
        case SUP_ADOPT_EXIT_UNKNOWN:
                return "exit-unknown";
        case SUP_ADOPT_NOT_RUNNING:
                return "not-running";
        case SUP_ADOPT_DAMAGED:
                return "damaged";
        }
        return "?";
}

int sup_adopt_check(pid_t pid, uint64_t start_time, const char *cgroup, int *ret_pidfd,
                    char *reason, size_t reason_size)
{
        _cleanup_close_ int pidfd = sbx_pidfd_open(pid, 0);
        _cleanup_free_ char *cg = NULL;
        uint64_t st;
        int r;

        if (pidfd < 0) {
                if (errno == ESRCH) {
                        snprintf(reason, reason_size, "process %d is gone", (int)pid);
                        return 0;
                }
                return -errno;
        }
        r = sup_proc_start_time(pid, &st);
        if (r == -ENOENT || r == -ESRCH) {
                snprintf(reason, reason_size, "process %d is gone", (int)pid);
                return 0;
        }
        if (r < 0)
                return r;
        if (st != start_time) {
                snprintf(reason, reason_size,
                         "pid %d now belongs to another process (start time %" PRIu64
                         ", recorded %" PRIu64 ")",
                         (int)pid, st, start_time);
                return 0;
        }
        r = sup_proc_cgroup(pid, &cg);
        if (r == -ENOENT || r == -ESRCH) {
                snprintf(reason, reason_size, "process %d is gone", (int)pid);
                return 0;
        }
        if (r < 0)
                return r;
        if (strcmp(cg, cgroup) != 0) {
                snprintf(reason, reason_size, "pid %d is in cgroup %s, recorded %s", (int)pid, cg,
                         cgroup);
                return 0;
        }
        /* Still alive after the reads: what /proc showed was this pidfd's process.  A
         * zombie (exited, not yet reaped by its new parent) counts as gone: its exit is
         * in the exit watcher's record like any other. */
        char state = 0;
        if (proc_state(pid, &state) < 0 || state == 'Z' || state == 'X') {
                snprintf(reason, reason_size, "process %d has exited", (int)pid);
                return 0;
        }
        if (sbx_pidfd_send_signal(pidfd, 0, NULL, 0) < 0) {
                snprintf(reason, reason_size, "process %d is gone", (int)pid);
                return 0;
        }
        *ret_pidfd = TAKE_FD(pidfd);
        return 1;
}

/* ---- the scan ------------------------------------------------------------ */

static bool valid_name(const char *s)
{
        size_t n = strlen(s);
        bool sep_ok = false;

        if (n == 0 || n > 76)
                return false;
        for (const char *p = s; *p; p++) {
                bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                             (*p >= '0' && *p <= '9');
                if (alnum)
                        sep_ok = true;
                else if ((*p == '.' || *p == '_' || *p == '-') && sep_ok && p[1])
                        sep_ok = false;
                else
                        return false;
        }
        return true;
}

static int parse_pid(const char *s, pid_t *ret)
{
        uint64_t v;
        if (!s || sbx_parse_u64(s, &v) < 0 || v == 0 || v > INT32_MAX)
                return -EINVAL;
        *ret = (pid_t)v;
        return 0;
}

/* Fills p from a state file: DAMAGED, NOT_RUNNING, or one of the three
 * outcomes of a running process.  cgroup_suffix is appended to CGROUP for the
 * comparison ("/init" for a sandbox, "" for a task). */
static void check_proc(int dir_fd, const char *file, const char *cgroup_mount,
                       const char *cgroup_suffix, const char *const *expect,
                       sup_exit_lookup_t lookup, void *userdata, const char *unavailable,
                       struct sup_adopt_proc *p)
{
        struct sbx_error e = {0};
        _cleanup_free_ char *text = NULL;
        const char *state, *cg;
        uint64_t cgid = 0;
        int r;

        p->pidfd = -EBADF;
        p->exit_status = -1;
        r = sbx_read_file_at(dir_fd, file, 65536, &text, NULL);
        if (r < 0) {
                p->outcome = SUP_ADOPT_DAMAGED;
                p->state_missing = r == -ENOENT;
                snprintf(p->reason, sizeof(p->reason), "cannot read %s: %s", file, strerror(-r));
                return;
        }
        r = sup_kv_parse(text, &p->state, &e);
        if (r < 0) {
                p->outcome = SUP_ADOPT_DAMAGED;
                snprintf(p->reason, sizeof(p->reason), "%s: %s", file,
                         r == -EINVAL ? e.message : strerror(-r));
                return;
        }
        for (size_t i = 0; expect[i]; i += 2)
                if (!sup_kv_get(&p->state, expect[i]) ||
                    strcmp(sup_kv_get(&p->state, expect[i]), expect[i + 1]) != 0) {
                        p->outcome = SUP_ADOPT_DAMAGED;
                        snprintf(p->reason, sizeof(p->reason), "%s: %s is not \"%s\"", file,
                                 expect[i], expect[i + 1]);
                        return;
                }
        state = sup_kv_get(&p->state, "STATE");
        if (!state) {
                p->outcome = SUP_ADOPT_DAMAGED;
                snprintf(p->reason, sizeof(p->reason), "%s: no STATE", file);
                return;
        }
        if (strcmp(state, "running") != 0 && strcmp(state, "stopping") != 0) {
                const char *es = sup_kv_get(&p->state, "EXIT_STATUS");
                const char *ea = sup_kv_get(&p->state, "EXITED_AT");
                uint64_t v;
                p->outcome = SUP_ADOPT_NOT_RUNNING;
                (void)parse_pid(sup_kv_get(&p->state, "PID"), &p->pid);
                if (es && sbx_parse_u64(es, &v) >= 0 && v <= 255)
                        p->exit_status = (int)v;
                if (ea && ea[0])
                        (void)sbx_parse_rfc3339(ea, &p->exited_at);
                return;
        }

        if (parse_pid(sup_kv_get(&p->state, "PID"), &p->pid) < 0 ||
            sbx_parse_u64(sup_kv_get(&p->state, "START_TIME") ?: "", &p->start_time) < 0) {
                p->outcome = SUP_ADOPT_DAMAGED;
                snprintf(p->reason, sizeof(p->reason), "%s: PID or START_TIME missing or invalid",
                         file);
                return;
        }
        cg = sup_kv_get(&p->state, "CGROUP");
        if (!cg || cg[0] != '/') {
                p->outcome = SUP_ADOPT_DAMAGED;
                snprintf(p->reason, sizeof(p->reason), "%s: CGROUP missing or not absolute", file);
                return;
        }
        (void)sbx_parse_u64(sup_kv_get(&p->state, "CGROUP_ID") ?: "", &cgid);

        /* CGROUP is a filesystem path; /proc/PID/cgroup shows it below the mount. */
        size_t ml = strlen(cgroup_mount);
        char want[PATH_MAX];
        if (strncmp(cg, cgroup_mount, ml) != 0 || (cg[ml] != '/' && cg[ml] != '\0')) {
                p->outcome = SUP_ADOPT_DAMAGED;
                snprintf(p->reason, sizeof(p->reason), "%s: CGROUP %s is not below %s", file, cg,
                         cgroup_mount);
                return;
        }
        snprintf(want, sizeof(want), "%s%s", cg[ml] ? cg + ml : "/", cgroup_suffix);

        r = sup_adopt_check(p->pid, p->start_time, want, &p->pidfd, p->reason, sizeof(p->reason));
        if (r > 0) {
                p->outcome = SUP_ADOPT_RUNNING;
                p->reason[0] = '\0';
                return;
        }
        if (r < 0)
                snprintf(p->reason, sizeof(p->reason), "cannot check process %d: %s", (int)p->pid,
                         strerror(-r));

        /* Gone while we were down: the exit watcher may have its status. */
        if (lookup) {
                int ws;
                uint64_t at = 0;
                char why[160] = "";
                r = lookup(userdata, p->pid, p->start_time, cgid, &ws, &at, why, sizeof(why));
                if (r > 0) {
                        p->outcome = SUP_ADOPT_EXITED;
                        p->exit_status = sup_wait_status_to_shell(ws);
                        p->exited_at = at;
                        return;
                }
                p->outcome = SUP_ADOPT_EXIT_UNKNOWN;
                if (r == 0)
                        snprintf(why, sizeof(why), "the exit watcher recorded no exit for pid %d",
                                 (int)p->pid);
                char tmp[sizeof(p->reason)];
                snprintf(tmp, sizeof(tmp), "%s; %s", p->reason, why);
                memcpy(p->reason, tmp, sizeof(tmp));
                return;
        }
        p->outcome = SUP_ADOPT_EXIT_UNKNOWN;
        char tmp[sizeof(p->reason)];
        snprintf(tmp, sizeof(tmp), "%s; exit status unknown: %s", p->reason,
                 unavailable ?: "no exit watcher");
        memcpy(p->reason, tmp, sizeof(tmp));
}

static void count(struct sup_adopt_result *res, const struct sup_adopt_proc *p, bool task)
{
        switch (p->outcome) {
        case SUP_ADOPT_RUNNING:
                task ? res->tasks_readopted++ : res->readopted++;
                break;
        case SUP_ADOPT_EXITED:
                task ? res->tasks_exited++ : res->exited++;
                break;
        case SUP_ADOPT_EXIT_UNKNOWN:
                task ? res->tasks_unknown++ : res->unknown++;
                break;
        case SUP_ADOPT_DAMAGED:
                if (!p->state_missing)
                        res->damaged++;
                break;
        default:
                break;
        }
}

static void scan_tasks(int sb_fd, struct sup_adopt_sandbox *sb, const char *cgroup_mount,
                       sup_exit_lookup_t lookup, void *userdata, const char *unavailable,
                       struct sup_adopt_result *res)
{
        _cleanup_close_ int fd = openat(sb_fd, "tasks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d)
                return;
        fd = -EBADF; /* owned by d */
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                char tid[80];
                if (n <= 6 || strcmp(de->d_name + n - 6, ".state") != 0 || n - 6 >= sizeof(tid))
                        continue;
                memcpy(tid, de->d_name, n - 6);
                tid[n - 6] = '\0';
                if (!valid_name(tid))
                        continue;
                struct sup_adopt_task *nt =
                        realloc(sb->tasks, (sb->n_tasks + 1) * sizeof(*sb->tasks));
                if (!nt)
                        break;
                sb->tasks = nt;
                struct sup_adopt_task *t = &sb->tasks[sb->n_tasks++];
                memset(t, 0, sizeof(*t));
                snprintf(t->id, sizeof(t->id), "%s", tid);
                const char *expect[] = {"ID", tid, "SANDBOX", sb->id, "NAMESPACE", sb->ns, NULL};
                check_proc(dirfd(d), de->d_name, cgroup_mount, "", expect, lookup, userdata,
                           unavailable, &t->proc);
                count(res, &t->proc, true);
        }
        closedir(d);
}

int sup_adopt_scan(const char *run_dir, const char *cgroup_mount, sup_exit_lookup_t lookup,
                   void *userdata, const char *unavailable_reason, struct sup_adopt_result *ret,
                   struct sbx_error *err)
{
        struct sup_adopt_result res = {0};
        DIR *top;
        struct dirent *nde;

        top = opendir(run_dir);
        if (!top) {
                if (errno == ENOENT) {
                        *ret = res;
                        return 0;
                }
                return sbx_fail_errno(err, -errno, "open run directory %s", run_dir);
        }
        while ((nde = readdir(top))) {
                if (!valid_name(nde->d_name))
                        continue;
                _cleanup_close_ int ns_fd =
                        openat(dirfd(top), nde->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (ns_fd < 0)
                        continue; /* sandboxd.pid, the socket, ... */
                DIR *nsd = fdopendir(ns_fd);
                if (!nsd)
                        continue;
                ns_fd = -EBADF;
                struct dirent *de;
                while ((de = readdir(nsd))) {
                        if (!valid_name(de->d_name))
                                continue;
                        _cleanup_close_ int sb_fd =
                                openat(dirfd(nsd), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (sb_fd < 0)
                                continue;
                        struct sup_adopt_sandbox *ns =
                                realloc(res.sandboxes, (res.n + 1) * sizeof(*res.sandboxes));
                        if (!ns)
                                break;
                        res.sandboxes = ns;
                        struct sup_adopt_sandbox *sb = &res.sandboxes[res.n++];
                        memset(sb, 0, sizeof(*sb));
                        snprintf(sb->ns, sizeof(sb->ns), "%s", nde->d_name);
                        snprintf(sb->id, sizeof(sb->id), "%s", de->d_name);
                        const char *expect[] = {"ID", sb->id, "NAMESPACE", sb->ns, NULL};
                        check_proc(sb_fd, "state", cgroup_mount, "/init", expect, lookup, userdata,
                                   unavailable_reason, &sb->proc);
                        count(&res, &sb->proc, false);
                        if (sb->proc.outcome != SUP_ADOPT_DAMAGED)
                                scan_tasks(sb_fd, sb, cgroup_mount, lookup, userdata,
                                           unavailable_reason, &res);
                }
                closedir(nsd);
        }
        closedir(top);
        *ret = res;
        return 0;
}

static void proc_done(struct sup_adopt_proc *p)
{
        p->pidfd = safe_close(p->pidfd);
        sup_kv_done(&p->state);
}

void sup_adopt_result_done(struct sup_adopt_result *r)
{
        for (size_t i = 0; i < r->n; i++) {
                struct sup_adopt_sandbox *sb = &r->sandboxes[i];
                proc_done(&sb->proc);
                for (size_t j = 0; j < sb->n_tasks; j++)
                        proc_done(&sb->tasks[j].proc);
                free(sb->tasks);
        }
        free(r->sandboxes);
        *r = (struct sup_adopt_result){0};
}

/* ---- exits seen by the watcher ------------------------------------------- */

#define EXIT_CACHE_SIZE 8192

struct exit_rec {
        pid_t pid;
        uint64_t start_boottime_ns;
        uint64_t cgroup_id, ancestor_cgroup_id;
        int wait_status;
        uint64_t exited_at;
};

static struct exit_rec *exit_cache;
static size_t exit_head, exit_count;
static char exit_unavailable[200];
static void (*exit_drain)(void);

void sup_exit_record(pid_t pid, uint64_t start_boottime_ns, uint64_t cgroup_id,
                     uint64_t ancestor_cgroup_id, int wait_status, uint64_t exited_at_ns)
{
        if (!exit_cache) {
                exit_cache = calloc(EXIT_CACHE_SIZE, sizeof(*exit_cache));
                if (!exit_cache)
                        return;
        }
        struct exit_rec *e = &exit_cache[(exit_head + exit_count) % EXIT_CACHE_SIZE];
        if (exit_count == EXIT_CACHE_SIZE)
                exit_head = (exit_head + 1) % EXIT_CACHE_SIZE;
        else
                exit_count++;
        *e = (struct exit_rec){pid,         start_boottime_ns, cgroup_id, ancestor_cgroup_id,
                               wait_status, exited_at_ns};
}

void sup_exit_set_unavailable(const char *reason)
{
        snprintf(exit_unavailable, sizeof(exit_unavailable), "%s", reason ?: "");
}

void sup_exit_set_drain(void (*drain)(void))
{
        exit_drain = drain;
}

int sup_exit_lookup(pid_t pid, uint64_t start_time, uint64_t cgroup_id, int *ret_wait_status,
                    uint64_t *ret_exited_at_ns, char *reason, size_t reason_size)
{
        long hz = sysconf(_SC_CLK_TCK);

        if (exit_drain)
                exit_drain();
        /* Newest first: a pid may have been used more than once. */
        for (size_t i = exit_count; i-- > 0;) {
                const struct exit_rec *e = &exit_cache[(exit_head + i) % EXIT_CACHE_SIZE];
                if (e->pid != pid)
                        continue;
                if (cgroup_id && e->cgroup_id != cgroup_id && e->ancestor_cgroup_id != cgroup_id)
                        continue;
                if (start_time && e->start_boottime_ns && hz > 0 &&
                    e->start_boottime_ns / (NSEC_PER_SEC / (uint64_t)hz) != start_time)
                        continue;
                *ret_wait_status = e->wait_status;
                *ret_exited_at_ns = e->exited_at;
                return 1;
        }
        if (exit_unavailable[0]) {
                snprintf(reason, reason_size, "the exit watcher is unavailable: %s",
                         exit_unavailable);
                return -ENODEV;
        }
        return 0;
}

int sup_exit_lookup_cb(void *userdata, pid_t pid, uint64_t start_time, uint64_t cgroup_id,
                       int *ret_wait_status, uint64_t *ret_exited_at_ns, char *reason,
                       size_t reason_size)
{
        return sup_exit_lookup(pid, start_time, cgroup_id, ret_wait_status, ret_exited_at_ns,
                               reason, reason_size);
}
