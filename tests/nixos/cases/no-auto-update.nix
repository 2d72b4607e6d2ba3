{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
    autoUpdate.enable = false;
  };
}
