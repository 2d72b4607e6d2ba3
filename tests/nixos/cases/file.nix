# Inventory as a TOML file (path literal), iptables firewall, all defaults.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
  };
}
