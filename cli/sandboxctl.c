/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandboxctl: the command-line client of sandboxd.  It talks to the daemon only
 * through the HTTP/JSON API on its unix socket (docs/api.md); see
 * docs/sandboxctl.1.  This file: global options, dispatch, the API call and
 * output helpers.  The subcommands are in commands.c.
 */
#include "cli/sandboxctl-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define DEFAULT_SOCKET "/run/sandboxd/sandboxd.sock"

struct command {
        const char *name;
        int (*fn)(struct ctl *c, int argc, char **argv);
        const char *args;
        const char *summary;
        const char *options;
};

static const struct command commands[] = {
        {"create", cmd_create,
         "ID [--spec FILE] [--label K=V]... [--runtime NAME] [-o table|json] [-- CMD [ARG...]]",
         "Create a sandbox record (without --spec: the daemon's default spec; CMD ARG...\n"
         "replace the spec's process.args).",
         "  --spec FILE        OCI runtime spec (config.json; - for stdin)\n"
         "  --label, -l K=V    a label (repeatable)\n"
         "  --runtime NAME     runtime name (default io.sandboxd.linux.v1)\n"
         "  -o, --output FMT   table (prints the id) or json (the stored record)\n"},
        {"list", cmd_list, "[--filter F]... [-o table|json] [-q]",
         "List the sandboxes of the namespace.",
         "  --filter, -f F     containerd filter, e.g. 'labels.app==web,id~=^a'; several\n"
         "                     --filter are OR, commas inside one are AND\n"
         "  -o, --output FMT   table (with each sandbox's state) or json\n"
         "  -q, --quiet        print only the ids\n"},
        {"get", cmd_get, "ID", "Print a sandbox record as JSON.", ""},
        {"update", cmd_update,
         "ID [--label K=V|K-]... [--spec FILE] [--runtime NAME] [--fieldpath P]...",
         "Update a record.  Without --fieldpath only what is given changes\n"
         "(--label K=V sets, --label K- removes a label).",
         "  --label, -l K=V    set label K; K- removes it (repeatable)\n"
         "  --spec FILE        replace the spec\n"
         "  --runtime NAME     replace the runtime\n"
         "  --fieldpath P      send exactly these fieldpaths (labels, labels.KEY,\n"
         "                     extensions, extensions.KEY, runtime, spec; repeatable)\n"
         "  -o, --output FMT   table (nothing) or json (the updated record)\n"},
        {"delete", cmd_delete, "ID...", "Delete sandbox records (refused while running).", ""},
        {"start", cmd_start, "ID", "Start a sandbox; prints its pid.", ""},
        {"stop", cmd_stop, "ID [--timeout S]",
         "SIGTERM the sandbox, kill it after S seconds (default 10); prints its exit status.",
         "  -t, --timeout S    seconds before the kill (0..86400)\n"},
        {"shutdown", cmd_shutdown, "ID...",
         "Kill everything in the sandbox and remove its cgroup, netns and run directory.", ""},
        {"wait", cmd_wait, "ID", "Wait until the sandbox exits; prints its exit status.", ""},
        {"status", cmd_status, "ID [-v] [-o table|json]", "Show the state of a sandbox.",
         "  -v, --verbose      cgroup, namespaces, seccomp and resource use\n"
         "  -o, --output FMT   table or json\n"},
        {"metrics", cmd_metrics, "ID [-o table|json]", "Show the cgroup statistics of a sandbox.",
         "  -o, --output FMT   table or json\n"},
        {"logs", cmd_logs, "ID [-f] [--task TID]",
         "Print the sandbox's output (stdout and stderr).",
         "  -f, --follow       keep printing until the sandbox's output ends (with --task:\n"
         "                     until the task exits)\n"
         "  -t, --task TID     the output of a task instead\n"},
        {"spec", cmd_spec, "", "Print the default spec (host root read-only, no image needed).",
         ""},
        {"run", cmd_run, "[--rm] [--spec FILE] [--label K=V]... ID [-- CMD [ARG...]]",
         "Create and start a sandbox running CMD, stream its output, wait for it,\n"
         "shut it down (and delete it with --rm); exits with the sandbox's status.",
         "  --rm               delete the record afterwards\n"
         "  --spec FILE        OCI runtime spec (default: the daemon's default spec)\n"
         "  --label, -l K=V    a label (repeatable)\n"
         "  --runtime NAME     runtime name (default io.sandboxd.linux.v1)\n"},
        /* Tasks and events (issue #7, cli/cmd-tasks.c). */
        {"exec", cmd_exec,
         "[--detach] [--id TID] [--cwd DIR] [--env K=V]... [--user UID[:GID]] [--seccomp FILE]\n"
         "            ID -- CMD [ARG...]",
         "Run CMD as a task inside the running sandbox ID; prints its output as it comes, waits\n"
         "and exits with its status (--detach: prints the task id and returns at once).",
         "  -d, --detach       do not wait; print the task id\n"
         "  -i, --id TID       the task id (default: generated)\n"
         "  -w, --cwd DIR      working directory inside the sandbox\n"
         "  -e, --env K=V      environment (repeatable; default: the sandbox's)\n"
         "  -u, --user U[:G]   user and group ids\n"
         "  -S, --seccomp FILE a JSON file holding an OCI linux.seccomp object: the task's own\n"
         "                     profile, on top of the sandbox's (it can only restrict more)\n"},
        {"tasks", cmd_tasks, "ID [-o table|json]", "List the tasks of a sandbox.",
         "  -o, --output FMT   table or json\n"},
        {"kill", cmd_kill, "ID TID [--signal S]", "Send a signal to a task (default TERM).",
         "  -S, --signal S     a number or a name (KILL, SIGKILL)\n"},
        {"events", cmd_events, "[--filter F]...",
         "Print the daemon's events as they happen, one JSON object a line (all namespaces\n"
         "unless --namespace is given).",
         "  -f, --filter F     containerd filter on event fields (repeatable: OR)\n"},
        {"version", cmd_version, "", "Print the daemon's version and capabilities.", ""},
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: sandboxctl [--socket PATH] [--namespace NS] COMMAND [ARGS...]\n"
                   "\n"
                   "Client of sandboxd, talking to it over its HTTP/JSON API.\n"
                   "\n"
                   "Global options:\n"
                   "  -s, --socket PATH     the daemon's socket (default $SANDBOXD_SOCKET or\n"
                   "                        " DEFAULT_SOCKET ")\n"
                   "  -n, --namespace NS    sandbox namespace (default \"default\")\n"
                   "  -h, --help            this help; COMMAND --help for a command's\n"
                   "\n"
                   "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].args);
        fprintf(f, "\n"
                   "Exit status:\n"
                   "  0    success\n"
                   "  1    sandboxd answered with an error (its message is printed)\n"
                   "  2    usage error\n"
                   "  3    sandboxd unreachable, unexpected response, or local I/O error\n"
                   "  run: the sandbox's exit status (code, or 128+signal), 125 when\n"
                   "       sandboxctl or sandboxd failed, 130 when interrupted\n");
}

