/* test_canary_sse.c - tests for canary/sse: line endings, split feeds (every split point and byte
 * by byte give the same events), comments, fields, BOM, oversize policy, EOF handling. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "canary/sse.h"
#include "harness.h"

/* Events serialised as "type|id|data\n" (data bytes as is) so whole runs compare with strcmp. */
typedef struct rec {
    char out[8192];
    size_t len;
    int n;
    int stop_after; /* callback returns nonzero on this event number (1-based); 0 = never */
} rec;

static int on_event(const sc_sse_event *ev, void *arg)
{
    rec *r = arg;
    int w = snprintf(r->out + r->len, sizeof r->out - r->len, "%.*s|%.*s|", (int)ev->type_len,
                     ev->type, (int)ev->id_len, ev->id);
    if (w > 0)
        r->len += (size_t)w;
    if (r->len + ev->data_len + 2 < sizeof r->out) {
        memcpy(r->out + r->len, ev->data, ev->data_len);
        r->len += ev->data_len;
        r->out[r->len++] = '\n';
        r->out[r->len] = '\0';
    }
    /* The documented NUL termination of every field. */
    CHECK(ev->type[ev->type_len] == '\0' && ev->id[ev->id_len] == '\0');
    CHECK(ev->data[ev->data_len] == '\0');
    r->n++;
    return r->stop_after != 0 && r->n == r->stop_after;
}

/* Feeds s[0..n) in pieces given by cuts (ascending offsets), each piece copied to an exact-size
 * heap buffer so ASan sees any over-read. Returns sc_sse_finish's value. */
static int run_cuts(const char *s, size_t n, size_t max_event, const size_t *cuts, size_t n_cuts,
                    rec *r)
{
    sc_sse p;
    memset(r, 0, sizeof *r);
    if (sc_sse_init(&p, max_event, on_event, r) != 0) {
        CHECK(!"sc_sse_init failed");
        return -1;
    }
    size_t at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : n;
        char *piece = malloc(end - at + 1);
        memcpy(piece, s + at, end - at);
        CHECK_EQ(sc_sse_feed(&p, piece, end - at), 0);
        free(piece);
        at = end;
    }
    int discarded = sc_sse_finish(&p);
    sc_sse_free(&p);
    return discarded;
}

static int run_whole(const char *s, size_t n, size_t max_event, rec *r)
{
    return run_cuts(s, n, max_event, NULL, 0, r);
}

#define S(lit) lit, sizeof(lit) - 1

static void check_stream(const char *s, size_t n, const char *want)
{
    rec r;
    run_whole(s, n, 4096, &r);
    CHECK_STR(r.out, want);
}

static void line_endings(void)
{
    check_stream(S("data: hello\n\n"), "message||hello\n");
    check_stream(S("data: a\r\ndata: b\r\n\r\n"), "message||a\nb\n");
    check_stream(S("event: x\rdata: y\r\r"), "x||y\n");
    check_stream(S("data: a\rdata: b\r\n\ndata: c\n\r"), "message||a\nb\nmessage||c\n");
    /* A CR ends the data line, then CRLF is the blank line: one event, not two. */
    check_stream(S("data: a\r\r\ndata: b\n\n"), "message||a\nmessage||b\n");
}

static void fields(void)
{
    check_stream(S("data:no-space\n\ndata:  two spaces\n\n"),
                 "message||no-space\nmessage|| two spaces\n");
    check_stream(S(": comment\ndata: x\n: another\n\n"), "message||x\n");
    check_stream(S("data\ndata\ndata\n\n"), "message||\n\n\n"); /* three empty lines: "\n\n" */
    check_stream(S("data\n\n"), "message||\n");                 /* empty data still dispatches */
    check_stream(S("foo: bar\ndata: x\n\n"), "message||x\n");
    check_stream(S("data : x\n\n"), "");                           /* field "data " is unknown */
    check_stream(S("DATA: x\n\n"), "");                            /* names are case-sensitive */
    check_stream(S("event: ping\n\ndata: z\n\n"), "message||z\n"); /* no data: no event */
    check_stream(S("event: response.created\ndata: {}\n\n"), "response.created||{}\n");
    check_stream(S("event\ndata: e\n\n"), "message||e\n"); /* empty type means message */
    check_stream(S("data: a: b\n\n"), "message||a: b\n");  /* only the first colon splits */
    check_stream(S("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"),
                 "message|1|a\nmessage|1|b\nmessage||c\n"); /* ids persist; empty id resets */
    check_stream(S("id: 7\ndata: a\n\nid: x\0y\ndata: b\n\n"),
                 "message|7|a\nmessage|7|b\n"); /* an id containing NUL is ignored */
    check_stream(S("data: a\0b\n\n"), "message||a\0b\n");
    check_stream(S("verylongfieldname: v\ndata: ok\n\n"), "message||ok\n");
}

