#!/usr/bin/env bash
# Provision the rootless end-to-end root: a copy of the e2e root (tests/provision/e2e-root.sh runs
# first: provision.sh runs the scripts in name order) plus what rootless Podman needs, booted by
# tests/e2e_rootless.rs. A separate tree, so the shared e2e root (the lower layer of machines that
# may be running) is never rebuilt under them.
#
# Run as root. Idempotent: the copy is rebuilt only when the base root's stamp or PACKAGES change;
# the configuration below is (re)written on every run.
#
# What rootless needs on this rig (probed, see the README's "Rootless" section):
#   uidmap (newuidmap/newgidmap), passt (pasta, the rootless network), libpam-systemd (else
#   user@UID.service fails: no XDG_RUNTIME_DIR), dbus-user-session (the user bus `systemctl
#   --user` talks to).
set -euo pipefail

ROOTLESS_VERSION=1 # bump when PACKAGES or the way the copy is made changes
PACKAGES=(uidmap passt libpam-systemd dbus-user-session)

CACHE=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
BASE=$CACHE/e2e-root
ROOT=$CACHE/e2e-root-rootless
STAMP=$ROOT/.quadgen-e2e-root
BASE_STAMP=$BASE/.quadgen-e2e-root

log() { printf '[e2e-rootless] %s\n' "$*" >&2; }
die() { printf '[e2e-rootless] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages into a root with chroot)"
[ -f "$BASE_STAMP" ] || die "no e2e root at $BASE: run \`bash tests/provision.sh e2e-root\` first"
WANT_STAMP="$(cat "$BASE_STAMP") + rootless v$ROOTLESS_VERSION ${PACKAGES[*]}"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ]; then
  log "root is current ($ROOT): skipping the copy"
else
  log "copying $BASE and installing ${PACKAGES[*]} (about a minute)"
  tmp=$CACHE/e2e-root-rootless.tmp
  rm -rf "$tmp"
  cp -a --reflink=auto "$BASE" "$tmp"
  rm -f "$tmp/etc/resolv.conf"
  cp /etc/resolv.conf "$tmp/etc/resolv.conf"
  # apt in the copy, in a private mount namespace (nothing stays mounted on the host)
  unshare --mount --propagation private bash -euc '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    chroot "$root" apt-get -qq update
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends "$@"
  ' _ "$tmp" "${PACKAGES[@]}" >"$CACHE/e2e-rootless.log" 2>&1 \
    || { tail -n 30 "$CACHE/e2e-rootless.log" >&2; die "apt-get failed (log: $CACHE/e2e-rootless.log)"; }
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
  echo "$WANT_STAMP" > "$tmp/.quadgen-e2e-root"
  rm -rf "$ROOT"
  mv "$tmp" "$ROOT"
fi

for bin in /usr/bin/newuidmap /usr/bin/newgidmap /usr/bin/pasta \
           /usr/lib/x86_64-linux-gnu/security/pam_systemd.so; do
  [ -e "$ROOT$bin" ] || die "incomplete root: $ROOT$bin missing (delete $ROOT and rerun)"
done

put() { # put FILE < content
  local new
  new=$(cat)
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$new" ]; then
    printf '%s\n' "$new" > "$1.tmp"
    mv "$1.tmp" "$1"
  fi
}
# This VM's quirks for rootless:
#  - pasta opens /dev/net/tun as the user: nspawn creates it 0600;
#  - podman-user-wait-network-online.service (which quadlet orders user units after) polls
#    network-online.target, which nothing here pulls in: a 90 s wait at every user start.
put "$ROOT/etc/tmpfiles.d/quadgen-e2e-tun.conf" <<'CONF'
z /dev/net/tun 0666 - - -
CONF
#  - rootless podman cannot use the overlay driver here (overlay over the machine's overlayfs, no
#    /dev/fuse for fuse-overlayfs, no kernel whiteouts in the user namespace): users get `vfs`
#    (copies layers; the test images are one busybox). Root keeps overlay.
mkdir -p "$ROOT/etc/skel/.config/containers"
put "$ROOT/etc/skel/.config/containers/storage.conf" <<'CONF'
[storage]
driver = "vfs"
CONF
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sfn /usr/lib/systemd/system/network-online.target \
  "$ROOT/etc/systemd/system/multi-user.target.wants/network-online.target"

log "ok: $ROOT ($(cat "$STAMP"))"
