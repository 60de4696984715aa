//! The alert engine driven by hand-built samples and an explicit clock.

use super::*;

const MIN: i64 = 60_000;
/// A rule condition that pages on the first failure.
const PAGE_AT_ONCE: Condition = Condition::ConsecutiveFailures { n: 1 };
/// The window the roadmap's windowed rules use.
const WINDOW: Duration = Duration::from_secs(15 * 60);

fn p95_above(threshold_ms: f64, min_samples: usize) -> Condition {
    Condition::P95Above {
        threshold_ms,
        window: WINDOW,
        min_samples,
    }
}

fn error_rate_above(ratio: f64, min_samples: usize) -> Condition {
    Condition::ErrorRateAbove {
        ratio,
        window: WINDOW,
        min_samples,
    }
}

fn sample(at_ms: i64, ok: bool, duration_ms: f64) -> Sample {
    Sample {
        at_ms,
        ok,
        duration_ms,
        cert_expires_at_ms: None,
        error: (!ok).then(|| "POST /checkout: HTTP 500".to_string()),
        context: (!ok).then(|| "POST https://app/checkout\nHTTP 500".to_string()),
    }
}

fn rule(name: &str, check: &str, condition: Condition) -> Rule {
    Rule {
        name: name.into(),
        checks: vec![check.into()],
        condition,
        owner: "ops@team".into(),
        channels: vec!["webhook".into()],
        remind_every: None,
        first_step: "Check the payment provider's status page".into(),
    }
}

/// Replays a series of evaluations, one per sample, carrying state; returns every notification with the
/// evaluation time.
struct World {
    rules: Vec<Rule>,
    results: HashMap<String, Vec<Sample>>,
    state: BTreeMap<Key, AlertState>,
    dependencies: HashMap<String, Vec<String>>,
    maintenance: Vec<Maintenance>,
    sent: Vec<Notification>,
}

impl World {
    fn new(rules: Vec<Rule>) -> World {
        World {
            rules,
            results: HashMap::new(),
            state: BTreeMap::new(),
            dependencies: HashMap::new(),
            maintenance: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn record(&mut self, check: &str, s: Sample) {
        self.results.entry(check.into()).or_default().push(s);
    }

    /// Records `s` and evaluates at its time: one round of the runner.
    fn step(&mut self, check: &str, s: Sample) -> Vec<Notification> {
        let now_ms = s.at_ms;
        self.record(check, s);
        self.eval(now_ms)
    }

    fn eval(&mut self, now_ms: i64) -> Vec<Notification> {
        let out = evaluate(&Input {
            now_ms,
            rules: &self.rules,
            results: &self.results,
            previous: &self.state,
            dependencies: &self.dependencies,
            maintenance: &self.maintenance,
            dashboard: Some("http://127.0.0.1:8080/"),
        });
        self.state = out.states;
        self.sent.extend(out.notifications.clone());
        out.notifications
    }

    fn kinds(&self) -> Vec<(NoticeKind, String)> {
        self.sent
            .iter()
            .map(|n| (n.kind, n.check.clone()))
            .collect()
    }
}

#[test]
fn consecutive_failures_fire_on_the_nth_and_resolve_after_two_successes() {
    let mut w = World::new(vec![rule(
        "checkout-failing",
        "flow:checkout",
        Condition::ConsecutiveFailures { n: 3 },
    )]);
    for i in 0..2 {
        assert!(
            w.step("flow:checkout", sample(i * MIN, false, 10.0))
                .is_empty(),
            "fired after {} failures",
            i + 1
        );
    }
    let fired = w.step("flow:checkout", sample(2 * MIN, false, 10.0));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].kind, NoticeKind::Firing);
    assert_eq!(fired[0].since_ms, 2 * MIN);
    let text = fired[0].text();
    assert!(text.contains("ops@team"), "{text}");
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(text.contains("First step: Check the payment"), "{text}");
    assert!(text.contains("http://127.0.0.1:8080/"), "{text}");
    // Still failing: no second page.
    assert!(
        w.step("flow:checkout", sample(3 * MIN, false, 10.0))
            .is_empty()
    );
    // One success is not enough to resolve.
    assert!(
        w.step("flow:checkout", sample(4 * MIN, true, 10.0))
            .is_empty()
    );
    let resolved = w.step("flow:checkout", sample(5 * MIN, true, 10.0));
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].kind, NoticeKind::Resolved);
    assert_eq!(
        resolved[0].since_ms,
        2 * MIN,
        "the resolved notice names the start"
    );
    assert!(!w.state[&("checkout-failing".into(), "flow:checkout".into())].firing);
}

