/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The spec's `mounts`: types a stock config.json uses, and their options. */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

static const struct {
        const char *name;
        unsigned long set, clear;
} mount_flags[] = {
        {"ro", MS_RDONLY, 0},
        {"rw", 0, MS_RDONLY},
        {"nosuid", MS_NOSUID, 0},
        {"suid", 0, MS_NOSUID},
        {"nodev", MS_NODEV, 0},
        {"dev", 0, MS_NODEV},
        {"noexec", MS_NOEXEC, 0},
        {"exec", 0, MS_NOEXEC},
        {"sync", MS_SYNCHRONOUS, 0},
        {"async", 0, MS_SYNCHRONOUS},
        {"dirsync", MS_DIRSYNC, 0},
        {"noatime", MS_NOATIME, 0},
        {"atime", 0, MS_NOATIME},
        {"nodiratime", MS_NODIRATIME, 0},
        {"diratime", 0, MS_NODIRATIME},
        {"relatime", MS_RELATIME, 0},
        {"norelatime", 0, MS_RELATIME},
        {"strictatime", MS_STRICTATIME, 0},
        {"nostrictatime", 0, MS_STRICTATIME},
        {"defaults", 0, 0},
};

static const struct {
        const char *name;
        unsigned long flags;
} propagation[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int data_append(struct iso_mount *m, const char *opt)
{
        size_t old = m->data ? strlen(m->data) : 0;
        char *d = realloc(m->data, old + strlen(opt) + 2);

        if (!d)
                return -ENOMEM;
        if (old)
                d[old++] = ',';
        strcpy(d + old, opt);
        m->data = d;
        return 0;
}

int iso_mount_options_parse(const json_t *options, const char *path, struct iso_mount *m,
                            struct sbx_error *err)
{
        char sub[96];
        size_t i;
        json_t *v;

        if (!options || json_is_null(options))
                return 0;
        if (!json_is_array(options))
                return iso_json_path_error(err, path, "must be an array of strings");
        json_array_foreach (options, i, v) {
                const char *o = json_string_value(v);
                size_t k;

                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (!o || strlen(o) != json_string_length(v))
                        return iso_json_path_error(err, sub, "must be a string");
                if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
                        m->bind = true;
                        m->recursive |= o[0] == 'r';
                        continue;
                }
                for (k = 0; k < ELEMENTSOF(mount_flags); k++)
                        if (strcmp(mount_flags[k].name, o) == 0) {
                                m->flags = (m->flags & ~mount_flags[k].clear) | mount_flags[k].set;
                                m->clear = (m->clear & ~mount_flags[k].set) | mount_flags[k].clear;
                                break;
                        }
                if (k < ELEMENTSOF(mount_flags))
                        continue;
                for (k = 0; k < ELEMENTSOF(propagation); k++)
                        if (strcmp(propagation[k].name, o) == 0) {
                                m->propagation = propagation[k].flags;
                                break;
                        }
                if (k < ELEMENTSOF(propagation))
                        continue;
                if (strcmp(o, "remount") == 0 || strcmp(o, "idmap") == 0 ||
                    strcmp(o, "ridmap") == 0 || strcmp(o, "tmpcopyup") == 0 ||
                    strcmp(o, "copy-symlink") == 0 || strncmp(o, "x-", 2) == 0)
                        return iso_json_path_error(err, sub, "option \"%s\" is not supported", o);
                if (strchr(o, ',') || o[0] == '\0')
                        return iso_json_path_error(err, sub, "not a valid mount option");
                if (data_append(m, o) < 0)
                        return sbx_fail(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static const char *const fs_types[] = {"proc",   "sysfs",   "tmpfs",  "devpts",
                                       "mqueue", "cgroup2", "cgroup", NULL};

int iso_mounts_parse(const json_t *mounts, struct iso_config *c, struct sbx_error *err)
{
        char sub[96];
        size_t i;
        json_t *v;
        int r;

        if (!mounts || json_is_null(mounts))
                return 0;
        if (!json_is_array(mounts))
                return iso_json_path_error(err, "mounts", "must be an array");
        if (json_array_size(mounts) > 256)
                return iso_json_path_error(err, "mounts", "more than 256 mounts");
        c->mounts = calloc(json_array_size(mounts) + 1, sizeof(*c->mounts));
        if (!c->mounts)
                return sbx_fail(err, -ENOMEM, "out of memory");
        json_array_foreach (mounts, i, v) {
                struct iso_mount *m = &c->mounts[c->n_mounts++];
                json_t *dst = json_object_get(v, "destination");
                json_t *src = json_object_get(v, "source");
                json_t *type = json_object_get(v, "type");
                const char *t;

                snprintf(sub, sizeof(sub), "mounts[%zu]", i);
                if (!json_is_object(v))
                        return iso_json_path_error(err, sub, "must be an object");
                snprintf(sub, sizeof(sub), "mounts[%zu].destination", i);
                if (!json_is_string(dst) ||
                    strlen(json_string_value(dst)) != json_string_length(dst))
                        return iso_json_path_error(err, sub, "must be a string");
                if (json_string_value(dst)[0] != '/')
                        return iso_json_path_error(err, sub,
                                                   "must be an absolute path (got \"%s\")",
                                                   json_string_value(dst));
                snprintf(sub, sizeof(sub), "mounts[%zu].source", i);
                if (src && !json_is_null(src) &&
                    (!json_is_string(src) ||
                     strlen(json_string_value(src)) != json_string_length(src)))
                        return iso_json_path_error(err, sub, "must be a string");
                snprintf(sub, sizeof(sub), "mounts[%zu].type", i);
                if (type && !json_is_null(type) && !json_is_string(type))
                        return iso_json_path_error(err, sub, "must be a string");
                if (json_object_get(v, "uidMappings") || json_object_get(v, "gidMappings")) {
                        snprintf(sub, sizeof(sub), "mounts[%zu].uidMappings", i);
                        return iso_json_path_error(err, sub, "idmapped mounts are not supported");
                }
                snprintf(sub, sizeof(sub), "mounts[%zu].options", i);
                r = iso_mount_options_parse(json_object_get(v, "options"), sub, m, err);
                if (r < 0)
                        return r;
                m->destination = strdup(json_string_value(dst));
                if (json_is_string(src) && json_string_length(src) > 0)
                        m->source = strdup(json_string_value(src));
                if (!m->destination ||
                    (json_is_string(src) && json_string_length(src) > 0 && !m->source))
                        return sbx_fail(err, -ENOMEM, "out of memory");

                t = json_string_value(type);
                if (t && strcmp(t, "bind") == 0)
                        m->bind = true;
                if (t && (strcmp(t, "bind") == 0 || strcmp(t, "none") == 0 || t[0] == '\0'))
                        t = NULL;
                if (!t && !m->bind) {
                        snprintf(sub, sizeof(sub), "mounts[%zu].type", i);
                        return iso_json_path_error(err, sub,
                                                   "required unless the options say bind or rbind");
                }
                if (t && m->bind)
                        m->bind = false,
                        m->recursive = false; /* "tmpfs" with "bind": the type wins */
                if (m->bind) {
                        snprintf(sub, sizeof(sub), "mounts[%zu].source", i);
                        if (!m->source)
                                return iso_json_path_error(err, sub, "a bind mount needs a source");
                        if (m->source[0] != '/')
                                return iso_json_path_error(err, sub,
                                                           "must be an absolute path (got \"%s\")",
                                                           m->source);
                        if (m->data) {
                                snprintf(sub, sizeof(sub), "mounts[%zu].options", i);
                                return iso_json_path_error(err, sub,
                                                           "unknown option \"%s\" for a bind mount",
                                                           m->data);
                        }
                        continue;
                }
                size_t k;
                for (k = 0; fs_types[k]; k++)
                        if (strcmp(fs_types[k], t) == 0)
                                break;
                if (!fs_types[k]) {
                        snprintf(sub, sizeof(sub), "mounts[%zu].type", i);
                        return iso_json_path_error(err, sub, "unsupported type \"%s\"", t);
                }
                /* "cgroup" in a stock config.json means the sandbox's own view of the
                 * unified hierarchy through its cgroup namespace (DESIGN.md §4). */
                m->fstype = strdup(strcmp(t, "cgroup") == 0 ? "cgroup2" : t);
                if (!m->fstype)
                        return sbx_fail(err, -ENOMEM, "out of memory");
                if (strcmp(m->fstype, "cgroup2") == 0) {
                        free(m->data); /* v1 controller names ("memory") mean nothing to cgroup2 */
                        m->data = NULL;
                }
        }
        return 0;
}
