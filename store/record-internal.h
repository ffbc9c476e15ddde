/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Record encoding (the payloads of log frames, see log.c for the byte table),
 * CRC-32C, and small record helpers shared inside store/.
 */

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum {
        REC_PUT = 1,    /* a whole sandbox record */
        REC_DELETE = 2, /* a tombstone */
};

#define FRAME_HEADER 9u /* u32 length, u32 crc32c, u8 type */

uint32_t store_crc32c(uint32_t crc, const void *buf, size_t len);
/* allow_hw=false forces the table implementation (tests compare both). */
uint32_t store_crc32c_extend(uint32_t crc, const void *buf, size_t len, bool allow_hw);

static inline void put_u32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t get_u32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
        put_u32(p, (uint32_t)v);
        put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t get_u64(const uint8_t *p)
{
        return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* The CRC of a frame: over the length field, the type byte and the payload. */
static inline uint32_t frame_crc(const uint8_t *frame, uint32_t payload_len)
{
        uint32_t c = store_crc32c(0, frame, 4);
        return store_crc32c(c, frame + 8, 1 + (size_t)payload_len);
}

/* Size of the whole frame (header included) for rec; -EINVAL (with a
 * message) when it exceeds STORE_RECORD_MAX. */
int record_frame_size(const struct store_record *rec, size_t *ret, struct sbx_error *err);
/* Writes the frame (header + payload); buf holds record_frame_size() bytes. */
void record_frame_encode(const struct store_record *rec, uint8_t *buf, size_t frame_len);
size_t tombstone_frame_size(const char *ns, const char *id);
void tombstone_frame_encode(const char *ns, const char *id, uint64_t when, uint8_t *buf,
                            size_t frame_len);

/* Checks a payload of the given type completely (bounds, names, ordering,
 * no trailing bytes) without allocating.  0 or -EBADMSG. */
int record_payload_check(uint8_t type, const uint8_t *p, size_t len);

/* The (namespace, id) of a checked payload of either type. */
struct record_key {
        const char *ns;
        size_t ns_len;
        const char *id;
        size_t id_len;
};
void record_payload_key(const uint8_t *p, struct record_key *ret);
uint64_t record_key_hash(const char *ns, size_t ns_len, const char *id, size_t id_len);

/* A zero-copy view of a checked PUT payload, for filtering. */
struct record_view {
        struct record_key key;
        const char *runtime_name;
        size_t runtime_name_len;
        const uint8_t *labels; /* first label */
        uint32_t n_labels;
        const uint8_t *extensions; /* first extension */
        uint32_t n_extensions;
        const uint8_t *end; /* end of the payload */
};
void record_payload_view(const uint8_t *p, size_t len, struct record_view *ret);
bool record_view_label(const struct record_view *v, const char *key, size_t key_len,
                       const char **ret_value, size_t *ret_len);
bool record_view_extension(const struct record_view *v, const char *key, size_t key_len,
                           const char **ret_type_url, size_t *ret_len);

/* Decodes a PUT payload into a new record; -EBADMSG (with a message) when
 * the bytes are not a valid record. */
int store_record_decode(const void *payload, size_t len, struct store_record **ret,
                        struct sbx_error *err);

/* Sorts labels and extensions by key; -EINVAL on a duplicate key. */
int record_normalize(struct store_record *rec, struct sbx_error *err);

bool store_name_valid(const char *s, size_t len);
