//! The security, resource and runtime fields of a container (issue 7) as the real quadlet
//! generators (Podman 5.4.2 and the newest) read them: no warning, and the `podman run` argv after
//! systemd's rules carries exactly what the inventory says, through a Quadlet key where the
//! target has one and `PodmanArgs=` where it has none.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use oracle::{option_values, oracles, podman_argv};
use quadgen::compile::version::PodmanVersion;

/// Every new field, with `%`, `$` and spaces where a field can carry them, and `[defaults]`
/// that merge (`ulimits`) or fill in (`cap_drop`).
const INVENTORY: &str = r#"
[defaults]
ulimits = { nproc = "4096" }
cap_drop = ["all"]

[containers.vpn]
image = "docker.io/library/alpine:latest"
auto_update = "none"
cap_add = ["NET_ADMIN", "cap_sys_module", "Bpf", "CAP_NET_ADMIN"]
no_new_privileges = true
read_only = true
read_only_tmpfs = false
seccomp_profile = "/etc/containers/seccomp-100%.json"
security_label_disable = true
security_label_type = "spc_t"
tmpfs = ["/run:size=64m,mode=1777", "/srv/100%$x"]
shm_size = "1g"
sysctls = { "net.ipv4.conf.all.src_valid_mark" = "1", "net.ipv4.ip_local_port_range" = "1024 65000" }
ulimits = { nofile = "65535:65535" }
memory = "2g"
cpus = "1.5"
pids_limit = 100
hostname = "vpn.lan"
dns = ["9.9.9.9", "2620:fe::fe"]
dns_search = ["home.lan"]
dns_options = ["ndots:2", "edns0"]
extra_hosts = ["host.lan:10.0.0.2", "v6.lan:fd00::2", "gw.lan:host-gateway"]
group_add = ["video", "keep-groups"]
working_dir = "/srv/100% $HOME/a b"
init = true
stop_signal = "term"
userns = "auto"
timezone = "Europe/Berlin"
log_driver = "k8s-file"
log_options = { tag = "100% ${X} $Y", max_size = "10m" }
devices = ["nvidia.com/gpu=all", "/dev/ttyUSB0:/dev/ttyUSB0:rwm"]

[containers.admin]
image = "docker.io/library/alpine:latest"
auto_update = "none"
privileged = true
security_label_disable = false
init = false
seccomp_profile = "unconfined"
"#;

fn build(target: PodmanVersion) -> (tempfile::TempDir, quadgen::compile::Compiled) {
    let compiled = quadgen::compile::compile(Path::new("inventory.toml"), INVENTORY, target)
        .unwrap_or_else(|r| panic!("inventory rejected:\n{}", r.render(false)));
    let dir = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
    }
    (dir, compiled)
}

fn sorted<'a>(argv: &'a [String], option: &str) -> Vec<&'a str> {
    let mut v = option_values(argv, option);
    v.sort_unstable();
    v
}

fn count(argv: &[String], word: &str) -> usize {
    argv.iter().filter(|a| *a == word).count()
}

