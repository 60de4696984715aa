//! Semantic checks that turn the raw, spanned manifest into a [`Manifest`]: ranges, names, URLs and hosts, each
//! problem located at the offending value. All problems are collected so one run shows them all.

use crate::domain::{Rejection, check_domain, is_within, parse_http_url, resolve_host};
use crate::error::{Diagnostic, Location};
use crate::raw::{
    RawAudit, RawDuration, RawEdge, RawEmail, RawIgnore, RawLegacyLink, RawLoad, RawManifest,
    RawRoute, RawSubdomain, S,
};
use crate::translate::{did_you_mean, suggest};
use crate::{
    AuditOptions, DEFAULT_SUBDOMAINS, Edge, Email, Ignore, LegacyLink, Load, Manifest, Route,
    RouteKind, Site, Subdomain,
};
use std::collections::HashMap;
use std::ops::{Range, RangeInclusive};
use url::Url;

struct Checker<'a> {
    source: &'a str,
    file: &'a str,
    diagnostics: Vec<(usize, Diagnostic)>,
}

impl Checker<'_> {
    fn location(&self, span: Range<usize>) -> Location {
        Location::from_span(self.source, self.file, span)
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>, help: Option<String>) {
        let diagnostic = Diagnostic::new(message)
            .at(self.location(span.clone()))
            .maybe_help(help);
        self.diagnostics.push((span.start, diagnostic));
    }

    fn reject(&mut self, span: Range<usize>, rejection: Rejection) {
        self.error(span, rejection.message, rejection.help);
    }

    /// The value when `result` holds one; otherwise the rejection is reported at `span`.
    fn accept<T>(&mut self, span: Range<usize>, result: Result<T, Rejection>) -> Option<T> {
        result
            .map_err(|rejection| self.reject(span, rejection))
            .ok()
    }

    /// Reports a repeated value at its second occurrence, with a note pointing back at the first.
    fn duplicate(&mut self, span: Range<usize>, first: Range<usize>, message: String) {
        let first = self.location(first);
        let diagnostic = Diagnostic::new(message)
            .at(self.location(span.clone()))
            .note(format!(
                "first given at {}:{}:{}",
                first.file, first.line, first.column
            ));
        self.diagnostics.push((span.start, diagnostic));
    }

    /// An optional text key, trimmed; an empty one is reported at its value (with `help`) and left out.
    fn optional_text(
        &mut self,
        value: Option<&S<String>>,
        empty: &str,
        help: &str,
    ) -> Option<String> {
        self.text(value?, empty, help)
    }

    /// A text value, trimmed; an empty one is reported at the value (with `help`) and gives `None`.
    fn text(&mut self, value: &S<String>, empty: &str, help: &str) -> Option<String> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            self.error(value.span(), empty, Some(help.to_string()));
            return None;
        }
        Some(text.to_string())
    }

    fn in_range(
        &mut self,
        value: Option<&S<i64>>,
        key: &str,
        range: RangeInclusive<i64>,
        default: i64,
    ) -> i64 {
        let Some(value) = value else { return default };
        let number = *value.get_ref();
        if !range.contains(&number) {
            self.error(
                value.span(),
                format!(
                    "`{key}` is {number}, outside the allowed {}..={}",
                    range.start(),
                    range.end()
                ),
                Some(format!(
                    "use a value from {} to {}; the default is {default}",
                    range.start(),
                    range.end()
                )),
            );
        }
        number
    }
}

impl Checker<'_> {
    /// A list of names from a closed set, or all of `all` when the key is absent. An unknown name is reported at
    /// itself, worded by `unknown`, with the closest known name as help, else `otherwise` given the names.
    fn names_from<T: Named>(
        &mut self,
        list: Option<&Vec<S<String>>>,
        unknown: impl Fn(&str) -> String,
        otherwise: impl Fn(&str) -> String,
    ) -> Vec<T> {
        let Some(list) = list else {
            return T::ALL.to_vec();
        };
        let names: Vec<&str> = T::ALL.iter().map(|&t| t.name()).collect();
        list.iter()
            .filter_map(|item| {
                let found = T::ALL.iter().copied().find(|&t| t.name() == item.get_ref());
                if found.is_none() {
                    let help = suggest(did_you_mean(item.get_ref(), &names), || {
                        otherwise(&names.join(", "))
                    });
                    self.error(item.span(), unknown(item.get_ref()), Some(help));
                }
                found
            })
            .collect()
    }

    /// A duration key (`"10s"`, `"1m30s"`, `"500ms"` or seconds), or its older whole-seconds spelling, within
    /// `range`; out-of-range and unreadable values are reported at the value.
    fn duration(
        &mut self,
        value: Option<&S<RawDuration>>,
        legacy_secs: Option<&S<i64>>,
        key: &str,
        range: RangeInclusive<std::time::Duration>,
        default: std::time::Duration,
    ) -> std::time::Duration {
        let limits = format!(
            "from {} to {}; the default is {}",
            crate::format_duration(*range.start()),
            crate::format_duration(*range.end()),
            crate::format_duration(default)
        );
        let (span, parsed) = match (value, legacy_secs) {
            (Some(value), _) => {
                let parsed = match value.get_ref() {
                    RawDuration::Seconds(secs) => crate::parse_duration(&secs.to_string()),
                    RawDuration::Text(text) => crate::parse_duration(text),
                };
                (value.span(), parsed)
            }
            (None, Some(secs)) => (
                secs.span(),
                crate::parse_duration(&secs.get_ref().to_string()),
            ),
            (None, None) => return default,
        };
        match parsed {
            Ok(duration) if range.contains(&duration) => duration,
            Ok(duration) => {
                self.error(
                    span,
                    format!(
                        "`{key}` is {}, outside the allowed range",
                        crate::format_duration(duration)
                    ),
                    Some(format!("use a duration {limits}")),
                );
                default
            }
            Err(error) => {
                self.error(
                    span,
                    format!("`{key}`: {error}"),
                    Some(format!("use a duration {limits}")),
                );
                default
            }
        }
    }
}

/// A closed set of names a list key picks from.
trait Named: Copy + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

