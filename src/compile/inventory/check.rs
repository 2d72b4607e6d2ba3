//! Every unknown key and every type error of an inventory at once, in words.
//!
//! Serde stops at the first problem, so after a failed parse the parsed TOML tree is walked
//! against the [`Shape`] of the inventory types: each unknown key (with a did-you-mean among the
//! fields of its table) and each value of the wrong type ("a whole number", "a list of strings")
//! becomes a diagnostic and is removed from the tree. The real deserializer then judges what is
//! left, until it accepts the tree, so anything the shape cannot see (a missing required field,
//! an untagged value) is still reported, each problem once.
//!
//! This is the error path only: a valid inventory never comes here.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::Inventory;
use super::shape::Shape;
use crate::compile::diagnostic::{Diagnostic, did_you_mean};

/// At most this many problems that only the real deserializer finds (each costs one
/// deserialization of the whole tree).
const DESERIALIZER_ROUNDS: usize = 100;

/// What the walk against the shape found: the problems, and whether it removed a value of the
/// wrong type (not only unknown keys).
#[derive(Default)]
struct Found {
    problems: Vec<Diagnostic>,
    values_removed: bool,
}

/// Every problem of `root` against `shape` (the inventory's), then every one the deserializer
/// still finds, in the order of the file; and the inventory without them when the only problems
/// are unknown keys. (A value removed for its type would fall back to its default, and the
/// checks of the rest would then report what the user never wrote: a network without the
/// subnet they gave, a container without its pod.)
pub fn every_problem(
    mut root: Spanned<DeTable<'_>>,
    shape: Option<&Shape>,
) -> (Vec<Diagnostic>, Option<Inventory>) {
    let mut found = Found::default();
    if let Some(shape) = shape {
        let mut path = Vec::new();
        check_table(root.get_mut(), shape, &mut path, &mut found);
    }
    let mut out = found.problems;
    let mut accepted = None;
    for round in 0..DESERIALIZER_ROUNDS {
        let error = match Inventory::deserialize(toml::de::Deserializer::from(root.clone())) {
            Ok(inventory) => {
                // Only unknown keys were removed: the rest is what the user wrote.
                accepted = (round == 0 && !found.values_removed).then_some(inventory);
                break;
            }
            Err(error) => error,
        };
        let mut path = Vec::new();
        let removed = error
            .span()
            .is_some_and(|span| remove_at(root.get_mut(), &span, &mut path));
        let d = serde_unknown_field(&error, &path)
            .unwrap_or_else(|| at_path(from_toml_error(&error), &path));
        out.push(d);
        if !removed {
            break;
        }
    }
    out.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    (out, accepted)
}

/// Names the value a deserializer's message is about: a bare expectation ("a string or a list
/// of strings", from `#[serde(expecting)]`) becomes "`PATH` must be …".
fn at_path(mut d: Diagnostic, path: &[String]) -> Diagnostic {
    if path.is_empty() {
        return d;
    }
    let place = dotted(path);
    d.message = if d.message.starts_with("a ") || d.message.starts_with("an ") {
        format!("`{place}` must be {}", d.message)
    } else {
        format!("`{place}`: {}", d.message)
    };
    d
}

/// serde's "invalid type: string \"3\", expected i64" in words: "a whole number, not a string"
/// (for values inside a type the shape cannot see into, such as "a string or a table").
fn type_error_in_words(message: &str) -> Option<String> {
    let rest = message.strip_prefix("invalid type: ")?;
    let (got, expected) = rest.split_once(", expected ")?;
    let got = match got.split_whitespace().next()? {
        "string" => "a string",
        "integer" => "a whole number",
        "floating" => "a number with a fraction",
        "boolean" => "true or false",
        "sequence" => "a list",
        "map" => "a table",
        _ => return None,
    };
    let expected = match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "a whole number"
        }
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "a map" => "a table",
        e if e.starts_with("struct ") => "a table",
        e if e.starts_with("a ") || e.starts_with("an ") => e,
        _ => return None,
    };
    Some(format!("{expected}, not {got}"))
}

