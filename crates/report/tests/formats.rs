//! Behaviour every format must keep whatever its layout: format names, colour only on request, the fix-window split,
//! suppressed findings never dropped, and text from the audited site escaped wherever it lands.

#![allow(clippy::unwrap_used)] // Test helpers, not only #[test] functions, may unwrap.

mod common;

use common::{demo, demo_report, plain};
use launchready_findings::{Report, Severity};
use launchready_report::{Format, RenderOptions, render};

/// The text between `start` and the next `## ` heading (or the end).
fn section<'a>(markdown: &'a str, start: &str) -> &'a str {
    let from = markdown.find(start).unwrap() + start.len();
    let rest = &markdown[from..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn format_parses_names_and_aliases_case_insensitively() {
    let cases = [
        ("text", Format::Terminal),
        ("terminal", Format::Terminal),
        ("json", Format::Json),
        ("markdown", Format::Markdown),
        ("md", Format::Markdown),
        ("HTML", Format::Html),
        ("Sarif", Format::Sarif),
    ];
    for (name, format) in cases {
        assert_eq!(name.parse::<Format>(), Ok(format), "{name}");
    }
}

#[test]
fn format_display_round_trips_through_from_str() {
    for format in Format::ALL {
        assert_eq!(format.to_string().parse::<Format>(), Ok(format));
    }
    assert_eq!(Format::Terminal.to_string(), "text");
}

#[test]
fn unknown_format_error_lists_the_choices() {
    let err = "xml".parse::<Format>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown format `xml` (expected one of: text (or terminal), json, markdown (or md), html, sarif, junit)"
    );
}

#[test]
fn terminal_without_color_has_no_escape_sequences() {
    let mut report = demo_report();
    // Evidence is copied from the audited site; an escape sequence in it must not reach the terminal either.
    report.findings[0]
        .evidence
        .push("Server: \u{1b}[2Jevil".to_string());
    let out = render(&report, Format::Terminal, &plain());
    assert!(!out.contains('\x1b'), "{out}");
    assert!(out.contains("Server: \\u{1b}[2Jevil"));
}

#[test]
fn terminal_without_color_defuses_escape_sequences_in_the_dns_map() {
    let mut report = demo_report();
    let path = &mut report.dns_map[2].paths[0];
    path.hops[0].error = Some("reset \u{1b}[2J".to_string());
    path.hops[0].url = "https://members.demo.test/\u{1b}]8;;evil".to_string();
    let out = render(&report, Format::Terminal, &plain());
    assert!(!out.contains('\x1b'), "{out}");
    assert!(out.contains("✗ reset \\u{1b}[2J"), "{out}");
}

/// The demo report on a colour terminal.
fn coloured_terminal() -> String {
    let options = RenderOptions {
        color: true,
        ..plain()
    };
    render(&demo_report(), Format::Terminal, &options)
}

#[test]
fn terminal_with_color_has_escape_sequences() {
    let out = coloured_terminal();
    assert!(out.contains('\x1b'));
}

#[test]
fn terminal_groups_active_findings_by_stage_and_ends_with_the_summary() {
    let out = demo(Format::Terminal);
    let stage1 = out.find("Stage 1: Quick audit").unwrap();
    let stage2 = out.find("Stage 2: DNS and routing").unwrap();
    assert!(stage1 < out.find("tls.cert.expired").unwrap());
    assert!(stage1 < stage2 && stage2 < out.find("dns.host.missing").unwrap());
    // The only email finding is suppressed, so its stage has no active group.
    assert!(!out.contains("Stage 5: Email deliverability"));
    assert!(out.trim_end().ends_with(
        "demo.test: not ready to launch — score 76/100 — 1 blocker, 1 high, 1 medium, 0 low, 1 info (1 suppressed)"
    ));
    assert!(out.contains("CI fails on: high and above (2 findings qualify)"));
}

#[test]
fn fail_on_wording_follows_the_threshold() {
    let options = RenderOptions {
        fail_on: Severity::Blocker,
        ..plain()
    };
    let out = render(&demo_report(), Format::Markdown, &options);
    assert!(out.contains("CI fails on: blocker only (1 finding qualifies)"));
}