impl Named for crate::NeverReveal {
    const ALL: &'static [Self] = &crate::NeverReveal::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for crate::EscalationTrigger {
    const ALL: &'static [Self] = &crate::EscalationTrigger::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// Remembers where each value was first seen so repeats can point back at it.
struct Seen(HashMap<String, Range<usize>>);

impl Seen {
    fn new() -> Seen {
        Seen(HashMap::new())
    }

    /// The first occurrence's span if `key` was already seen.
    fn check(&mut self, key: &str, span: Range<usize>) -> Option<Range<usize>> {
        match self.0.get(key) {
            Some(first) => Some(first.clone()),
            None => {
                self.0.insert(key.to_string(), span);
                None
            }
        }
    }
}

pub(crate) fn validate(
    raw: RawManifest,
    source: &str,
    file: &str,
) -> Result<Manifest, Vec<Diagnostic>> {
    let mut checker = Checker {
        source,
        file,
        diagnostics: Vec::new(),
    };
    // Checks that depend on the domain (hosts, canonical, default senders) are skipped when it is invalid: its
    // own error says everything useful, and errors derived from a bad domain would only be noise.
    let domain = checker.accept(
        raw.site.domain.span(),
        check_domain(raw.site.domain.get_ref()),
    );
    let domain = domain.as_deref();
    let canonical_url =
        domain.and_then(|d| canonical(&mut checker, raw.site.canonical.as_ref(), d));
    let subdomains = domain.and_then(|d| subdomains(&mut checker, raw.site.subdomains, d));
    let audit = audit(&mut checker, raw.audit);
    let canonical_host = canonical_url.as_ref().and_then(Url::host_str);
    let routes = routes(&mut checker, raw.route, domain, canonical_host);
    let legacy_links = legacy_links(&mut checker, raw.legacy_link);
    let env = env_entries(&mut checker, raw.env);
    let smoke = smoke(&mut checker, raw.smoke, canonical_url.as_ref());
    let flows = flows(&mut checker, raw.flow);
    let email = email(&mut checker, raw.email, domain);
    let edge = edge(&mut checker, raw.edge);
    let ignores = ignores(&mut checker, raw.ignore);
    let ai = raw.ai.and_then(|raw| ai(&mut checker, raw));
    let load = load(&mut checker, raw.load);
    let mailbox = raw.mailbox.and_then(|raw| mailbox(&mut checker, raw));
    let deploy = raw
        .deploy
        .map(|raw| deploy(&mut checker, raw, canonical_url.as_ref()));
    let access = access(&mut checker, raw.access);
    let mut report = |span, message, help| checker.error(span, message, help);
    let monitor = crate::monitor::validate_monitor(raw.monitor, &mut report);
    let alerts = crate::monitor::validate_alerts(raw.alert, &monitor.channels, &mut report);

    if !checker.diagnostics.is_empty() {
        let mut diagnostics = checker.diagnostics;
        diagnostics.sort_by_key(|(start, _)| *start);
        return Err(diagnostics.into_iter().map(|(_, d)| d).collect());
    }
    match (domain, canonical_url, subdomains) {
        (Some(domain), Some(canonical_url), Some(subdomains)) => Ok(Manifest {
            site: Site {
                domain: domain.to_string(),
                canonical_url,
                canonical_declared: raw.site.canonical.is_some(),
                subdomains,
            },
            audit,
            routes,
            legacy_links,
            env,
            smoke,
            flows,
            email,
            edge,
            ignores,
            ai,
            load,
            mailbox,
            deploy,
            access,
            monitor,
            alerts,
            source: None,
        }),
        // Unreachable in practice: each `None` above left a diagnostic behind.
        _ => Err(vec![Diagnostic::new("the [site] table is invalid")]),
    }
}

pub(crate) fn default_canonical(domain: &str) -> Option<Url> {
    Url::parse(&format!("https://www.{domain}/")).ok()
}

fn canonical(checker: &mut Checker<'_>, raw: Option<&S<String>>, domain: &str) -> Option<Url> {
    let www = format!("www.{domain}");
    let Some(raw) = raw else {
        return default_canonical(domain);
    };
    let value = raw.get_ref().as_str();
    let shorthand_help = || {
        Some(format!(
            "write a URL such as `https://{www}/`, or the shorthand \"www\" or \"apex\""
        ))
    };
    match value {
        "www" => return Url::parse(&format!("https://{www}/")).ok(),
        "apex" => return Url::parse(&format!("https://{domain}/")).ok(),
        _ => {}
    }
    let url = match parse_http_url(value) {
        Ok(url) => url,
        Err(rejection) if !value.contains("://") => {
            let bare = value.trim_end_matches('/').to_ascii_lowercase();
            let help = if bare == www || bare == domain {
                Some(format!(
                    "write `https://{bare}/`, or the shorthand \"{}\"",
                    if bare == www { "www" } else { "apex" }
                ))
            } else {
                shorthand_help()
            };
            checker.error(raw.span(), rejection.message, help);
            return None;
        }
        Err(rejection) => {
            checker.reject(raw.span(), rejection);
            return None;
        }
    };
    let host = url.host_str().unwrap_or_default();
    let problem = if host != domain && host != www {
        Some(format!(
            "the canonical URL's host `{host}` is neither `{domain}` nor `{www}`"
        ))
    } else if let Some(port) = url.port() {
        Some(format!(
            "the canonical URL has a port ({port}); a launched site is served on the default port"
        ))
    } else if !url.username().is_empty() || url.password().is_some() {
        Some("the canonical URL contains a user name or password".to_string())
    } else if url.query().is_some() || url.fragment().is_some() {
        Some(
            "the canonical URL has a query or fragment; it should be the site's origin".to_string(),
        )
    } else {
        None
    };
    match problem {
        Some(message) => {
            checker.error(raw.span(), message, shorthand_help());
            None
        }
        None => Some(url),
    }
}

fn subdomains(
    checker: &mut Checker<'_>,
    raw: Option<Vec<S<RawSubdomain>>>,
    domain: &str,
) -> Option<Vec<Subdomain>> {
    let Some(raw) = raw else {
        return Some(
            DEFAULT_SUBDOMAINS
                .iter()
                .map(|label| Subdomain {
                    host: format!("{label}.{domain}"),
                    destination: None,
                })
                .collect(),
        );
    };
    let www = format!("www.{domain}");
    let mut seen = Seen::new();
    let mut out = Vec::new();
    let mut ok = true;
    for entry in raw {
        let entry_span = entry.span();
        let (name, name_span, destination) = match entry.into_inner() {
            RawSubdomain::Label(label) => (label, entry_span, None),
            RawSubdomain::Table(table) => {
                let span = table.name.span();
                (table.name.into_inner(), span, table.destination)
            }
        };
        let host = match resolve_host(&name, domain) {
            Ok(host) => host,
            Err(rejection) => {
                checker.reject(name_span, rejection);
                ok = false;
                continue;
            }
        };
        if host == domain || host == www {
            checker.error(
                name_span,
                format!(
                    "`{host}` is the site's own {} host, not a subdomain",
                    if host == www { "www" } else { "apex" }
                ),
                Some(
                    "remove it: the apex and www hosts are always checked against `canonical`"
                        .to_string(),
                ),
            );
            ok = false;
            continue;
        }
        if let Some(first) = seen.check(&host, name_span.clone()) {
            checker.duplicate(
                name_span,
                first,
                format!("subdomain `{host}` is listed twice"),
            );
            ok = false;
            continue;
        }
        let destination = match destination {
            None => None,
            Some(raw) => match parse_http_url(raw.get_ref()) {
                Ok(url) if url.host_str().is_some_and(|h| is_within(h, domain)) => Some(url),
                Ok(url) => {
                    checker.error(
                        raw.span(),
                        format!(
                            "destination host `{}` is outside `{domain}`",
                            url.host_str().unwrap_or_default()
                        ),
                        Some(format!(
                            "a destination must be on `{domain}` or one of its subdomains"
                        )),
                    );
                    ok = false;
                    None
                }
                Err(rejection) => {
                    checker.reject(raw.span(), rejection);
                    ok = false;
                    None
                }
            },
        };
        out.push(Subdomain { host, destination });
    }
    ok.then_some(out)
}

fn audit(checker: &mut Checker<'_>, raw: Option<RawAudit>) -> AuditOptions {
    let defaults = AuditOptions::default();
    let Some(raw) = raw else { return defaults };
    let max_hops = checker.in_range(
        raw.max_hops.as_ref(),
        "max_hops",
        1..=50,
        i64::from(defaults.max_hops),
    );
    let timeout = checker.duration(
        raw.timeout.as_ref(),
        raw.timeout_secs.as_ref(),
        "timeout",
        std::time::Duration::from_millis(100)..=std::time::Duration::from_secs(300),
        defaults.timeout,
    );
    let concurrency_default = i64::try_from(defaults.concurrency).unwrap_or(64);
    let concurrency = checker.in_range(
        raw.concurrency.as_ref(),
        "concurrency",
        1..=1024,
        concurrency_default,
    );
    let landing_budget = checker.duration(
        raw.landing_budget.as_ref(),
        None,
        "landing_budget",
        std::time::Duration::from_millis(50)..=std::time::Duration::from_secs(60),
        defaults.landing_budget,
    );
    // Out-of-range values were reported above, so the fallbacks below only ever stand in for an error.
    AuditOptions {
        max_hops: u32::try_from(max_hops).unwrap_or(defaults.max_hops),
        timeout,
        concurrency: usize::try_from(concurrency).unwrap_or(defaults.concurrency),
        intranet: raw.intranet.unwrap_or(defaults.intranet),
        landing_budget,
    }
}

fn routes(
    checker: &mut Checker<'_>,
    raw: Vec<RawRoute>,
    domain: Option<&str>,
    canonical_host: Option<&str>,
) -> Vec<Route> {
    let mut names = Seen::new();
    let mut out = Vec::new();
    for route in raw {
        let name = route.name.get_ref().trim().to_string();
        if name.is_empty() {
            checker.error(
                route.name.span(),
                "the route name is empty",
                Some("give each route a short, unique name such as \"login\"".to_string()),
            );
        } else if let Some(first) = names.check(&name, route.name.span()) {
            checker.duplicate(
                route.name.span(),
                first,
                format!("duplicate route name `{name}`"),
            );
        }

        let host = match (&route.host, domain) {
            (Some(raw), Some(domain)) => match resolve_host(raw.get_ref(), domain) {
                Ok(host) => host,
                Err(rejection) => {
                    checker.reject(raw.span(), rejection);
                    String::new()
                }
            },
            (None, _) => canonical_host.unwrap_or_default().to_string(),
            (Some(_), None) => String::new(),
        };

        let path = route.path.get_ref();
        if let Some((message, help)) = path_problem(path) {
            checker.error(route.path.span(), message, Some(help));
        }

        let kind = match route.kind.get_ref().parse::<RouteKind>() {
            Ok(kind) => kind,
            Err(()) => {
                let value = route.kind.get_ref();
                checker.error(
                    route.kind.span(),
                    format!("unknown route kind `{value}`"),
                    Some(kind_help(value)),
                );
                RouteKind::Other
            }
        };

        let expect_status = checker.in_range(
            route.expect_status.as_ref(),
            "expect_status",
            100..=599,
            200,
        );
        out.push(Route {
            name,
            host,
            path: path.clone(),
            kind,
            critical: route.critical.unwrap_or(false),
            expect_status: u16::try_from(expect_status).unwrap_or(200),
        });
    }
    out
}

fn path_problem(path: &str) -> Option<(String, String)> {
    if path.starts_with("http://") || path.starts_with("https://") {
        return Some((
            format!("route path `{path}` is a URL"),
            "put the host in `host` and only the path here, e.g. \"/login\"".to_string(),
        ));
    }
    if !path.starts_with('/') {
        return Some((
            format!("route path `{path}` does not start with `/`"),
            format!("write \"/{path}\""),
        ));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some((
            format!("route path `{path}` contains whitespace"),
            "percent-encode it, e.g. `%20` for a space".to_string(),
        ));
    }
    if path.contains('#') {
        return Some((
            format!("route path `{path}` has a fragment"),
            "browsers never send the `#…` part to the server; remove it".to_string(),
        ));
    }
    None
}

fn kind_help(value: &str) -> String {
    let names: Vec<&str> = RouteKind::ALL.iter().map(|kind| kind.as_str()).collect();
    let lowered = value.to_lowercase().replace(['-', '_', ' '], "");
    // Words people reach for that are far from the kind's spelling, so edit distance alone would miss them.
    let synonym = match lowered.as_str() {
        "signin" | "auth" | "logon" => Some("login"),
        "register" | "registration" | "join" => Some("signup"),
        "home" | "homepage" | "index" | "root" => Some("landing"),
        "cart" | "pay" | "payment" | "billing" => Some("checkout"),
        "account" | "dashboard" | "members" | "portal" => Some("member"),
        "hook" | "callback" | "api" => Some("webhook"),
        "asset" | "assets" | "file" | "cdn" => Some("static"),
        _ => None,
    };
    suggest(synonym.or_else(|| did_you_mean(value, &names)), || {
        format!("expected one of: {}", names.join(", "))
    })
}

fn legacy_links(checker: &mut Checker<'_>, raw: Vec<RawLegacyLink>) -> Vec<LegacyLink> {
    let mut seen = Seen::new();
    let mut out = Vec::new();
    for link in raw {
        let from =
            parse_http_url(link.from.get_ref()).map_err(|r| checker.reject(link.from.span(), r));
        let to = parse_http_url(link.to.get_ref()).map_err(|r| checker.reject(link.to.span(), r));
        if let (Ok(from), Ok(to)) = (from, to) {
            if let Some(first) = seen.check(from.as_str(), link.from.span()) {
                checker.duplicate(
                    link.from.span(),
                    first,
                    format!("legacy link from `{from}` is listed twice"),
                );
            }
            out.push(LegacyLink { from, to });
        }
    }
    out
}

/// `[[env]]`: owners and notes for environment variables, by name (listed once each).
fn env_entries(checker: &mut Checker<'_>, raw: Vec<crate::raw::RawEnv>) -> Vec<crate::EnvEntry> {
    let mut seen = Seen::new();
    let mut out = Vec::new();
    for entry in raw {
        let name = entry.name.get_ref().trim();
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            checker.error(
                entry.name.span(),
                format!("`{name}` is not an environment variable name"),
                Some("use letters, digits and `_`, not starting with a digit, e.g. STRIPE_SECRET_KEY".to_string()),
            );
            continue;
        }
        if let Some(first) = seen.check(name, entry.name.span()) {
            checker.duplicate(
                entry.name.span(),
                first,
                format!("[[env]] `{name}` is listed twice"),
            );
            continue;
        }
        out.push(crate::EnvEntry {
            name: name.to_string(),
            owner: entry.owner,
            notes: entry.notes,
            rotate: entry.rotate,
        });
    }
    out
}