static int64_t retry_of(const char *s, size_t n)
{
    rec r;
    sc_sse p;
    memset(&r, 0, sizeof r);
    if (sc_sse_init(&p, 64, on_event, &r) != 0)
        return -2;
    sc_sse_feed(&p, s, n);
    int64_t v = sc_sse_retry_ms(&p);
    sc_sse_free(&p);
    return v;
}

static void retry_field(void)
{
    CHECK_EQ(retry_of(S("retry: 1500\n")), 1500);
    CHECK_EQ(retry_of(S("retry: 1500\nretry: 15x\n")), 1500); /* invalid: ignored */
    CHECK_EQ(retry_of(S("retry:\n")), -1);
    CHECK_EQ(retry_of(S("retry: -5\n")), -1);
    CHECK_EQ(retry_of(S("retry: 99999999999\n")), -1); /* overflow ignored, not wrapped */
    CHECK_EQ(retry_of(S("retry: 0\n")), 0);
    CHECK_EQ(retry_of(S("retry: 10")), -1); /* the line never ended */
}

static void bom(void)
{
    check_stream(S("\xEF\xBB\xBF"
                   "data: bom\n\n"),
                 "message||bom\n");
    /* Only one BOM is skipped: a second is part of the field name, which is then unknown. */
    check_stream(S("\xEF\xBB\xBF\xEF\xBB\xBF"
                   "data: x\n\n"),
                 "");
    /* A BOM later in the stream is data. */
    check_stream(S("data: \xEF\xBB\xBF\n\n"), "message||\xEF\xBB\xBF\n");
    /* A partial BOM that is not one is replayed as ordinary bytes. */
    check_stream(S("\xEF"
                   "data: x\n\ndata: y\n\n"),
                 "message||y\n");
}

static const struct {
    const char *s;
    size_t n;
} corpus[] = {
    {S("data: hello\n\n")},
    {S("data: a\r\ndata: b\r\n\r\n")},
    {S("event: x\rdata: y\r\r")},
    {S("\xEF\xBB\xBF"
       "event: response.output_text.delta\r\n"
       "data: {\"type\":\"response.output_text.delta\",\"delta\":\"ok\"}\r\n\r\n")},
    {S(": keepalive\n\nid: 42\nretry: 100\ndata: one\ndata:two\n\ndata\n\n")},
    {S("data: a\r\r\ndata: b\n\nevent: e\nid: x\ndata: [DONE]\n\n")},
    {S("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\"}\n\ndata: [DONE]\n\n")},
    {S("\xEF\xBB"
       "\ndata: after-a-half-bom\n\n")},
    {S("data: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n"
       "data: fits\n\n")}, /* the first is oversize */
};

static void split_anywhere(void)
{
    for (size_t c = 0; c < sizeof corpus / sizeof corpus[0]; c++) {
        const char *s = corpus[c].s;
        size_t n = corpus[c].n;
        rec whole, part;
        int d_whole = run_whole(s, n, 64, &whole);
        for (size_t k = 1; k < n; k++) {
            run_cuts(s, n, 64, &k, 1, &part);
            CHECK_STR(part.out, whole.out);
        }
        for (size_t k = 1; k + 1 < n; k++) { /* three pieces: k and k + 1 */
            size_t cuts[2] = {k, k + 1};
            int d = run_cuts(s, n, 64, cuts, 2, &part);
            CHECK_STR(part.out, whole.out);
            CHECK_EQ(d, d_whole);
        }
        size_t *every = malloc(n * sizeof *every);
        for (size_t k = 0; k + 1 < n; k++)
            every[k] = k + 1;
        int d = run_cuts(s, n, 64, every, n ? n - 1 : 0, &part);
        free(every);
        CHECK_STR(part.out, whole.out);
        CHECK_EQ(d, d_whole);
        CHECK(whole.n > 0);
    }
}

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

/* A deliberately naive whole-buffer implementation of the spec's algorithm, to check the
 * incremental parser against something written differently. No bounds: inputs are small. */
