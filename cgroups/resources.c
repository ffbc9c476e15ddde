/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OCI linux.resources → struct cg_resources.  Only parsing and validation here;
 * sandbox.c writes the values, devices.c turns the rules into a BPF program.
 */
#include "cgroups/cgroups-internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_resources_free(struct cg_resources *res)
{
        if (!res)
                return;
        free(res->cpuset_cpus);
        free(res->cpuset_mems);
        for (size_t i = 0; i < res->n_hugetlb; i++) {
                free(res->hugetlb[i].key);
                free(res->hugetlb[i].value);
        }
        free(res->hugetlb);
        for (size_t i = 0; i < res->n_unified; i++) {
                free(res->unified[i].key);
                free(res->unified[i].value);
        }
        free(res->unified);
        free(res->devices);
        for (size_t i = 0; i < res->n_unsupported; i++)
                free(res->unsupported[i]);
        free(res->unsupported);
        free(res);
}

uint64_t cg_shares_to_weight(uint64_t shares)
{
        /* cgroup v1 cpu.shares spans [2, 262144] = [2^1, 2^18] with default 1024, v2
         * cpu.weight spans [1, 10000] = [10^0, 10^4] with default 100.  The map crun
         * (1.23+) and runc (1.3.2+) use is a quadratic in log space through the three
         * points (2, 1), (1024, 100), (262144, 10000):
         *
         *     l = log2(shares);  weight = ceil(10^((l^2 + 125 l) / 612 - 7/34))
         *
         * (l^2 + 125 l - 126) / 612 factors as (l - 1)(l + 126) / 612, which keeps the
         * exponent exact (0, 2, 4) at the three anchors, so ceil() cannot round 100.0000001
         * up to 101.  Earlier runc/crun used the line 1 + ((shares - 2) * 9999) / 262142,
         * which maps the v1 default 1024 to 39; docs/cgroups.md has both. */
        if (shares <= 2)
                return 1;
        if (shares >= 262144)
                return 10000;
        double l = log2((double)shares);
        double w = ceil(pow(10.0, (l - 1.0) * (l + 126.0) / 612.0));
        return w < 1 ? 1 : w > 10000 ? 10000 : (uint64_t)w;
}