#[test]
fn markdown_puts_now_findings_under_must_fix_and_the_rest_under_can_wait() {
    let out = demo(Format::Markdown);
    let now = section(&out, "## Must fix now");
    let later = section(&out, "## Can wait until after launch");
    let suppressed = section(&out, "## Suppressed");
    for id in ["tls.cert.expired", "dns.host.missing"] {
        assert!(now.contains(id) && !later.contains(id), "{id}");
    }
    for id in ["redirect.too_many_hops", "dns.ttl.long"] {
        assert!(later.contains(id) && !now.contains(id), "{id}");
    }
    // Suppressed findings are listed only in their own section, whatever their window.
    assert!(suppressed.contains("email.dmarc.missing"));
    assert!(!now.contains("email.dmarc.missing") && !later.contains("email.dmarc.missing"));
}

#[test]
fn markdown_escapes_pipes_and_line_breaks_inside_cells() {
    let mut report = demo_report();
    report.findings[0].evidence = vec!["Server: a|b\nsecond line".to_string()];
    let out = render(&report, Format::Markdown, &plain());
    let row = out
        .lines()
        .find(|line| line.contains("tls.cert.expired"))
        .unwrap();
    assert!(row.contains("Server: a\\|b<br>second line"), "{row}");
    // Seven unescaped pipes: the row still has exactly six cells.
    let unescaped = row.replace("\\|", "");
    assert_eq!(unescaped.matches('|').count(), 7, "{row}");
}

/// The www host's http entry point: one redirect, then the final page.
const HTTP_WWW: &str = "http://www.demo.test/";
const HTTPS_WWW: &str = "https://www.demo.test/";

#[test]
fn terminal_shows_each_host_with_its_records_and_path_chains() {
    let out = demo(Format::Terminal);
    let map = &out[out.find("DNS map").unwrap()..];
    assert!(map.contains("  www.demo.test  (www)  CNAME demo-site.edge.example. → A 192.0.2.20\n"));
    // Start URLs are padded to the widest on the host so the first statuses line up.
    assert!(
        map.contains(&format!(
            "\n    {HTTPS_WWW}  200\n    {HTTP_WWW}   301 → {HTTPS_WWW}  200\n"
        )),
        "{map}"
    );
    assert!(
        map.contains(
            "    http://members.demo.test/   301 → https://members.demo.test/  ✗ timeout\n"
        )
    );
    // The unresolved host has no paths and says so rather than leaving a gap.
    assert!(
        map.contains("  admin.demo.test  (subdomain)  (no records)\n    not probed\n"),
        "{map}"
    );
}

#[test]
fn markdown_lists_path_chains_in_the_dns_map() {
    let out = demo(Format::Markdown);
    let map = section(&out, "## DNS map");
    let row = map
        .lines()
        .find(|line| line.starts_with("| www.demo.test |"))
        .unwrap();
    assert!(
        row.contains(&format!("{HTTP_WWW} `301` → {HTTPS_WWW} `200`")),
        "{row}"
    );
    assert!(
        row.contains("CNAME demo-site.edge.example. → A 192.0.2.20"),
        "{row}"
    );
    assert!(
        map.contains("https://members.demo.test/ ✗ timeout"),
        "{map}"
    );
    let admin = map
        .lines()
        .find(|line| line.starts_with("| admin.demo.test |"))
        .unwrap();
    assert!(admin.ends_with("| not probed |"), "{admin}");
    // Six unescaped pipes: every row keeps its five cells.
    for line in map.lines().filter(|line| line.starts_with('|')) {
        assert_eq!(line.replace("\\|", "").matches('|').count(), 6, "{line}");
    }
}

#[test]
fn html_lists_path_chains_in_the_dns_map() {
    let out = demo(Format::Html);
    let chain = format!(
        "<code>{HTTP_WWW}</code> <span class=\"st st-redirect\">301</span> <span class=\"arrow\">→</span> \
         <code>{HTTPS_WWW}</code> <span class=\"st st-ok\">200</span>"
    );
    assert!(out.contains(&chain), "{out}");
    assert!(out.contains("<span class=\"st st-fail\">✗ timeout</span>"));
}

