//! The dashboard: server-rendered HTML with inline SVG and no script — every check's status, uptime and latency
//! (`/`), a page per check with p50/p95 charts over 1 h, 24 h and 7 d, its recent failures and incidents
//! (`/check/{id}`), open and past incidents on a timeline (`/incidents`), the incident note (`/note`), status
//! badges (`/badge/{check}.svg`), `/metrics` in Prometheus text format and `/healthz`.
//!
//! Off loopback it refuses to serve without a token; with a token every request but `/healthz` must carry it
//! (`Authorization: Bearer …`, `?token=…`, or the cookie a `?token=` visit sets, so links need not repeat it).
//! It reads the store only and never shows a secret: messages and contexts were masked before they were stored,
//! URLs lose their credentials and query values, and the token and the channels' secret variables' values are
//! cut from every response as a last guard.

mod chart;
mod pages;
mod rollup;

pub use chart::{FAILED, P50, P95};

use crate::alert::percentile;
use crate::badge::{self, Status};
use crate::checks::Check;
use crate::config::{ChannelKind, MonitorConfig};
use crate::store::Store;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub use axum::Router;

/// The cookie a `?token=` visit sets.
const COOKIE: &str = "launchready_token";
/// Notices read for incident timelines: the latest ones, enough for the incidents a page lists.
const NOTICES: i64 = 2_000;
/// What replaces a secret value that made it into a page.
const HIDDEN: &str = "[hidden]";

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

/// What the incident note page is written from.
#[derive(Debug, Clone)]
pub struct NoteContext {
    pub site: String,
    pub config: MonitorConfig,
    pub rollback: Option<String>,
}

/// A dashboard to serve: the store and the checks, plus what is optional.
#[derive(Debug)]
pub struct Dashboard {
    store: Store,
    checks: Vec<Check>,
    maintenance: Vec<crate::alert::Maintenance>,
    token: Option<String>,
    note: Option<NoteContext>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    checks: Vec<Check>,
    by_id: HashMap<String, usize>,
    maintenance: Vec<crate::alert::Maintenance>,
    token_hash: Option<[u8; 32]>,
    note: Option<NoteContext>,
    /// Values that must never appear in a response.
    secrets: Vec<String>,
    rollup: tokio::sync::Mutex<rollup::Rollup>,
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

/// The dashboard with no incident note context (the note page then says how to get one).
pub fn router(
    store: Store,
    checks: Vec<Check>,
    maintenance: Vec<crate::alert::Maintenance>,
    token: Option<String>,
) -> Router {
    Dashboard::new(store, checks)
        .maintenance(maintenance)
        .token(token)
        .router()
}

/// The environment variables a configuration keeps channel secrets in.
fn secret_variables(config: &MonitorConfig) -> Vec<&str> {
    let mut names = Vec::new();
    for channel in &config.channels {
        match &channel.kind {
            ChannelKind::Webhook { secret_env, .. } => names.extend(secret_env.as_deref()),
            ChannelKind::Slack { url_env } | ChannelKind::Discord { url_env } => {
                names.push(url_env)
            }
            ChannelKind::Ntfy { token_env, .. } => names.extend(token_env.as_deref()),
            ChannelKind::PagerDuty {
                routing_key_env, ..
            } => names.push(routing_key_env),
            ChannelKind::Email { password_env, .. } => names.extend(password_env.as_deref()),
            ChannelKind::Log | ChannelKind::Alertmanager { .. } => {}
        }
    }
    names
}

impl Dashboard {
    pub fn new(store: Store, checks: Vec<Check>) -> Dashboard {
        Dashboard {
            store,
            checks,
            maintenance: Vec::new(),
            token: None,
            note: None,
        }
    }

    pub fn maintenance(mut self, maintenance: Vec<crate::alert::Maintenance>) -> Dashboard {
        self.maintenance = maintenance;
        self
    }

