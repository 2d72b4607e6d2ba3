# STAND-IN for what current NixOS (unstable, 25.11) adds (see ../README.md for the files and
# revisions read): networking.firewall.backend (iptables | nftables | firewalld), the firewalld
# module's zones, firewall-firewalld.nix's assertion that per-interface settings are empty under
# firewalld, and the podman module's UDP 53 rule on its bridge, skipped under firewalld.
{ config, lib, ... }:

let
  inherit (lib) mkOption types;
  fw = config.networking.firewall;
  settings = config.virtualisation.podman.defaultNetwork.settings;
  nullOrStr = mkOption { type = types.nullOr types.nonEmptyStr; default = null; };
in
{
  imports = [ ./options.nix ];

  options = {
    # nixos/modules/services/networking/firewall.nix
    networking.firewall.backend = mkOption {
      type = types.enum [ "iptables" "nftables" "firewalld" ];
      default =
        if config.services.firewalld.enable then "firewalld"
        else if config.networking.nftables.enable then "nftables"
        else "iptables";
    };

    # nixos/modules/services/networking/firewalld/{default,zone,lib}.nix (the zone options
    # module.nix sets, with their real types and defaults).
    services.firewalld.enable = mkOption { type = types.bool; default = false; };
    services.firewalld.zones = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          version = nullOrStr;
          short = nullOrStr;
          description = nullOrStr;
          target = mkOption {
            type = types.enum [ "ACCEPT" "%%REJECT%%" "DROP" ];
            default = "%%REJECT%%";
          };
          interfaces = mkOption { type = types.listOf types.nonEmptyStr; default = [ ]; };
          ports = mkOption {
            type = types.listOf (types.submodule {
              options.port = mkOption {
                type = types.either types.port (types.submodule {
                  options.from = mkOption { type = types.port; };
                  options.to = mkOption { type = types.port; };
                });
                apply = p: if builtins.isAttrs p then "${toString p.from}-${toString p.to}" else p;
              };
              options.protocol = mkOption { type = types.enum [ "tcp" "udp" "sctp" "dccp" ]; };
            });
            default = [ ];
          };
        };
      });
      default = { };
    };
  };

  config = {
    # nixos/modules/services/networking/firewall-firewalld.nix
    assertions = lib.mkIf (fw.enable && fw.backend == "firewalld") [{
      assertion = fw.interfaces == { };
      # (stand-in wording; NixOS's message says the same: use zones instead)
      message = "firewalld backend: per-interface networking.firewall.interfaces settings are refused";
    }];

    # nixos/modules/virtualisation/podman/default.nix (config, this one rule).
    networking.firewall = lib.mkIf (config.virtualisation.podman.enable && fw.backend != "firewalld") {
      interfaces.${settings.network_interface or "podman0"}.allowedUDPPorts =
        lib.mkIf (settings.dns_enabled or false) [ 53 ];
    };
  };
}
