/* test_schema_doc.c - checks dashboards/telemetry-schema.md against telemetry/schema.{h,c} in
 * BOTH directions: every C metric (name, unit, kind, description, buckets), enumerated value set
 * and attribute key is documented exactly, and the document lists nothing the C side lacks.
 * Also checks the document's own consistency (fixed headers, references between tables), and
 * that what the recorder actually emits (span and metric attribute sets, types, enumerated
 * values) is what the document lists for each span and metric.
 *
 * The document is found from this file's path (CMake compiles with absolute paths), or from the
 * SC_SCHEMA_DOC environment variable. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/rng.h"
#include "harness.h"
#include "telemetry/recorder.h"
#include "telemetry/schema.h"

#define MAX_ROWS  600
#define MAX_CELLS 8
#define CELL_MAX  400

typedef struct row {
    char section[64];
    int n;
    char cell[MAX_CELLS][CELL_MAX];
} row;

typedef struct doc {
    row *rows; /* data rows, headers included as rows with is_header */
    int *is_header;
    int n;
} doc;

static doc D;

/* ---- Markdown table parsing ------------------------------------------------------------------ */

static void trim(char *s)
{
    size_t len = strlen(s), start = 0;
    while (start < len && (s[start] == ' ' || s[start] == '\t'))
        start++;
    while (len > start && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    memmove(s, s + start, len - start);
    s[len - start] = '\0';
    len = strlen(s);
    if (len >= 2 && s[0] == '`' && s[len - 1] == '`') {
        memmove(s, s + 1, len - 2);
        s[len - 2] = '\0';
    }
}

/* Splits "| a | b \| c |" into cells; "\|" is a literal pipe. */
static int split_row(const char *line, row *r)
{
    char cur[CELL_MAX];
    size_t o = 0;
    r->n = 0;
    for (const char *p = line + 1; *p && *p != '\n'; p++) {
        if (p[0] == '\\' && p[1] == '|') {
            if (o + 1 < CELL_MAX)
                cur[o++] = '|';
            p++;
        } else if (*p == '|') {
            cur[o] = '\0';
            if (r->n < MAX_CELLS) {
                snprintf(r->cell[r->n], CELL_MAX, "%s", cur);
                trim(r->cell[r->n]);
                r->n++;
            }
            o = 0;
        } else if (o + 1 < CELL_MAX) {
            cur[o++] = *p;
        }
    }
    return r->n;
}

static const char *doc_path(void)
{
    static char path[1024];
    const char *env = getenv("SC_SCHEMA_DOC");
    if (env && *env)
        return env;
    snprintf(path, sizeof path, "%s", __FILE__);
    char *cut = strstr(path, "tests/unit/test_schema_doc.c");
    if (cut == NULL)
        return NULL;
    snprintf(cut, sizeof path - (size_t)(cut - path), "dashboards/telemetry-schema.md");
    return path;
}

static int load_doc(void)
{
    const char *path = doc_path();
    FILE *fp = path ? fopen(path, "r") : NULL;
    if (fp == NULL)
        return -ENOENT;
    D.rows = calloc(MAX_ROWS, sizeof *D.rows);
    D.is_header = calloc(MAX_ROWS, sizeof *D.is_header);
    char line[4096], section[64] = "";
    int in_table = 0, in_code = 0;
    while (fgets(line, sizeof line, fp) && D.n < MAX_ROWS) {
        if (strncmp(line, "```", 3) == 0)
            in_code = !in_code;
        if (in_code)
            continue;
        if (strncmp(line, "## ", 3) == 0) {
            snprintf(section, sizeof section, "%.63s", line + 3);
            trim(section);
            section[strcspn(section, "\n")] = '\0';
            trim(section);
        }
        if (line[0] != '|') {
            in_table = 0;
            continue;
        }
        if (strncmp(line, "| ---", 5) == 0 || strncmp(line, "|---", 4) == 0)
            continue;
        row *r = &D.rows[D.n];
        snprintf(r->section, sizeof r->section, "%s", section);
        split_row(line, r);
        D.is_header[D.n] = !in_table;
        in_table = 1;
        D.n++;
    }
    fclose(fp);
    return 0;
}

/* Rows of a section (data only); *i is the cursor. */
static const row *next_row(const char *section, int *i)
{
    for (; D.rows != NULL && *i < D.n; (*i)++)
        if (!D.is_header[*i] && strcmp(D.rows[*i].section, section) == 0)
            return &D.rows[(*i)++];
    return NULL;
}

static const row *find_row(const char *section, int col, const char *value)
{
    int i = 0;
    const row *r;
    while ((r = next_row(section, &i)) != NULL)
        if (strcmp(r->cell[col], value) == 0)
            return r;
    return NULL;
}

/* ---- Tests ----------------------------------------------------------------------------------- */

static void check_header(const char *section, const char *const *want, int n)
{
    int found = 0;
    for (int i = 0; i < D.n; i++) {
        if (!D.is_header[i] || strcmp(D.rows[i].section, section) != 0)
            continue;
        found++;
        CHECK_EQ(D.rows[i].n, n);
        for (int k = 0; k < n && k < D.rows[i].n; k++)
            CHECK_STR(D.rows[i].cell[k], want[k]);
    }
    if (found != 1)
        fprintf(stderr, "section \"%s\": %d tables\n", section, found);
    CHECK_EQ(found, 1);
}

static void tables_have_fixed_headers(void)
{
    static const char *const spans[] = {"Span", "Name", "Kind", "Parent", "Source"};
    static const char *const span_attrs[] = {"Span", "Attribute", "Presence", "Condition"};
    static const char *const events[] = {"Event", "Span", "Attribute", "Presence", "Condition"};
    static const char *const attrs[] = {"Key",    "Type",        "Where",
                                        "Values", "Cardinality", "Description"};
    static const char *const values[] = {"Key", "Value", "Meaning"};
    static const char *const metrics[] = {"Metric", "Instrument", "Unit", "Buckets", "Description"};
    static const char *const metric_attrs[] = {"Metric", "Attribute", "Presence", "Condition"};
    static const char *const sampling[] = {"Field", "Pattern"};
    static const char *const resource[] = {"Key", "Source", "Example"};
    check_header("Spans", spans, 5);
    check_header("Span attributes", span_attrs, 4);
    check_header("Span events", events, 5);
    check_header("Attributes", attrs, 6);
    check_header("Value sets", values, 3);
    check_header("Metrics", metrics, 5);
    check_header("Metric attributes", metric_attrs, 4);
    check_header("Sampling", sampling, 2);
    check_header("Resource attributes", resource, 3);
}

static const char *kind_name(sc_metric_kind k)
{
    switch (k) {
    case SC_METRIC_KIND_COUNTER:
        return "counter";
    case SC_METRIC_KIND_UPDOWN_COUNTER:
        return "updowncounter";
    case SC_METRIC_KIND_GAUGE:
        return "gauge";
    case SC_METRIC_KIND_HISTOGRAM:
        return "histogram";
    }
    return "?";
}

/* Parses "0.005, 0.01, ..." into out; returns the count (or -1 on junk). */
static int parse_buckets(const char *s, double *out, int cap)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        double v = strtod(p, &end);
        if (end == p || n >= cap)
            return -1;
        out[n++] = v;
        p = end;
    }
    return n;
}

