//! The NixOS module's activation hook (`quadgen-install.service`), taken from a real evaluation of
//! `contrib/nixos/module.nix` (tests/nixos/hook-command.nix: nixpkgs' `lib.evalModules` and
//! NixOS's own unit rendering), run on a real systemd 257 + podman 5.4.2 (Debian trixie) booted in
//! systemd-nspawn (tests/support/nspawn.rs):
//!
//! * the rendered unit file, with the inventory at its `/nix/store` path, starts and installs the
//!   inventory: every container runs and serves;
//! * a `nixos-rebuild switch` to a changed inventory (a new store path, so a changed unit, which
//!   switch-to-configuration restarts because of `stopIfChanged = false`) restarts exactly the
//!   changed container, with its new settings, and leaves the other one running.
//!
//! Needs root, the provisioned machine root and Nix (`sudo bash tests/provision.sh`).
//! `QUADGEN_SKIP_E2E=1` / `QUADGEN_SKIP_NIX=1` turn "cannot run here" into a loud SKIPPED line.

#[path = "support/nspawn.rs"]
mod nspawn;

#[path = "support/host_e2e.rs"]
mod host_e2e;

use host_e2e::{Steps, publish_web, wait_http};
use nspawn::Machine;
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

const PROVISION: &str = "run bash tests/provision.sh (or bash tests/provision/nix.sh)";
const FIXTURE: &str = "tests/nixos/fixtures/e2e-inventory.toml";
const UNIT: &str = "/etc/systemd/system/quadgen-install.service";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The nixpkgs snapshot, or `None` (after a SKIPPED line) when `QUADGEN_SKIP_NIX=1`; panics when
/// Nix or the snapshot is missing.
fn nixpkgs_snapshot(test: &str) -> Option<PathBuf> {
    if std::env::var("QUADGEN_SKIP_NIX").as_deref() == Ok("1") {
        // Written past libtest's capture so it shows even for a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!! SKIPPED (QUADGEN_SKIP_NIX=1): end-to-end test `{test}` !!!!!!!!\n"
        );
        return None;
    }
    let runs = Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "`nix-instantiate` not found: {PROVISION}, or set QUADGEN_SKIP_NIX=1 to skip"
    );
    let cache = match std::env::var_os("QUADGEN_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache/quadgen-test"),
    };
    let snapshot = std::fs::canonicalize(cache.join("nixpkgs")).unwrap_or_else(|e| {
        panic!(
            "no nixpkgs snapshot at `{}` ({e}): {PROVISION}, or set QUADGEN_SKIP_NIX=1 to skip",
            cache.join("nixpkgs").display()
        )
    });
    assert!(
        snapshot.join("nixos/lib/utils.nix").is_file(),
        "`{}` is not the nixpkgs snapshot: {PROVISION}",
        snapshot.display()
    );
    Some(snapshot)
}

/// The hook as one evaluation of the module renders it.
struct Hook {
    /// The whole unit file, as NixOS would write it.
    unit: String,
    /// The inventory's `/nix/store` path, as the unit names it.
    inventory: String,
    /// The inventory's contents (from the evaluation's chroot store).
    inventory_text: String,
}

