//! Secrets on a real systemd 257 + podman 5.4.2 (Debian trixie in systemd-nspawn): the value
//! reaches the containers' main processes (read from /proc on the host side, not through
//! `podman exec`, which shows the secret store's current value rather than the process's), a
//! rotated file restarts exactly its consumers, a missing file changes nothing, and no value is
//! ever in a unit, the manifest or quadgen's output.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};

const INVENTORY: &str = "/root/inventory.toml";
const UNITS: &str = "/etc/containers/systemd";
const SECRET_FILE: &str = "/root/keys/db_password";
const START: Duration = Duration::from_secs(90);

fn boot() -> Option<Machine> {
    Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen")))
}

/// `envc` gets secret `db` as `API_TOKEN`, `filec` as a file at `/run/secrets/db` and at
/// `/etc/app/db` (mode 0400), `plain` none. `tag` changes `plain`'s definition.
fn inventory(tag: &str) -> String {
    let image = format!("{REGISTRY}/web:latest");
    format!(
        r#"[defaults]
restart = "always"
stop_timeout = "2s"
cmd = ["/bin/sleep", "100000"]
[defaults.quadlet.Container]
RunInit = "true"

[secrets.db]
file = "{SECRET_FILE}"

[containers.envc]
image = "{image}"
secrets = [{{ name = "db", type = "env", target = "API_TOKEN" }}]

[containers.filec]
image = "{image}"
secrets = ["db", {{ name = "db", target = "/etc/app/db", mode = "0400" }}]

[containers.plain]
image = "{image}"
environment = {{ TAG = "{tag}" }}
"#
    )
}

