/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandboxd-bpf-uninstall [PIN_DIR]: removes the exit watcher's pinned BPF
 * objects (docs/exitwatch.md).  PIN_DIR is the daemon's --bpf-dir, default
 * /sys/fs/bpf/sandboxd.  Refuses while a daemon holds the directory.  Once the
 * pins are gone the programs detach and the maps are freed.
 */

#include "bpf/exitwatch.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
        struct sbx_error err = {};
        const char *dir = EXITWATCH_DEFAULT_PIN_DIR;

        if (argc > 2 ||
            (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
                fprintf(stderr, "usage: %s [PIN_DIR]   (default %s)\n", argv[0],
                        EXITWATCH_DEFAULT_PIN_DIR);
                return argc > 2 ? 2 : 0;
        }
        if (argc == 2)
                dir = argv[1];
        if (exitwatch_uninstall(dir, &err) < 0) {
                fprintf(stderr, "%s: %s\n", argv[0], err.message);
                return 1;
        }
        return 0;
}
