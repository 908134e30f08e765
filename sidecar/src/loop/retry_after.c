/* retry_after.c - owns: delay-seconds and HTTP-date parsing for Retry-After. */
#include "loop/retry_after.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_DELAY_S (366u * 24 * 3600) /* anything larger is nonsense; callers cap far lower */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

typedef struct cursor {
    const char *p;
    const char *end;
} cursor;

static int eat_char(cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static void skip_spaces(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

/* Reads exactly `digits` digits (or, with digits 0, one or more), saturating on overflow. */
static int read_num(cursor *c, int digits, long *out)
{
    long v = 0;
    int n = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && (digits == 0 || n < digits)) {
        long d = *c->p++ - '0';
        v = v < 100000000000L ? v * 10 + d : v; /* saturate: huge delays are clamped later */
        n++;
    }
    *out = v;
    return n > 0 && (digits == 0 || n == digits);
}

static int read_month(cursor *c, int *mon)
{
    if (c->end - c->p < 3)
        return 0;
    for (int i = 0; i < 12; i++) {
        if (strncmp(c->p, months[i], 3) == 0) {
            *mon = i;
            c->p += 3;
            return 1;
        }
    }
    return 0;
}

static int read_time(cursor *c, struct tm *tm)
{
    long h, m, s;
    if (!read_num(c, 2, &h) || !eat_char(c, ':') || !read_num(c, 2, &m) || !eat_char(c, ':') ||
        !read_num(c, 2, &s))
        return 0;
    if (h > 23 || m > 59 || s > 60)
        return 0;
    tm->tm_hour = (int)h;
    tm->tm_min = (int)m;
    tm->tm_sec = (int)s;
    return 1;
}

/* Skips the day name ("Sun" or "Sunday") and returns whether a comma followed. */
static int skip_day_name(cursor *c, int *comma)
{
    const char *start = c->p;
    while (c->p < c->end && ((*c->p >= 'A' && *c->p <= 'Z') || (*c->p >= 'a' && *c->p <= 'z')))
        c->p++;
    if (c->p - start < 3)
        return 0;
    *comma = eat_char(c, ',');
    return 1;
}

static int parse_http_date(cursor *c, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int comma, mon;
    long day, year;
    if (!skip_day_name(c, &comma))
        return 0;
    skip_spaces(c);
    if (!comma) { /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (!read_month(c, &mon))
            return 0;
        skip_spaces(c);
        if (!read_num(c, 0, &day) || !eat_char(c, ' ') || !read_time(c, &tm) || !eat_char(c, ' ') ||
            !read_num(c, 4, &year))
            return 0;
    } else if (read_num(c, 2, &day) && eat_char(c, '-')) { /* RFC 850: "Sunday, 06-Nov-94 ..." */
        if (!read_month(c, &mon) || !eat_char(c, '-') || !read_num(c, 2, &year) ||
            !eat_char(c, ' ') || !read_time(c, &tm))
            return 0;
        year += year < 70 ? 2000 : 1900; /* RFC 9110: interpret relative to the current century */
        skip_spaces(c);
        if (c->end - c->p < 3 || strncmp(c->p, "GMT", 3) != 0)
            return 0;
        c->p += 3;
    } else { /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (!eat_char(c, ' ') || !read_month(c, &mon) || !eat_char(c, ' ') ||
            !read_num(c, 4, &year) || !eat_char(c, ' ') || !read_time(c, &tm) ||
            !eat_char(c, ' ') || c->end - c->p < 3 || strncmp(c->p, "GMT", 3) != 0)
            return 0;
        c->p += 3;
    }
    if (day < 1 || day > 31 || year < 1970 || year > 9999)
        return 0;
    tm.tm_mday = (int)day;
    tm.tm_mon = mon;
    tm.tm_year = (int)year - 1900;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

int sc_retry_after_parse(const char *p, size_t n, uint64_t now_unix_s, uint64_t *delay_ms)
{
    *delay_ms = 0;
    cursor c = {p, p + n};
    skip_spaces(&c);
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    if (c.p == c.end)
        return -EINVAL;
    if (*c.p >= '0' && *c.p <= '9') {
        long secs;
        if (!read_num(&c, 0, &secs) || c.p != c.end)
            return -EINVAL;
        if ((unsigned long)secs > MAX_DELAY_S)
            secs = MAX_DELAY_S;
        *delay_ms = (uint64_t)secs * 1000u;
        return 0;
    }
    time_t when;
    if (!parse_http_date(&c, &when) || c.p != c.end)
        return -EINVAL;
    if ((uint64_t)when > now_unix_s) {
        uint64_t d = (uint64_t)when - now_unix_s;
        *delay_ms = (d > MAX_DELAY_S ? MAX_DELAY_S : d) * 1000u;
    }
    return 0;
}
