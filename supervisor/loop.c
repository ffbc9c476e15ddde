/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one event loop of sandboxd: an epoll set holding the signalfd, the HTTP
 * server's epoll fd, the store's eventfd, every pidfd, log pipe and cgroup.events
 * fd, the BPF ring buffer and one timerfd.  Timers are a list sorted by deadline;
 * the timerfd is armed (absolute CLOCK_MONOTONIC) for the head.  There are few
 * timers (Stop timeouts), so a list is enough.
 */
#include "supervisor/sandboxd-internal.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

static int epfd = -EBADF;
static int tfd = -EBADF;
static struct sup_watch timer_watch;
static struct sup_timer *timers;
static bool quit;
static int (*idle_hook)(int timeout_ms);

static void timers_fire(struct sup_watch *w, uint32_t events);
static void run_deferred(void);

int sup_loop_init(struct sbx_error *err)
{
        epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0)
                return sbx_fail_errno(err, -errno, "epoll_create1");
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (tfd < 0)
                return sbx_fail_errno(err, -errno, "timerfd_create");
        timer_watch.cb = timers_fire;
        return sup_loop_add(tfd, EPOLLIN, &timer_watch);
}

void sup_loop_done(void)
{
        run_deferred(); /* what was retired after the loop stopped */
        tfd = safe_close(tfd);
        epfd = safe_close(epfd);
        timers = NULL;
}

int sup_loop_add(int fd, uint32_t events, struct sup_watch *w)
{
        struct epoll_event ev = {.events = events, .data.ptr = w};

        w->fd = fd;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        return 0;
}

int sup_loop_mod(struct sup_watch *w, uint32_t events)
{
        struct epoll_event ev = {.events = events, .data.ptr = w};

        if (epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
                return -errno;
        return 0;
}

void sup_loop_del(struct sup_watch *w)
{
        if (w->fd >= 0)
                (void)epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
        w->fd = -EBADF;
}

static void timerfd_rearm(void)
{
        struct itimerspec its = {0};

        if (timers) {
                its.it_value.tv_sec = timers->when / NSEC_PER_SEC;
                its.it_value.tv_nsec = timers->when % NSEC_PER_SEC;
                if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                        its.it_value.tv_nsec = 1;
        }
        if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                log_error("timerfd_settime: %s", strerror(errno));
}

void sup_timer_disarm(struct sup_timer *t)
{
        if (!t->armed)
                return;
        bool was_head = timers == t;
        for (struct sup_timer **p = &timers; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        t->armed = false;
        t->next = NULL;
        if (was_head)
                timerfd_rearm();
}

void sup_timer_arm(struct sup_timer *t, uint64_t when_ns)
{
        struct sup_timer **p;

        sup_timer_disarm(t);
        t->when = when_ns;
        for (p = &timers; *p && (*p)->when <= when_ns; p = &(*p)->next)
                ;
        t->next = *p;
        *p = t;
        t->armed = true;
        if (timers == t)
                timerfd_rearm();
}

static void timers_fire(struct sup_watch *w, uint32_t events)
{
        uint64_t n;
        uint64_t now = sbx_now_monotonic_ns();

        (void)!read(tfd, &n, sizeof(n));
        while (timers && timers->when <= now) {
                struct sup_timer *t = timers;

                timers = t->next;
                t->next = NULL;
                t->armed = false;
                t->cb(t);
        }
        timerfd_rearm();
}

struct deferred {
        void (*fn)(void *);
        void *p;
        struct deferred *next;
};
static struct deferred *deferred;

void sup_loop_defer_free(void (*fn)(void *), void *p)
{
        struct deferred *d = malloc(sizeof(*d));

        if (!d) {
                /* Out of memory: leaking is safer than a use after free. */
                log_error("out of memory deferring a free");
                return;
        }
        *d = (struct deferred){.fn = fn, .p = p, .next = deferred};
        deferred = d;
}

static void run_deferred(void)
{
        while (deferred) {
                struct deferred *d = deferred;

                deferred = d->next;
                d->fn(d->p);
                free(d);
        }
}

void sup_loop_quit(void)
{
        quit = true;
}

bool sup_loop_quitting(void)
{
        return quit;
}

void sup_loop_set_idle_hook(int (*hook)(int timeout_ms))
{
        idle_hook = hook;
}

int sup_loop_run(void)
{
        struct epoll_event evs[64];

        while (!quit) {
                /* The hook (the HTTP server) runs its pending work and says how long it may
                 * sleep: MHD_get_timeout() after MHD_run(). */
                int timeout = idle_hook ? idle_hook(-1) : -1;
                int n = epoll_wait(epfd, evs, ELEMENTSOF(evs), timeout);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n; i++) {
                        struct sup_watch *w = evs[i].data.ptr;

                        /* A callback earlier in this batch may have retired this watch;
                         * its memory stays valid until the deferred frees below. */
                        if (w->fd >= 0)
                                w->cb(w, evs[i].events);
                }
                run_deferred();
        }
        run_deferred();
        return 0;
}