#[test]
fn every_container_option_reaches_podman_as_written_on_both_quadlets() {
    for (target, suite) in [
        (PodmanVersion::DEFAULT, "trixie"),
        (PodmanVersion::new(5, 8), "sid"),
    ] {
        let (dir, compiled) = build(target);
        let warnings: Vec<&str> = compiled
            .warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(warnings.len(), 1, "only `privileged` warns: {warnings:?}");
        assert!(warnings[0].contains("every capability"), "{warnings:?}");
        for o in oracles().into_iter().filter(|o| o.suite == suite) {
            let run = o.dryrun(dir.path());
            run.assert_clean(&o);
            let vpn = run.service("vpn.service");
            let argv = podman_argv(vpn);
            let v = &o.version;
            // security
            assert_eq!(
                option_values(&argv, "--cap-add"),
                ["cap_net_admin", "cap_sys_module", "cap_bpf"],
                "{v}: {argv:?}"
            );
            assert_eq!(option_values(&argv, "--cap-drop"), ["all"], "{v}");
            assert_eq!(
                sorted(&argv, "--security-opt"),
                [
                    "label=disable",
                    "label=type:spc_t",
                    "no-new-privileges",
                    "seccomp=/etc/containers/seccomp-100%.json"
                ],
                "{v}: {argv:?}"
            );
            assert_eq!(count(&argv, "--read-only"), 1, "{v}: {argv:?}");
            assert_eq!(count(&argv, "--read-only-tmpfs=false"), 1, "{v}");
            assert_eq!(count(&argv, "--privileged"), 0, "{v}");
            // resources
            assert_eq!(
                option_values(&argv, "--tmpfs"),
                ["/run:size=64m,mode=1777", "/srv/100%$x"],
                "{v}"
            );
            assert_eq!(option_values(&argv, "--shm-size"), ["1g"], "{v}");
            assert_eq!(
                sorted(&argv, "--sysctl"),
                [
                    "net.ipv4.conf.all.src_valid_mark=1",
                    "net.ipv4.ip_local_port_range=1024 65000"
                ],
                "{v}: {argv:?}"
            );
            assert_eq!(
                sorted(&argv, "--ulimit"),
                ["nofile=65535:65535", "nproc=4096"],
                "{v}"
            );
            assert_eq!(option_values(&argv, "--memory"), ["2g"], "{v}: {argv:?}");
            assert_eq!(option_values(&argv, "--cpus"), ["1.5"], "{v}");
            assert_eq!(option_values(&argv, "--pids-limit"), ["100"], "{v}");
            // runtime
            assert_eq!(option_values(&argv, "--hostname"), ["vpn.lan"], "{v}");
            assert_eq!(
                option_values(&argv, "--dns"),
                ["9.9.9.9", "2620:fe::fe"],
                "{v}"
            );
            assert_eq!(option_values(&argv, "--dns-search"), ["home.lan"], "{v}");
            assert_eq!(
                option_values(&argv, "--dns-option"),
                ["ndots:2", "edns0"],
                "{v}"
            );
            assert_eq!(
                option_values(&argv, "--add-host"),
                ["host.lan:10.0.0.2", "v6.lan:fd00::2", "gw.lan:host-gateway"],
                "{v}"
            );
            assert_eq!(
                option_values(&argv, "--group-add"),
                ["video", "keep-groups"],
                "{v}"
            );
            assert_eq!(
                option_values(&argv, "--workdir"),
                ["/srv/100% $HOME/a b"],
                "{v}: {argv:?}"
            );
            assert_eq!(count(&argv, "--init"), 1, "{v}");
            assert_eq!(option_values(&argv, "--stop-signal"), ["SIGTERM"], "{v}");
            assert_eq!(option_values(&argv, "--userns"), ["auto"], "{v}");
            assert_eq!(option_values(&argv, "--tz"), ["Europe/Berlin"], "{v}");
            assert_eq!(option_values(&argv, "--log-driver"), ["k8s-file"], "{v}");
            assert_eq!(
                sorted(&argv, "--log-opt"),
                ["max_size=10m", "tag=100% ${X} $Y"],
                "{v}: {argv:?}"
            );
            assert_eq!(
                option_values(&argv, "--device"),
                ["nvidia.com/gpu=all", "/dev/ttyUSB0:/dev/ttyUSB0:rwm"],
                "{v}"
            );
            // A host path (the seccomp profile) is waited for; a CDI device is no path.
            let mounts = vpn.all("Unit", "RequiresMountsFor").join(" ");
            assert!(
                mounts.contains("/etc/containers/seccomp-100%%.json"),
                "{v}: {mounts}"
            );
            assert!(!mounts.contains("nvidia"), "{v}: {mounts}");

            let admin = podman_argv(run.service("admin.service"));
            assert_eq!(count(&admin, "--privileged"), 1, "{v}: {admin:?}");
            assert_eq!(count(&admin, "--init"), 0, "{v}: {admin:?}");
            assert_eq!(
                option_values(&admin, "--security-opt"),
                ["seccomp=unconfined"],
                "{v}: {admin:?}"
            );
            assert_eq!(option_values(&admin, "--cap-drop"), ["all"], "[defaults]");
            assert_eq!(
                option_values(&admin, "--ulimit"),
                ["nproc=4096"],
                "[defaults]"
            );
            let admin_mounts = run
                .service("admin.service")
                .all("Unit", "RequiresMountsFor")
                .join(" ");
            assert!(!admin_mounts.contains("unconfined"), "{v}: {admin_mounts}");
        }
    }
}

/// `memory` is `Memory=` from Podman 5.5 on and `PodmanArgs=--memory=` before; both reach podman
/// as the same `--memory` (asserted above), and each target's quadlet accepts its unit.
#[test]
fn memory_uses_the_key_only_where_the_target_has_it() {
    let unit = |target| {
        let (_dir, compiled) = build(target);
        let f = compiled
            .files
            .iter()
            .find(|f| f.file_name == "vpn.container")
            .expect("vpn.container");
        quadgen::unit::parse::ParsedUnit::parse(&f.text)
    };
    let old = unit(PodmanVersion::DEFAULT);
    assert!(old.all("Container", "Memory").is_empty());
    assert!(old.all("Container", "PodmanArgs").contains(&"--memory=2g"));
    let new = unit(PodmanVersion::new(5, 5));
    assert_eq!(new.all("Container", "Memory"), ["2g"]);
    assert!(!new.all("Container", "PodmanArgs").contains(&"--memory=2g"));
}
