/* app.c - owns: the program's outer flow: parse the command line, load and validate the
 * configuration (exit 2 on any error, before anything starts), then --check-config, or run. */
#include "app/app.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/daemon.h"
#include "canary/support_packet.h"
#include "config/config.h"
#include "config/keyfile.h"
#include "core/buf.h"
#include "core/log.h"
#include "version.h"

/* The key file is part of the configuration: check it the way the daemon will load it. */
static int check_key_source(const sc_config *cfg, sc_log *log)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0)
        return SC_EXIT_RUNTIME;
    sc_rng rng;
    sc_rng_init_system(&rng);
    sc_env env = {.loop = &loop, .log = log, .clock = sc_clock_system(), .rng = &rng};
    sc_keyfile_options opt = {.key = cfg->cometapi.api_key, .path = cfg->cometapi.api_key_file};
    sc_keyfile *kf;
    sc_config_error err;
    int code = SC_EXIT_OK;
    if (sc_keyfile_new(&kf, &env, &opt, &err) < 0) {
        sc_log_error(log, "invalid configuration", SC_F_STR("error", err.msg));
        code = SC_EXIT_CONFIG;
    } else {
        sc_keyfile_close(kf, NULL, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return code;
}

static int check_config(const sc_config *cfg, sc_log *log)
{
    int code = check_key_source(cfg, log);
    if (code != SC_EXIT_OK)
        return code;
    sc_buf out;
    sc_buf_init(&out, 1u << 20);
    int rc = sc_config_write_effective(cfg, &out);
    if (rc == 0)
        fwrite(out.data, 1, out.len, stdout);
    sc_buf_free(&out);
    return rc == 0 ? SC_EXIT_OK : SC_EXIT_RUNTIME;
}

static int support_packet(const sc_cli *cli, const sc_config *cfg, sc_log *log)
{
    uint64_t since = 0;
    if (cli->since != NULL && sc_support_packet_parse_since(
                                  cli->since, sc_clock_wall_ns(sc_clock_system()), &since) < 0) {
        sc_log_error(log, "invalid command line",
                     SC_F_STR("error", "--since: expected an RFC 3339 time or a duration like 1h"),
                     SC_F_STR("value", cli->since));
        return SC_EXIT_CONFIG;
    }
    const char *dir = cli->out_dir != NULL ? cli->out_dir : ".";
    char err[512];
    if (sc_support_packet_write(cli->evidence_file, since, dir, cfg, err, sizeof err) < 0) {
        sc_log_error(log, "support packet not written", SC_F_STR("error", err));
        return SC_EXIT_RUNTIME;
    }
    printf("support packet written to %s/support-packet.md\n", dir);
    return SC_EXIT_OK;
}

static int run(const sc_cli *cli, sc_log *log)
{
    sc_config cfg;
    sc_config_error err;
    sc_config_sources src = {
        .file = cli->config_file,
        .getenv = sc_config_process_getenv,
        .sets = cli->sets,
        .n_sets = cli->n_sets,
        .log = log,
    };
    if (sc_config_load(&src, &cfg, &err) < 0) {
        sc_log_error(log, "invalid configuration", SC_F_STR("error", err.msg));
        return SC_EXIT_CONFIG;
    }
    sc_log_level level = cfg.log.level;
    if (cli->log_level != NULL)
        sc_log_level_parse(cli->log_level, &level); /* validated by the caller */
    sc_log_set_level(log, level);
    int code;
    if (cli->support_packet)
        code = support_packet(cli, &cfg, log);
    else if (cli->check_config)
        code = check_config(&cfg, log);
    else
        code = sc_daemon_run(&cfg, log, cli->once, cli->evidence_file);
    sc_config_free(&cfg);
    return code;
}

static int main_with_log(int argc, char **argv, sc_log *log)
{
    sc_cli cli;
    char err[256];
    if (sc_cli_parse(argc, argv, &cli, err, sizeof err) < 0) {
        sc_log_error(log, "invalid command line", SC_F_STR("error", err));
        return SC_EXIT_CONFIG;
    }
    if (cli.help) {
        fputs(sc_cli_help(), stdout);
        return SC_EXIT_OK;
    }
    if (cli.version) {
        printf("%s %s (libuv %s, %s)\n", SC_NAME, SC_VERSION, uv_version_string(), curl_version());
        return SC_EXIT_OK;
    }
    sc_log_level level;
    if (cli.log_level != NULL && sc_log_level_parse(cli.log_level, &level) < 0) {
        sc_log_error(log, "invalid command line",
                     SC_F_STR("error", "--log-level: expected debug, info, warn or error"),
                     SC_F_STR("value", cli.log_level));
        return SC_EXIT_CONFIG;
    }
    /* Peer resets on the health listener must be an error code, not a process kill. */
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sc_log_error(log, "libcurl failed to initialise");
        return SC_EXIT_RUNTIME;
    }
    int code = run(&cli, log);
    curl_global_cleanup();
    return code;
}

int sc_app_main(int argc, char **argv)
{
    sc_log *log;
    if (sc_log_new(&log, STDERR_FILENO, SC_LOG_INFO, sc_clock_system()) < 0)
        return SC_EXIT_RUNTIME;
    int code = main_with_log(argc, argv, log);
    sc_log_free(log);
    return code;
}
