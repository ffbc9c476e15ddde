/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The subcommands of sandboxctl: one function per API route (docs/api.md). */
#include "cli/sandboxctl-internal.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

#define RUNTIME_DEFAULT "io.sandboxd.linux.v1"
#define SPEC_TYPE_URL   "types.containerd.io/opencontainers/runtime-spec/1/Spec"

#define _cleanup_json_ _cleanup_(json_decrefp)

/* Options every subcommand accepts besides its own. */
#define COMMON_OPTIONS                                                                 \
        {"help", no_argument, NULL, 'h'}, {"namespace", required_argument, NULL, 'n'}, \
        {                                                                              \
                "socket", required_argument, NULL, 's'                                 \
        }
#define COMMON_SHORT "hn:s:"

int ctl_common_opt(struct ctl *c, const char *cmd, int opt)
{
        switch (opt) {
        case 'n':
                c->namespace = optarg;
                return -1;
        case 's':
                c->socket_path = optarg;
                return -1;
        case 'h':
                usage_of(cmd, true);
                return EXIT_OK;
        default:
                usage_of(cmd, false);
                return EXIT_USAGE;
        }
}

static int parse_output(const char *s, enum output_format *ret)
{
        if (strcmp(s, "table") == 0)
                *ret = OUTPUT_TABLE;
        else if (strcmp(s, "json") == 0)
                *ret = OUTPUT_JSON;
        else {
                fprintf(stderr, "sandboxctl: unknown output format \"%s\" (table or json)\n", s);
                return EXIT_USAGE;
        }
        return 0;
}

/* Appends "&key=VALUE" (VALUE percent-encoded) to *query. */
static int query_add(char **query, const char *key, const char *value)
{
        size_t n = *query ? strlen(*query) : 0;
        char *p = realloc(*query, n + strlen(key) + 3);

        if (!p)
                return -ENOMEM;
        sprintf(p + n, "%s%s=", n ? "&" : "", key);
        *query = p;
        return http_append_escaped(query, value);
}

/* Requires exactly n positional arguments. */
static int want_args(const char *cmd, int argc, char **argv, int n)
{
        if (argc - optind != n) {
                fprintf(stderr, "sandboxctl %s: expected %d argument%s, got %d\n", cmd, n,
                        n == 1 ? "" : "s", argc - optind);
                usage_of(cmd, false);
                return EXIT_USAGE;
        }
        return 0;
}

/* "sandboxes/ID[/SUFFIX]" with ID percent-encoded. */
static char *sandbox_path(const char *id, const char *suffix)
{
        _cleanup_free_ char *p = strdup("sandboxes/");
        char *out;

        if (!p || http_append_escaped(&p, id) < 0)
                return NULL;
        if (asprintf(&out, "%s%s%s", p, suffix ? "/" : "", suffix ? suffix : "") < 0)
                return NULL;
        return out;
}

static int call_sandbox(struct ctl *c, const char *method, const char *id, const char *suffix,
                        const char *query, json_t *body, json_t **ret)
{
        _cleanup_free_ char *path = sandbox_path(id, suffix);

        if (!path)
                return EXIT_CONNECT;
        return ctl_call(c, method, path, query, body, ret);
}

/* Adds "K=V" to labels (or, with allow_remove, "K-" as a removal: K absent). */
static int add_label(json_t *labels, json_t *removed, const char *arg)
{
        const char *eq = strchr(arg, '=');
        _cleanup_free_ char *key = NULL;

        if (!eq) {
                size_t n = strlen(arg);

                if (removed && n > 1 && arg[n - 1] == '-') {
                        key = strndup(arg, n - 1);
                        return key && json_array_append_new(removed, json_string(key)) == 0
                                       ? 0
                                       : EXIT_CONNECT;
                }
                fprintf(stderr, "sandboxctl: label \"%s\" is not KEY=VALUE%s\n", arg,
                        removed ? " or KEY-" : "");
                return EXIT_USAGE;
        }
        key = strndup(arg, (size_t)(eq - arg));
        if (!key)
                return EXIT_CONNECT;
        if (!key[0]) {
                fprintf(stderr, "sandboxctl: label \"%s\" has an empty key\n", arg);
                return EXIT_USAGE;
        }
        if (json_object_set_new(labels, key, json_string(eq + 1)) < 0) {
                fprintf(stderr, "sandboxctl: label \"%s\" is not valid UTF-8\n", arg);
                return EXIT_USAGE;
        }
        return 0;
}

