/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The spawner thread (spawner-internal.h): a job queue under a mutex, one thread that
 * runs iso_spawn(), and a list of finished jobs handed back to the loop through an eventfd
 * (the same pattern as the store's sync thread).  The thread touches only the jobs.
 */
#include "supervisor/spawner-internal.h"
#include "supervisor/sandboxd-internal.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sup_spawn_job *queue, **queue_tail = &queue;          /* under lock */
static struct sup_spawn_job *finished, **finished_tail = &finished; /* under lock */
static bool stop;                                                   /* under lock */
/* One thread: spawns are serialised by spawn_lock (isolation/child.c keeps the vm-mode
 * child's context in a static), so more threads would only queue behind it. */
static pthread_t thread;
static bool thread_started;
static unsigned in_flight; /* loop thread only */
/* The spare network namespace (spawner-internal.h); the spawner thread's only. */
static int spare_netns = -EBADF;
static bool netns_wanted;
static int efd = -EBADF;
static struct sup_watch efd_watch;

void sup_spawn_lock(void)
{
        pthread_mutex_lock(&spawn_lock);
}

void sup_spawn_unlock(void)
{
        pthread_mutex_unlock(&spawn_lock);
}

static int netns_new(void)
{
        struct sbx_error e = {0};
        int fd = iso_netns_new(&e);

        if (fd < 0)
                log_debug("spawner: preparing a network namespace: %s", e.message);
        return fd;
}

/* The spare, or a new one if there is none (or -1: the spawn makes its own). */
static int netns_take(void)
{
        int fd = spare_netns;

        netns_wanted = true;
        spare_netns = -EBADF;
        return fd >= 0 ? fd : netns_new();
}

static void *spawner_main(void *arg)
{
        for (;;) {
                struct sup_spawn_job *job;
                uint64_t one = 1, t0;

                pthread_mutex_lock(&lock);
                while (!queue && !stop)
                        pthread_cond_wait(&cond, &lock);
                if (!queue) {
                        pthread_mutex_unlock(&lock);
                        spare_netns = safe_close(spare_netns);
                        return NULL;
                }
                job = queue;
                queue = job->next;
                if (!queue)
                        queue_tail = &queue;
                pthread_mutex_unlock(&lock);

                job->process = ISO_PROCESS_NULL;
                job->netns_fd = job->opts.netns_fd = job->want_netns ? netns_take() : -EBADF;
                sup_spawn_lock();
                t0 = sbx_now_monotonic_ns();
                job->result = iso_spawn(job->config, &job->opts, &job->process, &job->err);
                job->spawn_ns = sbx_now_monotonic_ns() - t0;
                sup_spawn_unlock();

                pthread_mutex_lock(&lock);
                job->next = NULL;
                *finished_tail = job;
                finished_tail = &job->next;
                pthread_mutex_unlock(&lock);
                /* An eventfd counter does not overflow here: the loop reads it down. */
                (void)!write(efd, &one, sizeof(one));

                /* Idle: make the next sandbox's network namespace now, off its start. */
                pthread_mutex_lock(&lock);
                bool idle = !queue && !stop;
                pthread_mutex_unlock(&lock);
                if (idle && netns_wanted && spare_netns < 0)
                        spare_netns = netns_new();
        }
}

/* Runs the done() of every finished job, in the order they finished. */
static void run_finished(void)
{
        struct sup_spawn_job *list;

        pthread_mutex_lock(&lock);
        list = finished;
        finished = NULL;
        finished_tail = &finished;
        pthread_mutex_unlock(&lock);
        while (list) {
                struct sup_spawn_job *job = list;

                list = job->next;
                job->next = NULL;
                in_flight--;
                job->done(job);
        }
}

static void on_eventfd(struct sup_watch *w, uint32_t events)
{
        uint64_t n;

        (void)!read(efd, &n, sizeof(n));
        run_finished();
}

int sup_spawner_init(struct sbx_error *err)
{
        sigset_t all, old;
        int r;

        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
                return sbx_fail_errno(err, -errno, "eventfd");
        efd_watch.cb = on_eventfd;
        r = sup_loop_add(efd, EPOLLIN, &efd_watch);
        if (r < 0)
                return sbx_fail_errno(err, r, "epoll_ctl(spawner eventfd)");
        /* Signals are the loop's (signalfd): the thread blocks every one. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&thread, NULL, spawner_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return sbx_fail_errno(err, -r, "pthread_create (spawner)");
        thread_started = true;
        return 0;
}

void sup_spawner_submit(struct sup_spawn_job *job)
{
        job->next = NULL;
        in_flight++;
        pthread_mutex_lock(&lock);
        *queue_tail = job;
        queue_tail = &job->next;
        pthread_cond_signal(&cond);
        pthread_mutex_unlock(&lock);
}

unsigned sup_spawner_in_flight(void)
{
        return in_flight;
}

void sup_spawner_drain(void)
{
        while (in_flight > 0) {
                struct pollfd p = {.fd = efd, .events = POLLIN};
                uint64_t n;

                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        break;
                (void)!read(efd, &n, sizeof(n));
                run_finished();
        }
}

void sup_spawner_done(void)
{
        pthread_mutex_lock(&lock);
        stop = true;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
        if (thread_started)
                pthread_join(thread, NULL);
        thread_started = false;
        stop = false;
        if (efd >= 0)
                sup_loop_del(&efd_watch);
        efd = safe_close(efd);
}
