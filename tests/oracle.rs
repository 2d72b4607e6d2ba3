//! The generated units as the real quadlet generators (Podman 5.4.2 and the newest) read them: no
//! warning, and the `podman run` argv after systemd's rules says what the inventory meant.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use oracle::{args_after_image, option_values, oracles, podman_argv};
use quadgen::compile::version::PodmanVersion;

fn build(inventory: &str, target: PodmanVersion) -> tempfile::TempDir {
    let compiled = quadgen::compile::compile(Path::new("inventory.toml"), inventory, target)
        .unwrap_or_else(|r| panic!("inventory rejected:\n{}", r.render(false)));
    let dir = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
    }
    dir
}

/// A shipped example inventory, by file name under `examples/`.
fn example(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn homelab() -> String {
    example("homelab.toml")
}

#[test]
fn homelab_example_converts_cleanly_with_both_quadlets() {
    let dir = build(&homelab(), PodmanVersion::DEFAULT);
    for o in oracles() {
        let run = o.dryrun(dir.path());
        run.assert_clean(&o);
        let names: Vec<&str> = run.services.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "app-network.service",
                "app.service",
                "homeassistant.service",
                "jdownloader.service",
                "kopia.service",
                "netbootxyz.service",
                "pgdata-volume.service",
                "postgres.service",
                "web-network.service"
            ],
            "quadlet {}",
            o.version
        );
    }
}

#[test]
fn container_service_carries_the_reliability_defaults() {
    let dir = build(&homelab(), PodmanVersion::DEFAULT);
    for o in oracles() {
        let run = o.dryrun(dir.path());
        let jd = run.service("jdownloader.service");
        let argv = podman_argv(jd);
        assert_eq!(&argv[..2], ["/usr/bin/podman", "run"], "{argv:?}");
        assert_eq!(
            option_values(&argv, "--name"),
            ["jdownloader"],
            "container name is guessable"
        );
        assert_eq!(
            option_values(&argv, "--pull"),
            ["missing"],
            "with auto-update, images come from podman auto-update only, so its rollback sticks"
        );
        assert!(
            option_values(&argv, "--label").contains(&"io.containers.autoupdate=registry"),
            "auto-update label: {argv:?}"
        );
        assert!(
            argv.contains(&"--sdnotify=healthy".to_string()),
            "Notify=healthy: {argv:?}"
        );
        assert_eq!(
            option_values(&argv, "--health-cmd"),
            ["curl -fsS http://localhost:5800/"]
        );
        assert_eq!(
            option_values(&argv, "--env"),
            ["TZ=Europe/Berlin"],
            "defaults apply"
        );
        assert_eq!(option_values(&argv, "--publish"), ["5800:5800"]);
        assert_eq!(jd.last("Service", "Restart"), Some("always"));
        assert_eq!(jd.last("Service", "Type"), Some("notify"));
        assert_eq!(jd.all("Install", "WantedBy"), ["multi-user.target"]);
        let mounts = jd.all("Unit", "RequiresMountsFor");
        for path in [
            "/var/lib/jdownloader",
            "/mnt/storage/downloads",
            "/etc/localtime",
        ] {
            assert!(
                mounts.contains(&path),
                "RequiresMountsFor {path} in {mounts:?} ({})",
                o.version
            );
        }
    }
}

