//! Engine behaviour on hand-built rules: prefiltering, windows, entropy, allowlists, inline allows, positions.

use super::*;

fn re(p: &str) -> BytesRegex {
    match compile(p) {
        Ok(r) => r,
        Err(e) => panic!("{p}: {e}"),
    }
}

fn rule(id: &str, pattern: &str, keywords: &[&str]) -> Rule {
    let mut r = Rule::new(id, id, Severity::High);
    r.regex = Some(re(pattern));
    r.keywords = keywords.iter().map(|k| k.to_string()).collect();
    r
}

fn token_rule() -> Rule {
    rule("tok", r"\b(tok_[A-Za-z0-9]{16})\b", &["tok_"])
}

fn secrets(set: &RuleSet, path: &str, data: &[u8]) -> Vec<String> {
    set.scan(path, data).into_iter().map(|m| m.secret).collect()
}

const TOKEN: &str = "tok_A1b2C3d4E5f6G7h8";

#[test]
fn prefilter_skips_rules_whose_keywords_are_absent() {
    // This regex would match anything; only its keyword gates it.
    let set = RuleSet::new(
        vec![rule("any", r"[a-z]+", &["zebra"]), token_rule()],
        vec![],
    );
    let found = set.scan("f", format!("hello {TOKEN}").as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule_id, "tok");
    let found = set.scan("f", b"a ZEBRA here");
    assert!(
        found.iter().any(|m| m.rule_id == "any" && m.secret == "a"),
        "keyword matched case-insensitively"
    );
}

#[test]
fn keywordless_rules_run_everywhere() {
    let set = RuleSet::new(vec![rule("digits", r"\b([0-9]{6})\b", &[])], vec![]);
    assert_eq!(secrets(&set, "f", b"code 123456 end"), vec!["123456"]);
}

#[test]
fn windows_at_buffer_edges() {
    let set = RuleSet::new(vec![token_rule()], vec![]);
    assert_eq!(secrets(&set, "f", TOKEN.as_bytes()), vec![TOKEN]);
    let at_end = format!("{}\n{TOKEN}", "x".repeat(50_000));
    let found = set.scan("f", at_end.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (2, 1));
    let at_start = format!("{TOKEN}\n{}", "y".repeat(50_000));
    assert_eq!(secrets(&set, "f", at_start.as_bytes()), vec![TOKEN]);
    assert!(set.scan("f", b"").is_empty());
    assert!(set.scan("f", b"tok_").is_empty());
}

#[test]
fn match_starting_before_the_keyword_line_is_found() {
    // The keyword is on the last line; the match starts two lines earlier.
    let r = rule("multi", r"(?s)begin:(\w+).{0,40}?finale", &["finale"]);
    let set = RuleSet::new(vec![r], vec![]);
    assert_eq!(
        secrets(&set, "f", b"begin:abc\nmiddle\nfinale\n"),
        vec!["abc"]
    );
}

#[test]
fn entropy_threshold() {
    assert_eq!(shannon_entropy(b""), 0.0);
    assert_eq!(shannon_entropy(b"aaaa"), 0.0);
    assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-6);
    assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-6);
    let mut r = token_rule();
    r.entropy = Some(3.0);
    let set = RuleSet::new(vec![r], vec![]);
    assert!(set.scan("f", b"tok_aaaaaaaaaaaaaaaa").is_empty());
    let found = set.scan("f", TOKEN.as_bytes());
    assert_eq!(found.len(), 1);
    assert!(found[0].entropy.is_some_and(|e| e > 3.0));
}

#[test]
fn secret_group_policies() {
    let mut r = rule("g", r"(k)=(v*)(x+)", &["k="]);
    // gitleaks' default: first non-empty group.
    assert_eq!(
        secrets(&RuleSet::new(vec![r.clone()], vec![]), "f", b"k=xx"),
        vec!["k"]
    );
    r.secret_group = Some(0);
    assert_eq!(
        secrets(&RuleSet::new(vec![r.clone()], vec![]), "f", b"k=xx"),
        vec!["k=xx"]
    );
    r.secret_group = Some(3);
    assert_eq!(
        secrets(&RuleSet::new(vec![r.clone()], vec![]), "f", b"k=xx"),
        vec!["xx"]
    );
    // A chosen group that is empty drops the match.
    r.secret_group = Some(2);
    assert!(secrets(&RuleSet::new(vec![r.clone()], vec![]), "f", b"k=xx").is_empty());
    let plain = rule("p", r"k=x+", &["k="]);
    assert_eq!(
        secrets(&RuleSet::new(vec![plain], vec![]), "f", b"k=xx"),
        vec!["k=xx"]
    );
}

