/* lograte.c - owns: the cause set and the per-minute window of sc_lograte. */
#include "export/lograte.h"

#include <string.h>

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ? h : 1; /* 0 marks an empty slot */
}

int sc_lograte_allow(sc_lograte *lr, const char *cause, uint64_t now_ms, uint64_t *suppressed)
{
    uint64_t h = fnv1a(cause);
    for (unsigned i = 0; i < SC_LOGRATE_CAUSES; i++)
        if (lr->seen[i] == h)
            return 0; /* already reported: not even counted as suppressed */
    lr->seen[lr->next] = h;
    lr->next = (lr->next + 1) % SC_LOGRATE_CAUSES;
    if (now_ms - lr->window_start_ms >= 60000u || lr->window_start_ms == 0) {
        lr->window_start_ms = now_ms ? now_ms : 1;
        lr->in_window = 0;
    }
    if (lr->in_window >= SC_LOGRATE_PER_MIN) {
        lr->suppressed++;
        return 0;
    }
    lr->in_window++;
    if (suppressed != NULL)
        *suppressed = lr->suppressed;
    lr->suppressed = 0;
    return 1;
}

void sc_lograte_reset(sc_lograte *lr)
{
    memset(lr->seen, 0, sizeof lr->seen);
    lr->next = 0;
}