#[test]
fn dns_map_text_from_the_audited_site_is_escaped() {
    let mut report = demo_report();
    let hop = &mut report.dns_map[2].paths[0].hops[0];
    hop.url = "https://members.demo.test/<script>|x".to_string();
    hop.error = Some("<b>bad</b> | worse".to_string());
    let html = render(&report, Format::Html, &plain());
    assert!(
        !html.contains("<script") && !html.contains("<b>"),
        "raw tag in the HTML"
    );
    assert!(html.contains("<code>https://members.demo.test/&lt;script&gt;|x</code>"));
    assert!(html.contains("✗ &lt;b&gt;bad&lt;/b&gt; | worse"));
    let markdown = render(&report, Format::Markdown, &plain());
    let row = markdown
        .lines()
        .find(|line| line.starts_with("| members.demo.test |"))
        .unwrap();
    assert!(
        row.contains("https://members.demo.test/\\<script>\\|x ✗ \\<b>bad\\</b> \\| worse"),
        "{row}"
    );
    assert_eq!(row.replace("\\|", "").matches('|').count(), 6, "{row}");
}

/// What the fixture's hosts with TLS must show wherever a person reads the report: issuer, key and expiry day.
const TLS_FACTS: [(&str, &str, &str, &str); 3] = [
    (
        "demo.test",
        "C=US, O=Let's Encrypt, CN=R11",
        "RSA 2048",
        "2026-02-14",
    ),
    (
        "www.demo.test",
        "C=US, O=Google Trust Services, CN=WE1",
        "EC 256",
        "2026-03-02",
    ),
    (
        "members.demo.test",
        "CN=Demo Issuing CA 1, O=Demo Trust",
        "EC 384",
        "2025-12-01",
    ),
];

#[test]
fn human_formats_show_each_hosts_issuer_key_and_expiry() {
    let terminal = demo(Format::Terminal);
    let markdown = demo(Format::Markdown);
    let html = demo(Format::Html);
    let terminal_map = &terminal[terminal.find("\nDNS map\n").unwrap()..];
    let markdown_map = section(&markdown, "## DNS map");
    let html_map = &html[html.find("<h2>DNS map</h2>").unwrap()..];
    for (host, issuer, key, day) in TLS_FACTS {
        let holds_all = |line: &str, facts: [&str; 3]| {
            for fact in facts {
                assert!(line.contains(fact), "{host}: {fact} in {line}");
            }
        };
        // Terminal: the line right under the host's own line.
        let host_line = format!("\n  {host}  (");
        let below = &terminal_map[terminal_map.find(&host_line).unwrap() + 1..];
        let tls_line = below.lines().nth(1).unwrap();
        assert!(tls_line.starts_with("    TLS  "), "{host}: {tls_line}");
        holds_all(tls_line, [issuer, key, &format!("until {day}")]);
        // Markdown: the host's row.
        let row = markdown_map
            .lines()
            .find(|line| line.starts_with(&format!("| {host} |")))
            .unwrap();
        holds_all(row, [issuer, key, &format!("until {day}")]);
        // HTML: the host's row, with the issuer's apostrophe escaped.
        let row = html_map
            .lines()
            .find(|line| line.starts_with(&format!("<tr><td>{host}</td>")))
            .unwrap();
        let issuer = issuer.replace('\'', "&#39;");
        holds_all(row, [issuer.as_str(), key, &format!(">{day}</time>")]);
    }
}

#[test]
fn terminal_tls_line_sits_between_the_host_and_its_paths() {
    let out = demo(Format::Terminal);
    assert!(
        out.contains(
            "  www.demo.test  (www)  CNAME demo-site.edge.example. → A 192.0.2.20\n    \
             TLS  TLSv1.3 h2 · EC 256 · C=US, O=Google Trust Services, CN=WE1 · until 2026-03-02 · \
             names demo.test, *.demo.test\n    https://www.demo.test/  200\n"
        ),
        "{out}"
    );
    // A certificate that did not verify says so at the end of the line; a valid one adds nothing.
    assert!(
        out.contains(
            "    TLS  TLSv1.3 · EC 384 · CN=Demo Issuing CA 1, O=Demo Trust · until 2025-12-01 · \
             names members.demo.test · ✗ expired\n"
        ),
        "{out}"
    );
    assert!(!out.contains("✓ valid"), "{out}");
    // The unresolved host has no TLS summary and no TLS line.
    assert!(
        out.contains("  admin.demo.test  (subdomain)  (no records)\n    not probed\n"),
        "{out}"
    );
}

#[test]
fn terminal_tls_line_is_dimmed_and_a_failed_verification_red() {
    let out = coloured_terminal();
    let line = out
        .lines()
        .find(|line| line.contains("names members.demo.test"))
        .unwrap();
    assert!(line.starts_with("    \u{1b}[2mTLS  "), "{line:?}");
    let verdict = line.find("✗ expired").unwrap();
    let red = line[..verdict].rfind("\u{1b}[").unwrap();
    assert!(line[red..verdict].starts_with("\u{1b}[31"), "{line:?}");
}

