/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device rules enforced by the BPF_PROG_TYPE_CGROUP_DEVICE program: processes born
 * in the sandbox's cgroup open what the rules allow and get EPERM otherwise.
 */
#include "test-cgroups-util.h"

#include <bpf/bpf.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

TestSuite(cgroups_devices, .init = t_setup, .fini = t_teardown);

static char t_dir[256];
static char t_blk[300]; /* a block device node 7:0 (loop0) made by the test */

static void make_node(void)
{
        struct statvfs vfs;
        if (statvfs("/tmp", &vfs) == 0 && (vfs.f_flag & ST_NODEV))
                T_SKIP("/tmp is mounted nodev: cannot make a device node to open");
        snprintf(t_dir, sizeof(t_dir), "/tmp/sbx-devtest-XXXXXX");
        cr_assert_not_null(mkdtemp(t_dir));
        snprintf(t_blk, sizeof(t_blk), "%s/blk", t_dir);
        cr_assert_eq(mknod(t_blk, S_IFBLK | 0600, makedev(7, 0)), 0, "mknod: %s", strerror(errno));
}

static void drop_node(void)
{
        unlink(t_blk);
        rmdir(t_dir);
}

struct open_req {
        const char *path;
        int flags;
};

/* Exit code: 0 opened, else the errno. */
static int child_open(void *arg)
{
        const struct open_req *r = arg;
        int fd = open(r->path, r->flags | O_CLOEXEC);
        if (fd < 0)
                return errno & 0xff;
        close(fd);
        return 0;
}

static int child_mknod(void *arg)
{
        const char *p = arg;
        if (mknod(p, S_IFCHR | 0600, makedev(1, 1)) < 0)
                return errno & 0xff;
        unlink(p);
        return 0;
}

static int open_in(struct cg_sandbox *sb, const char *path, int flags)
{
        struct open_req r = {path, flags};
        struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_open, &r);
        return t_wait(&c);
}

static struct cg_sandbox *create_with(const char *id, const char *json)
{
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        struct cg_resources *res = t_resources(json);
        cr_assert_eq(cg_sandbox_create(t_root, "dev", id, res, 0, &sb, &err), 0, "%s", err.message);
        cg_resources_free(res);
        return sb;
}

static void remove_sb(struct cg_sandbox *sb)
{
        struct sbx_error err = {};
        cr_assert_eq(cg_sandbox_wait_empty(sb, 30000, &err), 0, "%s", err.message);
        cr_assert_eq(cg_sandbox_remove(sb, &err), 0, "%s", err.message);
        cg_sandbox_free(sb);
}

/* Allowed: anything but EPERM (the node is loop0; without the loop driver the
 * open gets past the device check and fails with ENXIO). */
#define cr_assert_allowed(k, what) cr_assert_neq(k, EPERM, "%s: denied", what)

Test(cgroups_devices, default_allows_standard_nodes_only)
{
        T_REQUIRE_ROOT();
        make_node();
        /* NULL resources = the default rules; a stock config.json's deny-all first rule
         * gives the same. */
        const char *specs[] = {NULL, "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}"};
        for (size_t i = 0; i < ELEMENTSOF(specs); i++) {
                char id[16];
                snprintf(id, sizeof(id), "d%zu", i);
                struct cg_sandbox *sb = create_with(id, specs[i]);
                cr_assert_eq(open_in(sb, "/dev/null", O_RDWR), 0, "/dev/null rw");
                cr_assert_eq(open_in(sb, "/dev/zero", O_RDONLY), 0, "/dev/zero r");
                cr_assert_eq(open_in(sb, "/dev/urandom", O_RDONLY), 0, "/dev/urandom r");
                cr_assert_eq(open_in(sb, t_blk, O_RDONLY), EPERM, "block 7:0 denied");
                char p[400];
                snprintf(p, sizeof(p), "%s/mem", t_dir);
                struct t_child c = t_spawn(cg_sandbox_init_fd(sb), child_mknod, p);
                cr_assert_eq(t_wait(&c), EPERM, "mknod of c 1:1 denied");
                /* Outside the sandbox the node works (no rule applies there). */
                struct open_req r = {t_blk, O_RDONLY};
                c = t_spawn(-1, child_open, &r);
                cr_assert_allowed(t_wait(&c), "outside");
                remove_sb(sb);
        }
        drop_node();
        t_assert_nothing_left();
}

