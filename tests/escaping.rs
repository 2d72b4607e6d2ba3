//! Property: any string in an environment value, a label, a command argument, an entrypoint, a
//! health command or a description either reaches podman (or systemd) exactly as written, through
//! the real quadlet and systemd's unquoting, `%` and `$` rules, or is refused with an error.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use oracle::{Oracle, args_after_image, option_values, oracles, podman_argv};
use proptest::prelude::*;
use quadgen::compile::version::PodmanVersion;

const IMAGE: &str = "docker.io/library/busybox:latest";

/// Strings rich in everything that has a meaning to TOML, quadlet or systemd.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[%$\\\\\"' \t\n\r;\\[\\]{}=#a-z\u{1}\u{7f}é€😀]{0,16}",
        Just(String::new()),
        Just(";".to_string()),
        Just("$HOME".to_string()),
        Just("${HOME}".to_string()),
        Just("%n%%".to_string()),
        Just("\"quoted\"".to_string()),
        Just("trailing\\".to_string()),
        Just("\"".to_string()),
        Just("\u{a0}".to_string()),
        Just("x\u{a0}".to_string()),
    ]
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// One container per place a string can go, so every accepted one is checked in one quadlet run.
#[derive(Debug, Clone)]
struct Case {
    env: String,
    label: String,
    args: Vec<String>,
    entrypoint: String,
    health: String,
    description: String,
}

