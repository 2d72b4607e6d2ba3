#!/usr/bin/env bash
# Whole-process benchmark of a release quadgen: prints one row per case of the performance table
# (wall time as hyperfine's median, CPU time as its mean user + system, peak RSS from
# /usr/bin/time). Generates its inventories itself.
#
#   cargo build --release --locked && bash benches/process.sh [QUADGEN_BINARY]
#
# Needs hyperfine, jq, GNU time (`apt-get install hyperfine jq time`) and, for the quadlet row, the
# real quadlet 5.4.2 from `bash tests/provision.sh`. RUNS (default 30) sets the runs per case.
set -euo pipefail

quadgen=$(realpath "${1:-target/release/quadgen}")
runs=${RUNS:-30}
cache=${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}
quadlet=$cache/quadlet/trixie/usr/libexec/podman/quadlet
for tool in hyperfine jq /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "process.sh: $tool is missing" >&2; exit 1; }
done
[ -x "$quadgen" ] || { echo "process.sh: no quadgen binary at $quadgen" >&2; exit 1; }

# tmpfs, so the build row measures quadgen and quadlet, not the disk (see perf-facts).
base=/dev/shm
[ -d "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/quadgen-process-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# N containers over 10 networks, with volumes, environment, health checks and short
# `depends_on` chains (like benches/build.rs). mode=chain: every container depends on the
# previous one. mode=short: every image is a short name (one error per container).
gen() {
    awk -v n="$1" -v mode="${2:-}" 'BEGIN {
        print "[defaults]\nrestart = \"always\"\nenvironment = { TZ = \"Europe/Berlin\" }\n"
        for (k = 0; k < 10; k++)
            printf "[networks.net%d]\nsubnet = \"10.89.%d.0/24\"\n\n[volumes.data%d]\n\n", k, k, k
        for (i = 0; i < n; i++) {
            net = i % 10; port = 20000 + (i % 40000)
            image = (mode == "short") ? "nginx" : sprintf("ghcr.io/example/app%d:1.%d", i, i)
            printf "[containers.app%d]\nimage = \"%s\"\n", i, image
            printf "cmd = [\"serve\", \"--port\", \"%d\", \"--name\", \"app %d\"]\n", port, i
            printf "environment = { APP_ID = \"%d\", GREETING = \"100%% $HOME\" }\n", i
            printf "ports = [\"127.0.0.1:%d:8080\"]\n", port
            printf "volumes = [\"/srv/app%d:/data\", \"data%d:/shared:ro\"]\n", i, net
            printf "networks = [\"net%d\"]\nafter = [\"mnt-backup.mount\"]\n", net
            print "health = { cmd = \"wget -q -O /dev/null http://127.0.0.1:8080/\", interval = \"30s\", retries = 3 }"
            if (i > 0 && (mode == "chain" || i % 10 != 0))
                printf "depends_on = [\"app%d\"]\n", i - 1
            print ""
        }
    }' >"$work/$3"
}
gen 1 "" one.toml
gen 1000 "" c1000.toml
gen 8000 "" c8000.toml
gen 8000 chain chain8000.toml
gen 8000 short short8000.toml
gen 100000 "" c100000.toml

# Median wall time in ms of a command (hyperfine; failing exit codes allowed where expected).
# Usage: median_ms RUNS WARMUP [hyperfine options] COMMAND
median_ms() {
    local json=$work/hyperfine.json
    hyperfine --style none --runs "$1" --warmup "$2" --export-json "$json" "${@:3}" >/dev/null 2>&1
    jq -r '.results[0].median * 1000 | . * 100 | round / 100' "$json"
}
# Mean CPU time (user + system) in ms of the last median_ms command: on a loaded machine the
# wall time mostly measures the wait for a core, the CPU time what the process itself costs.
cpu_ms() {
    jq -r '.results[0] | (.user + .system) * 1000 | . * 10 | round / 10' "$work/hyperfine.json"
}
# Peak RSS in MiB (the largest of 3 runs).
rss_mib() {
    local max=0 kb
    for _ in 1 2 3; do
        /usr/bin/time -o "$work/rss" -f '%M' "$@" >/dev/null 2>&1 || true
        kb=$(tail -1 "$work/rss")
        [ "$kb" -gt "$max" ] && max=$kb
    done
    awk -v kb="$max" 'BEGIN { printf "%.1f", kb / 1024 }'
}