static void metrics_match_both_ways(void)
{
    for (int id = 0; id < SC_METRIC__COUNT; id++) {
        const sc_metric_def *d = sc_schema_metric((sc_metric_id)id);
        const row *r = find_row("Metrics", 0, d->name);
        if (r == NULL)
            fprintf(stderr, "metric %s is not documented\n", d->name);
        CHECK(r != NULL);
        if (r == NULL)
            continue;
        CHECK_STR(r->cell[1], kind_name(d->kind));
        CHECK_STR(r->cell[2], d->unit);
        CHECK_STR(r->cell[4], d->description);
        double b[64];
        int n = parse_buckets(r->cell[3], b, 64);
        CHECK_EQ(n, (int)d->n_bounds);
        for (int i = 0; i < n && i < (int)d->n_bounds; i++)
            CHECK(fabs(b[i] - d->bounds[i]) <= 1e-12 * fabs(d->bounds[i]));
    }
    int i = 0, rows = 0;
    const row *r;
    while ((r = next_row("Metrics", &i)) != NULL) {
        int known = 0;
        rows++;
        for (int id = 0; id < SC_METRIC__COUNT; id++)
            known |= strcmp(sc_schema_metric((sc_metric_id)id)->name, r->cell[0]) == 0;
        if (!known)
            fprintf(stderr, "documented metric %s is not in schema.c\n", r->cell[0]);
        CHECK(known);
    }
    CHECK_EQ(rows, SC_METRIC__COUNT);
}

