//! End-to-end tests of `launchready env`: the findings through the common report (JSON, exit code), the
//! inventory file in each format with owners from the manifest's `[[env]]`, and no value in any output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_launchready");

fn write(root: &Path, files: &[(&str, String)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn findings_report_inventory_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("shop");
    let test_key = format!("sk_{}_{}", "test", "Zr4kW8mN1sJyZr4kW8mN1sJy");
    write(&project, &[
        ("app.js", "const k = process.env.STRIPE_SECRET_KEY;\nconst u = process.env.API_URL;\n".into()),
        (".env.production", format!("STRIPE_SECRET_KEY={test_key}\nAPI_URL=https://api.shop.test\n")),
        (".env.example", "STRIPE_SECRET_KEY=\nAPI_URL=\n".into()),
        (".gitignore", ".env*\n!.env.example\n".into()),
        ("launchready.toml", "[site]\ndomain = \"shop.test\"\n\n[[env]]\nname = \"STRIPE_SECRET_KEY\"\nowner = \"Dana\"\nrotate = \"Stripe dashboard, Dana or the founder\"\n".into()),
    ]);
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "env",
            "shop",
            "--format",
            "json",
            "--inventory",
            "inventory.md",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["env.test_key_in_production"], "{stdout}");
    assert_eq!(report["findings"][0]["stage"], "deployment");
    assert_eq!(report["kind"], "env");
    assert_eq!(report["score_breakdown"][0]["category"], "env");
    let md = std::fs::read_to_string(dir.path().join("inventory.md")).unwrap();
    assert!(
        md.contains("| `STRIPE_SECRET_KEY` | app.js:1 | example `(empty)`, production `"),
        "{md}"
    );
    assert!(
        md.contains("Dana") && md.contains("Stripe dashboard, Dana or the founder"),
        "{md}"
    );
    for out in [&stdout, &md] {
        assert!(!out.contains("Zr4kW8mN1sJy"), "the key leaked:\n{out}");
    }
    let (_, _, _) = run(
        dir.path(),
        &[
            "env",
            "shop",
            "--inventory",
            "inventory.html",
            "--format",
            "json",
        ],
    );
    let (_, _, _) = run(
        dir.path(),
        &[
            "env",
            "shop",
            "--inventory",
            "inventory.json",
            "--format",
            "json",
        ],
    );
    assert!(
        std::fs::read_to_string(dir.path().join("inventory.html"))
            .unwrap()
            .contains("<table>")
    );
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("inventory.json")).unwrap())
            .unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);

    // Fixed: exit 0.
    write(
        &project,
        &[(
            ".env.production",
            format!(
                "STRIPE_SECRET_KEY=sk_{}_{}\nAPI_URL=https://api.shop.test\n",
                "live", "Q1w2E3r4T5y6U7i8O9p0A1s2"
            ),
        )],
    );
    let (code, stdout, stderr) = run(dir.path(), &["env", "shop", "--format", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    // `[[env]]` is checked like the rest of the manifest: a misspelt key is a usage error with a suggestion.
    write(
        &project,
        &[(
            "launchready.toml",
            "[site]\ndomain = \"shop.test\"\n\n[[env]]\nname = \"API_URL\"\nownr = \"Sam\"\n"
                .into(),
        )],
    );
    let (code, _, stderr) = run(dir.path(), &["env", "shop"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("launchready.toml:6") && stderr.contains("owner"),
        "{stderr}"
    );

    let (code, _, stderr) = run(dir.path(), &["env", "no-such-dir"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no-such-dir is not a directory"),
        "{stderr}"
    );
}
