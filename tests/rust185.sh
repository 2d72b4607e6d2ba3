#!/usr/bin/env bash
# Build and test quadgen with Rust 1.85, Debian 13's own `rustc` and `cargo`, in the trixie root
# that tests/provision/rust185.sh made (run as root; tests/rust_1_85.rs runs this in the suite):
#   cargo build --locked --all-targets          every target, tests and benches included
#   cargo test --locked --lib --bins --test build_cli --test install_cli
#                                               the tests that need no oracle
#   cargo run --locked -- build examples/homelab.toml --out OUT_DIR/quadlets
#                                               the README's first command
# Usage: bash tests/rust185.sh [OUT_DIR]   (OUT_DIR: where the example's units go; default: a
# temporary directory, removed at the end)
#
# How: a private mount namespace (unshare) and a chroot; nothing is booted. The root is mounted
# read-only, the project read-only at /src, the host's CA bundle as CARGO_HTTP_CAINFO, a cached
# CARGO_HOME, and one cached target directory (never the host's target/: the glibc differs).
# Every checkout is /src inside the chroot, so a new clone (CI's) reuses the compiled
# dependencies and rebuilds only quadgen; cargo's lock serializes two runs at once. All of it under ${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}/rust185/. The environment
# is cleared, so the host's cargo settings (RUSTFLAGS, CARGO_TARGET_DIR, …) do not leak in.
set -euo pipefail

die() { printf '[rust185] ERROR: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
root=$cache/rust185-root
provision="run \`bash tests/provision.sh\` (or only this one: \`bash tests/provision.sh rust185\`)"

[ "$(id -u)" = 0 ] || die "must run as root (it mounts and chroots)"
[ -f "$root/.quadgen-rust185-root" ] || die "no Rust 1.85 root at $root: $provision"
ca=${CARGO_HTTP_CAINFO:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$ca" ] || die "no CA bundle at $ca (set CARGO_HTTP_CAINFO to the host's bundle)"

cargo_home=$cache/rust185/cargo-home
target=$cache/rust185/target/shared
mkdir -p "$cargo_home" "$target"

if [ $# -gt 0 ]; then
  out=$(mkdir -p "$1" && cd "$1" && pwd)
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
rm -rf "$out/quadlets"

# What runs inside, as a plain POSIX script; each step prints how long it took.
steps='
set -eu
step() {
  name=$1; shift
  echo "==> rust185: $name: $*" >&2
  start=$(date +%s%N)
  "$@"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf "==> rust185: %s ok in %d.%03ds\n" "$name" $((ms / 1000)) $((ms % 1000)) >&2
}
cd /src
echo "toolchain: $(rustc --version), $(cargo --version)"
step build cargo build --locked --all-targets
step test cargo test --locked --lib --bins --test build_cli --test install_cli
step example cargo run --locked -- build examples/homelab.toml --out /out/quadlets
'

# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --mount --propagation private -- /bin/bash -euc '
root=$1 repo=$2 cargo_home=$3 target=$4 out=$5 ca=$6 steps=$7
bind() { mount --bind "$1" "$2"; }
bind_ro() { mount --bind "$1" "$2" && mount -o remount,bind,ro "$2"; }
bind_ro "$root" "$root"
bind_ro "$repo" "$root/src"
bind "$cargo_home" "$root/cargo-home"
bind "$target" "$root/target"
bind "$out" "$root/out"
bind_ro "$ca" "$root/etc/quadgen-host-ca.crt"
bind_ro /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o mode=0700 tmpfs "$root/root"
exec chroot "$root" /usr/bin/env -i \
  PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 TMPDIR=/tmp \
  CARGO_HOME=/cargo-home CARGO_TARGET_DIR=/target CARGO_HTTP_CAINFO=/etc/quadgen-host-ca.crt \
  CARGO_TERM_COLOR=never CARGO_TERM_PROGRESS_WHEN=never RUST_BACKTRACE=1 \
  CARGO_PROFILE_DEV_DEBUG=line-tables-only \
  /bin/sh -c "$steps"
' rust185 "$root" "$repo" "$cargo_home" "$target" "$out" "$ca" "$steps"
