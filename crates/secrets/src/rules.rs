//! The detection engine: rules, allowlists and `RuleSet::scan`, which turns the bytes of one file into the secrets
//! they contain. Pure: no I/O, no knowledge of where the bytes came from beyond their path.
//!
//! Architecture (after Nosey Parker and kingfisher): one Aho-Corasick automaton over every rule's keywords finds
//! candidate positions in a single pass; only the rules whose keywords were seen run their (expensive) regex, and
//! only over windows around those positions. A file without any keyword costs one automaton pass.

use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use launchready_findings::Severity;
use regex::bytes::Regex as BytesRegex;

use crate::RawMatch;

/// A post-filter run on the secret after the regex matched (e.g. "this JWT's payload says service_role").
/// A plain function pointer so rules stay `Clone + Debug` and data-like.
pub type Check = fn(&[u8]) -> bool;

/// How far before the start of the line holding a keyword hit a window begins. Covers rules whose match starts on
/// an earlier line than their keyword (gitleaks' kubernetes-secret-yaml puts `data:` up to ~300 bytes before
/// `kind: Secret`) with room to spare.
pub const WINDOW_BEFORE: usize = 1024;
/// How far past the end of the line holding a keyword hit a window ends. Sized for the longest multi-line match we
/// know of: a PEM or PGP private-key block, whose keyword is its BEGIN line; a 4096-bit key with subkeys armoured is
/// about 7 KiB. Also covers curl's up-to-five continuation lines.
pub const WINDOW_AFTER: usize = 16 * 1024;
/// What a line-local rule searches past its keyword's line: room for a value that wraps onto the next line.
pub const LINE_WINDOW_AFTER: usize = 256;
/// The furthest a window looks for the start or end of the hit's line. Past this the line is treated as minified
/// (one huge line) and the window is cut there, so a 50 MB single-line file costs a bounded amount per hit.
pub const LINE_CAP: usize = 4096;
/// The furthest an allowlist's `line` target or the inline-allow check reads either side of a match.
const MATCH_LINE_CAP: usize = 16 * 1024;

/// Inline markers that suppress a match anywhere on its line.
const INLINE_ALLOW: [&[u8]; 2] = [b"gitleaks:allow", b"launchready:allow"];

/// One detection rule. Either `regex` or `path` (or both) is set: a rule with only `path` reports the file itself.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub regex: Option<BytesRegex>,
    /// Which capture group is the secret. `None` is gitleaks' default: the first non-empty group if the regex has
    /// groups, else the whole match. `Some(0)` is the whole match.
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy (bits per byte) of the secret; a secret must exceed it, as in gitleaks.
    pub entropy: Option<f32>,
    /// Lower-case keywords; the rule only runs near one of them. Empty: the rule runs over the whole buffer.
    pub keywords: Vec<String>,
    /// Only files whose path matches are examined.
    pub path: Option<regex::Regex>,
    pub severity: Severity,
    pub allowlists: Vec<Allowlist>,
    /// gitleaks' rule for `generic*` ids with an entropy: the secret must contain a digit.
    pub require_digit: bool,
    /// A post-filter on the secret; `false` drops the match.
    pub check: Option<Check>,
    /// Report only the first match in a buffer (a rule about the file, such as a committed `.env`).
    pub once_per_file: bool,
    /// Bytes searched before the start and after the end of a keyword's line: generous by default (a PEM block
    /// runs many lines past its keyword), tight for rules whose match sits on the keyword's line, which keeps a
    /// common keyword such as `key` from turning every file into one big window.
    pub window: (usize, usize),
    /// The rule's match is a provider's full-length, structured format (a prefix and exact length), so it is live
    /// -shaped even in an example or test file; other rules' matches there are reported at Info.
    pub live_shaped: bool,
    /// 0 for a rule about one format; higher for broader fallbacks (1 a named provider, 2 any credential name, 3 a
    /// committed `.env` file). A match is dropped when a rule of a lower level found a secret overlapping it in the
    /// same buffer.
    pub fallback: u8,
}

impl Rule {
    /// A rule with nothing but its identity: no regex, no filters. Callers fill the fields they need.
    pub fn new(id: &str, description: &str, severity: Severity) -> Rule {
        Rule {
            id: id.to_string(),
            description: description.to_string(),
            regex: None,
            secret_group: None,
            entropy: None,
            keywords: Vec::new(),
            path: None,
            severity,
            allowlists: Vec::new(),
            require_digit: false,
            check: None,
            once_per_file: false,
            window: (WINDOW_BEFORE, WINDOW_AFTER),
            live_shaped: false,
            fallback: 0,
        }
    }
}

