/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Request bodies of Create and Update as the API parses them: the depth pre-check, jansson with
 * duplicate keys rejected, then the strict record parser and the printer (supervisor/). */
#include "supervisor/sandboxd-internal.h"

#include "store/store.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_error_t jerr;
        json_t *j;

        if (size > SUP_BODY_MAX || sup_json_too_deep((const char *)data, size, SUP_JSON_DEPTH_MAX))
                return 0;
        j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return 0;
        for (int create = 0; create <= 1; create++) {
                struct sbx_error err = {0};
                struct store_record *rec = NULL;

                if (sup_record_parse(j, "default", create ? NULL : "fuzz", create, &rec, &err) ==
                    0) {
                        rec->created_at = rec->updated_at = 1;
                        json_t *out = sup_record_json(rec);
                        char *s = out ? json_dumps(out, JSON_COMPACT) : NULL;

                        free(s);
                        json_decref(out);
                        store_record_free(rec);
                }
        }
        json_decref(j);
        return 0;
}
