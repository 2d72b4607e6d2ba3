//! `quadgen build` and `quadgen check` as a user runs them: exit codes, messages, and what is (not)
//! written.

use assert_cmd::Command;
use proptest::prelude::*;

fn quadgen() -> Command {
    let mut c = Command::cargo_bin("quadgen").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

/// Runs `cmd`, expects exit `code`, returns its stderr.
fn fails(cmd: &mut Command, code: i32) -> String {
    let assert = cmd.assert().code(code);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write inventory");
    p
}

#[test]
fn builds_the_example_and_rebuilds_identically() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("units");
    build_example_into(&out);
    let first = files_of(&out);
    assert!(first.iter().any(|(n, _)| n == "jdownloader.container"));
    assert!(first.iter().any(|(n, _)| n == "app.network"));
    assert!(first.iter().any(|(n, _)| n == "pgdata.volume"));
    build_example_into(&out);
    assert_eq!(
        first,
        files_of(&out),
        "same inventory, byte-identical files"
    );
}

/// `quadgen build examples/homelab.toml --out OUT`, which must succeed; its stderr.
fn build_example_into(out: &std::path::Path) -> String {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/homelab.toml");
    let assert = quadgen()
        .args(["build", example, "--out"])
        .arg(out)
        .assert()
        .success();
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// Each file of `dir` with its content, by name.
fn files_of(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    files_with_inodes(dir)
        .into_iter()
        .map(|(name, _, bytes)| (name, bytes))
        .collect()
}

/// Each file of `dir` with its inode and content, by name.
fn files_with_inodes(dir: &std::path::Path) -> Vec<(String, u64, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("out dir")
        .map(|e| {
            let e = e.expect("entry");
            let meta = std::fs::symlink_metadata(e.path()).expect("stat");
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (
                e.file_name().to_string_lossy().into_owned(),
                meta.ino(),
                bytes,
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_file_is_0644_whatever_the_umask_and_however_many() {
    // 300 containers: written by two threads. umask 077 would make them 0600, unreadable to a
    // user who copies them into ~/.config/containers/systemd.
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!(
            "[containers.app{i}]\nimage = \"docker.io/library/nginx:1.27\"\n\n"
        ));
    }
    let inventory = write(tmp.path(), "inventory.toml", &text);
    let out = tmp.path().join("units");
    let quadgen = assert_cmd::cargo::cargo_bin("quadgen");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 077 && exec \"$0\" build \"$1\" --out \"$2\"")
        .arg(&quadgen)
        .arg(&inventory)
        .arg(&out)
        .status()
        .expect("sh");
    assert!(status.success());
    let modes: Vec<(String, u32)> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| {
            let e = e.expect("entry");
            let mode = e.metadata().expect("stat").permissions().mode() & 0o7777;
            (e.file_name().to_string_lossy().into_owned(), mode)
        })
        .collect();
    assert_eq!(modes.len(), 301, "300 units and the build marker");
    let odd: Vec<_> = modes.iter().filter(|(_, mode)| *mode != 0o644).collect();
    assert!(odd.is_empty(), "not 0644: {odd:?}");
}

#[test]
fn a_rebuild_with_nothing_changed_leaves_the_directory_untouched() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("units");
    let build = || build_example_into(&out);
    assert!(build().contains("wrote "), "the first build writes");
    let first = files_with_inodes(&out);
    let directory = std::fs::metadata(&out)
        .expect("out")
        .modified()
        .expect("mtime");
    let said = build();
    assert!(said.contains("nothing written"), "{said}");
    assert_eq!(
        files_with_inodes(&out),
        first,
        "the very same files (inodes)"
    );
    let after = std::fs::metadata(&out)
        .expect("out")
        .modified()
        .expect("mtime");
    assert_eq!(directory, after, "the directory itself was not touched");
}