/* An Any holding the spec JSON text. */
static json_t *spec_any(const char *text, size_t len)
{
        _cleanup_free_ char *b64 = b64_encode(text, len);

        if (!b64)
                return NULL;
        return json_pack("{s:s, s:s}", "type_url", SPEC_TYPE_URL, "value", b64);
}

/* Loads a spec file (checked to be a JSON object) or the daemon's default. */
static int load_spec(struct ctl *c, const char *file, json_t **ret)
{
        _cleanup_free_ char *text = NULL;
        json_error_t jerr;
        size_t len;
        json_t *j;
        int r;

        if (!file)
                return ctl_default_spec(c, ret);
        r = read_file(file, &text, &len);
        if (r)
                return r;
        j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j || !json_is_object(j)) {
                fprintf(stderr, "sandboxctl: %s: %s at line %d column %d\n", file,
                        j ? "not a JSON object" : jerr.text, jerr.line, jerr.column);
                json_decref(j);
                return EXIT_USAGE;
        }
        *ret = j;
        return 0;
}

static json_t *spec_any_from_json(json_t *spec)
{
        _cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER);

        return text ? spec_any(text, strlen(text)) : NULL;
}

static int do_create(struct ctl *c, const char *id, const char *runtime, json_t *labels,
                     json_t *spec, json_t **ret)
{
        _cleanup_json_ json_t *body = NULL;
        json_t *any = spec_any_from_json(spec);

        if (!any)
                return EXIT_CONNECT;
        body = json_pack("{s:s, s:O, s:{s:s}, s:o}", "id", id, "labels", labels, "runtime", "name",
                         runtime, "spec", any);
        if (!body) {
                fprintf(stderr, "sandboxctl: invalid id or runtime (not UTF-8)\n");
                return EXIT_USAGE;
        }
        return ctl_call(c, "POST", "sandboxes", NULL, body, ret);
}

static int set_args(json_t *spec, char **args, int n);

int cmd_create(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {{"spec", required_argument, NULL, 'S'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"runtime", required_argument, NULL, 'r'},
                                             {"output", required_argument, NULL, 'o'},
                                             COMMON_OPTIONS,
                                             {}};
        _cleanup_json_ json_t *labels = json_object(), *spec = NULL, *rec = NULL;
        const char *spec_file = NULL, *runtime = RUNTIME_DEFAULT;
        enum output_format out = OUTPUT_TABLE;
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT "l:o:", opts, NULL)) != -1) {
                if (opt == 'S')
                        spec_file = optarg;
                else if (opt == 'l')
                        r = add_label(labels, NULL, optarg);
                else if (opt == 'r')
                        runtime = optarg;
                else if (opt == 'o')
                        r = parse_output(optarg, &out);
                else if ((r = ctl_common_opt(c, "create", opt)) < 0)
                        continue;
                else
                        return r;
                if ((opt == 'l' || opt == 'o') && r)
                        return r;
        }
        if (argc - optind < 1) {
                fprintf(stderr, "sandboxctl create: expected an ID\n");
                usage_of("create", false);
                return EXIT_USAGE;
        }
        if ((r = load_spec(c, spec_file, &spec)))
                return r;
        if (argc - optind > 1 && set_args(spec, argv + optind + 1, argc - optind - 1) < 0) {
                fprintf(stderr, "sandboxctl create: arguments are not valid UTF-8\n");
                return EXIT_USAGE;
        }
        r = do_create(c, argv[optind], runtime, labels, spec, &rec);
        if (r)
                return r;
        if (out == OUTPUT_JSON)
                print_json(rec);
        else
                printf("%s\n", json_string_value(json_object_get(rec, "id")));
        return 0;
}

static void print_labels(json_t *labels)
{
        const char *k;
        json_t *v;
        bool first = true;

        json_object_foreach (labels, k, v) {
                printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
                first = false;
        }
        if (first)
                printf("-");
}