/// Where a secret counts for less: templates meant to be committed, test fixtures and test-vector files. Matches of
/// rules that are not `live_shaped` are reported there at Info, which no default `--fail-on` counts as a failure;
/// those of the broadest fallback (any credential-like name, `Rule::fallback` 2) are not reported there at all, as
/// `Key = <hex>` is what a test vector looks like.
static EXAMPLE_OR_FIXTURE: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    compile_path(
        r"(?i)\.(?:example|sample|template|tmpl|tpl|dist)(?:\.[^/]*)?$|(?:^|/)(?:examples?|samples?|templates?|tests?|__tests__|spec|specs|fixtures?|__fixtures__|testdata|test[_-]?data|test[_-]?vectors|__mocks__|mocks?)/|(?:_tests?|\.test|\.spec|_spec)\.[A-Za-z0-9]+$|\.rsp$|(?:^|/)(?:test[_-]?vectors?|vectors|kat)/|(?:^|/)test_[^/]*\.py$|(?:^|/)tests?\.[A-Za-z]+$|(?:^|/)conftest\.py$",
    )
    .ok()
});

/// Files built for the browser: whatever secret is in them, every visitor has it.
static CLIENT_BUNDLE: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    compile_path(
        r"(?:^|/)(?:dist|build|out|\.next/static|\.output/public|\.svelte-kit/output/client|public/build|static/js)/(?:[^/]+/)*[^/]+\.(?:m?js|cjs)$|\.min\.js$|\.(?:bundle|chunk)\.js$",
    )
    .ok()
});

/// A variable the framework inlines into client code (Next.js, Vite, Create React App, Expo, SvelteKit, Nuxt,
/// Gatsby), named right before the value on its line.
static CLIENT_VARIABLE: LazyLock<Option<BytesRegex>> = LazyLock::new(|| {
    compile(
        r#"(?:^|[^A-Za-z0-9_])(?:NEXT_PUBLIC|VITE|REACT_APP|EXPO_PUBLIC|PUBLIC|NUXT_PUBLIC|GATSBY)_[A-Z0-9_]+["'`]?\]?\)?[ \t]*(?:=|:|\|\||\?\?|,)[^=\n]*$"#,
    )
    .ok()
});

/// A client variable whose own name says it is secret (`VITE_JWT_SECRET`, `NEXT_PUBLIC_DB_PASSWORD`): even a
/// generic, medium match in it ships a secret to browsers. (Plain `…_KEY` and `…_TOKEN` client variables are
/// usually public by design: site keys, search-only keys, analytics tokens.)
static CLIENT_SECRET_VARIABLE: LazyLock<Option<BytesRegex>> = LazyLock::new(|| {
    compile(
        r#"(?:^|[^A-Za-z0-9_])(?:NEXT_PUBLIC|VITE|REACT_APP|EXPO_PUBLIC|PUBLIC|NUXT_PUBLIC|GATSBY)_[A-Z0-9_]*(?:SECRET|PRIVATE|PASSWORD|PASSWD)[A-Z0-9_]*["'`]?\]?\)?[ \t]*(?:=|:|\|\||\?\?|,)[^=\n]*$"#,
    )
    .ok()
});

/// Rule ids of matches escalated because the secret ships to browsers carry this prefix.
pub const CLIENT_EXPOSED: &str = "client_exposed.";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Condition {
    /// Any one criterion allows the match.
    #[default]
    Or,
    /// Every criterion that is given must match.
    And,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RegexTarget {
    #[default]
    Secret,
    Match,
    Line,
}

/// Reasons a match is not a leak. Stopwords are matched case-insensitively as substrings of the secret.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    pub description: String,
    pub condition: Condition,
    pub regex_target: RegexTarget,
    pub regexes: Vec<BytesRegex>,
    pub paths: Vec<regex::Regex>,
    pub stopwords: Vec<String>,
    /// Commit ids (or unique prefixes); only sources know commits, through `RuleSet::allows_commit`.
    pub commits: Vec<String>,
}

impl Allowlist {
    fn is_empty(&self) -> bool {
        self.regexes.is_empty()
            && self.paths.is_empty()
            && self.stopwords.is_empty()
            && self.commits.is_empty()
    }

