/* fuzz_checkpoint.c - libFuzzer target: the tailer's checkpoint file format
 * (sc_checkpoint_decode; sc_checkpoint_load reads the file and calls it). Whatever decodes must
 * encode again and decode to the same record and subject; a subject buffer of any size is
 * respected. Nothing touches the disk.
 *
 * Input: byte 0: bits 0-1 pick the subject buffer size; bit 2 appends the "sum" line the
 * content needs (the fuzzer cannot forge an FNV-1a sum, and the checks after it would go
 * unfuzzed); the rest is the file content. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_rec(const sc_checkpoint_rec *a, const sc_checkpoint_rec *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->offset == b->offset && a->hash == b->hash &&
           a->hash_len == b->hash_len && a->head_hash == b->head_hash && a->head_len == b->head_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t caps[] = {SC_CHECKPOINT_PATH_MAX, 1, 8, 64};
    size_t cap = caps[data[0] % (sizeof caps / sizeof caps[0])];
    char *subject = malloc(cap); /* exact size: ASan sees an overrun */
    char subject2[SC_CHECKPOINT_PATH_MAX];
    char enc[SC_CHECKPOINT_MAX_BYTES];
    if (subject == NULL)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char *fixed = NULL;
    if (data[0] & 4) {
        enum { SUM_LINE = 22 }; /* "sum " + 16 hex digits + "\n" + NUL */
        if ((fixed = malloc(len + SUM_LINE)) == NULL)
            abort();
        memcpy(fixed, text, len);
        uint64_t sum = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, text, len);
        len += (size_t)snprintf(fixed + len, SUM_LINE, "sum %016" PRIx64 "\n", sum);
        text = fixed;
    }
    sc_checkpoint_rec rec, rec2;
    if (sc_checkpoint_decode(text, len, &rec, subject, cap) == 0) {
        if (strnlen(subject, cap) == cap)
            abort();
        int n = sc_checkpoint_encode(&rec, subject, enc, sizeof enc);
        if (n <= 0)
            abort(); /* a decoded record is always encodable */
        if (sc_checkpoint_decode(enc, (size_t)n, &rec2, subject2, sizeof subject2) != 0 ||
            strcmp(subject, subject2) != 0 || !same_rec(&rec, &rec2))
            abort();
    }
    free(fixed);
    free(subject);
    return 0;
}
