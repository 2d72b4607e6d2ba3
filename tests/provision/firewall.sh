#!/usr/bin/env bash
# Provisions what tests/kernel_firewall.rs needs (idempotent; run as root): `ip` (iproute2) for
# the network namespaces and the bridge, `nft` (nftables), and iptables' nf_tables backend
# (`iptables-nft-restore`, `iptables-nft-save` and the ip6tables ones, from the iptables package)
# to load the rulesets and print them back. The test sends and receives its queries itself.
# Then checks that the kernel lets this machine make a network namespace and load a ruleset in it.
set -euo pipefail

log() { printf '[firewall] %s\n' "$*" >&2; }
die() { printf '[firewall] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages)"

need_apt=()
command -v ip >/dev/null || need_apt+=(iproute2)
command -v nft >/dev/null || need_apt+=(nftables)
for tool in iptables-nft-restore iptables-nft-save ip6tables-nft-restore ip6tables-nft-save; do
  if ! command -v "$tool" >/dev/null; then need_apt+=(iptables); break; fi
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
iptables-nft-save --version | grep -q nf_tables || die "iptables-nft-save is not the nf_tables backend"

# A namespace of its own, a ruleset and an iptables-nft rule loaded in it, then removed.
ns=qgfw-provision-$$
trap 'ip netns delete "$ns" 2>/dev/null || true' EXIT
ip netns add "$ns"
printf 'table inet t {\n chain input {\n  type filter hook input priority filter; policy accept;\n  ct state new udp dport 53 accept\n }\n}\n' \
  | ip netns exec "$ns" nft -f -
printf '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT\nCOMMIT\n' \
  | ip netns exec "$ns" iptables-nft-restore
printf '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m rt --rt-type 0 -j DROP\nCOMMIT\n' \
  | ip netns exec "$ns" ip6tables-nft-restore
# The test also prints each ruleset with Debian 13's nft 1.1 (NixOS 25.05's series), from the
# machine root e2e-root.sh makes (it runs first: scripts run in name order).
root=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}/e2e-root
nft11=$(chroot "$root" nft --version 2>/dev/null) || die "no nft in $root: run tests/provision/e2e-root.sh first"
case $nft11 in *v1.1*) ;; *) die "$root has $nft11, not nft 1.1" ;; esac
log "$(ip -V), $(nft --version), $(iptables-nft-save --version), and $nft11 in $root: ok"
