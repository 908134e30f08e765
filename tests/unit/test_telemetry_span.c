/* test_telemetry_span.c - tests for telemetry/attr and telemetry/span: attribute sets, span
 * limits and arena, ids, W3C traceparent. */
#include <errno.h>
#include <string.h>

#include "core/rng.h"
#include "harness.h"
#include "telemetry/attr.h"
#include "telemetry/schema.h"
#include "telemetry/span.h"

static sc_span span; /* 2 KiB: static rather than on the stack */

static int str_is(sc_attr_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void attr_set_canonical_sorts_and_last_duplicate_wins(void)
{
    sc_attr a[] = {SC_ATTR_STR("b", "1"), SC_ATTR_INT("a", 7), SC_ATTR_STR("b", "2"),
                   SC_ATTR_BOOL("c", 1)};
    uint8_t order[SC_ATTR_SET_MAX];
    size_t n = 0;
    REQUIRE(sc_attr_set_canonical(a, 4, order, &n) == 0);
    CHECK_EQ(n, 3);
    CHECK_STR(a[order[0]].key, "a");
    CHECK_EQ(order[1], 2); /* the later "b" */
    CHECK_STR(a[order[2]].key, "c");

    sc_attr reversed[] = {SC_ATTR_BOOL("c", 5), SC_ATTR_STR("b", "2"), SC_ATTR_INT("a", 7)};
    uint8_t order2[SC_ATTR_SET_MAX];
    size_t n2 = 0;
    REQUIRE(sc_attr_set_canonical(reversed, 3, order2, &n2) == 0);
    CHECK(sc_attr_set_hash(a, order, n) == sc_attr_set_hash(reversed, order2, n2));
    sc_attr other[] = {SC_ATTR_BOOL("c", 1), SC_ATTR_STR("b", "3"), SC_ATTR_INT("a", 7)};
    REQUIRE(sc_attr_set_canonical(other, 3, order2, &n2) == 0);
    CHECK(sc_attr_set_hash(a, order, n) != sc_attr_set_hash(other, order2, n2));

    sc_attr bad[] = {SC_ATTR_STR("", "x")};
    CHECK_EQ(sc_attr_set_canonical(bad, 1, order, &n), -EINVAL);
    sc_attr many[SC_ATTR_SET_MAX + 1];
    for (size_t i = 0; i < SC_ATTR_COUNT(many); i++)
        many[i] = SC_ATTR_INT("k", i);
    CHECK_EQ(sc_attr_set_canonical(many, SC_ATTR_COUNT(many), order, &n), -E2BIG);
}

static void attr_set_copy_is_deep(void)
{
    char buf[8] = "gpt-4o";
    sc_attr_str items[] = {{"stop", 4}, {"length", 6}};
    sc_attr a[] = {SC_ATTR_STRN("m", buf, 6), SC_ATTR_STRARR("f", items, 2), SC_ATTR_DBL("d", 1.5)};
    uint8_t order[SC_ATTR_SET_MAX];
    size_t n = 0;
    REQUIRE(sc_attr_set_canonical(a, 3, order, &n) == 0);
    static _Alignas(sc_attr) char block[512];
    REQUIRE(sc_attr_set_copy_size(a, order, n) <= sizeof block);
    sc_attr *c = sc_attr_set_copy(a, order, n, block);
    memset(buf, 'x', sizeof buf);
    CHECK_STR(c[0].key, "d");
    CHECK_STR(c[1].key, "f");
    CHECK_EQ(c[1].v.arr.n, 2);
    CHECK(str_is(c[1].v.arr.items[1], "length"));
    CHECK_STR(c[2].key, "m");
    CHECK(str_is(c[2].v.s, "gpt-4o"));
    CHECK(sc_attr_equal(&c[0], &a[2]));
}

static void attr_utf8_prefix_never_splits_a_character(void)
{
    const char s[] = "ab\xc3\xa9z"; /* a b é z */
    CHECK_EQ(sc_attr_utf8_prefix(s, 5, 10), 5);
    CHECK_EQ(sc_attr_utf8_prefix(s, 5, 4), 4);
    CHECK_EQ(sc_attr_utf8_prefix(s, 5, 3), 2); /* would cut é in half */
    CHECK_EQ(sc_attr_utf8_prefix(s, 5, 2), 2);
}

static void span_ids_come_from_rng_and_are_never_zero(void)
{
    sc_rng rng, twin;
    sc_rng_init_seeded(&rng, 7);
    sc_rng_init_seeded(&twin, 7);
    sc_span_reset(&span);
    REQUIRE(sc_span_new_ids(&span, &rng, NULL) == 0);
    uint8_t want_trace[16], want_span[8];
    sc_rng_fill(&twin, want_trace, 16);
    sc_rng_fill(&twin, want_span, 8);
    CHECK(memcmp(span.trace_id, want_trace, 16) == 0);
    CHECK(memcmp(span.span_id, want_span, 8) == 0);
    CHECK_EQ(span.has_parent, 0);
    CHECK_EQ(span.trace_flags, SC_TRACE_FLAG_SAMPLED);

    sc_span_context parent;
    memcpy(parent.trace_id, span.trace_id, 16);
    memcpy(parent.span_id, span.span_id, 8);
    parent.trace_flags = 0;
    static sc_span child;
    sc_span_reset(&child);
    REQUIRE(sc_span_new_ids(&child, &rng, &parent) == 0);
    CHECK(memcmp(child.trace_id, span.trace_id, 16) == 0);
    CHECK(memcmp(child.parent_span_id, span.span_id, 8) == 0);
    CHECK(memcmp(child.span_id, span.span_id, 8) != 0);
    CHECK_EQ(child.has_parent, 1);
    CHECK_EQ(child.trace_flags, 0);

    /* splitmix64 yields 0 exactly when its state steps onto 0: seed it one step before. An
     * all-zero span id must be redrawn (the next output becomes the id). */
    static const uint8_t zero[16];
    const uint64_t golden = 0x9e3779b97f4a7c15u;
    sc_rng_init_seeded(&rng, (uint64_t)0 - golden);
    sc_rng_init_seeded(&twin, (uint64_t)0 - golden);
    CHECK_EQ(sc_rng_u64(&twin), 0);
    uint64_t second = sc_rng_u64(&twin);
    REQUIRE(sc_span_new_ids(&child, &rng, &parent) == 0);
    CHECK(memcmp(child.span_id, zero, 8) != 0);
    CHECK(memcmp(child.span_id, &second, 8) == 0);
    for (int i = 0; i < 1000; i++) {
        REQUIRE(sc_span_new_ids(&span, &rng, NULL) == 0);
        CHECK(memcmp(span.trace_id, zero, 16) != 0);
        CHECK(memcmp(span.span_id, zero, 8) != 0);
    }
}

static void span_attrs_store_read_back_and_overwrite(void)
{
    sc_span_reset(&span);
    REQUIRE(sc_span_set_name(&span, "chat gpt-4o", 11) == 0);
    sc_attr_str reasons[] = {{"stop", 4}, {"tool_calls", 10}};
    sc_attr in[] = {
        SC_ATTR_STR(SC_ATTR_HTTP_REQUEST_METHOD, "POST"),
        SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, 200),
        SC_ATTR_DBL("x.ratio", 0.25),
        SC_ATTR_BOOL(SC_ATTR_GATEWAY_STREAM, 1),
        SC_ATTR_STRARR(SC_ATTR_GEN_AI_RESPONSE_FINISH, reasons, 2),
        SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, 429), /* overwrites */
    };
    CHECK_EQ(sc_span_set_attrs(&span, in, SC_ATTR_COUNT(in)), 0);
    CHECK_EQ(span.n_attrs, 5);
    CHECK_EQ(span.dropped_attributes_count, 0);
    CHECK(str_is(sc_span_str(&span, span.name), "chat gpt-4o"));

    sc_attr a;
    sc_attr_str items[SC_SPAN_ARRAY_MAX];
    sc_span_attr_get(&span, &span.attrs[0], &a, items);
    CHECK_STR(a.key, SC_ATTR_HTTP_REQUEST_METHOD);
    CHECK(a.type == SC_ATTR_STRING && str_is(a.v.s, "POST"));
    sc_span_attr_get(&span, &span.attrs[1], &a, items);
    CHECK(a.type == SC_ATTR_INT && a.v.i == 429);
    sc_span_attr_get(&span, &span.attrs[2], &a, items);
    CHECK(a.type == SC_ATTR_DOUBLE && a.v.d == 0.25);
    sc_span_attr_get(&span, &span.attrs[3], &a, items);
    CHECK(a.type == SC_ATTR_BOOL && a.v.b == 1);
    sc_span_attr_get(&span, &span.attrs[4], &a, items);
    REQUIRE(a.type == SC_ATTR_STRING_ARRAY && a.v.arr.n == 2);
    CHECK(str_is(a.v.arr.items[0], "stop"));
    CHECK(str_is(a.v.arr.items[1], "tool_calls"));
}

