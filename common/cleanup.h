/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Scope-bound cleanup, as systemd does it: every fd, allocation and library
 * handle is declared with a cleanup attribute so each early return is correct.
 *
 *     _cleanup_close_ int fd = -EBADF;
 *     _cleanup_free_ char *p = NULL;
 *     return TAKE_FD(fd);
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Closes fd if it is valid and returns -EBADF, so `fd = safe_close(fd);` works. */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                close(fd); /* Linux frees the fd even on EINTR; never retry. */
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd)
{
        safe_close(*fd);
}

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Takes ownership away from a cleanup variable. */
#define TAKE_FD(fd)                 \
        ({                          \
                int *_pfd_ = &(fd); \
                int _fd_ = *_pfd_;  \
                *_pfd_ = -EBADF;    \
                _fd_;               \
        })

#define TAKE_PTR(ptr)                         \
        ({                                    \
                typeof(ptr) *_pptr_ = &(ptr); \
                typeof(ptr) _ptr_ = *_pptr_;  \
                *_pptr_ = NULL;               \
                _ptr_;                        \
        })

/* Defines `static inline void NAMEp(TYPE **p)` that calls FUNC(*p) when non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p)     \
        {                                       \
                if (*p)                         \
                        func(*p);               \
        }

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
