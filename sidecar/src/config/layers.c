/* layers.c - owns: turning each configuration source into values in the merged tree: the JSON
 * file (with line/column on syntax errors), environment variables (OTel rules for OTEL_*, hard
 * errors for the project's own) and --set path=value overrides typed by the schema. Each value is
 * validated as it is merged so the error names its source. */
#include "config/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/otel_env.h"

#define FILE_MAX (1u << 20)

static int read_all(const char *path, char **out, size_t *len, sc_config_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sc_config_errorf(err, "config file \"%s\": %s", path, strerror(errno));
        return -EINVAL;
    }
    char *buf = malloc(FILE_MAX + 2);
    size_t n = 0;
    int rc = buf ? 0 : -ENOMEM;
    while (rc == 0 && n <= FILE_MAX) {
        ssize_t r = read(fd, buf + n, FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            sc_config_errorf(err, "config file \"%s\": %s", path, strerror(errno));
            rc = -EINVAL;
        } else if (r == 0) {
            break;
        }
        n += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    if (rc == 0 && n > FILE_MAX) {
        sc_config_errorf(err, "config file \"%s\": larger than %u bytes", path, FILE_MAX);
        rc = -EINVAL;
    }
    if (rc == -ENOMEM)
        sc_config_errorf(err, "out of memory");
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Parses buf[0..len), which must be followed by a NUL (cJSON's require_null_terminated check
 * looks at it). */
static int parse_text(const char *name, const char *buf, size_t len, cJSON **out,
                      sc_config_error *err)
{
    int rc = 0;
    const char *start = buf, *end = NULL;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        start += 3; /* UTF-8 byte order mark */
    /* The length includes the NUL: cJSON's require_null_terminated check looks at it. */
    cJSON *root = cJSON_ParseWithLengthOpts(start, len + 1 - (size_t)(start - buf), &end, 1);
    if (root == NULL) {
        int line = 1, col = 1;
        /* cJSON points one past a character that cannot start a key ("x" in {x}); step back so
         * the column names the offending character itself. */
        if (end != NULL && end > start && strchr(" \t\r\n\"{[,:", end[-1]) == NULL && *end != '"')
            end--;
        for (const char *p = start; end != NULL && p < end && *p != '\0'; p++, col++) {
            if (*p == '\n') {
                line++;
                col = 0;
            }
        }
        sc_config_errorf(err, "config file \"%s\": invalid JSON near line %d column %d", name, line,
                         col);
        rc = -EINVAL;
    } else if (!cJSON_IsObject(root)) {
        sc_config_errorf(err, "config file \"%s\": expected a JSON object at the top level", name);
        sc_config_wipe_tree(root);
        cJSON_Delete(root);
        rc = -EINVAL;
    } else {
        *out = root;
    }
    return rc;
}

int sc_config_layer_file(const char *path, cJSON **out, sc_config_error *err)
{
    char *buf;
    size_t len;
    int rc = read_all(path, &buf, &len, err);
    if (rc != 0)
        return rc;
    rc = parse_text(path, buf, len, out, err);
    explicit_bzero(buf, len); /* the file may hold the API key */
    free(buf);
    return rc;
}

int sc_config_layer_text(const char *name, const char *text, size_t len, cJSON **out,
                         sc_config_error *err)
{
    if (len > FILE_MAX) {
        sc_config_errorf(err, "config file \"%s\": larger than %u bytes", name, FILE_MAX);
        return -EINVAL;
    }
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        sc_config_errorf(err, "out of memory");
        return -ENOMEM;
    }
    if (len > 0)
        memcpy(buf, text, len);
    buf[len] = '\0';
    int rc = parse_text(name, buf, len, out, err);
    explicit_bzero(buf, len);
    free(buf);
    return rc;
}

/* Adds or replaces one entry of a map object; the name is literal (dots are not paths). */
static int map_put(cJSON *m, const char *name, const char *value)
{
    cJSON *v = cJSON_CreateString(value);
    if (v == NULL)
        return -ENOMEM;
    int ok = cJSON_GetObjectItemCaseSensitive(m, name)
                 ? cJSON_ReplaceItemInObjectCaseSensitive(m, name, v)
                 : cJSON_AddItemToObject(m, name, v);
    if (!ok)
        cJSON_Delete(v);
    return ok ? 0 : -ENOMEM;
}

