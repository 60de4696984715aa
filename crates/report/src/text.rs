//! Wording shared by the human-readable formats, so the terminal, Markdown and HTML say the same thing the same way.

use launchready_findings::{
    Counts, DnsMapEntry, MapPath, Report, ReportKind, Severity, TlsSummary,
};

/// `1 blocker, 2 high, 1 medium, 0 low, 3 info (1 suppressed)`. Every severity is listed even at zero so the line
/// reads the same from run to run; the suppressed count only appears when something was suppressed.
pub fn counts(counts: &Counts) -> String {
    let mut line = Severity::ALL
        .iter()
        .map(|&severity| format!("{} {}", counts.get(severity), severity))
        .collect::<Vec<_>>()
        .join(", ");
    if counts.suppressed > 0 {
        line.push_str(&format!(" ({} suppressed)", counts.suppressed));
    }
    line
}

/// `high and above`, or the natural phrase at either end of the scale.
pub fn threshold(fail_on: Severity) -> String {
    match fail_on {
        Severity::Info => "any active finding".to_string(),
        Severity::Blocker => "blocker only".to_string(),
        other => format!("{other} and above"),
    }
}

/// `CI fails on: high and above (2 findings qualify)`.
pub fn fail_on(report: &Report, fail_on: Severity) -> String {
    let qualifying = report.failing(fail_on).count();
    let tally = match qualifying {
        0 => "no finding qualifies".to_string(),
        1 => "1 finding qualifies".to_string(),
        n => format!("{n} findings qualify"),
    };
    format!("CI fails on: {} ({tally})", threshold(fail_on))
}

/// `demo.test: not ready to launch — score 40/100`; for a secrets scan, `.: leaked secrets found`.
pub fn headline(report: &Report) -> String {
    let Some((failing, clean, review)) = verdict_words(report.kind) else {
        return format!(
            "{}: {} — score {}/100",
            report.target,
            report.verdict.title(),
            report.score
        );
    };
    let counts = &report.counts;
    // Passed smoke checks are info findings, so only medium and low ones are warnings.
    let nothing_to_do = if report.kind == ReportKind::Smoke {
        counts.medium + counts.low == 0
    } else {
        report.active().next().is_none()
    };
    let verdict = if counts.blocker + counts.high > 0 {
        failing
    } else if nothing_to_do {
        clean
    } else {
        review
    };
    format!("{}: {verdict}", report.target)
}

/// A scored kind's headline is its verdict; the others have their own words for: a blocker or high finding is
/// active; nothing needs attention; the rest.
fn verdict_words(kind: ReportKind) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        ReportKind::Audit | ReportKind::Gate => None,
        ReportKind::Secrets => Some((
            "leaked secrets found",
            "no leaked secrets found",
            "possible secrets to review",
        )),
        ReportKind::AiProbe => Some((
            "guardrails failed",
            "every guardrail probe passed",
            "guardrail probes to review",
        )),
        ReportKind::Smoke => Some((
            "smoke tests failed",
            "every smoke test passed",
            "smoke tests passed, with warnings",
        )),
        ReportKind::Env => Some((
            "environment variables put the launch at risk",
            "environment variables in order",
            "environment variables to tidy up",
        )),
    }
}

/// `score by category: reachability 20/20 · dns_routing 12.1/20 · …`, so a fix shows where the points came from.
pub fn score_breakdown(report: &Report) -> Option<String> {
    if report.score_breakdown.is_empty()
        || !matches!(report.kind, ReportKind::Audit | ReportKind::Gate)
    {
        return None;
    }
    let parts: Vec<String> = report
        .score_breakdown
        .iter()
        .map(|c| format!("{} {}/{}", c.category, trim(c.points), trim(c.weight)))
        .collect();
    Some(format!("score by category: {}", parts.join(" · ")))
}

