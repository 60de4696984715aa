//! `launchready handover`: the document that lets a founder run the stack without guessing. From the manifest's
//! `[[access]]` inventory, an audit's facts and report, and the env inventory it builds one [`Document`]: who holds
//! each service (checked against the services the facts show), every DNS record in plain words with who may change
//! it, a "change this if" guide naming this stack's records and variables, the open risks, and a checklist.
//! Gaps in the access inventory are findings, so `handover --check` can gate a release.
//!
//! Everything here is pure: the binary reads the files, runs the audit if needed and writes the outputs.

pub mod detect;
pub mod doc;

pub use detect::{Detected, detect};
pub use doc::{Block, Document};

use launchready_envinv::Row;
use launchready_findings::facts::Facts;
use launchready_findings::{Finding, FixWindow, Report, Severity, Stage};
use launchready_mail::dns::{QueryType, Rdata};
use launchready_manifest::{Access, AccessKind, Manifest};

const REFERENCE: &str = "https://owasp.org/www-project-top-ten/2017/A2_2017-Broken_Authentication";

/// What the document is made from.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub manifest: &'a Manifest,
    pub facts: &'a Facts,
    /// The audit's report on those facts, for the open risks.
    pub audit: &'a Report,
    /// The env inventory, when a project directory was scanned.
    pub env: Option<&'a [Row]>,
    /// The incident note's first steps, one line per critical check (`check (target): what to look at first`),
    /// from the same plan `launchready monitor` and `incident-note` use; empty when there is nothing to monitor.
    pub incident_steps: Vec<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub version: String,
}

fn finding(id: &str, severity: Severity, subject: &str, title: String, fix: &str) -> Finding {
    let mut f = Finding::new(id, Stage::Handover, severity, subject, title);
    f.remediation = fix.to_string();
    f.reference = REFERENCE.to_string();
    f
}

/// Whether an inventory entry covers a detected service: the same kind, and the same provider when the provider
/// was recognised.
fn covers(entry: &Access, detected: &Detected) -> bool {
    if entry.kind != detected.kind {
        return false;
    }
    if !detected.recognised {
        return true;
    }
    let a = entry.service.to_ascii_lowercase();
    let b = detected.provider.to_ascii_lowercase();
    a.contains(&b) || b.contains(&a) || a.split_whitespace().next().is_some_and(|w| b.contains(w))
}

/// The access inventory's gaps: no owner, one owner without a backup, 2FA off or unknown, no credential location,
/// and services the facts show that nobody is listed for.
pub fn access_findings(manifest: &Manifest, detected: &[Detected]) -> Vec<Finding> {
    let mut out = Vec::new();
    for entry in &manifest.access {
        let subject = format!("{} ({})", entry.service, entry.kind.as_str());
        match (&entry.owner, &entry.backup_owner) {
            (None, _) => out.push(finding(
                "handover.access.no_owner",
                Severity::High,
                &subject,
                format!("nobody is named as the owner of {}", entry.service),
                "Name the person who holds this account in [[access]] `owner`, and a second person in `backup_owner`.",
            )),
            (Some(owner), None) => {
                let mut f = finding(
                    "handover.access.single_owner",
                    Severity::High,
                    &subject,
                    format!("only {owner} can get into {}", entry.service),
                    "Give a second person access (an admin seat, not a shared password) and name them in `backup_owner`: one person who knows how the system works is the single point of failure a launch must not have.",
                );
                f.evidence = vec![format!("owner = \"{owner}\", no backup_owner")];
                out.push(f);
            }
            _ => {}
        }
        match entry.two_factor {
            Some(true) => {}
            Some(false) => out.push(finding(
                "handover.access.no_2fa",
                Severity::High,
                &subject,
                format!("{} has no two-factor authentication", entry.service),
                "Turn on two-factor authentication (an authenticator app or a security key) for every person with access, then set two_factor = true.",
            )),
            None => out.push(finding(
                "handover.access.2fa_unknown",
                Severity::Medium,
                &subject,
                format!("the inventory does not say whether {} has two-factor authentication", entry.service),
                "Check the account's security settings and record two_factor = true (or turn it on first).",
            )),
        }
        if entry.credential.is_none() {
            out.push(finding(
                "handover.access.no_credential_location",
                Severity::Low,
                &subject,
                format!("the inventory does not say where the {} credential lives", entry.service),
                "Record where it is kept, e.g. credential = \"1Password: Launch/Stripe\" — the location, never the credential.",
            ));
        }
    }
    for service in detected {
        if !manifest.access.iter().any(|entry| covers(entry, service)) {
            let mut f = finding(
                "handover.access.undocumented",
                Severity::High,
                &format!("{} ({})", service.provider, service.kind.as_str()),
                format!(
                    "the site uses {} as its {}, but nobody is listed for it",
                    service.provider,
                    service.kind.title()
                ),
                "Add an [[access]] entry for it with kind, owner, backup_owner, credential location and two_factor.",
            );
            f.evidence = vec![service.evidence.clone()];
            out.push(f);
        }
    }
    out
}

