/* support_packet.c - owns: reading the evidence file, filtering and ordering its runs, and
 * writing the support packet (Markdown report + evidence copy); the --since parser. */
#include "canary/support_packet.h"

#include <ctype.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "canary/evidence.h"
#include "config/schema.h"
#include "core/clock.h"
#include "version.h"

#define NS_PER_S   1000000000ull
#define KEY_MAX    4096
#define CONFIG_MAX (1u << 20)

/* ---- time ------------------------------------------------------------------------------------ */

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int sc_support_packet_parse_rfc3339(const char *s, size_t len, uint64_t *out)
{
    int y, mo, d, h, mi, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
        return -EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return -EINVAL;
    size_t i = 19;
    uint64_t frac = 0, scale = NS_PER_S;
    if (s[i] == '.') {
        size_t start = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(s[i] - '0') * scale;
            }
        if (i == start)
            return -EINVAL;
    }
    int64_t offset = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        offset = (s[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        i += 6;
    }
    if (i != len)
        return -EINVAL;
    int64_t t =
        days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    if (t < 0)
        return -EINVAL;
    *out = (uint64_t)t * NS_PER_S + frac;
    return 0;
}

int sc_support_packet_parse_since(const char *s, uint64_t now, uint64_t *out)
{
    if (s == NULL || s[0] == '\0')
        return -EINVAL;
    if (sc_support_packet_parse_rfc3339(s, strlen(s), out) == 0)
        return 0;
    uint64_t ms;
    size_t n = strlen(s);
    if (n >= 2 && s[n - 1] == 'd') {
        int days;
        if (n - 1 > 5 || digits(s, n - 1, &days) != 0)
            return -EINVAL;
        ms = (uint64_t)days * 86400000ull;
    } else if (sc_config_parse_duration(s, &ms) != 0 || strspn(s, "0123456789") == n) {
        return -EINVAL; /* a bare number is ambiguous here: ask for a unit */
    }
    uint64_t ns = ms > UINT64_MAX / 1000000ull ? UINT64_MAX : ms * 1000000ull;
    *out = ns >= now ? 1 : now - ns; /* 1: everything (0 would mean "no filter" anyway) */
    return 0;
}

/* ---- reading the evidence -------------------------------------------------------------------- */

typedef struct run_row {
    uint64_t started_ns;
    size_t order;
    cJSON *obj;
    char *line; /* as read, newline included */
} run_row;

typedef struct packet {
    run_row *rows;
    size_t n, cap;
    size_t ring; /* when full: the slot holding the oldest row, replaced next */
    uint64_t read, before_since, unparseable, withheld, too_long, dropped_oldest;
    char *key; /* configured key, for the secret scan; wiped and freed */
} packet;

static void load_key(const sc_config *cfg, packet *p)
{
    if (cfg->cometapi.api_key != NULL) {
        p->key = strdup(cfg->cometapi.api_key);
        return;
    }
    if (cfg->cometapi.api_key_file == NULL)
        return;
    FILE *f = fopen(cfg->cometapi.api_key_file, "r");
    if (f == NULL)
        return;
    char *buf = calloc(1, KEY_MAX + 1);
    if (buf != NULL) {
        size_t n = fread(buf, 1, KEY_MAX, f);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                         buf[n - 1] == '\t'))
            buf[--n] = '\0';
        size_t lead = strspn(buf, " \t\r\n");
        memmove(buf, buf + lead, n - lead + 1);
        p->key = buf;
    }
    fclose(f);
}

static void free_row(run_row *r)
{
    cJSON_Delete(r->obj);
    free(r->line);
}

static void free_packet(packet *p)
{
    for (size_t i = 0; i < p->n; i++)
        free_row(&p->rows[i]);
    free(p->rows);
    if (p->key != NULL) {
        explicit_bzero(p->key, strlen(p->key));
        free(p->key);
    }
}

static int add_row(packet *p, char *line, size_t len, uint64_t since)
{
    p->read++;
    if (len > SC_EVIDENCE_LINE_MAX) {
        p->too_long++;
        return 0;
    }
    if (p->key != NULL && strlen(p->key) >= 4 && strstr(line, p->key) != NULL) {
        p->withheld++;
        return 0;
    }
    cJSON *obj = cJSON_ParseWithLength(line, len);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "started_at");
    uint64_t ns;
    if (!cJSON_IsObject(obj) || !cJSON_IsString(st) ||
        sc_support_packet_parse_rfc3339(st->valuestring, strlen(st->valuestring), &ns) != 0) {
        cJSON_Delete(obj);
        p->unparseable++;
        return 0;
    }
    if (since != 0 && ns < since) {
        cJSON_Delete(obj);
        p->before_since++;
        return 0;
    }
    if (p->n == p->cap && p->n < SC_SUPPORT_PACKET_MAX_RUNS) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        run_row *rows = realloc(p->rows, cap * sizeof *rows);
        if (rows == NULL) {
            cJSON_Delete(obj);
            return -ENOMEM;
        }
        p->rows = rows;
        p->cap = cap;
    }
    char *copy = malloc(len + 2);
    if (copy == NULL) {
        cJSON_Delete(obj);
        return -ENOMEM;
    }
    memcpy(copy, line, len);
    memcpy(copy + len, "\n", 2);
    run_row row = {ns, (size_t)p->read, obj, copy};
    if (p->n == SC_SUPPORT_PACKET_MAX_RUNS) { /* keep the latest: replace the oldest read */
        free_row(&p->rows[p->ring]);
        p->rows[p->ring] = row;
        p->ring = (p->ring + 1) % SC_SUPPORT_PACKET_MAX_RUNS;
        p->dropped_oldest++;
        return 0;
    }
    p->rows[p->n++] = row; /* rows are sorted by time afterwards, so slot order is free */
    return 0;
}

