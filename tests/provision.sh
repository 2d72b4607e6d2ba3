#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently (run as root): every
# tests/provision/*.sh in order, stopping at the first failure. Caches under
# ${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for script in "$here"/provision/*.sh; do
  start=$(date +%s%N)
  echo "== provision: $(basename "$script")"
  bash "$script"
  echo "   $(basename "$script"): $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
