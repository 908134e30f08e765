/* timestamp.c - owns: the timestamp and decimal parsers declared in timestamp.h. Calendar maths
 * is Howard Hinnant's days_from_civil, so no mktime/strptime (and no TZ state) is involved. */
#include "accesslog/timestamp.h"

#include <errno.h>
#include <string.h>

#define NS_PER_S   1000000000LL
#define MAX_UNIX_S 9223372035LL /* last whole second whose ns value (plus 1 s) fits int64 */
#define MAX_SCALE  18

static const char *const format_names[SC_TIMESTAMP__COUNT] = {
    "auto", "rfc3339", "nginx_time_local", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns",
};

static const int64_t pow10_tab[19] = {
    1LL,
    10LL,
    100LL,
    1000LL,
    10000LL,
    100000LL,
    1000000LL,
    10000000LL,
    100000000LL,
    1000000000LL,
    10000000000LL,
    100000000000LL,
    1000000000000LL,
    10000000000000LL,
    100000000000000LL,
    1000000000000000LL,
    10000000000000000LL,
    100000000000000000LL,
    1000000000000000000LL,
};

const char *sc_timestamp_format_name(sc_timestamp_format f)
{
    return (unsigned)f < SC_TIMESTAMP__COUNT ? format_names[f] : NULL;
}

int sc_timestamp_format_parse(const char *p, size_t n, sc_timestamp_format *out)
{
    for (int i = 0; i < SC_TIMESTAMP__COUNT; i++) {
        if (strlen(format_names[i]) == n && (n == 0 || memcmp(p, format_names[i], n) == 0)) {
            *out = (sc_timestamp_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

int64_t sc_timestamp_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Exactly `count` ASCII digits at p as a number, or -1. */
static int digits(const char *p, size_t count)
{
    int v = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + (int)d;
    }
    return v;
}

/* Validated civil fields -> unix ns. offset_s is east of UTC (local = UTC + offset). */
static int civil_to_ns(int64_t y, int mo, int d, int h, int mi, int s, int64_t frac_ns,
                       int64_t offset_s, int64_t *unix_ns)
{
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) || h > 23 ||
        mi > 59 || s > 60)
        return -EINVAL;
    int64_t secs = sc_timestamp_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
                   mi * 60 + s - offset_s;
    if (secs < 0 || secs > MAX_UNIX_S)
        return -ERANGE;
    *unix_ns = secs * NS_PER_S + frac_ns;
    return 0;
}

/* "+hh:mm", "+hhmm", "+hh", "Z" at p[0..n): seconds east of UTC, or -1 (never a real offset,
 * as offsets are whole minutes). */
static int64_t parse_offset(const char *p, size_t n)
{
    if (n == 1 && (p[0] == 'Z' || p[0] == 'z'))
        return 0;
    if (n < 3 || (p[0] != '+' && p[0] != '-'))
        return -1;
    int hh = digits(p + 1, 2), mm = 0;
    if (n == 6 && p[3] == ':')
        mm = digits(p + 4, 2);
    else if (n == 5)
        mm = digits(p + 3, 2);
    else if (n != 3)
        return -1;
    if (hh < 0 || mm < 0 || hh > 23 || mm > 59)
        return -1;
    int64_t off = hh * 3600 + mm * 60;
    return p[0] == '-' ? -off : off;
}

int sc_timestamp_parse_rfc3339(const char *p, size_t n, int64_t *unix_ns)
{
    /* yyyy-mm-ddThh:mm:ss is 19 bytes, then an optional fraction, then the offset. */
    if (p == NULL || n < 20 || p[4] != '-' || p[7] != '-' || p[13] != ':' || p[16] != ':')
        return -EINVAL;
    if (p[10] != 'T' && p[10] != 't' && p[10] != ' ')
        return -EINVAL;
    int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
    int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0)
        return -EINVAL;
    size_t i = 19;
    int64_t frac = 0;
    if (p[i] == '.' || p[i] == ',') {
        size_t start = ++i;
        while (i < n && (unsigned)(p[i] - '0') <= 9) {
            if (i - start < 9)
                frac = frac * 10 + (p[i] - '0');
            i++;
        }
        if (i == start)
            return -EINVAL;
        for (size_t k = i - start; k < 9; k++)
            frac *= 10;
    }
    int64_t off = parse_offset(p + i, n - i);
    if (off == -1) /* never a real offset: they are whole minutes */
        return -EINVAL;
    return civil_to_ns(y, mo, d, h, mi, s, frac, off, unix_ns);
}

static int month_from_abbrev(const char *p)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(p, names + 3 * i, 3) == 0)
            return i + 1;
    return -1;
}

