# NixOS VM test for services.quadgen (flake.nix checks.<system>.vm). Offline: the image is built
# by dockerTools and loaded before quadgen-install runs. Building the node's system also builds
# the module's system.checks, i.e. nixpkgs' real podman quadlet over the built units. Not run on this project's dev machines
# (no KVM, no nixpkgs); see flake.nix.
{ self, pkgs }:

let
  image = pkgs.dockerTools.buildImage {
    name = "localhost/qg-web";
    tag = "test";
    copyToRoot = [ pkgs.busybox ];
    config.Cmd = [ "httpd" "-f" "-p" "8080" "-h" "/" ];
  };
  inventory = {
    networks.app = { };
    containers.web = {
      image = "localhost/qg-web:test";
      pull = "never";
      networks = [ "app" ];
      ports = [ "8080:8080" ];
    };
  };
in
{
  name = "quadgen";

  nodes.machine = { lib, ... }: {
    imports = [ self.nixosModules.default ];
    virtualisation.memorySize = 2048;
    services.quadgen = {
      enable = true;
      inherit inventory;
    };
    systemd.services.qg-load-image = {
      wantedBy = [ "multi-user.target" ];
      before = [ "quadgen-install.service" ];
      requiredBy = [ "quadgen-install.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${pkgs.podman}/bin/podman load --input ${image}";
      };
    };
    specialisation.changed.configuration.services.quadgen.inventory =
      lib.mkForce (lib.recursiveUpdate inventory { containers.web.environment.CHANGED = "1"; });
  };

  testScript = ''
    # podman's quadlet generator reaches /etc via systemd.packages (set by the podman module).
    machine.succeed("test -x /etc/systemd/system-generators/podman-system-generator")
    machine.wait_for_unit("quadgen-install.service")
    machine.wait_for_unit("web.service")
    machine.wait_for_open_port(8080)
    machine.succeed("test -e /etc/containers/systemd/web.container")
    machine.succeed("systemctl is-enabled podman-auto-update.timer")
    machine.succeed("systemctl is-enabled quadgen-prune.timer")
    machine.fail("systemctl cat quadgen-prune.service | grep -e --volumes")
    machine.succeed("podman network inspect app | grep -q '\"dns_enabled\": true'")
    # UDP 53 for the quadgen bridges (iptables backend: the `qg-+` wildcard).
    machine.succeed("iptables -w -S nixos-fw | grep -- '-i qg-+' | grep -q -- '--dport 53'")

    # A changed inventory re-runs the hook on switch, and quadgen restarts web.service.
    before = machine.succeed("systemctl show -P InvocationID web.service")
    machine.succeed("/run/current-system/specialisation/changed/bin/switch-to-configuration test")
    machine.wait_for_unit("web.service")
    after = machine.succeed("systemctl show -P InvocationID web.service")
    assert before != after, "web.service was not restarted"
    machine.succeed("grep -q CHANGED=1 /etc/containers/systemd/web.container")
  '';
}
