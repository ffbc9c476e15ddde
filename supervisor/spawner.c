/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The spawner threads (spawner-internal.h): a job queue under a mutex, threads that run
 * iso_spawn(), and a list of finished jobs handed back to the loop through an eventfd (the
 * same pattern as the store's sync thread).  The threads touch only the jobs and the spare
 * network namespace.
 */
#include "supervisor/spawner-internal.h"
#include "supervisor/sandboxd-internal.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct sup_spawn_job *queue, **queue_tail = &queue;          /* under lock */
static struct sup_spawn_job *finished, **finished_tail = &finished; /* under lock */
static bool stop;                                                   /* under lock */
/* The spare network namespace (spawner-internal.h), under lock; made by one thread at a
 * time (refilling), only once a sandbox has asked for one (netns_wanted). */
static int spare_netns = -EBADF;
static bool netns_wanted, refilling;
/* As many threads as CPUs, up to 4: a spawn is mostly the kernel's work in the clone and
 * in the child, which runs on the spawning thread's CPU time until it executes. */
#define SPAWNER_THREADS_MAX 4
static pthread_t threads[SPAWNER_THREADS_MAX];
static unsigned n_threads;
static unsigned in_flight; /* loop thread only */
static int efd = -EBADF;
static struct sup_watch efd_watch;
/* Announced starts (spawner-internal.h): the children write job tokens into the pipe. */
static int started_pipe[2] = {-EBADF, -EBADF};
static struct sup_watch started_watch;
static struct sup_spawn_job *announcing; /* loop thread only: jobs with started, not yet */
static uint64_t last_token;              /* loop thread only */

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
        int fd;

        pthread_mutex_lock(&lock);
        netns_wanted = true;
        fd = TAKE_FD(spare_netns);
        pthread_mutex_unlock(&lock);
        return fd >= 0 ? fd : netns_new();
}

/* With nothing queued, one thread makes the next sandbox's network namespace, off its
 * start. */
static void netns_refill(void)
{
        int fd;

        pthread_mutex_lock(&lock);
        if (queue || stop || !netns_wanted || spare_netns >= 0 || refilling) {
                pthread_mutex_unlock(&lock);
                return;
        }
        refilling = true;
        pthread_mutex_unlock(&lock);
        /* At nice 19: the namespace is for a later sandbox, and making one is ~0.8 ms of
         * CPU here (setup_net), which must not be taken from the sandbox just started or
         * from the loop.  Not SCHED_IDLE: setup_net takes the rtnl lock, and a holder that
         * gets almost no CPU on a busy host would stall everyone else's network
         * configuration.  This thread's nice only, and back to what it was (the daemon's)
         * before it spawns again: a child would inherit it. */
        id_t tid = (id_t)gettid();
        errno = 0;
        int was = getpriority(PRIO_PROCESS, tid);
        bool low = errno == 0 && was < 19 && setpriority(PRIO_PROCESS, tid, 19) == 0;
        fd = netns_new();
        if (low && setpriority(PRIO_PROCESS, tid, was) < 0)
                log_warning("spawner: back to nice %d: %m (sandboxes would inherit nice 19)", was);
        pthread_mutex_lock(&lock);
        refilling = false;
        if (spare_netns < 0 && !stop)
                spare_netns = TAKE_FD(fd);
        pthread_mutex_unlock(&lock);
        safe_close(fd);
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
                        return NULL;
                }
                job = queue;
                queue = job->next;
                if (!queue)
                        queue_tail = &queue;
                pthread_mutex_unlock(&lock);

                job->taken_at = sbx_now_monotonic_ns();
                if (job->work) {
                        job->work(job);
                } else {
                        job->process = ISO_PROCESS_NULL;
                        job->netns_fd = job->opts.netns_fd =
                                job->want_netns ? netns_take() : -EBADF;
                        t0 = sbx_now_monotonic_ns();
                        job->result = iso_spawn(job->config, &job->opts, &job->process, &job->err);
                        job->spawn_ns = sbx_now_monotonic_ns() - t0;
                }

                pthread_mutex_lock(&lock);
                job->finished_at = sbx_now_monotonic_ns();
                job->next = NULL;
                *finished_tail = job;
                finished_tail = &job->next;
                pthread_mutex_unlock(&lock);
                /* An eventfd counter does not overflow here: the loop reads it down. */
                (void)!write(efd, &one, sizeof(one));
                netns_refill();
        }
}

