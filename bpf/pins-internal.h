/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The pin directory (bpf/pins.c): bpffs at its standard place, the directory
 * of one daemon's pinned objects, and the checks that tell a pinned object
 * from this build from anything else found there.  For exitwatch.c only.
 */

#include "common/error.h"

#include <bpf/bpf.h>
#include <stdbool.h>
#include <stdint.h>

/* sbx_fail() with -EOPNOTSUPP and "exitwatch unavailable: REASON": the result
 * a daemon reads as "run on pidfds alone" (exitwatch.h). */
int exitwatch_unavailable(struct sbx_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Whether path is on a bpf filesystem. */
bool pins_on_bpffs(const char *path);

/* Mounts bpffs at /sys/fs/bpf when pin_dir lives there and nothing is mounted. */
int pins_ensure_bpffs(const char *pin_dir, struct sbx_error *err);

/* mkdir -p (mode 0700), for the components below an existing bpffs mount. */
int pins_mkdir_p(const char *path, struct sbx_error *err);

/* 0 when pin_dir is absolute, short enough and has no '.' or '..' component. */
int pins_check_dir(const char *pin_dir, struct sbx_error *err);

/* Removes every pinned object (any non-directory entry) in the directory. */
int pins_remove(int dir_fd, struct sbx_error *err);

/* Pinned objects (any non-directory entry) in the directory. */
int pins_count(int dir_fd);

/* bpf_obj_get() of PIN_DIR/NAME: an fd, or -errno. */
int pins_obj_get(const char *pin_dir, const char *name);

/* 0 when the map behind fd has this type and layout, -EPROTO when not, -errno. */
int pins_check_map(int fd, enum bpf_map_type type, uint32_t key_size, uint32_t value_size,
                   uint32_t max_entries);