static void reference(const char *s, size_t n, rec *r)
{
    char data[512], type[256], id[256];
    size_t dl = 0, tl = 0, il = 0, i = 0;
    memset(r, 0, sizeof *r);
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '\r' && s[j] != '\n')
            j++;
        if (j == n)
            break; /* unterminated line: discarded */
        const char *line = s + i;
        size_t len = j - i, next = j + 1;
        if (s[j] == '\r' && next < n && s[next] == '\n')
            next++;
        i = next;
        if (len == 0) {
            if (dl > 0) {
                data[dl - 1] = '\0';
                type[tl] = '\0';
                sc_sse_event ev = {tl ? type : "message", tl ? tl : 7, data, dl - 1, id, il};
                id[il] = '\0';
                on_event(&ev, r);
            }
            dl = tl = 0;
            continue;
        }
        if (line[0] == ':')
            continue;
        const char *colon = memchr(line, ':', len);
        size_t nl = colon ? (size_t)(colon - line) : len;
        const char *v = colon ? colon + 1 : line + len;
        size_t vl = colon ? len - nl - 1 : 0;
        if (vl > 0 && v[0] == ' ') {
            v++;
            vl--;
        }
        if (nl == 4 && memcmp(line, "data", 4) == 0) {
            memcpy(data + dl, v, vl);
            dl += vl;
            data[dl++] = '\n';
        } else if (nl == 5 && memcmp(line, "event", 5) == 0) {
            memcpy(type, v, vl);
            tl = vl;
        } else if (nl == 2 && memcmp(line, "id", 2) == 0 && memchr(v, '\0', vl) == NULL) {
            memcpy(id, v, vl);
            il = vl;
        }
    }
}

/* Random streams over an alphabet full of SSE syntax: whole vs random cuts must agree and
 * nothing may crash or over-read (ASan). */
static void random_streams(void)
{
    static const struct {
        const char *t;
        size_t n;
    } tok[] = {{S("data")}, {S("data")}, {S("event")}, {S("id")},           {S("retry")},
               {S(":")},    {S(": ")},   {S(" ")},     {S("\r")},           {S("\n")},
               {S("\r\n")}, {S("x")},    {S("12")},    {S("\xEF\xBB\xBF")}, {S("\0")},
               {S("\n\n")}};
    uint32_t st = 12345;
    int total_events = 0;
    for (int iter = 0; iter < 4000; iter++) {
        char s[128];
        size_t n = 0, want = lcg(&st) % 100;
        while (n < want) {
            size_t k = lcg(&st) % (sizeof tok / sizeof tok[0]);
            memcpy(s + n, tok[k].t, tok[k].n);
            n += tok[k].n;
        }
        rec whole, part, ref, big;
        int d_whole = run_whole(s, n, 8, &whole);
        reference(s, n, &ref);
        run_whole(s, n, 4096, &big); /* no bound hit: must equal the reference */
        CHECK_STR(big.out, ref.out);
        total_events += big.n;
        size_t cuts[4];
        size_t n_cuts = 0;
        for (size_t i = 0; i < 4 && n > 0; i++) {
            size_t c = lcg(&st) % n;
            if (c > 0 && (n_cuts == 0 || c > cuts[n_cuts - 1]))
                cuts[n_cuts++] = c;
        }
        int d = run_cuts(s, n, 8, cuts, n_cuts, &part);
        CHECK_STR(part.out, whole.out);
        CHECK_EQ(d, d_whole);
    }
    CHECK(total_events > 400); /* the generator does exercise dispatch */
}

static void oversize(void)
{
    rec r;
    sc_sse p;
    memset(&r, 0, sizeof r);
    REQUIRE(sc_sse_init(&p, 8, on_event, &r) == 0);
    /* Exactly at the bound: dispatched. */
    CHECK_EQ(sc_sse_feed(&p, S("data: 12345678\n\n")), 0);
    /* One byte over: dropped whole; its later lines (the id) are skipped; the next event is
     * dispatched normally. */
    CHECK_EQ(sc_sse_feed(&p, S("data: 123456789\nid: 9\ndata: x\n\ndata: ok\n\n")), 0);
    /* Joined lines count with their "\n": 4 + 1 + 4 = 9 > 8. */
    CHECK_EQ(sc_sse_feed(&p, S("data: 1234\ndata: 5678\n\n")), 0);
    char big[400];
    memset(big, 'e', sizeof big);
    CHECK_EQ(sc_sse_feed(&p, S("event: ")), 0);
    CHECK_EQ(sc_sse_feed(&p, big, SC_SSE_TYPE_MAX), 0); /* one past the type bound */
    CHECK_EQ(sc_sse_feed(&p, S("\ndata: t\n\n")), 0);
    CHECK_EQ(sc_sse_feed(&p, S("id: ")), 0);
    CHECK_EQ(sc_sse_feed(&p, big, SC_SSE_ID_MAX), 0);
    CHECK_EQ(sc_sse_feed(&p, S("\ndata: i\n\n")), 0);
    CHECK_EQ(sc_sse_feed(&p, S("event: ")), 0);
    CHECK_EQ(sc_sse_feed(&p, big, SC_SSE_TYPE_MAX - 1), 0); /* exactly at the bound */
    CHECK_EQ(sc_sse_feed(&p, S("\ndata: T\n\n")), 0);
    /* Comment lines are skipped, never stored, so they have no bound. */
    CHECK_EQ(sc_sse_feed(&p, S(":")), 0);
    CHECK_EQ(sc_sse_feed(&p, big, sizeof big), 0);
    CHECK_EQ(sc_sse_feed(&p, S("\ndata: c\n\n")), 0);
    sc_sse_stats st;
    sc_sse_get_stats(&p, &st);
    CHECK_EQ(st.oversize, 4);
    CHECK_EQ(st.events, 4);
    char want[512];
    snprintf(want, sizeof want, "message||12345678\nmessage||ok\n%.*s||T\nmessage||c\n",
             SC_SSE_TYPE_MAX - 1, big);
    CHECK_STR(r.out, want);
    /* An oversize event cut by EOF is counted and reported as discarded. */
    CHECK_EQ(sc_sse_feed(&p, S("data: 1234567890")), 0);
    CHECK_EQ(sc_sse_finish(&p), 1);
    sc_sse_get_stats(&p, &st);
    CHECK_EQ(st.oversize, 5);
    sc_sse_free(&p);
}