void usage_of(const char *name, bool ok)
{
        FILE *f = ok ? stdout : stderr;

        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(commands[i].name, name) != 0)
                        continue;
                fprintf(f, "Usage: sandboxctl [GLOBAL OPTIONS] %s %s\n\n%s\n", name,
                        commands[i].args, commands[i].summary);
                if (commands[i].options[0])
                        fprintf(f, "\nOptions:\n%s", commands[i].options);
                fprintf(f,
                        "  -h, --help         this help\n"
                        "\nExit status: 0 success, 1 API error, 2 usage error, 3 sandboxd "
                        "unreachable%s.\n",
                        strcmp(name, "run") == 0 ? "; otherwise the sandbox's exit status, "
                                                   "125 on failure, 130 when interrupted"
                                                 : "");
                return;
        }
}

static int ensure_connected(struct ctl *c)
{
        struct sbx_error err = {0};

        if (c->connected)
                return 0;
        if (http_connect(&c->conn, c->socket_path, &err) < 0) {
                fprintf(stderr, "sandboxctl: %s\n", err.message);
                http_close(&c->conn);
                return EXIT_CONNECT;
        }
        c->connected = true;
        return 0;
}

static char *make_target(struct ctl *c, const char *path, const char *query)
{
        _cleanup_free_ char *target = NULL;
        bool has_query = query && query[0];

        if (asprintf(&target, "/v1/%s%s%s", path, has_query ? "?" : "", has_query ? query : "") < 0)
                return NULL;
        if (c->namespace) {
                size_t n = strlen(target);
                char *p = realloc(target, n + 12);
                if (!p)
                        return NULL;
                target = p;
                strcpy(target + n, has_query ? "&namespace=" : "?namespace=");
                if (http_append_escaped(&target, c->namespace) < 0)
                        return NULL;
        }
        return TAKE_PTR(target);
}

