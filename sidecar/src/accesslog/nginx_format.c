/* nginx_format.c - owns: the log_format compiler (directive and format syntax, variable table)
 * and the layout matcher. */
#include "accesslog/nginx_format.h"

#include <errno.h>
#include <string.h>

#define BIT SC_ACCESSLOG_BIT

enum { K_TOKEN = 0, K_LIST, K_TIME_LOCAL, K_REQUEST };

typedef struct var_def {
    const char *name;
    int8_t field;
    uint8_t rank;
    uint8_t kind;
} var_def;

static const var_def vars[] = {
    {"msec", SC_ACCESSLOG_FIELD_TIME, 0, K_TOKEN},
    {"time_iso8601", SC_ACCESSLOG_FIELD_TIME, 1, K_TOKEN},
    {"time_local", SC_ACCESSLOG_FIELD_TIME, 2, K_TIME_LOCAL},
    {"request", SC_ACCESSLOG_FIELD_REQUEST, 0, K_REQUEST},
    {"request_method", SC_ACCESSLOG_FIELD_METHOD, 0, K_TOKEN},
    {"request_uri", SC_ACCESSLOG_FIELD_PATH, 0, K_TOKEN},
    {"uri", SC_ACCESSLOG_FIELD_PATH, 1, K_TOKEN},
    {"document_uri", SC_ACCESSLOG_FIELD_PATH, 2, K_TOKEN},
    {"status", SC_ACCESSLOG_FIELD_STATUS, 0, K_TOKEN},
    {"request_time", SC_ACCESSLOG_FIELD_DURATION, 0, K_TOKEN},
    {"upstream_status", SC_ACCESSLOG_FIELD_UPSTREAM_STATUS, 0, K_LIST},
    {"upstream_addr", SC_ACCESSLOG_FIELD_UPSTREAM_ADDR, 0, K_LIST},
    {"http_x_request_id", SC_ACCESSLOG_FIELD_REQUEST_ID, 0, K_TOKEN},
    {"request_id", SC_ACCESSLOG_FIELD_REQUEST_ID, 1, K_TOKEN},
    {"http_traceparent", SC_ACCESSLOG_FIELD_TRACEPARENT, 0, K_TOKEN},
    {"host", SC_ACCESSLOG_FIELD_HOST, 0, K_TOKEN},
    {"http_host", SC_ACCESSLOG_FIELD_HOST, 1, K_TOKEN},
    {"server_addr", SC_ACCESSLOG_FIELD_SERVER_ADDR, 0, K_TOKEN},
    {"server_port", SC_ACCESSLOG_FIELD_SERVER_PORT, 0, K_TOKEN},
    {"upstream_http_x_llm_model", SC_ACCESSLOG_FIELD_MODEL, 0, K_TOKEN},
    {"upstream_http_x_llm_input_tokens", SC_ACCESSLOG_FIELD_INPUT_TOKENS, 0, K_TOKEN},
    {"upstream_http_x_llm_output_tokens", SC_ACCESSLOG_FIELD_OUTPUT_TOKENS, 0, K_TOKEN},
    {"upstream_http_x_llm_retry_count", SC_ACCESSLOG_FIELD_RETRY_COUNT, 0, K_TOKEN},
    {"upstream_http_x_llm_fallback_reason", SC_ACCESSLOG_FIELD_FALLBACK_REASON, 0, K_TOKEN},
    {"upstream_http_x_llm_usage", SC_ACCESSLOG_FIELD_USAGE_PRESENT, 0, K_TOKEN},
};

static int has_prefix(const char *p, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    return n >= k && memcmp(p, pre, k) == 0;
}

static var_def lookup_var(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strlen(vars[i].name) == n && memcmp(vars[i].name, p, n) == 0)
            return vars[i];
    /* Other per-attempt upstream variables are lists too ("0.010, 0.020 : 0.005"); header,
     * cookie and trailer values are single values from the last attempt. */
    int list = has_prefix(p, n, "upstream_") && !has_prefix(p, n, "upstream_http_") &&
               !has_prefix(p, n, "upstream_cookie_") && !has_prefix(p, n, "upstream_trailer_");
    return (var_def){NULL, -1, 0, (uint8_t)(list ? K_LIST : K_TOKEN)};
}

/* ---- Compile: directive -> joined format ----------------------------------------------------- */

typedef struct joined {
    char s[SC_NGINX_FORMAT_TEXT_BYTES];
    uint16_t src[SC_NGINX_FORMAT_TEXT_BYTES]; /* offset in the input of each joined byte */
    size_t n;
} joined;

