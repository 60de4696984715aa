//! End-to-end tests of `launchready dns` against the lab: snapshot (zone file plus sidecar), diff of two files and
//! against live DNS with its exit codes, restore-plan in every format, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_lab::{Lab, RecordData, Scenario, Zone};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_launchready");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(dir: &Path, args: Vec<String>) -> Out {
    let dir = dir.to_path_buf();
    let task = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    // The binary's own --timeout bounds every query; this only stops a hung test.
    let out = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("launchready dns did not finish within 60 s")
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn zone(spf: &str, www: RecordData) -> Scenario {
    Scenario::new().zone(
        Zone::new("cli.test")
            .a("@", Ipv4Addr::new(192, 0, 2, 1))
            .add("www", www)
            .txt("@", spf)
            .mx("@", 10, "mx.cli.test")
            .a("mx", Ipv4Addr::new(192, 0, 2, 25)),
    )
}

fn flags(lab: &Lab) -> Vec<String> {
    vec![
        "--resolver".into(),
        lab.resolver_arg(),
        "--connect-to".into(),
        format!(":53:{}", lab.dns_addr()),
        "--timeout".into(),
        "5s".into(),
    ]
}

fn args(list: &[&str], extra: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| (*s).to_string())
        .chain(extra.iter().cloned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_diff_and_restore_plan_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let cdn = RecordData::Cname("cli.b-cdn.net".into());
    let lab = Lab::start(zone("v=spf1 include:mailgun.org -all", cdn))
        .await
        .unwrap();
    let out = run(
        dir.path(),
        args(
            &["dns", "snapshot", "cli.test", "-o", "before.zone"],
            &flags(&lab),
        ),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("cli.test:") && out.stderr.contains("transfers refused"),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(dir.path().join("before.zone")).unwrap();
    assert!(text.contains("www 300 IN CNAME cli.b-cdn.net."), "{text}");
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("before.zone.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sidecar["domain"], "cli.test");
    assert_eq!(sidecar["coverage"]["complete"], false);

    // Unchanged: exit 0.
    let same = run(
        dir.path(),
        args(&["dns", "diff", "before.zone", "--live"], &flags(&lab)),
    )
    .await;
    assert_eq!(
        (same.code, same.stdout.trim()),
        (0, "cli.test: no differences"),
        "{}",
        same.stderr
    );

    // Edited: www off the CDN, Mailgun out of SPF; exit 1 with the meanings.
    let edited = Lab::start(zone(
        "v=spf1 -all",
        RecordData::A(Ipv4Addr::new(203, 0, 113, 9)),
    ))
    .await
    .unwrap();
    let diff = run(
        dir.path(),
        args(&["dns", "diff", "before.zone", "--live"], &flags(&edited)),
    )
    .await;
    assert_eq!(diff.code, 1, "{}{}", diff.stdout, diff.stderr);
    assert!(
        diff.stdout
            .contains("www no longer points at the CDN (Bunny CDN)"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("SPF lost include:mailgun.org — mail from Mailgun will fail SPF"),
        "{}",
        diff.stdout
    );
    let after = run(
        dir.path(),
        args(
            &["dns", "snapshot", "cli.test", "-o", "after.zone"],
            &flags(&edited),
        ),
    )
    .await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    let files = run(
        dir.path(),
        args(
            &[
                "dns",
                "diff",
                "before.zone",
                "after.zone.json",
                "--format",
                "json",
            ],
            &[],
        ),
    )
    .await;
    assert_eq!(files.code, 1);
    let json: serde_json::Value = serde_json::from_str(&files.stdout).unwrap();
    assert!(json["changes"].as_array().unwrap().len() >= 3, "{json}");

    let plan = run(
        dir.path(),
        args(
            &[
                "dns",
                "restore-plan",
                "before.zone",
                "--current",
                "after.zone",
            ],
            &[],
        ),
    )
    .await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("Put back the record sets that are missing"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+ www 300 IN CNAME cli.b-cdn.net."),
        "{}",
        plan.stdout
    );
    let live_plan = run(
        dir.path(),
        args(&["dns", "restore-plan", "before.zone"], &flags(&edited)),
    )
    .await;
    assert_eq!(live_plan.stdout, plan.stdout);
    for (format, needle) in [
        ("zone", "$ORIGIN cli.test."),
        ("cloudflare", "\"content\":\"cli.b-cdn.net\""),
        ("dnscontrol", "CNAME(\"www\", \"cli.b-cdn.net.\", TTL(300))"),
        ("octodns", "- type: CNAME"),
        ("json", "\"op\": \"create\""),
    ] {
        let out = run(
            dir.path(),
            args(
                &[
                    "dns",
                    "restore-plan",
                    "before.zone",
                    "--current",
                    "after.zone",
                    "--format",
                    format,
                ],
                &[],
            ),
        )
        .await;
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        assert!(
            out.stdout.contains(needle),
            "{format}: no `{needle}` in\n{}",
            out.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_snapshot_files_are_usage_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.zone"),
        "$ORIGIN x.test.\n$TTL 60\n@ IN A 999.1.1.1\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        args(&["dns", "diff", "bad.zone", "bad.zone"], &[]),
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("bad.zone:3:") && out.stderr.contains("999.1.1.1"),
        "{}",
        out.stderr
    );
    let missing = run(
        dir.path(),
        args(
            &["dns", "restore-plan", "nope.zone", "--current", "bad.zone"],
            &[],
        ),
    )
    .await;
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("cannot read nope.zone"),
        "{}",
        missing.stderr
    );
}
