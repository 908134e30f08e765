/* sse.c - owns: the SSE line state machine. Bytes are consumed one state transition at a time
 * (runs of value bytes at once), so a chunk boundary can fall anywhere, including between the CR
 * and LF of a CRLF or inside the BOM, without a line buffer. */
#include "canary/sse.h"

#include <errno.h>
#include <string.h>

#define MAX_EVENT_LIMIT ((size_t)64 << 20)
/* Retry values above this are ignored rather than wrapped. */
#define RETRY_LIMIT 0xffffffffu

enum { ST_START, ST_NAME, ST_VALUE_START, ST_VALUE, ST_COMMENT };
enum { F_IGNORE, F_DATA, F_EVENT, F_ID, F_RETRY };

static const unsigned char bom_bytes[3] = {0xef, 0xbb, 0xbf};

static void reset_event(sc_sse *p)
{
    sc_buf_reset(&p->data);
    p->type_len = 0;
    p->type[0] = '\0';
    p->pending = false;
}

/* Drops the event in progress; the rest of its lines are skipped up to the blank line. */
static void poison(sc_sse *p)
{
    reset_event(p);
    p->poisoned = true;
    p->field = F_IGNORE;
}

static void resolve_field(sc_sse *p)
{
    static const struct {
        const char *name;
        uint8_t field;
    } known[] = {{"data", F_DATA}, {"event", F_EVENT}, {"id", F_ID}, {"retry", F_RETRY}};
    p->field = F_IGNORE;
    p->val_len = 0;
    p->val_bad = false;
    p->retry_acc = 0;
    p->retry_digits = false;
    if (p->poisoned || p->name_len >= sizeof p->name)
        return;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) == p->name_len &&
            memcmp(known[i].name, p->name, p->name_len) == 0) {
            p->field = known[i].field;
            return;
        }
    }
}

static void name_byte(sc_sse *p, char c)
{
    /* name_len saturates at sizeof name: such a name matches no known field. */
    if (p->name_len < sizeof p->name)
        p->name[p->name_len++] = c;
}

static int append_data(sc_sse *p, const char *s, size_t n)
{
    int rc = sc_buf_append(&p->data, s, n);
    if (rc == -ENOBUFS) {
        poison(p);
        return 0;
    }
    return rc;
}

static void value_small(sc_sse *p, const char *s, size_t n, size_t cap)
{
    if (p->val_len + n > cap - 1) {
        poison(p);
        return;
    }
    memcpy(p->val + p->val_len, s, n);
    p->val_len += n;
}

static void value_retry(sc_sse *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !p->val_bad; i++) {
        if (s[i] < '0' || s[i] > '9') {
            p->val_bad = true;
            break;
        }
        p->retry_acc = p->retry_acc * 10 + (uint64_t)(s[i] - '0');
        p->retry_digits = true;
        if (p->retry_acc > RETRY_LIMIT)
            p->val_bad = true;
    }
}

static int value_bytes(sc_sse *p, const char *s, size_t n)
{
    switch (p->field) {
    case F_DATA:
        return append_data(p, s, n);
    case F_EVENT:
        value_small(p, s, n, SC_SSE_TYPE_MAX);
        break;
    case F_ID:
        if (memchr(s, '\0', n) != NULL)
            p->val_bad = true;
        value_small(p, s, n, SC_SSE_ID_MAX);
        break;
    case F_RETRY:
        value_retry(p, s, n);
        break;
    default:
        break;
    }
    return 0;
}

static int commit_field(sc_sse *p)
{
    switch (p->field) {
    case F_DATA:
        return append_data(p, "\n", 1);
    case F_EVENT:
        memcpy(p->type, p->val, p->val_len);
        p->type_len = p->val_len;
        p->type[p->type_len] = '\0';
        break;
    case F_ID:
        if (!p->val_bad) {
            memcpy(p->id, p->val, p->val_len);
            p->id_len = p->val_len;
            p->id[p->id_len] = '\0';
        }
        break;
    case F_RETRY:
        if (!p->val_bad && p->retry_digits)
            p->retry_ms = (int64_t)p->retry_acc;
        break;
    default:
        break;
    }
    return 0;
}

static int dispatch(sc_sse *p)
{
    if (p->poisoned) {
        p->poisoned = false;
        p->stats.oversize++;
        reset_event(p);
        return 0;
    }
    if (p->data.len == 0) {
        reset_event(p);
        return 0;
    }
    p->data.len--; /* the "\n" every data line appended */
    p->data.data[p->data.len] = '\0';
    sc_sse_event ev = {
        .type = p->type_len ? p->type : "message",
        .type_len = p->type_len ? p->type_len : strlen("message"),
        .data = p->data.data,
        .data_len = p->data.len,
        .id = p->id,
        .id_len = p->id_len,
    };
    p->stats.events++;
    int stop = p->cb(&ev, p->arg);
    reset_event(p);
    return stop ? -ECANCELED : 0;
}

