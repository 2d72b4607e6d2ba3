//! Rootless containers end to end, on a real systemd 257 + podman 5.4.2 (Debian trixie) booted in
//! systemd-nspawn from the rootless root (tests/provision/e2e-rootless.sh: the e2e root plus
//! uidmap, passt, libpam-systemd, dbus-user-session).
//!
//! - `quadgen install --user`, run as alice: her containers run under her podman (root's `podman
//!   ps` does not list them), a change restarts only what changed, and her own
//!   `podman-auto-update.service` updates v1 → v2 and rolls a broken v3 back;
//! - `quadgen install --for-user alice`, run as root: the units land in
//!   `/etc/containers/systemd/users/UID`, run as alice, and come back after a reboot of the
//!   machine through linger; three health-gated containers come up on each of 6 reboots, after
//!   quadgen's `quadgen-podman-pause.service` (the boot race it fixes is described there);
//! - a pod, installed with `--user` and with `--for-user`, runs as alice with its members talking
//!   over 127.0.0.1, `status` reports each member, and a member that leaves stops alone;
//! - the plan-time checks refuse a user without linger, without subordinate IDs, with port 80 and
//!   an unreadable bind mount, each with its fix, writing nothing.
//!
//! Needs root and the provisioned rootless root (`sudo bash tests/provision.sh`);
//! `QUADGEN_SKIP_E2E=1` turns "cannot run here" into a loud SKIPPED line.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

#[path = "support/host_e2e.rs"]
mod host_e2e;

use host_e2e::{Steps, publish_web, wait_http, web_image};
use nspawn::Machine;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const ALICE_UID: u32 = 1000;

/// Two containers from the registry's web image; `other_env` goes into `other`'s environment.
/// `RunInit` because busybox httpd as PID 1 ignores SIGTERM.
fn inventory(other_env: &str) -> String {
    format!(
        r#"[containers.web]
image = "{image}"
ports = ["127.0.0.1:8080:8080"]
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "1s", timeout = "2s", retries = 2 }}

[containers.web.quadlet.Container]
RunInit = "true"

[containers.other]
image = "{image}"
ports = ["127.0.0.1:8081:8080"]
environment = {{ V = "{other_env}" }}

[containers.other.quadlet.Container]
RunInit = "true"
"#,
        image = web_image()
    )
}

/// `inventory` with `web` only.
fn web_only() -> String {
    let all = inventory("1");
    let end = all.find("[containers.other]").expect("other");
    all[..end].to_string()
}

/// A booted rootless machine with user alice (lingering, her manager up) and image `web:v1` in
/// the local registry; `None` when the test skips.
fn boot_with_alice(steps: &mut Steps) -> Option<Machine> {
    let m = Machine::boot_rootless_with(Path::new(env!("CARGO_BIN_EXE_quadgen")))?;
    steps.step("boot");
    add_user(&m, "alice");
    linger(&m, "alice", ALICE_UID);
    publish_web(&m, "v1", &[("www/index.html", "v1\n")]);
    steps.step("useradd + linger (user@1000 up), build + push v1");
    Some(m)
}

/// Creates a user with a home (useradd gives it subordinate ID ranges).
fn add_user(m: &Machine, name: &str) {
    m.run_ok(["useradd", "--create-home", "--shell", "/bin/sh", name]);
}

/// `loginctl enable-linger NAME` (through a transient unit: nsenter alone cannot reach logind
/// here), then waits for the user's systemd.
fn linger(m: &Machine, name: &str, uid: u32) {
    m.run_ok(["loginctl", "enable-linger", name]);
    let unit = format!("user@{uid}.service");
    m.wait_active(&unit, Duration::from_secs(30));
}

/// Runs `argv` as `user` the way a login shell would have it (`XDG_RUNTIME_DIR` set), in a
/// transient unit of the machine.
fn as_user(m: &Machine, user: &str, uid: u32, argv: &[&str]) -> Output {
    let runtime = format!("XDG_RUNTIME_DIR=/run/user/{uid}");
    let mut full = vec!["runuser", "-u", user, "--", "env", runtime.as_str()];
    full.extend_from_slice(argv);
    m.run(full)
}