static void span_attr_count_limit_drops_and_counts(void)
{
    static char keys[SC_SPAN_MAX_ATTRS + 3][8];
    sc_span_reset(&span);
    for (int i = 0; i < SC_SPAN_MAX_ATTRS + 3; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        sc_attr a = SC_ATTR_INT(keys[i], i);
        CHECK_EQ(sc_span_set_attr(&span, &a), i < SC_SPAN_MAX_ATTRS ? 0 : -ENOSPC);
    }
    CHECK_EQ(span.n_attrs, SC_SPAN_MAX_ATTRS);
    CHECK_EQ(span.dropped_attributes_count, 3);
    sc_attr over = SC_ATTR_INT(keys[0], 99); /* overwriting needs no new slot */
    CHECK_EQ(sc_span_set_attr(&span, &over), 0);
    CHECK_EQ(span.attrs[0].v.i, 99);
    sc_attr bad = SC_ATTR_STR("", "x");
    CHECK_EQ(sc_span_set_attr(&span, &bad), -EINVAL);
    CHECK_EQ(span.dropped_attributes_count, 4);
}

static void span_long_values_truncate_and_full_arena_drops(void)
{
    static char big[1000];
    memset(big, 'v', sizeof big);
    sc_span_reset(&span);
    sc_attr a = SC_ATTR_STRN("k0", big, sizeof big);
    REQUIRE(sc_span_set_attr(&span, &a) == 0);
    CHECK_EQ(span.attrs[0].v.s.len, SC_SPAN_ATTR_VALUE_MAX); /* truncated, not dropped */
    size_t stored = 1, full = 0;
    static char keys[16][8];
    for (int i = 1; i < 16; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        sc_attr b = SC_ATTR_STRN(keys[i], big, sizeof big);
        int rc = sc_span_set_attr(&span, &b);
        if (rc == 0)
            stored++;
        else if (rc == -ENOBUFS)
            full++;
    }
    /* Each takes 256 value bytes + 3-4 key bytes: four fit in 1152. */
    CHECK_EQ(stored, SC_SPAN_ARENA_SIZE / (SC_SPAN_ATTR_VALUE_MAX + 4));
    CHECK_EQ(full, 16 - stored);
    CHECK_EQ(span.dropped_attributes_count, full);
    CHECK(span.arena_used <= SC_SPAN_ARENA_SIZE);
    sc_attr small = SC_ATTR_INT("n", 1); /* a scalar still fits in the remaining bytes */
    CHECK_EQ(sc_span_set_attr(&span, &small), 0);
}

