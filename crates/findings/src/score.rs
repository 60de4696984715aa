//! The 0–100 score: a rubric that moves with every fix. Findings are grouped into categories of fixed weight (as
//! internet.nl weighs its test categories); within a category each distinct finding id costs according to its
//! worst severity, a little more for each extra subject it hits (capped, so one misconfigured header repeated on
//! six hosts is one problem, not six), and the category keeps `exp(-cost)` of its weight. The exponential never
//! reaches zero, so fixing any non-info finding raises the score, and a category can lose at most its weight, so
//! one disaster cannot hide progress everywhere else (the "every blocker scores 0/100" trap of a flat penalty).

use crate::{Finding, ReportKind, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One category's share of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryScore {
    /// e.g. `tls`.
    pub category: String,
    /// Its share of 100, one decimal.
    pub weight: f64,
    /// What it kept, 0..=weight, one decimal.
    pub points: f64,
}

/// The audit's categories: (name, weight, id prefixes). Weights sum to 100.
const AUDIT: &[(&str, u8, &[&str])] = &[
    (
        "reachability",
        20,
        &["http.", "route.", "subdomain.", "content."],
    ),
    ("dns_routing", 20, &["dns.", "redirect.", "legacy_link."]),
    ("https", 20, &["tls.", "hsts."]),
    (
        "edge",
        20,
        &["headers.", "cookie.", "cache.", "perf.", "edge."],
    ),
    ("email", 20, &["email."]),
];

/// A gate report's categories beyond the audit's: one per other part, each weighing as much as one audit
/// category (the weights are rescaled to 100 with the audit's).
const GATE_PARTS: &[(&str, u8, &[&str])] = &[
    ("secrets", 20, &["secrets."]),
    ("env", 20, &["env."]),
    ("smoke", 20, &["smoke."]),
    ("deploy", 20, &["deploy.", "gate."]),
    ("load", 20, &["load."]),
];

/// What one distinct id costs at its worst severity, before repeats.
fn base_cost(severity: Severity) -> f64 {
    match severity {
        Severity::Blocker => 1.2,
        Severity::High => 0.5,
        Severity::Medium => 0.15,
        Severity::Low => 0.04,
        Severity::Info => 0.0,
    }
}

/// Each subject beyond the first adds a quarter of the base cost, up to double it.
const REPEAT_FACTOR: f64 = 0.25;
const REPEAT_CAP: f64 = 2.0;

fn category_of(kind: ReportKind, id: &str) -> &'static str {
    match kind {
        ReportKind::Secrets => "secrets",
        ReportKind::AiProbe => "ai_guardrails",
        ReportKind::Smoke => "smoke",
        ReportKind::Env => "env",
        ReportKind::Gate => GATE_PARTS
            .iter()
            .find(|(_, _, prefixes)| prefixes.iter().any(|p| id.starts_with(p)))
            .map(|(name, _, _)| *name)
            .unwrap_or_else(|| category_of(ReportKind::Audit, id)),
        ReportKind::Audit => AUDIT
            .iter()
            .find(|(_, _, prefixes)| prefixes.iter().any(|p| id.starts_with(p)))
            .map_or("other", |(name, _, _)| name),
    }
}

