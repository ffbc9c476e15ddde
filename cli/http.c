/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal HTTP/1.1 client over AF_UNIX (see http-internal.h).  It speaks the
 * subset sandboxd answers with: a status line, headers, and a body delimited by
 * Content-Length, by chunked transfer encoding, or by the end of the
 * connection.  Reads are buffered; a whole request goes out in one send().
 */
#include "cli/http-internal.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"

static int dial(const char *path, struct sbx_error *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return sbx_fail(err, -ENAMETOOLONG, "socket path %s is too long", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return sbx_fail_errno(err, -errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return sbx_fail_errno(err, -errno, "cannot connect to sandboxd at %s", path);
        return TAKE_FD(fd);
}

int http_connect(struct http_conn *c, const char *socket_path, struct sbx_error *err)
{
        int fd;

        c->fd = -EBADF;
        c->rpos = c->rlen = 0;
        c->keep_alive = false;
        c->path = strdup(socket_path);
        if (!c->path)
                return sbx_fail(err, -ENOMEM, "out of memory");
        fd = dial(socket_path, err);
        if (fd < 0)
                return fd;
        c->fd = fd;
        c->keep_alive = true;
        return 0;
}

void http_close(struct http_conn *c)
{
        c->fd = safe_close(c->fd);
        free(c->path);
        c->path = NULL;
}

void http_response_free(struct http_response *r)
{
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
}

/* Fills the read buffer; returns bytes available (0 at EOF) or -errno. */
static ssize_t fill(struct http_conn *c)
{
        ssize_t n;

        if (c->rpos < c->rlen)
                return (ssize_t)(c->rlen - c->rpos);
        c->rpos = c->rlen = 0;
        /* Sleep in poll(), not in read(): a reader asleep in read() on a unix socket is woken
         * whenever sandboxd reads the request just sent (the socket's write-space wake-up,
         * which poll() filters out by its events) and goes back to sleep, a wake-up and two
         * context switches per request, on the daemon's CPU or with an IPI to the other.
         * EINTR is not retried: sandboxctl run relies on it to notice Ctrl-C. */
        if (poll(&(struct pollfd){.fd = c->fd, .events = POLLIN}, 1, -1) < 0)
                return -errno;
        n = read(c->fd, c->rbuf, sizeof(c->rbuf));
        if (n < 0)
                return -errno;
        c->rlen = (size_t)n;
        return n;
}

/* Reads one CRLF- (or LF-) terminated line without its terminator. */
static int read_line(struct http_conn *c, char *line, size_t size, struct sbx_error *err)
{
        size_t n = 0;

        for (;;) {
                ssize_t avail = fill(c);
                char ch;

                if (avail < 0)
                        return sbx_fail_errno(err, (int)avail, "reading the response");
                if (avail == 0)
                        return sbx_fail(err, -ECONNRESET,
                                        "sandboxd closed the connection before answering");
                ch = c->rbuf[c->rpos++];
                if (ch == '\n') {
                        if (n > 0 && line[n - 1] == '\r')
                                n--;
                        line[n] = '\0';
                        return 0;
                }
                if (n + 1 >= size)
                        return sbx_fail(err, -EPROTO, "response header line too long");
                line[n++] = ch;
        }
}

struct body_acc {
        char *buf;
        size_t len, cap;
        http_sink_t sink;
        void *userdata;
};

static int deliver(struct body_acc *b, const char *data, size_t len, struct sbx_error *err)
{
        if (len == 0)
                return 0;
        if (b->sink) {
                int r = b->sink(data, len, b->userdata);
                return r < 0 ? sbx_fail_errno(err, r, "writing the output") : 0;
        }
        if (b->len + len > HTTP_MAX_BODY)
                return sbx_fail(err, -EFBIG, "response body larger than %u bytes", HTTP_MAX_BODY);
        if (b->len + len + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *p;

                while (cap < b->len + len + 1)
                        cap *= 2;
                p = realloc(b->buf, cap);
                if (!p)
                        return sbx_fail(err, -ENOMEM, "out of memory");
                b->buf = p;
                b->cap = cap;
        }
        memcpy(b->buf + b->len, data, len);
        b->len += len;
        b->buf[b->len] = '\0';
        return 0;
}

/* Passes exactly n bytes (or until EOF when n is SIZE_MAX) from the connection to b. */
static int read_body(struct http_conn *c, size_t n, struct body_acc *b, struct sbx_error *err)
{
        bool to_eof = n == SIZE_MAX;

        while (n > 0) {
                ssize_t avail = fill(c);
                size_t k;
                int r;

                if (avail < 0)
                        return sbx_fail_errno(err, (int)avail, "reading the response");
                if (avail == 0) {
                        if (to_eof)
                                return 0;
                        return sbx_fail(err, -ECONNRESET, "response body cut short");
                }
                k = (size_t)avail < n ? (size_t)avail : n;
                r = deliver(b, c->rbuf + c->rpos, k, err);
                if (r < 0)
                        return r;
                c->rpos += k;
                if (!to_eof)
                        n -= k;
        }
        return 0;
}

static int read_chunked(struct http_conn *c, struct body_acc *b, struct sbx_error *err)
{
        char line[256];

        for (;;) {
                char *end;
                unsigned long size;
                int r = read_line(c, line, sizeof(line), err);

                if (r < 0)
                        return r;
                errno = 0;
                size = strtoul(line, &end, 16);
                if (end == line || errno != 0 || (*end && *end != ';' && *end != ' '))
                        return sbx_fail(err, -EPROTO, "bad chunk size line \"%s\"", line);
                if (size == 0)
                        break;
                r = read_body(c, size, b, err);
                if (r < 0)
                        return r;
                r = read_line(c, line, sizeof(line), err);
                if (r < 0)
                        return r;
                if (line[0])
                        return sbx_fail(err, -EPROTO, "chunk not followed by CRLF");
        }
        /* Trailers, up to the empty line. */
        for (;;) {
                int r = read_line(c, line, sizeof(line), err);

                if (r < 0)
                        return r;
                if (!line[0])
                        return 0;
        }
}

static int send_request(struct http_conn *c, const char *method, const char *target,
                        const char *body, size_t body_len, struct sbx_error *err)
{
        _cleanup_free_ char *head = NULL;
        int n;

        n = asprintf(&head,
                     "%s %s HTTP/1.1\r\nHost: sandboxd\r\nUser-Agent: sandboxctl\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     method, target, body ? body_len : 0,
                     body ? "Content-Type: application/json\r\n" : "");
        if (n < 0)
                return sbx_fail(err, -ENOMEM, "out of memory");
        if (send(c->fd, head, (size_t)n, MSG_NOSIGNAL | (body && body_len ? MSG_MORE : 0)) != n)
                return sbx_fail_errno(err, -(errno ? errno : EIO), "sending the request");
        for (size_t off = 0; body && off < body_len;) {
                ssize_t k = send(c->fd, body + off, body_len - off, MSG_NOSIGNAL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return sbx_fail_errno(err, -errno, "sending the request body");
                }
                off += (size_t)k;
        }
        return 0;
}

static int read_response(struct http_conn *c, const char *method, http_sink_t sink, void *userdata,
                         struct http_response *ret, struct sbx_error *err)
{
        char line[8192];
        size_t content_length = SIZE_MAX;
        bool chunked = false, close_after = false;
        struct body_acc b = {.sink = sink, .userdata = userdata};
        int status, r, minor;

        r = read_line(c, line, sizeof(line), err);
        if (r < 0)
                return r;
        if (sscanf(line, "HTTP/1.%d %d", &minor, &status) != 2 || status < 100 || status > 599)
                return sbx_fail(err, -EPROTO, "not an HTTP response: \"%.60s\"", line);
        if (minor == 0)
                close_after = true;
        ret->allow[0] = '\0';
        for (;;) {
                char *colon, *v;

                r = read_line(c, line, sizeof(line), err);
                if (r < 0)
                        return r;
                if (!line[0])
                        break;
                colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
                        ;
                if (strcasecmp(line, "Content-Length") == 0)
                        content_length = strtoull(v, NULL, 10);
                else if (strcasecmp(line, "Transfer-Encoding") == 0 && strcasestr(v, "chunked"))
                        chunked = true;
                else if (strcasecmp(line, "Connection") == 0 && strcasestr(v, "close"))
                        close_after = true;
                else if (strcasecmp(line, "Allow") == 0)
                        snprintf(ret->allow, sizeof(ret->allow), "%s", v);
        }
        ret->status = status;
        if (strcmp(method, "HEAD") == 0 || status == 204 || status == 304 || status < 200)
                r = 0;
        else if (chunked)
                r = read_chunked(c, &b, err);
        else if (content_length != SIZE_MAX)
                r = content_length > HTTP_MAX_BODY && !sink
                            ? sbx_fail(err, -EFBIG, "response body too large")
                            : read_body(c, content_length, &b, err);
        else {
                close_after = true;
                r = read_body(c, SIZE_MAX, &b, err);
        }
        if (r < 0) {
                free(b.buf);
                c->keep_alive = false;
                return r;
        }
        ret->body = b.buf;
        ret->body_len = b.len;
        c->keep_alive = !close_after;
        return 0;
}

int http_request(struct http_conn *c, const char *method, const char *target, const char *body,
                 size_t body_len, http_sink_t sink, void *userdata, struct http_response *ret,
                 struct sbx_error *err)
{
        bool reused = c->fd >= 0 && c->keep_alive && c->rlen == 0;
        int r;

        *ret = (struct http_response){0};
        if (c->fd < 0 || !c->keep_alive) {
                c->fd = safe_close(c->fd);
                r = dial(c->path, err);
                if (r < 0)
                        return r;
                c->fd = r;
                c->rpos = c->rlen = 0;
                reused = false;
        }
        r = send_request(c, method, target, body, body_len, err);
        if (r >= 0)
                r = read_response(c, method, sink, userdata, ret, err);
        if (r == -EPIPE || r == -ECONNRESET) {
                /* A kept-alive connection the server had already closed: once more on a
                 * fresh one (only if nothing of a response arrived). */
                if (reused && ret->status == 0) {
                        c->fd = safe_close(c->fd);
                        c->keep_alive = false;
                        sbx_error_clear(err);
                        return http_request(c, method, target, body, body_len, sink, userdata, ret,
                                            err);
                }
        }
        if (r < 0) {
                c->fd = safe_close(c->fd);
                c->keep_alive = false;
        }
        if (c->rpos == c->rlen)
                c->rpos = c->rlen = 0;
        return r;
}

int http_append_escaped(char **buf, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t old = *buf ? strlen(*buf) : 0, n = strlen(s);
        char *p = realloc(*buf, old + 3 * n + 1), *o;

        if (!p)
                return -ENOMEM;
        *buf = p;
        o = p + old;
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;

                if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
                        *o++ = (char)ch;
                } else {
                        *o++ = '%';
                        *o++ = hex[ch >> 4];
                        *o++ = hex[ch & 15];
                }
        }
        *o = '\0';
        return 0;
}

int http_send(struct http_conn *c, const char *method, const char *target, const char *body,
              size_t body_len, struct sbx_error *err)
{
        if (c->fd < 0 || !c->keep_alive) {
                int fd;

                c->fd = safe_close(c->fd);
                fd = dial(c->path, err);
                if (fd < 0)
                        return fd;
                c->fd = fd;
                c->rpos = c->rlen = 0;
        }
        return send_request(c, method, target, body, body_len, err);
}

int http_recv(struct http_conn *c, const char *method, http_sink_t sink, void *userdata,
              struct http_response *ret, struct sbx_error *err)
{
        int r;

        *ret = (struct http_response){0};
        r = read_response(c, method, sink, userdata, ret, err);
        if (r < 0) {
                c->fd = safe_close(c->fd);
                c->keep_alive = false;
        }
        return r;
}
