#!/usr/bin/env bash
# Make sure Node.js and npm are installed, for `make assets` (the web UI's front-end packages).
# Debian 12; installs from Debian's packages only when missing, which needs root.
set -euo pipefail

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-node: Node.js and npm are missing; install them (apt-get install nodejs npm)" \
    "or run this as root" >&2
  exit 1
fi
echo "ensure-node: installing nodejs and npm from Debian's packages"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
