{
  services.quadgen = {
    enable = true;
    inventoryFile = "/etc/quadgen/inventory.toml";
  };
}
