#!/usr/bin/env bash
# Provision the end-to-end test bed: a Debian trixie root (systemd 257, podman 5.4.2, crun,
# netavark, aardvark-dns, docker-registry, podman-compose as the peer to compare with) that
# tests/support/nspawn.rs boots with systemd-nspawn.
#
# Run as root. Idempotent:
#   - host packages are installed only when a command is missing;
#   - the debootstrap is skipped when the root carries the stamp of ROOT_VERSION (bump it whenever
#     the package list below changes; the root is then rebuilt from scratch);
#   - the configuration files are (re)written on every run, so editing them here takes effect
#     without a rebuild.
# The root lives in ${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}/e2e-root. Tests never write to it:
# every boot gets a volatile overlay on top.
set -euo pipefail

ROOT_VERSION=2 # bump when PACKAGES or the debootstrap invocation changes
SUITE=trixie
PACKAGES=(
  systemd systemd-sysv dbus
  podman crun conmon netavark aardvark-dns catatonit
  busybox-static docker-registry podman-compose
  iptables nftables iproute2 procps
)

CACHE=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
ROOT=$CACHE/e2e-root
STAMP=$ROOT/.quadgen-e2e-root
WANT_STAMP="quadgen-e2e-root v$ROOT_VERSION $SUITE ${PACKAGES[*]}"

log() { printf '[e2e-root] %s\n' "$*" >&2; }
die() { printf '[e2e-root] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it debootstraps and configures a root for systemd-nspawn)"

# mirror(): the Debian mirror this machine already uses.
# shellcheck source=lib/debian.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"

# ---------------------------------------------------------------------------------------------
# host packages
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v nsenter >/dev/null || need+=(util-linux)
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
  log "debootstrapping $SUITE from $MIRROR into $ROOT (a few minutes)"
  mkdir -p "$CACHE"
  # Build next to the final place and swap it in only when complete, so an interrupted run never
  # leaves a half root that looks usable.
  tmp=$CACHE/e2e-root.tmp
  rm -rf "$tmp"
  include=$(IFS=,; echo "${PACKAGES[*]}")
  if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$tmp" "$MIRROR" \
      >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 30 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
  echo "$WANT_STAMP" > "$tmp/.quadgen-e2e-root"
  rm -rf "$ROOT"
  mv "$tmp" "$ROOT"
fi

# ---------------------------------------------------------------------------------------------
# configuration (checked on every run; a file is replaced only when its content differs, because
# machines that are running use this tree as their read-only lower layer)
log "configuring $ROOT"
put() { # put FILE < content
  local new
  new=$(cat)
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$new" ]; then
    printf '%s\n' "$new" > "$1.tmp"
    mv "$1.tmp" "$1"
  fi
}
mask() { # mask UNIT
  [ "$(readlink "$ROOT/etc/systemd/system/$1" || true)" = /dev/null ] \
    || ln -sfn /dev/null "$ROOT/etc/systemd/system/$1"
}
for bin in /usr/bin/podman /usr/lib/systemd/systemd /usr/bin/busybox /usr/bin/docker-registry \
           /usr/libexec/podman/quadlet; do
  [ -x "$ROOT$bin" ] || die "incomplete root: $ROOT$bin missing (delete $ROOT and rerun)"
done

echo e2e | put "$ROOT/etc/hostname"
# nothing to load inside the container (no modules in this VM): the unit would fail the boot
mask systemd-modules-load.service
# nobody logs in on a console; keeps the boot quiet and quick
mask console-getty.service

mkdir -p "$ROOT/etc/containers/registries.conf.d" "$ROOT/etc/containers/containers.conf.d" \
         "$ROOT/etc/containers/systemd" "$ROOT/etc/docker/registry"
put "$ROOT/etc/containers/registries.conf.d/50-quadgen-e2e.conf" <<'CONF'
# the test registry (docker-registry.service) inside the machine, plain HTTP
[[registry]]
location = "127.0.0.1:5000"
insecure = true
CONF
put "$ROOT/etc/containers/storage.conf" <<'CONF'
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
CONF
# This VM's quirks (see tests/support/nspawn.rs, which rewrites the ulimits at each boot from the
# test process's own hard limits):
#  - no CAP_SYS_RESOURCE: crun cannot raise rlimits above the host's hard limits, and podman as root
#    asks for nofile=1048576 -> "setrlimit RLIMIT_NOFILE: Operation not permitted";
#  - the nested cgroup2 tree has no controllers (the host keeps them on v1) -> no pids limit, else
#    "crun: controller `pids` is not available".
put "$ROOT/etc/containers/containers.conf.d/50-quadgen-e2e.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$(ulimit -Hu):$(ulimit -Hu)"]
pids_limit = 0
CONF
put "$ROOT/etc/docker/registry/config.yml" <<'CONF'
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
CONF
# leftovers of anything that ever ran in this root by hand (tests never write here)
shopt -s nullglob dotglob
leftovers=("$ROOT"/etc/containers/systemd/* "$ROOT"/var/lib/docker-registry/*)
[ -e "$ROOT/var/lib/containers" ] && leftovers+=("$ROOT/var/lib/containers")
if [ ${#leftovers[@]} -gt 0 ]; then
  log "removing leftovers: ${leftovers[*]}"
  rm -rf "${leftovers[@]}"
fi
shopt -u nullglob dotglob

log "ok: $ROOT ($(cat "$STAMP"))"