/// A TOML or serde error as a diagnostic, with what to do.
pub fn from_toml_error(error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim_end_matches('\n').to_string();
    let message = type_error_in_words(&message).unwrap_or(message);
    let help = if message.starts_with("missing field") {
        Some("add it: see docs/inventory.md for what it takes")
    } else if message.starts_with("unknown field") {
        Some("remove the field, or check its spelling against docs/inventory.md")
    } else if message.contains("invalid type") || message.contains("did not match any variant") {
        Some("check the value's type: strings are quoted, lists use [ ], tables use { }")
    } else {
        None
    };
    let d = Diagnostic::error(error.span(), message);
    match help {
        Some(h) => d.with_help(h),
        None => d,
    }
}

fn check_table(table: &mut DeTable<'_>, shape: &Shape, path: &mut Vec<String>, out: &mut Found) {
    let mut wrong: Vec<String> = Vec::new();
    for (key, value) in table.iter_mut() {
        let name = key.get_ref().as_ref();
        let field_shape = match shape {
            Shape::Map(inner) => Some(inner.as_ref()),
            Shape::Struct { fields, .. } => fields.iter().find(|f| f.0 == name).map(|f| &f.1),
            _ => None,
        };
        path.push(name.to_string());
        let keep = match field_shape {
            Some(field_shape) => check_value(value, field_shape, path, out),
            None => {
                out.problems
                    .push(unknown_field(name, key.span(), shape, path));
                false
            }
        };
        path.pop();
        if !keep {
            wrong.push(name.to_string());
        }
    }
    if !wrong.is_empty() {
        for name in &wrong {
            table.remove(name.as_str());
        }
    }
}

/// Checks `value` against `shape`, reporting what is wrong inside it; `false` when the value
/// itself has the wrong type (the caller removes it).
fn check_value(
    value: &mut Spanned<DeValue<'_>>,
    shape: &Shape,
    path: &mut Vec<String>,
    out: &mut Found,
) -> bool {
    let shape = strip(shape);
    if !fits(value.get_ref(), shape) {
        out.problems.push(wrong_type(value, shape, path));
        out.values_removed = true;
        return false;
    }
    match (value.get_mut(), shape) {
        (DeValue::Table(table), Shape::Map(_) | Shape::Struct { .. }) => {
            check_table(table, shape, path, out);
        }
        (DeValue::Array(array), Shape::List(inner)) => check_list(array, inner, path, out),
        _ => {}
    }
    true
}

fn check_list(array: &mut DeArray<'_>, shape: &Shape, path: &mut Vec<String>, out: &mut Found) {
    let mut keep = Vec::with_capacity(array.len());
    for (index, item) in array.iter_mut().enumerate() {
        path.push(format!("[{index}]"));
        keep.push(check_value(item, shape, path, out));
        path.pop();
    }
    if keep.iter().all(|k| *k) {
        return;
    }
    let items = std::mem::replace(array, DeArray::new());
    *array = items
        .into_iter()
        .zip(keep)
        .filter_map(|(item, keep)| keep.then_some(item))
        .collect();
}

/// `shape` without the `Optional` and `Named` wrappers that do not change the TOML type.
fn strip(shape: &Shape) -> &Shape {
    match shape {
        Shape::Optional(inner) => strip(inner),
        _ => shape,
    }
}

/// Whether the TOML value has the type `shape` asks for (one level deep).
fn fits(value: &DeValue<'_>, shape: &Shape) -> bool {
    match shape {
        Shape::Optional(inner) | Shape::Named(_, inner) => fits(value, inner),
        Shape::Any => true,
        Shape::Bool => matches!(value, DeValue::Boolean(_)),
        Shape::Int => matches!(value, DeValue::Integer(_)),
        Shape::Float => matches!(value, DeValue::Float(_) | DeValue::Integer(_)),
        Shape::Str => matches!(value, DeValue::String(_)),
        Shape::Choice(choices) => match value {
            DeValue::String(s) => choices.contains(&&**s),
            _ => false,
        },
        Shape::List(_) => matches!(value, DeValue::Array(_)),
        Shape::Map(_) | Shape::Struct { .. } => matches!(value, DeValue::Table(_)),
    }
}

