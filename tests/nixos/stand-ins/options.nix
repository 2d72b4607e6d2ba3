# STAND-INS for NixOS option trees the nixel snapshot (nixpkgs 22.11 lib/ and nixos/lib/) lacks,
# common to NixOS 25.05 and unstable: virtualisation.podman, networking.firewall/nftables,
# virtualisation.oci-containers, environment, system.checks, and the declarations of systemd.*
# from nixos/modules/system/boot/systemd.nix. Only the options module.nix reads or sets; each is
# listed with the nixpkgs file and revision it mirrors in ../README.md. What differs between
# releases is in nixos-25.05.nix / nixos-unstable.nix. The systemd unit *types* are NixOS's real
# ones (utils.systemdUtils.types), so misspelt unit options and wrong values fail here as they
# would on NixOS.
{ lib, pkgs, utils, ... }:

let
  inherit (lib) mkOption types;

  # nixos/lib/systemd-lib.nix renders `restartTriggers` as `X-Restart-Triggers=` + a writeText
  # store path holding the triggers (the 22.11 snapshot wrote the raw value). Declared a second
  # time, as NixOS modules extend systemd.services, so the snapshot's unit types stay in use.
  restartTriggers = {
    options.systemd.services = mkOption {
      type = types.attrsOf (types.submodule ({ config, name, ... }: {
        config.unitConfig = lib.mkIf (config.restartTriggers != [ ]) {
          X-Restart-Triggers = lib.mkForce "${pkgs.writeText "X-Restart-Triggers-${name}"
            (toString (map (t: if builtins.isPath t then "${t}" else t) (lib.flatten config.restartTriggers)))}";
        };
      }));
    };
  };
  port = types.port;
  # users-groups.nix's subordinateUidRange/subordinateGidRange (start + count), as one stand-in
  subordinateRange = types.attrsOf types.int;
  canonicalizePortList = ports: lib.unique (builtins.sort builtins.lessThan ports);
in
{
  imports = [ restartTriggers ];

  options = {
    # --- nixos/modules/system/boot/systemd.nix (declarations only; real types) ---
    systemd.package = mkOption { type = types.package; default = pkgs.systemd; };
    systemd.globalEnvironment = mkOption {
      type = with types; attrsOf (nullOr (oneOf [ str path package ]));
      default = { };
    };
    systemd.packages = mkOption { type = types.listOf types.package; default = [ ]; };
    systemd.services = mkOption { type = utils.systemdUtils.types.services; default = { }; };
    systemd.timers = mkOption { type = utils.systemdUtils.types.timers; default = { }; };
    systemd.paths = mkOption { type = utils.systemdUtils.types.paths; default = { }; };

    # --- nixos/modules/virtualisation/podman/default.nix ---
    virtualisation.podman = {
      enable = mkOption { type = types.bool; default = false; };
      package = mkOption { type = types.package; default = pkgs.podman; };
      defaultNetwork.settings = mkOption {
        type = (pkgs.formats.json { }).type;
        default = { };
      };
      autoPrune = {
        enable = mkOption { type = types.bool; default = false; };
        flags = mkOption { type = types.listOf types.str; default = [ ]; };
        dates = mkOption { type = types.str; default = "weekly"; };
      };
    };

    # --- nixos/modules/virtualisation/oci-containers.nix (containers.<name>.image only) ---
    virtualisation.oci-containers.containers = mkOption {
      type = types.attrsOf (types.submodule {
        freeformType = with types; attrsOf anything;
        options.image = mkOption { type = types.str; };
      });
      default = { };
    };

    # --- nixos/modules/services/networking/firewall.nix and nftables.nix ---
    networking.nftables.enable = mkOption { type = types.bool; default = false; };
    networking.firewall.enable = mkOption { type = types.bool; default = true; };
    networking.firewall.interfaces = mkOption {
      type = types.attrsOf (types.submodule {
        options.allowedUDPPorts = mkOption {
          type = types.listOf port;
          default = [ ];
          apply = canonicalizePortList;
        };
        options.allowedTCPPorts = mkOption {
          type = types.listOf port;
          default = [ ];
          apply = canonicalizePortList;
        };
      });
      default = { };
    };

    # --- nixos/modules/config/system-path.nix, system/etc/etc.nix ---
    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
    environment.etc = mkOption {
      type = types.attrsOf (types.submodule {
        options.source = mkOption { type = types.path; };
      });
      default = { };
    };

    # --- nixos/modules/system/activation/top-level.nix ---
    system.checks = mkOption { type = types.listOf types.package; default = [ ]; };

    # --- nixos/modules/system/boot/systemd/user.nix (declaration only; real type) ---
    systemd.user.timers = mkOption { type = utils.systemdUtils.types.timers; default = { }; };
    systemd.user.services = mkOption { type = utils.systemdUtils.types.services; default = { }; };

    # --- nixos/modules/config/users-groups.nix (userOpts: the options services.quadgen.users
    # reads or sets, with their types, defaults, and the normal-user default of
    # autoSubUidGidRange) ---
    users.users = mkOption {
      default = { };
      type = types.attrsOf (types.submodule ({ config, ... }: {
        options = {
          isNormalUser = mkOption { type = types.bool; default = false; };
          isSystemUser = mkOption { type = types.bool; default = false; };
          uid = mkOption { type = with types; nullOr int; default = null; };
          linger = mkOption { type = types.nullOr types.bool; default = null; };
          subUidRanges = mkOption { type = types.listOf subordinateRange; default = [ ]; };
          subGidRanges = mkOption { type = types.listOf subordinateRange; default = [ ]; };
          autoSubUidGidRange = mkOption { type = types.bool; default = false; };
        };
        config = lib.mkIf (config.isNormalUser && config.subUidRanges == [ ] && config.subGidRanges == [ ]) {
          autoSubUidGidRange = lib.mkDefault true;
        };
      }));
    };
  };
}
