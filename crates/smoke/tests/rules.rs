//! The smoke rules on hand-built facts: each case is a fact sheet and the finding ids (with severity) it must
//! produce. No network: the rules are pure functions of the facts.

use launchready_findings::Severity::{self, Blocker, High, Info, Medium};
use launchready_smoke::{
    Exchange, FailedStep, FlowFacts, HomepageFacts, Probe, RouteFacts, SmokeFacts, VersionFacts,
    WebhookFacts, judge, version_matches,
};

fn exchange(method: &str, url: &str, status: u16, headers: &[(&str, &str)], ms: f64) -> Exchange {
    Exchange {
        method: method.to_string(),
        url: url.to_string(),
        request_headers: vec![("cookie".to_string(), "session=***".to_string())],
        version: "HTTP/1.1".to_string(),
        status,
        response_headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body_excerpt: "<h1>hello</h1>\n<p>world</p>".to_string(),
        body_bytes: 27,
        total_ms: ms,
    }
}

fn probe(exchanges: Vec<Exchange>) -> Probe {
    Probe {
        exchanges,
        error: None,
    }
}

fn route(name: &str, kind: &str, critical: bool, probe: Probe) -> RouteFacts {
    RouteFacts {
        name: name.to_string(),
        kind: kind.to_string(),
        critical,
        expect_status: 200,
        url: format!("https://www.example.com/{name}"),
        login_urls: vec!["https://www.example.com/login".to_string()],
        probe,
    }
}

fn webhook(status: Option<u16>) -> WebhookFacts {
    let url = "https://www.example.com/webhooks/payments";
    WebhookFacts {
        url: url.to_string(),
        source: "[smoke] webhook".to_string(),
        probe: match status {
            Some(status) => probe(vec![exchange("POST", url, status, &[], 5.0)]),
            None => Probe {
                exchanges: Vec::new(),
                error: Some("connection refused".to_string()),
            },
        },
    }
}

fn homepage(budget_ms: u64, samples: &[(u16, f64)]) -> HomepageFacts {
    let url = "https://www.example.com/";
    HomepageFacts {
        url: url.to_string(),
        budget_ms,
        samples: samples
            .iter()
            .map(|(status, ms)| probe(vec![exchange("GET", url, *status, &[], *ms)]))
            .collect(),
    }
}

