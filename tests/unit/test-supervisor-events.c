/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure pieces of issue #7: event filters (events.c), KEY=VALUE state files and process
 * identity checks (adopt.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "supervisor/adopt-internal.h"
#include "supervisor/events-internal.h"

static bool matches(const char *filter, const char *event_json, const char *labels_json)
{
        struct sup_event_filter *f = NULL;
        struct sbx_error err = {0};
        json_t *ev = json_loads(event_json, 0, NULL);
        json_t *labels = labels_json ? json_loads(labels_json, 0, NULL) : NULL;

        cr_assert_eq(sup_event_filter_parse(filter, &f, &err), 0, "%s: %s", filter, err.message);
        bool m = sup_event_filter_match(f, ev, labels);
        sup_event_filter_free(f);
        json_decref(ev);
        json_decref(labels);
        return m;
}

Test(events_filter, fields_and_operators)
{
        const char *ev = "{\"type\":\"task.exited\",\"sandbox_id\":\"a\",\"task_id\":\"t1\","
                         "\"exit_status\":137}";

        cr_assert(matches("type==task.exited", ev, NULL));
        cr_assert(!matches("type==sandbox.created", ev, NULL));
        cr_assert(matches("type!=sandbox.created", ev, NULL));
        cr_assert(matches("type~=\"^task\\\\.\"", ev, NULL));
        cr_assert(matches("id==a,task_id==t1", ev, NULL), "id is sandbox_id; ',' is AND");
        cr_assert(!matches("id==a,task_id==t2", ev, NULL));
        cr_assert(matches("exit_status==137", ev, NULL), "numbers compare as text");
        cr_assert(matches("task_id", ev, NULL), "presence");
        cr_assert(!matches("namespace", ev, NULL));
        cr_assert(matches("labels.\"app/x\"==\"web 1\"", ev, "{\"app/x\":\"web 1\"}"));
        cr_assert(!matches("labels.app==web", ev, NULL));
}

Test(events_filter, containerd_quoting)
{
        const char *ev = "{\"type\":\"task.exited\",\"sandbox_id\":\"a.b\",\"task_id\":\"x/y|z\"}";

        cr_assert(matches("type~=/^task\\.(started|exited)$/", ev, NULL), "/regex/");
        cr_assert(matches("type~=|^task\\.ex|", ev, NULL), "|regex|");
        cr_assert(matches("task_id~=/^x\\/y/", ev, NULL), "\\/ inside /.../ is a /");
        cr_assert(matches("task_id~=|y\\|z$|", ev, NULL), "\\| inside |...| is a |");
        cr_assert(!matches("id~=/^a\\.c$/", ev, NULL), "other backslashes reach the regex");
        cr_assert(matches("id==/a.b/", ev, NULL), "/.../ quotes == values too");
        cr_assert(matches("type==\"task\\x2eexited\"", ev, NULL), "\\x");
        cr_assert(matches("type==\"task\\056exited\"", ev, NULL), "octal");
        cr_assert(matches("type==\"task\\u002eexited\"", ev, NULL), "\\u");
        cr_assert(matches("labels.\"k\\u00e9\"==\"v\\tw\"", ev, "{\"k\u00e9\":\"v\\tw\"}"));
}

Test(events_filter, quoting_errors)
{
        struct sup_event_filter *f = NULL;
        struct sbx_error err = {0};

        cr_assert_eq(sup_event_filter_parse("type~=/open", &f, &err), -EINVAL);
        cr_assert(strstr(err.message, "unterminated"), "%s", err.message);
        cr_assert_eq(sup_event_filter_parse("type==\"\\q\"", &f, &err), -EINVAL);
        cr_assert(strstr(err.message, "unknown escape"), "%s", err.message);
        cr_assert_eq(sup_event_filter_parse("type==\"\\x0\"", &f, &err), -EINVAL);
        cr_assert_eq(sup_event_filter_parse("type==\"\\000\"", &f, &err), -EINVAL);
        cr_assert_eq(sup_event_filter_parse("type==\"\\ud800\"", &f, &err), -EINVAL);
        cr_assert_eq(sup_event_filter_parse("type~=|a\\", &f, &err), -EINVAL);
}

Test(events_filter, errors_name_the_position)
{
        struct sup_event_filter *f = NULL;
        struct sbx_error err = {0};

        cr_assert_eq(sup_event_filter_parse("type==", &f, &err), -EINVAL);
        cr_assert(strstr(err.message, "offset"), "%s", err.message);
        cr_assert_eq(sup_event_filter_parse("type==\"open", &f, &err), -EINVAL);
        cr_assert_eq(sup_event_filter_parse("type~=\"(\"", &f, &err), -EINVAL);
        cr_assert_eq(sup_event_filter_parse("a==b c", &f, &err), -EINVAL);
        cr_assert_eq(sup_event_filter_parse(",", &f, &err), -EINVAL);
}

Test(events, type_names)
{
        cr_assert_str_eq(sup_event_type_to_string(SUP_EVENT_SANDBOX_OOM), "sandbox.oom");
        cr_assert_str_eq(sup_event_type_to_string(SUP_EVENT_DAEMON_STARTED), "daemon.started");
        cr_assert_null(sup_event_type_to_string(_SUP_EVENT_MAX));
}

Test(state_file, parse)
{
        struct sup_kv kv = {0};
        struct sbx_error err = {0};

        cr_assert_eq(sup_kv_parse("ID=a\nPID=12\nEMPTY=\n\nX=a=b\n", &kv, &err), 0);
        cr_assert_str_eq(sup_kv_get(&kv, "ID"), "a");
        cr_assert_str_eq(sup_kv_get(&kv, "EMPTY"), "");
        cr_assert_str_eq(sup_kv_get(&kv, "X"), "a=b");
        cr_assert_null(sup_kv_get(&kv, "NOPE"));
        sup_kv_done(&kv);

        cr_assert_eq(sup_kv_parse("ID=a\nnot a line\n", &kv, &err), -EINVAL);
        cr_assert(strstr(err.message, "line 2"), "%s", err.message);
        cr_assert_eq(sup_kv_parse("ID=a\nID=b\n", &kv, &err), -EINVAL);
        cr_assert(strstr(err.message, "duplicate"), "%s", err.message);
        cr_assert_eq(sup_kv_parse("lower=x\n", &kv, &err), -EINVAL);
}

Test(state_file, write_is_atomic_and_readable)
{
        char dir[] = "/tmp/sbx-kv-XXXXXX";
        const char *keys[] = {"ID", "PID"}, *values[] = {"a", NULL};
        struct sup_kv kv = {0};
        char *text = NULL;

        cr_assert_not_null(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_eq(sup_kv_write_at(fd, "state", keys, values, 2, NULL), 0);
        cr_assert_eq(faccessat(fd, "state.tmp", F_OK, 0), -1, "no temporary file left");
        cr_assert_eq(sbx_read_file_at(fd, "state", 4096, &text, NULL), 0);
        cr_assert_str_eq(text, "ID=a\nPID=\n");
        cr_assert_eq(sup_kv_parse(text, &kv, NULL), 0);
        sup_kv_done(&kv);
        free(text);
        unlinkat(fd, "state", 0);
        close(fd);
        rmdir(dir);
}

Test(adopt, identity_of_a_process)
{
        pid_t pid = fork();
        uint64_t st = 0;
        char *cg = NULL;
        char reason[256];
        int pidfd = -1;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        cr_assert_eq(sup_proc_start_time(pid, &st), 0);
        cr_assert_gt(st, 0);
        cr_assert_eq(sup_proc_cgroup(pid, &cg), 0);

        /* Same start time and cgroup: adopted. */
        cr_assert_eq(sup_adopt_check(pid, st, cg, &pidfd, reason, sizeof(reason)), 1, "%s", reason);
        cr_assert_geq(pidfd, 0);
        close(pidfd);
        /* Another start time: the pid belongs to another process, never adopted. */
        cr_assert_eq(sup_adopt_check(pid, st + 1, cg, &pidfd, reason, sizeof(reason)), 0);
        cr_assert(strstr(reason, "another process"), "%s", reason);
        /* Another cgroup: not adopted. */
        cr_assert_eq(sup_adopt_check(pid, st, "/elsewhere", &pidfd, reason, sizeof(reason)), 0);

        kill(pid, SIGKILL);
        /* A zombie is gone. */
        siginfo_t si;
        waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
        cr_assert_eq(sup_adopt_check(pid, st, cg, &pidfd, reason, sizeof(reason)), 0);
        waitpid(pid, NULL, 0);
        cr_assert_eq(sup_adopt_check(pid, st, cg, &pidfd, reason, sizeof(reason)), 0);
        cr_assert(strstr(reason, "gone") || strstr(reason, "exited"), "%s", reason);
        free(cg);
}

Test(adopt, shell_status)
{
        cr_assert_eq(sup_wait_status_to_shell(3 << 8), 3);
        cr_assert_eq(sup_wait_status_to_shell(SIGKILL), 137);
}

Test(adopt, exit_cache)
{
        int ws = 0;
        uint64_t at = 0;
        char reason[128];

        sup_exit_record(4242, 0, 77, 70, 5 << 8, 1000);
        sup_exit_record(4242, 0, 99, 90, 9, 2000); /* the pid reused later elsewhere */
        cr_assert_eq(sup_exit_lookup(4242, 0, 70, &ws, &at, reason, sizeof(reason)), 1);
        cr_assert_eq(ws, 5 << 8);
        cr_assert_eq(at, 1000);
        cr_assert_eq(sup_exit_lookup(4242, 0, 0, &ws, &at, reason, sizeof(reason)), 1);
        cr_assert_eq(ws, 9, "newest first");
        cr_assert_eq(sup_exit_lookup(4243, 0, 0, &ws, &at, reason, sizeof(reason)), 0);
        sup_exit_set_unavailable("no BTF");
        cr_assert_eq(sup_exit_lookup(4243, 0, 0, &ws, &at, reason, sizeof(reason)), -ENODEV);
        cr_assert(strstr(reason, "no BTF"), "%s", reason);
}
