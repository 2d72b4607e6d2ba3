# Evaluates contrib/home-manager/module.nix plus one test case with nixpkgs' real lib.evalModules
# and lib.types (the nixel crate's nixpkgs 22.11 snapshot). Home Manager itself is not available
# here (no network): ./hm-stand-in.nix declares, as STAND-INS, the Home Manager options the module
# sets (assertions, home.packages, home.activation, systemd.user.timers) and `lib.hm.dag`; see
# the README's "Rootless" section for what that does and does not check.
#
#   nix-instantiate --eval --strict --json --read-write-mode --store "$TMP/store" \
#     tests/home-manager/eval.nix --arg nixpkgs "$SNAPSHOT" --arg case tests/home-manager/cases/file.nix
{ nixpkgs, case, quadgenPrefix ? null }:

let
  baseLib = import (nixpkgs + "/lib");
  hm = import ./hm-stand-in.nix { lib = baseLib; };
  lib = baseLib.extend (_: _: { inherit (hm) hm; });
  pkgs = import ../nixos/stand-ins/pkgs.nix {
    inherit lib quadgenPrefix;
    podmanPrefix = null;
    podmanVersion = "5.4.2";
  };

  eval = lib.evalModules {
    specialArgs = { inherit lib; };
    modules = [
      hm.module
      ../../contrib/home-manager/module.nix
      case
      { _module.args.pkgs = pkgs; }
    ];
  };
  inherit (eval) config;

  failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  checkAssertions = x:
    if failed != [ ] then
      throw "\nFailed assertions:\n${lib.concatMapStringsSep "\n" (m: "- ${m}") failed}"
    else x;
in
checkAssertions {
  packages = map (p: p.name) config.home.packages;
  activation = lib.mapAttrs (_: e: { inherit (e) after before data; }) config.home.activation;
  timers = config.systemd.user.timers;
  docs = map (o: { inherit (o) name description; })
    (lib.filter (o: lib.hasPrefix "services.quadgen." o.name && !(o.internal or false))
      (lib.optionAttrSetToDocList eval.options));
}
