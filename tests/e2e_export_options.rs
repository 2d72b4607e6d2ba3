//! The container options and secrets of `quadgen export kubernetes`, played by a real consumer:
//! the same inventory is installed with `quadgen install` (podman 5.4.2 runs the units), then
//! exported and run with `podman kube play` on the same machine (Debian trixie in
//! systemd-nspawn), and what the running container has is read under both, mostly from its main
//! process through its PID in the machine: capabilities and `NoNewPrivs` (`/proc/PID/status`),
//! the read-only root, the memory-backed `/dev/shm` and tmpfs (`/proc/PID/mounts`), a mounted
//! and an environment secret, the sysctl (`/proc/sys` of its network namespace), `/etc/hosts`,
//! the hostname, the working directory and the groups. Each must be the same under both.
//!
//! The rig's nested cgroup tree has no memory controller, so a container with a memory limit
//! cannot start there: the limit is compared on created containers instead, the exported
//! quantity as `kube play --start=false` reads it against `podman create --memory` with the
//! inventory's value (what the unit passes).
//!
//! The Secrets are made as the export's header says (`kubectl create secret generic NAME
//! --from-file=KEY=PATH`), written as the `kind: Secret` documents `kube play` reads.
//!
//! Findings (podman 5.4.2): `kube play` makes a memory-backed `emptyDir` a tmpfs but ignores its
//! `sizeLimit` (Kubernetes enforces it by eviction, not as a tmpfs size), so sizes are not
//! compared; it gives a `secret` volume's files the volume's `defaultMode` and ignores an item's
//! `mode`, which is why the export writes the mode as `defaultMode`.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::{Duration, Instant};

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const EXPORTED: &str = "/root/kubernetes.yaml";
const START: Duration = Duration::from_secs(90);

fn inventory() -> String {
    format!(
        r#"[defaults]
restart = "always"
stop_timeout = "2s"

[secrets.tls_cert]
file = "/etc/qg/tls.pem"

[secrets.api_key]
file = "/etc/qg/api-key"

[containers.opt]
image = "{REGISTRY}/web:latest"
cmd = ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
cap_drop = ["ALL"]
cap_add = ["NET_BIND_SERVICE", "CAP_CHOWN"]
no_new_privileges = true
read_only = true
shm_size = "128m"
tmpfs = ["/scratch:size=32m"]
working_dir = "/www"
hostname = "optbox"
extra_hosts = ["backup;backup.lan:10.0.0.9"]
sysctls = {{ "net.ipv4.tcp_keepalive_time" = "600" }}
group_add = ["70"]
secrets = [{{ name = "tls_cert", target = "/etc/app/tls.pem" }}, {{ name = "api_key", type = "env", target = "API_KEY" }}]
"#
    )
}

