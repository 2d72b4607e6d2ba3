//! `quadgen export kubernetes` and pods: a pod becomes one Deployment whose pod template has a
//! container per member (they share localhost there as under podman), and one Service for the
//! pod's ports, both named after the pod; checked by the Kubernetes 1.33 OpenAPI schemas
//! (kubernetes-validate, strict, offline). `tests/e2e_export_pods.rs` plays it with podman.

use std::path::PathBuf;
use std::process::Command as StdCommand;

use assert_cmd::Command;

#[path = "support/skip.rs"]
mod skip;

const INVENTORY: &str = "tests/export/pods.toml";

fn quadgen() -> Command {
    let mut c = Command::cargo_bin("quadgen").expect("binary");
    c.env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn validator() -> Option<PathBuf> {
    let bin = skip::cache_dir().join("kubernetes-validate/bin/kubernetes-validate");
    if bin.is_file() {
        return Some(bin);
    }
    skip::skip_or_fail(
        "QUADGEN_SKIP_ORACLE",
        &format!("no kubernetes-validate at `{}`", bin.display()),
        "run `bash tests/provision.sh kubernetes`",
    );
    None
}

/// (stdout, stderr) of a successful export for Podman 5.8 (the pod has `labels`).
fn export() -> (String, String) {
    let out = quadgen()
        .args(["export", "kubernetes", INVENTORY, "--podman", "5.8"])
        .output()
        .expect("run quadgen");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "export failed:\n{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The YAML documents, parsed.
fn documents(yaml: &str) -> Vec<serde_json::Value> {
    yaml.split("\n---\n")
        .skip(1)
        .map(|doc| serde_norway::from_str(doc).expect("yaml document"))
        .collect()
}

fn find<'a>(
    docs: &'a [serde_json::Value],
    kind: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

#[test]
fn a_pod_is_one_deployment_with_a_container_per_member_and_one_service() {
    let (yaml, stderr) = export();
    let docs = documents(&yaml);
    for member in ["front", "worker"] {
        assert!(find(&docs, "Deployment", member).is_none(), "{yaml}");
        assert!(find(&docs, "Service", member).is_none(), "{yaml}");
    }
    let shop = find(&docs, "Deployment", "shop").expect("Deployment shop");
    let spec = &shop["spec"]["template"]["spec"];
    let names: Vec<&str> = spec["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["front", "worker"]);
    // The pod's volumes reach every member; a claim two members mount is one volume.
    let mounts = |i: usize| -> Vec<String> {
        spec["containers"][i]["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .map(|m| {
                format!(
                    "{}:{}",
                    m["name"].as_str().unwrap_or(""),
                    m["mountPath"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(
        mounts(0),
        [
            "shared:/shared",
            "host-srv-shop:/srv",
            "host-srv-front:/data"
        ]
    );
    assert_eq!(
        mounts(1),
        ["shared:/shared", "host-srv-shop:/srv", "shared:/cache"]
    );
    assert_eq!(spec["volumes"].as_array().expect("volumes").len(), 3);
    assert_eq!(shop["spec"]["strategy"]["type"], "Recreate");
    assert_eq!(spec["terminationGracePeriodSeconds"], 10);
    assert_eq!(
        shop["spec"]["template"]["metadata"]["annotations"]["team"],
        "web"
    );
    let service = find(&docs, "Service", "shop").expect("Service shop");
    let ports: Vec<u64> = service["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p["port"].as_u64().expect("port"))
        .collect();
    assert_eq!(ports, [8080, 8081]);
    assert_eq!(
        service["spec"]["selector"]["app.kubernetes.io/name"],
        "shop"
    );
    assert!(
        stderr.contains(
            "note: pod `shop`: publishes `127.0.0.1:8090:8080` and `8091:8081` on the host"
        ),
        "{stderr}"
    );
    assert!(yaml.contains("# NOTE pod `shop`: publishes"), "{yaml}");
}

#[test]
fn the_pod_export_passes_the_kubernetes_schemas() {
    let Some(bin) = validator() else { return };
    let (yaml, _) = export();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("export.yaml");
    std::fs::write(&file, &yaml).expect("write");
    let out = StdCommand::new(bin)
        .args(["--strict", "--kubernetes-version", "1.33"])
        .arg(&file)
        .output()
        .expect("run kubernetes-validate");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{yaml}");
    for object in ["deployment/shop", "service/shop", "deployment/postgres"] {
        assert!(
            text.contains(&format!("passed for resource {object}")),
            "{text}"
        );
    }
}
