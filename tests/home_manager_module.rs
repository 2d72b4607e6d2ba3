//! The Home Manager module (`contrib/home-manager/module.nix`), evaluated with nixpkgs' real
//! `lib.evalModules` and option types (the nixpkgs 22.11 snapshot inside the `nixel` crate).
//! Home Manager itself is not available offline: the Home Manager options the module sets and
//! `lib.hm.dag` are stand-ins (tests/home-manager/hm-stand-in.nix), so this proves the module's
//! own options, values and assertions, not Home Manager's rendering or activation.
//! Needs `bash tests/provision.sh` (tests/provision/nix.sh); `QUADGEN_SKIP_NIX=1` skips, loudly.

#[path = "support/nix.rs"]
mod nix_support;
#[path = "support/skip.rs"]
mod skip;

use nix_support::{eval_command, nix, nix_env, repo, run, stderr, stdout};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use tempfile::TempDir;

/// Evaluates tests/home-manager/eval.nix for `case`, with quadgen at /opt/quadgen.
fn eval(case: &str) -> Option<(Output, TempDir)> {
    let env = nix_env(case)?;
    let tmp = TempDir::new().expect("temp dir");
    let mut cmd = eval_command(env, tmp.path(), "tests/home-manager/eval.nix");
    cmd.args(["--arg", "case"])
        .arg(format!("./tests/home-manager/cases/{case}.nix"))
        .args(["--argstr", "quadgenPrefix", "/opt/quadgen"]);
    Some((run(&mut cmd), tmp))
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "evaluation failed:\n{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// `nix-store --add` of `file` into the evaluation's store: the path the module must name.
fn store_path_of(file: &Path, tmp: &TempDir) -> String {
    let out = run(nix("nix-store", tmp.path())
        .arg("--store")
        .arg(tmp.path().join("store"))
        .arg("--add")
        .arg(file));
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn activation_installs_the_users_inventory_and_enables_auto_update() {
    let Some((out, tmp)) = eval("file") else {
        return;
    };
    let v = json_of(&out);
    let inventory = store_path_of(&repo().join("tests/nixos/fixtures/inventory.toml"), &tmp);
    assert_eq!(v["packages"], json!(["quadgen"]));
    assert_eq!(
        v["activation"]["quadgen"],
        json!({
            "after": ["writeBoundary"],
            "before": [],
            "data": format!(
                "export XDG_RUNTIME_DIR=\"${{XDG_RUNTIME_DIR:-/run/user/$(id -u)}}\"\n\
                 run '/opt/quadgen/bin/quadgen' 'install' '--user' '{inventory}'\n"
            ),
        })
    );
    assert_eq!(
        v["timers"],
        json!({
            "podman-auto-update": {
                "Unit": { "Description": "podman auto-update of the containers quadgen installed" },
                "Timer": { "OnCalendar": "daily", "Persistent": true, "RandomizedDelaySec": "15min" },
                "Install": { "WantedBy": ["timers.target"] },
            }
        })
    );
    let names: Vec<&str> = v["docs"]
        .as_array()
        .expect("docs")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "services.quadgen.allowRemovals",
            "services.quadgen.autoUpdate.enable",
            "services.quadgen.autoUpdate.schedule",
            "services.quadgen.enable",
            "services.quadgen.inventory",
            "services.quadgen.inventoryFile",
            "services.quadgen.package",
        ]
    );
}

#[test]
fn attrs_inventory_is_rendered_and_removals_and_the_timer_follow_the_options() {
    let Some((out, tmp)) = eval("attrs") else {
        return;
    };
    let v = json_of(&out);
    let data = v["activation"]["quadgen"]["data"]
        .as_str()
        .expect("activation script");
    let inventory = data
        .split('\'')
        .find(|w| w.ends_with("-quadgen-inventory.toml"))
        .unwrap_or_else(|| panic!("no rendered inventory in {data}"));
    assert!(
        data.ends_with(&format!("'--user' '{inventory}' '--allow-removals'\n")),
        "{data}"
    );
    // the stand-in renderer writes JSON (nixpkgs: TOML); the attrs arrive intact
    let text = std::fs::read_to_string(
        tmp.path()
            .join("store")
            .join(inventory.trim_start_matches('/')),
    )
    .expect("rendered inventory");
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("JSON"),
        json!({ "containers": { "web": { "image": "docker.io/library/nginx:1.27", "ports": ["8080:80"] } } })
    );
    assert_eq!(v["timers"], json!({}));
}

#[test]
fn both_inventory_forms_are_refused() {
    let Some((out, _tmp)) = eval("both") else {
        return;
    };
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "- set exactly one of `services.quadgen.inventoryFile` and `services.quadgen.inventory`"
        ),
        "{err}"
    );
}
