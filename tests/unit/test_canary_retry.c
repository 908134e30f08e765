/* test_canary_retry.c - tests for canary/retry_policy: full-jitter bounds with injected randoms,
 * the cap, the deadline rule, Retry-After, and the retry budget as its window slides. */
#include <errno.h>
#include <string.h>

#include "canary/retry_policy.h"
#include "harness.h"

static sc_retry_policy policy(void)
{
    return (sc_retry_policy){
        .max_attempts = 4,
        .attempt_timeout_ms = 10000,
        .deadline_ms = 60000,
        .backoff_base_ms = 200,
        .backoff_cap_ms = 5000,
        .retry_after_cap_ms = 20000,
    };
}

static sc_retry_input input(uint32_t attempts, uint64_t now, uint64_t random)
{
    return (sc_retry_input){.attempts = attempts,
                            .retryable = true,
                            .now_ms = now,
                            .run_start_ms = 0,
                            .retry_after_ms = -1,
                            .random = random};
}

static void names_and_validation(void)
{
    CHECK_STR(sc_retry_reason_name(SC_RETRY_RETRYING), "retrying");
    CHECK_STR(sc_retry_reason_name(SC_RETRY_NOT_RETRYABLE), "not_retryable");
    CHECK_STR(sc_retry_reason_name(SC_RETRY_MAX_ATTEMPTS), "max_attempts");
    CHECK_STR(sc_retry_reason_name(SC_RETRY_DEADLINE), "deadline");
    CHECK_STR(sc_retry_reason_name(SC_RETRY_BUDGET_EXHAUSTED), "budget_exhausted");
    CHECK_STR(sc_retry_reason_name(SC_RETRY_RETRY_AFTER_TOO_LONG), "retry_after_too_long");
    CHECK(sc_retry_reason_name(SC_RETRY__COUNT) == NULL);
    sc_retry_policy p = policy();
    CHECK_EQ(sc_retry_policy_validate(&p), 0);
    p.max_attempts = 0;
    CHECK_EQ(sc_retry_policy_validate(&p), -EINVAL);
    p = policy();
    p.deadline_ms = p.attempt_timeout_ms - 1;
    CHECK_EQ(sc_retry_policy_validate(&p), -EINVAL);
    p = policy();
    p.backoff_cap_ms = p.backoff_base_ms - 1;
    CHECK_EQ(sc_retry_policy_validate(&p), -EINVAL);
    CHECK_EQ(sc_retry_policy_validate(NULL), -EINVAL);
}

static void full_jitter_bounds(void)
{
    sc_retry_policy p = policy();
    /* Ceiling base * 2^k, capped: 200, 400, 800, 1600, 3200, 5000, 5000 ... */
    const uint64_t ceil[] = {200, 400, 800, 1600, 3200, 5000, 5000};
    for (uint32_t k = 0; k < 7; k++) {
        CHECK_EQ(sc_retry_backoff_ms(&p, k, 0), 0);             /* lowest draw */
        CHECK_EQ(sc_retry_backoff_ms(&p, k, ceil[k]), ceil[k]); /* highest draw */
        CHECK_EQ(sc_retry_backoff_ms(&p, k, ceil[k] + 1), 0);   /* wraps within [0, ceil] */
        CHECK_EQ(sc_retry_backoff_ms(&p, k, UINT64_MAX) <= ceil[k], 1);
    }
    /* Huge exponents do not overflow. */
    CHECK_EQ(sc_retry_backoff_ms(&p, 63, 4999), 4999);
    CHECK_EQ(sc_retry_backoff_ms(&p, 1000, UINT64_MAX) <= 5000, 1);
    /* Many draws stay within bounds and cover the range. */
    uint64_t lo = UINT64_MAX, hi = 0, x = 88172645463325252ull;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t d = sc_retry_backoff_ms(&p, 2, x);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CHECK(lo < 20 && hi > 780 && hi <= 800);
}