Test(cgroups_devices, allow_rule_makes_it_work_last_match_wins)
{
        T_REQUIRE_ROOT();
        make_node();
        struct cg_sandbox *sb = create_with(
                "allow", "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                         "{\"allow\": true, \"type\": \"b\", \"major\": 7, \"minor\": 0, "
                         "\"access\": \"rw\"}]}");
        cr_assert_allowed(open_in(sb, t_blk, O_RDONLY), "allowed by b 7:0 rw");
        cr_assert_eq(open_in(sb, "/dev/null", O_RDWR), 0);
        remove_sb(sb);

        /* A later deny overrides the earlier allow. */
        sb = create_with("later", "{\"devices\": [{\"allow\": true, \"type\": \"b\", \"major\": 7, "
                                  "\"minor\": 0, \"access\": \"rwm\"},"
                                  "{\"allow\": false, \"type\": \"b\", \"major\": 7}]}");
        cr_assert_eq(open_in(sb, t_blk, O_RDONLY), EPERM, "last match (deny b 7:*) wins");
        remove_sb(sb);

        /* Access is a subset match: "r" allows reading, not writing. */
        sb = create_with("ronly", "{\"devices\": [{\"allow\": true, \"type\": \"b\", \"major\": 7, "
                                  "\"minor\": 0, \"access\": \"r\"}]}");
        cr_assert_allowed(open_in(sb, t_blk, O_RDONLY), "read allowed");
        cr_assert_eq(open_in(sb, t_blk, O_RDWR), EPERM, "write denied");
        remove_sb(sb);

        /* Allow everything ("a", no major/minor): the program ends at that rule. */
        sb = create_with("all", "{\"devices\": [{\"allow\": true, \"access\": \"rwm\"}]}");
        cr_assert_allowed(open_in(sb, t_blk, O_RDWR), "allow-all");
        remove_sb(sb);
        drop_node();
        t_assert_nothing_left();
}

Test(cgroups_devices, no_devices_flag_attaches_nothing)
{
        T_REQUIRE_ROOT();
        make_node();
        struct sbx_error err = {};
        struct cg_sandbox *sb = NULL;
        cr_assert_eq(cg_sandbox_create(t_root, "dev", "nodev", NULL, CG_NO_DEVICES, &sb, &err), 0,
                     "%s", err.message);
        cr_assert_allowed(open_in(sb, t_blk, O_RDONLY), "no program, no denial");
        remove_sb(sb);
        drop_node();
        t_assert_nothing_left();
}

Test(cgroups_devices, max_rule_count_loads_and_more_is_refused)
{
        T_REQUIRE_ROOT();
        /* 4096 rules with every condition: the longest program the parser lets through
         * must pass the verifier. */
        size_t cap = 4096 * 96 + 64, len = 0;
        char *json = malloc(cap);
        cr_assert_not_null(json);
        len += (size_t)snprintf(json + len, cap - len, "{\"devices\": [");
        for (int i = 0; i < 4096; i++)
                len += (size_t)snprintf(json + len, cap - len,
                                        "%s{\"allow\": %s, \"type\": \"c\", \"major\": 10, "
                                        "\"minor\": %d, \"access\": \"rw\"}",
                                        i ? "," : "", i % 2 ? "true" : "false", i);
        snprintf(json + len, cap - len, "]}");
        struct cg_sandbox *sb = create_with("many", json);
        cr_assert_eq(open_in(sb, "/dev/null", O_RDWR), 0);
        remove_sb(sb);

        /* One more rule is InvalidArgument at parse time. */
        json[len] = '\0';
        strcat(json, ",{\"allow\": true}]}");
        json_error_t jerr;
        json_t *j = json_loads(json, 0, &jerr);
        cr_assert_not_null(j, "%s", jerr.text);
        struct cg_resources *res = NULL;
        struct sbx_error err = {};
        cr_assert_eq(cg_resources_parse(j, &res, &err), -EINVAL);
        cr_assert(strstr(err.message, "more than 4096 rules"), "%s", err.message);
        json_decref(j);
        free(json);
        t_assert_nothing_left();
}

Test(cgroups_devices, program_cache_shares_and_evicts_correctly)
{
        T_REQUIRE_ROOT();
        make_node();
        const char *allow = "{\"devices\": [{\"allow\": true, \"type\": \"b\", \"major\": 7, "
                            "\"minor\": 0, \"access\": \"r\"}]}";
        struct cg_sandbox *a = create_with("a", allow);
        struct cg_sandbox *b = create_with("b", NULL);
        struct cg_sandbox *c = create_with("c", allow); /* same list as a: cached program */
        cr_assert_allowed(open_in(a, t_blk, O_RDONLY), "a");
        cr_assert_eq(open_in(b, t_blk, O_RDONLY), EPERM, "b");
        cr_assert_allowed(open_in(c, t_blk, O_RDONLY), "c");

        /* Twelve more distinct lists push a's program out of the cache: the cgroups it
         * is attached to keep it, and a fresh sandbox with a's list loads it again. */
        struct cg_sandbox *more[12];
        for (int i = 0; i < 12; i++) {
                char id[16], json[160];
                snprintf(id, sizeof(id), "m%d", i);
                snprintf(json, sizeof(json),
                         "{\"devices\": [{\"allow\": true, \"type\": \"c\", \"major\": 10, "
                         "\"minor\": %d, \"access\": \"rw\"}]}",
                         i);
                more[i] = create_with(id, json);
        }
        cr_assert_allowed(open_in(a, t_blk, O_RDONLY), "a after eviction");
        cr_assert_eq(open_in(more[11], t_blk, O_RDONLY), EPERM, "m11");
        struct cg_sandbox *d = create_with("d", allow);
        cr_assert_allowed(open_in(d, t_blk, O_RDONLY), "d");
        cr_assert_eq(open_in(d, t_blk, O_RDWR), EPERM, "d: read only");

        for (int i = 0; i < 12; i++)
                remove_sb(more[i]);
        remove_sb(a);
        remove_sb(b);
        remove_sb(c);
        remove_sb(d);
        drop_node();
        t_assert_nothing_left();
}

/* How many device programs a cgroup has: attached to it, or in effect for it. */
static int n_device_progs(const char *path, bool effective)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint32_t ids[8], n = ELEMENTSOF(ids), flags = 0;

        cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
        cr_assert_eq(bpf_prog_query(fd, BPF_CGROUP_DEVICE, effective ? BPF_F_QUERY_EFFECTIVE : 0,
                                    &flags, ids, &n),
                     0, "query %s: %s", path, strerror(errno));
        return (int)n;
}