/// The `[smoke]` table. Paths are joined to the canonical URL; full URLs are taken as they are (a version endpoint
/// may live on another host).
fn smoke(
    checker: &mut Checker<'_>,
    raw: Option<crate::raw::RawSmoke>,
    canonical: Option<&Url>,
) -> crate::Smoke {
    let defaults = crate::Smoke::default();
    let Some(raw) = raw else { return defaults };
    let homepage_budget = checker.duration(
        raw.homepage_budget.as_ref(),
        None,
        "homepage_budget",
        std::time::Duration::from_millis(10)..=std::time::Duration::from_secs(60),
        defaults.homepage_budget,
    );
    let mut target = |value: Option<S<String>>, key: &str, example: &str| {
        let value = value?;
        let text = value.get_ref().trim();
        if text.starts_with('/') {
            if let Some((message, help)) = path_problem(text) {
                checker.error(value.span(), format!("`{key}`: {message}"), Some(help));
                return None;
            }
            return canonical.and_then(|base| base.join(text).ok());
        }
        if !text.contains("://") {
            checker.error(
                value.span(),
                format!("`{key}` `{text}` is neither a path nor a URL"),
                Some(format!(
                    "write a path on the canonical host, e.g. \"{example}\", or a full https:// URL"
                )),
            );
            return None;
        }
        checker.accept(value.span(), parse_http_url(text))
    };
    let version_url = target(raw.version_url, "version_url", "/version");
    let webhook = target(raw.webhook, "webhook", "/webhooks/payments");
    crate::Smoke {
        homepage_budget,
        version_url,
        webhook,
    }
}