int cmd_list(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {{"filter", required_argument, NULL, 'f'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             COMMON_OPTIONS,
                                             {}};
        _cleanup_free_ char *query = NULL;
        _cleanup_json_ json_t *res = NULL;
        enum output_format out = OUTPUT_TABLE;
        bool quiet = false;
        json_t *sbs, *rec;
        size_t i;
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT "f:o:q", opts, NULL)) != -1) {
                if (opt == 'f') {
                        if (query_add(&query, "filter", optarg) < 0)
                                return EXIT_CONNECT;
                } else if (opt == 'o') {
                        if ((r = parse_output(optarg, &out)))
                                return r;
                } else if (opt == 'q') {
                        quiet = true;
                } else if ((r = ctl_common_opt(c, "list", opt)) >= 0) {
                        return r;
                }
        }
        if ((r = want_args("list", argc, argv, 0)))
                return r;
        r = ctl_call(c, "GET", "sandboxes", query, NULL, &res);
        if (r)
                return r;
        sbs = json_object_get(res, "sandboxes");
        if (out == OUTPUT_JSON) {
                print_json(res);
                return 0;
        }
        if (!quiet)
                printf("%-24s %-9s %-22s %-30s %s\n", "ID", "STATE", "RUNTIME", "CREATED",
                       "LABELS");
        json_array_foreach (sbs, i, rec) {
                const char *id = json_string_value(json_object_get(rec, "id"));
                _cleanup_json_ json_t *st = NULL;
                _cleanup_free_ char *path = NULL;
                char buf[32];

                if (!id)
                        continue;
                if (quiet) {
                        printf("%s\n", id);
                        continue;
                }
                path = sandbox_path(id, "status");
                /* The state is not part of the record: ask for it (same connection). A
                 * sandbox deleted meanwhile shows "-". */
                if (path) {
                        c->quiet = true;
                        (void)ctl_call(c, "GET", path, NULL, NULL, &st);
                        c->quiet = false;
                }
                printf("%-24s %-9s %-22s %-30s ", id, jtext(st, "state", buf, sizeof(buf)),
                       json_string_value(json_object_get(json_object_get(rec, "runtime"), "name"))
                               ?: "-",
                       jtext(rec, "created_at", buf, sizeof(buf)));
                print_labels(json_object_get(rec, "labels"));
                putchar('\n');
        }
        return 0;
}

/* Parses only the common options and exactly one ID. */
static int parse_id_only(struct ctl *c, const char *cmd, int argc, char **argv)
{
        static const struct option opts[] = {COMMON_OPTIONS, {}};
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1)
                if ((r = ctl_common_opt(c, cmd, opt)) >= 0)
                        return r == 0 ? -1 : r;
        return want_args(cmd, argc, argv, 1);
}

int cmd_get(struct ctl *c, int argc, char **argv)
{
        _cleanup_json_ json_t *rec = NULL;
        int r = parse_id_only(c, "get", argc, argv);

        if (r)
                return r < 0 ? 0 : r;
        r = call_sandbox(c, "GET", argv[optind], NULL, NULL, NULL, &rec);
        if (r)
                return r;
        print_json(rec);
        return 0;
}

int cmd_update(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {{"label", required_argument, NULL, 'l'},
                                             {"spec", required_argument, NULL, 'S'},
                                             {"runtime", required_argument, NULL, 'r'},
                                             {"fieldpath", required_argument, NULL, 'p'},
                                             {"output", required_argument, NULL, 'o'},
                                             COMMON_OPTIONS,
                                             {}};
        _cleanup_json_ json_t *labels = json_object(), *removed = json_array(), *body = NULL,
                              *rec = NULL, *spec = NULL;
        _cleanup_free_ char *query = NULL, *auto_query = NULL;
        const char *spec_file = NULL, *runtime = NULL;
        enum output_format out = OUTPUT_TABLE;
        size_t i;
        json_t *v;
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT "l:o:", opts, NULL)) != -1) {
                r = 0;
                if (opt == 'l')
                        r = add_label(labels, removed, optarg);
                else if (opt == 'S')
                        spec_file = optarg;
                else if (opt == 'r')
                        runtime = optarg;
                else if (opt == 'p')
                        r = query_add(&query, "fieldpath", optarg) < 0 ? EXIT_CONNECT : 0;
                else if (opt == 'o')
                        r = parse_output(optarg, &out);
                else if ((r = ctl_common_opt(c, "update", opt)) < 0)
                        r = 0;
                else
                        return r;
                if (r)
                        return r;
        }
        if ((r = want_args("update", argc, argv, 1)))
                return r;
        body = json_pack("{s:s, s:O}", "id", argv[optind], "labels", labels);
        if (!body)
                return EXIT_USAGE;
        /* Without --fieldpath, name exactly what was given, so nothing else changes (the API
         * replaces labels, extensions, runtime and spec when no fieldpath is sent). */
        {
                const char *k;

                json_object_foreach (labels, k, v) {
                        _cleanup_free_ char *fp = NULL;

                        if (asprintf(&fp, "labels.%s", k) < 0 ||
                            query_add(&auto_query, "fieldpath", fp) < 0)
                                return EXIT_CONNECT;
                }
                json_array_foreach (removed, i, v) {
                        _cleanup_free_ char *fp = NULL;

                        if (asprintf(&fp, "labels.%s", json_string_value(v)) < 0 ||
                            query_add(&auto_query, "fieldpath", fp) < 0)
                                return EXIT_CONNECT;
                }
        }
        if (spec_file) {
                if ((r = load_spec(c, spec_file, &spec)))
                        return r;
                json_object_set_new(body, "spec", spec_any_from_json(spec));
                if (query_add(&auto_query, "fieldpath", "spec") < 0)
                        return EXIT_CONNECT;
        }
        if (runtime) {
                json_object_set_new(body, "runtime", json_pack("{s:s}", "name", runtime));
                if (query_add(&auto_query, "fieldpath", "runtime") < 0)
                        return EXIT_CONNECT;
        }
        if (!query && !auto_query) {
                fprintf(stderr, "sandboxctl update: nothing to update (give --label, --spec, "
                                "--runtime or --fieldpath)\n");
                return EXIT_USAGE;
        }
        r = call_sandbox(c, "PATCH", argv[optind], NULL, query ? query : auto_query, body, &rec);
        if (r)
                return r;
        if (out == OUTPUT_JSON)
                print_json(rec);
        return 0;
}

