//! The lab's membership app: a small but real web app for flows and smoke tests to walk through. Landing page,
//! signup with a CSRF token and password rules, a confirmation email with a one-time link, login with a session
//! cookie (HttpOnly, Secure, SameSite=Lax), a member area behind it, logout, password reset by a single-use,
//! expiring email link, checkout against a fake payment provider that confirms by a signed webhook
//! (`/webhooks/payments`), `/healthz` and `/version`. Mail goes over SMTP to the configured server.
//!
//! It serves HTTPS on its own loopback port with a certificate from its own lab CA; clients reach it as
//! `https://HOST` through [`MemberApp::connect_to_args`] and [`MemberApp::ca_file`], exactly as they reach the
//! other lab sites. A [`Mode`] breaks it on purpose (checkout 500, slow login, broken reset link, expired
//! sessions), at start or while it runs.

mod pages;
mod payments;
mod store;

pub use payments::{DECLINED_CARD, SIGNATURE_HEADER, sign as sign_webhook};

use crate::pki::LabCa;
use crate::scenario::CertSpec;
use crate::{LabError, serve};
use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use pages::{escape, page};
use payments::Provider;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use store::{Db, Member, Order, OrderStatus, TokenError, TokenKind};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The host name the app answers for unless configured otherwise.
pub const DEFAULT_APP_HOST: &str = "app.example.test";
/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;
/// How long sending one email may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Ways to break the app on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Healthy,
    /// `POST /checkout` answers 500.
    CheckoutError,
    /// `POST /login` waits this long before answering.
    SlowLogin(Duration),
    /// Reset emails carry a link whose token is cut short, so it leads nowhere.
    BrokenResetLink,
    /// Sessions expire the moment they are opened: every member page sends the member back to login.
    ExpiredSession,
}

/// How the app is set up.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The name the app is served as (and that its emails link to).
    pub host: String,
    /// Where outgoing mail goes (plain SMTP, as to a local relay or a test sink).
    pub smtp: SocketAddr,
    /// The sender of the app's emails.
    pub mail_from: String,
    /// What `/version` reports.
    pub version: String,
    /// The secret shared with the payment provider for webhook signatures.
    pub webhook_secret: String,
    pub mode: Mode,
    pub session_ttl: Duration,
    pub confirm_ttl: Duration,
    pub reset_ttl: Duration,
}

impl AppConfig {
    pub fn new(smtp: SocketAddr) -> AppConfig {
        AppConfig {
            host: DEFAULT_APP_HOST.to_string(),
            smtp,
            mail_from: format!("Launch Lab <noreply@{DEFAULT_APP_HOST}>"),
            version: "1.0.0".to_string(),
            webhook_secret: store::random_hex(24),
            mode: Mode::Healthy,
            session_ttl: Duration::from_secs(3600),
            confirm_ttl: Duration::from_secs(24 * 3600),
            reset_ttl: Duration::from_secs(30 * 60),
        }
    }

    pub fn mode(mut self, mode: Mode) -> AppConfig {
        self.mode = mode;
        self
    }
}

/// Plans and their prices, in cents.
const PLANS: &[(&str, &str, u64)] = &[("monthly", "Monthly", 1900), ("yearly", "Yearly", 19000)];

struct State {
    config: AppConfig,
    mode: Mutex<Mode>,
    db: Mutex<Db>,
    /// Signs CSRF tokens; never leaves the process.
    csrf_key: Vec<u8>,
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    provider: Provider,
}

impl State {
    fn db(&self) -> MutexGuard<'_, Db> {
        // Every critical section leaves the Db consistent, so a poisoned lock is still usable.
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base_url(&self) -> String {
        format!("https://{}", self.config.host)
    }
}

/// A running app. It stops when dropped.
pub struct MemberApp {
    addr: SocketAddr,
    state: Arc<State>,
    ca_pem: String,
    ca_file: std::path::PathBuf,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for MemberApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberApp")
            .field("host", &self.state.config.host)
            .field("addr", &self.addr)
            .field("mode", &self.state.mode())
            .finish_non_exhaustive()
    }
}

