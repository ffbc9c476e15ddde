/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash points (crashpoint-internal.h): SANDBOXD_CRASH_AT=NAME[:N] kills the daemon at a
 * chosen step, for the restart tests. */

#include "supervisor/crashpoint-internal.h"

#include "common/log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *sup_crash_point_armed; /* NAME when armed, else NULL */
static size_t armed_len;
static unsigned long countdown = 1;

void sup_crash_point_init(void)
{
        const char *v = getenv("SANDBOXD_CRASH_AT"), *colon;

        if (!v || !*v)
                return;
        colon = strchr(v, ':');
        armed_len = colon ? (size_t)(colon - v) : strlen(v);
        if (colon) {
                char *end;

                countdown = strtoul(colon + 1, &end, 10);
                if (*end || countdown == 0) {
                        log_error("SANDBOXD_CRASH_AT=%s: the count after ':' must be a positive "
                                  "number; crash point ignored",
                                  v);
                        return;
                }
        }
        sup_crash_point_armed = v;
        log_warning("crash point armed: the daemon kills itself at \"%.*s\" (pass %lu)",
                    (int)armed_len, v, countdown);
}

void sup_crash_point_check(const char *name)
{
        if (strlen(name) != armed_len || strncmp(name, sup_crash_point_armed, armed_len) != 0)
                return;
        if (--countdown > 0)
                return;
        log_warning("crash point \"%s\" reached: SIGKILL", name);
        (void)kill(getpid(), SIGKILL);
        _exit(137); /* not reached */
}
