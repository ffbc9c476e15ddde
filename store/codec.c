/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encoding and decoding of record payloads.  The layout (all integers
 * little-endian, no padding; str = u32 length + bytes without NUL; bytes =
 * u32 length + bytes):
 *
 *   PUT:    str namespace, str id, u64 created_at, u64 updated_at,
 *           str runtime_name, str options.type_url, bytes options.value,
 *           str spec.type_url, bytes spec.value,
 *           u32 n_labels, n_labels x (str key, str value)       keys ascending
 *           u32 n_extensions, n x (str key, str type_url, bytes value)  keys ascending
 *   DELETE: str namespace, str id, u64 deleted_at
 */
#include "store/record-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t slen(const char *s)
{
        return s ? strlen(s) : 0;
}

int record_frame_size(const struct store_record *rec, size_t *ret, struct sbx_error *err)
{
        uint64_t n = FRAME_HEADER;
        n += 4 + slen(rec->namespace) + 4 + slen(rec->id) + 16 + 4 + slen(rec->runtime_name);
        n += 4 + slen(rec->runtime_options.type_url) + 4 + rec->runtime_options.value_len;
        n += 4 + slen(rec->spec.type_url) + 4 + rec->spec.value_len;
        n += 4;
        for (size_t i = 0; i < rec->n_labels; i++)
                n += 8 + slen(rec->labels[i].key) + slen(rec->labels[i].value);
        n += 4;
        for (size_t i = 0; i < rec->n_extensions; i++)
                n += 12 + slen(rec->extensions[i].key) + slen(rec->extensions[i].value.type_url) +
                     rec->extensions[i].value.value_len;
        if (n - FRAME_HEADER > STORE_RECORD_MAX)
                return sbx_fail(err, -EINVAL,
                                "record is %llu bytes encoded, more than the limit of %u",
                                (unsigned long long)(n - FRAME_HEADER), STORE_RECORD_MAX);
        *ret = (size_t)n;
        return 0;
}

static uint8_t *w_bytes(uint8_t *p, const void *b, size_t len)
{
        put_u32(p, (uint32_t)len);
        if (len)
                memcpy(p + 4, b, len);
        return p + 4 + len;
}

static uint8_t *w_str(uint8_t *p, const char *s)
{
        return w_bytes(p, s, slen(s));
}

static uint8_t *w_any(uint8_t *p, const struct store_any *a)
{
        p = w_str(p, a->type_url);
        return w_bytes(p, a->value, a->value_len);
}

static void frame_finish(uint8_t *buf, uint8_t type, size_t frame_len)
{
        put_u32(buf, (uint32_t)(frame_len - FRAME_HEADER));
        buf[8] = type;
        put_u32(buf + 4, frame_crc(buf, (uint32_t)(frame_len - FRAME_HEADER)));
}

void record_frame_encode(const struct store_record *rec, uint8_t *buf, size_t frame_len)
{
        uint8_t *p = buf + FRAME_HEADER;
        p = w_str(p, rec->namespace);
        p = w_str(p, rec->id);
        put_u64(p, rec->created_at);
        put_u64(p + 8, rec->updated_at);
        p += 16;
        p = w_str(p, rec->runtime_name);
        p = w_any(p, &rec->runtime_options);
        p = w_any(p, &rec->spec);
        put_u32(p, (uint32_t)rec->n_labels);
        p += 4;
        for (size_t i = 0; i < rec->n_labels; i++) {
                p = w_str(p, rec->labels[i].key);
                p = w_str(p, rec->labels[i].value);
        }
        put_u32(p, (uint32_t)rec->n_extensions);
        p += 4;
        for (size_t i = 0; i < rec->n_extensions; i++) {
                p = w_str(p, rec->extensions[i].key);
                p = w_any(p, &rec->extensions[i].value);
        }
        frame_finish(buf, REC_PUT, frame_len);
}

size_t tombstone_frame_size(const char *ns, const char *id)
{
        return FRAME_HEADER + 4 + strlen(ns) + 4 + strlen(id) + 8;
}

void tombstone_frame_encode(const char *ns, const char *id, uint64_t when, uint8_t *buf,
                            size_t frame_len)
{
        uint8_t *p = buf + FRAME_HEADER;
        p = w_str(p, ns);
        p = w_str(p, id);
        put_u64(p, when);
        frame_finish(buf, REC_DELETE, frame_len);
}

/* ---- reading ---------------------------------------------------------------------------- */

struct cursor {
        const uint8_t *p, *end;
};

