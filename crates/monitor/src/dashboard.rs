//! The dashboard: server-rendered HTML (status of every check, uptime, p50/p95, incidents, maintenance), `/metrics`
//! in Prometheus text format and `/healthz`. Off loopback it refuses to serve without a token; with a token every
//! request must carry it (`Authorization: Bearer …` or `?token=…`). It reads the store only and never shows a
//! secret: messages and contexts were redacted before they were stored.

use crate::alert::percentile;
use crate::checks::Check;
use crate::store::Store;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(
        "refusing to serve the dashboard on {0} without a token: it is not a loopback address (set --token-env or listen on 127.0.0.1)"
    )]
    NeedsToken(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug)]
struct Shared {
    store: Store,
    checks: Vec<Check>,
    maintenance: Vec<crate::alert::Maintenance>,
    token: Option<String>,
}

/// One check's figures over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub samples: usize,
    pub uptime: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
}

pub fn figures(window: &[(bool, f64)]) -> Figures {
    let ok: Vec<f64> = window
        .iter()
        .filter(|(ok, _)| *ok)
        .map(|(_, d)| *d)
        .collect();
    Figures {
        samples: window.len(),
        uptime: (!window.is_empty()).then(|| 100.0 * ok.len() as f64 / window.len() as f64),
        p50: percentile(&ok, 50.0),
        p95: percentile(&ok, 95.0),
    }
}

/// Refuses a non-loopback address without a token.
pub fn check_listen(addr: SocketAddr, token: Option<&str>) -> Result<(), DashboardError> {
    if !addr.ip().is_loopback() && token.is_none_or(str::is_empty) {
        return Err(DashboardError::NeedsToken(addr));
    }
    Ok(())
}

pub fn router(
    store: Store,
    checks: Vec<Check>,
    maintenance: Vec<crate::alert::Maintenance>,
    token: Option<String>,
) -> Router {
    let shared = Arc::new(Shared {
        store,
        checks,
        maintenance,
        token,
    });
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(shared)
}

pub use axum::Router;

/// Serves on a bound listener until the process ends.
pub async fn serve_on(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// Serves until `stop` resolves.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), DashboardError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DashboardError::Bind { addr, source })?;
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|source| DashboardError::Bind { addr, source })
}

fn authorized(shared: &Shared, headers: &HeaderMap, query: &HashMap<String, String>) -> bool {
    let Some(token) = shared.token.as_deref().filter(|t| !t.is_empty()) else {
        return true;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer == Some(token) || query.get("token").map(String::as_str) == Some(token)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_opt(value: Option<f64>, unit: &str) -> String {
    value.map_or("–".to_string(), |v| format!("{v:.1}{unit}"))
}

async fn index(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers, &query) {
        return (StatusCode::UNAUTHORIZED, "token required\n").into_response();
    }
    let now = crate::now_ms();
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>launchready monitor</title>\
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}\
.up{color:#17803d}.down{color:#b42318}.muted{color:#667}</style></head><body><h1>launchready monitor</h1>",
    );
    let active: Vec<_> = shared
        .maintenance
        .iter()
        .filter(|m| (m.start_ms..m.end_ms).contains(&now))
        .collect();
    for m in active {
        let _ = write!(
            html,
            "<p class=\"muted\">Maintenance until {}: {} (alerts silenced)</p>",
            crate::format_ms(m.end_ms),
            escape(&m.reason)
        );
    }
    html.push_str("<table><tr><th>Check</th><th>Status</th><th>Target</th><th>Uptime 24h</th><th>p50 24h</th><th>p95 24h</th><th>Last error</th></tr>");
    for check in &shared.checks {
        let last = shared
            .store
            .results(&check.id, i64::MAX, 1)
            .await
            .ok()
            .and_then(|mut r| r.pop());
        let window = shared
            .store
            .window(&check.id, now - 86_400_000)
            .await
            .unwrap_or_default();
        let f = figures(&window);
        let (class, status) = match &last {
            Some(r) if r.ok => ("up", "up"),
            Some(_) => ("down", "DOWN"),
            None => ("muted", "no data"),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"{class}\">{status}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&check.id),
            escape(&check.target()),
            fmt_opt(f.uptime, " %"),
            fmt_opt(f.p50, " ms"),
            fmt_opt(f.p95, " ms"),
            escape(last.as_ref().and_then(|r| r.error.as_deref()).unwrap_or(""))
        );
    }
    html.push_str("</table><h2>Incidents</h2><ul>");
    for incident in shared.store.incidents(50).await.unwrap_or_default() {
        let state = match incident.resolved_ms {
            Some(at) => format!("resolved {}", crate::format_ms(at)),
            None => "open".to_string(),
        };
        let _ = write!(
            html,
            "<li><b>{}</b> on {} since {} — {state}<pre>{}</pre></li>",
            escape(&incident.rule),
            escape(&incident.check),
            crate::format_ms(incident.since_ms),
            escape(&incident.summary)
        );
    }
    html.push_str("</ul></body></html>");
    Html(html).into_response()
}

async fn metrics(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers, &query) {
        return (StatusCode::UNAUTHORIZED, "token required\n").into_response();
    }
    let mut out = String::from(
        "# HELP launchready_check_up Whether the check's last result was up.\n# TYPE launchready_check_up gauge\n",
    );
    let mut latency = String::from(
        "# HELP launchready_check_duration_ms The check's last duration in milliseconds.\n# TYPE launchready_check_duration_ms gauge\n",
    );
    for check in &shared.checks {
        if let Some(last) = shared
            .store
            .results(&check.id, i64::MAX, 1)
            .await
            .ok()
            .and_then(|mut r| r.pop())
        {
            let label = check.id.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "launchready_check_up{{check=\"{label}\"}} {}",
                u8::from(last.ok)
            );
            let _ = writeln!(
                latency,
                "launchready_check_duration_ms{{check=\"{label}\"}} {}",
                last.duration_ms
            );
        }
    }
    let open = shared
        .store
        .incidents(10_000)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|i| i.resolved_ms.is_none())
        .count();
    let _ = write!(
        out,
        "{latency}# HELP launchready_open_incidents Incidents not resolved.\n# TYPE launchready_open_incidents gauge\nlaunchready_open_incidents {open}\n"
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_loopback_needs_a_token() {
        let open: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(check_listen(open, None).is_err());
        assert!(check_listen(open, Some("")).is_err());
        assert!(check_listen(open, Some("t0ken")).is_ok());
        assert!(check_listen(local, None).is_ok());
        assert!(check_listen("[::1]:8080".parse().unwrap(), None).is_ok());
    }

    #[test]
    fn figures_count_failures_against_uptime_and_only_successes_for_latency() {
        let window = [
            (true, 100.0),
            (true, 300.0),
            (false, 9_000.0),
            (true, 200.0),
        ];
        let f = figures(&window);
        assert_eq!(f.samples, 4);
        assert_eq!(f.uptime, Some(75.0));
        assert_eq!(f.p50, Some(200.0));
        assert_eq!(f.p95, Some(300.0));
        assert_eq!(figures(&[]).uptime, None);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<b>\"x\" & y</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"
        );
    }
}
