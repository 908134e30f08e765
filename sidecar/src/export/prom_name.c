/* prom_name.c - owns: the OTLP -> Prometheus name translation (tokens, UCUM unit words, type
 * suffixes, label sanitising). Pure functions. */
#include "export/prom_name.h"

#include <errno.h>
#include <string.h>

#define MAX_TOKENS 160

typedef struct tok {
    const char *p;
    size_t n;
} tok;

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

int sc_prom_name_metric(const char *name, const char *unit, sc_metric_kind kind, char *out,
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

int sc_prom_name_label(const char *key, char *out, size_t cap)
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

const char *sc_prom_name_type_str(sc_prom_type t)
{
    return t == SC_PROM_COUNTER ? "counter" : t == SC_PROM_HISTOGRAM ? "histogram" : "gauge";
}

sc_prom_type sc_prom_name_type(sc_metric_kind kind)
{
    return kind == SC_METRIC_KIND_COUNTER     ? SC_PROM_COUNTER
           : kind == SC_METRIC_KIND_HISTOGRAM ? SC_PROM_HISTOGRAM
                                              : SC_PROM_GAUGE;
}
