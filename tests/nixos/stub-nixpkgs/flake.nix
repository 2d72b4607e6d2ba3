# STAND-IN nixpkgs flake for `nix flake check --no-build` on quadgen's flake.nix (no nixpkgs is
# reachable here). tests/nixos_module.rs assembles it in a temp dir: this file plus the nixel
# snapshot's real lib/ and nixos/lib/, assertions.nix, extra-arguments.nix, and ../stand-ins.
# Packages are unbuildable derivations; runNixOSTest evaluates the test's node with the real
# module system and the module's assertions, so a mis-wired test or module fails the check.
{
  outputs = _:
    let
      lib = import ./lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];

      pkgsFor = system:
        let
          base = import ./stand-ins/pkgs.nix { inherit lib system; };
          drv = name: derivation {
            inherit name system;
            builder = "/bin/sh";
            args = [ "-c" "exit 1" ];
          };
          pkgs = base // {
            inherit lib;
            stdenv.hostPlatform.system = system;
            callPackage = fn: args:
              let f = if builtins.isFunction fn then fn else import fn;
              in f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // args);
            rustPlatform.buildRustPackage = a:
              assert builtins.pathExists a.cargoLock.lockFile;
              drv "${a.pname}-${a.version}" // { inherit (a) meta; src = "${a.src}"; };
            busybox = drv "busybox";
            dockerTools.buildImage = a: drv "docker-image-${baseNameOf a.name}.tar.gz";
            testers.runNixOSTest = runNixOSTest pkgs;
          };
        in
        pkgs;

      # Evaluates every node like NixOS would (assertions included) and returns a derivation
      # whose attributes depend on that evaluation.
      runNixOSTest = pkgs: test:
        let
          evalNode = node: (lib.evalModules {
            modules = [
              ./nixos/modules/misc/assertions.nix
              ./nixos/modules/misc/extra-arguments.nix
              ./stand-ins/nixos-unstable.nix
              ({ lib, ... }: {
                # STAND-INS for options only VM tests use.
                options.virtualisation.memorySize = lib.mkOption { type = lib.types.int; };
                options.specialisation = lib.mkOption {
                  type = lib.types.attrsOf (lib.types.submodule {
                    options.configuration = lib.mkOption { type = lib.types.deferredModule; };
                  });
                  default = { };
                };
                config._module.args.pkgs = pkgs;
              })
              node
            ];
          }).config;
          checkNode = name: node:
            let
              c = evalNode node;
              failed = map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);
            in
            if failed != [ ] then throw "node ${name}: ${lib.concatStringsSep "; " failed}"
            else c.systemd.services.quadgen-install.serviceConfig.ExecStart;
        in
        assert builtins.isString test.testScript;
        (derivation {
          name = "vm-test-run-${test.name}";
          inherit (pkgs.stdenv.hostPlatform) system;
          builder = "/bin/sh";
          args = [ "-c" "exit 1" ];
          hooks = lib.mapAttrsToList checkNode test.nodes;
        });
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs systems pkgsFor;
    };
}
