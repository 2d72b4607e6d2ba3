# Control for the firewalld stand-in: a per-interface setting under firewalld fails evaluation, as
# NixOS's firewall-firewalld.nix makes it (so the module's own silence there is meaningful).
{
  services.firewalld.enable = true;
  networking.firewall.interfaces.eth0.allowedTCPPorts = [ 22 ];
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
  };
}