/// What a TOML value is, in words.
fn what_it_is(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "a whole number",
        DeValue::Float(_) => "a number with a fraction",
        DeValue::Boolean(_) => "true or false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

/// `containers.web.ports[1]`.
fn dotted(path: &[String]) -> String {
    let mut text = String::new();
    for part in path {
        if !text.is_empty() && !part.starts_with('[') {
            text.push('.');
        }
        text.push_str(part);
    }
    text
}

fn wrong_type(value: &Spanned<DeValue<'_>>, shape: &Shape, path: &[String]) -> Diagnostic {
    let is = what_it_is(value.get_ref());
    let message = match (shape, value.get_ref()) {
        (Shape::Choice(_), DeValue::String(s)) => {
            format!("`{}` cannot be \"{}\"", dotted(path), &**s)
        }
        _ => format!(
            "`{}` must be {}, not {is}",
            dotted(path),
            shape.words(),
            is = is
        ),
    };
    let d = Diagnostic::error(Some(value.span()), message).with_label(format!("this is {is}"));
    let help = match (shape, value.get_ref()) {
        (Shape::Choice(choices), DeValue::String(s)) => {
            match did_you_mean(s, choices.iter().copied()) {
                Some(m) => format!("did you mean \"{m}\"? It takes {}", shape.words()),
                None => format!("it takes {}", shape.words()),
            }
        }
        (Shape::List(_), _) => format!("write it as [ … ]: {}", shape.words()),
        (
            Shape::Str | Shape::Named(..),
            DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) | DeValue::Datetime(_),
        ) => "quote it: strings are written in \"…\"".into(),
        _ => format!("write {}", shape.words()),
    };
    d.with_help(help)
}

fn unknown_field(name: &str, span: Range<usize>, shape: &Shape, path: &[String]) -> Diagnostic {
    let table = dotted(&path[..path.len().saturating_sub(1)]);
    let place = if table.is_empty() {
        "at the top of the inventory".to_string()
    } else {
        format!("in `{table}`")
    };
    let fields = shape.fields().unwrap_or_default();
    let help = match did_you_mean(name, fields.iter().map(|f| f.0)) {
        Some(m) => format!("did you mean `{m}`?"),
        None => "remove it: docs/inventory.md lists every field".to_string(),
    };
    Diagnostic::error(Some(span), format!("unknown field `{name}` {place}")).with_help(help)
}

