/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the OCI spec parser (isolation/spec*.c), untrusted bytes from the API. */
#include "isolation/isolation.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct iso_config *c = NULL;
        struct sbx_error err = {};

        if (iso_config_parse((const char *)data, size, &c, &err) == 0) {
                /* Exercise the accessors and the task parser on what was accepted. */
                (void)iso_config_hostname(c);
                (void)iso_config_namespaces(c);
                (void)iso_config_resources(c);
                json_t *proc = json_loads("{\"args\": [\"x\"], \"env\": [\"A=b\"]}", 0, NULL);
                struct iso_task_config *t = NULL;
                if (proc && iso_task_config_parse(proc, c, &t, &err) == 0)
                        iso_task_config_free(t);
                json_decref(proc);
                iso_config_free(c);
        } else if (err.message[0] == '\0')
                __builtin_trap(); /* every failure carries a message */
        return 0;
}
