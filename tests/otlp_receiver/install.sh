#!/usr/bin/env bash
# install.sh - owns: installing the receiver's pinned npm dependencies (npm ci from package-lock.json).
# Runs npm ci only when node_modules is missing or was installed from a different lock file, so it
# works offline after the first install. Serialised with flock so parallel tests do not race.
# Exit status is non-zero, with a message on stderr, when anything fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() { echo "otlp_receiver/install.sh: ERROR: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$major" -ge 18 ]] || die "node >= 18 needed, found $(node --version)"

exec 9>"$here/.install.lock"
flock -w 600 9 || die "timed out waiting for another install.sh"

stamp="node_modules/.comet-install-stamp"
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
generated="node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$generated" ]]; then
  echo "otlp_receiver/install.sh: node_modules up to date"
  exit 0
fi

echo "otlp_receiver/install.sh: npm ci (node_modules missing or stale)"
# --ignore-scripts: nothing here needs an install script (protobufjs' postinstall only checks its CLI).
npm ci --no-audit --no-fund --ignore-scripts || die "npm ci failed (is the npm registry reachable?)"

version="$(node -p 'require("@opentelemetry/otlp-transformer/package.json").version')"
[[ "$version" == "0.52.1" ]] || die "@opentelemetry/otlp-transformer is $version, expected 0.52.1"
node -e 'require("./schema").loadSchema()' || die "generated OTLP code failed to load"
echo "$want" >"$stamp"
echo "otlp_receiver/install.sh: installed @opentelemetry/otlp-transformer $version"