static void span_status_events_links_follow_otel_rules(void)
{
    sc_span_reset(&span);
    sc_span_set_status(&span, SC_SPAN_STATUS_ERROR, "timeout", 7);
    CHECK_EQ(span.status, SC_SPAN_STATUS_ERROR);
    CHECK(str_is(sc_span_str(&span, span.status_message), "timeout"));
    sc_span_set_status(&span, SC_SPAN_STATUS_UNSET, NULL, 0); /* ignored */
    CHECK_EQ(span.status, SC_SPAN_STATUS_ERROR);
    sc_span_set_status(&span, SC_SPAN_STATUS_OK, "ignored", 7);
    CHECK_EQ(span.status, SC_SPAN_STATUS_OK);
    CHECK_EQ(span.status_message.len, 0);
    sc_span_set_status(&span, SC_SPAN_STATUS_ERROR, "late", 4); /* OK is final */
    CHECK_EQ(span.status, SC_SPAN_STATUS_OK);

    sc_attr ea[] = {SC_ATTR_INT("a", 1), SC_ATTR_INT("b", 2), SC_ATTR_INT("c", 3)};
    for (int i = 0; i < SC_SPAN_MAX_EVENTS + 1; i++)
        sc_span_add_event(&span, "retry", 5, 1000u + (uint64_t)i, ea, 3);
    CHECK_EQ(span.n_events, SC_SPAN_MAX_EVENTS);
    CHECK_EQ(span.dropped_events_count, 1);
    CHECK_EQ(span.events[0].n_attrs, 3);
    CHECK_EQ(span.events[1].n_attrs, 3);
    CHECK_EQ(span.events[2].n_attrs, 2); /* the shared pool of 8 ran out */
    CHECK_EQ(span.events[2].dropped_attributes_count, 1);
    CHECK_EQ(span.events[3].n_attrs, 0);
    CHECK_EQ(span.events[3].dropped_attributes_count, 3);
    CHECK_EQ(span.events[3].time_ns, 1003);
    sc_attr a;
    sc_attr_str items[SC_SPAN_ARRAY_MAX];
    sc_span_attr_get(&span, &span.event_attrs[span.events[1].first_attr + 2], &a, items);
    CHECK(strcmp(a.key, "c") == 0 && a.v.i == 3);

    sc_span_context ctx = {{1}, {2}, 1};
    CHECK_EQ(sc_span_add_link(&span, &ctx, "k=v", 3), 0);
    CHECK_EQ(sc_span_add_link(&span, &ctx, NULL, 0), 0);
    CHECK_EQ(sc_span_add_link(&span, &ctx, NULL, 0), -ENOSPC);
    CHECK_EQ(span.n_links, 2);
    CHECK_EQ(span.dropped_links_count, 1);
    CHECK(str_is(sc_span_str(&span, span.links[0].trace_state), "k=v"));
}

