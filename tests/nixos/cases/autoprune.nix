# NixOS's own podman prune (`podman system prune`) alongside quadgen: allowed, with a warning.
{
  virtualisation.podman.autoPrune = { enable = true; flags = [ "--all" ]; };
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
  };
}
