/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One dispatch table for every route (docs/api.md).  The router checks what is
 * common to all routes — method, query arguments, namespace, id — so handlers
 * start from a valid request.
 */
#include "supervisor/sandboxd-internal.h"
#include "supervisor/tasks-internal.h"

#include <errno.h>
#include <microhttpd.h>
#include <string.h>

#define MAX_PARAMS 4

struct method_route {
        sup_handler_t fn;
        /* Allowed query arguments besides "namespace"; a trailing '*' = repeatable. */
        const char *params[MAX_PARAMS];
};

struct route {
        const char *pattern; /* "{id}" matches one path segment */
        bool sandbox_scoped; /* takes ?namespace= */
        struct method_route m[_SUP_METHOD_MAX];
};

static const struct route routes[] = {
        {"/v1/health", false, {[SUP_GET] = {sup_api_health}}},
        {"/v1/version", false, {[SUP_GET] = {sup_api_version}}},
        {"/v1/spec", false, {[SUP_GET] = {sup_api_spec}}},
        {"/v1/sandboxes",
         true,
         {[SUP_GET] = {sup_api_list, {"filter*"}}, [SUP_POST] = {sup_api_create}}},
        {"/v1/sandboxes/{id}",
         true,
         {[SUP_GET] = {sup_api_get},
          [SUP_PATCH] = {sup_api_update, {"fieldpath*"}},
          [SUP_DELETE] = {sup_api_delete}}},
        {"/v1/sandboxes/{id}/start", true, {[SUP_POST] = {sup_api_start}}},
        {"/v1/sandboxes/{id}/stop", true, {[SUP_POST] = {sup_api_stop, {"timeout"}}}},
        {"/v1/sandboxes/{id}/shutdown", true, {[SUP_POST] = {sup_api_shutdown}}},
        {"/v1/sandboxes/{id}/wait", true, {[SUP_GET] = {sup_api_wait}}},
        {"/v1/sandboxes/{id}/status", true, {[SUP_GET] = {sup_api_status, {"verbose"}}}},
        {"/v1/sandboxes/{id}/metrics", true, {[SUP_GET] = {sup_api_metrics}}},
        {"/v1/sandboxes/{id}/logs", true, {[SUP_GET] = {sup_api_logs, {"follow"}}}},
        /* Tasks and events (issue #7: api-tasks.c). */
        {"/v1/sandboxes/{id}/tasks",
         true,
         {[SUP_GET] = {sup_api_tasks_list}, [SUP_POST] = {sup_api_tasks_create}}},
        {"/v1/sandboxes/{id}/tasks/{tid}",
         true,
         {[SUP_GET] = {sup_api_task_get}, [SUP_DELETE] = {sup_api_task_delete}}},
        {"/v1/sandboxes/{id}/tasks/{tid}/wait", true, {[SUP_GET] = {sup_api_task_wait}}},
        {"/v1/sandboxes/{id}/tasks/{tid}/kill",
         true,
         {[SUP_POST] = {sup_api_task_kill, {"signal"}}}},
        {"/v1/sandboxes/{id}/tasks/{tid}/logs",
         true,
         {[SUP_GET] = {sup_api_task_logs, {"follow"}}}},
        {"/v1/events", false, {[SUP_GET] = {sup_api_events, {"namespace", "filter*"}}}},
};

static const char *const method_names[] = {
        [SUP_GET] = "GET", [SUP_POST] = "POST", [SUP_PATCH] = "PATCH", [SUP_DELETE] = "DELETE"};

