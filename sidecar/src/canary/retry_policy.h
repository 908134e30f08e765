/* retry_policy.h - owns: whether and when a failed canary attempt is retried. Pure: time and
 * randomness are inputs, state (the retry budget) is passed explicitly.
 *
 * A retry happens only if all hold, checked in this order (the first failing one is the reason):
 *   1. the attempt was retryable (classify.h)                           else not_retryable
 *   2. attempts < max_attempts                                           else max_attempts
 *   3. a Retry-After, if given, is <= retry_after_cap_ms                 else retry_after_too_long
 *   4. the deadline: no attempt starts that cannot finish inside it, i.e. start + attempt_timeout
 *      <= run_start + deadline. Even an immediate retry breaking it    -> deadline; waiting the
 *      Retry-After breaking it                                         -> retry_after_too_long
 *   5. the retry budget allows one more retry                            else budget_exhausted
 * Delay: full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 *   random_between(0, min(backoff_cap_ms, backoff_base_ms * 2^k)) for the k-th retry (k from 0),
 * then at least the Retry-After, then clamped so the next attempt still finishes by the deadline
 * (clamping the random delay keeps the outcome independent of the random draw).
 *
 * Retry budget (Google SRE book, "Handling Overload": retries may be at most a fixed share of
 * requests, e.g. 10%): requests and retries are counted in a ring of time buckets covering a
 * sliding window (e.g. 10 buckets x 6 s = 60 s). A retry is allowed while
 *   retries + 1 <= min_retries + percent/100 * requests      (over the window)
 * min_retries is a floor in the manner of Finagle's RetryBudget minRetriesPerSec: a canary sends
 * a handful of requests per minute, and 10% of five is no retry at all. Every attempt sent
 * (first or retry) is recorded with sc_retry_budget_record_request; a "retrying" decision
 * reserves its retry in the budget immediately, so two decisions made before either retry is
 * sent cannot both take the last slot. */
#ifndef SC_CANARY_RETRY_POLICY_H
#define SC_CANARY_RETRY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    SC_RETRY_RETRYING = 0,
    SC_RETRY_NOT_RETRYABLE,
    SC_RETRY_MAX_ATTEMPTS,
    SC_RETRY_DEADLINE,
    SC_RETRY_BUDGET_EXHAUSTED,
    SC_RETRY_RETRY_AFTER_TOO_LONG,
    SC_RETRY__COUNT
} sc_retry_reason;

/* "retrying", "not_retryable", "max_attempts", "deadline", "budget_exhausted",
 * "retry_after_too_long"; NULL when out of range. Static storage. */
const char *sc_retry_reason_name(sc_retry_reason r);

typedef struct sc_retry_policy {
    uint32_t max_attempts;       /* total, first attempt included; >= 1 */
    uint32_t attempt_timeout_ms; /* > 0 */
    uint32_t deadline_ms;        /* whole run, from the first attempt's start; >= timeout */
    uint32_t backoff_base_ms;    /* > 0 */
    uint32_t backoff_cap_ms;     /* >= base */
    uint32_t retry_after_cap_ms; /* longest Retry-After honoured */
} sc_retry_policy;

/* 0, or -EINVAL when a constraint above is broken. */
int sc_retry_policy_validate(const sc_retry_policy *p);

#define SC_RETRY_BUDGET_MAX_BUCKETS 60

typedef struct sc_retry_budget {
    uint64_t epoch[SC_RETRY_BUDGET_MAX_BUCKETS]; /* bucket number + 1; 0 = never used */
    uint32_t requests[SC_RETRY_BUDGET_MAX_BUCKETS];
    uint32_t retries[SC_RETRY_BUDGET_MAX_BUCKETS];
    uint64_t bucket_ms;
    uint32_t n_buckets, percent, min_retries;
    uint64_t denied; /* retries refused, monotonic */
} sc_retry_budget;

/* window_ms is split into n_buckets (1..SC_RETRY_BUDGET_MAX_BUCKETS) buckets of
 * window_ms / n_buckets ms (>= 1); percent 0..100. Returns 0 or -EINVAL. */
int sc_retry_budget_init(sc_retry_budget *b, uint64_t window_ms, uint32_t n_buckets,
                         uint32_t percent, uint32_t min_retries);
/* now_ms: any monotonic millisecond clock, the same for every call. */
void sc_retry_budget_record_request(sc_retry_budget *b, uint64_t now_ms);
void sc_retry_budget_record_retry(sc_retry_budget *b, uint64_t now_ms);
bool sc_retry_budget_allows(const sc_retry_budget *b, uint64_t now_ms);
/* Totals over the window ending at now_ms (either pointer may be NULL). */
void sc_retry_budget_counts(const sc_retry_budget *b, uint64_t now_ms, uint64_t *requests,
                            uint64_t *retries);

typedef struct sc_retry_input {
    uint32_t attempts;      /* attempts made so far, the one that just failed included (>= 1) */
    bool retryable;         /* sc_classify_result.retryable */
    uint64_t now_ms;        /* monotonic */
    uint64_t run_start_ms;  /* when the first attempt started (same clock) */
    int64_t retry_after_ms; /* parsed Retry-After (sc_retry_after_parse), -1 when absent */
    uint64_t random;        /* uniform random bits for the jitter (sc_rng_u64) */
} sc_retry_input;

typedef struct sc_retry_decision {
    bool retry;
    uint64_t delay_ms; /* wait before the next attempt; 0 when not retrying */
    sc_retry_reason reason;
} sc_retry_decision;

/* The full-jitter delay before the retry numbered k (0 = first retry). */
uint64_t sc_retry_backoff_ms(const sc_retry_policy *p, uint32_t k, uint64_t random);

/* budget may be NULL (no budget). A "retrying" decision records the retry in it. */
sc_retry_decision sc_retry_decide(const sc_retry_policy *p, sc_retry_budget *budget,
                                  const sc_retry_input *in);

#endif
