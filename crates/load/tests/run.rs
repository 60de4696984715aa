//! Load runs against a loopback server: coordinated omission shows in the corrected figures, steps are named and
//! counted with their errors by kind, thresholds decide the exit code, each iteration is its own visitor, and a
//! stop (Ctrl-C or abortOnFail) still yields a report.

mod common;

use common::{STALL, flow, open, plan, run, server, temp_flow};
use launchready_load::{Model, Stop, Threshold, exit};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_second_stall_in_the_schedule_shows_in_corrected_p99_and_max() {
    // 50/s for 3 s with one slot: request 20 stalls, and the ~100 iterations scheduled during the stall wait for
    // the slot. Measured from their intended starts they waited up to 2 s; measured from when they were sent they
    // did not, and only the one stalled request shows.
    let (addr, _) = server(20).await;
    let (_dir, file) = temp_flow("stall.hurl", "GET {{base}}/stall-once\nHTTP 200\n");
    let report = run(plan(vec![file], open(50.0, 3, 1), addr), Stop::default()).await;
    let stall_ms = STALL.as_secs_f64() * 1000.0;
    let all = &report.requests;
    assert_eq!(all.count, 150, "{}", report.text());
    assert!(
        all.corrected.p99 >= stall_ms * 0.75,
        "corrected p99 {}\n{}",
        all.corrected.p99,
        report.text()
    );
    assert!(all.corrected.max >= stall_ms * 0.95, "{}", report.text());
    assert!(all.uncorrected.max >= stall_ms * 0.95, "{}", report.text());
    assert!(
        all.uncorrected.p99 < stall_ms * 0.5,
        "as sent, the stall is one request in 150 and stays out of p99\n{}",
        report.text()
    );
    assert!(report.iterations.waited_for_slot > 50, "{}", report.text());
    // After the first iteration the requests went on the fast path: the correction holds there too.
    assert!(report.iterations.fast_path > 100, "{}", report.text());
    assert_eq!(report.exit_code(), exit::PASSED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_are_named_counted_and_judged_by_thresholds() {
    let (addr, _) = server(0).await;
    let (_dir, file) = temp_flow(
        "shop.hurl",
        "GET {{base}}/ok\nHTTP 200\n\n# step: pay\nPOST {{base}}/checkout\n",
    );
    let mut plan = plan(vec![file], open(40.0, 1, 8), addr);
    for t in [
        "step=pay p(95)<5000",
        "step=ok count>0",
        "rate_errors<0.01",
        "flow=shop max<10s",
    ] {
        plan.thresholds
            .push(Threshold::parse(t).expect("threshold"));
    }
    let report = run(plan, Stop::default()).await;
    let text = report.text();
    let pay = report.step("pay").expect("a step named by its comment");
    let ok = report
        .step("GET /ok")
        .expect("a step named by method and path");
    assert_eq!(pay.count, 40, "{text}");
    assert_eq!(ok.count, 40, "{text}");
    // Every fourth request to the server is a 500; the checkout is every second request.
    assert!(pay.errors.get("5xx").copied().unwrap_or(0) > 0, "{text}");
    assert_eq!(pay.statuses.values().sum::<u64>(), 40, "{text}");
    assert!(ok.errors.is_empty(), "{text}");
    let verdicts: Vec<(String, bool)> = report
        .thresholds
        .iter()
        .map(|t| (t.threshold.clone(), t.passed))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("step=pay p(95)<5000".to_string(), true),
            ("step=ok count>0".to_string(), true),
            ("rate_errors<0.01".to_string(), false),
            ("flow=shop max<10s".to_string(), true),
        ],
        "{text}"
    );
    assert_eq!(report.exit_code(), exit::THRESHOLD_FAILED);
    assert!(text.contains("FAIL rate_errors<0.01"), "{text}");
    let junit = report.junit();
    assert!(junit.contains("failures=\"1\""), "{junit}");
    let json: serde_json::Value = serde_json::from_str(&report.json()).expect("JSON");
    assert_eq!(json["model"]["kind"], "open");
    assert!(json["requests"]["bytes_received"].as_u64().unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_iteration_is_its_own_visitor_with_its_row_of_variables() {
    let (addr, state) = server(0).await;
    let (dir, file) = temp_flow(
        "member.hurl",
        "POST {{base}}/login\n[Form]\nuser: {{user}}\nHTTP 200\n\nGET {{base}}/me\nHTTP 200\n[Asserts]\nbody == \"hello {{user}}\"\n",
    );
    let csv = dir.path().join("accounts.csv");
    std::fs::write(&csv, "user\nalice\nbob\ncarol\n").expect("csv");
    let mut plan = plan(vec![file], open(30.0, 1, 10), addr);
    plan.rows = launchready_load::read_rows(&csv).expect("rows");
    let report = run(plan, Stop::default()).await;
    assert_eq!(report.iterations.completed, 30, "{}", report.text());
    assert_eq!(report.iterations.failed, 0, "{}", report.text());
    let users = state.users.lock().expect("users").clone();
    assert_eq!(
        users.into_iter().collect::<Vec<_>>(),
        vec!["alice", "bob", "carol"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_the_run_early_and_still_reports() {
    let (addr, _) = server(0).await;
    let (_dir, file) = temp_flow("ok.hurl", "GET {{base}}/ok\nHTTP 200\n");
    let stop = Stop::default();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.stop("interrupted (Ctrl-C)");
    });
    let report = run(plan(vec![file], open(20.0, 30, 4), addr), stop).await;
    assert_eq!(report.stopped.as_deref(), Some("interrupted (Ctrl-C)"));
    assert!(report.iterations.completed > 0, "{}", report.text());
    assert!(report.iterations.not_started > 0, "{}", report.text());
    assert!(report.text().contains("stopped early: interrupted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_on_fail_threshold_stops_the_run() {
    let (addr, _) = server(0).await;
    let (_dir, file) = temp_flow("broken.hurl", "GET {{base}}/broken\n");
    let mut plan = plan(vec![file], open(20.0, 30, 4), addr);
    plan.thresholds
        .push(Threshold::parse("rate_errors<0.01 abortOnFail").expect("threshold"));
    let report = run(plan, Stop::default()).await;
    let reason = report.stopped.clone().unwrap_or_default();
    assert!(reason.contains("rate_errors<0.01"), "{reason}");
    assert!(report.iterations.not_started > 0, "{}", report.text());
    assert_eq!(
        report.requests.errors.get("5xx"),
        Some(&report.requests.count)
    );
    assert_eq!(report.exit_code(), exit::THRESHOLD_FAILED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_answering_is_a_run_that_could_not_run_with_connect_errors() {
    // A port nothing listens on: bind one, note it, close it.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address")
    };
    let (_dir, file) = temp_flow("down.hurl", "GET {{base}}/ok\n");
    let report = run(plan(vec![file], open(10.0, 1, 4), addr), Stop::default()).await;
    assert_eq!(
        report.requests.errors.get("connect"),
        Some(&10),
        "{}",
        report.text()
    );
    assert_eq!(report.exit_code(), exit::COULD_NOT_RUN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closed_model_is_labelled_and_not_corrected() {
    let (addr, _) = server(0).await;
    let (_dir, file) = temp_flow("ok.hurl", "GET {{base}}/ok\nHTTP 200\n");
    let model = Model::Closed {
        vus: 2,
        duration: Duration::from_millis(500),
    };
    let report = run(plan(vec![file], model, addr), Stop::default()).await;
    assert_eq!(report.model.kind, "closed");
    assert!(!report.model.corrected);
    assert!(report.text().contains("closed model"), "{}", report.text());
    assert!(report.iterations.completed > 0);
    assert!(report.iterations.vus <= 2);
}

#[test]
fn hosts_the_manifest_does_not_name_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    // (file, source, threshold, what the error says)
    let cases: [(&str, &str, Option<&str>, &[&str]); 3] = [
        (
            "elsewhere.hurl",
            "GET https://example.com/\n",
            None,
            &["elsewhere.hurl:1: refusing to load example.com"],
        ),
        (
            "unknown.hurl",
            "GET {{site}}/\n",
            None,
            &["unknown.hurl:1:", "{{site}}"],
        ),
        (
            "ok.hurl",
            "GET {{base}}/ok\n",
            Some("step=checkout p(95)<500"),
            &["no step is called `checkout`"],
        ),
    ];
    for (name, source, threshold, expected) in cases {
        let file = flow(dir.path(), name, source);
        let mut p = plan(
            vec![file],
            open(1.0, 1, 1),
            "127.0.0.1:1".parse().expect("addr"),
        );
        p.thresholds
            .extend(threshold.map(|t| Threshold::parse(t).expect("threshold")));
        let error = p.check().err().map(|e| e.to_string()).unwrap_or_default();
        for part in expected {
            assert!(error.contains(part), "{name}: {error}");
        }
    }
}
