#!/usr/bin/env bash
# Runs before `npm start` and `npm test`: makes a fresh machine ready. Installs the Debian
# packages of the services (when missing and we may), the npm dependencies (when missing), and
# compiles dist/ (when missing or older than a source).
# Quick and silent when everything is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; then
  bash scripts/install-services.sh >/dev/null
elif ! command -v nats-server >/dev/null 2>&1; then
  echo "setup: nats-server is missing and this user cannot install it; see scripts/install-services.sh" >&2
fi
{ [ -d node_modules/xstate ] && [ -x node_modules/.bin/depcruise ]; } || npm ci --no-audit --no-fund
# The CLI runs the compiled package (dist/); build it when it is missing or older than a source.
bash scripts/build-if-stale.sh