#[test]
fn a_rebuild_puts_back_whatever_differs_from_the_build() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("units");
    let build = || build_example_into(&out);
    build();
    let built = files_of(&out);
    let unit = out.join("jdownloader.container");
    let text = std::fs::read_to_string(&unit).expect("unit");
    // Each of these makes the directory differ from the build; the rebuild must replace it.
    type Change<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let changes: Vec<Change> = vec![
        (
            "an edited unit",
            Box::new(|| std::fs::write(&unit, text.replace("Image=", "Image=x")).expect("edit")),
        ),
        (
            "a unit of another mode",
            Box::new(|| {
                std::fs::set_permissions(&unit, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod")
            }),
        ),
        (
            "a file the build does not make",
            Box::new(|| std::fs::write(out.join("extra.container"), "x").expect("extra")),
        ),
        (
            "a missing unit",
            Box::new(|| std::fs::remove_file(&unit).expect("remove")),
        ),
        (
            "a unit that is a symlink to the same text",
            Box::new(|| {
                let copy = tmp.path().join("copy");
                std::fs::write(&copy, &text).expect("copy");
                std::fs::remove_file(&unit).expect("remove");
                std::os::unix::fs::symlink(&copy, &unit).expect("link");
            }),
        ),
    ];
    for (what, change) in changes {
        change();
        let said = build();
        assert!(said.contains("wrote "), "{what}: {said}");
        assert_eq!(
            files_of(&out),
            built,
            "{what}: the build's files, and only them"
        );
        let mode = std::fs::symlink_metadata(&unit)
            .expect("unit")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o170777,
            0o100644,
            "{what}: a plain file of mode 0644"
        );
    }
}

#[test]
fn bad_inventory_reports_every_problem_with_its_place_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let inv = write(
        tmp.path(),
        "inv.toml",
        r#"[networks.lan]

[containers.web]
image = "nginx"
networks = ["lna"]
depends_on = ["dbb"]
ports = ["99999:80"]
restart = "alwys"

[containers.db]
image = "docker.io/library/postgres:16"
volumes = ["./data:/var/lib/postgresql/data"]
"#,
    );
    let out = tmp.path().join("out");
    let stderr = fails(quadgen().arg("build").arg(&inv).arg("--out").arg(&out), 1);
    let path = inv.display().to_string();
    for expected in [
        format!("{path}:4:9"),
        "`nginx` is a short name: `podman auto-update` needs the registry in the image name".into(),
        "help: write the fully qualified name: `docker.io/library/nginx:latest`".into(),
        format!("{path}:5:13"),
        "there is no network named `lna` in the inventory".into(),
        "help: did you mean `lan`?".into(),
        "there is no container named `dbb`".into(),
        "`99999:80` is not a port mapping".into(),
        "`alwys` is not a valid restart policy".into(),
        "did you mean `always`?".into(),
        "`./data` is a relative path".into(),
        format!("error: `{path}` has 6 problems; nothing was written"),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(
        !out.exists(),
        "nothing written, not even the --out directory"
    );
}

#[test]
fn toml_errors_point_at_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let inv = write(
        tmp.path(),
        "inv.toml",
        "[containers.web]\nimage = \"docker.io/library/nginx\"\nimgae = \"x\"\n",
    );
    let stderr = fails(quadgen().arg("check").arg(&inv), 1);
    assert!(
        stderr.contains(&format!("{}:3:1", inv.display())),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `imgae`"), "{stderr}");
    assert!(
        stderr.contains("3 | imgae = \"x\""),
        "shows the line: {stderr}"
    );
}

