/* fields.h - owns: the parsed access-log line (sc_accesslog_fields), the logical field ids every
 * layout maps onto, the malformed-line reasons, and the shared "finish" step that turns located
 * raw values into decoded slices and numbers.
 *
 * Both line parsers (json_line.h, nginx_format.h) only LOCATE values: they call
 * sc_accesslog_fields_set() with a slice of the line and how it is encoded, then
 * sc_accesslog_fields_finish() decodes escapes (into the bounded scratch area, only when a value
 * has any), parses numbers and timestamps, splits a request line, drops the query string and
 * checks required fields. Nothing allocates; the struct is reused line after line.
 *
 * Lifetime: after a successful parse, the slices in v[] point into the caller's line buffer or
 * into f->scratch; they are valid until the line buffer changes or the struct is reused.
 * The query string of the request target is never stored: v[PATH] ends before '?'. */
#ifndef SC_ACCESSLOG_FIELDS_H
#define SC_ACCESSLOG_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "accesslog/timestamp.h"

/* Logical fields. The config spelling is sc_accesslog_field_name(). */
typedef enum {
    SC_ACCESSLOG_FIELD_TIME = 0,        /* "time": request end (or start, see time_is_start) */
    SC_ACCESSLOG_FIELD_METHOD,          /* "method" */
    SC_ACCESSLOG_FIELD_PATH,            /* "path": request target; query/fragment split off */
    SC_ACCESSLOG_FIELD_REQUEST,         /* "request": "METHOD TARGET PROTO" request line */
    SC_ACCESSLOG_FIELD_STATUS,          /* "status": final status sent to the client */
    SC_ACCESSLOG_FIELD_DURATION,        /* "duration" */
    SC_ACCESSLOG_FIELD_REQUEST_ID,      /* "request_id" */
    SC_ACCESSLOG_FIELD_TRACEPARENT,     /* "traceparent": W3C header value, not validated here */
    SC_ACCESSLOG_FIELD_UPSTREAM_STATUS, /* "upstream_status": raw list, e.g. "503, 200" */
    SC_ACCESSLOG_FIELD_UPSTREAM_ADDR,   /* "upstream_addr": raw list, same shape */
    SC_ACCESSLOG_FIELD_RETRY_COUNT,     /* "retry_count": explicit count */
    SC_ACCESSLOG_FIELD_FALLBACK_REASON, /* "fallback_reason": explicit, free text */
    SC_ACCESSLOG_FIELD_MODEL,           /* "model" */
    SC_ACCESSLOG_FIELD_INPUT_TOKENS,    /* "input_tokens" */
    SC_ACCESSLOG_FIELD_OUTPUT_TOKENS,   /* "output_tokens" */
    SC_ACCESSLOG_FIELD_USAGE_PRESENT,   /* "usage_present": explicit true/false */
    SC_ACCESSLOG_FIELD_HOST,            /* "host": Host / :authority the client asked for */
    SC_ACCESSLOG_FIELD_SERVER_ADDR,     /* "server_addr": local address that took the request */
    SC_ACCESSLOG_FIELD_SERVER_PORT,     /* "server_port" */
    SC_ACCESSLOG_FIELD_RESPONSE_FLAGS,  /* "response_flags": Envoy %RESPONSE_FLAGS% */
    SC_ACCESSLOG_FIELD__COUNT
} sc_accesslog_field;

#define SC_ACCESSLOG_BIT(f) (1u << (unsigned)(f))
/* Required unless a mapping says otherwise: a line without them cannot become a record. */
#define SC_ACCESSLOG_REQUIRED_DEFAULT                                                              \
    (SC_ACCESSLOG_BIT(SC_ACCESSLOG_FIELD_STATUS) | SC_ACCESSLOG_BIT(SC_ACCESSLOG_FIELD_METHOD) |   \
     SC_ACCESSLOG_BIT(SC_ACCESSLOG_FIELD_PATH))

/* Why a line was rejected: error.type on sidecar.accesslog.lines.malformed. The names are part
 * of the telemetry contract (stable, bounded). */
typedef enum {
    SC_ACCESSLOG_OK = 0,
    SC_ACCESSLOG_EMPTY,           /* "empty": nothing but whitespace */
    SC_ACCESSLOG_NOT_JSON,        /* "not_json": does not start a JSON value / invalid value */
    SC_ACCESSLOG_NOT_OBJECT,      /* "not_object": valid JSON but not an object */
    SC_ACCESSLOG_BAD_JSON,        /* "bad_json": syntax error inside the object, or trailing data */
    SC_ACCESSLOG_TRUNCATED,       /* "truncated": the line ends inside the object */
    SC_ACCESSLOG_TOO_DEEP,        /* "too_deep": nesting beyond the parser's depth limit */
    SC_ACCESSLOG_LAYOUT_MISMATCH, /* "layout_mismatch": text does not follow the log_format */
    SC_ACCESSLOG_BAD_REQUEST_LINE, /* "bad_request_line": request line is not "METHOD TARGET.." */
    SC_ACCESSLOG_BAD_TIMESTAMP,    /* "bad_timestamp" */
    SC_ACCESSLOG_BAD_STATUS,       /* "bad_status": not an integer 0..999 */
    SC_ACCESSLOG_BAD_DURATION,     /* "bad_duration": not a non-negative number */
    SC_ACCESSLOG_BAD_VALUE,        /* "bad_value": another typed field has an unusable value */
    SC_ACCESSLOG_VALUE_TOO_LONG,   /* "value_too_long": decoded values overflow the scratch */
    SC_ACCESSLOG_MISSING_REQUIRED, /* "missing_required" */
    SC_ACCESSLOG_REASON__COUNT
} sc_accesslog_reason;

