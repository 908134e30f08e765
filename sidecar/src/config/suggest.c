/* suggest.c - owns: "did you mean" suggestions for unknown configuration keys: edit distance
 * against the siblings of the unknown key, against every full path, and misplaced keys (right
 * name, wrong section). */
#include "config/schema.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define DIST_MAXLEN 96

/* Optimal string alignment distance: Levenshtein plus adjacent transpositions ("ulr" -> "url"
 * costs 1), which matches the typos people make in key names. */
int sc_config_edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
    int rows[3][DIST_MAXLEN + 1];
    int *pp = rows[0], *p = rows[1], *c = rows[2];
    if (an > DIST_MAXLEN || bn > DIST_MAXLEN)
        return INT_MAX / 2;
    for (size_t j = 0; j <= bn; j++)
        p[j] = (int)j;
    for (size_t i = 1; i <= an; i++) {
        c[0] = (int)i;
        for (size_t j = 1; j <= bn; j++) {
            int v = p[j - 1] + (a[i - 1] != b[j - 1]);
            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
        int *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[bn];
}

static int limit(size_t len)
{
    return len <= 4 ? 1 : len <= 8 ? 2 : 3;
}

typedef struct best {
    int dist;
    const char *path;
    size_t len;
} best;

static void consider(best *b, int dist, int max, const char *path, size_t len)
{
    if (dist <= max && dist < b->dist) {
        b->dist = dist;
        b->path = path;
        b->len = len;
    }
}

static size_t common_prefix(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] != '\0' && a[n] == b[n])
        n++;
    return n;
}

/* A key whose last segment is exactly the unknown one: the right name in the wrong section. When
 * several match, the one sharing the longest prefix with `full` wins; a tie means no guess. */
static void misplaced(const sc_config_schema *s, const char *full, best *b)
{
    const char *last = strrchr(full, '.');
    last = last ? last + 1 : full;
    size_t best_common = 0;
    int ties = 0;
    for (size_t i = 0; i < s->n_keys; i++) {
        const char *p = s->keys[i].path, *pl = strrchr(p, '.');
        if (strcmp(pl ? pl + 1 : p, last) != 0)
            continue;
        size_t common = common_prefix(p, full);
        if (b->path == NULL || common > best_common) {
            b->path = p;
            b->len = strlen(p);
            best_common = common;
            ties = 0;
        } else if (common == best_common) {
            ties = 1;
        }
    }
    if (ties)
        b->path = NULL;
}

int sc_config_suggest(const sc_config_schema *s, const char *full, size_t parent_len, char *out,
                      size_t cap)
{
    const char *name = full + parent_len + (parent_len ? 1 : 0);
    size_t name_len = strcspn(name, "."), full_len = strlen(full);
    size_t seg_start = (size_t)(name - full);
    best b = {INT_MAX, NULL, 0};
    for (size_t i = 0; i < s->n_keys; i++) { /* every full path and section prefix */
        const char *p = s->keys[i].path;
        size_t plen = strlen(p);
        for (size_t end = 1; end <= plen; end++) {
            if (end != plen && p[end] != '.')
                continue;
            consider(&b, sc_config_edit_distance(full, full_len, p, end), limit(full_len), p, end);
        }
    }
    for (size_t i = 0; i < s->n_keys; i++) { /* siblings: same parent section */
        const char *p = s->keys[i].path;
        if (strlen(p) <= seg_start || memcmp(p, full, seg_start) != 0 ||
            (seg_start > 0 && p[seg_start - 1] != '.'))
            continue;
        size_t seg_len = strcspn(p + seg_start, ".");
        consider(&b, sc_config_edit_distance(name, name_len, p + seg_start, seg_len),
                 limit(name_len), p, seg_start + seg_len);
    }
    if (b.path == NULL)
        misplaced(s, full, &b);
    if (b.path == NULL || (b.len == full_len && memcmp(b.path, full, full_len) == 0))
        return 0;
    snprintf(out, cap, "%.*s", (int)b.len, b.path);
    return 1;
}

void sc_config_unknown_key(const sc_config_schema *s, const char *display, const char *full,
                           size_t parent_len, sc_config_error *err, const char *prefix)
{
    char guess[160];
    size_t n = strlen(full);
    const char *name = full + parent_len + (parent_len ? 1 : 0);
    if (strchr(name, '.') != NULL &&
        (sc_config_find_key(s, full, n) || sc_config_is_group(s, full, n))) {
        sc_config_errorf(err,
                         "%sunknown key \"%s%s\" (dotted names are not expanded in the config "
                         "file; nest objects instead)",
                         prefix, display, full);
    } else if (sc_config_suggest(s, full, parent_len, guess, sizeof guess)) {
        sc_config_errorf(err, "%sunknown key \"%s%s\" (did you mean \"%s%s\"?)", prefix, display,
                         full, display, guess);
    } else {
        sc_config_errorf(err, "%sunknown key \"%s%s\"", prefix, display, full);
    }
}
