/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OCI linux.resources (untrusted, from a client's spec) → cg_resources_parse(), then
 * the device program assembler on whatever rules came out.  Checks: no crash, no
 * leak, and the program stays within the assembler's bound.
 */
#include "cgroups/cgroups-internal.h"

#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_error_t jerr;
        json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return 0;
        struct sbx_error err = {};
        struct cg_resources *res = NULL;
        if (cg_resources_parse(j, &res, &err) == 0) {
                struct bpf_insn *p = NULL;
                int n = cg_devices_assemble(res->devices, res->n_devices, &p);
                if (n < 0 || (size_t)n > 8 * res->n_devices + 8)
                        abort();
                free(p);
                (void)cg_shares_to_weight(res->cpu_shares);
                cg_resources_free(res);
        } else if (err.code >= 0 || err.message[0] == '\0') {
                abort(); /* a failure always carries a negative errno and a message */
        }
        json_decref(j);
        return 0;
}
