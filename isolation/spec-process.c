/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI `process` object: of the sandbox, or of a task (with the sandbox's as defaults). */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
};

static int rlimits_parse(const json_t *a, const char *path, struct iso_proc *p,
                         struct sbx_error *err)
{
        char sub[96];
        size_t i;
        json_t *v;

        if (!json_is_array(a))
                return iso_json_path_error(err, path, "must be an array");
        p->rlimits = calloc(json_array_size(a) + 1, sizeof(*p->rlimits));
        if (!p->rlimits)
                return sbx_fail(err, -ENOMEM, "out of memory");
        json_array_foreach (a, i, v) {
                const char *type = json_string_value(json_object_get(v, "type"));
                struct iso_rlimit *rl = &p->rlimits[p->n_rlimits];
                uint64_t hard = 0, soft = 0;
                size_t k;
                int r;

                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (!json_is_object(v))
                        return iso_json_path_error(err, sub, "must be an object");
                if (!type)
                        return iso_json_path_error(err, sub, "type: must be a string");
                for (k = 0; k < ELEMENTSOF(rlimit_names); k++)
                        if (strcmp(rlimit_names[k].name, type) == 0)
                                break;
                if (k == ELEMENTSOF(rlimit_names))
                        return iso_json_path_error(err, sub, "unknown rlimit type \"%s\"", type);
                snprintf(sub, sizeof(sub), "%s[%zu].hard", path, i);
                r = iso_get_u64(json_object_get(v, "hard"), sub, &hard, err);
                if (r < 0)
                        return r;
                snprintf(sub, sizeof(sub), "%s[%zu].soft", path, i);
                r = iso_get_u64(json_object_get(v, "soft"), sub, &soft, err);
                if (r < 0)
                        return r;
                if (soft > hard)
                        return iso_json_path_error(err, sub, "soft limit above the hard limit");
                rl->resource = rlimit_names[k].resource;
                rl->limit.rlim_cur = soft;
                rl->limit.rlim_max = hard;
                p->n_rlimits++;
        }
        return 0;
}

void iso_proc_done(struct iso_proc *p)
{
        iso_strv_free(p->args);
        iso_strv_free(p->env);
        free(p->cwd);
        free(p->gids);
        free(p->rlimits);
        *p = (struct iso_proc){};
}

/* Parses an OCI `process` object at path.  defaults (a sandbox's process, for a
 * task) fills what the object leaves out; without defaults the secure defaults apply. */
int iso_proc_parse(const json_t *process, const char *path, const struct iso_proc *defaults,
                   struct iso_proc *ret, struct sbx_error *err)
{
        struct iso_proc p = {.umask = -1};
        char sub[96];
        json_t *v;
        int r;

        if (process && !json_is_object(process))
                return iso_json_path_error(err, path, "must be an object");

#define SUB(name) (snprintf(sub, sizeof(sub), "%s.%s", path, name), sub)
        v = json_object_get(process, "args");
        if (v && !json_is_null(v)) {
                r = iso_strv_parse(v, SUB("args"), &p.args, err);
                if (r < 0)
                        goto fail;
                if (!p.args[0]) {
                        iso_strv_free(p.args);
                        p.args = NULL;
                } else if (p.args[0][0] == '\0') {
                        r = iso_json_path_error(err, SUB("args[0]"), "must not be empty");
                        goto fail;
                }
        }

