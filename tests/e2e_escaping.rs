//! Ground truth for escaping: strings full of `%`, `$`, quotes, backslashes, newlines and Unicode
//! go through `quadgen install`, the real quadlet 5.4.2, the real systemd 257 and podman 5.4.2, and
//! the running container's environment, labels and command line are compared with the inventory.
//! This also checks the systemd model the fast property test (tests/escaping.rs) relies on.

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::time::Duration;

use nspawn::{Machine, REGISTRY};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use quadgen::compile::version::PodmanVersion;

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Strings quadgen accepts as environment values and command arguments: fixed tricky ones plus
/// random ones from a fixed seed (the same every run).
fn strings() -> Vec<String> {
    let mut out: Vec<String> = [
        "$HOME",
        "${PATH}",
        "$$",
        "100%",
        "%n %h %%",
        "a b  c",
        "\"quoted\"",
        "'single'",
        "back\\slash",
        "trailing\\",
        "line1\nline2",
        "tab\there",
        "\u{1}ctl",
        "ünïcödé €",
        "{}",
        "a;b",
        "--flag=\"x y\"",
        " lead",
        "trail ",
        "#hash",
        "[section]",
        "=eq",
        "\u{a0}",
        "nb\u{a0}sp",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = "[%$\\\\\"' \t\n;\\[\\]{}=#a-z\u{1}é€😀]{1,16}";
    for _ in 0..40 {
        out.push(strategy.new_tree(&mut runner).expect("strategy").current());
    }
    out.retain(|s| !s.is_empty() && s != ";" && !s.contains('\0'));
    out
}

#[test]
fn strings_reach_the_running_container_unchanged() {
    let strings = strings();
    let env: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| format!("V{i} = {}", toml_str(s)))
        .collect();
    let labels: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| format!("\"l{i}\" = {}", toml_str(s)))
        .collect();
    let args: Vec<String> = strings.iter().map(|s| toml_str(s)).collect();
    let description = "50% of $HOME \"q\" ünï";
    let inventory = format!(
        "[containers.probe]\nimage = \"{REGISTRY}/probe:latest\"\nauto_update = \"none\"\ndescription = {}\n\
         entrypoint = \"/bin/sh\"\ncmd = [\"-c\", \"exec sleep 100000\", \"argv0\", {}]\n\
         environment = {{ {} }}\nlabels = {{ {} }}\n[containers.probe.quadlet.Container]\nRunInit = \"true\"\n",
        toml_str(description),
        args.join(", "),
        env.join(", "),
        labels.join(", ")
    );
    quadgen::compile::compile(
        Path::new("inventory.toml"),
        &inventory,
        PodmanVersion::DEFAULT,
    )
    .unwrap_or_else(|r| panic!("every string here must be accepted:\n{}", r.render(false)));

    let Some(m) = Machine::boot_with(Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
        return;
    };
    m.build_image(&format!("{REGISTRY}/probe:latest"), &[]);
    m.push_image(&format!("{REGISTRY}/probe:latest"));
    m.write_file("/root/inventory.toml", &inventory);
    m.run_ok(["quadgen", "install", "/root/inventory.toml"]);
    m.wait_active("probe.service", Duration::from_secs(60));

    let inspect: serde_json::Value =
        serde_json::from_str(&m.run_ok(["podman", "inspect", "probe"]))
            .expect("podman inspect json");
    let config = &inspect[0]["Config"];
    let cmd: Vec<&str> = config["Cmd"]
        .as_array()
        .expect("Cmd")
        .iter()
        .map(|v| v.as_str().expect("str"))
        .collect();
    let mut expected_cmd = vec!["-c", "exec sleep 100000", "argv0"];
    expected_cmd.extend(strings.iter().map(String::as_str));
    assert_eq!(cmd, expected_cmd, "command line");
    let env: Vec<&str> = config["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .map(|v| v.as_str().expect("str"))
        .collect();
    for (i, s) in strings.iter().enumerate() {
        let want = format!("V{i}={s}");
        assert!(
            env.contains(&want.as_str()),
            "environment V{i} = {s:?} missing from {env:?}"
        );
        assert_eq!(
            config["Labels"][format!("l{i}")].as_str(),
            Some(s.as_str()),
            "label l{i}"
        );
    }
    assert_eq!(m.unit_property("probe.service", "Description"), description);
}
