//! End-to-end tests of `launchready env`: the findings through the common report (JSON, exit code), the
//! inventory file in each format with owners from the manifest's `[[env]]`, and no value in any output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_testkit::cli::{Cli, Project, Run, finding_ids};

fn env(project: &Project, args: &[&str]) -> Run {
    project
        .cli(Cli::new(env!("CARGO_BIN_EXE_launchready")))
        .arg("env")
        .args(args)
        .run()
}

#[test]
fn findings_report_inventory_and_exit_codes() {
    let dir = Project::new();
    let test_key = format!("sk_{}_{}", "test", "Zr4kW8mN1sJyZr4kW8mN1sJy");
    for (path, text) in [
        ("app.js", "const k = process.env.STRIPE_SECRET_KEY;\nconst u = process.env.API_URL;\n".into()),
        (".env.production", format!("STRIPE_SECRET_KEY={test_key}\nAPI_URL=https://api.shop.test\n")),
        (".env.example", "STRIPE_SECRET_KEY=\nAPI_URL=\n".into()),
        (".gitignore", ".env*\n!.env.example\n".into()),
        ("launchready.toml", "[site]\ndomain = \"shop.test\"\n\n[[env]]\nname = \"STRIPE_SECRET_KEY\"\nowner = \"Dana\"\nrotate = \"Stripe dashboard, Dana or the founder\"\n".into()),
    ] {
        dir.write(format!("shop/{path}"), text);
    }
    let run = env(
        &dir,
        &["shop", "--format", "json", "--inventory", "inventory.md"],
    );
    run.code(1);
    let report = run.json();
    assert_eq!(
        finding_ids(&report),
        ["env.test_key_in_production"],
        "{}",
        run.all()
    );
    assert_eq!(report["findings"][0]["stage"], "deployment");
    assert_eq!(report["kind"], "env");
    assert_eq!(report["score_breakdown"][0]["category"], "env");
    let md = dir.read("inventory.md");
    assert!(
        md.contains("| `STRIPE_SECRET_KEY` | app.js:1 | example `(empty)`, production `"),
        "{md}"
    );
    assert!(
        md.contains("Dana") && md.contains("Stripe dashboard, Dana or the founder"),
        "{md}"
    );
    run.never_shows("Zr4kW8mN1sJy");
    assert!(!md.contains("Zr4kW8mN1sJy"), "the key leaked:\n{md}");
    for inventory in ["inventory.html", "inventory.json"] {
        env(
            &dir,
            &["shop", "--inventory", inventory, "--format", "json"],
        );
    }
    assert!(dir.read("inventory.html").contains("<table>"));
    let rows: serde_json::Value = serde_json::from_str(&dir.read("inventory.json")).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);

    // Fixed: exit 0.
    dir.write(
        "shop/.env.production",
        format!(
            "STRIPE_SECRET_KEY=sk_{}_{}\nAPI_URL=https://api.shop.test\n",
            "live", "Q1w2E3r4T5y6U7i8O9p0A1s2"
        ),
    );
    env(&dir, &["shop", "--format", "json"]).code(0);

    // `[[env]]` is checked like the rest of the manifest: a misspelt key is a usage error with a suggestion.
    dir.write(
        "shop/launchready.toml",
        "[site]\ndomain = \"shop.test\"\n\n[[env]]\nname = \"API_URL\"\nownr = \"Sam\"\n",
    );
    env(&dir, &["shop"])
        .code(2)
        .stderr_has(&["launchready.toml:6", "owner"]);

    env(&dir, &["no-such-dir"])
        .code(2)
        .stderr_has(&["no-such-dir is not a directory"]);
}
