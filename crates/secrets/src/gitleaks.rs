//! gitleaks v8 configuration files (`.gitleaks.toml`) turned into a `RuleSet`, so users keep the config they have.
//!
//! Supported: `title`, `[extend]` (`useDefault` adds launchready's built-in rules, `path` another config file
//! relative to this one, `disabledRules`), `[[rules]]` (id, description, regex, secretGroup, entropy, keywords,
//! path, tags — ignored), rule allowlists in both the legacy `[rules.allowlist]` and the newer
//! `[[rules.allowlists]]` form (description, condition, regexTarget, regexes, paths, stopwords, commits), and global
//! allowlists as `[allowlist]` or `[[allowlists]]` (with `targetRules` they join those rules' own lists).
//!
//! Config rules are High severity unless they say otherwise: gitleaks has no severities, and a rule someone chose
//! to run is one they want to hear about. As an extension gitleaks ignores, a rule may carry `severity = "…"`
//! (`blocker`/`critical`, `high`, `medium`, `low`, `info`; any case); another word is an error naming the rule.
//!
//! Error policy. Anything that makes the file itself wrong is an error naming the file, the rule and the problem:
//! invalid TOML, a known key with the wrong type, a regex that does not parse (gitleaks would refuse it too), a
//! secretGroup the regex does not have, a rule with neither regex nor path. A rule whose regex is valid Go RE2 but
//! cannot be run here (a construct we cannot translate, or a program over the size limit) is skipped and listed
//! in `Loaded::skipped` with the reason; the CLI prints that list. Keys we do not know are ignored, as gitleaks does.
//!
//! Go's RE2 and Rust's regex are the same family; `translate` rewrites what differs: `\Q…\E` literals, braces that
//! are not a repetition (literal in Go, an error in Rust), `[` and set operators (`&&`, `~~`) inside classes
//! (literal in Go, nesting and set operations in Rust), octal escapes and `\C`. Patterns are compiled with ASCII
//! `\w`, `\d`, `\s` and `\b`, which is what RE2 means by them.

use std::path::{Path, PathBuf};

use launchready_findings::Severity;
use serde::Deserialize;

use crate::rules::{self, Allowlist, Condition, RegexTarget, Rule, RuleSet};

/// Nested `[extend] path` files allowed; gitleaks stops at two as well.
const MAX_EXTEND_DEPTH: usize = 2;

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub title: Option<String>,
    pub rules: RuleSet,
    /// How many `[[rules]]` of the config (and the files it extends) were loaded; built-ins added by
    /// `useDefault` are not counted.
    pub loaded: usize,
    pub skipped: Vec<SkippedRule>,
}