static int set_err(sc_accesslog_error *err, int rc, const char *msg, size_t pos, int field)
{
    if (err != NULL)
        *err = (sc_accesslog_error){msg, pos, field};
    return rc;
}

static int push(joined *j, char c, size_t src)
{
    if (j->n == sizeof j->s)
        return -E2BIG;
    j->s[j->n] = c;
    j->src[j->n++] = (uint16_t)(src > UINT16_MAX ? UINT16_MAX : src);
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whitespace and # comments. */
static size_t skip_blank(const char *t, size_t i, size_t n)
{
    while (i < n) {
        if (is_space(t[i])) {
            i++;
        } else if (t[i] == '#') {
            while (i < n && t[i] != '\n')
                i++;
        } else {
            break;
        }
    }
    return i;
}

/* One quoted argument at t[i] (the quote); nginx's config escapes are decoded. */
static int quoted_arg(const char *t, size_t *ip, size_t n, joined *j, sc_accesslog_error *err)
{
    size_t i = *ip, open = i;
    char q = t[i++];
    for (; i < n && t[i] != q; i++) {
        char c = t[i];
        size_t at = i;
        if (c == '\\' && i + 1 < n) {
            char e = t[i + 1];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            if (e == '"' || e == '\'' || e == '\\' || e == 'n' || e == 't' || e == 'r')
                i++;
            else
                c = '\\';
        }
        if (push(j, c, at) < 0)
            return set_err(err, -E2BIG, "format too long", at, -1);
    }
    if (i >= n)
        return set_err(err, -EINVAL, "unterminated quote", open, -1);
    *ip = i + 1;
    return 0;
}

static int escape_arg(const char *t, size_t n, sc_nginx_escape *escape)
{
    if (n == 7 && memcmp(t, "default", 7) == 0)
        *escape = SC_NGINX_ESCAPE_DEFAULT;
    else if (n == 4 && memcmp(t, "json", 4) == 0)
        *escape = SC_NGINX_ESCAPE_JSON;
    else if (n == 4 && memcmp(t, "none", 4) == 0)
        *escape = SC_NGINX_ESCAPE_NONE;
    else
        return -EINVAL;
    return 0;
}

/* log_format NAME [escape=...] ARG... [;] -> joined ARGs. */
static int directive(const char *t, size_t n, joined *j, sc_nginx_escape *escape,
                     sc_accesslog_error *err)
{
    size_t i = skip_blank(t, 0, n) + strlen("log_format");
    int args = 0;
    i = skip_blank(t, i, n);
    size_t name = i;
    while (i < n && !is_space(t[i]) && t[i] != ';' && t[i] != '\'' && t[i] != '"')
        i++;
    if (i == name)
        return set_err(err, -EINVAL, "log_format needs a name", name, -1);
    for (;;) {
        i = skip_blank(t, i, n);
        if (i == n || t[i] == ';')
            break;
        if (t[i] == '\'' || t[i] == '"') {
            int rc = quoted_arg(t, &i, n, j, err);
            if (rc < 0)
                return rc;
            args++;
            continue;
        }
        size_t w = i;
        while (i < n && !is_space(t[i]) && t[i] != ';')
            i++;
        if (args == 0 && has_prefix(t + w, i - w, "escape=")) {
            if (escape_arg(t + w + 7, i - w - 7, escape) < 0)
                return set_err(err, -EINVAL, "escape must be default, json or none", w, -1);
            continue;
        }
        for (size_t k = w; k < i; k++)
            if (push(j, t[k], k) < 0)
                return set_err(err, -E2BIG, "format too long", k, -1);
        args++;
    }
    i = i < n ? skip_blank(t, i + 1, n) : n;
    if (i != n)
        return set_err(err, -EINVAL, "text after the directive", i, -1);
    if (args == 0)
        return set_err(err, -EINVAL, "empty format", n, -1);
    return 0;
}

/* ---- Compile: joined format -> tokens -------------------------------------------------------- */

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int add_literal(sc_nginx_format *f, const char *p, size_t n)
{
    if (f->n_tokens == SC_NGINX_FORMAT_MAX_TOKENS || f->text_used + n > sizeof f->text)
        return -E2BIG;
    memcpy(f->text + f->text_used, p, n);
    f->tokens[f->n_tokens++] = (sc_nginx_format_token){f->text_used, (uint16_t)n, -1, 0, 0, 0};
    f->text_used = (uint16_t)(f->text_used + n);
    return 0;
}

static int add_var(sc_nginx_format *f, const char *name, size_t n)
{
    if (f->n_tokens == SC_NGINX_FORMAT_MAX_TOKENS)
        return -E2BIG;
    var_def d = lookup_var(name, n);
    f->tokens[f->n_tokens++] = (sc_nginx_format_token){0, 0, d.field, d.kind, d.rank, 0};
    if (d.field >= 0)
        f->mapped |= BIT(d.field);
    return 0;
}

/* Candidate slots ordered by (field, rank) so the first usable value of a field wins. */
static void order_candidates(sc_nginx_format *f)
{
    f->n_cand = 0;
    for (uint16_t t = 0; t < f->n_tokens; t++) {
        const sc_nginx_format_token *tok = &f->tokens[t];
        if (tok->len != 0 || tok->field < 0)
            continue;
        size_t k = f->n_cand++;
        while (k > 0) {
            const sc_nginx_format_token *prev = &f->tokens[f->cand_token[k - 1]];
            if (prev->field < tok->field || (prev->field == tok->field && prev->rank <= tok->rank))
                break;
            f->cand_token[k] = f->cand_token[k - 1];
            k--;
        }
        f->cand_token[k] = (uint8_t)t;
    }
    for (uint16_t i = 0; i < f->n_cand; i++)
        f->tokens[f->cand_token[i]].slot = (uint8_t)i;
}

static int tokenize(sc_nginx_format *f, const joined *j, sc_accesslog_error *err)
{
    const char *s = j->s;
    size_t i = 0, quotes = 0, last_quote = 0;
    int prev_var = 0;
    while (i < j->n) {
        if (s[i] != '$') {
            size_t start = i;
            for (; i < j->n && s[i] != '$'; i++)
                if (s[i] == '"') {
                    quotes++;
                    last_quote = i;
                }
            if (add_literal(f, s + start, i - start) < 0)
                return set_err(err, -E2BIG, "format too long", j->src[start], -1);
            prev_var = 0;
            continue;
        }
        size_t at = i++, name, len;
        if (i < j->n && s[i] == '{') {
            name = ++i;
            while (i < j->n && s[i] != '}')
                i++;
            if (i == j->n)
                return set_err(err, -EINVAL, "unterminated ${", j->src[at], -1);
            len = i++ - name;
        } else {
            name = i;
            while (i < j->n && is_name_char(s[i]))
                i++;
            len = i - name;
        }
        for (size_t k = name; k < name + len; k++)
            if (!is_name_char(s[k]))
                len = 0;
        if (len == 0)
            return set_err(err, -EINVAL, "bad variable name", j->src[at], -1);
        if (prev_var)
            return set_err(err, -EINVAL, "two variables with no literal between them", j->src[at],
                           -1);
        if (add_var(f, s + name, len) < 0)
            return set_err(err, -E2BIG, "format too long", j->src[at], -1);
        prev_var = 1;
    }
    if (quotes % 2)
        return set_err(err, -EINVAL, "unterminated quote in layout", j->src[last_quote], -1);
    return 0;
}

int sc_nginx_format_compile(const char *text, size_t n, sc_nginx_escape escape,
                            sc_nginx_format *out, sc_accesslog_error *err)
{
    if (text == NULL || out == NULL || n > UINT16_MAX)
        return set_err(err, -EINVAL, "no format", 0, -1);
    joined j; /* ~12 KiB of stack, once per compile */
    j.n = 0;
    size_t lead = skip_blank(text, 0, n);
    int rc;
    if (has_prefix(text + lead, n - lead, "log_format") && lead + 10 < n &&
        is_space(text[lead + 10])) {
        rc = directive(text, n, &j, &escape, err);
    } else {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = push(&j, text[i], i) < 0 ? set_err(err, -E2BIG, "format too long", i, -1) : 0;
    }
    if (rc < 0)
        return rc;
    if (j.n == 0)
        return set_err(err, -EINVAL, "empty format", 0, -1);
    memset(out, 0, offsetof(sc_nginx_format, tokens));
    if ((rc = tokenize(out, &j, err)) < 0)
        return rc;
    order_candidates(out);
    uint32_t have = out->mapped;
    if (have & BIT(SC_ACCESSLOG_FIELD_REQUEST))
        have |= BIT(SC_ACCESSLOG_FIELD_METHOD) | BIT(SC_ACCESSLOG_FIELD_PATH);
    for (int fld = 0; fld < SC_ACCESSLOG_FIELD__COUNT; fld++)
        if ((SC_ACCESSLOG_REQUIRED_DEFAULT & BIT(fld)) && !(have & BIT(fld)))
            return set_err(err, -EINVAL, "no variable provides a required field", 0, fld);
    out->enc = escape == SC_NGINX_ESCAPE_JSON   ? SC_ACCESSLOG_ENC_JSON
               : escape == SC_NGINX_ESCAPE_NONE ? SC_ACCESSLOG_ENC_RAW
                                                : SC_ACCESSLOG_ENC_NGINX;
    out->fmt = (sc_accesslog_formats){SC_TIMESTAMP_AUTO, SC_ACCESSLOG_DURATION_S, 0, 0,
                                      SC_ACCESSLOG_REQUIRED_DEFAULT};
    return 0;
}

/* ---- Parse ------------------------------------------------------------------------------------
 */

/* Length of the escape sequence at p (a backslash) as nginx writes it. */
static size_t escape_len(const char *p, const char *end, sc_accesslog_enc enc)
{
    size_t want = 2;
    if (enc == SC_ACCESSLOG_ENC_NGINX && end - p >= 2 && p[1] == 'x')
        want = 4;
    else if (enc == SC_ACCESSLOG_ENC_JSON && end - p >= 2 && p[1] == 'u')
        want = 6;
    return (size_t)(end - p) < want ? (size_t)(end - p) : want;
}

/* Where a variable's value starting at p ends: the first place the next literal matches. */
static const char *value_end(const char *p, const char *end, const char *lit, size_t lit_len,
                             unsigned kind, sc_accesslog_enc enc)
{
    const char *q = p;
    if (kind == K_TIME_LOCAL && end - p >= 26 && p[20] == ' ')
        q = p + 21;
    if (kind == K_REQUEST && lit[0] == ' ') {
        const char *proto = memmem(p, (size_t)(end - p), " HTTP/", 6);
        if (proto != NULL)
            q = proto + 1;
    }
    for (;;) {
        while (q < end && *q != lit[0]) {
            if (*q == '\\' && enc != SC_ACCESSLOG_ENC_RAW)
                q += escape_len(q, end, enc);
            else
                q++;
        }
        if ((size_t)(end - q) < lit_len)
            return NULL;
        if (memcmp(q, lit, lit_len) == 0) {
            /* ", " and " : " inside a list: the space belongs to the value. */
            int list_sep =
                kind == K_LIST && lit[0] == ' ' &&
                ((q > p && q[-1] == ',') || (end - q >= 3 && q[1] == ':' && q[2] == ' ') ||
                 (q - p >= 2 && q[-1] == ':' && q[-2] == ' '));
            if (!list_sep)
                return q;
        }
        q++;
    }
}

int sc_nginx_format_parse(const sc_nginx_format *f, const char *line, size_t len,
                          sc_accesslog_fields *out)
{
    sc_accesslog_fields_begin(out, f->mapped);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    const char *p = line, *end = line + len;
    while (p < end && is_space(*p))
        p++;
    if (p == end)
        return sc_accesslog_fields_fail(out, SC_ACCESSLOG_EMPTY);
    p = line;
    sc_accesslog_str slot[SC_NGINX_FORMAT_MAX_TOKENS];
    memset(slot, 0, f->n_cand * sizeof slot[0]);
    for (uint16_t t = 0; t < f->n_tokens; t++) {
        const sc_nginx_format_token *tok = &f->tokens[t];
        if (tok->len != 0) {
            if ((size_t)(end - p) < tok->len || memcmp(p, f->text + tok->off, tok->len) != 0)
                return sc_accesslog_fields_fail(out, SC_ACCESSLOG_LAYOUT_MISMATCH);
            p += tok->len;
            continue;
        }
        const char *v_end = end;
        if (t + 1 < f->n_tokens) {
            const sc_nginx_format_token *lit = &f->tokens[t + 1];
            v_end = value_end(p, end, f->text + lit->off, lit->len, tok->kind, f->enc);
            if (v_end == NULL)
                return sc_accesslog_fields_fail(out, SC_ACCESSLOG_LAYOUT_MISMATCH);
        } else {
            while (v_end > p && is_space(v_end[-1]))
                v_end--;
        }
        if (tok->field >= 0)
            slot[tok->slot] = (sc_accesslog_str){p, (size_t)(v_end - p)};
        p = v_end;
    }
    while (p < end && is_space(*p))
        p++;
    if (p != end)
        return sc_accesslog_fields_fail(out, SC_ACCESSLOG_LAYOUT_MISMATCH);
    for (uint16_t i = 0; i < f->n_cand; i++)
        if (slot[i].p != NULL)
            sc_accesslog_fields_set(out, (sc_accesslog_field)f->tokens[f->cand_token[i]].field,
                                    slot[i].p, slot[i].n, f->enc);
    return sc_accesslog_fields_finish(out, &f->fmt);
}
