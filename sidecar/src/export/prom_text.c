/* prom_text.c - owns: OTLP -> Prometheus name translation, value and label escaping, and the
 * text 0.0.4 page writer. */
#include "export/prom_text.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"

#define MAX_TOKENS 160

typedef struct tok {
    const char *p;
    size_t n;
} tok;

/* ---- Names --------------------------------------------------------------------------------- */

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int metric_char(char c)
{
    return is_alnum(c) || c == ':';
}

/* UCUM -> Prometheus unit words, as otlptranslator's unitMap and perUnitMap. */
static const char *const main_units[][2] = {
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"1", ""},
    {"%", "percent"},
};
static const char *const per_units[][2] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

static tok trim_space(const char *p, size_t n)
{
    while (n > 0 &&
           (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r' ||
                     p[n - 1] == '\f' || p[n - 1] == '\v'))
        n--;
    return (tok){p, n};
}

static const char *unit_lookup(const char *const (*map)[2], size_t n_map, tok u)
{
    for (size_t i = 0; i < n_map; i++)
        if (strlen(map[i][0]) == u.n && memcmp(map[i][0], u.p, u.n) == 0)
            return map[i][1];
    return NULL;
}

/* cleanUpUnit: invalid characters to '_', runs collapsed, one leading '_' removed. */
static size_t clean_unit(const char *prefix, tok u, char *out, size_t cap)
{
    size_t w = 0;
    int prev_us = 0;
    for (size_t pass = 0; pass < 2; pass++) {
        const char *p = pass == 0 ? prefix : u.p;
        size_t n = pass == 0 ? strlen(prefix) : u.n;
        for (size_t i = 0; i < n && w + 1 < cap; i++) {
            char c = metric_char(p[i]) ? p[i] : '_';
            if (c == '_' && prev_us)
                continue;
            prev_us = c == '_';
            out[w++] = c;
        }
    }
    out[w] = '\0';
    if (out[0] == '_') {
        memmove(out, out + 1, w);
        w--;
    }
    return w;
}

/* buildUnitSuffixes + cleanUpUnit: main ("seconds") and per ("per_second") parts of a unit. */
static void unit_suffixes(const char *unit, char *main_out, char *per_out, size_t cap)
{
    main_out[0] = per_out[0] = '\0';
    if (unit == NULL)
        return;
    const char *slash = strchr(unit, '/');
    tok m = trim_space(unit, slash ? (size_t)(slash - unit) : strlen(unit));
    if (m.n > 0 && memchr(m.p, '{', m.n) == NULL && memchr(m.p, '}', m.n) == NULL) {
        const char *w = unit_lookup(main_units, sizeof main_units / sizeof main_units[0], m);
        clean_unit("", w ? (tok){w, strlen(w)} : m, main_out, cap);
    }
    if (slash == NULL || slash[1] == '\0')
        return;
    tok p = trim_space(slash + 1, strlen(slash + 1));
    if (p.n > 0 && memchr(p.p, '{', p.n) == NULL && memchr(p.p, '}', p.n) == NULL) {
        const char *w = unit_lookup(per_units, sizeof per_units / sizeof per_units[0], p);
        clean_unit("per_", w ? (tok){w, strlen(w)} : p, per_out, cap);
    }
}

static int has_token(const tok *t, size_t n, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (t[i].n == len && memcmp(t[i].p, s, len) == 0)
            return 1;
    return 0;
}

/* Removes every token equal to s, then appends s. */
static size_t move_last(tok *t, size_t n, const char *s)
{
    size_t w = 0, len = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!(t[i].n == len && memcmp(t[i].p, s, len) == 0))
            t[w++] = t[i];
    t[w++] = (tok){s, len};
    return w;
}

static void trim_trailing_us(char *s)
{
    size_t n = strlen(s);
    if (n > 0 && s[n - 1] == '_')
        s[n - 1] = '\0';
}