/// The PID (in the machine) of a running container's main process, once it runs.
fn main_pid(m: &Machine, container: &str) -> String {
    let start = Instant::now();
    loop {
        let out = m.run(["podman", "inspect", "--format", "{{.State.Pid}}", container]);
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if pid.parse::<u32>().is_ok_and(|p| p > 1) {
            return pid;
        }
        assert!(
            start.elapsed() < START,
            "{container} does not run: {pid:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A `Key:` line of `/proc/PID/status`, its value trimmed.
fn status(m: &Machine, pid: &str, key: &str) -> String {
    let text = m.read_file(&format!("/proc/{pid}/status"));
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status:\n{text}"))
        .trim()
        .to_owned()
}

/// (fstype, read-write) of the mount at `target` in `/proc/PID/mounts`.
fn mount(m: &Machine, pid: &str, target: &str) -> String {
    let mounts = m.read_file(&format!("/proc/{pid}/mounts"));
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .rfind(|f| f.get(1) == Some(&target))
        .map(|f| {
            let rw = f[3].split(',').any(|o| o == "rw");
            format!("{} {}", f[2], if rw { "rw" } else { "ro" })
        })
        .unwrap_or_else(|| panic!("no mount at {target} in /proc/{pid}/mounts:\n{mounts}"))
}

/// Whether `argv` succeeds in the container.
fn exec_passes(m: &Machine, container: &str, argv: &[&str]) -> bool {
    let mut full = vec!["podman", "exec", container];
    full.extend(argv);
    m.run(full).status.success()
}

fn exec_out(m: &Machine, container: &str, argv: &[&str]) -> String {
    let mut full = vec!["podman", "exec", container];
    full.extend(argv);
    m.run_ok(full).trim_end().to_owned()
}

/// What the running container has, one fact a line.
fn facts(m: &Machine, container: &str) -> String {
    let pid = main_pid(m, container);
    let inspect = |format: &str| {
        m.run_ok(["podman", "inspect", "--format", format, container])
            .trim()
            .to_owned()
    };
    // (address, name) pairs: podman writes one line per `extra_hosts` entry, `kube play` one
    // per name.
    let mut hosts: Vec<String> = exec_out(m, container, &["cat", "/etc/hosts"])
        .lines()
        .filter(|l| l.starts_with("10.0.0.9"))
        .flat_map(|l| {
            let mut fields = l.split_whitespace();
            let ip = fields.next().unwrap_or_default().to_owned();
            fields.map(move |name| format!("{ip} {name}"))
        })
        .collect();
    hosts.sort();
    let lines = [
        format!("CapEff {}", status(m, &pid, "CapEff")),
        format!("CapBnd {}", status(m, &pid, "CapBnd")),
        format!("NoNewPrivs {}", status(m, &pid, "NoNewPrivs")),
        format!(
            "groups include 70: {}",
            status(m, &pid, "Groups")
                .split_whitespace()
                .any(|g| g == "70")
        ),
        format!(
            "ReadonlyRootfs {}",
            inspect("{{.HostConfig.ReadonlyRootfs}}")
        ),
        format!(
            "root writable: {}",
            exec_passes(m, container, &["touch", "/probe"])
        ),
        format!("/dev/shm {}", mount(m, &pid, "/dev/shm")),
        format!("/scratch {}", mount(m, &pid, "/scratch")),
        format!(
            "/tmp writable: {}",
            exec_passes(m, container, &["touch", "/tmp/probe"])
        ),
        format!(
            "/etc/app/tls.pem {}",
            exec_out(m, container, &["cat", "/etc/app/tls.pem"])
        ),
        format!(
            "/etc/app/tls.pem mode {}",
            exec_out(m, container, &["stat", "-c", "%a %u", "/etc/app/tls.pem"])
        ),
        format!(
            "API_KEY {}",
            m.read_file(&format!("/proc/{pid}/environ"))
                .split('\0')
                .find_map(|v| v.strip_prefix("API_KEY="))
                .unwrap_or("(unset)")
        ),
        format!(
            "tcp_keepalive_time {}",
            m.exec_ok([
                "nsenter",
                "-t",
                &pid,
                "-n",
                "cat",
                "/proc/sys/net/ipv4/tcp_keepalive_time"
            ])
            .trim()
        ),
        format!("hosts {}", hosts.join(" | ")),
        format!("hostname {}", exec_out(m, container, &["hostname"])),
        format!("workdir {}", inspect("{{.Config.WorkingDir}}")),
    ];
    lines.join("\n")
}

/// `kind: Secret` documents for the header's `kubectl create secret generic NAME
/// --from-file=KEY=PATH` lines, the data read from PATH in the machine.
fn secrets_from_header(m: &Machine, yaml: &str) -> String {
    let docs: Vec<String> = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("#   kubectl create secret generic "))
        .map(|rest| {
            let (name, from) = rest.split_once(" --from-file=").expect("--from-file");
            let (key, path) = from.split_once('=').expect("KEY=PATH");
            let data = m.exec_ok(["base64", "-w0", path]);
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ndata:\n  {key}: {}\n",
                data.trim()
            )
        })
        .collect();
    assert_eq!(docs.len(), 2, "two Secrets in the header:\n{yaml}");
    docs.join("---\n")
}

#[test]
fn kube_play_carries_the_options_and_secrets_like_the_units() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[("www/index.html", "v1\n")]);
    m.push_image(&image);
    m.write_file("/etc/qg/tls.pem", "-----CERT tls-c3rt-----");
    m.write_file("/etc/qg/api-key", "k3y value");
    m.write_file(INVENTORY, inventory());

    // 1. quadgen's own unit.
    m.run_ok(["quadgen", "install", INVENTORY]);
    m.wait_active("opt.service", START);
    let under_quadgen = facts(&m, "opt");
    m.run_ok(["quadgen", "uninstall"]);

    // 2. The export, with the Secrets its header asks for, played by podman.
    let out = m.run(["quadgen", "export", "kubernetes", INVENTORY, "-o", EXPORTED]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = m.read_file(EXPORTED);
    m.write_file("/root/secrets.yaml", secrets_from_header(&m, &yaml));
    m.run_ok(["podman", "kube", "play", "/root/secrets.yaml"]);
    m.run_ok(["podman", "kube", "play", EXPORTED]);
    let under_kube = facts(&m, "opt-pod-opt");
    // Its /dev/shm is the export's emptyDir (a tmpfs of its own), not the pod's 64 MB `shm`.
    let pid = main_pid(&m, "opt-pod-opt");
    let mounts = m.read_file(&format!("/proc/{pid}/mounts"));
    let shm = mounts
        .lines()
        .rfind(|l| l.split_whitespace().nth(1) == Some("/dev/shm"))
        .unwrap_or_default();
    assert!(shm.starts_with("tmpfs /dev/shm tmpfs "), "{shm}");

    assert_eq!(
        under_kube, under_quadgen,
        "`opt` runs differently under kube play (left) and quadgen (right)"
    );
    // Not vacuous: the facts compared hold what the inventory set, not podman's defaults.
    for expected in [
        // CAP_CHOWN (0) and CAP_NET_BIND_SERVICE (10) only.
        "CapEff 0000000000000401",
        "NoNewPrivs 1",
        "groups include 70: true",
        "ReadonlyRootfs true",
        "root writable: false",
        "/dev/shm tmpfs rw",
        "/scratch tmpfs rw",
        "/tmp writable: true",
        "/etc/app/tls.pem -----CERT tls-c3rt-----",
        "/etc/app/tls.pem mode 444 0",
        "API_KEY k3y value",
        "tcp_keepalive_time 600",
        "hosts 10.0.0.9 backup | 10.0.0.9 backup.lan",
        "hostname optbox",
        "workdir /www",
    ] {
        assert!(
            under_quadgen.lines().any(|l| l == expected),
            "{expected:?} not in:\n{under_quadgen}"
        );
    }
}

