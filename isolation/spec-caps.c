/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* process.capabilities: names resolved with libcap, sets kept as bit masks so the
 * clone3 child can apply them with capset(2) and prctl(2) without allocating. */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

/* Docker's default set (moby oci/caps/defaults.go). */
const char *const iso_default_caps[] = {"CAP_CHOWN",
                                        "CAP_DAC_OVERRIDE",
                                        "CAP_FSETID",
                                        "CAP_FOWNER",
                                        "CAP_MKNOD",
                                        "CAP_NET_RAW",
                                        "CAP_SETGID",
                                        "CAP_SETUID",
                                        "CAP_SETFCAP",
                                        "CAP_SETPCAP",
                                        "CAP_NET_BIND_SERVICE",
                                        "CAP_SYS_CHROOT",
                                        "CAP_KILL",
                                        "CAP_AUDIT_WRITE",
                                        NULL};

uint64_t iso_caps_default_mask(void)
{
        uint64_t m = 0;

        for (const char *const *n = iso_default_caps; *n; n++) {
                cap_value_t v;
                if (cap_from_name(*n, &v) == 0)
                        m |= 1ULL << v;
        }
        return m;
}

static int set_parse(const json_t *a, const char *path, uint64_t *ret, struct sbx_error *err)
{
        char sub[96];
        size_t i;
        json_t *v;

        *ret = 0;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return iso_json_path_error(err, path, "must be an array of strings");
        json_array_foreach (a, i, v) {
                const char *name = json_string_value(v);
                cap_value_t cap;

                snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
                if (!name)
                        return iso_json_path_error(err, sub, "must be a string");
                /* cap_from_name() also takes "all" and numbers: only "CAP_" names are
                 * capability names in a spec. */
                if (strncasecmp(name, "CAP_", 4) != 0 || strlen(name) != json_string_length(v) ||
                    cap_from_name(name, &cap) < 0 || cap < 0 || cap > 63 ||
                    (unsigned)cap >= (unsigned)cap_max_bits())
                        return iso_json_path_error(err, sub, "unknown capability \"%s\"", name);
                *ret |= 1ULL << cap;
        }
        return 0;
}

int iso_caps_parse(const json_t *caps, const char *path, struct iso_caps *ret,
                   struct sbx_error *err)
{
        static const char *const names[] = {"bounding", "effective", "inheritable", "permitted",
                                            "ambient"};
        uint64_t *sets[] = {&ret->bounding, &ret->effective, &ret->inheritable, &ret->permitted,
                            &ret->ambient};
        char sub[96];
        int r;

        if (!json_is_object(caps))
                return iso_json_path_error(err, path, "must be an object");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(sub, sizeof(sub), "%s.%s", path, names[i]);
                r = set_parse(json_object_get(caps, names[i]), sub, sets[i], err);
                if (r < 0)
                        return r;
        }
        snprintf(sub, sizeof(sub), "%s.effective", path);
        if (ret->effective & ~ret->permitted)
                return iso_json_path_error(err, sub, "must be a subset of permitted");
        snprintf(sub, sizeof(sub), "%s.ambient", path);
        if (ret->ambient & ~ret->permitted)
                return iso_json_path_error(err, sub, "must be a subset of permitted");
        /* The kernel raises an ambient capability only if it is inheritable too; stock
         * configs (crun spec, runc spec) list ambient without inheritable and mean it. */
        ret->inheritable |= ret->ambient;
        return 0;
}
