//! Writing the inventory as TOML a person would write: tables in order, one key per line, comments
//! beside or above values. Values and keys are encoded by the `toml` crate, so the text is always
//! valid TOML (tests parse it back).

use toml::Value;

/// A TOML string literal.
pub fn string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// A key, bare when TOML allows it.
pub fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        string(k)
    }
}

/// `["a", "b"]` on one line, or one item per line when long.
pub fn array(items: &[String]) -> String {
    let encoded: Vec<String> = items.iter().map(|i| string(i)).collect();
    list(&encoded)
}

/// A list of already encoded values (strings, inline tables): on one line, or one per line
/// when long.
pub fn list(encoded: &[String]) -> String {
    let one_line = format!("[{}]", encoded.join(", "));
    if one_line.len() <= 80 {
        one_line
    } else {
        let mut s = String::from("[\n");
        for e in encoded {
            s.push_str("  ");
            s.push_str(e);
            s.push_str(",\n");
        }
        s.push(']');
        s
    }
}

/// An inline table of already encoded values: `{ a = 1, b = "x" }`.
pub fn inline(entries: &[(&str, String)]) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{} = {v}", key(k)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

/// A comment, one `# ` line per line of text.
pub fn comment(text: &str) -> String {
    text.lines().map(|l| format!("# {l}\n")).collect()
}

/// Text for a comment, on one line and free of control characters.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_toml_reads_back() {
        let nasty = "a \"quoted\" \\ back\nslash \u{7} 'x'";
        let text = format!(
            "{} = {}\nlist = {}\n",
            key("weird key.x"),
            string(nasty),
            array(&["1".into(), nasty.into()])
        );
        let v: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(v["weird key.x"].as_str(), Some(nasty));
        assert_eq!(v["list"][1].as_str(), Some(nasty));
        assert_eq!(key("plain-key_1"), "plain-key_1");
    }
}