/// A container with only a memory limit, which the rig can create but not start.
fn capped_inventory() -> String {
    format!("[containers.capped]\nimage = \"{REGISTRY}/web:latest\"\nmemory = \"{MEMORY}\"\n")
}

/// A podman size with a fraction, which Kubernetes has no unit for: the export writes `1536Mi`.
const MEMORY: &str = "1.5g";

#[test]
fn the_exported_memory_limit_is_the_bytes_podman_reads_from_the_inventory() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[("www/index.html", "v1\n")]);
    m.write_file(INVENTORY, capped_inventory());
    m.run_ok(["quadgen", "export", "kubernetes", INVENTORY, "-o", EXPORTED]);
    let yaml = m.read_file(EXPORTED);
    assert!(yaml.contains("            memory: 1536Mi\n"), "{yaml}");
    m.run_ok(["podman", "kube", "play", "--start=false", EXPORTED]);
    m.run_ok([
        "podman",
        "create",
        "--name",
        "reference",
        "--memory",
        MEMORY,
        &image,
    ]);
    let memory = |container: &str| {
        m.run_ok([
            "podman",
            "inspect",
            "--format",
            "{{.HostConfig.Memory}}",
            container,
        ])
        .trim()
        .to_owned()
    };
    assert_eq!(memory("capped-pod-capped"), memory("reference"));
    assert_eq!(memory("reference"), "1610612736", "1.5 GiB");
}
