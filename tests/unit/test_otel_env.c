/* test_otel_env.c - tests for config/otel_env: percent-decoding and "k=v,k=v" list parsing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/otel_env.h"
#include "harness.h"

typedef struct pairs {
    int n;
    char out[512]; /* "k=v;" per pair, with the decoded bytes */
    int stop_at;   /* return -EINTR from this pair on (0: never) */
} pairs;

static int collect(void *ctx, const char *key, size_t kl, const char *value, size_t vl)
{
    pairs *p = ctx;
    CHECK_EQ(strlen(key), kl);
    CHECK_EQ(strlen(value), vl);
    p->n++;
    size_t used = strlen(p->out);
    snprintf(p->out + used, sizeof p->out - used, "%s=%s;", key, value);
    return p->stop_at && p->n >= p->stop_at ? -EINTR : 0;
}

static int parse(const char *s, pairs *p, sc_otel_env_error *err)
{
    char scratch[256];
    memset(p, 0, sizeof *p);
    return sc_otel_env_parse_list(s, strlen(s), scratch, sizeof scratch, collect, p, err);
}

static void percent_decoding(void)
{
    char out[32];
    size_t n;
    CHECK_EQ(sc_otel_env_percent_decode("a%20b%2Cc%3d", 12, out, sizeof out, &n), 0);
    CHECK_STR(out, "a b,c=");
    CHECK_EQ(n, 6);
    CHECK_EQ(sc_otel_env_percent_decode("%e2%82%AC", 9, out, sizeof out, &n), 0);
    CHECK_STR(out, "\xe2\x82\xac");
    CHECK_EQ(sc_otel_env_percent_decode("a+b", 3, out, sizeof out, &n), 0);
    CHECK_STR(out, "a+b");
    CHECK_EQ(sc_otel_env_percent_decode("", 0, out, sizeof out, &n), 0);
    CHECK_STR(out, "");
    CHECK_EQ(sc_otel_env_percent_decode("%", 1, out, sizeof out, &n), -EINVAL);
    CHECK_EQ(sc_otel_env_percent_decode("%2", 2, out, sizeof out, &n), -EINVAL);
    CHECK_EQ(sc_otel_env_percent_decode("%zz", 3, out, sizeof out, &n), -EINVAL);
    CHECK_EQ(sc_otel_env_percent_decode("%00", 3, out, sizeof out, &n), -EINVAL);
    CHECK_EQ(sc_otel_env_percent_decode("abcd", 4, out, 4, &n), -ENOBUFS); /* no room for NUL */
    CHECK_EQ(sc_otel_env_percent_decode("abc", 3, out, 4, &n), 0);
    CHECK_EQ(sc_otel_env_percent_decode("abc", 3, NULL, 0, &n), 0); /* measure only */
    CHECK_EQ(n, 3);
    /* only the first n bytes are read */
    CHECK_EQ(sc_otel_env_percent_decode("ab%2", 2, out, sizeof out, &n), 0);
    CHECK_STR(out, "ab");
}

static void lists_parse_with_trimming(void)
{
    pairs p;
    sc_otel_env_error err;
    CHECK_EQ(parse("service.name=checkout,deployment.environment=prod", &p, &err), 0);
    CHECK_EQ(p.n, 2);
    CHECK_STR(p.out, "service.name=checkout;deployment.environment=prod;");
    CHECK_EQ(parse("  a = 1 ,\tb=two words\t, ", &p, &err), 0);
    CHECK_STR(p.out, "a=1;b=two words;");
    CHECK_EQ(parse("k%20x=v%2C1,empty=", &p, &err), 0);
    CHECK_STR(p.out, "k x=v,1;empty=;");
    CHECK_EQ(parse("Authorization=Basic dXNlcjpwYXNz==", &p, &err), 0);
    CHECK_STR(p.out, "Authorization=Basic dXNlcjpwYXNz==;"); /* split at the first '=' */
    CHECK_EQ(parse("", &p, &err), 0);
    CHECK_EQ(p.n, 0);
    CHECK_EQ(parse(",, ,", &p, &err), 0); /* blank entries are skipped */
    CHECK_EQ(p.n, 0);
    CHECK_EQ(parse("a=1,a=2", &p, &err), 0); /* duplicates are the caller's business */
    CHECK_STR(p.out, "a=1;a=2;");
}

static void malformed_lists_are_rejected_whole(void)
{
    pairs p;
    sc_otel_env_error err;
    CHECK_EQ(parse("a=1,b", &p, &err), -EINVAL);
    CHECK_EQ(p.n, 0); /* validated before the first callback */
    CHECK_EQ(err.entry, 2);
    CHECK_STR(err.reason, "entry has no '='");
    CHECK_EQ(parse("a=1, =2", &p, &err), -EINVAL);
    CHECK_EQ(err.entry, 2);
    CHECK_STR(err.reason, "entry has an empty key");
    CHECK_EQ(parse("a=1,,b=%G0", &p, &err), -EINVAL);
    CHECK_EQ(err.entry, 3);
    CHECK_STR(err.reason, "entry has an invalid percent-encoding");
    CHECK_EQ(parse("%=1", &p, &err), -EINVAL);
    CHECK_EQ(parse("a=%00", &p, &err), -EINVAL);
    CHECK_EQ(p.n, 0);

    char small[8];
    memset(&p, 0, sizeof p);
    const char *s = "a=1,long=value";
    CHECK_EQ(sc_otel_env_parse_list(s, strlen(s), small, sizeof small, collect, &p, &err),
             -ENOBUFS);
    CHECK_EQ(p.n, 0);
    CHECK_EQ(err.entry, 2);
    CHECK_STR(err.reason, "entry is too long");
    /* exactly fits: "long\0value\0" needs 11 bytes */
    char fit[11];
    CHECK_EQ(sc_otel_env_parse_list(s + 4, 10, fit, sizeof fit, collect, &p, &err), 0);
    CHECK_STR(p.out, "long=value;");
}

static void callback_errors_stop_the_walk(void)
{
    char scratch[64];
    pairs p;
    sc_otel_env_error err;
    memset(&p, 0, sizeof p);
    p.stop_at = 2;
    const char *s = "a=1,b=2,c=3";
    CHECK_EQ(sc_otel_env_parse_list(s, strlen(s), scratch, sizeof scratch, collect, &p, &err),
             -EINTR);
    CHECK_EQ(p.n, 2);
    /* the list is bounded by n, not by a NUL */
    memset(&p, 0, sizeof p);
    CHECK_EQ(sc_otel_env_parse_list(s, 3, scratch, sizeof scratch, collect, &p, &err), 0);
    CHECK_STR(p.out, "a=1;");
}

int main(void)
{
    RUN(percent_decoding);
    RUN(lists_parse_with_trimming);
    RUN(malformed_lists_are_rejected_whole);
    RUN(callback_errors_stop_the_walk);
    return sc_test_summary();
}
