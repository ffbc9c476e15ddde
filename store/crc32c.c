/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
 * log record.  The SSE4.2 crc32 instruction is used when the CPU has it
 * (checked once at run time); otherwise a slicing-by-8 table.
 */
#include "store/record-internal.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static bool have_sse42;

static void table_init(void)
{
        for (uint32_t n = 0; n < 256; n++) {
                uint32_t c = n;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
                table[0][n] = c;
        }
        for (uint32_t n = 0; n < 256; n++)
                for (int k = 1; k < 8; k++)
                        table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
#if defined(__x86_64__)
        __builtin_cpu_init();
        have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc32c_soft(uint32_t crc, const uint8_t *p, size_t len)
{
        while (len && ((uintptr_t)p & 7)) {
                crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
                len--;
        }
        while (len >= 8) {
                uint64_t w;
                memcpy(&w, p, 8); /* little-endian host */
                uint32_t lo = (uint32_t)w ^ crc, hi = (uint32_t)(w >> 32);
                crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
                      table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^ table[3][hi & 0xff] ^
                      table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
                p += 8;
                len -= 8;
        }
        while (len--)
                crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t len)
{
        uint64_t c = crc;
        while (len && ((uintptr_t)p & 7)) {
                c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
                len--;
        }
        while (len >= 8) {
                uint64_t w;
                memcpy(&w, p, 8);
                c = __builtin_ia32_crc32di(c, w);
                p += 8;
                len -= 8;
        }
        while (len--)
                c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        return (uint32_t)c;
}
#endif

uint32_t store_crc32c_extend(uint32_t crc, const void *buf, size_t len, bool allow_hw)
{
        pthread_once(&table_once, table_init);
        crc = ~crc;
#if defined(__x86_64__)
        if (have_sse42 && allow_hw)
                return ~crc32c_hw(crc, buf, len);
#endif
        return ~crc32c_soft(crc, buf, len);
}

uint32_t store_crc32c(uint32_t crc, const void *buf, size_t len)
{
        return store_crc32c_extend(crc, buf, len, true);
}
