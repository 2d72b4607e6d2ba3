//! The services quadlet generates from the example inventory, checked by the real
//! `systemd-analyze verify` of systemd 257 (inside the test machine, where quadlet's generator
//! runs on daemon-reload as on a real host).

#[path = "support/nspawn.rs"]
mod nspawn;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use nspawn::Machine;
use quadgen::compile::version::PodmanVersion;

#[test]
fn generated_services_pass_systemd_analyze_verify() {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/homelab.toml"
    ))
    .expect("example inventory");
    let compiled =
        quadgen::compile::compile(Path::new("homelab.toml"), &example, PodmanVersion::DEFAULT)
            .unwrap_or_else(|r| panic!("{}", r.render(false)));
    let Some(m) = Machine::boot() else { return };
    for f in &compiled.files {
        m.write_file(&format!("/etc/containers/systemd/{}", f.file_name), &f.text);
    }
    // The NFS mount the kopia container waits for, as a host would define it.
    m.write_file(
        "/etc/systemd/system/mnt-backup.mount",
        "[Mount]\nWhat=nas:/backup\nWhere=/mnt/backup\nType=nfs\n",
    );
    m.daemon_reload();
    let services: Vec<String> = compiled.files.iter().map(|f| f.service.clone()).collect();
    for s in &services {
        assert_eq!(
            m.unit_property(s, "LoadState"),
            "loaded",
            "{s} was generated and loads"
        );
    }
    let mut argv = vec!["systemd-analyze".to_string(), "verify".to_string()];
    // The files quadlet wrote (verify wants paths for generated units).
    argv.extend(
        services
            .iter()
            .map(|s| format!("/run/systemd/generator/{s}")),
    );
    let out = m.exec(&argv);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stdout}{stderr}"
    );
    let complaints: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd-analyze verify complained:\n{}",
        complaints.join("\n")
    );
}
