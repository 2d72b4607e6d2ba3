# The quadgen-install hook as NixOS would run it, for tests on a real systemd (e2e).
# Prints { execStart, unit, inventory }: the ExecStart= value, the whole rendered unit file, and
# the inventory's store path. Example, with quadgen at /usr/local/bin/quadgen and podman in
# /usr/bin (the unit's PATH then holds /usr/bin):
#
#   NIX_CONFIG=$'build-users-group =\nexperimental-features = nix-command' \
#   nix-instantiate --eval --strict --json --read-write-mode --store "$TMP/store" \
#     tests/nixos/hook-command.nix --arg nixpkgs "$(readlink -f ~/.cache/quadgen-test/nixpkgs)" \
#     --arg case ./tests/nixos/cases/file.nix --argstr quadgenPrefix /usr/local --argstr podmanPrefix /usr
#
# The inventory then sits at "$TMP/store$inventory" on the host (a chroot store): bind or copy it
# to "$inventory" inside the test system before starting the unit.
{ nixpkgs, case ? ./cases/file.nix, quadgenPrefix ? null, podmanPrefix ? null }:

let
  r = import ./eval.nix { inherit nixpkgs case quadgenPrefix podmanPrefix; };
in
{
  execStart = r.install.serviceConfig.ExecStart;
  unit = r.units."quadgen-install.service".text;
  inherit (r) inventory;
}