static void decisions(void)
{
    sc_retry_policy p = policy();
    sc_retry_input in = input(1, 1000, 150);
    sc_retry_decision d = sc_retry_decide(&p, NULL, &in);
    CHECK(d.retry);
    CHECK_EQ(d.reason, SC_RETRY_RETRYING);
    CHECK_EQ(d.delay_ms, 150); /* first retry: [0, 200] */
    in = input(3, 1000, 1600);
    d = sc_retry_decide(&p, NULL, &in);
    CHECK_EQ(d.delay_ms, 799); /* third attempt failed: [0, 800]; 1600 % 801 = 799 */
    in.random = 800;
    d = sc_retry_decide(&p, NULL, &in);
    CHECK_EQ(d.delay_ms, 800);

    in = input(4, 1000, 0);
    d = sc_retry_decide(&p, NULL, &in);
    CHECK(!d.retry);
    CHECK_EQ(d.reason, SC_RETRY_MAX_ATTEMPTS);
    CHECK_EQ(d.delay_ms, 0);
    in = input(1, 1000, 0);
    in.retryable = false;
    d = sc_retry_decide(&p, NULL, &in);
    CHECK_EQ(d.reason, SC_RETRY_NOT_RETRYABLE);
    /* not_retryable wins over max_attempts. */
    in.attempts = 9;
    CHECK_EQ(sc_retry_decide(&p, NULL, &in).reason, SC_RETRY_NOT_RETRYABLE);
    p.max_attempts = 1; /* retries off */
    in = input(1, 0, 0);
    CHECK_EQ(sc_retry_decide(&p, NULL, &in).reason, SC_RETRY_MAX_ATTEMPTS);
}

static void deadline_rule(void)
{
    sc_retry_policy p = policy(); /* 60 s deadline, 10 s per attempt: latest start at 50 s */
    sc_retry_input in = input(1, 50000, 0);
    in.run_start_ms = 0;
    CHECK(sc_retry_decide(&p, NULL, &in).retry); /* starts at 50 s, ends by 60 s: fine */
    in.now_ms = 50001;
    sc_retry_decision d = sc_retry_decide(&p, NULL, &in);
    CHECK(!d.retry);
    CHECK_EQ(d.reason, SC_RETRY_DEADLINE);
    /* The deadline counts from the run's start, not from zero. */
    in.run_start_ms = 100000;
    in.now_ms = 149000;
    CHECK(sc_retry_decide(&p, NULL, &in).retry);
    /* A drawn delay that would break the deadline is clamped to the latest start. */
    in = input(2, 49900, 400);
    d = sc_retry_decide(&p, NULL, &in);
    CHECK(d.retry);
    CHECK_EQ(d.delay_ms, 100);
    CHECK(in.now_ms + d.delay_ms + p.attempt_timeout_ms <= in.run_start_ms + p.deadline_ms);
    /* Clock values near zero do not underflow. */
    p.deadline_ms = p.attempt_timeout_ms;
    in = input(1, 0, 5);
    d = sc_retry_decide(&p, NULL, &in);
    CHECK(d.retry);
    CHECK_EQ(d.delay_ms, 0);
}

static void retry_after(void)
{
    sc_retry_policy p = policy();
    sc_retry_input in = input(1, 1000, 50);
    in.retry_after_ms = 3000;
    sc_retry_decision d = sc_retry_decide(&p, NULL, &in);
    CHECK(d.retry);
    CHECK_EQ(d.delay_ms, 3000); /* at least the Retry-After */
    in.retry_after_ms = 0;
    CHECK_EQ(sc_retry_decide(&p, NULL, &in).delay_ms, 50);
    in.retry_after_ms = 20000; /* exactly the cap */
    CHECK(sc_retry_decide(&p, NULL, &in).retry);
    in.retry_after_ms = 20001;
    d = sc_retry_decide(&p, NULL, &in);
    CHECK(!d.retry);
    CHECK_EQ(d.reason, SC_RETRY_RETRY_AFTER_TOO_LONG);
    /* Within the cap, but waiting it breaks the deadline. */
    in = input(1, 40000, 0);
    in.retry_after_ms = 10001;
    d = sc_retry_decide(&p, NULL, &in);
    CHECK_EQ(d.reason, SC_RETRY_RETRY_AFTER_TOO_LONG);
    in.retry_after_ms = 10000;
    d = sc_retry_decide(&p, NULL, &in);
    CHECK(d.retry);
    CHECK_EQ(d.delay_ms, 10000);
}