/* Prints the API's error; returns EXIT_API. */
static int report_error(struct ctl *c, const struct http_response *resp, const char *method,
                        const char *target)
{
        json_t *j = resp->body ? json_loads(resp->body, 0, NULL) : NULL;
        const char *code = NULL, *message = NULL;

        if (j)
                json_unpack(j, "{s:{s?s, s?s}}", "error", "code", &code, "message", &message);
        c->last_status = resp->status;
        snprintf(c->last_code, sizeof(c->last_code), "%s", code ? code : "");
        if (c->quiet)
                ;
        else if (message)
                fprintf(stderr, "sandboxctl: %s (%s)\n", message, code ? code : "error");
        else
                fprintf(stderr, "sandboxctl: %s %s: HTTP %d%s%.200s\n", method, target,
                        resp->status, resp->body ? ": " : "", resp->body ? resp->body : "");
        json_decref(j);
        return EXIT_API;
}

int ctl_call(struct ctl *c, const char *method, const char *path, const char *query, json_t *body,
             json_t **ret)
{
        _cleanup_free_ char *target = make_target(c, path, query), *data = NULL;
        struct http_response resp = {0};
        struct sbx_error err = {0};
        json_error_t jerr;
        json_t *j = NULL;
        int r;

        if (ret)
                *ret = NULL;
        c->last_status = 0;
        c->last_code[0] = '\0';
        if (!target) {
                fprintf(stderr, "sandboxctl: out of memory\n");
                return EXIT_CONNECT;
        }
        r = ensure_connected(c);
        if (r)
                return r;
        if (body) {
                data = json_dumps(body, JSON_COMPACT);
                if (!data) {
                        fprintf(stderr, "sandboxctl: cannot encode the request\n");
                        return EXIT_CONNECT;
                }
        }
        r = http_request(&c->conn, method, target, data, data ? strlen(data) : 0, NULL, NULL, &resp,
                         &err);
        if (r < 0) {
                fprintf(stderr, "sandboxctl: %s\n", err.message);
                return EXIT_CONNECT;
        }
        c->last_status = resp.status;
        if (resp.status < 200 || resp.status > 299) {
                r = report_error(c, &resp, method, target);
                http_response_free(&resp);
                return r;
        }
        if (resp.body && resp.body_len > 0) {
                j = json_loadb(resp.body, resp.body_len, 0, &jerr);
                if (!j) {
                        fprintf(stderr, "sandboxctl: %s %s: invalid JSON in the response: %s\n",
                                method, target, jerr.text);
                        http_response_free(&resp);
                        return EXIT_CONNECT;
                }
        }
        http_response_free(&resp);
        if (ret)
                *ret = j;
        else
                json_decref(j);
        return 0;
}

struct stream {
        const struct http_response *resp; /* status known before the body is read */
        char err[1024];                   /* an error body is kept, not printed */
        size_t err_len;
};

static int stdout_sink(const char *data, size_t len, void *userdata)
{
        struct stream *st = userdata;
        size_t n;

        if (st->resp->status >= 200 && st->resp->status <= 299)
                return sbx_write_all(STDOUT_FILENO, data, len);
        n = sizeof(st->err) - 1 - st->err_len;
        n = len < n ? len : n;
        memcpy(st->err + st->err_len, data, n);
        st->err_len += n;
        st->err[st->err_len] = '\0';
        return 0;
}

int ctl_stream(struct ctl *c, const char *path, const char *query)
{
        _cleanup_free_ char *target = make_target(c, path, query);
        struct http_response resp = {0};
        struct stream st = {.resp = &resp};
        struct sbx_error err = {0};
        int r;

        c->last_status = 0;
        if (!target)
                return EXIT_CONNECT;
        r = ensure_connected(c);
        if (r)
                return r;
        r = http_request(&c->conn, "GET", target, NULL, 0, stdout_sink, &st, &resp, &err);
        if (r < 0) {
                if (r == -EINTR)
                        return -EINTR;
                fprintf(stderr, "sandboxctl: %s\n", err.message);
                return EXIT_CONNECT;
        }
        c->last_status = resp.status;
        if (resp.status < 200 || resp.status > 299) {
                resp.body = st.err_len ? strdup(st.err) : NULL;
                r = report_error(c, &resp, "GET", target);
        }
        http_response_free(&resp);
        return r;
}

