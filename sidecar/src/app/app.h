/* app.h - owns: the daemon's lifecycle: CLI, configuration, wiring the modules onto one loop,
 * signals and shutdown. */
#ifndef SC_APP_APP_H
#define SC_APP_APP_H

/* Runs the program; returns the process exit code (see --help). */
int sc_app_main(int argc, char **argv);

#endif
