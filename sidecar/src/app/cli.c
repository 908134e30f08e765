/* cli.c - owns: the command-line grammar and the help text. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef enum { OPT_FLAG, OPT_VALUE } opt_kind;

typedef struct {
    const char *name;
    opt_kind kind;
} opt_def;

static const opt_def options[] = {
    {"--config", OPT_VALUE}, {"--set", OPT_VALUE},       {"--check-config", OPT_FLAG},
    {"--once", OPT_FLAG},    {"--log-level", OPT_VALUE}, {"--version", OPT_FLAG},
    {"--help", OPT_FLAG},    {"-h", OPT_FLAG},           {"--evidence", OPT_VALUE},
    {"--since", OPT_VALUE},  {"--out", OPT_VALUE},
};

static int apply(sc_cli *cli, const char *name, const char *value, char *err, size_t cap)
{
    if (strcmp(name, "--config") == 0) {
        cli->config_file = value;
    } else if (strcmp(name, "--set") == 0) {
        if (cli->n_sets == SC_CLI_MAX_SETS) {
            snprintf(err, cap, "too many --set flags (at most %d)", SC_CLI_MAX_SETS);
            return -EINVAL;
        }
        cli->sets[cli->n_sets++] = value;
    } else if (strcmp(name, "--evidence") == 0) {
        cli->evidence_file = value;
    } else if (strcmp(name, "--since") == 0) {
        cli->since = value;
    } else if (strcmp(name, "--out") == 0) {
        cli->out_dir = value;
    } else if (strcmp(name, "--log-level") == 0) {
        cli->log_level = value;
    } else if (strcmp(name, "--check-config") == 0) {
        cli->check_config = 1;
    } else if (strcmp(name, "--once") == 0) {
        cli->once = 1;
    } else if (strcmp(name, "--version") == 0) {
        cli->version = 1;
    } else {
        cli->help = 1;
    }
    return 0;
}

static const opt_def *find_option(const char *arg, size_t name_len)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        if (strlen(options[i].name) == name_len && strncmp(options[i].name, arg, name_len) == 0)
            return &options[i];
    }
    return NULL;
}

int sc_cli_parse(int argc, char **argv, sc_cli *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "support-packet") == 0) {
        out->support_packet = 1;
        first = 2;
    }
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq && strncmp(arg, "--", 2) == 0 ? (size_t)(eq - arg) : strlen(arg);
        const opt_def *opt = find_option(arg, name_len);
        if (opt == NULL) {
            snprintf(err, cap, "unknown argument \"%s\" (see --help)", arg);
            return -EINVAL;
        }
        const char *value = NULL;
        if (opt->kind == OPT_VALUE) {
            if (arg[name_len] == '=') {
                value = arg + name_len + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                snprintf(err, cap, "%s needs a value (see --help)", opt->name);
                return -EINVAL;
            }
        } else if (arg[name_len] == '=') {
            snprintf(err, cap, "%s takes no value", opt->name);
            return -EINVAL;
        }
        int rc = apply(out, opt->name, value, err, cap);
        if (rc < 0)
            return rc;
    }
    if (!out->support_packet && (out->since != NULL || out->out_dir != NULL)) {
        snprintf(err, cap, "--since and --out belong to the support-packet subcommand");
        return -EINVAL;
    }
    if (out->support_packet && !out->help && out->evidence_file == NULL) {
        snprintf(err, cap, "support-packet needs --evidence FILE");
        return -EINVAL;
    }
    return 0;
}

const char *sc_cli_help(void)
{
    return "Usage: comet-sidecar [--config FILE] [--set KEY=VALUE]... [--check-config] [--once]\n"
           "                     [--evidence FILE] [--log-level LEVEL] [--version] [--help]\n"
           "       comet-sidecar support-packet --evidence FILE [--since T] [--out DIR]\n"
           "                     [--config FILE] [--set KEY=VALUE]...\n"
           "\n"
           "Watches LLM traffic through CometAPI (canaries and the gateway's access log) and\n"
           "exports it as OpenTelemetry over OTLP/HTTP.\n"
           "\n"
           "Options:\n"
           "  --config FILE        JSON configuration file. Layers apply in this order, later "
           "wins:\n"
           "                       built-in defaults, FILE, environment variables, --set.\n"
           "  --set KEY=VALUE      Override one configuration key by its dotted path, e.g.\n"
           "                       --set cometapi.base_url=http://127.0.0.1:8080/v1\n"
           "                       (repeatable; the value is typed by the key).\n"
           "  --check-config       Validate the configuration, print the effective configuration\n"
           "                       with secrets redacted, and exit.\n"
           "  --once               Deploy-gate mode: run every enabled probe once (without "
           "probes:\n"
           "                       the upstream check), flush the telemetry and the evidence, "
           "print\n"
           "                       a table (probe, expected, observed, retries, fallback "
           "decision,\n"
           "                       PASS/FAIL) on stdout, and exit 0 only if every probe met its\n"
           "                       expectation.\n"
           "  --evidence FILE      Evidence file: one sanitized JSON line per canary run\n"
           "                       (overrides evidence.path).\n"
           "  --log-level LEVEL    debug, info, warn or error (overrides log.level). Logs are\n"
           "                       JSON lines on stderr.\n"
           "  --version            Print the version and exit.\n"
           "  --help, -h           Print this help and exit.\n"
           "\n"
           "support-packet: writes an incident hand-off packet into DIR (default: the current\n"
           "  directory): support-packet.md with the timeline of runs and attempts, the effective\n"
           "  configuration with secrets redacted and versions, and the evidence lines. --since\n"
           "  takes an RFC 3339 time or a duration back from now (\"1h\", \"30m\"). Nothing "
           "secret, no\n"
           "  prompt and no completion is ever in it.\n"
           "\n"
           "Environment:\n"
           "  COMETAPI_BASE_URL, COMETAPI_API_KEY, COMETAPI_API_KEY_FILE, COMETAPI_MODEL,\n"
           "  OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED, "
           "OTEL_EXPORTER_OTLP_*,\n"
           "  OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_BSP_*, OTEL_METRIC_EXPORT_*.\n"
           "  See the README for every key and variable.\n"
           "\n"
           "Signals:\n"
           "  SIGTERM, SIGINT     Stop taking new work, flush within shutdown.deadline, exit 0.\n"
           "                      A second signal exits at once.\n"
           "\n"
           "Exit codes:\n"
           "  0    success: clean stop, valid configuration, or every --once check passed\n"
           "  1    --once: at least one check did not meet its expectation\n"
           "  2    bad command line or configuration (the error names the key); nothing started\n"
           "  3    could not start (for example the health listener's port is in use)\n"
           "  128+N  forced exit by a second signal N during shutdown (130 SIGINT, 143 SIGTERM)\n";
}
