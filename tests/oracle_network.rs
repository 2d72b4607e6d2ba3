//! Networking and the image health gate as the real quadlet generators (Podman 5.4.2 and the
//! newest) read them: no warning, and the argv podman receives says what the inventory meant.
//! Static addresses, aliases and a MAC on one network, `network_mode` (`container:NAME`, `host`),
//! dual-stack subnets with gateways and ranges, and `health = "image"`.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use oracle::{DryRun, option_values, oracles, podman_argv};
use quadgen::compile::version::PodmanVersion;

const INVENTORY: &str = r#"
[networks.web]
subnets = [
  { subnet = "10.89.8.0/24", gateway = "10.89.8.254", range = "10.89.8.128/25" },
  { subnet = "fd00:8::/64", gateway = "fd00:8::fe" },
]

[networks.back]
# No gateway on the first subnet, one on the second: quadlet pairs gateways with subnets by
# position, so podman's default for the first must be written out.
subnets = ["10.89.9.0/24", { subnet = "fd00:9::/64", gateway = "fd00:9::1" }]

[containers.gluetun]
image = "docker.io/qmcgaw/gluetun:latest"
networks = [
  { name = "web", ip = "10.89.8.5", ip6 = "fd00:8::5", aliases = ["vpn", "tunnel.lan"], mac = "92:d0:c6:0a:29:33" },
  "back",
]
ports = ["8080:8080"]
health = "image"

[containers.qbit]
image = "docker.io/linuxserver/qbittorrent:latest"
network_mode = "container:gluetun"
health = "image"

[containers.sensor]
image = "docker.io/library/busybox:latest"
network_mode = "host"
health = { cmd = "true" }
"#;

fn build(inventory: &str, target: PodmanVersion) -> tempfile::TempDir {
    let compiled = quadgen::compile::compile(Path::new("inventory.toml"), inventory, target)
        .unwrap_or_else(|r| panic!("inventory rejected:\n{}", r.render(false)));
    assert!(
        compiled.warnings.is_empty(),
        "no warning expected: {:?}",
        compiled.warnings
    );
    let dir = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
    }
    dir
}

/// Every quadlet that should read units built for `target`: the 5.4 units on both quadlets, the
/// newest target's on the newest quadlet.
fn runs(inventory: &str) -> Vec<(String, DryRun)> {
    let mut out = Vec::new();
    for (target, suites) in [
        (PodmanVersion::DEFAULT, &["trixie", "sid"][..]),
        (PodmanVersion::NEWEST, &["sid"][..]),
    ] {
        let dir = build(inventory, target);
        for o in oracles().into_iter().filter(|o| suites.contains(&o.suite)) {
            let run = o.dryrun(dir.path());
            run.assert_clean(&o);
            out.push((format!("quadlet {} for --podman {target}", o.version), run));
        }
    }
    assert!(!out.is_empty() || std::env::var_os("QUADGEN_SKIP_ORACLE").is_some());
    out
}

#[test]
fn static_addresses_aliases_and_mac_are_options_of_their_network() {
    for (what, run) in runs(INVENTORY) {
        let svc = run.service("gluetun.service");
        let argv = podman_argv(svc);
        assert_eq!(
            option_values(&argv, "--network"),
            [
                "web:ip=10.89.8.5,ip6=fd00:8::5,mac=92:d0:c6:0a:29:33,alias=vpn,alias=tunnel.lan",
                "back"
            ],
            "{what}"
        );
        for dep in ["web-network.service", "back-network.service"] {
            assert!(svc.all("Unit", "Requires").contains(&dep), "{what}: {dep}");
            assert!(svc.all("Unit", "After").contains(&dep), "{what}: {dep}");
        }
        assert_eq!(option_values(&argv, "--publish"), ["8080:8080"], "{what}");
    }
}

#[test]
fn container_mode_shares_the_owners_namespace_and_requires_its_service() {
    for (what, run) in runs(INVENTORY) {
        let svc = run.service("qbit.service");
        let argv = podman_argv(svc);
        assert_eq!(
            option_values(&argv, "--network"),
            ["container:gluetun"],
            "{what}"
        );
        assert!(
            option_values(&argv, "--publish").is_empty(),
            "{what}: {argv:?}"
        );
        assert!(
            svc.all("Unit", "Requires").contains(&"gluetun.service"),
            "{what}"
        );
        assert!(
            svc.all("Unit", "After").contains(&"gluetun.service"),
            "{what}"
        );
        let host = podman_argv(run.service("sensor.service"));
        assert_eq!(option_values(&host, "--network"), ["host"], "{what}");
    }
}

#[test]
fn dual_stack_subnets_reach_podman_network_create_paired() {
    for (what, run) in runs(INVENTORY) {
        let web = podman_argv(run.service("web-network.service"));
        assert_eq!(&web[1..3], ["network", "create"], "{what}");
        // Podman pairs the n-th --gateway and --ip-range with the n-th --subnet.
        let pairs = |argv: &[String]| -> Vec<String> {
            argv.iter()
                .enumerate()
                .filter(|(_, a)| {
                    a.starts_with("--subnet")
                        || a.starts_with("--gateway")
                        || a.starts_with("--ip-range")
                })
                .map(|(i, a)| match a.split_once('=') {
                    Some(_) => a.clone(),
                    None => format!("{a}={}", argv[i + 1]),
                })
                .collect()
        };
        let subnets = option_values(&web, "--subnet");
        assert_eq!(subnets, ["10.89.8.0/24", "fd00:8::/64"], "{what}");
        assert_eq!(
            option_values(&web, "--gateway"),
            ["10.89.8.254", "fd00:8::fe"],
            "{what}"
        );
        assert_eq!(
            option_values(&web, "--ip-range"),
            ["10.89.8.128/25"],
            "{what}"
        );
        let back = podman_argv(run.service("back-network.service"));
        assert_eq!(
            pairs(&back),
            [
                "--subnet=10.89.9.0/24",
                "--gateway=10.89.9.1",
                "--subnet=fd00:9::/64",
                "--gateway=fd00:9::1"
            ],
            "{what}: podman's default gateway of the first subnet is written out"
        );
    }
}

#[test]
fn health_image_waits_for_the_images_own_check() {
    for (what, run) in runs(INVENTORY) {
        for name in ["gluetun.service", "qbit.service"] {
            let svc = run.service(name);
            let argv = podman_argv(svc);
            assert!(
                argv.contains(&"--sdnotify=healthy".to_string()),
                "{what}: {argv:?}"
            );
            assert_eq!(
                option_values(&argv, "--health-on-failure"),
                ["kill"],
                "{what}"
            );
            assert!(
                argv.iter().all(|a| !a.starts_with("--health-cmd")),
                "{what}: no command of our own: {argv:?}"
            );
            assert_eq!(svc.last("Service", "Type"), Some("notify"), "{what}");
            assert_eq!(
                svc.last("Service", "TimeoutStartSec"),
                Some("540s"),
                "{what}"
            );
        }
    }
}