/// The one place the rules run: `facts` must produce exactly `expected` (id, severity), in any order.
fn check(facts: SmokeFacts, expected: &[(&str, Severity)]) {
    let findings = judge(&facts);
    let mut got: Vec<(String, Severity)> = findings
        .iter()
        .map(|f| (f.id.clone(), f.severity))
        .collect();
    let mut want: Vec<(String, Severity)> =
        expected.iter().map(|(i, s)| (i.to_string(), *s)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{findings:#?}");
}

fn facts() -> SmokeFacts {
    SmokeFacts {
        target: "example.com".to_string(),
        ..SmokeFacts::default()
    }
}

#[test]
fn the_homepage_is_held_against_its_budget_by_the_median() {
    let mut f = facts();
    f.homepage = Some(homepage(800, &[(200, 2000.0), (200, 300.0), (200, 400.0)]));
    check(f, &[("smoke.homepage.passed", Info)]);
    let mut f = facts();
    f.homepage = Some(homepage(800, &[(200, 900.0), (200, 300.0), (200, 1000.0)]));
    check(f, &[("smoke.homepage.slow", High)]);
    let mut f = facts();
    f.homepage = Some(homepage(800, &[(200, 10.0), (503, 10.0)]));
    check(f, &[("smoke.homepage.down", Blocker)]);
}

#[test]
fn routes_answer_their_status_and_member_pages_may_send_visitors_to_log_in() {
    let to_login = probe(vec![
        exchange(
            "GET",
            "https://www.example.com/members",
            302,
            &[("location", "/login?next=/members")],
            3.0,
        ),
        exchange(
            "GET",
            "https://www.example.com/login?next=/members",
            200,
            &[],
            3.0,
        ),
    ]);
    let ok = probe(vec![exchange(
        "GET",
        "https://www.example.com/login",
        200,
        &[],
        3.0,
    )]);
    let error = probe(vec![exchange(
        "GET",
        "https://www.example.com/checkout",
        500,
        &[],
        3.0,
    )]);
    let missing = probe(vec![exchange(
        "GET",
        "https://www.example.com/pricing",
        404,
        &[],
        3.0,
    )]);
    let mut f = facts();
    f.routes = vec![
        route("members", "member", true, to_login.clone()),
        route(
            "checkout-anonymous",
            "checkout",
            true,
            probe(vec![to_login.exchanges[0].clone()]),
        ),
        route("login", "login", true, ok),
        route("checkout", "checkout", true, error),
        route("pricing", "landing", false, missing),
        // Only member and checkout pages may send an anonymous visitor to log in: a 302 to the login page that
        // is not followed (the hop budget ran out) is a failure for a signup page.
        route(
            "signup",
            "signup",
            false,
            probe(vec![to_login.exchanges[0].clone()]),
        ),
        route(
            "account",
            "member",
            false,
            Probe {
                exchanges: Vec::new(),
                error: Some("GET https://www.example.com/account: timeout".to_string()),
            },
        ),
    ];
    check(
        f,
        &[
            ("smoke.route.passed", Info),
            ("smoke.route.passed", Info),
            ("smoke.route.passed", Info),
            ("smoke.route.server_error", Blocker),
            ("smoke.route.unexpected_status", High),
            ("smoke.route.unexpected_status", High),
            ("smoke.route.unreachable", High),
        ],
    );
}

#[test]
fn a_webhook_must_answer_and_refuse_an_unsigned_payload() {
    for (status, expected) in [
        (Some(400), ("smoke.webhook.passed", Info)),
        (Some(401), ("smoke.webhook.passed", Info)),
        (Some(200), ("smoke.webhook.accepts_unsigned", Blocker)),
        (Some(204), ("smoke.webhook.accepts_unsigned", Blocker)),
        (Some(301), ("smoke.webhook.redirects", High)),
        (Some(404), ("smoke.webhook.missing", Blocker)),
        (Some(405), ("smoke.webhook.missing", Blocker)),
        (Some(502), ("smoke.webhook.server_error", High)),
        (None, ("smoke.webhook.unreachable", Blocker)),
    ] {
        let mut f = facts();
        f.webhooks = vec![webhook(status)];
        check(f, &[expected]);
    }
}

#[test]
fn a_failed_journey_names_its_step_with_the_exchange() {
    let mut f = facts();
    f.flows = vec![
        FlowFacts {
            name: "signup-to-payment".to_string(),
            file: "flows/signup-to-payment.hurl".to_string(),
            passed: false,
            could_not_run: false,
            steps: 8,
            duration_ms: 120,
            failed_step: Some(FailedStep {
                index: 8,
                line: 64,
                method: "POST".to_string(),
                url: "https://www.example.com/checkout".to_string(),
                message: "line 71: status == 200: actual: 500, expected: 200".to_string(),
                exchange: Some(exchange(
                    "POST",
                    "https://www.example.com/checkout",
                    500,
                    &[("set-cookie", "session=***; Secure")],
                    4.0,
                )),
            }),
        },
        FlowFacts {
            name: "login".to_string(),
            file: "flows/login.hurl".to_string(),
            passed: true,
            could_not_run: false,
            steps: 6,
            duration_ms: 30,
            failed_step: None,
        },
    ];
    let findings = judge(&f);
    let failed = findings
        .iter()
        .find(|x| x.id == "smoke.flow.failed")
        .expect("a failed journey is a finding");
    assert_eq!(failed.severity, Blocker);
    assert!(
        failed
            .title
            .contains("step 8 (POST https://www.example.com/checkout)"),
        "{}",
        failed.title
    );
    let evidence = failed.evidence.join("\n");
    for needle in [
        "flows/signup-to-payment.hurl:64: line 71: status == 200: actual: 500, expected: 200",
        "request: POST https://www.example.com/checkout",
        "request headers: cookie: session=***",
        "response: HTTP/1.1 500",
        "response headers: set-cookie: session=***; Secure",
        "body: <h1>hello</h1> <p>world</p>",
    ] {
        assert!(evidence.contains(needle), "no {needle:?} in:\n{evidence}");
    }
    assert!(findings.iter().any(|x| x.id == "smoke.flow.passed"));
}

fn version(wanted: Option<&str>, matched: bool, status: Option<u16>) -> VersionFacts {
    let url = "https://www.example.com/version";
    VersionFacts {
        url: url.to_string(),
        wanted: wanted.map(str::to_string),
        served: Some("1.0.0".to_string()),
        matched,
        polls: 3,
        waited_ms: 4000,
        timeout_ms: 5000,
        last: match status {
            Some(status) => probe(vec![exchange("GET", url, status, &[], 2.0)]),
            None => Probe {
                exchanges: Vec::new(),
                error: Some("refused".to_string()),
            },
        },
    }
}

#[test]
fn the_awaited_version_must_go_live() {
    for (facts_version, expected) in [
        (
            version(Some("1.1.0"), true, Some(200)),
            ("smoke.version.passed", Info),
        ),
        (
            version(Some("1.1.0"), false, Some(200)),
            ("smoke.version.not_live", Blocker),
        ),
        (
            version(Some("1.1.0"), false, None),
            ("smoke.version.not_live", Blocker),
        ),
        (
            version(None, false, Some(200)),
            ("smoke.version.passed", Info),
        ),
        (
            version(None, false, Some(500)),
            ("smoke.version.unreachable", Medium),
        ),
    ] {
        let mut f = facts();
        f.version = Some(facts_version);
        check(f, &[expected]);
    }
}

#[test]
fn versions_are_read_from_text_json_and_short_shas() {
    let sha = "3f9c2ab7e41d0c5b9a8f7e6d5c4b3a2918070605";
    for (body, wanted, expected) in [
        ("1.2.3\n", "1.2.3", true),
        ("1.2.3\n", "1.2", false),
        ("release 1.2.3 (built today)", "1.2.3", true),
        (r#"{"version":"1.2.3"}"#, "1.2.3", true),
        (
            r#"{"build":{"git":{"sha":"3f9c2ab7e41d0c5b9a8f7e6d5c4b3a2918070605"}}}"#,
            "3f9c2ab",
            true,
        ),
        (r#"{"version":"1.2.30"}"#, "1.2.3", false),
        (sha, "3f9c2ab", true),
        (sha, "3f9c2", false),
        ("", "1.2.3", false),
        ("1.2.3", "  ", false),
    ] {
        assert_eq!(
            version_matches(body, wanted),
            expected,
            "{body:?} vs {wanted:?}"
        );
    }
}