/* Takes the job with this token off the list of jobs still to announce (NULL: none). */
static struct sup_spawn_job *take_announcing(uint64_t token)
{
        for (struct sup_spawn_job **p = &announcing; *p; p = &(*p)->announcing_next)
                if ((*p)->token == token) {
                        struct sup_spawn_job *job = *p;

                        *p = job->announcing_next;
                        return job;
                }
        return NULL;
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
                (void)take_announcing(job->token); /* not announced: done() finishes it */
                job->done(job);
        }
}

static void on_eventfd(struct sup_watch *w, uint32_t events)
{
        uint64_t n;

        (void)!read(efd, &n, sizeof(n));
        run_finished();
}

/* Tokens of children about to execute sandbox-init.  A token whose job is done already
 * (the spawner thread was faster) finds nothing and is dropped; tokens are never reused. */
static void on_started_pipe(struct sup_watch *w, uint32_t events)
{
        uint64_t tokens[32];
        ssize_t n;

        while ((n = read(started_pipe[0], tokens, sizeof(tokens))) > 0)
                for (size_t i = 0; i < (size_t)n / sizeof(tokens[0]); i++) {
                        struct sup_spawn_job *job = take_announcing(tokens[i]);

                        if (job)
                                job->started(job);
                }
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
        /* Without it starts are only heard of through the eventfd, later. */
        if (pipe2(started_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
                log_warning("spawner: pipe for announced starts: %m");
        } else {
                started_watch.cb = on_started_pipe;
                if (sup_loop_add(started_pipe[0], EPOLLIN, &started_watch) < 0) {
                        log_warning("spawner: epoll_ctl(announced starts): %m");
                        started_pipe[0] = safe_close(started_pipe[0]);
                        started_pipe[1] = safe_close(started_pipe[1]);
                }
        }
        /* Signals are the loop's (signalfd): the threads block every one. */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned want = cpus < 1                     ? 1
                        : cpus > SPAWNER_THREADS_MAX ? SPAWNER_THREADS_MAX
                                                     : (unsigned)cpus;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (r = 0; n_threads < want && r == 0;) {
                r = pthread_create(&threads[n_threads], NULL, spawner_main, NULL);
                if (r == 0)
                        n_threads++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (n_threads == 0)
                return sbx_fail_errno(err, -r, "pthread_create (spawner)");
        return 0;
}

void sup_spawner_submit(struct sup_spawn_job *job)
{
        job->next = NULL;
        job->submitted_at = sbx_now_monotonic_ns();
        job->token = ++last_token;
        if (job->started && started_pipe[1] >= 0) {
                job->opts.started_fd = started_pipe[1];
                job->opts.started_token = job->token;
                job->opts.started = &job->early;
                job->announcing_next = announcing;
                announcing = job;
        }
        in_flight++;
        pthread_mutex_lock(&lock);
        *queue_tail = job;
        queue_tail = &job->next;
        pthread_mutex_unlock(&lock);
        /* After the unlock: the woken spawner does not find the lock still held. */
        pthread_cond_signal(&cond);
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
        for (unsigned i = 0; i < n_threads; i++)
                pthread_join(threads[i], NULL);
        n_threads = 0;
        spare_netns = safe_close(spare_netns);
        netns_wanted = false;
        stop = false;
        if (efd >= 0)
                sup_loop_del(&efd_watch);
        efd = safe_close(efd);
        if (started_pipe[0] >= 0)
                sup_loop_del(&started_watch);
        started_pipe[0] = safe_close(started_pipe[0]);
        started_pipe[1] = safe_close(started_pipe[1]);
}
