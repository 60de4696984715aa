//! Turns `toml`/serde errors into our diagnostics: located at toml's span, reworded in manifest terms (keys and
//! tables rather than fields and maps), with a did-you-mean for misspelt keys.

use crate::error::{Diagnostic, Location};
use crate::raw::TABLES;

/// A syntax error: the document is not valid TOML at all.
pub(crate) fn syntax_error(error: &toml::de::Error, source: &str, file: &str) -> Diagnostic {
    let message = first_line(error.message());
    let diagnostic = if message == "duplicate key" {
        let key = span_text(error, source);
        Diagnostic::new(format!("duplicate key `{}`", key.trim_matches(['"', '\''])))
            .help("each key may appear once per table; remove or rename one of them")
    } else if message.starts_with("invalid type: integer") && message.contains(" as i128") {
        // TOML integers are 64-bit; toml reports the overflow in serde's words, which read like a type mix-up.
        Diagnostic::new("invalid TOML: integer is too large (TOML integers are 64-bit)")
    } else {
        Diagnostic::new(format!("invalid TOML: {message}"))
    };
    locate(diagnostic, error, source, file)
}

/// A shape error: valid TOML that does not fit the manifest's structure.
pub(crate) fn shape_error(error: &toml::de::Error, source: &str, file: &str) -> Diagnostic {
    let message = first_line(error.message());
    let text = span_text(error, source);
    let diagnostic = if let Some((key, expected)) = parse_unknown_field(message) {
        unknown_key(&key, &expected)
    } else if let Some(key) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        missing_key(key, text)
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        invalid_type(rest, text)
    } else {
        Diagnostic::new(message)
    };
    locate(diagnostic, error, source, file)
}

fn locate(diagnostic: Diagnostic, error: &toml::de::Error, source: &str, file: &str) -> Diagnostic {
    // toml only omits the span for errors about the whole document; the first line is the honest answer then.
    let span = error.span().unwrap_or(0..0);
    diagnostic.at(Location::from_span(source, file, span))
}

fn first_line(message: &str) -> &str {
    message.trim().lines().next().unwrap_or("")
}

fn span_text<'a>(error: &toml::de::Error, source: &'a str) -> &'a str {
    error.span().and_then(|span| source.get(span)).unwrap_or("")
}

/// Reads serde's `unknown field `x`, expected one of `a`, `b`` (or `expected `a` or `b``, `expected `a``, `there
/// are no fields`) into the key and the list of valid keys.
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once("`, ").or_else(|| rest.split_once('`'))?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), expected))
}

fn unknown_key(key: &str, expected: &[String]) -> Diagnostic {
    let valid: Vec<&str> = expected.iter().map(String::as_str).collect();
    let table = TABLES
        .iter()
        .find(|(_, keys)| keys.len() == valid.len() && keys.iter().all(|k| valid.contains(k)));
    let message = match table {
        Some((context, _)) => format!("unknown key `{key}` {context}"),
        None => format!("unknown key `{key}`"),
    };
    let help = if let Some(best) = did_you_mean(key, &valid) {
        format!("did you mean `{best}`?")
    } else if let Some((context, _)) = TABLES
        .iter()
        .find(|(_, keys)| keys.contains(&key) && !valid.contains(&key))
        .filter(|(context, _)| !context.starts_with("at the top"))
    {
        format!("`{key}` is a key {context}; is it under the wrong table header?")
    } else if valid.is_empty() {
        "this table takes no keys".to_string()
    } else {
        format!("valid keys here: {}", key_list(&valid))
    };
    Diagnostic::new(message).help(help)
}

fn key_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate, if any is close enough to be a plausible typo. Case and `-`/`_` differences are ignored
/// because `Max-Hops` for `max_hops` is the same mistake as a transposed letter.
pub(crate) fn did_you_mean<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let normalised = input.to_lowercase().replace('-', "_");
    candidates
        .iter()
        .filter_map(|candidate| {
            let similarity = strsim::jaro_winkler(&normalised, candidate);
            let edits = strsim::levenshtein(&normalised, candidate);
            // Short keys are one or two edits from almost anything, so the edit-distance rule needs some length.
            let close = similarity >= 0.8 || (edits <= 2 && candidate.len() >= 4);
            close.then_some((*candidate, similarity))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(candidate, _)| candidate)
}

