# Inventory as Nix attrs, nftables firewall, a name shared with oci-containers, custom schedule and
# root, prune off.
{
  networking.nftables.enable = true;
  virtualisation.oci-containers.containers.web.image = "docker.io/library/nginx:1.26";
  services.quadgen = {
    enable = true;
    root = "/srv/quadlets";
    inventory = {
      networks.app.subnet = "10.89.7.0/24";
      containers.web = {
        image = "docker.io/library/nginx:1.27";
        networks = [ "app" ];
        health = { cmd = "curl -fs http://localhost/"; interval = "30s"; retries = 3; };
      };
      containers.db.image = "docker.io/library/postgres:17";
    };
    autoUpdate.schedule = "Mon 02:00";
    prune.enable = false;
  };
}
