//! The three example journeys (signup → payment with its confirmation email, login → member area, password
//! reset → re-entry) load-tested against the lab's membership app from one `launchready load` command: test
//! accounts from a CSV, the welcome and reset emails through the manifest's `[mailbox]` sink, thresholds that
//! hold on a healthy app and fail on the checkout step when checkout is broken.

use launchready_lab::app::Mode;
use launchready_testkit::cli::{Cli, Run, ServedApp};
use std::path::Path;
use std::time::Duration;

const PASSWORD: &str = "Correct-Horse-42";
const ITERATIONS: usize = 9;

/// `launchready load` on the three journeys at 9 iterations over 3 s, with `thresholds`, in a project whose
/// manifest names the SMTP sink the app mails to. The app has one member per iteration: the reset journey changes
/// its member's password, so no two iterations share an account.
fn load(mode: Mode, thresholds: &[&str]) -> (Run, serde_json::Value) {
    let served = ServedApp::with_mailbox(mode);
    let dir = served.mailbox_project("example.test");
    let mut accounts = String::from("email,password\n");
    for i in 0..ITERATIONS {
        assert!(
            served
                .app
                .add_member(&format!("member{i}@lab.test"), PASSWORD)
        );
        accounts.push_str(&format!("member{i}@lab.test,{PASSWORD}\n"));
    }
    let csv = dir.write("accounts.csv", &accounts);
    let journeys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flows");
    let mut cli = dir
        .cli(Cli::new(env!("CARGO_BIN_EXE_launchready")))
        .arg("load");
    for name in [
        "signup-to-payment.hurl",
        "login-to-members.hurl",
        "password-reset.hurl",
    ] {
        cli = cli.arg(journeys.join(name));
    }
    cli = cli
        .args(["--rate", "3/s", "--duration", "3s", "--max-in-flight", "16"])
        .arg("--manifest")
        .arg(dir.manifest())
        .arg("--variables-file")
        .arg(&csv)
        .args([
            "--variable".to_string(),
            format!("base_url={}", served.app.base_url()),
            "--allow-host".to_string(),
            served.app.host().to_string(),
        ])
        .args(served.flags())
        .args(["--quiet", "--json", "report.json"]);
    for t in thresholds {
        cli = cli.args(["--threshold", t]);
    }
    let run = cli.limit(Duration::from_secs(120)).run();
    let report = serde_json::from_str(&dir.read("report.json")).unwrap_or_else(|e| {
        panic!("report.json: {e}\n{}", run.all());
    });
    (run, report)
}

fn count(report: &serde_json::Value, pointer: &str) -> u64 {
    report
        .pointer(pointer)
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| panic!("{pointer} in {report}"))
}

#[test]
fn the_three_journeys_hold_their_thresholds_from_one_command() {
    let (run, report) = load(
        Mode::Healthy,
        &["rate_errors<0.01", "step=checkout p(95)<10s"],
    );
    run.code(0);
    assert_eq!(
        count(&report, "/iterations/completed"),
        ITERATIONS as u64,
        "{}",
        run.all()
    );
    assert_eq!(count(&report, "/iterations/failed"), 0, "{}", run.all());
    let flows = report["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 3, "{report}");
    for flow in flows {
        assert_eq!(flow["count"], 3, "each journey ran its share: {flow}");
    }
    // Each journey went past its emailed link: the reset journey posts its new password on the page the link
    // opened, which only the email carries, so the mailbox steps read the sink.
    let steps = report["steps"].as_array().expect("steps");
    for name in [
        "POST /signup",
        "POST /checkout",
        "POST /password/reset",
        "POST /",
    ] {
        let step = steps
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}: {report}"));
        assert_eq!(step["count"], 3, "{step}");
        assert_eq!(step["failed"], 0, "{step}");
    }
    run.never_shows(PASSWORD);
}

#[test]
fn a_broken_checkout_fails_the_checkout_threshold_and_exits_1() {
    let (run, report) = load(
        Mode::CheckoutError,
        &[
            "step=checkout rate_errors<0.01",
            "step=signup rate_errors<0.01",
        ],
    );
    run.code(1);
    let verdicts: Vec<(&str, bool)> = report["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .map(|t| {
            (
                t["threshold"].as_str().expect("threshold text"),
                t["passed"].as_bool().expect("passed"),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("step=checkout rate_errors<0.01", false),
            ("step=signup rate_errors<0.01", true)
        ],
        "{}",
        run.all()
    );
}