fn flows(checker: &mut Checker<'_>, raw: Vec<crate::raw::RawFlow>) -> Vec<crate::Flow> {
    let mut names = Seen::new();
    let mut out = Vec::new();
    for flow in raw {
        let Some(file) = checker.text(
            &flow.file,
            "the flow file is empty",
            "name a Hurl file, e.g. file = \"flows/login.hurl\"",
        ) else {
            continue;
        };
        let file = std::path::PathBuf::from(file);
        let (name, span) = match &flow.name {
            Some(name) => match checker.text(
                name,
                "the flow name is empty",
                "give it a short name such as \"login to members\", or remove the key",
            ) {
                Some(text) => (text, name.span()),
                None => continue,
            },
            None => (
                file.file_stem().map_or_else(
                    || file.display().to_string(),
                    |s| s.to_string_lossy().into_owned(),
                ),
                flow.file.span(),
            ),
        };
        if let Some(first) = names.check(&name, span.clone()) {
            checker.duplicate(span, first, format!("flow `{name}` is listed twice"));
            continue;
        }
        out.push(crate::Flow { name, file });
    }
    out
}

fn domain_list(
    checker: &mut Checker<'_>,
    raw: Vec<S<String>>,
    what: &str,
    seen: &mut Seen,
) -> Vec<String> {
    let mut out = Vec::new();
    for item in raw {
        match check_domain(item.get_ref()) {
            Ok(name) => match seen.check(&name, item.span()) {
                Some(first) => checker.duplicate(
                    item.span(),
                    first,
                    format!("`{name}` is listed twice {what}"),
                ),
                None => out.push(name),
            },
            Err(rejection) => checker.reject(item.span(), rejection),
        }
    }
    out
}

