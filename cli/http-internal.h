/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/*
 * A minimal HTTP/1.1 client over a unix stream socket: what sandboxctl and the
 * benchmarks need to talk to sandboxd (docs/api.md), and nothing more.
 * One request at a time per connection; keep-alive is reused when the server
 * allows it; response bodies with Content-Length or chunked transfer encoding
 * (the streamed logs).  Functions return 0 or a negative errno, and fill
 * *err with a message.
 */
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* Responses larger than this are refused (the API never sends one this big,
 * except streamed logs, which go to a callback). */
#define HTTP_MAX_BODY (64u * 1024 * 1024)

struct http_conn {
        int fd;
        char *path;      /* socket path, for reconnecting */
        bool keep_alive; /* the last response allowed reuse */
        size_t rpos, rlen;
        char rbuf[65536];
};

struct http_response {
        int status;
        char *body; /* NUL-terminated; NULL when streamed or empty */
        size_t body_len;
        char allow[64]; /* the Allow header (405), if any */
};

/* Called with each piece of a streamed body; a negative return aborts. */
typedef int (*http_sink_t)(const char *data, size_t len, void *userdata);

int http_connect(struct http_conn *c, const char *socket_path, struct sbx_error *err);
void http_close(struct http_conn *c);

/* Sends one request and reads the response.  body may be NULL.  When sink is
 * given the body is passed to it piece by piece instead of being kept.
 * Reconnects once when a kept-alive connection was closed by the server. */
int http_request(struct http_conn *c, const char *method, const char *target, const char *body,
                 size_t body_len, http_sink_t sink, void *userdata, struct http_response *ret,
                 struct sbx_error *err);

/* The two halves of http_request(), for a client that acts between sending a request and
 * reading its answer (the benchmark's Wait latency).  No reconnect-and-retry. */
int http_send(struct http_conn *c, const char *method, const char *target, const char *body,
              size_t body_len, struct sbx_error *err);
int http_recv(struct http_conn *c, const char *method, http_sink_t sink, void *userdata,
              struct http_response *ret, struct sbx_error *err);

void http_response_free(struct http_response *r);

/* Appends s percent-encoded for a query value to the string at *buf (heap). */
int http_append_escaped(char **buf, const char *s);