/// A config rule that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRule {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GitleaksError {
    #[error("{path}: cannot read gitleaks config: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: invalid gitleaks config: {message}")]
    Toml { origin: String, message: String },
    #[error("{origin}: rule `{rule}`: {what} `{pattern}` is not a valid regex: {message}")]
    Regex {
        origin: String,
        rule: String,
        what: &'static str,
        pattern: String,
        message: String,
    },
    #[error("{origin}: rule `{rule}`: {message}")]
    Rule {
        origin: String,
        rule: String,
        message: String,
    },
    #[error("{origin}: [extend]: {message}")]
    Extend { origin: String, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    title: Option<String>,
    extend: Option<RawExtend>,
    #[serde(default)]
    rules: Vec<RawRule>,
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExtend {
    #[serde(default)]
    use_default: bool,
    path: Option<String>,
    url: Option<String>,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    id: String,
    description: Option<String>,
    regex: Option<String>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    path: Option<String>,
    /// launchready's extension: the rule's severity (default high).
    severity: Option<String>,
    allowlist: Option<RawAllowlist>,
    #[serde(default)]
    allowlists: Vec<RawAllowlist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAllowlist {
    description: Option<String>,
    condition: Option<String>,
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    target_rules: Vec<String>,
}

/// Reads and parses a gitleaks config file.
pub fn load(path: &Path) -> Result<Loaded, GitleaksError> {
    load_at(path, 0)
}

fn load_at(path: &Path, depth: usize) -> Result<Loaded, GitleaksError> {
    let text = std::fs::read_to_string(path).map_err(|source| GitleaksError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_at(&text, &path.display().to_string(), depth)
}

/// Parses a gitleaks config. `origin` names it in errors and anchors a relative `[extend] path`.
pub fn parse(text: &str, origin: &str) -> Result<Loaded, GitleaksError> {
    parse_at(text, origin, 0)
}

fn parse_at(text: &str, origin: &str, depth: usize) -> Result<Loaded, GitleaksError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| GitleaksError::Toml {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;

    // The extended base first: the config's own rules then replace same-id rules and add new ones.
    let mut rules: Vec<Rule> = Vec::new();
    let mut global: Vec<Allowlist> = Vec::new();
    let mut loaded = 0;
    let mut skipped = Vec::new();
    if let Some(extend) = &raw.extend {
        let ext_err = |message: String| GitleaksError::Extend {
            origin: origin.to_string(),
            message,
        };
        if extend.url.is_some() {
            return Err(ext_err(
                "`url` is not supported (gitleaks does not implement it either); use `path`".into(),
            ));
        }
        if extend.use_default {
            rules.extend(crate::builtin::rules());
            global.extend(crate::builtin::global_allowlists());
        }
        if let Some(path) = &extend.path {
            if depth >= MAX_EXTEND_DEPTH {
                return Err(ext_err(format!(
                    "`{path}`: configs may extend at most {MAX_EXTEND_DEPTH} levels deep"
                )));
            }
            let base_dir = Path::new(origin)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let target: PathBuf = base_dir.join(path);
            let base = load_at(&target, depth + 1)?;
            loaded += base.loaded;
            skipped.extend(base.skipped);
            let (base_rules, base_global) = base.rules.into_parts();
            rules.extend(base_rules);
            global.extend(base_global);
        }
        rules.retain(|r| !extend.disabled_rules.contains(&r.id));
    }

    for raw_rule in &raw.rules {
        match convert_rule(raw_rule, origin)? {
            Converted::Rule(rule) => {
                loaded += 1;
                rules.retain(|r| r.id != rule.id);
                rules.push(*rule);
            }
            Converted::Skipped(s) => skipped.push(s),
        }
    }

    let lists = raw.allowlist.iter().chain(raw.allowlists.iter());
    for raw_list in lists {
        let list = convert_allowlist(raw_list, origin, "global allowlist")?;
        if raw_list.target_rules.is_empty() {
            global.push(list);
            continue;
        }
        for target in &raw_list.target_rules {
            let mut found = false;
            for rule in rules.iter_mut().filter(|r| &r.id == target) {
                rule.allowlists.push(list.clone());
                found = true;
            }
            if !found && !skipped.iter().any(|s: &SkippedRule| &s.id == target) {
                return Err(GitleaksError::Rule {
                    origin: origin.to_string(),
                    rule: target.clone(),
                    message: "named in an allowlist's targetRules but not defined".to_string(),
                });
            }
        }
    }

    Ok(Loaded {
        title: raw.title,
        rules: RuleSet::new(rules, global),
        loaded,
        skipped,
    })
}

enum Converted {
    Rule(Box<Rule>),
    Skipped(SkippedRule),
}

fn convert_rule(raw: &RawRule, origin: &str) -> Result<Converted, GitleaksError> {
    let rule_err = |message: String| GitleaksError::Rule {
        origin: origin.to_string(),
        rule: raw.id.clone(),
        message,
    };
    if raw.id.trim().is_empty() {
        return Err(rule_err("a rule needs an `id`".to_string()));
    }
    if raw.regex.is_none() && raw.path.is_none() {
        return Err(rule_err("a rule needs a `regex` or a `path`".to_string()));
    }
    let severity = match raw
        .severity
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("high") => Severity::High,
        Some("blocker" | "critical") => Severity::Blocker,
        Some("medium" | "moderate") => Severity::Medium,
        Some("low") => Severity::Low,
        Some("info" | "informational") => Severity::Info,
        Some(other) => {
            return Err(rule_err(format!(
                "severity `{other}` is not one of blocker, critical, high, medium, low, info"
            )));
        }
    };
    let mut rule = Rule::new(
        &raw.id,
        raw.description.as_deref().unwrap_or(&raw.id),
        severity,
    );
    if let Some(pattern) = &raw.regex {
        match compile_go(pattern) {
            Ok(re) => {
                if let Some(n) = raw.secret_group.filter(|&n| n > 0) {
                    let groups = re.captures_len() - 1;
                    if n > groups {
                        return Err(rule_err(format!(
                            "secretGroup {n} but the regex has {groups} group(s)"
                        )));
                    }
                }
                rule.regex = Some(re);
            }
            Err(GoRegexError::Unsupported(reason)) => {
                return Ok(Converted::Skipped(SkippedRule {
                    id: raw.id.clone(),
                    reason,
                }));
            }
            Err(GoRegexError::Invalid(message)) => {
                return Err(GitleaksError::Regex {
                    origin: origin.to_string(),
                    rule: raw.id.clone(),
                    what: "regex",
                    pattern: pattern.clone(),
                    message,
                });
            }
        }
    }
    // secretGroup 0 and absent mean the same in gitleaks: the first non-empty group.
    rule.secret_group = raw.secret_group.filter(|&n| n > 0);
    rule.entropy = raw.entropy.filter(|&e| e > 0.0).map(|e| e as f32);
    rule.require_digit = raw.id.starts_with("generic") && rule.entropy.is_some();
    rule.keywords = raw.keywords.iter().map(|k| k.to_lowercase()).collect();
    if let Some(pattern) = &raw.path {
        rule.path = Some(
            compile_go_path(pattern).map_err(|message| GitleaksError::Regex {
                origin: origin.to_string(),
                rule: raw.id.clone(),
                what: "path",
                pattern: pattern.clone(),
                message,
            })?,
        );
    }
    for list in raw.allowlist.iter().chain(raw.allowlists.iter()) {
        rule.allowlists
            .push(convert_allowlist(list, origin, &raw.id)?);
    }
    Ok(Converted::Rule(Box::new(rule)))
}

fn convert_allowlist(
    raw: &RawAllowlist,
    origin: &str,
    rule: &str,
) -> Result<Allowlist, GitleaksError> {
    let rule_err = |message: String| GitleaksError::Rule {
        origin: origin.to_string(),
        rule: rule.to_string(),
        message,
    };
    let condition = keyword(
        raw.condition.as_deref(),
        &[("OR", Condition::Or), ("AND", Condition::And)],
    )
    .map_err(|other| {
        rule_err(format!(
            "allowlist condition `{}` is not OR or AND",
            other.to_ascii_uppercase()
        ))
    })?;
    let regex_target = keyword(
        raw.regex_target.as_deref(),
        &[
            ("secret", RegexTarget::Secret),
            ("match", RegexTarget::Match),
            ("line", RegexTarget::Line),
        ],
    )
    .map_err(|other| {
        rule_err(format!(
            "allowlist regexTarget `{}` is not secret, match or line",
            other.to_ascii_lowercase()
        ))
    })?;
    let regex_err = |what: &'static str, pattern: &str, message: String| GitleaksError::Regex {
        origin: origin.to_string(),
        rule: rule.to_string(),
        what,
        pattern: pattern.to_string(),
        message,
    };
    let mut regexes = Vec::new();
    for pattern in &raw.regexes {
        // Allowlist regexes are small; one we cannot run is an error rather than a silently weaker allowlist.
        let re =
            compile_go(pattern).map_err(|e| regex_err("allowlist regex", pattern, e.message()))?;
        regexes.push(re);
    }
    let mut paths = Vec::new();
    for pattern in &raw.paths {
        paths.push(compile_go_path(pattern).map_err(|m| regex_err("allowlist path", pattern, m))?);
    }
    Ok(Allowlist {
        description: raw.description.clone().unwrap_or_default(),
        condition,
        regex_target,
        regexes,
        paths,
        stopwords: raw.stopwords.clone(),
        commits: raw.commits.clone(),
    })
}

/// A keyword setting, matched case-insensitively against `choices`; absent or empty means the first choice. The
/// error is the value as written.
fn keyword<T: Copy>(value: Option<&str>, choices: &[(&str, T)]) -> Result<T, String> {
    match value.filter(|v| !v.is_empty()) {
        None => choices.first().map(|&(_, t)| t).ok_or_else(String::new),
        Some(v) => choices
            .iter()
            .find(|(name, _)| v.eq_ignore_ascii_case(name))
            .map(|&(_, t)| t)
            .ok_or_else(|| v.to_string()),
    }
}

#[derive(Debug)]
enum GoRegexError {
    /// Valid for gitleaks, but not something this engine can run.
    Unsupported(String),
    /// Not a valid regex at all.
    Invalid(String),
}

impl GoRegexError {
    fn message(&self) -> String {
        match self {
            GoRegexError::Unsupported(m) | GoRegexError::Invalid(m) => m.clone(),
        }
    }
}

fn compile_go(pattern: &str) -> Result<regex::bytes::Regex, GoRegexError> {
    // The translator only fails on patterns Go would reject too (an unclosed class, a dangling escape): that is a
    // broken config, not an unsupported feature.
    let translated = translate(pattern).map_err(GoRegexError::Invalid)?;
    rules::compile(&translated).map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => GoRegexError::Unsupported(format!(
            "compiled regex exceeds the {limit}-byte size limit"
        )),
        other => GoRegexError::Invalid(one_line(&other.to_string())),
    })
}

