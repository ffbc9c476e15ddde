/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record decoder: any bytes either decode to a record that re-encodes to
 * exactly the same bytes, or are rejected; the zero-copy view agrees. */
#include "store/record-internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        uint8_t type = data[0] % 3;
        data++;
        size--;
        int check = record_payload_check(type, data, size);
        struct store_record *rec = NULL;
        int r = store_record_decode(data, size, &rec, NULL);
        if (type == REC_PUT)
                assert((check == 0) == (r == 0));
        if (r < 0)
                return 0;
        assert(store_validate_record(rec, NULL) == 0);
        size_t len;
        assert(record_frame_size(rec, &len, NULL) == 0);
        uint8_t *f = malloc(len);
        record_frame_encode(rec, f, len);
        assert(len - FRAME_HEADER == size);
        assert(memcmp(f + FRAME_HEADER, data, size) == 0);
        free(f);

        struct record_view v;
        record_payload_view(data, size, &v);
        assert(v.n_labels == rec->n_labels && v.n_extensions == rec->n_extensions);
        for (size_t i = 0; i < rec->n_labels; i++) {
                const char *val;
                size_t vl;
                assert(record_view_label(&v, rec->labels[i].key, strlen(rec->labels[i].key), &val,
                                         &vl));
                assert(vl == strlen(rec->labels[i].value) &&
                       memcmp(val, rec->labels[i].value, vl) == 0);
        }
        for (size_t i = 0; i < rec->n_extensions; i++) {
                const char *t;
                size_t tl;
                assert(record_view_extension(&v, rec->extensions[i].key,
                                             strlen(rec->extensions[i].key), &t, &tl));
        }
        store_record_free(rec);
        return 0;
}