fn install(m: &Machine) -> (i32, String) {
    let out = m.run(["quadgen", "install", INVENTORY]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn install_ok(m: &Machine) -> String {
    let (code, out) = install(m);
    assert_eq!(code, 0, "quadgen install failed:\n{out}");
    out
}

/// The environment of a container's main process, from /proc (not `podman exec`).
fn main_env(m: &Machine, container: &str) -> String {
    let pid = main_pid(m, container);
    m.sh_ok(&format!("tr '\\0' '\\n' < /proc/{pid}/environ"))
}

/// Both consumers' main processes see `value`: `envc` as `API_TOKEN`, `filec` in
/// `/run/secrets/db` (the main process, not `podman exec`, which shows a newer value than the
/// process has).
fn assert_consumers_see(m: &Machine, value: &str, context: &str) {
    assert!(
        main_env(m, "envc")
            .lines()
            .any(|l| l == format!("API_TOKEN={value}")),
        "envc's main process has API_TOKEN={value}: {context}"
    );
    assert_eq!(main_file(m, "filec", "/run/secrets/db"), value, "{context}");
}

/// A file as the container's main process sees it, through /proc/PID/root.
fn main_file(m: &Machine, container: &str, path: &str) -> String {
    let pid = main_pid(m, container);
    m.sh_ok(&format!("cat /proc/{pid}/root{path}"))
}

fn main_pid(m: &Machine, container: &str) -> String {
    let pid = m.run_ok(["podman", "inspect", "--format", "{{.State.Pid}}", container]);
    let pid = pid.trim().to_string();
    assert!(
        pid.parse::<u32>().is_ok_and(|p| p > 0),
        "{container}: {pid}"
    );
    pid
}

/// Every place a value must never be: the unit files, the manifest, the key file's neighbours.
fn assert_value_nowhere(m: &Machine, value: &str, output: &str) {
    assert!(
        !output.contains(value),
        "quadgen printed the secret:\n{output}"
    );
    let found = m.sh(&format!(
        "grep -rlF -- '{value}' {UNITS} /run/systemd/generator"
    ));
    assert!(
        String::from_utf8_lossy(&found.stdout).trim().is_empty(),
        "secret value in {}",
        String::from_utf8_lossy(&found.stdout)
    );
}

fn ids(m: &Machine) -> [String; 3] {
    ["envc.service", "filec.service", "plain.service"].map(|u| m.invocation_id(u))
}

#[test]
fn secrets_reach_their_consumers_and_a_rotation_restarts_exactly_them() {
    let Some(m) = boot() else { return };
    m.build_image(&format!("{REGISTRY}/web:latest"), &[]);
    m.push_image(&format!("{REGISTRY}/web:latest"));
    m.sh_ok("mkdir -p /root/keys && chmod 700 /root/keys");
    m.write_file(SECRET_FILE, "first-Value-71");
    m.write_file(INVENTORY, inventory("1"));

    let out = install_ok(&m);
    for u in ["envc.service", "filec.service", "plain.service"] {
        m.wait_active(u, START);
    }
    assert_consumers_see(&m, "first-Value-71", "the first install");
    assert_eq!(main_file(&m, "filec", "/etc/app/db"), "first-Value-71");
    let mode = m.sh_ok(&format!(
        "stat -c %a /proc/{}/root/etc/app/db",
        main_pid(&m, "filec")
    ));
    assert_eq!(mode.trim(), "400");
    assert!(!main_env(&m, "plain").contains("first-Value-71"));
    assert_value_nowhere(&m, "first-Value-71", &out);
    let key_mode = m.sh_ok(&format!("stat -c %a {UNITS}/.quadgen-secret-key"));
    assert_eq!(key_mode.trim(), "600", "the HMAC key is private");
    let label = m.run_ok([
        "podman",
        "secret",
        "inspect",
        "--format",
        "{{index .Spec.Labels \"io.quadgen.managed\"}}",
        "db",
    ]);
    assert_eq!(label.trim(), "true", "quadgen marks the secret as its own");

    // Nothing changed: nothing restarts.
    let before = ids(&m);
    let out = install_ok(&m);
    assert_eq!(
        ids(&m),
        before,
        "a no-op install restarted something:\n{out}"
    );

    // Rotation: exactly the two consumers restart and see the new value.
    m.write_file(SECRET_FILE, "second-Value-72");
    let plan = m.run_ok(["quadgen", "plan", INVENTORY]);
    assert!(
        plan.contains("replace  db (content changed; restarts envc.service, filec.service)"),
        "{plan}"
    );
    let out = install_ok(&m);
    m.wait_active("envc.service", START);
    m.wait_active("filec.service", START);
    let after = ids(&m);
    assert_ne!(after[0], before[0], "envc restarted:\n{out}");
    assert_ne!(after[1], before[1], "filec restarted:\n{out}");
    assert_eq!(after[2], before[2], "plain kept running:\n{out}");
    assert_consumers_see(&m, "second-Value-72", "after the rotation");
    assert_value_nowhere(&m, "second-Value-72", &(out + &plan));
    let manifest = m.read_file(&format!("{UNITS}/.quadgen-manifest.json"));
    assert!(!manifest.contains("second-Value-72") && manifest.contains("hmac_sha256"));

    // A missing file: an error naming it and both containers; nothing changes, not even the
    // other container whose definition changed.
    m.remove(SECRET_FILE);
    m.write_file(INVENTORY, inventory("2"));
    let files_before = m.sh_ok(&format!(
        "cd {UNITS} && sha256sum .quadgen-manifest.json *.container"
    ));
    let before = ids(&m);
    let (code, out) = install(&m);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("`{SECRET_FILE}`")), "{out}");
    assert!(out.contains("`envc`, `filec`"), "{out}");
    assert!(out.contains("nothing was changed"), "{out}");
    assert_eq!(
        m.sh_ok(&format!(
            "cd {UNITS} && sha256sum .quadgen-manifest.json *.container"
        )),
        files_before
    );
    assert_eq!(ids(&m), before, "nothing restarted");

    // A podman secret someone else made is never replaced: refused, exit 3, nothing changed.
    m.write_file(SECRET_FILE, "third-Value-73");
    let made = m.run_stdin(
        ["podman", "secret", "create", "theirs", "-"],
        b"their-value",
    );
    assert!(made.status.success(), "{made:?}");
    let theirs = format!(
        "{}\n[secrets.theirs]\nfile = \"{SECRET_FILE}\"\n",
        inventory("1").replace(
            "[containers.plain]\n",
            "[containers.plain]\nsecrets = [\"theirs\"]\n",
        )
    );
    m.write_file(INVENTORY, &theirs);
    let (code, out) = install(&m);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("podman secret `theirs` exists and quadgen did not create it"),
        "{out}"
    );
    assert_eq!(ids(&m), before, "nothing restarted");
    let exists = m.run(["podman", "secret", "exists", "theirs"]);
    assert!(exists.status.success(), "their secret is still there");

    // No container uses `db` any more: its consumers restart without it, then it is removed.
    m.write_file(
        INVENTORY,
        inventory("1")
            .replace("secrets = [{ name = \"db\", type = \"env\", target = \"API_TOKEN\" }]\n", "")
            .replace("secrets = [\"db\", { name = \"db\", target = \"/etc/app/db\", mode = \"0400\" }]\n", ""),
    );
    let out = install_ok(&m);
    m.wait_active("envc.service", START);
    m.wait_active("filec.service", START);
    assert!(!main_env(&m, "envc").contains("API_TOKEN"), "{out}");
    let gone = m.run(["podman", "secret", "exists", "db"]);
    assert_eq!(
        gone.status.code(),
        Some(1),
        "quadgen's secret removed:\n{out}"
    );
    assert!(
        m.run(["podman", "secret", "exists", "theirs"])
            .status
            .success()
    );
    m.halt().expect("halt");
}

#[test]
fn a_no_systemd_install_owes_the_secret_until_an_install_with_systemd() {
    let Some(m) = boot() else { return };
    m.build_image(&format!("{REGISTRY}/web:latest"), &[]);
    m.push_image(&format!("{REGISTRY}/web:latest"));
    m.sh_ok("mkdir -p /root/keys && chmod 700 /root/keys");
    m.write_file(SECRET_FILE, "offline-Value-81");
    m.write_file(INVENTORY, inventory("1"));

    let out = m.run(["quadgen", "install", INVENTORY, "--no-systemd"]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("podman secret create --replace db"), "{text}");
    assert_eq!(
        m.run(["podman", "secret", "exists", "db"]).status.code(),
        Some(1),
        "no podman call with --no-systemd"
    );
    let status = m.run(["quadgen", "status", INVENTORY, "--no-systemd"]);
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned()
        + &String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "{status_text}");
    assert!(
        status_text.contains("systemd work is owed"),
        "{status_text}"
    );
    assert!(!status_text.contains("unmanaged"), "{status_text}");

    let out = install_ok(&m);
    for u in ["envc.service", "filec.service", "plain.service"] {
        m.wait_active(u, START);
    }
    assert_consumers_see(&m, "offline-Value-81", &out);
    assert_value_nowhere(&m, "offline-Value-81", &(out + &text + &status_text));
    let manifest = m.read_file(&format!("{UNITS}/.quadgen-manifest.json"));
    assert!(
        !manifest.contains("pending"),
        "nothing owed any more:\n{manifest}"
    );
    m.halt().expect("halt");
}