int sc_prom_text_metric_name(const char *name, const char *unit, sc_metric_kind kind, char *out,
                             size_t cap)
{
    tok t[MAX_TOKENS + 4];
    size_t n = 0;
    char mainu[64], peru[72];
    if (name == NULL || out == NULL || cap == 0)
        return -EINVAL;
    for (const char *p = name; *p;) {
        while (*p && !metric_char(*p))
            p++;
        const char *s = p;
        while (*p && metric_char(*p))
            p++;
        if (p > s) {
            if (n == MAX_TOKENS)
                return -ENAMETOOLONG;
            t[n++] = (tok){s, (size_t)(p - s)};
        }
    }
    if (n == 0)
        return -EINVAL;
    unit_suffixes(unit, mainu, peru, sizeof mainu);
    if (has_token(t, n, mainu))
        mainu[0] = '\0';
    if (strcmp(peru, "per_") == 0) {
        peru[0] = '\0';
    } else {
        trim_trailing_us(peru);
        if (has_token(t, n, peru))
            peru[0] = '\0';
    }
    if (peru[0] != '\0')
        trim_trailing_us(mainu);
    if (mainu[0] != '\0')
        t[n++] = (tok){mainu, strlen(mainu)};
    if (peru[0] != '\0')
        t[n++] = (tok){peru, strlen(peru)};
    if (kind == SC_METRIC_KIND_COUNTER)
        n = move_last(t, n, "total");
    if (kind == SC_METRIC_KIND_GAUGE && unit != NULL && strcmp(unit, "1") == 0)
        n = move_last(t, n, "ratio");

    size_t w = 0;
    if (is_digit(t[0].p[0]))
        out[w++] = '_';
    for (size_t i = 0; i < n; i++) {
        if (w + t[i].n + 2 > cap)
            return -ENAMETOOLONG;
        if (i > 0)
            out[w++] = '_';
        memcpy(out + w, t[i].p, t[i].n);
        w += t[i].n;
    }
    out[w] = '\0';
    return (int)w;
}

static size_t sanitize_label(const char *p, size_t n, char *out, size_t cap, int *overflow)
{
    size_t w = 0;
    int prev_us = 0;
    for (size_t i = 0; i < n; i++) {
        char c = is_alnum(p[i]) ? p[i] : '_';
        if (c == '_' && prev_us)
            continue;
        prev_us = c == '_';
        if (w + 1 >= cap) {
            *overflow = 1;
            break;
        }
        out[w++] = c;
    }
    out[w] = '\0';
    return w;
}

int sc_prom_text_label_name(const char *key, char *out, size_t cap)
{
    int overflow = 0;
    size_t n, w;
    if (key == NULL || out == NULL || cap < 8 || key[0] == '\0')
        return -EINVAL;
    n = strlen(key);
    if (n >= 4 && key[0] == '_' && key[1] == '_' && key[n - 2] == '_' && key[n - 1] == '_') {
        /* Reserved form __x__ keeps its double underscores. */
        memcpy(out, "__", 2);
        w = 2 + sanitize_label(key + 2, n - 4, out + 2, cap - 4, &overflow);
        memcpy(out + w, "__", 3);
        w += 2;
    } else if (is_digit(key[0])) {
        memcpy(out, "key_", 4);
        w = 4 + sanitize_label(key, n, out + 4, cap - 4, &overflow);
    } else {
        w = sanitize_label(key, n, out, cap, &overflow);
    }
    if (overflow)
        return -ENAMETOOLONG;
    if (strspn(out, "_") == w)
        return -EINVAL;
    return (int)w;
}

const char *sc_prom_text_type_name(sc_prom_type t)
{
    return t == SC_PROM_COUNTER ? "counter" : t == SC_PROM_HISTOGRAM ? "histogram" : "gauge";
}

sc_prom_type sc_prom_text_type(sc_metric_kind kind)
{
    return kind == SC_METRIC_KIND_COUNTER     ? SC_PROM_COUNTER
           : kind == SC_METRIC_KIND_HISTOGRAM ? SC_PROM_HISTOGRAM
                                              : SC_PROM_GAUGE;
}

/* ---- Values -------------------------------------------------------------------------------- */

