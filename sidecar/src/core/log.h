/* log.h - owns: the structured logger. One JSON object per line on a file descriptor (stderr in
 * the daemon): {"time":..., "level":..., "msg":..., <fields>}.
 *
 * Secrets are kept out at the source (callers never pass them), and as a second line of defence
 * the logger replaces any registered secret that still reaches a line with "[REDACTED]".
 * Lines are bounded (SC_LOG_LINE_MAX); a longer line is cut at a field boundary and marked
 * "truncated":true. Logging is loop-thread only. */
#ifndef SC_CORE_LOG_H
#define SC_CORE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

#define SC_LOG_LINE_MAX    8192
#define SC_LOG_MAX_SECRETS 4

typedef enum { SC_LOG_DEBUG, SC_LOG_INFO, SC_LOG_WARN, SC_LOG_ERROR, SC_LOG_OFF } sc_log_level;

typedef enum { SC_LF_END, SC_LF_STR, SC_LF_INT, SC_LF_UINT, SC_LF_DBL, SC_LF_BOOL } sc_log_ftype;

typedef struct sc_log_field {
    const char *key;
    sc_log_ftype type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
        int b;
    } v;
} sc_log_field;

#define SC_F_STR(k, x)  ((sc_log_field){.key = (k), .type = SC_LF_STR, .v.s = (x)})
#define SC_F_INT(k, x)  ((sc_log_field){.key = (k), .type = SC_LF_INT, .v.i = (int64_t)(x)})
#define SC_F_UINT(k, x) ((sc_log_field){.key = (k), .type = SC_LF_UINT, .v.u = (uint64_t)(x)})
#define SC_F_DBL(k, x)  ((sc_log_field){.key = (k), .type = SC_LF_DBL, .v.d = (double)(x)})
#define SC_F_BOOL(k, x) ((sc_log_field){.key = (k), .type = SC_LF_BOOL, .v.b = !!(x)})
/* A negative errno rendered as its message. */
#define SC_F_ERR(k, rc) SC_F_STR((k), sc_log_strerror(rc))

typedef struct sc_log sc_log;

/* Creates a logger writing to `fd` (not owned). `clock` must outlive the logger. */
int sc_log_new(sc_log **out, int fd, sc_log_level level, const sc_clock *clock);
void sc_log_free(sc_log *log); /* accepts NULL */

void sc_log_set_level(sc_log *log, sc_log_level level);
int sc_log_enabled(const sc_log *log, sc_log_level level);

/* Registers (or, with NULL, clears) a secret in slot 0..SC_LOG_MAX_SECRETS-1; the logger keeps a
 * copy, wiped on replace and free. Secrets shorter than 4 bytes are ignored (too many false hits).
 */
int sc_log_set_secret(sc_log *log, unsigned slot, const char *secret);

/* "debug" | "info" | "warn" | "error" | "off" (case-insensitive; "warning" accepted). */
int sc_log_level_parse(const char *s, sc_log_level *out);
const char *sc_log_level_name(sc_log_level level);
const char *sc_log_strerror(int negative_errno);

void sc_log_emit(sc_log *log, sc_log_level level, const char *msg, const sc_log_field *fields);

/* sc_log_info(log, "message", SC_F_STR("key", v), ...): fields are optional. Arguments are only
 * evaluated when the level is enabled. */
#define SC_F_END ((sc_log_field){.key = NULL, .type = SC_LF_END})
#define SC_LOG_AT(log, lvl, msg, ...)                                                              \
    do {                                                                                           \
        if (sc_log_enabled((log), (lvl))) {                                                        \
            const sc_log_field sc_log_f_[] = {__VA_ARGS__};                                        \
            sc_log_emit((log), (lvl), (msg), sc_log_f_);                                           \
        }                                                                                          \
    } while (0)
#define sc_log_debug(log, ...) SC_LOG_AT((log), SC_LOG_DEBUG, __VA_ARGS__, SC_F_END)
#define sc_log_info(log, ...)  SC_LOG_AT((log), SC_LOG_INFO, __VA_ARGS__, SC_F_END)
#define sc_log_warn(log, ...)  SC_LOG_AT((log), SC_LOG_WARN, __VA_ARGS__, SC_F_END)
#define sc_log_error(log, ...) SC_LOG_AT((log), SC_LOG_ERROR, __VA_ARGS__, SC_F_END)

#endif
