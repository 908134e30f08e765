#!/usr/bin/env bash
# Installs the Debian 12 packages comet-sidecar needs, and only those that are missing.
#   deploy/install-deps.sh          build and run (the demo)
#   deploy/install-deps.sh --test   also what the test suite drives (real nginx, Caddy, Node for the
#                                   official OTLP decoder, protoc, Prometheus and promtool, valgrind,
#                                   yamllint, kubectl for `kubectl kustomize`)
# The Dockerfile's build stage uses the same list, so the two cannot drift apart.
set -euo pipefail

build_pkgs=(gcc make cmake pkg-config libc6-dev libuv1-dev libcurl4-openssl-dev libcjson-dev
            zlib1g-dev libnanopb-dev nanopb python3-protobuf libprotobuf-c-dev protobuf-c-compiler
            python3 ca-certificates curl)
test_pkgs=(protobuf-compiler nginx caddy prometheus valgrind clang clang-format libclang-rt-14-dev procps
           iproute2 yamllint python3-yaml binutils)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from Debian (nodejs + npm) or from NodeSource (nodejs bundles npm): ask for the
# commands, not the packages, so an existing Node is never replaced.
if [[ "${1:-}" == "--test" ]]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  # kubectl: Debian's kubernetes-client (1.20, embedded kustomize v2.0.3) unless some kubectl is
  # already there (a cloud SDK's package owns the same /usr/bin/kubectl and would conflict).
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's nginx and caddy packages start a system service on install; the tests run their own
# instances on loopback ports and need nothing else listening.
for svc in nginx caddy prometheus; do
  if [[ " ${missing[*]} " == *" $svc "* ]] && command -v systemctl >/dev/null; then
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