typedef enum {
    SC_ACCESSLOG_DURATION_S = 0, /* "s" */
    SC_ACCESSLOG_DURATION_MS,    /* "ms" */
    SC_ACCESSLOG_DURATION_US,    /* "us" */
    SC_ACCESSLOG_DURATION_NS,    /* "ns" */
    SC_ACCESSLOG_DURATION__COUNT
} sc_accesslog_duration_unit;

/* How a located value is encoded in the line. */
typedef enum {
    SC_ACCESSLOG_ENC_RAW = 0, /* verbatim */
    SC_ACCESSLOG_ENC_JSON,    /* JSON string body (between the quotes): \" \\ \n \uXXXX ... */
    SC_ACCESSLOG_ENC_NGINX    /* nginx default log escaping: \xHH */
} sc_accesslog_enc;

/* A borrowed byte slice (not NUL-terminated). */
typedef struct sc_accesslog_str {
    const char *p;
    size_t n;
} sc_accesslog_str;

/* How to interpret typed fields; set by a compiled mapping / format. */
typedef struct sc_accesslog_formats {
    sc_timestamp_format time_format;
    sc_accesslog_duration_unit duration_unit;
    int time_is_start;           /* 1: TIME is when the request started (Envoy) */
    int retry_count_is_attempts; /* 1: RETRY_COUNT holds attempts (retries = attempts - 1) */
    uint32_t required;           /* SC_ACCESSLOG_BIT mask */
} sc_accesslog_formats;

/* Compile-time error of a mapping or format: what and where (0-based byte offset). */
typedef struct sc_accesslog_error {
    const char *msg; /* static string */
    size_t pos;
    int field; /* sc_accesslog_field concerned, or -1 */
} sc_accesslog_error;

/* Decoded values must fit here together; a line whose values do not is VALUE_TOO_LONG. Only
 * values containing escapes are copied, so this rarely fills. */
#define SC_ACCESSLOG_SCRATCH 4096

typedef struct sc_accesslog_fields {
    uint32_t present; /* SC_ACCESSLOG_BIT per field holding a usable value */
    uint32_t mapped;  /* fields the layout can produce at all (usage "unknown" vs "absent") */
    sc_accesslog_reason reason; /* SC_ACCESSLOG_OK after a successful parse */
    int bad_field;              /* field behind a bad_* / missing_required reason, else -1 */
    sc_accesslog_str v[SC_ACCESSLOG_FIELD__COUNT]; /* decoded text of each present field */

    int64_t time_unix_ns;
    int time_is_start;
    int status;           /* 0..999; 0 means no response was sent (Caddy, Envoy) */
    uint64_t duration_ns; /* duration_s is the same value in seconds */
    double duration_s;
    uint32_t retry_count;
    uint64_t input_tokens;
    uint64_t output_tokens;
    int usage_present; /* value of the explicit USAGE_PRESENT field */
    uint16_t server_port;

    /* Parser-private from here on. */
    uint8_t enc[SC_ACCESSLOG_FIELD__COUNT];
    size_t scratch_used;
    char scratch[SC_ACCESSLOG_SCRATCH];
} sc_accesslog_fields;

static inline int sc_accesslog_has(const sc_accesslog_fields *f, sc_accesslog_field id)
{
    return (f->present & SC_ACCESSLOG_BIT(id)) != 0;
}

/* Names (static strings) and exact parsers for config. Names return NULL when out of range;
 * parsers return 0 and set *out, or -EINVAL. */
const char *sc_accesslog_field_name(sc_accesslog_field id);
int sc_accesslog_field_parse(const char *p, size_t n, sc_accesslog_field *out);
const char *sc_accesslog_reason_name(sc_accesslog_reason r);
const char *sc_accesslog_duration_unit_name(sc_accesslog_duration_unit u);
int sc_accesslog_duration_unit_parse(const char *p, size_t n, sc_accesslog_duration_unit *out);

/* ---- For the line parsers ---------------------------------------------------------------- */

/* Starts a line: clears results (not the scratch bytes) and records which fields can appear. */
void sc_accesslog_fields_begin(sc_accesslog_fields *f, uint32_t mapped);
/* Records the located raw value of a field. The first usable value wins; "" and "-" (how nginx,
 * Envoy and Caddy spell "not set") are ignored so a later candidate can still fill the field.
 * p must stay valid until the caller is done with f. */
void sc_accesslog_fields_set(sc_accesslog_fields *f, sc_accesslog_field id, const char *p, size_t n,
                             sc_accesslog_enc enc);
/* Decodes and validates what was set. 0, or -EBADMSG with f->reason (and f->bad_field) set. */
int sc_accesslog_fields_finish(sc_accesslog_fields *f, const sc_accesslog_formats *fmt);
/* Decodes a JSON string body (between the quotes) into dst, which has room for n bytes (the
 * decoded text is never longer). Invalid escapes are copied verbatim; lone surrogates become
 * U+FFFD. Returns the decoded length. */
size_t sc_accesslog_json_unescape(const char *s, size_t n, char *dst);
/* Records a structural failure: sets f->reason and returns -EBADMSG. */
int sc_accesslog_fields_fail(sc_accesslog_fields *f, sc_accesslog_reason r);

#endif
