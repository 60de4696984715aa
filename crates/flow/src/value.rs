//! The values queries, filters, captures and variables work on, with Hurl's comparison rules: integers and
//! floats compare as numbers, big integers keep their digits, dates are instants, an XPath node set knows its size.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    Null,
    Bool(bool),
    Integer(i64),
    /// An integer too large for 64 bits, kept as its decimal digits.
    BigInteger(String),
    Float(f64),
    String(String),
    Bytes(#[serde(serialize_with = "hex_bytes")] Vec<u8>),
    List(Vec<Value>),
    Object(Vec<(String, Value)>),
    Date(#[serde(serialize_with = "rfc3339")] DateTime<Utc>),
    /// The result of an XPath expression selecting nodes: how many.
    Nodeset(usize),
    /// A present value without content (a cookie's `Secure` attribute).
    Unit,
    /// A regular expression given as a variable or predicate value.
    Regex(#[serde(serialize_with = "regex_source")] RegexValue),
}

/// A compiled regex that compares by its source.
#[derive(Debug, Clone)]
pub struct RegexValue(pub regex::Regex);

impl PartialEq for RegexValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(bytes))
}

fn rfc3339<S: serde::Serializer>(date: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&date.to_rfc3339())
}

fn regex_source<S: serde::Serializer>(regex: &RegexValue, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(regex.0.as_str())
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Value {
    /// Hurl's type names, as error messages show them.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Integer(_) | Value::BigInteger(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Object(_) => "object",
            Value::Date(_) => "date",
            Value::Nodeset(_) => "nodeset",
            Value::Unit => "unit",
            Value::Regex(_) => "regex",
        }
    }

    /// Converts a JSON value, keeping integers exact where they fit.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Integer(i)
                } else if let Some(u) = n.as_u64() {
                    Value::BigInteger(u.to_string())
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// How the value is written into a template (a header, a URL, a body).
    pub fn render(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Integer(i) => i.to_string(),
            Value::BigInteger(s) => s.clone(),
            Value::Float(f) => format_float(*f),
            Value::String(s) => s.clone(),
            Value::Bytes(b) => to_hex(b),
            Value::List(items) => format!(
                "[{}]",
                items.iter().map(Value::repr).collect::<Vec<_>>().join(", ")
            ),
            Value::Object(_) => "{...}".to_string(),
            Value::Date(d) => d.format("%Y-%m-%dT%H:%M:%S.%6fZ").to_string(),
            Value::Nodeset(n) => format!("nodeset of size {n}"),
            Value::Unit => String::new(),
            Value::Regex(r) => r.0.as_str().to_string(),
        }
    }

    /// How the value is shown in a report: strings quoted, so `"1"` and `1` differ.
    pub fn repr(&self) -> String {
        match self {
            Value::String(s) => format!("string <{s}>"),
            Value::Bytes(b) => format!("bytes <{}>", to_hex(&b[..b.len().min(64)])),
            Value::List(items) => format!(
                "list <[{}]>",
                items
                    .iter()
                    .map(Value::short)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Nodeset(n) => format!("nodeset of size {n}"),
            other => format!("{} <{}>", other.kind(), other.render()),
        }
    }

    fn short(&self) -> String {
        match self {
            Value::String(s) => format!("\"{s}\""),
            other => other.render(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::BigInteger(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Value::Integer(_) | Value::Float(_) | Value::BigInteger(_)
        )
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// Floats print the shortest way that reads back the same, with `.0` kept for whole numbers as Hurl does.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Equality as the `==` predicate means it.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::BigInteger(x), Value::BigInteger(y)) => x == y,
        (Value::Integer(x), Value::BigInteger(y)) | (Value::BigInteger(y), Value::Integer(x)) => {
            &x.to_string() == y
        }
        (x, y) if x.is_number() && y.is_number() => x.as_f64() == y.as_f64(),
        (Value::Nodeset(n), y) if y.is_number() => y.as_f64() == Some(*n as f64),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && equal(v, v2)))
        }
        (Value::Unit, Value::Unit) | (Value::Null, Value::Null) => true,
        (x, y) => x == y,
    }
}

/// Ordering for `<`, `>`, `<=`, `>=`: numbers, strings and dates; `None` when the two cannot be compared.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (x, y) if x.is_number() && y.is_number() => {
            if let (Value::Integer(x), Value::Integer(y)) = (x, y) {
                return Some(x.cmp(y));
            }
            x.as_f64()?.partial_cmp(&y.as_f64()?)
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        _ => None,
    }
}