/// The `[mailbox]` table: exactly one source; an IMAP inbox names the variable its password is in.
fn mailbox(checker: &mut Checker<'_>, raw: S<crate::raw::RawMailbox>) -> Option<crate::Mailbox> {
    let table = raw.span();
    let raw = raw.into_inner();
    match (raw.smtp_listen, raw.imap) {
        (Some(_), Some(imap)) => {
            checker.error(
                imap.span(),
                "[mailbox] has both `smtp_listen` and `imap`",
                Some("keep one: the SMTP sink for a staging app you point at it, or the IMAP test inbox".into()),
            );
            None
        }
        (None, None) => {
            checker.error(
                table,
                "[mailbox] needs `smtp_listen` or `imap`",
                Some("e.g. smtp_listen = \"127.0.0.1:2525\", or imap = \"imaps://launch@mail.example.com\" with password_env".into()),
            );
            None
        }
        (Some(listen), None) => {
            if let Some(env) = &raw.password_env {
                checker.error(
                    env.span(),
                    "`password_env` is for an `imap` inbox; the SMTP sink takes no password",
                    None,
                );
            }
            let text = listen.get_ref().trim();
            match text.parse::<std::net::SocketAddr>() {
                Ok(listen) => Some(crate::Mailbox::SmtpSink { listen }),
                Err(_) => {
                    checker.error(
                        listen.span(),
                        format!("`smtp_listen` `{text}` is not an IP address and port"),
                        Some("e.g. \"127.0.0.1:2525\" (a name is not accepted: the sink binds an address)".into()),
                    );
                    None
                }
            }
        }
        (None, Some(imap)) => {
            let text = imap.get_ref().trim();
            let url = match url::Url::parse(text) {
                Ok(url)
                    if url.scheme() == "imaps"
                        && !url.username().is_empty()
                        && url.host_str().is_some_and(|h| !h.is_empty()) =>
                {
                    if url.password().is_some() {
                        checker.error(
                            imap.span(),
                            "`imap` must not hold the password",
                            Some("put it in an environment variable and name that variable in `password_env`".into()),
                        );
                        return None;
                    }
                    Some(url)
                }
                _ => {
                    checker.error(
                        imap.span(),
                        format!("`imap` `{text}` is not an imaps://USER@HOST URL"),
                        Some("e.g. \"imaps://launch%40example.com@mail.example.com\" (an @ in the user is written %40; only imaps:// is read)".into()),
                    );
                    None
                }
            };
            let password_env = match raw.password_env {
                None => {
                    checker.error(
                        imap.span(),
                        "an `imap` inbox needs `password_env`, the environment variable holding its password",
                        Some("e.g. password_env = \"LAUNCHREADY_IMAP_PASSWORD\"".into()),
                    );
                    None
                }
                Some(env) => {
                    let name = env.get_ref().trim();
                    let valid = name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if valid {
                        Some(name.to_string())
                    } else {
                        checker.error(
                            env.span(),
                            format!("`password_env` `{name}` is not an environment variable name"),
                            Some("letters, digits and _, not starting with a digit: the variable's name, not the password".into()),
                        );
                        None
                    }
                }
            };
            Some(crate::Mailbox::Imap {
                url: url?,
                password_env: password_env?,
            })
        }
    }
}

fn load(checker: &mut Checker<'_>, raw: Option<RawLoad>) -> Load {
    let Some(raw) = raw else {
        return Load::default();
    };
    let mut strings = |list: Option<Vec<S<String>>>, what: &str| -> Vec<String> {
        let mut out = Vec::new();
        for item in list.unwrap_or_default() {
            let text = item.get_ref().trim();
            if text.is_empty() {
                checker.error(item.span(), format!("an empty {what}"), None);
            } else {
                out.push(text.to_string());
            }
        }
        out
    };
    Load {
        thresholds: strings(raw.thresholds, "threshold"),
        allow_hosts: strings(raw.allow_hosts, "host"),
    }
}

fn edge(checker: &mut Checker<'_>, raw: Option<RawEdge>) -> Edge {
    let Some(raw) = raw else {
        return Edge::default();
    };
    let origin = raw.origin.and_then(|origin| {
        let text = origin.get_ref().trim().trim_matches(['[', ']']);
        match text.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                checker.error(
                    origin.span(),
                    format!("`{}` is not an IP address", origin.get_ref()),
                    Some(
                        "give the origin server's address, e.g. origin = \"203.0.113.7\""
                            .to_string(),
                    ),
                );
                None
            }
        }
    });
    Edge {
        required: raw.required.unwrap_or(false),
        origin,
    }
}

fn email(checker: &mut Checker<'_>, raw: Option<RawEmail>, domain: Option<&str>) -> Email {
    let default_senders = || domain.map(|d| vec![d.to_string()]).unwrap_or_default();
    let Some(raw) = raw else {
        return Email {
            senders: default_senders(),
            ..Email::default()
        };
    };
    let mut seen = Seen::new();
    let senders = match raw.senders {
        Some(list) => domain_list(checker, list, "in `senders`", &mut seen),
        None => default_senders(),
    };
    let mut non_sending_seen = Seen::new();
    let mut non_sending = Vec::new();
    for item in raw.non_sending.unwrap_or_default() {
        let span = item.span();
        let mut one = domain_list(
            checker,
            vec![item],
            "in `non_sending`",
            &mut non_sending_seen,
        );
        if let Some(name) = one.pop() {
            if senders.contains(&name) {
                checker.error(
                    span,
                    format!("`{name}` is listed both in `senders` and in `non_sending`"),
                    Some(
                        "a domain either sends mail or does not; remove it from one list"
                            .to_string(),
                    ),
                );
            } else {
                non_sending.push(name);
            }
        }
    }

    let mut selectors_seen = Seen::new();
    let mut dkim_selectors = Vec::new();
    for item in raw.dkim_selectors.unwrap_or_default() {
        let selector = item.get_ref().to_ascii_lowercase();
        if let Some((message, help)) = selector_problem(&selector) {
            checker.error(item.span(), message, help);
        } else if let Some(first) = selectors_seen.check(&selector, item.span()) {
            checker.duplicate(
                item.span(),
                first,
                format!("DKIM selector `{selector}` is listed twice"),
            );
        } else {
            dkim_selectors.push(selector);
        }
    }

    let provider = checker.optional_text(
        raw.provider.as_ref(),
        "`provider` is empty",
        "name the sending provider, e.g. \"postmark\", or remove the key",
    );
    let from = raw.from.and_then(|from| {
        // An address or a bare domain: only the domain matters for alignment.
        let text = from.get_ref().trim();
        let domain = text.rsplit_once('@').map_or(text, |(_, d)| d);
        checker.accept(from.span(), check_domain(domain))
    });
    let mut single_domain = |raw: Option<S<String>>| {
        raw.and_then(|item| checker.accept(item.span(), check_domain(item.get_ref().trim())))
    };
    let return_path = single_domain(raw.return_path);
    let dkim_domain = single_domain(raw.dkim_domain);
    Email {
        senders,
        dkim_selectors,
        provider,
        non_sending,
        from,
        return_path,
        dkim_domain,
    }
}

