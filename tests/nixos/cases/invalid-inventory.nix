# Evaluates fine; only the build-time check (quadgen build) can reject this inventory.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/invalid-inventory.toml;
  };
}