fn compile_go_path(pattern: &str) -> Result<regex::Regex, String> {
    let translated = translate(pattern)?;
    rules::compile_path(&translated).map_err(|e| one_line(&e.to_string()))
}

/// regex's syntax errors draw the pattern over several lines; an error message is clearer on one.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    match lines.iter().rev().find(|l| l.starts_with("error:")) {
        Some(last) => last.trim_start_matches("error:").trim().to_string(),
        None => lines.join(" "),
    }
}

/// Rewrites a Go RE2 pattern into the Rust regex dialect (see the module docs for what differs).
pub fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    // Whether the previous item can take a repetition operator: Go treats `{` as literal otherwise.
    let mut repeatable = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err("trailing backslash".to_string());
                };
                match next {
                    'Q' => {
                        let mut j = i + 2;
                        let mut literal = String::new();
                        while j < chars.len()
                            && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E'))
                        {
                            literal.push(chars[j]);
                            j += 1;
                        }
                        out.push_str(&regex::escape(&literal));
                        i = if j < chars.len() { j + 2 } else { j };
                    }
                    'C' => {
                        out.push_str("(?s-u:.)");
                        i += 2;
                    }
                    '0'..='7' => {
                        let (value, used) =
                            octal(&chars[i + 1..]).ok_or("backreferences are not supported")?;
                        out.push_str(&format!("\\x{{{value:X}}}"));
                        i += 1 + used;
                    }
                    '8' | '9' => return Err("backreferences are not supported".to_string()),
                    _ => {
                        out.push('\\');
                        out.push(next);
                        i += 2;
                    }
                }
                repeatable = true;
            }
            '[' => {
                i = translate_class(&chars, i, &mut out)?;
                repeatable = true;
            }
            '{' => {
                match repetition(&chars[i..]) {
                    Some(len) if repeatable => {
                        out.extend(&chars[i..i + len]);
                        i += len;
                        // A lazy `?` after the braces is copied by the default branch.
                    }
                    _ => {
                        out.push_str("\\{");
                        i += 1;
                        repeatable = true;
                    }
                }
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
                repeatable = true;
            }
            '(' | '|' => {
                out.push(c);
                i += 1;
                repeatable = false;
                // Copy a group's flag or name prefix whole so `{` inside `(?P<n>` cannot confuse us.
                if c == '(' && chars.get(i) == Some(&'?') {
                    while i < chars.len() && chars[i] != ')' && chars[i] != ':' && chars[i] != '>' {
                        out.push(chars[i]);
                        i += 1;
                    }
                    if i < chars.len() {
                        out.push(chars[i]);
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
                repeatable = !matches!(c, '^');
            }
        }
    }
    Ok(out)
}

