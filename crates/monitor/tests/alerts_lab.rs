//! The roadmap's windowed alerts against a controllable lab target: the membership app's login is made slow and
//! the "p(95) > 500ms" alert on the login POST step reaches the web team's channel once, then resolves; checkout
//! is made to fail one run in four and the "error_rate > 1%" alert reaches the payments channel once, then
//! resolves. Rules and channels come from a real manifest; without any rules, the roadmap's default p95 alert
//! times the login POST step the same way. Time is an injected clock (each round is a minute
//! later, and the test jumps past the 15-minute window to see an alert resolve), so nothing waits for minutes and
//! nothing asserts on elapsed time; the watchdog bounds the whole run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Received, json_receiver};

use launchready_flow::{FlowFile, Value, Variables};
use launchready_lab::app::{MemberApp, Mode};
use launchready_mailbox::SmtpSink;
use launchready_manifest::Manifest;
use launchready_monitor::alert::{self, Input};
use launchready_monitor::checks::{self, JourneyContext, JourneyMailbox};
use launchready_monitor::{CheckResult, FlowContext, Monitor, Store, from_manifest, plan};
use launchready_net::Net;
use launchready_testkit::watchdog::within;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const MINUTE: i64 = 60_000;
/// An arbitrary fixed start (2027-01-15T08:00:00Z): the clock the monitor is handed, not the wall clock.
const T0: i64 = 1_799_999_999_000;
const MEMBER: &str = "member@example.test";
const PASSWORD: &str = "Correct-Horse-42";

/// The injected clock: each round a minute later; `skip` jumps ahead.
struct Clock(i64);

impl Clock {
    fn tick(&mut self) -> i64 {
        self.0 += MINUTE;
        self.0
    }

    fn skip(&mut self, minutes: i64) {
        self.0 += minutes * MINUTE;
    }
}

/// `kind rule check` of every notice a receiver got, in order.
fn notices(received: &Received) -> Vec<String> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|n| format!("{} {} {}", n["kind"], n["rule"], n["check"]).replace('"', ""))
        .collect()
}

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flows")
        .join(name)
        .display()
        .to_string()
}

fn manifest_text(web_hook: &str, payments_hook: &str) -> String {
    format!(
        r#"[site]
domain = "example.test"
canonical = "https://www.example.test/"

[[flow]]
name = "login"
file = "{login}"

[[flow]]
name = "checkout"
file = "{checkout}"

[monitor]
owner = "founder@example.test"
dashboard_url = "http://127.0.0.1:8080/"

[[monitor.channel]]
name = "web-team"
type = "webhook"
url = "{web_hook}"

[[monitor.channel]]
name = "payments"
type = "webhook"
url = "{payments_hook}"

[[alert]]
name = "login slow"
checks = ["flow:login#POST /login"]
condition = "p(95) > 500ms over 15m"
owner = "web@example.test"
channels = ["web-team"]

[[alert]]
name = "checkout errors"
checks = ["flow:checkout"]
condition = "error_rate > 1% over 15m"
min_samples = 5
owner = "payments@example.test"
channels = ["payments"]
"#,
        login = example("login-to-members.hurl"),
        checkout = example("signup-to-payment.hurl"),
    )
}

struct World {
    _sink: SmtpSink,
    app: MemberApp,
    monitor: Monitor,
    flows: HashMap<String, FlowFile>,
    journeys: JourneyContext,
    net: Arc<Net>,
    web: Received,
    payments: Received,
    _dir: tempfile::TempDir,
}

/// The same site with no `[[alert]]` rules: the roadmap's defaults, to the one channel.
fn defaults_manifest_text(web_hook: &str, _payments_hook: &str) -> String {
    let full = manifest_text(web_hook, "http://127.0.0.1:9/unused");
    let site = full.split("[[monitor.channel]]").next().unwrap_or_default();
    format!(
        "{site}[[monitor.channel]]\nname = \"team\"\ntype = \"webhook\"\nurl = \"{web_hook}\"\n"
    )
}

async fn world() -> World {
    world_with(manifest_text).await
}

