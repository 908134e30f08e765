#!/usr/bin/env bash
# install.sh - owns: installing the validator's pinned npm dependencies (npm ci from
# package-lock.json). Runs npm ci only when node_modules is missing or was installed from a
# different lock file, so it works offline after the first install. Serialised with flock.
# Exit status is non-zero, with a message on stderr, when anything fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() { echo "k8s_validate/install.sh: ERROR: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$major" -ge 18 ]] || die "node >= 18 needed, found $(node --version)"

exec 9>"$here/.install.lock"
flock -w 600 9 || die "timed out waiting for another install.sh"

stamp="node_modules/.comet-install-stamp"
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "k8s_validate/install.sh: node_modules up to date"
  exit 0
fi

echo "k8s_validate/install.sh: npm ci (node_modules missing or stale)"
npm ci --no-audit --no-fund --ignore-scripts || die "npm ci failed (is the npm registry reachable?)"
version="$(node -p 'require("kubernetes-models/package.json").version')"
[[ "$version" == "4.5.1" ]] || die "kubernetes-models is $version, expected 4.5.1"
echo '[]' | node validate.js - >/dev/null || die "validate.js failed to load its models"
echo "$want" >"$stamp"
echo "k8s_validate/install.sh: installed kubernetes-models $version"
