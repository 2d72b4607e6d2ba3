# Usage: sh quadlet-check.sh GENERATOR DIR
#
# Converts the Quadlet units in DIR with podman's own generator (GENERATOR is a podman package's
# lib/systemd/system-generators/podman-system-generator, i.e. its quadlet) in dry-run mode, and
# fails on anything quadlet would not turn into a service as written: a warning or error line, a
# unit that produced no service (quadlet drops a unit with an unknown key), or a failing exit
# status. Each problem is printed on its own line, naming the unit file (and, from quadlet's
# message, the key). The NixOS module runs this in `system.checks` right after `quadgen build`,
# so `nixos-rebuild build` proves the host's exact podman accepts every unit before the switch.
# POSIX sh; needs grep, sed, mktemp.
set -u

if [ "$#" -ne 2 ]; then
  echo "usage: quadlet-check.sh GENERATOR DIR" >&2
  exit 2
fi
generator=$1
dir=$2

version=$("$generator" -version 2>/dev/null) || version="(version unknown)"
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

QUADLET_UNIT_DIRS=$dir "$generator" -dryrun >"$tmp/out" 2>"$tmp/err"
status=$?

failed=0
fail() {
  if [ "$failed" -eq 0 ]; then
    echo "error: podman $version's quadlet does not accept the units quadgen built:" >&2
  fi
  failed=1
  echo "  $1" >&2
}

# Everything but the "Loading source unit file" progress lines (and "No files parsed", for an
# inventory with nothing in it) is a complaint. quadlet's own
# form, `converting "web.container": unsupported key 'Memory' in group 'Container' in /path`,
# is shortened to `web.container: unsupported key 'Memory' in group 'Container'`.
grep -v -e 'Loading source unit file' -e 'No files parsed from' -e '^[[:space:]]*$' "$tmp/err" |
  sed -e 's/^quadlet-generator\[[0-9]*\]: //' \
    -e 's/^converting "\([^"]*\)": \(.*\) in \/[^ ]*$/\1: \2/' >"$tmp/problems"
while IFS= read -r line; do
  fail "$line"
done <"$tmp/problems"

# Every unit must come out as a service, under the name quadlet gives it.
for unit in "$dir"/*.container "$dir"/*.network "$dir"/*.volume "$dir"/*.pod "$dir"/*.kube \
  "$dir"/*.image "$dir"/*.build; do
  [ -e "$unit" ] || continue
  file=${unit##*/}
  base=${file%.*}
  kind=${file##*.}
  service=$(sed -n 's/^[[:space:]]*ServiceName[[:space:]]*=[[:space:]]*//p' "$unit" | tail -n 1)
  if [ -z "$service" ]; then
    case $kind in
      container | kube) service=$base ;;
      *) service=$base-$kind ;;
    esac
  fi
  if ! grep -qx -e "---$service.service---" "$tmp/out"; then
    fail "$file: dropped, quadlet made no $service.service from it (systemd would never see it)"
  fi
done

if [ "$status" -ne 0 ]; then
  fail "quadlet -dryrun exited with status $status"
fi
if [ "$failed" -ne 0 ]; then
  echo "quadgen targeted the podman version this host's package declares; a key quadlet does not know means that package's quadlet is older than its version says, or quadgen's key table is wrong (please report it)" >&2
fi
exit "$failed"
