# The user's inventory as a TOML file, all defaults.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../../nixos/fixtures/inventory.toml;
  };
}