static int finish_of(const char *s, size_t n, int *events)
{
    rec r;
    int d = run_whole(s, n, 64, &r);
    *events = r.n;
    return d;
}

static void end_of_stream(void)
{
    int n;
    CHECK_EQ(finish_of(S("data: x\n\n"), &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(finish_of(S("data: x\n"), &n), 1); /* no blank line: discarded */
    CHECK_EQ(n, 0);
    CHECK_EQ(finish_of(S("data: x"), &n), 1);
    CHECK_EQ(finish_of(S("data: x\r"), &n), 1);
    CHECK_EQ(n, 0);
    CHECK_EQ(finish_of(S("event: e\n"), &n), 1);
    CHECK_EQ(finish_of(S(": comment"), &n), 0);
    CHECK_EQ(finish_of(S(": comment\n"), &n), 0);
    CHECK_EQ(finish_of(S(""), &n), 0);
    CHECK_EQ(finish_of(S("\xEF\xBB"), &n), 1);
    CHECK_EQ(finish_of(S("\xEF\xBB\xBF"), &n), 0);
    CHECK_EQ(finish_of(S("data: a\n\ndata: b"), &n), 1);
    CHECK_EQ(n, 1);

    /* After finish the parser takes a new stream; the last event ID survives (a reconnect). */
    rec r;
    sc_sse p;
    memset(&r, 0, sizeof r);
    REQUIRE(sc_sse_init(&p, 64, on_event, &r) == 0);
    CHECK_EQ(sc_sse_feed(&p, S("id: 5\ndata: a\n\ndata: partial")), 0);
    CHECK_EQ(sc_sse_finish(&p), 1);
    CHECK_EQ(sc_sse_feed(&p, S("\xEF\xBB\xBF"
                               "data: b\n\n")),
             0);
    CHECK_EQ(sc_sse_finish(&p), 0);
    CHECK_STR(r.out, "message|5|a\nmessage|5|b\n");
    sc_sse_free(&p);
}

static void callback_stop_and_args(void)
{
    rec r;
    sc_sse p;
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    CHECK_EQ(sc_sse_init(&p, 0, on_event, &r), -EINVAL);
    CHECK_EQ(sc_sse_init(&p, 64, NULL, &r), -EINVAL);
    REQUIRE(sc_sse_init(&p, 64, on_event, &r) == 0);
    CHECK_EQ(sc_sse_feed(&p, NULL, 3), -EINVAL);
    CHECK_EQ(sc_sse_feed(&p, NULL, 0), 0);
    CHECK_EQ(sc_sse_feed(&p, S("data: a\n\ndata: b\n\n")), -ECANCELED);
    CHECK_EQ(r.n, 1);
    CHECK_EQ(sc_sse_feed(&p, S("data: c\n\n")), -ECANCELED); /* sticky */
    CHECK_EQ(r.n, 1);
    sc_sse_finish(&p);
    r.stop_after = 0;
    CHECK_EQ(sc_sse_feed(&p, S("data: d\n\n")), 0);
    CHECK_EQ(r.n, 2);
    sc_sse_stats st;
    sc_sse_get_stats(&p, &st);
    CHECK_EQ(st.events, 2);
    sc_sse_free(&p);
    sc_sse_free(&p); /* idempotent */
    sc_sse_free(NULL);
}

int main(void)
{
    RUN(line_endings);
    RUN(fields);
    RUN(retry_field);
    RUN(bom);
    RUN(split_anywhere);
    RUN(random_streams);
    RUN(oversize);
    RUN(end_of_stream);
    RUN(callback_stop_and_args);
    return sc_test_summary();
}
