{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
    inventory.containers.web.image = "docker.io/library/nginx:1.27";
  };
}
