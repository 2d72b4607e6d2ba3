//! `[pods]` and `pod = "NAME"`: what is refused, where, and what the model holds.

use crate::compile::diagnostic::{Diagnostic, Diagnostics};
use crate::compile::inventory::parse;
use crate::compile::model::{Model, NetworkRef, validate};
use crate::compile::version::PodmanVersion;

const IMG: &str = "image = \"docker.io/library/busybox:latest\"\n";

fn check_for(src: &str, target: PodmanVersion) -> Result<(Model, Diagnostics), Diagnostics> {
    validate(parse(src).expect("toml"), target)
}

fn errors_for(src: &str, target: PodmanVersion) -> Vec<Diagnostic> {
    match check_for(src, target) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.errors().cloned().collect(),
    }
}

/// The text a diagnostic points at.
fn at<'a>(src: &'a str, d: &Diagnostic) -> &'a str {
    &src[d.span.clone().expect("a place")]
}

#[test]
fn a_member_joins_its_pod_and_leaves_ports_and_networks_to_it() {
    let src = format!(
        "[defaults]\nnetworks = [\"media\"]\nports = [\"1:1\"]\n[networks.media]\n\
         [pods.web]\nports = [\"8080:80\"]\nnetworks = [\"media\"]\n\
         [containers.app]\n{IMG}pod = \"web\"\n[containers.alone]\n{IMG}"
    );
    let (model, _) = check_for(&src, PodmanVersion::DEFAULT).expect("valid");
    let pod = &model.pods[0];
    assert_eq!(pod.name.as_str(), "web");
    assert_eq!(pod.ports, ["8080:80"]);
    assert!(matches!(&pod.networks[..], [NetworkRef::Inventory(n)] if n.as_str() == "media"));
    let app = model.containers.iter().find(|c| c.name.as_str() == "app");
    let app = app.expect("app");
    assert_eq!(app.pod.as_ref().map(|p| p.as_str()), Some("web"));
    // `[defaults]` ports and networks are not a member's: they are the pod's.
    assert!(app.ports.is_empty() && app.networks.is_empty());
    let alone = model.containers.iter().find(|c| c.name.as_str() == "alone");
    assert_eq!(alone.expect("alone").ports, ["1:1"]);
}

#[test]
fn ports_or_networks_on_a_member_point_at_the_pod() {
    let src = format!(
        "[networks.media]\n[pods.web]\n[containers.app]\n{IMG}pod = \"web\"\nports = [\"80:80\"]\nnetworks = [\"media\"]\n"
    );
    let errs = errors_for(&src, PodmanVersion::DEFAULT);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(at(&src, &errs[0]), "[\"80:80\"]");
    assert!(
        errs[0]
            .message
            .contains("is in pod `web`, which owns the ports"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[0]
            .help
            .iter()
            .any(|h| h.contains("move `ports` to `[pods.web]`")),
        "{:?}",
        errs[0].help
    );
    assert_eq!(at(&src, &errs[1]), "[\"media\"]");
}

#[test]
fn an_unknown_pod_gets_a_did_you_mean() {
    let src = format!("[pods.media]\n[containers.app]\n{IMG}pod = \"meda\"\n");
    let errs = errors_for(&src, PodmanVersion::DEFAULT);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(at(&src, &errs[0]), "\"meda\"");
    assert_eq!(
        errs[0].message,
        "there is no pod named `meda` in the inventory"
    );
    assert!(errs[0].help.iter().any(|h| h == "did you mean `media`?"));
}

#[test]
fn pod_in_defaults_is_refused() {
    let src = format!("[defaults]\npod = \"web\"\n[pods.web]\n[containers.app]\n{IMG}");
    let errs = errors_for(&src, PodmanVersion::DEFAULT);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].message, "`pod` cannot be a default");
    assert_eq!(at(&src, &errs[0]), "\"web\"");
}

