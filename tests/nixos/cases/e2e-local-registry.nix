# Inventory file whose images come from the e2e test machine's own registry: the case
# tests/e2e_nixos_hook.rs evaluates to get the hook it runs on a real systemd + podman.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/e2e-inventory.toml;
  };
}