/// Go's octal escape after the backslash: `\0`, or 2–3 octal digits; a single `\1`..`\7` is a backreference.
fn octal(rest: &[char]) -> Option<(u32, usize)> {
    let digits: Vec<u32> = rest.iter().take(3).map_while(|c| c.to_digit(8)).collect();
    if digits.is_empty() || (digits.len() == 1 && digits[0] != 0) {
        return None;
    }
    let value = digits.iter().fold(0, |acc, d| acc * 8 + d);
    (value <= 0xFF).then_some((value, digits.len()))
}

/// The length of a Go repetition `{n}`, `{n,}` or `{n,m}` at the start of `rest`, if it is one.
fn repetition(rest: &[char]) -> Option<usize> {
    let close = rest.iter().position(|&c| c == '}')?;
    let inner: String = rest[1..close].iter().collect();
    let (min, max) = match inner.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (inner.as_str(), None),
    };
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (numeric(min) && max.is_none_or(|m| m.is_empty() || numeric(m))).then_some(close + 1)
}

/// Copies a character class starting at `chars[start] == '['`, escaping what Rust would read as nesting or set
/// operations. Returns the index after the closing `]`.
fn translate_class(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // A `]` first in the class is a literal in both dialects; escape it to be explicit.
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ']' => {
                out.push(']');
                return Ok(i + 1);
            }
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err("trailing backslash in a character class".to_string());
                };
                if let '0'..='7' = next {
                    let (value, used) =
                        octal(&chars[i + 1..]).ok_or("backreference in a character class")?;
                    out.push_str(&format!("\\x{{{value:X}}}"));
                    i += 1 + used;
                    continue;
                }
                out.push('\\');
                out.push(next);
                i += 2;
            }
            '[' => {
                // `[:alpha:]` is a POSIX class in both; any other `[` is a literal in Go.
                let rest: String = chars[i..].iter().take(12).collect();
                let posix = rest.starts_with("[:")
                    && rest[2..].find(":]").is_some_and(|end| {
                        rest[2..2 + end]
                            .trim_start_matches('^')
                            .chars()
                            .all(|c| c.is_ascii_alphabetic())
                    });
                if posix {
                    let Some(end) = chars[i + 2..].iter().collect::<String>().find(":]") else {
                        return Err("unterminated POSIX class".to_string());
                    };
                    let len = chars[i + 2..].iter().collect::<String>()[..end]
                        .chars()
                        .count()
                        + 4;
                    out.extend(&chars[i..i + len]);
                    i += len;
                } else {
                    out.push_str("\\[");
                    i += 1;
                }
            }
            '&' | '~' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                // `--` is set difference in Rust; in Go it is a range ending in `-` or a literal pair.
                out.push_str("\\-");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err("missing closing ] in a character class".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_of_go_only_syntax() {
        let t = |p: &str| translate(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(t(r"\Qa.b\E+"), r"a\.b+");
        assert_eq!(t(r"^\${(?:[A-Z_]+)}$"), r"^\$\{(?:[A-Z_]+)\}$");
        assert_eq!(t(r"a{2,3}?b{,4}"), r"a{2,3}?b\{,4\}");
        assert_eq!(t(r"[[a]"), r"[\[a]");
        assert_eq!(t(r"[[:alnum:]_]"), r"[[:alnum:]_]");
        assert_eq!(t(r"[a&&b]"), r"[a\&\&b]");
        assert_eq!(t(r"\101\0"), r"\x{41}\x{0}");
        assert_eq!(t(r"[^]]"), r"[^\]]");
        assert_eq!(t(r"(?P<n>x){1}"), r"(?P<n>x){1}");
        assert!(translate(r"(a)\1").is_err());
        assert!(compile_go(r"\{\{[ \t]*[\w ().|]+[ \t]*}}").is_ok());
    }

    #[test]
    fn go_word_classes_are_ascii() {
        let re = compile_go(r"^\w+$").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(re.is_match(b"abc_1"));
        assert!(!re.is_match("é".as_bytes()));
    }
}
