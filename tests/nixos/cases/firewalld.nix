# firewalld (NixOS's services.firewalld picks networking.firewall.backend = "firewalld"), with a
# bridge named outside the `qg-` wildcard.
{
  services.firewalld.enable = true;
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/custom-interface.toml;
  };
}
