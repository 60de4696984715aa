//! The `[monitor]` table and `[[alert]]` rules as users write them, and the located errors for mistakes.

use launchready_manifest::{AlertCondition, Manifest, ManifestError};
use std::path::Path;
use std::time::Duration;

fn parse(extra: &str) -> Result<Manifest, ManifestError> {
    let text = format!("[site]\ndomain = \"example.com\"\n{extra}");
    Manifest::parse(&text, Path::new("launchready.toml"))
}

fn error(extra: &str) -> String {
    parse(extra).expect_err("should be refused").to_string()
}

/// Each `(extra, at, says)`: the manifest with `extra` is refused at `at` with a message containing `says`.
fn check_refusals(cases: &[(&str, &str, &str)]) {
    for (extra, at, says) in cases {
        let message = error(extra);
        assert!(message.contains(at), "expected {at} in:\n{message}");
        assert!(message.contains(says), "expected `{says}` in:\n{message}");
    }
}

#[test]
fn absent_tables_are_the_defaults() {
    let m = parse("").expect("valid");
    assert_eq!(m.monitor.phases.len(), 1);
    assert_eq!(m.monitor.phases[0].every, Duration::from_secs(60));
    assert_eq!(m.monitor.jitter_percent, 10);
    assert!(m.alerts.is_empty());
}

#[test]
fn launch_week_then_calmer_with_channels_and_alerts() {
    let m = parse(
        r#"
[monitor]
phases = [{ until = "2027-01-15", every = "1m" }, { every = "5m" }]
jitter = 0.2
database = "monitor.db"
dashboard_url = "https://status.example.com/"
owner = "founder@example.com"
maintenance = [{ start = "2027-01-20T02:00:00Z", end = "2027-01-20T03:00:00Z", reason = "database upgrade" }]

[[monitor.channel]]
name = "slack"
type = "slack"
url_env = "SLACK_WEBHOOK_URL"

[[monitor.channel]]
name = "pager"
type = "pagerduty"
routing_key_env = "PD_ROUTING_KEY"

[[alert]]
name = "checkout failing"
checks = ["flow:checkout"]
condition = "consecutive_failures >= 3"
owner = "payments@example.com"
channels = ["pager", "slack"]
remind_every = "30m"
"#,
    )
    .expect("valid");
    assert_eq!(m.monitor.phases.len(), 2);
    assert_eq!(m.monitor.phases[0].until_unix, Some(1_799_971_200));
    assert_eq!(m.monitor.phases[1].every, Duration::from_secs(300));
    assert_eq!(m.monitor.jitter_percent, 20);
    assert_eq!(m.monitor.channels.len(), 2);
    assert_eq!(m.monitor.maintenance[0].reason, "database upgrade");
    assert_eq!(
        m.alerts[0].condition,
        AlertCondition::ConsecutiveFailures { n: 3 }
    );
    assert_eq!(m.alerts[0].remind_every, Some(Duration::from_secs(1800)));
}

