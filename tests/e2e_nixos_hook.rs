//! The NixOS module's activation hook (`quadgen-install.service`), taken from a real evaluation of
//! `contrib/nixos/module.nix` (tests/nixos/hook-command.nix: nixpkgs' `lib.evalModules` and
//! NixOS's own unit rendering), run on a real systemd 257 + podman 5.4.2 (Debian trixie) booted in
//! systemd-nspawn (tests/support/nspawn.rs):
//!
//! * the rendered unit file, with the inventory at its `/nix/store` path, starts and installs the
//!   inventory: every container runs and serves;
//! * a `nixos-rebuild switch` to a changed inventory (a new store path, so a changed unit, which
//!   switch-to-configuration restarts because of `stopIfChanged = false`) restarts exactly the
//!   changed container, with its new settings, and leaves the other one running;
//! * with web held by `quadgen edit`, a switch that changes web does not fail: the hook succeeds
//!   and web keeps running as edited.
//!
//! Needs root, the provisioned machine root and Nix (`sudo bash tests/provision.sh`).
//! `QUADGEN_SKIP_E2E=1` / `QUADGEN_SKIP_NIX=1` turn "cannot run here" into a loud SKIPPED line.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

#[path = "support/host_e2e.rs"]
mod host_e2e;

#[path = "support/nix.rs"]
mod nix_support;

use host_e2e::{Steps, publish_web, wait_http};
use nix_support::{Hook, eval_hook, nix_env, repo};
use nspawn::Machine;
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;

const FIXTURE: &str = "tests/nixos/fixtures/e2e-inventory.toml";
const UNIT: &str = "/etc/systemd/system/quadgen-install.service";

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
    let Some(env) =
        nix_env("nixos_hook_installs_the_inventory_and_a_switch_restarts_exactly_what_changed")
    else {
        return;
    };
    let mut steps = Steps::new("nixos-hook");

    // The evaluations: the committed case, and the same after editing the inventory (a case in a
    // temporary directory, as the user's configuration after the edit).
    let first = eval_hook(
        env,
        Some(Path::new("./tests/nixos/cases/e2e-local-registry.nix")),
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
    std::fs::write(edited.path().join("e2e-inventory.toml"), &changed).expect("write");
    std::fs::write(
        edited.path().join("case.nix"),
        "{ services.quadgen = { enable = true; inventoryFile = ./e2e-inventory.toml; }; }\n",
    )
    .expect("write");
    let second = eval_hook(env, Some(&edited.path().join("case.nix")));
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
    m.assert_restarted("web.service", &web_id);
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

    // Debugging on the host: `quadgen edit web` holds web. A switch back to the first inventory
    // (which changes web) must not fail: the hook installs, leaves the held web as it is, and
    // says so.
    m.write_file(
        "/root/edit.sh",
        "#!/bin/sh\nsed -i -e '/^\\[Container\\]/a Environment=DEBUG=held' \"$1\"\n",
    );
    m.run_ok(["chmod", "755", "/root/edit.sh"]);
    m.run_ok(["env", "EDITOR=/root/edit.sh", "quadgen", "edit", "web"]);
    let web_id = m.invocation_id("web.service");
    assert!(m.container_env("web").contains(&"DEBUG=held".to_string()));
    activate(&m, &first, "restart");
    steps.step("switch with web held");
    assert_eq!(
        m.invocation_id("web.service"),
        web_id,
        "the held web was restarted by the switch"
    );
    assert_eq!(
        greeting(&m, "web"),
        "switched",
        "the held web kept its file"
    );
    assert!(m.container_env("web").contains(&"DEBUG=held".to_string()));
    let journal = m.journal("quadgen-install.service");
    assert!(journal.contains("= held web.container"), "{journal}");
    steps.finish();
}