/// `12.0` as `12`, `12.3` as `12.3`.
fn trim(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The comparison with an earlier run as a headline and one line per fixed and new finding (unchanged ones are
/// only counted), or nothing when the report was not compared.
pub fn comparison(report: &Report) -> Option<(String, Vec<String>)> {
    let comparison = report.comparison.as_ref()?;
    let mut lines = Vec::new();
    for (mark, list) in [("fixed", &comparison.fixed), ("new", &comparison.new)] {
        for key in list.iter() {
            lines.push(format!(
                "{mark:<5} {} {} — {} ({})",
                key.severity, key.id, key.subject, key.title
            ));
        }
    }
    Some((comparison.summary(report.score), lines))
}

/// The one-line summary that ends the terminal output.
pub fn summary(report: &Report) -> String {
    format!("{} — {}", headline(report), counts(&report.counts))
}

/// Where a DNS map host's https traffic ended up: `https://www.demo.test/ (200)`. Shown for a host whose entry
/// points were not recorded as paths.
pub fn final_destination(entry: &DnsMapEntry) -> String {
    match (&entry.final_url, entry.final_status) {
        (Some(url), Some(status)) => format!("{url} ({status})"),
        (Some(url), None) => format!("{url} (no response)"),
        (None, Some(status)) => format!("({status})"),
        (None, None) => "not probed".to_string(),
    }
}

/// A DNS map host's records as one chain, `CNAME edge.example. → A 192.0.2.1 · AAAA 2001:db8::1`: each CNAME points
/// on to what follows it, the addresses it ends in are listed side by side. An empty answer reads `(no records)`
/// instead of a blank.
pub fn record_chain(entry: &DnsMapEntry) -> String {
    let mut chain = String::new();
    let mut after_cname = false;
    for (i, record) in entry.records.iter().enumerate() {
        if i > 0 {
            chain.push_str(if after_cname { " → " } else { " · " });
        }
        chain.push_str(record);
        after_cname = record.starts_with("CNAME ");
    }
    if chain.is_empty() {
        chain.push_str("(no records)");
    }
    chain
}

/// How many certificate names the terminal's one-line TLS summary lists before summing up the rest: a CDN
/// certificate can carry hundreds. Markdown, HTML and JSON list them all.
pub const TERMINAL_NAMES: usize = 4;

/// A host's TLS summary in the words every human format uses. Each piece is raw text from the certificate or the
/// session (so still to be escaped by the format); pieces the audit left empty are `None` and left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsView<'a> {
    /// `TLSv1.3 h2`, `TLSv1.2`, or `handshake failed`.
    pub session: String,
    /// `EC 256`, `RSA 2048`.
    pub key: Option<&'a str>,
    /// The issuer's distinguished name, `C=US, O=Let's Encrypt, CN=R11`.
    pub issuer: Option<&'a str>,
    /// The not-after instant as recorded (RFC 3339).
    pub not_after: &'a str,
    /// `2027-01-15`: the not-after day, or the whole value when it is not an RFC 3339 timestamp.
    pub until: &'a str,
    /// The certificate's subject alternative names, in certificate order.
    pub sans: &'a [String],
    /// Why the certificate did not verify (`expired`, `hostname mismatch`), or `None` when it is valid.
    pub problem: Option<String>,
}

impl TlsView<'_> {
    /// Session, key, issuer, expiry and names, in that order: the compact line the terminal prints.
    pub fn facts(&self) -> Vec<String> {
        let mut facts = vec![self.session.clone()];
        facts.extend(self.key.map(str::to_string));
        facts.extend(self.issuer.map(str::to_string));
        facts.push(format!("until {}", self.until));
        facts.push(self.names(Some(TERMINAL_NAMES)));
        facts
    }

    /// `names www.demo.test, demo.test`; with a `limit`, at most that many then `+3 more`. `no names` when the
    /// certificate lists none.
    pub fn names(&self, limit: Option<usize>) -> String {
        if self.sans.is_empty() {
            return "no names".to_string();
        }
        let shown = limit.unwrap_or(self.sans.len());
        let mut names = format!(
            "names {}",
            self.sans
                .iter()
                .take(shown)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        );
        if self.sans.len() > shown {
            names.push_str(&format!(" +{} more", self.sans.len() - shown));
        }
        names
    }

    /// `✗ expired`, or `✓ valid`.
    pub fn verdict(&self) -> String {
        match &self.problem {
            Some(problem) => format!("✗ {problem}"),
            None => "✓ valid".to_string(),
        }
    }

    /// Failure when the certificate did not verify, success otherwise.
    pub fn tone(&self) -> Tone {
        if self.problem.is_some() {
            Tone::Failure
        } else {
            Tone::Success
        }
    }
}

