#!/usr/bin/env bash
# Provision everything the test suites need on this machine (run as root; idempotent).
# Runs every tests/provision/*.sh in name order, stops at the first failure, and prints how long
# each one took. Pass script names to run only those: `bash tests/provision.sh e2e-root`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shopt -s nullglob

scripts=()
if [ $# -gt 0 ]; then
  for name in "$@"; do
    s=$here/provision/${name%.sh}.sh
    [ -f "$s" ] || { echo "provision: no such script: $s" >&2; exit 2; }
    scripts+=("$s")
  done
else
  scripts=("$here"/provision/*.sh)
fi
[ ${#scripts[@]} -gt 0 ] || { echo "provision: nothing in $here/provision" >&2; exit 2; }

total_start=$(date +%s%N)
for s in "${scripts[@]}"; do
  name=$(basename "$s")
  echo "==> provision: $name" >&2
  start=$(date +%s%N)
  if bash "$s"; then
    rc=0
  else
    rc=$?
  fi
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ $rc -ne 0 ]; then
    printf '==> provision: %s FAILED (exit %d) after %d.%03ds\n' "$name" $rc $((ms / 1000)) $((ms % 1000)) >&2
    exit $rc
  fi
  printf '==> provision: %s ok in %d.%03ds\n' "$name" $((ms / 1000)) $((ms % 1000)) >&2
done
ms=$(( ($(date +%s%N) - total_start) / 1000000 ))
printf '==> provision: all %d script(s) ok in %d.%03ds\n' ${#scripts[@]} $((ms / 1000)) $((ms % 1000)) >&2