    /// Every request but `/healthz` must carry this token; `None` or empty serves openly (loopback only).
    pub fn token(mut self, token: Option<String>) -> Dashboard {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// Serves `/note` from the manifest's facts; the channels' secret variables are read now so their values
    /// can be kept out of every page.
    pub fn note(mut self, note: NoteContext) -> Dashboard {
        self.note = Some(note);
        self
    }

    pub fn router(self) -> Router {
        let mut secrets: Vec<String> = self.token.iter().cloned().collect();
        if let Some(note) = &self.note {
            secrets.extend(
                secret_variables(&note.config)
                    .into_iter()
                    .filter_map(|name| std::env::var(name).ok()),
            );
        }
        // Very short values would mask ordinary words; such a secret is no secret anyway.
        secrets.retain(|s| s.len() >= 6);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let shared = Arc::new(Shared {
            by_id: self
                .checks
                .iter()
                .enumerate()
                .map(|(n, c)| (c.id.clone(), n))
                .collect(),
            store: self.store,
            checks: self.checks,
            maintenance: self.maintenance,
            token_hash: self.token.as_deref().map(hash),
            note: self.note,
            secrets,
            rollup: Default::default(),
        });
        // The first build reads a day of results; start it now rather than on the first visit. A failure here
        // is reported by the first page that retries it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = shared.clone();
            runtime.spawn(async move {
                let mut rollup = shared.rollup.lock().await;
                let _ = rollup.refresh(&shared.store, crate::now_ms()).await;
            });
        }
        Router::new()
            .route("/", get(index))
            .route("/check/{id}", get(check_page))
            .route("/incidents", get(incidents))
            .route("/note", get(note))
            .route("/badge/{file}", get(badge_svg))
            .route("/metrics", get(metrics))
            .layer(middleware::from_fn_with_state(shared.clone(), guard))
            .route("/healthz", get(|| async { "ok\n" }))
            .with_state(shared)
    }
}

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

fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// How a request proved it may see the dashboard.
#[derive(Debug, PartialEq)]
enum Access {
    Open,
    Header,
    Query,
    Denied,
}

fn access(token_hash: Option<&[u8; 32]>, headers: &HeaderMap, query: Option<&str>) -> Access {
    let Some(expected) = token_hash else {
        return Access::Open;
    };
    // Digests are compared, so how long a comparison takes says nothing about the token.
    let matches = |candidate: &str| hash(candidate) == *expected;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .any(matches);
    if bearer.is_some_and(matches) || cookie {
        return Access::Header;
    }
    let query = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(key, value)| key == "token" && matches(&value));
    if query { Access::Query } else { Access::Denied }
}

/// Authentication and the headers every page gets.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let access = access(
        shared.token_hash.as_ref(),
        request.headers(),
        request.uri().query(),
    );
    if access == Access::Denied {
        let mut response = (StatusCode::UNAUTHORIZED, "token required\n").into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"launchready monitor\""),
        );
        return response;
    }
    let token = (access == Access::Query)
        .then(|| {
            url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .find(|(key, _)| key == "token")
                .map(|(_, value)| value.into_owned())
        })
        .flatten();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A `?token=` in the address must not travel on in a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'",
        ),
    );
    if let Some(token) = token {
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        if let Ok(value) = HeaderValue::from_str(&format!(
            "{COOKIE}={encoded}; Path=/; HttpOnly; SameSite=Strict"
        )) {
            headers.insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// Cuts every secret value out of a response body.
fn scrub(shared: &Shared, mut body: String) -> String {
    for secret in &shared.secrets {
        if body.contains(secret.as_str()) {
            body = body.replace(secret.as_str(), HIDDEN);
        }
    }
    body
}

fn respond(
    shared: &Shared,
    status: StatusCode,
    kind: &'static str,
    cache: &'static str,
    body: String,
) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)],
        scrub(shared, body),
    )
        .into_response()
}

const HTML: &str = "text/html; charset=utf-8";
/// Pages show live state, perhaps behind a token: never stored by a browser or a proxy.
const NO_STORE: &str = "no-store";

fn html(shared: &Shared, status: StatusCode, body: String) -> Response {
    respond(shared, status, HTML, NO_STORE, body)
}

