#!/usr/bin/env bash
# Provisions what tests/nixos_module.rs needs (idempotent; run as root on Debian bookworm):
#   - Nix 2.8 (Debian's nix-bin), used single-user without a daemon, never touching /nix;
#   - nixpkgs' lib/ and nixos/lib/ (22.11), shipped inside the `nixel` crate, via `cargo fetch`;
#   - deadnix, via `cargo install --locked`;
#   - systemd-analyze (systemd), nft (nftables) and iptables-restore (iptables) for the unit and
#     firewall-rule checks.
# Results under ${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}: bin/deadnix, and the symlink
# `nixpkgs` -> the snapshot.
set -euo pipefail

cache=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fetch=$here/../nixos/nixel-fetch
deadnix_version=1.3.1
mkdir -p "$cache/bin"

need_apt=()
command -v nix-instantiate >/dev/null || need_apt+=(nix-bin)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
command -v nft >/dev/null || need_apt+=(nftables)
command -v iptables-restore >/dev/null || need_apt+=(iptables)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The lock file pins nixel 5.2.0 and its dependencies; cargo fetch also unpacks the sources.
cargo fetch --locked --manifest-path "$fetch/Cargo.toml" -q
snapshot=
for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/nixel-5.2.0/tests/inputs/nixpkgs; do
  [ -f "$d/lib/default.nix" ] && [ -f "$d/nixos/lib/utils.nix" ] && snapshot=$d && break
done
[ -n "$snapshot" ] || { echo "cargo fetch left no nixel-5.2.0 with a nixpkgs snapshot" >&2; exit 1; }
ln -sfn "$snapshot" "$cache/nixpkgs"

if ! "$cache/bin/deadnix" --version 2>/dev/null | grep -qF "$deadnix_version"; then
  cargo install --locked --quiet --root "$cache" "deadnix@$deadnix_version"
fi

echo "nix: $(nix-instantiate --version)"
echo "nixpkgs snapshot: $cache/nixpkgs -> $snapshot"
echo "deadnix: $("$cache/bin/deadnix" --version)"