fn owner_of(manifest: &Manifest, kind: AccessKind) -> String {
    match manifest.access.iter().find(|a| a.kind == kind) {
        Some(Access {
            service,
            owner: Some(owner),
            backup_owner,
            ..
        }) => match backup_owner {
            Some(backup) => format!("{owner} (backup {backup}) at {service}"),
            None => format!("{owner} at {service}, no backup"),
        },
        Some(entry) => format!("nobody named at {}", entry.service),
        None => format!("nobody listed: add [[access]] kind = \"{}\"", kind.as_str()),
    }
}

fn provider_of(detected: &[Detected], kind: AccessKind, fallback: &str) -> String {
    let names: Vec<&str> = detected
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| d.provider.as_str())
        .collect();
    if names.is_empty() {
        fallback.to_string()
    } else {
        names.join(", ")
    }
}

/// The DNS records the facts saw, each with what it does in plain words and who may change it.
fn dns_map(inputs: &Inputs<'_>, detected: &[Detected]) -> Vec<Vec<String>> {
    let facts = inputs.facts;
    let manifest = inputs.manifest;
    let apex = facts.domain.as_str();
    let dns_owner = owner_of(manifest, AccessKind::Dns);
    let mail_owner = owner_of(manifest, AccessKind::Email);
    let hosting_owner = owner_of(manifest, AccessKind::Hosting);
    let dns_provider = provider_of(detected, AccessKind::Dns, "the DNS provider");
    let mut rows = Vec::new();
    for ns in &facts.zone.ns {
        rows.push(vec![
            apex.to_string(),
            format!("NS {ns}"),
            format!("{ns} answers for the whole domain ({dns_provider}); whoever controls that account can change every record below. Changed at the registrar."),
            owner_of(manifest, AccessKind::Registrar),
        ]);
    }
    for host in &facts.hosts {
        for target in &host.dns.cname_chain {
            rows.push(vec![
                host.name.clone(),
                format!("CNAME {target}"),
                format!(
                    "visitors to {} are sent to whatever {target} points at (the hosting or CDN)",
                    host.name
                ),
                dns_owner.clone(),
            ]);
        }
        if !host.dns.addresses.is_empty() {
            let list: Vec<String> = host.dns.addresses.iter().map(ToString::to_string).collect();
            rows.push(vec![
                host.name.clone(),
                format!("A/AAAA {}", list.join(", ")),
                format!(
                    "{} is served by the machine(s) at {}{}",
                    host.name,
                    list.join(", "),
                    host.dns
                        .ttl
                        .map(|t| format!("; changes take up to {t} s to reach everyone"))
                        .unwrap_or_default()
                ),
                format!("{dns_owner}; the servers: {hosting_owner}"),
            ]);
        }
        for caa in &host.caa {
            rows.push(vec![
                host.name.clone(),
                format!("CAA {caa}"),
                "only the certificate authorities named here may issue certificates for the name"
                    .to_string(),
                dns_owner.clone(),
            ]);
        }
    }
    if let Some(email) = &facts.email {
        for (query, answer) in email.dns.iter() {
            let name = query.name.trim_end_matches('.');
            for record in answer.rdata() {
                let (value, meaning) = match (query.qtype, record) {
                    (
                        QueryType::Mx,
                        Rdata::Mx {
                            preference,
                            exchange,
                        },
                    ) => (
                        format!("MX {preference} {exchange}"),
                        format!(
                            "mail for {name} is delivered to {} (lower numbers are tried first)",
                            exchange.trim_end_matches('.')
                        ),
                    ),
                    (QueryType::Txt, Rdata::Txt(_)) => {
                        let txt = record.txt_joined().unwrap_or_default();
                        let lower = txt.to_ascii_lowercase();
                        let meaning = if lower.starts_with("v=spf1") {
                            let includes = detect::spf_includes(&txt);
                            if includes.is_empty() {
                                format!("SPF: the servers allowed to send mail as {name}")
                            } else {
                                format!(
                                    "SPF: the servers allowed to send mail as {name}, including those of {}",
                                    includes.join(", ")
                                )
                            }
                        } else if lower.starts_with("v=dmarc1") {
                            "DMARC: what receivers do with mail that claims to be from the domain but fails SPF and DKIM, and where they send reports".to_string()
                        } else if lower.contains("p=") && name.contains("._domainkey.") {
                            format!(
                                "DKIM: the public key receivers check signatures from selector `{}` with",
                                name.split("._domainkey.").next().unwrap_or("")
                            )
                        } else if lower.starts_with("v=stsv1") {
                            "MTA-STS: tells senders to require TLS when delivering mail".to_string()
                        } else if lower.starts_with("v=tlsrptv1") {
                            "TLS-RPT: where senders report mail delivery TLS problems".to_string()
                        } else {
                            "a text record (often a domain ownership check for a service)"
                                .to_string()
                        };
                        (format!("TXT {txt}"), meaning)
                    }
                    _ => continue,
                };
                rows.push(vec![name.to_string(), value, meaning, mail_owner.clone()]);
            }
        }
    }
    rows
}