fn selector_problem(selector: &str) -> Option<(String, Option<String>)> {
    if selector.is_empty() {
        return Some(("a DKIM selector is empty".to_string(), None));
    }
    if let Some(bare) = selector
        .split("._domainkey")
        .next()
        .filter(|_| selector.contains("._domainkey"))
    {
        return Some((
            format!("`{selector}` is a DKIM record name, not a selector"),
            Some(format!(
                "give only the selector, \"{bare}\"; launchready adds `._domainkey.<sender>`"
            )),
        ));
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !selector.split('.').all(valid_label) {
        return Some((
            format!("`{selector}` is not a valid DKIM selector"),
            Some(
                "a selector is one or more DNS labels of letters, digits and hyphens, e.g. \"s1\""
                    .to_string(),
            ),
        ));
    }
    None
}

fn ignores(checker: &mut Checker<'_>, raw: Vec<RawIgnore>) -> Vec<Ignore> {
    let mut out = Vec::new();
    for ignore in raw {
        let id = ignore.id.get_ref();
        if let Some((message, help)) = id_problem(id) {
            checker.error(ignore.id.span(), message, Some(help));
        }
        let subject = match ignore.subject {
            Some(subject) if subject.get_ref().trim().is_empty() => {
                checker.error(
                    subject.span(),
                    "`subject` is empty",
                    Some("give the exact host, URL or record the finding is about, or remove the key".to_string()),
                );
                None
            }
            Some(subject) => Some(subject.into_inner()),
            None => None,
        };
        let reason = ignore.reason.get_ref().trim();
        if reason.is_empty() {
            checker.error(
                ignore.reason.span(),
                "the ignore reason is empty",
                Some("say why this finding is accepted; the reason is shown next to the suppressed finding".to_string()),
            );
        }
        out.push(Ignore {
            id: id.clone(),
            subject,
            reason: reason.to_string(),
        });
    }
    out
}

fn id_problem(id: &str) -> Option<(String, String)> {
    let example = "e.g. \"dns.caa.missing\", or \"email.*\" for a whole family".to_string();
    if id.is_empty() {
        return Some(("the ignore id is empty".to_string(), example));
    }
    if id == "*" || id == ".*" {
        return Some((
            "`*` would suppress every finding".to_string(),
            format!("name a finding or a family, {example}"),
        ));
    }
    let stem = id.strip_suffix(".*").unwrap_or(id);
    if stem.contains('*') {
        return Some((
            format!("`{id}` has a wildcard that is not a trailing `.*`"),
            format!("only a whole family can be matched, {example}"),
        ));
    }
    if id != id.to_ascii_lowercase() {
        return Some((
            format!("finding id `{id}` is not lower-case"),
            format!(
                "finding ids are lower-case: \"{}\"",
                id.to_ascii_lowercase()
            ),
        ));
    }
    let valid_segment = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    if !stem.split('.').all(valid_segment) {
        return Some((
            format!("`{id}` is not a finding id"),
            format!("finding ids are dot-separated lower-case words, {example}"),
        ));
    }
    None
}

/// The `[ai]` table; `None` (with diagnostics left behind) when it is invalid.
fn ai(checker: &mut Checker<'_>, raw: crate::raw::RawAi) -> Option<crate::Ai> {
    use crate::{AiAuth, AiFormat, EscalationTrigger, Extract, Judge, NeverReveal};
    let errors_before = checker.diagnostics.len();
    let endpoint = ai_url(checker, &raw.endpoint);
    let format = match &raw.format {
        None => AiFormat::OpenAi,
        Some(value) => match value.get_ref().as_str() {
            "openai" => AiFormat::OpenAi,
            "json" => AiFormat::Json,
            "form" => AiFormat::Form,
            other => {
                let help = suggest(did_you_mean(other, &AiFormat::NAMES), || {
                    "use \"openai\", \"json\" or \"form\"".to_string()
                });
                checker.error(
                    value.span(),
                    format!("unknown assistant format `{other}`"),
                    Some(help),
                );
                AiFormat::OpenAi
            }
        },
    };
    let body = raw.body.as_ref().map(|b| b.get_ref().clone());
    match (&raw.body, format) {
        (None, AiFormat::Json | AiFormat::Form) => checker.error(
            raw.endpoint.span(),
            format!(
                "format `{}` needs a `body` with a {{{{prompt}}}} slot",
                format.as_str()
            ),
            Some("e.g. body = '{\"message\": {{prompt}}}'".to_string()),
        ),
        (Some(text), _) if !text.get_ref().contains("{{prompt}}") => checker.error(
            text.span(),
            "the request body has no {{prompt}} slot".to_string(),
            Some("write {{prompt}} where the member's message goes".to_string()),
        ),
        _ => {}
    }
    let extract = match (&raw.extract, &raw.extract_regex) {
        (Some(_), Some(regex)) => {
            checker.error(
                regex.span(),
                "give `extract` (a JSONPath) or `extract_regex`, not both".to_string(),
                None,
            );
            None
        }
        (Some(path), None) => {
            if path.get_ref().starts_with('$') {
                Some(Extract::JsonPath(path.get_ref().clone()))
            } else {
                checker.error(
                    path.span(),
                    format!("`{}` is not a JSONPath", path.get_ref()),
                    Some("a JSONPath starts with `$`, e.g. `$.reply`".to_string()),
                );
                None
            }
        }
        (None, Some(regex)) => {
            ai_regex(checker, regex).map(|_| Extract::Regex(regex.get_ref().clone()))
        }
        (None, None) if format == AiFormat::OpenAi => Some(Extract::JsonPath(
            "$.choices[0].message.content".to_string(),
        )),
        (None, None) => {
            checker.error(
                raw.endpoint.span(),
                "say where the reply is: `extract` (a JSONPath) or `extract_regex`".to_string(),
                Some("e.g. extract = \"$.reply\"".to_string()),
            );
            None
        }
    };
    let auth = raw.auth_env.as_ref().map(|env| {
        ai_env_name(checker, env);
        AiAuth {
            env: env.get_ref().clone(),
            header: raw
                .auth_header
                .as_ref()
                .map_or_else(|| "Authorization".to_string(), |h| h.get_ref().clone()),
            prefix: raw
                .auth_prefix
                .as_ref()
                .map_or_else(|| "Bearer ".to_string(), |p| p.get_ref().clone()),
        }
    });
    let strings = |list: &Option<Vec<S<String>>>| -> Vec<String> {
        list.iter().flatten().map(|s| s.get_ref().clone()).collect()
    };
    let tools = strings(&raw.tools);
    let tool_names: Vec<&str> = tools.iter().map(String::as_str).collect();
    let known_tool = |checker: &mut Checker<'_>, name: &S<String>, key: &str| {
        if !tool_names.is_empty() && !tool_names.contains(&name.get_ref().as_str()) {
            let help = suggest(did_you_mean(name.get_ref(), &tool_names), || {
                format!("add it to `tools` ({})", tool_names.join(", "))
            });
            checker.error(
                name.span(),
                format!("`{}` in `{key}` is not one of `tools`", name.get_ref()),
                Some(help),
            );
        }
    };
    for name in raw.sensitive_tools.iter().flatten() {
        known_tool(checker, name, "sensitive_tools");
    }
    if let Some(tool) = &raw.escalation_tool {
        known_tool(checker, tool, "escalation_tool");
    }
    for canary in raw.canaries.iter().flatten() {
        if canary.get_ref().trim().chars().count() < 6 {
            checker.error(
                canary.span(),
                format!("the canary `{}` is too short", canary.get_ref()),
                Some(
                    "use a distinctive value of 6 characters or more, so ordinary replies cannot contain it by chance"
                        .to_string(),
                ),
            );
        }
    }
    let never_reveal: Vec<NeverReveal> = checker.names_from(
        raw.never_reveal.as_ref(),
        |item| format!("unknown kind `{item}` in `never_reveal`"),
        |names| format!("use {names}; put your own regular expressions in `never_reveal_patterns`"),
    );
    for pattern in raw.never_reveal_patterns.iter().flatten() {
        ai_regex(checker, pattern);
    }
    let escalate_for: Vec<EscalationTrigger> = checker.names_from(
        raw.escalate_for.as_ref(),
        |item| format!("unknown escalation trigger `{item}`"),
        |names| format!("use {names}"),
    );
    let escalation_phrases = strings(&raw.escalation_phrases);
    if !escalate_for.is_empty() && raw.escalation_tool.is_none() && escalation_phrases.is_empty() {
        let span = raw
            .escalate_for
            .as_ref()
            .and_then(|l| l.first())
            .map_or_else(|| raw.endpoint.span(), S::span);
        checker.error(
            span,
            "escalation is expected but neither `escalation_tool` nor `escalation_phrases` says what handing over looks like".to_string(),
            Some(
                "name the tool (escalation_tool = \"handoff_to_human\") or the words (escalation_phrases = [\"connecting you with\"]), or set escalate_for = []"
                    .to_string(),
            ),
        );
    }
    let max_requests = raw
        .max_requests
        .as_ref()
        .map(|v| checker.in_range(Some(v), "max_requests", 1..=100_000, 200) as u32);
    let delay = raw.delay.as_ref().map(|d| {
        checker.duration(
            Some(d),
            None,
            "delay",
            std::time::Duration::ZERO..=std::time::Duration::from_secs(60),
            std::time::Duration::from_millis(200),
        )
    });
    let timeout = raw.timeout.as_ref().map(|d| {
        checker.duration(
            Some(d),
            None,
            "timeout",
            std::time::Duration::from_millis(100)..=std::time::Duration::from_secs(600),
            std::time::Duration::from_secs(60),
        )
    });
    let judge = raw.judge.as_ref().and_then(|judge| {
        let endpoint = ai_url(checker, &judge.endpoint)?;
        if let Some(env) = &judge.auth_env {
            ai_env_name(checker, env);
        }
        Some(Judge {
            endpoint,
            model: judge.model.as_ref().map(|m| m.get_ref().clone()),
            auth_env: judge.auth_env.as_ref().map(|e| e.get_ref().clone()),
            enabled: judge.enabled.unwrap_or(false),
        })
    });
    if checker.diagnostics.len() > errors_before {
        return None;
    }
    Some(crate::Ai {
        endpoint: endpoint?,
        format,
        model: raw.model.as_ref().map(|m| m.get_ref().clone()),
        body,
        extract: extract?,
        auth,
        tools: tools.clone(),
        sensitive_tools: strings(&raw.sensitive_tools),
        canaries: strings(&raw.canaries),
        never_reveal,
        never_reveal_patterns: strings(&raw.never_reveal_patterns),
        allowed_emails: strings(&raw.allowed_emails)
            .into_iter()
            .map(|e| e.to_lowercase())
            .collect(),
        internal_hosts: strings(&raw.internal_hosts)
            .into_iter()
            .map(|h| h.to_lowercase())
            .collect(),
        escalation_tool: raw.escalation_tool.as_ref().map(|t| t.get_ref().clone()),
        escalation_phrases,
        escalate_for,
        other_member: raw.other_member.as_ref().map(|m| m.get_ref().clone()),
        max_requests,
        delay,
        timeout,
        judge,
    })
}