/* The root keeps one allow-all program attached (through a BPF link) once it has attached
 * a device program, so that the kernel's static key stays on between sandboxes: it must
 * take no rule away, and it must go with the root. */
Test(cgroups_devices, root_holds_the_key_with_an_allow_all_program_and_drops_it)
{
        T_REQUIRE_ROOT();
        make_node();
        cr_assert_eq(n_device_progs(t_root_path, false), 0, "no program before any sandbox");
        struct cg_sandbox *sb = create_with("k", NULL);
        char path[1024];
        snprintf(path, sizeof(path), "%s", cg_sandbox_path(sb));
        cr_assert_eq(n_device_progs(t_root_path, false), 1, "the root's allow-all");
        cr_assert_eq(n_device_progs(path, true), 2, "in effect for the sandbox: its own + root's");
        cr_assert_eq(open_in(sb, t_blk, O_RDONLY), EPERM, "the sandbox's rules still deny");
        cr_assert_eq(open_in(sb, "/dev/null", O_RDWR), 0, "and still allow");
        remove_sb(sb);

        /* After the last sandbox the holder stays (that is its point) ... */
        cr_assert_eq(n_device_progs(t_root_path, false), 1, "held between sandboxes");
        /* ... and goes with the root: nothing is left attached on the host. */
        cg_root_free(t_root);
        t_root = NULL;
        cr_assert_eq(n_device_progs(t_root_path, false), 0, "released with the root");
        drop_node();
}