fn dmarc_record(facts: &Facts) -> Option<String> {
    let email = facts.email.as_ref()?;
    let name = format!("_dmarc.{}", facts.domain);
    email
        .dns
        .iter()
        .filter(|(q, _)| q.qtype == QueryType::Txt && q.name.trim_end_matches('.') == name)
        .flat_map(|(_, a)| a.txt())
        .find(|t| t.to_ascii_lowercase().starts_with("v=dmarc1"))
}

fn spf_record(facts: &Facts) -> Option<String> {
    let email = facts.email.as_ref()?;
    email
        .dns
        .iter()
        .filter(|(q, _)| q.qtype == QueryType::Txt && q.name.trim_end_matches('.') == facts.domain)
        .flat_map(|(_, a)| a.txt())
        .find(|t| t.to_ascii_lowercase().starts_with("v=spf1"))
}

fn mx_hosts(facts: &Facts) -> Vec<String> {
    let Some(email) = &facts.email else {
        return Vec::new();
    };
    email
        .dns
        .iter()
        .filter(|(q, _)| q.qtype == QueryType::Mx && q.name.trim_end_matches('.') == facts.domain)
        .flat_map(|(_, a)| a.rdata().to_vec())
        .filter_map(|r| match r {
            Rdata::Mx {
                preference,
                exchange,
            } => Some(format!("{preference} {exchange}")),
            _ => None,
        })
        .collect()
}