/* The documented value set of `key` must equal names[0..n) exactly (order ignored). */
static void same_set(const char *key, const char *const *names, size_t n)
{
    int i = 0;
    size_t rows = 0;
    const row *r;
    while ((r = next_row("Value sets", &i)) != NULL) {
        if (strcmp(r->cell[0], key) != 0)
            continue;
        rows++;
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found |= names[k] && strcmp(names[k], r->cell[1]) == 0;
        if (!found)
            fprintf(stderr, "%s: documented value %s is not in the C schema\n", key, r->cell[1]);
        CHECK(found);
    }
    for (size_t k = 0; k < n; k++) {
        int found = 0;
        i = 0;
        while ((r = next_row("Value sets", &i)) != NULL)
            found |= strcmp(r->cell[0], key) == 0 && strcmp(r->cell[1], names[k]) == 0;
        if (!found)
            fprintf(stderr, "%s: C value %s is not documented\n", key, names[k]);
        CHECK(found);
    }
    CHECK_EQ(rows, n);
}

/* An allow-list (from schema.c) plus "_OTHER" when `other`. */
static void same_list(const char *key, const char *const *list, size_t n, int other)
{
    const char *names[32];
    REQUIRE(n + 1 <= 32);
    memcpy(names, list, n * sizeof *names);
    if (other)
        names[n++] = SC_VALUE_OTHER;
    same_set(key, names, n);
}

static void enum_value_sets_match_both_ways(void)
{
    const char *names[32];
    size_t n = 0;
    for (int s = SC_SOURCE_NONE + 1; s < SC_SOURCE__COUNT; s++)
        names[n++] = sc_schema_source_name((sc_source)s);
    same_set(SC_ATTR_GATEWAY_SOURCE, names, n);
    n = 0;
    for (int c = 0; c < SC_STATUS_CLASS__COUNT; c++)
        names[n++] = sc_schema_status_class_name((sc_status_class)c);
    same_set(SC_ATTR_GATEWAY_STATUS_CLASS, names, n);
    n = 0;
    for (int c = 0; c < SC_ERROR_CLASS__COUNT; c++)
        names[n++] = sc_schema_error_class_name((sc_error_class)c);
    same_set(SC_ATTR_GATEWAY_ERROR_CLASS, names, n);
    n = 0;
    for (int c = 0; c < SC_FALLBACK__COUNT; c++)
        names[n++] = sc_schema_fallback_decision_name((sc_fallback_decision)c);
    same_set(SC_ATTR_GATEWAY_FALLBACK_DECISION, names, n);

    const char *const *list = sc_schema_fallback_reasons(&n);
    same_list(SC_ATTR_GATEWAY_FALLBACK_REASON, list, n, 1);
    list = sc_schema_http_methods(&n);
    same_list(SC_ATTR_HTTP_REQUEST_METHOD, list, n, 1);
    list = sc_schema_gen_ai_operations(&n);
    same_list(SC_ATTR_GEN_AI_OPERATION_NAME, list, n, 1);

    static const char *const outcome[] = {SC_OUTCOME_PASS, SC_OUTCOME_FAIL};
    same_set(SC_ATTR_GATEWAY_OUTCOME, outcome, 2);
    static const char *const token[] = {SC_TOKEN_TYPE_INPUT, SC_TOKEN_TYPE_OUTPUT};
    same_set(SC_ATTR_GEN_AI_TOKEN_TYPE, token, 2);
    static const char *const provider[] = {SC_GEN_AI_PROVIDER_OPENAI};
    same_set(SC_ATTR_GEN_AI_PROVIDER_NAME, provider, 1);
    static const char *const scheme[] = {"http", "https"};
    same_set(SC_ATTR_URL_SCHEME, scheme, 2);
    static const char *const component[] = {SC_OTEL_COMPONENT_BATCHING_SPAN_PROCESSOR,
                                            SC_OTEL_COMPONENT_OTLP_HTTP_SPAN_EXPORTER,
                                            SC_OTEL_COMPONENT_OTLP_HTTP_JSON_SPAN_EXPORTER,
                                            SC_OTEL_COMPONENT_OTLP_HTTP_METRIC_EXPORTER,
                                            SC_OTEL_COMPONENT_OTLP_HTTP_JSON_METRIC_EXPORTER,
                                            SC_OTEL_COMPONENT_PERIODIC_METRIC_READER,
                                            SC_OTEL_COMPONENT_FILE_SPAN_EXPORTER,
                                            SC_OTEL_COMPONENT_FILE_METRIC_EXPORTER,
                                            SC_OTEL_COMPONENT_CONSOLE_SPAN_EXPORTER,
                                            SC_OTEL_COMPONENT_CONSOLE_METRIC_EXPORTER};
    same_set(SC_ATTR_OTEL_COMPONENT_TYPE, component, 10);

    /* The normalisers map each documented value to itself. */
    int i = 0;
    const row *r;
    while ((r = next_row("Value sets", &i)) != NULL) {
        const char *v = r->cell[1];
        if (strcmp(r->cell[0], SC_ATTR_HTTP_REQUEST_METHOD) == 0)
            CHECK_STR(sc_schema_http_method(v, strlen(v)), v);
        if (strcmp(r->cell[0], SC_ATTR_GATEWAY_FALLBACK_REASON) == 0)
            CHECK_STR(sc_schema_fallback_reason(v, strlen(v)), v);
        if (strcmp(r->cell[0], SC_ATTR_GEN_AI_OPERATION_NAME) == 0)
            CHECK_STR(sc_schema_gen_ai_operation(v, strlen(v)), v);
    }
    /* Drop reasons are error.type values on sidecar.telemetry.dropped: documented there. */
    const row *dr = find_row("Metric attributes", 0, "sidecar.telemetry.dropped");
    REQUIRE(dr != NULL);
    CHECK(strstr(dr->cell[3], SC_DROP_REASON_QUEUE_FULL) != NULL);
    CHECK(strstr(dr->cell[3], SC_DROP_REASON_EXPORT_FAILED) != NULL);
    CHECK(strstr(dr->cell[3], SC_DROP_REASON_NON_RETRYABLE) != NULL);
    CHECK(strstr(dr->cell[3], SC_DROP_REASON_RETRY_EXHAUSTED) != NULL);
    CHECK(strstr(dr->cell[3], SC_DROP_REASON_SHUTDOWN) != NULL);
}

