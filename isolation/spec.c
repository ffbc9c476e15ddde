/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OCI runtime spec subset of DESIGN.md §4 → struct iso_config.
 *
 * Unknown fields are ignored; a field of the subset with a wrong type or a
 * value that cannot be honoured is -EINVAL naming its JSON path.  Where the spec
 * says nothing, the secure defaults apply (docs/isolation.md).
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/syscall.h"

#define SPEC_MAX_BYTES (4u << 20)
#define SPEC_MAX_DEPTH 64

int iso_json_path_error(struct sbx_error *err, const char *path, const char *fmt, ...)
{
        char msg[200];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return sbx_fail(err, -EINVAL, "%s: %s", path, msg);
}

static int json_depth(const json_t *j, int depth)
{
        const char *k;
        json_t *v;
        size_t i;
        int d = depth;

        if (depth > SPEC_MAX_DEPTH)
                return depth;
        if (json_is_object(j)) {
                json_object_foreach ((json_t *)j, k, v) {
                        int x = json_depth(v, depth + 1);
                        if (x > d)
                                d = x;
                }
        } else if (json_is_array(j)) {
                json_array_foreach (j, i, v) {
                        int x = json_depth(v, depth + 1);
                        if (x > d)
                                d = x;
                }
        }
        return d;
}

void iso_strv_free(char **v)
{
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

/* An array of strings (or absent) → NULL-terminated vector. */
int iso_strv_parse(const json_t *a, const char *path, char ***ret, struct sbx_error *err)
{
        size_t i, n;
        json_t *v;
        char **s;

        if (!json_is_array(a))
                return iso_json_path_error(err, path, "must be an array of strings");
        n = json_array_size(a);
        s = calloc(n + 1, sizeof(char *));
        if (!s)
                return sbx_fail(err, -ENOMEM, "out of memory");
        json_array_foreach (a, i, v) {
                if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
                        char sub[128];

                        iso_strv_free(s);
                        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                        return iso_json_path_error(err, sub, "must be a string without NUL bytes");
                }
                s[i] = strdup(json_string_value(v));
                if (!s[i]) {
                        iso_strv_free(s);
                        return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }
        *ret = s;
        return 0;
}

char **iso_strv_copy(char *const *v)
{
        size_t n = 0;
        char **s;

        while (v && v[n])
                n++;
        s = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; s && i < n; i++)
                if (!(s[i] = strdup(v[i]))) {
                        iso_strv_free(s);
                        return NULL;
                }
        return s;
}

int iso_get_u32(const json_t *v, const char *path, uint32_t *ret, struct sbx_error *err)
{
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX)
                return iso_json_path_error(err, path, "must be an integer from 0 to 4294967295");
        *ret = (uint32_t)json_integer_value(v);
        return 0;
}

int iso_get_u32_opt(const json_t *v, const char *path, uint32_t *ret, struct sbx_error *err)
{
        if (!v) {
                *ret = 0;
                return 0;
        }
        return iso_get_u32(v, path, ret, err);
}

