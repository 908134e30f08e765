/* otel_env.c - owns: parsing OTel "key=value,key=value" environment lists and percent-decoding. */
#include "config/otel_env.h"

#include <errno.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sc_otel_env_percent_decode(const char *in, size_t n, char *out, size_t cap, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++, o++) {
        char c = in[i];
        if (c == '%') {
            if (n - i < 3)
                return -EINVAL;
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (out != NULL) {
            if (o + 1 >= cap)
                return -ENOBUFS;
            out[o] = c;
        }
    }
    if (out != NULL) {
        if (cap == 0)
            return -ENOBUFS;
        out[o] = '\0';
    }
    *out_len = o;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b))
        (*b)++;
    while (*e > *b && is_space((*e)[-1]))
        (*e)--;
}

/* One entry [b, e): 1 when blank, 0 with the pair decoded into scratch (when scratch is set) or
 * validated, negative on error. */
static int entry(const char *b, const char *e, char *scratch, size_t cap, size_t *kl, size_t *vl,
                 const char **reason)
{
    trim(&b, &e);
    if (b == e)
        return 1;
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (eq == NULL) {
        *reason = "entry has no '='";
        return -EINVAL;
    }
    const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
    trim(&kb, &ke);
    trim(&vb, &ve);
    if (kb == ke) {
        *reason = "entry has an empty key";
        return -EINVAL;
    }
    int rc = sc_otel_env_percent_decode(kb, (size_t)(ke - kb), scratch, cap, kl);
    if (rc == 0) {
        char *vout = scratch ? scratch + *kl + 1 : NULL;
        rc = sc_otel_env_percent_decode(vb, (size_t)(ve - vb), vout, scratch ? cap - *kl - 1 : 0,
                                        vl);
    }
    if (rc == -EINVAL)
        *reason = "entry has an invalid percent-encoding";
    else if (rc == 0 && scratch == NULL && *kl + *vl + 2 > cap)
        rc = -ENOBUFS; /* checked while validating so no callback runs for a list that fails */
    if (rc == -ENOBUFS)
        *reason = "entry is too long";
    return rc;
}

static int walk(const char *s, size_t n, char *scratch, size_t cap, sc_otel_env_pair_fn fn,
                void *ctx, sc_otel_env_error *err)
{
    const char *p = s, *end = s + n;
    for (size_t idx = 1;; idx++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        size_t kl = 0, vl = 0;
        int rc = entry(p, e, fn ? scratch : NULL, cap, &kl, &vl, &err->reason);
        if (rc < 0) {
            err->entry = idx;
            return rc;
        }
        if (rc == 0 && fn != NULL && (rc = fn(ctx, scratch, kl, scratch + kl + 1, vl)) != 0)
            return rc;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int sc_otel_env_parse_list(const char *s, size_t n, char *scratch, size_t cap,
                           sc_otel_env_pair_fn fn, void *ctx, sc_otel_env_error *err)
{
    err->entry = 0;
    err->reason = NULL;
    int rc = walk(s, n, NULL, cap, NULL, NULL, err);
    return rc != 0 ? rc : walk(s, n, scratch, cap, fn, ctx, err);
}