static int add_unsupported(struct cg_resources *res, const char *field, const char *why)
{
        char **n = realloc(res->unsupported, (res->n_unsupported + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        res->unsupported = n;
        if (asprintf(&n[res->n_unsupported], "%s: %s", field, why) < 0)
                return -ENOMEM;
        res->n_unsupported++;
        return 0;
}

/* An optional integer member: 0 absent (or null), 1 present, -EINVAL wrong type. */
static int get_int(const json_t *obj, const char *key, const char *ctx, int64_t *ret,
                   struct sbx_error *err)
{
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return sbx_fail(err, -EINVAL, "linux.resources.%s.%s: not an integer", ctx, key);
        *ret = (int64_t)json_integer_value(v);
        return 1;
}

static int get_string(const json_t *obj, const char *key, const char *ctx, char **ret,
                      struct sbx_error *err)
{
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return sbx_fail(err, -EINVAL, "linux.resources.%s.%s: not a string", ctx, key);
        char *s = strdup(json_string_value(v));
        if (!s)
                return sbx_fail(err, -ENOMEM, "out of memory");
        *ret = s;
        return 1;
}

static const json_t *get_object(const json_t *obj, const char *key, int *r, struct sbx_error *err)
{
        json_t *v = json_object_get(obj, key);
        *r = 0;
        if (!v || json_is_null(v))
                return NULL;
        if (!json_is_object(v)) {
                *r = sbx_fail(err, -EINVAL, "linux.resources.%s: not an object", key);
                return NULL;
        }
        return v;
}

static int parse_memory(struct cg_resources *res, const json_t *m, struct sbx_error *err)
{
        int64_t v;
        int r;

        /* As runc: 0 means "not set", -1 means unlimited. */
        if ((r = get_int(m, "limit", "memory", &v, err)) < 0)
                return r;
        if (r && v != 0) {
                if (v < -1)
                        return sbx_fail(err, -EINVAL, "linux.resources.memory.limit: %lld",
                                        (long long)v);
                res->has_memory_limit = true;
                res->memory_limit = v;
        }
        if ((r = get_int(m, "reservation", "memory", &v, err)) < 0)
                return r;
        if (r && v != 0) {
                if (v < -1)
                        return sbx_fail(err, -EINVAL, "linux.resources.memory.reservation: %lld",
                                        (long long)v);
                res->has_memory_reservation = true;
                res->memory_reservation = v;
        }
        if ((r = get_int(m, "swap", "memory", &v, err)) < 0)
                return r;
        if (r && v != 0) {
                /* OCI swap is memory+swap (the v1 memsw limit); v2 wants swap alone. */
                if (v < -1)
                        return sbx_fail(err, -EINVAL, "linux.resources.memory.swap: %lld",
                                        (long long)v);
                if (v != -1) {
                        if (!res->has_memory_limit || res->memory_limit == -1)
                                return sbx_fail(err, -EINVAL,
                                                "linux.resources.memory.swap is set but "
                                                "memory.limit is not");
                        if (v < res->memory_limit)
                                return sbx_fail(err, -EINVAL,
                                                "linux.resources.memory.swap (%lld) is below "
                                                "memory.limit (%lld): it counts memory+swap",
                                                (long long)v, (long long)res->memory_limit);
                }
                res->has_memory_swap = true;
                res->memory_swap = v;
        }
        static const char *const v1_only[] = {"kernel", "kernelTCP", "swappiness"};
        for (size_t i = 0; i < ELEMENTSOF(v1_only); i++) {
                json_t *x = json_object_get(m, v1_only[i]);
                if (x && !json_is_null(x)) {
                        char f[64];
                        snprintf(f, sizeof(f), "memory.%s", v1_only[i]);
                        if (add_unsupported(res, f, "cgroup v1 only") < 0)
                                return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }
        json_t *d = json_object_get(m, "disableOOMKiller");
        if (json_is_true(d) && add_unsupported(res, "memory.disableOOMKiller", "cgroup v1 only"))
                return sbx_fail(err, -ENOMEM, "out of memory");
        return 0;
}

static int parse_cpu(struct cg_resources *res, const json_t *c, struct sbx_error *err)
{
        int64_t v, quota = 0, period = 0;
        int r, hq, hp;

        if ((r = get_int(c, "shares", "cpu", &v, err)) < 0)
                return r;
        if (r && v != 0) {
                if (v < 0)
                        return sbx_fail(err, -EINVAL, "linux.resources.cpu.shares: %lld",
                                        (long long)v);
                res->has_cpu_shares = true;
                res->cpu_shares = (uint64_t)v;
        }
        if ((hq = get_int(c, "quota", "cpu", &quota, err)) < 0)
                return hq;
        if ((hp = get_int(c, "period", "cpu", &period, err)) < 0)
                return hp;
        if (period < 0)
                return sbx_fail(err, -EINVAL, "linux.resources.cpu.period: %lld",
                                (long long)period);
        if (quota != 0 || period != 0) {
                /* As runc: quota <= 0 is "max"; period 0 is the kernel's default 100ms. */
                res->has_cpu_max = true;
                res->cpu_quota = quota;
                res->cpu_period = period ? (uint64_t)period : 100000;
                if (res->cpu_period < 1000 || res->cpu_period > 1000000)
                        return sbx_fail(err, -EINVAL,
                                        "linux.resources.cpu.period: %llu is outside "
                                        "[1000, 1000000] microseconds",
                                        (unsigned long long)res->cpu_period);
                if (quota > 0 && quota < 1000)
                        return sbx_fail(err, -EINVAL,
                                        "linux.resources.cpu.quota: %lld is below 1000 "
                                        "microseconds",
                                        (long long)quota);
        }
        if ((r = get_int(c, "burst", "cpu", &v, err)) < 0)
                return r;
        if (r) {
                if (v < 0)
                        return sbx_fail(err, -EINVAL, "linux.resources.cpu.burst: %lld",
                                        (long long)v);
                res->has_cpu_burst = true;
                res->cpu_burst = (uint64_t)v;
        }
        if ((r = get_int(c, "idle", "cpu", &v, err)) < 0)
                return r;
        if (r) {
                if (v != 0 && v != 1)
                        return sbx_fail(err, -EINVAL, "linux.resources.cpu.idle: must be 0 or 1");
                res->has_cpu_idle = true;
                res->cpu_idle = v;
        }
        if ((r = get_string(c, "cpus", "cpu", &res->cpuset_cpus, err)) < 0)
                return r;
        if ((r = get_string(c, "mems", "cpu", &res->cpuset_mems, err)) < 0)
                return r;
        static const char *const rt[] = {"realtimeRuntime", "realtimePeriod"};
        for (size_t i = 0; i < ELEMENTSOF(rt); i++) {
                if (get_int(c, rt[i], "cpu", &v, err) == 1 && v != 0) {
                        char f[64];
                        snprintf(f, sizeof(f), "cpu.%s", rt[i]);
                        if (add_unsupported(res, f, "cgroup v1 only") < 0)
                                return sbx_fail(err, -ENOMEM, "out of memory");
                }
        }
        for (const char *p = res->cpuset_cpus; p && *p; p++)
                if (!strchr("0123456789,-", *p))
                        return sbx_fail(err, -EINVAL, "linux.resources.cpu.cpus: bad list \"%s\"",
                                        res->cpuset_cpus);
        for (const char *p = res->cpuset_mems; p && *p; p++)
                if (!strchr("0123456789,-", *p))
                        return sbx_fail(err, -EINVAL, "linux.resources.cpu.mems: bad list \"%s\"",
                                        res->cpuset_mems);
        return 0;
}

static int parse_access(const char *s, unsigned *ret)
{
        unsigned a = 0;
        if (!*s) {
                *ret = CG_DEV_ALL;
                return 0;
        }
        for (; *s; s++) {
                switch (*s) {
                case 'r':
                        a |= CG_DEV_READ;
                        break;
                case 'w':
                        a |= CG_DEV_WRITE;
                        break;
                case 'm':
                        a |= CG_DEV_MKNOD;
                        break;
                default:
                        return -EINVAL;
                }
        }
        *ret = a;
        return 0;
}

static int push_device(struct cg_resources *res, const struct cg_device_rule *rule)
{
        struct cg_device_rule *n = realloc(res->devices, (res->n_devices + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        res->devices = n;
        n[res->n_devices++] = *rule;
        return 0;
}

int cg_resources_add_device_rule(struct cg_resources *res, char type, int64_t major, int64_t minor,
                                 const char *access, bool allow, struct sbx_error *err)
{
        struct cg_device_rule rule = {.type = type, .major = major, .minor = minor, .allow = allow};
        if (res->n_devices >= 2 * CG_MAX_DEVICE_RULES)
                return sbx_fail(err, -EINVAL, "device rule: too many rules");
        if (type != 'a' && type != 'b' && type != 'c')
                return sbx_fail(err, -EINVAL, "device rule: type '%c' is not a, b or c", type);
        if (major < -1 || major > INT32_MAX || minor < -1 || minor > INT32_MAX)
                return sbx_fail(err, -EINVAL, "device rule: bad major/minor %lld:%lld",
                                (long long)major, (long long)minor);
        if (parse_access(access ? access : "", &rule.access) < 0)
                return sbx_fail(err, -EINVAL, "device rule: access \"%s\" is not a subset of rwm",
                                access);
        if (push_device(res, &rule) < 0)
                return sbx_fail(err, -ENOMEM, "out of memory");
        return 0;
}

static int parse_devices(struct cg_resources *res, const json_t *arr, struct sbx_error *err)
{
        if (!json_is_array(arr))
                return sbx_fail(err, -EINVAL, "linux.resources.devices: not an array");
        /* Each rule is up to 8 BPF instructions; keep the program far below the
         * verifier's limits (and its load time small). */
        if (json_array_size(arr) > CG_MAX_DEVICE_RULES)
                return sbx_fail(err, -EINVAL, "linux.resources.devices: more than %d rules",
                                CG_MAX_DEVICE_RULES);
        size_t i;
        json_t *d;
        json_array_foreach (arr, i, d) {
                if (!json_is_object(d))
                        return sbx_fail(err, -EINVAL, "linux.resources.devices[%zu]: not an object",
                                        i);
                json_t *allow = json_object_get(d, "allow");
                if (!json_is_boolean(allow))
                        return sbx_fail(err, -EINVAL,
                                        "linux.resources.devices[%zu].allow: missing or not a "
                                        "boolean",
                                        i);
                char type = 'a';
                json_t *t = json_object_get(d, "type");
                if (t && !json_is_null(t)) {
                        const char *ts = json_string_value(t);
                        if (!ts || strlen(ts) > 1 || (ts[0] && !strchr("abc", ts[0])))
                                return sbx_fail(err, -EINVAL,
                                                "linux.resources.devices[%zu].type: must be "
                                                "\"a\", \"b\" or \"c\"",
                                                i);
                        if (ts[0])
                                type = ts[0];
                }
                int64_t major = -1, minor = -1;
                char ctx[48];
                snprintf(ctx, sizeof(ctx), "devices[%zu]", i);
                if (get_int(d, "major", ctx, &major, err) < 0 ||
                    get_int(d, "minor", ctx, &minor, err) < 0)
                        return -EINVAL;
                const char *access = "";
                json_t *a = json_object_get(d, "access");
                if (a && !json_is_null(a)) {
                        if (!json_is_string(a))
                                return sbx_fail(err, -EINVAL,
                                                "linux.resources.devices[%zu].access: not a "
                                                "string",
                                                i);
                        access = json_string_value(a);
                }
                int r = cg_resources_add_device_rule(res, type, major, minor, access,
                                                     json_is_true(allow), err);
                if (r < 0)
                        return sbx_error_prefix(err, r, "linux.resources.devices[%zu]", i);
        }
        return 0;
}

static int push_kv(struct cg_kv **arr, size_t *n, const char *k, const char *v)
{
        struct cg_kv *a = realloc(*arr, (*n + 1) * sizeof(**arr));
        if (!a)
                return -ENOMEM;
        *arr = a;
        a[*n].key = strdup(k);
        a[*n].value = strdup(v);
        (*n)++;
        if (!a[*n - 1].key || !a[*n - 1].value)
                return -ENOMEM;
        return 0;
}

static int parse_hugetlb(struct cg_resources *res, const json_t *arr, struct sbx_error *err)
{
        if (!json_is_array(arr))
                return sbx_fail(err, -EINVAL, "linux.resources.hugepageLimits: not an array");
        if (json_array_size(arr) > 16)
                return sbx_fail(err, -EINVAL, "linux.resources.hugepageLimits: more than 16");
        size_t i;
        json_t *h;
        json_array_foreach (arr, i, h) {
                json_t *ps = json_object_get(h, "pageSize");
                json_t *lim = json_object_get(h, "limit");
                const char *s = json_string_value(ps);
                if (!s || !*s || strlen(s) > 16 || !json_is_integer(lim) ||
                    json_integer_value(lim) < 0)
                        return sbx_fail(err, -EINVAL,
                                        "linux.resources.hugepageLimits[%zu]: needs a pageSize "
                                        "string and a non-negative limit",
                                        i);
                for (const char *p = s; *p; p++)
                        if (!strchr("0123456789KMGB", *p))
                                return sbx_fail(err, -EINVAL,
                                                "linux.resources.hugepageLimits[%zu].pageSize: "
                                                "bad size \"%s\"",
                                                i, s);
                char v[32];
                snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(lim));
                if (push_kv(&res->hugetlb, &res->n_hugetlb, s, v) < 0)
                        return sbx_fail(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int parse_unified(struct cg_resources *res, const json_t *obj, struct sbx_error *err)
{
        if (!json_is_object(obj))
                return sbx_fail(err, -EINVAL, "linux.resources.unified: not an object");
        if (json_object_size(obj) > 256)
                return sbx_fail(err, -EINVAL, "linux.resources.unified: more than 256 keys");
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)obj, k, v) {
                const char *dot = strchr(k, '.');
                bool ok = dot && dot != k && dot[1] && !strchr(k, '/') && strlen(k) < 64;
                for (const char *p = k; ok && *p; p++)
                        ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                             *p == '_';
                if (ok && strncmp(k, "cgroup.", 7) == 0)
                        ok = strcmp(k, "cgroup.max.depth") == 0 ||
                             strcmp(k, "cgroup.max.descendants") == 0;
                if (!ok)
                        return sbx_fail(err, -EINVAL,
                                        "linux.resources.unified: \"%s\" is not a cgroup "
                                        "interface file we may write",
                                        k);
                if (!json_is_string(v) || strchr(json_string_value(v), '\n'))
                        return sbx_fail(err, -EINVAL,
                                        "linux.resources.unified.%s: not a one-line string", k);
                if (push_kv(&res->unified, &res->n_unified, k, json_string_value(v)) < 0)
                        return sbx_fail(err, -ENOMEM, "out of memory");
        }
        return 0;
}

int cg_resources_parse(const json_t *lr, struct cg_resources **ret, struct sbx_error *err)
{
        _cleanup_cg_resources_ struct cg_resources *res = calloc(1, sizeof(*res));
        int r;

        if (!res)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if (!lr || json_is_null(lr)) {
                *ret = TAKE_PTR(res);
                return 0;
        }
        if (!json_is_object(lr))
                return sbx_fail(err, -EINVAL, "linux.resources: not an object");

        const json_t *o;
        if ((o = get_object(lr, "memory", &r, err)) && (r = parse_memory(res, o, err)) < 0)
                return r;
        if (r < 0)
                return r;
        if ((o = get_object(lr, "cpu", &r, err)) && (r = parse_cpu(res, o, err)) < 0)
                return r;
        if (r < 0)
                return r;
        if ((o = get_object(lr, "pids", &r, err))) {
                int64_t v;
                if ((r = get_int(o, "limit", "pids", &v, err)) < 0)
                        return r;
                if (r && v != 0) {
                        res->has_pids_limit = true;
                        res->pids_limit = v < 0 ? -1 : v;
                }
        }
        if (r < 0)
                return r;
        json_t *d = json_object_get(lr, "devices");
        if (d && !json_is_null(d) && (r = parse_devices(res, d, err)) < 0)
                return r;
        json_t *h = json_object_get(lr, "hugepageLimits");
        if (h && !json_is_null(h) && (r = parse_hugetlb(res, h, err)) < 0)
                return r;
        json_t *u = json_object_get(lr, "unified");
        if (u && !json_is_null(u) && (r = parse_unified(res, u, err)) < 0)
                return r;
        static const char *const unsupported[] = {"blockIO", "network", "rdma"};
        for (size_t i = 0; i < ELEMENTSOF(unsupported); i++) {
                json_t *x = json_object_get(lr, unsupported[i]);
                if (x && !json_is_null(x) && !(json_is_object(x) && json_object_size(x) == 0) &&
                    add_unsupported(res, unsupported[i], "not implemented by sandboxd") < 0)
                        return sbx_fail(err, -ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(res);
        return 0;
}
