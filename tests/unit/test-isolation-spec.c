/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* isolation/spec*.c: the OCI subset, its defaults, and every rejection naming its JSON path. */
#include "isolation/isolation.h"
#include "isolation/isolation-internal.h"

#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static json_t *spec_with(const char *path_json_patch)
{
        json_t *spec = iso_default_spec_json(), *patch;
        json_error_t e;

        cr_assert_not_null(spec);
        if (!path_json_patch)
                return spec;
        patch = json_loads(path_json_patch, 0, &e);
        cr_assert_not_null(patch, "bad patch: %s", e.text);
        /* One level of merge: top-level keys replace, "linux"/"process" merge one deeper. */
        const char *k;
        json_t *v;
        json_object_foreach (patch, k, v) {
                json_t *old = json_object_get(spec, k);
                if ((strcmp(k, "linux") == 0 || strcmp(k, "process") == 0) && json_is_object(old))
                        json_object_update(old, v);
                else
                        json_object_set(spec, k, v);
        }
        json_decref(patch);
        return spec;
}

static void expect_error(const char *patch, const char *message)
{
        struct sbx_error err = {};
        struct iso_config *c = NULL;
        json_t *spec = spec_with(patch);
        char *text = json_dumps(spec, 0);
        int r = iso_config_parse(text, strlen(text), &c, &err);

        cr_expect_eq(r, -EINVAL, "%s: r=%d (%s)", patch, r, err.message);
        cr_expect_str_eq(err.message, message);
        cr_expect_null(c);
        free(text);
        json_decref(spec);
}

Test(isolation_spec, default_spec_parses_with_secure_defaults)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct sbx_error err = {};
        char *text = iso_default_spec();

        cr_assert_not_null(text);
        cr_expect(text[strlen(text) - 1] == '\n');
        cr_assert_eq(iso_config_parse(text, strlen(text), &c, &err), 0, "%s", err.message);
        cr_expect_str_eq(iso_config_hostname(c), "sandbox");
        cr_expect_eq(iso_config_namespaces(c), CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS |
                                                       CLONE_NEWIPC | CLONE_NEWNET |
                                                       CLONE_NEWCGROUP);
        cr_expect(iso_config_has_netns(c));
        cr_expect_not(iso_config_has_userns(c));
        cr_expect(iso_config_has_process(c));
        cr_expect_str_eq(iso_config_args(c)[0], "sh");
        cr_expect_null(iso_config_resources(c));
        free(text);
}

Test(isolation_spec, minimal_spec_and_resources_are_borrowed)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct sbx_error err = {};
        const char *s = "{\"root\": {\"path\": \"/\"}, \"unknownField\": 1,"
                        " \"linux\": {\"resources\": {\"pids\": {\"limit\": 5}}}}";

        cr_assert_eq(iso_config_parse(s, strlen(s), &c, &err), 0, "%s", err.message);
        cr_expect_not(iso_config_has_process(c));
        cr_expect_null(iso_config_hostname(c));
        cr_assert_not_null(iso_config_resources(c));
        cr_expect_eq(json_integer_value(json_object_get(
                             json_object_get(iso_config_resources(c), "pids"), "limit")),
                     5);
}

Test(isolation_spec, invalid_json_and_duplicates)
{
        struct iso_config *c = NULL;
        struct sbx_error err = {};
        const char *dup = "{\"root\": {\"path\": \"/\"}, \"root\": {\"path\": \"/\"}}";

        cr_expect_eq(iso_config_parse("{", 1, &c, &err), -EINVAL);
        cr_expect(strncmp(err.message, "spec: invalid JSON", 18) == 0, "%s", err.message);
        cr_expect_eq(iso_config_parse(dup, strlen(dup), &c, &err), -EINVAL);
        cr_expect_eq(iso_config_parse("[]", 2, &c, &err), -EINVAL);
        cr_expect_str_eq(err.message, "spec: must be a JSON object");
}

Test(isolation_spec, root_errors)
{
        expect_error("{\"root\": {\"path\": \"rootfs\"}}",
                     "root.path: must be an absolute path (got \"rootfs\")");
        expect_error("{\"root\": {\"path\": 3}}", "root.path: must be a string");
        expect_error("{\"root\": {\"path\": \"/\", \"readonly\": \"yes\"}}",
                     "root.readonly: must be a boolean");
        expect_error("{\"root\": null}", "root: must be an object with a path");
}