/// Unknown keys and type errors in every kind of table, all reported in one run.
#[test]
fn a_typo_does_not_hide_the_other_problems() {
    let tmp = tempfile::tempdir().expect("tmp");
    let inv = write(
        tmp.path(),
        "inv.toml",
        r#"[containers.web1]
image = "nginx"
portz = ["80:80"]

[containers.web2]
image = "docker.io/library/nginx:1.27"
networks = ["lan"]
"#,
    );
    let out = tmp.path().join("units");
    let stderr = fails(quadgen().arg("build").arg(&inv).arg("--out").arg(&out), 1);
    let path = inv.display().to_string();
    // The unknown key, and in the same run the errors the model's checks find in the rest: the
    // short image name and the undefined network, each at its place. (Warnings wait for an
    // inventory that parses.)
    let expected = [
        "`nginx` is a short name".into(),
        format!("{path}:2:9"),
        "unknown field `portz` in `containers.web1`".into(),
        format!("{path}:3:1"),
        "there is no network named `lan` in the inventory".into(),
        format!("{path}:7:13"),
        "has 3 problems; nothing was written".into(),
    ];
    let mut rest = stderr.as_str();
    for want in &expected {
        let at = rest
            .find(want.as_str())
            .unwrap_or_else(|| panic!("{want:?} missing or out of order in:\n{stderr}"));
        rest = &rest[at + want.len()..];
    }
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_value_of_the_wrong_type_is_not_replaced_by_its_default_for_the_other_checks() {
    // Removed for its type, each of these would fall back to its default, and the model's
    // checks would report what the user never wrote: a network without the subnet they gave,
    // a secret no container uses, a pod nobody joins, a container without its health check.
    let tmp = tempfile::tempdir().expect("tmp");
    let inv = write(
        tmp.path(),
        "inv.toml",
        r#"[networks.lan]
subnet = 10

[secrets.db]
file = "/etc/db.secret"

[pods.app]

[containers.web]
image = "docker.io/library/nginx:1.27"
networks = [{ name = "lan", ip = "10.0.0.5" }]
secrets = "db"
pod = 3
health = { cmd = 3 }
"#,
    );
    let stderr = fails(quadgen().arg("check").arg(&inv), 1);
    for wrong in [
        "sets no subnet",
        "used by no container",
        "no container joins",
        "no health check",
        "defines nothing",
    ] {
        assert!(!stderr.contains(wrong), "{wrong:?} in:\n{stderr}");
    }
    assert!(
        stderr.contains("`networks.lan.subnet` must be a string, not a whole number"),
        "{stderr}"
    );
}

#[test]
fn every_unknown_key_and_type_error_is_printed_at_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let inv = write(
        tmp.path(),
        "inv.toml",
        r#"[defaults]
restrat = "always"

[networks.media]
subnet = 10

[volumes.data]
lables = { a = "b" }

[containers.web]
image = "docker.io/library/nginx:latest"
environment_file = ["/etc/web.env"]
ports = ["80:80", 443]
stop_timeout = 60
health = { cmd = "true", retries = "3" }
"#,
    );
    let path = inv.display().to_string();
    let expected = [
        format!("{path}:2:1"),
        "unknown field `restrat` in `defaults`".into(),
        "help: did you mean `restart`?".into(),
        format!("{path}:5:10"),
        "`networks.media.subnet` must be a string, not a whole number".into(),
        format!("{path}:8:1"),
        "help: did you mean `labels`?".into(),
        format!("{path}:12:1"),
        "help: did you mean `environment_files`?".into(),
        format!("{path}:13:19"),
        "`containers.web.ports[1]` must be a string, not a whole number".into(),
        format!("{path}:14:16"),
        "`containers.web.stop_timeout` must be a duration like \"60s\", not a whole number".into(),
        format!("{path}:15:36"),
        "`containers.web.health.retries` must be a whole number, not a string".into(),
        format!("error: `{path}` has 7 problems; nothing was written"),
    ];
    let stderr = fails(quadgen().arg("check").arg(&inv), 1);
    for expected in &expected {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("expected one of"),
        "no list of every field: {stderr}"
    );
    let out = tmp.path().join("out");
    let stderr = fails(quadgen().arg("build").arg(&inv).arg("--out").arg(&out), 1);
    assert!(stderr.contains(&expected[15]), "{stderr}");
    assert!(
        !out.exists(),
        "nothing written, not even the --out directory"
    );
}

