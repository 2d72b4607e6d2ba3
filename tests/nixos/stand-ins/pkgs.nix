# STAND-IN for nixpkgs' package set: the nixel snapshot has lib/ and nixos/lib/ but no packages.
# Only what module.nix and NixOS's systemd-lib touch. Derivations are real (instantiable, and
# buildable in a chroot store with host paths exposed); their builders are /bin/sh.
# `quadgenPrefix`/`podmanPrefix`, when given, make the packages plain directories on this host
# (e.g. a dir whose bin/quadgen is a test binary), so rendered units can be checked by
# systemd-analyze and the build check can really run.
# `podmanVersion` is what the podman package declares (its quadlet may be older: see the
# build-check tests).
{ lib, system ? builtins.currentSystem, quadgenPrefix ? null, podmanPrefix ? null
, podmanVersion ? "5.4.2" }:

let
  unbuildable = name: attrs: derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" "echo stand-in ${name} cannot be built >&2; exit 1" ];
  } // attrs;
  # A derivation-shaped value whose output is an existing host directory.
  hostDir = name: dir: { type = "derivation"; inherit name; outPath = dir; drvPath = dir; };
in
rec {
  # nixpkgs' runCommand runs bash from stdenv with coreutils, grep and sed on PATH; here /bin/sh
  # with the host's /usr/bin and /bin (exposed to the sandbox by the tests).
  runCommand = name: env: script: derivation (env // {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-ec" script ];
    PATH = "/usr/bin:/bin";
  });
  runtimeShell = "/bin/sh";

  # STAND-IN for pkgs.formats.json (pkgs/pkgs-lib/formats.nix): the same value type as nixpkgs.
  formats.json = { }: {
    type = with lib.types;
      let valueType = nullOr (oneOf [ bool int float str path (attrsOf valueType) (listOf valueType) ])
        // { description = "JSON value"; };
      in valueType;
    generate = name: value: builtins.toFile name (builtins.toJSON value);
  };

  # STAND-IN for pkgs.formats.toml (pkgs/pkgs-lib/formats.nix): the same value type as nixpkgs
  # (no null; the top level is a value, not attrs of values). `generate` writes JSON, where
  # nixpkgs runs remarshal's json2toml (unavailable here); tests read it back as JSON.
  formats.toml = { }: {
    type = with lib.types;
      let valueType = oneOf [ bool int float str path (attrsOf valueType) (listOf valueType) ]
        // { description = "TOML value"; };
      in valueType;
    generate = name: value: builtins.toFile name (builtins.toJSON value);
  };

  quadgen = if quadgenPrefix != null then hostDir "quadgen" quadgenPrefix
    else unbuildable "quadgen-0.1.0" { version = "0.1.0"; };
  podman = (if podmanPrefix != null then hostDir "podman" podmanPrefix
    else unbuildable "podman-${podmanVersion}" { }) // { version = podmanVersion; };

  # Referenced by NixOS's systemd-lib (default PATH of every service, unit builders).
  coreutils = unbuildable "coreutils" { };
  findutils = unbuildable "findutils" { };
  gnugrep = unbuildable "gnugrep" { };
  gnused = unbuildable "gnused" { };
  systemd = unbuildable "systemd" { };
  buildPackages.xorg.lndir = unbuildable "lndir" { };
  writeText = name: text: builtins.toFile name text;
}
