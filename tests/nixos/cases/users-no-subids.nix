# A user with rootless containers whose subordinate ID ranges were turned off, both inventory
# forms set, and root.
{
  users.users.carol = { isNormalUser = true; autoSubUidGidRange = false; };
  services.quadgen.users.carol = {
    inventoryFile = ../fixtures/inventory.toml;
    inventory.containers.web.image = "docker.io/library/nginx:1.27";
  };
  services.quadgen.users.root.inventory.containers.web.image = "docker.io/library/nginx:1.27";
}
