//! The three example journeys (examples/flows/) under load against the lab's membership app: signup with the
//! confirmation email, login to the member area, password reset; each iteration a distinct member from a CSV of
//! test accounts. Healthy, every threshold holds; with checkout broken, the checkout threshold fails.

mod common;

use launchready_flow::{RunOptions, Value, Variables};
use launchready_lab::app::{AppConfig, MemberApp, Mode};
use launchready_load::{LoadPlan, Stop, Threshold, exit};
use launchready_mailbox::{MailboxBackend, SmtpSink};
use launchready_net::{Net, NetConfig};
use launchready_testkit::lab::app_config;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "Correct-Horse-42";
const JOURNEYS: [&str; 3] = [
    "signup-to-payment.hurl",
    "login-to-members.hurl",
    "password-reset.hurl",
];

struct Lab {
    app: MemberApp,
    sink: SmtpSink,
    net: &'static Net,
}

async fn lab(members: usize) -> Lab {
    let sink = SmtpSink::start(([127, 0, 0, 1], 0).into())
        .await
        .expect("smtp sink");
    let app = MemberApp::start(AppConfig::new(sink.addr()))
        .await
        .expect("member app");
    for i in 0..members {
        assert!(app.add_member(&format!("member{i}@lab.test"), PASSWORD));
    }
    let net = Net::new(NetConfig {
        concurrency: 256,
        ..app_config(&app, Duration::from_secs(10))
    })
    .expect("net");
    Lab {
        app,
        sink,
        net: Box::leak(Box::new(net)),
    }
}

fn plan(lab: &Lab, journeys: &[&str], iterations: u64, thresholds: &[&str]) -> LoadPlan {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flows");
    let files = journeys
        .iter()
        .map(|name| launchready_flow::load(&dir.join(name)).expect("journey parses"))
        .collect();
    let mut variables = Variables::new();
    variables.set("base_url", Value::String(lab.app.base_url()));
    // One test account per iteration: the reset journey changes its member's password.
    let rows = (0..iterations)
        .map(|i| {
            vec![
                ("email".to_string(), format!("member{i}@lab.test")),
                ("password".to_string(), PASSWORD.to_string()),
            ]
        })
        .collect();
    let store = lab.sink.store();
    LoadPlan {
        files,
        model: common::open(iterations as f64 / 2.0, 2, 16),
        options: RunOptions::default(),
        variables,
        rows,
        thresholds: thresholds
            .iter()
            .map(|t| Threshold::parse(t).expect("threshold"))
            .collect(),
        allowed_hosts: vec![lab.app.host().to_string()],
        grace: Duration::from_secs(30),
        backends: vec![(
            "mailbox".to_string(),
            Arc::new(move || {
                Box::new(MailboxBackend::sink(store.clone())) as Box<dyn launchready_flow::Backend>
            }),
        )],
        fast_path: true,
    }
}

async fn run(lab: &Lab, plan: LoadPlan) -> launchready_load::LoadReport {
    plan.check().expect("the plan checks");
    tokio::time::timeout(
        Duration::from_secs(120),
        launchready_load::run(plan, lab.net, Stop::default(), None),
    )
    .await
    .expect("the run stops by itself")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_journeys_hold_their_thresholds_on_a_healthy_app() {
    let lab = lab(12).await;
    let plan = plan(
        &lab,
        &JOURNEYS,
        12,
        &[
            "rate_errors<0.01",
            "step=checkout p(95)<10s",
            "flow=login-to-members p(99)<20s",
        ],
    );
    let report = run(&lab, plan).await;
    let text = report.text();
    assert_eq!(report.iterations.completed, 12, "{text}");
    assert_eq!(report.iterations.failed, 0, "{text}");
    assert_eq!(
        report.flows.iter().map(|f| f.count).collect::<Vec<_>>(),
        vec![4, 4, 4],
        "{text}"
    );
    assert!(
        report.steps.iter().any(|s| s.name == "POST /checkout"),
        "{text}"
    );
    assert_eq!(report.exit_code(), exit::PASSED, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_checkout_fails_the_checkout_threshold() {
    let lab = lab(0).await;
    lab.app.set_mode(Mode::CheckoutError);
    let plan = plan(
        &lab,
        &JOURNEYS[..1],
        4,
        &[
            "step=checkout rate_errors<0.01",
            "step=signup rate_errors<0.01",
        ],
    );
    let report = run(&lab, plan).await;
    let text = report.text();
    let checkout = report.step("POST /checkout").expect("checkout step");
    assert_eq!(checkout.errors.get("5xx"), Some(&4), "{text}");
    let verdicts: Vec<bool> = report.thresholds.iter().map(|t| t.passed).collect();
    assert_eq!(verdicts, vec![false, true], "{text}");
    assert_eq!(report.exit_code(), exit::THRESHOLD_FAILED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_http1_only_the_lab_app_runs_on_the_fast_path() {
    let lab = lab(0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("healthz.hurl");
    std::fs::write(
        &path,
        format!("GET {}/healthz\nHTTP 200\n", lab.app.base_url()),
    )
    .expect("write the flow");
    let mut reports = Vec::new();
    for http1_only in [false, true] {
        let mut plan = plan(&lab, &[], 0, &["rate_errors<0.01"]);
        plan.files = vec![launchready_flow::load(&path).expect("the flow parses")];
        plan.backends = Vec::new();
        plan.model = common::open(200.0, 1, 10);
        plan.options = RunOptions {
            http1_only,
            ..RunOptions::default()
        };
        reports.push(run(&lab, plan).await);
    }
    let (h2, h1) = (&reports[0], &reports[1]);
    for report in [h2, h1] {
        assert_eq!(report.iterations.completed, 200, "{}", report.text());
        assert_eq!(report.iterations.failed, 0, "{}", report.text());
        assert_eq!(report.exit_code(), exit::PASSED, "{}", report.text());
    }
    // The lab offers HTTP/2: the engine takes it unless told not to, and only HTTP/1.1 arms the fast path.
    assert_eq!(h2.iterations.fast_path, 0, "{}", h2.text());
    assert!(h1.iterations.fast_path > 100, "{}", h1.text());
}