typedef struct keydef {
    const char *key, *type;
} keydef;

/* Every attribute key schema.h pins, with its type. */
static const keydef c_keys[] = {
    {SC_ATTR_HTTP_REQUEST_METHOD, "string"},
    {SC_ATTR_HTTP_ROUTE, "string"},
    {SC_ATTR_URL_TEMPLATE, "string"},
    {SC_ATTR_HTTP_RESPONSE_STATUS_CODE, "int"},
    {SC_ATTR_ERROR_TYPE, "string"},
    {SC_ATTR_HTTP_REQUEST_RESEND_COUNT, "int"},
    {SC_ATTR_SERVER_ADDRESS, "string"},
    {SC_ATTR_SERVER_PORT, "int"},
    {SC_ATTR_URL_SCHEME, "string"},
    {SC_ATTR_GEN_AI_OPERATION_NAME, "string"},
    {SC_ATTR_GEN_AI_PROVIDER_NAME, "string"},
    {SC_ATTR_GEN_AI_REQUEST_MODEL, "string"},
    {SC_ATTR_GEN_AI_RESPONSE_MODEL, "string"},
    {SC_ATTR_GEN_AI_RESPONSE_ID, "string"},
    {SC_ATTR_GEN_AI_RESPONSE_FINISH, "string[]"},
    {SC_ATTR_GEN_AI_USAGE_INPUT_TOKENS, "int"},
    {SC_ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, "int"},
    {SC_ATTR_GEN_AI_TOKEN_TYPE, "string"},
    {SC_ATTR_OTEL_METRIC_OVERFLOW, "bool"},
    {SC_ATTR_HTTP_REQUEST_METHOD_ORIGINAL, "string"},
    {SC_ATTR_GEN_AI_RESPONSE_TTFC, "double"},
    {SC_ATTR_OTEL_COMPONENT_TYPE, "string"},
    {SC_ATTR_OTEL_COMPONENT_NAME, "string"},
    {SC_ATTR_GATEWAY_SOURCE, "string"},
    {SC_ATTR_GATEWAY_STATUS_CLASS, "string"},
    {SC_ATTR_GATEWAY_ERROR_CLASS, "string"},
    {SC_ATTR_GATEWAY_FALLBACK_DECISION, "string"},
    {SC_ATTR_GATEWAY_FALLBACK_REASON, "string"},
    {SC_ATTR_GATEWAY_USAGE_PRESENT, "bool"},
    {SC_ATTR_GATEWAY_PROBE, "string"},
    {SC_ATTR_GATEWAY_OUTCOME, "string"},
    {SC_ATTR_GATEWAY_STREAM, "bool"},
    {SC_ATTR_GATEWAY_CONTRACT_CHECK, "string"},
    {SC_ATTR_GATEWAY_UPSTREAM_REQUEST_ID, "string"},
    {SC_ATTR_GATEWAY_RETRY_COUNT, "int"},
    {SC_ATTR_GATEWAY_PROBE_EXPECTED, "string"},
    {SC_ATTR_GATEWAY_CONTRACT_FAILED_CHECKS, "string[]"},
    {SC_ATTR_GATEWAY_STREAM_CONTENT_BEFORE_CUT, "bool"},
    {SC_ATTR_GATEWAY_SHAPE_ADDED, "string[]"},
    {SC_ATTR_GATEWAY_SHAPE_MISSING, "string[]"},
};