/* Matches url against pattern; copies the {id} segment into id. 1 = match. */
static int match(const char *pattern, const char *url, char *id, size_t id_size, bool *id_bad)
{
        const char *p = pattern, *u = url;

        while (*p && *u) {
                if (strncmp(p, "{id}", 4) == 0) {
                        size_t n = strcspn(u, "/");

                        if (n == 0)
                                return 0;
                        if (n >= id_size) {
                                *id_bad = true;
                                n = 0;
                        } else {
                                memcpy(id, u, n);
                        }
                        id[n] = '\0';
                        u += strcspn(u, "/");
                        p += 4;
                        continue;
                }
                if (strncmp(p, "{tid}", 5) == 0) {
                        /* Any one non-empty segment; the task handlers check it. */
                        size_t n = strcspn(u, "/");

                        if (n == 0)
                                return 0;
                        u += n;
                        p += 5;
                        continue;
                }
                if (*p != *u)
                        return 0;
                p++;
                u++;
        }
        return *p == '\0' && *u == '\0';
}

struct arg_check {
        const struct route *route;
        const struct method_route *mr;
        const char *bad;
        bool repeated;
        char seen[MAX_PARAMS + 1];
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
        struct arg_check *c = cls;
        int idx = -1;
        bool repeatable = false;

        if (c->route->sandbox_scoped && strcmp(key, "namespace") == 0) {
                idx = MAX_PARAMS;
        } else {
                for (int i = 0; i < MAX_PARAMS && c->mr->params[i]; i++) {
                        const char *p = c->mr->params[i];
                        size_t n = strlen(p);

                        repeatable = p[n - 1] == '*';
                        if (repeatable)
                                n--;
                        if (strlen(key) == n && strncmp(key, p, n) == 0) {
                                idx = i;
                                break;
                        }
                }
        }
        if (idx < 0) {
                c->bad = key;
                return MHD_NO;
        }
        if (idx == MAX_PARAMS || !repeatable) {
                if (c->seen[idx]) {
                        c->bad = key;
                        c->repeated = true;
                        return MHD_NO;
                }
                c->seen[idx] = 1;
        }
        return MHD_YES;
}

void sup_route(struct sup_request *r)
{
        bool id_bad = false;

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                const struct route *rt = &routes[i];

                if (!match(rt->pattern, r->url, r->id, sizeof(r->id), &id_bad))
                        continue;
                if (r->method >= _SUP_METHOD_MAX || !rt->m[r->method].fn) {
                        char allow[64] = "";

                        for (int m = 0; m < _SUP_METHOD_MAX; m++)
                                if (rt->m[m].fn) {
                                        if (allow[0])
                                                strcat(allow, ", ");
                                        strcat(allow, method_names[m]);
                                }
                        sup_reply_error(r, -EOPNOTSUPP, "method %s not allowed on %s (allowed: %s)",
                                        r->method_name, r->url, allow);
                        MHD_add_response_header(r->response, MHD_HTTP_HEADER_ALLOW, allow);
                        return;
                }
                const struct method_route *mr = &rt->m[r->method];
                struct arg_check c = {.route = rt, .mr = mr};

                MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &c);
                if (c.bad) {
                        if (c.repeated)
                                sup_reply_error(r, -EINVAL, "query argument \"%s\" given twice",
                                                c.bad);
                        else
                                sup_reply_error(r, -EINVAL, "unknown query argument \"%s\"", c.bad);
                        return;
                }
                if (rt->sandbox_scoped) {
                        const char *ns = sup_request_arg(r, "namespace");

                        if (!ns)
                                ns = "default";
                        if (!sup_valid_name(ns)) {
                                sup_reply_error(r, -EINVAL,
                                                "invalid namespace \"%.80s\": want 1-76 of "
                                                "[A-Za-z0-9] separated by single . _ or -",
                                                ns);
                                return;
                        }
                        strcpy(r->ns, ns);
                }
                if (strstr(rt->pattern, "{id}") && (id_bad || !sup_valid_name(r->id))) {
                        sup_reply_error(r, -EINVAL,
                                        "invalid sandbox id \"%.80s\": want 1-76 of [A-Za-z0-9] "
                                        "separated by single . _ or -",
                                        id_bad ? "(too long)" : r->id);
                        return;
                }
                mr->fn(r);
                return;
        }
        sup_reply_error(r, -ENOENT, "no route for %s", r->url);
}
