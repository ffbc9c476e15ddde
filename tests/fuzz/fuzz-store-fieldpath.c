/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Update field paths: lines of the input are paths; validation and apply
 * agree, a failed apply changes nothing, a successful one leaves a record
 * that still validates and encodes. */
#include "store/record-internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static struct store_record *mk(const char *v)
{
        struct store_record *r = calloc(1, sizeof(*r));
        r->namespace = strdup("default");
        r->id = strdup("a");
        r->runtime_name = strdup("io.sandboxd.linux.v1");
        store_record_set_label(r, "app", v);
        store_record_set_label(r, "a/b", v);
        store_record_set_extension(r, "ext.a", "type.example/A", v, strlen(v));
        store_any_set(&r->spec, "type.example/Spec", v, strlen(v));
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > 2048)
                return 0;
        char *buf = malloc(size + 1);
        memcpy(buf, data, size);
        buf[size] = '\0';
        const char *paths[8];
        size_t n = 0;
        bool all_valid = true;
        char *save = NULL;
        for (char *t = strtok_r(buf, "\n", &save); t && n < 8; t = strtok_r(NULL, "\n", &save)) {
                paths[n++] = t;
                all_valid &= store_fieldpath_validate(t, NULL) == 0;
        }
        struct store_record *into = mk("old"), *from = mk("new"), *copy = NULL;
        store_record_dup(into, &copy);
        struct sbx_error err = {};
        int r = store_fieldpaths_apply(into, from, paths, n, &err);
        if (r < 0) {
                assert(err.message[0] != '\0');
                assert(!all_valid || r == -ENOMEM);
                assert(store_record_equal(into, copy));
        } else {
                assert(all_valid);
                assert(record_normalize(into, NULL) == 0);
                assert(store_validate_record(into, NULL) == 0);
                size_t len;
                assert(record_frame_size(into, &len, NULL) == 0);
        }
        store_record_free(into);
        store_record_free(from);
        store_record_free(copy);
        free(buf);
        return 0;
}
