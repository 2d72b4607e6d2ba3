//! The module graph of `src/` follows the one rule written at the top of `src/lib.rs`: a folder
//! imports only the folders it may, a stage of `compile` and `install` only the stages before it,
//! no module (at the depth of `folder::module`) reaches back into one that reaches it, and no two
//! files of a folder import each other around a circle (`super::` paths too). Read
//! from the source (every `crate::` and `super::` path outside comments and test code), so the rule cannot
//! drift from the code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level folders each folder may import (besides itself).
const ALLOWED: &[(&str, &[&str])] = &[
    ("unit", &[]),
    ("compile", &["unit"]),
    ("host", &["unit"]),
    ("install", &["unit", "compile", "host"]),
    ("doctor", &["unit", "compile", "host", "install"]),
    ("import", &["unit", "compile", "host"]),
    ("export", &["unit", "compile", "host"]),
    (
        "cli",
        &[
            "unit", "compile", "host", "install", "doctor", "import", "export",
        ],
    ),
];

/// Stage order inside a folder: a module may import only itself and the modules before it.
const STAGES: &[(&str, &[&str])] = &[
    (
        "compile",
        &[
            "diagnostic",
            "parallel",
            "inventory",
            "version",
            "model",
            "quadlet",
            "render",
        ],
    ),
    (
        "install",
        &["manifest", "plan", "apply", "status", "out_dir"],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/install/plan/show.rs` → `["install", "plan", "show"]`; `src/cli.rs` → `["cli"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|c| c != "mod")
        .collect()
}

/// The code of a file without comments and without its test module.
fn product_code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b::…` path in `code`, as its identifiers; a group `crate::a::{b, c::d}`
/// gives `a::b` and `a::c::d`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    paths_after(code, "crate::")
}

/// Every path in `code` that starts with `prefix` (`crate::`, `super::`), as the identifiers
/// after it; `super::super::x` gives `super::x` (one `super` was the prefix).
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        read_path(rest, Vec::new(), &mut paths);
    }
    paths
}

/// Reads one path (or group) from the start of `tail`, after the identifiers in `prefix`.
fn read_path(mut tail: &str, mut path: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        tail = tail.trim_start();
        if let Some(group) = tail.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        read_path(&group[start..i], path.clone(), out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        read_path(&group[start..i], path.clone(), out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if end == 0 {
            break;
        }
        path.push(tail[..end].to_string());
        match tail[end..].strip_prefix("::") {
            Some(next) => tail = next,
            None => break,
        }
    }
    if !path.is_empty() && path[0] != "self" {
        out.push(path);
    }
}

struct Graph {
    /// `folder::module` (or `folder` for its root file) → the nodes it imports.
    edges: BTreeMap<String, BTreeSet<String>>,
    /// Every import that breaks the rule, as `file: path (why)`.
    violations: Vec<String>,
}

fn read_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let stages: BTreeMap<&str, &[&str]> = STAGES.iter().copied().collect();
    let mut graph = Graph {
        edges: BTreeMap::new(),
        violations: Vec::new(),
    };
    for file in &files {
        let from = module_path(&src, file);
        let folder = from[0].as_str();
        if matches!(folder, "lib" | "main") || from.last().is_some_and(|m| m == "tests") {
            continue;
        }
        let Some(may) = allowed.get(folder) else {
            graph.violations.push(format!(
                "{}: `{folder}` is not a folder of the layout in lib.rs",
                file.display()
            ));
            continue;
        };
        let from_node = from[..from.len().min(2)].join("::");
        let text = std::fs::read_to_string(file).expect("read");
        for path in crate_paths(&product_code(&text)) {
            let to_folder = path[0].as_str();
            // The node imported: `folder::module` when that module exists, else the folder.
            let to_node = if path.len() > 1 && modules.contains(&path[..2]) {
                path[..2].join("::")
            } else {
                to_folder.to_string()
            };
            let shown = format!("{}: crate::{}", file.display(), path.join("::"));
            if to_folder != folder && !may.contains(&to_folder) {
                graph
                    .violations
                    .push(format!("{shown} (`{folder}` may import only {may:?})"));
            }
            if to_folder == folder && from.len() > 1 && path.len() > 1 {
                if let Some(order) = stages.get(folder) {
                    let rank = |m: &str| order.iter().position(|s| *s == m);
                    if let (Some(a), Some(b)) = (rank(&from[1]), rank(&path[1])) {
                        if b > a {
                            graph.violations.push(format!(
                                "{shown} (stage `{}` imports the later stage `{}`)",
                                from[1], path[1]
                            ));
                        }
                    }
                }
            }
            if to_node != from_node {
                graph
                    .edges
                    .entry(from_node.clone())
                    .or_default()
                    .insert(to_node);
            }
        }
    }
    graph
}

/// A cycle in `edges`, if there is one, as the nodes along it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn every_import_follows_the_layout_rule() {
    let graph = read_graph();
    assert!(
        graph.violations.is_empty(),
        "imports that break the rule in src/lib.rs:\n{}",
        graph.violations.join("\n")
    );
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = read_graph();
    assert!(
        graph.edges.len() > 10,
        "the graph reader found too few modules: {:?}",
        graph.edges
    );
    if let Some(cycle) = find_cycle(&graph.edges) {
        panic!("import cycle: {}", cycle.join(" → "));
    }
}

/// Every file-level import (`crate::…` and `super::…`), seen at the level where the two files
/// part: an import from `import::oci::apply` of `import::oci::ctr` is an edge between the
/// siblings `apply` and `ctr`; one of `compile::model` from `import::oci::apply` an edge from
/// `import` to `compile`. Imports between a module and its own parent or child are not edges (a
/// parent declares and re-exports its children; they use its shared types).
fn sibling_edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_path(&src, file);
        if matches!(from[0].as_str(), "lib" | "main") || from.last().is_some_and(|m| m == "tests") {
            continue;
        }
        let code = product_code(&std::fs::read_to_string(file).expect("read"));
        let absolute = crate_paths(&code);
        let relative = paths_after(&code, "super::").into_iter().map(|p| {
            let ups = 1 + p.iter().take_while(|w| *w == "super").count();
            let base = &from[..from.len().saturating_sub(ups)];
            base.iter()
                .cloned()
                .chain(p.into_iter().skip(ups - 1))
                .collect::<Vec<_>>()
        });
        for path in absolute.into_iter().chain(relative) {
            // The module imported: the longest prefix of the path that is a file.
            let Some(to) = (1..=path.len())
                .rev()
                .map(|n| &path[..n])
                .find(|m| modules.contains(*m))
            else {
                continue;
            };
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common < from.len() && common < to.len() {
                edges
                    .entry(from[..=common].join("::"))
                    .or_default()
                    .insert(to[..=common].join("::"));
            }
        }
    }
    edges
}

/// No two files of one folder (and no two folders) import each other, directly or around a
/// circle: each folder reads as a DAG of its files.
#[test]
fn no_files_import_each_other_in_a_circle() {
    let edges = sibling_edges();
    assert!(
        edges.contains_key("import::oci::apply"),
        "the reader found no file-level edges: {edges:?}"
    );
    if let Some(cycle) = find_cycle(&edges) {
        panic!("files that import each other: {}", cycle.join(" → "));
    }
}

#[test]
fn the_checks_catch_a_cycle_and_a_backward_import() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges
        .entry("compile::model".into())
        .or_default()
        .insert("compile::render".into());
    edges
        .entry("compile::render".into())
        .or_default()
        .insert("compile::quadlet".into());
    assert_eq!(find_cycle(&edges), None);
    edges
        .entry("compile::quadlet".into())
        .or_default()
        .insert("compile::model".into());
    assert!(find_cycle(&edges).is_some());
    assert_eq!(
        crate_paths(
            "use crate::unit::{Section, kind::{self, UnitKind}};\nlet x = $crate::no; my_crate::no;"
        ),
        vec![
            vec!["unit".to_string(), "Section".to_string()],
            vec!["unit".to_string(), "kind".to_string(), "self".to_string()],
            vec![
                "unit".to_string(),
                "kind".to_string(),
                "UnitKind".to_string()
            ],
        ]
    );
}

/// Prints the folder graph (`cargo test --test architecture -- --nocapture`): the evidence.
#[test]
fn print_the_folder_graph() {
    let graph = read_graph();
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &graph.edges {
        let f = from.split("::").next().unwrap_or_default().to_string();
        for to in tos {
            let t = to.split("::").next().unwrap_or_default().to_string();
            if t != f {
                folders.entry(f.clone()).or_default().insert(t);
            }
        }
    }
    for (from, tos) in &folders {
        println!(
            "{from} → {}",
            tos.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        !folders.contains_key("unit"),
        "unit imports {:?}",
        folders.get("unit")
    );
}

/// Typed errors in the core: `anyhow` appears only in `src/cli` (and `main.rs`).
#[test]
fn anyhow_only_at_the_cli_edge() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            let module = module_path(&src, f);
            !matches!(module[0].as_str(), "cli" | "main" | "lib")
        })
        .filter(|f| product_code(&std::fs::read_to_string(f).expect("read")).contains("anyhow"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "anyhow outside src/cli: {offenders:?}"
    );
}

/// The longest function in `src/` outside test code, in lines from `fn` to its closing brace
/// (rustfmt puts it at the `fn`'s indentation). `-- --nocapture` prints the five longest.
fn function_lengths() -> Vec<(usize, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut lengths = Vec::new();
    for file in files {
        if module_path(&src, &file)
            .last()
            .is_some_and(|m| m == "tests")
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let code = match text.find("#[cfg(test)]\nmod tests") {
            Some(at) => &text[..at],
            None => &text,
        };
        let lines: Vec<&str> = code.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let after_visibility = trimmed
                .strip_prefix("pub(crate) ")
                .or_else(|| trimmed.strip_prefix("pub(super) "))
                .or_else(|| trimmed.strip_prefix("pub "))
                .unwrap_or(trimmed);
            let after_qualifiers = after_visibility
                .strip_prefix("const ")
                .unwrap_or(after_visibility);
            if !after_qualifiers.starts_with("fn ") || line.trim_end().ends_with(';') {
                continue;
            }
            if line.trim_end().ends_with('}') {
                lengths.push((1, format!("{}:{}", file.display(), at + 1)));
                continue;
            }
            let close = format!("{indent}}}");
            if let Some(end) = lines[at..].iter().position(|l| *l == close) {
                lengths.push((end + 1, format!("{}:{}", file.display(), at + 1)));
            }
        }
    }
    lengths.sort();
    lengths.reverse();
    lengths
}

#[test]
fn no_function_is_longer_than_80_lines() {
    let lengths = function_lengths();
    for (lines, at) in lengths.iter().take(5) {
        println!("{lines:>4} {at}");
    }
    let too_long: Vec<_> = lengths.iter().filter(|(n, _)| *n > 80).collect();
    assert!(
        lengths.len() > 100,
        "the reader found too few functions: {}",
        lengths.len()
    );
    assert!(too_long.is_empty(), "functions over 80 lines: {too_long:?}");
}