#[test]
fn markdown_and_html_give_the_tls_verdict() {
    let markdown = demo(Format::Markdown);
    let map = section(&markdown, "## DNS map");
    let row = |host: &str| {
        map.lines()
            .find(|line| line.starts_with(&format!("| {host} |")))
            .unwrap()
    };
    assert!(
        row("www.demo.test").contains(
            "| TLSv1.3 h2 · EC 256<br>C=US, O=Google Trust Services, CN=WE1<br>until 2026-03-02<br>\
             names demo.test, \\*.demo.test<br>✓ valid |"
        ),
        "{map}"
    );
    assert!(
        row("members.demo.test").contains("<br>**✗ expired** |"),
        "{map}"
    );
    assert!(
        row("admin.demo.test").contains("| (no records) | — |"),
        "{map}"
    );
    let html = demo(Format::Html);
    assert!(html.contains("<span class=\"st st-ok\">✓ valid</span>"));
    assert!(html.contains("<span class=\"st st-fail\">✗ expired</span>"));
    assert!(html.contains("until <time datetime=\"2025-12-01T00:00:00Z\">2025-12-01</time>"));
}

#[test]
fn only_the_terminal_sums_up_a_long_list_of_certificate_names() {
    let mut report = demo_report();
    let names: Vec<String> = (1..=7).map(|i| format!("s{i}.demo.test")).collect();
    report.dns_map[1].tls.as_mut().unwrap().sans = names.clone();
    let terminal = render(&report, Format::Terminal, &plain());
    assert!(
        terminal.contains("names s1.demo.test, s2.demo.test, s3.demo.test, s4.demo.test +3 more\n"),
        "{terminal}"
    );
    let all = format!("names {}", names.join(", "));
    for format in [Format::Markdown, Format::Html] {
        let out = render(&report, format, &plain());
        assert!(out.contains(&all), "{format}: {out}");
    }
}

#[test]
fn tls_text_from_the_certificate_is_escaped() {
    let mut report = demo_report();
    let tls = report.dns_map[1].tls.as_mut().unwrap();
    tls.issuer = "O=<b>Evil|CA</b>\nCN=\u{1b}[2Jx".to_string();
    tls.sans = vec!["<i>a</i>|b".to_string()];
    tls.verification = "revoked <script>".to_string();
    let terminal = render(&report, Format::Terminal, &plain());
    assert!(!terminal.contains('\x1b'), "{terminal}");
    assert!(
        terminal.contains("O=<b>Evil|CA</b> CN=\\u{1b}[2Jx · until 2026-03-02 · names <i>a</i>|b · ✗ revoked <script>\n"),
        "{terminal}"
    );
    let markdown = render(&report, Format::Markdown, &plain());
    let row = markdown
        .lines()
        .find(|line| line.starts_with("| www.demo.test |"))
        .unwrap();
    assert!(row.contains("O=\\<b>Evil\\|CA\\</b><br>CN="), "{row}");
    assert!(row.contains("**✗ revoked \\<script>**"), "{row}");
    assert_eq!(row.replace("\\|", "").matches('|').count(), 6, "{row}");
    let html = render(&report, Format::Html, &plain());
    for raw in ["<b>", "<i>", "<script"] {
        assert!(!html.contains(raw), "raw {raw} in the HTML");
    }
    assert!(html.contains("O=&lt;b&gt;Evil|CA&lt;/b&gt;<br>CN="));
    assert!(html.contains("✗ revoked &lt;script&gt;"));
}

#[test]
fn suppressed_findings_appear_in_every_format_with_their_reason() {
    let reason_html = "Mail is sent from the agency&#39;s domain until March; tracked in OPS-42";
    let reason = "Mail is sent from the agency's domain until March; tracked in OPS-42";
    for format in Format::ALL {
        let out = demo(format);
        assert!(out.contains("email.dmarc.missing"), "{format}");
        let expected = if format == Format::Html {
            reason_html
        } else {
            reason
        };
        assert!(out.contains(expected), "{format}: reason missing");
    }
    let terminal = demo(Format::Terminal);
    assert!(terminal.contains("Suppressed (1)"));
}