echo "quadgen process benchmark: $quadgen, $runs runs per case (fewer for the large ones)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %s\n' case result

t=$(median_ms "$runs" 3 "$quadgen check $work/one.toml")
c=$(cpu_ms)
printf '%-52s %s ms (CPU %s ms), %s MiB\n' '`check`, 1 container' "$t" "$c" \
    "$(rss_mib "$quadgen" check "$work/one.toml")"

if [ -x "$quadlet" ]; then
    out=$work/out
    # Built again over its own earlier build, as a user rebuilds: compared, nothing written.
    tb=$(median_ms "$runs" 3 "$quadgen build $work/c1000.toml --out $out")
    cb=$(cpu_ms)
    tq=$(median_ms "$runs" 3 "QUADLET_UNIT_DIRS=$out $quadlet -dryrun")
    cq=$(cpu_ms)
    # The same build into a directory that does not exist yet: every file written.
    tf=$(median_ms "$runs" 3 --prepare "rm -rf $work/fresh" "$quadgen build $work/c1000.toml --out $work/fresh")
    cf=$(cpu_ms)
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
    printf '%-52s %s ms vs %s ms: ratio %s (CPU %s vs %s ms: %s)\n' \
        '`build` 1,000 vs quadlet 5.4.2 `-dryrun`' "$tb" "$tq" "$(ratio "$tb" "$tq")" \
        "$cb" "$cq" "$(ratio "$cb" "$cq")"
    printf '%-52s %s ms vs %s ms: ratio %s (CPU %s vs %s ms: %s)\n' \
        '  the same, into an empty directory' "$tf" "$tq" "$(ratio "$tf" "$tq")" \
        "$cf" "$cq" "$(ratio "$cf" "$cq")"
else
    printf '%-52s %s\n' '`build` 1,000 vs quadlet 5.4.2 `-dryrun`' "skipped: no quadlet at $quadlet"
fi
printf '%-52s %s MiB\n' 'peak RSS, `build` 1,000 containers' "$(rss_mib "$quadgen" build "$work/c1000.toml" --out "$work/out")"

t1=$(median_ms "$runs" 3 "$quadgen check $work/c1000.toml")
c1=$(cpu_ms)
t8=$(median_ms 10 1 "$quadgen check $work/c8000.toml")
c8=$(cpu_ms)
printf '%-52s %s ms vs %s ms: x%s (CPU %s vs %s ms: x%s)\n' '`check`, 8,000 vs 1,000 containers' \
    "$t8" "$t1" "$(awk -v a="$t8" -v b="$t1" 'BEGIN { printf "%.1f", a / b }')" "$c8" "$c1" \
    "$(awk -v a="$c8" -v b="$c1" 'BEGIN { printf "%.1f", a / b }')"

printf '%-52s %s ms\n' '`check`, `depends_on` chain of 8,000' "$(median_ms 5 0 "$quadgen check $work/chain8000.toml")"
printf '%-52s %s ms\n' '`check`, 8,000 errors (short image names)' \
    "$(median_ms 5 0 -i "$quadgen check $work/short8000.toml")"
t=$(median_ms 3 0 "$quadgen check $work/c100000.toml")
c=$(cpu_ms)
printf '%-52s %s ms (CPU %s ms), %s MiB\n' '`check`, 100,000 containers' "$t" "$c" \
    "$(rss_mib "$quadgen" check "$work/c100000.toml")"

# /dev/zero never ends: quadgen must stop at its size limit with an error, not fill the memory.
set +e
# (Under a 2 GiB address-space limit and a timeout, so a quadgen without a limit cannot take the
# machine down.)
/usr/bin/time -o "$work/rss" -f '%M' bash -c 'ulimit -v 2097152; exec timeout 20 "$0" check /dev/zero' \
    "$quadgen" >/dev/null 2>"$work/zero.err"
code=$?
set -e
printf '%-52s exit %s, %s MiB: %s\n' '`check /dev/zero`' "$code" \
    "$(awk -v kb="$(tail -1 "$work/rss")" 'BEGIN { printf "%.1f", kb / 1024 }')" "$(head -1 "$work/zero.err")"
