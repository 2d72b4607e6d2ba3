# A user turned podman's default-network DNS off: quadgen needs it, and says why.
{
  virtualisation.podman.defaultNetwork.settings.dns_enabled = false;
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
  };
}