        v = json_object_get(process, "env");
        if (v && !json_is_null(v))
                r = iso_strv_parse(v, SUB("env"), &p.env, err);
        else if (defaults)
                r = (p.env = iso_strv_copy(defaults->env)) ? 0
                                                           : sbx_fail(err, -ENOMEM, "no memory");
        else {
                static char *const path_env[] = {
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
                r = (p.env = iso_strv_copy(path_env)) ? 0 : sbx_fail(err, -ENOMEM, "no memory");
        }
        if (r < 0)
                goto fail;

        v = json_object_get(process, "cwd");
        if (v && !json_is_string(v)) {
                r = iso_json_path_error(err, SUB("cwd"), "must be a string");
                goto fail;
        }
        if (v && json_string_value(v)[0] != '/') {
                r = iso_json_path_error(err, SUB("cwd"), "must be an absolute path");
                goto fail;
        }
        p.cwd = strdup(v ? json_string_value(v) : defaults ? defaults->cwd : "/");
        if (!p.cwd) {
                r = sbx_fail(err, -ENOMEM, "out of memory");
                goto fail;
        }

        v = json_object_get(process, "user");
        if (v) {
                json_t *g;
                uint32_t id;

                if (!json_is_object(v)) {
                        r = iso_json_path_error(err, SUB("user"), "must be an object");
                        goto fail;
                }
                if ((r = iso_get_u32_opt(json_object_get(v, "uid"), SUB("user.uid"), &id, err)) < 0)
                        goto fail;
                p.uid = id;
                if ((r = iso_get_u32_opt(json_object_get(v, "gid"), SUB("user.gid"), &id, err)) < 0)
                        goto fail;
                p.gid = id;
                if (json_object_get(v, "username")) {
                        r = iso_json_path_error(err, SUB("user.username"),
                                                "not supported (use uid and gid)");
                        goto fail;
                }
                g = json_object_get(v, "umask");
                if (g) {
                        if ((r = iso_get_u32(g, SUB("user.umask"), &id, err)) < 0)
                                goto fail;
                        if (id > 0777) {
                                r = iso_json_path_error(err, sub, "must be at most 0777");
                                goto fail;
                        }
                        p.umask = (int)id;
                }
                g = json_object_get(v, "additionalGids");
                if (g) {
                        size_t i;
                        json_t *x;

                        if (!json_is_array(g) || json_array_size(g) > 256) {
                                r = iso_json_path_error(err, SUB("user.additionalGids"),
                                                        "must be an array of at most 256 gids");
                                goto fail;
                        }
                        p.gids = calloc(json_array_size(g) + 1, sizeof(gid_t));
                        if (!p.gids) {
                                r = sbx_fail(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        json_array_foreach (g, i, x) {
                                snprintf(sub, sizeof(sub), "%s.user.additionalGids[%zu]", path, i);
                                if ((r = iso_get_u32(x, sub, &id, err)) < 0)
                                        goto fail;
                                p.gids[p.n_gids++] = id;
                        }
                }
        } else if (defaults) {
                p.uid = defaults->uid;
                p.gid = defaults->gid;
                p.umask = defaults->umask;
                if (defaults->n_gids) {
                        p.gids = calloc(defaults->n_gids, sizeof(gid_t));
                        if (!p.gids) {
                                r = sbx_fail(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        memcpy(p.gids, defaults->gids, defaults->n_gids * sizeof(gid_t));
                        p.n_gids = defaults->n_gids;
                }
        }

        v = json_object_get(process, "capabilities");
        if (v) {
                r = iso_caps_parse(v, SUB("capabilities"), &p.caps, err);
                if (r < 0)
                        goto fail;
        } else if (defaults)
                p.caps = defaults->caps;
        else {
                uint64_t m = iso_caps_default_mask();
                p.caps = (struct iso_caps){.bounding = m, .effective = m, .permitted = m};
        }

        v = json_object_get(process, "noNewPrivileges");
        if (v && !json_is_boolean(v)) {
                r = iso_json_path_error(err, SUB("noNewPrivileges"), "must be a boolean");
                goto fail;
        }
        p.no_new_privs = v ? json_is_true(v) : defaults ? defaults->no_new_privs : true;

        v = json_object_get(process, "rlimits");
        if (v) {
                r = rlimits_parse(v, SUB("rlimits"), &p, err);
                if (r < 0)
                        goto fail;
        } else if (defaults && defaults->n_rlimits) {
                p.rlimits = calloc(defaults->n_rlimits, sizeof(*p.rlimits));
                if (!p.rlimits) {
                        r = sbx_fail(err, -ENOMEM, "out of memory");
                        goto fail;
                }
                memcpy(p.rlimits, defaults->rlimits, defaults->n_rlimits * sizeof(*p.rlimits));
                p.n_rlimits = defaults->n_rlimits;
        }

        v = json_object_get(process, "oomScoreAdj");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < -1000 ||
                    json_integer_value(v) > 1000) {
                        r = iso_json_path_error(err, SUB("oomScoreAdj"),
                                                "must be an integer from -1000 to 1000");
                        goto fail;
                }
                p.has_oom_score_adj = true;
                p.oom_score_adj = (int)json_integer_value(v);
        } else if (defaults) {
                p.has_oom_score_adj = defaults->has_oom_score_adj;
                p.oom_score_adj = defaults->oom_score_adj;
        }

        for (const char *const *f =
                     (const char *const[]){"apparmorProfile", "selinuxLabel", "consoleSize",
                                           "ioPriority", "scheduler", "execCPUAffinity", NULL};
             *f; f++)
                if (json_object_get(process, *f) && !json_is_null(json_object_get(process, *f))) {
                        r = iso_json_path_error(err, SUB(*f), "not supported");
                        goto fail;
                }
        v = json_object_get(process, "terminal");
        if (v && !json_is_boolean(v)) {
                r = iso_json_path_error(err, SUB("terminal"), "must be a boolean");
                goto fail;
        }
        if (json_is_true(v)) {
                r = iso_json_path_error(err, SUB("terminal"),
                                        "not supported (output goes to the sandbox log)");
                goto fail;
        }
#undef SUB
        *ret = p;
        return 0;
fail:
        iso_proc_done(&p);
        return r;
}