fn failed(shared: &Shared, error: &crate::store::StoreError) -> Response {
    html(
        shared,
        StatusCode::SERVICE_UNAVAILABLE,
        pages::error_page(&format!("The monitor database could not be read: {error}")),
    )
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A check's status, as the main page and the badge show it.
fn status_of(row: &rollup::Row, incident_open: bool) -> Status {
    match &row.last {
        None => Status::Unknown,
        Some(last) if !last.ok => Status::Down,
        Some(_) if incident_open || row.uptime_24h.is_some_and(|u| u < 99.0) => Status::Degraded,
        Some(_) => Status::Up,
    }
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let now = crate::now_ms();
    let open = match shared.store.open_incidents().await {
        Ok(open) => open,
        Err(e) => return failed(&shared, &e),
    };
    let rows = {
        let mut rollup = shared.rollup.lock().await;
        if let Err(e) = rollup.refresh(&shared.store, now).await {
            return failed(&shared, &e);
        }
        shared
            .checks
            .iter()
            .map(|check| {
                let row = rollup.row(&check.id);
                let status = status_of(&row, open.iter().any(|i| i.check == check.id));
                (check, row, status)
            })
            .collect::<Vec<_>>()
    };
    let page = pages::index(&rows, &open, &shared.maintenance, now);
    html(&shared, StatusCode::OK, page)
}

/// A planned check by id, or a journey's step (`flow:NAME#STEP`), shown as a check of its own under its journey.
fn resolve(shared: &Shared, id: &str) -> Option<Check> {
    if let Some(n) = shared.by_id.get(id) {
        return Some(shared.checks[*n].clone());
    }
    let (journey, _) = id.split_once(crate::checks::STEP_SEPARATOR)?;
    let journey = &shared.checks[*shared.by_id.get(journey)?];
    matches!(journey.kind, crate::checks::CheckKind::Flow { .. }).then(|| Check {
        id: id.to_string(),
        kind: journey.kind.clone(),
        critical: journey.critical,
        parents: vec![journey.id.clone()],
    })
}

/// The steps the configuration knows for journey `id`.
fn steps_of<'a>(shared: &'a Shared, id: &str) -> Vec<&'a crate::checks::Step> {
    let prefix = format!("{id}{}", crate::checks::STEP_SEPARATOR);
    shared
        .note
        .iter()
        .flat_map(|note| &note.config.steps)
        .filter(|step| step.id.starts_with(&prefix))
        .collect()
}

async fn check_page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Some(check) = resolve(&shared, &id) else {
        return html(
            &shared,
            StatusCode::NOT_FOUND,
            pages::error_page(&format!("No check is called {id}.")),
        );
    };
    let now = crate::now_ms();
    // The three spans, the failures and the incidents are independent reads: run them side by side on the pool.
    let id = check.id.as_str();
    let span = |n: usize| {
        let span = crate::series::SPANS[n];
        let store = &shared.store;
        async move {
            store
                .buckets(id, now - span.window_ms, now + 1, span.bucket_ms)
                .await
                .map(|buckets| (span, buckets))
        }
    };
    let week = crate::series::SPANS[2].window_ms;
    let (hour, day, seven, failures, incidents) = tokio::join!(
        span(0),
        span(1),
        span(2),
        shared.store.failures(&check.id, now - week, 20),
        async {
            let incidents = shared.store.incidents(500).await?;
            let notices = shared.store.notices(NOTICES).await?;
            Ok::<_, crate::store::StoreError>((incidents, notices))
        }
    );
    let (charts, failures, (incidents, notices)) = match (hour, day, seven, failures, incidents) {
        (Ok(h), Ok(d), Ok(w), Ok(f), Ok(i)) => (vec![h, d, w], f, i),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), ..) | (.., Err(e), _) | (.., Err(e)) => {
            return failed(&shared, &e);
        }
    };
    let incidents: Vec<_> = incidents
        .into_iter()
        .filter(|i| i.check == check.id)
        .collect();
    let steps = steps_of(&shared, &check.id);
    let view = pages::CheckView {
        check: &check,
        steps: &steps,
        charts: &charts,
        failures: &failures,
        incidents: &incidents,
        notices: &notices,
    };
    let page = pages::check(&view, &shared.maintenance, now);
    html(&shared, StatusCode::OK, page)
}

