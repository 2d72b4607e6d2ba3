# The same, as Nix attrs, on the nftables backend chosen explicitly.
{
  networking.firewall.backend = "nftables";
  networking.nftables.enable = true;
  services.quadgen = {
    enable = true;
    inventory = {
      networks.media.interface_name = "br-media";
      networks.vlan = { driver = "macvlan"; };
      containers.web = {
        image = "docker.io/library/nginx:1.27";
        networks = [ "media" "vlan" ];
      };
    };
  };
}