impl Drop for MemberApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MemberApp {
    /// Starts the app on a free loopback port. Must be called inside a tokio runtime.
    pub async fn start(config: AppConfig) -> Result<MemberApp, LabError> {
        let ca = LabCa::new()?;
        let key = ca.certified_key(&config.host, &CertSpec::Valid)?;
        let tls = ca.server_config(HashMap::from([(config.host.clone(), key)]))?;
        let (dir, ca_file) = serve::ca_dir("launchready-app-", &ca.root_pem)?;
        let (listener, addr) = serve::bind_loopback("binding app listener").await?;
        let mailer =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.smtp.ip().to_string())
                .port(config.smtp.port())
                .timeout(Some(SMTP_TIMEOUT))
                .build();
        let provider = Provider::new(
            config.webhook_secret.clone().into_bytes(),
            config.host.clone(),
            addr,
            ca.root_der.clone(),
        )?;
        let state = Arc::new(State {
            mode: Mutex::new(config.mode),
            config,
            db: Mutex::new(Db::default()),
            csrf_key: store::random_hex(32).into_bytes(),
            mailer,
            provider,
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let task = tokio::spawn(serve(listener, acceptor, state.clone()));
        Ok(MemberApp {
            addr,
            state,
            ca_pem: ca.root_pem.clone(),
            ca_file,
            task,
            _dir: dir,
        })
    }

    /// The HTTPS listener.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn host(&self) -> &str {
        &self.state.config.host
    }

    /// `https://HOST`, what flows take as `base_url`.
    pub fn base_url(&self) -> String {
        self.state.base_url()
    }

    /// The `--connect-to` rule that sends the app's host on port 443 to the app.
    pub fn connect_to_args(&self) -> Vec<String> {
        vec![format!(
            "{}:443:{}:{}",
            self.state.config.host,
            self.addr.ip(),
            self.addr.port()
        )]
    }

    /// An A record sending the app's host to loopback, for a scenario zone that should resolve it (the
    /// connect-to rule still decides the port; put [`MemberApp::connect_to_args`] before the lab's, whose
    /// catch-all `:443` rule would otherwise win).
    pub fn dns_record(&self) -> crate::Record {
        crate::Record::new(
            self.state.config.host.clone(),
            crate::DEFAULT_TTL,
            crate::RecordData::A(Ipv4Addr::LOCALHOST),
        )
    }

    /// The app's root CA, PEM, for `--ca-file`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn webhook_secret(&self) -> &str {
        &self.state.config.webhook_secret
    }

    pub fn mode(&self) -> Mode {
        self.state.mode()
    }

    /// Breaks (or mends) the app while it runs.
    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Adds a confirmed member directly, for flows that start from an existing account. False when the
    /// address is taken.
    pub fn add_member(&self, email: &str, password: &str) -> bool {
        let mut member = Member::new(email, password);
        member.confirmed = true;
        self.state.db().add_member(member)
    }
}

/// The page after a form that sent the visitor an email.
fn check_email(message: &str) -> Reply {
    let title = "Check your email";
    html(
        StatusCode::OK,
        page(title, &format!("<h1>{title}</h1><p>{message}</p>")),
    )
}

async fn serve(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, state: Arc<State>) {
    serve::accept_each(listener, move |stream| {
        let acceptor = acceptor.clone();
        let state = state.clone();
        async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
            else {
                return;
            };
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, request).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        }
    })
    .await
}

type Reply = Response<Full<Bytes>>;

/// A request, read whole.
struct Req {
    method: Method,
    path: String,
    query: HashMap<String, String>,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Req {
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    }

    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
}

async fn handle(state: &State, request: http::Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n"),
    };
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query,
        headers: parts.headers,
        body,
    };
    route(state, &req).await
}

