/* keyfile.h - owns: the CometAPI API key source: the static key from the config, or a key file (a
 * mounted Kubernetes Secret) that is re-read when it changes, so a rotated key is picked up without
 * a restart.
 *
 * File rules: content trimmed of surrounding whitespace; empty, unreadable, not a regular file,
 * larger than SC_KEYFILE_MAX, containing inner whitespace/control bytes, or group/world-writable
 * are errors. The initial load is synchronous (startup, before the loop runs). Afterwards a
 * uv_fs_event on the file's DIRECTORY (Kubernetes swaps a "..data" symlink, so the file's own inode
 * changes) is only a hint; a reconcile timer re-reads every check interval regardless. Re-reads use
 * uv_fs_* requests (the threadpool), so the loop never blocks. Invalid new content keeps the old
 * key and logs a warning. The key is never logged; its bytes are wiped when replaced or freed. Loop
 * thread only. */
#ifndef SC_CONFIG_KEYFILE_H
#define SC_CONFIG_KEYFILE_H

#include <stdint.h>

#include "config/config.h"
#include "core/env.h"

#define SC_KEYFILE_MAX 4096

typedef struct sc_keyfile sc_keyfile;
typedef void (*sc_keyfile_change_cb)(sc_keyfile *kf, void *arg);
typedef void (*sc_keyfile_error_cb)(sc_keyfile *kf, const char *msg, void *arg);
typedef void (*sc_keyfile_close_cb)(void *arg);

typedef struct sc_keyfile_options {
    const char *key;            /* static key (cometapi.api_key), used when path is NULL; copied */
    const char *path;           /* key file (cometapi.api_key_file) or NULL; copied */
    uint64_t check_interval_ms; /* reconcile period; 0: no timer */
    int no_watch;               /* 1: timer only (filesystems without inotify; tests) */
    sc_keyfile_change_cb on_change; /* a new key is in place (e.g. sc_log_set_secret); optional */
    sc_keyfile_error_cb on_error;   /* a re-read failed and the old key is kept; optional */
    void *arg;
} sc_keyfile_options;

/* Loads the key (synchronously when from a file). Returns 0, -EINVAL with err->msg naming the
 * path and the problem, or -ENOMEM. On error nothing is left allocated. `env` must outlive kf;
 * env->loop is used for the watch, the timer and the re-reads. */
int sc_keyfile_new(sc_keyfile **out, const sc_env *env, const sc_keyfile_options *opt,
                   sc_config_error *err);

/* Starts the directory watch and the reconcile timer (nothing to do for a static key). A watch
 * that cannot start is logged and the timer carries on. Returns 0 or a negative errno. */
int sc_keyfile_start(sc_keyfile *kf);

/* The current key (NULL when neither a key nor a file was configured). The pointer stays valid
 * until the next on_change callback or close: callers copy it or fetch it per use. */
const char *sc_keyfile_key(const sc_keyfile *kf);

/* 1 after the initial load, +1 per change of key; 0 when there is no key. */
uint64_t sc_keyfile_generation(const sc_keyfile *kf);

/* Stops watching, lets an in-flight read finish, frees everything and then calls cb(arg) exactly
 * once from the loop (cb may be NULL). kf must not be used after this call. Accepts NULL. */
void sc_keyfile_close(sc_keyfile *kf, sc_keyfile_close_cb cb, void *arg);

#endif