async fn world_with(text: fn(&str, &str) -> String) -> World {
    let (sink, app) = common::member_app().await;
    assert!(app.add_member(MEMBER, PASSWORD));
    let net = Arc::new(common::app_net(
        &app.connect_to_args(),
        app.ca_file(),
        Duration::from_secs(10),
    ));
    let channel_net = Arc::new(common::loopback_net(Duration::from_secs(10)));
    let (web_hook, web) = json_receiver().await;
    let (payments_hook, payments) = json_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = Manifest::parse(
        &text(&web_hook, &payments_hook),
        &dir.path().join("launchready.toml"),
    )
    .unwrap();
    let planned = plan(&manifest);
    let config = from_manifest(&manifest, &planned, Some(dir.path().join("monitor.db")));
    assert_eq!(config.unplanned(&planned), Vec::<String>::new());
    let store = Store::open(&config.database).await.unwrap();
    let mut vars = Variables::new();
    vars.set("base_url", Value::String(app.base_url()));
    vars.set("email", Value::String(MEMBER.into()));
    vars.set_secret("password", PASSWORD.into());
    let context = FlowContext {
        vars: vars.clone(),
        mailbox: Some(sink.store()),
    };
    let monitor = Monitor::new(
        config,
        planned.clone(),
        store,
        net.clone(),
        channel_net,
        context,
    )
    .unwrap();
    let flows = planned
        .iter()
        .filter_map(|c| match &c.kind {
            launchready_monitor::CheckKind::Flow { file, .. } => {
                Some((c.id.clone(), launchready_flow::load(file).unwrap()))
            }
            _ => None,
        })
        .collect();
    let journeys = JourneyContext {
        vars,
        mailbox: Some(JourneyMailbox::Sink(sink.store())),
    };
    World {
        _sink: sink,
        app,
        monitor,
        flows,
        journeys,
        net,
        web,
        payments,
        _dir: dir,
    }
}

impl World {
    /// One round at `now`: the journey runs and its result and step results are stored; then the alerts are
    /// evaluated on what is stored (the journeys' steps included) and the outbox is delivered.
    /// `n` rounds of `journey`, a minute apart, whatever they find.
    async fn rounds(&self, journey: &str, clock: &mut Clock, n: usize) {
        for _ in 0..n {
            self.round(journey, clock.tick()).await;
        }
    }

    /// The app healthy again and the clock past the window, then five rounds: enough samples to resolve.
    async fn heal_past_the_window(&self, journey: &str, clock: &mut Clock) {
        self.app.set_mode(Mode::Healthy);
        clock.skip(15);
        self.rounds(journey, clock, 5).await;
    }

    async fn round(&self, journey: &str, now: i64) -> Vec<CheckResult> {
        let check = self
            .monitor
            .checks
            .iter()
            .find(|c| c.id == journey)
            .unwrap();
        let results =
            checks::run_with_steps(check, &self.net, &self.flows, &self.journeys, now).await;
        for result in &results {
            self.monitor.store.insert_result(result).await.unwrap();
        }
        self.evaluate(now).await;
        let (_, errors) = self.monitor.deliver().await.unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        results
    }

