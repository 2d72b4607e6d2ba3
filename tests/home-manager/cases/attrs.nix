# The inventory as Nix attrs, removals allowed, no auto-update timer.
{
  services.quadgen = {
    enable = true;
    inventory.containers.web = { image = "docker.io/library/nginx:1.27"; ports = [ "8080:80" ]; };
    allowRemovals = true;
    autoUpdate.enable = false;
  };
}