/// The help for an unknown name: the close one when there is one, else `otherwise`.
pub(crate) fn suggest(best: Option<&str>, otherwise: impl FnOnce() -> String) -> String {
    match best {
        Some(best) => format!("did you mean `{best}`?"),
        None => otherwise(),
    }
}

fn missing_key(key: &str, table_text: &str) -> Diagnostic {
    if key == "site" {
        return Diagnostic::new("missing the required [site] table")
            .help("start the manifest with `[site]` and `domain = \"example.com\"`, or run `launchready init DOMAIN`");
    }
    let context = if table_text.starts_with('[') {
        format!(" in {}", table_text.trim())
    } else {
        " in this table".to_string()
    };
    let (code, tail) = match key {
        "domain" => ("domain = \"example.com\"".to_string(), ""),
        "name" => ("name = \"…\"".to_string(), ""),
        "path" => ("path = \"/…\"".to_string(), ""),
        "kind" => (
            "kind = \"landing\"".to_string(),
            " (or login, signup, checkout, member, webhook, static, other)",
        ),
        "from" | "to" => (format!("{key} = \"https://…\""), ""),
        "id" => (
            "id = \"dns.caa.missing\"".to_string(),
            ", a finding id or a family such as `email.*`",
        ),
        "reason" => (
            "reason = \"…\"".to_string(),
            " saying why the finding is accepted",
        ),
        _ => return Diagnostic::new(format!("missing required key `{key}`{context}")),
    };
    Diagnostic::new(format!("missing required key `{key}`{context}"))
        .help(format!("add `{code}`{tail}"))
}

fn invalid_type(rest: &str, text: &str) -> Diagnostic {
    let (found, expected) = rest
        .rsplit_once(", expected ")
        .unwrap_or((rest, "something else"));
    let found = describe_found(found);
    let expected = match expected {
        "i64" | "u64" | "i128" => "an integer".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        other => other.to_string(),
    };
    let diagnostic = Diagnostic::new(format!("expected {expected}, found {found}"));
    let single_table = text.starts_with('[') && !text.starts_with("[[") && text.ends_with(']');
    if expected == "an array" && single_table {
        let name = text.trim_matches(['[', ']']).trim();
        diagnostic.help(format!(
            "write `[[{name}]]` with double brackets: each entry is one table in an array of tables"
        ))
    } else if expected == "an array" && found.starts_with("the string") {
        diagnostic.help(format!("wrap it in brackets: `[{text}]`"))
    } else if expected == "a string" && !text.is_empty() && !text.starts_with(['[', '{', '"', '\''])
    {
        diagnostic.help(format!("quote it: `\"{text}\"`"))
    } else {
        diagnostic
    }
}

fn describe_found(found: &str) -> String {
    match found {
        "map" => "a table".to_string(),
        "sequence" => "an array".to_string(),
        other => {
            let other = other.replace("floating point", "float");
            let other = other.split(" as i128").next().unwrap_or(&other).to_string();
            format!("the {other}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_serde_unknown_field_messages() {
        let cases = [
            (
                "unknown field `x`, expected one of `a`, `b`, `c`",
                ("x", vec!["a", "b", "c"]),
            ),
            (
                "unknown field `x`, expected `a` or `b`",
                ("x", vec!["a", "b"]),
            ),
            ("unknown field `x`, expected `a`", ("x", vec!["a"])),
            ("unknown field `x`, there are no fields", ("x", vec![])),
        ];
        for (message, (key, expected)) in cases {
            let (k, e) = parse_unknown_field(message).expect(message);
            assert_eq!(k, key);
            assert_eq!(e, expected);
        }
    }

    #[test]
    fn suggestions_are_close_or_absent() {
        let site = ["domain", "canonical", "subdomains"];
        assert_eq!(did_you_mean("subdomian", &site), Some("subdomains"));
        assert_eq!(did_you_mean("Domain", &site), Some("domain"));
        assert_eq!(did_you_mean("canonicl", &site), Some("canonical"));
        assert_eq!(did_you_mean("zzz", &site), None);
        assert_eq!(
            did_you_mean("max-hops", &["max_hops", "timeout"]),
            Some("max_hops")
        );
        assert_eq!(did_you_mean("x", &["id", "to"]), None);
    }
}
