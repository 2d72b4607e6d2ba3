//! Pods as the real quadlet generators (Podman 5.4.2 and the newest) read them: every setting
//! converts with no warning, the pod service's `podman pod create` argv and each member's
//! `podman run` argv (after systemd's rules) are what the inventory means, and the pod key table
//! quadgen checks raw keys and fields against is the one each real quadlet has.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use oracle::{Oracle, option_values, oracles, podman_argv, systemd_argv};
use quadgen::compile::version::{PodmanVersion, check_key};
use quadgen::unit::Section;
use quadgen::unit::parse::ParsedUnit;

fn build(inventory: &str, target: PodmanVersion) -> tempfile::TempDir {
    let compiled = quadgen::compile::compile(Path::new("inventory.toml"), inventory, target)
        .unwrap_or_else(|r| panic!("inventory rejected:\n{}", r.render(false)));
    let dir = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
    }
    dir
}

/// A pod with every setting the 5.4 target has, two members and a member with its own volume.
const POD_5_4: &str = r#"
[defaults]
networks = ["media"]
ports = ["1:1"]
restart = "always"

[networks.media]

[volumes.shared]

[pods.web]
description = "web pod: 100% $HOME"
ports = ["8080:80", "127.0.0.1:9053:53/udp"]
networks = ["media"]
volumes = ["/srv/web:/srv", "shared:/shared:ro"]
podman_args = ["--shm-size=64m", "--annotation=note=a b%c$d"]

[containers.server]
image = "docker.io/library/busybox:latest"
pod = "web"
cmd = ["httpd", "-f", "-p", "80"]

[containers.client]
image = "docker.io/library/busybox:latest"
pod = "web"
volumes = ["/srv/client:/data"]
cmd = ["sh", "-c", "wget -qO- http://127.0.0.1:80/"]
"#;

/// The `podman pod create` argv of a pod service (its `ExecStartPre=`).
fn pod_create_argv(service: &ParsedUnit) -> Vec<String> {
    let pre = service.all("Service", "ExecStartPre");
    let create = pre
        .iter()
        .find(|l| l.contains(" pod create "))
        .unwrap_or_else(|| panic!("no pod create in {pre:?}"));
    systemd_argv(create)
}

/// The pod a member's `podman run` joins: `--pod NAME` (5.8) or the pod service's id file (5.4).
fn joins_pod(argv: &[String], pod: &str) -> bool {
    option_values(argv, "--pod") == [pod]
        || option_values(argv, "--pod-id-file") == [format!("<%t>/{pod}-pod.pod-id").as_str()]
}

fn assert_pod_service(o: &Oracle, web: &ParsedUnit) {
    let argv = pod_create_argv(web);
    assert_eq!(&argv[..3], ["/usr/bin/podman", "pod", "create"], "{argv:?}");
    assert_eq!(option_values(&argv, "--name"), ["web"], "podman pod `web`");
    assert_eq!(option_values(&argv, "--infra-name"), ["web-infra"]);
    assert_eq!(
        option_values(&argv, "--publish"),
        ["8080:80", "127.0.0.1:9053:53/udp"]
    );
    assert_eq!(option_values(&argv, "--network"), ["media"]);
    assert_eq!(
        option_values(&argv, "-v"),
        ["/srv/web:/srv", "shared:/shared:ro"]
    );
    assert_eq!(option_values(&argv, "--shm-size"), ["64m"]);
    assert_eq!(option_values(&argv, "--annotation"), ["note=a b%c$d"]);
    // The last `--exit-policy` wins: the pod stays up while a member restarts.
    let exit = option_values(&argv, "--exit-policy");
    assert_eq!(exit.last(), Some(&"continue"), "{} {argv:?}", o.version);
    assert_eq!(
        web.last("Unit", "Description"),
        Some("web pod: 100%% $HOME")
    );
    assert_eq!(web.last("Service", "Restart"), Some("on-failure"));
    assert_eq!(web.all("Install", "WantedBy"), ["multi-user.target"]);
    assert!(web.all("Unit", "RequiresMountsFor").contains(&"/srv/web"));
    let wants = web.all("Unit", "Wants");
    for member in ["client.service", "server.service"] {
        assert!(wants.contains(&member), "the pod wants {member}: {wants:?}");
    }
    for dep in ["media-network.service", "shared-volume.service"] {
        assert!(web.all("Unit", "Requires").contains(&dep), "{dep}");
    }
}

