//! The security and resource fields of issue 7 on a real systemd 257 + podman 5.4.2 (Debian
//! trixie in systemd-nspawn), read from the container's main process through its PID in the
//! machine, never through `podman exec`: `cap_add`/`cap_drop` in `/proc/PID/status`, `sysctls`
//! in `/proc/sys` of its network namespace, `tmpfs` and `shm_size` in `/proc/PID/mounts`,
//! `ulimits` in `/proc/PID/limits`. A container without the fields shows the defaults, so each
//! difference is the field's doing.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const START: Duration = Duration::from_secs(90);

/// capability.h numbers.
const CAP_CHOWN: u32 = 0;
const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_TIME: u32 = 25;

fn inventory() -> String {
    format!(
        r#"[defaults]
image = "{REGISTRY}/web:latest"
cmd = ["/bin/sleep", "100000"]
stop_timeout = "2s"
init = true

[containers.tuned]
cap_add = ["NET_ADMIN", "cap_sys_time"]
cap_drop = ["CHOWN"]
sysctls = {{ "net.ipv4.conf.all.src_valid_mark" = "1", "net.ipv4.ip_local_port_range" = "20000 30000" }}
tmpfs = ["/scratch:size=64m,mode=1770"]
shm_size = "96m"
ulimits = {{ nofile = "4242:4343" }}

[containers.plain]
"#
    )
}

/// The PID (in the machine) of a container's main process.
fn main_pid(m: &Machine, container: &str) -> String {
    let pid = m
        .run_ok(["podman", "inspect", "--format", "{{.State.Pid}}", container])
        .trim()
        .to_owned();
    assert!(
        pid.parse::<u32>().is_ok_and(|p| p > 1),
        "{container}: pid {pid:?}"
    );
    pid
}

/// A capability set of `/proc/PID/status` (`CapEff`, `CapBnd`) as a bit mask.
fn caps(m: &Machine, pid: &str, set: &str) -> u64 {
    let status = m.read_file(&format!("/proc/{pid}/status"));
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{set}:")))
        .unwrap_or_else(|| panic!("no {set} in /proc/{pid}/status:\n{status}"))
        .trim();
    u64::from_str_radix(hex, 16).expect("hex capability mask")
}

fn has(mask: u64, cap: u32) -> bool {
    mask & (1 << cap) != 0
}

/// A file of `/proc/sys` as the container's network namespace shows it.
fn netns_sysctl(m: &Machine, pid: &str, path: &str) -> String {
    m.exec_ok(["nsenter", "-t", pid, "-n", "cat", path])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The mount line of `target` in `/proc/PID/mounts`: (fstype, options).
fn mount(m: &Machine, pid: &str, target: &str) -> (String, String) {
    let mounts = m.read_file(&format!("/proc/{pid}/mounts"));
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&target))
        .map(|f| (f[2].to_owned(), f[3].to_owned()))
        .unwrap_or_else(|| panic!("no mount at {target} in /proc/{pid}/mounts:\n{mounts}"))
}

#[test]
fn capabilities_sysctls_tmpfs_shm_and_ulimits_reach_the_running_container() {
    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    let image = format!("{REGISTRY}/web:latest");
    m.build_image(&image, &[]);
    m.push_image(&image);
    m.write_file(INVENTORY, inventory());
    let out = m.run(["quadgen", "install", INVENTORY]);
    assert!(
        out.status.success(),
        "quadgen install failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    m.wait_active("tuned.service", START);
    m.wait_active("plain.service", START);
    let (tuned, plain) = (main_pid(&m, "tuned"), main_pid(&m, "plain"));

    // Capabilities: added ones in the effective and bounding sets, the dropped one gone; the
    // plain container has podman's defaults (CHOWN, not NET_ADMIN or SYS_TIME).
    for set in ["CapEff", "CapBnd"] {
        let t = caps(&m, &tuned, set);
        let p = caps(&m, &plain, set);
        assert!(
            has(t, CAP_NET_ADMIN) && has(t, CAP_SYS_TIME),
            "{set} {t:#x}"
        );
        assert!(!has(t, CAP_CHOWN), "{set} {t:#x}: CHOWN dropped");
        assert!(has(p, CAP_CHOWN), "plain {set} {p:#x}");
        assert!(
            !has(p, CAP_NET_ADMIN) && !has(p, CAP_SYS_TIME),
            "plain {set} {p:#x}"
        );
        assert_eq!(
            t | (1 << CAP_CHOWN),
            p | (1 << CAP_NET_ADMIN) | (1 << CAP_SYS_TIME),
            "{set}: exactly the added and dropped capabilities differ"
        );
    }

    // Sysctls, in the container's own network namespace (one with a space in its value).
    let mark = "/proc/sys/net/ipv4/conf/all/src_valid_mark";
    let range = "/proc/sys/net/ipv4/ip_local_port_range";
    assert_eq!(netns_sysctl(&m, &tuned, mark), "1");
    assert_eq!(netns_sysctl(&m, &tuned, range), "20000 30000");
    assert_eq!(netns_sysctl(&m, &plain, mark), "0");
    assert_ne!(netns_sysctl(&m, &plain, range), "20000 30000");

    // tmpfs and /dev/shm with their sizes (the kernel shows KiB, and a mode only when it is
    // not the default 1777).
    let (fstype, options) = mount(&m, &tuned, "/scratch");
    assert_eq!(fstype, "tmpfs");
    let options: Vec<&str> = options.split(',').collect();
    assert!(
        options.contains(&"size=65536k") && options.contains(&"mode=1770"),
        "{options:?}"
    );
    let (_, shm) = mount(&m, &tuned, "/dev/shm");
    assert!(
        shm.split(',').any(|o| o == "size=98304k"),
        "tuned /dev/shm: {shm}"
    );
    let (_, plain_shm) = mount(&m, &plain, "/dev/shm");
    assert!(
        !plain_shm.split(',').any(|o| o == "size=98304k"),
        "plain /dev/shm: {plain_shm}"
    );

    // ulimits.
    let limits = m.read_file(&format!("/proc/{tuned}/limits"));
    let nofile: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files")
        .split_whitespace()
        .collect();
    assert_eq!(nofile[3..5], ["4242", "4343"], "{limits}");
}
