/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The filter parser: any input parses or fails with a message; what parses
 * matches the same way on a record in memory and on its encoded view.  Input
 * lines are separate filters (ORed). */
#include "store/filter-internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static struct store_record *subject(void)
{
        static struct store_record *r;
        if (r)
                return r;
        r = calloc(1, sizeof(*r));
        r->namespace = strdup("default");
        r->id = strdup("web-1");
        r->runtime_name = strdup("io.sandboxd.linux.v1");
        store_record_set_label(r, "app", "web");
        store_record_set_label(r, "a/b", "x,y");
        store_record_set_label(r, "empty", "");
        store_record_set_label(r, "io.k8s.pod", "pod 1");
        store_record_set_extension(r, "ext.a", "type.example/A", "a", 1);
        record_normalize(r, NULL);
        r->created_at = r->updated_at = 1;
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > 4096)
                return 0;
        char *buf = malloc(size + 1);
        memcpy(buf, data, size);
        buf[size] = '\0';
        const char *filters[8];
        size_t n = 0;
        char *save = NULL;
        for (char *t = strtok_r(buf, "\n", &save); t && n < 8; t = strtok_r(NULL, "\n", &save))
                filters[n++] = t;
        struct store_filter *f = NULL;
        struct sbx_error err = {};
        int r = store_filter_parse(filters, n, &f, &err);
        if (r < 0) {
                assert(r == -EINVAL || r == -ENOMEM);
                assert(err.message[0] != '\0');
        } else {
                struct store_record *rec = subject();
                size_t len;
                record_frame_size(rec, &len, NULL);
                uint8_t *fr = malloc(len);
                record_frame_encode(rec, fr, len);
                struct record_view v;
                record_payload_view(fr + FRAME_HEADER, len - FRAME_HEADER, &v);
                assert(store_filter_match(f, rec) == filter_match_view(f, &v));
                free(fr);
                store_filter_free(f);
        }
        free(buf);
        return 0;
}
