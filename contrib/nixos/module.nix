# services.quadgen: one TOML inventory of containers/networks/volumes -> Podman Quadlet units,
# installed by `quadgen install` whenever the inventory changes.
#
# Why a oneshot instead of plain systemd.services: quadlet units are made by podman's systemd
# generator (into /run/systemd/generator) at daemon-reload. switch-to-configuration only compares
# the units NixOS itself builds, so it never sees them change and never restarts them. The
# `quadgen-install` oneshot re-runs exactly when the inventory store path changes; quadgen then
# writes the changed units, does one daemon-reload and restarts precisely the changed services
# (restart, not stop+start: stop would take `Requires=` dependants down).
{ config, lib, pkgs, utils, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression;

  cfg = config.services.quadgen;
  podman = config.virtualisation.podman.package;
  tomlFormat = pkgs.formats.toml { };

  inventoryFile =
    if cfg.inventory != null
    then tomlFormat.generate "quadgen-inventory.toml" cfg.inventory
    else cfg.inventoryFile;
  # Interpolating a path literal copies it into the store: the hook's argument, and its change
  # is what makes switch re-run the hook.
  inventory = "${inventoryFile}";
  inventoryInStore = lib.hasPrefix "${builtins.storeDir}/" inventory;

  # Target the podman this host runs, so quadgen refuses keys it lacks (an unknown key makes
  # quadlet drop the whole unit).
  podmanVersion = if podman ? version then lib.versions.majorMinor podman.version else null;

  # Runs at build time (system.checks): a bad inventory fails `nixos-rebuild build`, not the switch.
  check = pkgs.runCommand "quadgen-inventory-check" { } ''
    ${cfg.package}/bin/quadgen build ${inventory} --out "$out"${
      lib.optionalString (podmanVersion != null) " --podman ${podmanVersion}"}
  '';

  # `podman system prune` has no short form of --volumes; `--volumes=true` is the other spelling.
  # Flags are split on whitespace because podman-prune.service passes them through a shell.
  volumeFlags = flags:
    lib.filter (w: w == "--volumes" || lib.hasPrefix "--volumes=" w)
      (lib.concatMap (f: lib.filter (w: lib.isString w && w != "") (builtins.split "[[:space:]]+" f)) flags);
  refuseVolumes = option: flags: {
    assertion = volumeFlags flags == [ ];
    message = "`${option}` contains `${lib.concatStringsSep " " (volumeFlags flags)}`: pruning volumes deletes named volumes of stopped containers, i.e. persistent data; remove it";
  };

  # Names in the attrs inventory that oci-containers also runs as a podman container.
  sharedNames = lib.optionals (cfg.inventory != null) (lib.intersectLists
    (lib.attrNames (cfg.inventory.containers or { }))
    (lib.attrNames config.virtualisation.oci-containers.containers));

  # Every quadgen network's bridge is `qg-<name>` (shortened + hashed past 15 chars), so one
  # wildcard covers them all and stays right however quadgen shortens names or whether the
  # inventory is a file (unreadable at evaluation time without import-from-derivation).
  # iptables spells the wildcard `+`, nftables `*`; each rejects the other's form.
  quadgenInterfaces = if config.networking.nftables.enable then "qg-*" else "qg-+";
in
{
  options.services.quadgen = {
    enable = mkEnableOption "quadgen, which installs Podman Quadlet units from one TOML inventory";

    package = mkOption {
      type = types.package;
      default = pkgs.quadgen or (pkgs.callPackage ./package.nix { });
      defaultText = literalExpression "pkgs.quadgen or (pkgs.callPackage ./package.nix { })";
      description = "The quadgen package (the flake's `overlays.default` provides `pkgs.quadgen`).";
    };

    inventoryFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = literalExpression "./inventory.toml";
      description = ''
        The inventory as a TOML file. Give a Nix path (`./inventory.toml`), not a string: it must be
        copied into the store to be checked at build time and to trigger the install on change.
        Set exactly one of `inventoryFile` and `inventory`.
      '';
    };

    inventory = mkOption {
      type = types.nullOr tomlFormat.type;
      default = null;
      example = literalExpression ''
        {
          networks.app = { };
          containers.web = {
            image = "docker.io/library/nginx:1.27";
            networks = [ "app" ];
            ports = [ "8080:80" ];
          };
        }
      '';
      description = ''
        The inventory as Nix attributes, rendered to TOML (same keys as the TOML file).
        Set exactly one of `inventoryFile` and `inventory`.
      '';
    };

    root = mkOption {
      type = types.strMatching "/.+";
      default = "/etc/containers/systemd";
      description = "Directory quadgen installs the Quadlet units into (`quadgen install --root`).";
    };

    autoUpdate = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Enable podman's `podman-auto-update.timer`. It pulls and restarts only containers whose
          image changed (with `auto_update` set in the inventory) and rolls back a failed restart,
          instead of blindly restarting everything on a schedule.
        '';
      };
      schedule = mkOption {
        type = types.str;
        default = "daily";
        example = "Mon 02:00";
        description = "When to run `podman auto-update` (systemd `OnCalendar=`, see systemd.time(7)).";
      };
    };

    prune = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Periodically run `podman image prune --force` with `prune.flags`: images only, never networks or volumes.";
      };
      schedule = mkOption {
        type = types.str;
        default = "weekly";
        description = "When to prune (systemd `OnCalendar=`, see systemd.time(7)).";
      };
      flags = mkOption {
        type = types.listOf types.str;
        default = [ "--all" "--filter" "until=24h" ];
        description = ''
          Flags for `podman image prune`. The default removes unused images older than a day, so a
          container that crashed minutes ago still finds its image. `--volumes` is refused.
          Images only: `podman system prune` would also remove the networks of stopped quadlet
          containers while their network service stays active, so they could not start again.
        '';
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
        assertion = cfg.inventory != null || cfg.inventoryFile == null || inventoryInStore;
        message = "`services.quadgen.inventoryFile` is `${toString cfg.inventoryFile}`, outside the Nix store: give a Nix path such as `./inventory.toml` so it is checked at build time and its changes re-run the install";
      }
      (refuseVolumes "services.quadgen.prune.flags" cfg.prune.flags)
      (refuseVolumes "virtualisation.podman.autoPrune.flags" config.virtualisation.podman.autoPrune.flags)
    ];

    warnings = lib.optional config.virtualisation.podman.autoPrune.enable
      "`virtualisation.podman.autoPrune` runs `podman system prune`, which also removes the networks of stopped quadgen containers while their network service stays active, so those containers cannot start again; `services.quadgen.prune` prunes images only"
      ++ lib.optional (sharedNames != [ ])
      "`services.quadgen.inventory` and `virtualisation.oci-containers.containers` both define ${
        lib.concatMapStringsSep ", " (n: "`${n}`") sharedNames}: two units would manage a podman container of the same name and replace each other's";

    virtualisation.podman.enable = true;
    # The default network has DNS off; containers could not resolve each other by name.
    virtualisation.podman.defaultNetwork.settings.dns_enabled = true;

    # aardvark-dns answers on each bridge; NixOS's default-deny firewall drops those queries.
    networking.firewall.interfaces = {
      podman0.allowedUDPPorts = [ 53 ];
      ${quadgenInterfaces}.allowedUDPPorts = [ 53 ];
    };

    environment.systemPackages = [ cfg.package ];
    # Same path as on non-NixOS hosts, for `quadgen status /etc/quadgen/inventory.toml`.
    environment.etc."quadgen/inventory.toml".source = inventoryFile;

    system.checks = [ check ];

    systemd.services.quadgen-install = {
      description = "Install Podman Quadlet units from the quadgen inventory";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      # quadgen calls podman (e.g. to remove a changed network); systemctl is on the default path.
      path = [ podman ];
      # Already in ExecStart; explicit so the re-run on inventory change does not hinge on it.
      restartTriggers = [ inventory ];
      # One `systemctl restart` of the new unit instead of stop (old) + start (new).
      stopIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        # Exit 4: installed, but some units failed to start; the switch reports this unit failed.
        ExecStart = utils.escapeSystemdExecArgs
          [ "${cfg.package}/bin/quadgen" "install" inventory "--root" cfg.root ];
      };
    };

    # podman ships podman-auto-update.{service,timer}; the podman module puts them in
    # systemd.packages, so this becomes a drop-in. OnCalendar= accumulates: reset, then set.
    systemd.timers.podman-auto-update = mkIf cfg.autoUpdate.enable {
      wantedBy = [ "timers.target" ];
      timerConfig.OnCalendar = [ "" cfg.autoUpdate.schedule ];
    };

    systemd.services.quadgen-prune = mkIf cfg.prune.enable {
      description = "Remove unused podman images (never networks or volumes)";
      # Only the timer starts it, never a switch.
      restartIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        ExecStart = utils.escapeSystemdExecArgs
          ([ "${podman}/bin/podman" "image" "prune" "--force" ] ++ cfg.prune.flags);
      };
    };
    systemd.timers.quadgen-prune = mkIf cfg.prune.enable {
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.prune.schedule;
        Persistent = true;
        RandomizedDelaySec = "30min";
      };
    };
  };
}