#[test]
fn injection_attempts_are_refused_not_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (field, value) in [
        ("description", "x\\nExecStartPre=/bin/rm -rf /"),
        ("entrypoint", "/init\\n[Service]"),
        ("user", "root\\nPrivileged=true"),
    ] {
        let inv = write(
            tmp.path(),
            "inv.toml",
            &format!(
                "[containers.web]\nimage = \"docker.io/library/nginx:latest\"\n{field} = \"{value}\"\n"
            ),
        );
        let out = tmp.path().join("out");
        let stderr = fails(quadgen().arg("build").arg(&inv).arg("--out").arg(&out), 1);
        assert!(stderr.contains(":3:"), "{field}: {stderr}");
        assert!(!out.exists(), "{field}: nothing written");
    }
}

#[test]
fn refuses_to_replace_a_directory_it_did_not_write() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("mine");
    std::fs::create_dir(&out).expect("dir");
    std::fs::write(out.join("precious.txt"), "keep me").expect("file");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/homelab.toml");
    let stderr = fails(quadgen().args(["build", example, "--out"]).arg(&out), 1);
    assert!(
        stderr.contains("was not written by `quadgen build`"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("precious.txt")).expect("kept"),
        "keep me"
    );
}

#[test]
fn an_endless_or_oversized_file_is_refused_at_the_size_limit() {
    // `/dev/zero` never ends and is valid UTF-8: without a limit quadgen would read until the
    // machine runs out of memory. The timeout makes a regression fail instead of hanging.
    let stderr = fails(
        quadgen()
            .args(["check", "/dev/zero"])
            .timeout(std::time::Duration::from_secs(60)),
        1,
    );
    assert!(
        stderr.contains("`/dev/zero` is larger than 64 MiB, the most quadgen reads"),
        "{stderr}"
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let big = tmp.path().join("big.toml");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(64 * 1024 * 1024 + 1).expect("sparse file");
    let stderr = fails(quadgen().arg("check").arg(&big), 1);
    assert!(stderr.contains("is larger than 64 MiB"), "{stderr}");
}

#[test]
fn a_directory_given_as_the_inventory_says_to_name_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("units");
    let stderr = fails(
        quadgen()
            .arg("build")
            .arg(tmp.path())
            .arg("--out")
            .arg(&out),
        1,
    );
    let want = format!(
        "`{}` is a directory: name the inventory file in it (e.g. `{}`)",
        tmp.path().display(),
        tmp.path().join("inventory.toml").display()
    );
    assert!(stderr.contains(&want), "{stderr}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn an_empty_inventory_is_valid_with_a_warning() {
    let tmp = tempfile::tempdir().expect("tmp");
    let inv = write(tmp.path(), "inv.toml", "# nothing yet\n");
    let a = quadgen().arg("check").arg(&inv).assert().success();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        stderr.contains("warning: the inventory defines nothing: it gives no unit"),
        "{stderr}"
    );
    assert!(stderr.contains("is valid: 0 units"), "{stderr}");
}

#[test]
fn unknown_target_version_is_a_usage_error() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/homelab.toml");
    let stderr = fails(quadgen().args(["check", example, "--podman", "4.9"]), 2);
    assert!(
        stderr.contains("quadgen knows the Quadlet keys of Podman 5.4"),
        "{stderr}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// No input makes the compiler panic: arbitrary text, and valid TOML shapes with arbitrary values.
    #[test]
    fn compile_never_panics(
        text in any::<String>(),
        value in prop_oneof![any::<String>(), "[0-9]{1,25}(ms|s|m|h)?", Just("18446744073709551s".to_string())],
        n in prop_oneof![any::<i64>(), Just(i64::from(u32::MAX)), Just(i64::MAX), Just(0i64), Just(-1i64)],
    ) {
        let _ = quadgen::compile::compile(std::path::Path::new("x.toml"), &text, quadgen::compile::version::PodmanVersion::DEFAULT);
        let v = toml::Value::String(value).to_string();
        for field in ["image", "user", "restart", "pull", "stop_timeout", "entrypoint", "description"] {
            let inv = format!("[containers.a]\nimage = \"docker.io/x/y\"\n{field} = {v}\n");
            let _ = quadgen::compile::compile(std::path::Path::new("x.toml"), &inv, quadgen::compile::version::PodmanVersion::DEFAULT);
        }
        for list in ["ports", "volumes", "devices", "networks", "depends_on", "after", "cmd", "environment_files"] {
            let inv = format!("[networks.n]\n[volumes.v]\n[containers.a]\nimage = \"docker.io/x/y\"\n{list} = [{v}]\n");
            let _ = quadgen::compile::compile(std::path::Path::new("x.toml"), &inv, quadgen::compile::version::PodmanVersion::DEFAULT);
        }
        let inv = format!("[containers.a]\nimage = \"docker.io/x/y\"\nhealth = {{ cmd = \"x\", retries = {n}, interval = {v} }}\n");
        let _ = quadgen::compile::compile(std::path::Path::new("x.toml"), &inv, quadgen::compile::version::PodmanVersion::DEFAULT);
    }
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = quadgen().args(["completions", shell]).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        for sub in ["build", "install", "plan", "status", "host-units"] {
            assert!(text.contains(sub), "{shell} completion lacks `{sub}`");
        }
    }
    let out = quadgen().arg("man").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains(".TH quadgen 1"), "{text}");
}