fn with_allowlist(list: Allowlist) -> RuleSet {
    let mut r = token_rule();
    r.allowlists.push(list);
    RuleSet::new(vec![r], vec![])
}

#[test]
fn allowlist_regex_targets() {
    let text = format!("let key = \"{TOKEN}\" // fixture");
    let secret = Allowlist {
        regexes: vec![re("G7h8$")],
        ..Allowlist::default()
    };
    assert!(with_allowlist(secret).scan("f", text.as_bytes()).is_empty());
    let secret_miss = Allowlist {
        regexes: vec![re("fixture")],
        ..Allowlist::default()
    };
    assert_eq!(
        with_allowlist(secret_miss).scan("f", text.as_bytes()).len(),
        1
    );
    let line = Allowlist {
        regex_target: RegexTarget::Line,
        regexes: vec![re("fixture")],
        ..Allowlist::default()
    };
    assert!(with_allowlist(line).scan("f", text.as_bytes()).is_empty());
    let matched = Allowlist {
        regex_target: RegexTarget::Match,
        regexes: vec![re("^tok_")],
        ..Allowlist::default()
    };
    assert!(
        with_allowlist(matched)
            .scan("f", text.as_bytes())
            .is_empty()
    );
}

#[test]
fn allowlist_stopwords_and_paths() {
    let stop = Allowlist {
        stopwords: vec!["C3D4".to_string()],
        ..Allowlist::default()
    };
    assert!(
        with_allowlist(stop).scan("f", TOKEN.as_bytes()).is_empty(),
        "stopwords are case-insensitive"
    );
    let paths = Allowlist {
        paths: vec![compile_path(r"^test/").unwrap_or_else(|e| panic!("{e}"))],
        ..Allowlist::default()
    };
    let set = with_allowlist(paths);
    assert!(set.scan("test/a.txt", TOKEN.as_bytes()).is_empty());
    assert_eq!(set.scan("src/a.txt", TOKEN.as_bytes()).len(), 1);
}

#[test]
fn global_allowlists_apply_to_every_rule() {
    let global = Allowlist {
        regexes: vec![re("A1b2")],
        ..Allowlist::default()
    };
    let set = RuleSet::new(vec![token_rule()], vec![global]);
    assert!(set.scan("f", TOKEN.as_bytes()).is_empty());
    let paths = Allowlist {
        paths: vec![compile_path(r"\.lock$").unwrap_or_else(|e| panic!("{e}"))],
        ..Allowlist::default()
    };
    let set = RuleSet::new(vec![token_rule()], vec![paths]);
    assert!(set.scan("yarn.lock", TOKEN.as_bytes()).is_empty());
}

#[test]
fn and_condition_needs_every_given_criterion() {
    let list = Allowlist {
        condition: Condition::And,
        regex_target: RegexTarget::Line,
        regexes: vec![re("fixture")],
        paths: vec![compile_path(r"^test/").unwrap_or_else(|e| panic!("{e}"))],
        ..Allowlist::default()
    };
    let set = with_allowlist(list);
    let text = format!("{TOKEN} fixture");
    assert!(set.scan("test/x", text.as_bytes()).is_empty());
    assert_eq!(
        set.scan("src/x", text.as_bytes()).len(),
        1,
        "path criterion fails"
    );
    assert_eq!(
        set.scan("test/x", TOKEN.as_bytes()).len(),
        1,
        "regex criterion fails"
    );
}

#[test]
fn commit_allowlists() {
    let list = Allowlist {
        commits: vec!["abc123".to_string()],
        ..Allowlist::default()
    };
    let set = with_allowlist(list);
    assert!(set.allows_commit("tok", "abc123def"));
    assert!(!set.allows_commit("tok", "fff"));
    assert!(!set.allows_commit("other", "abc123"));
    // Commits do not allow anything in a plain scan.
    assert_eq!(set.scan("f", TOKEN.as_bytes()).len(), 1);
    let global = Allowlist {
        commits: vec!["deadbeef".to_string()],
        ..Allowlist::default()
    };
    let set = RuleSet::new(vec![token_rule()], vec![global]);
    assert!(set.allows_commit("tok", "deadbeef"));
}

