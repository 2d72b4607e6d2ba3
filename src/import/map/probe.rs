//! The inventory's own verdict on a value the import is about to write: a one-container inventory
//! with that value goes through quadgen's parser and validator, so the import writes a field only
//! in the exact syntax `quadgen build` accepts.

use std::path::Path;

use crate::compile::version::PodmanVersion;

/// What a probe container needs besides the value: lines inside its table (`network_mode`), and
/// whole tables after it (`[networks.X]`, `[secrets.X]`).
#[derive(Debug, Default, Clone)]
pub(super) struct Context {
    pub container: String,
    pub tables: String,
}

/// `None` when a container with `line` (a `field = value` line) in `ctx` builds, else the
/// inventory's first error, with its help.
pub(super) fn refusal(ctx: &Context, line: &str) -> Option<String> {
    let text = format!(
        "[containers.probe]\nimage = \"docker.io/library/probe:latest\"\n{}{line}\n\n{}",
        ctx.container, ctx.tables
    );
    let rejected =
        crate::compile::validate_source(Path::new("probe.toml"), &text, PodmanVersion::DEFAULT)
            .err()?;
    let d = rejected.diagnostics.iter().find(|d| d.is_error())?;
    Some(match &d.help {
        Some(h) => format!("{}; {h}", d.message),
        None => d.message.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_inventory_accepts_and_says_why_not() {
        let none = Context::default();
        assert_eq!(refusal(&none, "cap_add = [\"NET_ADMIN\"]"), None);
        let why = refusal(&none, "sysctls = { \"kernel.hostname\" = \"x\" }").expect("refused");
        assert!(why.contains("not namespaced"), "{why}");
        let host = Context {
            container: "network_mode = \"host\"\n".into(),
            ..Context::default()
        };
        assert_eq!(
            refusal(&none, "sysctls = { \"net.core.somaxconn\" = \"1\" }"),
            None
        );
        assert!(refusal(&host, "sysctls = { \"net.core.somaxconn\" = \"1\" }").is_some());
    }
}