static void span_trace_state_drops_whole_members(void)
{
    static char ts[400];
    size_t len = 0;
    for (int i = 0; len + 12 < sizeof ts; i++)
        len += (size_t)snprintf(ts + len, sizeof ts - len, "%sv%02d=abcdef", i ? "," : "", i);
    sc_span_reset(&span);
    REQUIRE(sc_span_set_trace_state(&span, ts, len) == 0);
    sc_attr_str got = sc_span_str(&span, span.trace_state);
    CHECK(got.len <= SC_SPAN_TRACE_STATE_MAX);
    CHECK(got.len > 0 && got.ptr[got.len - 1] == 'f'); /* ends with a whole member */
    CHECK(memcmp(got.ptr, ts, got.len) == 0 && ts[got.len] == ',');
}

static void traceparent_parse_valid_and_invalid(void)
{
    const char *ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    uint8_t tid[16], pid[8], fl = 0;
    REQUIRE(sc_traceparent_parse(ok, strlen(ok), tid, pid, &fl) == 0);
    CHECK_EQ(tid[0], 0x4b);
    CHECK_EQ(tid[15], 0x36);
    CHECK_EQ(pid[7], 0xb7);
    CHECK_EQ(fl, 1);

    const char *bad[] = {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* upper case */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero parent id */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",   /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011", /* v00 too long */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* v00 extra field */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",  /* misplaced dash */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",  /* flags not hex */
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* future: no dash at 55 */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fl = 0x55;
        if (sc_traceparent_parse(bad[i], strlen(bad[i]), tid, pid, &fl) != -EINVAL) {
            fprintf(stderr, "  accepted: %s\n", bad[i]);
            CHECK(0);
        }
        CHECK_EQ(fl, 0x55); /* outputs untouched on error */
    }

    /* A future version keeps the version-00 prefix and may add fields after a dash. */
    const char *future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-ever";
    CHECK_EQ(sc_traceparent_parse(future, strlen(future), tid, pid, &fl), 0);
    CHECK_EQ(fl, 9);
    const char *future55 = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    CHECK_EQ(sc_traceparent_parse(future55, strlen(future55), tid, pid, &fl), 0);
}

static void traceparent_format_round_trips(void)
{
    sc_rng rng;
    sc_rng_init_seeded(&rng, 99);
    sc_span_reset(&span);
    REQUIRE(sc_span_new_ids(&span, &rng, NULL) == 0);
    char out[SC_TRACEPARENT_LEN + 1];
    CHECK_EQ(sc_traceparent_format(&span, out), SC_TRACEPARENT_LEN);
    CHECK_EQ(strlen(out), SC_TRACEPARENT_LEN);
    CHECK(strncmp(out, "00-", 3) == 0 && strcmp(out + 52, "-01") == 0);
    uint8_t tid[16], pid[8], fl = 0;
    REQUIRE(sc_traceparent_parse(out, strlen(out), tid, pid, &fl) == 0);
    CHECK(memcmp(tid, span.trace_id, 16) == 0);
    CHECK(memcmp(pid, span.span_id, 8) == 0);
    CHECK_EQ(fl, span.trace_flags);
}

int main(void)
{
    RUN(attr_set_canonical_sorts_and_last_duplicate_wins);
    RUN(attr_set_copy_is_deep);
    RUN(attr_utf8_prefix_never_splits_a_character);
    RUN(span_ids_come_from_rng_and_are_never_zero);
    RUN(span_attrs_store_read_back_and_overwrite);
    RUN(span_attr_count_limit_drops_and_counts);
    RUN(span_long_values_truncate_and_full_arena_drops);
    RUN(span_status_events_links_follow_otel_rules);
    RUN(span_trace_state_drops_whole_members);
    RUN(traceparent_parse_valid_and_invalid);
    RUN(traceparent_format_round_trips);
    return sc_test_summary();
}
