/* shape.c - owns: the sorted bounded name set and the set difference behind drift reports. */
#include "canary/shape.h"

#include <errno.h>
#include <string.h>

static char sanitise(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '.' || c == '-')
        return (char)c;
    return '_';
}

void sc_shape_names_init(sc_shape_names *s)
{
    memset(s, 0, sizeof *s);
}

int sc_shape_names_add(sc_shape_names *s, const char *p, size_t len)
{
    if (p == NULL || len == 0)
        return -EINVAL;
    char tmp[SC_SHAPE_NAME_LEN];
    size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
    for (size_t i = 0; i < n; i++)
        tmp[i] = sanitise((unsigned char)p[i]);
    tmp[n] = '\0';

    size_t pos = 0;
    while (pos < s->n) {
        int c = strcmp(tmp, s->name[pos]);
        if (c == 0)
            return 0;
        if (c < 0)
            break;
        pos++;
    }
    if (s->n == SC_SHAPE_MAX_NAMES) {
        s->truncated = true;
        if (pos == SC_SHAPE_MAX_NAMES)
            return 0; /* sorts after every kept name */
        s->n--;       /* the largest name makes room */
    }
    memmove(s->name[pos + 1], s->name[pos], (s->n - pos) * sizeof s->name[0]);
    memcpy(s->name[pos], tmp, n + 1);
    s->n++;
    return 1;
}

void sc_shape_names_merge(sc_shape_names *into, const sc_shape_names *from)
{
    for (size_t i = 0; i < from->n; i++)
        sc_shape_names_add(into, from->name[i], strlen(from->name[i]));
    if (from->truncated)
        into->truncated = true;
}

bool sc_shape_names_has(const sc_shape_names *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return true;
    return false;
}

void sc_shape_baseline_init(sc_shape_baseline *b)
{
    sc_shape_names_init(&b->accepted);
    b->set = false;
}

/* Names of a that are not in b, appended to out (both inputs sorted, so this is a merge walk). */
static size_t difference(const sc_shape_names *a, const sc_shape_names *b, sc_shape_names *out)
{
    size_t i = 0, j = 0, found = 0;
    while (i < a->n) {
        int c = j < b->n ? strcmp(a->name[i], b->name[j]) : -1;
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            if (out != NULL)
                sc_shape_names_add(out, a->name[i], strlen(a->name[i]));
            found++;
            i++;
        } else {
            j++;
        }
    }
    return found;
}

bool sc_shape_compare(const sc_shape_baseline *b, const sc_shape_names *now, sc_shape_names *added,
                      sc_shape_names *missing)
{
    if (added != NULL)
        sc_shape_names_init(added);
    if (missing != NULL)
        sc_shape_names_init(missing);
    if (!b->set)
        return false;
    size_t n_added = difference(now, &b->accepted, added);
    size_t n_missing = difference(&b->accepted, now, missing);
    return n_added + n_missing > 0;
}

void sc_shape_accept(sc_shape_baseline *b, const sc_shape_names *now)
{
    b->accepted = *now;
    b->set = true;
}
