//! gitleaks v8 compatibility: the real default config loads unchanged, its rules find what gitleaks finds, and
//! broken, extending and rule-disabling configs behave as documented.

use launchready_findings::Severity;
use launchready_secrets::gitleaks::{self, GitleaksError, Loaded};
use launchready_secrets::rules::RuleSet;

const DEFAULT_CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/gitleaks/gitleaks.toml"
);

/// The shared default config, or `None` (with a SKIPPED note) when the shared folder is absent outside CI.
fn default_config() -> Option<Loaded> {
    let path = std::path::Path::new(DEFAULT_CONFIG);
    if !path.exists() {
        if std::env::var_os("CI").is_some() {
            panic!("{DEFAULT_CONFIG} is missing, and CI must run this test");
        }
        eprintln!(
            "SKIPPED: {DEFAULT_CONFIG} not found (the shared/ folder beside the project is absent)"
        );
        return None;
    }
    match gitleaks::load(path) {
        Ok(loaded) => Some(loaded),
        Err(e) => panic!("{e}"),
    }
}

fn ids(set: &RuleSet, path: &str, text: &str) -> Vec<String> {
    set.scan(path, text.as_bytes())
        .into_iter()
        .map(|m| m.rule_id)
        .collect()
}

fn parse(text: &str) -> Result<Loaded, GitleaksError> {
    gitleaks::parse(text, "test.toml")
}

/// The config `text` loaded; the test fails with the loader's message when it does not load.
fn must_parse(text: &str) -> Loaded {
    match parse(text) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

/// The message of the error that `text` is rejected with, or "" when it loads.
fn error(text: &str) -> String {
    parse(text).err().map(|e| e.to_string()).unwrap_or_default()
}

/// A fake value of `n` characters from `alphabet`, varied enough to pass entropy checks.
fn fake(alphabet: &str, n: usize, seed: usize) -> String {
    let a = alphabet.as_bytes();
    (0..n)
        .map(|i| char::from(a[(i * 7 + seed * 13 + i * i * 3) % a.len()]))
        .collect()
}

#[test]
fn every_rule_of_the_default_config_loads() {
    let Some(loaded) = default_config() else {
        return;
    };
    eprintln!(
        "gitleaks default config: {}/222 rules loaded, skipped: {:?}",
        loaded.loaded, loaded.skipped
    );
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(loaded.loaded, 222);
    assert_eq!(loaded.rules.len(), 222);
    assert_eq!(loaded.title.as_deref(), Some("gitleaks config"));
    assert_eq!(loaded.rules.global_allowlists().len(), 1);
    // Ids keep gitleaks' spelling, so `.gitleaksignore` fingerprints carry over.
    assert!(
        loaded
            .rules
            .rules()
            .iter()
            .any(|r| r.id == "generic-api-key")
    );
    assert!(
        loaded
            .rules
            .rules()
            .iter()
            .any(|r| r.id == "pkcs12-file" && r.regex.is_none())
    );
}

#[test]
fn default_config_rules_find_secrets() {
    let Some(loaded) = default_config() else {
        return;
    };
    let set = &loaded.rules;
    let base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    let aws = format!("aws_access_key_id = AKIA{}\n", fake(base32, 16, 1));
    assert!(
        ids(set, "config.ini", &aws).contains(&"aws-access-token".to_string()),
        "{aws}"
    );
    // The rule's own allowlist: AWS's documented example key.
    assert!(
        !ids(set, "config.ini", "key = AKIAIOSFODNN7EXAMPLE\n")
            .contains(&"aws-access-token".to_string())
    );

    let github = format!("token: ghp_{}\n", fake(alnum, 36, 2));
    assert!(ids(set, "ci.yml", &github).contains(&"github-pat".to_string()));

    let generic = format!("api_key = \"{}\"\n", fake(alnum, 24, 3));
    let found = set.scan("app.py", generic.as_bytes());
    assert!(
        found
            .iter()
            .any(|m| m.rule_id == "generic-api-key" && generic.contains(&m.secret)),
        "{found:?}"
    );

    // A global stopword inside the secret allows it.
    let stop = "api_key = \"Zx9abcdefghijklmnopqrstuvwxyz\"\n";
    assert!(!ids(set, "app.py", stop).contains(&"generic-api-key".to_string()));
    // A rule stopword ("about" is in generic-api-key's list) allows it too.
    let stop = "secret_token = \"Zx9Qm4about7Wv2Yp6\"\n";
    assert!(!ids(set, "app.py", stop).contains(&"generic-api-key".to_string()));
    // A regexTarget = "line" allowlist.
    let line = format!(
        "RUN --mount=type=secret,id=npm api_key={} make\n",
        fake(alnum, 24, 4)
    );
    assert!(!ids(set, "Dockerfile", &line).contains(&"generic-api-key".to_string()));

    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n{}\n-----END RSA PRIVATE KEY-----\n",
        fake(alnum, 64, 5),
        fake(alnum, 64, 6)
    );
    assert!(ids(set, "id_rsa", &pem).contains(&"private-key".to_string()));

    // Path-only rule, and the global path allowlist.
    assert_eq!(
        ids(set, "certs/client.p12", "\u{0}binary"),
        vec!["pkcs12-file"]
    );
    assert!(
        set.scan("node_modules/x/index.js", aws.as_bytes())
            .is_empty()
    );
    // Inline allow.
    let allowed = format!(
        "aws_access_key_id = AKIA{} # gitleaks:allow\n",
        fake(base32, 16, 1)
    );
    assert!(set.scan("config.ini", allowed.as_bytes()).is_empty());
}

