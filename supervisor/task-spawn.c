/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Spawning a task's process inside a running sandbox: the adapter to
 * isolation/ (iso_task_config_parse(), iso_spawn_task(): setns through the
 * init's pidfd, CLONE_INTO_CGROUP, the sandbox's seccomp filter and the task's own
 * profile stacked on it, capabilities, no_new_privs, user, rlimits, exec).
 *
 * iso_task_config_parse() takes defaults and the seccomp filter from the
 * sandbox's parsed spec.  That is parsed from the stored record once per run of
 * the sandbox (keyed by its run_id) and kept until the sandbox goes.
 */
#include "supervisor/tasks-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isolation/isolation.h"
#include "store/store.h"

extern struct store *sup_store; /* api-store.c */

struct cfg {
        struct cfg *next;
        char ns[SUP_NAME_MAX + 1], id[SUP_NAME_MAX + 1];
        uint64_t run_id;
        struct iso_config *config;
};

static struct cfg *cfgs;

static void cfg_drop(const char *ns, const char *id)
{
        for (struct cfg **p = &cfgs; *p; p = &(*p)->next)
                if (strcmp((*p)->ns, ns) == 0 && strcmp((*p)->id, id) == 0) {
                        struct cfg *c = *p;
                        *p = c->next;
                        iso_config_free(c->config);
                        free(c);
                        return;
                }
}

void sup_task_spawn_forget(const char *ns, const char *id)
{
        cfg_drop(ns, id);
}

void sup_task_spawn_done(void)
{
        while (cfgs)
                cfg_drop(cfgs->ns, cfgs->id);
}

static int sandbox_config(struct sup_sandbox *sb, const struct iso_config **ret,
                          struct sbx_error *err)
{
        _cleanup_store_record_ struct store_record *rec = NULL;
        struct cfg *c;
        int r;

        for (c = cfgs; c; c = c->next)
                if (strcmp(c->ns, sb->ns) == 0 && strcmp(c->id, sb->id) == 0) {
                        if (c->run_id == sb->run_id) {
                                *ret = c->config;
                                return 0;
                        }
                        cfg_drop(sb->ns, sb->id);
                        break;
                }
        r = store_get(sup_store, sb->ns, sb->id, &rec, err);
        if (r < 0)
                return r;
        if (!rec->spec.value || rec->spec.value_len == 0)
                return sbx_fail(err, -EINVAL, "sandbox \"%s\" has no spec", sb->id);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = iso_config_parse((const char *)rec->spec.value, rec->spec.value_len, &c->config, err);
        if (r < 0) {
                free(c);
                return sbx_error_prefix(err, r, "the sandbox's spec");
        }
        snprintf(c->ns, sizeof(c->ns), "%s", sb->ns);
        snprintf(c->id, sizeof(c->id), "%s", sb->id);
        c->run_id = sb->run_id;
        c->next = cfgs;
        cfgs = c;
        *ret = c->config;
        return 0;
}

int sup_task_spawn(struct sup_sandbox *sb, const json_t *process, const json_t *seccomp, int cg_fd,
                   int out_fd, pid_t *ret_pid, int *ret_pidfd, struct sbx_error *err)
{
        _cleanup_(iso_task_config_freep) struct iso_task_config *task = NULL;
        _cleanup_(iso_task_seccomp_freep) struct iso_task_seccomp *ts = NULL;
        struct iso_spawn_opts o = ISO_SPAWN_OPTS_INIT;
        struct iso_process init = {.pid = sb->pid, .pidfd = sb->pidfd};
        struct iso_process p = ISO_PROCESS_NULL;
        const struct iso_config *config = NULL;
        int r;

        r = sandbox_config(sb, &config, err);
        if (r < 0)
                return r;
        r = iso_task_config_parse(process, config, &task, err);
        if (r < 0)
                return sbx_error_prefix(err, r, "process");
        if (seccomp) {
                /* The task's own profile joined with the sandbox's into one filter: the
                 * strictest action of the two wins (isolation/task-seccomp.c).  Its parse
                 * errors name the field (linux.seccomp.syscalls[0].names[1]). */
                r = iso_task_seccomp_new(config, seccomp, &ts, err);
                if (r == -E2BIG) {
                        /* too long with the sandbox's: the request's fault */
                        if (err)
                                err->code = -EINVAL;
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
                config = iso_task_seccomp_config(ts);
        }
        o.cgroup_fd = cg_fd;
        o.stdout_fd = out_fd;
        o.stderr_fd = out_fd;
        r = iso_spawn_task(&init, config, task, &o, &p, err);
        int code = r < 0 && err && err->code < 0 ? err->code : r;
        if (code == -ENOENT || code == -EACCES || code == -ENOEXEC || code == -ENOTDIR ||
            code == -ELOOP || (seccomp && code == -EPERM)) {
                /* "exec /nope: No such file or directory" is a bad request, not a missing
                 * sandbox or task: InvalidArgument (docs/api.md).  So is EPERM when the
                 * task's own profile denies what its start needs (execve). */
                if (err)
                        err->code = -EINVAL;
                return -EINVAL;
        }
        if (r < 0)
                return r;
        *ret_pid = p.pid;
        *ret_pidfd = p.pidfd;
        return 0;
}