    fn path_allows(&self, path: &str) -> bool {
        self.paths.iter().any(|re| re.is_match(path))
    }

    /// Whether this allowlist suppresses the whole file, before any rule runs.
    fn allows_whole_path(&self, path: &str) -> bool {
        match self.condition {
            Condition::Or => self.path_allows(path),
            Condition::And => {
                !self.paths.is_empty()
                    && self.regexes.is_empty()
                    && self.stopwords.is_empty()
                    && self.commits.is_empty()
                    && self.path_allows(path)
            }
        }
    }

    fn allows(&self, path: &str, m: &Candidate<'_>, data: &[u8]) -> bool {
        if self.is_empty() {
            return false;
        }
        let regex_hit = || {
            let target = match self.regex_target {
                RegexTarget::Secret => m.secret,
                RegexTarget::Match => &data[m.start..m.end],
                RegexTarget::Line => line_around(data, m.start, m.end),
            };
            self.regexes.iter().any(|re| re.is_match(target))
        };
        let stopword_hit = || {
            let lower = String::from_utf8_lossy(m.secret).to_lowercase();
            self.stopwords.iter().any(|w| lower.contains(w.as_str()))
        };
        match self.condition {
            Condition::Or => self.path_allows(path) || regex_hit() || stopword_hit(),
            // A commit criterion cannot be judged on bytes alone; sources check it with `allows_commit`, so
            // here an AND list with commits never allows.
            Condition::And => {
                self.commits.is_empty()
                    && (self.paths.is_empty() || self.path_allows(path))
                    && (self.regexes.is_empty() || regex_hit())
                    && (self.stopwords.is_empty() || stopword_hit())
            }
        }
    }

    fn allows_commit(&self, commit: &str) -> bool {
        let listed = !commit.is_empty()
            && self
                .commits
                .iter()
                .any(|c| !c.is_empty() && commit.starts_with(c.as_str()));
        match self.condition {
            Condition::Or => listed,
            Condition::And => {
                listed
                    && self.paths.is_empty()
                    && self.regexes.is_empty()
                    && self.stopwords.is_empty()
            }
        }
    }
}

/// A match under judgement, before line and column are known.
struct Candidate<'a> {
    start: usize,
    end: usize,
    secret: &'a [u8],
}

/// A compiled set of rules plus global allowlists and the keyword automaton.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    global: Vec<Allowlist>,
    /// Keyword automaton; `None` when no rule has keywords.
    keywords: Option<AhoCorasick>,
    /// For each automaton pattern, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
}

impl RuleSet {
    pub fn new(mut rules: Vec<Rule>, mut global: Vec<Allowlist>) -> RuleSet {
        for rule in &mut rules {
            for kw in &mut rule.keywords {
                *kw = kw.to_lowercase();
            }
            rule.keywords.retain(|k| !k.is_empty());
            for list in &mut rule.allowlists {
                lower_stopwords(list);
            }
        }
        for list in &mut global {
            lower_stopwords(list);
        }

        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for kw in &rule.keywords {
                let slot = match patterns.iter().position(|p| p == kw) {
                    Some(slot) => slot,
                    None => {
                        patterns.push(kw.clone());
                        keyword_rules.push(Vec::new());
                        patterns.len() - 1
                    }
                };
                if !keyword_rules[slot].contains(&i) {
                    keyword_rules[slot].push(i);
                }
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            // A full DFA: a few hundred keywords make a small one, and it is the fastest of the automaton kinds at
            // the overlapping search every buffer goes through.
            match AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(&patterns)
            {
                Ok(ac) => Some(ac),
                Err(_) => {
                    // Cannot happen for plain strings within the automaton's limits; if it ever does, running
                    // every rule everywhere is slower but still correct.
                    keyword_rules.clear();
                    None
                }
            }
        };
        RuleSet {
            rules,
            global,
            keywords,
            keyword_rules,
        }
    }

