/* prom_text.c - owns: value formatting, label and HELP escaping, and the text 0.0.4 page
 * writer. */
#include "export/prom_text.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"

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
        ln->skip = sc_prom_name_label(attrs[i].key, ln->name, sizeof ln->name) < 0 ||
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
        rc = sc_buf_append_str(b, sc_prom_name_type_str(t));
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
    int rc = sc_prom_name_metric(md->name, md->unit, md->kind, out, SC_PROM_NAME_MAX);
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
        sc_prom_type t = sc_prom_name_type(md->kind);
        rc = put_header(w, name, md->description, t);
        for (size_t j = i; j < snap->n_metrics && rc == 0; j++) {
            const sc_metric_data *mj = &snap->metrics[j];
            if (j != i && (family_name(mj, other) < 0 || strcmp(other, name) != 0))
                continue;
            if (sc_prom_name_type(mj->kind) != t ||
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
