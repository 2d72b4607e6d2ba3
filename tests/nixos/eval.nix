# Evaluates contrib/nixos/module.nix plus one test case with nixpkgs' real lib.evalModules,
# real assertions.nix/extra-arguments.nix and real systemd unit types and unit rendering from
# nixos/lib (the nixel crate's nixpkgs 22.11 snapshot); stand-ins only for option trees the
# snapshot lacks (./stand-ins), in the shape of NixOS `nixos` = "unstable" (default) or "25.05".
# Used by tests/nixos_module.rs; see hook-command.nix for the e2e use.
#
#   nix-instantiate --eval --strict --json --read-write-mode --store "$TMP/store" \
#     tests/nixos/eval.nix --arg nixpkgs "$SNAPSHOT" --arg case tests/nixos/cases/file.nix
{ nixpkgs, case, quadgenPrefix ? null, podmanPrefix ? null, podmanVersion ? "5.4.2"
, nixos ? "unstable" }:

let
  lib = import (nixpkgs + "/lib");
  pkgs = import ./stand-ins/pkgs.nix { inherit lib quadgenPrefix podmanPrefix podmanVersion; };

  eval = lib.evalModules {
    modules = [
      (nixpkgs + "/nixos/modules/misc/assertions.nix")
      (nixpkgs + "/nixos/modules/misc/extra-arguments.nix")
      (./stand-ins + "/nixos-${nixos}.nix")
      ../../contrib/nixos/module.nix
      case
      { _module.args.pkgs = pkgs; }
    ];
  };
  inherit (eval) config;
  inherit (eval._module.args.utils.systemdUtils.lib) serviceToUnit timerToUnit;

  # As nixos/modules/system/activation/top-level.nix (22.11) turns assertions into an error.
  failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  checkAssertions = x:
    if failed != [ ] then
      throw "\nFailed assertions:\n${lib.concatMapStringsSep "\n" (m: "- ${m}") failed}"
    else x;

  # Unit text as NixOS renders it: the snapshot's serviceToUnit/timerToUnit, plus the [Install]
  # section current nixos/lib/systemd-lib.nix (commonUnitText) appends for wantedBy.
  units = kind: toUnit: lib.mapAttrs' (name: def:
    let
      u = toUnit name def;
      install = lib.optionalString (def.wantedBy != [ ])
        "\n[Install]\nWantedBy=${lib.concatStringsSep " " def.wantedBy}\n";
    in
    lib.nameValuePair "${name}.${kind}" { inherit (u) wantedBy enable; text = u.text + install; })
    (lib.filterAttrs (_: d: d.enable) config.systemd."${kind}s");
in
checkAssertions {
  inherit (config) warnings;
  podman = {
    inherit (config.virtualisation.podman) enable;
    dnsEnabled = config.virtualisation.podman.defaultNetwork.settings.dns_enabled or null;
  };
  firewallUdp = lib.mapAttrs (_: i: i.allowedUDPPorts) config.networking.firewall.interfaces;
  firewallBackend = config.networking.firewall.backend or null;
  firewalldZones = lib.mapAttrs (_: z: { inherit (z) interfaces ports target short description; })
    (config.services.firewalld.zones or { });
  units = units "service" serviceToUnit // units "timer" timerToUnit;
  # services.quadgen.users: the per-user install services, the user timers, the users' settings
  userUnits = lib.mapAttrs' (name: def:
    lib.nameValuePair "${name}.timer" { inherit (timerToUnit name def) text; inherit (def) wantedBy; })
    (lib.filterAttrs (_: d: d.enable) (config.systemd.user.timers or { }))
    // lib.mapAttrs' (name: def:
      lib.nameValuePair "${name}.service" { inherit (serviceToUnit name def) text; inherit (def) wantedBy; })
    (lib.filterAttrs (_: d: d.enable) (config.systemd.user.services or { }));
  users = lib.mapAttrs (_: u: { inherit (u) linger autoSubUidGidRange subUidRanges subGidRanges; })
    (config.users.users or { });
  install = lib.mapNullable (s: {
    inherit (s) serviceConfig wantedBy wants after restartTriggers stopIfChanged;
    PATH = s.environment.PATH;
  }) (config.systemd.services.quadgen-install or null);
  inventory = config.environment.etc."quadgen/inventory.toml".source or null;
  checks = map (d: { inherit (d) name drvPath args; }) config.system.checks;
  systemPackages = map (p: p.name) config.environment.systemPackages;
  # Option docs as the NixOS manual builds them (a default without defaultText is evaluated;
  # internal options, such as a submodule's `_module.*`, are left out as there).
  docs = map (o: { inherit (o) name description; default = o.default or null; })
    (lib.filter (o: lib.hasPrefix "services.quadgen." o.name && !(o.internal or false))
      (lib.optionAttrSetToDocList eval.options));
}
