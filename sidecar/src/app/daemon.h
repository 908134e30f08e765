/* daemon.h - owns: the running sidecar. It builds the one uv loop, wires every module onto it
 * (key source, HTTP client, health listener, checks, later telemetry and sources), handles
 * SIGTERM/SIGINT, drains within the shutdown deadline and closes the loop.
 *
 * The configuration and logger are borrowed for the whole run. */
#ifndef SC_APP_DAEMON_H
#define SC_APP_DAEMON_H

#include "config/config.h"
#include "core/log.h"

/* Runs until a signal (or, with once, until the checks are done). evidence_path (may be NULL)
 * overrides evidence.path. Returns a process exit code. */
int sc_daemon_run(const sc_config *cfg, sc_log *log, int once, const char *evidence_path);

#endif
