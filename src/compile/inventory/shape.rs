//! The shape of the inventory types, read from their serde `Deserialize` implementations.
//!
//! [`shape_of`] runs a type's `Deserialize` against a tracing deserializer that answers every
//! request with a sample value and records what was asked for: the struct names and fields serde
//! derives, options, lists, maps, strings, numbers, booleans. The serde types in
//! [`super`] therefore stay the one place that names the inventory's fields and their types: the
//! checker that reports every unknown key and type error at once ([`super::check`]) and the
//! reference's drift test both read this shape, so neither can disagree with the parser.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// What a value of a type looks like in TOML.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Bool,
    Int,
    Float,
    Str,
    /// An optional field: absent, or the inner shape (TOML has no null).
    Optional(Box<Shape>),
    List(Box<Shape>),
    /// A table with free keys (environment, labels, the containers by name).
    Map(Box<Shape>),
    /// A table with fixed fields, in declaration order.
    Struct {
        name: &'static str,
        fields: Vec<(&'static str, Shape)>,
    },
    /// A newtype that names what its text means, e.g. `Duration` (see [`super::duration`]).
    Named(&'static str, Box<Shape>),
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// Anything the tracer cannot see through (an untagged enum): only the real parse checks it.
    Any,
}

impl Shape {
    /// The fields of a struct shape, looking through `Optional`.
    pub fn fields(&self) -> Option<&[(&'static str, Shape)]> {
        match self {
            Shape::Struct { fields, .. } => Some(fields),
            Shape::Optional(inner) => inner.fields(),
            _ => None,
        }
    }

    /// What a value of this shape is, in words: "a whole number", "a list of strings".
    pub fn words(&self) -> String {
        match self {
            Shape::Bool => "true or false".into(),
            Shape::Int => "a whole number".into(),
            Shape::Float => "a number".into(),
            Shape::Str => "a string".into(),
            Shape::Optional(inner) => inner.words(),
            Shape::List(inner) => format!("a list of {}", inner.plural()),
            Shape::Map(inner) => match inner.as_ref() {
                Shape::Str => "a table of strings, like { KEY = \"value\" }".into(),
                _ => "a table".into(),
            },
            Shape::Struct { .. } | Shape::Any => "a table".into(),
            Shape::Named("Duration", _) => "a duration like \"60s\"".into(),
            Shape::Named(_, inner) => inner.words(),
            Shape::Choice(choices) => {
                let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
                format!("one of {}", quoted.join(", "))
            }
        }
    }

    fn plural(&self) -> String {
        match self {
            Shape::Str | Shape::Named(..) | Shape::Choice(_) => "strings".into(),
            Shape::Int => "whole numbers".into(),
            Shape::Bool => "true or false values".into(),
            Shape::Float => "numbers".into(),
            Shape::List(_) => "lists".into(),
            Shape::Optional(inner) => inner.plural(),
            Shape::Map(_) | Shape::Struct { .. } | Shape::Any => "tables".into(),
        }
    }
}

/// The shape of `T`, traced through its `Deserialize` implementation. `None` when that
/// implementation refuses every sample the tracer offers (it then has no shape to check against).
pub fn shape_of<T: Deserialize<'static>>() -> Option<Shape> {
    let mut shape = Shape::Any;
    T::deserialize(Tracer { out: &mut shape }).ok()?;
    Some(shape)
}

/// The error type of the tracer: a sample was refused.
#[derive(Debug)]
struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<M: fmt::Display>(message: M) -> Self {
        Refused(message.to_string())
    }
}

/// Records the shape requested into `out` and answers with a sample value.
struct Tracer<'a> {
    out: &'a mut Shape,
}

/// Serde's private name for `toml::Spanned`, which is transparent here.
fn is_spanned(name: &str) -> bool {
    name == "$__serde_spanned_private_Spanned"
}

macro_rules! answer {
    ($($method:ident => $shape:expr, $visit:ident($($sample:expr)?);)*) => {
        $(fn $method<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Refused> {
            *self.out = $shape;
            visitor.$visit($($sample)?)
        })*
    };
}

impl de::Deserializer<'static> for Tracer<'_> {
    type Error = Refused;

    answer! {
        deserialize_any => Shape::Any, visit_borrowed_str("");
        deserialize_bool => Shape::Bool, visit_bool(false);
        deserialize_i8 => Shape::Int, visit_i64(0);
        deserialize_i16 => Shape::Int, visit_i64(0);
        deserialize_i32 => Shape::Int, visit_i64(0);
        deserialize_i64 => Shape::Int, visit_i64(0);
        deserialize_u8 => Shape::Int, visit_u64(0);
        deserialize_u16 => Shape::Int, visit_u64(0);
        deserialize_u32 => Shape::Int, visit_u64(0);
        deserialize_u64 => Shape::Int, visit_u64(0);
        deserialize_f32 => Shape::Float, visit_f64(0.0);
        deserialize_f64 => Shape::Float, visit_f64(0.0);
        deserialize_char => Shape::Str, visit_char('x');
        deserialize_str => Shape::Str, visit_borrowed_str("");
        deserialize_string => Shape::Str, visit_borrowed_str("");
        deserialize_bytes => Shape::Str, visit_borrowed_str("");
        deserialize_byte_buf => Shape::Str, visit_borrowed_str("");
        deserialize_identifier => Shape::Str, visit_borrowed_str("");
        deserialize_unit => Shape::Any, visit_unit();
        deserialize_ignored_any => Shape::Any, visit_unit();
    }