/// Every entry under `dir`, recursively, as (relative path, content or link target).
fn tree(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).expect("link");
                out.push((rel, format!("-> {}", target.display())));
            } else if meta.is_dir() {
                out.push((rel, "dir".into()));
                stack.push(p);
            } else {
                out.push((rel, std::fs::read_to_string(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn out_dot_inside_an_earlier_build_is_refused_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("units");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/homelab.toml");
    build_example_into(&out);
    let before = tree(tmp.path());
    for dot in [".", "./", "../units", "sub/.."] {
        let stderr = fails(
            quadgen()
                .current_dir(&out)
                .args(["build", example, "--out", dot]),
            1,
        );
        assert!(
            stderr.contains("is (or contains) the current directory")
                && stderr.contains("--out quadlets"),
            "{dot}: {stderr}"
        );
        assert_eq!(
            tree(tmp.path()),
            before,
            "{dot}: nothing written or left behind"
        );
    }
    // The parent of the current directory contains it: refused too.
    let inner = out.join("inner");
    std::fs::create_dir(&inner).expect("mkdir");
    let stderr = fails(
        quadgen()
            .current_dir(&inner)
            .args(["build", example, "--out", ".."]),
        1,
    );
    assert!(stderr.contains("current directory"), "{stderr}");
    assert!(inner.exists(), "the directory one is in is not replaced");
}

#[test]
fn out_symlink_is_followed_to_the_chosen_directory_and_stays_a_link() {
    let tmp = tempfile::tempdir().expect("tmp");
    let real = tmp.path().join("real");
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/homelab.toml");
    // Dangling: an error naming it, nothing created.
    let stderr = fails(quadgen().args(["build", example, "--out"]).arg(&link), 1);
    assert!(
        stderr.contains("symlink to a directory that does not exist"),
        "{stderr}"
    );
    assert!(!real.exists());
    assert_eq!(
        tree(tmp.path()),
        vec![("link".to_string(), format!("-> {}", real.display()))]
    );
    // To an empty directory, then again over the earlier build: the target is written, the
    // link stays, no temporary directory is left anywhere.
    std::fs::create_dir(&real).expect("mkdir");
    for _ in 0..2 {
        build_example_into(&link);
        let meta = std::fs::symlink_metadata(&link).expect("meta");
        assert!(meta.file_type().is_symlink(), "still a link");
        assert!(real.join("app.network").is_file());
        let names: Vec<String> = std::fs::read_dir(tmp.path())
            .expect("read")
            .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, vec!["link", "real"]);
    }
    // A link to someone else's directory is refused like the directory itself.
    std::fs::write(real.join("precious.txt"), "keep").expect("write");
    std::fs::remove_file(real.join(".quadgen-build")).expect("rm marker");
    let stderr = fails(quadgen().args(["build", example, "--out"]).arg(&link), 1);
    assert!(
        stderr.contains("was not written by `quadgen build`"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(real.join("precious.txt")).expect("kept"),
        "keep"
    );
}
