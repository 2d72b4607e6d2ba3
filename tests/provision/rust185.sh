#!/usr/bin/env bash
# Provision Rust 1.85 the way a Debian 13 user gets it: a Debian trixie root (minbase) with trixie's
# own `rustc` and `cargo` (1.85.x) and what a build needs (gcc, libc6-dev, ca-certificates).
# tests/rust185.sh builds and tests the project inside it (a chroot, no boot); tests/rust_1_85.rs
# runs that as part of the suite.
#
# Run as root. Idempotent:
#   - host packages are installed only when a command is missing;
#   - the debootstrap is skipped when the root carries the stamp of ROOT_VERSION (bump it whenever
#     the package list below changes; the root is then rebuilt from scratch);
#   - the mount points tests/rust185.sh needs are (re)created on every run.
# The root lives in ${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}/rust185-root; the .debs it was made
# from stay in .../debs/trixie (debootstrap --cache-dir), so a rebuild of the root downloads nothing.
# Nothing ever writes into the root after this script: tests/rust185.sh mounts it read-only.
set -euo pipefail

ROOT_VERSION=1 # bump when PACKAGES or the debootstrap invocation changes
SUITE=trixie
PACKAGES=(rustc cargo gcc libc6-dev ca-certificates)
# trixie's toolchain is 1.85.x; a point release of trixie may move it, never to another minor
WANT_RUSTC="rustc 1.85."

CACHE=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
ROOT=$CACHE/rust185-root
DEBS=$CACHE/debs/$SUITE
STAMP=$ROOT/.quadgen-rust185-root
WANT_STAMP="quadgen-rust185-root v$ROOT_VERSION $SUITE ${PACKAGES[*]}"

log() { printf '[rust185] %s\n' "$*" >&2; }
die() { printf '[rust185] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it debootstraps a root)"

# mirror(): the Debian mirror this machine already uses.
# shellcheck source=lib/debian.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"

# ---------------------------------------------------------------------------------------------
# host packages (unshare and chroot come with util-linux and coreutils, both essential)
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
  log "installing host packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---------------------------------------------------------------------------------------------
# debootstrap (skipped when the stamp matches)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ]; then
  log "root is current ($ROOT, v$ROOT_VERSION): skipping debootstrap"
else
  MIRROR=$(mirror)
  log "debootstrapping $SUITE with ${PACKAGES[*]} from $MIRROR into $ROOT (a few minutes)"
  mkdir -p "$CACHE" "$DEBS"
  # Build next to the final place and swap it in only when complete, so an interrupted run never
  # leaves a half root that looks usable.
  tmp=$CACHE/rust185-root.tmp
  rm -rf "$tmp"
  include=$(IFS=,; echo "${PACKAGES[*]}")
  if ! debootstrap --variant=minbase --include="$include" --cache-dir="$DEBS" "$SUITE" "$tmp" "$MIRROR" \
      >"$CACHE/rust185-debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/rust185-debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/rust185-debootstrap.log)"
  fi
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
  echo "$WANT_STAMP" > "$tmp/.quadgen-rust185-root"
  rm -rf "$ROOT"
  mv "$tmp" "$ROOT"
fi

# ---------------------------------------------------------------------------------------------
# mount points for tests/rust185.sh (the root itself is mounted read-only there)
for bin in /usr/bin/rustc /usr/bin/cargo /usr/bin/cc /etc/ssl/certs/ca-certificates.crt; do
  [ -e "$ROOT$bin" ] || die "incomplete root: $ROOT$bin missing (delete $ROOT and rerun)"
done
mkdir -p "$ROOT/src" "$ROOT/cargo-home" "$ROOT/target" "$ROOT/out"
for f in /etc/resolv.conf /etc/quadgen-host-ca.crt; do
  # a regular file to bind the host's over (debootstrap may leave resolv.conf as a symlink)
  if [ -L "$ROOT$f" ] || [ ! -f "$ROOT$f" ]; then
    rm -f "$ROOT$f"
    : > "$ROOT$f"
  fi
done

version=$(chroot "$ROOT" rustc --version) || die "rustc does not run in $ROOT"
case $version in
  "$WANT_RUSTC"*) ;;
  *) die "expected $WANT_RUSTC*, the root has: $version" ;;
esac
log "ok: $ROOT: $version, $(chroot "$ROOT" cargo --version)"
