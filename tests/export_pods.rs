//! `quadgen export kubernetes` and pods: refused with the pod's place in the inventory and
//! nothing written, never one Deployment per member (which would not share localhost).

use assert_cmd::Command;

#[test]
fn an_inventory_with_a_pod_is_refused_with_its_place() {
    let tmp = tempfile::tempdir().expect("tmp");
    let inventory = tmp.path().join("inv.toml");
    std::fs::write(
        &inventory,
        "[pods.shop]\nports = [\"8080:80\"]\n\n[containers.front]\nimage = \"docker.io/library/busybox:1\"\npod = \"shop\"\n",
    )
    .expect("write");
    let out_file = tmp.path().join("out.yaml");
    let out = Command::cargo_bin("quadgen")
        .expect("binary")
        .env("NO_COLOR", "1")
        .args(["export", "kubernetes"])
        .arg(&inventory)
        .arg("-o")
        .arg(&out_file)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pod `shop` cannot be exported yet: its members share localhost"),
        "{stderr}"
    );
    assert!(stderr.contains("inv.toml:1:7"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!out_file.exists(), "nothing is written on a refusal");
}
