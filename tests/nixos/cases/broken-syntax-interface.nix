# A TOML syntax error in a file the module must read for interface names.
{
  services.quadgen = {
    enable = true;
    inventoryFile = ../fixtures/broken-syntax-interface.toml;
  };
}