static void attribute_keys_match_both_ways(void)
{
    size_t n = sizeof c_keys / sizeof *c_keys;
    for (size_t k = 0; k < n; k++) {
        const row *r = find_row("Attributes", 0, c_keys[k].key);
        if (r == NULL)
            fprintf(stderr, "attribute %s is not documented\n", c_keys[k].key);
        CHECK(r != NULL);
        if (r != NULL)
            CHECK_STR(r->cell[1], c_keys[k].type);
    }
    int i = 0;
    const row *r;
    while ((r = next_row("Attributes", &i)) != NULL) {
        int known = 0;
        for (size_t k = 0; k < n; k++)
            known |= strcmp(c_keys[k].key, r->cell[0]) == 0;
        if (!known)
            fprintf(stderr, "documented attribute %s is not in schema.h\n", r->cell[0]);
        CHECK(known);
    }
    /* The shape-drift event name. */
    CHECK(find_row("Span events", 0, SC_EVENT_GATEWAY_SHAPE_DRIFT) != NULL);
}

static int where_has(const row *attr, const char *where)
{
    char buf[CELL_MAX];
    snprintf(buf, sizeof buf, "%s", attr->cell[2]);
    for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", "))
        if (strcmp(tok, where) == 0)
            return 1;
    return 0;
}

/* Every reference between tables resolves, and the Values/Cardinality columns are coherent. */
static void document_is_consistent(void)
{
    int i = 0;
    const row *r;
    while ((r = next_row("Attributes", &i)) != NULL) {
        const char *v = r->cell[3];
        if (strcmp(v, "enum") == 0)
            CHECK(find_row("Value sets", 0, r->cell[0]) != NULL);
        else if (strncmp(v, "enum ", 5) == 0)
            CHECK(find_row("Value sets", 0, v + 5) != NULL);
        else
            CHECK(strcmp(v, "any") == 0 || strncmp(v, "pattern ", 8) == 0);
        CHECK(strcmp(r->cell[4], "low") == 0 || strcmp(r->cell[4], "bounded") == 0 ||
              strcmp(r->cell[4], "high") == 0);
        if (strcmp(r->cell[4], "high") == 0)
            CHECK(!where_has(r, "metric"));
    }
    i = 0;
    while ((r = next_row("Value sets", &i)) != NULL) {
        const row *a = find_row("Attributes", 0, r->cell[0]);
        CHECK(a != NULL && strcmp(a->cell[3], "enum") == 0);
    }
    i = 0;
    while ((r = next_row("Metric attributes", &i)) != NULL) {
        const row *a = find_row("Attributes", 0, r->cell[1]);
        if (a == NULL || !where_has(a, "metric"))
            fprintf(stderr, "metric attribute %s of %s: not a metric attribute\n", r->cell[1],
                    r->cell[0]);
        CHECK(a != NULL && where_has(a, "metric"));
        CHECK(find_row("Metrics", 0, r->cell[0]) != NULL);
        CHECK(strcmp(r->cell[2], "always") == 0 || strcmp(r->cell[2], "conditional") == 0);
    }
    i = 0;
    while ((r = next_row("Span attributes", &i)) != NULL) {
        const row *a = find_row("Attributes", 0, r->cell[1]);
        CHECK(a != NULL && where_has(a, "span"));
        CHECK(find_row("Spans", 0, r->cell[0]) != NULL);
        CHECK(strcmp(r->cell[2], "always") == 0 || strcmp(r->cell[2], "conditional") == 0);
    }
    i = 0;
    while ((r = next_row("Span events", &i)) != NULL) {
        const row *a = find_row("Attributes", 0, r->cell[2]);
        CHECK(a != NULL && where_has(a, "event"));
        CHECK(find_row("Spans", 0, r->cell[1]) != NULL);
    }
    i = 0;
    while ((r = next_row("Spans", &i)) != NULL) {
        CHECK(strcmp(r->cell[2], "CLIENT") == 0 || strcmp(r->cell[2], "SERVER") == 0 ||
              strcmp(r->cell[2], "INTERNAL") == 0);
        sc_source src;
        CHECK_EQ(sc_schema_source_parse(r->cell[4], strlen(r->cell[4]), &src), 0);
    }
    CHECK(find_row("Resource attributes", 0, "service.name") != NULL);
    CHECK(find_row("Resource attributes", 0, "k8s.pod.name") != NULL);
}

