/* test_telemetry_schema.c - tests for telemetry/schema: the pinned strings, enum names and
 * parsers, HTTP method/status normalisation and the metric definition table. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "telemetry/schema.h"

static void attribute_keys_are_pinned(void)
{
    CHECK_STR(SC_ATTR_HTTP_REQUEST_METHOD, "http.request.method");
    CHECK_STR(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, "http.response.status_code");
    CHECK_STR(SC_ATTR_HTTP_REQUEST_RESEND_COUNT, "http.request.resend_count");
    CHECK_STR(SC_ATTR_URL_TEMPLATE, "url.template");
    CHECK_STR(SC_ATTR_GEN_AI_PROVIDER_NAME, "gen_ai.provider.name");
    CHECK_STR(SC_ATTR_GEN_AI_RESPONSE_FINISH, "gen_ai.response.finish_reasons");
    CHECK_STR(SC_ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, "gen_ai.usage.output_tokens");
    CHECK_STR(SC_ATTR_GEN_AI_TOKEN_TYPE, "gen_ai.token.type");
    CHECK_STR(SC_ATTR_GATEWAY_FALLBACK_DECISION, "gateway.fallback.decision");
    CHECK_STR(SC_ATTR_GATEWAY_CONTRACT_CHECK, "gateway.contract.check");
    CHECK_STR(SC_ATTR_OTEL_METRIC_OVERFLOW, "otel.metric.overflow");
}

static void enum_names_round_trip(void)
{
    for (int c = 0; c < SC_ERROR_CLASS__COUNT; c++) {
        const char *n = sc_schema_error_class_name((sc_error_class)c);
        sc_error_class back;
        REQUIRE(n != NULL);
        CHECK_EQ(sc_schema_error_class_parse(n, strlen(n), &back), 0);
        CHECK_EQ(back, c);
    }
    for (int c = 0; c < SC_STATUS_CLASS__COUNT; c++) {
        const char *n = sc_schema_status_class_name((sc_status_class)c);
        sc_status_class back;
        REQUIRE(n != NULL);
        CHECK_EQ(sc_schema_status_class_parse(n, strlen(n), &back), 0);
        CHECK_EQ(back, c);
    }
    for (int c = 0; c < SC_FALLBACK__COUNT; c++) {
        const char *n = sc_schema_fallback_decision_name((sc_fallback_decision)c);
        sc_fallback_decision back;
        REQUIRE(n != NULL);
        CHECK_EQ(sc_schema_fallback_decision_parse(n, strlen(n), &back), 0);
        CHECK_EQ(back, c);
    }
    CHECK_STR(sc_schema_error_class_name(SC_ERROR_CLASS_STREAM_INTERRUPTED), "stream_interrupted");
    CHECK_STR(sc_schema_error_class_name(SC_ERROR_CLASS_NONE), "none");
    CHECK_STR(sc_schema_fallback_decision_name(SC_FALLBACK_FAILED_CLOSED), "failed_closed");
    CHECK_STR(sc_schema_status_class_name(SC_STATUS_CLASS_NETWORK_ERROR), "network_error");
    CHECK_STR(sc_schema_source_name(SC_SOURCE_ACCESS_LOG), "access_log");
    CHECK(sc_schema_source_name(SC_SOURCE_NONE) == NULL);
    CHECK(sc_schema_error_class_name((sc_error_class)99) == NULL);

    sc_error_class ec = SC_ERROR_CLASS_TIMEOUT;
    CHECK_EQ(sc_schema_error_class_parse("Timeout", 7, &ec), -EINVAL); /* exact spelling */
    CHECK_EQ(sc_schema_error_class_parse("timeoutx", 7, &ec), 0);      /* (ptr, len) slice */
    CHECK_EQ(ec, SC_ERROR_CLASS_TIMEOUT);
    CHECK_EQ(sc_schema_error_class_parse("", 0, &ec), -EINVAL);
    sc_source src;
    CHECK_EQ(sc_schema_source_parse("canary", 6, &src), 0);
    CHECK_EQ(src, SC_SOURCE_CANARY);
}

