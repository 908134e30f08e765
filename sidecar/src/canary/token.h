/* token.h - owns: bounded, charset-filtered copies of short strings taken from upstream bodies
 * and headers (ids, models, error codes/types, field names). Anything the canary keeps from a
 * response passes through here, so free text (error messages, which may echo prompts) can never
 * end up in telemetry: a value with a byte outside its charset is refused, not trimmed. */
#ifndef SC_CANARY_TOKEN_H
#define SC_CANARY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    SC_TOKEN_RID,   /* [A-Za-z0-9_-]: request ids found inside error messages */
    SC_TOKEN_NAME,  /* [A-Za-z0-9_.:-]: response ids, request id headers, error codes and types */
    SC_TOKEN_MODEL, /* NAME plus / @ +: model names ("org/model", "model@version") */
} sc_token_charset;

/* True when len >= 1 and every byte of (p, len) is in the charset. */
bool sc_token_valid(const char *p, size_t len, sc_token_charset cs);

/* Copies (p, len) into dst (cap bytes, NUL included) when sc_token_valid and len < cap; returns 0.
 * Otherwise dst becomes "" (when cap > 0) and -EINVAL is returned. p may be NULL (-EINVAL). */
int sc_token_copy(char *dst, size_t cap, const char *p, size_t len, sc_token_charset cs);

#endif