#[test]
fn dependencies_reach_containers_networks_and_any_systemd_unit() {
    let dir = build(&homelab(), PodmanVersion::DEFAULT);
    for o in oracles() {
        let run = o.dryrun(dir.path());
        let app = run.service("app.service");
        for dep in [
            "postgres.service",
            "app-network.service",
            "web-network.service",
        ] {
            assert!(
                app.all("Unit", "Requires").contains(&dep),
                "app Requires {dep}: {:?}",
                app.all("Unit", "Requires")
            );
            assert!(app.all("Unit", "After").contains(&dep), "app After {dep}");
        }
        let argv = podman_argv(app);
        let mut nets = option_values(&argv, "--network");
        nets.sort();
        assert_eq!(
            nets,
            ["app", "web"],
            "podman network names are the inventory's"
        );

        let kopia = run.service("kopia.service");
        assert!(kopia.all("Unit", "After").contains(&"mnt-backup.mount"));
        assert!(kopia.all("Unit", "Requires").contains(&"mnt-backup.mount"));
        assert!(
            kopia
                .all("Unit", "RequiresMountsFor")
                .contains(&"/run/secrets/kopia.env")
        );

        let db = run.service("postgres.service");
        assert!(
            db.all("Unit", "Requires")
                .contains(&"pgdata-volume.service")
        );
        let db_argv = podman_argv(db);
        assert_eq!(
            option_values(&db_argv, "--volume").len() + option_values(&db_argv, "-v").len(),
            1
        );
        assert!(
            option_values(&db_argv, "-v").contains(&"pgdata:/var/lib/postgresql/data"),
            "named volume is podman volume `pgdata`: {db_argv:?}"
        );

        let ha = run.service("homeassistant.service");
        let ha_argv = podman_argv(ha);
        assert_eq!(option_values(&ha_argv, "--device"), ["/dev/ttyUSB0"]);
        assert_eq!(option_values(&ha_argv, "--network"), ["host"]);
        assert!(
            ha.all("Unit", "RequiresMountsFor")
                .contains(&"/dev/ttyUSB0")
        );
    }
}

#[test]
fn networks_have_dns_and_predictable_interface_names() {
    let dir = build(&homelab(), PodmanVersion::DEFAULT);
    for o in oracles() {
        let run = o.dryrun(dir.path());
        let net = run.service("web-network.service");
        let argv = podman_argv_of(net);
        assert_eq!(&argv[..3], ["/usr/bin/podman", "network", "create"]);
        assert!(
            !argv.contains(&"--disable-dns".to_string()),
            "DNS stays on: {argv:?}"
        );
        assert!(
            argv.contains(&"--interface-name=qg-web".to_string()),
            "{argv:?}"
        );
        assert_eq!(
            argv.last().map(String::as_str),
            Some("web"),
            "podman network is named `web`"
        );
        let app = podman_argv_of(run.service("app-network.service"));
        assert!(app.contains(&"--internal".to_string()), "{app:?}");
        assert_eq!(option_values(&app, "--subnet"), ["10.89.7.0/24"]);
    }
}

fn podman_argv_of(unit: &quadgen::unit::parse::ParsedUnit) -> Vec<String> {
    oracle::systemd_argv(unit.last("Service", "ExecStart").expect("ExecStart"))
}

#[test]
fn newer_targets_use_newer_keys_and_the_newest_quadlet_accepts_them() {
    let inv = "[networks.lan]\n[containers.web]\nimage = \"docker.io/library/nginx:latest\"\nnetworks = [\"lan\"]\n\
               [containers.web.quadlet.Container]\nMemory = \"512m\"\n";
    let err = quadgen::compile::compile(Path::new("i.toml"), inv, PodmanVersion::DEFAULT)
        .expect_err("5.4 lacks Memory=");
    let text = err.render(false);
    assert!(
        text.contains("`Memory=` needs Podman 5.5; the target is Podman 5.4"),
        "{text}"
    );
    assert!(text.contains("i.toml:6:1"), "{text}");

    let dir = build(inv, PodmanVersion::new(5, 8));
    let os = oracles();
    let Some(newest) = os.iter().find(|o| o.suite == "sid") else {
        return;
    };
    let run = newest.dryrun(dir.path());
    run.assert_clean(newest);
    let net = podman_argv_of(run.service("lan-network.service"));
    assert!(
        net.iter().any(|a| a == "--interface-name=qg-lan")
            || option_values(&net, "--interface-name") == ["qg-lan"],
        "InterfaceName= on 5.6+: {net:?}"
    );
    assert_eq!(
        option_values(&podman_argv(run.service("web.service")), "--memory"),
        ["512m"]
    );
}

