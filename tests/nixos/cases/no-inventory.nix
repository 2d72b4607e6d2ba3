{ services.quadgen.enable = true; }
