/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * slowclient SOCKET SECONDS [BYTES]: a slow-loris client for the integration
 * tests.  Connects to the daemon's unix socket, sends the first BYTES (default
 * 20) bytes of a request and nothing more, then waits up to SECONDS for the
 * daemon to close the connection.  Exit 0 when it did (prints after how long),
 * 1 when the connection was still open at the deadline, 2 on errors.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: sandboxd\r\nX-Slow: 1\r\n\r\n";
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t bytes = 20;
        double deadline, start;
        int fd;

        if (argc < 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: slowclient SOCKET SECONDS [BYTES]\n");
                return 2;
        }
        if (argc > 3)
                bytes = strtoul(argv[3], NULL, 10);
        if (bytes >= sizeof(req) - 1)
                bytes = sizeof(req) - 2;
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("slowclient: connect");
                return 2;
        }
        if (write(fd, req, bytes) != (ssize_t)bytes) {
                perror("slowclient: write");
                return 2;
        }
        start = now();
        deadline = start + atof(argv[2]);
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                double left = deadline - now();
                char buf[4096];
                ssize_t n;

                if (left <= 0) {
                        printf("still open after %.1f s\n", now() - start);
                        return 1;
                }
                if (poll(&p, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
                        return 2;
                if (!p.revents)
                        continue;
                n = read(fd, buf, sizeof(buf));
                if (n <= 0) {
                        printf("closed by the daemon after %.1f s\n", now() - start);
                        return 0;
                }
        }
}