#[test]
fn default_config_scans_a_large_file_without_trouble() {
    let Some(loaded) = default_config() else {
        return;
    };
    // 4 MB of code-like text full of common keywords ("key", "token", "secret") but no secret.
    let chunk = "const keyName = getToken(secretStore, accessKeyId); // password reset flow\n";
    let data = chunk.repeat(4 * 1024 * 1024 / chunk.len());
    let found = loaded.rules.scan("src/app.js", data.as_bytes());
    assert!(found.is_empty(), "{:?}", found.first());
}

#[test]
fn an_invalid_regex_names_the_rule_and_the_problem() {
    let text =
        "[[rules]]\nid = \"broken-rule\"\nregex = '''token=(unclosed'''\nkeywords = [\"token\"]\n";
    let err = match parse(text) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted a broken regex"),
    };
    assert!(err.contains("test.toml"), "{err}");
    assert!(err.contains("broken-rule"), "{err}");
    assert!(err.contains("unclosed group"), "{err}");

    let text =
        "[[rules]]\nid = \"x\"\nregex = 'a'\n[[rules.allowlists]]\nregexes = ['''[z-a]''']\n";
    let err = error(text);
    assert!(
        err.contains("rule `x`") && err.contains("allowlist regex"),
        "{err}"
    );
}

#[test]
fn invalid_toml_and_wrong_types_are_errors() {
    assert!(matches!(
        parse("[[rules]\nid="),
        Err(GitleaksError::Toml { .. })
    ));
    let err = error("[[rules]]\nid = \"x\"\nregex = 'a'\nentropy = \"high\"\n");
    assert!(
        err.contains("test.toml") && err.contains("entropy"),
        "{err}"
    );
    let err = error("[[rules]]\nid = \"x\"\ndescription = 'no regex'\n");
    assert!(err.contains("rule `x`") && err.contains("regex"), "{err}");
    let err = error("[[rules]]\nid = \"x\"\nregex = '(a)'\nsecretGroup = 3\n");
    assert!(err.contains("secretGroup 3"), "{err}");
    // Allowlist keywords are case-insensitive; an unknown one is named as gitleaks spells the choices.
    let allowlist = |settings: &str| {
        format!(
            "[[rules]]\nid = \"x\"\nregex = 'a'\n[[rules.allowlists]]\n{settings}\nregexes = ['b']\n"
        )
    };
    assert!(parse(&allowlist("condition = 'and'\nregexTarget = 'MATCH'")).is_ok());
    assert!(parse(&allowlist("condition = ''\nregexTarget = ''")).is_ok());
    let err = error(&allowlist("condition = 'xor'"));
    assert!(
        err.contains("rule `x`") && err.contains("allowlist condition `XOR` is not OR or AND"),
        "{err}"
    );
    let err = error(&allowlist("regexTarget = 'Body'"));
    assert!(
        err.contains("allowlist regexTarget `body` is not secret, match or line"),
        "{err}"
    );
    // Unknown keys are ignored, as gitleaks does.
    assert!(parse("[[rules]]\nid = \"x\"\nregex = 'a'\nfuture = 1\n").is_ok());
}

