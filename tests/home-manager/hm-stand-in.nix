# STAND-INS for the parts of Home Manager (nix-community/home-manager) that
# contrib/home-manager/module.nix uses; Home Manager cannot be fetched here.
#  - `lib.hm.dag.entryAfter` (modules/lib/dag.nix): an entry `{ after; before = [ ]; data; }`;
#  - `assertions` (modules/misc/assertions.nix, as NixOS's): a list of { assertion; message; };
#  - `home.packages` (modules/home-environment.nix): a list of packages;
#  - `home.activation` (modules/home-environment.nix): an attribute set of DAG entries (Home
#    Manager's type is `dagOf str`; here: entries whose `data` must be a string);
#  - `systemd.user.timers` (modules/systemd.nix): an attribute set of unit sections, each an
#    attribute set of keys (Home Manager renders them to INI).
{ lib }:

let
  inherit (lib) mkOption types;
  entry = types.submodule {
    options = {
      after = mkOption { type = types.listOf types.str; default = [ ]; };
      before = mkOption { type = types.listOf types.str; default = [ ]; };
      data = mkOption { type = types.str; };
    };
  };
  section = types.attrsOf (types.either types.str (types.either types.bool (types.listOf types.str)));
in
{
  hm.dag.entryAfter = after: data: { inherit after data; before = [ ]; };

  module = {
    options = {
      assertions = mkOption {
        type = types.listOf (types.submodule {
          options.assertion = mkOption { type = types.bool; };
          options.message = mkOption { type = types.str; };
        });
        default = [ ];
      };
      home.packages = mkOption { type = types.listOf types.package; default = [ ]; };
      home.activation = mkOption { type = types.attrsOf entry; default = { }; };
      systemd.user.timers = mkOption { type = types.attrsOf (types.attrsOf section); default = { }; };
    };
  };
}