#[test]
fn a_failure_between_successes_does_not_fire_or_flap() {
    let mut w = World::new(vec![rule(
        "c",
        "x",
        Condition::ConsecutiveFailures { n: 3 },
    )]);
    for i in 0..20 {
        w.step("x", sample(i * MIN, i % 3 != 0, 10.0));
    }
    assert!(w.sent.is_empty(), "{:?}", w.kinds());
}

#[test]
fn p95_needs_min_samples_and_resolves_below_ninety_percent() {
    let cond = p95_above(500.0, 5);
    let mut w = World::new(vec![rule("slow", "route:login", cond)]);
    // Four very slow samples: below the minimum, nothing.
    for i in 0..4 {
        assert!(
            w.step("route:login", sample(i * MIN, true, 2_000.0))
                .is_empty()
        );
    }
    let fired = w.step("route:login", sample(4 * MIN, true, 2_000.0));
    assert_eq!(fired.len(), 1);
    assert!(fired[0].value.is_some_and(|v| v > 500.0));
    // Move past the window with samples at 480 ms: inside the band (450..500], so still firing.
    let mut t = 20 * MIN;
    for _ in 0..10 {
        assert!(
            w.step("route:login", sample(t, true, 480.0)).is_empty(),
            "resolved inside the hysteresis band"
        );
        t += MIN;
    }
    // Old slow samples are out of the window once 15 minutes pass; fast samples bring p95 to 100 ms.
    for _ in 0..16 {
        w.step("route:login", sample(t, true, 100.0));
        t += MIN;
    }
    assert_eq!(
        w.kinds(),
        vec![
            (NoticeKind::Firing, "route:login".to_string()),
            (NoticeKind::Resolved, "route:login".to_string())
        ]
    );
}

#[test]
fn p95_ignores_failed_samples_and_old_ones() {
    let cond = p95_above(500.0, 3);
    let mut w = World::new(vec![rule("slow", "r", cond)]);
    // Slow but an hour ago.
    for i in 0..5 {
        w.record("r", sample(i * MIN, true, 5_000.0));
    }
    // Recent: failures (fast timeouts don't count) and fast successes.
    for i in 60..65 {
        w.record("r", sample(i * MIN, false, 9_000.0));
        w.record("r", sample(i * MIN + 1, true, 50.0));
    }
    assert!(w.eval(65 * MIN).is_empty());
}

#[test]
fn error_rate_over_window_with_band() {
    let cond = error_rate_above(0.01, 20);
    let mut w = World::new(vec![rule("errors", "route:checkout", cond)]);
    // 1 failure in 19 samples: fewer than min_samples, nothing judged.
    for i in 0..19 {
        w.record("route:checkout", sample(i * 10_000, i != 5, 10.0));
    }
    assert!(w.eval(19 * 10_000).is_empty());
    // The 20th sample: 1/20 = 5 % > 1 %.
    let fired = w.step("route:checkout", sample(19 * 10_000, true, 10.0));
    assert_eq!(fired.len(), 1);
    assert!((fired[0].value.unwrap_or_default() - 0.05).abs() < 1e-9);
    // 200 clean samples later the window holds only successes: resolved.
    let mut t = 20 * 10_000;
    for _ in 0..200 {
        w.step("route:checkout", sample(t, true, 10.0));
        t += 10_000;
    }
    assert_eq!(w.sent.len(), 2);
    assert_eq!(w.sent[1].kind, NoticeKind::Resolved);
}

#[test]
fn cert_expiry_fires_under_the_threshold_and_needs_a_day_more_to_resolve() {
    let day = DAY_MS;
    let cond = Condition::CertExpiresWithin {
        within: Duration::from_secs(14 * 86_400),
    };
    let mut w = World::new(vec![rule("cert", "tls:www.example.com", cond)]);
    let with_cert = |at: i64, expires: i64| Sample {
        cert_expires_at_ms: Some(expires),
        ..sample(at, true, 10.0)
    };
    w.record("tls:www.example.com", with_cert(0, 20 * day));
    assert!(w.eval(0).is_empty());
    w.record("tls:www.example.com", with_cert(7 * day, 20 * day));
    let fired = w.eval(7 * day);
    assert_eq!(fired.len(), 1);
    assert!(fired[0].text().contains("cert_expires_in < 14d"));
    // Renewed to 14.5 days ahead: inside the band, still firing.
    w.record(
        "tls:www.example.com",
        with_cert(8 * day, 8 * day + 14 * day + day / 2),
    );
    assert!(w.eval(8 * day).is_empty());
    w.record(
        "tls:www.example.com",
        with_cert(9 * day, 9 * day + 90 * day),
    );
    assert_eq!(w.eval(9 * day)[0].kind, NoticeKind::Resolved);
}