int ctl_default_spec(struct ctl *c, json_t **ret)
{
        return ctl_call(c, "GET", "spec", NULL, NULL, ret);
}

char *b64_encode(const void *data, size_t len)
{
        static const char tbl[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *in = data;
        char *out = malloc(4 * ((len + 2) / 3) + 1), *o = out;
        size_t i;

        if (!out)
                return NULL;
        for (i = 0; i + 2 < len; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

                *o++ = tbl[v >> 18];
                *o++ = tbl[(v >> 12) & 63];
                *o++ = tbl[(v >> 6) & 63];
                *o++ = tbl[v & 63];
        }
        if (i < len) {
                uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

                *o++ = tbl[v >> 18];
                *o++ = tbl[(v >> 12) & 63];
                *o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
                *o++ = '=';
        }
        *o = '\0';
        return out;
}

int read_file(const char *path, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "sandboxctl: %s: %m\n", path);
                return EXIT_CONNECT;
        }
        for (;;) {
                ssize_t n;

                if (len + 4096 + 1 > cap) {
                        char *p;

                        cap = cap ? cap * 2 : 65536;
                        if (cap > 64u * 1024 * 1024) {
                                fprintf(stderr, "sandboxctl: %s: file too large\n", path);
                                return EXIT_CONNECT;
                        }
                        p = realloc(buf, cap);
                        if (!p)
                                return EXIT_CONNECT;
                        buf = p;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "sandboxctl: %s: %m\n", path);
                        return EXIT_CONNECT;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

void print_json(json_t *j)
{
        if (!j)
                return;
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
}

static void print_value_line(const char *key, json_t *v)
{
        if (json_is_string(v))
                printf("%-28s %s\n", key, json_string_value(v));
        else if (json_is_null(v))
                printf("%-28s -\n", key);
        else {
                _cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

                printf("%-28s %s\n", key, s ? s : "?");
        }
}

void print_flat(const char *prefix, json_t *j)
{
        const char *key;
        json_t *v;

        if (!json_is_object(j)) {
                print_value_line(prefix, j);
                return;
        }
        json_object_foreach (j, key, v) {
                _cleanup_free_ char *k = NULL;

                if (asprintf(&k, "%s%s%s", prefix, prefix[0] ? "." : "", key) < 0)
                        return;
                if (json_is_object(v) && json_object_size(v) > 0)
                        print_flat(k, v);
                else
                        print_value_line(k, v);
        }
}

const char *jtext(json_t *obj, const char *key, char *buf, size_t size)
{
        json_t *v = json_object_get(obj, key);

        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v)) {
                snprintf(buf, size, "%lld", (long long)json_integer_value(v));
                return buf;
        }
        if (json_is_boolean(v))
                return json_is_true(v) ? "yes" : "no";
        return "-";
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"socket", required_argument, NULL, 's'},
                {"namespace", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct ctl c = {.conn.fd = -EBADF};
        const char *env = getenv("SANDBOXD_SOCKET");
        int opt, r;

        c.socket_path = env && env[0] ? env : DEFAULT_SOCKET;
        while ((opt = getopt_long(argc, argv, "+s:n:h", opts, NULL)) != -1) {
                switch (opt) {
                case 's':
                        c.socket_path = optarg;
                        break;
                case 'n':
                        c.namespace = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(commands[i].name, argv[optind]) != 0)
                        continue;
                argv += optind;
                argc -= optind;
                optind = 0; /* 0: getopt re-initialises for the subcommand */
                r = commands[i].fn(&c, argc, argv);
                if (c.connected)
                        http_close(&c.conn);
                fflush(stdout);
                return r;
        }
        fprintf(stderr, "sandboxctl: unknown command \"%s\" (see sandboxctl --help)\n",
                argv[optind]);
        return EXIT_USAGE;
}