fn ai_url(checker: &mut Checker<'_>, raw: &S<String>) -> Option<Url> {
    checker.accept(raw.span(), parse_http_url(raw.get_ref()))
}

fn ai_regex(checker: &mut Checker<'_>, raw: &S<String>) -> Option<regex::Regex> {
    match regex::Regex::new(raw.get_ref()) {
        Ok(regex) => Some(regex),
        Err(error) => {
            let detail = error.to_string();
            let last = detail.lines().last().unwrap_or_default().trim().to_string();
            checker.error(
                raw.span(),
                format!(
                    "`{}` is not a valid regular expression: {last}",
                    raw.get_ref()
                ),
                None,
            );
            None
        }
    }
}

fn ai_env_name(checker: &mut Checker<'_>, raw: &S<String>) {
    let name = raw.get_ref();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        checker.error(
            raw.span(),
            format!("`{name}` is not an environment variable name"),
            Some(
                "name the variable that holds the token (e.g. SUPPORT_BOT_TOKEN), never the token itself"
                    .to_string(),
            ),
        );
    }
}

/// The `[deploy]` table: commands kept as written (non-empty, one line), the version endpoint like
/// `[smoke] version_url`, the runbook as a relative or absolute path.
fn deploy(
    checker: &mut Checker<'_>,
    raw: S<crate::raw::RawDeploy>,
    canonical: Option<&Url>,
) -> crate::Deploy {
    let table = raw.span();
    let raw = raw.into_inner();
    let empty = raw.build.is_none() && raw.rollback.is_none() && raw.version_url.is_none();
    let mut command = |value: Option<S<String>>, key: &str| {
        let value = value?;
        let text = value.get_ref().trim();
        if text.is_empty() || text.contains('\n') {
            checker.error(
                value.span(),
                format!("`{key}` must be one non-empty command line"),
                Some("e.g. \"./scripts/rollback.sh\"; put longer procedures in a script".into()),
            );
            return None;
        }
        Some(text.to_string())
    };
    let build = command(raw.build, "build");
    let rollback = command(raw.rollback, "rollback");
    if empty {
        checker.error(
            table,
            "[deploy] says nothing: give at least `build`, `rollback` or `version_url`",
            None,
        );
    }
    let version_url = raw.version_url.and_then(|value| {
        let text = value.get_ref().trim();
        if text.starts_with('/') {
            if let Some((message, help)) = path_problem(text) {
                checker.error(
                    value.span(),
                    format!("`version_url`: {message}"),
                    Some(help),
                );
                return None;
            }
            return canonical.and_then(|base| base.join(text).ok());
        }
        checker.accept(value.span(), parse_http_url(text))
    });
    let runbook = checker
        .optional_text(
            raw.runbook.as_ref(),
            "`runbook` is empty",
            "e.g. \"docs/deploy.md\"",
        )
        .map(std::path::PathBuf::from);
    crate::Deploy {
        build,
        rollback,
        version_url,
        runbook,
    }
}