size_t sc_prom_text_format_double(double v, char out[SC_PROM_DOUBLE_MAX])
{
    char e[SC_PROM_DOUBLE_MAX];
    int prec;
    if (isnan(v))
        return (size_t)snprintf(out, SC_PROM_DOUBLE_MAX, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, SC_PROM_DOUBLE_MAX, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return (size_t)snprintf(out, SC_PROM_DOUBLE_MAX, signbit(v) ? "-0" : "0");
    /* Shortest digit count that reads back exactly. */
    for (prec = 1; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof e, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(e, 'e') + 1);
    if (exp10 < -4 || exp10 >= 6)
        return (size_t)snprintf(out, SC_PROM_DOUBLE_MAX, "%s", e);
    int decimals = prec - 1 - exp10;
    return (size_t)snprintf(out, SC_PROM_DOUBLE_MAX, "%.*f", decimals > 0 ? decimals : 0, v);
}

/* Length of a valid UTF-8 sequence at p (n bytes available), or 0 when invalid there. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* Appends (p, n) escaped for a label value (quote 1) or a HELP text (quote 0). */
static int put_escaped(sc_buf *b, const char *p, size_t n, int quote)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, run = 0;
    int rc = 0;
    while (i < n && rc == 0) {
        size_t len = utf8_len(s + i, n - i);
        const char *esc = NULL;
        if (len == 0)
            esc = "\xEF\xBF\xBD";
        else if (s[i] == '\\')
            esc = "\\\\";
        else if (s[i] == '\n')
            esc = "\\n";
        else if (s[i] == '"' && quote)
            esc = "\\\"";
        if (esc == NULL) {
            i += len;
            run += len;
            continue;
        }
        rc = sc_buf_append(b, s + i - run, run);
        if (rc == 0)
            rc = sc_buf_append_str(b, esc);
        run = 0;
        i += len ? len : 1;
    }
    return rc ? rc : sc_buf_append(b, s + i - run, run);
}

static int put_attr_value(sc_buf *b, const sc_attr *a)
{
    char num[SC_PROM_DOUBLE_MAX];
    switch (a->type) {
    case SC_ATTR_STRING:
        return put_escaped(b, a->v.s.ptr, a->v.s.len, 1);
    case SC_ATTR_INT:
        snprintf(num, sizeof num, "%" PRId64, a->v.i);
        return sc_buf_append_str(b, num);
    case SC_ATTR_DOUBLE:
        sc_prom_text_format_double(a->v.d, num);
        return sc_buf_append_str(b, num);
    case SC_ATTR_BOOL:
        return sc_buf_append_str(b, a->v.b ? "true" : "false");
    case SC_ATTR_STRING_ARRAY: {
        sc_buf j;
        int rc = 0;
        sc_buf_init(&j, b->max);
        rc = sc_jsonw_raw(&j, "[");
        for (size_t i = 0; i < a->v.arr.n && rc == 0; i++) {
            if (i > 0)
                rc = sc_jsonw_raw(&j, ",");
            if (rc == 0)
                rc = sc_jsonw_str(&j, a->v.arr.items[i].ptr, a->v.arr.items[i].len);
        }
        if (rc == 0)
            rc = sc_jsonw_raw(&j, "]");
        if (rc == 0)
            rc = put_escaped(b, j.data, j.len, 1);
        sc_buf_free(&j);
        return rc;
    }
    }
    return 0;
}

/* ---- Page ---------------------------------------------------------------------------------- */

typedef struct lname {
    char name[SC_PROM_NAME_MAX];
    int skip; /* 1: already written (in a group) or left off */
} lname;

typedef struct writer {
    sc_buf *out;
    sc_buf lbl; /* the current sample's labels, without braces */
    const sc_prom_text_opts *o;
    sc_prom_text_stats st;
    lname *names;
    size_t names_cap;
} writer;

static int reserved_label(const writer *w, const char *name, int histogram)
{
    if (name[0] == '_' && name[1] == '_')
        return 1; /* Prometheus' own namespace (__name__, ...) */
    if (histogram && strcmp(name, "le") == 0)
        return 1;
    return w->o->scope_name != NULL &&
           (strcmp(name, "otel_scope_name") == 0 || strcmp(name, "otel_scope_version") == 0);
}

