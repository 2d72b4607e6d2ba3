#!/usr/bin/env bash
# The schema oracle for `quadgen export kubernetes`: PyPI's kubernetes-validate (it ships the
# Kubernetes OpenAPI schemas of every release it knows and validates offline), pinned, in a venv
# under ${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}/kubernetes-validate. Idempotent: a venv with
# the pinned version is reused. Then proves it works with no network at all (`unshare -n`).
set -euo pipefail
cache=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
version=1.37.0
venv=$cache/kubernetes-validate
bin=$venv/bin/kubernetes-validate

if ! "$venv/bin/pip" show kubernetes-validate 2>/dev/null | grep -qx "Version: $version"; then
  python=$(command -v python3) || { echo "python3 is needed (apt-get install python3 python3-venv)" >&2; exit 1; }
  if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$version"
fi

# Offline check: a valid and an invalid document, validated in a network namespace of its own.
doc=$(mktemp -d)
trap 'rm -rf "$doc"' EXIT
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\nspec:\n  ports:\n  - port: 80\n' > "$doc/good.yaml"
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n  - port: "eighty"\n' > "$doc/bad.yaml"
offline=(unshare -n --)
unshare -n true 2>/dev/null || offline=()
"${offline[@]}" "$bin" --strict --kubernetes-version 1.33 "$doc/good.yaml" >/dev/null
if "${offline[@]}" "$bin" --strict --kubernetes-version 1.33 "$doc/bad.yaml" >/dev/null 2>&1; then
  echo "kubernetes-validate accepted an invalid document" >&2; exit 1
fi
echo "kubernetes-validate: $("$bin" --version 2>&1 | tail -n1) at $bin (works offline${offline:+, checked with unshare -n})"