/// Evaluates tests/nixos/hook-command.nix for `case`, with quadgen in /usr/local and podman in
/// /usr (where the test machine has them).
fn eval_hook(snapshot: &Path, case: &Path) -> Hook {
    let tmp = TempDir::new().expect("temp dir");
    let out = Command::new("nix-instantiate")
        .current_dir(repo())
        .env(
            "NIX_CONFIG",
            "build-users-group =\nexperimental-features = nix-command\nsubstituters =",
        )
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .args([
            "--eval",
            "--strict",
            "--json",
            "--read-write-mode",
            "--store",
        ])
        .arg(tmp.path().join("store"))
        .arg("tests/nixos/hook-command.nix")
        .args(["--arg", "nixpkgs"])
        .arg(snapshot)
        .args(["--arg", "case"])
        .arg(case)
        .args([
            "--argstr",
            "quadgenPrefix",
            "/usr/local",
            "--argstr",
            "podmanPrefix",
            "/usr",
        ])
        .output()
        .expect("run nix-instantiate");
    assert!(
        out.status.success(),
        "evaluating {}:\n{}",
        case.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let hook: Value = serde_json::from_slice(&out.stdout).expect("JSON from nix-instantiate");
    let field = |name: &str| {
        hook[name]
            .as_str()
            .unwrap_or_else(|| panic!("no `{name}` in {hook:#}"))
            .to_owned()
    };
    let inventory = field("inventory");
    assert!(inventory.starts_with("/nix/store/"), "{inventory}");
    let exec = format!(
        r#""/usr/local/bin/quadgen" "install" "{inventory}" "--root" "/etc/containers/systemd""#
    );
    assert_eq!(field("execStart"), exec);
    let inventory_text = std::fs::read_to_string(
        tmp.path()
            .join("store")
            .join(inventory.trim_start_matches('/')),
    )
    .expect("the inventory in the evaluation's chroot store");
    Hook {
        unit: field("unit"),
        inventory,
        inventory_text,
    }
}

/// What activation does with a (new or changed) hook: the inventory's store path appears, the
/// unit file is replaced, systemd reloads; then `systemctl VERB quadgen-install.service`.
fn activate(m: &Machine, hook: &Hook, verb: &str) {
    m.write_file(&hook.inventory, &hook.inventory_text);
    m.write_file(UNIT, &hook.unit);
    m.daemon_reload();
    let out = m.systemctl([verb, "quadgen-install.service"]);
    assert!(
        out.status.success(),
        "systemctl {verb} quadgen-install.service failed\n{}",
        m.unit_report("quadgen-install.service")
    );
    assert_eq!(
        m.unit_property("quadgen-install.service", "ActiveState"),
        "active"
    );
    // RemainAfterExit=: the hook stays active until the next switch changes it.
    assert_eq!(
        m.unit_property("quadgen-install.service", "SubState"),
        "exited"
    );
    assert_eq!(
        m.unit_property("quadgen-install.service", "Result"),
        "success"
    );
}

fn greeting(m: &Machine, container: &str) -> String {
    let env = m.run_ok([
        "podman",
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        container,
    ]);
    env.lines()
        .find_map(|l| l.strip_prefix("GREETING="))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn nixos_hook_installs_the_inventory_and_a_switch_restarts_exactly_what_changed() {
    let Some(snapshot) = nixpkgs_snapshot("nixos_hook") else {
        return;
    };
    let mut steps = Steps::new("nixos-hook");

    // The evaluations: the committed case, and the same after editing the inventory (a case in a
    // temporary directory, as the user's configuration after the edit).
    let first = eval_hook(
        &snapshot,
        Path::new("./tests/nixos/cases/e2e-local-registry.nix"),
    );
    assert_eq!(
        first.inventory_text,
        std::fs::read_to_string(repo().join(FIXTURE)).expect("fixture")
    );
    let edited = TempDir::new().expect("temp dir");
    let changed = first
        .inventory_text
        .replace(r#"GREETING = "first""#, r#"GREETING = "switched""#);
    assert_ne!(
        changed, first.inventory_text,
        "fixture has no GREETING to change"
    );
    // Same file name: it is in the units' headers, and a header change alone rewrites every unit.
    std::fs::write(edited.path().join("e2e-inventory.toml"), &changed).expect("write");
    std::fs::write(
        edited.path().join("case.nix"),
        "{ services.quadgen = { enable = true; inventoryFile = ./e2e-inventory.toml; }; }\n",
    )
    .expect("write");
    let second = eval_hook(&snapshot, &edited.path().join("case.nix"));
    assert_ne!(second.inventory, first.inventory);
    assert_ne!(
        second.unit, first.unit,
        "a changed inventory must change the unit"
    );
    steps.step("nix evaluations");

    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    steps.step("boot");
    publish_web(&m, "v1", &[("www/index.html", "v1\n")]);
    steps.step("build + push v1");

    // First activation: the hook installs the inventory.
    activate(&m, &first, "start");
    steps.step("systemctl start quadgen-install.service");
    for unit in ["web.service", "api.service", "app-network.service"] {
        assert!(m.is_active(unit), "{}", m.unit_report(unit));
    }
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
    assert_eq!(greeting(&m, "web"), "first");
    let status = m.run_ok(["quadgen", "status"]);
    assert!(
        status.starts_with(&format!(
            "installed from `{}`\nfiles: 3 as installed\n",
            first.inventory
        )),
        "{status}"
    );

    // The switch: quadgen restarts web (changed) and leaves api (unchanged) running.
    let web_id = m.invocation_id("web.service");
    let api_id = m.invocation_id("api.service");
    activate(&m, &second, "restart");
    steps.step("switch: systemctl restart quadgen-install.service");
    assert!(
        m.is_active("web.service"),
        "{}",
        m.unit_report("web.service")
    );
    assert_ne!(
        m.invocation_id("web.service"),
        web_id,
        "web was not restarted"
    );
    assert_eq!(greeting(&m, "web"), "switched");
    assert_eq!(
        m.invocation_id("api.service"),
        api_id,
        "api did not change, yet it was restarted"
    );
    wait_http(
        &m,
        "http://127.0.0.1:8080/",
        "v1\n",
        Duration::from_secs(10),
    );
    let journal = m.journal("quadgen-install.service");
    assert!(journal.contains("restart  web.service"), "{journal}");
    steps.finish();
}
