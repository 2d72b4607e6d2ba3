# A bridge named outside the `qg-` wildcard, iptables firewall.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/custom-interface.toml;
  };
}
