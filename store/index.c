/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The in-memory index: an open-addressing hash table (linear probing) of
 * pointers keyed by (namespace, id).  A slot is 16 bytes and the table is
 * kept at most 3/4 full, so with 4 KiB records the index costs well under 1%
 * of the live data; the records themselves are kept as their encoded frames.
 */
#include "store/store-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct entry *entry_new(const uint8_t *frame, size_t frame_len)
{
        struct entry *e = malloc(sizeof(*e) + frame_len);
        if (!e)
                return NULL;
        e->frame_len = (uint32_t)frame_len;
        memcpy(e->frame, frame, frame_len);
        return e;
}

void entry_key(const void *p, struct record_key *ret)
{
        record_payload_key(entry_payload(p), ret);
}

static bool key_eq(const struct record_key *a, const struct record_key *b)
{
        return a->ns_len == b->ns_len && a->id_len == b->id_len &&
               memcmp(a->id, b->id, a->id_len) == 0 && memcmp(a->ns, b->ns, a->ns_len) == 0;
}

static size_t find(const struct index *ix, uint64_t hash, const struct record_key *key,
                   index_key_fn kf, size_t *ret_free)
{
        size_t mask = ix->cap - 1, i = hash & mask, first_free = SIZE_MAX;
        for (;;) {
                const struct index_slot *sl = &ix->slots[i];
                if (!sl->p) {
                        if (ret_free)
                                *ret_free = first_free != SIZE_MAX ? first_free : i;
                        return SIZE_MAX;
                }
                if (sl->p == INDEX_TOMB) {
                        if (first_free == SIZE_MAX)
                                first_free = i;
                } else if (sl->hash == hash) {
                        struct record_key k;
                        kf(sl->p, &k);
                        if (key_eq(&k, key))
                                return i;
                }
                i = (i + 1) & mask;
        }
}

void *index_get(const struct index *ix, uint64_t hash, const struct record_key *key,
                index_key_fn kf)
{
        if (ix->n == 0)
                return NULL;
        size_t i = find(ix, hash, key, kf, NULL);
        return i == SIZE_MAX ? NULL : ix->slots[i].p;
}

static int grow(struct index *ix)
{
        size_t cap = ix->cap ? ix->cap : 64;
        while (ix->n + 1 > cap / 2)
                cap *= 2;
        struct index_slot *slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < ix->cap; i++) {
                struct index_slot *sl = &ix->slots[i];
                if (!sl->p || sl->p == INDEX_TOMB)
                        continue;
                size_t j = sl->hash & (cap - 1);
                while (slots[j].p)
                        j = (j + 1) & (cap - 1);
                slots[j] = *sl;
        }
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
        ix->used = ix->n;
        return 0;
}

int index_put(struct index *ix, uint64_t hash, void *p, const struct record_key *key,
              index_key_fn kf, void **ret_old)
{
        size_t free_slot = 0;
        *ret_old = NULL;
        if ((ix->used + 1) * 4 > ix->cap * 3) {
                int r = grow(ix);
                if (r < 0)
                        return r;
        }
        size_t i = find(ix, hash, key, kf, &free_slot);
        if (i != SIZE_MAX) {
                *ret_old = ix->slots[i].p;
                ix->slots[i].p = p;
                return 0;
        }
        if (!ix->slots[free_slot].p)
                ix->used++;
        ix->slots[free_slot] = (struct index_slot){hash, p};
        ix->n++;
        return 0;
}

void *index_remove(struct index *ix, uint64_t hash, const struct record_key *key, index_key_fn kf)
{
        if (ix->n == 0)
                return NULL;
        size_t i = find(ix, hash, key, kf, NULL);
        if (i == SIZE_MAX)
                return NULL;
        void *p = ix->slots[i].p;
        ix->slots[i].p = INDEX_TOMB;
        ix->n--;
        return p;
}

void index_free(struct index *ix)
{
        free(ix->slots);
        *ix = (struct index){};
}
