//! The incident note the roadmap asks for: a short Markdown page, from the manifest and the current state, so
//! the founder knows what to do first — what is monitored, who owns what, what to check first for each critical
//! check, how to roll back, and where the dashboard and channels are.

use crate::checks::Check;
use crate::config::{ChannelKind, MonitorConfig, first_step};
use crate::store::Incident;
use std::fmt::Write as _;

pub fn incident_note(
    site: &str,
    checks: &[Check],
    config: &MonitorConfig,
    open: &[Incident],
    rollback: Option<&str>,
) -> String {
    let mut out = format!("# Incident note: {site}\n\n");
    if open.is_empty() {
        out.push_str("No incident is open.\n\n");
    } else {
        out.push_str("## Open now\n\n");
        for incident in open {
            let _ = writeln!(
                out,
                "- **{}** on `{}` since {}",
                incident.rule,
                incident.check,
                crate::format_ms(incident.since_ms)
            );
        }
        out.push('\n');
    }
    out.push_str("## What to check first\n\n");
    // DNS drift is not a page on its own, but when it happens it is usually the first thing to look at.
    for check in checks
        .iter()
        .filter(|c| c.critical || matches!(c.kind, crate::checks::CheckKind::Dns { .. }))
    {
        let _ = writeln!(
            out,
            "- `{}` ({}): {}",
            check.id,
            check.target(),
            first_step(check)
        );
    }
    out.push_str("\n## Who owns what\n\n");
    let mut seen = Vec::new();
    for rule in &config.rules {
        let line = format!(
            "- {} → {} (via {})",
            rule.name,
            rule.owner,
            rule.channels.join(", ")
        );
        if !seen.contains(&line) {
            seen.push(line);
        }
    }
    for line in seen {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("\n## Rolling back\n\n");
    match rollback {
        Some(command) => {
            let _ = writeln!(out, "Run `{command}`, then watch the dashboard until every check is up.");
        }
        None => out.push_str(
            "No rollback command is set ([deploy] rollback in launchready.toml): redeploy the previous release by hand.\n",
        ),
    }
    out.push_str("\n## Where to look\n\n");
    match &config.dashboard_url {
        Some(url) => {
            let _ = writeln!(out, "- Dashboard: {url}");
        }
        None => out.push_str("- Dashboard: `launchready monitor --listen 127.0.0.1:8080`\n"),
    }
    for channel in &config.channels {
        let what = match &channel.kind {
            ChannelKind::Log => "the monitor's log".to_string(),
            ChannelKind::Webhook { url, .. } => format!("webhook {url}"),
            ChannelKind::Slack { url_env } => format!("Slack (webhook in ${url_env})"),
            ChannelKind::Discord { url_env } => format!("Discord (webhook in ${url_env})"),
            ChannelKind::Ntfy { url, .. } => format!("ntfy {url}"),
            ChannelKind::PagerDuty { .. } => "PagerDuty".to_string(),
            ChannelKind::Alertmanager { url } => format!("Alertmanager {url}"),
            ChannelKind::Email { to, .. } => format!("email to {}", to.join(", ")),
        };
        let _ = writeln!(out, "- Channel `{}`: {what}", channel.name);
    }
    let _ = writeln!(
        out,
        "- Monitored: {} checks ({} critical)",
        checks.len(),
        checks.iter().filter(|c| c.critical).count()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_says_what_to_do_first_for_critical_checks_and_dns_drift() {
        let manifest = launchready_manifest::Manifest::parse(
            "[site]\ndomain = \"example.com\"\n\n[monitor]\ndns_snapshot = \"before.zone\"\n",
            std::path::Path::new("/srv/site/launchready.toml"),
        )
        .expect("manifest");
        let checks = crate::checks::plan(&manifest);
        let config = crate::config::from_manifest(&manifest, &checks, Some("x.db".into()));
        let note = incident_note("example.com", &checks, &config, &[], Some("make rollback"));
        assert!(
            note.contains("- `landing` (GET https://www.example.com/)"),
            "{note}"
        );
        assert!(
            note.contains("- `dns:example.com` (DNS of example.com against /srv/site/before.zone): Run `launchready dns diff /srv/site/before.zone --live`"),
            "{note}"
        );
        assert!(!note.contains("`tls:example.com`"), "{note}");
        assert!(note.contains("Run `make rollback`"), "{note}");
    }
}