    /// The built-in ruleset (`crate::builtin`).
    pub fn builtin() -> RuleSet {
        RuleSet::new(crate::builtin::rules(), crate::builtin::global_allowlists())
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn global_allowlists(&self) -> &[Allowlist] {
        &self.global
    }

    /// Splits the set back into its parts, to extend or filter it and build a new one.
    pub fn into_parts(self) -> (Vec<Rule>, Vec<Allowlist>) {
        (self.rules, self.global)
    }

    /// Whether a commit allowlist (the rule's own, or a global one) allows matches of `rule_id` in `commit`.
    pub fn allows_commit(&self, rule_id: &str, commit: &str) -> bool {
        let rule_id = rule_id.strip_prefix(CLIENT_EXPOSED).unwrap_or(rule_id);
        let own = self
            .rules
            .iter()
            .filter(|r| r.id == rule_id)
            .flat_map(|r| r.allowlists.iter());
        own.chain(self.global.iter())
            .any(|list| list.allows_commit(commit))
    }

    /// Every secret in `data`, which was read from `path` (`/`-separated, used by path filters and allowlists).
    /// Sorted by position, then by rule order.
    pub fn scan(&self, path: &str, data: &[u8]) -> Vec<RawMatch> {
        if self.global.iter().any(|list| list.allows_whole_path(path)) {
            return Vec::new();
        }
        let applies: Vec<bool> = self
            .rules
            .iter()
            .map(|rule| {
                rule.path.as_ref().is_none_or(|re| re.is_match(path))
                    && !rule
                        .allowlists
                        .iter()
                        .any(|list| list.allows_whole_path(path))
            })
            .collect();

        let windows = self.candidate_windows(data, &applies);
        let mut accepted: Vec<(usize, Candidate<'_>, Option<f32>)> = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if !applies[i] {
                continue;
            }
            let Some(regex) = &rule.regex else {
                // A path-only rule: the file's presence is the finding.
                let candidate = Candidate {
                    start: 0,
                    end: 0,
                    secret: b"",
                };
                if self.allowed(rule, path, &candidate, data) {
                    continue;
                }
                accepted.push((i, candidate, None));
                continue;
            };
            let whole = [(0, data.len())];
            let rule_windows: &[(usize, usize)] =
                if rule.keywords.is_empty() || self.keywords.is_none() {
                    &whole
                } else {
                    &windows[i]
                };
            'windows: for &(ws, we) in rule_windows {
                let hay = &data[..we];
                // One byte early: rules open with "start or a non-name character", and a window that begins at a
                // line start must let them see the newline before it.
                let mut pos = ws.saturating_sub(1);
                while pos <= we {
                    let Some(caps) = regex.captures_at(hay, pos) else {
                        break;
                    };
                    let Some(m) = caps.get(0) else { break };
                    pos = if m.end() > m.start() {
                        m.end()
                    } else {
                        m.end() + 1
                    };
                    if m.start() == m.end() {
                        continue;
                    }
                    let Some(secret) = secret_of(rule, &caps) else {
                        continue;
                    };
                    let candidate = Candidate {
                        start: m.start(),
                        end: m.end(),
                        secret,
                    };
                    if let Some(entropy) = self.judge(rule, path, &candidate, data) {
                        accepted.push((i, candidate, entropy));
                        if rule.once_per_file {
                            break 'windows;
                        }
                    } else {
                        // A rejected value may hide the real one: `key: process.env.KEY || "…"` first matches
                        // with the lookup as its value. Search again from inside the rejected match.
                        let inner = secret_offset(data, secret)
                            .filter(|&o| o > m.start())
                            .unwrap_or(m.start() + 1);
                        pos = pos.min(inner);
                    }
                }
            }
        }

