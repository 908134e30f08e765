/* test_canary_fallback.c - tests for canary/fallback: the default allow-list, classes config can
 * never allow, stream interruption after content, reasons, and drill expectations. */
#include <errno.h>
#include <string.h>

#include "canary/fallback.h"
#include "harness.h"

static const sc_error_class always_closed[] = {
    SC_ERROR_CLASS_AUTH_ERROR,       SC_ERROR_CLASS_INVALID_REQUEST, SC_ERROR_CLASS_MODEL_NOT_FOUND,
    SC_ERROR_CLASS_POLICY_REJECTION, SC_ERROR_CLASS_PARSE_ERROR,     SC_ERROR_CLASS_QUOTA_EXCEEDED,
};

static void default_allow_list(void)
{
    sc_fallback_policy p;
    sc_fallback_policy_default(&p);
    sc_fallback_result r = sc_fallback_decide(&p, SC_ERROR_CLASS_NONE, false);
    CHECK_EQ(r.decision, SC_FALLBACK_NOT_NEEDED);
    CHECK_STR(r.reason, "none");

    const sc_error_class allowed[] = {SC_ERROR_CLASS_TIMEOUT, SC_ERROR_CLASS_UPSTREAM_ERROR,
                                      SC_ERROR_CLASS_RATE_LIMITED,
                                      SC_ERROR_CLASS_STREAM_INTERRUPTED};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        r = sc_fallback_decide(&p, allowed[i], false);
        CHECK_EQ(r.decision, SC_FALLBACK_ALLOWED);
        CHECK_STR(r.reason, sc_schema_error_class_name(allowed[i]));
    }
    /* network_error is allowable but not on the default list. */
    r = sc_fallback_decide(&p, SC_ERROR_CLASS_NETWORK_ERROR, false);
    CHECK_EQ(r.decision, SC_FALLBACK_FAILED_CLOSED);
    CHECK_STR(r.reason, "network_error");
    /* After partial output a fallback would repeat it to the user. */
    r = sc_fallback_decide(&p, SC_ERROR_CLASS_STREAM_INTERRUPTED, true);
    CHECK_EQ(r.decision, SC_FALLBACK_FAILED_CLOSED);
    CHECK_STR(r.reason, "stream_interrupted");
    for (size_t i = 0; i < sizeof always_closed / sizeof always_closed[0]; i++) {
        r = sc_fallback_decide(&p, always_closed[i], false);
        CHECK_EQ(r.decision, SC_FALLBACK_FAILED_CLOSED);
    }
    /* Reasons stay within the schema's bounded set. */
    CHECK_STR(sc_fallback_decide(&p, SC_ERROR_CLASS_AUTH_ERROR, false).reason, "_OTHER");
    CHECK_STR(sc_fallback_decide(&p, SC_ERROR_CLASS_QUOTA_EXCEEDED, false).reason,
              "quota_exceeded");
    CHECK_STR(sc_fallback_decide(&p, (sc_error_class)99, false).reason, "_OTHER");
    CHECK_EQ(sc_fallback_decide(&p, (sc_error_class)99, false).decision, SC_FALLBACK_FAILED_CLOSED);
}

static void config_cannot_open_closed_classes(void)
{
    sc_fallback_policy p;
    sc_fallback_policy_default(&p);
    uint32_t before = p.allow;
    for (size_t i = 0; i < sizeof always_closed / sizeof always_closed[0]; i++) {
        CHECK(!sc_fallback_class_allowable(always_closed[i]));
        sc_error_class list[2] = {SC_ERROR_CLASS_TIMEOUT, always_closed[i]};
        size_t bad = 99;
        CHECK_EQ(sc_fallback_policy_init(&p, list, 2, &bad), -EINVAL);
        CHECK_EQ(bad, 1);
        CHECK_EQ(p.allow, before); /* unchanged on error */
    }
    CHECK(!sc_fallback_class_allowable(SC_ERROR_CLASS_NONE));
    CHECK(!sc_fallback_class_allowable(SC_ERROR_CLASS__COUNT));
    sc_error_class none[1] = {SC_ERROR_CLASS_NONE};
    CHECK_EQ(sc_fallback_policy_init(&p, none, 1, NULL), -EINVAL);
    CHECK_EQ(sc_fallback_policy_init(&p, NULL, 1, NULL), -EINVAL);

    /* A custom list replaces the default. */
    sc_error_class custom[2] = {SC_ERROR_CLASS_NETWORK_ERROR, SC_ERROR_CLASS_TIMEOUT};
    REQUIRE(sc_fallback_policy_init(&p, custom, 2, NULL) == 0);
    CHECK_EQ(sc_fallback_decide(&p, SC_ERROR_CLASS_NETWORK_ERROR, false).decision,
             SC_FALLBACK_ALLOWED);
    CHECK_EQ(sc_fallback_decide(&p, SC_ERROR_CLASS_UPSTREAM_ERROR, false).decision,
             SC_FALLBACK_FAILED_CLOSED);
    /* Even a forged mask cannot open an always-closed class. */
    p.allow = UINT32_MAX;
    CHECK_EQ(sc_fallback_decide(&p, SC_ERROR_CLASS_AUTH_ERROR, false).decision,
             SC_FALLBACK_FAILED_CLOSED);
    /* An empty list allows nothing. */
    REQUIRE(sc_fallback_policy_init(&p, NULL, 0, NULL) == 0);
    CHECK_EQ(sc_fallback_decide(&p, SC_ERROR_CLASS_TIMEOUT, false).decision,
             SC_FALLBACK_FAILED_CLOSED);
}

