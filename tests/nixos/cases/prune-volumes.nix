{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
    prune.flags = [ "--all" "--volumes" ];
  };
}
