//! Reading a project: every variable the code reads (one regex family per language, each on its own file
//! extensions), every variable each environment defines (`.env*` files, compose, GitHub Actions, Vercel,
//! Netlify, Fly), hard-coded configuration in code, and whether each `.env` file is committed or ignored.
//! Values are fingerprinted as soon as they are read; only the fingerprint and a few yes/no facts leave here.

use crate::{Definition, EnvError, EnvFile, Hardcoded, HardcodedKind, Scan, Usage, fingerprint};
use launchready_secrets::rules::RuleSet;
use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

/// Directories that hold dependencies or build output, never the project's own code.
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    ".next",
    ".nuxt",
    ".svelte-kit",
    "__pycache__",
    ".venv",
    "venv",
    ".turbo",
    "coverage",
];

struct Language {
    name: &'static str,
    extensions: &'static [&'static str],
    patterns: Vec<Regex>,
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants tested below; a typo is a bug caught by every test run.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

static LANGUAGES: LazyLock<Vec<Language>> = LazyLock::new(|| {
    vec![
        Language {
            name: "JavaScript/TypeScript",
            extensions: &[
                "js", "jsx", "ts", "tsx", "mjs", "cjs", "mts", "cts", "vue", "svelte", "astro",
            ],
            patterns: vec![
                re(r"process\.env\.([A-Za-z_][A-Za-z0-9_]*)"),
                re(r#"process\.env\[\s*['"`]([A-Za-z_][A-Za-z0-9_]*)['"`]\s*\]"#),
                re(r"import\.meta\.env\.([A-Za-z_][A-Za-z0-9_]*)"),
                re(r#"Deno\.env\.get\(\s*['"`]([A-Za-z_][A-Za-z0-9_]*)['"`]"#),
                re(r"Bun\.env\.([A-Za-z_][A-Za-z0-9_]*)"),
            ],
        },
        Language {
            name: "Python",
            extensions: &["py"],
            patterns: vec![
                re(r#"environ\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]"#),
                re(r#"environ\.get\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#),
                re(r#"getenv\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#),
            ],
        },
        Language {
            name: "Ruby",
            extensions: &["rb", "erb", "rake"],
            patterns: vec![
                re(r#"ENV\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]"#),
                re(r#"ENV\.fetch\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#),
            ],
        },
        Language {
            name: "Go",
            extensions: &["go"],
            patterns: vec![re(
                r#"os\.(?:Getenv|LookupEnv)\(\s*"([A-Za-z_][A-Za-z0-9_]*)""#,
            )],
        },
        Language {
            name: "Rust",
            extensions: &["rs"],
            patterns: vec![
                re(r#"env::var(?:_os)?\(\s*"([A-Za-z_][A-Za-z0-9_]*)""#),
                re(r#"(?:option_)?env!\(\s*"([A-Za-z_][A-Za-z0-9_]*)""#),
            ],
        },
        Language {
            name: "PHP",
            extensions: &["php"],
            patterns: vec![
                re(r#"getenv\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#),
                re(r#"\$_(?:ENV|SERVER)\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]"#),
                re(r#"\benv\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#),
            ],
        },
        Language {
            name: "Prisma",
            extensions: &["prisma"],
            patterns: vec![re(r#"env\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)"#)],
        },
    ]
});

/// `${VAR}`, `${VAR:-default}`, `$VAR` in compose files.
static COMPOSE_READ: LazyLock<Regex> =
    LazyLock::new(|| re(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}"));
/// `${{ secrets.X }}` and `${{ vars.X }}` in GitHub Actions workflows.
static ACTIONS_READ: LazyLock<Regex> =
    LazyLock::new(|| re(r"\$\{\{\s*(?:secrets|vars|env)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}"));
static WEBHOOK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"https://(?:hooks\.slack\.com/services|discord(?:app)?\.com/api/webhooks|[A-Za-z0-9.-]+/(?:[^\s'"`]*/)?webhooks?)(?:/[^\s'"`]*)?"#,
    )
});
static LOCAL_URL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|[A-Za-z0-9.-]*\bstaging\b[A-Za-z0-9.-]*|[A-Za-z0-9.-]*\.local)(?::\d+)?(?:/[^\s'"`]*)?"#,
    )
});

/// Which environment a `.env*` file defines, from its name; `None` for files that are not env files.
pub fn environment_of(file_name: &str) -> Option<&'static str> {
    let name = file_name.to_ascii_lowercase();
    if !(name == ".env" || name.starts_with(".env.")) {
        return None;
    }
    let rest = name.trim_start_matches(".env").trim_start_matches('.');
    let rest = rest.trim_end_matches(".local").trim_end_matches('.');
    Some(match rest {
        "" | "local" | "development" | "dev" => "development",
        "production" | "prod" => "production",
        "staging" | "stage" => "staging",
        "test" | "testing" => "test",
        "example" | "sample" | "template" | "dist" | "defaults" => "example",
        "preview" => "preview",
        _ => "other",
    })
}

/// Secret-looking names: values of these are treated as secrets even when no rule recognises the value.
pub fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let public = [
        "PUBLISHABLE",
        "PUBLIC_KEY",
        "ANON_KEY",
        "SITE_KEY",
        "CLIENT_ID",
    ];
    if public.iter().any(|p| upper.contains(p)) {
        return false;
    }
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PRIVATE",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "DSN",
        "CREDENTIAL",
    ]
    .iter()
    .any(|p| upper.contains(p))
        || upper.ends_with("_KEY")
}

/// Placeholders an example file carries instead of a value.
fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.len() < 6
        || lower.contains("changeme")
        || lower.contains("your")
        || lower.contains("xxx")
        || lower.contains("replace")
        || lower.contains("example")
        || lower.starts_with('<')
        || lower.contains("...")
}

/// Parses one `.env` line: `KEY=value`, `export KEY=value`, quoted values, trailing comments on unquoted ones.
pub fn parse_dotenv_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (key, value) = line.split_once('=').or_else(|| line.split_once(": "))?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let value = value.trim();
    let value = if let Some(inner) = value.strip_prefix('"').and_then(|v| v.rsplit_once('"')) {
        inner.0.to_string()
    } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.rsplit_once('\'')) {
        inner.0.to_string()
    } else {
        value
            .split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    Some((key.to_string(), value))
}

fn is_test_key(value: &str) -> bool {
    ["sk_test_", "rk_test_", "pk_test_", "whsec_test_"]
        .iter()
        .any(|p| value.starts_with(p))
        || value.contains("sandbox.paypal.com")
        || value.contains("sandbox.braintreegateway.com")
}

fn is_live_key(value: &str) -> bool {
    ["sk_live_", "rk_live_"]
        .iter()
        .any(|p| value.starts_with(p))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// A test file or fixture: hard-coded localhost URLs are expected there.
fn test_path(rel: &str) -> bool {
    rel.split('/').any(|part| {
        matches!(
            part,
            "test" | "tests" | "__tests__" | "spec" | "e2e" | "fixtures" | "__mocks__"
        )
    }) || rel.contains(".test.")
        || rel.contains(".spec.")
        || rel.contains("_test.")
}

/// Scans the project under `root`.
pub fn scan(root: &Path) -> Result<Scan, EnvError> {
    if !root.is_dir() {
        return Err(EnvError::NotADirectory(root.display().to_string()));
    }
    let rules = RuleSet::builtin();
    let mut out = Scan::default();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(false)
        .git_global(false)
        .git_exclude(false)
        .ignore(false)
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && SKIP_DIRS.contains(&entry.file_name().to_string_lossy().as_ref()))
        })
        .build();
    let tracked = tracked_files(root);
    let gitignore = {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
        let _ = builder.add(root.join(".gitignore"));
        builder.build().ok()
    };
    for entry in walker {
        let entry = entry.map_err(|e| EnvError::Walk(e.to_string()))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let rel = relative(root, path);
        let file_name = entry.file_name().to_string_lossy().to_string();
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if bytes.len() > 2 * 1024 * 1024 || bytes.contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Some(environment) = environment_of(&file_name) {
            out.files.push(EnvFile {
                path: rel.clone(),
                environment: environment.to_string(),
                committed: tracked.as_ref().is_some_and(|t| t.contains(&rel)),
                ignored: gitignore
                    .as_ref()
                    .is_some_and(|g| g.matched_path_or_any_parents(path, false).is_ignore()),
                has_secret: false,
            });
            read_dotenv(&text, &rel, environment, &rules, &mut out);
            continue;
        }
        let lower = file_name.to_ascii_lowercase();
        if lower.starts_with("docker-compose") || lower.starts_with("compose.") {
            read_compose(&text, &rel, &mut out);
            continue;
        }
        if rel.starts_with(".github/workflows/")
            && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
        {
            read_workflow(&text, &rel, &mut out);
            continue;
        }
        match lower.as_str() {
            "vercel.json" => read_vercel(&text, &rel, &rules, &mut out),
            "netlify.toml" => read_toml_env(&text, &rel, &rules, &mut out, "netlify"),
            "fly.toml" => read_toml_env(&text, &rel, &rules, &mut out, "fly"),
            _ => {}
        }
        let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        let Some(language) = LANGUAGES.iter().find(|l| l.extensions.contains(&ext)) else {
            continue;
        };
        read_code(&text, &rel, language, &rules, &mut out);
    }
    for file in &mut out.files {
        file.has_secret = out
            .definitions
            .iter()
            .any(|d| d.path == file.path && d.secret);
    }
    out.usages
        .sort_by(|a, b| (&a.name, &a.path, a.line).cmp(&(&b.name, &b.path, b.line)));
    out.definitions.sort_by(|a, b| {
        (&a.name, &a.environment, &a.path).cmp(&(&b.name, &b.environment, &b.path))
    });
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Paths in the git index when `root` is a repository's work tree.
fn tracked_files(root: &Path) -> Option<Vec<String>> {
    let repo = gix::open(root).ok()?;
    let index = repo.index_or_empty().ok()?;
    let prefix = repo
        .workdir()
        .and_then(|w| {
            root.canonicalize()
                .ok()?
                .strip_prefix(w.canonicalize().ok()?)
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_default();
    let prefix = prefix.to_string_lossy().replace('\\', "/");
    Some(
        index
            .entries()
            .iter()
            .map(|e| e.path(&index).to_string())
            .filter_map(|p| {
                if prefix.is_empty() {
                    Some(p)
                } else {
                    p.strip_prefix(&format!("{prefix}/")).map(str::to_string)
                }
            })
            .collect(),
    )
}

fn define(
    out: &mut Scan,
    rules: &RuleSet,
    name: &str,
    value: &str,
    environment: &str,
    path: &str,
    line: usize,
) {
    let recognised = !rules
        .scan(path, format!("{name}={value}\n").as_bytes())
        .is_empty()
        || is_live_key(value)
        || value.starts_with("sk_test_");
    let publishable = value.starts_with("pk_live_") || value.starts_with("pk_test_");
    let secret = !publishable
        && !value.is_empty()
        && (recognised || (secret_name(name) && !placeholder(value)));
    out.definitions.push(Definition {
        name: name.to_string(),
        environment: environment.to_string(),
        path: path.to_string(),
        line,
        fingerprint: (!value.is_empty()).then(|| fingerprint(value)),
        secret,
        test_key: is_test_key(value),
        live_key: is_live_key(value),
    });
}

fn read_dotenv(text: &str, rel: &str, environment: &str, rules: &RuleSet, out: &mut Scan) {
    for (index, line) in text.lines().enumerate() {
        if let Some((name, value)) = parse_dotenv_line(line) {
            define(out, rules, &name, &value, environment, rel, index + 1);
        }
    }
}

fn use_var(out: &mut Scan, name: &str, path: &str, line: usize, language: &str) {
    out.usages.push(Usage {
        name: name.to_string(),
        path: path.to_string(),
        line,
        language: language.to_string(),
    });
}

/// Compose files read `${VAR}` from the shell or `.env`, and define what `environment:` lists.
fn read_compose(text: &str, rel: &str, out: &mut Scan) {
    let mut in_environment = false;
    let mut indent = 0;
    for (index, line) in text.lines().enumerate() {
        for cap in COMPOSE_READ.captures_iter(line) {
            use_var(out, &cap[1], rel, index + 1, "compose");
        }
        let trimmed = line.trim_start();
        let this_indent = line.len() - trimmed.len();
        if trimmed.starts_with("environment:") {
            in_environment = true;
            indent = this_indent;
            continue;
        }
        if in_environment {
            if trimmed.is_empty() {
                continue;
            }
            if this_indent <= indent {
                in_environment = false;
                continue;
            }
            let item = trimmed.trim_start_matches("- ").trim();
            let name: String = item
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.definitions.push(Definition {
                    name,
                    environment: "compose".to_string(),
                    path: rel.to_string(),
                    line: index + 1,
                    fingerprint: None,
                    secret: false,
                    test_key: false,
                    live_key: false,
                });
            }
        }
    }
}

fn read_workflow(text: &str, rel: &str, out: &mut Scan) {
    for (index, line) in text.lines().enumerate() {
        for cap in ACTIONS_READ.captures_iter(line) {
            use_var(out, &cap[1], rel, index + 1, "GitHub Actions");
        }
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

fn read_vercel(text: &str, rel: &str, rules: &RuleSet, out: &mut Scan) {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    for table in [
        json.get("env"),
        json.get("build").and_then(|b| b.get("env")),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(map) = table.as_object() {
            for (name, value) in map {
                let value = value.as_str().unwrap_or_default();
                define(
                    out,
                    rules,
                    name,
                    value,
                    "vercel",
                    rel,
                    line_of(text, &format!("\"{name}\"")),
                );
            }
        }
    }
}

/// `[env]` (Fly), `[build.environment]` and `[context.<name>.environment]` (Netlify).
fn read_toml_env(text: &str, rel: &str, rules: &RuleSet, out: &mut Scan, platform: &str) {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return;
    };
    let mut tables: Vec<(String, &toml::Table)> = Vec::new();
    if let Some(env) = doc.get("env").and_then(|v| v.as_table()) {
        tables.push((platform.to_string(), env));
    }
    if let Some(env) = doc
        .get("build")
        .and_then(|b| b.get("environment"))
        .and_then(|v| v.as_table())
    {
        tables.push((platform.to_string(), env));
    }
    if let Some(contexts) = doc.get("context").and_then(|v| v.as_table()) {
        for (context, body) in contexts {
            if let Some(env) = body.get("environment").and_then(|v| v.as_table()) {
                let environment = if context == "production" {
                    "production".to_string()
                } else {
                    format!("{platform}-{context}")
                };
                tables.push((environment, env));
            }
        }
    }
    for (environment, table) in tables {
        for (name, value) in table {
            let value = value
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            define(
                out,
                rules,
                name,
                &value,
                &environment,
                rel,
                line_of(text, name),
            );
        }
    }
}

fn read_code(text: &str, rel: &str, language: &Language, rules: &RuleSet, out: &mut Scan) {
    let testing = test_path(rel);
    for (index, line) in text.lines().enumerate() {
        let mut reads = false;
        for pattern in &language.patterns {
            for cap in pattern.captures_iter(line) {
                reads = true;
                use_var(out, &cap[1], rel, index + 1, language.name);
            }
        }
        if testing {
            continue;
        }
        if let Some(m) = WEBHOOK.find(line) {
            let url = m.as_str();
            let shown: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            out.hardcoded.push(Hardcoded {
                path: rel.to_string(),
                line: index + 1,
                column: m.start() + 1,
                kind: HardcodedKind::Webhook,
                detail: format!("{shown}/…"),
                fallback: reads,
            });
        } else if let Some(m) = LOCAL_URL.find(line) {
            out.hardcoded.push(Hardcoded {
                path: rel.to_string(),
                line: index + 1,
                column: m.start() + 1,
                kind: HardcodedKind::LocalUrl,
                detail: m.as_str().to_string(),
                fallback: reads,
            });
        }
    }
    if testing {
        return;
    }
    for found in rules.scan(rel, text.as_bytes()) {
        out.hardcoded.push(Hardcoded {
            path: rel.to_string(),
            line: found.line,
            column: found.column,
            kind: HardcodedKind::ApiKey,
            detail: format!(
                "{} ({})",
                found.description,
                launchready_secrets::report::redact(&found.secret)
            ),
            fallback: false,
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn env_file_names_map_to_environments() {
        for (file, env) in [
            (".env", Some("development")),
            (".env.local", Some("development")),
            (".env.production", Some("production")),
            (".env.production.local", Some("production")),
            (".env.staging", Some("staging")),
            (".env.example", Some("example")),
            (".envrc", None),
            ("env.ts", None),
        ] {
            assert_eq!(environment_of(file), env, "{file}");
        }
    }

    #[test]
    fn dotenv_lines_parse() {
        assert_eq!(
            parse_dotenv_line("export A_B=\"x y\" # c"),
            Some(("A_B".into(), "x y".into()))
        );
        assert_eq!(
            parse_dotenv_line("K=v # comment"),
            Some(("K".into(), "v".into()))
        );
        assert_eq!(parse_dotenv_line("# K=v"), None);
        assert_eq!(parse_dotenv_line("not a line"), None);
    }

    #[test]
    fn every_language_pattern_reads_its_variable() {
        let cases = [
            (
                "ts",
                "const a = process.env.API_URL; const b = process.env['B_VAR']; import.meta.env.VITE_X",
            ),
            (
                "py",
                "os.environ['API_URL']; os.environ.get(\"B_VAR\"); os.getenv('VITE_X')",
            ),
            (
                "rb",
                "ENV['API_URL']; ENV.fetch(\"B_VAR\"); ENV[\"VITE_X\"]",
            ),
            (
                "go",
                "os.Getenv(\"API_URL\"); os.LookupEnv(\"B_VAR\"); os.Getenv(\"VITE_X\")",
            ),
            (
                "rs",
                "env::var(\"API_URL\"); std::env::var_os(\"B_VAR\"); env!(\"VITE_X\")",
            ),
            ("php", "getenv('API_URL'); $_ENV['B_VAR']; env('VITE_X')"),
        ];
        for (ext, line) in cases {
            let language = LANGUAGES
                .iter()
                .find(|l| l.extensions.contains(&ext))
                .unwrap();
            let mut found: Vec<String> = language
                .patterns
                .iter()
                .flat_map(|p| {
                    p.captures_iter(line)
                        .map(|c| c[1].to_string())
                        .collect::<Vec<_>>()
                })
                .collect();
            found.sort();
            assert_eq!(found, ["API_URL", "B_VAR", "VITE_X"], "{ext}");
        }
        let deno = LANGUAGES[0]
            .patterns
            .iter()
            .any(|p| p.is_match("Deno.env.get(\"TOKEN\")"));
        let bun = LANGUAGES[0]
            .patterns
            .iter()
            .any(|p| p.is_match("Bun.env.TOKEN"));
        assert!(deno && bun);
        assert!(
            !LANGUAGES[1]
                .patterns
                .iter()
                .any(|p| p.is_match("environment = 'x'"))
        );
    }
}
