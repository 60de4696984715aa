//! `launchready smoke`: is a fresh deploy working? Two halves, as in the audit. [`gather`] is the only part that
//! touches the network: it waits for the version to go live, loads the homepage, requests every route, posts an
//! unsigned payload to the webhook and runs the manifest's journeys, recording every exchange (secrets, cookies
//! and `Authorization` redacted) in [`SmokeFacts`]. [`judge`] turns those facts into findings with pure rules.

mod evidence;
pub mod facts;
mod gather;
mod rules;

pub use evidence::Redactor;
pub use facts::{
    Exchange, FailedStep, FlowFacts, HomepageFacts, Probe, RouteFacts, SmokeFacts, VersionFacts,
    WebhookFacts,
};
pub use gather::{GatherOptions, NamedFlow, gather};
pub use rules::{judge, version_matches};

use launchready_findings::{Report, ReportKind};
use launchready_manifest::Manifest;

/// The smoke report: findings judged from `facts`, the manifest's `[[ignore]]`s applied, scored on the smoke scale.
pub fn report(facts: &SmokeFacts, manifest: &Manifest) -> Report {
    let mut findings = judge(facts);
    manifest.apply_ignores(&mut findings);
    Report::new(
        facts.target.clone(),
        facts.generated_at.clone(),
        findings,
        Vec::new(),
    )
    .with_kind(ReportKind::Smoke)
}
