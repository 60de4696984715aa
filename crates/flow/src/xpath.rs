//! XPath 1.0 over libxml2 (the library Hurl uses): HTML bodies through the HTML parser, everything else as
//! XML with its namespaces registered (the default one as `_`). The binding has no safe accessor for a result's
//! type, so a result with nodes is a node set, and other results are typed by the expression's outer function
//! (string functions give strings, numeric ones numbers, predicates booleans) or by how they print.

use crate::value::Value;
use libxml::parser::Parser;
use libxml::tree::{Document, Node};
use libxml::xpath::Context;

const STRING_FUNCTIONS: &[&str] = &[
    "string",
    "normalize-space",
    "concat",
    "substring",
    "substring-before",
    "substring-after",
    "translate",
    "local-name",
    "name",
    "namespace-uri",
];
const NUMBER_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "number",
    "string-length",
    "floor",
    "ceiling",
    "round",
    "position",
    "last",
];
const BOOLEAN_FUNCTIONS: &[&str] = &[
    "boolean",
    "not",
    "true",
    "false",
    "contains",
    "starts-with",
    "lang",
];

/// Evaluates `expr` against `text`.
pub fn eval(text: &str, html: bool, expr: &str) -> Result<Value, String> {
    let parser = if html {
        Parser::default_html()
    } else {
        Parser::default()
    };
    let doc = parser.parse_string(text).map_err(|e| {
        format!(
            "the body is not valid {}: {e:?}",
            if html { "HTML" } else { "XML" }
        )
    })?;
    let context = Context::new(&doc).map_err(|_| "cannot set up XPath".to_string())?;
    if !html {
        register_namespaces(&doc, &context);
    }
    let result = context
        .evaluate_checked(expr)
        .map_err(|e| format!("invalid XPath expression `{expr}`: {e}"))?;
    let outer = expr
        .trim_start()
        .split('(')
        .next()
        .unwrap_or_default()
        .trim();
    let scalar = STRING_FUNCTIONS.contains(&outer)
        || NUMBER_FUNCTIONS.contains(&outer)
        || BOOLEAN_FUNCTIONS.contains(&outer);
    let nodes = result.get_number_of_nodes();
    if nodes > 0 {
        return Ok(Value::Nodeset(nodes));
    }
    let rendered = result.to_string();
    // An empty node set and an empty string both print as nothing; only a string function gives the latter.
    if !scalar && rendered.is_empty() {
        return Ok(Value::Nodeset(0));
    }
    if STRING_FUNCTIONS.contains(&outer) {
        return Ok(Value::String(rendered));
    }
    if BOOLEAN_FUNCTIONS.contains(&outer) || rendered == "true" || rendered == "false" {
        return Ok(Value::Bool(rendered == "true"));
    }
    if NUMBER_FUNCTIONS.contains(&outer) || rendered.parse::<f64>().is_ok() || rendered == "NaN" {
        let f = rendered.parse::<f64>().unwrap_or(f64::NAN);
        return Ok(Value::Float(f));
    }
    Ok(Value::String(rendered))
}

fn register_namespaces(doc: &Document, context: &Context) {
    let Some(root) = doc.get_root_element() else {
        return;
    };
    let mut default_registered = false;
    // Document order, so the first default namespace declared is the one `_` names.
    let mut queue: std::collections::VecDeque<Node> = std::collections::VecDeque::from([root]);
    while let Some(node) = queue.pop_front() {
        for ns in node.get_namespace_declarations() {
            let prefix = ns.get_prefix();
            if prefix.is_empty() {
                if !default_registered {
                    let _ = context.register_namespace("_", &ns.get_href());
                    default_registered = true;
                }
            } else {
                let _ = context.register_namespace(&prefix, &ns.get_href());
            }
        }
        queue.extend(node.get_child_elements());
    }
}