Test(isolation_spec, namespace_errors)
{
        expect_error(
                "{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"bogus\"}]}}",
                "linux.namespaces[1]: unknown namespace type \"bogus\"");
        expect_error(
                "{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"mount\"}]}}",
                "linux.namespaces[1]: duplicate namespace type \"mount\"");
        expect_error("{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}",
                     "linux.namespaces: a mount namespace is required (pivot_root)");
        expect_error("{\"linux\": {\"namespaces\": [{\"type\": \"mount\", "
                     "\"path\": \"ns/mnt\"}]}}",
                     "linux.namespaces[0].path: must be an absolute path");
        expect_error("{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}}",
                     "hostname: needs a new uts namespace");
}

Test(isolation_spec, user_namespace_needs_mappings)
{
        expect_error("{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"uts\"}, "
                     "{\"type\": \"user\"}]}}",
                     "linux.uidMappings: a new user namespace needs uid and gid mappings");
        expect_error("{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"uts\"}, "
                     "{\"type\": \"user\"}], \"uidMappings\": [{\"containerID\": 0, \"hostID\": "
                     "1000, \"size\": 1}]}}",
                     "linux.gidMappings: a new user namespace needs uid and gid mappings");
        expect_error("{\"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, "
                     "\"size\": 0}]}}",
                     "linux.uidMappings[0].size: must not be 0");
}

Test(isolation_spec, capability_errors)
{
        expect_error("{\"process\": {\"capabilities\": {\"bounding\": [\"CAP_KILL\", "
                     "\"CAP_NOPE\"]}}}",
                     "process.capabilities.bounding[1]: unknown capability \"CAP_NOPE\"");
        expect_error("{\"process\": {\"capabilities\": {\"ambient\": [\"all\"]}}}",
                     "process.capabilities.ambient[0]: unknown capability \"all\"");
        expect_error("{\"process\": {\"capabilities\": {\"effective\": [\"CAP_KILL\"]}}}",
                     "process.capabilities.effective: must be a subset of permitted");
}

Test(isolation_spec, seccomp_errors)
{
        expect_error("{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                     "\"syscalls\": [{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\"}, "
                     "{\"names\": [\"read\", \"nosuchcall\"], \"action\": \"SCMP_ACT_KILL\"}]}}}",
                     "linux.seccomp.syscalls[1].names[1]: unknown syscall \"nosuchcall\"");
        expect_error("{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_NOPE\"}}}",
                     "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");
        expect_error("{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                     "\"architectures\": [\"SCMP_ARCH_VAX\"]}}}",
                     "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_VAX\"");
        expect_error("{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                     "\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", "
                     "\"args\": [{\"index\": 9, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}}}",
                     "linux.seccomp.syscalls[0].args[0].index: must be an integer from 0 to 5");
        expect_error("{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                     "\"listenerPath\": \"/run/x.sock\"}}}",
                     "linux.seccomp.listenerPath: not supported");
}

Test(isolation_spec, seccomp_full_profile_compiles)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        struct sbx_error err = {};
        json_t *spec = spec_with(
                "{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", "
                "\"defaultErrnoRet\": 1, \"architectures\": [\"SCMP_ARCH_X86_64\", "
                "\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"], \"syscalls\": [{\"names\": [\"read\", "
                "\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"personality\"], "
                "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 8, "
                "\"op\": \"SCMP_CMP_EQ\"}]}, {\"names\": [\"getpid\"], \"action\": "
                "\"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}}}");

        cr_expect_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
        json_decref(spec);
}

/* The built-in profile written out (for crun and runc in bench/start) must be the same
 * profile: it compiles to the very filter a spec without linux.seccomp gets. */
Test(isolation_spec, default_seccomp_written_out_compiles_to_the_builtin_filter)
{
        struct sock_filter *builtin = NULL, *written = NULL;
        size_t n_builtin = 0, n_written = 0;
        struct sbx_error err = {};
        json_t *sc = iso_default_seccomp_json();

        cr_assert_not_null(sc);
        cr_assert_gt(json_array_size(json_object_get(
                             json_array_get(json_object_get(sc, "syscalls"), 0), "names")),
                     40, "the denied calls are listed");
        cr_assert_eq(iso_seccomp_compile(NULL, &builtin, &n_builtin, &err), 0, "%s", err.message);
        cr_assert_eq(iso_seccomp_compile(sc, &written, &n_written, &err), 0, "%s", err.message);
        cr_assert_eq(n_written, n_builtin, "%zu instructions against %zu", n_written, n_builtin);
        cr_assert_eq(memcmp(written, builtin, n_builtin * sizeof(*builtin)), 0,
                     "the same instructions");
        free(builtin);
        free(written);
        json_decref(sc);
}

