#!/usr/bin/env bash
# The Compose oracle for `quadgen import compose`: Docker Compose v2 from Debian's `docker-compose`
# packages, trixie's (2.26) and sid's (the newest), fetched with a private apt state (nothing on
# the host changes) into $QUADGEN_CACHE/compose/SUITE. `docker-compose config --format json` prints
# Compose's own normalized model and needs no daemon. Idempotent: an unpacked suite is reused.
set -euo pipefail
cache=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
find_bin() { # the package ships the CLI plugin; some versions also a /usr/bin link
  local d=$1
  for p in usr/libexec/docker/cli-plugins/docker-compose usr/bin/docker-compose; do
    if [ -x "$d/$p" ] && [ ! -L "$d/$p" ]; then echo "$d/$p"; return 0; fi
  done
  return 1
}
for suite in trixie sid; do
dest=$cache/compose/$suite
if bin=$(find_bin "$dest") && "$bin" version >/dev/null 2>&1; then
  echo "docker-compose $suite: $("$bin" version --short) (cached)"; continue
fi
uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
      | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
uri=${uri:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" > "$work/sources.list"
opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
      -o Dir::State::Status=/dev/null -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
apt-get "${opts[@]}" update >&2
( cd "$work" && apt-get "${opts[@]}" download docker-compose >&2 )
# Unpack into a fresh directory and move it into place whole, so a killed run leaves no half suite.
rm -rf "$dest.partial" && mkdir -p "$dest.partial"
dpkg -x "$work"/docker-compose_*.deb "$dest.partial"
rm -rf "$dest" && mv "$dest.partial" "$dest"
rm -rf "$work"; trap - EXIT
bin=$(find_bin "$dest") || { echo "no docker-compose binary in the package ($suite)" >&2; exit 1; }
# A static Go binary: it must run here (no daemon needed for `config`).
"$bin" version >/dev/null || { echo "docker-compose ($suite) does not run on this host" >&2; exit 1; }
echo "docker-compose $suite: $("$bin" version --short)"
done
