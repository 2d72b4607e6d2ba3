# services.quadgen: one TOML inventory of containers/networks/volumes -> Podman Quadlet units,
# installed by `quadgen install` whenever the inventory changes.
#
# Why a oneshot service and not an activation script: quadlet units are made by podman's systemd
# generator (into /run/systemd/generator) at daemon-reload, and switch-to-configuration runs that
# daemon-reload only after the activation scripts. An activation script would run quadgen before
# systemd has ever seen the new units, so it could neither restart them nor tell whether they
# started. switch-to-configuration also only compares the units NixOS itself builds, so it never
# sees a quadlet unit change and never restarts one. The `quadgen-install` oneshot is restarted by
# switch-to-configuration (after the reload) exactly when the inventory store path changes;
# quadgen then writes the changed units, does one daemon-reload of its own and restarts precisely
# the changed services (restart, not stop+start: stop would take `Requires=` dependants down).
{ config, options, lib, pkgs, utils, ... }:

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
  # Then this host's own podman converts the built units with its quadlet generator (-dryrun): any
  # warning or dropped unit fails the build too, naming the unit and the key (quadlet-check.sh).
  checkOf = name: inventory: pkgs.runCommand name { } ''
    ${cfg.package}/bin/quadgen build ${inventory} --out "$out"${
      lib.optionalString (podmanVersion != null) " --podman ${podmanVersion}"}
    ${pkgs.runtimeShell} ${./quadlet-check.sh} ${podman}/lib/systemd/system-generators/podman-system-generator "$out"
  '';
  check = checkOf "quadgen-inventory-check" inventory;

  # --- Rootless: services.quadgen.users.<name> -------------------------------------------------
  # Each user's inventory is installed by root with `quadgen install --for-user NAME` into
  # /etc/containers/systemd/users/UID, which only that user's quadlet generator reads (podman 5.4
  # and 5.8 alike; the system generator skips users/, and users/ without a UID folder would apply
  # to every user). quadgen drives the user's manager with `systemctl --user -M NAME@`, which runs
  # at boot only when the user lingers.
  userInventory = name: u:
    "${if u.inventory != null
       then tomlFormat.generate "quadgen-inventory-${name}.toml" u.inventory
       else u.inventoryFile}";
  userOf = name: config.users.users.${name};
  userAssertions = name: u: [
    {
      assertion = (u.inventory == null) != (u.inventoryFile == null);
      message = "set exactly one of `services.quadgen.users.${name}.inventoryFile` and `services.quadgen.users.${name}.inventory`";
    }
    {
      assertion = u.inventory != null || u.inventoryFile == null
        || lib.hasPrefix "${builtins.storeDir}/" (userInventory name u);
      message = "`services.quadgen.users.${name}.inventoryFile` is `${toString u.inventoryFile}`, outside the Nix store: give a Nix path such as `./inventory.toml` so it is checked at build time and its changes re-run the install";
    }
    {
      assertion = name != "root";
      message = "`services.quadgen.users.root`: root's containers are not rootless; use `services.quadgen.inventory` or `inventoryFile`";
    }
    {
      assertion = (userOf name).autoSubUidGidRange
        || ((userOf name).subUidRanges != [ ] && (userOf name).subGidRanges != [ ]);
      message = "`services.quadgen.users.${name}` runs rootless containers, which need subordinate UIDs and GIDs (/etc/subuid, /etc/subgid): leave `users.users.${name}.autoSubUidGidRange` at `true` (quadgen's default) or set both `subUidRanges` and `subGidRanges`";
    }
  ];
  userInstall = name: u: {
    description = "Install the rootless Podman Quadlet units of ${name} from their quadgen inventory";
    wantedBy = [ "multi-user.target" ];
    # quadgen starts user@UID.service itself (the user lingers) before it talks to it.
    wants = [ "network-online.target" ];
    after = [ "network-online.target" "systemd-logind.service" "systemd-user-sessions.service" ];
    path = [ podman ];
    restartTriggers = [ (userInventory name u) ];
    stopIfChanged = false;
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = utils.escapeSystemdExecArgs
        ([ "${cfg.package}/bin/quadgen" "install" "--for-user" name (userInventory name u) ]
          ++ lib.optional u.allowRemovals "--allow-removals");
    };
  };
  usersConfig = {
    assertions = lib.concatLists (lib.mapAttrsToList userAssertions cfg.users);
    virtualisation.podman.enable = true;
    environment.systemPackages = [ cfg.package ];
    users.users = lib.mapAttrs (name: _: {
      # Without linger the user's systemd, and every container with it, stops at logout and
      # does not start at boot.
      linger = true;
      # As NixOS does for normal users; also for system users that run containers.
      autoSubUidGidRange = mkIf ((userOf name).subUidRanges == [ ] && (userOf name).subGidRanges == [ ])
        (lib.mkDefault true);
    }) cfg.users;
    system.checks = lib.mapAttrsToList
      (name: u: checkOf "quadgen-inventory-check-${name}" (userInventory name u)) cfg.users;
    systemd.services = lib.mapAttrs' (name: u:
      lib.nameValuePair "quadgen-install-user-${name}" (userInstall name u)) cfg.users;
    # podman ships the user unit podman-auto-update.timer; enabled for these users only
    # (`ConditionUser=|NAME` conditions are or-ed), not for every user of the host.
    # `quadgen install --for-user` writes this unit to /etc/systemd/user, which NixOS owns: the
    # module declares it instead (quadgen leaves a unit of this name it did not write alone).
    # Every unit quadgen writes for these users wants it and starts after it, so the user's podman
    # sets up its user namespace once at boot rather than once per container at the same time
    # (which can leave a health-gated container `activating`; see README, Rootless).
    systemd.user.services.quadgen-podman-pause = {
      description = "quadgen: set up the user's podman before the containers start";
      unitConfig.ConditionUser = map (name: "|${name}") (lib.attrNames cfg.users);
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        TimeoutStartSec = "90s";
        ExecStart = "${podman}/bin/podman unshare true";
      };
    };
    systemd.user.timers.podman-auto-update = mkIf cfg.autoUpdate.enable {
      wantedBy = [ "timers.target" ];
      unitConfig.ConditionUser = map (name: "|${name}") (lib.attrNames cfg.users);
      timerConfig.OnCalendar = [ "" cfg.autoUpdate.schedule ];
    };
  };

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

  # The inventory as data, to find bridge names the firewall must know at evaluation time. A file
  # given as a Nix path is read here (no import-from-derivation: it is a source file), and parsed
  # only if it sets an interface name at all: any other mistake in it is left to the build check,
  # where `quadgen build` reports it with file, line and column.
  inventoryText = builtins.readFile cfg.inventoryFile;
  inventoryData =
    if cfg.inventory != null then cfg.inventory
    else if cfg.inventoryFile != null && inventoryInStore && lib.hasInfix "interface_name" inventoryText
    then builtins.addErrorContext
      "while reading the network interface names in services.quadgen.inventoryFile (${toString cfg.inventoryFile}); `quadgen check` on that file shows the problem with its line and column"
      (builtins.fromTOML inventoryText)
    else { };
  # quadgen names every bridge `qg-<name>` (shortened + hashed past 15 characters), so one wildcard
  # covers them all however quadgen shortens names. Only a user-set `interface_name` on a bridge
  # network can leave that pattern; those are opened by name.
  # (Anything malformed is left to `quadgen build`, which reports it with file, line and column.)
  networks = if builtins.isAttrs (inventoryData.networks or null) then inventoryData.networks else { };
  customInterfaces = lib.unique (lib.filter (i: builtins.isString i && !(lib.hasPrefix "qg-" i))
    (lib.mapAttrsToList (_: n: n.interface_name)
      (lib.filterAttrs (_: n: builtins.isAttrs n && n ? interface_name && (n.driver or "bridge") == "bridge")
        networks)));

  # networking.firewall.backend is newer than NixOS 25.05; there, nftables.enable chooses.
  firewallBackend = config.networking.firewall.backend
    or (if config.networking.nftables.enable then "nftables" else "iptables");
  # iptables spells the wildcard `+`, nftables `*`; each rejects the other's form. firewalld takes
  # `+` and translates it for its own nftables backend.
  wildcard = if firewallBackend == "nftables" then "qg-*" else "qg-+";
  dnsInterfaces = [ wildcard ] ++ customInterfaces;

  # What the podman module will see (its own defaults: DNS off, bridge `podman0`).
  dnsEnabled = config.virtualisation.podman.defaultNetwork.settings.dns_enabled or false;
  defaultBridge = config.virtualisation.podman.defaultNetwork.settings.network_interface or "podman0";
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

    allowRemovals = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Let one switch remove all managed units, or more than half of them (`quadgen install
        --allow-removals`). Without it such an install is refused and the switch reports
        `quadgen-install.service` failed, naming what would have been removed, so an inventory
        emptied by mistake cannot take every container down. Set it for the deploy that really
        retires them.
      '';
    };

    users = mkOption {
      default = { };
      example = literalExpression ''
        { alice.inventoryFile = ./alice.toml; }
      '';
      description = ''
        Rootless containers per user: each user's inventory is installed by
        `quadgen install --for-user NAME` into `/etc/containers/systemd/users/UID` and runs under
        that user's systemd and podman. The user lingers (`users.users.NAME.linger`), gets
        subordinate UID and GID ranges (`autoSubUidGidRange`, unless ranges are set), and the
        user's `podman-auto-update.timer` runs on `autoUpdate.schedule`. Independent of `enable`.
      '';
      type = types.attrsOf (types.submodule {
        options = {
          inventoryFile = mkOption {
            type = types.nullOr types.path;
            default = null;
            description = "The user's inventory as a TOML file (a Nix path). Set exactly one of `inventoryFile` and `inventory`.";
          };
          inventory = mkOption {
            type = types.nullOr tomlFormat.type;
            default = null;
            description = "The user's inventory as Nix attributes, rendered to TOML. Set exactly one of `inventoryFile` and `inventory`.";
          };
          allowRemovals = mkOption {
            type = types.bool;
            default = false;
            description = "Let one switch remove all of the user's managed units, or most of them (`--allow-removals`).";
          };
        };
      });
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

  config = lib.mkMerge [ (mkIf cfg.enable (lib.mkMerge [{
    assertions = [
      {
        assertion = (cfg.inventory == null) != (cfg.inventoryFile == null);
        message = "set exactly one of `services.quadgen.inventoryFile` and `services.quadgen.inventory`";
      }
      {
        assertion = cfg.inventory != null || cfg.inventoryFile == null || inventoryInStore;
        message = "`services.quadgen.inventoryFile` is `${toString cfg.inventoryFile}`, outside the Nix store: give a Nix path such as `./inventory.toml` so it is checked at build time and its changes re-run the install";
      }
      {
        assertion = dnsEnabled == true;
        message = "`virtualisation.podman.defaultNetwork.settings.dns_enabled` is `${builtins.toJSON dnsEnabled}`, but services.quadgen needs it `true`: inventory containers without `networks` run on podman's default network, where only aardvark-dns (started only with dns_enabled) lets them reach each other by container name; remove the setting (quadgen defaults it to `true`) or set it to `true`";
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
    # The default network has DNS off; containers could not resolve each other by name. A default,
    # so that a user's `false` meets the assertion above (with its reason) rather than a bare
    # "conflicting definition values" error. The podman module then opens UDP 53 on podman0
    # itself (on the iptables and nftables backends), so quadgen does not repeat that rule.
    virtualisation.podman.defaultNetwork.settings.dns_enabled = lib.mkDefault true;

    # aardvark-dns answers on each quadgen bridge; NixOS's default-deny firewall drops those queries.
    # firewalld refuses per-interface settings (firewall-firewalld.nix asserts they are empty), so
    # there the bridges are bound to a zone of their own that accepts DNS.
    networking.firewall.interfaces = mkIf (firewallBackend != "firewalld")
      (lib.genAttrs dnsInterfaces (_: { allowedUDPPorts = [ 53 ]; }));

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
          ([ "${cfg.package}/bin/quadgen" "install" inventory "--root" cfg.root ]
            ++ lib.optional cfg.allowRemovals "--allow-removals");
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
  }
    # Only where NixOS has the firewalld module (not in 25.05); declaring this elsewhere would be an
    # "option does not exist" error, and there the backend cannot be firewalld anyway.
    (lib.optionalAttrs (options ? services.firewalld.zones) {
      services.firewalld.zones.quadgen = mkIf (firewallBackend == "firewalld") {
        short = "quadgen";
        description = "Podman bridges of services.quadgen: DNS (aardvark-dns) only";
        # podman's default bridge too: the podman module opens it only on the iptables and
        # nftables backends.
        interfaces = dnsInterfaces ++ [ defaultBridge ];
        ports = [{ port = 53; protocol = "udp"; }];
      };
    })
  ]))
    (mkIf (cfg.users != { }) usersConfig)
  ];
}
