# Both inventory forms.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../../nixos/fixtures/inventory.toml;
    inventory.containers.web.image = "docker.io/library/nginx:1.27";
  };
}