static int end_line(sc_sse *p)
{
    int rc = 0;
    switch (p->state) {
    case ST_START:
        rc = dispatch(p);
        break;
    case ST_NAME:
        resolve_field(p);
        rc = commit_field(p);
        break;
    case ST_VALUE_START:
    case ST_VALUE:
        rc = commit_field(p);
        break;
    default:
        break;
    }
    p->state = ST_START;
    return rc;
}

static size_t run_length(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != '\r' && s[i] != '\n')
        i++;
    return i;
}

/* Handles s[0] (and, for value/comment runs, the bytes after it up to a line end); returns how
 * many bytes were consumed, or a negative errno. */
static long step(sc_sse *p, const char *s, size_t n)
{
    char c = s[0];
    if (p->cr) {
        p->cr = false;
        if (c == '\n')
            return 1;
    }
    if (c == '\r' || c == '\n') {
        p->cr = c == '\r';
        int rc = end_line(p);
        return rc < 0 ? rc : 1;
    }
    switch (p->state) {
    case ST_START:
        if (c == ':') {
            p->state = ST_COMMENT;
            return 1;
        }
        p->pending = true;
        p->name_len = 0;
        p->state = ST_NAME;
        return 0; /* the byte is re-read as the first byte of the name */
    case ST_NAME:
        if (c == ':') {
            resolve_field(p);
            p->state = ST_VALUE_START;
        } else {
            name_byte(p, c);
        }
        return 1;
    case ST_VALUE_START:
        p->state = ST_VALUE;
        return c == ' ' ? 1 : 0;
    case ST_VALUE: {
        size_t run = run_length(s, n);
        int rc = value_bytes(p, s, run);
        return rc < 0 ? rc : (long)run;
    }
    default: /* ST_COMMENT */
        return (long)run_length(s, n);
    }
}

static int parse(sc_sse *p, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        long used = step(p, s + i, n - i);
        if (used < 0)
            return (int)used;
        i += (size_t)used;
    }
    return 0;
}

/* Consumes a leading BOM, possibly split across chunks; a partial match that turns out not to be
 * a BOM is replayed as ordinary bytes. Returns bytes consumed from s, or a negative errno. */
static long skip_bom(sc_sse *p, const char *s, size_t n)
{
    size_t i = 0;
    while (p->bom < 3 && i < n) {
        if ((unsigned char)s[i] == bom_bytes[p->bom]) {
            p->bom++;
            i++;
            continue;
        }
        size_t matched = p->bom;
        p->bom = 3;
        int rc = parse(p, (const char *)bom_bytes, matched);
        if (rc < 0)
            return rc;
    }
    return (long)i;
}

int sc_sse_init(sc_sse *p, size_t max_event_bytes, sc_sse_event_cb on_event, void *arg)
{
    if (p == NULL || on_event == NULL || max_event_bytes == 0 || max_event_bytes > MAX_EVENT_LIMIT)
        return -EINVAL;
    memset(p, 0, sizeof *p);
    sc_buf_init(&p->data, max_event_bytes + 1); /* + the "\n" of the last data line */
    p->retry_ms = -1;
    p->cb = on_event;
    p->arg = arg;
    return 0;
}

int sc_sse_feed(sc_sse *p, const char *ptr, size_t len)
{
    if (p == NULL || p->cb == NULL || (ptr == NULL && len > 0))
        return -EINVAL;
    if (p->err)
        return p->err;
    p->stats.bytes += len;
    long skipped = skip_bom(p, ptr, len);
    int rc = skipped < 0 ? (int)skipped : parse(p, ptr + skipped, len - (size_t)skipped);
    if (rc < 0)
        p->err = rc;
    return rc;
}

int sc_sse_finish(sc_sse *p)
{
    if (p == NULL)
        return 0;
    bool partial_bom = p->bom > 0 && p->bom < 3;
    int discarded = p->pending || p->poisoned || partial_bom;
    if (p->poisoned)
        p->stats.oversize++;
    p->poisoned = false;
    reset_event(p);
    p->state = ST_START;
    p->cr = false;
    p->bom = 0;
    p->err = 0;
    return discarded;
}

int64_t sc_sse_retry_ms(const sc_sse *p)
{
    return p ? p->retry_ms : -1;
}

void sc_sse_get_stats(const sc_sse *p, sc_sse_stats *out)
{
    if (p != NULL && out != NULL)
        *out = p->stats;
}

void sc_sse_free(sc_sse *p)
{
    if (p != NULL)
        sc_buf_free(&p->data);
}
