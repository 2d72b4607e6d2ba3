# podman-prune.service passes the flags through a shell, so one element can hold several words.
{
  virtualisation.podman.autoPrune = { enable = true; flags = [ "--all --volumes=true" ]; };
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/inventory.toml;
  };
}