pub fn tls_view(tls: &TlsSummary) -> TlsView<'_> {
    let mut session = tls.version.clone();
    if let Some(alpn) = tls.alpn.as_deref().filter(|alpn| !alpn.is_empty()) {
        session.push(' ');
        session.push_str(alpn);
    }
    let non_empty = |text: &str| !text.trim().is_empty();
    let problem = match tls.verification.as_str() {
        "valid" => None,
        "not_yet_valid" => Some("not yet valid".to_string()),
        "hostname_mismatch" => Some("hostname mismatch".to_string()),
        "unknown_issuer" => Some("unknown issuer".to_string()),
        "" => Some("not verified".to_string()),
        other => Some(other.to_string()),
    };
    TlsView {
        session,
        key: Some(tls.key.as_str()).filter(|key| non_empty(key)),
        issuer: Some(tls.issuer.as_str()).filter(|issuer| non_empty(issuer)),
        not_after: &tls.not_after,
        until: day(&tls.not_after),
        sans: &tls.sans,
        problem,
    }
}

/// `2027-01-15` from `2027-01-15T08:00:00Z`; anything that does not start with a date is kept whole.
fn day(timestamp: &str) -> &str {
    let is_date = |date: &str| {
        date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
    };
    match timestamp.get(..10) {
        Some(date) if is_date(date) && timestamp[10..].starts_with(['T', 't', ' ']) => date,
        _ => timestamp,
    }
}

/// How a piece of a path should look: the human formats colour by it (2xx green, 3xx amber, failures red).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Success,
    Redirect,
    Failure,
    Neutral,
}

impl Tone {
    /// `2xx`, `3xx`, `4xx` and `5xx` by class; anything else (1xx, nonsense) is neutral.
    pub fn of_status(status: u16) -> Tone {
        match status {
            200..=299 => Tone::Success,
            300..=399 => Tone::Redirect,
            400..=599 => Tone::Failure,
            _ => Tone::Neutral,
        }
    }

    /// A short name for CSS classes.
    pub fn as_str(self) -> &'static str {
        match self {
            Tone::Success => "ok",
            Tone::Redirect => "redirect",
            Tone::Failure => "fail",
            Tone::Neutral => "neutral",
        }
    }
}

/// What came back for one request on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Status(u16),
    /// The request failed without a response: `timeout`, `connection refused`.
    Error(&'a str),
    /// Neither a status nor an error was recorded.
    NoResponse,
    /// The path's start, when the recorded hops do not begin with it: shown bare, with an arrow to the first hop.
    NotRequested,
}

impl Outcome<'_> {
    /// `301`, `✗ timeout`, `✗ no response`, or nothing for a start that was not requested.
    pub fn text(self) -> String {
        match self {
            Outcome::Status(status) => status.to_string(),
            Outcome::Error(error) => format!("✗ {error}"),
            Outcome::NoResponse => "✗ no response".to_string(),
            Outcome::NotRequested => String::new(),
        }
    }

    pub fn tone(self) -> Tone {
        match self {
            Outcome::Status(status) => Tone::of_status(status),
            Outcome::Error(_) | Outcome::NoResponse => Tone::Failure,
            Outcome::NotRequested => Tone::Neutral,
        }
    }
}

/// One request on a path, as the human formats show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<'a> {
    pub url: &'a str,
    pub outcome: Outcome<'a>,
}

/// Why following stopped, when the last step does not already say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    /// A redirect back to a URL already visited.
    Loop,
    /// The hop budget ran out after this many requests.
    GaveUp(usize),
    /// A redirect without a usable Location.
    BadRedirect,
    /// The path failed although its last step got a response.
    Failed,
    /// An `end` value this version does not know.
    Other(&'a str),
}

impl Ending<'_> {
    /// `↻ loop`, `… gave up after 10 hops`.
    pub fn text(self) -> String {
        match self {
            Ending::Loop => "↻ loop".to_string(),
            Ending::GaveUp(1) => "… gave up after 1 hop".to_string(),
            Ending::GaveUp(hops) => format!("… gave up after {hops} hops"),
            Ending::BadRedirect => "✗ redirect without a usable Location".to_string(),
            Ending::Failed => "✗ failed".to_string(),
            Ending::Other(end) => format!("ended: {end}"),
        }
    }

    pub fn tone(self) -> Tone {
        match self {
            Ending::Loop | Ending::GaveUp(_) => Tone::Redirect,
            Ending::BadRedirect | Ending::Failed => Tone::Failure,
            Ending::Other(_) => Tone::Neutral,
        }
    }
}

/// A path ready to print: `steps` is never empty and starts at the path's start URL; `ending` is set only when the
/// steps alone would not tell how following stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathView<'a> {
    pub steps: Vec<Step<'a>>,
    pub ending: Option<Ending<'a>>,
}

