/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* sandboxctl: shared state of the subcommands (cli/sandboxctl.c, cli/commands.c). */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/http-internal.h"

/* Exit codes (documented in --help and sandboxctl(1)). */
enum {
        EXIT_OK = 0,
        EXIT_API = 1,          /* sandboxd answered with an error */
        EXIT_USAGE = 2,        /* bad command line */
        EXIT_CONNECT = 3,      /* sandboxd unreachable, bad response, local I/O error */
        EXIT_RUN_FAILED = 125, /* run: failed before the sandbox's status was known */
};

enum output_format { OUTPUT_TABLE, OUTPUT_JSON };

struct ctl {
        const char *socket_path;
        const char *namespace; /* NULL: the daemon's default ("default") */
        struct http_conn conn;
        bool connected;
        bool quiet; /* do not print API errors (the caller handles them) */
        /* The last API error, for callers that branch on it (run). */
        int last_status;
        char last_code[48];
};

/* Performs METHOD on /v1/PATH (PATH already escaped; the namespace query
 * parameter is appended, query may be NULL or "a=b&c=d").  On 2xx returns 0 and
 * *ret the parsed body (NULL for an empty one); otherwise prints the API's error
 * and returns EXIT_API or EXIT_CONNECT. */
int ctl_call(struct ctl *c, const char *method, const char *path, const char *query, json_t *body,
             json_t **ret);
/* Same, streaming the response body to stdout (logs). */
int ctl_stream(struct ctl *c, const char *path, const char *query);

/* The default spec from the daemon (GET /v1/spec). */
int ctl_default_spec(struct ctl *c, json_t **ret);

/* Base64 (RFC 4648 with padding) of len bytes, heap-allocated. */
char *b64_encode(const void *data, size_t len);
/* Reads a whole file (or stdin for "-"); prints the error itself. */
int read_file(const char *path, char **ret, size_t *ret_len);

void print_json(json_t *j);
/* "key  value" lines of a JSON object, nested keys joined with '.'. */
void print_flat(const char *prefix, json_t *j);
/* Reads a JSON string or integer member as text ("-" when null or absent). */
const char *jtext(json_t *obj, const char *key, char *buf, size_t size);

int cmd_create(struct ctl *c, int argc, char **argv);
int cmd_list(struct ctl *c, int argc, char **argv);
int cmd_get(struct ctl *c, int argc, char **argv);
int cmd_update(struct ctl *c, int argc, char **argv);
int cmd_delete(struct ctl *c, int argc, char **argv);
int cmd_start(struct ctl *c, int argc, char **argv);
int cmd_stop(struct ctl *c, int argc, char **argv);
int cmd_shutdown(struct ctl *c, int argc, char **argv);
int cmd_wait(struct ctl *c, int argc, char **argv);
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_metrics(struct ctl *c, int argc, char **argv);
int cmd_logs(struct ctl *c, int argc, char **argv);
int cmd_spec(struct ctl *c, int argc, char **argv);
int cmd_run(struct ctl *c, int argc, char **argv);
int cmd_version(struct ctl *c, int argc, char **argv);
/* cli/cmd-tasks.c (issue #7) */
int cmd_exec(struct ctl *c, int argc, char **argv);
int cmd_tasks(struct ctl *c, int argc, char **argv);
int cmd_kill(struct ctl *c, int argc, char **argv);
int cmd_events(struct ctl *c, int argc, char **argv);

/* Prints the usage of one subcommand (to stdout when ok, else stderr). */
void usage_of(const char *name, bool ok);
/* Handles the options every command takes (--namespace, --socket, --help) and getopt's
 * errors: returns -1 when opt was one of them, else the exit code to return. */
int ctl_common_opt(struct ctl *c, const char *cmd, int opt);