#[test]
fn reminders_repeat_at_the_interval_with_distinct_keys() {
    let mut r = rule("c", "x", PAGE_AT_ONCE);
    r.remind_every = Some(Duration::from_secs(30 * 60));
    let mut w = World::new(vec![r]);
    for i in 0..=70 {
        w.step("x", sample(i * MIN, false, 10.0));
    }
    let kinds: Vec<NoticeKind> = w.sent.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        vec![
            NoticeKind::Firing,
            NoticeKind::Reminder,
            NoticeKind::Reminder
        ]
    );
    assert_eq!(w.sent[1].at_ms, 30 * MIN);
    assert_eq!(w.sent[2].at_ms, 60 * MIN);
    let mut keys: Vec<&str> = w.sent.iter().map(|n| n.key.as_str()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 3);
}

#[test]
fn landing_down_folds_login_and_checkout_into_one_incident() {
    let rules = ["landing", "route:login", "flow:checkout"]
        .iter()
        .map(|c| {
            rule(
                &format!("down {c}"),
                c,
                Condition::ConsecutiveFailures { n: 3 },
            )
        })
        .collect();
    let mut w = World::new(rules);
    for child in ["route:login", "flow:checkout"] {
        w.dependencies.insert(child.into(), vec!["landing".into()]);
    }
    for i in 0..3 {
        for c in ["landing", "route:login", "flow:checkout"] {
            w.record(c, sample(i * MIN, false, 10.0));
        }
        w.eval(i * MIN);
    }
    assert_eq!(w.sent.len(), 1, "{:?}", w.kinds());
    assert_eq!(w.sent[0].check, "landing");
    assert_eq!(
        w.sent[0].folded,
        vec![
            "down flow:checkout on flow:checkout",
            "down route:login on route:login"
        ]
    );
    // Landing comes back but checkout stays down: now checkout is its own incident, said once.
    for i in 3..6 {
        w.record("landing", sample(i * MIN, true, 10.0));
        w.record("route:login", sample(i * MIN, true, 10.0));
        w.step("flow:checkout", sample(i * MIN, false, 10.0));
    }
    assert_eq!(
        w.kinds(),
        vec![
            (NoticeKind::Firing, "landing".to_string()),
            (NoticeKind::Firing, "flow:checkout".to_string()),
            (NoticeKind::Resolved, "landing".to_string()),
        ]
    );
    // Login recovered while folded: it never paged, so it sends no resolved notice either.
    assert!(!w.state[&("down route:login".into(), "route:login".into())].firing);
}

#[test]
fn maintenance_silences_then_says_so_once_if_still_failing() {
    let mut w = World::new(vec![rule("c", "x", PAGE_AT_ONCE)]);
    w.maintenance.push(Maintenance {
        start_ms: 0,
        end_ms: 10 * MIN,
        checks: vec![],
        reason: "database upgrade".into(),
    });
    for i in 0..10 {
        assert!(w.step("x", sample(i * MIN, false, 10.0)).is_empty());
        assert!(w.state[&("c".into(), "x".into())].silenced);
    }
    let fired = w.step("x", sample(10 * MIN, false, 10.0));
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].since_ms, 0, "the incident started in the window");
}

#[test]
fn an_alert_that_started_and_ended_in_maintenance_sends_nothing() {
    let mut w = World::new(vec![rule("c", "x", PAGE_AT_ONCE)]);
    w.maintenance.push(Maintenance {
        start_ms: 0,
        end_ms: 10 * MIN,
        checks: vec!["x".into()],
        reason: "deploy".into(),
    });
    for (i, ok) in [false, false, true, true].into_iter().enumerate() {
        w.step("x", sample(i as i64 * MIN, ok, 10.0));
    }
    assert!(w.sent.is_empty());
}

#[test]
fn re_evaluating_the_same_inputs_gives_the_same_keys() {
    let mut w = World::new(vec![rule("c", "x", PAGE_AT_ONCE)]);
    w.record("x", sample(0, false, 1.0));
    let before = w.state.clone();
    let first = w.eval(0);
    w.state = before;
    let again = w.eval(0);
    assert_eq!(first, again);
}

#[test]
fn no_data_keeps_the_state() {
    let mut w = World::new(vec![rule("errors", "x", error_rate_above(0.01, 5))]);
    assert!(w.eval(0).is_empty());
    assert_eq!(
        w.state[&("errors".into(), "x".into())],
        AlertState::default()
    );
}

#[test]
fn percentile_is_nearest_rank() {
    let values: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&values, 95.0), Some(95.0));
    assert_eq!(percentile(&values, 50.0), Some(50.0));
    assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
    assert_eq!(percentile(&[], 95.0), None);
}