/* ---- The recorder's output is what the document says ----------------------------------------- */

#define S(lit) ((sc_attr_str){(lit), sizeof(lit) - 1})

static const char *type_name(sc_attr_type t)
{
    switch (t) {
    case SC_ATTR_STRING:
        return "string";
    case SC_ATTR_INT:
        return "int";
    case SC_ATTR_DOUBLE:
        return "double";
    case SC_ATTR_BOOL:
        return "bool";
    case SC_ATTR_STRING_ARRAY:
        return "string[]";
    }
    return "?";
}

static int in_value_set(const char *key, sc_attr_str v)
{
    int i = 0;
    const row *r;
    while ((r = next_row("Value sets", &i)) != NULL)
        if (strcmp(r->cell[0], key) == 0 && strlen(r->cell[1]) == v.len &&
            memcmp(r->cell[1], v.ptr, v.len) == 0)
            return 1;
    return 0;
}

/* One attribute against the Attributes table (type, enum values). */
static void check_attr_doc(const char *where, const sc_attr *a)
{
    const row *d = find_row("Attributes", 0, a->key);
    if (d == NULL) {
        fprintf(stderr, "%s: %s is not documented\n", where, a->key);
        CHECK(d != NULL);
        return;
    }
    CHECK_STR(d->cell[1], type_name(a->type));
    const char *values = d->cell[3];
    if (a->type == SC_ATTR_STRING && strncmp(values, "enum", 4) == 0) {
        const char *key = values[4] == ' ' ? values + 5 : a->key;
        if (!in_value_set(key, a->v.s))
            fprintf(stderr, "%s: %s=%.*s is not in its value set\n", where, a->key, (int)a->v.s.len,
                    a->v.s.ptr);
        CHECK(in_value_set(key, a->v.s));
    }
}

/* keys[0..n) against the rows of `section` whose first cell is `owner`: each documented for the
 * owner (column 1), and every "always" row present. */
static void check_set_doc(const char *section, const char *owner, const char *const *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int found = 0, i = 0;
        const row *r;
        while ((r = next_row(section, &i)) != NULL)
            found |= strcmp(r->cell[0], owner) == 0 && strcmp(r->cell[1], keys[k]) == 0;
        if (!found)
            fprintf(stderr, "%s: %s has undocumented attribute %s\n", section, owner, keys[k]);
        CHECK(found);
    }
    int i = 0;
    const row *r;
    while ((r = next_row(section, &i)) != NULL) {
        if (strcmp(r->cell[0], owner) != 0 || strcmp(r->cell[2], "always") != 0)
            continue;
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found |= strcmp(keys[k], r->cell[1]) == 0;
        if (!found)
            fprintf(stderr, "%s: %s lacks always-present %s\n", section, owner, r->cell[1]);
        CHECK(found);
    }
}