Test(isolation_spec, mount_errors)
{
        expect_error("{\"mounts\": [{\"destination\": \"/a\", \"type\": \"tmpfs\"}, "
                     "{\"destination\": \"rel\", \"type\": \"tmpfs\"}]}",
                     "mounts[1].destination: must be an absolute path (got \"rel\")");
        expect_error("{\"mounts\": [{\"destination\": \"/a\", \"type\": \"nfs\", \"source\": "
                     "\"srv:/x\"}]}",
                     "mounts[0].type: unsupported type \"nfs\"");
        expect_error("{\"mounts\": [{\"destination\": \"/a\", \"type\": \"bind\"}]}",
                     "mounts[0].source: a bind mount needs a source");
        expect_error("{\"mounts\": [{\"destination\": \"/a\", \"source\": \"/b\"}]}",
                     "mounts[0].type: required unless the options say bind or rbind");
        expect_error("{\"mounts\": [{\"destination\": \"/a\", \"type\": \"bind\", \"source\": "
                     "\"/b\", \"options\": [\"rbind\", \"idmap\"]}]}",
                     "mounts[0].options[1]: option \"idmap\" is not supported");
}

Test(isolation_spec, process_errors)
{
        expect_error("{\"process\": {\"args\": [1]}}",
                     "process.args[0]: must be a string without NUL bytes");
        expect_error("{\"process\": {\"cwd\": \"tmp\"}}", "process.cwd: must be an absolute path");
        expect_error("{\"process\": {\"terminal\": true}}",
                     "process.terminal: not supported (output goes to the sandbox log)");
        expect_error("{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_BOGUS\", \"hard\": 1, "
                     "\"soft\": 1}]}}",
                     "process.rlimits[0]: unknown rlimit type \"RLIMIT_BOGUS\"");
        expect_error("{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1, "
                     "\"soft\": 2}]}}",
                     "process.rlimits[0].soft: soft limit above the hard limit");
        expect_error("{\"process\": {\"oomScoreAdj\": 5000}}",
                     "process.oomScoreAdj: must be an integer from -1000 to 1000");
        expect_error("{\"process\": {\"user\": {\"uid\": -1}}}",
                     "process.user.uid: must be an integer from 0 to 4294967295");
}

Test(isolation_spec, sysctl_rules)
{
        expect_error("{\"linux\": {\"sysctl\": {\"vm.swappiness\": \"10\"}}}",
                     "linux.sysctl.\"vm.swappiness\": not a namespaced sysctl");
        expect_error("{\"linux\": {\"sysctl\": {\"net.ipv4.ip_forward\": 1}}}",
                     "linux.sysctl.\"net.ipv4.ip_forward\": must be a string");
        expect_error("{\"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"uts\"}], "
                     "\"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}}}",
                     "linux.sysctl.\"net.ipv4.ip_forward\": needs a new network namespace");
        expect_error("{\"linux\": {\"sysctl\": {\"../x\": \"1\"}}}",
                     "linux.sysctl.\"../x\": not a valid sysctl name");
}

Test(isolation_spec, task_config_inherits_from_the_sandbox)
{
        _cleanup_(iso_config_freep) struct iso_config *c = NULL;
        _cleanup_(iso_task_config_freep) struct iso_task_config *t = NULL;
        struct sbx_error err = {};
        json_t *spec = spec_with(NULL), *p;

        cr_assert_eq(iso_config_parse_json(spec, &c, &err), 0, "%s", err.message);
        p = json_pack("{s:[s]}", "args", "/bin/true");
        cr_expect_eq(iso_task_config_parse(p, c, &t, &err), 0, "%s", err.message);
        json_decref(p);
        p = json_pack("{s:s}", "cwd", "/");
        cr_expect_eq(iso_task_config_parse(p, c, &t, &err), -EINVAL);
        cr_expect_str_eq(err.message, "process.args: required for a task");
        json_decref(p);
        json_decref(spec);
}