static int read_evidence(const char *path, uint64_t since, packet *p)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0)
            rc = add_row(p, line, (size_t)n, since);
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    free(line);
    fclose(f);
    return rc;
}

static int by_time(const void *a, const void *b)
{
    const run_row *x = a, *y = b;
    if (x->started_ns != y->started_ns)
        return x->started_ns < y->started_ns ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- writing --------------------------------------------------------------------------------- */

static FILE *create(const char *dir, const char *name, char *path, size_t cap)
{
    if (snprintf(path, cap, "%s/%s", dir, name) >= (int)cap) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    if (f == NULL)
        close(fd);
    return f;
}

/* A table cell: evidence strings are sanitised already, but the file may have been edited. */
static void cell(FILE *f, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    fputs(" ", f);
    if (cJSON_IsString(v)) {
        for (const char *s = v->valuestring; *s && s - v->valuestring < 128; s++) {
            int tag = *s == '<' && (isalpha((unsigned char)s[1]) || s[1] == '/' || s[1] == '!');
            if (*s == '|' || *s == '`' || *s == '\\' || tag)
                fputc('\\', f);
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
        }
    } else if (cJSON_IsNumber(v)) {
        fprintf(f, "%.0f", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "true" : "false", f);
    } else {
        fputs("-", f);
    }
    fputs(" |", f);
}

static void runs_table(FILE *f, const packet *p)
{
    static const char *const cols[] = {"started_at",         "probe",
                                       "api_surface",        "expected",
                                       "error_class",        "operator_result",
                                       "http_status",        "retry_count",
                                       "fallback_decision",  "elapsed_time_bucket",
                                       "trace_id",           "request_id",
                                       "upstream_request_id"};
    size_t n = sizeof cols / sizeof cols[0];
    fputs("| # |", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s |", cols[i]);
    fputs("\n| --- |", f);
    for (size_t i = 0; i < n; i++)
        fputs(" --- |", f);
    fputs("\n", f);
    for (size_t r = 0; r < p->n; r++) {
        fprintf(f, "| %zu |", r + 1);
        for (size_t i = 0; i < n; i++)
            cell(f, p->rows[r].obj, cols[i]);
        fputs("\n", f);
    }
}

static void attempts_table(FILE *f, const packet *p)
{
    static const char *const cols[] = {
        "target",      "started_at",     "completed_at", "status_code_class",  "http_status",
        "error_class", "retry_decision", "request_id",   "upstream_request_id"};
    size_t n = sizeof cols / sizeof cols[0];
    fputs("| run | probe | attempt |", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s |", cols[i]);
    fputs("\n| --- | --- | --- |", f);
    for (size_t i = 0; i < n; i++)
        fputs(" --- |", f);
    fputs("\n", f);
    for (size_t r = 0; r < p->n; r++) {
        const cJSON *att = cJSON_GetObjectItemCaseSensitive(p->rows[r].obj, "attempts");
        const cJSON *a;
        cJSON_ArrayForEach(a, att)
        {
            fprintf(f, "| %zu |", r + 1);
            cell(f, p->rows[r].obj, "probe");
            cell(f, a, "attempt");
            for (size_t i = 0; i < n; i++)
                cell(f, a, cols[i]);
            fputs("\n", f);
        }
    }
}

static void summary(FILE *f, const packet *p)
{
    fputs("| probe | runs | pass | fail | last result | last run |\n"
          "| --- | --- | --- | --- | --- | --- |\n",
          f);
    for (size_t r = 0; r < p->n; r++) {
        const cJSON *probe = cJSON_GetObjectItemCaseSensitive(p->rows[r].obj, "probe");
        if (!cJSON_IsString(probe))
            continue;
        int seen = 0;
        for (size_t q = 0; q < r && !seen; q++) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(p->rows[q].obj, "probe");
            seen = cJSON_IsString(o) && strcmp(o->valuestring, probe->valuestring) == 0;
        }
        if (seen)
            continue;
        unsigned runs = 0, pass = 0;
        size_t last = r;
        for (size_t q = r; q < p->n; q++) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(p->rows[q].obj, "probe");
            if (!cJSON_IsString(o) || strcmp(o->valuestring, probe->valuestring) != 0)
                continue;
            const cJSON *res = cJSON_GetObjectItemCaseSensitive(p->rows[q].obj, "operator_result");
            runs++;
            pass += cJSON_IsString(res) && strcmp(res->valuestring, "pass") == 0;
            last = q;
        }
        fputs("|", f);
        cell(f, p->rows[r].obj, "probe");
        fprintf(f, " %u | %u | %u |", runs, pass, runs - pass);
        cell(f, p->rows[last].obj, "operator_result");
        cell(f, p->rows[last].obj, "started_at");
        fputs("\n", f);
    }
}

static int write_config(FILE *f, const sc_config *cfg)
{
    sc_buf b;
    sc_buf_init(&b, CONFIG_MAX);
    int rc = sc_config_write_effective(cfg, &b);
    if (rc == 0)
        fprintf(f, "```json\n%s```\n", b.data);
    sc_buf_free(&b);
    return rc;
}

static int write_report(FILE *f, const packet *p, const char *evidence_path, uint64_t since,
                        const sc_config *cfg)
{
    char now[32], from[32] = "(all)";
    sc_clock_format_rfc3339_ms(sc_clock_wall_ns(sc_clock_system()), now, sizeof now);
    if (since > 1)
        sc_clock_format_rfc3339_ms(since, from, sizeof from);
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    fprintf(f, "# %s support packet\n\n", SC_NAME);
    fprintf(f, "- Generated: %s\n- Versions: %s %s, libuv %s, libcurl %s\n", now, SC_NAME,
            SC_VERSION, uv_version_string(), cv != NULL ? cv->version : "unknown");
    fprintf(f, "- Evidence file: `%s` (runs since %s)\n", evidence_path, from);
    fprintf(f,
            "- Lines read: %llu; included: %zu; before --since: %llu; unreadable (not JSON, torn "
            "or no started_at): %llu; over the line limit: %llu; withheld (contained a "
            "secret): %llu; oldest dropped past %d runs: %llu\n",
            (unsigned long long)p->read, p->n, (unsigned long long)p->before_since,
            (unsigned long long)p->unparseable, (unsigned long long)p->too_long,
            (unsigned long long)p->withheld, SC_SUPPORT_PACKET_MAX_RUNS,
            (unsigned long long)p->dropped_oldest);
    fputs("- Redaction: no prompt, completion, error message or credential is recorded in "
          "evidence (`redaction_status`); secrets in the configuration below are "
          "`[REDACTED]`.\n\n",
          f);
    fputs("## Probes\n\n", f);
    summary(f, p);
    fputs("\n## Timeline of runs (UTC, oldest first)\n\n", f);
    runs_table(f, p);
    fputs("\n## Attempts\n\n", f);
    attempts_table(f, p);
    fputs("\n## Effective configuration\n\n", f);
    int rc = write_config(f, cfg);
    fputs("\nThe evidence lines above are in `evidence.jsonl` next to this file.\n", f);
    return rc;
}

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < cap)
        snprintf(err + n, cap - (size_t)n, ": %s", strerror(-rc));
    return rc;
}

