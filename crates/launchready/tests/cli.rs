//! End-to-end tests of the real `launchready` binary against the in-process lab: the demo, audit with the lab's
//! flags, every output format, facts round trips, and each kind of bad input (exit codes and messages).

use launchready_lab::scenarios::{self, DEMO_MANIFEST};
use launchready_lab::{Handler, Lab};
use launchready_testkit::cli::{Cli, LabProject, Project, Run, lab_flags};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_launchready");

fn launchready() -> Cli {
    Cli::new(BIN)
}

/// Runs the binary in `dir` off the async runtime, so the lab keeps serving while it runs.
async fn run(dir: &Path, args: &[&str]) -> Run {
    launchready().current_dir(dir).args(args).run_async().await
}

/// `launchready audit` with `args`, then the lab's flags, in the directory holding the lab's manifest.
async fn audit(site: &LabProject, args: &[&str]) -> Run {
    audit_within(site, args, Duration::from_secs(60)).await
}

/// [`audit`], failing the test when it has not finished within `limit`.
async fn audit_within(site: &LabProject, args: &[&str], limit: Duration) -> Run {
    site.cli(launchready().arg("audit").limit(limit), args)
        .run_async()
        .await
}

fn findings(json: &str) -> Vec<(String, String, String, bool)> {
    let report: serde_json::Value = serde_json::from_str(json).expect("valid JSON report");
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["subject"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
                f.get("suppressed").is_some(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_a_real_report_and_exits_1() {
    let dir = Project::new();
    let out = run(dir.path(), &["demo"]).await;
    out.code(1).stdout_has(&[
        "demo.test: not ready to launch",
        "tls.cert.expiring",
        "members.demo.test",
        "dns.host.missing",
        "admin.demo.test",
        "Suppressed",
        "DNS map",
    ]);
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when NO_COLOR is set"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_with_the_lab_flags_reports_what_the_demo_reports() {
    let dir = Project::new();
    let demo = run(dir.path(), &["demo", "--format", "json"]).await;
    demo.code(1);

    let lab = Lab::start(scenarios::demo()).await.unwrap();
    let by_hand = dir
        .cli(launchready())
        .args(["audit", "demo.test", "--format", "json", "--manifest"])
        .arg(dir.write("launchready.toml", DEMO_MANIFEST))
        .args(lab_flags(&lab))
        .run_async()
        .await;
    by_hand.code(1);

    let demo_findings = findings(&demo.stdout);
    assert!(demo_findings.len() >= 3, "{demo_findings:?}");
    assert_eq!(demo_findings, findings(&by_hand.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_running_prints_flags_that_reach_the_lab() {
    let dir = Project::new();
    let mut child = Command::new(BIN)
        .args(["demo", "--keep-running", "--format", "json"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.trim_start().starts_with("launchready audit demo.test"))
    })
    .await
    .unwrap();
    let line = line.expect("demo --keep-running prints the audit command");
    let mut printed: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect();
    printed.extend(["--format".to_string(), "json".to_string()]);
    let out = dir.cli(launchready()).args(printed).run_async().await;
    let _ = child.kill();
    let _ = child.wait();
    out.code(1);
    let found = findings(&out.stdout);
    assert!(
        found
            .iter()
            .any(|f| f.0 == "tls.cert.expiring" && f.1 == "members.demo.test")
    );
    assert!(
        found
            .iter()
            .any(|f| f.0 == "dns.host.missing" && f.1 == "admin.demo.test")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_writes_to_output_and_facts_rejudge_identically() {
    let lab = LabProject::start(scenarios::demo(), DEMO_MANIFEST).await;
    let facts = lab.path().join("facts.json").display().to_string();
    let first = [
        "--format",
        "json",
        "--output",
        "live.json",
        "--save-facts",
        &facts,
    ];
    let live = audit(&lab, &first).await;
    live.code(1);
    assert!(live.stdout.is_empty(), "the report went to the file");
    let LabProject { lab, project: dir } = lab;
    drop(lab);

    // The lab is gone: judging the saved facts must not need the network.
    for (format, file, marker) in [
        ("json", "offline.json", "\"schema_version\""),
        ("sarif", "r.sarif", "\"2.1.0\""),
        ("markdown", "r.md", "## Must fix now"),
        ("html", "r.html", "<!DOCTYPE html>"),
        ("text", "r.txt", "DNS map"),
    ] {
        let offline = [
            "audit",
            "--from-facts",
            "facts.json",
            "--format",
            format,
            "--output",
            file,
            "--fail-on",
            "blocker",
        ];
        let out = run(dir.path(), &offline).await;
        assert_eq!(
            out.code, 1,
            "{format}: the demo's critical checkout 404 is a blocker, offline too: {}",
            out.stderr
        );
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.contains(marker), "{format} output lacks {marker:?}");
    }
    let live_report = std::fs::read_to_string(dir.path().join("live.json")).unwrap();
    let offline_report = std::fs::read_to_string(dir.path().join("offline.json")).unwrap();
    assert_eq!(findings(&live_report), findings(&offline_report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_a_timeout_finding_not_a_hang() {
    let mut scenario = scenarios::demo();
    let api = scenario.site_mut("api.demo.test").unwrap();
    api.https = Handler::Hang;
    api.http = Handler::Hang;
    let lab = LabProject::start(scenario, DEMO_MANIFEST).await;
    // A hang fails the test: the run is killed after 20 s.
    let audit = ["--format", "json", "--timeout", "1"];
    let out = audit_within(&lab, &audit, Duration::from_secs(20)).await;
    out.code(1);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let broken: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "subdomain.broken")
        .collect();
    assert_eq!(
        broken.len(),
        2,
        "http and https on api.demo.test: {broken:?}"
    );
    assert!(
        broken
            .iter()
            .all(|f| f["evidence"].to_string().contains("timeout")),
        "{broken:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_site_exits_0() {
    let lab = LabProject::start(scenarios::clean(), scenarios::CLEAN_MANIFEST).await;
    let out = audit(&lab, &[]).await;
    out.code(0);
    assert!(out.stdout.contains("clean.test: ready"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_a_blocker_and_the_page_behind_it_is_still_read() {
    let mut scenario = scenarios::demo();
    scenario.site_mut("www.demo.test").unwrap().cert = launchready_lab::CertSpec::Expired;
    let lab = LabProject::start(scenario, DEMO_MANIFEST).await;
    let out = audit(&lab, &["--format", "json", "--fail-on", "blocker"]).await;
    out.code(1);
    let found = findings(&out.stdout);
    assert!(found.contains(&(
        "tls.cert.expired".to_string(),
        "www.demo.test".to_string(),
        "blocker".to_string(),
        false
    )));
    // The landing page behind the expired certificate still answered 200, so no landing finding.
    assert!(
        !found.iter().any(|f| f.0 == "http.landing.status"),
        "{found:?}"
    );
}

// ---- bad input ----

fn check_usage_error(dir: &Path, argv: &[&str], expected: &[&str]) {
    let out = launchready()
        .current_dir(dir)
        .args(argv)
        .limit(Duration::from_secs(30))
        .run();
    out.code(2).stderr_has(expected);
    assert!(!out.stderr.contains("panicked"), "{}", out.all());
}

/// `launchready audit` in a directory whose `launchready.toml` is `manifest` is a usage error saying `expected`.
fn check_manifest_error(manifest: &str, expected: &[&str]) {
    let dir = Project::with_manifest(manifest);
    check_usage_error(dir.path(), &["audit"], expected);
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    check_manifest_error(
        "[site]\ndomain = \"example.com\nsubdomains = []\n",
        &["launchready.toml:2:"],
    );
}

#[test]
fn unknown_keys_suggest_the_right_one() {
    check_manifest_error(
        "[site]\ndomain = \"example.com\"\nsubdomians = [\"app\"]\n",
        &[
            "launchready.toml:3:1",
            "subdomians",
            "did you mean `subdomains`",
        ],
    );
}

#[test]
fn a_canonical_url_without_a_scheme_is_rejected() {
    check_manifest_error(
        "[site]\ndomain = \"example.com\"\ncanonical = \"www.example.com\"\n",
        &["launchready.toml:3:", "www.example.com"],
    );
}

#[test]
fn invalid_domains_are_usage_errors() {
    let dir = Project::new();
    for domain in [
        "https://example.com",
        "exa mple.com",
        "-bad.example",
        "a..b",
    ] {
        check_usage_error(dir.path(), &["audit", "--", domain], &[domain]);
    }
}

#[test]
fn malformed_connect_to_and_resolver_are_usage_errors() {
    let dir = Project::new();
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &[
                "audit",
                "example.com",
                "--connect-to",
                "example.com:443:1.2.3.4",
            ],
            &["--connect-to", "example.com:443:1.2.3.4", "4"],
        ),
        (
            &["audit", "example.com", "--resolver", "dns.example"],
            &["--resolver", "dns.example"],
        ),
        (
            &["audit", "example.com", "--deadline", "10 parsecs"],
            &["--deadline", "`10 parsecs` is not a duration", "1m30s"],
        ),
        (
            &["audit", "example.com", "--timeout", "0s"],
            &["--timeout must be more than 0"],
        ),
        (
            &["audit", "example.com", "--ca-file", "/nonexistent.pem"],
            &["/nonexistent.pem"],
        ),
        (&["audit"], &["no domain to audit"]),
    ];
    for (argv, expected) in cases {
        check_usage_error(dir.path(), argv, expected);
    }
}

#[test]
fn an_unreachable_resolver_exits_3_within_the_deadline() {
    // A socket that receives queries and never answers: the worst kind of unreachable.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = launchready()
        .args([
            "audit",
            "example.com",
            "--resolver",
            &addr,
            "--timeout",
            "5",
            "--deadline",
            "2s",
        ])
        // A deadline of 2 s: the run is killed (failing the test) after 6.
        .limit(Duration::from_secs(6))
        .run();
    out.code(3);
    assert!(
        out.stderr.contains(&addr),
        "names the resolver: {}",
        out.stderr
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_promptly() {
    let mut scenario = scenarios::demo();
    for host in ["www.demo.test", "app.demo.test", "api.demo.test"] {
        scenario.site_mut(host).unwrap().https = Handler::Hang;
    }
    let lab = LabProject::start(scenario, DEMO_MANIFEST).await;
    let running = lab
        .cli(launchready().arg("audit"), ["--timeout", "60"])
        .spawn();
    tokio::time::sleep(Duration::from_millis(800)).await;
    running.interrupt();
    // Stopped within 3 s of Ctrl-C, or killed and failed.
    running
        .finish_within_async(Duration::from_secs(3))
        .await
        .code(130);
}

#[test]
fn init_writes_a_manifest_that_audit_accepts_and_never_overwrites() {
    let dir = Project::new();
    let out = launchready()
        .current_dir(dir.path())
        .args(["init", "example.com"])
        .limit(Duration::from_secs(30))
        .run();
    out.code(0);
    let text = std::fs::read_to_string(dir.path().join("launchready.toml")).unwrap();
    assert!(text.contains("example.com"));
    assert!(text.contains('#'), "the starter is commented");
    check_usage_error(
        dir.path(),
        &["init", "example.com"],
        &["already exists", "--force"],
    );
    // The written manifest loads: a from-facts run with a mismatched domain is refused by name.
    check_usage_error(
        dir.path(),
        &["audit", "other.example"],
        &["launchready.toml", "example.com", "other.example"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_file_entries_are_checked_like_legacy_links() {
    let lab = LabProject::start(scenarios::clean(), scenarios::CLEAN_MANIFEST).await;
    let dir = &lab.project;
    dir.write(
        "links.txt",
        "# exported from the ad platform\nhttps://clean.test/spring-sale\nhttps://www.clean.test/black-friday-2025\n",
    );
    let out = audit(&lab, &["--format", "json", "--links", "links.txt"]).await;
    out.code(1);
    let found = findings(&out.stdout);
    let broken: Vec<_> = found
        .iter()
        .filter(|f| f.0 == "legacy_link.broken")
        .collect();
    assert_eq!(broken.len(), 1, "{found:?}");
    assert_eq!(broken[0].1, "https://www.clean.test/black-friday-2025");

    dir.write("bad.txt", "https://clean.test/ok\nclean.test/no-scheme\n");
    let out = launchready()
        .current_dir(dir.path())
        .args(["audit", "--links", "bad.txt"])
        .limit(Duration::from_secs(30))
        .run();
    out.code(2);
    assert!(out.stderr.contains("bad.txt:2:"), "{}", out.stderr);
}

/// The loop of fixing: audit, change something, audit again with `--compare` and see what moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_shows_fixed_and_new_findings_against_an_earlier_report() {
    let lab = LabProject::start(scenarios::demo(), DEMO_MANIFEST).await;
    let first = [
        "--format",
        "json",
        "--output",
        "before.json",
        "--save-facts",
        "facts.json",
        "--deadline",
        "1m30s",
        "--timeout",
        "2500ms",
    ];
    let live = audit(&lab, &first).await;
    live.code(1);
    let LabProject { lab, project: dir } = lab;
    drop(lab);

    // The earlier report had a finding the site no longer has, and lacked one it has now.
    let path = dir.path().join("before.json");
    let mut before: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let findings = before["findings"].as_array_mut().unwrap();
    let dropped = findings.remove(0);
    let mut gone = dropped.clone();
    gone["id"] = "tls.cert.expired".into();
    gone["subject"] = "old.demo.test".into();
    findings.push(gone);
    std::fs::write(&path, before.to_string()).unwrap();

    let compare = [
        "audit",
        "--from-facts",
        "facts.json",
        "--compare",
        "before.json",
    ];
    let out = run(dir.path(), &compare).await;
    out.code(1);
    assert!(out.stdout.contains(": 1 fixed, 1 new, "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("fixed blocker tls.cert.expired — old.demo.test"),
        "{}",
        out.stdout
    );
    let new_line = format!(
        "new   {} {} — {}",
        dropped["severity"].as_str().unwrap(),
        dropped["id"].as_str().unwrap(),
        dropped["subject"].as_str().unwrap()
    );
    assert!(out.stdout.contains(&new_line), "{new_line}\n{}", out.stdout);
    assert!(out.stdout.contains("score by category: "), "{}", out.stdout);
}

#[test]
fn compare_with_a_missing_or_foreign_file_is_a_usage_error() {
    let dir = Project::new();
    check_usage_error(
        dir.path(),
        &["audit", "example.com", "--compare", "nowhere.json"],
        &["nowhere.json"],
    );
    dir.write("notes.json", "[1, 2, 3]");
    check_usage_error(
        dir.path(),
        &["audit", "example.com", "--compare", "notes.json"],
        &["notes.json is not a launchready JSON report"],
    );
    check_usage_error(
        dir.path(),
        &["audit", "example.com", "--mobile-user-agent", " "],
        &["--mobile-user-agent must be a non-empty"],
    );
}
