# Home Manager: services.quadgen installs the user's own rootless Podman Quadlet units from one
# TOML inventory, with `quadgen install --user` on every activation (`home-manager switch`): it
# writes ~/.config/containers/systemd (or $XDG_CONFIG_HOME/containers/systemd), reloads the
# user's systemd and restarts exactly the changed containers. The user's podman-auto-update.timer
# runs on `autoUpdate.schedule`.
#
# Not done here, by the system (see the README's "Rootless" section): linger (without it the
# user's containers stop at logout and do not start at boot) and subordinate UID/GID ranges.
# `quadgen install --user` checks both and says how to fix them. On NixOS, the system module's
# `services.quadgen.users.<name>` does all of it instead.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression;

  cfg = config.services.quadgen;
  tomlFormat = pkgs.formats.toml { };

  inventory = "${if cfg.inventory != null
    then tomlFormat.generate "quadgen-inventory.toml" cfg.inventory
    else cfg.inventoryFile}";

  installArgs = [ "install" "--user" inventory ] ++ lib.optional cfg.allowRemovals "--allow-removals";
in
{
  options.services.quadgen = {
    enable = mkEnableOption "quadgen for this user's rootless Podman containers (`quadgen install --user`)";

    package = mkOption {
      type = types.package;
      default = pkgs.quadgen or (pkgs.callPackage ../nixos/package.nix { });
      defaultText = literalExpression "pkgs.quadgen or (pkgs.callPackage ../nixos/package.nix { })";
      description = "The quadgen package (the flake's `overlays.default` provides `pkgs.quadgen`).";
    };

    inventoryFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = literalExpression "./inventory.toml";
      description = ''
        The inventory as a TOML file (a Nix path, copied into the store). Set exactly one of
        `inventoryFile` and `inventory`.
      '';
    };

    inventory = mkOption {
      type = types.nullOr tomlFormat.type;
      default = null;
      example = literalExpression ''
        { containers.web = { image = "docker.io/library/nginx:1.27"; ports = [ "8080:80" ]; }; }
      '';
      description = ''
        The inventory as Nix attributes, rendered to TOML (same keys as the TOML file). Set
        exactly one of `inventoryFile` and `inventory`.
      '';
    };

    allowRemovals = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Let one activation remove all managed units, or most of them (`--allow-removals`); without
        it such an install is refused, so an inventory emptied by mistake cannot take every
        container down.
      '';
    };

    autoUpdate = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Run the user's `podman-auto-update.service` (shipped by podman) from a timer: it pulls
          and restarts containers whose image changed and rolls back a failed restart.
        '';
      };
      schedule = mkOption {
        type = types.str;
        default = "daily";
        example = "Mon 02:00";
        description = "When to run `podman auto-update` (systemd `OnCalendar=`, see systemd.time(7)).";
      };
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = (cfg.inventory == null) != (cfg.inventoryFile == null);
        message = "set exactly one of `services.quadgen.inventoryFile` and `services.quadgen.inventory`";
      }
      {
        assertion = cfg.inventory != null || cfg.inventoryFile == null
          || lib.hasPrefix "${builtins.storeDir}/" inventory;
        message = "`services.quadgen.inventoryFile` is `${toString cfg.inventoryFile}`, outside the Nix store: give a Nix path such as `./inventory.toml`";
      }
    ];

    home.packages = [ cfg.package ];

    # After the files are linked: quadgen drives the user's systemd, which needs its runtime
    # directory (set in a login session; not always in a bare `home-manager switch` over sudo).
    home.activation.quadgen = lib.hm.dag.entryAfter [ "writeBoundary" ] ''
      export XDG_RUNTIME_DIR="''${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"
      run ${lib.escapeShellArgs ([ "${cfg.package}/bin/quadgen" ] ++ installArgs)}
    '';

    systemd.user.timers.podman-auto-update = mkIf cfg.autoUpdate.enable {
      Unit.Description = "podman auto-update of the containers quadgen installed";
      Timer = {
        OnCalendar = cfg.autoUpdate.schedule;
        Persistent = true;
        RandomizedDelaySec = "15min";
      };
      Install.WantedBy = [ "timers.target" ];
    };
  };
}