static int pair_to_object(void *ctx, const char *key, size_t kl, const char *value, size_t vl)
{
    (void)kl;
    (void)vl;
    return map_put(ctx, key, value);
}

/* Validates the entries of map object m against k; on failure fills why with a reason that names
 * the entry (values of secret maps are never echoed). */
static int map_valid(const sc_config_key *k, const cJSON *m, char *why, size_t cap)
{
    char reason[256], got[160] = "";
    const cJSON *bad;
    const char *bad_name;
    int rc = sc_config_codec_decode(k, m, NULL, reason, sizeof reason, &bad, &bad_name);
    if (rc == -EINVAL) {
        if (bad != NULL)
            sc_config_format_got(k, bad, got, sizeof got);
        snprintf(why, cap, "%s%s%s%s%s%s", bad_name ? "entry \"" : "", bad_name ? bad_name : "",
                 bad_name ? "\": " : "", reason, bad ? ", " : "", got);
    }
    return rc;
}

static int merge_map(cJSON *dst, const cJSON *src)
{
    for (const cJSON *e = src->child; e != NULL; e = e->next)
        if (map_put(dst, e->string, e->valuestring) != 0)
            return -ENOMEM;
    return 0;
}

static int env_reject(const sc_config_key *k, int otel, const char *why,
                      const sc_config_sources *src, sc_config_error *err)
{
    if (otel) { /* OTel spec: warn and carry on as if unset */
        sc_log_warn(src->log, "ignoring invalid environment variable", SC_F_STR("variable", k->env),
                    SC_F_STR("reason", why));
        return 0;
    }
    sc_config_errorf(err, "environment variable %s: %s", k->env, why);
    return -EINVAL;
}

static int env_map(const sc_config_key *k, const char *val, int otel, cJSON *tree,
                   const sc_config_sources *src, sc_config_error *err)
{
    char why[320];
    size_t n = strlen(val);
    sc_otel_env_error lerr;
    cJSON *tmp = cJSON_CreateObject();
    char *scratch = malloc(n + 2);
    int rc = tmp && scratch ? 0 : -ENOMEM;
    if (rc == 0)
        rc = sc_otel_env_parse_list(val, n, scratch, n + 2, pair_to_object, tmp, &lerr);
    if (rc == -EINVAL || rc == -ENOBUFS) {
        snprintf(why, sizeof why, "entry %zu: %s", lerr.entry, lerr.reason);
        rc = -EINVAL;
    } else if (rc == 0) {
        rc = map_valid(k, tmp, why, sizeof why);
    }
    if (rc == -EINVAL) {
        rc = env_reject(k, otel, why, src, err);
    } else if (rc == 0) {
        cJSON *m = sc_config_tree_container(tree, k->path, 0, err, "");
        rc = m == NULL ? -EINVAL : merge_map(m, tmp);
    }
    if (rc == -ENOMEM)
        sc_config_errorf(err, "out of memory");
    if (scratch != NULL)
        explicit_bzero(scratch, n + 2);
    free(scratch);
    sc_config_wipe_tree(tmp);
    cJSON_Delete(tmp);
    return rc;
}

/* OTEL_{TRACES,METRICS}_EXPORTER is a comma-separated list (SDK environment spec). Keeps the
 * first entry in text; a different entry after it cannot be honoured and is warned about. */
static void exporter_list_first(const sc_config_key *k, char *text, const sc_config_sources *src)
{
    char *comma = strchr(text, ',');
    if (comma == NULL)
        return;
    *comma = '\0';
    size_t first = strlen(text);
    while (first > 0 && (text[first - 1] == ' ' || text[first - 1] == '\t'))
        text[--first] = '\0';
    int others = 0;
    for (char *item = comma + 1; item != NULL && !others;) {
        char *next = strchr(item, ',');
        size_t n = next != NULL ? (size_t)(next - item) : strlen(item);
        while (n > 0 && (*item == ' ' || *item == '\t'))
            item++, n--;
        while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            n--;
        others = n > 0 && !(n == first && strncasecmp(item, text, n) == 0);
        item = next != NULL ? next + 1 : NULL;
    }
    if (others)
        sc_log_warn(src->log, "one exporter per signal: using the first in the list",
                    SC_F_STR("variable", k->env), SC_F_STR("exporter", text));
}

