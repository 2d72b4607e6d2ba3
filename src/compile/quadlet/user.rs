//! Units for a user's systemd (rootless): a user manager has no `multi-user.target`, its boot
//! target is `default.target` (reached at login, and at boot when the user lingers).

use super::Unit;
use crate::unit::Section;

/// The boot target of the system manager, which quadgen's `WantedBy=` names.
const SYSTEM_TARGET: &str = "multi-user.target";
/// The boot target of a user's manager.
const USER_TARGET: &str = "default.target";

/// `unit` for a user's manager: `[Install] WantedBy=multi-user.target` becomes
/// `WantedBy=default.target`; everything else stays.
pub fn for_user_manager(mut unit: Unit) -> Unit {
    for section in &mut unit.sections {
        if section.section != Section::Install {
            continue;
        }
        for (key, value) in &mut section.entries {
            if key == "WantedBy" && value == SYSTEM_TARGET {
                *value = USER_TARGET.to_string();
            }
        }
    }
    unit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::version::PodmanVersion;

    #[test]
    fn a_user_unit_starts_with_the_users_default_target() {
        let source = "[containers.web]\nimage = \"docker.io/library/nginx:latest\"\n\
                      [containers.off]\nimage = \"docker.io/library/nginx:latest\"\nauto_start = false\n";
        let (model, _) = crate::compile::validate_source(
            std::path::Path::new("inv.toml"),
            source,
            PodmanVersion::DEFAULT,
        )
        .expect("valid");
        let units: Vec<Unit> = super::super::lower_each(&model)
            .map(for_user_manager)
            .collect();
        let install = |name: &str| -> Vec<(String, String)> {
            units
                .iter()
                .find(|u| u.name.to_string() == name)
                .and_then(|u| u.sections.iter().find(|s| s.section == Section::Install))
                .map(|s| s.entries.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            install("web"),
            [("WantedBy".to_string(), "default.target".to_string())]
        );
        assert!(install("off").is_empty());
    }
}