int sc_timestamp_parse_nginx_local(const char *p, size_t n, int64_t *unix_ns)
{
    /* dd/Mon/yyyy:hh:mm:ss +zzzz: fixed width, 26 bytes. */
    if (p == NULL || n != 26 || p[2] != '/' || p[6] != '/' || p[11] != ':' || p[14] != ':' ||
        p[17] != ':' || p[20] != ' ')
        return -EINVAL;
    int d = digits(p, 2), mo = month_from_abbrev(p + 3), y = digits(p + 7, 4);
    int h = digits(p + 12, 2), mi = digits(p + 15, 2), s = digits(p + 18, 2);
    if (d < 0 || mo < 0 || y < 0 || h < 0 || mi < 0 || s < 0)
        return -EINVAL;
    int64_t off = parse_offset(p + 21, 5);
    if (off == -1)
        return -EINVAL;
    return civil_to_ns(y, mo, d, h, mi, s, 0, off, unix_ns);
}

int sc_timestamp_decimal(const char *p, size_t n, int scale, int64_t *out)
{
    if (p == NULL || n == 0 || scale < -MAX_SCALE || scale > MAX_SCALE)
        return -EINVAL;
    size_t i = 0;
    int neg = p[0] == '-';
    i += (size_t)neg;
    uint64_t m = 0;  /* up to 19 significant digits: always < 10^19 < 2^64 */
    int sig = 0;     /* significant digits kept in m */
    int64_t exp = 0; /* value = m * 10^exp */
    size_t int_start = i;
    for (; i < n && (unsigned)(p[i] - '0') <= 9; i++) {
        if (sig < 19) {
            m = m * 10 + (unsigned)(p[i] - '0');
            sig += m != 0;
        } else {
            exp++;
        }
    }
    if (i == int_start)
        return -EINVAL;
    if (i < n && p[i] == '.') {
        size_t frac_start = ++i;
        for (; i < n && (unsigned)(p[i] - '0') <= 9; i++) {
            if (sig < 19) {
                m = m * 10 + (unsigned)(p[i] - '0');
                sig += m != 0;
                exp--;
            }
        }
        if (i == frac_start)
            return -EINVAL;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            eneg = p[i++] == '-';
        size_t e_start = i;
        int64_t e = 0;
        for (; i < n && (unsigned)(p[i] - '0') <= 9; i++)
            if (e < 1000)
                e = e * 10 + (p[i] - '0');
        if (i == e_start)
            return -EINVAL;
        exp += eneg ? -e : e;
    }
    if (i != n)
        return -EINVAL;
    exp += scale;
    if (m == 0 || exp < -18) {
        *out = 0;
        return 0;
    }
    if (exp < 0) {
        m /= (uint64_t)pow10_tab[-exp];
    } else {
        for (; exp > 0; exp--) {
            if (m > (uint64_t)INT64_MAX / 10)
                return -ERANGE;
            m *= 10;
        }
    }
    if (m > (uint64_t)INT64_MAX)
        return -ERANGE;
    *out = neg ? -(int64_t)m : (int64_t)m;
    return 0;
}

int sc_timestamp_parse_epoch(const char *p, size_t n, int digits_per_second, int64_t *unix_ns)
{
    if (digits_per_second < 0 || digits_per_second > 9)
        return -EINVAL;
    int64_t v;
    int rc = sc_timestamp_decimal(p, n, 9 - digits_per_second, &v);
    if (rc < 0)
        return rc;
    if (v < 0 || v / NS_PER_S > MAX_UNIX_S)
        return -ERANGE;
    *unix_ns = v;
    return 0;
}

/* Count of integer-part digits of a decimal, for AUTO's epoch unit choice. */
static size_t int_digits(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned)(p[i] - '0') <= 9)
        i++;
    return i;
}

int sc_timestamp_parse(sc_timestamp_format fmt, const char *p, size_t n, int64_t *unix_ns)
{
    if (p == NULL)
        return -EINVAL;
    switch (fmt) {
    case SC_TIMESTAMP_RFC3339:
        return sc_timestamp_parse_rfc3339(p, n, unix_ns);
    case SC_TIMESTAMP_NGINX_LOCAL:
        return sc_timestamp_parse_nginx_local(p, n, unix_ns);
    case SC_TIMESTAMP_EPOCH_S:
        return sc_timestamp_parse_epoch(p, n, 0, unix_ns);
    case SC_TIMESTAMP_EPOCH_MS:
        return sc_timestamp_parse_epoch(p, n, 3, unix_ns);
    case SC_TIMESTAMP_EPOCH_US:
        return sc_timestamp_parse_epoch(p, n, 6, unix_ns);
    case SC_TIMESTAMP_EPOCH_NS:
        return sc_timestamp_parse_epoch(p, n, 9, unix_ns);
    case SC_TIMESTAMP_AUTO:
        break;
    default:
        return -EINVAL;
    }
    if (n >= 3 && p[2] == '/')
        return sc_timestamp_parse_nginx_local(p, n, unix_ns);
    if (n >= 5 && p[4] == '-')
        return sc_timestamp_parse_rfc3339(p, n, unix_ns);
    size_t id = int_digits(p, n);
    int dps = id <= 11 ? 0 : id <= 14 ? 3 : id <= 17 ? 6 : 9;
    return sc_timestamp_parse_epoch(p, n, dps, unix_ns);
}