static int env_scalar(const sc_config_key *k, const char *val, int otel, cJSON *tree,
                      const sc_config_sources *src, sc_config_error *err)
{
    char why[320];
    cJSON *v = NULL;
    char *text = strdup(val);
    if (text == NULL) {
        sc_config_errorf(err, "out of memory");
        return -ENOMEM;
    }
    if (k->type != SC_CT_STRING) { /* " 100 " is a number; strings are taken as given */
        char *b = text, *e = text + strlen(text);
        while (*b == ' ' || *b == '\t')
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
            *--e = '\0';
        memmove(text, b, strlen(b) + 1);
    }
    if (k->flags & SC_CK_ENV_EXPORTER_LIST)
        exporter_list_first(k, text, src);
    int rc = sc_config_codec_from_text(k, text, otel, &v, why, sizeof why);
    explicit_bzero(text, strlen(text));
    free(text);
    if (rc == -ENOMEM)
        sc_config_errorf(err, "out of memory");
    else if (rc != 0)
        rc = env_reject(k, otel, why, src, err);
    else
        rc = sc_config_tree_put(tree, k->path, v, err, "");
    return rc;
}

int sc_config_layer_env(const sc_config_schema *s, cJSON *tree, const sc_config_sources *src,
                        sc_config_error *err)
{
    for (size_t i = 0; src->getenv != NULL && i < s->n_keys; i++) {
        const sc_config_key *k = &s->keys[i];
        if (k->env == NULL)
            continue;
        const char *val = src->getenv(src->getenv_ctx, k->env);
        if (val == NULL || val[0] == '\0') /* OTel: empty means unset */
            continue;
        int otel = strncmp(k->env, "OTEL_", 5) == 0;
        int rc = k->type == SC_CT_MAP ? env_map(k, val, otel, tree, src, err)
                                      : env_scalar(k, val, otel, tree, src, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int set_path(const sc_config_schema *s, cJSON *obj, const char *path, const char *value,
                    const char *display, const char *pre, sc_config_error *err);

static int set_entry(const sc_config_key *k, cJSON *obj, const char *name, const char *value,
                     const char *display, const char *pre, sc_config_error *err)
{
    char why[320];
    cJSON *tmp = cJSON_CreateObject();
    int rc = tmp ? map_put(tmp, name, value) : -ENOMEM;
    if (rc == 0 && (rc = map_valid(k, tmp, why, sizeof why)) == -EINVAL)
        sc_config_errorf(err, "%s%s", pre, why);
    if (rc == 0) {
        cJSON *m = sc_config_tree_container(obj, k->path, 0, err, display);
        rc = m ? map_put(m, name, value) : -EINVAL;
    }
    if (rc == -ENOMEM)
        sc_config_errorf(err, "out of memory");
    sc_config_wipe_tree(tmp);
    cJSON_Delete(tmp);
    return rc;
}

static int set_element(const sc_config_key *k, cJSON *obj, const char *rest, const char *value,
                       const char *display, const char *pre, sc_config_error *err)
{
    char sub[256];
    char *end;
    if (rest == NULL || rest[0] < '0' || rest[0] > '9') {
        sc_config_errorf(err, "%s\"%s%s\" is an array; set element keys as %s.<index>.<key>=value",
                         pre, display, k->path, k->path);
        return -EINVAL;
    }
    unsigned long idx = strtoul(rest, &end, 10);
    if (*end != '.' || end[1] == '\0') {
        sc_config_errorf(err, "%sexpected %s.<index>.<key>=value", pre, k->path);
        return -EINVAL;
    }
    cJSON *arr = sc_config_tree_container(obj, k->path, 1, err, display);
    if (arr == NULL)
        return -EINVAL;
    unsigned long n = (unsigned long)cJSON_GetArraySize(arr);
    if (idx > n) {
        sc_config_errorf(
            err, "%sindex %lu is out of range: \"%s%s\" has %lu entries (use %lu to add one)", pre,
            idx, display, k->path, n, n);
        return -EINVAL;
    }
    if (idx == n && (long long)n >= k->max) {
        sc_config_errorf(err, "%s\"%s%s\": at most %lld entries allowed", pre, display, k->path,
                         (long long)k->max);
        return -EINVAL;
    }
    cJSON *elem = idx < n ? cJSON_GetArrayItem(arr, (int)idx) : cJSON_CreateObject();
    if (idx == n && (elem == NULL || !cJSON_AddItemToArray(arr, elem))) {
        cJSON_Delete(elem);
        sc_config_errorf(err, "out of memory");
        return -ENOMEM;
    }
    if (!cJSON_IsObject(elem)) {
        sc_config_errorf(err, "%s\"%s%s[%lu]\": expected an object", pre, display, k->path, idx);
        return -EINVAL;
    }
    snprintf(sub, sizeof sub, "%s%s[%lu].", display, k->path, idx);
    return set_path(k->sub, elem, end + 1, value, sub, pre, err);
}

static int set_unknown(const sc_config_schema *s, const char *path, const char *display,
                       const char *pre, sc_config_error *err)
{
    size_t n = strlen(path), parent = 0;
    if (sc_config_is_group(s, path, n)) {
        sc_config_errorf(err, "%s\"%s%s\" is a section, not a key", pre, display, path);
        return -EINVAL;
    }
    for (const char *d = strchr(path, '.'); d != NULL; d = strchr(d + 1, '.'))
        if (sc_config_is_group(s, path, (size_t)(d - path)))
            parent = (size_t)(d - path);
    sc_config_unknown_key(s, display, path, parent, err, pre);
    return -EINVAL;
}

static int set_path(const sc_config_schema *s, cJSON *obj, const char *path, const char *value,
                    const char *display, const char *pre, sc_config_error *err)
{
    char why[320];
    const sc_config_key *k = NULL;
    size_t kl = 0;
    for (size_t i = 0; k == NULL && i < s->n_keys; i++) {
        kl = strlen(s->keys[i].path);
        if (strncmp(path, s->keys[i].path, kl) == 0 && (path[kl] == '\0' || path[kl] == '.'))
            k = &s->keys[i];
    }
    if (k == NULL)
        return set_unknown(s, path, display, pre, err);
    const char *rest = path[kl] == '.' ? path + kl + 1 : NULL;
    if (k->type == SC_CT_ARRAY)
        return set_element(k, obj, rest, value, display, pre, err);
    if (k->type == SC_CT_MAP && (rest == NULL || *rest == '\0')) {
        sc_config_errorf(err, "%s\"%s%s\" is a map; set its entries as %s.<name>=value", pre,
                         display, k->path, k->path);
        return -EINVAL;
    }
    if (k->type == SC_CT_MAP)
        return set_entry(k, obj, rest, value, display, pre, err);
    if (rest != NULL) {
        sc_config_errorf(err, "%sunknown key \"%s%s\" (\"%s%s\" is not a section)", pre, display,
                         path, display, k->path);
        return -EINVAL;
    }
    cJSON *v = NULL;
    int rc = sc_config_codec_from_text(k, value, 0, &v, why, sizeof why);
    if (rc == -ENOMEM)
        sc_config_errorf(err, "out of memory");
    else if (rc != 0)
        sc_config_errorf(err, "%s%s", pre, why);
    else
        rc = sc_config_tree_put(obj, k->path, v, err, display);
    return rc;
}

int sc_config_layer_set(const sc_config_schema *s, cJSON *tree, const char *arg,
                        sc_config_error *err)
{
    char q[128], pre[160];
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        sc_config_quote(eq ? "" : arg, q, sizeof q);
        sc_config_errorf(err, "--set %s: expected path=value", q);
        return -EINVAL;
    }
    char *path = strndup(arg, (size_t)(eq - arg));
    if (path == NULL) {
        sc_config_errorf(err, "out of memory");
        return -ENOMEM;
    }
    sc_config_quote(path, q, sizeof q);
    snprintf(pre, sizeof pre, "--set %s: ", q);
    int rc = set_path(s, tree, path, eq + 1, "", pre, err);
    free(path);
    return rc;
}
