# quadgen built from this checkout (used by flake.nix and as the module's default package).
{ lib, rustPlatform }:

let
  root = ../..;
  manifest = lib.importTOML (root + "/Cargo.toml");
in
rustPlatform.buildRustPackage {
  pname = "quadgen";
  inherit (manifest.package) version;

  src = lib.cleanSourceWith {
    src = lib.cleanSource root;
    filter = path: _type:
      let rel = lib.removePrefix (toString root + "/") (toString path);
      in !(lib.hasPrefix "target" rel || lib.hasPrefix "contrib" rel || rel == "flake.nix" || rel == "flake.lock");
  };
  cargoLock.lockFile = root + "/Cargo.lock";

  # The test suite needs nix, systemd and podman outside the build sandbox; .ci/run runs it.
  doCheck = false;

  meta = {
    inherit (manifest.package) description;
    license = with lib.licenses; [ mit asl20 ];
    mainProgram = "quadgen";
    platforms = lib.platforms.linux;
  };
}
