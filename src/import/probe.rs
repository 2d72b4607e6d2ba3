//! The inventory's own verdict on what an import is about to write: the importers put each value
//! into a one-container inventory exactly as they would write it, and quadgen's own parser and
//! validator decide. So an import writes a field only in a form `quadgen build` accepts, and a
//! refusal carries the inventory's own reason.

use std::path::Path;

use crate::compile::version::PodmanVersion;

/// `Ok` when the inventory `text` builds for the default Podman target; otherwise its first
/// error's message, with the error's help after a `; `.
pub(crate) fn verdict(text: &str) -> Result<(), String> {
    let Err(rejected) =
        crate::compile::validate_source(Path::new("probe.toml"), text, PodmanVersion::DEFAULT)
    else {
        return Ok(());
    };
    let first = rejected.diagnostics.iter().find(|d| d.is_error());
    Err(match first {
        Some(d) => match &d.help {
            Some(h) => format!("{}; {h}", d.message),
            None => d.message.clone(),
        },
        None => "refused".to_string(),
    })
}
