/* retry_policy.c - owns: the retry decision order, full-jitter backoff and the bucketed retry
 * budget described in retry_policy.h. */
#include "canary/retry_policy.h"

#include <errno.h>
#include <string.h>

static const char *const reason_names[SC_RETRY__COUNT] = {
    [SC_RETRY_RETRYING] = "retrying",
    [SC_RETRY_NOT_RETRYABLE] = "not_retryable",
    [SC_RETRY_MAX_ATTEMPTS] = "max_attempts",
    [SC_RETRY_DEADLINE] = "deadline",
    [SC_RETRY_BUDGET_EXHAUSTED] = "budget_exhausted",
    [SC_RETRY_RETRY_AFTER_TOO_LONG] = "retry_after_too_long",
};

const char *sc_retry_reason_name(sc_retry_reason r)
{
    return (unsigned)r < SC_RETRY__COUNT ? reason_names[r] : NULL;
}

int sc_retry_policy_validate(const sc_retry_policy *p)
{
    if (p == NULL || p->max_attempts < 1 || p->attempt_timeout_ms == 0 ||
        p->deadline_ms < p->attempt_timeout_ms || p->backoff_base_ms == 0 ||
        p->backoff_cap_ms < p->backoff_base_ms)
        return -EINVAL;
    return 0;
}

/* ---- Budget --------------------------------------------------------------------------------- */

int sc_retry_budget_init(sc_retry_budget *b, uint64_t window_ms, uint32_t n_buckets,
                         uint32_t percent, uint32_t min_retries)
{
    if (b == NULL || n_buckets == 0 || n_buckets > SC_RETRY_BUDGET_MAX_BUCKETS || percent > 100 ||
        window_ms / n_buckets == 0)
        return -EINVAL;
    memset(b, 0, sizeof *b);
    b->bucket_ms = window_ms / n_buckets;
    b->n_buckets = n_buckets;
    b->percent = percent;
    b->min_retries = min_retries;
    return 0;
}

static uint64_t epoch_of(const sc_retry_budget *b, uint64_t now_ms)
{
    return now_ms / b->bucket_ms + 1;
}

/* The bucket for now, emptied first if it still holds an older (or, after a clock step back,
 * newer) period. */
static uint32_t slot(sc_retry_budget *b, uint64_t now_ms)
{
    uint64_t e = epoch_of(b, now_ms);
    uint32_t i = (uint32_t)(e % b->n_buckets);
    if (b->epoch[i] != e) {
        b->epoch[i] = e;
        b->requests[i] = 0;
        b->retries[i] = 0;
    }
    return i;
}

void sc_retry_budget_record_request(sc_retry_budget *b, uint64_t now_ms)
{
    uint32_t i = slot(b, now_ms);
    if (b->requests[i] < UINT32_MAX)
        b->requests[i]++;
}

void sc_retry_budget_record_retry(sc_retry_budget *b, uint64_t now_ms)
{
    uint32_t i = slot(b, now_ms);
    if (b->retries[i] < UINT32_MAX)
        b->retries[i]++;
}

void sc_retry_budget_counts(const sc_retry_budget *b, uint64_t now_ms, uint64_t *requests,
                            uint64_t *retries)
{
    uint64_t cur = epoch_of(b, now_ms), req = 0, ret = 0;
    for (uint32_t i = 0; i < b->n_buckets; i++) {
        uint64_t e = b->epoch[i];
        if (e != 0 && e <= cur && cur - e < b->n_buckets) {
            req += b->requests[i];
            ret += b->retries[i];
        }
    }
    if (requests != NULL)
        *requests = req;
    if (retries != NULL)
        *retries = ret;
}

bool sc_retry_budget_allows(const sc_retry_budget *b, uint64_t now_ms)
{
    uint64_t req, ret;
    sc_retry_budget_counts(b, now_ms, &req, &ret);
    return (ret + 1) * 100 <= (uint64_t)b->min_retries * 100 + (uint64_t)b->percent * req;
}

/* ---- Decision ------------------------------------------------------------------------------- */

uint64_t sc_retry_backoff_ms(const sc_retry_policy *p, uint32_t k, uint64_t random)
{
    uint64_t ceiling = p->backoff_cap_ms;
    if (k < 32 && ((uint64_t)p->backoff_base_ms << k) < ceiling)
        ceiling = (uint64_t)p->backoff_base_ms << k;
    return random % (ceiling + 1);
}

static sc_retry_decision no(sc_retry_reason r)
{
    return (sc_retry_decision){.retry = false, .delay_ms = 0, .reason = r};
}

sc_retry_decision sc_retry_decide(const sc_retry_policy *p, sc_retry_budget *budget,
                                  const sc_retry_input *in)
{
    if (!in->retryable)
        return no(SC_RETRY_NOT_RETRYABLE);
    if (in->attempts >= p->max_attempts)
        return no(SC_RETRY_MAX_ATTEMPTS);
    bool has_ra = in->retry_after_ms >= 0;
    uint64_t ra = has_ra ? (uint64_t)in->retry_after_ms : 0;
    if (has_ra && ra > p->retry_after_cap_ms)
        return no(SC_RETRY_RETRY_AFTER_TOO_LONG);

    uint64_t deadline = in->run_start_ms + p->deadline_ms;
    if (deadline < p->attempt_timeout_ms || in->now_ms > deadline - p->attempt_timeout_ms)
        return no(SC_RETRY_DEADLINE);
    uint64_t room = deadline - p->attempt_timeout_ms - in->now_ms; /* latest start - now */
    if (ra > room)
        return no(SC_RETRY_RETRY_AFTER_TOO_LONG);

    uint64_t delay = sc_retry_backoff_ms(p, in->attempts ? in->attempts - 1 : 0, in->random);
    if (delay < ra)
        delay = ra;
    if (delay > room)
        delay = room;

    if (budget != NULL) {
        if (!sc_retry_budget_allows(budget, in->now_ms)) {
            budget->denied++;
            return no(SC_RETRY_BUDGET_EXHAUSTED);
        }
        sc_retry_budget_record_retry(budget, in->now_ms);
    }
    return (sc_retry_decision){.retry = true, .delay_ms = delay, .reason = SC_RETRY_RETRYING};
}