/// The user's journal of this boot, without the health check chatter: what a failure report needs.
fn user_journal(m: &Machine, uid: u32) -> String {
    let out = m.exec(["journalctl", "--no-pager", "-b", "-o", "short-precise"]);
    let unit = format!("user@{uid}.service");
    let pid = m.exec_ok([
        "systemctl",
        "show",
        "-p",
        "MainPID",
        "--value",
        unit.as_str(),
    ]);
    let manager = format!("systemd[{}]", pid.trim());
    let noise = [
        "health_status",
        "nwarn",
        "response:200",
        "healthcheck run",
        "start-limit",
        "too quickly",
    ];
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.contains(&manager)
                || l.contains("podman[")
                || l.contains("web[")
                || l.contains("other[")
        })
        .filter(|l| !noise.iter().any(|n| l.contains(n)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`Machine::run_ok`] that reports alice's unit states and journal when the command fails.
fn run_ok_reporting(m: &Machine, argv: &[&str]) -> String {
    let out = m.run(argv);
    if !out.status.success() {
        let jobs = user_systemctl(m, "alice", &["list-jobs", "--no-pager"]);
        panic!(
            "{argv:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}\n--- alice's jobs\n{}\n--- alice's journal\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&jobs.stdout),
            user_journal(m, ALICE_UID)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `systemctl --user -M USER@ ARGS…` from root, directly in the machine.
fn user_systemctl(m: &Machine, user: &str, args: &[&str]) -> Output {
    let machine = format!("{user}@");
    let mut argv = vec!["systemctl", "--user", "-M", machine.as_str()];
    argv.extend_from_slice(args);
    m.exec(argv)
}

fn user_property(m: &Machine, user: &str, unit: &str, property: &str) -> String {
    let out = user_systemctl(m, user, &["show", "-p", property, "--value", unit]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn wait_user_active(m: &Machine, user: &str, unit: &str, timeout: Duration) {
    let start = std::time::Instant::now();
    while user_property(m, user, unit, "ActiveState") != "active" {
        if start.elapsed() > timeout {
            let status = user_systemctl(m, user, &["status", "--no-pager", "-n", "0", unit]);
            let uid: u32 = m.exec_ok(["id", "-u", user]).trim().parse().expect("uid");
            panic!(
                "{user}'s {unit} not active after {timeout:?}\n--- status\n{}--- journal of the user\n{}",
                String::from_utf8_lossy(&status.stdout),
                user_journal(m, uid)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The names of the running containers of `podman ps`, as the user (`None`: as root).
fn podman_ps(m: &Machine, user: Option<(&str, u32)>) -> Vec<String> {
    let argv = ["podman", "ps", "--format", "{{.Names}}"];
    let out = match user {
        Some((name, uid)) => ok("podman ps as the user", as_user(m, name, uid, &argv)),
        None => m.run_ok(argv),
    };
    let mut names: Vec<String> = out.lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// Runs the user's own `podman-auto-update.service` once, as its timer would.
fn user_auto_update(m: &Machine, user: &str) {
    let out = user_systemctl(m, user, &["start", "podman-auto-update.service"]);
    assert!(
        out.status.success(),
        "{user}'s podman-auto-update.service failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_user_installs_her_own_containers_and_auto_update_rolls_back_rootless() {
    let mut steps = Steps::new("rootless --user");
    let Some(m) = boot_with_alice(&mut steps) else {
        return;
    };

    let alice = |argv: &[&str]| as_user(&m, "alice", ALICE_UID, argv);
    m.write_file("/home/alice/inventory.toml", inventory("1"));
    m.run_ok(["chown", "alice:", "/home/alice/inventory.toml"]);
    let out = ok(
        "quadgen install --user",
        alice(&["quadgen", "install", "--user", "/home/alice/inventory.toml"]),
    );
    steps.step("quadgen install --user (pull v1 as alice, start until healthy)");
    let dir = "/home/alice/.config/containers/systemd";
    let unit = m.read_file(&format!("{dir}/web.container"));
    assert!(unit.contains("WantedBy=default.target"), "{unit}");
    assert!(m.exists(&format!("{dir}/.quadgen-manifest.json")), "{out}");
    assert!(!m.exists("/etc/containers/systemd/web.container"));
    wait_user_active(&m, "alice", "web.service", Duration::from_secs(5));
    wait_user_active(&m, "alice", "other.service", Duration::from_secs(30));
    wait_http(
        &m,
        "http://127.0.0.1:8080/",
        "v1\n",
        Duration::from_secs(10),
    );
    wait_http(
        &m,
        "http://127.0.0.1:8081/",
        "v1\n",
        Duration::from_secs(10),
    );
    // alice's podman runs them; root's knows nothing of them, nor does the system manager
    assert_eq!(podman_ps(&m, Some(("alice", ALICE_UID))), ["other", "web"]);
    assert_eq!(podman_ps(&m, None), Vec::<String>::new());
    assert!(!m.is_active("web.service"));
    let uid_map = ok(
        "podman unshare",
        alice(&["podman", "unshare", "cat", "/proc/self/uid_map"]),
    );
    assert!(
        uid_map.contains("100000"),
        "alice's podman maps her subordinate IDs: {uid_map}"
    );

    // A change to `other` restarts only `other`.
    let web_inv = user_property(&m, "alice", "web.service", "InvocationID");
    let other_inv = user_property(&m, "alice", "other.service", "InvocationID");
    m.write_file("/home/alice/inventory.toml", inventory("2"));
    ok(
        "second install",
        alice(&["quadgen", "install", "--user", "/home/alice/inventory.toml"]),
    );
    steps.step("quadgen install --user (other changed)");
    assert_eq!(
        user_property(&m, "alice", "web.service", "InvocationID"),
        web_inv,
        "web did not change and must not restart"
    );
    assert_ne!(
        user_property(&m, "alice", "other.service", "InvocationID"),
        other_inv,
        "other changed and must restart"
    );
    let env = ok(
        "podman inspect",
        alice(&[
            "podman",
            "inspect",
            "--format",
            "{{range .Config.Env}}{{println .}}{{end}}",
            "other",
        ]),
    );
    assert!(env.lines().any(|l| l == "V=2"), "{env}");
    let again = alice(&["quadgen", "install", "--user", "/home/alice/inventory.toml"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to do"),
        "{again:?}"
    );
    steps.step("no-op install");

    // Auto-update by alice's own podman-auto-update.service: v2, then a broken v3 rolled back.
    publish_web(&m, "v2", &[("www/index.html", "v2\n")]);
    let web_inv = user_property(&m, "alice", "web.service", "InvocationID");
    user_auto_update(&m, "alice");
    steps.step("alice's podman-auto-update.service (v1 -> v2)");
    assert_ne!(
        user_property(&m, "alice", "web.service", "InvocationID"),
        web_inv
    );
    wait_http(
        &m,
        "http://127.0.0.1:8080/",
        "v2\n",
        Duration::from_secs(10),
    );
    publish_web(&m, "v3", &[("www/other.html", "broken\n")]);
    user_auto_update(&m, "alice");
    steps.step("alice's podman-auto-update.service (v3 unhealthy -> rolled back)");
    wait_user_active(&m, "alice", "web.service", Duration::from_secs(30));
    wait_http(
        &m,
        "http://127.0.0.1:8080/",
        "v2\n",
        Duration::from_secs(10),
    );
    let status = ok(
        "quadgen status --user --json",
        alice(&["quadgen", "status", "--user", "--json"]),
    );
    let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    let web = status["units"]
        .as_array()
        .and_then(|units| units.iter().find(|u| u["service"] == "web.service"))
        .unwrap_or_else(|| panic!("no web.service in {status}"));
    assert_eq!(web["last_auto_update"]["updated"], "rolled back", "{web}");
    steps.step("checks");
    steps.finish();
}

#[test]
fn root_installs_for_a_user_and_linger_brings_them_back_after_a_reboot() {
    let mut steps = Steps::new("rootless --for-user");
    let Some(mut m) = Machine::boot_rootless_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    steps.step("boot");
    add_user(&m, "alice");
    add_user(&m, "bob");
    // bob: no linger, no subordinate IDs, port 80, a bind mount under root's 0700 home
    m.run_ok(["sed", "-i", "/^bob:/d", "/etc/subuid", "/etc/subgid"]);
    m.write_file(
        "/root/bob.toml",
        format!(
            "[containers.web]\nimage = \"{}\"\nports = [\"80:8080\"]\nvolumes = [\"/root/private:/data\"]\n",
            web_image()
        ),
    );
    m.run_ok(["mkdir", "-p", "/root/private"]);
    let out = m.run(["quadgen", "plan", "--for-user", "bob", "/root/bob.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for want in [
        "error    [rootless-linger] user `bob` does not linger",
        "fix: sudo loginctl enable-linger bob   # NixOS: users.users.bob.linger = true;",
        "error    [rootless-subid] user `bob` has no range in /etc/subuid or /etc/subgid",
        "fix: sudo usermod --add-subuids 165536-231071 --add-subgids 165536-231071 bob",
        "error    [rootless-port] container `web` publishes `80:8080`: host port 80 is below net.ipv4.ip_unprivileged_port_start (1024)",
        "error    [rootless-path] bind mount `/root/private` of container `web` cannot be read by user `bob`",
        "nothing was changed",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
    assert!(!m.exists("/etc/containers/systemd/users"), "{stderr}");
    steps.step("checks refuse bob");

    linger(&m, "alice", ALICE_UID);
    publish_web(&m, "v1", &[("www/index.html", "v1\n")]);
    steps.step("linger alice, build + push v1");
    m.write_file("/root/inventory.toml", inventory("1"));
    // install starts alice's manager itself when it is not (yet) running, as at boot
    m.systemctl_ok(["stop", &format!("user@{ALICE_UID}.service")]);
    run_ok_reporting(
        &m,
        &[
            "quadgen",
            "install",
            "--for-user",
            "alice",
            "/root/inventory.toml",
        ],
    );
    steps.step("quadgen install --for-user alice");
    let dir = format!("/etc/containers/systemd/users/{ALICE_UID}");
    assert!(m.exists(&format!("{dir}/web.container")));
    assert!(m.exists(&format!("{dir}/.quadgen-manifest.json")));
    assert!(!m.exists("/etc/containers/systemd/web.container"));
    wait_user_active(&m, "alice", "web.service", Duration::from_secs(5));
    wait_http(
        &m,
        "http://127.0.0.1:8080/",
        "v1\n",
        Duration::from_secs(10),
    );
    assert_eq!(podman_ps(&m, Some(("alice", ALICE_UID))), ["other", "web"]);
    assert_eq!(podman_ps(&m, None), Vec::<String>::new());
    m.run_ok(["quadgen", "status", "--for-user", "alice"]);

    // Down to one container before the reboot (several at boot, 6 times over:
    // `health_gated_rootless_containers_come_up_on_every_boot`).
    m.write_file("/root/inventory.toml", web_only());
    run_ok_reporting(
        &m,
        &[
            "quadgen",
            "install",
            "--for-user",
            "alice",
            "/root/inventory.toml",
        ],
    );
    assert_eq!(podman_ps(&m, Some(("alice", ALICE_UID))), ["web"]);
    let before = user_property(&m, "alice", "web.service", "InvocationID");

    // A reboot of the machine: alice lingers, so her manager starts at boot and with it
    // default.target, which wants her containers.
    let boot = m.reboot();
    steps.step(&format!("reboot (boot {:.2} s)", boot.as_secs_f64()));
    wait_user_active(&m, "alice", "web.service", Duration::from_secs(90));
    steps.step("alice's container up after the reboot");
    assert_ne!(
        user_property(&m, "alice", "web.service", "InvocationID"),
        before
    );
    wait_http(
        &m,
        "http://127.0.0.1:8080/",
        "v1\n",
        Duration::from_secs(10),
    );
    assert_eq!(podman_ps(&m, Some(("alice", ALICE_UID))), ["web"]);
    assert_eq!(podman_ps(&m, None), Vec::<String>::new());
    m.write_file("/root/inventory.toml", inventory("2"));
    // quadgen's pause unit serves every user: an install holds /etc/containers/systemd/users
    // shared until its manifest is written, and the last user's uninstall decides to remove the
    // unit under an exclusive lock. An install that starts `other` again, probed as it runs:
    let (code, held, probes) =
        probe_users_lock_during(&m, "quadgen install --for-user alice /root/inventory.toml");
    assert_eq!(code, 0, "{}", m.read_file("/root/probed.log"));
    assert!(
        held > 0,
        "the install never held the users' lock ({probes} probes while it ran)"
    );
    steps.step(&format!(
        "an install holds the users' lock ({held} of {probes} probes)"
    ));

    // An uninstall deciding: the install waits for it, then goes on.
    hold_users_lock(&m, "-x", "held-x");
    start_logged(
        &m,
        "install",
        "quadgen install --for-user alice /root/inventory.toml",
    );
    let log = wait_for_log(
        &m,
        "install",
        "waiting for another user's quadgen uninstall to finish",
    );
    assert!(
        !m.exists("/root/install.code"),
        "it finished under the lock: {log}"
    );
    m.remove("/run/held-x");
    let (code, log) = wait_for_code(&m, "install");
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("nothing to do"), "{log}");
    steps.step("an install waits for an uninstall's lock");

    // An install running: the last uninstall removes the pause unit only after it, when it
    // sees no user's manifest.
    let pause = "/etc/systemd/user/quadgen-podman-pause.service";
    assert!(m.exists(pause));
    hold_users_lock(&m, "-s", "held-s");
    start_logged(&m, "uninstall", "quadgen uninstall --for-user alice");
    let log = wait_for_log(
        &m,
        "uninstall",
        "waiting for another user's quadgen install or uninstall to finish",
    );
    assert!(m.exists(pause), "removed while an install ran: {log}");
    assert!(!m.exists("/root/uninstall.code"), "{log}");
    m.remove("/run/held-s");
    let (code, log) = wait_for_code(&m, "uninstall");
    assert_eq!(code, 0, "{log}");
    assert!(
        !m.exists(pause),
        "the last user's uninstall removes it: {log}"
    );
    assert!(!m.exists(&format!("{dir}/web.container")));
    assert_eq!(
        podman_ps(&m, Some(("alice", ALICE_UID))),
        Vec::<String>::new()
    );
    steps.step("uninstall --for-user");
    steps.finish();
}

/// Holds `/etc/containers/systemd/users` locked (`flock` `mode`: `-s` or `-x`) from a unit of its
/// own until `/run/FLAG` is removed; returns once the lock is held.
fn hold_users_lock(m: &Machine, mode: &str, flag: &str) {
    let script = format!("touch /run/{flag}; while [ -e /run/{flag} ]; do sleep 0.1; done");
    let users = "/etc/containers/systemd/users";
    start_unit(
        m,
        &format!("qg-lock-{flag}"),
        &["flock", mode, users, "sh", "-c", &script],
    );
    wait_until(&format!("/run/{flag}"), || {
        m.exists(&format!("/run/{flag}"))
    });
}

/// Starts `command` (a shell command) in a unit of its own, as [`Machine::run`] would run it:
/// its output goes to `/root/NAME.log`, its exit code to `/root/NAME.code`.
fn start_logged(m: &Machine, name: &str, command: &str) {
    let script = format!("{command} >/root/{name}.log 2>&1; echo $? >/root/{name}.code");
    start_unit(m, &format!("qg-{name}"), &["sh", "-c", &script]);
}

/// Starts `argv` in the transient unit `unit` of its own, with [`Machine::run`]'s environment,
/// and returns at once.
fn start_unit(m: &Machine, unit: &str, argv: &[&str]) {
    let unit = format!("--unit={unit}");
    let mut args = vec![
        "systemd-run",
        &unit,
        "--collect",
        "--service-type=exec",
        "--setenv=INVOCATION_ID=",
        "--setenv=HOME=/root",
    ];
    args.extend_from_slice(argv);
    m.run_ok(args);
}

/// Waits until `/root/NAME.log` (of [`start_logged`]) says `line`; its text.
fn wait_for_log(m: &Machine, name: &str, line: &str) -> String {
    let path = format!("/root/{name}.log");
    let mut log = String::new();
    wait_until(&format!("{line:?} in {path}"), || {
        log = if m.exists(&path) {
            m.read_file(&path)
        } else {
            String::new()
        };
        log.contains(line)
    });
    log
}

/// Waits for the command of [`start_logged`] to end; its exit code and output.
fn wait_for_code(m: &Machine, name: &str) -> (i32, String) {
    let path = format!("/root/{name}.code");
    wait_until(&path, || m.exists(&path));
    let code = m.read_file(&path).trim().parse().expect("exit code");
    (code, m.read_file(&format!("/root/{name}.log")))
}

/// Polls `done` every 100 ms for up to 60 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `command` while probing every 20 ms whether `/etc/containers/systemd/users` can be
/// locked exclusively (it cannot while an install holds it shared): its exit code, how many
/// probes found the lock held, and how many probes there were. Its output: `/root/probed.log`.
fn probe_users_lock_during(m: &Machine, command: &str) -> (i32, u32, u32) {
    let script = format!(
        "{command} >/root/probed.log 2>&1 & pid=$!; held=0; probes=0; \
         while kill -0 $pid 2>/dev/null; do probes=$((probes + 1)); \
         flock -n -x /etc/containers/systemd/users true || held=$((held + 1)); sleep 0.02; done; \
         wait $pid; echo $? $held $probes"
    );
    let out = m.sh_ok(&script);
    let numbers: Vec<i64> = out
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    let [code, held, probes] = numbers[..] else {
        panic!("unexpected probe output {out:?}");
    };
    (code as i32, held as u32, probes as u32)
}

/// Pod `shop` publishing 8090 (`front`) and 8091 (`probe`); `front` serves the image's page on
/// 8080; `probe`'s main process fetches that page over 127.0.0.1 and only then serves it on 8081,
/// so the page on 8091 is what one member got from the other over the pod's localhost. With
/// `extra`, a third member that sleeps.
fn pod_inventory(extra: bool) -> String {
    let mut s = format!(
        r#"[defaults]
image = "{image}"
init = true
stop_timeout = "2s"

[pods.shop]
ports = ["127.0.0.1:8090:8080", "127.0.0.1:8091:8081"]

[containers.front]
pod = "shop"
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "1s", timeout = "2s", retries = 3 }}

[containers.probe]
pod = "shop"
cmd = ["/bin/sh", "-c", "mkdir -p /got; until wget -q -O /got/index.html http://127.0.0.1:8080/; do sleep 0.2; done; exec httpd -f -p 8081 -h /got"]
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8081/", interval = "1s", timeout = "2s", retries = 3 }}
"#,
        image = web_image()
    );
    if extra {
        s.push_str("\n[containers.extra]\npod = \"shop\"\ncmd = [\"/bin/sleep\", \"100000\"]\n");
    }
    s
}

/// The one line of `quadgen status` about `service`.
fn status_line<'a>(status: &'a str, service: &str) -> &'a str {
    status
        .lines()
        .find(|l| l.trim_start().starts_with(service))
        .unwrap_or_else(|| panic!("no {service} in status:\n{status}"))
}

/// `quadgen status` (text) shows each of `services` up and, for a member, in pod `shop`.
fn assert_status_reports_members(status: &str, services: &[&str]) {
    for service in services {
        let line = status_line(status, service);
        assert!(line.contains("active/running"), "{status}");
        if *service != "shop-pod.service" {
            assert!(line.contains("pod=shop"), "{status}");
        }
    }
}

#[test]
fn a_pod_runs_rootless_as_its_user_and_a_member_that_leaves_stops_alone() {
    let mut steps = Steps::new("rootless pod");
    let Some(m) = boot_with_alice(&mut steps) else {
        return;
    };

    // As alice, `install --user`: the pod and its three members run under her podman.
    let alice = |argv: &[&str]| as_user(&m, "alice", ALICE_UID, argv);
    let inventory = "/home/alice/inventory.toml";
    m.write_file(inventory, pod_inventory(true));
    m.run_ok(["chown", "alice:", inventory]);
    ok(
        "quadgen install --user",
        alice(&["quadgen", "install", "--user", inventory]),
    );
    steps.step("quadgen install --user (pod + 3 members)");
    let units = [
        "shop-pod.service",
        "front.service",
        "probe.service",
        "extra.service",
    ];
    for unit in units {
        wait_user_active(&m, "alice", unit, Duration::from_secs(30));
    }
    wait_http(
        &m,
        "http://127.0.0.1:8090/",
        "v1\n",
        Duration::from_secs(10),
    );
    // probe got this page from front over the pod's 127.0.0.1
    wait_http(
        &m,
        "http://127.0.0.1:8091/",
        "v1\n",
        Duration::from_secs(10),
    );
    assert_eq!(
        podman_ps(&m, Some(("alice", ALICE_UID))),
        ["extra", "front", "probe", "shop-infra"]
    );
    assert_eq!(podman_ps(&m, None), Vec::<String>::new());
    let pods = ok(
        "podman pod ps",
        alice(&["podman", "pod", "ps", "--format", "{{.Name}}"]),
    );
    assert_eq!(pods.trim(), "shop");
    let status = ok(
        "quadgen status --user",
        alice(&["quadgen", "status", "--user"]),
    );
    assert_status_reports_members(&status, &units);
    let pause = "/home/alice/.config/systemd/user/quadgen-podman-pause.service";
    assert!(
        m.exists(pause),
        "--user writes it beside alice's own user units"
    );
    assert_eq!(
        user_property(&m, "alice", "quadgen-podman-pause.service", "ActiveState"),
        "active"
    );
    steps.step("checks");

    // `extra` leaves the inventory: only it stops; the pod and the others keep running.
    let ids = |units: &[&str]| -> Vec<String> {
        units
            .iter()
            .map(|u| user_property(&m, "alice", u, "InvocationID"))
            .collect()
    };
    let before = ids(&units[..3]);
    m.write_file(inventory, pod_inventory(false));
    ok(
        "quadgen install --user (extra removed)",
        alice(&["quadgen", "install", "--user", inventory]),
    );
    steps.step("quadgen install --user (extra removed)");
    assert_eq!(
        user_property(&m, "alice", "extra.service", "LoadState"),
        "not-found"
    );
    assert_eq!(ids(&units[..3]), before, "only extra stopped");
    assert_eq!(
        podman_ps(&m, Some(("alice", ALICE_UID))),
        ["front", "probe", "shop-infra"]
    );
    assert_eq!(m.http_get("http://127.0.0.1:8091/").as_deref(), Ok("v1\n"));
    ok(
        "quadgen uninstall --user",
        alice(&["quadgen", "uninstall", "--user"]),
    );
    assert!(!m.exists(pause), "uninstall --user removes it");
    assert_eq!(
        podman_ps(&m, Some(("alice", ALICE_UID))),
        Vec::<String>::new()
    );
    steps.step("uninstall --user");

    // The same pod installed for alice by root (`--for-user`): it runs as alice too.
    m.write_file("/root/inventory.toml", pod_inventory(false));
    run_ok_reporting(
        &m,
        &[
            "quadgen",
            "install",
            "--for-user",
            "alice",
            "/root/inventory.toml",
        ],
    );
    steps.step("quadgen install --for-user alice (pod + 2 members)");
    for unit in &units[..3] {
        wait_user_active(&m, "alice", unit, Duration::from_secs(30));
    }
    wait_http(
        &m,
        "http://127.0.0.1:8091/",
        "v1\n",
        Duration::from_secs(10),
    );
    assert_eq!(
        podman_ps(&m, Some(("alice", ALICE_UID))),
        ["front", "probe", "shop-infra"]
    );
    assert_eq!(podman_ps(&m, None), Vec::<String>::new());
    let status = m.run_ok(["quadgen", "status", "--for-user", "alice"]);
    assert_status_reports_members(&status, &units[..3]);
    steps.step("checks");
    steps.finish();
}

/// `n` health-gated containers (`c1`…), each serving the image's page on its own port from 8080.
fn health_gated(n: u16) -> String {
    (1..=n)
        .map(|i| {
            format!(
                r#"[containers.c{i}]
image = "{image}"
init = true
ports = ["127.0.0.1:{port}:8080"]
health = {{ cmd = "wget -q -O /dev/null http://127.0.0.1:8080/", interval = "1s", timeout = "2s", retries = 2 }}

"#,
                image = web_image(),
                port = 8079 + i
            )
        })
        .collect()
}

/// A user unit's monotonic timestamp property (µs since boot; 0 when it never happened).
fn user_monotonic(m: &Machine, unit: &str, property: &str) -> u64 {
    user_property(m, "alice", unit, property)
        .parse()
        .unwrap_or_else(|e| panic!("{unit} {property}: {e}"))
}

/// The boot race of podman 5.4.2 rootless, fixed: with three health-gated containers of a
/// lingering user, every one of 6 reboots brings all three up (`Notify=healthy`: each start
/// waits for its health check). Before quadgen's `quadgen-podman-pause.service`, the three
/// started together on a podman that had not run since boot, each set podman up at once, and a
/// start's `READY=1` could be lost (systemd 257 drops a notification whose sender has exited by
/// the time it reads it, and rootless `podman run` sends it from its re-executed child, which
/// its parent reaps at once): the unit stayed `activating` until `TimeoutStartSec=`. This test
/// without the unit: 4 of 12 boots hung (one to two of the three containers each); by hand with
/// two containers, 3 of 6 without, 0 of 16 with. At 1 in 3, 6 boots show the old bug with 91 %
/// probability.
#[test]
fn health_gated_rootless_containers_come_up_on_every_boot() {
    const BOOTS: usize = 6;
    const N: u16 = 3;
    let mut steps = Steps::new("rootless boots");
    let Some(mut m) = boot_with_alice(&mut steps) else {
        return;
    };
    m.write_file("/root/inventory.toml", health_gated(N));
    let out = run_ok_reporting(
        &m,
        &[
            "quadgen",
            "install",
            "--for-user",
            "alice",
            "/root/inventory.toml",
        ],
    );
    let pause = "/etc/systemd/user/quadgen-podman-pause.service";
    assert!(m.exists(pause), "{out}");
    steps.step("setup + quadgen install --for-user alice");
    let services: Vec<String> = (1..=N).map(|i| format!("c{i}.service")).collect();
    for boot in 1..=BOOTS {
        m.reboot();
        let up = std::time::Instant::now();
        for s in &services {
            wait_user_active(&m, "alice", s, Duration::from_secs(60));
        }
        let restarts: Vec<String> = services
            .iter()
            .map(|s| user_property(&m, "alice", s, "NRestarts"))
            .collect();
        steps.step(&format!(
            "boot {boot}: all {N} active {:.2} s after the machine was up (restarts {})",
            up.elapsed().as_secs_f64(),
            restarts.join("/")
        ));
        // podman was set up once, before any container's start
        let ready = user_monotonic(
            &m,
            "quadgen-podman-pause.service",
            "ActiveEnterTimestampMonotonic",
        );
        assert!(ready > 0, "quadgen-podman-pause.service did not run");
        for s in &services {
            let started = user_monotonic(&m, s, "ExecMainStartTimestampMonotonic");
            assert!(ready <= started, "{s} started before podman was set up");
        }
    }
    for port in 8080..8080 + N {
        wait_http(
            &m,
            &format!("http://127.0.0.1:{port}/"),
            "v1\n",
            Duration::from_secs(10),
        );
    }
    m.run_ok(["quadgen", "uninstall", "--for-user", "alice"]);
    assert!(!m.exists(pause), "the last user's uninstall removes it");
    steps.finish();
}
