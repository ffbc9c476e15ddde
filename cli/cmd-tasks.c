/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandboxctl subcommands of tasks and events (docs/api.md "Tasks", "Events"):
 *
 *   exec [--detach] [--id TID] [--cwd DIR] [--env K=V]... [--user UID[:GID]] [--seccomp FILE]
 *        ID -- CMD [ARG...]
 *   tasks ID [-o table|json]
 *   kill ID TID [--signal S]
 *   events [--filter F]...
 *
 * (`logs ID --task TID` is in commands.c's cmd_logs.)
 */
#include "cli/sandboxctl-internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

static const struct option common_opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"namespace", required_argument, NULL, 'n'},
        {"socket", required_argument, NULL, 's'},
};

/* "sandboxes/ID/tasks[/TID[/SUFFIX]]", escaped. */
static char *tasks_path(const char *id, const char *tid, const char *suffix)
{
        _cleanup_free_ char *p = strdup("sandboxes/");

        if (!p || http_append_escaped(&p, id) < 0)
                return NULL;
        char *n = realloc(p, strlen(p) + sizeof("/tasks"));
        if (!n)
                return NULL;
        p = n;
        strcat(p, "/tasks");
        if (tid) {
                n = realloc(p, strlen(p) + 2);
                if (!n)
                        return NULL;
                p = n;
                strcat(p, "/");
                if (http_append_escaped(&p, tid) < 0)
                        return NULL;
        }
        if (suffix) {
                n = realloc(p, strlen(p) + strlen(suffix) + 2);
                if (!n)
                        return NULL;
                p = n;
                strcat(p, "/");
                strcat(p, suffix);
        }
        return TAKE_PTR(p);
}

static int opts_with_common(const struct option *own, size_t n_own, struct option *out,
                            size_t out_size)
{
        size_t k = 0;
        for (size_t i = 0; i < n_own && k + 1 < out_size; i++)
                out[k++] = own[i];
        for (size_t i = 0; i < ELEMENTSOF(common_opts) && k + 1 < out_size; i++)
                out[k++] = common_opts[i];
        out[k] = (struct option){0};
        return 0;
}

