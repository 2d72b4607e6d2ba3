//! Reading unit files back: the sections and `Key=value` lines of a Quadlet file or of a service
//! quadlet generated. Used to explain hand edits and, in tests, to read the real quadlet's output.

/// Trims what systemd trims around keys and values: space, tab, newline, carriage return (not
/// Unicode spaces such as U+00A0, which belong to the value).
fn trim_systemd(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

/// One `[Section]` with its keys in file order (repeated keys kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSection {
    pub name: String,
    pub entries: Vec<(String, String)>,
}

/// A parsed unit file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedUnit {
    pub sections: Vec<ParsedSection>,
}

impl ParsedUnit {
    /// Parses unit-file text. Comments and blank lines are skipped; a trailing `\` joins lines the
    /// way systemd and quadlet do.
    pub fn parse(text: &str) -> Self {
        let joined = text.replace("\\\n", " ");
        let mut unit = ParsedUnit::default();
        for item in ini_core::Parser::new(&joined) {
            match item {
                ini_core::Item::Section(name) => unit.sections.push(ParsedSection {
                    name: name.to_string(),
                    entries: Vec::new(),
                }),
                ini_core::Item::Property(key, value) => {
                    let key = trim_systemd(key);
                    // ini_core knows one comment character (`;`); systemd also reads `#` lines
                    // as comments.
                    if key.starts_with(['#', ';']) {
                        continue;
                    }
                    if let Some(section) = unit.sections.last_mut() {
                        section.entries.push((
                            key.to_string(),
                            trim_systemd(value.unwrap_or_default()).to_string(),
                        ));
                    }
                }
                _ => {}
            }
        }
        unit
    }

    /// Every value of `key` in `section`, in order.
    pub fn all(&self, section: &str, key: &str) -> Vec<&str> {
        self.sections
            .iter()
            .filter(|s| s.name == section)
            .flat_map(|s| s.entries.iter())
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The last value of `key` in `section` (what systemd uses for single-valued keys).
    pub fn last(&self, section: &str, key: &str) -> Option<&str> {
        self.all(section, key).pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_repeats_and_continuations() {
        let u = ParsedUnit::parse(
            "# c\n[Unit]\nAfter=a\nAfter=b\n\n[Service]\nExecStart=/bin/x \\\n  y\n",
        );
        assert_eq!(u.all("Unit", "After"), vec!["a", "b"]);
        assert_eq!(u.last("Service", "ExecStart"), Some("/bin/x    y"));
        assert_eq!(u.last("Service", "Nope"), None);
        let commented = ParsedUnit::parse("[Unit]\nA=1\n# B=2\n; C=3\n#D\n  # E\n");
        assert_eq!(commented.sections[0].entries, [("A".into(), "1".into())]);
        let nbsp = ParsedUnit::parse("[Service]\nExecStart=/bin/x \u{a0}\n");
        assert_eq!(
            nbsp.last("Service", "ExecStart"),
            Some("/bin/x \u{a0}"),
            "U+00A0 is not trimmed"
        );
    }
}