fn access_kind_help(value: &str) -> String {
    let names: Vec<&str> = crate::AccessKind::ALL.iter().map(|k| k.as_str()).collect();
    let lowered = value.to_lowercase().replace(['-', '_', ' '], "");
    let synonym = match lowered.as_str() {
        "domain" | "domains" | "nameserver" | "nameservers" => Some("dns"),
        "edge" | "proxy" | "cloudflare" => Some("cdn"),
        "host" | "server" | "paas" | "vercel" | "netlify" => Some("hosting"),
        "mail" | "smtp" | "esp" => Some("email"),
        "payments" | "billing" | "stripe" => Some("payment"),
        "uptime" | "alerts" | "alerting" | "status" => Some("monitoring"),
        "git" | "github" | "gitlab" | "repo" | "code" => Some("repository"),
        "actions" | "pipeline" | "deploy" => Some("ci"),
        _ => None,
    };
    suggest(synonym.or_else(|| did_you_mean(value, &names)), || {
        format!("expected one of: {}", names.join(", "))
    })
}

/// The `[[access]]` entries: one per service, a known kind, and a credential *location* — a value that looks like
/// a key is refused so the manifest never becomes the place a secret leaks from.
fn access(checker: &mut Checker<'_>, raw: Vec<S<crate::raw::RawAccess>>) -> Vec<crate::Access> {
    let mut seen = Seen::new();
    let mut out = Vec::new();
    for entry in raw {
        let entry = entry.into_inner();
        let Some(service) = checker.text(
            &entry.service,
            "`service` is empty",
            "e.g. service = \"Cloudflare\"",
        ) else {
            continue;
        };
        if let Some(first) = seen.check(&service.to_lowercase(), entry.service.span()) {
            checker.duplicate(
                entry.service.span(),
                first,
                format!("[[access]] `{service}` is listed twice"),
            );
            continue;
        }
        let kind = match &entry.kind {
            None => crate::AccessKind::Other,
            Some(value) => {
                let text = value.get_ref().trim();
                match crate::AccessKind::ALL.iter().find(|k| k.as_str() == text) {
                    Some(kind) => *kind,
                    None => {
                        checker.error(
                            value.span(),
                            format!("unknown access kind `{text}`"),
                            Some(access_kind_help(text)),
                        );
                        continue;
                    }
                }
            }
        };
        let text = |value: &Option<S<String>>| {
            value
                .as_ref()
                .map(|v| v.get_ref().trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if let Some(credential) = &entry.credential {
            let value = credential.get_ref().trim();
            if looks_like_a_secret(value) {
                checker.error(
                    credential.span(),
                    "`credential` looks like a secret itself",
                    Some("write where the credential lives, e.g. \"1Password: Launch/Cloudflare\", never the credential; rotate it if it was real".into()),
                );
                continue;
            }
        }
        out.push(crate::Access {
            service,
            kind,
            owner: text(&entry.owner),
            backup_owner: text(&entry.backup_owner),
            credential: text(&entry.credential),
            two_factor: entry.two_factor.as_ref().map(|v| *v.get_ref()),
            notes: text(&entry.notes),
        });
    }
    out
}

/// A location reads like words ("1Password: Launch/Cloudflare", "vault:secret/stripe"); a key is one long run of
/// letters and digits with few separators. Known key prefixes are refused whatever their length.
fn looks_like_a_secret(value: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sk_live_",
        "sk_test_",
        "rk_live_",
        "ghp_",
        "gho_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "AKIA",
        "AIza",
        "SG.",
        "whsec_",
        "-----BEGIN",
    ];
    if PREFIXES.iter().any(|p| value.starts_with(p)) {
        return true;
    }
    let longest_run = value
        .split(|c: char| c.is_whitespace() || matches!(c, '/' | ':' | ','))
        .map(|word| word.chars().filter(|c| c.is_ascii_alphanumeric()).count())
        .max()
        .unwrap_or(0);
    let digits = value.chars().filter(char::is_ascii_digit).count();
    longest_run >= 32 && digits >= 4
}
