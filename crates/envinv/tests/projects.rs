//! `scan` + `findings` on small multi-language projects written to a temp dir: a flawed one that has every
//! finding kind (each at a known file), and a clean one that has none. Key-shaped values are assembled at run
//! time so this file itself holds no key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_envinv::{EnvNote, findings, inventory, render, scan};
use std::path::Path;
use std::process::Command;

fn write(root: &Path, files: &[(&str, String)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn key(prefix: &str, seed: &str) -> String {
    format!("{prefix}{}", seed.repeat(4))
}

/// Commits `paths` in a fresh repository at `root`, with the git CLI; `None` (and no commit checks) without git.
fn git_add(root: &Path, paths: &[&str]) -> Option<()> {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    run(&["init", "-q"])?;
    let mut add = vec!["add", "-f", "--"];
    add.extend(paths);
    run(&add)?;
    Some(())
}

fn flawed(root: &Path) {
    launchready_envinv::demo::write(root).unwrap();
    git_add(root, &[".env.production", "web/app.ts"]);
}

fn clean(root: &Path) {
    write(root, &[
        ("src/app.ts", "const api = process.env.API_URL ?? fail();\nconst key = process.env.STRIPE_SECRET_KEY;\nconst pk = process.env.NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY;\n".into()),
        ("src/app.test.ts", "const base = 'http://localhost:3000';\n".into()),
        (".env", format!("API_URL=http://localhost:3000\nSTRIPE_SECRET_KEY={}\nNEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY={}\n", key("sk_test_", "Ab3dEf6hIj9k"), key("pk_test_", "Lm2nOp5qRs8t"))),
        (".env.production", format!("API_URL=https://api.example.com\nSTRIPE_SECRET_KEY={}\nNEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY={}\n", key("sk_live_", "Uv4wXy7zAb1c"), key("pk_live_", "De3fGh6iJk9l"))),
        (".env.example", "API_URL=\nSTRIPE_SECRET_KEY=\nNEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY=\n".into()),
        (".gitignore", ".env\n.env.*\n!.env.example\n".into()),
    ]);
    git_add(root, &["src/app.ts", ".env.example", ".gitignore"]);
}

const KINDS: &[&str] = &[
    "env.used_undefined",
    "env.defined_unused",
    "env.missing_from_example",
    "env.shared_secret",
    "env.test_key_in_production",
    "env.live_key_in_development",
    "env.secret_client_exposed",
    "env.hardcoded_webhook",
    "env.hardcoded_url",
    "env.hardcoded_key",
    "env.file_committed",
    "env.file_not_ignored",
];

#[test]
fn the_flawed_project_has_every_finding_kind_and_no_value_leaks() {
    let dir = tempfile::tempdir().unwrap();
    flawed(dir.path());
    let scanned = scan(dir.path()).unwrap();
    let found = findings(&scanned);
    let has_git = Command::new("git").arg("--version").output().is_ok();
    for kind in KINDS {
        if *kind == "env.file_committed" && !has_git {
            continue;
        }
        assert!(
            found.iter().any(|f| f.id == *kind),
            "no {kind} in {:#?}",
            found.iter().map(|f| (&f.id, &f.title)).collect::<Vec<_>>()
        );
    }
    let subject = |id: &str| {
        found
            .iter()
            .filter(|f| f.id == id)
            .map(|f| f.subject.as_str())
            .collect::<Vec<_>>()
    };
    assert!(subject("env.used_undefined").contains(&"EDGE_TOKEN"));
    assert!(subject("env.used_undefined").contains(&"SENTRY_DSN"));
    assert!(subject("env.defined_unused").contains(&"OLD_FEATURE_FLAG"));
    assert!(subject("env.missing_from_example").contains(&"SESSION_SECRET"));
    // DATABASE_URL is shared by development and production; so is the live key that went into VITE_ in production.
    assert!(subject("env.shared_secret").contains(&"DATABASE_URL"));
    assert_eq!(subject("env.test_key_in_production"), ["STRIPE_SECRET_KEY"]);
    assert_eq!(
        subject("env.live_key_in_development"),
        ["STRIPE_SECRET_KEY"]
    );
    assert_eq!(
        subject("env.secret_client_exposed"),
        ["VITE_STRIPE_SECRET_KEY"]
    );
    assert_eq!(subject("env.hardcoded_key"), ["legacy/index.php:1"]);
    assert!(subject("env.file_not_ignored").contains(&".env"));
    if has_git {
        assert_eq!(subject("env.file_committed"), [".env.production"]);
    }
    // Every language was read.
    let languages: std::collections::BTreeSet<&str> =
        scanned.usages.iter().map(|u| u.language.as_str()).collect();
    for language in [
        "JavaScript/TypeScript",
        "Python",
        "Ruby",
        "Go",
        "Rust",
        "PHP",
        "compose",
        "GitHub Actions",
    ] {
        assert!(
            languages.contains(language),
            "{language} not read: {languages:?}"
        );
    }

    let notes = vec![EnvNote {
        name: "STRIPE_SECRET_KEY".into(),
        owner: Some("Dana (billing)".into()),
        notes: Some("live key only in Vercel".into()),
        rotate: None,
    }];
    let rows = inventory(&scanned, &notes);
    let md = render::markdown(&rows);
    let json = render::json(&rows);
    let html = render::html(&rows);
    for out in [&md, &json, &html] {
        assert!(
            !out.contains("Xq7vB2nL9pRt")
                && !out.contains("Sup3rS3cr3t")
                && !out.contains("prod-session"),
            "a value leaked:\n{out}"
        );
    }
    let stripe = rows.iter().find(|r| r.name == "STRIPE_SECRET_KEY").unwrap();
    assert_eq!(stripe.owner.as_deref(), Some("Dana (billing)"));
    assert!(stripe.rotate.starts_with("Stripe dashboard"));
    assert!(stripe.secret);
    assert_ne!(
        stripe.environments["production"],
        stripe.environments["development"]
    );
    let db = rows.iter().find(|r| r.name == "DATABASE_URL").unwrap();
    assert_eq!(
        db.environments["production"],
        db.environments["development"]
    );
    assert!(md.contains("| `STRIPE_SECRET_KEY` |"), "{md}");
    let text = serde_json::to_string(&found).unwrap();
    assert!(
        !text.contains("Xq7vB2nL9pRt") && !text.contains("Sup3rS3cr3t"),
        "a value leaked into findings"
    );
}

#[test]
fn the_clean_project_has_none() {
    let dir = tempfile::tempdir().unwrap();
    clean(dir.path());
    let found = findings(&scan(dir.path()).unwrap());
    assert!(
        found.is_empty(),
        "{:#?}",
        found.iter().map(|f| (&f.id, &f.title)).collect::<Vec<_>>()
    );
}