#[test]
fn inline_allow_markers() {
    let set = RuleSet::new(vec![token_rule()], vec![]);
    for marker in ["gitleaks:allow", "launchready:allow", "LAUNCHREADY:ALLOW"] {
        let text = format!("a\nkey = \"{TOKEN}\" # {marker}\nb");
        assert!(set.scan("f", text.as_bytes()).is_empty(), "{marker}");
    }
    let text = format!("# launchready:allow\nkey = \"{TOKEN}\"");
    assert_eq!(
        set.scan("f", text.as_bytes()).len(),
        1,
        "only the matched line counts"
    );
}

#[test]
fn crlf_lines_and_columns() {
    let set = RuleSet::new(vec![token_rule()], vec![]);
    let text = format!("first\r\nsecond\r\n  x={TOKEN}\r\n");
    let found = set.scan("f", text.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (3, 5));
    assert_eq!(&text[found[0].start..found[0].end], TOKEN);
    let line = Allowlist {
        regex_target: RegexTarget::Line,
        regexes: vec![re(r"G7h8$")],
        ..Allowlist::default()
    };
    assert!(
        with_allowlist(line).scan("f", text.as_bytes()).is_empty(),
        "the line excludes its \\r"
    );
}

#[test]
fn invalid_utf8_around_a_secret() {
    let set = RuleSet::new(vec![token_rule()], vec![]);
    let mut data = vec![0xff, 0xfe, b' '];
    data.extend_from_slice(TOKEN.as_bytes());
    data.extend_from_slice(&[b' ', 0xc3, 0x28, b'\n', 0x80]);
    let found = set.scan("f", &data);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].secret, TOKEN);
    assert_eq!(found[0].column, 4);
}

#[test]
fn duplicate_matches_are_reported_once() {
    // Two keywords of one rule on the same line produce overlapping windows; the match is reported once.
    let set = RuleSet::new(
        vec![rule("tok", r"\b(tok_[A-Za-z0-9]{16})\b", &["tok_", "a1b2"])],
        vec![],
    );
    assert_eq!(set.scan("f", TOKEN.as_bytes()).len(), 1);
}

#[test]
fn path_rules() {
    let mut r = Rule::new("p12", "PKCS#12 file", Severity::High);
    r.path = Some(compile_path(r"\.p12$").unwrap_or_else(|e| panic!("{e}")));
    let mut filtered = token_rule();
    filtered.path = Some(compile_path(r"\.env$").unwrap_or_else(|e| panic!("{e}")));
    let set = RuleSet::new(vec![r, filtered], vec![]);
    let found = set.scan("certs/id.p12", b"\x30\x82binary");
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].rule_id.as_str(), found[0].line, found[0].column),
        ("p12", 1, 1)
    );
    assert!(set.scan("certs/id.pem", b"").is_empty());
    assert_eq!(set.scan(".env", TOKEN.as_bytes()).len(), 1);
    assert!(set.scan("main.rs", TOKEN.as_bytes()).is_empty());
}

#[test]
fn once_per_file() {
    let mut r = token_rule();
    r.once_per_file = true;
    let set = RuleSet::new(vec![r], vec![]);
    let text = format!("{TOKEN}\n{TOKEN}\n");
    assert_eq!(set.scan("f", text.as_bytes()).len(), 1);
}

#[test]
fn twenty_megabyte_single_line_without_keywords() {
    let set = RuleSet::builtin();
    let data = vec![b'q'; 20 * 1024 * 1024];
    assert!(set.scan("bundle.min.js", &data).is_empty());
}

#[test]
fn twenty_megabyte_single_line_with_a_keyword_in_the_middle() {
    let set = RuleSet::new(vec![token_rule()], vec![]);
    let mut data = vec![b'q'; 20 * 1024 * 1024];
    data.push(b' ');
    let mid = 10 * 1024 * 1024;
    data[mid - 1] = b' ';
    data[mid..mid + TOKEN.len()].copy_from_slice(TOKEN.as_bytes());
    data[mid + TOKEN.len()] = b' ';
    let found = set.scan("bundle.min.js", &data);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (1, mid + 1));
}

#[test]
fn many_keyword_hits_on_one_long_line_stay_linear() {
    // Every 64 bytes a keyword with no secret: windows merge instead of multiplying work.
    let set = RuleSet::builtin();
    let data = "api_key=x; ".repeat(400_000);
    let _ = set.scan("bundle.min.js", data.as_bytes());
}
