# Retiring every container on purpose: an empty inventory with allowRemovals.
{
  services.quadgen = {
    enable = true;
    inventory = { };
    allowRemovals = true;
  };
}