async fn incidents(State(shared): State<Arc<Shared>>) -> Response {
    let now = crate::now_ms();
    match tokio::try_join!(shared.store.incidents(500), shared.store.notices(NOTICES)) {
        Ok((all, notices)) => {
            let page = pages::incidents(&all, &notices, &shared.maintenance, now);
            html(&shared, StatusCode::OK, page)
        }
        Err(e) => failed(&shared, &e),
    }
}

async fn note(State(shared): State<Arc<Shared>>) -> Response {
    let Some(context) = &shared.note else {
        return html(
            &shared,
            StatusCode::OK,
            pages::error_page(
                "This dashboard was started without the manifest's incident note; `launchready incident-note` prints it.",
            ),
        );
    };
    let open = match shared.store.open_incidents().await {
        Ok(open) => open,
        Err(e) => return failed(&shared, &e),
    };
    let markdown = crate::note::incident_note(
        &context.site,
        &shared.checks,
        &context.config,
        &open,
        context.rollback.as_deref(),
    );
    html(&shared, StatusCode::OK, pages::note(&markdown))
}

async fn badge_svg(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".svg") else {
        return (StatusCode::NOT_FOUND, "badges end in .svg\n").into_response();
    };
    if resolve(&shared, id).is_none() {
        return (StatusCode::NOT_FOUND, "no such check\n").into_response();
    }
    let now = crate::now_ms();
    let open = match shared.store.open_incidents().await {
        Ok(open) => open.iter().any(|i| i.check == id),
        Err(e) => return failed(&shared, &e),
    };
    let row = {
        let mut rollup = shared.rollup.lock().await;
        if let Err(e) = rollup.refresh(&shared.store, now).await {
            return failed(&shared, &e);
        }
        rollup.row(id)
    };
    let status = status_of(&row, open);
    let svg = badge::svg(id, &badge::message(status, row.uptime_24h), status.colour());
    // Short-lived so a README shows a recent state; private when a token guards it.
    let cache = if shared.token_hash.is_some() {
        "private, max-age=30"
    } else {
        "public, max-age=30"
    };
    respond(
        &shared,
        StatusCode::OK,
        "image/svg+xml; charset=utf-8",
        cache,
        svg,
    )
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let now = crate::now_ms();
    let open = match shared.store.open_incidents().await {
        Ok(open) => open.len(),
        Err(e) => return failed(&shared, &e),
    };
    let text = {
        let mut rollup = shared.rollup.lock().await;
        if let Err(e) = rollup.refresh(&shared.store, now).await {
            return failed(&shared, &e);
        }
        pages::metrics(shared.checks.iter().map(|c| (c, rollup.row(&c.id))), open)
    };
    respond(
        &shared,
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        NO_STORE,
        text,
    )
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

    #[test]
    fn a_token_arrives_by_header_cookie_or_query() {
        let expected = hash("s3cret-token");
        let mut headers = HeaderMap::new();
        assert_eq!(access(None, &headers, None), Access::Open);
        assert_eq!(access(Some(&expected), &headers, None), Access::Denied);
        assert_eq!(
            access(Some(&expected), &headers, Some("token=s3cret-token")),
            Access::Query
        );
        assert_eq!(
            access(Some(&expected), &headers, Some("token=wrong")),
            Access::Denied
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; launchready_token=s3cret-token"),
        );
        assert_eq!(access(Some(&expected), &headers, None), Access::Header);
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret-token"),
        );
        assert_eq!(access(Some(&expected), &bearer, None), Access::Header);
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret-tokeN"),
        );
        assert_eq!(access(Some(&expected), &bearer, None), Access::Denied);
    }

    #[test]
    fn degraded_means_up_now_but_not_well() {
        let row = |ok: bool, uptime: f64| rollup::Row {
            last: Some(rollup::Last {
                id: 1,
                at_ms: 0,
                ok,
                status: None,
                duration_ms: 1.0,
                error: None,
            }),
            samples_24h: 10,
            uptime_24h: Some(uptime),
            p50_1h: None,
            p95_1h: None,
        };
        assert_eq!(status_of(&row(true, 100.0), false), Status::Up);
        assert_eq!(status_of(&row(true, 100.0), true), Status::Degraded);
        assert_eq!(status_of(&row(true, 98.0), false), Status::Degraded);
        assert_eq!(status_of(&row(false, 100.0), false), Status::Down);
    }
}
