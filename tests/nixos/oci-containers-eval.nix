# Evaluates NixOS's real oci-containers module (nixos/modules/virtualisation/oci-containers.nix,
# passed as `module`: it is not part of this repository) with nixpkgs' real lib.evalModules and
# systemd unit types (the nixel snapshot), on one case, and prints what the importer's tests need:
#
#   containers: config.virtualisation.oci-containers.containers, exactly what
#               `nix eval --json .#nixosConfigurations.HOST.config.virtualisation.oci-containers.containers`
#               prints (every option, defaults included);
#   services:   for each generated podman-NAME.service, the start script (the `podman run` line),
#               the stop scripts, the service settings and the ordering, as the module renders
#               them (the pre-start script is a writeShellApplication: stood in for, so not here).
#
#   nix-instantiate --eval --strict --json --read-write-mode --store "$TMP/store" \
#     tests/nixos/oci-containers-eval.nix --arg nixpkgs "$SNAPSHOT" \
#     --arg module /path/to/oci-containers.nix --arg case tests/fixtures/oci/homelab.nix
#
# The output is committed as tests/fixtures/oci/homelab.eval.json (see tests/fixtures/oci/README.md
# for the nixpkgs revision). STAND-INS below only for option trees the module reads and the
# snapshot lacks.
{ nixpkgs, module, case }:

let
  lib = import (nixpkgs + "/lib");
  inherit (lib) mkOption types;
  pkgs = import ./stand-ins/pkgs.nix { inherit lib; } // {
    # STAND-IN for pkgs.writeShellApplication: only its store path is used (ExecStartPre=).
    writeShellApplication = { name, ... }: {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    };
    # STAND-IN for pkgs.writeShellScriptBin (NixOS's systemd-lib wraps `script` in one).
    writeShellScriptBin = name: _text: let drv = {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
      overrideAttrs = _: drv;
    }; in drv;
    docker = pkgs.podman;
  };
  standIns = { utils, ... }: {
    options = {
      # nixos/modules/system/boot/systemd.nix: the real unit types.
      systemd.services = mkOption { type = utils.systemdUtils.types.services; default = { }; };
      systemd.globalEnvironment = mkOption { type = types.attrsOf types.str; default = { }; };
      systemd.package = mkOption { type = types.package; default = pkgs.systemd; };
      # nixos/modules/misc/version.nix
      system.stateVersion = mkOption { type = types.str; default = "25.05"; };
      # nixos/modules/config/networking.nix
      networking.proxy.envVars = mkOption { type = types.attrsOf types.str; default = { }; };
      # nixos/modules/virtualisation/podman/default.nix, docker.nix
      virtualisation.podman.enable = mkOption { type = types.bool; default = false; };
      virtualisation.podman.package = mkOption { type = types.package; default = pkgs.podman; };
      virtualisation.docker.enable = mkOption { type = types.bool; default = false; };
      virtualisation.docker.package = mkOption { type = types.package; default = pkgs.podman; };
      # nixos/modules/config/users-groups.nix (root only)
      users.users = mkOption {
        type = types.attrsOf (types.submodule {
          options.uid = mkOption { type = types.nullOr types.int; default = null; };
          options.linger = mkOption { type = types.bool; default = false; };
          options.home = mkOption { type = types.str; default = "/var/empty"; };
        });
        default = { };
      };
    };
    config.users.users.root = { uid = 0; home = "/root"; };
  };

  eval = lib.evalModules {
    modules = [
      (nixpkgs + "/nixos/modules/misc/extra-arguments.nix")
      standIns
      module
      case
      { _module.args.pkgs = pkgs; }
    ];
  };
  inherit (eval) config;
  cfg = config.virtualisation.oci-containers;
in
{
  inherit (cfg) containers;
  services = lib.mapAttrs (_name: c:
    let s = config.systemd.services.${c.serviceName}; in {
      inherit (c) serviceName;
      inherit (s) script preStop postStop after requires wants wantedBy;
      restart = s.serviceConfig.Restart;
      serviceConfig = {
        inherit (s.serviceConfig) Type NotifyAccess TimeoutStartSec TimeoutStopSec Environment
          RuntimeDirectory;
      };
    }) cfg.containers;
}
