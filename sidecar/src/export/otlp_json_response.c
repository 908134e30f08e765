/* otlp_json_response.c - owns: the cJSON-based OTLP/JSON response parsers (see the header). */
#include "export/otlp_json_response.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/attr.h"

/* An int64 given as a decimal string (the mapping's form) or as an integral JSON number. */
static int json_int64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        char *end = NULL;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (s[0] == '\0' || *end != '\0' || errno != 0)
            return -EBADMSG;
        *out = x;
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) || d != floor(d))
            return -EBADMSG;
        *out = (int64_t)d;
        return 0;
    }
    return cJSON_IsNull(v) ? 0 : -EBADMSG;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

static int decode_response(const void *p, size_t n, const char *count_name, int64_t *rejected,
                           char *msg, size_t msg_cap)
{
    *rejected = 0;
    if (msg != NULL && msg_cap > 0)
        msg[0] = '\0';
    if (n == 0 || blank(p, n))
        return 0;
    cJSON *root = cJSON_ParseWithLength(p, n);
    if (root == NULL)
        return -EBADMSG; /* cJSON does not tell a syntax error from out of memory */
    int rc = cJSON_IsObject(root) ? 0 : -EBADMSG;
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(root, "partialSuccess");
    if (rc == 0 && ps != NULL && !cJSON_IsNull(ps)) {
        const cJSON *count = cJSON_GetObjectItemCaseSensitive(ps, count_name);
        const cJSON *em = cJSON_GetObjectItemCaseSensitive(ps, "errorMessage");
        if (!cJSON_IsObject(ps) || (em != NULL && !cJSON_IsString(em) && !cJSON_IsNull(em)))
            rc = -EBADMSG;
        else if (count != NULL)
            rc = json_int64(count, rejected);
        if (rc == 0 && cJSON_IsString(em) && msg != NULL && msg_cap > 0) {
            size_t len = sc_attr_utf8_prefix(em->valuestring, strlen(em->valuestring), msg_cap - 1);
            memcpy(msg, em->valuestring, len);
            msg[len] = '\0';
        }
    }
    cJSON_Delete(root);
    if (rc != 0) {
        *rejected = 0;
        if (msg != NULL && msg_cap > 0)
            msg[0] = '\0';
    }
    return rc;
}

int sc_otlp_json_decode_trace_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                       size_t msg_cap)
{
    return decode_response(p, n, "rejectedSpans", rejected, msg, msg_cap);
}

int sc_otlp_json_decode_metrics_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                         size_t msg_cap)
{
    return decode_response(p, n, "rejectedDataPoints", rejected, msg, msg_cap);
}
