#!/usr/bin/env bash
# The test oracles: the real `quadlet` binaries from Debian's podman packages, trixie's (5.4.2, what
# NixOS 25.05 ships) and sid's (the newest), fetched with a private apt state (nothing on the host
# changes) into $QUADGEN_CACHE/quadlet/SUITE. Idempotent: an unpacked suite is reused.
set -euo pipefail
cache=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
for suite in trixie sid; do
dest=$cache/quadlet/$suite
bin=$dest/usr/libexec/podman/quadlet
if [ -x "$bin" ]; then echo "quadlet $suite: $("$bin" -version) (cached)"; continue; fi
uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
      | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
uri=${uri:-http://deb.debian.org/debian}
work=$(mktemp -d)
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$dest"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" > "$work/sources.list"
opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
      -o Dir::State::Status=/dev/null -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
apt-get "${opts[@]}" update >&2
( cd "$work" && apt-get "${opts[@]}" download podman >&2 )
dpkg -x "$work"/podman_*.deb "$dest"
rm -rf "$work"
[ -x "$bin" ] || { echo "no quadlet in podman package ($suite)" >&2; exit 1; }
echo "quadlet $suite: $("$bin" -version)"
done
