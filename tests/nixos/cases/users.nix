# Rootless containers for two users: alice from a TOML file (a normal user: NixOS gives her
# subordinate IDs), bob from Nix attrs (a system user: quadgen turns on autoSubUidGidRange), with
# `allowRemovals`; no system inventory (`enable` stays false).
{
  users.users.alice.isNormalUser = true;
  users.users.bob.isSystemUser = true;
  services.quadgen.users = {
    alice.inventoryFile = ../fixtures/inventory.toml;
    bob = {
      inventory.containers.web.image = "docker.io/library/nginx:1.27";
      allowRemovals = true;
    };
  };
  services.quadgen.autoUpdate.schedule = "Sun 03:00";
}
