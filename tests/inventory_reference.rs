//! docs/inventory.md documents every field of the inventory: the field list is read from the serde
//! types themselves (their traced shape), so a field added to `compile::inventory` without a row
//! in the reference fails here.

use quadgen::compile::inventory::Inventory;
use quadgen::compile::inventory::shape::{Shape, shape_of};

const REFERENCE: &str = include_str!("../docs/inventory.md");

/// The doc's sections: (heading, body).
fn sections(doc: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in doc.lines() {
        if line.starts_with("## ") || line.starts_with("### ") {
            out.push((line, String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The struct a field holds, looking through options and per-name maps; `true` for a map.
fn inner_struct(shape: &Shape) -> Option<(&Shape, bool)> {
    match shape {
        Shape::Struct { .. } => Some((shape, false)),
        Shape::Optional(inner) => inner_struct(inner),
        Shape::Map(inner) => inner_struct(inner).map(|(s, _)| (s, true)),
        _ => None,
    }
}

fn struct_name(shape: &Shape) -> &'static str {
    match shape {
        Shape::Struct { name, .. } => name,
        _ => "",
    }
}

/// Every field the reference lacks, as `section: field`.
fn missing(doc: &str) -> Vec<String> {
    let shape = shape_of::<Inventory>().expect("the inventory types trace");
    let sections = sections(doc);
    let section = |heading: &str| {
        sections
            .iter()
            .find(|(h, _)| h.contains(heading))
            .map(|(_, body)| body.as_str())
    };
    let row = |body: Option<&str>, field: &str| {
        body.is_some_and(|b| b.contains(&format!("| `{field}` |")))
    };
    let mut gaps = Vec::new();
    let top = shape.fields().expect("the inventory is a table");
    let file = section("The file");
    for (key, _) in top {
        if !row(file, key) {
            gaps.push(format!("The file: {key}"));
        }
    }
    // Per-name tables first: a struct is documented where it has its own tables; elsewhere (the
    // `[defaults]`) its section must exist and point there.
    let mut documented: Vec<(&str, String)> = Vec::new();
    let mut ordered: Vec<_> = top
        .iter()
        .filter_map(|(k, s)| Some((*k, inner_struct(s)?)))
        .collect();
    ordered.sort_by_key(|(_, (_, is_map))| !is_map);
    for (key, (inner, is_map)) in ordered {
        let heading = if is_map {
            format!("`[{key}.NAME]`")
        } else {
            format!("`[{key}]`")
        };
        let body = section(&heading);
        if body.is_none() {
            gaps.push(format!("no section {heading}"));
            continue;
        }
        if let Some((_, first)) = documented.iter().find(|(n, _)| *n == struct_name(inner)) {
            if !body.is_some_and(|b| b.contains(first.trim_matches('`'))) {
                gaps.push(format!("{heading} does not point to {first}"));
            }
            continue;
        }
        documented.push((struct_name(inner), heading.clone()));
        gaps.extend(fields_missing(inner, &heading, "", body, &section));
    }
    gaps
}

/// The fields of `shape` without a row in `body`; nested tables (`health`) in their own section.
fn fields_missing<'d>(
    shape: &Shape,
    heading: &str,
    prefix: &str,
    body: Option<&str>,
    section: &dyn Fn(&str) -> Option<&'d str>,
) -> Vec<String> {
    let mut gaps = Vec::new();
    for (field, field_shape) in shape.fields().unwrap_or_default() {
        let name = format!("{prefix}{field}");
        if !body.is_some_and(|b| b.contains(&format!("| `{name}` |"))) {
            gaps.push(format!("{heading}: {name}"));
        }
        // A field that is "a string or a table" reads its table through a visitor the tracer
        // cannot see into: its table's own type is traced instead.
        let or_table = match *field {
            "health" => shape_of::<quadgen::compile::inventory::Health>(),
            _ => None,
        };
        let inner = or_table
            .as_ref()
            .map(|s| (s, false))
            .or_else(|| inner_struct(field_shape));
        if let Some((inner, false)) = inner {
            let nested = format!("`{name}`");
            let nested_body = section(&nested);
            gaps.extend(fields_missing(
                inner,
                &nested,
                &format!("{name}."),
                nested_body,
                section,
            ));
        }
    }
    gaps
}

#[test]
fn every_inventory_field_is_in_the_reference() {
    let gaps = missing(REFERENCE);
    assert!(
        gaps.is_empty(),
        "docs/inventory.md lacks:\n{}",
        gaps.join("\n")
    );
}

#[test]
fn a_field_missing_from_the_reference_is_caught() {
    let without_image = REFERENCE.replace("| `image` |", "| image |");
    assert_eq!(missing(&without_image), ["`[containers.NAME]`: image"]);
    let without_retries = REFERENCE.replace("| `health.retries` |", "|");
    assert_eq!(missing(&without_retries), ["`health`: health.retries"]);
    let without_subnet = REFERENCE.replace("| `subnet` |", "|");
    assert_eq!(missing(&without_subnet), ["`[networks.NAME]`: subnet"]);
}

#[test]
fn the_readme_links_the_reference() {
    let readme = include_str!("../README.md");
    assert!(
        readme.contains("](docs/inventory.md)"),
        "README links docs/inventory.md"
    );
}