fn assert_member(o: &Oracle, member: &ParsedUnit, cmd: &[&str]) {
    let argv = podman_argv(member);
    assert!(joins_pod(&argv, "web"), "{} {argv:?}", o.version);
    assert!(
        option_values(&argv, "--publish").is_empty()
            && option_values(&argv, "--network").is_empty(),
        "a member publishes nothing and joins no network itself: {argv:?}"
    );
    assert_eq!(&argv[argv.len() - cmd.len()..], cmd);
    assert_eq!(member.all("Unit", "BindsTo"), ["web-pod.service"]);
    assert!(member.all("Unit", "After").contains(&"web-pod.service"));
    assert_eq!(member.last("Service", "Restart"), Some("always"));
}

#[test]
fn pod_with_every_5_4_setting_converts_cleanly_and_means_the_inventory() {
    let dir = build(POD_5_4, PodmanVersion::DEFAULT);
    for o in oracles() {
        let run = o.dryrun(dir.path());
        run.assert_clean(&o);
        assert_pod_service(&o, run.service("web-pod.service"));
        assert_member(
            &o,
            run.service("server.service"),
            &["httpd", "-f", "-p", "80"],
        );
        let client = run.service("client.service");
        assert_member(&o, client, &["sh", "-c", "wget -qO- http://127.0.0.1:80/"]);
        assert_eq!(
            option_values(&podman_argv(client), "-v"),
            ["/srv/client:/data"]
        );
        assert!(
            client
                .all("Unit", "RequiresMountsFor")
                .contains(&"/srv/client")
        );
    }
}

#[test]
fn newest_target_adds_hostname_labels_and_exit_policy_keys() {
    let inv = POD_5_4.replace(
        "[pods.web]\n",
        "[pods.web]\nhostname = \"web.lan\"\nlabels = { team = \"media\", note = \"50% off\" }\n",
    );
    let err = quadgen::compile::compile(Path::new("i.toml"), &inv, PodmanVersion::DEFAULT)
        .expect_err("5.4's .pod has neither HostName= nor Label=");
    let text = err.render(false);
    assert!(
        text.contains("a pod's `hostname` needs Podman 5.5") && text.contains("i.toml:12:12"),
        "{text}"
    );
    assert!(text.contains("a pod's `labels` needs Podman 5.6"), "{text}");

    let dir = build(&inv, PodmanVersion::NEWEST);
    let text = std::fs::read_to_string(dir.path().join("web.pod")).expect("web.pod");
    assert!(text.contains("\nExitPolicy=continue\n"), "{text}");
    let os = oracles();
    let Some(newest) = os.iter().find(|o| o.suite == "sid") else {
        return;
    };
    let run = newest.dryrun(dir.path());
    run.assert_clean(newest);
    let web = run.service("web-pod.service");
    assert_pod_service(newest, web);
    let argv = pod_create_argv(web);
    assert_eq!(option_values(&argv, "--hostname"), ["web.lan"]);
    let mut labels = option_values(&argv, "--label");
    labels.sort();
    assert_eq!(labels, ["note=50% off", "team=media"]);
}

