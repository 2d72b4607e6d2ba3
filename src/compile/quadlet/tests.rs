//! Lowering: what the unit says about itself agrees with the sections it writes.

use super::*;
use crate::compile::version::PodmanVersion;

/// Whether the sections have `[Install] WantedBy=` or `RequiredBy=`.
fn installs(unit: &Unit) -> bool {
    unit.sections.iter().any(|body| {
        body.section == Section::Install
            && body
                .entries
                .iter()
                .any(|(k, _)| k == "WantedBy" || k == "RequiredBy")
    })
}

#[test]
fn auto_start_follows_the_install_section_raw_keys_included() {
    let img = "image = \"docker.io/library/busybox:1\"";
    let cases = [
        (format!("[containers.a]\n{img}\n"), true),
        (
            format!("[containers.a]\n{img}\nauto_start = false\n"),
            false,
        ),
        (
            format!("[containers.a]\n{img}\nquadlet.Install.WantedBy = []\n"),
            false,
        ),
        (
            format!(
                "[containers.a]\n{img}\nauto_start = false\nquadlet.Install.WantedBy = \"default.target\"\n"
            ),
            true,
        ),
        (
            format!(
                "[containers.a]\n{img}\nauto_start = false\nquadlet.Install.RequiredBy = [\"x.target\"]\n"
            ),
            true,
        ),
        (
            format!("[containers.a]\n{img}\nauto_start = false\nquadlet.Install.RequiredBy = []\n"),
            false,
        ),
        ("[networks.n]\n".to_string(), false),
        (
            "[networks.n]\nquadlet.Install.WantedBy = \"multi-user.target\"\n".to_string(),
            true,
        ),
        (
            "[volumes.v]\nquadlet.Install.RequiredBy = \"x.service\"\n".to_string(),
            true,
        ),
    ];
    for (src, expected) in cases {
        let inventory = crate::compile::inventory::parse(&src).expect("toml");
        let (model, _) =
            crate::compile::model::validate(inventory, PodmanVersion::DEFAULT).expect("valid");
        let units = lower(&model);
        assert_eq!(units.len(), 1, "{src}");
        assert_eq!(units[0].auto_start, expected, "{src}");
        assert_eq!(units[0].auto_start, installs(&units[0]), "{src}");
    }
}

#[test]
fn an_empty_raw_wanted_by_does_not_start_the_unit() {
    let src = "[containers.a]\nimage = \"docker.io/library/busybox:latest\"\nauto_update = \"none\"\nauto_start = false\nquadlet.Install.WantedBy = \"\"\n";
    let inventory = crate::compile::inventory::parse(src).expect("toml");
    let (model, _) =
        crate::compile::model::validate(inventory, crate::compile::version::PodmanVersion::DEFAULT)
            .expect("valid");
    let units = crate::compile::quadlet::lower(&model);
    assert!(!units[0].auto_start);
}
