# The module is imported but not enabled: it must change nothing.
{ services.quadgen.inventoryFile = ../fixtures/inventory.toml; }
