{
  description = "quadgen: compile one TOML inventory into Podman Quadlet units and install what changed";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        quadgen = pkgs.callPackage ./contrib/nixos/package.nix { };
        default = quadgen;
      });

      overlays.default = final: _prev: {
        quadgen = final.callPackage ./contrib/nixos/package.nix { };
      };

      nixosModules.default = { pkgs, ... }: {
        imports = [ ./contrib/nixos/module.nix ];
        services.quadgen.package =
          lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      # A NixOS VM test (QEMU + KVM + a real nixpkgs). It cannot run on the machines this project
      # is developed on (no nixpkgs, no KVM); there `nix flake check --no-build` with a stub
      # nixpkgs only checks that it is wired (tests/nixos_module.rs). Run it with
      # `nix build .#checks.x86_64-linux.vm -L` on a NixOS/Nix host.
      checks = forAllSystems (pkgs: {
        vm = pkgs.testers.runNixOSTest (import ./contrib/nixos/vm-test.nix { inherit self pkgs; });
      });
    };
}