int iso_get_u64(const json_t *v, const char *path, uint64_t *ret, struct sbx_error *err)
{
        /* jansson stores integers as long long: values above INT64_MAX do not parse. */
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return iso_json_path_error(err, path, "must be a non-negative integer");
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

static const struct {
        const char *name;
        uint64_t flag;
} ns_types[] = {
        {"pid", CLONE_NEWPID},       {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
        {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
        {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

const char *iso_ns_type_name(uint64_t flag)
{
        for (size_t k = 0; k < ELEMENTSOF(ns_types); k++)
                if (ns_types[k].flag == flag)
                        return ns_types[k].name;
        return "unknown";
}

static int join_rank(uint64_t flag)
{
        static const uint64_t order[] = {CLONE_NEWUSER,   CLONE_NEWIPC, CLONE_NEWUTS,
                                         CLONE_NEWNET,    CLONE_NEWPID, CLONE_NEWNS,
                                         CLONE_NEWCGROUP, CLONE_NEWTIME};
        int i = 0;

        while (i < (int)ELEMENTSOF(order) && order[i] != flag)
                i++;
        return i;
}

static int join_order_cmp(const void *a, const void *b)
{
        return join_rank(((const struct iso_ns_join *)a)->flag) -
               join_rank(((const struct iso_ns_join *)b)->flag);
}

static int namespaces_parse(const json_t *a, struct iso_config *c, struct sbx_error *err)
{
        uint64_t seen = 0;
        char sub[64];
        size_t i;
        json_t *v;

        if (!a) {
                c->ns_new = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                            CLONE_NEWNET | CLONE_NEWCGROUP;
                return 0;
        }
        if (!json_is_array(a))
                return iso_json_path_error(err, "linux.namespaces", "must be an array");
        c->joins = calloc(json_array_size(a) + 1, sizeof(*c->joins));
        if (!c->joins)
                return sbx_fail(err, -ENOMEM, "out of memory");
        json_array_foreach (a, i, v) {
                const char *type = json_string_value(json_object_get(v, "type"));
                json_t *p = json_object_get(v, "path");
                size_t k;

                snprintf(sub, sizeof(sub), "linux.namespaces[%zu]", i);
                if (!json_is_object(v))
                        return iso_json_path_error(err, sub, "must be an object");
                if (!type)
                        return iso_json_path_error(err, sub, "type: must be a string");
                for (k = 0; k < ELEMENTSOF(ns_types); k++)
                        if (strcmp(ns_types[k].name, type) == 0)
                                break;
                if (k == ELEMENTSOF(ns_types))
                        return iso_json_path_error(err, sub, "unknown namespace type \"%s\"", type);
                if (seen & ns_types[k].flag)
                        return iso_json_path_error(err, sub, "duplicate namespace type \"%s\"",
                                                   type);
                seen |= ns_types[k].flag;
                if (p && !json_is_null(p) && !(json_is_string(p) && json_string_length(p) == 0)) {
                        if (!json_is_string(p) || json_string_value(p)[0] != '/')
                                return iso_json_path_error(err, strcat(sub, ".path"),
                                                           "must be an absolute path");
                        c->joins[c->n_joins].flag = ns_types[k].flag;
                        c->joins[c->n_joins].path = strdup(json_string_value(p));
                        if (!c->joins[c->n_joins++].path)
                                return sbx_fail(err, -ENOMEM, "out of memory");
                } else
                        c->ns_new |= ns_types[k].flag;
        }
        /* After a joined user namespace the new ones are created inside it, a new pid or
         * time namespace by a second process, whose pid is only known in our pid namespace
         * when no pid namespace is joined. */
        if ((seen & ~c->ns_new & CLONE_NEWUSER) && (seen & ~c->ns_new & CLONE_NEWPID) &&
            (c->ns_new & CLONE_NEWTIME))
                return iso_json_path_error(err, "linux.namespaces",
                                           "a new time namespace with joined user and pid "
                                           "namespaces is not supported");
        if (!(seen & CLONE_NEWNS))
                return iso_json_path_error(err, "linux.namespaces",
                                           "a mount namespace is required (pivot_root)");
        /* Joined in runc's order: the user namespace first (it decides what the others
         * may be joined and created with), the mount namespace late (the root is set up
         * inside it). */
        qsort(c->joins, c->n_joins, sizeof(*c->joins), join_order_cmp);
        return 0;
}

/* One idmap array → text for /proc/PID/uid_map. */
static int idmap_parse(const json_t *a, const char *path, char **ret, struct sbx_error *err)
{
        char *text = NULL, sub[64];
        size_t i, len = 0, size = 0;
        json_t *v;

        if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 340)
                return iso_json_path_error(err, path, "must be an array of 1 to 340 mappings");
        json_array_foreach (a, i, v) {
                uint32_t cid, hid, n;
                int r;

                snprintf(sub, sizeof(sub), "%s[%zu].containerID", path, i);
                if ((r = iso_get_u32(json_object_get(v, "containerID"), sub, &cid, err)) < 0)
                        goto fail;
                snprintf(sub, sizeof(sub), "%s[%zu].hostID", path, i);
                if ((r = iso_get_u32(json_object_get(v, "hostID"), sub, &hid, err)) < 0)
                        goto fail;
                snprintf(sub, sizeof(sub), "%s[%zu].size", path, i);
                if ((r = iso_get_u32(json_object_get(v, "size"), sub, &n, err)) < 0)
                        goto fail;
                if (n == 0) {
                        r = iso_json_path_error(err, sub, "must not be 0");
                        goto fail;
                }
                if (len + 40 > size) {
                        char *t = realloc(text, size = size + 256);
                        if (!t) {
                                r = sbx_fail(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        text = t;
                }
                len += snprintf(text + len, size - len, "%u %u %u\n", cid, hid, n);
                continue;
        fail:
                free(text);
                return r;
        }
        *ret = text;
        return 0;
}

static int string_list(const json_t *a, const char *path, char ***ret, size_t *ret_n,
                       struct sbx_error *err)
{
        char sub[64];
        int r;

        if (!a)
                return 0;
        r = iso_strv_parse(a, path, ret, err);
        if (r < 0)
                return r;
        for (*ret_n = 0; (*ret)[*ret_n]; (*ret_n)++)
                if ((*ret)[*ret_n][0] != '/') {
                        snprintf(sub, sizeof(sub), "%s[%zu]", path, *ret_n);
                        return iso_json_path_error(err, sub, "must be an absolute path");
                }
        return 0;
}

static int sysctls_parse(const json_t *o, struct iso_config *c, struct sbx_error *err)
{
        static const char *const ipc_keys[] = {
                "kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
                "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
                "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
        const char *key;
        char sub[160];
        json_t *v;

        if (!o)
                return 0;
        if (!json_is_object(o))
                return iso_json_path_error(err, "linux.sysctl", "must be an object");
        c->sysctls = calloc(json_object_size(o) + 1, sizeof(*c->sysctls));
        if (!c->sysctls)
                return sbx_fail(err, -ENOMEM, "out of memory");
        json_object_foreach ((json_t *)o, key, v) {
                struct iso_sysctl *s = &c->sysctls[c->n_sysctls];
                uint64_t need = 0;

                snprintf(sub, sizeof(sub), "linux.sysctl.\"%.100s\"", key);
                if (!json_is_string(v))
                        return iso_json_path_error(err, sub, "must be a string");
                if (strlen(key) == 0 || strlen(key) > 100 || strstr(key, "..") ||
                    key[strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789._-/")] != '\0')
                        return iso_json_path_error(err, sub, "not a valid sysctl name");
                if (strncmp(key, "net.", 4) == 0)
                        need = CLONE_NEWNET;
                else if (strncmp(key, "fs.mqueue.", 10) == 0)
                        need = CLONE_NEWIPC;
                else if (strcmp(key, "kernel.hostname") == 0 ||
                         strcmp(key, "kernel.domainname") == 0)
                        need = CLONE_NEWUTS;
                else
                        for (const char *const *k = ipc_keys; *k; k++)
                                if (strcmp(*k, key) == 0)
                                        need = CLONE_NEWIPC;
                if (!need)
                        return iso_json_path_error(err, sub, "not a namespaced sysctl");
                if (!(c->ns_new & need))
                        return iso_json_path_error(err, sub, "needs a new %s namespace",
                                                   need == CLONE_NEWNET   ? "network"
                                                   : need == CLONE_NEWIPC ? "ipc"
                                                                          : "uts");
                s->key = strdup(key);
                s->value = strdup(json_string_value(v));
                if (s->key && asprintf(&s->path, "/proc/sys/%s", key) < 0)
                        s->path = NULL;
                c->n_sysctls++;
                if (!s->key || !s->value || !s->path)
                        return sbx_fail(err, -ENOMEM, "out of memory");
                for (char *p = s->path + 10; *p; p++)
                        if (*p == '.')
                                *p = '/';
        }
        return 0;
}

void iso_config_free(struct iso_config *c)
{
        if (!c)
                return;
        json_decref(c->spec);
        iso_proc_done(&c->proc);
        free(c->root);
        free(c->hostname);
        for (size_t i = 0; i < c->n_joins; i++)
                free(c->joins[i].path);
        free(c->joins);
        free(c->uid_map);
        free(c->gid_map);
        for (size_t i = 0; i < c->n_mounts; i++) {
                free(c->mounts[i].destination);
                free(c->mounts[i].source);
                free(c->mounts[i].fstype);
                free(c->mounts[i].data);
        }
        free(c->mounts);
        iso_strv_free(c->masked);
        iso_strv_free(c->readonly);
        for (size_t i = 0; i < c->n_sysctls; i++) {
                free(c->sysctls[i].key);
                free(c->sysctls[i].path);
                free(c->sysctls[i].value);
        }
        free(c->sysctls);
        free(c->filter);
        free(c);
}

/* crun's defaults (crun spec), used when the spec has no maskedPaths/readonlyPaths. */
static const char *const default_masked[] = {"/proc/acpi",
                                             "/proc/asound",
                                             "/proc/kcore",
                                             "/proc/keys",
                                             "/proc/latency_stats",
                                             "/proc/timer_list",
                                             "/proc/timer_stats",
                                             "/proc/sched_debug",
                                             "/proc/scsi",
                                             "/sys/firmware",
                                             "/sys/fs/selinux",
                                             "/sys/dev/block",
                                             NULL};
static const char *const default_readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

static int parse_linux(const json_t *lx, struct iso_config *c, struct sbx_error *err)
{
        static const char *const unsupported[] = {
                "devices",     "intelRdt",    "rootfsPropagation", "mountLabel",
                "personality", "timeOffsets", "memoryPolicy",      NULL};
        json_t *v;
        int r;

        if (lx && !json_is_object(lx))
                return iso_json_path_error(err, "linux", "must be an object");
        for (const char *const *f = unsupported; *f; f++) {
                v = json_object_get(lx, *f);
                if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0) &&
                    !(json_is_string(v) && json_string_length(v) == 0)) {
                        char sub[64];
                        snprintf(sub, sizeof(sub), "linux.%s", *f);
                        return iso_json_path_error(err, sub, "not supported");
                }
        }
        r = namespaces_parse(json_object_get(lx, "namespaces"), c, err);
        if (r < 0)
                return r;

        v = json_object_get(lx, "uidMappings");
        if (v && !(json_is_array(v) && json_array_size(v) == 0) &&
            (r = idmap_parse(v, "linux.uidMappings", &c->uid_map, err)) < 0)
                return r;
        v = json_object_get(lx, "gidMappings");
        if (v && !(json_is_array(v) && json_array_size(v) == 0) &&
            (r = idmap_parse(v, "linux.gidMappings", &c->gid_map, err)) < 0)
                return r;
        if (c->ns_new & CLONE_NEWUSER) {
                if (!c->uid_map || !c->gid_map)
                        return iso_json_path_error(
                                err, c->uid_map ? "linux.gidMappings" : "linux.uidMappings",
                                "a new user namespace needs uid and gid mappings");
        } else if (c->uid_map || c->gid_map)
                return iso_json_path_error(err,
                                           c->uid_map ? "linux.uidMappings" : "linux.gidMappings",
                                           "mappings need a new user namespace");

        v = json_object_get(lx, "resources");
        if (v && !json_is_null(v) && !json_is_object(v))
                return iso_json_path_error(err, "linux.resources", "must be an object");

        v = json_object_get(lx, "maskedPaths");
        if (v)
                r = string_list(v, "linux.maskedPaths", &c->masked, &c->n_masked, err);
        else if (!(c->masked = iso_strv_copy((char *const *)default_masked)))
                r = sbx_fail(err, -ENOMEM, "out of memory");
        else
                c->n_masked = ELEMENTSOF(default_masked) - 1;
        if (r < 0)
                return r;
        v = json_object_get(lx, "readonlyPaths");
        if (v)
                r = string_list(v, "linux.readonlyPaths", &c->readonly, &c->n_readonly, err);
        else if (!(c->readonly = iso_strv_copy((char *const *)default_readonly)))
                r = sbx_fail(err, -ENOMEM, "out of memory");
        else
                c->n_readonly = ELEMENTSOF(default_readonly) - 1;
        if (r < 0)
                return r;

        r = sysctls_parse(json_object_get(lx, "sysctl"), c, err);
        if (r < 0)
                return r;

        v = json_object_get(lx, "seccomp");
        if (v && json_is_null(v)) {
                c->filter_allows_write = true;
                return 0; /* explicit null: no filter at all */
        }
        if (v && !json_is_object(v))
                return iso_json_path_error(err, "linux.seccomp", "must be an object");
        c->filter_allows_write = iso_seccomp_allows_write(v);
        return iso_seccomp_compile(v, &c->filter, &c->filter_len, err);
}

int iso_config_parse_json(json_t *spec, struct iso_config **ret_config, struct sbx_error *err)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        const json_t *root, *v;
        int r;

        if (!json_is_object(spec))
                return sbx_fail(err, -EINVAL, "spec: must be a JSON object");
        if (json_depth(spec, 0) > SPEC_MAX_DEPTH)
                return sbx_fail(err, -EINVAL, "spec: nested deeper than %d levels", SPEC_MAX_DEPTH);
        c = calloc(1, sizeof(*c));
        if (!c)
                return sbx_fail(err, -ENOMEM, "out of memory");
        c->spec = json_incref(spec);

        v = json_object_get(spec, "ociVersion");
        if (v && !json_is_string(v))
                return iso_json_path_error(err, "ociVersion", "must be a string");
        if (json_object_get(spec, "hooks") && json_object_size(json_object_get(spec, "hooks")))
                return iso_json_path_error(err, "hooks", "not supported");

        root = json_object_get(spec, "root");
        if (!json_is_object(root))
                return iso_json_path_error(err, "root", "must be an object with a path");
        v = json_object_get(root, "path");
        if (!json_is_string(v) || json_string_length(v) == 0)
                return iso_json_path_error(err, "root.path", "must be a string");
        if (json_string_value(v)[0] != '/')
                return iso_json_path_error(err, "root.path",
                                           "must be an absolute path (got \"%s\")",
                                           json_string_value(v));
        if (!(c->root = strdup(json_string_value(v))))
                return sbx_fail(err, -ENOMEM, "out of memory");
        v = json_object_get(root, "readonly");
        if (v && !json_is_boolean(v))
                return iso_json_path_error(err, "root.readonly", "must be a boolean");
        c->root_readonly = json_is_true(v);

        v = json_object_get(spec, "process");
        if (v && !json_is_null(v)) {
                r = iso_proc_parse(v, "process", NULL, &c->proc, err);
                if (r < 0)
                        return r;
        } else {
                r = iso_proc_parse(NULL, "process", NULL, &c->proc, err);
                if (r < 0)
                        return r;
        }
        c->has_process = c->proc.args != NULL;

        r = parse_linux(json_object_get(spec, "linux"), c, err);
        if (r < 0)
                return r;

        v = json_object_get(spec, "hostname");
        if (v && !json_is_string(v))
                return iso_json_path_error(err, "hostname", "must be a string");
        if (v && json_string_length(v) > 0) {
                if (json_string_length(v) > 64)
                        return iso_json_path_error(err, "hostname", "longer than 64 bytes");
                if (!(c->ns_new & CLONE_NEWUTS))
                        return iso_json_path_error(err, "hostname", "needs a new uts namespace");
                if (!(c->hostname = strdup(json_string_value(v))))
                        return sbx_fail(err, -ENOMEM, "out of memory");
        }
        v = json_object_get(spec, "domainname");
        if (v && json_is_string(v) && json_string_length(v) > 0)
                return iso_json_path_error(err, "domainname", "not supported");

        r = iso_mounts_parse(json_object_get(spec, "mounts"), c, err);
        if (r < 0)
                return r;

        *ret_config = TAKE_PTR(c);
        return 0;
}

int iso_config_parse(const char *json, size_t len, struct iso_config **ret_config,
                     struct sbx_error *err)
{
        json_error_t jerr;
        json_t *j;
        int r;

        if (len > SPEC_MAX_BYTES)
                return sbx_fail(err, -EINVAL, "spec: larger than %u bytes", SPEC_MAX_BYTES);
        j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return sbx_fail(err, -EINVAL, "spec: invalid JSON at line %d, column %d: %s",
                                jerr.line, jerr.column, jerr.text);
        r = iso_config_parse_json(j, ret_config, err);
        json_decref(j);
        return r;
}

const char *iso_config_hostname(const struct iso_config *c)
{
        return c->hostname;
}

uint64_t iso_config_namespaces(const struct iso_config *c)
{
        uint64_t f = c->ns_new;

        for (size_t i = 0; i < c->n_joins; i++)
                f |= c->joins[i].flag;
        return f;
}

bool iso_config_has_netns(const struct iso_config *c)
{
        return c->ns_new & CLONE_NEWNET;
}

bool iso_config_takes_netns_fd(const struct iso_config *c)
{
        return (c->ns_new & CLONE_NEWNET) && !(iso_config_namespaces(c) & CLONE_NEWUSER);
}

bool iso_config_has_userns(const struct iso_config *c)
{
        return c->ns_new & CLONE_NEWUSER;
}

const json_t *iso_config_resources(const struct iso_config *c)
{
        const json_t *r = json_object_get(json_object_get(c->spec, "linux"), "resources");

        return json_is_object(r) ? r : NULL;
}

bool iso_config_terminal(const struct iso_config *c)
{
        return c->terminal;
}

bool iso_config_has_process(const struct iso_config *c)
{
        return c->has_process;
}

char *const *iso_config_args(const struct iso_config *c)
{
        return c->proc.args;
}

int iso_task_config_parse(const json_t *process, const struct iso_config *sandbox,
                          struct iso_task_config **ret_task, struct sbx_error *err)
{
        struct iso_task_config *t;
        int r;

        if (!json_is_object(process))
                return iso_json_path_error(err, "process", "must be an object");
        t = calloc(1, sizeof(*t));
        if (!t)
                return sbx_fail(err, -ENOMEM, "out of memory");
        r = iso_proc_parse(process, "process", &sandbox->proc, &t->proc, err);
        if (r < 0) {
                free(t);
                return r;
        }
        if (!t->proc.args) {
                iso_task_config_free(t);
                return iso_json_path_error(err, "process.args", "required for a task");
        }
        *ret_task = t;
        return 0;
}

void iso_task_config_free(struct iso_task_config *t)
{
        if (!t)
                return;
        iso_proc_done(&t->proc);
        free(t);
}
