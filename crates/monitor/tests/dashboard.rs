//! The dashboard over HTTP on loopback, as a browser or a scraper sees it: every page's status, content type and
//! cache policy, what each page shows from a store with results and incidents, badges that are SVG, no secret on
//! any page, and the token rule (on loopback and off it).

// Helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod common;
#[allow(dead_code)]
#[path = "../benches/support/world.rs"]
mod world;

use common::get;
use launchready_monitor::dashboard::{self, Router};
use std::net::SocketAddr;

async fn serve(router: Router, bind: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(dashboard::serve_on(listener, router));
    addr
}

const PAGES: [&str; 7] = [
    "/",
    "/check/route:checkout",
    "/check/route:login",
    "/incidents",
    "/note",
    "/badge/route:checkout.svg",
    "/metrics",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_answers_with_its_type_cache_policy_and_content() {
    every_page(world::small().await).await;
}

/// The same pages from a real PostgreSQL: the series queries are written once for both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_reads_the_same_from_postgresql() {
    let Some(server) =
        launchready_testkit::server::postgres::Postgres::start().expect("PostgreSQL starts")
    else {
        return;
    };
    let url = server.create_database("dashboard").expect("a database");
    every_page(world::small_in(Some(&url)).await).await;
}

async fn every_page(world: world::World) {
    let addr = serve(
        world.dashboard(None).router(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;

    let index = get(addr, "/", &[]).await;
    assert_eq!(index.status, 200);
    assert_eq!(index.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(index.header("cache-control"), "no-store");
    assert_eq!(index.header("x-content-type-options"), "nosniff");
    for check in &world.checks {
        assert!(
            index.body.contains(&format!(">{}</a>", check.id)),
            "{} missing from the main page",
            check.id
        );
    }
    // Checkout failed last, so it is listed first, as down, with its error.
    let first_row = index.body.split("<tr>").nth(2).unwrap();
    assert!(
        first_row.contains("route:checkout") && first_row.contains("st down"),
        "{first_row}"
    );
    assert!(first_row.contains("502 from POST"), "{first_row}");
    // Every check has successful results in the last hour: each row shows its p50 and p95.
    assert_eq!(
        index.body.matches(" ms</td>").count(),
        2 * world.checks.len(),
        "{}",
        index.body
    );
    assert!(
        index.body.contains("1 open incident"),
        "the open incident is announced"
    );

    let check = get(addr, "/check/route:checkout", &[]).await;
    assert_eq!(check.status, 200);
    assert_eq!(check.header("content-type"), "text/html; charset=utf-8");
    for chart in ["chart-1h", "chart-24h", "chart-7d"] {
        assert!(check.body.contains(&format!("id=\"{chart}\"")), "{chart}");
    }
    assert_eq!(check.body.matches("data-series=\"p95\"").count(), 3);
    assert!(check.body.contains("data-series=\"failed\""));
    assert!(check.body.contains("<table id=\"failures\">"));
    assert!(
        check.body.contains("HTTP/1.1 502 Bad Gateway"),
        "the stored context is shown"
    );
    assert!(
        check.body.contains("authorization: Bearer ***"),
        "as it was masked"
    );
    // 180 results over three hours, the last ten failed.
    assert!(
        check
            .body
            .contains("<td>24 h</td><td class=\"num\">180</td><td class=\"num\">10</td>"),
        "{}",
        check.body
    );
    assert!(!check.body.contains("<script"), "no script on any page");

    let incidents = get(addr, "/incidents", &[]).await;
    assert_eq!(incidents.status, 200);
    assert!(incidents.body.contains("id=\"timeline\""));
    let (open, past) = incidents.body.split_once("<h2>Past</h2>").unwrap();
    assert!(open.contains("error rate over 1%") && open.contains(">open<"));
    assert!(past.contains("slow (p95 over 500ms)") && past.contains("resolved"));
    assert!(
        past.contains("<td>30 min</td>"),
        "the resolved incident lasted 30 minutes"
    );
    // Each incident's timeline says where its notices went.
    assert!(open.contains("alert to slack: <span class=\"open\">not delivered</span> after 1 attempt: POST https://***:***@hooks.example.test/in?key=*** 503"), "{open}");
    assert!(
        past.contains("alert to slack: delivered")
            && past.contains("resolved notice to slack: delivered"),
        "{past}"
    );
    assert!(
        index.body.contains("Maintenance now, until")
            && index
                .body
                .contains("on route:member: database upgrade (alerts silenced)")
    );

    let note = get(addr, "/note", &[]).await;
    assert_eq!(note.status, 200);
    assert!(
        note.body.contains("<h1>Incident note: example.test</h1>"),
        "{}",
        note.body
    );
    assert!(note.body.contains("<h2>What to check first</h2>"));
    assert!(
        note.body
            .contains("<b>error rate over 1%</b> on <code>route:checkout</code>")
    );
    assert!(note.body.contains("./deploy.sh rollback"));

    let badge = get(addr, "/badge/route:checkout.svg", &[]).await;
    assert_eq!(badge.status, 200);
    assert_eq!(badge.header("content-type"), "image/svg+xml; charset=utf-8");
    assert_eq!(badge.header("cache-control"), "public, max-age=30");
    let svg = roxmltree::Document::parse(&badge.body).expect("the badge is well-formed XML");
    assert_eq!(svg.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = svg.descendants().filter_map(|n| n.text()).collect();
    assert!(
        texts.contains(&"route:checkout") && texts.iter().any(|t| t.starts_with("down ")),
        "{texts:?}"
    );
    let landing = get(addr, "/badge/landing.svg", &[]).await;
    let landing = roxmltree::Document::parse(&landing.body).unwrap();
    assert!(landing.descendants().any(|n| n.text() == Some("up 100%")));
    // One failure in 180 keeps login above the 99 % under which a badge says degraded.
    let login = get(addr, "/badge/route:login.svg", &[]).await;
    assert!(login.body.contains(">up 99.44%<"), "{}", login.body);
    assert_eq!(get(addr, "/badge/nothing.svg", &[]).await.status, 404);
    assert_eq!(get(addr, "/badge/landing.png", &[]).await.status, 404);
    assert_eq!(get(addr, "/check/nothing", &[]).await.status, 404);
    // A journey's page links its steps; a step has a page and a badge of its own, under its journey.
    let journey = get(addr, "/check/flow:journey", &[]).await;
    assert_eq!(journey.status, 200);
    let step = journey
        .body
        .split("<a href=\"/check/flow:journey%23")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no step link: {}", journey.body));
    let step_page = get(addr, &format!("/check/flow:journey%23{step}"), &[]).await;
    assert_eq!(step_page.status, 200);
    assert!(step_page.body.contains("depends on flow:journey"));
    assert!(
        step_page
            .body
            .contains("<td>1 h</td><td class=\"num\">30</td><td class=\"num\">0</td>"),
        "{}",
        step_page.body
    );
    assert_eq!(
        get(addr, &format!("/badge/flow:journey%23{step}.svg"), &[])
            .await
            .status,
        200
    );
    assert_eq!(
        get(addr, "/check/landing%23x", &[]).await.status,
        404,
        "only journeys have steps"
    );

    let metrics = get(addr, "/metrics", &[]).await;
    assert_eq!(
        metrics.header("content-type"),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        metrics
            .body
            .contains("launchready_check_up{check=\"landing\"} 1\n")
    );
    assert!(
        metrics
            .body
            .contains("launchready_check_up{check=\"route:checkout\"} 0\n")
    );
    assert!(metrics.body.contains("launchready_open_incidents 1\n"));
    assert_eq!(get(addr, "/healthz", &[]).await.body, "ok\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_shows_a_secret() {
    let world = world::small().await;
    let token = "dashboard-token-5150";
    let addr = serve(
        world.dashboard(Some(token)).router(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let secret = world::secret_value();
    let bearer = format!("Bearer {token}");
    let mut hidden = 0;
    for path in PAGES {
        let page = get(addr, path, &[("authorization", &bearer)]).await;
        assert_eq!(page.status, 200, "{path}");
        for value in [secret.as_str(), token, "hookuser"]
            .into_iter()
            .chain(world::URL_SECRETS)
        {
            assert!(!page.body.contains(value), "{path} shows `{value}`");
        }
        hidden += page.body.matches("[hidden]").count();
    }
    assert!(
        hidden > 0,
        "the stored message that carried the secret is shown, with the secret cut out"
    );
    let note = get(addr, "/note", &[("authorization", &bearer)]).await;
    assert!(
        note.body.contains("hooks.example.test/in?key=***"),
        "{}",
        note.body
    );
    assert!(
        note.body.contains("Slack (webhook in $CARGO_MANIFEST_DIR)"),
        "the variable is named, not read"
    );
}

/// An address of this machine that is not loopback, when it has one: the source address of a route to a
/// documentation address (connecting a UDP socket sends nothing).
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_page_but_healthz() {
    let world = world::small().await;
    let token = "dashboard-token-5150";
    assert!(dashboard::check_listen("0.0.0.0:8080".parse().unwrap(), None).is_err());
    assert!(dashboard::check_listen("0.0.0.0:8080".parse().unwrap(), Some(token)).is_ok());
    // Listening on every address with a token, as `--listen 0.0.0.0:…` does; reached off loopback when the
    // machine has another address, else on loopback.
    let bound = serve(
        world.dashboard(Some(token)).router(),
        "0.0.0.0:0".parse().unwrap(),
    )
    .await;
    let ip = non_loopback_ip().unwrap_or_else(|| {
        eprintln!("no non-loopback address here: the token is checked on loopback only");
        "127.0.0.1".parse().unwrap()
    });
    let addr = SocketAddr::new(ip, bound.port());
    for path in PAGES {
        let page = get(addr, path, &[]).await;
        assert_eq!(page.status, 401, "{path} without a token");
        assert!(page.header("www-authenticate").starts_with("Bearer"));
        assert!(
            !page.body.contains("route:checkout"),
            "{path} leaks content"
        );
        let wrong = get(addr, path, &[("authorization", "Bearer nope")]).await;
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
        let right = get(addr, path, &[("authorization", &format!("Bearer {token}"))]).await;
        assert_eq!(right.status, 200, "{path} with the token");
    }
    assert_eq!(get(addr, "/healthz", &[]).await.status, 200);
    // A visit with ?token= sets a cookie, so the page's links work without repeating the token.
    let visit = get(addr, &format!("/?token={token}"), &[]).await;
    assert_eq!(visit.status, 200);
    let cookie = visit.header("set-cookie").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!visit.body.contains(token));
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(
        get(addr, "/check/landing", &[("cookie", pair)])
            .await
            .status,
        200
    );
    assert_eq!(visit.header("referrer-policy"), "no-referrer");
    let badge = get(addr, "/badge/landing.svg", &[("cookie", pair)]).await;
    assert_eq!(badge.header("cache-control"), "private, max-age=30");
}