static void http_method_and_status_class(void)
{
    CHECK_STR(sc_schema_http_method("GET", 3), "GET");
    CHECK_STR(sc_schema_http_method("PATCHX", 5), "PATCH");
    CHECK_STR(sc_schema_http_method("OPTIONS", 7), "OPTIONS");
    CHECK_STR(sc_schema_http_method("get", 3), "_OTHER"); /* methods are case-sensitive */
    CHECK_STR(sc_schema_http_method("PROPFIND", 8), "_OTHER");
    CHECK_STR(sc_schema_http_method("", 0), "_OTHER");
    CHECK_STR(sc_schema_http_method(NULL, 0), "_OTHER");

    CHECK_EQ(sc_schema_status_class(100), SC_STATUS_CLASS_1XX);
    CHECK_EQ(sc_schema_status_class(200), SC_STATUS_CLASS_2XX);
    CHECK_EQ(sc_schema_status_class(399), SC_STATUS_CLASS_3XX);
    CHECK_EQ(sc_schema_status_class(429), SC_STATUS_CLASS_4XX);
    CHECK_EQ(sc_schema_status_class(599), SC_STATUS_CLASS_5XX);
    CHECK_EQ(sc_schema_status_class(0), SC_STATUS_CLASS_NETWORK_ERROR);
    CHECK_EQ(sc_schema_status_class(99), SC_STATUS_CLASS_NETWORK_ERROR);
    CHECK_EQ(sc_schema_status_class(600), SC_STATUS_CLASS_NETWORK_ERROR);
    CHECK_EQ(sc_schema_status_class(-1), SC_STATUS_CLASS_NETWORK_ERROR);

    CHECK_STR(sc_schema_fallback_reason("none", 4), "none");
    CHECK_STR(sc_schema_fallback_reason("rate_limited", 12), "rate_limited");
    CHECK_STR(sc_schema_fallback_reason("user said so", 12), "_OTHER");
}

static int strictly_increasing(const double *b, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (!(b[i] > b[i - 1]))
            return 0;
    return 1;
}

static void every_metric_is_complete(void)
{
    for (int id = 0; id < SC_METRIC__COUNT; id++) {
        const sc_metric_def *d = sc_schema_metric((sc_metric_id)id);
        REQUIRE(d != NULL);
        if (d->name == NULL || d->unit == NULL || d->unit[0] == '\0' || d->description == NULL ||
            d->description[0] == '\0' || d->kind < SC_METRIC_KIND_COUNTER ||
            d->kind > SC_METRIC_KIND_HISTOGRAM) {
            fprintf(stderr, "  incomplete metric #%d %s\n", id, d->name ? d->name : "(null)");
            CHECK(0);
            continue;
        }
        if (d->kind == SC_METRIC_KIND_HISTOGRAM) {
            CHECK(d->bounds != NULL && d->n_bounds > 0);
            CHECK(strictly_increasing(d->bounds, d->n_bounds));
        } else {
            CHECK(d->bounds == NULL && d->n_bounds == 0);
        }
        for (int j = 0; j < id; j++)
            CHECK(strcmp(sc_schema_metric((sc_metric_id)j)->name, d->name) != 0);
    }
    CHECK(sc_schema_metric(SC_METRIC__COUNT) == NULL);
}

static void semconv_metrics_match_the_conventions(void)
{
    const sc_metric_def *d = sc_schema_metric(SC_METRIC_HTTP_CLIENT_REQUEST_DURATION);
    CHECK_STR(d->name, "http.client.request.duration");
    CHECK_STR(d->unit, "s");
    CHECK_EQ(d->n_bounds, 14);
    CHECK(d->bounds[0] == 0.005 && d->bounds[13] == 10);
    d = sc_schema_metric(SC_METRIC_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK);
    CHECK_STR(d->name, "gen_ai.client.operation.time_to_first_chunk");
    CHECK(d->bounds[0] == 0.01 && d->bounds[13] == 81.92);
    d = sc_schema_metric(SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE);
    CHECK_STR(d->unit, "{token}");
    CHECK(d->bounds[0] == 1 && d->bounds[13] == 67108864);
    d = sc_schema_metric(SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE);
    CHECK_STR(d->name, "otel.sdk.processor.span.queue.size");
    CHECK_EQ(d->kind, SC_METRIC_KIND_UPDOWN_COUNTER);
    d = sc_schema_metric(SC_METRIC_OTEL_SDK_EXPORTER_METRIC_DATA_POINT_EXPORTED);
    CHECK_STR(d->unit, "{data_point}");
    CHECK_EQ(d->kind, SC_METRIC_KIND_COUNTER);
    d = sc_schema_metric(SC_METRIC_ACCESSLOG_LAG);
    CHECK_STR(d->name, "sidecar.accesslog.lag");
    CHECK_STR(d->unit, "By");
    CHECK_EQ(d->kind, SC_METRIC_KIND_GAUGE);
    d = sc_schema_metric(SC_METRIC_GATEWAY_CANARY_LAST_SUCCESS);
    CHECK_STR(d->unit, "s");
    CHECK_EQ(d->kind, SC_METRIC_KIND_GAUGE);
}

int main(void)
{
    RUN(attribute_keys_are_pinned);
    RUN(enum_names_round_trip);
    RUN(http_method_and_status_class);
    RUN(every_metric_is_complete);
    RUN(semconv_metrics_match_the_conventions);
    return sc_test_summary();
}