pub fn path_view(path: &MapPath) -> PathView<'_> {
    let mut steps: Vec<Step<'_>> = Vec::with_capacity(path.hops.len() + 1);
    if path.hops.first().is_none_or(|hop| hop.url != path.start) {
        steps.push(Step {
            url: &path.start,
            outcome: if path.hops.is_empty() {
                Outcome::NoResponse
            } else {
                Outcome::NotRequested
            },
        });
    }
    steps.extend(path.hops.iter().map(|hop| Step {
        url: &hop.url,
        outcome: match (hop.status, &hop.error) {
            (Some(status), _) => Outcome::Status(status),
            (None, Some(error)) => Outcome::Error(error),
            (None, None) => Outcome::NoResponse,
        },
    }));
    let last_failed = steps
        .last()
        .is_some_and(|step| matches!(step.outcome, Outcome::Error(_) | Outcome::NoResponse));
    let ending = match path.end.as_str() {
        "final" => None,
        "loop" => Some(Ending::Loop),
        "too_many_hops" => Some(Ending::GaveUp(path.hops.len())),
        "bad_redirect" => Some(Ending::BadRedirect),
        "failed" if last_failed => None,
        "failed" => Some(Ending::Failed),
        other => Some(Ending::Other(other)),
    };
    PathView { steps, ending }
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchready_findings::MapHop;

    #[test]
    fn counts_hide_a_zero_suppressed_tally() {
        let mut c = Counts {
            blocker: 1,
            high: 2,
            ..Counts::default()
        };
        assert_eq!(counts(&c), "1 blocker, 2 high, 0 medium, 0 low, 0 info");
        c.suppressed = 1;
        assert_eq!(
            counts(&c),
            "1 blocker, 2 high, 0 medium, 0 low, 0 info (1 suppressed)"
        );
    }

    fn hop(url: &str, status: Option<u16>, error: Option<&str>) -> MapHop {
        MapHop {
            url: url.to_string(),
            status,
            error: error.map(str::to_string),
        }
    }

    fn map_path(end: &str, hops: Vec<MapHop>) -> MapPath {
        MapPath {
            start: "http://a.test/".to_string(),
            hops,
            end: end.to_string(),
        }
    }

    fn entry(records: &[&str]) -> DnsMapEntry {
        DnsMapEntry {
            host: "a.test".to_string(),
            role: "apex".to_string(),
            records: records.iter().map(|r| r.to_string()).collect(),
            final_url: None,
            final_status: None,
            paths: vec![],
            tls: None,
        }
    }

    fn tls(version: &str, alpn: Option<&str>, sans: &[&str], verification: &str) -> TlsSummary {
        TlsSummary {
            version: version.to_string(),
            alpn: alpn.map(str::to_string),
            issuer: "C=US, O=Let's Encrypt, CN=R11".to_string(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            not_after: "2027-01-15T08:30:00Z".to_string(),
            key: "EC 256".to_string(),
            verification: verification.to_string(),
        }
    }

    #[test]
    fn tls_view_reads_as_one_compact_line() {
        let summary = tls(
            "TLSv1.3",
            Some("h2"),
            &["www.demo.test", "demo.test"],
            "valid",
        );
        let view = tls_view(&summary);
        assert_eq!(
            view.facts().join(" · "),
            "TLSv1.3 h2 · EC 256 · C=US, O=Let's Encrypt, CN=R11 · until 2027-01-15 · names www.demo.test, demo.test"
        );
        assert_eq!(
            (view.verdict().as_str(), view.tone()),
            ("✓ valid", Tone::Success)
        );
    }

    #[test]
    fn tls_view_spells_out_problems_and_sums_up_long_name_lists() {
        let many = ["a.test", "b.test", "c.test", "d.test", "e.test", "f.test"];
        let failed = tls("handshake failed", None, &many, "hostname_mismatch");
        let view = tls_view(&failed);
        assert_eq!(view.session, "handshake failed");
        assert_eq!(
            view.names(Some(TERMINAL_NAMES)),
            "names a.test, b.test, c.test, d.test +2 more"
        );
        assert_eq!(
            view.names(None),
            "names a.test, b.test, c.test, d.test, e.test, f.test"
        );
        assert_eq!(view.verdict(), "✗ hostname mismatch");
        assert_eq!(view.tone(), Tone::Failure);
        let revoked = tls("TLSv1.2", Some(""), &[], "certificate revoked");
        let view = tls_view(&revoked);
        assert_eq!(view.session, "TLSv1.2");
        assert_eq!(view.names(None), "no names");
        assert_eq!(view.verdict(), "✗ certificate revoked");
    }

    #[test]
    fn tls_expiry_shows_the_day_or_the_value_as_recorded() {
        assert_eq!(day("2027-01-15T08:30:00Z"), "2027-01-15");
        assert_eq!(day("2027-01-15T08:30:00+02:00"), "2027-01-15");
        assert_eq!(day("1700000000"), "1700000000");
        assert_eq!(day("2027-01-15"), "2027-01-15");
        assert_eq!(day("2027-01-1é"), "2027-01-1é");
        assert_eq!(day(""), "");
    }

    #[test]
    fn record_chain_follows_cnames_and_lists_addresses_side_by_side() {
        assert_eq!(
            record_chain(&entry(&[
                "CNAME b.test.",
                "CNAME c.edge.",
                "A 192.0.2.1",
                "AAAA ::1"
            ])),
            "CNAME b.test. → CNAME c.edge. → A 192.0.2.1 · AAAA ::1"
        );
        assert_eq!(
            record_chain(&entry(&["CNAME gone.test.", "NXDOMAIN"])),
            "CNAME gone.test. → NXDOMAIN"
        );
        assert_eq!(record_chain(&entry(&[])), "(no records)");
    }

    #[test]
    fn a_final_path_needs_no_ending_and_a_failed_hop_shows_its_error() {
        let failed = map_path(
            "failed",
            vec![
                hop("http://a.test/", Some(301), None),
                hop("https://a.test/", None, Some("timeout")),
            ],
        );
        let view = path_view(&failed);
        assert_eq!(view.ending, None);
        assert_eq!(view.steps[0].url, "http://a.test/");
        assert_eq!(view.steps[1].outcome.text(), "✗ timeout");
        assert_eq!(view.steps[1].outcome.tone(), Tone::Failure);
        let ok = map_path("final", vec![hop("http://a.test/", Some(200), None)]);
        let view = path_view(&ok);
        assert_eq!((view.steps.len(), view.ending), (1, None));
        assert_eq!(view.steps[0].outcome.tone(), Tone::Success);
    }

    #[test]
    fn endings_the_steps_cannot_show_are_spelled_out() {
        let redirect = || {
            vec![
                hop("http://a.test/", Some(301), None),
                hop("https://a.test/", Some(302), None),
            ]
        };
        let ending = |end: &str| {
            path_view(&map_path(end, redirect()))
                .ending
                .map(Ending::text)
        };
        assert_eq!(ending("loop").as_deref(), Some("↻ loop"));
        assert_eq!(
            ending("too_many_hops").as_deref(),
            Some("… gave up after 2 hops")
        );
        assert_eq!(
            ending("bad_redirect").as_deref(),
            Some("✗ redirect without a usable Location")
        );
        assert_eq!(ending("failed").as_deref(), Some("✗ failed"));
        assert_eq!(ending("teleported").as_deref(), Some("ended: teleported"));
        assert_eq!(Ending::GaveUp(1).text(), "… gave up after 1 hop");
    }

    #[test]
    fn the_start_is_always_the_first_step() {
        let empty = map_path("failed", vec![]);
        let view = path_view(&empty);
        assert_eq!(
            view.steps,
            vec![Step {
                url: "http://a.test/",
                outcome: Outcome::NoResponse
            }]
        );
        assert_eq!(view.ending, None);
        let elsewhere = map_path("final", vec![hop("https://a.test/", Some(200), None)]);
        let view = path_view(&elsewhere);
        assert_eq!(
            view.steps[0],
            Step {
                url: "http://a.test/",
                outcome: Outcome::NotRequested
            }
        );
        assert_eq!(view.steps[1].url, "https://a.test/");
    }

    #[test]
    fn status_classes_pick_the_tone() {
        assert_eq!(Tone::of_status(204), Tone::Success);
        assert_eq!(Tone::of_status(308), Tone::Redirect);
        assert_eq!(Tone::of_status(404), Tone::Failure);
        assert_eq!(Tone::of_status(503), Tone::Failure);
        assert_eq!(Tone::of_status(101), Tone::Neutral);
    }

    #[test]
    fn threshold_reads_naturally_at_both_ends() {
        assert_eq!(threshold(Severity::High), "high and above");
        assert_eq!(threshold(Severity::Blocker), "blocker only");
        assert_eq!(threshold(Severity::Info), "any active finding");
    }
}
