/* jsonw.h - owns: writing JSON text into an sc_buf (escaped strings, numbers, raw punctuation).
 *
 * Used by the logger, --check-config output, evidence lines and OTLP/JSON. Strings are escaped per
 * RFC 8259; invalid UTF-8 bytes become U+FFFD so every line we write is valid JSON. */
#ifndef SC_CORE_JSONW_H
#define SC_CORE_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Each returns 0 or -ENOBUFS/-ENOMEM from the underlying sc_buf. */
int sc_jsonw_str(sc_buf *b, const char *s, size_t n); /* "escaped" */
int sc_jsonw_cstr(sc_buf *b, const char *s);          /* NULL writes null */
int sc_jsonw_i64(sc_buf *b, int64_t v);
int sc_jsonw_u64(sc_buf *b, uint64_t v);
int sc_jsonw_double(sc_buf *b, double v); /* non-finite values write null */
int sc_jsonw_raw(sc_buf *b, const char *s);

#endif