async fn route(state: &State, req: &Req) -> Reply {
    let path = req.path.as_str();
    match (&req.method, path) {
        (&Method::GET | &Method::HEAD, "/") => landing(state, req),
        (&Method::GET | &Method::HEAD, "/healthz") => json(StatusCode::OK, r#"{"status":"ok"}"#),
        (&Method::GET | &Method::HEAD, "/version") => json(
            StatusCode::OK,
            &serde_json::json!({ "version": state.config.version }).to_string(),
        ),
        (&Method::GET, "/signup") => signup_form(state, req, &[], ""),
        (&Method::POST, "/signup") => signup(state, req).await,
        (&Method::GET, "/signup/check-email") => {
            check_email("We sent you a link to confirm your address.")
        }
        (&Method::GET, "/login") => login_form(state, req, StatusCode::OK, ""),
        (&Method::POST, "/login") => login(state, req).await,
        (&Method::GET, "/logout") => logout_form(state, req),
        (&Method::POST, "/logout") => logout(state, req),
        (&Method::GET, "/members") => members(state, req),
        (&Method::GET, "/password/reset") => reset_request_form(state, req),
        (&Method::POST, "/password/reset") => reset_request(state, req).await,
        (&Method::GET, "/password/reset/sent") => {
            check_email("If that address has an account, a reset link is on its way.")
        }
        (&Method::GET, "/checkout") => checkout_form(state, req),
        (&Method::POST, "/checkout") => checkout(state, req).await,
        (&Method::GET, "/checkout/confirmed") => checkout_confirmed(state, req),
        (&Method::POST, "/webhooks/payments") => webhook(state, req),
        (_, "/webhooks/payments") => {
            let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "POST only\n");
            set_header(&mut reply, header::ALLOW, "POST");
            reply
        }
        (&Method::GET, p) if p.starts_with("/confirm/") => confirm(state, req, &p[9..]),
        (&Method::GET, p) if p.starts_with("/password/reset/") => reset_form(state, req, &p[16..]),
        (&Method::POST, p) if p.starts_with("/password/reset/") => reset(state, req, &p[16..]),
        _ => html(
            StatusCode::NOT_FOUND,
            page(
                "Not found",
                "<h1>Not found</h1><p><a href=\"/\">Home</a></p>",
            ),
        ),
    }
}

// ---- responses ----

fn response(status: StatusCode, content_type: &str, body: String) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    set_header(&mut reply, header::CONTENT_TYPE, content_type);
    set_header(&mut reply, header::CACHE_CONTROL, "no-store");
    reply
}

