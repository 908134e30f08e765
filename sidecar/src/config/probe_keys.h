/* probe_keys.h - owns: the element schema of the probes[] configuration array (one canary
 * probe). Static data; nothing to free. */
#ifndef SC_CONFIG_PROBE_KEYS_H
#define SC_CONFIG_PROBE_KEYS_H

#include "config/schema.h"

extern const sc_config_schema sc_config_probe_schema;

#endif
