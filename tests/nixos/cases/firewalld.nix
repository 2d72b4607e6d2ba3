# firewalld (NixOS's services.firewalld picks networking.firewall.backend = "firewalld"), with a
# bridge named outside the `qg-` wildcard.
{
  services.firewalld.enable = true;
  # podman's default network on a bridge of another name: the zone must follow it.
  virtualisation.podman.defaultNetwork.settings.network_interface = "podman9";
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/custom-interface.toml;
  };
}
