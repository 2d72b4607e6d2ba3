# A TOML syntax error: left to the build check (quadgen build locates it).
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/broken-syntax.toml;
  };
}