fn inventories(c: &Case) -> Vec<(&'static str, String)> {
    let head = |name: &str| format!("[containers.{name}]\nimage = \"{IMAGE}\"\n");
    vec![
        (
            "env",
            format!(
                "{}environment = {{ VAL = {} }}\n",
                head("env"),
                toml_str(&c.env)
            ),
        ),
        (
            "label",
            format!(
                "{}labels = {{ \"x.val\" = {} }}\n",
                head("label"),
                toml_str(&c.label)
            ),
        ),
        (
            "args",
            format!(
                "{}cmd = [{}]\n",
                head("args"),
                c.args
                    .iter()
                    .map(|a| toml_str(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        (
            "entrypoint",
            format!(
                "{}entrypoint = {}\n",
                head("entrypoint"),
                toml_str(&c.entrypoint)
            ),
        ),
        (
            "health",
            format!(
                "{}health = {{ cmd = {} }}\n",
                head("health"),
                toml_str(&c.health)
            ),
        ),
        (
            "description",
            format!(
                "{}description = {}\n",
                head("description"),
                toml_str(&c.description)
            ),
        ),
    ]
}

/// What quadgen must accept: word keys take anything but NUL, an empty argument and a lone `;`;
/// single-value keys anything without control characters or edge quotes/whitespace.
fn must_accept(kind: &str, c: &Case) -> bool {
    let single_ok = |s: &str| {
        !s.is_empty()
            && !s.chars().any(char::is_control)
            && !s.starts_with(['"', ' ', '\u{a0}'])
            && !s.ends_with('"')
            && s.trim() == s
    };
    match kind {
        "env" => !c.env.contains('\0'),
        "label" => !c.label.contains('\0'),
        "args" => c
            .args
            .iter()
            .all(|a| !a.is_empty() && a != ";" && !a.contains('\0')),
        "entrypoint" => single_ok(&c.entrypoint) && c.entrypoint != ";",
        "health" => single_ok(&c.health) && !c.health.trim().is_empty() && c.health != ";",
        "description" => single_ok(&c.description) && !c.description.ends_with('\\'),
        _ => unreachable!(),
    }
}

fn check(c: &Case, oracles: &[Oracle]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut accepted = Vec::new();
    for (kind, inv) in inventories(c) {
        match quadgen::compile::compile(Path::new("p.toml"), &inv, PodmanVersion::DEFAULT) {
            Ok(compiled) => {
                for f in &compiled.files {
                    std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write");
                }
                accepted.push(kind);
            }
            Err(rejected) => {
                let text = rejected.render(false);
                prop_assert!(
                    !must_accept(kind, c),
                    "{kind} wrongly refused:\n{text}\n{inv}"
                );
                prop_assert!(text.contains("p.toml:"), "error names the place: {text}");
            }
        }
    }
    for o in oracles {
        let run = o.dryrun(dir.path());
        prop_assert!(
            run.ok && run.problems().is_empty(),
            "quadlet {}: {}",
            o.version,
            run.stderr
        );
        for kind in &accepted {
            let service = run.service(&format!("{kind}.service"));
            let argv = podman_argv(service);
            match *kind {
                "env" => prop_assert_eq!(
                    option_values(&argv, "--env"),
                    vec![format!("VAL={}", c.env)]
                ),
                "label" => prop_assert!(
                    option_values(&argv, "--label")
                        .contains(&format!("x.val={}", c.label).as_str()),
                    "{:?}",
                    argv
                ),
                "args" => prop_assert_eq!(args_after_image(&argv, IMAGE), c.args.as_slice()),
                "entrypoint" => prop_assert_eq!(
                    option_values(&argv, "--entrypoint"),
                    vec![c.entrypoint.as_str()]
                ),
                "health" => prop_assert_eq!(
                    option_values(&argv, "--health-cmd"),
                    vec![c.health.as_str()]
                ),
                "description" => {
                    // systemd expands specifiers in Description=; `%%` is the only literal.
                    let d = service.last("Unit", "Description").expect("Description");
                    prop_assert_eq!(d.replace("%%", "%"), c.description.clone());
                    prop_assert!(!d.replace("%%", "").contains('%'));
                }
                _ => unreachable!(),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn strings_reach_podman_unchanged_or_are_refused(
        env in nasty(), label in nasty(), args in prop::collection::vec(nasty(), 1..4),
        entrypoint in nasty(), health in nasty(), description in nasty(),
    ) {
        let os = oracles();
        check(&Case { env, label, args, entrypoint, health, description }, &os)?;
    }
}

#[test]
fn known_tricky_strings() {
    let os = oracles();
    let case = Case {
        env: "$HOME ${PATH} 100% \"q\" 'a' \\ \n tab\t end".into(),
        label: "%n $X".into(),
        args: vec![
            "--flag".into(),
            "a b".into(),
            "\\".into(),
            "$1".into(),
            "%%".into(),
            "{}".into(),
        ],
        entrypoint: "/bin/sh -c 'echo $X'".into(),
        health: "curl -f \"http://localhost/\" || exit 1".into(),
        description: "50% of ${X}".into(),
    };
    for kind in [
        "env",
        "label",
        "args",
        "entrypoint",
        "health",
        "description",
    ] {
        assert!(must_accept(kind, &case), "{kind}");
    }
    check(&case, &os).expect("tricky strings survive");
}

/// A unit-setting value as systemd reads it in `RequiresMountsFor=`: words (quotes removed), then
/// `%` specifiers (`%%` is the only literal; anything else shows as `<%x>`).
fn mount_paths(value: &str) -> Vec<String> {
    oracle::systemd_argv(value)
        .into_iter()
        .map(|w| w.replace("$$", "$"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Host paths reach `podman run -v` and `RequiresMountsFor=` (ours and quadlet's copy) as the
    /// same path, or are refused.
    #[test]
    fn host_paths_mean_the_same_path_everywhere_or_are_refused(tail in nasty(), file in nasty()) {
        let os = oracles();
        let source = format!("/srv/{tail}");
        let env_file = format!("/run/{file}.env");
        let inv = format!(
            "[containers.p]\nimage = \"{IMAGE}\"\nvolumes = [{}]\nenvironment_files = [{}]\n",
            toml_str(&format!("{source}:/data")),
            toml_str(&env_file)
        );
        let dir = tempfile::tempdir().expect("tempdir");
        match quadgen::compile::compile(Path::new("p.toml"), &inv, PodmanVersion::DEFAULT) {
            Err(r) => {
                let text = r.render(false);
                let plain = |p: &str| !p.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '$' | '"' | '\'' | '\\' | ':'))
                    && !p.split('/').any(|c| c == "." || c == "..");
                prop_assert!(!(plain(&source) && plain(&env_file)), "plain paths refused:\n{text}");
                return Ok(());
            }
            Ok(compiled) => {
                for f in &compiled.files {
                    std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write");
                }
            }
        }
        for o in &os {
            let run = o.dryrun(dir.path());
            prop_assert!(run.ok && run.problems().is_empty(), "quadlet {}: {}", o.version, run.stderr);
            let service = run.service("p.service");
            let argv = podman_argv(service);
            prop_assert_eq!(option_values(&argv, "-v"), vec![format!("{source}:/data")]);
            prop_assert_eq!(option_values(&argv, "--env-file"), vec![env_file.clone()]);
            let mounts: Vec<String> = service.all("Unit", "RequiresMountsFor").iter().flat_map(|v| mount_paths(v)).collect();
            for path in [&source, &env_file] {
                prop_assert!(mounts.contains(path), "RequiresMountsFor lacks {:?}: {:?}", path, mounts);
            }
            // quadlet's own `RequiresMountsFor=%t/containers` is the only specifier expected.
            prop_assert!(
                mounts.iter().filter(|m| *m != "<%t>/containers").all(|m| m.starts_with('/') && !m.contains("<%")),
                "{:?}",
                mounts
            );
        }
    }
}