    fn deserialize_option<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Refused> {
        let mut inner = Shape::Any;
        let value = visitor.visit_some(Tracer { out: &mut inner })?;
        *self.out = Shape::Optional(Box::new(inner));
        Ok(value)
    }

    fn deserialize_unit_struct<V: Visitor<'static>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'static>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        let mut inner = Shape::Any;
        let value = visitor.visit_newtype_struct(Tracer { out: &mut inner })?;
        *self.out = Shape::Named(name, Box::new(inner));
        Ok(value)
    }

    fn deserialize_seq<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Refused> {
        let mut inner = Shape::Any;
        let value = visitor.visit_seq(OneElement {
            out: &mut inner,
            done: false,
        })?;
        *self.out = Shape::List(Box::new(inner));
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'static>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'static>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, Refused> {
        let mut key = Shape::Any;
        let mut inner = Shape::Any;
        let value = visitor.visit_map(Fields {
            keys: &[""],
            shapes: vec![],
            key_out: Some(&mut key),
            value_out: Some(&mut inner),
            next: 0,
        })?;
        *self.out = Shape::Map(Box::new(inner));
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'static>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        let mut access = Fields {
            keys: fields,
            shapes: vec![],
            key_out: None,
            value_out: None,
            next: 0,
        };
        let value = visitor.visit_map(&mut access)?;
        let mut shapes = access.shapes.into_iter();
        *self.out = if is_spanned(name) {
            // start, end, value: the value's shape is the last one.
            shapes.next_back().map_or(Shape::Any, |(_, shape)| shape)
        } else {
            Shape::Struct {
                name,
                fields: shapes.collect(),
            }
        };
        Ok(value)
    }

    fn deserialize_enum<V: Visitor<'static>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        *self.out = Shape::Choice(variants);
        let first = variants.first().copied().unwrap_or_default();
        visitor.visit_enum(first.into_deserializer())
    }
}

/// A list of one sample element.
struct OneElement<'a> {
    out: &'a mut Shape,
    done: bool,
}

impl SeqAccess<'static> for OneElement<'_> {
    type Error = Refused;

    fn next_element_seed<T: DeserializeSeed<'static>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Refused> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        seed.deserialize(Tracer { out: self.out }).map(Some)
    }
}

/// The fields of a struct (each traced into `shapes`), or one sample entry of a map (traced
/// into `key_out` and `value_out`).
struct Fields<'a> {
    keys: &'static [&'static str],
    shapes: Vec<(&'static str, Shape)>,
    key_out: Option<&'a mut Shape>,
    value_out: Option<&'a mut Shape>,
    next: usize,
}

impl MapAccess<'static> for Fields<'_> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'static>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        let Some(&key) = self.keys.get(self.next) else {
            return Ok(None);
        };
        match self.key_out.as_deref_mut() {
            Some(out) => seed.deserialize(Tracer { out }).map(Some),
            None => seed
                .deserialize(de::value::BorrowedStrDeserializer::new(key))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'static>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Refused> {
        let key = self.keys.get(self.next).copied().unwrap_or_default();
        self.next += 1;
        let mut shape = Shape::Any;
        let value = match self.value_out.as_deref_mut() {
            Some(out) => seed.deserialize(Tracer { out })?,
            None => seed.deserialize(Tracer { out: &mut shape })?,
        };
        if self.value_out.is_none() {
            self.shapes.push((key, shape));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::inventory::{Container, Inventory};

    #[test]
    fn the_inventory_has_a_shape() {
        let shape = shape_of::<Inventory>().expect("traced");
        let top: Vec<&str> = shape
            .fields()
            .expect("struct")
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(
            top,
            [
                "defaults",
                "networks",
                "volumes",
                "containers",
                "secrets",
                "pods"
            ]
        );
    }

    #[test]
    fn container_fields_are_read_from_serde() {
        let shape = shape_of::<Container>().expect("traced");
        let fields = shape.fields().expect("struct");
        let of = |name: &str| {
            fields
                .iter()
                .find(|f| f.0 == name)
                .map(|f| f.1.words())
                .unwrap_or_else(|| panic!("no field {name}"))
        };
        assert_eq!(of("image"), "a string");
        assert_eq!(of("ports"), "a list of strings");
        assert_eq!(of("auto_start"), "true or false");
        assert_eq!(of("stop_timeout"), "a duration like \"60s\"");
        assert_eq!(
            of("environment"),
            "a table of strings, like { KEY = \"value\" }"
        );
        assert_eq!(of("health"), "a table");
    }
}
