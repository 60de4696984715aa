//! Variables and templates: values from `--variable`, `--variables-file`, `HURL_VARIABLE_name`, `--secret`,
//! `[Options] variable` and captures, rendered into `{{name}}` placeholders; `{{newUuid}}` and `{{newDate}}`
//! are fresh on every use. Secret values are remembered so every output can redact them.

use crate::value::Value;
use hurl_core::ast::{
    Expr, ExprKind, Function, Placeholder, SourceInfo, Template, TemplateElement,
};
use std::collections::HashMap;

/// A failure while evaluating something at run time, located in the flow file.
#[derive(Debug, Clone)]
pub struct EvalError {
    pub source_info: SourceInfo,
    pub message: String,
}

impl EvalError {
    pub fn new(source_info: SourceInfo, message: impl Into<String>) -> Self {
        EvalError {
            source_info,
            message: message.into(),
        }
    }
}

/// The variables of one run.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    values: HashMap<String, Value>,
    secret_names: Vec<String>,
    secret_values: Vec<String>,
}

impl Variables {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// A value that must never be shown: every output replaces it with `***`.
    pub fn set_secret(&mut self, name: &str, value: String) {
        self.add_secret_value(&value);
        if !self.secret_names.iter().any(|n| n == name) {
            self.secret_names.push(name.to_string());
        }
        self.values.insert(name.to_string(), Value::String(value));
    }

    /// Remembers a value to redact without naming a variable (a captured `redact` value, a password).
    pub fn add_secret_value(&mut self, value: &str) {
        if !value.is_empty() && !self.secret_values.iter().any(|v| v == value) {
            self.secret_values.push(value.to_string());
            // Longest first, so a secret containing another is replaced whole.
            self.secret_values
                .sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn is_secret(&self, name: &str) -> bool {
        self.secret_names.iter().any(|n| n == name)
    }

    pub fn secret_values(&self) -> &[String] {
        &self.secret_values
    }

    /// Replaces every secret value in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secret_values)
    }
}

pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if !secret.is_empty() && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// Reads a value the way Hurl reads `--variable name=value`: `true`/`false`, `null`, integers (big ones kept
/// as digits), floats, a `"quoted"` string without its quotes, anything else as a string.
pub fn parse_value(text: &str) -> Value {
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Null,
        _ => {}
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::BigInteger(text.to_string()),
        };
    }
    let looks_float = digits.contains('.')
        && digits.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && (a.to_string() + b).bytes().all(|c| c.is_ascii_digit())
        });
    if looks_float && let Ok(f) = text.parse::<f64>() {
        return Value::Float(f);
    }
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        return Value::String(text[1..text.len() - 1].to_string());
    }
    Value::String(text.to_string())
}

/// Evaluates a placeholder's expression to a value.
pub fn eval_expr(expr: &Expr, vars: &Variables) -> Result<Value, EvalError> {
    match &expr.kind {
        ExprKind::Variable(variable) => vars.get(&variable.name).cloned().ok_or_else(|| {
            EvalError::new(
                variable.source_info,
                format!("you must set the variable `{}`", variable.name),
            )
        }),
        ExprKind::Function(Function::NewUuid) => {
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        ExprKind::Function(Function::NewDate) => Ok(Value::Date(chrono::Utc::now())),
        #[allow(unreachable_patterns)]
        _ => Err(EvalError::new(expr.source_info, "unsupported function")),
    }
}

/// A placeholder's value as text; lists, objects, bytes and node sets cannot be written into a template.
pub fn render_placeholder(
    placeholder: &Placeholder,
    vars: &Variables,
) -> Result<String, EvalError> {
    let value = eval_expr(&placeholder.expr, vars)?;
    match value {
        Value::List(_) | Value::Object(_) | Value::Nodeset(_) | Value::Bytes(_) | Value::Unit => {
            Err(EvalError::new(
                placeholder.expr.source_info,
                format!("a {} cannot be rendered into a template", value.kind()),
            ))
        }
        value => Ok(value.render()),
    }
}

/// Renders a template to text.
pub fn render(template: &Template, vars: &Variables) -> Result<String, EvalError> {
    let mut out = String::new();
    for element in &template.elements {
        match element {
            TemplateElement::String { value, .. } => out.push_str(value),
            TemplateElement::Placeholder(placeholder) => {
                out.push_str(&render_placeholder(placeholder, vars)?)
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_values_are_typed_like_hurl() {
        let cases = [
            ("true", Value::Bool(true)),
            ("null", Value::Null),
            ("30", Value::Integer(30)),
            ("-4", Value::Integer(-4)),
            ("1.70", Value::Float(1.7)),
            (
                "9223372036854775808",
                Value::BigInteger("9223372036854775808".into()),
            ),
            ("\"123\"", Value::String("123".into())),
            ("Milky Way", Value::String("Milky Way".into())),
            ("1.2.3", Value::String("1.2.3".into())),
            ("\\", Value::String("\\".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_value(text), expected, "{text}");
        }
    }

    #[test]
    fn redaction_replaces_the_longest_secret_first() {
        let mut vars = Variables::new();
        vars.set_secret("a", "abc".into());
        vars.add_secret_value("abcdef");
        assert_eq!(vars.redact("x=abcdef y=abc"), "x=*** y=***");
        assert!(vars.is_secret("a"));
    }
}
