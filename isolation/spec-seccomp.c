/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * linux.seccomp → a BPF program, compiled once with libseccomp when the spec is
 * parsed and exported with seccomp_export_bpf(); the clone3 child only loads it
 * with seccomp(SECCOMP_SET_MODE_FILTER) (ENVIRONMENT.md: ~35 µs instead of ~100).
 */
#include "isolation/isolation-internal.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);

/* The syscalls Docker's default profile does not allow (it is an allow-list;
 * this is its complement for what exists on x86-64 and arm64), denied with EPERM. */
static const char *const default_denied[] = {"acct",
                                             "add_key",
                                             "bpf",
                                             "clock_adjtime",
                                             "clock_settime",
                                             "create_module",
                                             "delete_module",
                                             "finit_module",
                                             "fsconfig",
                                             "fsmount",
                                             "fsopen",
                                             "fspick",
                                             "get_kernel_syms",
                                             "get_mempolicy",
                                             "init_module",
                                             "io_pgetevents",
                                             "io_uring_enter",
                                             "io_uring_register",
                                             "io_uring_setup",
                                             "ioperm",
                                             "iopl",
                                             "kcmp",
                                             "kexec_file_load",
                                             "kexec_load",
                                             "keyctl",
                                             "lookup_dcookie",
                                             "mbind",
                                             "mount",
                                             "mount_setattr",
                                             "move_mount",
                                             "move_pages",
                                             "name_to_handle_at",
                                             "nfsservctl",
                                             "open_by_handle_at",
                                             "open_tree",
                                             "perf_event_open",
                                             "pivot_root",
                                             "process_vm_readv",
                                             "process_vm_writev",
                                             "ptrace",
                                             "query_module",
                                             "quotactl",
                                             "quotactl_fd",
                                             "reboot",
                                             "request_key",
                                             "set_mempolicy",
                                             "setns",
                                             "settimeofday",
                                             "stime",
                                             "swapoff",
                                             "swapon",
                                             "sysfs",
                                             "_sysctl",
                                             "umount",
                                             "umount2",
                                             "unshare",
                                             "uselib",
                                             "userfaultfd",
                                             "ustat",
                                             "vm86",
                                             "vm86old",
                                             "fanotify_init",
                                             "syslog",
                                             "vhangup",
                                             NULL};