/// The categories a report of `kind` is scored on, with their weights.
fn categories(kind: ReportKind, findings: &[&Finding]) -> Vec<(&'static str, u8)> {
    match kind {
        ReportKind::Secrets => vec![("secrets", 100)],
        ReportKind::AiProbe => vec![("ai_guardrails", 100)],
        ReportKind::Smoke => vec![("smoke", 100)],
        ReportKind::Env => vec![("env", 100)],
        ReportKind::Gate => {
            // The audit's five categories, then one per other part, each as heavy as one audit category; load
            // only counts when a load run was part of the gate (it is optional), and findings outside every
            // family get the extra `other` category, as in an audit.
            let mut list: Vec<(&'static str, u8)> = AUDIT
                .iter()
                .map(|(name, weight, _)| (*name, *weight))
                .chain(
                    GATE_PARTS
                        .iter()
                        .filter(|(name, _, _)| *name != "load")
                        .map(|(name, weight, _)| (*name, *weight)),
                )
                .collect();
            if findings.iter().any(|f| category_of(kind, &f.id) == "load") {
                list.push(("load", 20));
            }
            if findings.iter().any(|f| category_of(kind, &f.id) == "other") {
                list.push(("other", 20));
            }
            list
        }
        ReportKind::Audit => {
            let mut list: Vec<(&'static str, u8)> = AUDIT
                .iter()
                .map(|(name, weight, _)| (*name, *weight))
                .collect();
            // Findings outside the rubric (a future family) still count, as an extra category of equal weight.
            if findings.iter().any(|f| category_of(kind, &f.id) == "other") {
                list.push(("other", 20));
            }
            list
        }
    }
}

/// Each category's points for the active findings of a report of `kind`.
pub fn breakdown(kind: ReportKind, findings: &[Finding]) -> Vec<CategoryScore> {
    let active: Vec<&Finding> = findings.iter().filter(|f| f.is_active()).collect();
    // id → (worst severity, subjects)
    let mut ids: BTreeMap<&str, (Severity, usize)> = BTreeMap::new();
    for finding in &active {
        let entry = ids.entry(&finding.id).or_insert((finding.severity, 0));
        entry.0 = entry.0.max(finding.severity);
        entry.1 += 1;
    }
    let list = categories(kind, &active);
    let total: f64 = list.iter().map(|(_, w)| f64::from(*w)).sum();
    list.iter()
        .map(|(name, weight)| {
            let cost: f64 = ids
                .iter()
                .filter(|(id, _)| category_of(kind, id) == *name)
                .map(|(_, (severity, subjects))| {
                    let base = base_cost(*severity);
                    let repeats = (*subjects as f64 - 1.0).max(0.0);
                    base * (1.0 + REPEAT_FACTOR * repeats).min(REPEAT_CAP)
                })
                .sum();
            // Weights are rescaled when an extra category joins, so the whole is still out of 100.
            let share = f64::from(*weight) * 100.0 / total;
            CategoryScore {
                category: name.to_string(),
                weight: (share * 10.0).round() / 10.0,
                points: (share * (-cost).exp() * 10.0).round() / 10.0,
            }
        })
        .collect()
}

/// The score of a report of `kind`: the categories' points summed and rounded.
pub fn score_for(kind: ReportKind, findings: &[Finding]) -> u8 {
    let points: f64 = breakdown(kind, findings).iter().map(|c| c.points).sum();
    points.round().clamp(0.0, 100.0) as u8
}

/// The score of an audit report.
pub fn score(findings: &[Finding]) -> u8 {
    score_for(ReportKind::Audit, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Stage, Suppression};

    fn finding(id: &str, severity: Severity, subject: &str) -> Finding {
        Finding::new(id, Stage::QuickAudit, severity, subject, "t")
    }

    #[test]
    fn a_clean_report_scores_100_and_info_costs_nothing() {
        assert_eq!(score(&[]), 100);
        assert_eq!(
            score(&[finding("email.bimi.missing", Severity::Info, "d")]),
            100
        );
    }

    #[test]
    fn one_blocker_does_not_zero_the_score_and_fixing_anything_raises_it() {
        let mut findings = vec![
            finding("tls.cert.expired", Severity::Blocker, "www.d"),
            finding("hsts.missing", Severity::High, "d"),
            finding("hsts.missing", Severity::High, "app.d"),
            finding("headers.csp.missing", Severity::Medium, "https://www.d/"),
            finding("email.dmarc.missing", Severity::High, "d"),
            finding("dns.aaaa.missing", Severity::Low, "d"),
        ];
        let mut last = score(&findings);
        assert!((30..90).contains(&last), "{last}");
        // Fix them one at a time, worst first: each fix moves the raw points up.
        while !findings.is_empty() {
            let before: f64 = breakdown(ReportKind::Audit, &findings)
                .iter()
                .map(|c| c.points)
                .sum();
            findings.remove(0);
            let after: f64 = breakdown(ReportKind::Audit, &findings)
                .iter()
                .map(|c| c.points)
                .sum();
            assert!(after > before, "{before} -> {after}");
            let now = score(&findings);
            assert!(now >= last);
            last = now;
        }
        assert_eq!(last, 100);
    }

    #[test]
    fn repeats_of_an_id_cost_a_little_and_are_capped() {
        let once = score(&[finding("hsts.missing", Severity::High, "a")]);
        let twice = score(&[
            finding("hsts.missing", Severity::High, "a"),
            finding("hsts.missing", Severity::High, "b"),
        ]);
        let many: Vec<Finding> = (0..40)
            .map(|i| finding("hsts.missing", Severity::High, &format!("h{i}")))
            .collect();
        let capped: Vec<Finding> = (0..5)
            .map(|i| finding("hsts.missing", Severity::High, &format!("h{i}")))
            .collect();
        assert!(twice < once);
        assert_eq!(
            score(&many),
            score(&capped),
            "the cap is reached at 5 subjects"
        );
        // A category never loses more than its weight.
        let disaster: Vec<Finding> = (0..30)
            .map(|i| finding(&format!("tls.x{i}"), Severity::Blocker, "d"))
            .collect();
        assert_eq!(score(&disaster), 80);
    }

    #[test]
    fn a_gate_is_scored_on_the_audit_categories_plus_one_per_part() {
        let clean = breakdown(ReportKind::Gate, &[]);
        let names: Vec<&str> = clean.iter().map(|c| c.category.as_str()).collect();
        assert_eq!(
            names,
            [
                "reachability",
                "dns_routing",
                "https",
                "edge",
                "email",
                "secrets",
                "env",
                "smoke",
                "deploy"
            ]
        );
        assert_eq!(score_for(ReportKind::Gate, &[]), 100);
        let findings = [
            finding("secrets.stripe", Severity::Blocker, "a.env:1"),
            finding("load.thresholds", Severity::High, "p95"),
        ];
        let with_load = breakdown(ReportKind::Gate, &findings);
        assert_eq!(with_load.len(), 10, "a load run adds its category");
        let secrets = with_load.iter().find(|c| c.category == "secrets").unwrap();
        assert!(secrets.points < secrets.weight);
        let tls = finding("tls.cert.expired", Severity::Blocker, "d");
        assert_eq!(
            breakdown(ReportKind::Gate, &[tls])
                .iter()
                .find(|c| c.points < c.weight)
                .map(|c| c.category.as_str()),
            Some("https")
        );
        let weights: f64 = with_load.iter().map(|c| c.weight).sum();
        assert!((weights - 100.0).abs() < 0.5, "{weights}");
    }

    #[test]
    fn suppressed_findings_do_not_count_and_secrets_have_their_own_scale() {
        let mut suppressed = finding("tls.cert.expired", Severity::Blocker, "d");
        suppressed.suppressed = Some(Suppression {
            reason: "known".into(),
        });
        assert_eq!(score(&[suppressed]), 100);
        let leak = [finding("secrets.stripe", Severity::Blocker, "a.env:1")];
        assert_eq!(score_for(ReportKind::Secrets, &leak), 30);
        let breakdown = breakdown(ReportKind::Audit, &[finding("env.x", Severity::High, "d")]);
        assert_eq!(
            breakdown.len(),
            6,
            "an unknown family gets a category of its own"
        );
        let weights: f64 = breakdown.iter().map(|c| c.weight).sum();
        assert!((weights - 100.0).abs() < 0.5, "{weights}");
    }
}
