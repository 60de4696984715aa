//! End-to-end tests of `launchready dns` against the lab: snapshot (zone file plus sidecar), diff of two files and
//! against live DNS with its exit codes, restore-plan in every format, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchready_lab::{Lab, RecordData, Scenario, Zone};
use launchready_testkit::cli::{Cli, Project, Run};
use std::net::Ipv4Addr;

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

/// `launchready dns` with `args` in `dir`, asking the lab's nameserver when there is one. The binary's own
/// --timeout bounds every query; the runner's limit only stops a hung test.
async fn dns(dir: &Project, args: &[&str], lab: Option<&Lab>) -> Run {
    let mut cli = dir
        .cli(Cli::new(env!("CARGO_BIN_EXE_launchready")))
        .arg("dns")
        .args(args);
    if let Some(lab) = lab {
        cli = cli.args([
            "--resolver".to_string(),
            lab.resolver_arg(),
            "--connect-to".into(),
            format!(":53:{}", lab.dns_addr()),
            "--timeout".into(),
            "5s".into(),
        ]);
    }
    cli.run_async().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_diff_and_restore_plan_from_the_command_line() {
    let dir = Project::new();
    let cdn = RecordData::Cname("cli.b-cdn.net".into());
    let lab = Lab::start(zone("v=spf1 include:mailgun.org -all", cdn))
        .await
        .unwrap();
    let snapshot = ["snapshot", "cli.test", "-o", "before.zone"];
    dns(&dir, &snapshot, Some(&lab))
        .await
        .code(0)
        .stderr_has(&["cli.test:", "transfers refused"]);
    let text = dir.read("before.zone");
    assert!(text.contains("www 300 IN CNAME cli.b-cdn.net."), "{text}");
    let sidecar: serde_json::Value = serde_json::from_str(&dir.read("before.zone.json")).unwrap();
    assert_eq!(sidecar["domain"], "cli.test");
    assert_eq!(sidecar["coverage"]["complete"], false);

    // Unchanged: exit 0.
    let live_diff = ["diff", "before.zone", "--live"];
    let same = dns(&dir, &live_diff, Some(&lab)).await;
    assert_eq!(
        (same.code, same.stdout.trim()),
        (0, "cli.test: no differences"),
        "{}",
        same.all()
    );

    // Edited: www off the CDN, Mailgun out of SPF; exit 1 with the meanings.
    let edited = Lab::start(zone(
        "v=spf1 -all",
        RecordData::A(Ipv4Addr::new(203, 0, 113, 9)),
    ))
    .await
    .unwrap();
    dns(&dir, &live_diff, Some(&edited))
        .await
        .code(1)
        .stdout_has(&[
            "www no longer points at the CDN (Bunny CDN)",
            "SPF lost include:mailgun.org — mail from Mailgun will fail SPF",
        ]);
    let after = ["snapshot", "cli.test", "-o", "after.zone"];
    dns(&dir, &after, Some(&edited)).await.code(0);
    let diff = ["diff", "before.zone", "after.zone.json", "--format", "json"];
    let json = dns(&dir, &diff, None).await.code(1).json();
    assert!(json["changes"].as_array().unwrap().len() >= 3, "{json}");

    let plan = dns(
        &dir,
        &["restore-plan", "before.zone", "--current", "after.zone"],
        None,
    )
    .await;
    plan.code(0).stdout_has(&[
        "Put back the record sets that are missing",
        "+ www 300 IN CNAME cli.b-cdn.net.",
    ]);
    let live_plan = dns(&dir, &["restore-plan", "before.zone"], Some(&edited)).await;
    assert_eq!(live_plan.stdout, plan.stdout);
    for (format, needle) in [
        ("zone", "$ORIGIN cli.test."),
        ("cloudflare", "\"content\":\"cli.b-cdn.net\""),
        ("dnscontrol", "CNAME(\"www\", \"cli.b-cdn.net.\", TTL(300))"),
        ("octodns", "- type: CNAME"),
        ("json", "\"op\": \"create\""),
    ] {
        let plan = [
            "restore-plan",
            "before.zone",
            "--current",
            "after.zone",
            "--format",
            format,
        ];
        dns(&dir, &plan, None).await.code(0).stdout_has(&[needle]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_snapshot_files_are_usage_errors_naming_the_line() {
    let dir = Project::new();
    dir.write("bad.zone", "$ORIGIN x.test.\n$TTL 60\n@ IN A 999.1.1.1\n");
    dns(&dir, &["diff", "bad.zone", "bad.zone"], None)
        .await
        .code(2)
        .stderr_has(&["bad.zone:3:", "999.1.1.1"]);
    dns(
        &dir,
        &["restore-plan", "nope.zone", "--current", "bad.zone"],
        None,
    )
    .await
    .code(2)
    .stderr_has(&["cannot read nope.zone"]);
}