#[test]
fn extend_use_default_merges_the_builtin_rules() {
    let builtin = RuleSet::builtin().len();
    let text = "title = 'mine'\n[extend]\nuseDefault = true\n[[rules]]\nid = \"internal-token\"\nregex = '''\\bitk_[a-z0-9]{12}\\b'''\nkeywords = [\"itk_\"]\n";
    let loaded = must_parse(text);
    assert_eq!(loaded.loaded, 1);
    assert_eq!(loaded.rules.len(), builtin + 1);
    let sample = format!(
        "a = itk_abc123def456\nb = ghp_{}\n",
        fake(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            36,
            9
        )
    );
    let found = ids(&loaded.rules, "x.txt", &sample);
    assert!(found.contains(&"internal-token".to_string()), "{found:?}");
    assert!(found.contains(&"github.token".to_string()), "{found:?}");
}

#[test]
fn disabled_rules_are_removed() {
    let builtin = RuleSet::builtin().len();
    let text = "[extend]\nuseDefault = true\ndisabledRules = [\"github.token\", \"generic.secret_assignment\"]\n";
    let loaded = must_parse(text);
    assert_eq!(loaded.rules.len(), builtin - 2);
    assert!(!loaded.rules.rules().iter().any(|r| r.id == "github.token"));
}

#[test]
fn extend_path_is_relative_and_rules_override() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let base = "[[rules]]\nid = \"a\"\nregex = 'aaa[0-9]+'\nkeywords = ['aaa']\n[[rules]]\nid = \"b\"\nregex = 'bbb'\n";
    let child = "[extend]\npath = 'base.toml'\ndisabledRules = ['b']\n[[rules]]\nid = 'a'\nregex = 'aaa[x]+'\nkeywords = ['aaa']\n[[allowlists]]\ntargetRules = ['a']\nregexes = ['^aaax$']\n";
    let write = |name: &str, text: &str| {
        if let Err(e) = std::fs::write(dir.path().join(name), text) {
            panic!("{e}");
        }
    };
    write("base.toml", base);
    write("child.toml", child);
    let loaded = match gitleaks::load(&dir.path().join("child.toml")) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(loaded.rules.len(), 1);
    assert_eq!(ids(&loaded.rules, "f", "aaa1 aaaxx"), vec!["a"]);
    assert!(
        ids(&loaded.rules, "f", "aaax").is_empty(),
        "targetRules allowlist joins rule a"
    );
    let missing = gitleaks::load(&dir.path().join("nope.toml"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(missing.contains("nope.toml"), "{missing}");
}

#[test]
fn a_rule_may_carry_a_severity() {
    let loaded = parse(
        r#"
[[rules]]
id = "internal-key"
regex = '''ik_[a-z0-9]{20}'''
severity = "Blocker"

[[rules]]
id = "plain"
regex = '''pl_[a-z0-9]{20}'''
"#,
    )
    .expect("loads");
    let severity = |id: &str| {
        loaded
            .rules
            .rules()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.severity)
    };
    assert_eq!(severity("internal-key"), Some(Severity::Blocker));
    assert_eq!(severity("plain"), Some(Severity::High));
    let err = parse("[[rules]]\nid = \"odd-rule\"\nregex = 'x_[a-z]{9}'\nseverity = \"urgent\"\n")
        .expect_err("unknown severity");
    let text = err.to_string();
    assert!(
        text.contains("urgent") && text.contains("odd-rule"),
        "{text}"
    );
}
