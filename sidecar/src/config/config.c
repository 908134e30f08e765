/* config.c - owns: loading (the sources layered in order into one tree, then one decoding pass),
 * freeing, and writing the effective configuration (pretty JSON, secrets redacted) and the key
 * reference. */
#include "config/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "core/jsonw.h"

int sc_config_load_schema(const sc_config_schema *s, const sc_config_sources *src, void *out,
                          sc_config_error *err)
{
    static const sc_config_sources none = {0};
    cJSON *tree = NULL;
    int rc = 0;
    if (src == NULL)
        src = &none;
    err->msg[0] = '\0';
    memset(out, 0, s->size);
    if (src->file != NULL)
        rc = sc_config_layer_file(src->file, &tree, err);
    else if (src->text != NULL)
        rc = sc_config_layer_text("<text>", src->text, src->text_len, &tree, err);
    else if ((tree = cJSON_CreateObject()) == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = sc_config_layer_env(s, tree, src, err);
    for (size_t i = 0; rc == 0 && i < src->n_sets; i++)
        rc = sc_config_layer_set(s, tree, src->sets[i], err);
    if (rc == 0)
        rc = sc_config_decode_object(s, tree, out, "", err);
    sc_config_wipe_tree(tree); /* the tree held the API key and header values */
    cJSON_Delete(tree);
    if (rc != 0) {
        sc_config_free_schema(s, out);
        memset(out, 0, s->size);
        if (err->msg[0] == '\0')
            sc_config_errorf(err, "%s", rc == -ENOMEM ? "out of memory" : "invalid configuration");
    }
    return rc == 0 ? 0 : rc == -ENOMEM ? -ENOMEM : -EINVAL;
}

int sc_config_load(const sc_config_sources *src, sc_config *out, sc_config_error *err)
{
    return sc_config_load_schema(sc_config_schema_root(), src, out, err);
}

void sc_config_free(sc_config *c)
{
    if (c == NULL)
        return;
    sc_config_free_schema(sc_config_schema_root(), c);
    memset(c, 0, sizeof *c);
}

static int indent(sc_buf *b, int depth)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < depth; i++)
        rc = sc_buf_append(b, "  ", 2);
    return rc;
}

static int pretty(sc_buf *b, const cJSON *v, int depth)
{
    if (cJSON_IsString(v))
        return sc_jsonw_cstr(b, v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        return d == floor(d) && fabs(d) < 9e15 ? sc_jsonw_i64(b, (int64_t)d)
                                               : sc_jsonw_double(b, d);
    }
    if (cJSON_IsBool(v))
        return sc_buf_append_str(b, cJSON_IsTrue(v) ? "true" : "false");
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return sc_buf_append_str(b, "null");
    int obj = cJSON_IsObject(v);
    if (v->child == NULL)
        return sc_buf_append_str(b, obj ? "{}" : "[]");
    int rc = sc_buf_append_str(b, obj ? "{\n" : "[\n");
    for (const cJSON *c = v->child; rc == 0 && c != NULL; c = c->next) {
        rc = indent(b, depth + 1);
        if (rc == 0 && obj) {
            rc = sc_jsonw_cstr(b, c->string);
            if (rc == 0)
                rc = sc_buf_append_str(b, ": ");
        }
        if (rc == 0)
            rc = pretty(b, c, depth + 1);
        if (rc == 0)
            rc = sc_buf_append_str(b, c->next ? ",\n" : "\n");
    }
    if (rc == 0)
        rc = indent(b, depth);
    if (rc == 0)
        rc = sc_buf_append_str(b, obj ? "}" : "]");
    return rc;
}

int sc_config_write_schema(const sc_config_schema *s, const void *obj, sc_buf *out)
{
    cJSON *tree = sc_config_encode_object(s, obj);
    if (tree == NULL)
        return -ENOMEM;
    int rc = pretty(out, tree, 0);
    if (rc == 0)
        rc = sc_buf_append_str(out, "\n");
    cJSON_Delete(tree);
    return rc;
}

int sc_config_write_effective(const sc_config *c, sc_buf *out)
{
    return sc_config_write_schema(sc_config_schema_root(), c, out);
}

static int describe(const sc_config_key *k, char *out, size_t cap)
{
    char lo[32], hi[32];
    int n = snprintf(out, cap, "%s", sc_config_type_name(k->type));
    if (k->type == SC_CT_INT) {
        snprintf(lo, sizeof lo, "%lld", (long long)k->min);
        snprintf(hi, sizeof hi, "%lld", (long long)k->max);
    } else if (k->type == SC_CT_DURATION) {
        sc_config_format_duration((uint64_t)k->min, lo, sizeof lo);
        sc_config_format_duration((uint64_t)k->max, hi, sizeof hi);
    } else if (k->type == SC_CT_SIZE) {
        sc_config_format_size((uint64_t)k->min, lo, sizeof lo);
        sc_config_format_size((uint64_t)k->max, hi, sizeof hi);
    }
    if (k->type == SC_CT_INT || k->type == SC_CT_DURATION || k->type == SC_CT_SIZE)
        n += snprintf(out + n, cap - (size_t)n, " %s..%s", lo, hi);
    if (k->type == SC_CT_ARRAY)
        n += snprintf(out + n, cap - (size_t)n, " of at most %lld", (long long)k->max);
    for (size_t i = 0; k->values != NULL && k->values[i] != NULL; i++)
        n += snprintf(out + n, cap - (size_t)n, "%s%s", i ? "|" : " ", k->values[i]);
    return n;
}

static int reference(const sc_config_schema *s, const char *prefix, sc_buf *out)
{
    char line[768], type[256], sub[128];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->n_keys; i++) {
        const sc_config_key *k = &s->keys[i];
        describe(k, type, sizeof type);
        snprintf(line, sizeof line, "%s%s (%s%s%s%s%s%s%s)\n    %s\n", prefix, k->path, type,
                 k->def ? ", default " : "", k->def ? k->def : "", k->env ? ", env " : "",
                 k->env ? k->env : "", (k->flags & SC_CK_SECRET) ? ", secret" : "",
                 (k->flags & SC_CK_REQUIRED) ? ", required" : "", k->help ? k->help : "");
        rc = sc_buf_append_str(out, line);
        if (rc == 0 && k->type == SC_CT_ARRAY) {
            snprintf(sub, sizeof sub, "%s%s[].", prefix, k->path);
            rc = reference(k->sub, sub, out);
        }
    }
    return rc;
}

int sc_config_write_reference(sc_buf *out)
{
    return reference(sc_config_schema_root(), "", out);
}

const char *sc_config_process_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}