static void drills(void)
{
    CHECK_STR(sc_drill_verdict_name(SC_DRILL_PASS), "pass");
    CHECK_STR(sc_drill_verdict_name(SC_DRILL_WRONG_CLASS), "wrong_class");
    CHECK_STR(sc_drill_verdict_name(SC_DRILL_RETRIED), "retried");
    CHECK_STR(sc_drill_verdict_name(SC_DRILL_FALLBACK), "fallback");
    CHECK(sc_drill_verdict_name(SC_DRILL__COUNT) == NULL);

    const sc_error_class auth = SC_ERROR_CLASS_AUTH_ERROR;
    /* The invalid-credential drill: one attempt, auth_error, failed closed. */
    sc_drill_outcome o = {auth, 0, SC_FALLBACK_FAILED_CLOSED};
    CHECK_EQ(sc_fallback_drill_check(auth, &o), SC_DRILL_PASS);
    /* Retried: the client treated a bad key as transient. */
    o.retries = 2;
    CHECK_EQ(sc_fallback_drill_check(auth, &o), SC_DRILL_RETRIED);
    /* Fell back: a revoked key would be hidden by the fallback. */
    o = (sc_drill_outcome){auth, 0, SC_FALLBACK_ALLOWED};
    CHECK_EQ(sc_fallback_drill_check(auth, &o), SC_DRILL_FALLBACK);
    o.fallback = SC_FALLBACK_USED;
    CHECK_EQ(sc_fallback_drill_check(auth, &o), SC_DRILL_FALLBACK);
    /* The gateway accepted the bad key (accept_any_key fault), or failed otherwise. */
    o = (sc_drill_outcome){SC_ERROR_CLASS_NONE, 0, SC_FALLBACK_NOT_NEEDED};
    CHECK_EQ(sc_fallback_drill_check(auth, &o), SC_DRILL_WRONG_CLASS);
    o = (sc_drill_outcome){SC_ERROR_CLASS_UPSTREAM_ERROR, 3, SC_FALLBACK_ALLOWED};
    CHECK_EQ(sc_fallback_drill_check(auth, &o), SC_DRILL_WRONG_CLASS);
    /* Other drills work the same way. */
    o = (sc_drill_outcome){SC_ERROR_CLASS_MODEL_NOT_FOUND, 0, SC_FALLBACK_FAILED_CLOSED};
    CHECK_EQ(sc_fallback_drill_check(SC_ERROR_CLASS_MODEL_NOT_FOUND, &o), SC_DRILL_PASS);
    /* Expecting success: an ordinary probe, retries and fallbacks not judged. */
    o = (sc_drill_outcome){SC_ERROR_CLASS_NONE, 2, SC_FALLBACK_NOT_NEEDED};
    CHECK_EQ(sc_fallback_drill_check(SC_ERROR_CLASS_NONE, &o), SC_DRILL_PASS);
    o = (sc_drill_outcome){SC_ERROR_CLASS_TIMEOUT, 0, SC_FALLBACK_ALLOWED};
    CHECK_EQ(sc_fallback_drill_check(SC_ERROR_CLASS_NONE, &o), SC_DRILL_WRONG_CLASS);
}

int main(void)
{
    RUN(default_allow_list);
    RUN(config_cannot_open_closed_classes);
    RUN(drills);
    return sc_test_summary();
}
