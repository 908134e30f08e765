/* record.c - owns: record initialisation and the pure classification rules of record.h. */
#include "telemetry/record.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_MAX 64

static const sc_attr_str other = {SC_VALUE_OTHER, sizeof SC_VALUE_OTHER - 1};

void sc_record_attempt_init(sc_attempt_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->input_tokens = SC_RECORD_TOKENS_UNKNOWN;
    rec->output_tokens = SC_RECORD_TOKENS_UNKNOWN;
}

void sc_record_run_init(sc_run_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->input_tokens = SC_RECORD_TOKENS_UNKNOWN;
    rec->output_tokens = SC_RECORD_TOKENS_UNKNOWN;
}

int sc_record_attempt_failed(const sc_attempt_record *rec)
{
    return rec->error_type.len > 0 || rec->error_class != SC_ERROR_CLASS_NONE;
}

int sc_record_attempt_usage_missing(const sc_attempt_record *rec)
{
    return !sc_record_attempt_failed(rec) && rec->status_code >= 200 && rec->status_code <= 299 &&
           rec->operation.len > 0 && !rec->usage_present && !rec->usage_unknown;
}

int sc_record_attempt_plain_success(const sc_attempt_record *rec)
{
    return !sc_record_attempt_failed(rec) && rec->resend_count == 0 &&
           rec->fallback == SC_FALLBACK_NOT_NEEDED && !sc_record_attempt_usage_missing(rec) &&
           !rec->force_sample;
}

static int is_status_code(sc_attr_str s)
{
    return s.len == 3 && s.ptr[0] >= '1' && s.ptr[0] <= '5' && s.ptr[1] >= '0' && s.ptr[1] <= '9' &&
           s.ptr[2] >= '0' && s.ptr[2] <= '9';
}

/* [a-z][a-z0-9_.]{0,63}: the shape of semconv's low-cardinality error identifiers. */
static int is_identifier(sc_attr_str s)
{
    if (s.len == 0 || s.len > TOKEN_MAX || s.ptr[0] < 'a' || s.ptr[0] > 'z')
        return 0;
    for (size_t i = 1; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

sc_attr_str sc_record_error_type(sc_attr_str given, sc_error_class cls)
{
    if (given.len > 0)
        return is_status_code(given) || is_identifier(given) ? given : other;
    if (cls == SC_ERROR_CLASS_NONE)
        return (sc_attr_str){NULL, 0};
    const char *name = sc_schema_error_class_name(cls);
    return name ? (sc_attr_str){name, strlen(name)} : other;
}

sc_attr_str sc_record_identifier(sc_attr_str s)
{
    return is_identifier(s) ? s : other;
}

sc_attr_str sc_record_bounded_token(sc_attr_str s)
{
    if (s.len == 0 || s.len > TOKEN_MAX)
        return other;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return other;
    }
    return s;
}

uint64_t sc_record_sampling_threshold(double ratio, char th[SC_RECORD_TH_LEN])
{
    const uint64_t all = 1ull << 56;
    th[0] = '\0';
    if (!(ratio > 0.0))
        return all;
    if (ratio > 1.0)
        ratio = 1.0;
    uint64_t t = (uint64_t)llround((1.0 - ratio) * (double)all);
    if (t >= all)
        t = all - 1; /* a tiny ratio still keeps something, as its th says */
    snprintf(th, SC_RECORD_TH_LEN, "%014llx", (unsigned long long)t);
    size_t len = strlen(th);
    while (len > 1 && th[len - 1] == '0')
        th[--len] = '\0';
    return t;
}

static char *hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 0xf];
    }
    return out;
}

int sc_record_traceparent(const sc_span_context *ctx, char out[SC_TRACEPARENT_LEN + 1])
{
    char *o = out;
    memcpy(o, "00-", 3);
    o = hex(o + 3, ctx->trace_id, sizeof ctx->trace_id);
    *o++ = '-';
    o = hex(o, ctx->span_id, sizeof ctx->span_id);
    *o++ = '-';
    o = hex(o, &ctx->trace_flags, 1);
    *o = '\0';
    return SC_TRACEPARENT_LEN;
}