/// A value each `[Pod]` key accepts.
fn sample_value(key: &str) -> &'static str {
    match key {
        "AddHost" => "db.lan:10.0.0.2",
        "DNS" => "9.9.9.9",
        "DNSOption" => "ndots:1",
        "DNSSearch" => "lan",
        "GIDMap" | "UIDMap" => "0:10000:10",
        "GlobalArgs" | "PodmanArgs" => "--log-level=info",
        "IP" => "10.88.64.128",
        "IP6" => "fd46:db93:aa76:ac37::10",
        "Network" => "host",
        "PublishPort" => "8080:80",
        "ShmSize" => "64m",
        "SubGIDMap" | "SubUIDMap" => "alice",
        "UserNS" => "auto",
        "Volume" => "/srv:/srv",
        "ExitPolicy" => "continue",
        "StopTimeout" => "20",
        "ContainersConfModule" => "/etc/nvd.conf",
        "Image" => "docker.io/library/busybox:latest",
        "HealthCmd" => "true",
        _ => "x",
    }
}

/// Every key of podman-systemd.unit(5)'s `[Pod]` table (5.8), and two container-only keys.
const POD_KEYS: &[&str] = &[
    "AddHost",
    "ContainersConfModule",
    "DNS",
    "DNSOption",
    "DNSSearch",
    "ExitPolicy",
    "GIDMap",
    "GlobalArgs",
    "HostName",
    "IP",
    "IP6",
    "Label",
    "Network",
    "NetworkAlias",
    "PodName",
    "PodmanArgs",
    "PublishPort",
    "ServiceName",
    "ShmSize",
    "StopTimeout",
    "SubGIDMap",
    "SubUIDMap",
    "UIDMap",
    "UserNS",
    "Volume",
    "Image",
    "HealthCmd",
];

#[test]
fn the_pod_key_table_is_each_real_quadlets() {
    for o in oracles() {
        let target: PodmanVersion = o.version.parse().expect("quadlet version");
        let mut disagree = Vec::new();
        for key in POD_KEYS {
            let dir = tempfile::tempdir().expect("tempdir");
            let unit = format!("[Pod]\n{key}={}\n", sample_value(key));
            std::fs::write(dir.path().join("p.pod"), unit).expect("write");
            let run = o.dryrun(dir.path());
            let real = run.ok && run.problems().is_empty();
            let ours = check_key(Section::Pod, key, target).is_ok();
            if real != ours {
                disagree.push(format!(
                    "{key}: quadlet {real}, quadgen {ours}: {:?}",
                    run.problems()
                ));
            }
        }
        assert!(
            disagree.is_empty(),
            "quadlet {}:\n{}",
            o.version,
            disagree.join("\n")
        );
    }
}

/// Rootless (`--user`, `--for-user`): every unit, pod and member included, converts cleanly with
/// both quadlets, and each service keeps quadgen's `Wants=` and `After=` of
/// `quadgen-podman-pause.service` (which sets up the user's podman once before any starts) and
/// starts with the user manager's `default.target`.
#[test]
fn rootless_units_start_after_the_users_podman_is_set_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(&inventory, POD_5_4).expect("write inventory");
    let compiled = quadgen::compile::compile_file_for_user(&inventory, PodmanVersion::new(5, 4))
        .expect("read")
        .unwrap_or_else(|r| panic!("inventory rejected:\n{}", r.render(false)));
    let units = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(units.path().join(&f.file_name), &f.text).expect("write unit");
    }
    for o in oracles() {
        let dry = o.dryrun(units.path());
        dry.assert_clean(&o);
        for service in [
            "web-pod.service",
            "server.service",
            "client.service",
            "media-network.service",
            "shared-volume.service",
        ] {
            let unit = dry.service(service);
            for key in ["Wants", "After"] {
                assert!(
                    unit.all("Unit", key).iter().any(|v| v
                        .split_whitespace()
                        .any(|u| u == "quadgen-podman-pause.service")),
                    "{} {service}: no {key}=quadgen-podman-pause.service",
                    o.version
                );
            }
        }
        assert_eq!(
            dry.service("server.service").all("Install", "WantedBy"),
            ["default.target"]
        );
    }
}