#[test]
fn every_inventory_feature_converts_cleanly() {
    let inv = r#"
[defaults]
restart = "always"
labels = { "org.example.team" = "media" }

[networks.media]
subnet = "10.89.7.0/24"
gateway = "10.89.7.1"
ipv6 = false
dns = ["9.9.9.9"]
options = { mtu = "1400" }
labels = { purpose = "media" }

[networks.a-very-long-network-name]

[networks.mac]
driver = "macvlan"
options = { parent = "eth0" }

[volumes.pgdata]
labels = { backup = "yes" }

[volumes.nfs]
options = { type = "nfs", device = ":/export/media", o = "addr=192.168.1.2,rw" }

[containers.jdownloader]
image = "docker.io/jlesage/jdownloader-2:latest"
cmd = ["--flag", "value"]
entrypoint = "/init"
environment = { TZ = "Europe/Berlin" }
environment_files = ["/run/secrets/jd.env"]
ports = ["5800:5800", "127.0.0.1:5353:53/udp", "[::1]:8080:80"]
volumes = ["/var/lib/jdownloader:/config", "/etc/localtime:/etc/localtime:ro", "pgdata:/data:Z", "nfs:/media", "/scratch"]
networks = ["media", "a-very-long-network-name"]
user = "1000:1000"
depends_on = ["db"]
after = ["mnt-backup.mount"]
requires = ["mnt-backup.mount"]
wants = ["network-online.target"]
health = { cmd = "curl -f http://localhost:5800/", interval = "30s", timeout = "5s", retries = 3, start_period = "60s", on_failure = "restart" }
restart = "on-failure"
stop_timeout = "1m"
labels = { "org.example.app" = "jd" }
devices = ["/dev/ttyUSB0", "/dev/dri/renderD128:/dev/dri/renderD128:rw"]
pull = "always"
auto_update = "registry"
auto_start = false
podman_args = ["--init"]

[containers.jdownloader.quadlet.Container]
ShmSize = "2g"
AddHost = ["a.example:10.0.0.1", "b.example:10.0.0.2"]

[containers.jdownloader.quadlet.Service]
LimitNOFILE = "65536"

[containers.db]
image = "docker.io/library/postgres:16"
auto_update = "none"
networks = ["mac"]
start_timeout = "15m"
"#;
    for (target, suite) in [
        (PodmanVersion::DEFAULT, "trixie"),
        (PodmanVersion::new(5, 8), "sid"),
    ] {
        let dir = build(inv, target);
        for o in oracles().into_iter().filter(|o| o.suite == suite) {
            let run = o.dryrun(dir.path());
            run.assert_clean(&o);
            let jd = run.service("jdownloader.service");
            let argv = podman_argv(jd);
            assert_eq!(
                args_after_image(&argv, "docker.io/jlesage/jdownloader-2:latest"),
                ["--flag", "value"]
            );
            assert_eq!(option_values(&argv, "--entrypoint"), ["/init"]);
            assert_eq!(option_values(&argv, "--user"), ["1000:1000"]);
            assert_eq!(option_values(&argv, "--pull"), ["always"]);
            assert_eq!(option_values(&argv, "--env-file"), ["/run/secrets/jd.env"]);
            assert_eq!(option_values(&argv, "--health-on-failure"), ["restart"]);
            assert_eq!(option_values(&argv, "--stop-timeout"), ["60"]);
            let mut labels = option_values(&argv, "--label");
            labels.sort();
            assert_eq!(
                labels,
                [
                    "io.containers.autoupdate=registry",
                    "org.example.app=jd",
                    "org.example.team=media"
                ]
            );
            assert_eq!(
                option_values(&argv, "--shm-size"),
                ["2g"],
                "raw ShmSize: {argv:?}"
            );
            assert_eq!(
                argv.iter().filter(|a| *a == "--init").count(),
                1,
                "podman_args: {argv:?}"
            );
            assert_eq!(
                option_values(&argv, "--add-host"),
                ["a.example:10.0.0.1", "b.example:10.0.0.2"]
            );
            assert!(
                jd.all("Install", "WantedBy").is_empty(),
                "auto_start = false"
            );
            assert_eq!(jd.last("Service", "Restart"), Some("on-failure"));
            assert_eq!(jd.last("Service", "LimitNOFILE"), Some("65536"));
            assert_eq!(jd.last("Service", "TimeoutStopSec"), Some("90s"));
            let db = run.service("db.service");
            assert_eq!(db.last("Service", "TimeoutStartSec"), Some("900s"));
            assert!(
                option_values(&podman_argv(db), "--label")
                    .iter()
                    .all(|l| !l.starts_with("io.containers.autoupdate"))
            );
            let long = podman_argv_of(run.service("a-very-long-network-name-network.service"));
            assert!(long.iter().any(|a| a.contains("qg-a-very-")), "{long:?}");
            let mac = podman_argv_of(run.service("mac-network.service"));
            assert!(!mac.iter().any(|a| a.contains("interface-name")), "{mac:?}");
            let nfs = podman_argv_of(run.service("nfs-volume.service"));
            assert!(
                nfs.windows(2).any(|w| w == ["--opt", "type=nfs"]),
                "{nfs:?}"
            );
            assert!(
                nfs.windows(2)
                    .any(|w| w == ["--opt", "o=addr=192.168.1.2,rw"]),
                "{nfs:?}"
            );
        }
    }
}

