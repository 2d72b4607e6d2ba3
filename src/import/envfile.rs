//! Env files (`.env`, `--env-file`, a service's `env_file`): `KEY=VALUE` lines as Compose reads
//! them: `export ` prefixes, `#` comments, single quotes (literal), double quotes (escapes and
//! `${VAR}`), unquoted values with a trailing ` # comment` removed.

use super::interpolate::{Source, Vars, interpolate};

/// One `KEY=VALUE` line (a line `KEY` alone has `value: None`: taken from the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Option<String>,
    pub line: usize,
}

/// Parses env file text. `Err((line, message))` for a line that is not `KEY=VALUE`.
/// Earlier entries and `outer` serve `${VAR}` in values, as in compose-go.
pub fn parse(text: &str, outer: &Vars) -> Result<Vec<Entry>, (usize, String)> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let line_no = n + 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (line.trim(), None),
        };
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err((
                line_no,
                format!("`{}` is not a `KEY=VALUE` line", raw.trim()),
            ));
        }
        let Some(v) = value else {
            entries.push(Entry {
                key: key.to_string(),
                value: None,
                line: line_no,
            });
            continue;
        };
        let v = v.trim_start();
        let mut local = outer.clone();
        for e in entries.iter().rev() {
            if let Some(val) = &e.value {
                local.add_weaker(&e.key, val, Source::EnvFile(String::new()));
            }
        }
        let value = if let Some(body) = v.strip_prefix('\'') {
            let mut body = body.to_string();
            while !body.contains('\'') {
                let Some((_, next)) = lines.next() else {
                    return Err((line_no, "a `'` quote is never closed".into()));
                };
                body.push('\n');
                body.push_str(next);
            }
            body.split('\'').next().unwrap_or_default().to_string()
        } else if let Some(body) = v.strip_prefix('"') {
            let mut body = body.to_string();
            while closing_quote(&body).is_none() {
                let Some((_, next)) = lines.next() else {
                    return Err((line_no, "a `\"` quote is never closed".into()));
                };
                body.push('\n');
                body.push_str(next);
            }
            let end = closing_quote(&body).unwrap_or(body.len());
            let unescaped = unescape(&body[..end]);
            interpolate(&unescaped, &local)
                .map_err(|e| (line_no, e))?
                .text
        } else {
            let v = match v.find(" #") {
                Some(i) => &v[..i],
                None => v,
            };
            interpolate(v.trim_end(), &local)
                .map_err(|e| (line_no, e))?
                .text
        };
        entries.push(Entry {
            key: key.to_string(),
            value: Some(value),
            line: line_no,
        });
    }
    Ok(entries)
}

fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_compose_reads() {
        let text = "# comment\nA=1\nexport B = two words # note\nC='lit ${A} # x'\nD=\"q ${A}\\n\"\nE=${A}x\nF\nG=\n";
        let got: Vec<(String, Option<String>)> = parse(text, &Vars::default())
            .expect("parses")
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect();
        let want: Vec<(String, Option<String>)> = [
            ("A", Some("1")),
            ("B", Some("two words")),
            ("C", Some("lit ${A} # x")),
            ("D", Some("q 1\n")),
            ("E", Some("1x")),
            ("F", None),
            ("G", Some("")),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_bad_line_is_located() {
        let e = parse("A=1\nnot a line\n", &Vars::default()).expect_err("bad");
        assert_eq!(e.0, 2);
    }
}
