//! The compose importer's probe: a one-container inventory around the value, in the context
//! (network mode, networks, secrets) the service gives it; see [`crate::import::probe`].

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
    crate::import::probe::verdict(&text).err()
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
