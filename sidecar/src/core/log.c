/* log.c - owns: formatting one log line, secret scrubbing and the single write(2) per line. */
#include "core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "core/buf.h"
#include "core/jsonw.h"

struct sc_log {
    int fd;
    sc_log_level level;
    const sc_clock *clock;
    sc_buf line;
    char *secrets[SC_LOG_MAX_SECRETS];
};

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int sc_log_new(sc_log **out, int fd, sc_log_level level, const sc_clock *clock)
{
    sc_log *log = calloc(1, sizeof *log);
    if (log == NULL)
        return -ENOMEM;
    log->fd = fd;
    log->level = level;
    log->clock = clock;
    sc_buf_init(&log->line, SC_LOG_LINE_MAX);
    *out = log;
    return 0;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void sc_log_free(sc_log *log)
{
    if (log == NULL)
        return;
    for (unsigned i = 0; i < SC_LOG_MAX_SECRETS; i++)
        wipe_free(log->secrets[i]);
    sc_buf_free(&log->line);
    free(log);
}

void sc_log_set_level(sc_log *log, sc_log_level level)
{
    log->level = level;
}

int sc_log_enabled(const sc_log *log, sc_log_level level)
{
    return log != NULL && level != SC_LOG_OFF && level >= log->level;
}

int sc_log_set_secret(sc_log *log, unsigned slot, const char *secret)
{
    if (slot >= SC_LOG_MAX_SECRETS)
        return -EINVAL;
    char *copy = NULL;
    if (secret != NULL && strlen(secret) >= 4 && (copy = strdup(secret)) == NULL)
        return -ENOMEM;
    wipe_free(log->secrets[slot]);
    log->secrets[slot] = copy;
    return 0;
}

int sc_log_level_parse(const char *s, sc_log_level *out)
{
    for (int i = SC_LOG_DEBUG; i <= SC_LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (sc_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = SC_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

const char *sc_log_level_name(sc_log_level level)
{
    return level <= SC_LOG_OFF ? level_names[level] : "unknown";
}

const char *sc_log_strerror(int negative_errno)
{
    return uv_strerror(negative_errno);
}

static int append_field(sc_buf *b, const sc_log_field *f)
{
    int rc = sc_buf_append(b, ",", 1);
    if (rc == 0)
        rc = sc_jsonw_cstr(b, f->key);
    if (rc == 0)
        rc = sc_buf_append(b, ":", 1);
    if (rc != 0)
        return rc;
    switch (f->type) {
    case SC_LF_STR:
        return sc_jsonw_cstr(b, f->v.s);
    case SC_LF_INT:
        return sc_jsonw_i64(b, f->v.i);
    case SC_LF_UINT:
        return sc_jsonw_u64(b, f->v.u);
    case SC_LF_DBL:
        return sc_jsonw_double(b, f->v.d);
    case SC_LF_BOOL:
        return sc_buf_append_str(b, f->v.b ? "true" : "false");
    case SC_LF_END:
        break;
    }
    return sc_buf_append_str(b, "null");
}

/* Overwrites every occurrence of a registered secret in place. The replacement is padded with
 * '*' to the secret's length so the JSON stays valid and nothing of the secret survives. */
static void scrub(sc_log *log)
{
    for (unsigned i = 0; i < SC_LOG_MAX_SECRETS; i++) {
        const char *sec = log->secrets[i];
        if (sec == NULL)
            continue;
        size_t n = strlen(sec);
        char *p = log->line.data;
        char *end = log->line.data + log->line.len;
        while ((p = memmem(p, (size_t)(end - p), sec, n)) != NULL) {
            static const char mark[] = "[REDACTED]";
            size_t m = n < sizeof mark - 1 ? n : sizeof mark - 1;
            memcpy(p, mark, m);
            memset(p + m, '*', n - m);
            p += n;
        }
    }
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log stream */
        }
        p += w;
        n -= (size_t)w;
    }
}

void sc_log_emit(sc_log *log, sc_log_level level, const char *msg, const sc_log_field *fields)
{
    char when[32];
    sc_buf *b = &log->line;
    sc_buf_reset(b);
    sc_clock_format_rfc3339_ms(sc_clock_wall_ns(log->clock), when, sizeof when);
    sc_buf_append_str(b, "{\"time\":\"");
    sc_buf_append_str(b, when);
    sc_buf_append_str(b, "\",\"level\":\"");
    sc_buf_append_str(b, sc_log_level_name(level));
    sc_buf_append_str(b, "\",\"msg\":");
    int rc = sc_jsonw_cstr(b, msg);
    /* The last 32 bytes of the cap are kept for the closing, so a cut line is still valid JSON. */
    for (const sc_log_field *f = fields; rc == 0 && f->type != SC_LF_END; f++) {
        size_t mark = b->len;
        rc = append_field(b, f);
        if (rc != 0 || b->len > b->max - 32) {
            b->len = mark;
            rc = -ENOBUFS;
        }
    }
    if (rc != 0)
        sc_buf_append_str(b, ",\"truncated\":true");
    sc_buf_append(b, "}\n", 2);
    scrub(log);
    write_all(log->fd, b->data, b->len);
}
