//! Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?error}`, `${VAR?error}`, `${VAR:+alternative}`, `${VAR+alternative}` and `$$` for a
//! literal `$`, nested in defaults, as the Compose specification and compose-go define them. A `$`
//! that starts no variable is kept as it is.

use std::collections::BTreeMap;

/// Where a variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The environment quadgen runs in.
    Shell,
    /// An env file (`.env` or `--env-file`), named.
    EnvFile(String),
}

/// The variables interpolation may read.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, (String, Source)>,
}

impl Vars {
    /// Adds `name` unless an earlier, stronger source set it already.
    pub fn add_weaker(&mut self, name: &str, value: &str, source: Source) {
        self.values
            .entry(name.to_string())
            .or_insert_with(|| (value.to_string(), source));
    }

    pub fn get(&self, name: &str) -> Option<&(String, Source)> {
        self.values.get(name)
    }
}

/// One variable a value used, and where its value came from (`None`: unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Used {
    pub name: String,
    pub source: Option<Source>,
    /// Unset, with no default: Compose substitutes an empty string and warns.
    pub blank: bool,
}

/// A string after interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub text: String,
    pub used: Vec<Used>,
}

/// Interpolates one string. `Err` carries the message for a `${VAR:?err}` whose variable is
/// unset, or a malformed `${`.
pub fn interpolate(input: &str, vars: &Vars) -> Result<Interpolated, String> {
    let mut used = Vec::new();
    let text = expand(input, vars, &mut used)?;
    Ok(Interpolated { text, used })
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

fn expand(input: &str, vars: &Vars, used: &mut Vec<Used>) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(inner_start) = after.strip_prefix('{') {
            let end = closing_brace(inner_start)
                .ok_or_else(|| format!("`${{` without a closing `}}` in `{input}`"))?;
            out.push_str(&braced(&inner_start[..end], vars, used)?);
            rest = &inner_start[end + 1..];
        } else if after.starts_with(is_name_start) {
            let len = after
                .find(|c: char| !is_name_char(c))
                .unwrap_or(after.len());
            let value = lookup(&after[..len], vars, used);
            mark_blank(&value, used);
            out.push_str(&value.unwrap_or_default());
            rest = &after[len..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a `${`, counting nested `${ }`.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'$') if bytes.get(i + 1) == Some(&b'$') => i += 1,
            Some(b'$') if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            Some(b'}') if depth == 0 => return Some(i),
            Some(b'}') => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn lookup(name: &str, vars: &Vars, used: &mut Vec<Used>) -> Option<String> {
    let found = vars.get(name);
    used.push(Used {
        name: name.to_string(),
        source: found.map(|(_, s)| s.clone()),
        blank: false,
    });
    found.map(|(v, _)| v.clone())
}

fn mark_blank(value: &Option<String>, used: &mut [Used]) {
    if let (None, Some(last)) = (value, used.last_mut()) {
        last.blank = true;
    }
}

fn braced(inner: &str, vars: &Vars, used: &mut Vec<Used>) -> Result<String, String> {
    let name_len = inner
        .find(|c: char| !is_name_char(c))
        .unwrap_or(inner.len());
    let (name, op) = inner.split_at(name_len);
    if name.is_empty() {
        return Err(format!("`${{{inner}}}` names no variable"));
    }
    let value = lookup(name, vars, used);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let operators: [(&str, bool); 6] = [
        (":-", non_empty),
        ("-", set),
        (":?", non_empty),
        ("?", set),
        (":+", non_empty),
        ("+", set),
    ];
    if op.is_empty() {
        mark_blank(&value, used);
        return Ok(value.unwrap_or_default());
    }
    for (prefix, condition) in operators {
        let Some(arg) = op.strip_prefix(prefix) else {
            continue;
        };
        return match prefix {
            ":-" | "-" if condition => Ok(value.unwrap_or_default()),
            ":-" | "-" => expand(arg, vars, used),
            ":?" | "?" if condition => Ok(value.unwrap_or_default()),
            ":?" | "?" => {
                let message = expand(arg, vars, used)?;
                Err(format!(
                    "required variable {name} is missing a value: {message}"
                ))
            }
            _ if condition => expand(arg, vars, used),
            _ => Ok(String::new()),
        };
    }
    Err(format!(
        "`${{{inner}}}` is not a Compose interpolation: use ${{VAR}}, ${{VAR:-default}}, ${{VAR-default}}, ${{VAR:?error}}, ${{VAR?error}}, ${{VAR:+alternative}} or ${{VAR+alternative}}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.add_weaker("SET", "value", Source::Shell);
        v.add_weaker("EMPTY", "", Source::EnvFile(".env".into()));
        v.add_weaker("SET", "weaker", Source::EnvFile(".env".into()));
        v
    }

    fn i(s: &str) -> String {
        interpolate(s, &vars()).expect("interpolates").text
    }

    // Each expectation below is what docker-compose 2.40's `config` prints for the same value.
    #[test]
    fn every_form_of_the_specification() {
        assert_eq!(i("$SET ${SET}"), "value value");
        assert_eq!(i("${UNSET:-d} ${EMPTY:-d} ${SET:-d}"), "d d value");
        assert_eq!(i("${UNSET-d}|${EMPTY-d}|${SET-d}"), "d||value");
        assert_eq!(i("${UNSET:+a}|${EMPTY:+a}|${SET:+a}"), "||a");
        assert_eq!(i("${UNSET+a}|${EMPTY+a}|${SET+a}"), "|a|a");
        assert_eq!(i("${UNSET:-${ALSO:-z}}"), "z");
        assert_eq!(i("${UNSET:-$SET}"), "value");
        assert_eq!(i("$$SET $${SET} a$$"), "$SET ${SET} a$");
        assert_eq!(i("a $ b, a$, $1X, 5$"), "a $ b, a$, $1X, 5$");
        assert_eq!(i("${UNSET-}"), "");
        assert_eq!(i("pre${SET}post"), "prevaluepost");
    }

    #[test]
    fn required_variables_fail_with_their_message() {
        let e = interpolate("x${UNSET:?must set}", &vars()).expect_err("required");
        assert_eq!(e, "required variable UNSET is missing a value: must set");
        assert!(interpolate("${EMPTY:?no}", &vars()).is_err());
        assert_eq!(interpolate("${EMPTY?no}", &vars()).expect("set").text, "");
        assert!(interpolate("${SET", &vars()).is_err());
        assert!(interpolate("${SET/a/b}", &vars()).is_err());
    }

    #[test]
    fn records_the_source_of_each_variable() {
        let r = interpolate("${SET}${EMPTY}${NOPE:-x}", &vars()).expect("ok");
        let sources: Vec<(&str, Option<Source>)> = r
            .used
            .iter()
            .map(|u| (u.name.as_str(), u.source.clone()))
            .chain(
                interpolate("$GONE", &vars())
                    .expect("ok")
                    .used
                    .iter()
                    .filter(|u| u.blank)
                    .map(|_| ("blank", None)),
            )
            .collect();
        assert_eq!(
            sources,
            [
                ("SET", Some(Source::Shell)),
                ("EMPTY", Some(Source::EnvFile(".env".into()))),
                ("NOPE", None),
                ("blank", None)
            ]
        );
    }
}
