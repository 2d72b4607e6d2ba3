//! Networking and the image health gate on a real systemd 257 + podman 5.4.2 (Debian trixie
//! booted in systemd-nspawn, tests/support/nspawn.rs), installed with `quadgen install`:
//!
//! - `network_mode = "container:owner"` runs in owner's network namespace (the same
//!   `/proc/PID/ns/net`, and 127.0.0.1 reaches owner's port), starts after owner and is restarted
//!   with it, both by `systemctl restart owner.service` and when owner crashes and systemd
//!   restarts it;
//! - a static IPv4 and IPv6 address, an alias and a MAC on a dual-stack network are what podman
//!   assigns, and reachable from another container;
//! - `health = "image"` gates a start on the image's own HEALTHCHECK (docker format), fails the
//!   start of an image whose check fails and of an OCI image (which has none), and makes
//!   `podman auto-update` roll a broken new image back.
//!
//! Needs root and the provisioned machine root (`sudo bash tests/provision.sh`);
//! `QUADGEN_SKIP_E2E=1` turns "cannot run here" into a loud SKIPPED line.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

#[path = "support/host_e2e.rs"]
mod host_e2e;

use std::path::Path;
use std::time::{Duration, Instant};

use host_e2e::{Steps, container_image, wait_for};
use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const START: Duration = Duration::from_secs(90);

fn boot() -> Option<Machine> {
    Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen")))
}