static int grow_names(writer *w, size_t n)
{
    if (n <= w->names_cap)
        return 0;
    lname *p = realloc(w->names, n * sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    w->names = p;
    w->names_cap = n;
    return 0;
}

static int put_label(sc_buf *b, const char *name)
{
    int rc = 0;
    if (b->len > 0)
        rc = sc_buf_append_str(b, ",");
    if (rc == 0)
        rc = sc_buf_append_str(b, name);
    return rc ? rc : sc_buf_append_str(b, "=\"");
}

/* Writes attrs as labels into w->lbl. Attributes whose label names collide are one label whose
 * value joins theirs with ';' in the byte order of their keys. */
static int put_attr_labels(writer *w, const sc_attr *attrs, size_t n, int histogram)
{
    int rc = grow_names(w, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        lname *ln = &w->names[i];
        ln->skip = sc_prom_text_label_name(attrs[i].key, ln->name, sizeof ln->name) < 0 ||
                   reserved_label(w, ln->name, histogram);
        w->st.dropped_labels += (size_t)ln->skip;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (w->names[i].skip)
            continue;
        rc = put_label(&w->lbl, w->names[i].name);
        const char *last = NULL;
        for (int first = 1; rc == 0; first = 0) {
            size_t pick = n; /* smallest key above `last` among this name's attributes */
            for (size_t k = i; k < n; k++)
                if (!w->names[k].skip && strcmp(w->names[k].name, w->names[i].name) == 0 &&
                    (last == NULL || strcmp(attrs[k].key, last) > 0) &&
                    (pick == n || strcmp(attrs[k].key, attrs[pick].key) < 0))
                    pick = k;
            if (pick == n)
                break;
            if (!first)
                rc = sc_buf_append_str(&w->lbl, ";");
            if (rc == 0)
                rc = put_attr_value(&w->lbl, &attrs[pick]);
            last = attrs[pick].key;
        }
        for (size_t k = i + 1; k < n; k++)
            if (strcmp(w->names[k].name, w->names[i].name) == 0)
                w->names[k].skip = 1;
        if (rc == 0)
            rc = sc_buf_append_str(&w->lbl, "\"");
    }
    return rc;
}

static int put_scope_labels(writer *w)
{
    int rc = 0;
    if (w->o->scope_name == NULL)
        return 0;
    rc = put_label(&w->lbl, "otel_scope_name");
    if (rc == 0)
        rc = put_escaped(&w->lbl, w->o->scope_name, strlen(w->o->scope_name), 1);
    if (rc == 0)
        rc = sc_buf_append_str(&w->lbl, "\"");
    if (rc == 0 && w->o->scope_version != NULL) {
        rc = put_label(&w->lbl, "otel_scope_version");
        if (rc == 0)
            rc = put_escaped(&w->lbl, w->o->scope_version, strlen(w->o->scope_version), 1);
        if (rc == 0)
            rc = sc_buf_append_str(&w->lbl, "\"");
    }
    return rc;
}

/* name{labels[,le="x"]} value\n */
static int put_sample(writer *w, const char *name, const char *suffix, const char *le,
                      const char *value)
{
    sc_buf *b = w->out;
    int rc = sc_buf_append_str(b, name);
    if (rc == 0)
        rc = sc_buf_append_str(b, suffix);
    if (rc == 0 && (w->lbl.len > 0 || le != NULL)) {
        rc = sc_buf_append_str(b, "{");
        if (rc == 0 && w->lbl.len > 0)
            rc = sc_buf_append(b, w->lbl.data, w->lbl.len);
        if (rc == 0 && le != NULL) {
            rc = sc_buf_append_str(b, w->lbl.len > 0 ? ",le=\"" : "le=\"");
            if (rc == 0)
                rc = sc_buf_append_str(b, le);
            if (rc == 0)
                rc = sc_buf_append_str(b, "\"");
        }
        if (rc == 0)
            rc = sc_buf_append_str(b, "}");
    }
    if (rc == 0)
        rc = sc_buf_append_str(b, " ");
    if (rc == 0)
        rc = sc_buf_append_str(b, value);
    if (rc == 0)
        rc = sc_buf_append_str(b, "\n");
    w->st.samples += rc == 0;
    return rc;
}

static int put_header(writer *w, const char *name, const char *help, sc_prom_type t)
{
    sc_buf *b = w->out;
    int rc = 0;
    if (help != NULL && help[0] != '\0') {
        rc = sc_buf_append_str(b, "# HELP ");
        if (rc == 0)
            rc = sc_buf_append_str(b, name);
        if (rc == 0)
            rc = sc_buf_append_str(b, " ");
        if (rc == 0)
            rc = put_escaped(b, help, strlen(help), 0);
        if (rc == 0)
            rc = sc_buf_append_str(b, "\n");
    }
    if (rc == 0)
        rc = sc_buf_append_str(b, "# TYPE ");
    if (rc == 0)
        rc = sc_buf_append_str(b, name);
    if (rc == 0)
        rc = sc_buf_append_str(b, " ");
    if (rc == 0)
        rc = sc_buf_append_str(b, sc_prom_text_type_name(t));
    if (rc == 0)
        rc = sc_buf_append_str(b, "\n");
    w->st.families += rc == 0;
    return rc;
}

static int put_point(writer *w, const char *name, const sc_metric_data *md,
                     const sc_metric_point *pt)
{
    char v[SC_PROM_DOUBLE_MAX], le[SC_PROM_DOUBLE_MAX];
    int hist = md->kind == SC_METRIC_KIND_HISTOGRAM;
    sc_buf_reset(&w->lbl);
    int rc = put_attr_labels(w, pt->attrs, pt->n_attrs, hist);
    if (rc == 0)
        rc = put_scope_labels(w);
    if (rc != 0)
        return rc;
    switch (md->kind) {
    case SC_METRIC_KIND_COUNTER:
    case SC_METRIC_KIND_UPDOWN_COUNTER:
        snprintf(v, sizeof v, "%" PRId64, pt->as_int);
        return put_sample(w, name, "", NULL, v);
    case SC_METRIC_KIND_GAUGE:
        sc_prom_text_format_double(pt->as_double, v);
        return put_sample(w, name, "", NULL, v);
    case SC_METRIC_KIND_HISTOGRAM:
        break;
    }
    uint64_t cum = 0;
    for (size_t i = 0; i < md->n_bounds && rc == 0; i++) {
        cum += pt->bucket_counts ? pt->bucket_counts[i] : 0;
        sc_prom_text_format_double(md->bounds[i], le);
        snprintf(v, sizeof v, "%" PRIu64, cum);
        rc = put_sample(w, name, "_bucket", le, v);
    }
    snprintf(v, sizeof v, "%" PRIu64, pt->count);
    if (rc == 0)
        rc = put_sample(w, name, "_bucket", "+Inf", v);
    if (rc == 0) {
        sc_prom_text_format_double(pt->sum, le);
        rc = put_sample(w, name, "_sum", NULL, le);
    }
    return rc ? rc : put_sample(w, name, "_count", NULL, v);
}

static int put_target_info(writer *w)
{
    if (w->o->n_resource == 0)
        return 0;
    sc_buf_reset(&w->lbl);
    int rc = put_header(w, "target_info", "Target metadata", SC_PROM_GAUGE);
    if (rc == 0)
        rc = put_attr_labels(w, w->o->resource, w->o->n_resource, 0);
    return rc ? rc : put_sample(w, "target_info", "", NULL, "1");
}

/* Family name of metric i, or a negative errno (the metric cannot be rendered). */
static int family_name(const sc_metric_data *md, char *out)
{
    int rc = sc_prom_text_metric_name(md->name, md->unit, md->kind, out, SC_PROM_NAME_MAX);
    if (rc >= 0 && strcmp(out, "target_info") == 0)
        rc = -EEXIST;
    return rc;
}

static int put_families(writer *w, const sc_metrics_snapshot *snap)
{
    char name[SC_PROM_NAME_MAX], other[SC_PROM_NAME_MAX];
    int rc = 0;
    for (size_t i = 0; i < snap->n_metrics && rc == 0; i++) {
        const sc_metric_data *md = &snap->metrics[i];
        if (family_name(md, name) < 0) {
            w->st.dropped_metrics++;
            continue;
        }
        int seen = 0; /* an earlier metric with this name already wrote the family */
        for (size_t j = 0; j < i && !seen; j++)
            seen = family_name(&snap->metrics[j], other) >= 0 && strcmp(other, name) == 0;
        if (seen)
            continue;
        sc_prom_type t = sc_prom_text_type(md->kind);
        rc = put_header(w, name, md->description, t);
        for (size_t j = i; j < snap->n_metrics && rc == 0; j++) {
            const sc_metric_data *mj = &snap->metrics[j];
            if (j != i && (family_name(mj, other) < 0 || strcmp(other, name) != 0))
                continue;
            if (sc_prom_text_type(mj->kind) != t ||
                (t == SC_PROM_HISTOGRAM && j != i && mj->n_bounds != md->n_bounds)) {
                w->st.dropped_metrics++; /* a TYPE clash: the spec drops the whole metric */
                continue;
            }
            for (size_t k = 0; k < mj->n_points && rc == 0; k++)
                rc = put_point(w, name, mj, &mj->points[k]);
        }
    }
    return rc;
}

int sc_prom_text_render(const sc_metrics_snapshot *snap, const sc_prom_text_opts *o, sc_buf *out,
                        sc_prom_text_stats *st)
{
    static const sc_prom_text_opts none = {0};
    writer w = {.out = out, .o = o ? o : &none};
    int rc;
    if (out == NULL)
        return -EINVAL;
    sc_buf_init(&w.lbl, out->max);
    rc = put_target_info(&w);
    if (rc == 0 && snap != NULL)
        rc = put_families(&w, snap);
    sc_buf_free(&w.lbl);
    free(w.names);
    if (st != NULL)
        *st = w.st;
    return rc;
}