#[test]
fn html_escapes_text_from_the_audited_site() {
    let mut report = demo_report();
    report.findings[0]
        .evidence
        .push("<script>alert('x')</script> & more".to_string());
    report.findings[0].reference = "javascript:alert(1)".to_string();
    let out = render(&report, Format::Html, &plain());
    assert!(!out.contains("<script"), "raw script tag in the HTML");
    assert!(out.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
    assert!(!out.contains("href=\"javascript:"));
}

#[test]
fn html_is_one_self_contained_page() {
    let out = demo(Format::Html);
    assert!(out.starts_with("<!DOCTYPE html>"));
    assert!(out.contains("<style>"));
    for external in ["<script", "<link", "<img", "src=", "@import", "url("] {
        assert!(!out.contains(external), "found {external}");
    }
}

#[test]
fn json_is_the_report_serde_form_and_round_trips() {
    let report = demo_report();
    let out = render(&report, Format::Json, &plain());
    assert!(out.ends_with('\n'));
    let back: Report = serde_json::from_str(&out).unwrap();
    assert_eq!(back, report);
}

#[test]
fn sarif_maps_severities_to_levels_and_marks_suppressions() {
    let out = demo(Format::Sarif);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let level_of = |id: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == id)
            .map(|r| r["level"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(level_of("tls.cert.expired"), "error");
    assert_eq!(level_of("dns.host.missing"), "error");
    assert_eq!(level_of("redirect.too_many_hops"), "warning");
    assert_eq!(level_of("dns.ttl.long"), "note");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let suppressed = result.get("suppressions").is_some();
        assert_eq!(suppressed, result["ruleId"] == "email.dmarc.missing");
    }
}

#[test]
fn sarif_has_one_rule_per_distinct_finding_id() {
    let mut report = demo_report();
    let mut twin = report.findings[1].clone();
    twin.subject = "staff.demo.test".to_string();
    report.findings.insert(2, twin);
    let out = render(&report, Format::Sarif, &plain());
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!((rules.len(), results.len()), (5, 6));
    assert_eq!(results[1]["ruleIndex"], results[2]["ruleIndex"]);
}

#[test]
fn an_empty_report_renders_in_every_format() {
    let report = Report::new("quiet.test", "2026-01-01T00:00:00Z", vec![], vec![]);
    for format in Format::ALL {
        let out = render(&report, format, &plain());
        assert!(out.ends_with('\n'), "{format}");
        assert!(!out.contains("Suppressed (0)"), "{format}");
    }
    let terminal = render(&report, Format::Terminal, &plain());
    assert!(terminal.contains("No active findings."));
    assert!(terminal.contains("quiet.test: ready to launch — score 100/100"));
    let markdown = render(&report, Format::Markdown, &plain());
    assert!(section(&markdown, "## Must fix now").contains("_None._"));
}

#[test]
fn junit_is_well_formed_and_fails_exactly_the_findings_at_or_above_fail_on() {
    let report = demo_report();
    let out = render(&report, Format::Junit, &plain());
    let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), report.findings.len());
    let failed = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let expected = report
        .findings
        .iter()
        .filter(|f| f.is_active() && f.severity >= plain().fail_on)
        .count();
    assert_eq!(failed, expected);
    let skipped = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
        .count();
    assert_eq!(
        skipped,
        report.findings.iter().filter(|f| !f.is_active()).count()
    );
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(
        suite.attribute("failures"),
        Some(expected.to_string().as_str())
    );
}

#[test]
fn sarif_places_file_findings_physically_with_a_fingerprint() {
    use launchready_findings::SourceLocation;
    let mut report = demo_report();
    report.findings[0] = report.findings[0]
        .clone()
        .at(SourceLocation {
            path: "config/my settings.env".to_string(),
            line: 3,
            column: 7,
            commit: None,
        })
        .with_fingerprint("abc123");
    let sarif: serde_json::Value =
        serde_json::from_str(&render(&report, Format::Sarif, &plain())).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    let physical = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        physical["artifactLocation"]["uri"],
        "config/my%20settings.env"
    );
    assert_eq!(physical["region"]["startLine"], 3);
    assert_eq!(physical["region"]["startColumn"], 7);
    assert_eq!(result["partialFingerprints"]["launchready/v1"], "abc123");
    // Host findings keep only their logical location.
    let other = &sarif["runs"][0]["results"][1]["locations"][0];
    assert!(other.get("physicalLocation").is_none());
}
