#!/usr/bin/env bash
# Compiles dist/ when it is missing or older than a source (the CLI and plain-node servers run it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
{ [ -f dist/cli/main.js ] && [ -z "$(find src -newer dist/cli/main.js -print -quit)" ]; } || npm run --silent build
