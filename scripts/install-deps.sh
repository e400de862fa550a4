#!/usr/bin/env bash
# Installs the system libraries SymGraph links against, only when they are missing.
# Idempotent: a second run does nothing. Debian/Ubuntu (apt-get) only.
set -euo pipefail
need=()
for pkg in libopenblas-dev libgraphviz-dev pkg-config; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        need+=("$pkg")
    fi
done
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${need[@]}"