        let mut seen = HashSet::new();
        accepted.retain(|(i, c, _)| seen.insert((*i, c.start, c.end)));
        self.drop_covered_fallbacks(&mut accepted, data);
        let example = EXAMPLE_OR_FIXTURE
            .as_ref()
            .is_some_and(|re| re.is_match(path));
        if example {
            accepted.retain(|(i, _, _)| self.rules[*i].fallback < 2);
        }
        accepted.sort_by_key(|(i, c, _)| (c.start, *i, c.end));
        let bundle = CLIENT_BUNDLE.as_ref().is_some_and(|re| re.is_match(path));
        let mut lines = LineCounter::default();
        accepted
            .into_iter()
            .map(|(i, c, entropy)| {
                let rule = &self.rules[i];
                let (line, column) = lines.position(data, c.start);
                let mut found = RawMatch {
                    rule_id: rule.id.clone(),
                    description: rule.description.clone(),
                    severity: rule.severity,
                    line,
                    column,
                    start: c.start,
                    end: c.end,
                    secret: String::from_utf8_lossy(c.secret).into_owned(),
                    entropy,
                };
                if example && !rule.live_shaped {
                    found.severity = Severity::Info;
                    found.description.push_str(" (in an example or test file)");
                } else if found.severity >= Severity::Medium && !example {
                    let before = || {
                        let at = secret_offset(data, c.secret).unwrap_or(c.start);
                        let ls = data[at.saturating_sub(LINE_CAP)..at]
                            .iter()
                            .rposition(|&b| b == b'\n')
                            .map_or(at.saturating_sub(LINE_CAP), |p| {
                                at.saturating_sub(LINE_CAP) + p + 1
                            });
                        &data[ls..at]
                    };
                    let high = found.severity >= Severity::High;
                    // A provider's secret format is secret in any client variable; a value recognised only by
                    // its name is, when that name says secret (not `…_KEY`, often public by design).
                    let variable = || {
                        let re = if high && rule.fallback == 0 {
                            &CLIENT_VARIABLE
                        } else {
                            &CLIENT_SECRET_VARIABLE
                        };
                        re.as_ref().is_some_and(|re| re.is_match(before()))
                    };
                    let exposure = if bundle && high {
                        Some("inside a client bundle every visitor downloads")
                    } else if variable() {
                        Some("in a variable the framework ships to browsers")
                    } else {
                        None
                    };
                    if let Some(exposure) = exposure {
                        found.rule_id = format!("{CLIENT_EXPOSED}{}", rule.id);
                        found.severity = Severity::Blocker;
                        found.description = format!("{} {exposure}", rule.description);
                    }
                }
                found
            })
            .collect()
    }

    /// Drops a fallback rule's match when a more specific rule found a secret overlapping it: one secret, one
    /// finding, named by the most precise rule.
    fn drop_covered_fallbacks(
        &self,
        accepted: &mut Vec<(usize, Candidate<'_>, Option<f32>)>,
        data: &[u8],
    ) {
        if !accepted.iter().any(|(i, _, _)| self.rules[*i].fallback > 0) {
            return;
        }
        let spans: Vec<(u8, usize, usize)> = accepted
            .iter()
            .map(|(i, c, _)| {
                let s = secret_offset(data, c.secret).unwrap_or(c.start);
                (self.rules[*i].fallback, s, s + c.secret.len().max(1))
            })
            .collect();
        let mut k = 0;
        accepted.retain(|_| {
            let (level, s, e) = spans[k];
            k += 1;
            level == 0
                || !spans
                    .iter()
                    .any(|&(l, os, oe)| l < level && os < e && s < oe)
        });
    }

    /// Keyword hits turned into merged windows, per rule. Rules without keywords get none (they scan everything).
    fn candidate_windows(&self, data: &[u8], applies: &[bool]) -> Vec<Vec<(usize, usize)>> {
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.rules.len()];
        let Some(ac) = &self.keywords else {
            return windows;
        };
        let mut lines = LineBounds::default();
        for hit in ac.find_overlapping_iter(data) {
            let rules = &self.keyword_rules[hit.pattern().as_usize()];
            if !rules.iter().any(|&i| applies[i]) {
                continue;
            }
            let (ls, le) = lines.around(data, hit.start(), hit.end());
            for &i in rules {
                if !applies[i] {
                    continue;
                }
                let (before, after) = self.rules[i].window;
                let ws = ls.saturating_sub(before);
                let we = le.saturating_add(after).min(data.len());
                let list = &mut windows[i];
                match list.last_mut() {
                    Some(last) if ws <= last.1 => {
                        last.0 = last.0.min(ws);
                        last.1 = last.1.max(we);
                    }
                    _ => list.push((ws, we)),
                }
            }
        }
        windows
    }

    /// Entropy, post-filters, allowlists and inline markers. `Some(entropy)` when the match stands.
    fn judge(
        &self,
        rule: &Rule,
        path: &str,
        c: &Candidate<'_>,
        data: &[u8],
    ) -> Option<Option<f32>> {
        if let Some(check) = rule.check
            && !check(c.secret)
        {
            return None;
        }
        let entropy = match rule.entropy {
            Some(threshold) => {
                let e = shannon_entropy(c.secret);
                if e <= threshold {
                    return None;
                }
                Some(e)
            }
            None => None,
        };
        if rule.require_digit && !c.secret.iter().any(u8::is_ascii_digit) {
            return None;
        }
        if self.allowed(rule, path, c, data) {
            return None;
        }
        let line = line_around(data, c.start, c.end);
        if INLINE_ALLOW.iter().any(|marker| contains(line, marker)) {
            return None;
        }
        Some(entropy)
    }

    fn allowed(&self, rule: &Rule, path: &str, c: &Candidate<'_>, data: &[u8]) -> bool {
        rule.allowlists
            .iter()
            .chain(self.global.iter())
            .any(|list| list.allows(path, c, data))
    }
}

