//! YAML text → [`Node`]: a plain tree of Compose values where every node remembers the file, line
//! and column it came from, so every warning and refusal can point at it. Parsing is saphyr's;
//! YAML 1.1 merge keys (`<<: *anchor`), which Compose files use, are applied here.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::interpolate::Used;

/// Where a value was written: file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loc {
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

impl Loc {
    /// A place in a file without a line (a file as a whole, a command-line value).
    pub fn file(path: &Path) -> Self {
        Self {
            file: Arc::new(path.to_path_buf()),
            line: 0,
            col: 0,
        }
    }
}

/// A Compose value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in file order.
    Map(Vec<(String, Node)>),
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
    /// The variables interpolation put into this value, with where each came from.
    pub used: Vec<Used>,
    /// A Compose merge tag on the value: `!reset` or `!override`.
    pub tag: Option<MergeTag>,
}

/// Compose's merge tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeTag {
    /// `!reset`: the value goes back to unset.
    Reset,
    /// `!override`: the value replaces, not merges.
    Override,
}

impl Node {
    pub fn new(value: Value, loc: Loc) -> Self {
        Self {
            value,
            loc,
            used: Vec::new(),
            tag: None,
        }
    }

    /// A string at `loc`.
    pub fn str(s: impl Into<String>, loc: &Loc) -> Self {
        Self::new(Value::Str(s.into()), loc.clone())
    }

    /// A mapping at `loc`.
    pub fn map(entries: Vec<(String, Node)>, loc: &Loc) -> Self {
        Self::new(Value::Map(entries), loc.clone())
    }

    /// Sets `key` in a mapping (replacing or appending).
    pub fn set(&mut self, key: &str, node: Node) {
        if let Value::Map(entries) = &mut self.value {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = node,
                None => entries.push((key.to_string(), node)),
            }
        }
    }

    /// Removes `key` from a mapping.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        if let Value::Map(entries) = &mut self.value {
            let i = entries.iter().position(|(k, _)| k == key)?;
            return Some(entries.remove(i).1);
        }
        None
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A scalar as Compose reads it into a string field (numbers and booleans as written).
    pub fn scalar_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The name of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML error at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub loc: Loc,
    pub message: String,
}

/// Parses one YAML document (an empty text is an empty mapping).
pub fn parse(path: &Path, text: &str) -> Result<Node, YamlError> {
    let file = Arc::new(path.to_path_buf());
    let docs = MarkedYaml::load_from_str(text).map_err(|e| YamlError {
        loc: Loc {
            file: file.clone(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
        },
        message: e.info().to_string(),
    })?;
    let mut docs = docs.into_iter();
    let Some(doc) = docs.next() else {
        return Ok(Node::new(
            Value::Map(Vec::new()),
            Loc {
                file,
                line: 1,
                col: 1,
            },
        ));
    };
    if let Some(extra) = docs.next() {
        return Err(YamlError {
            loc: Loc {
                file,
                line: extra.span.start.line(),
                col: extra.span.start.col() + 1,
            },
            message: "a Compose file holds one YAML document".into(),
        });
    }
    convert(&file, &doc)
}

fn convert(file: &Arc<PathBuf>, y: &MarkedYaml<'_>) -> Result<Node, YamlError> {
    let loc = Loc {
        file: file.clone(),
        line: y.span.start.line(),
        col: y.span.start.col() + 1,
    };
    let err = |message: String| YamlError {
        loc: loc.clone(),
        message,
    };
    let value = match &y.data {
        YamlData::Value(s) => scalar(s),
        YamlData::Representation(text, _, _) => Value::Str(text.to_string()),
        YamlData::Tagged(tag, inner) => {
            let mut node = convert(file, inner)?;
            node.tag = match tag.suffix.as_str() {
                "reset" => Some(MergeTag::Reset),
                "override" => Some(MergeTag::Override),
                _ => None,
            };
            return Ok(node);
        }
        YamlData::Sequence(items) => Value::Seq(
            items
                .iter()
                .map(|i| convert(file, i))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut entries: Vec<(String, Node)> = Vec::new();
            let mut merged: Vec<Node> = Vec::new();
            for (k, v) in map {
                let Some(key) = mapping_key(k) else {
                    return Err(err("a mapping key must be a scalar".into()));
                };
                let node = convert(file, v)?;
                if key == "<<" {
                    merged.push(node);
                    continue;
                }
                if entries.iter().any(|(e, _)| *e == key) {
                    return Err(YamlError {
                        loc: node.loc,
                        message: format!("the key `{key}` appears twice"),
                    });
                }
                entries.push((key, node));
            }
            apply_merge_keys(&mut entries, merged)?;
            Value::Map(entries)
        }
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(err("a value YAML cannot resolve (bad alias or tag)".into()));
        }
    };
    Ok(Node::new(value, loc))
}

/// A mapping key as a string; `None` when it is not a scalar.
fn mapping_key(k: &MarkedYaml<'_>) -> Option<String> {
    let key = match &k.data {
        YamlData::Value(s) => match scalar(s) {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".into(),
            _ => return None,
        },
        YamlData::Representation(text, _, _) => text.to_string(),
        _ => return None,
    };
    Some(key)
}

/// `<<: *a` or `<<: [*a, *b]`: adds the anchors' keys not set in `entries`, first wins.
fn apply_merge_keys(entries: &mut Vec<(String, Node)>, merged: Vec<Node>) -> Result<(), YamlError> {
    // `<<: *a` or `<<: [*a, *b]`: keys not set here come from the anchors, first wins.
    for m in merged {
        let sources = match m.value {
            Value::Seq(items) => items,
            _ => vec![m],
        };
        for source in sources {
            let Value::Map(src) = source.value else {
                return Err(YamlError {
                    loc: source.loc,
                    message: "a merge key `<<` takes a mapping or a list of mappings".into(),
                });
            };
            for (k, v) in src {
                if !entries.iter().any(|(e, _)| *e == k) {
                    entries.push((k, v));
                }
            }
        }
    }
    Ok(())
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_locations_and_merge_keys() {
        let text = "x-base: &b\n  image: a\n  restart: always\nservices:\n  web:\n    <<: *b\n    image: b\n    ports: [\"80:80\", 8080]\n";
        let root = parse(Path::new("c.yaml"), text).expect("parses");
        let web = root
            .get("services")
            .and_then(|s| s.get("web"))
            .expect("web");
        let keys: Vec<&str> = web.entries().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["image", "ports", "restart"]);
        let image = web.get("image").expect("image");
        assert_eq!(image.value, Value::Str("b".into()));
        assert_eq!((image.loc.line, image.loc.col), (7, 12));
        assert_eq!(
            web.get("ports").expect("ports").items()[1].value,
            Value::Int(8080)
        );
    }

    #[test]
    fn errors_are_located() {
        let e = parse(Path::new("c.yaml"), "services:\n  a: [\n").expect_err("bad");
        assert_eq!(e.loc.file.as_path(), Path::new("c.yaml"));
        assert!(e.loc.line >= 2, "{e:?}");
        let dup = parse(Path::new("c.yaml"), "a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!((dup.loc.line, dup.loc.col), (2, 1), "{dup:?}");
        assert!(dup.message.contains("duplicated key"), "{dup:?}");
    }
}
