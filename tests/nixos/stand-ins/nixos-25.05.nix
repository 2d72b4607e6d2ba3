# STAND-IN for what differs in NixOS 25.05 (see ../README.md for the files and revisions read):
# no networking.firewall.backend and no firewalld module (nftables.enable picks the backend), and
# the podman module opens UDP 53 on its default network's bridge whenever dns_enabled is set.
{ config, lib, ... }:

let
  settings = config.virtualisation.podman.defaultNetwork.settings;
in
{
  imports = [ ./options.nix ];

  # nixos/modules/virtualisation/podman/default.nix (config, this one rule).
  config.networking.firewall.interfaces = lib.mkIf config.virtualisation.podman.enable {
    ${settings.network_interface or "podman0"}.allowedUDPPorts =
      lib.mkIf (settings.dns_enabled or false) [ 53 ];
  };
}
