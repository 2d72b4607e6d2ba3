//! Running the user's editor on a copy of a unit file (`quadgen edit`), the way `systemctl edit`
//! and git do: `$EDITOR`, then `$VISUAL`, then the first of `editor`, `nano`, `vim`, `vi` on
//! `PATH`. The editor string is run by `sh -c`, so one with arguments (`code -w`) works.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the editor gave no text back. Nothing was written then.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    #[error(
        "no editor found: set `EDITOR` (e.g. `EDITOR=nano`), or install one of editor, nano, vim, vi"
    )]
    NoEditor,
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the editor `{editor}` failed ({status}); nothing was changed")]
    Failed { editor: String, status: String },
}

/// The editor command: `EDITOR`, `VISUAL` (non-empty), or a default found on `path_var`.
pub fn choose(
    editor: Option<&str>,
    visual: Option<&str>,
    path_var: Option<&str>,
) -> Option<String> {
    let set = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    set(editor).or_else(|| set(visual)).or_else(|| {
        let dirs: Vec<&str> = path_var.unwrap_or_default().split(':').collect();
        ["editor", "nano", "vim", "vi"]
            .into_iter()
            .find(|e| {
                dirs.iter()
                    .any(|d| !d.is_empty() && Path::new(d).join(e).is_file())
            })
            .map(String::from)
    })
}

/// Opens the editor on a private temporary copy of `text` (its name ends in `-FILE_NAME`, so the
/// editor knows the syntax) and returns the text once the editor exits successfully.
pub fn edit_text(text: &str, file_name: &str) -> Result<String, EditorError> {
    let env = |k: &str| std::env::var(k).ok();
    let editor = choose(
        env("EDITOR").as_deref(),
        env("VISUAL").as_deref(),
        env("PATH").as_deref(),
    )
    .ok_or(EditorError::NoEditor)?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| EditorError::Io {
            action,
            path,
            source,
        }
    };
    let mut copy = tempfile::Builder::new()
        .prefix("quadgen-edit-")
        .suffix(&format!("-{file_name}"))
        .tempfile()
        .map_err(io("create a temporary copy in", &std::env::temp_dir()))?;
    copy.write_all(text.as_bytes())
        .and_then(|()| copy.flush())
        .map_err(io("write", copy.path()))?;
    // `sh -c 'EDITOR "$1"' sh FILE`: the editor string may carry arguments, the file name is
    // passed as an argument, never spliced into the script.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("quadgen-edit")
        .arg(copy.path())
        .status()
        .map_err(io("run the editor on", copy.path()))?;
    if !status.success() {
        return Err(EditorError::Failed {
            editor,
            status: status.to_string(),
        });
    }
    // Editors may replace the file rather than write into it: read it again by its path.
    std::fs::read_to_string(copy.path()).map_err(io("read back", copy.path()))
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn editor_then_visual_then_a_default_on_path() {
        assert_eq!(
            choose(Some("code -w"), Some("vim"), None).as_deref(),
            Some("code -w")
        );
        assert_eq!(choose(Some(" "), Some("vim"), None).as_deref(), Some("vim"));
        assert_eq!(choose(None, None, Some("/nonexistent")), None);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("vi"), "").expect("write");
        let path = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(choose(None, None, Some(&path)).as_deref(), Some("vi"));
    }
}