/// Runs `quadgen install`, returning (exit code, stdout + stderr).
fn install(m: &Machine) -> (i32, String) {
    let out = m.run(["quadgen", "install", INVENTORY]);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `podman inspect --format FORMAT NAME`, trimmed.
fn inspect(m: &Machine, format: &str, name: &str) -> String {
    m.run_ok(["podman", "inspect", "--format", format, name])
        .trim()
        .to_owned()
}

/// The network namespace of a container's main process, as the kernel names it.
fn netns(m: &Machine, container: &str) -> String {
    let pid = inspect(m, "{{.State.Pid}}", container);
    m.exec_ok(["readlink", &format!("/proc/{pid}/ns/net")])
        .trim()
        .to_owned()
}

/// What `wget -O - URL` prints inside `container`, retried for a few seconds.
fn fetch_in(m: &Machine, container: &str, url: &str) -> String {
    wait_for(
        &format!("{container} fetches {url}"),
        Duration::from_secs(10),
        || {
            let out = m.run([
                "podman", "exec", container, "wget", "-q", "-T", "2", "-O", "-", url,
            ]);
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        },
    )
}

const NETWORK_INVENTORY: &str = r#"[defaults]
stop_timeout = "2s"
auto_update = "none"
pull = "never"
[defaults.quadlet.Container]
RunInit = "true"

[networks.lan]
subnets = ["10.89.60.0/24", { subnet = "fd00:60::/64", gateway = "fd00:60::1" }]

[containers.owner]
image = "IMAGE"
networks = [{ name = "lan", ip = "10.89.60.5", ip6 = "fd00:60::5", aliases = ["vpn"], mac = "92:d0:c6:0a:29:33" }]
health = { cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "1s", timeout = "2s", retries = 2 }

[containers.side]
image = "IMAGE"
cmd = ["/bin/sleep", "100000"]
network_mode = "container:owner"

[containers.client]
image = "IMAGE"
cmd = ["/bin/sleep", "100000"]
networks = ["lan"]
"#;

#[test]
fn container_mode_static_addresses_and_dual_stack() {
    let mut steps = Steps::new("network");
    let Some(m) = boot() else { return };
    steps.step("boot");
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[("www/index.html", "owner\n")]);
    m.write_file(INVENTORY, NETWORK_INVENTORY.replace("IMAGE", &image));
    let (code, out) = install(&m);
    assert_eq!(code, 0, "{out}");
    for unit in ["owner.service", "side.service", "client.service"] {
        m.wait_active(unit, START);
    }
    steps.step("build + install");

    // The dual-stack network has both subnets, with the gateways podman was given or chose.
    let subnets = m.run_ok([
        "podman",
        "network",
        "inspect",
        "--format",
        "{{range .Subnets}}{{.Subnet}} {{.Gateway}};{{end}} ipv6={{.IPv6Enabled}}",
        "lan",
    ]);
    assert_eq!(
        subnets.trim(),
        "10.89.60.0/24 10.89.60.1;fd00:60::/64 fd00:60::1; ipv6=true"
    );

    // The static addresses are owner's, and another container reaches them and the alias.
    assert_eq!(
        inspect(
            &m,
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}}{{end}}",
            "owner"
        ),
        "10.89.60.5 fd00:60::5"
    );
    assert_eq!(
        inspect(&m, "{{.NetworkSettings.Networks.lan.MacAddress}}", "owner"),
        "92:d0:c6:0a:29:33"
    );
    let aliases = inspect(
        &m,
        "{{json .NetworkSettings.Networks.lan.Aliases}}",
        "owner",
    );
    assert!(aliases.contains(r#""vpn""#), "{aliases}");
    assert_eq!(fetch_in(&m, "client", "http://10.89.60.5:8080/"), "owner\n");
    assert_eq!(fetch_in(&m, "client", "http://vpn:8080/"), "owner\n");
    assert_eq!(
        fetch_in(&m, "client", "http://[fd00:60::5]:8080/"),
        "owner\n"
    );
    steps.step("addresses");

    // side lives in owner's network namespace: 127.0.0.1 there is owner's.
    assert_eq!(netns(&m, "side"), netns(&m, "owner"));
    assert_ne!(netns(&m, "client"), netns(&m, "owner"));
    assert_eq!(fetch_in(&m, "side", "http://127.0.0.1:8080/"), "owner\n");
    let requires = m.unit_property("side.service", "Requires");
    assert!(requires.contains("owner.service"), "{requires}");

    // Restarting owner restarts side after it, into the new owner's namespace.
    let (owner_id, side_id) = (
        m.invocation_id("owner.service"),
        m.invocation_id("side.service"),
    );
    m.systemctl_ok(["restart", "owner.service"]);
    // systemctl returns when owner's job is done; side's restart was queued in the same
    // transaction, and side passes through `failed` on the way (the stopped container exits
    // 143). Wait for the queue to drain, then look.
    wait_for("no queued systemd job", START, || {
        let jobs = m.systemctl_ok(["list-jobs", "--no-legend"]);
        jobs.trim().is_empty().then_some(())
    });
    assert!(
        m.is_active("side.service"),
        "{}",
        m.unit_report("side.service")
    );
    m.assert_restarted("owner.service", &owner_id);
    m.assert_restarted("side.service", &side_id);
    let active_at = |u: &str| -> u64 {
        m.unit_property(u, "ActiveEnterTimestampMonotonic")
            .parse()
            .expect("a timestamp")
    };
    assert!(
        active_at("side.service") > active_at("owner.service"),
        "side became active after owner"
    );
    assert_eq!(netns(&m, "side"), netns(&m, "owner"));
    assert_eq!(fetch_in(&m, "side", "http://127.0.0.1:8080/"), "owner\n");
    steps.step("container mode: explicit restart");

    // The VPN-sidecar case: owner's process dies. systemd restarts owner after `RestartSec=`,
    // and systemd 257 propagates that restart to side (`Requires=`), into the new namespace.
    let (owner_id, side_id) = (
        m.invocation_id("owner.service"),
        m.invocation_id("side.service"),
    );
    let old_netns = netns(&m, "owner");
    let pid = inspect(&m, "{{.State.Pid}}", "owner");
    m.exec_ok(["kill", "-KILL", &pid]);
    wait_for("owner restarted after the crash", START, || {
        (m.invocation_id("owner.service") != owner_id && m.is_active("owner.service")).then_some(())
    });
    wait_for("no queued systemd job", START, || {
        let jobs = m.systemctl_ok(["list-jobs", "--no-legend"]);
        jobs.trim().is_empty().then_some(())
    });
    m.assert_restarted("side.service", &side_id);
    assert!(
        m.is_active("side.service"),
        "{}",
        m.unit_report("side.service")
    );
    assert_ne!(netns(&m, "owner"), old_netns);
    assert_eq!(netns(&m, "side"), netns(&m, "owner"));
    assert_eq!(fetch_in(&m, "side", "http://127.0.0.1:8080/"), "owner\n");
    steps.step("container mode: owner crashed and restarted");
    steps.finish();
}

/// Builds an image like `Machine::build_image` (busybox httpd on 8080 serving `/www`), with a
/// HEALTHCHECK that fetches `/` (1 s interval, 2 s timeout, 2 retries), in `format` (`docker` or
/// `oci`), tagged `tag`. Returns the image ID.
fn build_checked_image(m: &Machine, tag: &str, format: &str, files: &[(&str, &str)]) -> String {
    let ctx = format!("/root/hc-build-{}", tag.replace(['/', ':', '.'], "-"));
    for (path, contents) in files {
        m.write_file(&format!("{ctx}/rootfs/{path}"), contents);
    }
    m.exec_ok(["mkdir", "-p", &format!("{ctx}/rootfs/www")]);
    m.exec_ok(["cp", "/usr/bin/busybox", &format!("{ctx}/busybox")]);
    m.write_file(
        &format!("{ctx}/Containerfile"),
        concat!(
            "FROM scratch\n",
            "COPY busybox /bin/busybox\n",
            "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
            "COPY rootfs/ /\n",
            "HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O /dev/null http://127.0.0.1:8080/\n",
            "CMD [\"/bin/httpd\", \"-f\", \"-v\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
        ),
    );
    let out = m.run_ok([
        "podman",
        "build",
        "--quiet",
        "--network=none",
        "--format",
        format,
        "--tag",
        tag,
        &ctx,
    ]);
    m.remove(&ctx);
    out.lines().last().unwrap_or_default().trim().to_owned()
}

/// Publishes `name`'s image to the machine's registry as another machine would: built under a
/// scratch tag, pushed, the scratch tag removed, so whoever wants it pulls it.
fn publish(m: &Machine, name: &str, format: &str, files: &[(&str, &str)]) -> String {
    let scratch = format!("localhost/qg-build/{name}:scratch");
    let id = build_checked_image(m, &scratch, format, files);
    let target = format!("docker://{REGISTRY}/{name}:latest");
    m.run_ok([
        "podman",
        "push",
        "--quiet",
        scratch.as_str(),
        target.as_str(),
    ]);
    m.remove_image(&scratch);
    id
}

/// Re-tags `NAME:FROM` in the machine's registry as `NAME:TO` with OCI media types in the
/// manifest and the same config blob, as BuildKit pushes with `oci-mediatypes=true`: the config
/// still carries Docker's `Healthcheck`. Perl because the machine has no curl.
const OCI_RETAG: &str = r#"use strict; use IO::Socket::INET;
sub req { my ($method, $path, $headers, $body) = @_; $body //= '';
  my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:5000') or die "connect: $!";
  print $s "$method $path HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nConnection: close\r\nContent-Length: " . length($body) . "\r\n$headers\r\n$body";
  local $/; my $r = <$s>; my ($head, $content) = split /\r\n\r\n/, $r, 2;
  die "$method $path: $head\n" unless $head =~ m{^HTTP/1\.\d 2\d\d};
  return $content; }
my ($name, $from, $to) = @ARGV;
my $m = req('GET', "/v2/$name/manifests/$from", "Accept: application/vnd.docker.distribution.manifest.v2+json\r\n");
$m =~ s{application/vnd\.docker\.distribution\.manifest\.v2\+json}{application/vnd.oci.image.manifest.v1+json}g;
$m =~ s{application/vnd\.docker\.container\.image\.v1\+json}{application/vnd.oci.image.config.v1+json}g;
$m =~ s{application/vnd\.docker\.image\.rootfs\.diff\.tar\.gzip}{application/vnd.oci.image.layer.v1.tar+gzip}g;
req('PUT', "/v2/$name/manifests/$to", "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n", $m);
"#;

const HEALTH_INVENTORY: &str = r#"[defaults]
stop_timeout = "2s"
health = "image"
[defaults.quadlet.Container]
RunInit = "true"

[containers.good]
image = "REGISTRY/good:latest"
ports = ["127.0.0.1:8080:8080"]

[containers.unhealthy]
image = "REGISTRY/unhealthy:latest"

[containers.oci]
image = "REGISTRY/oci:latest"

[containers.buildkit]
image = "REGISTRY/buildkit:latest"
"#;

#[test]
fn health_image_gates_a_start_and_a_rollback() {
    let mut steps = Steps::new("health-image");
    let Some(m) = boot() else { return };
    steps.step("boot");
    let v1 = publish(&m, "good", "docker", &[("www/index.html", "v1\n")]);
    publish(
        &m,
        "unhealthy",
        "docker",
        &[("www/other.html", "no index\n")],
    );
    publish(&m, "oci", "oci", &[("www/index.html", "oci\n")]);
    // buildkit: a docker-format image whose manifest is then rewritten with OCI media types.
    let scratch = "localhost/qg-build/buildkit:scratch";
    let docker_id = build_checked_image(&m, scratch, "docker", &[("www/index.html", "bk\n")]);
    let docker_tag = format!("docker://{REGISTRY}/buildkit:docker");
    m.run_ok(["podman", "push", "--quiet", scratch, docker_tag.as_str()]);
    m.remove_image(scratch);
    m.write_file("/root/oci-retag.pl", OCI_RETAG);
    m.run_ok(["perl", "/root/oci-retag.pl", "buildkit", "docker", "latest"]);
    steps.step("build + push 4 images");
    m.write_file(INVENTORY, HEALTH_INVENTORY.replace("REGISTRY", REGISTRY));
    let started = Instant::now();
    let (code, out) = install(&m);
    let took = started.elapsed();
    steps.step("quadgen install (pull, start until healthy or failed)");

    // good: pulled from the registry with its HEALTHCHECK, and its start waited for it.
    assert!(
        m.is_active("good.service"),
        "{}",
        m.unit_report("good.service")
    );
    assert_eq!(container_image(&m, "good"), v1);
    assert_eq!(inspect(&m, "{{.State.Health.Status}}", "good"), "healthy");
    assert_eq!(
        inspect(&m, "{{json .Config.Healthcheck.Test}}", "good"),
        r#"["CMD-SHELL","wget -q -O /dev/null http://127.0.0.1:8080/"]"#
    );
    assert_eq!(m.http_get("http://127.0.0.1:8080/").as_deref(), Ok("v1\n"));

    // unhealthy: its image's check fails, so its start fails (podman kills it) within seconds;
    // oci: an OCI image keeps no HEALTHCHECK, so podman refuses the start outright; buildkit:
    // the same config as a docker image (same ID, `Healthcheck` in it) under an OCI manifest,
    // which podman reads no HEALTHCHECK from either.
    assert_eq!(code, 4, "install reports the failed starts\n{out}");
    for unit in ["unhealthy.service", "oci.service", "buildkit.service"] {
        assert!(out.contains(unit), "install names {unit}:\n{out}");
        assert!(!m.is_active(unit), "{}", m.unit_report(unit));
        let log = m.journal(unit);
        assert!(log.contains(&format!("Failed to start {unit}")), "{log}");
    }
    // podman killed it on the failed check (`HealthOnFailure=kill`): 128 + SIGKILL.
    let log = m.journal("unhealthy.service");
    assert!(log.contains("code=exited, status=137"), "{log}");
    assert!(took < Duration::from_secs(60), "install took {took:?}");
    let oci_log = m.journal("oci.service");
    assert!(
        oci_log.contains(r#"sdnotify policy "healthy" requires a healthcheck to be set"#),
        "{oci_log}"
    );
    for (name, want_id) in [("oci", None), ("buildkit", Some(&docker_id))] {
        let image = format!("{REGISTRY}/{name}:latest");
        let format = "{{.ManifestType}} {{.HealthCheck}}";
        assert_eq!(
            m.run_ok(["podman", "image", "inspect", "--format", format, &image])
                .trim(),
            "application/vnd.oci.image.manifest.v1+json <nil>",
            "podman reads no HEALTHCHECK from an OCI image"
        );
        if let Some(id) = want_id {
            assert_eq!(&inspect(&m, "{{.Id}}", &image), id, "the same config");
        }
    }
    let log = m.journal("buildkit.service");
    assert!(
        log.contains(r#"sdnotify policy "healthy" requires a healthcheck to be set"#),
        "{log}"
    );
    steps.step("start gate");

    // A broken v2 of good (its check fails): podman auto-update starts it, the start fails, and
    // podman rolls back to v1.
    let v2 = publish(&m, "good", "docker", &[("www/other.html", "broken\n")]);
    let before = m.invocation_id("good.service");
    let out = m.systemctl(["start", "podman-auto-update.service"]);
    assert!(
        out.status.success(),
        "{}",
        m.unit_report("podman-auto-update.service")
    );
    steps.step("podman-auto-update.service (v2 unhealthy -> rolled back to v1)");
    m.assert_restarted("good.service", &before);
    assert!(
        m.is_active("good.service"),
        "{}",
        m.unit_report("good.service")
    );
    assert_ne!(v2, v1);
    assert_eq!(container_image(&m, "good"), v1, "good runs v1 again");
    assert_eq!(m.http_get("http://127.0.0.1:8080/").as_deref(), Ok("v1\n"));
    let journal = m.journal("podman-auto-update.service");
    assert!(
        journal
            .lines()
            .any(|l| l.contains("good.service") && l.contains("rolled back")),
        "{journal}"
    );
    steps.step("checks");
    steps.finish();
}
