#!/usr/bin/env bash
# Fetch the real `quadlet` binary from Debian's podman package, for one suite, with a private apt
# state (nothing on the host changes). Usage: fetch-quadlet.sh SUITE DEST_DIR
# Prints the path of the quadlet binary. Idempotent: reuses DEST_DIR when already unpacked.
set -euo pipefail
suite=$1 dest=$2
bin=$dest/usr/libexec/podman/quadlet
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
      | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
uri=${uri:-http://deb.debian.org/debian}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$dest"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" > "$work/sources.list"
opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
      -o Dir::State::Status=/dev/null -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
apt-get "${opts[@]}" update >&2
( cd "$work" && apt-get "${opts[@]}" download podman >&2 )
dpkg -x "$work"/podman_*.deb "$dest"
[ -x "$bin" ] || { echo "no quadlet in podman package ($suite)" >&2; exit 1; }
echo "$bin"