    /// What the runner's evaluation does, over every id the rules read (`MonitorConfig::evaluated_ids`), with the
    /// steps folding into their journeys (`MonitorConfig::dependencies_with_steps`).
    async fn evaluate(&self, now: i64) {
        let config = &self.monitor.config;
        let lookback = config
            .rules
            .iter()
            .map(|r| r.condition.lookback())
            .max()
            .unwrap_or_default();
        let since = now - lookback.as_millis() as i64;
        let mut results = HashMap::new();
        for id in config.evaluated_ids(&self.monitor.checks) {
            let rows = self.monitor.store.results(&id, since, 50).await.unwrap();
            results.insert(id, rows.iter().map(CheckResult::sample).collect());
        }
        let previous = self.monitor.store.states().await.unwrap();
        let dependencies = config.dependencies_with_steps(&self.monitor.checks);
        let out = alert::evaluate(&Input {
            now_ms: now,
            rules: &config.rules,
            results: &results,
            previous: &previous,
            dependencies: &dependencies,
            maintenance: &config.maintenance,
            dashboard: config.dashboard_url.as_deref(),
        });
        self.monitor
            .store
            .commit_evaluation(&out.states, &out.notifications, now)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_login_pages_the_web_team_once_then_resolves() {
    within(Duration::from_secs(240), "the slow-login alert", async {
        let w = world().await;
        let mut clock = Clock(T0);
        for _ in 0..5 {
            let results = w.round("flow:login", clock.tick()).await;
            let down: Vec<_> = results.iter().filter(|r| !r.ok).collect();
            assert!(down.is_empty(), "healthy login failed: {down:#?}");
            let ids: Vec<&str> = results.iter().map(|r| r.check.as_str()).collect();
            assert_eq!(
                ids,
                [
                    "flow:login",
                    "flow:login#GET /members",
                    "flow:login#GET /login",
                    "flow:login#POST /login",
                    "flow:login#GET /members (2)",
                    "flow:login#POST /logout",
                    "flow:login#GET /members (3)"
                ]
            );
            assert_eq!(results[3].step, "POST /login");
            assert_eq!(results[3].status, Some(303));
        }
        assert_eq!(notices(&w.web), Vec::<String>::new());

        // Login answers after 700 ms: still within the journey's own `duration < 2000` assert, so every run is
        // up, and only the step's p95 shows it.
        w.app.set_mode(Mode::SlowLogin(Duration::from_millis(700)));
        for _ in 0..4 {
            let results = w.round("flow:login", clock.tick()).await;
            assert!(results.iter().all(|r| r.ok), "{results:#?}");
        }
        assert_eq!(
            notices(&w.web),
            ["firing login slow flow:login#POST /login"]
        );
        {
            let got = w.web.lock().unwrap();
            let firing = &got[0];
            assert_eq!(firing["owner"], "web@example.test");
            assert!(firing["value"].as_f64().unwrap() > 500.0, "{firing}");
            let text = firing["text"].as_str().unwrap();
            assert!(text.contains("p(95) > 500ms over 15m"), "{text}");
            assert!(text.contains("Dashboard: http://127.0.0.1:8080/"), "{text}");
        }

        // Fast again; past the 15-minute window the slow samples are gone and the alert resolves, once.
        w.heal_past_the_window("flow:login", &mut clock).await;
        assert_eq!(
            notices(&w.web),
            [
                "firing login slow flow:login#POST /login",
                "resolved login slow flow:login#POST /login"
            ]
        );
        assert_eq!(notices(&w.payments), Vec::<String>::new());
        let stored = w
            .monitor
            .store
            .results("flow:login#POST /login", 0, 100)
            .await
            .unwrap();
        assert_eq!(stored.len(), 14);
        assert!(stored.iter().all(|r| r.step == "POST /login"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_failing_one_run_in_four_pages_payments_once_then_resolves() {
    within(Duration::from_secs(300), "the error-rate alert", async {
        let w = world().await;
        let mut clock = Clock(T0);
        for _ in 0..5 {
            let results = w.round("flow:checkout", clock.tick()).await;
            assert!(results[0].ok, "{:#?}", results[0]);
        }
        assert_eq!(notices(&w.payments), Vec::<String>::new());

        // One run in four fails at the payment step: never three in a row, but far above 1 %.
        let mut failed = 0;
        for run in 0..8 {
            let failing = run % 4 == 0;
            w.app.set_mode(if failing {
                Mode::CheckoutError
            } else {
                Mode::Healthy
            });
            let results = w.round("flow:checkout", clock.tick()).await;
            assert_eq!(results[0].ok, !failing, "{:#?}", results[0]);
            if failing {
                failed += 1;
                let step = results.last().unwrap();
                assert_eq!(step.check, "flow:checkout#POST /checkout");
                assert!(!step.ok);
                assert_eq!(step.status, Some(500));
            }
        }
        assert_eq!(failed, 2);
        assert_eq!(
            notices(&w.payments),
            ["firing checkout errors flow:checkout"]
        );
        {
            let got = w.payments.lock().unwrap();
            let firing = &got[0];
            assert_eq!(firing["owner"], "payments@example.test");
            let error = firing["last_error"].as_str().unwrap();
            assert!(error.contains("/checkout"), "{error}");
            let context = firing["context"].as_str().unwrap();
            assert!(context.contains("HTTP 500"), "{context}");
            assert!(!context.contains("@example.test"), "{context}");
        }

        // Healthy; once the failures are out of the window and enough samples are in, it resolves, once.
        w.heal_past_the_window("flow:checkout", &mut clock).await;
        assert_eq!(
            notices(&w.payments),
            [
                "firing checkout errors flow:checkout",
                "resolved checkout errors flow:checkout"
            ]
        );
        assert_eq!(notices(&w.web), Vec::<String>::new());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roadmap_default_times_the_login_post_without_any_alert_rules() {
    within(Duration::from_secs(240), "the default p95 alert on login", async {
        let w = world_with(defaults_manifest_text).await;
        let rules: Vec<String> = w
            .monitor
            .config
            .rules
            .iter()
            .filter(|r| r.checks.iter().any(|c| c.starts_with("flow:login#")))
            .map(|r| format!("{} {}", r.name, r.checks.join(",")))
            .collect();
        assert!(
            rules.contains(&"slow (p95 over 500ms) flow:login#POST /login".to_string()),
            "{rules:#?}"
        );
        let mut clock = Clock(T0);
        w.rounds("flow:login", &mut clock, 5).await;
        w.app.set_mode(Mode::SlowLogin(Duration::from_millis(700)));
        w.rounds("flow:login", &mut clock, 3).await;
        w.heal_past_the_window("flow:login", &mut clock).await;
        assert_eq!(
            notices(&w.web),
            [
                "firing slow (p95 over 500ms) flow:login#POST /login",
                "resolved slow (p95 over 500ms) flow:login#POST /login"
            ]
        );
        let got = w.web.lock().unwrap();
        assert_eq!(got[0]["owner"], "founder@example.test");
        let text = got[0]["text"].as_str().unwrap();
        assert!(
            text.contains("First step: Run `launchready flow` on the login journey and look at the timing of `POST /login`"),
            "{text}"
        );
    })
    .await;
}
