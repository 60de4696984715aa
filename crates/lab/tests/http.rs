//! HTTP and HTTPS behaviour: virtual-host routing, scripted redirects and pages, hangs, closes,
//! injected latency and the response counter.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use launchready_lab::{Handler, Lab, LabError, Page, Scenario, Site, scenarios};

fn scripted() -> Scenario {
    Scenario::new()
        .site(
            Site::new("ok.test")
                .page("/plain", Page::new(200, "no content type given"))
                .page(
                    "/teapot",
                    Page::text(418, "short and stout").header("x-extra", "1"),
                )
                .http_page("/insecure", Page::html(200, "served over http")),
        )
        .site(Site::new("hang.test").on_both(Handler::Hang))
        .site(Site::new("close.test").on_both(Handler::Close))
        .site(Site::new("moved.test").http(Handler::redirect(
            308,
            "https://ok.test/landing",
            false,
        )))
}

#[tokio::test]
async fn redirects_carry_status_and_location() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    let r = common::http_get(&lab, "demo.test", "/").await;
    r.assert(301, "location", "https://demo.test/");

    let r = common::http_get(&lab, "demo.test", "/pricing?plan=yearly").await;
    assert_eq!(
        r.header("location"),
        Some("https://demo.test/pricing?plan=yearly")
    );

    let r = common::https_get(&lab, "demo.test", "/pricing").await;
    r.assert(301, "location", "https://www.demo.test/pricing");
    assert!(r.body.contains("https://www.demo.test/pricing"));

    let lab = Lab::start(scripted()).await.unwrap();
    let r = common::http_get(&lab, "moved.test", "/some/path").await;
    r.assert(308, "location", "https://ok.test/landing");
}

#[tokio::test]
async fn host_header_routes_between_sites() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    let www = common::https_get(&lab, "www.demo.test", "/").await;
    www.assert(200, "content-type", "text/html; charset=utf-8");
    assert!(
        www.body
            .contains(r#"<img src="http://www.demo.test/hero.jpg""#)
    );
    assert!(www.body.contains("https://app.demo.test/signup"));

    let api = common::https_get(&lab, "api.demo.test", "/").await;
    assert_eq!(api.header("content-type"), Some("application/json"));
    assert_eq!(api.body, r#"{"status":"ok"}"#);

    // Same TLS connection (SNI www), different Host: the Host header decides.
    let tls = common::tls_verified(&lab, "www.demo.test").await;
    let r = common::get_over(tls, "api.demo.test:443", "/health").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("healthy"));

    let css = common::https_get(&lab, "www.demo.test", "/assets/site.css").await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    // A demo flaw: the static asset is never cached.
    assert_eq!(css.header("cache-control"), Some("no-cache"));

    let missing = common::https_get(&lab, "www.demo.test", "/nope").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("/nope"));
}

#[tokio::test]
async fn unknown_hosts_get_421_on_both_schemes() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();

    let r = common::http_get(&lab, "nobody.test", "/").await;
    assert_eq!(r.status, 421);
    assert!(r.body.contains("nobody.test"));

    let tls = common::tls_verified(&lab, "www.demo.test").await;
    let r = common::get_over(tls, "nobody.test", "/").await;
    assert_eq!(r.status, 421);

    // HTTP/1.0 without Host on plain HTTP has nothing to route by.
    let raw = common::raw_http(&lab, "GET / HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.0 421"), "{text}");
}

#[tokio::test]
async fn https_without_host_header_falls_back_to_sni() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let lab = Lab::start(scenarios::demo()).await.unwrap();
    let mut tls = common::tls_verified(&lab, "api.demo.test").await;
    tls.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    // The server may end without close_notify; what was read before that is what matters.
    let _ = tokio::time::timeout(common::IO_TIMEOUT, tls.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
    assert!(text.ends_with(r#"{"status":"ok"}"#), "{text}");
}

#[tokio::test]
async fn pages_default_to_html_and_keep_custom_headers() {
    let lab = Lab::start(scripted()).await.unwrap();

    let r = common::https_get(&lab, "ok.test", "/plain").await;
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));

    let r = common::https_get(&lab, "ok.test", "/teapot").await;
    r.assert(418, "content-type", "text/plain; charset=utf-8");
    assert_eq!(r.header("x-extra"), Some("1"));

    // http_page turned the default HTTPS redirect into a page on plain HTTP.
    let r = common::http_get(&lab, "ok.test", "/insecure").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "served over http");
}