#[test]
fn settings_too_new_for_the_target_name_their_podman() {
    let src = format!(
        "[pods.web]\nhostname = \"web.lan\"\nlabels = {{ team = \"media\" }}\n[containers.app]\n{IMG}pod = \"web\"\n"
    );
    let errs = errors_for(&src, PodmanVersion::new(5, 4));
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "a pod's `hostname` needs Podman 5.5 (`HostName=` in `.pod` files); the target is Podman 5.4",
            "a pod's `labels` needs Podman 5.6 (`Label=` in `.pod` files); the target is Podman 5.4",
        ]
    );
    assert_eq!(at(&src, &errs[0]), "\"web.lan\"");
    // One step up, only labels are too new; at the newest target, both are taken.
    let errs = errors_for(&src, PodmanVersion::new(5, 5));
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (model, _) = check_for(&src, PodmanVersion::NEWEST).expect("valid on the newest");
    assert_eq!(model.pods[0].labels[0].raw, "team=media");
    // A raw key too new is refused the same way.
    let raw = format!(
        "[pods.web]\nquadlet.Pod.StopTimeout = \"20\"\n[containers.app]\n{IMG}pod = \"web\"\n"
    );
    let errs = errors_for(&raw, PodmanVersion::new(5, 6));
    assert_eq!(
        errs[0].message,
        "`StopTimeout=` needs Podman 5.7; the target is Podman 5.6"
    );
}

#[test]
fn names_podman_or_systemd_would_share_are_refused() {
    for clash in ["web", "web-infra", "web-pod"] {
        let src = format!("[pods.web]\n[containers.{clash}]\n{IMG}pod = \"web\"\n");
        let errs = errors_for(&src, PodmanVersion::DEFAULT);
        assert_eq!(errs.len(), 1, "{clash}: {errs:?}");
        assert!(
            errs[0]
                .message
                .contains(&format!("would have the name of container `{clash}`")),
            "{}",
            errs[0].message
        );
        assert_eq!(at(&src, &errs[0]), "web");
    }
}

#[test]
fn raw_keys_that_would_rename_the_pod_are_refused() {
    for key in ["PodName", "ServiceName", "Network"] {
        let src = format!(
            "[pods.web]\nquadlet.Pod.{key} = \"x\"\n[containers.app]\n{IMG}pod = \"web\"\n"
        );
        let errs = errors_for(&src, PodmanVersion::NEWEST);
        assert_eq!(errs.len(), 1, "{key}: {errs:?}");
        assert!(
            errs[0].message.contains("is set by quadgen"),
            "{}",
            errs[0].message
        );
    }
}

#[test]
fn a_pod_without_members_is_a_warning() {
    let src = format!("[pods.web]\n[containers.app]\n{IMG}");
    let (_, warnings) = check_for(&src, PodmanVersion::DEFAULT).expect("valid");
    assert!(
        warnings
            .0
            .iter()
            .any(|w| w.message == "no container joins pod `web`: it runs only its infra container"),
        "{warnings:?}"
    );
}

#[test]
fn a_member_that_would_start_with_its_pod_anyway_is_warned_about() {
    let warnings_of = |pod_auto_start: bool, other_auto_start: bool| {
        let src = format!(
            "[pods.web]\nauto_start = {pod_auto_start}\n[containers.app]\n{IMG}pod = \"web\"\nauto_start = false\n\
             [containers.other]\n{IMG}pod = \"web\"\nauto_start = {other_auto_start}\n"
        );
        let (_, warnings) = check_for(&src, PodmanVersion::DEFAULT).expect("valid");
        warnings
            .0
            .iter()
            .filter(|w| w.message.contains("starts at boot anyway"))
            .map(|w| w.message.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        warnings_of(true, false),
        [
            "container `app` has `auto_start = false`, but it starts at boot anyway with its pod `web`, whose service `Wants=` every member",
            "container `other` has `auto_start = false`, but it starts at boot anyway with its pod `web`, whose service `Wants=` every member",
        ]
    );
    // A member that starts at boot pulls in its pod, which starts the others.
    assert_eq!(warnings_of(false, true).len(), 1);
    // Nothing starts at boot: nothing to warn about.
    assert!(warnings_of(false, false).is_empty());
}