/// Every shipped example, built for the oldest and the newest Podman we support, converts with
/// no warning (by each quadlet that reads that target's units), and none needs an escape hatch.
#[test]
fn every_shipped_example_converts_cleanly_without_escape_hatches() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 2, "{examples:?}");
    for path in examples {
        let text = std::fs::read_to_string(&path).expect("example");
        let inventory: toml::Table = text.parse().expect("example is TOML");
        for (name, c) in inventory["containers"].as_table().expect("containers") {
            for hatch in ["podman_args", "quadlet"] {
                assert!(
                    c.get(hatch).is_none(),
                    "{}: container `{name}` uses `{hatch}`: examples show first-class fields",
                    path.display()
                );
            }
        }
        // Units for 5.4 go to both quadlets; units for the newest only to sid's.
        for target in [PodmanVersion::DEFAULT, PodmanVersion::NEWEST] {
            let units = build(&text, target);
            for o in oracles() {
                if target == PodmanVersion::DEFAULT || o.suite == "sid" {
                    o.dryrun(units.path()).assert_clean(&o);
                }
            }
        }
    }
}

/// The VPN-sidecar example: the download client shares the tunnel's network namespace and starts
/// after it; the tunnel gets its capability, device, sysctls and secret; nothing in the argv is
/// left to `podman_args`.
#[test]
fn vpn_sidecar_example_means_what_it_says() {
    let dir = build(&example("vpn-media.toml"), PodmanVersion::DEFAULT);
    for o in oracles() {
        let run = o.dryrun(dir.path());
        let qb = run.service("qbittorrent.service");
        assert!(qb.all("Unit", "Requires").contains(&"gluetun.service"));
        assert!(qb.all("Unit", "After").contains(&"gluetun.service"));
        let argv = podman_argv(qb);
        assert_eq!(option_values(&argv, "--network"), ["container:gluetun"]);
        assert_eq!(option_values(&argv, "--memory"), ["2g"], "{argv:?}");
        assert_eq!(option_values(&argv, "--ulimit"), ["nofile=65535:65535"]);
        assert!(option_values(&argv, "--publish").is_empty());

        let vpn = podman_argv(run.service("gluetun.service"));
        assert_eq!(option_values(&vpn, "--cap-add"), ["cap_net_admin"]);
        assert_eq!(option_values(&vpn, "--device"), ["/dev/net/tun"]);
        let mut sysctls = option_values(&vpn, "--sysctl");
        sysctls.sort();
        assert_eq!(
            sysctls,
            [
                "net.ipv4.conf.all.src_valid_mark=1",
                "net.ipv6.conf.all.disable_ipv6=0"
            ]
        );
        assert_eq!(option_values(&vpn, "--secret"), ["wireguard_key"]);
        assert_eq!(
            option_values(&vpn, "--network"),
            ["media:ip=10.89.20.2,alias=vpn"]
        );
        assert_eq!(option_values(&vpn, "--publish"), ["8080:8080"]);
        assert!(
            vpn.contains(&"--security-opt=no-new-privileges".to_string())
                || option_values(&vpn, "--security-opt").contains(&"no-new-privileges"),
            "{vpn:?}"
        );

        let jf = podman_argv(run.service("jellyfin.service"));
        assert_eq!(option_values(&jf, "--cap-drop"), ["all"], "{jf:?}");
        assert_eq!(
            option_values(&jf, "--tmpfs"),
            ["/transcode:size=4g,mode=1777"]
        );
        assert_eq!(option_values(&jf, "--shm-size"), ["512m"]);
        assert!(jf.contains(&"--read-only".to_string()), "{jf:?}");
    }
}