#[tokio::test]
async fn hang_never_answers_while_other_requests_still_succeed() {
    let lab = Lab::start(scripted()).await.unwrap();

    let mut hung_http = tokio::spawn({
        let addr = lab.http_addr();
        async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            common::get_over(stream, "hang.test", "/").await
        }
    });
    let waited = tokio::time::timeout(Duration::from_millis(400), &mut hung_http).await;
    assert!(waited.is_err(), "plain HTTP hang answered: {waited:?}");

    // HTTPS to the same host completes the handshake and then hangs as well.
    let tls = common::tls_connect(&lab, "hang.test", common::verifying_config(&lab))
        .await
        .expect("TLS handshake completes before the hang");
    let hung_https = tokio::time::timeout(
        Duration::from_millis(400),
        common::get_over(tls, "hang.test", "/"),
    )
    .await;
    assert!(hung_https.is_err(), "HTTPS hang answered: {hung_https:?}");

    // Both hangs are still open, yet the lab keeps serving.
    let other = common::https_get(&lab, "ok.test", "/plain").await;
    assert_eq!(other.status, 200);
    let other = common::http_get(&lab, "ok.test", "/insecure").await;
    assert_eq!(other.status, 200);
    assert!(!hung_http.is_finished(), "plain HTTP hang answered late");
    assert_eq!(
        lab.requests_served(),
        2,
        "only the ok.test responses were sent"
    );
    hung_http.abort();
}

