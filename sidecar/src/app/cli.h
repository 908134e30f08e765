/* cli.h - owns: parsing argv into sc_cli, and the --help text (flags and exit codes).
 *
 * Pure: no I/O besides what the caller prints. The sc_cli keeps pointers into argv. */
#ifndef SC_APP_CLI_H
#define SC_APP_CLI_H

#include <stddef.h>

#define SC_CLI_MAX_SETS 64

/* Process exit codes; documented in --help and the README. */
enum {
    SC_EXIT_OK = 0,           /* clean stop; --once: every check met its expectation */
    SC_EXIT_CHECK_FAILED = 1, /* --once: at least one check did not meet its expectation */
    SC_EXIT_CONFIG = 2,       /* bad command line or configuration; nothing was started */
    SC_EXIT_RUNTIME = 3,      /* could not start (e.g. the health port is taken) */
    SC_EXIT_SIGNAL_BASE = 128 /* second SIGTERM/SIGINT during shutdown: 128 + signal number */
};

typedef struct sc_cli {
    int support_packet; /* the "support-packet" subcommand */
    const char *config_file;
    const char *evidence_file; /* --evidence: overrides evidence.path */
    const char *since;         /* support-packet --since */
    const char *out_dir;       /* support-packet --out */
    const char *sets[SC_CLI_MAX_SETS];
    size_t n_sets;
    const char *log_level;
    int check_config;
    int once;
    int version;
    int help;
} sc_cli;

/* Returns 0, or -EINVAL with a one-line reason in err (e.g. unknown flag, missing value). */
int sc_cli_parse(int argc, char **argv, sc_cli *out, char *err, size_t err_cap);

/* The full --help text. Static storage. */
const char *sc_cli_help(void);

#endif