static void check_span_doc(const sc_span *s, const char *type)
{
    const char *keys[SC_SPAN_MAX_ATTRS];
    sc_attr_str items[SC_SPAN_ARRAY_MAX];
    const row *d = find_row("Spans", 0, type);
    REQUIRE(d != NULL);
    CHECK_EQ(s->kind,
             strcmp(d->cell[2], "SERVER") == 0 ? SC_SPAN_KIND_SERVER : SC_SPAN_KIND_CLIENT);
    CHECK_EQ(s->dropped_attributes_count, 0);
    for (size_t i = 0; i < s->n_attrs; i++) {
        sc_attr a;
        sc_span_attr_get(s, &s->attrs[i], &a, items);
        keys[i] = a.key;
        check_attr_doc(type, &a);
    }
    check_set_doc("Span attributes", type, keys, s->n_attrs);
    for (size_t e = 0; e < s->n_events; e++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)s->events[e].name.len,
                 s->arena + s->events[e].name.off);
        const row *ev = find_row("Span events", 0, name);
        CHECK(ev != NULL && strcmp(ev->cell[1], type) == 0);
        for (size_t k = 0; k < s->events[e].n_attrs; k++) {
            sc_attr a;
            sc_span_attr_get(s, &s->event_attrs[s->events[e].first_attr + k], &a, items);
            check_attr_doc(name, &a);
            int found = 0, i = 0;
            const row *r;
            while ((r = next_row("Span events", &i)) != NULL)
                found |= strcmp(r->cell[0], name) == 0 && strcmp(r->cell[2], a.key) == 0;
            CHECK(found);
        }
    }
}

static void fill_records(sc_recorder *r, sc_span_context *run)
{
    sc_span_context self;
    REQUIRE(sc_recorder_begin_run(r, run) == 0);
    REQUIRE(sc_recorder_begin_attempt(r, run, &self) == 0);
    sc_attempt_record a;
    sc_record_attempt_init(&a);
    a.source = SC_SOURCE_CANARY;
    a.kind = SC_SPAN_KIND_CLIENT;
    a.span = self;
    a.has_span = a.has_parent = 1;
    a.parent = *run;
    a.method = S("POST");
    a.route = S("/v1/chat/completions");
    a.status_code = 503;
    a.url_scheme = S("https");
    a.server_address = S("api.cometapi.com");
    a.server_port = 443;
    a.resend_count = 1;
    a.error_class = SC_ERROR_CLASS_UPSTREAM_ERROR;
    a.error_type = S("503");
    a.fallback = SC_FALLBACK_USED;
    a.fallback_reason = S("upstream_error");
    a.operation = S("chat");
    a.request_model = S("gpt-4o-mini");
    a.response_model = S("gpt-4o-mini");
    a.response_id = S("chatcmpl-1");
    a.finish_reasons[0] = S("stop");
    a.n_finish_reasons = 1;
    a.usage_present = 1;
    a.input_tokens = 3;
    a.output_tokens = 4;
    a.stream = 1;
    a.first_chunk_ns = 5;
    a.start_ns = 1;
    a.end_ns = 100;
    a.probe = S("chat-basic");
    a.upstream_request_id = S("req-1");
    CHECK_EQ(sc_recorder_attempt(r, &a), 0);
    sc_attempt_record o = a; /* the minimal attempt: only the always-present attributes */
    sc_record_attempt_init(&o);
    o.source = SC_SOURCE_CANARY;
    o.kind = SC_SPAN_KIND_CLIENT;
    o.method = S("PROPFIND");
    CHECK_EQ(sc_recorder_attempt(r, &o), 0);

    sc_attempt_record l = a;
    l.source = SC_SOURCE_ACCESS_LOG;
    l.kind = SC_SPAN_KIND_SERVER;
    l.has_span = 0;
    l.parent_is_remote = 1;
    l.probe = (sc_attr_str){NULL, 0};
    CHECK_EQ(sc_recorder_attempt(r, &l), 0);
    sc_attempt_record lo;
    sc_record_attempt_init(&lo);
    lo.source = SC_SOURCE_ACCESS_LOG;
    lo.kind = SC_SPAN_KIND_SERVER;
    lo.method = S("GET");
    lo.status_code = 200;
    CHECK_EQ(sc_recorder_attempt(r, &lo), 0);
    lo.operation = S("chat"); /* a success without usage: gateway.usage.missing */
    CHECK_EQ(sc_recorder_attempt(r, &lo), 0);

    sc_run_record rr;
    sc_record_run_init(&rr);
    rr.ctx = *run;
    rr.probe = S("chat-basic");
    rr.operation = S("chat");
    rr.request_model = S("gpt-4o-mini");
    rr.response_model = S("gpt-4o-mini");
    rr.response_id = S("chatcmpl-1");
    rr.finish_reasons[0] = S("stop");
    rr.n_finish_reasons = 1;
    rr.error_class = SC_ERROR_CLASS_TIMEOUT;
    rr.retries = 2;
    rr.fallback = SC_FALLBACK_USED;
    rr.fallback_reason = S("timeout");
    rr.usage_present = 1;
    rr.input_tokens = 3;
    rr.output_tokens = 4;
    rr.stream = 1;
    rr.first_chunk_ns = 5;
    rr.server_address = S("api.cometapi.com");
    rr.server_port = 443;
    rr.end_ns = 100;
    rr.violations[0] = S("usage_consistent");
    rr.n_violations = 1;
    rr.drift_added[0] = S("a.b");
    rr.n_drift_added = 1;
    rr.drift_missing[0] = S("c");
    rr.n_drift_missing = 1;
    CHECK_EQ(sc_recorder_run(r, &rr), 0);
    sc_run_record rmin;
    sc_record_run_init(&rmin);
    REQUIRE(sc_recorder_begin_run(r, &rmin.ctx) == 0);
    rmin.probe = S("p");
    rmin.operation = S("chat");
    rmin.passed = 1;
    CHECK_EQ(sc_recorder_run(r, &rmin), 0);
}