/// serde's "unknown field `X`, expected one of `a`, `b`" (from a table the shape cannot see
/// into, such as one that may also be a string) as [`unknown_field`] says it: where, and a
/// did-you-mean among the names serde listed rather than the whole list.
fn serde_unknown_field(error: &toml::de::Error, path: &[String]) -> Option<Diagnostic> {
    let rest = error.message().strip_prefix("unknown field `")?;
    let (name, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let table = dotted(&path[..path.len().saturating_sub(1)]);
    let place = if table.is_empty() {
        "at the top of the inventory".to_string()
    } else {
        format!("in `{table}`")
    };
    let help = match did_you_mean(name, candidates.iter().copied()) {
        Some(m) => format!("did you mean `{m}`?"),
        None => "remove it: docs/inventory.md lists every field".to_string(),
    };
    Some(Diagnostic::error(error.span(), format!("unknown field `{name}` {place}")).with_help(help))
}

/// Removes the innermost table entry or list item whose key or value contains `span`. `false`
/// when there is none.
/// `path` becomes the removed value's place.
fn remove_at(table: &mut DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    let mut hit: Option<String> = None;
    for (key, value) in table.iter_mut() {
        path.push(key.get_ref().to_string());
        if remove_inside(value, span, path) {
            return true;
        }
        path.pop();
        if contains(&key.span(), span) || contains(&value.span(), span) {
            hit = Some(key.get_ref().to_string());
            break;
        }
    }
    match hit {
        Some(name) => {
            table.remove(name.as_str());
            path.push(name);
            true
        }
        None => false,
    }
}

fn remove_inside(
    value: &mut Spanned<DeValue<'_>>,
    span: &Range<usize>,
    path: &mut Vec<String>,
) -> bool {
    match value.get_mut() {
        DeValue::Table(table) => remove_at(table, span, path),
        DeValue::Array(array) => {
            for (index, item) in array.iter_mut().enumerate() {
                path.push(format!("[{index}]"));
                if remove_inside(item, span, path) {
                    return true;
                }
                path.pop();
            }
            let Some(index) = array.iter().position(|i| contains(&i.span(), span)) else {
                return false;
            };
            let items = std::mem::replace(array, DeArray::new());
            *array = items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| (i != index).then_some(item))
                .collect();
            path.push(format!("[{index}]"));
            true
        }
        _ => false,
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && !outer.is_empty()
}

#[cfg(test)]
mod tests {
    use crate::compile::diagnostic::render;
    use crate::compile::inventory::parse;

    /// Several unknown keys and type errors across defaults, networks, volumes and containers.
    const BAD: &str = r#"[defaults]
restrat = "always"

[networks.media]
subnet = 10
internl = true

[volumes.data]
driver = ["local"]
lables = { a = "b" }

[containers.web]
image = "docker.io/library/nginx:latest"
environment_file = ["/etc/web.env"]
ports = ["80:80", 443]
auto_start = "yes"
stop_timeout = 60
health = { cmd = "true", retries = "3", intervall = "5s" }
environment = { A = 1 }

[containers.web.quadlet.Container]
ShmSize = 5

[containers.db]
image = "docker.io/library/postgres:16"
health = { interval = "5s" }
"#;

    /// (line:column, message, help) of every problem, in file order.
    fn problems(src: &str) -> Vec<(String, String, String)> {
        let diagnostics = parse(src).expect_err("must fail");
        diagnostics
            .iter()
            .map(|d| {
                let text = render(std::slice::from_ref(d), "inv.toml", src, false);
                let place = text
                    .split("inv.toml:")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .unwrap_or_default()
                    .to_string();
                (place, d.message.clone(), d.help.clone().unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn every_unknown_key_and_type_error_is_reported_at_once() {
        let found = problems(BAD);
        let expected = [
            (
                "2:1",
                "unknown field `restrat` in `defaults`",
                "did you mean `restart`?",
            ),
            (
                "5:10",
                "`networks.media.subnet` must be a string, not a whole number",
                "quote it",
            ),
            (
                "6:1",
                "unknown field `internl` in `networks.media`",
                "did you mean `internal`?",
            ),
            (
                "9:10",
                "`volumes.data.driver` must be a string, not a list",
                "write a string",
            ),
            (
                "10:1",
                "unknown field `lables` in `volumes.data`",
                "did you mean `labels`?",
            ),
            (
                "14:1",
                "unknown field `environment_file` in `containers.web`",
                "did you mean `environment_files`?",
            ),
            (
                "15:19",
                "`containers.web.ports[1]` must be a string, not a whole number",
                "",
            ),
            (
                "16:14",
                "`containers.web.auto_start` must be true or false, not a string",
                "",
            ),
            (
                "17:16",
                "`containers.web.stop_timeout` must be a duration like \"60s\", not a whole number",
                "",
            ),
            (
                "18:36",
                "`containers.web.health.retries` must be a whole number, not a string",
                "",
            ),
            (
                "18:41",
                "unknown field `intervall` in `containers.web.health`",
                "did you mean `interval`?",
            ),
            (
                "19:21",
                "`containers.web.environment.A` must be a string, not a whole number",
                "",
            ),
            (
                "22:11",
                "`containers.web.quadlet.Container.ShmSize` must be a string or a list of strings",
                "",
            ),
            (
                "26:10",
                "`containers.db.health`: missing field `cmd`",
                "add it",
            ),
        ];
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for ((place, message, help), (want_place, want_message, want_help)) in
            found.iter().zip(expected)
        {
            assert_eq!(
                (place.as_str(), message.as_str()),
                (want_place, want_message)
            );
            assert!(help.starts_with(want_help), "{message}: help {help:?}");
        }
    }

    #[test]
    fn unknown_field_without_a_close_name_does_not_list_every_field() {
        let src = "[containers.web]\nimage = \"docker.io/library/nginx:latest\"\nzzzzzz = 1\n";
        let found = problems(src);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, "unknown field `zzzzzz` in `containers.web`");
        assert!(
            !found[0].2.contains("environment_files"),
            "{:?}",
            found[0].2
        );
        assert!(found[0].2.contains("docs/inventory.md"), "{:?}", found[0].2);
    }

    #[test]
    fn unknown_top_level_table_gets_a_did_you_mean() {
        let found = problems("[container.web]\nimage = \"x\"\n");
        assert_eq!(
            found[0].1,
            "unknown field `container` at the top of the inventory"
        );
        assert_eq!(found[0].2, "did you mean `containers`?");
    }

    #[test]
    fn a_table_where_a_string_belongs_is_named() {
        let found = problems("[containers.web]\nimage = { name = \"x\" }\n");
        assert_eq!(
            found[0].1,
            "`containers.web.image` must be a string, not a table"
        );
    }

    #[test]
    fn toml_syntax_errors_stay_one_error() {
        let found = problems("[containers.web\nimage = 1\n");
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