/* delete and shutdown take several ids. */
static int each_id(struct ctl *c, const char *cmd, const char *method, const char *suffix, int argc,
                   char **argv)
{
        static const struct option opts[] = {COMMON_OPTIONS, {}};
        int opt, r, rc = 0;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1)
                if ((r = ctl_common_opt(c, cmd, opt)) >= 0)
                        return r;
        if (optind >= argc) {
                fprintf(stderr, "sandboxctl %s: expected at least one ID\n", cmd);
                usage_of(cmd, false);
                return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
                r = call_sandbox(c, method, argv[i], suffix, NULL, NULL, NULL);
                if (r && !rc)
                        rc = r;
        }
        return rc;
}

int cmd_delete(struct ctl *c, int argc, char **argv)
{
        return each_id(c, "delete", "DELETE", NULL, argc, argv);
}

int cmd_shutdown(struct ctl *c, int argc, char **argv)
{
        return each_id(c, "shutdown", "POST", "shutdown", argc, argv);
}

int cmd_start(struct ctl *c, int argc, char **argv)
{
        _cleanup_json_ json_t *res = NULL;
        char buf[32];
        int r = parse_id_only(c, "start", argc, argv);

        if (r)
                return r < 0 ? 0 : r;
        r = call_sandbox(c, "POST", argv[optind], "start", NULL, NULL, &res);
        if (r)
                return r;
        printf("%s\n", jtext(res, "pid", buf, sizeof(buf)));
        return 0;
}

int cmd_stop(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {
                {"timeout", required_argument, NULL, 't'}, COMMON_OPTIONS, {}};
        _cleanup_json_ json_t *res = NULL;
        _cleanup_free_ char *query = NULL;
        char buf[32];
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT "t:", opts, NULL)) != -1) {
                if (opt == 't') {
                        if (query_add(&query, "timeout", optarg) < 0)
                                return EXIT_CONNECT;
                } else if ((r = ctl_common_opt(c, "stop", opt)) >= 0) {
                        return r;
                }
        }
        if ((r = want_args("stop", argc, argv, 1)))
                return r;
        r = call_sandbox(c, "POST", argv[optind], "stop", query, NULL, &res);
        if (r)
                return r;
        printf("%s\n", jtext(res, "exit_status", buf, sizeof(buf)));
        return 0;
}

int cmd_wait(struct ctl *c, int argc, char **argv)
{
        _cleanup_json_ json_t *res = NULL;
        char buf[32];
        int r = parse_id_only(c, "wait", argc, argv);

        if (r)
                return r < 0 ? 0 : r;
        r = call_sandbox(c, "GET", argv[optind], "wait", NULL, NULL, &res);
        if (r)
                return r;
        printf("%s\n", jtext(res, "exit_status", buf, sizeof(buf)));
        return 0;
}

