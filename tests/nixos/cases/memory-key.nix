# An inventory using a key quadlet knows since podman 5.5 (`Memory=`): quadgen accepts it when the
# podman package says 5.5 or later; the build check then asks that package's own quadlet.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/memory-key.toml;
  };
}