int cmd_exec(struct ctl *c, int argc, char **argv)
{
        static const struct option own[] = {
                {"detach", no_argument, NULL, 'd'},     {"id", required_argument, NULL, 'i'},
                {"cwd", required_argument, NULL, 'w'},  {"env", required_argument, NULL, 'e'},
                {"user", required_argument, NULL, 'u'}, {"seccomp", required_argument, NULL, 'S'},
        };
        struct option opts[16];
        _cleanup_json_ json_t *body = json_object(), *proc = json_object(), *args = json_array();
        _cleanup_json_ json_t *env = json_array(), *res = NULL, *w = NULL, *seccomp = NULL;
        _cleanup_free_ char *path = NULL, *wpath = NULL, *lpath = NULL;
        const char *tid = NULL;
        bool detach = false;
        int opt, r;

        if (!body || !proc || !args || !env)
                return EXIT_CONNECT;
        opts_with_common(own, ELEMENTSOF(own), opts, ELEMENTSOF(opts));
        /* '+': stop at the first non-option, so CMD's own options are left alone. */
        while ((opt = getopt_long(argc, argv, "+hn:s:di:w:e:u:S:", opts, NULL)) != -1) {
                switch (opt) {
                case 'd':
                        detach = true;
                        break;
                case 'i':
                        tid = optarg;
                        break;
                case 'w':
                        json_object_set_new(proc, "cwd", json_string(optarg));
                        break;
                case 'e':
                        if (!strchr(optarg, '=')) {
                                fprintf(stderr, "sandboxctl exec: --env wants K=V, got \"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        json_array_append_new(env, json_string(optarg));
                        break;
                case 'u': {
                        unsigned long uid, gid;
                        char *end;
                        uid = strtoul(optarg, &end, 10);
                        gid = uid;
                        if (*end == ':')
                                gid = strtoul(end + 1, &end, 10);
                        if (*end || end == optarg) {
                                fprintf(stderr, "sandboxctl exec: --user wants UID[:GID]\n");
                                return EXIT_USAGE;
                        }
                        json_object_set_new(proc, "user",
                                            json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid",
                                                      (json_int_t)gid));
                        break;
                }
                case 'S': {
                        /* The task's own seccomp profile: an OCI linux.seccomp object. */
                        json_error_t jerr;
                        json_decref(seccomp);
                        seccomp = json_load_file(optarg, JSON_REJECT_DUPLICATES, &jerr);
                        if (!seccomp) {
                                fprintf(stderr, "sandboxctl exec: --seccomp %s: %s (line %d)\n",
                                        optarg, jerr.text, jerr.line);
                                return EXIT_USAGE;
                        }
                        if (!json_is_object(seccomp)) {
                                fprintf(stderr,
                                        "sandboxctl exec: --seccomp %s: want a JSON object (an "
                                        "OCI linux.seccomp)\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
                default:
                        if ((r = ctl_common_opt(c, "exec", opt)) >= 0)
                                return r;
                }
        }
        if (argc - optind < 1) {
                usage_of("exec", false);
                return EXIT_USAGE;
        }
        const char *id = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        if (optind >= argc) {
                fprintf(stderr, "sandboxctl exec: no command (exec ID -- CMD [ARG...])\n");
                return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++)
                json_array_append_new(args, json_string(argv[i]));
        json_object_set(proc, "args", args);
        if (json_array_size(env) > 0)
                json_object_set(proc, "env", env);
        json_object_set(body, "process", proc);
        if (tid)
                json_object_set_new(body, "id", json_string(tid));
        if (seccomp)
                json_object_set_new(body, "linux", json_pack("{s:O}", "seccomp", seccomp));

        path = tasks_path(id, NULL, NULL);
        if (!path)
                return EXIT_CONNECT;
        r = ctl_call(c, "POST", path, NULL, body, &res);
        if (r)
                return r;
        tid = json_string_value(json_object_get(res, "task_id"));
        if (!tid) {
                fprintf(stderr, "sandboxctl exec: the daemon's answer has no task_id\n");
                return EXIT_CONNECT;
        }
        if (detach) {
                printf("%s\n", tid);
                return EXIT_OK;
        }
        wpath = tasks_path(id, tid, "wait");
        lpath = tasks_path(id, tid, "logs");
        if (!wpath || !lpath)
                return EXIT_CONNECT;
        /* The output as it comes: the stream ends when the task exits; then its status. */
        fflush(stdout);
        r = ctl_stream(c, lpath, "follow=1");
        fflush(stdout);
        if (r != 0)
                return r < 0 ? EXIT_CONNECT : r;
        r = ctl_call(c, "GET", wpath, NULL, NULL, &w);
        if (r)
                return r;
        json_t *st = json_object_get(w, "exit_status");
        if (!json_is_integer(st)) {
                json_t *why = json_object_get(w, "exit_reason");
                fprintf(stderr, "sandboxctl exec: task %s: exit status unknown%s%s\n", tid,
                        json_is_string(why) ? ": " : "",
                        json_is_string(why) ? json_string_value(why) : "");
                return EXIT_RUN_FAILED;
        }
        return (int)(json_integer_value(st) & 0xff);
}

int cmd_tasks(struct ctl *c, int argc, char **argv)
{
        static const struct option own[] = {{"output", required_argument, NULL, 'o'}};
        struct option opts[8];
        _cleanup_json_ json_t *res = NULL;
        _cleanup_free_ char *path = NULL;
        bool as_json = false;
        int opt, r;
        size_t i;
        json_t *t;

        opts_with_common(own, ELEMENTSOF(own), opts, ELEMENTSOF(opts));
        while ((opt = getopt_long(argc, argv, "hn:s:o:", opts, NULL)) != -1) {
                if (opt == 'o') {
                        if (strcmp(optarg, "json") == 0)
                                as_json = true;
                        else if (strcmp(optarg, "table") != 0) {
                                fprintf(stderr, "sandboxctl: unknown output format \"%s\"\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                } else if ((r = ctl_common_opt(c, "tasks", opt)) >= 0)
                        return r;
        }
        if (argc - optind != 1) {
                usage_of("tasks", false);
                return EXIT_USAGE;
        }
        path = tasks_path(argv[optind], NULL, NULL);
        if (!path)
                return EXIT_CONNECT;
        r = ctl_call(c, "GET", path, NULL, NULL, &res);
        if (r)
                return r;
        if (as_json) {
                print_json(res);
                return EXIT_OK;
        }
        printf("%-16s %-8s %-8s %-6s %s\n", "TASK", "PID", "STATE", "STATUS", "COMMAND");
        json_array_foreach (json_object_get(res, "tasks"), i, t) {
                char b1[32], b2[32], cmd[256] = "";
                size_t j, n = 0;
                json_t *a;
                json_array_foreach (json_object_get(t, "args"), j, a) {
                        int k = snprintf(cmd + n, sizeof(cmd) - n, "%s%s", j ? " " : "",
                                         json_string_value(a) ?: "");
                        if (k < 0 || (size_t)k >= sizeof(cmd) - n)
                                break;
                        n += (size_t)k;
                }
                printf("%-16s %-8s %-8s %-6s %s\n",
                       json_string_value(json_object_get(t, "task_id")),
                       jtext(t, "pid", b1, sizeof(b1)),
                       json_string_value(json_object_get(t, "state")) ?: "-",
                       jtext(t, "exit_status", b2, sizeof(b2)), cmd);
        }
        return EXIT_OK;
}

int cmd_kill(struct ctl *c, int argc, char **argv)
{
        static const struct option own[] = {{"signal", required_argument, NULL, 'S'}};
        struct option opts[8];
        _cleanup_json_ json_t *res = NULL;
        _cleanup_free_ char *path = NULL, *query = NULL;
        const char *sig = "TERM";
        int opt, r;

        opts_with_common(own, ELEMENTSOF(own), opts, ELEMENTSOF(opts));
        while ((opt = getopt_long(argc, argv, "hn:s:S:", opts, NULL)) != -1) {
                if (opt == 'S')
                        sig = optarg;
                else if ((r = ctl_common_opt(c, "kill", opt)) >= 0)
                        return r;
        }
        if (argc - optind != 2) {
                usage_of("kill", false);
                return EXIT_USAGE;
        }
        path = tasks_path(argv[optind], argv[optind + 1], "kill");
        query = strdup("signal=");
        if (!path || !query || http_append_escaped(&query, sig) < 0)
                return EXIT_CONNECT;
        return ctl_call(c, "POST", path, query, NULL, &res);
}

int cmd_events(struct ctl *c, int argc, char **argv)
{
        static const struct option own[] = {{"filter", required_argument, NULL, 'f'}};
        struct option opts[8];
        _cleanup_free_ char *query = NULL;
        int opt, r;

        opts_with_common(own, ELEMENTSOF(own), opts, ELEMENTSOF(opts));
        while ((opt = getopt_long(argc, argv, "hn:s:f:", opts, NULL)) != -1) {
                if (opt == 'f') {
                        char *q = NULL;
                        if (asprintf(&q, "%s%sfilter=", query ? query : "", query ? "&" : "") < 0)
                                return EXIT_CONNECT;
                        free(query);
                        query = q;
                        if (http_append_escaped(&query, optarg) < 0)
                                return EXIT_CONNECT;
                } else if ((r = ctl_common_opt(c, "events", opt)) >= 0)
                        return r;
        }
        if (argc - optind != 0) {
                usage_of("events", false);
                return EXIT_USAGE;
        }
        /* Without --namespace every namespace is streamed (ctl_stream adds it when set). */
        r = ctl_stream(c, "events", query);
        return r < 0 ? EXIT_CONNECT : r;
}