/* -v and -o for status and metrics. */
static int parse_view(struct ctl *c, const char *cmd, int argc, char **argv, bool *verbose,
                      enum output_format *out)
{
        static const struct option opts[] = {{"verbose", no_argument, NULL, 'v'},
                                             {"output", required_argument, NULL, 'o'},
                                             COMMON_OPTIONS,
                                             {}};
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT "vo:", opts, NULL)) != -1) {
                if (opt == 'v' && verbose)
                        *verbose = true;
                else if (opt == 'o') {
                        if ((r = parse_output(optarg, out)))
                                return r;
                } else if ((r = ctl_common_opt(c, cmd, opt == 'v' ? '?' : opt)) >= 0)
                        return r == 0 ? -1 : r;
        }
        return want_args(cmd, argc, argv, 1);
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
        static const char *const rows[][2] = {
                {"sandbox_id", "ID"},         {"namespace", "NAMESPACE"},
                {"state", "STATE"},           {"pid", "PID"},
                {"created_at", "CREATED"},    {"started_at", "STARTED"},
                {"exited_at", "EXITED"},      {"exit_status", "EXIT STATUS"},
                {"oom_killed", "OOM KILLED"},
        };
        _cleanup_json_ json_t *res = NULL;
        enum output_format out = OUTPUT_TABLE;
        bool verbose = false;
        json_t *w, *info;
        char buf[32];
        size_t i;
        int r = parse_view(c, "status", argc, argv, &verbose, &out);

        if (r)
                return r < 0 ? 0 : r;
        r = call_sandbox(c, "GET", argv[optind], "status", verbose ? "verbose=1" : NULL, NULL,
                         &res);
        if (r)
                return r;
        if (out == OUTPUT_JSON) {
                print_json(res);
                return 0;
        }
        for (i = 0; i < ELEMENTSOF(rows); i++)
                printf("%-28s %s\n", rows[i][1], jtext(res, rows[i][0], buf, sizeof(buf)));
        json_array_foreach (json_object_get(res, "warnings"), i, w)
                printf("%-28s %s\n", "WARNING", json_string_value(w));
        info = json_object_get(res, "info");
        if (verbose && json_object_size(info) > 0)
                print_flat("", info);
        return 0;
}

int cmd_metrics(struct ctl *c, int argc, char **argv)
{
        _cleanup_json_ json_t *res = NULL;
        enum output_format out = OUTPUT_TABLE;
        int r = parse_view(c, "metrics", argc, argv, NULL, &out);

        if (r)
                return r < 0 ? 0 : r;
        r = call_sandbox(c, "GET", argv[optind], "metrics", NULL, NULL, &res);
        if (r)
                return r;
        if (out == OUTPUT_JSON)
                print_json(res);
        else
                print_flat("", res);
        return 0;
}

int cmd_logs(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                             {"task", required_argument, NULL, 't'},
                                             COMMON_OPTIONS,
                                             {}};
        _cleanup_free_ char *path = NULL, *suffix = NULL;
        const char *task = NULL;
        bool follow = false;
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT "ft:", opts, NULL)) != -1) {
                if (opt == 'f')
                        follow = true;
                else if (opt == 't')
                        task = optarg;
                else if ((r = ctl_common_opt(c, "logs", opt)) >= 0)
                        return r;
        }
        if ((r = want_args("logs", argc, argv, 1)))
                return r;
        if (task) {
                /* A task's log (issue #7): tasks/TID/logs; -f until the task exits. */
                _cleanup_free_ char *tail = NULL;
                suffix = strdup("tasks/");
                if (!suffix || http_append_escaped(&suffix, task) < 0 ||
                    asprintf(&tail, "%s/logs", suffix) < 0)
                        return EXIT_CONNECT;
                path = sandbox_path(argv[optind], tail);
                if (!path)
                        return EXIT_CONNECT;
                r = ctl_stream(c, path, follow ? "follow=1" : NULL);
                return r < 0 ? EXIT_CONNECT : r;
        }
        path = sandbox_path(argv[optind], "logs");
        if (!path)
                return EXIT_CONNECT;
        r = ctl_stream(c, path, follow ? "follow=1" : NULL);
        return r < 0 ? EXIT_CONNECT : r;
}

int cmd_spec(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {COMMON_OPTIONS, {}};
        _cleanup_json_ json_t *spec = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1)
                if ((r = ctl_common_opt(c, "spec", opt)) >= 0)
                        return r;
        if ((r = want_args("spec", argc, argv, 0)))
                return r;
        if ((r = ctl_default_spec(c, &spec)))
                return r;
        print_json(spec);
        return 0;
}