#[test]
fn per_check_schedules_retention_and_the_dns_snapshot() {
    let m = parse(
        r#"
[monitor]
retention = "30d"
hourly_retention = "400d"
dns_snapshot = "dns/before.zone"
node = "probe-1"
region = "eu-west"

[[monitor.check]]
checks = ["flow:checkout", "route:login"]
every = "30s"

[[monitor.check]]
checks = ["dns:example.com"]
phases = [{ until = "2027-01-15", every = "5m" }, { every = "1h" }]
"#,
    )
    .expect("valid");
    let s = &m.monitor;
    assert_eq!(s.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(s.hourly_retention, Some(Duration::from_secs(400 * 86_400)));
    assert_eq!(
        s.dns_snapshot.as_deref(),
        Some(Path::new("dns/before.zone"))
    );
    assert_eq!(s.node.as_deref(), Some("probe-1"));
    assert_eq!(s.region.as_deref(), Some("eu-west"));
    assert_eq!(s.check_schedules.len(), 2);
    assert_eq!(
        s.check_schedules[0].checks,
        ["flow:checkout", "route:login"]
    );
    assert_eq!(s.check_schedules[0].phases.len(), 1);
    assert_eq!(
        s.check_schedules[0].phases[0].every,
        Duration::from_secs(30)
    );
    assert_eq!(s.check_schedules[0].phases[0].until_unix, None);
    assert_eq!(
        s.check_schedules[1].phases[0].until_unix,
        Some(1_799_971_200)
    );
    assert_eq!(
        s.check_schedules[1].phases[1].every,
        Duration::from_secs(3600)
    );

    let defaults = parse("").expect("valid");
    assert_eq!(defaults.monitor.retention, Duration::from_secs(14 * 86_400));
    assert_eq!(defaults.monitor.hourly_retention, None);
    assert!(defaults.monitor.check_schedules.is_empty());
    assert!(defaults.monitor.dns_snapshot.is_none());
    assert!(defaults.monitor.node.is_none() && defaults.monitor.region.is_none());
}

#[test]
fn schedule_and_retention_mistakes_name_the_key() {
    let cases = [
        (
            "[[monitor.check]]\nchecks = [\"route:login\"]\nevry = \"30s\"\n",
            "launchready.toml:5",
            "did you mean `every`",
        ),
        (
            "[[monitor.check]]\nchecks = [\"rout:login\"]\nevery = \"30s\"\n",
            "launchready.toml:4",
            "did you mean `route:login`",
        ),
        (
            "[[monitor.check]]\nchecks = [\"landin\"]\nevery = \"30s\"\n",
            "launchready.toml:4",
            "did you mean `landing`",
        ),
        (
            "[[monitor.check]]\nchecks = [\"flow:login#POST /login\"]\nevery = \"30s\"\n",
            "launchready.toml:4",
            "steps run with their journey",
        ),
        (
            "[[monitor.check]]\nchecks = [\"landing\"]\n",
            "launchready.toml:3",
            "neither `every` nor `phases`",
        ),
        (
            "[[monitor.check]]\nchecks = [\"landing\"]\nevery = \"30s\"\nphases = [{ every = \"1m\" }]\n",
            "launchready.toml:5",
            "not both",
        ),
        (
            "[[monitor.check]]\nchecks = [\"landing\"]\nevery = \"0s\"\n",
            "launchready.toml:5",
            "outside 1s..=24h",
        ),
        (
            "[[monitor.check]]\nchecks = [\"landing\"]\nevery = \"30s\"\n[[monitor.check]]\nchecks = [\"landing\"]\nevery = \"1m\"\n",
            "launchready.toml:7",
            "already has a schedule",
        ),
        (
            "[monitor]\nretention = \"10m\"\n",
            "launchready.toml:4",
            "`retention` is 10m, outside 1h..=3650d",
        ),
        (
            "[monitor]\nretention = \"fortnight\"\n",
            "launchready.toml:4",
            "`retention`",
        ),
        (
            "[monitor]\nretention = \"30d\"\nhourly_retention = \"7d\"\n",
            "launchready.toml:5",
            "shorter than `retention`",
        ),
        (
            "[monitor]\nhourly_retentoin = \"7d\"\n",
            "launchready.toml:4",
            "did you mean `hourly_retention`",
        ),
        (
            "[monitor]\ndns_snapshots = \"before.zone\"\n",
            "launchready.toml:4",
            "did you mean `dns_snapshot`",
        ),
    ];
    check_refusals(&cases);
}

#[test]
fn mistakes_are_located_and_explained() {
    let cases = [
        (
            "[[alert]]\nname = \"x\"\nchecks = [\"landing\"]\ncondition = \"p(95) > 500ms ovr 15m\"\n",
            "launchready.toml:6",
            "cannot read",
        ),
        (
            "[[alert]]\nname = \"x\"\nchecks = [\"landing\"]\ncondition = \"eror_rate > 1% over 15m\"\n",
            "launchready.toml:6",
            "did you mean `error_rate`",
        ),
        (
            "[[alert]]\nname = \"x\"\nchecks = [\"landing\"]\ncondition = \"consecutive_failures >= 3\"\nchannels = [\"slak\"]\n[[monitor.channel]]\nname = \"slack\"\ntype = \"slack\"\nurl_env = \"S\"\n",
            "launchready.toml:7",
            "did you mean `slack`",
        ),
        (
            "[[monitor.channel]]\nname = \"p\"\ntype = \"pagerduty\"\n",
            "launchready.toml:3",
            "needs `routing_key_env`",
        ),
        (
            "[[monitor.channel]]\nname = \"p\"\ntype = \"slak\"\nurl_env = \"S\"\n",
            "launchready.toml:5",
            "did you mean `slack`",
        ),
        (
            "[monitor]\nphases = [{ every = \"1m\" }, { until = \"2027-01-15\", every = \"5m\" }]\n",
            "launchready.toml:4",
            "only the last phase",
        ),
        (
            "[monitor]\nphases = [{ until = \"15/01/2027\", every = \"1m\" }]\n",
            "launchready.toml:4",
            "is not a date",
        ),
        (
            "[[monitor.channel]]\nname = \"m\"\ntype = \"email\"\nurl = \"smtp://mail.example.com:587\"\nfrom = \"a@example.com\"\n",
            "launchready.toml:3",
            "needs `to`",
        ),
        (
            "[monitor]\njitter = 2.0\n",
            "launchready.toml:4",
            "outside 0..=0.5",
        ),
        (
            "[monitor]\nfrequency = \"1m\"\n",
            "launchready.toml:4",
            "[monitor]",
        ),
        (
            "[[alert]]\nname = \"x\"\nchecks = []\ncondition = \"cert_expires_in < 14d\"\nownr = \"a\"\n",
            "launchready.toml:7",
            "owner",
        ),
        (
            "[monitor]\nregion = \"eu west\"\n",
            "launchready.toml:4",
            "not a plain label",
        ),
        (
            "[[monitor.check]]\nchecks = [\"landing\"]\nevry = \"30s\"\n",
            "launchready.toml:5",
            "[[monitor.check]]",
        ),
    ];
    check_refusals(&cases);
}
