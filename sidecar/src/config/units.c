/* units.c - owns: the text forms of durations ("250ms", "1m30s") and sizes ("64KiB", "1MiB"),
 * both directions, and quoting of user values inside error messages. Pure functions. */
#include "config/schema.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Leading decimal digits of *p; advances *p. Rejects an empty run and overflow. */
static int parse_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    for (; isdigit((unsigned char)*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

static int scaled_add(uint64_t *acc, uint64_t n, uint64_t unit)
{
    if (n > UINT64_MAX / unit || *acc > UINT64_MAX - n * unit)
        return -ERANGE;
    *acc += n * unit;
    return 0;
}

int sc_config_parse_duration(const char *s, uint64_t *ms)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    const char *p = s;
    uint64_t total = 0, n;
    if (parse_digits(&p, &n) != 0)
        return -EINVAL;
    if (*p == '\0') { /* a bare integer is milliseconds */
        *ms = n;
        return 0;
    }
    for (;;) {
        size_t i, len = 0;
        for (i = 0; i < sizeof units / sizeof units[0]; i++) {
            len = strlen(units[i].name);
            if (strncmp(p, units[i].name, len) == 0 && !isalpha((unsigned char)p[len]))
                break;
        }
        if (i == sizeof units / sizeof units[0] || scaled_add(&total, n, units[i].ms) != 0)
            return -EINVAL;
        p += len;
        if (*p == '\0')
            break;
        /* "1m30s": every number needs its own unit */
        if (parse_digits(&p, &n) != 0 || *p == '\0')
            return -EINVAL;
    }
    *ms = total;
    return 0;
}

int sc_config_parse_size(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *name;
        uint64_t mul;
    } units[] = {{"", 1},           {"B", 1},         {"KiB", 1u << 10}, {"Ki", 1u << 10},
                 {"MiB", 1u << 20}, {"Mi", 1u << 20}, {"GiB", 1u << 30}, {"Gi", 1u << 30},
                 {"kB", 1000},      {"KB", 1000},     {"MB", 1000000},   {"GB", 1000000000}};
    const char *p = s;
    uint64_t n, total = 0;
    if (parse_digits(&p, &n) != 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].name) == 0) {
            if (scaled_add(&total, n, units[i].mul) != 0)
                return -EINVAL;
            *bytes = total;
            return 0;
        }
    }
    return -EINVAL;
}

void sc_config_format_duration(uint64_t ms, char *out, size_t cap)
{
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(out, cap, "%" PRIu64 "h", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(out, cap, "%" PRIu64 "m", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(out, cap, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(out, cap, "%" PRIu64 "ms", ms);
}

void sc_config_format_size(uint64_t bytes, char *out, size_t cap)
{
    if (bytes != 0 && bytes % (1u << 30) == 0)
        snprintf(out, cap, "%" PRIu64 "GiB", bytes >> 30);
    else if (bytes != 0 && bytes % (1u << 20) == 0)
        snprintf(out, cap, "%" PRIu64 "MiB", bytes >> 20);
    else if (bytes != 0 && bytes % (1u << 10) == 0)
        snprintf(out, cap, "%" PRIu64 "KiB", bytes >> 10);
    else
        snprintf(out, cap, "%" PRIu64 "B", bytes);
}

void sc_config_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0, i;
    if (cap < 8) {
        if (cap > 0)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (i = 0; s[i] != '\0' && i < 80 && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (s[i] != '\0' && o + 5 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

int sc_config_parse_uint(const char *s, uint64_t *out)
{
    const char *p = s;
    return parse_digits(&p, out) == 0 && *p == '\0' ? 0 : -EINVAL;
}
