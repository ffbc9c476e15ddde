/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Parsed filters and the quoted-string reader shared with fieldpath.c. */

#include "store/record-internal.h"

#include <regex.h>

enum filter_field {
        FIELD_ID,
        FIELD_RUNTIME_NAME,
        FIELD_LABEL,
        FIELD_EXTENSION, /* value = the extension's type_url */
};

enum filter_op {
        OP_PRESENT,
        OP_EQ,
        OP_NE,
        OP_MATCH,
};

struct filter_sel {
        enum filter_field field;
        char *key; /* labels / extensions */
        size_t key_len;
        enum filter_op op;
        char *value;
        size_t value_len;
        regex_t re;
        bool have_re;
};

struct filter_conj {
        struct filter_sel *sels;
        size_t n_sels;
};

struct store_filter {
        struct filter_conj *alts;
        size_t n_alts;
        bool match_all; /* no filters, or an empty one */
};

bool filter_match_view(const struct store_filter *f, const struct record_view *v);
