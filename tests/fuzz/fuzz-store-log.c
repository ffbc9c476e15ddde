/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Recovery on open.  The input is a small program that builds a log file:
 * whole records, COMMITs (right or wrong), raw bytes, zeros, flipped bytes,
 * a cut.  Then:
 *   - open either succeeds or is refused as corrupt (-EUCLEAN, or
 *     -EPROTONOSUPPORT for a bad version), never anything else, never a crash;
 *   - after an open (plain or repair) that succeeded, a second open is clean
 *     (no report) and sees the same records;
 *   - when the program only wrote whole committed batches, then perhaps an
 *     unfinished batch and zeros (what a crash leaves), open succeeds and
 *     holds exactly the committed records.
 * The log goes to a directory on /dev/shm (tmpfs: fdatasync is free).
 */
#include "store/store-internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LOG (256u << 10)
#define N_IDS   8

static char dir[64], logpath[96];
static uint8_t buf[MAX_LOG];

static size_t put_frame(size_t at, uint8_t id, uint8_t variant, bool del)
{
        char name[16];
        snprintf(name, sizeof(name), "r%u", id % N_IDS);
        size_t len;
        uint8_t *f;
        if (del) {
                len = tombstone_frame_size("ns", name);
                f = malloc(len);
                tombstone_frame_encode("ns", name, variant, f, len);
        } else {
                struct store_record rec = {.namespace = (char *)"ns",
                                           .id = name,
                                           .runtime_name = (char *)"rt",
                                           .created_at = variant,
                                           .updated_at = variant};
                assert(record_frame_size(&rec, &len, NULL) == 0);
                f = malloc(len);
                record_frame_encode(&rec, f, len);
        }
        if (at + len <= MAX_LOG)
                memcpy(buf + at, f, len);
        free(f);
        return at + len <= MAX_LOG ? at + len : at;
}

static size_t count_records(struct store *s)
{
        return store_count(s, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!dir[0]) {
                snprintf(dir, sizeof(dir), "/dev/shm/sbx-fuzz-log-XXXXXX");
                if (!mkdtemp(dir))
                        abort();
                snprintf(logpath, sizeof(logpath), "%s/store.log", dir);
        }
        if (size < 1)
                return 0;
        unsigned flags = data[0];
        data++;
        size--;

        /* The model: committed state per id (0 absent, else variant+1). */
        int committed[N_IDS] = {0}, pending[N_IDS];
        bool damaged = false, after_zeros = false;
        uint64_t batch_start = LOG_HEADER_SIZE;
        uint32_t batch_n = 0;
        size_t end = LOG_HEADER_SIZE, cut = SIZE_MAX;
        memcpy(pending, committed, sizeof(pending));
        memset(buf, 0, sizeof(buf));
        log_header_encode(buf, 1);
        bool v1 = flags & 2;
        if (v1) {
                put_u32(buf + 8, 1);
                put_u32(buf + 28, store_crc32c(0, buf, 28));
        }

        for (size_t i = 0; i + 2 < size; i += 3) {
                uint8_t op = data[i] % 8, a = data[i + 1], b = data[i + 2];
                if (after_zeros && op != 5 && op != 7)
                        damaged = true; /* something after zeros: a hole */
                switch (op) {
                case 0: /* PUT */
                case 1: /* DELETE */ {
                        size_t n = put_frame(end, a, b, op == 1);
                        if (n == end)
                                break;
                        pending[a % N_IDS] = op == 1 ? 0 : b + 1;
                        end = n;
                        batch_n++;
                        if (v1)
                                memcpy(committed, pending, sizeof(pending));
                        break;
                }
                case 2: /* COMMIT, right */
                case 3: /* COMMIT, wrong counts */
                        if (end + COMMIT_FRAME_SIZE > MAX_LOG)
                                break;
                        commit_frame_encode(buf + end, end - batch_start + (op == 3 ? a + 1 : 0),
                                            batch_n);
                        end += COMMIT_FRAME_SIZE;
                        if (op == 3 || v1)
                                damaged = true;
                        else
                                memcpy(committed, pending, sizeof(pending));
                        batch_start = end;
                        batch_n = 0;
                        break;
                case 4: /* raw bytes */
                        for (int k = 0; k <= a % 32 && end < MAX_LOG; k++)
                                buf[end++] = (uint8_t)(b + k * 37);
                        damaged = true;
                        break;
                case 5: /* zeros */
                        end += (size_t)a * 16 + b;
                        if (end > MAX_LOG)
                                end = MAX_LOG;
                        after_zeros |= a || b;
                        break;
                case 6: /* flip a byte */
                        buf[(a << 8 | b) % (end ? end : 1)] ^= (uint8_t)(1u << (b % 8));
                        damaged = true;
                        break;
                case 7: /* cut the file, inside the unfinished batch (v2) */
                        cut = v1 ? end : end - (a < end - batch_start ? a : end - batch_start);
                        i = size;
                        break;
                }
        }
        size_t file_len = cut != SIZE_MAX ? cut : end;
        /* What a crash leaves: whole batches, maybe an unfinished one, zeros. */
        bool crash_like = !damaged;

        unlink(logpath);
        mkdir(dir, 0700);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert(fd >= 0);
        assert(write(fd, buf, file_len) == (ssize_t)file_len);
        if (flags & 8)
                assert(ftruncate(fd, (off_t)file_len + 4096) == 0); /* zeros after */
        close(fd);

        unsigned oflags = STORE_OPEN_NO_AUTO_COMPACT | (flags & 4 ? STORE_OPEN_REPAIR : 0);
        struct store *s = NULL;
        struct sbx_error err = {};
        int r = store_open(dir, oflags, &s, &err);
        if (r < 0) {
                assert(r == -EUCLEAN || r == -EPROTONOSUPPORT);
                assert(!crash_like);
                return 0;
        }
        size_t n = count_records(s);
        if (crash_like) {
                size_t want = 0;
                for (int k = 0; k < N_IDS; k++) {
                        char name[16];
                        snprintf(name, sizeof(name), "r%d", k);
                        struct store_record *rec = NULL;
                        int g = store_get(s, "ns", name, &rec, NULL);
                        if (committed[k]) {
                                want++;
                                assert(g == 0 && rec->created_at == (uint64_t)committed[k] - 1);
                        } else
                                assert(g == -ENOENT);
                        store_record_free(rec);
                }
                assert(n == want);
        }
        store_close(s);
        s = NULL;
        r = store_open(dir, STORE_OPEN_NO_AUTO_COMPACT, &s, &err);
        assert(r == 0);
        assert(store_recovery_report(s) == NULL);
        assert(count_records(s) == n);
        store_close(s);
        return 0;
}