static int write_files(const packet *p, const char *evidence_path, uint64_t since,
                       const char *out_dir, const sc_config *cfg, char *err, size_t errcap)
{
    char path[4096];
    FILE *f = create(out_dir, "evidence.jsonl", path, sizeof path);
    if (f == NULL)
        return fail(err, errcap, -errno, "cannot create %s", path);
    int rc = 0;
    for (size_t i = 0; i < p->n && rc == 0; i++)
        if (fputs(p->rows[i].line, f) < 0)
            rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        return fail(err, errcap, rc, "cannot write %s", path);
    if ((f = create(out_dir, "support-packet.md", path, sizeof path)) == NULL)
        return fail(err, errcap, -errno, "cannot create %s", path);
    rc = write_report(f, p, evidence_path, since, cfg);
    if (ferror(f) && rc == 0)
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc < 0 ? fail(err, errcap, rc, "cannot write %s", path) : 0;
}

int sc_support_packet_write(const char *evidence_path, uint64_t since, const char *out_dir,
                            const sc_config *cfg, char *err, size_t errcap)
{
    if (evidence_path == NULL || out_dir == NULL || cfg == NULL || err == NULL || errcap == 0)
        return -EINVAL;
    err[0] = '\0';
    struct stat st;
    if (mkdir(out_dir, 0700) != 0 &&
        !(errno == EEXIST && stat(out_dir, &st) == 0 && S_ISDIR(st.st_mode)))
        return fail(err, errcap, -(errno == EEXIST ? ENOTDIR : errno),
                    "cannot create the output directory %s", out_dir);
    packet p = {0};
    load_key(cfg, &p);
    int rc = read_evidence(evidence_path, since, &p);
    if (rc < 0) {
        free_packet(&p);
        return fail(err, errcap, rc, "cannot read the evidence file %s", evidence_path);
    }
    if (p.n > 1)
        qsort(p.rows, p.n, sizeof *p.rows, by_time);
    rc = write_files(&p, evidence_path, since, out_dir, cfg, err, errcap);
    free_packet(&p);
    return rc;
}
