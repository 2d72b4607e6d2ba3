//! `quadgen doctor` on a real systemd 257 + podman 5.4.2 (nspawn, tests/support/nspawn.rs), with
//! the traps of the oci-containers guide set up for real: DNS off on the default network
//! (podman's default), a default-deny nftables input chain without a UDP 53 rule,
//! `podman-auto-update.timer` off, and a weekly `podman system prune --volumes` timer.
//!
//! Asserts:
//! * doctor exits 5 and reports exactly those errors, by id (`dns-default-network`,
//!   `firewall-dns` naming `podman0` and quadgen's `qg-media`, `auto-update-timer`,
//!   `prune-volumes` and `prune-networks` quoting the command systemd runs);
//! * its verdicts are what containers see: before the fixes, a container's DNS lookup of its own
//!   name fails on `qg-media` (DNS on, firewall closed) and on the default network;
//! * running each fix exactly as doctor prints it makes doctor exit 0 with those checks `ok`
//!   (the timer with its next run), and the same lookups now succeed on both networks;
//! * on a dual-stack network behind a firewall that filters only IPv6, doctor reports the IPv6
//!   queries dropped, a lookup through the IPv6 gateway fails while the IPv4 one works, and the
//!   printed fix makes the IPv6 lookup work.
//!
//! Needs root and the provisioned machine root (`sudo bash tests/provision.sh`);
//! `QUADGEN_SKIP_E2E=1` turns "cannot run here" into a loud SKIPPED line.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

#[path = "support/host_e2e.rs"]
mod host_e2e;

use host_e2e::Steps;
use nspawn::Machine;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const IMAGE: &str = "localhost/qg-doctor/probe:1";

/// A default-deny input chain that lets loopback and replies in, and no DNS.
const CLOSED_RULESET: &str = r#"table inet qgtest {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
	}
}
"#;

/// A default-deny input chain for IPv6 only (ICMPv6 let in, so neighbour discovery works): IPv4
/// is not filtered at all.
const IPV6_CLOSED_RULESET: &str = r#"table ip6 qgtest6 {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		meta l4proto ipv6-icmp accept
	}
}
"#;

