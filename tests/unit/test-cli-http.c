/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/http.c against a scripted server on a socketpair: what sandboxctl (and the
 * benchmarks) feel of it.
 */
#include "cli/http-internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUESTS 5

/* The server: for each request, lets the client fall asleep waiting, reads the request,
 * lets the client fall asleep again (were it woken by that read), then answers. */
static void *slow_server(void *arg)
{
        int fd = *(int *)arg;

        for (int i = 0; i < REQUESTS; i++) {
                static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                char buf[4096];
                size_t got = 0;

                usleep(20 * 1000);
                while (got < 4 || !memmem(buf, got, "\r\n\r\n", 4)) {
                        ssize_t n = read(fd, buf + got, sizeof(buf) - got);

                        if (n <= 0)
                                return NULL;
                        got += (size_t)n;
                }
                usleep(20 * 1000);
                if (write(fd, answer, sizeof(answer) - 1) != (ssize_t)sizeof(answer) - 1)
                        return NULL;
        }
        return NULL;
}

/* A client asleep in read(2) on a unix socket is woken when the server reads the request
 * (the socket's write space comes back) and goes back to sleep: a wake-up and two context
 * switches more per request, on a 2-vCPU guest an IPI.  Each request must sleep once,
 * until its answer. */
Test(cli_http, a_request_sleeps_once_until_its_answer)
{
        struct http_conn c = {.fd = -EBADF, .keep_alive = true}; /* as http_connect() leaves it */
        struct sbx_error err = {0};
        struct rusage before, after;
        pthread_t server;
        int sv[2];

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        c.fd = sv[0];
        cr_assert_eq(pthread_create(&server, NULL, slow_server, &sv[1]), 0);
        cr_assert_eq(getrusage(RUSAGE_THREAD, &before), 0);
        for (int i = 0; i < REQUESTS; i++) {
                struct http_response r = {0};

                cr_assert_eq(http_request(&c, "GET", "/v1/version", NULL, 0, NULL, NULL, &r, &err),
                             0, "request %d: %s", i, err.message);
                cr_assert_eq(r.status, 200);
                cr_assert_eq(r.body_len, 2);
                cr_assert_str_eq(r.body, "ok");
                http_response_free(&r);
        }
        cr_assert_eq(getrusage(RUSAGE_THREAD, &after), 0);
        cr_expect_leq(after.ru_nvcsw - before.ru_nvcsw, REQUESTS,
                      "%ld sleeps for %d requests: the client was woken before its answers",
                      after.ru_nvcsw - before.ru_nvcsw, REQUESTS);
        pthread_join(server, NULL);
        close(sv[1]);
        http_close(&c);
}