static void budget_basics(void)
{
    sc_retry_budget b;
    CHECK_EQ(sc_retry_budget_init(&b, 60000, 0, 10, 0), -EINVAL);
    CHECK_EQ(sc_retry_budget_init(&b, 60000, SC_RETRY_BUDGET_MAX_BUCKETS + 1, 10, 0), -EINVAL);
    CHECK_EQ(sc_retry_budget_init(&b, 60000, 10, 101, 0), -EINVAL);
    CHECK_EQ(sc_retry_budget_init(&b, 5, 10, 10, 0), -EINVAL); /* buckets under 1 ms */
    REQUIRE(sc_retry_budget_init(&b, 60000, 10, 10, 0) == 0);
    /* 10%: 9 requests allow no retry, 10 allow one, 20 allow two. */
    for (int i = 0; i < 9; i++)
        sc_retry_budget_record_request(&b, 1000);
    CHECK(!sc_retry_budget_allows(&b, 1000));
    sc_retry_budget_record_request(&b, 1000);
    CHECK(sc_retry_budget_allows(&b, 1000));
    sc_retry_budget_record_retry(&b, 1000);
    CHECK(!sc_retry_budget_allows(&b, 1000));
    for (int i = 0; i < 10; i++)
        sc_retry_budget_record_request(&b, 2000);
    CHECK(sc_retry_budget_allows(&b, 2000));
    uint64_t req, ret;
    sc_retry_budget_counts(&b, 2000, &req, &ret);
    CHECK_EQ(req, 20);
    CHECK_EQ(ret, 1);
    /* A floor of min_retries lets a quiet canary retry at all. */
    REQUIRE(sc_retry_budget_init(&b, 60000, 10, 10, 2) == 0);
    CHECK(sc_retry_budget_allows(&b, 0));
    sc_retry_budget_record_retry(&b, 0);
    sc_retry_budget_record_retry(&b, 0);
    CHECK(!sc_retry_budget_allows(&b, 0));
}

static void budget_exhaustion_and_recovery(void)
{
    sc_retry_policy p = policy();
    p.deadline_ms = 1000000;
    sc_retry_budget b;
    REQUIRE(sc_retry_budget_init(&b, 60000, 10, 10, 1) == 0); /* 6 s buckets */
    uint64_t t = 100000;
    sc_retry_budget_record_request(&b, t);
    sc_retry_input in = input(1, t, 0);
    in.run_start_ms = t;
    sc_retry_decision d = sc_retry_decide(&p, &b, &in);
    CHECK(d.retry); /* the floor allows one */
    d = sc_retry_decide(&p, &b, &in);
    CHECK(!d.retry);
    CHECK_EQ(d.reason, SC_RETRY_BUDGET_EXHAUSTED);
    CHECK_EQ(b.denied, 1);
    /* A non-retryable outcome reports that, not the budget, and does not count as denied. */
    in.retryable = false;
    CHECK_EQ(sc_retry_decide(&p, &b, &in).reason, SC_RETRY_NOT_RETRYABLE);
    CHECK_EQ(b.denied, 1);
    in.retryable = true;
    /* Still inside the window 59 s later (the retry's bucket started at 96 s)... */
    in.now_ms = 155999;
    CHECK_EQ(sc_retry_decide(&p, &b, &in).reason, SC_RETRY_BUDGET_EXHAUSTED);
    /* ... and free again once that bucket slides out of the window. */
    in.now_ms = 156000;
    CHECK(sc_retry_decide(&p, &b, &in).retry);
    uint64_t req, ret;
    sc_retry_budget_counts(&b, 156000, &req, &ret);
    CHECK_EQ(req, 0);
    CHECK_EQ(ret, 1);
    /* Traffic earns retries back: 20 requests over the next buckets allow 1 + 2 retries. */
    for (int i = 0; i < 20; i++)
        sc_retry_budget_record_request(&b, 156000 + (uint64_t)i * 1000);
    in.now_ms = 176000;
    CHECK(sc_retry_decide(&p, &b, &in).retry);
    CHECK(sc_retry_decide(&p, &b, &in).retry);
    CHECK_EQ(sc_retry_decide(&p, &b, &in).reason, SC_RETRY_BUDGET_EXHAUSTED);
    /* A long silence empties the whole ring. */
    in.now_ms = 10000000;
    sc_retry_budget_counts(&b, in.now_ms, &req, &ret);
    CHECK_EQ(req + ret, 0);
    /* A clock that steps back never counts "future" buckets. */
    sc_retry_budget_counts(&b, 1000, &req, &ret);
    CHECK_EQ(req + ret, 0);
}

int main(void)
{
    RUN(names_and_validation);
    RUN(full_jitter_bounds);
    RUN(decisions);
    RUN(deadline_rule);
    RUN(retry_after);
    RUN(budget_basics);
    RUN(budget_exhaustion_and_recovery);
    return sc_test_summary();
}