static int parse_action(const char *name, uint32_t errno_ret, uint32_t *ret)
{
        static const struct {
                const char *name;
                uint32_t action;
        } actions[] = {
                {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
                {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
                {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
                {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
                {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
                {"SCMP_ACT_LOG", SCMP_ACT_LOG},
        };

        if (!name)
                return -EINVAL;
        if (strcmp(name, "SCMP_ACT_ERRNO") == 0) {
                *ret = SCMP_ACT_ERRNO(errno_ret);
                return 0;
        }
        if (strcmp(name, "SCMP_ACT_TRACE") == 0) {
                *ret = SCMP_ACT_TRACE(errno_ret);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (strcmp(actions[i].name, name) == 0) {
                        *ret = actions[i].action;
                        return 0;
                }
        return -EINVAL;
}

static int parse_errno_ret(const json_t *v, const char *path, uint32_t *ret, struct sbx_error *err)
{
        if (!v) {
                *ret = EPERM;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
                return iso_json_path_error(err, path, "must be an integer from 0 to 4095");
        *ret = (uint32_t)json_integer_value(v);
        return 0;
}

static int parse_arg(const json_t *a, const char *path, struct scmp_arg_cmp *ret,
                     struct sbx_error *err)
{
        static const struct {
                const char *name;
                enum scmp_compare op;
        } ops[] = {
                {"SCMP_CMP_NE", SCMP_CMP_NE},
                {"SCMP_CMP_LT", SCMP_CMP_LT},
                {"SCMP_CMP_LE", SCMP_CMP_LE},
                {"SCMP_CMP_EQ", SCMP_CMP_EQ},
                {"SCMP_CMP_GE", SCMP_CMP_GE},
                {"SCMP_CMP_GT", SCMP_CMP_GT},
                {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
        };
        const json_t *idx = json_object_get(a, "index"), *val = json_object_get(a, "value");
        const json_t *val2 = json_object_get(a, "valueTwo");
        const char *op = json_string_value(json_object_get(a, "op"));
        char sub[160];

        if (!json_is_object(a))
                return iso_json_path_error(err, path, "must be an object");
        snprintf(sub, sizeof(sub), "%s.index", path);
        if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
                return iso_json_path_error(err, sub, "must be an integer from 0 to 5");
        snprintf(sub, sizeof(sub), "%s.value", path);
        if (!json_is_integer(val))
                return iso_json_path_error(err, sub, "must be an integer");
        snprintf(sub, sizeof(sub), "%s.valueTwo", path);
        if (val2 && !json_is_integer(val2))
                return iso_json_path_error(err, sub, "must be an integer");
        snprintf(sub, sizeof(sub), "%s.op", path);
        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (op && strcmp(ops[i].name, op) == 0) {
                        *ret = (struct scmp_arg_cmp){
                                .arg = (unsigned)json_integer_value(idx),
                                .op = ops[i].op,
                                .datum_a = (scmp_datum_t)json_integer_value(val),
                                .datum_b = val2 ? (scmp_datum_t)json_integer_value(val2) : 0,
                        };
                        return 0;
                }
        return iso_json_path_error(err, sub, "unknown operator \"%s\"", op ?: "");
}

static int add_rules(scmp_filter_ctx ctx, const json_t *rule, const char *path,
                     uint32_t default_action, struct sbx_error *err)
{
        struct scmp_arg_cmp args[6];
        const json_t *names = json_object_get(rule, "names"), *a = json_object_get(rule, "args");
        uint32_t action, eret;
        unsigned n_args = 0;
        char sub[160];
        size_t i;
        json_t *v;
        int r;

        if (!json_is_object(rule))
                return iso_json_path_error(err, path, "must be an object");
        snprintf(sub, sizeof(sub), "%s.errnoRet", path);
        r = parse_errno_ret(json_object_get(rule, "errnoRet"), sub, &eret, err);
        if (r < 0)
                return r;
        snprintf(sub, sizeof(sub), "%s.action", path);
        if (parse_action(json_string_value(json_object_get(rule, "action")), eret, &action) < 0)
                return iso_json_path_error(err, sub, "unknown action \"%s\"",
                                           json_string_value(json_object_get(rule, "action"))
                                                   ?: "");
        if (a && !json_is_null(a)) {
                snprintf(sub, sizeof(sub), "%s.args", path);
                if (!json_is_array(a) || json_array_size(a) > 6)
                        return iso_json_path_error(err, sub, "must be an array of at most 6");
                json_array_foreach (a, i, v) {
                        snprintf(sub, sizeof(sub), "%s.args[%zu]", path, i);
                        r = parse_arg(v, sub, &args[n_args++], err);
                        if (r < 0)
                                return r;
                }
        }
        snprintf(sub, sizeof(sub), "%s.names", path);
        if (!json_is_array(names))
                return iso_json_path_error(err, sub, "must be an array of syscall names");
        json_array_foreach (names, i, v) {
                const char *name = json_string_value(v);
                int nr;

                snprintf(sub, sizeof(sub), "%s.names[%zu]", path, i);
                if (!name || strlen(name) != json_string_length(v))
                        return iso_json_path_error(err, sub, "must be a string");
                nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR)
                        return iso_json_path_error(err, sub, "unknown syscall \"%s\"", name);
                if (action == default_action)
                        continue; /* libseccomp refuses rules that repeat the default */
                r = seccomp_rule_add_array(ctx, action, nr, n_args, n_args ? args : NULL);
                if (r < 0)
                        return iso_json_path_error(err, sub, "rule for \"%s\" rejected: %s", name,
                                                   strerror(-r));
        }
        return 0;
}

/* Exports the filter through a memfd (libseccomp 2.5 has no in-memory export). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **ret, size_t *ret_len,
                      struct sbx_error *err)
{
        _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        struct sock_filter *f;
        struct stat st;
        int r;

        if (fd < 0)
                return sbx_fail_errno(err, -errno, "seccomp: memfd_create");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return sbx_fail(err, r, "seccomp: export: %s", strerror(-r));
        if (fstat(fd, &st) < 0)
                return sbx_fail_errno(err, -errno, "seccomp: fstat");
        if (st.st_size == 0 || st.st_size % sizeof(struct sock_filter) ||
            st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return sbx_fail(err, -E2BIG, "seccomp: filter of %lld bytes is not loadable",
                                (long long)st.st_size);
        f = malloc(st.st_size);
        if (!f)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if (pread(fd, f, st.st_size, 0) != st.st_size) {
                free(f);
                return sbx_fail(err, -EIO, "seccomp: short read of the exported filter");
        }
        *ret = f;
        *ret_len = st.st_size / sizeof(struct sock_filter);
        return 0;
}

/* Whether a filter compiled from sc lets write(2) through whatever its arguments: the
 * default profile does; a spec's does when no rule names write with another action or with
 * argument conditions, and either a rule or the default action allows it.  Conservative:
 * anything unclear says no. */
bool iso_seccomp_allows_write(const json_t *sc)
{
        const json_t *rules, *rule, *name;
        uint32_t action;
        bool allowed;
        size_t i, k;

        if (!sc)
                return true;
        if (parse_action(json_string_value(json_object_get(sc, "defaultAction")), 0, &action) < 0)
                return false;
        allowed = action == SCMP_ACT_ALLOW || action == SCMP_ACT_LOG;
        rules = json_object_get(sc, "syscalls");
        json_array_foreach (rules, i, rule) {
                const json_t *args = json_object_get(rule, "args");
                bool names_write = false;

                json_array_foreach (json_object_get(rule, "names"), k, name)
                        if (json_is_string(name) && strcmp(json_string_value(name), "write") == 0)
                                names_write = true;
                if (!names_write)
                        continue;
                if (parse_action(json_string_value(json_object_get(rule, "action")), 0, &action) <
                            0 ||
                    (action != SCMP_ACT_ALLOW && action != SCMP_ACT_LOG) ||
                    (args && !json_is_null(args) && json_array_size(args) > 0))
                        return false;
                allowed = true;
        }
        return allowed;
}

json_t *iso_default_seccomp_json(void)
{
        json_t *names = json_array();

        for (const char *const *n = default_denied; names && *n; n++) {
                int nr = seccomp_syscall_resolve_name(*n);
                if (nr != __NR_SCMP_ERROR && nr >= 0 &&
                    json_array_append_new(names, json_string(*n)) < 0)
                        json_decref(TAKE_PTR(names));
        }
        if (!names)
                return NULL;
        return json_pack("{s:s, s:[{s:o, s:s, s:i}, {s:[s], s:s, s:i}]}", "defaultAction",
                         "SCMP_ACT_ALLOW", "syscalls", "names", names, "action", "SCMP_ACT_ERRNO",
                         "errnoRet", EPERM, "names", "clone3", "action", "SCMP_ACT_ERRNO",
                         "errnoRet", ENOSYS);
}

int iso_seccomp_compile(const json_t *sc, struct sock_filter **ret_filter, size_t *ret_len,
                        struct sbx_error *err)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        uint32_t default_action, eret;
        char sub[64];
        size_t i;
        json_t *v;
        int r;

        if (!sc) {
                ctx = seccomp_init(SCMP_ACT_ALLOW);
                if (!ctx)
                        return sbx_fail(err, -ENOMEM, "seccomp: init failed");
                for (const char *const *n = default_denied; *n; n++) {
                        int nr = seccomp_syscall_resolve_name(*n);
                        if (nr == __NR_SCMP_ERROR || nr < 0)
                                continue; /* not on this architecture */
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                        if (r < 0)
                                return sbx_fail(err, r, "seccomp: default rule %s: %s", *n,
                                                strerror(-r));
                }
                /* Docker: ENOSYS for clone3 so that libcs fall back to clone(2), whose
                 * flags a filter can see. */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
                if (r < 0)
                        return sbx_fail(err, r, "seccomp: default rule clone3: %s", strerror(-r));
                return export_bpf(ctx, ret_filter, ret_len, err);
        }

        r = parse_errno_ret(json_object_get(sc, "defaultErrnoRet"), "linux.seccomp.defaultErrnoRet",
                            &eret, err);
        if (r < 0)
                return r;
        if (parse_action(json_string_value(json_object_get(sc, "defaultAction")), eret,
                         &default_action) < 0)
                return iso_json_path_error(
                        err, "linux.seccomp.defaultAction", "unknown action \"%s\"",
                        json_string_value(json_object_get(sc, "defaultAction")) ?: "");
        for (const char *const *f =
                     (const char *const[]){"listenerPath", "listenerMetadata", "flags", NULL};
             *f; f++) {
                v = json_object_get(sc, *f);
                if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0) &&
                    !(json_is_string(v) && json_string_length(v) == 0)) {
                        snprintf(sub, sizeof(sub), "linux.seccomp.%s", *f);
                        return iso_json_path_error(err, sub, "not supported");
                }
        }
        ctx = seccomp_init(default_action);
        if (!ctx)
                return sbx_fail(err, -ENOMEM, "seccomp: init failed");
        v = json_object_get(sc, "architectures");
        if (v && !json_is_null(v)) {
                json_t *a;

                if (!json_is_array(v))
                        return iso_json_path_error(err, "linux.seccomp.architectures",
                                                   "must be an array");
                json_array_foreach (v, i, a) {
                        const char *name = json_string_value(a);
                        char lower[32];
                        uint32_t arch;
                        size_t k;

                        snprintf(sub, sizeof(sub), "linux.seccomp.architectures[%zu]", i);
                        if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0 ||
                            strlen(name + 10) >= sizeof(lower))
                                return iso_json_path_error(err, sub, "unknown architecture \"%s\"",
                                                           name ?: "");
                        for (k = 0; name[10 + k]; k++)
                                lower[k] = (char)(name[10 + k] >= 'A' && name[10 + k] <= 'Z'
                                                          ? name[10 + k] - 'A' + 'a'
                                                          : name[10 + k]);
                        lower[k] = '\0';
                        arch = seccomp_arch_resolve_name(lower);
                        if (!arch)
                                return iso_json_path_error(err, sub, "unknown architecture \"%s\"",
                                                           name);
                        r = seccomp_arch_add(ctx, arch);
                        if (r < 0 && r != -EEXIST)
                                return iso_json_path_error(err, sub, "%s", strerror(-r));
                }
        }
        v = json_object_get(sc, "syscalls");
        if (v && !json_is_null(v)) {
                json_t *rule;

                if (!json_is_array(v))
                        return iso_json_path_error(err, "linux.seccomp.syscalls",
                                                   "must be an array");
                json_array_foreach (v, i, rule) {
                        char path[64];
                        snprintf(path, sizeof(path), "linux.seccomp.syscalls[%zu]", i);
                        r = add_rules(ctx, rule, path, default_action, err);
                        if (r < 0)
                                return r;
                }
        }
        return export_bpf(ctx, ret_filter, ret_len, err);
}
