/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The default spec: what `sandboxctl spec` prints (like `crun spec`), runnable without an
 * image — the host's root, read-only, with fresh /proc, /dev, /sys, /tmp and /run. */
#include "isolation/isolation-internal.h"

#include <stdlib.h>
#include <string.h>

json_t *iso_default_spec_json(void)
{
        json_t *caps = json_array(), *spec;

        if (!caps)
                return NULL;
        for (const char *const *n = iso_default_caps; *n; n++)
                json_array_append_new(caps, json_string(*n));
        spec = json_pack(
                "{s:s, s:{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:{s:O, s:O, s:O}, s:b},"
                " s:{s:s, s:b}, s:s,"
                " s:[{s:s, s:s, s:s, s:[s, s, s]},"          /* /proc */
                "    {s:s, s:s, s:s, s:[s, s, s, s]},"       /* /dev */
                "    {s:s, s:s, s:s, s:[s, s, s, s, s, s]}," /* /dev/pts */
                "    {s:s, s:s, s:s, s:[s, s, s, s, s]},"    /* /dev/shm */
                "    {s:s, s:s, s:s, s:[s, s, s]},"          /* /dev/mqueue */
                "    {s:s, s:s, s:s, s:[s, s, s, s]},"       /* /sys */
                "    {s:s, s:s, s:s, s:[s, s, s, s, s]},"    /* /sys/fs/cgroup */
                "    {s:s, s:s, s:s, s:[s, s, s]},"          /* /tmp */
                "    {s:s, s:s, s:s, s:[s, s, s, s]}],"      /* /run */
                " s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}],"
                "    s:[s, s, s, s, s, s, s, s, s, s, s, s],"
                "    s:[s, s, s, s, s]}}",
                "ociVersion", "1.0.2", "process", "terminal", 0, "user", "uid", 0, "gid", 0, "args",
                "sh", "env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm", "cwd", "/", "capabilities", "bounding", caps, "effective", caps,
                "permitted", caps, "noNewPrivileges", 1, "root", "path", "/", "readonly", 1,
                "hostname", "sandbox", "mounts", "destination", "/proc", "type", "proc", "source",
                "proc", "options", "nosuid", "noexec", "nodev", "destination", "/dev", "type",
                "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755",
                "size=65536k", "destination", "/dev/pts", "type", "devpts", "source", "devpts",
                "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
                "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid",
                "noexec", "nodev", "mode=1777", "size=65536k", "destination", "/dev/mqueue", "type",
                "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev", "destination",
                "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid", "noexec", "nodev",
                "ro", "destination", "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup",
                "options", "nosuid", "noexec", "nodev", "relatime", "ro", "destination", "/tmp",
                "type", "tmpfs", "source", "tmpfs", "options", "nosuid", "nodev", "mode=1777",
                "destination", "/run", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
                "nodev", "noexec", "mode=755", "linux", "namespaces", "type", "pid", "type",
                "network", "type", "ipc", "type", "uts", "type", "mount", "type", "cgroup",
                "maskedPaths", "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                "/proc/scsi", "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block", "readonlyPaths",
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
        json_decref(caps);
        return spec;
}

char *iso_default_spec(void)
{
        json_t *spec = iso_default_spec_json();
        char *text, *nl;
        size_t n;

        if (!spec)
                return NULL;
        text = json_dumps(spec, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
        json_decref(spec);
        if (!text)
                return NULL;
        n = strlen(text);
        nl = realloc(text, n + 2);
        if (!nl) {
                free(text);
                return NULL;
        }
        nl[n] = '\n';
        nl[n + 1] = '\0';
        return nl;
}