static bool r_bytes(struct cursor *c, const uint8_t **ret, size_t *ret_len)
{
        if (c->end - c->p < 4)
                return false;
        uint32_t n = get_u32(c->p);
        if ((size_t)(c->end - c->p - 4) < n)
                return false;
        *ret = c->p + 4;
        *ret_len = n;
        c->p += 4 + (size_t)n;
        return true;
}

static bool r_str(struct cursor *c, const char **ret, size_t *ret_len)
{
        const uint8_t *b;
        if (!r_bytes(c, &b, ret_len) || memchr(b, 0, *ret_len))
                return false;
        *ret = (const char *)b;
        return true;
}

static bool r_u32(struct cursor *c, uint32_t *ret)
{
        if (c->end - c->p < 4)
                return false;
        *ret = get_u32(c->p);
        c->p += 4;
        return true;
}

static bool r_u64(struct cursor *c, uint64_t *ret)
{
        if (c->end - c->p < 8)
                return false;
        *ret = get_u64(c->p);
        c->p += 8;
        return true;
}

/* Orders keys as strcmp() does on NUL-free strings. */
static int key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
        int r = memcmp(a, b, al < bl ? al : bl);
        if (r)
                return r;
        return al < bl ? -1 : al > bl;
}

int record_payload_check(uint8_t type, const uint8_t *p, size_t len)
{
        struct cursor c = {p, p + len};
        const char *s, *prev = NULL;
        const uint8_t *b;
        size_t n, prev_len = 0;
        uint64_t t;
        uint32_t count;

        if (!r_str(&c, &s, &n) || !store_name_valid(s, n))
                return -EBADMSG;
        if (!r_str(&c, &s, &n) || !store_name_valid(s, n))
                return -EBADMSG;
        if (type == REC_DELETE)
                return r_u64(&c, &t) && c.p == c.end ? 0 : -EBADMSG;
        if (type != REC_PUT)
                return -EBADMSG;
        if (!r_u64(&c, &t) || !r_u64(&c, &t))
                return -EBADMSG;
        if (!r_str(&c, &s, &n) || n == 0) /* runtime name */
                return -EBADMSG;
        for (int i = 0; i < 2; i++) { /* options, spec */
                size_t tl;
                if (!r_str(&c, &s, &tl) || !r_bytes(&c, &b, &n) || (tl == 0 && n > 0))
                        return -EBADMSG;
        }
        if (!r_u32(&c, &count))
                return -EBADMSG;
        for (uint32_t i = 0; i < count; i++) {
                const char *k, *v;
                size_t kl, vl;
                if (!r_str(&c, &k, &kl) || !r_str(&c, &v, &vl) || kl == 0 ||
                    kl + vl > STORE_LABEL_MAX)
                        return -EBADMSG;
                if (prev && key_cmp(prev, prev_len, k, kl) >= 0)
                        return -EBADMSG;
                prev = k;
                prev_len = kl;
        }
        if (!r_u32(&c, &count))
                return -EBADMSG;
        prev = NULL;
        for (uint32_t i = 0; i < count; i++) {
                const char *k;
                size_t kl, tl;
                if (!r_str(&c, &k, &kl) || kl == 0 || !r_str(&c, &s, &tl) || !r_bytes(&c, &b, &n) ||
                    (tl == 0 && n > 0))
                        return -EBADMSG;
                if (prev && key_cmp(prev, prev_len, k, kl) >= 0)
                        return -EBADMSG;
                prev = k;
                prev_len = kl;
        }
        return c.p == c.end ? 0 : -EBADMSG;
}

void record_payload_key(const uint8_t *p, struct record_key *ret)
{
        ret->ns_len = get_u32(p);
        ret->ns = (const char *)p + 4;
        p += 4 + ret->ns_len;
        ret->id_len = get_u32(p);
        ret->id = (const char *)p + 4;
}

uint64_t record_key_hash(const char *ns, size_t ns_len, const char *id, size_t id_len)
{
        /* FNV-1a, 64 bit, with a separator between the two names. */
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < ns_len; i++)
                h = (h ^ (uint8_t)ns[i]) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;
        for (size_t i = 0; i < id_len; i++)
                h = (h ^ (uint8_t)id[i]) * 0x100000001b3ull;
        return h ^ (h >> 29);
}