/// Whether a container on `network` resolves its own name through aardvark-dns, asking the name
/// server `server` (or those of its resolv.conf): `Ok` when it does within 5 s, else what
/// nslookup printed.
fn resolves_through(
    m: &Machine,
    network: &str,
    server: Option<&str>,
    n: u32,
) -> Result<(), String> {
    let name = format!("probe-{network}-{n}");
    let (network_flag, name_flag) = (format!("--network={network}"), format!("--name={name}"));
    let mut argv = vec![
        "podman",
        "run",
        "--rm",
        &network_flag,
        &name_flag,
        IMAGE,
        "timeout",
        "5",
        "nslookup",
        &name,
    ];
    argv.extend(server);
    let out = m.run(argv);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "exit {:?}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A prune the guide warns about: `--volumes` deletes unused volumes, `system prune` the networks
/// of stopped containers.
const BAD_PRUNE_SERVICE: &str =
    "[Service]\nType=oneshot\nExecStart=/usr/bin/podman system prune --force --volumes\n";
const BAD_PRUNE_TIMER: &str = "[Timer]\nOnCalendar=weekly\n\n[Install]\nWantedBy=timers.target\n";

/// `quadgen doctor --json`: the exit code and the report.
fn doctor(m: &Machine) -> (i32, Value) {
    let out = m.run(["quadgen", "doctor", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn findings<'a>(report: &'a Value, level: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["level"] == level)
        .collect()
}

fn ids(findings: &[&Value]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Whether a container on `network` resolves its own name through aardvark-dns (5 s at most).
fn resolves(m: &Machine, network: &str, n: u32) -> bool {
    resolves_through(m, network, None, n).is_ok()
}

#[test]
fn doctor_finds_dns_off_firewall_closed_timer_off_bad_prune_and_its_fixes_work() {
    let mut steps = Steps::new("doctor");
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    steps.step("boot");
    m.build_image(IMAGE, &[]);

    // quadgen's network `media` (bridge qg-media), installed and created.
    m.write_file("/root/inventory.toml", "[networks.media]\n");
    m.run_ok(["quadgen", "install", "/root/inventory.toml"]);
    m.systemctl_ok(["start", "media-network.service"]);
    assert_eq!(
        m.run_ok([
            "podman",
            "network",
            "inspect",
            "--format",
            "{{.NetworkInterface}} {{.DNSEnabled}}",
            "media"
        ])
        .trim(),
        "qg-media true"
    );
    // The traps: DNS is off on the default network already (podman's default); the timer off,
    // the firewall closed.
    m.systemctl_ok(["disable", "--now", "podman-auto-update.timer"]);
    m.write_file("/root/closed.nft", CLOSED_RULESET);
    m.exec_ok(["nft", "-f", "/root/closed.nft"]);
    m.write_file("/etc/systemd/system/bad-prune.service", BAD_PRUNE_SERVICE);
    m.write_file("/etc/systemd/system/bad-prune.timer", BAD_PRUNE_TIMER);
    m.daemon_reload();
    m.systemctl_ok(["enable", "--now", "bad-prune.timer"]);
    steps.step("install network + set traps");

    eprintln!(
        "{}",
        String::from_utf8_lossy(&m.run(["quadgen", "doctor"]).stdout)
    );
    let (code, report) = doctor(&m);
    let errors = findings(&report, "error");
    assert_eq!(code, 5, "{report:#}");
    assert_eq!(
        ids(&errors),
        BTreeSet::from([
            "auto-update-timer".to_owned(),
            "dns-default-network".to_owned(),
            "firewall-dns".to_owned(),
            "prune-networks".to_owned(),
            "prune-volumes".to_owned(),
        ]),
        "{report:#}"
    );
    let prune = errors
        .iter()
        .find(|f| f["id"] == "prune-volumes")
        .expect("prune finding");
    assert_eq!(
        prune["what"],
        "bad-prune.timer runs `/usr/bin/podman system prune --force --volumes`"
    );
    let firewall = errors
        .iter()
        .find(|f| f["id"] == "firewall-dns")
        .expect("firewall finding");
    let what = firewall["what"].as_str().unwrap_or_default();
    assert!(
        what.contains("`podman0`")
            && what.contains("`qg-media`")
            && what.contains("inet qgtest input"),
        "{what}"
    );
    assert_eq!(report["errors"], 5);
    steps.step("doctor finds the five");

    // What containers see: the firewall drops the lookup on qg-media (where DNS is on), and on
    // the default network there is no DNS server at all.
    assert!(
        !resolves(&m, "media", 1),
        "lookup on qg-media passed a closed firewall"
    );
    assert!(
        !resolves(&m, "podman", 1),
        "lookup on the default network worked without DNS"
    );
    steps.step("lookups fail");

    // Each fix, exactly as printed.
    for f in &errors {
        let fix = f["fix"].as_str().expect("fix");
        let out = m.sh(fix);
        assert!(
            out.status.success(),
            "fix of {} failed: {fix}\n{}{}",
            f["id"],
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    steps.step("apply fixes");

    eprintln!(
        "{}",
        String::from_utf8_lossy(&m.run(["quadgen", "doctor"]).stdout)
    );
    let (code, report) = doctor(&m);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report, "error").is_empty(), "{report:#}");
    let ok = findings(&report, "ok");
    for id in [
        "auto-update-timer",
        "dns-default-network",
        "dns-network",
        "firewall-dns",
    ] {
        assert!(
            ok.iter().any(|f| f["id"] == id),
            "{id} is not ok after its fix: {report:#}"
        );
    }
    // Netavark's own input chain (podman 5.4.2's nftables driver) is evaluated too, and accepts.
    let firewall = ok
        .iter()
        .find(|f| f["id"] == "firewall-dns")
        .expect("firewall");
    assert_eq!(
        firewall["what"],
        "UDP 53 is accepted on qg-media, podman0 (inet qgtest input, inet netavark INPUT)"
    );
    let timer = ok
        .iter()
        .find(|f| f["id"] == "auto-update-timer")
        .expect("timer");
    assert!(
        timer["what"]
            .as_str()
            .unwrap_or_default()
            .contains("next run "),
        "{timer}"
    );
    assert!(m.is_active("podman-auto-update.timer"));
    assert!(!m.is_active("bad-prune.timer"));
    steps.step("doctor passes");

    assert!(
        resolves(&m, "media", 2),
        "lookup on qg-media fails after the fixes"
    );
    assert!(
        resolves(&m, "podman", 2),
        "lookup on the default network fails after the fixes"
    );
    steps.step("lookups work");

    // A dual-stack network (its IPv6 subnet first, so containers ask the IPv6 gateway first)
    // behind a firewall that filters only IPv6: doctor names the IPv6 queries, a lookup through
    // the IPv6 gateway times out while the IPv4 one answers, and the fix as printed lets IPv6
    // through.
    m.write_file(
        "/root/inventory.toml",
        "[networks.media]\n\n[networks.lan]\nsubnets = [{ subnet = \"fd00:61::/64\", gateway = \
         \"fd00:61::1\" }, \"10.89.61.0/24\"]\n",
    );
    m.run_ok(["quadgen", "install", "/root/inventory.toml"]);
    m.systemctl_ok(["start", "lan-network.service"]);
    m.exec_ok(["nft", "delete", "table", "inet", "qgtest"]);
    m.write_file("/root/ipv6-closed.nft", IPV6_CLOSED_RULESET);
    m.exec_ok(["nft", "-f", "/root/ipv6-closed.nft"]);
    // What containers on it are given: the IPv6 gateway as their first name server.
    let resolv = m.run_ok([
        "podman",
        "run",
        "--rm",
        "--network=lan",
        IMAGE,
        "cat",
        "/etc/resolv.conf",
    ]);
    let servers: Vec<&str> = resolv
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver "))
        .collect();
    assert_eq!(servers.first(), Some(&"fd00:61::1"), "{resolv}");
    assert!(servers.contains(&"10.89.61.1"), "{resolv}");

    let (code, report) = doctor(&m);
    assert_eq!(code, 5, "{report:#}");
    let errors = findings(&report, "error");
    assert_eq!(
        ids(&errors),
        BTreeSet::from(["firewall-dns".to_owned()]),
        "{report:#}"
    );
    assert_eq!(
        errors[0]["what"],
        "the firewall drops container DNS (UDP 53) to the first name server on `qg-lan` (IPv6) \
         by ip6 qgtest6 input (policy drop)"
    );
    assert!(
        resolves_through(&m, "lan", Some("10.89.61.1"), 3).is_ok(),
        "IPv4 lookup on qg-lan fails"
    );
    let dropped = resolves_through(&m, "lan", Some("fd00:61::1"), 4);
    eprintln!("IPv6 lookup behind the closed ip6 table: {dropped:?}");
    assert!(
        dropped.as_ref().is_err_and(|e| e.contains("timed out")),
        "the IPv6 lookup on qg-lan should time out at the closed ip6 table: {dropped:?}"
    );
    steps.step("doctor finds IPv6 DNS dropped");

    let fix = errors[0]["fix"].as_str().expect("fix");
    let out = m.sh(fix);
    assert!(out.status.success(), "the IPv6 fix failed: {fix}\n{out:?}");
    let (code, report) = doctor(&m);
    assert_eq!(code, 0, "{report:#}");
    let firewall = findings(&report, "ok")
        .into_iter()
        .find(|f| f["id"] == "firewall-dns")
        .expect("firewall");
    assert_eq!(
        firewall["what"],
        "UDP 53 is accepted on qg-lan (IPv6), qg-lan, qg-media, podman0 (inet netavark INPUT, \
         ip6 qgtest6 input)"
    );
    assert!(
        resolves_through(&m, "lan", Some("fd00:61::1"), 5).is_ok(),
        "IPv6 lookup on qg-lan fails after the fix"
    );
    steps.step("IPv6 fix works");

    m.halt().expect("clean halt");
    steps.finish();
}