fn html(status: StatusCode, body: String) -> Reply {
    let mut reply = response(status, "text/html; charset=utf-8", body);
    set_header(
        &mut reply,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000",
    );
    set_header(&mut reply, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_header(&mut reply, header::X_FRAME_OPTIONS, "DENY");
    set_header(
        &mut reply,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; frame-ancestors 'none'",
    );
    reply
}

fn text(status: StatusCode, body: &str) -> Reply {
    response(status, "text/plain; charset=utf-8", body.to_string())
}

fn json(status: StatusCode, body: &str) -> Reply {
    response(status, "application/json", body.to_string())
}

fn redirect(status: StatusCode, location: &str) -> Reply {
    let mut reply = text(status, "");
    set_header(&mut reply, header::LOCATION, location);
    reply
}

fn set_header(reply: &mut Reply, name: header::HeaderName, value: &str) {
    if let Ok(value) = http::HeaderValue::from_str(value) {
        reply.headers_mut().insert(name, value);
    }
}

fn add_cookie(reply: &mut Reply, cookie: String) {
    if let Ok(value) = http::HeaderValue::from_str(&cookie) {
        reply.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn session_cookie(id: &str, ttl: Duration) -> String {
    format!(
        "session={id}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
        ttl.as_secs()
    )
}

// ---- CSRF: a signed double-submit token, the same value in a cookie and in the form ----

fn csrf_token(state: &State, req: &Req) -> (String, bool) {
    if let Some(existing) = req.cookie("csrf").filter(|t| csrf_valid(state, t)) {
        return (existing, false);
    }
    let nonce = store::random_hex(16);
    let sig = store::hmac_hex(&state.csrf_key, nonce.as_bytes());
    (format!("{nonce}.{sig}"), true)
}

fn csrf_valid(state: &State, token: &str) -> bool {
    token
        .split_once('.')
        .is_some_and(|(nonce, sig)| store::hmac_verify(&state.csrf_key, nonce.as_bytes(), sig))
}

/// A form page: sets the CSRF cookie when the visitor has none.
fn form_page(
    state: &State,
    req: &Req,
    status: StatusCode,
    render: impl FnOnce(&str) -> String,
) -> Reply {
    let (token, fresh) = csrf_token(state, req);
    let mut reply = html(status, render(&token));
    if fresh {
        add_cookie(
            &mut reply,
            format!("csrf={token}; Path=/; HttpOnly; Secure; SameSite=Lax"),
        );
    }
    reply
}

/// The form's token must be the cookie's and carry the app's signature.
fn csrf_ok(state: &State, req: &Req, form: &HashMap<String, String>) -> bool {
    match (form.get("csrf_token"), req.cookie("csrf")) {
        (Some(form), Some(cookie)) => form == &cookie && csrf_valid(state, form),
        _ => false,
    }
}

fn csrf_refused() -> Reply {
    html(
        StatusCode::FORBIDDEN,
        page(
            "Forbidden",
            "<h1>Forbidden</h1><p>The form expired or did not come from this site. Go back and try again.</p>",
        ),
    )
}

fn member(state: &State, req: &Req) -> Option<String> {
    let id = req.cookie("session")?;
    state.db().session(&id)
}

fn to_login(path: &str) -> Reply {
    redirect(StatusCode::FOUND, &format!("/login?next={path}"))
}

// ---- pages ----

fn landing(state: &State, req: &Req) -> Reply {
    let who = member(state, req);
    let nav = match &who {
        Some(email) => format!(
            "<p>Signed in as {}. <a href=\"/members\">Member area</a> · <a href=\"/logout\">Log out</a></p>",
            escape(email)
        ),
        None => {
            "<p><a href=\"/signup\">Join now</a> · <a href=\"/login\">Log in</a></p>".to_string()
        }
    };
    html(
        StatusCode::OK,
        page(
            "Launch Lab",
            &format!(
                "<h1>Launch Lab membership</h1><p>Weekly workshops for founders. Plans from $19 a month.</p>{nav}"
            ),
        ),
    )
}

fn signup_form(state: &State, req: &Req, errors: &[String], email: &str) -> Reply {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    form_page(state, req, status, |token| {
        page(
            "Sign up",
            &format!(
                "<h1>Sign up</h1>{}<form method=\"post\" action=\"/signup\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\
<label>Email <input type=\"email\" name=\"email\" value=\"{}\" required></label>\
<label>Password <input type=\"password\" name=\"password\" minlength=\"{MIN_PASSWORD_LEN}\" required></label>\
<p>At least {MIN_PASSWORD_LEN} characters, with an upper-case letter, a lower-case letter and a digit.</p>\
<button type=\"submit\">Create account</button></form>\
<p>Already a member? <a href=\"/login\">Log in</a></p>",
                pages::errors(errors),
                escape(email)
            ),
        )
    })
}

/// The password rules; each broken rule is one message.
pub fn password_problems(password: &str, email: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_PASSWORD_LEN {
        problems.push(format!(
            "The password must be at least {MIN_PASSWORD_LEN} characters long."
        ));
    }
    if !password.chars().any(|c| c.is_uppercase()) {
        problems.push("The password needs an upper-case letter.".to_string());
    }
    if !password.chars().any(|c| c.is_lowercase()) {
        problems.push("The password needs a lower-case letter.".to_string());
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        problems.push("The password needs a digit.".to_string());
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && password.to_lowercase().contains(&local) {
        problems.push("The password must not contain your email address.".to_string());
    }
    problems
}

async fn signup(state: &State, req: &Req) -> Reply {
    let form = req.form();
    if !csrf_ok(state, req, &form) {
        return csrf_refused();
    }
    let email = form
        .get("email")
        .map(|e| e.trim())
        .unwrap_or_default()
        .to_string();
    let password = form.get("password").cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let address = email.parse::<lettre::Address>();
    if address.is_err() {
        errors.push("Enter a valid email address.".to_string());
    }
    errors.extend(password_problems(&password, &email));
    // Hashing is slow on purpose: done before taking the lock.
    let member = errors.is_empty().then(|| Member::new(&email, &password));
    if member.is_some_and(|m| !state.db().add_member(m)) {
        errors.push(
            "That address already has an account. Log in or reset your password.".to_string(),
        );
    }
    if !errors.is_empty() {
        return signup_form(state, req, &errors, &email);
    }
    let token = state
        .db()
        .issue_token(TokenKind::Confirm, &email, state.config.confirm_ttl);
    let link = format!("{}/confirm/{token}", state.base_url());
    let body = format!(
        "Welcome to Launch Lab — bienvenue !\n\nConfirm your address to activate your membership:\n\n{link}\n\n\
The link works once and expires in {} hours.\n",
        state.config.confirm_ttl.as_secs() / 3600
    );
    let html_body = format!(
        "<p>Welcome to Launch Lab — bienvenue !</p><p><a href=\"{link}\">Confirm your address</a></p>"
    );
    match send_mail(
        state,
        &email,
        "Confirm your Launch Lab account",
        body,
        html_body,
    )
    .await
    {
        Ok(()) => redirect(StatusCode::SEE_OTHER, "/signup/check-email"),
        Err(e) => mail_failed(&e),
    }
}

async fn send_mail(
    state: &State,
    to: &str,
    subject: &str,
    text_body: String,
    html_body: String,
) -> Result<(), String> {
    let from: Mailbox = state
        .config
        .mail_from
        .parse()
        .map_err(|e| format!("sender {:?}: {e}", state.config.mail_from))?;
    let to: Mailbox = to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?;
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text_body, html_body))
        .map_err(|e| e.to_string())?;
    state
        .mailer
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn mail_failed(error: &str) -> Reply {
    html(
        StatusCode::BAD_GATEWAY,
        page(
            "Email not sent",
            &format!(
                "<h1>We could not send the email</h1><p>{}</p>",
                escape(error)
            ),
        ),
    )
}

fn confirm(state: &State, _req: &Req, token: &str) -> Reply {
    let used = state.db().use_token(TokenKind::Confirm, token);
    match used {
        Ok(email) => {
            let ttl = session_ttl(state);
            let id = {
                let mut db = state.db();
                db.confirm(&email);
                db.open_session(&email, ttl)
            };
            let mut reply = redirect(StatusCode::SEE_OTHER, "/members");
            add_cookie(&mut reply, session_cookie(&id, state.config.session_ttl));
            reply
        }
        Err(e) => token_refused(e, "confirmation"),
    }
}

fn session_ttl(state: &State) -> Duration {
    if state.mode() == Mode::ExpiredSession {
        Duration::ZERO
    } else {
        state.config.session_ttl
    }
}

fn token_refused(error: TokenError, what: &str) -> Reply {
    let (status, message) = match error {
        TokenError::Unknown => (StatusCode::NOT_FOUND, "This link is not valid."),
        TokenError::Used => (StatusCode::GONE, "This link has already been used."),
        TokenError::Expired => (StatusCode::GONE, "This link has expired."),
    };
    html(
        status,
        page(
            "Link not valid",
            &format!(
                "<h1>{} link not valid</h1><p>{message}</p><p><a href=\"/password/reset\">Ask for a new link</a></p>",
                pages::capitalise(what)
            ),
        ),
    )
}

fn login_form(state: &State, req: &Req, status: StatusCode, error: &str) -> Reply {
    form_page(state, req, status, |token| {
        let error = if error.is_empty() {
            String::new()
        } else {
            pages::errors(&[error.to_string()])
        };
        page(
            "Log in",
            &format!(
                "<h1>Log in</h1>{error}<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\
<label>Email <input type=\"email\" name=\"email\" required></label>\
<label>Password <input type=\"password\" name=\"password\" required></label>\
<button type=\"submit\">Log in</button></form>\
<p><a href=\"/password/reset\">Forgot your password?</a> · <a href=\"/signup\">Sign up</a></p>"
            ),
        )
    })
}

async fn login(state: &State, req: &Req) -> Reply {
    if let Mode::SlowLogin(delay) = state.mode() {
        tokio::time::sleep(delay).await;
    }
    let form = req.form();
    if !csrf_ok(state, req, &form) {
        return csrf_refused();
    }
    let email = form.get("email").map(|e| e.trim()).unwrap_or_default();
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    let found = state.db().member(email).cloned();
    match found {
        Some(m) if m.password_matches(password) && m.confirmed => {
            let id = state.db().open_session(&m.email, session_ttl(state));
            let mut reply = redirect(StatusCode::SEE_OTHER, "/members");
            add_cookie(&mut reply, session_cookie(&id, state.config.session_ttl));
            reply
        }
        Some(m) if m.password_matches(password) => login_form(
            state,
            req,
            StatusCode::FORBIDDEN,
            "Confirm your email address first: follow the link we sent you.",
        ),
        _ => login_form(
            state,
            req,
            StatusCode::UNAUTHORIZED,
            "Wrong email or password.",
        ),
    }
}

fn logout_form(state: &State, req: &Req) -> Reply {
    form_page(state, req, StatusCode::OK, |token| {
        page(
            "Log out",
            &format!(
                "<h1>Log out?</h1><form method=\"post\" action=\"/logout\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{token}\"><button type=\"submit\">Log out</button></form>"
            ),
        )
    })
}

fn logout(state: &State, req: &Req) -> Reply {
    if !csrf_ok(state, req, &req.form()) {
        return csrf_refused();
    }
    if let Some(id) = req.cookie("session") {
        state.db().close_session(&id);
    }
    let mut reply = redirect(StatusCode::SEE_OTHER, "/");
    add_cookie(
        &mut reply,
        "session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax".to_string(),
    );
    reply
}

fn members(state: &State, req: &Req) -> Reply {
    let Some(email) = member(state, req) else {
        return to_login("/members");
    };
    form_page(state, req, StatusCode::OK, |token| {
        page(
            "Member area",
            &format!(
                "<h1>Member area</h1><p>Signed in as <strong>{}</strong>.</p>\
<p><a href=\"/checkout\">Choose a plan</a></p>\
<p><a href=\"/logout\">Log out</a></p>\
<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\
<button type=\"submit\">Log out now</button></form>",
                escape(&email)
            ),
        )
    })
}

fn reset_request_form(state: &State, req: &Req) -> Reply {
    form_page(state, req, StatusCode::OK, |token| {
        page(
            "Reset your password",
            &format!(
                "<h1>Reset your password</h1><form method=\"post\" action=\"/password/reset\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\
<label>Email <input type=\"email\" name=\"email\" required></label>\
<button type=\"submit\">Email me a link</button></form>"
            ),
        )
    })
}

async fn reset_request(state: &State, req: &Req) -> Reply {
    let form = req.form();
    if !csrf_ok(state, req, &form) {
        return csrf_refused();
    }
    let email = form.get("email").map(|e| e.trim()).unwrap_or_default();
    let known = state.db().member(email).map(|m| m.email.clone());
    // The answer is the same whether or not the address has an account, so the form cannot be used to
    // find out who is a member.
    if let Some(email) = known {
        let mut token = state
            .db()
            .issue_token(TokenKind::Reset, &email, state.config.reset_ttl);
        if state.mode() == Mode::BrokenResetLink {
            token.truncate(token.len() / 2);
        }
        let link = format!("{}/password/reset/{token}", state.base_url());
        let minutes = state.config.reset_ttl.as_secs() / 60;
        let body = format!(
            "Someone asked to reset the password of your Launch Lab account.\n\n\
Choose a new password here (the link works once and expires in {minutes} minutes):\n\n{link}\n\n\
If it was not you, ignore this email.\n"
        );
        let html_body = format!("<p><a href=\"{link}\">Choose a new password</a></p>");
        if let Err(e) = send_mail(
            state,
            &email,
            "Reset your Launch Lab password",
            body,
            html_body,
        )
        .await
        {
            return mail_failed(&e);
        }
    }
    redirect(StatusCode::SEE_OTHER, "/password/reset/sent")
}

fn reset_form_page(
    state: &State,
    req: &Req,
    token: &str,
    status: StatusCode,
    errors: &[String],
) -> Reply {
    form_page(state, req, status, |csrf| {
        page(
            "Choose a new password",
            &format!(
                "<h1>Choose a new password</h1>{}<form method=\"post\" action=\"/password/reset/{}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<label>New password <input type=\"password\" name=\"password\" minlength=\"{MIN_PASSWORD_LEN}\" required></label>\
<button type=\"submit\">Save</button></form>",
                pages::errors(errors),
                escape(token)
            ),
        )
    })
}

fn reset_form(state: &State, req: &Req, token: &str) -> Reply {
    let checked = state.db().check_token(TokenKind::Reset, token);
    match checked {
        Ok(_) => reset_form_page(state, req, token, StatusCode::OK, &[]),
        Err(e) => token_refused(e, "reset"),
    }
}

fn reset(state: &State, req: &Req, token: &str) -> Reply {
    let form = req.form();
    if !csrf_ok(state, req, &form) {
        return csrf_refused();
    }
    let email = match state.db().check_token(TokenKind::Reset, token) {
        Ok(email) => email,
        Err(e) => return token_refused(e, "reset"),
    };
    let password = form.get("password").cloned().unwrap_or_default();
    let problems = password_problems(&password, &email);
    if !problems.is_empty() {
        return reset_form_page(
            state,
            req,
            token,
            StatusCode::UNPROCESSABLE_ENTITY,
            &problems,
        );
    }
    let mut db = state.db();
    if let Err(e) = db.use_token(TokenKind::Reset, token) {
        drop(db);
        return token_refused(e, "reset");
    }
    db.set_password(&email, &password);
    drop(db);
    redirect(StatusCode::SEE_OTHER, "/login?reset=1")
}

fn checkout_form(state: &State, req: &Req) -> Reply {
    if member(state, req).is_none() {
        return to_login("/checkout");
    }
    form_page(state, req, StatusCode::OK, |token| {
        let options: String = PLANS
            .iter()
            .map(|(id, name, cents)| {
                format!(
                    "<option value=\"{id}\">{name} — ${}.{:02}</option>",
                    cents / 100,
                    cents % 100
                )
            })
            .collect();
        page(
            "Checkout",
            &format!(
                "<h1>Checkout</h1><form method=\"post\" action=\"/checkout\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\
<label>Plan <select name=\"plan\">{options}</select></label>\
<label>Card number <input name=\"card\" inputmode=\"numeric\" autocomplete=\"cc-number\" required></label>\
<button type=\"submit\">Pay</button></form>"
            ),
        )
    })
}

async fn checkout(state: &State, req: &Req) -> Reply {
    let Some(email) = member(state, req) else {
        return to_login("/checkout");
    };
    let form = req.form();
    if !csrf_ok(state, req, &form) {
        return csrf_refused();
    }
    if state.mode() == Mode::CheckoutError {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            page(
                "Something went wrong",
                "<h1>Something went wrong</h1><p>We could not start your payment.</p>",
            ),
        );
    }
    let plan = form.get("plan").map(String::as_str).unwrap_or_default();
    let Some((plan, _, cents)) = PLANS.iter().find(|(id, _, _)| *id == plan) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            page("Checkout", "<h1>Checkout</h1><p>Choose a plan.</p>"),
        );
    };
    let card = form.get("card").map(String::as_str).unwrap_or_default();
    if !payments::luhn(card) {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                "Checkout",
                "<h1>Checkout</h1><p>That card number is not valid.</p>",
            ),
        );
    }
    let order = state.db().add_order(Order {
        email,
        plan: plan.to_string(),
        amount_cents: *cents,
        status: OrderStatus::Pending,
    });
    match state.provider.charge(&order, *cents, card).await {
        Ok(_) => redirect(
            StatusCode::SEE_OTHER,
            &format!("/checkout/confirmed?order={order}"),
        ),
        Err(e) => html(
            StatusCode::BAD_GATEWAY,
            page(
                "Payment not confirmed",
                &format!(
                    "<h1>Payment not confirmed</h1><p>The payment provider could not reach us: {}</p>",
                    escape(&e)
                ),
            ),
        ),
    }
}