fn lower_stopwords(list: &mut Allowlist) {
    for w in &mut list.stopwords {
        *w = w.to_lowercase();
    }
    list.stopwords.retain(|w| !w.is_empty());
}

/// The secret bytes of a match per the rule's group policy, or `None` when the chosen group did not take part.
fn secret_of<'h>(rule: &Rule, caps: &regex::bytes::Captures<'h>) -> Option<&'h [u8]> {
    match rule.secret_group {
        Some(n) => caps
            .get(n)
            .map(|m| m.as_bytes())
            .filter(|s| n == 0 || !s.is_empty()),
        None => {
            let first = (1..caps.len())
                .filter_map(|g| caps.get(g))
                .find(|m| !m.as_bytes().is_empty());
            match first {
                Some(m) => Some(m.as_bytes()),
                None => caps.get(0).map(|m| m.as_bytes()),
            }
        }
    }
}

/// Where `secret` (a sub-slice of `data`) starts in `data`.
fn secret_offset(data: &[u8], secret: &[u8]) -> Option<usize> {
    let offset = (secret.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
    (offset + secret.len() <= data.len()).then_some(offset)
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f32 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let len = data.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = n as f64 / len;
            -p * p.log2()
        })
        .sum();
    bits as f32
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The line(s) holding `start..end`, without the line terminator, read at most `MATCH_LINE_CAP` either side.
fn line_around(data: &[u8], start: usize, end: usize) -> &[u8] {
    let lo = start.saturating_sub(MATCH_LINE_CAP);
    let ls = data[lo..start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(lo, |p| lo + p + 1);
    let hi = end.saturating_add(MATCH_LINE_CAP).min(data.len());
    let mut le = data[end..hi]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(hi, |p| end + p);
    if le > ls && data[le - 1] == b'\r' && le > end {
        le -= 1;
    }
    &data[ls..le]
}

/// Line bounds of keyword hits, amortised: hits arrive in increasing order, so the line start is tracked by a
/// cursor that only moves forward and the line end is reused until a hit passes it. Linear in the buffer overall.
#[derive(Default)]
struct LineBounds {
    cursor: usize,
    line_start: usize,
    line_end: usize,
}

impl LineBounds {
    fn around(&mut self, data: &[u8], start: usize, end: usize) -> (usize, usize) {
        if start > self.cursor {
            if let Some(p) = data[self.cursor..start].iter().rposition(|&b| b == b'\n') {
                self.line_start = self.cursor + p + 1;
            }
            self.cursor = start;
        }
        let ls = self.line_start.max(start.saturating_sub(LINE_CAP));
        if end > self.line_end || self.line_end == 0 {
            let hi = end.saturating_add(LINE_CAP).min(data.len());
            self.line_end = data[end..hi]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(hi, |p| end + p);
        }
        (ls, self.line_end)
    }
}

/// 1-based line and byte column for increasing offsets, counting each newline once.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl LineCounter {
    fn position(&mut self, data: &[u8], at: usize) -> (usize, usize) {
        let at = at.min(data.len());
        if at < self.offset {
            *self = LineCounter::default();
        }
        for (i, &b) in data[self.offset..at].iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.offset + i + 1;
            }
        }
        self.offset = at;
        (self.line + 1, at - self.line_start + 1)
    }
}

/// Compiles a rule regex with the engine's settings: ASCII-only classes and word boundaries (as Go's RE2 has, and
/// which keep the lazy DFA usable on non-ASCII input), and size limits roomy enough for gitleaks' largest rules.
/// Falls back to Unicode mode for patterns that need it (e.g. `\p{..}`).
pub fn compile(pattern: &str) -> Result<BytesRegex, regex::Error> {
    let build = |unicode: bool| {
        regex::bytes::RegexBuilder::new(pattern)
            .unicode(unicode)
            .size_limit(64 << 20)
            .dfa_size_limit(32 << 20)
            .build()
    };
    match build(false) {
        Ok(re) => Ok(re),
        Err(ascii_err) => build(true).map_err(|_| ascii_err),
    }
}

/// Compiles a path regex (paths are text, so Unicode mode is kept).
pub fn compile_path(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(64 << 20)
        .build()
}

#[cfg(test)]
mod tests;