/// The "change this if" guide, naming this stack's records, variables and commands.
fn guide(inputs: &Inputs<'_>, detected: &[Detected]) -> Vec<Block> {
    let facts = inputs.facts;
    let manifest = inputs.manifest;
    let apex = facts.domain.as_str();
    let dns = provider_of(detected, AccessKind::Dns, "your DNS provider");
    let mut blocks = Vec::new();

    blocks.push(Block::Subheading("Add a subdomain".into()));
    let example = facts
        .hosts
        .iter()
        .find(|h| h.name != apex && !h.name.starts_with("www."))
        .map(|h| {
            let value = h
                .dns
                .cname_chain
                .first()
                .map(|t| format!("CNAME {t}"))
                .or_else(|| h.dns.addresses.first().map(|a| format!("A {a}")))
                .unwrap_or_else(|| "its record".into());
            format!("`{}` is `{value}`", h.name)
        })
        .unwrap_or_else(|| "copy an existing host's record".into());
    let caa: Vec<&String> = facts.hosts.iter().flat_map(|h| &h.caa).collect();
    blocks.push(Block::Steps(vec![
        format!("At {dns}, add the record for `new.{apex}` the way the existing ones are made ({example})."),
        format!(
            "If the new host is served over HTTPS, its certificate must come from a CA the CAA records allow{}.",
            if caa.is_empty() {
                " (there are no CAA records, so any CA may issue)".to_string()
            } else {
                format!(": `{}`", caa.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("`, `"))
            }
        ),
        "Add it to `subdomains` in `[site]` of launchready.toml, then run `launchready audit` to see it answer.".to_string(),
    ]));

    blocks.push(Block::Subheading("Switch email provider".into()));
    let spf = spf_record(facts).unwrap_or_else(|| "(no SPF record found)".into());
    let includes = spf_record(facts)
        .map(|s| detect::spf_includes(&s))
        .unwrap_or_default();
    let selectors = facts
        .email
        .as_ref()
        .map(|e| {
            e.domains
                .iter()
                .flat_map(|d| d.dkim_selectors.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let dmarc = dmarc_record(facts).unwrap_or_else(|| "(no DMARC record found)".into());
    let mx = mx_hosts(facts);
    let return_path = manifest
        .email
        .return_path
        .clone()
        .map(|r| format!("`{r}`"))
        .unwrap_or_else(|| "the provider's default bounce domain".into());
    blocks.push(Block::Steps(vec![
        format!(
            "SPF first: the TXT record on `{apex}` is `{spf}`. Add the new provider's `include:` next to {} — never publish a second SPF record, and stay under 10 DNS lookups.",
            if includes.is_empty() { "the current terms".to_string() } else { format!("`include:{}`", includes.join("`, `include:")) }
        ),
        format!(
            "DKIM: publish the new provider's key as a new selector at `NEW._domainkey.{apex}`; keep the current selector(s) {} until the old provider stops sending.",
            if selectors.is_empty() { "(none known: list them in [email] dkim_selectors)".to_string() } else { format!("`{}`", selectors.join("`, `")) }
        ),
        format!(
            "DMARC alignment: `_dmarc.{apex}` says `{dmarc}`. The new provider must sign with d={apex} (or a subdomain under relaxed alignment); send a test message and check the DMARC result says pass before moving on."
        ),
        format!(
            "Return-path: set the new provider's bounce (return-path) domain to a name under {apex} (today: {return_path}), usually a CNAME it gives you, so SPF aligns too."
        ),
        format!(
            "Only now move incoming mail: the MX records are {}. Then remove the old provider's include and selector after a few days.",
            if mx.is_empty() { "(none found)".to_string() } else { format!("`{}`", mx.join("`, `")) }
        ),
    ]));

    blocks.push(Block::Subheading("Rotate a leaked key".into()));
    let mut steps = vec![
        "Revoke the key at the provider first (a leaked key stays leaked in git history), then create a new one.".to_string(),
    ];
    match inputs.env {
        Some(rows) if rows.iter().any(|r| r.secret) => {
            for row in rows.iter().filter(|r| r.secret) {
                let envs: Vec<&str> = row.environments.keys().map(String::as_str).collect();
                steps.push(format!(
                    "`{}`: rotate at {}; update it in {}{}.",
                    row.name,
                    row.rotate,
                    if envs.is_empty() { "every environment".to_string() } else { envs.join(", ") },
                    row.owner.as_ref().map(|o| format!(" (owner {o})")).unwrap_or_default()
                ));
            }
        }
        _ => steps.push("List the secret variables with `launchready env --inventory -` and rotate each one the leak touched.".into()),
    }
    steps.push("Redeploy, then run `launchready secrets` and `launchready gate` to confirm the old value is gone from the tree.".into());
    blocks.push(Block::Steps(steps));

    blocks.push(Block::Subheading("Move hosting or CDN".into()));
    let hosts: Vec<String> = facts
        .hosts
        .iter()
        .filter(|h| !h.dns.addresses.is_empty() || !h.dns.cname_chain.is_empty())
        .map(|h| {
            format!(
                "`{}`{}",
                h.name,
                h.dns
                    .ttl
                    .map(|t| format!(" (TTL {t} s)"))
                    .unwrap_or_default()
            )
        })
        .collect();
    blocks.push(Block::Steps(vec![
        format!(
            "A day ahead, lower the TTL of {} to 300 s at {dns}.",
            if hosts.is_empty() { "the site's records".to_string() } else { hosts.join(", ") }
        ),
        format!("Test the new place before switching: `launchready audit {apex} --connect-to www.{apex}:443:NEW_ADDRESS:443`."),
        format!(
            "Switch the records, keep {} running until the old TTL has passed, then run `launchready gate`.",
            provider_of(detected, AccessKind::Hosting, "the old hosting")
        ),
    ]));

    blocks.push(Block::Subheading("Renew a certificate".into()));
    let certs: Vec<String> = inputs
        .audit
        .dns_map
        .iter()
        .filter_map(|e| {
            e.tls.as_ref().map(|t| {
                format!(
                    "`{}`: {} until {} ({})",
                    e.host, t.issuer, t.not_after, t.verification
                )
            })
        })
        .collect();
    let mut steps = vec!["Certificates in use:".to_string()];
    if certs.is_empty() {
        steps[0] =
            "No certificate was seen by the audit; run `launchready audit` to list them.".into();
    } else {
        steps[0] = format!("Certificates in use: {}.", certs.join("; "));
    }
    steps.push("Renewal is normally automatic (ACME); if one is close to expiry, check the renewal job's log at the hosting/CDN and that CAA still allows the CA.".into());
    steps.push(
        "After renewing, run `launchready audit` and check no `tls.cert.*` finding remains.".into(),
    );
    blocks.push(Block::Steps(steps));

    blocks.push(Block::Subheading("Roll back a deploy".into()));
    let steps = match &manifest.deploy {
        Some(deploy) => {
            let mut s = Vec::new();
            match &deploy.rollback {
                Some(cmd) => s.push(format!("Run `{cmd}`.")),
                None => s.push("No rollback command is recorded: add `rollback` to [deploy].".into()),
            }
            if let Some(runbook) = &deploy.runbook {
                s.push(format!("The runbook is `{}`.", runbook.display()));
            }
            match &deploy.version_url {
                Some(url) => s.push(format!("Check {url} serves the previous version: `launchready smoke --wait-for-version PREVIOUS`.")),
                None => s.push("Then run `launchready smoke` to confirm the site works.".into()),
            }
            s
        }
        None => vec!["No [deploy] table: write down the rollback command and runbook there, so this step is not a guess.".into()],
    };
    blocks.push(Block::Steps(steps));
    blocks
}

/// The whole document and the access inventory's findings.
pub fn build(inputs: &Inputs<'_>) -> (Document, Vec<Finding>) {
    let manifest = inputs.manifest;
    let detected = detect(inputs.facts);
    let mut gaps = access_findings(manifest, &detected);
    manifest.apply_ignores(&mut gaps);
    let mut blocks = vec![Block::Paragraph(format!(
        "Generated on {} by launchready {} from the audit of {} gathered at {}.",
        inputs.date, inputs.version, inputs.facts.domain, inputs.facts.gathered_at
    ))];

    blocks.push(Block::Heading("Access inventory".into()));
    if manifest.access.is_empty() {
        blocks.push(Block::Paragraph(
            "The manifest lists no `[[access]]` entries: nobody is recorded as holding any account.".into(),
        ));
    } else {
        blocks.push(Block::table(
            &[
                "Service",
                "Kind",
                "Owner",
                "Backup owner",
                "Credential location",
                "2FA",
            ],
            manifest
                .access
                .iter()
                .map(|a| {
                    vec![
                        a.service.clone(),
                        a.kind.title().to_string(),
                        a.owner.clone().unwrap_or_else(|| "—".into()),
                        a.backup_owner.clone().unwrap_or_else(|| "—".into()),
                        a.credential.clone().unwrap_or_else(|| "—".into()),
                        match a.two_factor {
                            Some(true) => "yes".into(),
                            Some(false) => "NO".into(),
                            None => "unknown".into(),
                        },
                    ]
                })
                .collect(),
        ));
    }
    blocks.push(Block::Subheading("Services detected from the site".into()));
    blocks.push(Block::table(
        &["Kind", "Provider", "Seen as", "In the inventory"],
        detected
            .iter()
            .map(|d| {
                vec![
                    d.kind.title().to_string(),
                    d.provider.clone(),
                    format!("`{}`", d.evidence),
                    if manifest.access.iter().any(|a| covers(a, d)) {
                        "yes".into()
                    } else {
                        "NO".into()
                    },
                ]
            })
            .collect(),
    ));
    blocks.push(Block::Subheading("Gaps".into()));
    let active: Vec<&Finding> = gaps.iter().filter(|f| f.is_active()).collect();
    if active.is_empty() {
        blocks.push(Block::Paragraph(
            "None: every service has an owner, a backup and 2FA.".into(),
        ));
    } else {
        blocks.push(Block::List(
            active
                .iter()
                .map(|f| {
                    format!(
                        "**{}** `{}` — {}: {}",
                        f.severity.as_str(),
                        f.id,
                        f.subject,
                        f.title
                    )
                })
                .collect(),
        ));
    }

    blocks.push(Block::Heading("DNS map".into()));
    blocks.push(Block::table(
        &["Name", "Record", "What it does", "Who may change it"],
        dns_map(inputs, &detected),
    ));

    blocks.push(Block::Heading("Environment variables".into()));
    match inputs.env {
        Some(rows) if !rows.is_empty() => blocks.push(Block::table(
            &["Variable", "Secret", "Environments", "Owner", "Rotate at"],
            rows.iter()
                .map(|r| {
                    vec![
                        format!("`{}`", r.name),
                        if r.secret { "yes".into() } else { "no".into() },
                        r.environments
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                        r.owner.clone().unwrap_or_else(|| "—".into()),
                        r.rotate.clone(),
                    ]
                })
                .collect(),
        )),
        Some(_) => blocks.push(Block::Paragraph(
            "The project reads and defines no environment variables.".into(),
        )),
        None => blocks.push(Block::Paragraph(
            "No project was scanned (pass --project DIR).".into(),
        )),
    }

    blocks.push(Block::Heading("Monitoring".into()));
    blocks.extend(monitoring(manifest));

    blocks.push(Block::Heading("Incident note".into()));
    if inputs.incident_steps.is_empty() {
        blocks.push(Block::Paragraph(
            "No critical check is monitored yet: add [[route]] or [[flow]] entries to launchready.toml.".into(),
        ));
    } else {
        blocks.push(Block::Paragraph(
            "When something breaks, look here first (the same note `launchready incident-note` prints, with the incidents open at that moment):".into(),
        ));
        blocks.push(Block::Steps(inputs.incident_steps.clone()));
    }
    if let Some(rollback) = inputs
        .manifest
        .deploy
        .as_ref()
        .and_then(|d| d.rollback.as_deref())
    {
        blocks.push(Block::Paragraph(format!("To roll back: `{rollback}`.")));
    }

    blocks.push(Block::Heading("Change this if".into()));
    blocks.extend(guide(inputs, &detected));

    blocks.push(Block::Heading("Open risks".into()));
    let risks: Vec<&Finding> = inputs
        .audit
        .active()
        .filter(|f| f.severity > Severity::Info)
        .collect();
    for (window, title) in [
        (FixWindow::Now, "Fix now"),
        (FixWindow::AfterLaunch, "Can wait"),
    ] {
        blocks.push(Block::Subheading(title.into()));
        let items: Vec<String> = risks
            .iter()
            .filter(|f| f.fix_window == window)
            .map(|f| {
                format!(
                    "**{}** `{}` — {} ({})",
                    f.severity.as_str(),
                    f.id,
                    f.title,
                    f.subject
                )
            })
            .collect();
        if items.is_empty() {
            blocks.push(Block::Paragraph("Nothing.".into()));
        } else {
            blocks.push(Block::List(items));
        }
    }

    blocks.push(Block::Heading("Checklist".into()));
    let mut tasks: Vec<String> = manifest
        .access
        .iter()
        .map(|a| {
            format!(
                "Log in to {} ({}) as {} and as the backup, with 2FA",
                a.service,
                a.kind.title(),
                a.owner.as_deref().unwrap_or("the owner")
            )
        })
        .collect();
    tasks.extend(
        active
            .iter()
            .map(|f| format!("Close the gap `{}`: {}", f.id, f.subject)),
    );
    if let Some(cmd) = manifest.deploy.as_ref().and_then(|d| d.rollback.as_ref()) {
        tasks.push(format!("Try the rollback once on staging: `{cmd}`"));
    }
    tasks.push("Read the DNS map and the change-this-if guide with the person who will make the next change".into());
    tasks
        .push("Run `launchready gate` before launch and keep its report with this document".into());
    blocks.push(Block::Tasks(tasks));
    blocks.push(Block::Paragraph(format!(
        "Checklist produced {} by launchready {}.",
        inputs.date, inputs.version
    )));

    (
        Document {
            title: format!("Handover: {}", inputs.facts.domain),
            blocks,
        },
        gaps,
    )
}

/// The `[monitor]` configuration in words: who owns it, where notices go (channel kinds and the variables holding
/// their secrets, never a URL that may carry a token), and the alert rules.
fn monitoring(manifest: &Manifest) -> Vec<Block> {
    let settings = &manifest.monitor;
    let mut items = vec![format!(
        "Owner: {}.",
        settings
            .owner
            .as_deref()
            .unwrap_or("nobody named in [monitor] owner")
    )];
    if let Some(url) = &settings.dashboard_url {
        items.push(format!("Dashboard: {url}."));
    }
    if let Some(phase) = settings.phases.last() {
        items.push(format!(
            "Checks run every {} s (`launchready monitor`); the incident note for an outage is `launchready incident-note`.",
            phase.every.as_secs()
        ));
    }
    if settings.channels.is_empty() {
        items.push("No notification channels: notices only reach the monitor's log.".into());
    }
    for channel in &settings.channels {
        let mut where_to = Vec::new();
        if !channel.to.is_empty() {
            where_to.push(format!("to {}", channel.to.join(", ")));
        }
        for (what, env) in [
            ("URL", &channel.url_env),
            ("secret", &channel.secret_env),
            ("token", &channel.token_env),
            ("routing key", &channel.routing_key_env),
        ] {
            if let Some(env) = env {
                where_to.push(format!("{what} in `{env}`"));
            }
        }
        items.push(format!(
            "Channel `{}` ({}){}.",
            channel.name,
            channel.kind,
            if where_to.is_empty() {
                String::new()
            } else {
                format!(": {}", where_to.join(", "))
            }
        ));
    }
    for rule in &manifest.alerts {
        items.push(format!(
            "Alert `{}` on {}{}.",
            rule.name,
            rule.checks.join(", "),
            rule.owner
                .as_ref()
                .map(|o| format!(", owner {o}"))
                .unwrap_or_default()
        ));
    }
    vec![Block::List(items)]
}