#[tokio::test]
async fn close_drops_the_connection_without_a_response() {
    let lab = Lab::start(scripted()).await.unwrap();

    let raw = common::raw_http(&lab, "GET / HTTP/1.1\r\nHost: close.test\r\n\r\n").await;
    match raw {
        Ok(bytes) => assert!(
            bytes.is_empty(),
            "got {:?}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }

    let tls = common::tls_verified(&lab, "close.test").await;
    let mut sender = common::h1_client(tls).await;
    let req = common::get_request("/", Some("close.test"));
    let result = tokio::time::timeout(common::IO_TIMEOUT, sender.send_request(req))
        .await
        .unwrap();
    assert!(result.is_err(), "close.test answered: {result:?}");
    assert_eq!(lab.requests_served(), 0);
}

#[tokio::test]
async fn http_latency_delays_every_response() {
    let latency = Duration::from_millis(300);
    let lab = Lab::start(scenarios::demo().http_latency(latency))
        .await
        .unwrap();

    let r = common::delayed_by(latency, common::http_get(&lab, "www.demo.test", "/")).await;
    assert_eq!(r.status, 301);

    let tls = common::tls_verified(&lab, "www.demo.test").await;
    let r = common::delayed_by(latency, common::get_over(tls, "nobody.test", "/")).await;
    assert_eq!(r.status, 421);
}

#[tokio::test]
async fn requests_served_counts_responses() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();
    assert_eq!(lab.requests_served(), 0);
    common::http_get(&lab, "demo.test", "/").await;
    common::https_get(&lab, "www.demo.test", "/").await;
    common::https_get(&lab, "www.demo.test", "/missing").await;
    assert_eq!(lab.requests_served(), 3);
}

#[tokio::test]
async fn invalid_sites_are_rejected_at_start() {
    let dup = Scenario::new()
        .site(Site::new("a.test"))
        .site(Site::new("A.test."));
    assert!(matches!(
        Lab::start(dup).await,
        Err(LabError::InvalidScenario(_))
    ));

    let bad_status = Scenario::new().site(Site::new("a.test").page("/", Page::html(1000, "")));
    assert!(matches!(
        Lab::start(bad_status).await,
        Err(LabError::InvalidScenario(_))
    ));

    let bad_header = Scenario::new()
        .site(Site::new("a.test").page("/", Page::html(200, "").header("bad header", "x")));
    assert!(matches!(
        Lab::start(bad_header).await,
        Err(LabError::InvalidScenario(_))
    ));
}

#[tokio::test]
async fn redirect_counter_walks_a_thousand_hops() {
    let scenario = Scenario::new().site(
        Site::new("hops.test")
            .http(Handler::redirect_counter(302, 1000))
            .https(Handler::redirect_counter(301, 1000)),
    );
    let lab = Lab::start(scenario).await.unwrap();

    // One keep-alive connection for all 1,001 requests, following each relative Location.
    let stream = tokio::net::TcpStream::connect(lab.http_addr())
        .await
        .unwrap();
    let mut sender = common::h1_client(stream).await;
    let mut path = "/".to_owned();
    let mut hops = 0u32;
    loop {
        let req = http::Request::get(path.as_str())
            .header("host", "hops.test")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap();
        if status == 200 {
            assert_eq!(location, None);
            break;
        }
        assert_eq!(status, 302, "at {path}");
        hops += 1;
        assert_eq!(location.as_deref(), Some(format!("/hop/{hops}").as_str()));
        path = location.unwrap();
        assert!(hops <= 1000, "the chain did not end");
    }
    assert_eq!(hops, 1000);
    assert_eq!(path, "/hop/1000");

    // HTTPS uses its own status; the end, beyond the end and non-canonical numbers.
    let r = common::https_get(&lab, "hops.test", "/hop/999").await;
    r.assert(301, "location", "/hop/1000");
    let r = common::https_get(&lab, "hops.test", "/hop/1000").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("1000 hops"));
    for path in ["/hop/1001", "/hop/01", "/hop/+1", "/hop/", "/other"] {
        let r = common::https_get(&lab, "hops.test", path).await;
        assert_eq!(r.status, 404, "{path}");
    }
}

/// Odd Location headers a redirect auditor must cope with reach a raw client byte for byte:
/// hyper only requires header values to be visible ASCII (or tab/space/obs-text), so even
/// values no URL parser accepts are sent as given.
#[tokio::test]
async fn odd_location_headers_arrive_unmodified() {
    let odd: [(&str, Option<&str>); 5] = [
        ("/missing", None),
        ("/javascript", Some("javascript:alert(1)")),
        ("/bracket", Some("http://[broken")),
        ("/space", Some("http://exa mple.com/")),
        ("/relative", Some("/next")),
    ];
    let mut site = Site::new("odd.test");
    for (path, location) in odd {
        let mut page = Page::new(301, "");
        if let Some(location) = location {
            page = page.header("location", location);
        }
        site = site.http_page(path, page);
    }
    let lab = Lab::start(Scenario::new().site(site)).await.unwrap();

    for (path, location) in odd {
        let stream = tokio::net::TcpStream::connect(lab.http_addr())
            .await
            .unwrap();
        let raw = common::raw_exchange(
            stream,
            &format!("GET {path} HTTP/1.1\r\nHost: odd.test\r\nConnection: close\r\n\r\n"),
        )
        .await;
        let head = common::response_head(&raw);
        assert!(
            head.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
            "{head}"
        );
        let locations: Vec<String> = common::head_headers(head)
            .into_iter()
            .filter(|(name, _)| name == "location")
            .map(|(_, value)| value)
            .collect();
        assert_eq!(
            locations,
            location.map(str::to_owned).into_iter().collect::<Vec<_>>(),
            "{path}"
        );
    }

    // Both broken absolute values really are unparseable as URIs.
    for value in ["http://[broken", "http://exa mple.com/"] {
        assert!(value.parse::<http::Uri>().is_err(), "{value}");
    }
}