fn checkout_confirmed(state: &State, req: &Req) -> Reply {
    let Some(email) = member(state, req) else {
        return to_login("/checkout");
    };
    let id = req.query.get("order").cloned().unwrap_or_default();
    let order = state.db().order(&id).cloned();
    let Some(order) = order.filter(|o| o.email.eq_ignore_ascii_case(&email)) else {
        return html(
            StatusCode::NOT_FOUND,
            page("Order not found", "<h1>Order not found</h1>"),
        );
    };
    let amount = format!(
        "${}.{:02}",
        order.amount_cents / 100,
        order.amount_cents % 100
    );
    let (status, body) = match order.status {
        OrderStatus::Paid => (
            StatusCode::OK,
            format!(
                "<h1>Payment confirmed</h1><p>Order <code>{}</code>: {} plan, {amount}. Welcome aboard.</p>\
<p><a href=\"/members\">Go to the member area</a></p>",
                escape(&id),
                escape(&order.plan)
            ),
        ),
        OrderStatus::Pending => (
            StatusCode::ACCEPTED,
            "<h1>Payment pending</h1><p>We are waiting for the payment provider.</p>".to_string(),
        ),
        OrderStatus::Declined => (
            StatusCode::PAYMENT_REQUIRED,
            "<h1>Payment declined</h1><p>Your card was declined. <a href=\"/checkout\">Try another card</a></p>"
                .to_string(),
        ),
    };
    html(status, page("Checkout", &body))
}