static void recorder_output_is_documented(void)
{
    sc_clock_fake clk;
    sc_rng rng;
    sc_span_queue *q = NULL;
    sc_metrics *m = NULL;
    sc_recorder *r = NULL;
    sc_instrument *inst[SC_METRIC__COUNT];
    const sc_metrics_snapshot *snap = NULL;
    sc_clock_fake_init(&clk, 1795375401000000000ull);
    sc_rng_init_seeded(&rng, 1);
    sc_env env = {.clock = &clk.base, .rng = &rng};
    sc_span_queue_opts qo = {.capacity = 16};
    sc_metrics_opts mo = {.clock = &clk.base};
    sc_span_context run;
    REQUIRE(sc_span_queue_new(&q, &qo) == 0);
    REQUIRE(sc_metrics_new(&m, &mo) == 0);
    REQUIRE(sc_metrics_register_schema(m, inst) == 0);
    REQUIRE(sc_recorder_new(&r, &env, q, inst, NULL) == 0);
    fill_records(r, &run);

    static const char *const types[] = {
        "canary.attempt",    "canary.attempt", "accesslog.request", "accesslog.request",
        "accesslog.request", "canary.run",     "canary.run"};
    CHECK_EQ(sc_span_queue_pending(q), 7);
    sc_span *a, *b;
    size_t na, nb;
    sc_span_queue_peek(q, 16, &a, &na, &b, &nb);
    for (size_t i = 0; i < na && i < 7; i++)
        check_span_doc(&a[i], types[i]);

    REQUIRE(sc_metrics_collect(m, &snap) == 0);
    CHECK_EQ(snap->n_metrics, 12); /* every metric the recorder owns except the drop counter */
    for (size_t i = 0; i < snap->n_metrics; i++) {
        const sc_metric_data *md = &snap->metrics[i];
        CHECK(find_row("Metrics", 0, md->name) != NULL);
        for (size_t p = 0; p < md->n_points; p++) {
            const char *keys[SC_ATTR_SET_MAX];
            for (size_t k = 0; k < md->points[p].n_attrs; k++) {
                keys[k] = md->points[p].attrs[k].key;
                check_attr_doc(md->name, &md->points[p].attrs[k]);
            }
            check_set_doc("Metric attributes", md->name, keys, md->points[p].n_attrs);
        }
    }
    sc_metrics_snapshot_release(m);
    sc_recorder_free(r);
    sc_metrics_free(m);
    sc_span_queue_free(q);
}

static void document_loads(void)
{
    int rc = load_doc();
    if (rc != 0)
        fprintf(stderr, "cannot read the schema document (%s)\n", doc_path());
    REQUIRE(rc == 0);
    CHECK(D.n > 100);
}

int main(void)
{
    RUN(document_loads); /* the others then fail too, on missing rows, if this one did */
    RUN(tables_have_fixed_headers);
    RUN(metrics_match_both_ways);
    RUN(enum_value_sets_match_both_ways);
    RUN(attribute_keys_match_both_ways);
    RUN(document_is_consistent);
    RUN(recorder_output_is_documented);
    free(D.rows);
    free(D.is_header);
    return sc_test_summary();
}
