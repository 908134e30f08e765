/* support_packet.h - owns: the support packet an operator attaches to a CometAPI support ticket
 * (the `support-packet` subcommand), built from the evidence file, and the --since parser.
 *
 * The packet is a directory with:
 *   support-packet.md  versions (comet-sidecar, libuv, libcurl), what was included, a per-probe
 *                      summary, the ordered timeline of runs and of their attempts as Markdown
 *                      tables (times, classes, statuses, retry decisions, our request ids and the
 *                      upstream's, trace ids), and the effective configuration with every secret
 *                      shown as [REDACTED] (config.h sc_config_write_effective).
 *   evidence.jsonl     the evidence lines (evidence.h) that passed the filter, oldest first.
 * Nothing secret, no prompt and no completion: evidence lines never carry them, and as a second
 * line of defence a line containing the configured API key (cometapi.api_key, or the content of
 * cometapi.api_key_file) is withheld and counted. Lines that are not JSON objects with a valid
 * started_at (a line torn by a full disk) are skipped and counted.
 *
 * Synchronous (a CLI subcommand; there is no loop). At most SC_SUPPORT_PACKET_MAX_RUNS runs are
 * included (the latest by file order win); lines over SC_EVIDENCE_LINE_MAX are skipped. */
#ifndef SC_CANARY_SUPPORT_PACKET_H
#define SC_CANARY_SUPPORT_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define SC_SUPPORT_PACKET_MAX_RUNS 20000

/* --since: RFC 3339 ("2026-11-22T19:00:00Z", fraction and +hh:mm offsets accepted) or a duration
 * before now: "90m", "1h", "1h30m", "2d", "500ms" (config duration syntax, plus whole days).
 * 0 and *out_unix_ns set, or -EINVAL. Pure. */
int sc_support_packet_parse_since(const char *s, uint64_t now_unix_ns, uint64_t *out_unix_ns);

/* RFC 3339 date-time (exactly len bytes) to unix nanoseconds. 0 or -EINVAL. Pure. */
int sc_support_packet_parse_rfc3339(const char *s, size_t len, uint64_t *out_unix_ns);

/* Writes the packet into out_dir (created 0700 if missing). since_unix_ns 0 = every line.
 * 0, or a negative errno with a one-line reason in err (never containing a secret). */
int sc_support_packet_write(const char *evidence_path, uint64_t since_unix_ns, const char *out_dir,
                            const sc_config *cfg, char *err, size_t errcap);

#endif