fn webhook(state: &State, req: &Req) -> Reply {
    let signature = req
        .headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if let Err(e) = payments::verify(
        state.config.webhook_secret.as_bytes(),
        signature,
        &req.body,
        payments::now_secs(),
    ) {
        let status = if e == payments::SignatureError::Missing {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        };
        return json(
            status,
            &serde_json::json!({ "error": e.as_str() }).to_string(),
        );
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        return json(StatusCode::BAD_REQUEST, r#"{"error":"body is not JSON"}"#);
    };
    let field = |name: &str| event.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    let status = match field("type") {
        "payment.succeeded" => OrderStatus::Paid,
        "payment.declined" => OrderStatus::Declined,
        // Providers add event types over time; acknowledging unknown ones stops needless retries.
        _ => return json(StatusCode::OK, r#"{"received":true,"ignored":true}"#),
    };
    if state.db().settle(field("id"), field("order"), status) {
        json(StatusCode::OK, r#"{"received":true}"#)
    } else {
        json(StatusCode::NOT_FOUND, r#"{"error":"unknown order"}"#)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_name_each_problem() {
        assert!(password_problems("Correct-Horse-42", "launch@example.test").is_empty());
        assert_eq!(password_problems("short", "a@b.test").len(), 3);
        let p = password_problems("launchlaunch1A", "launch@example.test");
        assert_eq!(p, ["The password must not contain your email address."]);
        assert!(
            password_problems("alllowercase12", "x@y.test")
                .iter()
                .any(|p| p.contains("upper-case"))
        );
    }
}
