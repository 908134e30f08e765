/* token.c - owns: the charset tables behind sc_token_copy. */
#include "canary/token.h"

#include <errno.h>
#include <string.h>

static bool in_charset(unsigned char c, sc_token_charset cs)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-')
        return true;
    if (cs == SC_TOKEN_RID)
        return false;
    if (c == '.' || c == ':')
        return true;
    return cs == SC_TOKEN_MODEL && (c == '/' || c == '@' || c == '+');
}

bool sc_token_valid(const char *p, size_t len, sc_token_charset cs)
{
    if (p == NULL || len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!in_charset((unsigned char)p[i], cs))
            return false;
    return true;
}

int sc_token_copy(char *dst, size_t cap, const char *p, size_t len, sc_token_charset cs)
{
    if (dst == NULL || cap == 0)
        return -EINVAL;
    dst[0] = '\0';
    if (len >= cap || !sc_token_valid(p, len, cs))
        return -EINVAL;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return 0;
}