void record_payload_view(const uint8_t *p, size_t len, struct record_view *ret)
{
        struct cursor c = {p, p + len};
        const uint8_t *b;
        const char *s;
        size_t n;
        uint64_t t;

        r_str(&c, &ret->key.ns, &ret->key.ns_len);
        r_str(&c, &ret->key.id, &ret->key.id_len);
        r_u64(&c, &t);
        r_u64(&c, &t);
        r_str(&c, &ret->runtime_name, &ret->runtime_name_len);
        for (int i = 0; i < 2; i++) {
                r_str(&c, &s, &n);
                r_bytes(&c, &b, &n);
        }
        r_u32(&c, &ret->n_labels);
        ret->labels = c.p;
        for (uint32_t i = 0; i < ret->n_labels; i++) {
                r_str(&c, &s, &n);
                r_str(&c, &s, &n);
        }
        r_u32(&c, &ret->n_extensions);
        ret->extensions = c.p;
        ret->end = c.end;
}

bool record_view_label(const struct record_view *v, const char *key, size_t key_len,
                       const char **ret_value, size_t *ret_len)
{
        struct cursor c = {v->labels, v->extensions};
        for (uint32_t i = 0; i < v->n_labels; i++) {
                const char *k, *val;
                size_t kl, vl;
                r_str(&c, &k, &kl);
                r_str(&c, &val, &vl);
                int r = key_cmp(k, kl, key, key_len);
                if (r == 0) {
                        *ret_value = val;
                        *ret_len = vl;
                        return true;
                }
                if (r > 0)
                        break;
        }
        return false;
}

bool record_view_extension(const struct record_view *v, const char *key, size_t key_len,
                           const char **ret_type_url, size_t *ret_len)
{
        struct cursor c = {v->extensions, v->end};
        for (uint32_t i = 0; i < v->n_extensions; i++) {
                const char *k, *t;
                const uint8_t *b;
                size_t kl, tl, bl;
                r_str(&c, &k, &kl);
                r_str(&c, &t, &tl);
                r_bytes(&c, &b, &bl);
                int r = key_cmp(k, kl, key, key_len);
                if (r == 0) {
                        *ret_type_url = t;
                        *ret_len = tl;
                        return true;
                }
                if (r > 0)
                        break;
        }
        return false;
}

static char *mk_str(const char *s, size_t n)
{
        return strndup(s, n);
}

static int mk_any(struct cursor *c, struct store_any *a)
{
        const char *t;
        const uint8_t *b;
        size_t tl, bl;
        r_str(c, &t, &tl);
        r_bytes(c, &b, &bl);
        if (tl && !(a->type_url = mk_str(t, tl)))
                return -ENOMEM;
        if (bl) {
                if (!(a->value = malloc(bl)))
                        return -ENOMEM;
                memcpy(a->value, b, bl);
                a->value_len = bl;
        }
        return 0;
}

int store_record_decode(const void *payload, size_t len, struct store_record **ret,
                        struct sbx_error *err)
{
        if (record_payload_check(REC_PUT, payload, len) < 0)
                return sbx_fail(err, -EBADMSG, "malformed record payload (%zu bytes)", len);

        struct cursor c = {payload, (const uint8_t *)payload + len};
        _cleanup_store_record_ struct store_record *rec = calloc(1, sizeof(*rec));
        const char *s;
        size_t n;
        uint32_t count = 0;
        if (!rec)
                return -ENOMEM;
        r_str(&c, &s, &n);
        if (!(rec->namespace = mk_str(s, n)))
                return -ENOMEM;
        r_str(&c, &s, &n);
        if (!(rec->id = mk_str(s, n)))
                return -ENOMEM;
        r_u64(&c, &rec->created_at);
        r_u64(&c, &rec->updated_at);
        r_str(&c, &s, &n);
        if (!(rec->runtime_name = mk_str(s, n)))
                return -ENOMEM;
        if (mk_any(&c, &rec->runtime_options) < 0 || mk_any(&c, &rec->spec) < 0)
                return -ENOMEM;
        r_u32(&c, &count);
        if (count) {
                if (!(rec->labels = calloc(count, sizeof(*rec->labels))))
                        return -ENOMEM;
                for (uint32_t i = 0; i < count; i++) {
                        const char *v;
                        size_t vl;
                        rec->n_labels++;
                        r_str(&c, &s, &n);
                        r_str(&c, &v, &vl);
                        if (!(rec->labels[i].key = mk_str(s, n)) ||
                            !(rec->labels[i].value = mk_str(v, vl)))
                                return -ENOMEM;
                }
        }
        r_u32(&c, &count);
        if (count) {
                if (!(rec->extensions = calloc(count, sizeof(*rec->extensions))))
                        return -ENOMEM;
                for (uint32_t i = 0; i < count; i++) {
                        rec->n_extensions++;
                        r_str(&c, &s, &n);
                        if (!(rec->extensions[i].key = mk_str(s, n)) ||
                            mk_any(&c, &rec->extensions[i].value) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(rec);
        return 0;
}