int cmd_version(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {COMMON_OPTIONS, {}};
        _cleanup_json_ json_t *res = NULL;
        int opt, r;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1)
                if ((r = ctl_common_opt(c, "version", opt)) >= 0)
                        return r;
        if ((r = want_args("version", argc, argv, 0)))
                return r;
        if ((r = ctl_call(c, "GET", "version", NULL, NULL, &res)))
                return r;
        print_json(res);
        return 0;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        interrupted = sig;
}

/* Sets spec.process.args to args (creating a process when the spec has none). */
static int set_args(json_t *spec, char **args, int n)
{
        json_t *proc = json_object_get(spec, "process"), *a = json_array();

        if (!a)
                return -ENOMEM;
        for (int i = 0; i < n; i++)
                if (json_array_append_new(a, json_string(args[i])) < 0) {
                        json_decref(a);
                        return -EINVAL;
                }
        if (!json_is_object(proc)) {
                proc = json_pack(
                        "{s:s, s:[s]}", "cwd", "/", "env",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
                if (!proc || json_object_set_new(spec, "process", proc) < 0)
                        return -ENOMEM;
        }
        json_object_set_new(proc, "terminal", json_false());
        return json_object_set_new(proc, "args", a);
}

int cmd_run(struct ctl *c, int argc, char **argv)
{
        static const struct option opts[] = {{"rm", no_argument, NULL, 'R'},
                                             {"spec", required_argument, NULL, 'S'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"runtime", required_argument, NULL, 'r'},
                                             COMMON_OPTIONS,
                                             {}};
        _cleanup_json_ json_t *labels = json_object(), *spec = NULL, *res = NULL;
        const char *spec_file = NULL, *runtime = RUNTIME_DEFAULT, *id;
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: reads see EINTR */
        bool rm = false;
        int opt, r, status = EXIT_RUN_FAILED;

        while ((opt = getopt_long(argc, argv, COMMON_SHORT "l:", opts, NULL)) != -1) {
                r = 0;
                if (opt == 'R')
                        rm = true;
                else if (opt == 'S')
                        spec_file = optarg;
                else if (opt == 'l')
                        r = add_label(labels, NULL, optarg);
                else if (opt == 'r')
                        runtime = optarg;
                else if ((r = ctl_common_opt(c, "run", opt)) < 0)
                        r = 0;
                else
                        return r;
                if (r)
                        return r;
        }
        if (optind >= argc) {
                fprintf(stderr, "sandboxctl run: expected an ID\n");
                usage_of("run", false);
                return EXIT_USAGE;
        }
        id = argv[optind];
        if (load_spec(c, spec_file, &spec))
                return EXIT_RUN_FAILED;
        if (argc - optind > 1 && set_args(spec, argv + optind + 1, argc - optind - 1) < 0) {
                fprintf(stderr, "sandboxctl run: arguments are not valid UTF-8\n");
                return EXIT_USAGE;
        }
        if (do_create(c, id, runtime, labels, spec, NULL))
                return EXIT_RUN_FAILED;

        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        if (call_sandbox(c, "POST", id, "start", NULL, NULL, NULL))
                goto cleanup;
        if (!interrupted) {
                _cleanup_free_ char *path = sandbox_path(id, "logs");

                r = path ? ctl_stream(c, path, "follow=1") : EXIT_CONNECT;
                if (r == -EINTR || interrupted) {
                        /* Ctrl-C: stop the sandbox as docker run does, then clean up. */
                        c->conn.fd = safe_close(c->conn.fd);
                        (void)call_sandbox(c, "POST", id, "stop", "timeout=10", NULL, NULL);
                        status = 128 + (interrupted ? interrupted : SIGINT);
                        goto cleanup;
                }
        }
        if (call_sandbox(c, "GET", id, "wait", NULL, NULL, &res) == 0) {
                json_t *es = json_object_get(res, "exit_status");

                if (json_is_integer(es))
                        status = (int)json_integer_value(es);
                else
                        fprintf(stderr, "sandboxctl run: exit status of %s unknown\n", id);
        }
cleanup:
        if (call_sandbox(c, "POST", id, "shutdown", NULL, NULL, NULL))
                status = EXIT_RUN_FAILED;
        else if (rm && call_sandbox(c, "DELETE", id, NULL, NULL, NULL, NULL))
                status = EXIT_RUN_FAILED;
        return status;
}
