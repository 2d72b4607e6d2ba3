# Sourced by the provision scripts (tests/provision.sh runs only tests/provision/*.sh, not this
# folder). Helpers for the scripts that debootstrap a Debian root.

# The Debian mirror this machine already uses (deb822 `URIs:` or one-line `deb` entries); only
# comment lines are ignored. Falls back to deb.debian.org, which is what these machines use.
mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -v '^[[:space:]]*#' \
    | grep -oE 'https?://[^ ]+/debian/?([[:space:]]|$)' | head -n1 | tr -d '[:space:]' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
