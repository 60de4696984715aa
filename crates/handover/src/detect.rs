//! Which services a site runs on, read from an audit's facts: nameservers name the DNS provider, edge headers the
//! CDN, MX hosts and SPF includes the email providers, CNAME targets the hosting. A name no table knows is still
//! reported (as what it is: "nameservers ns1.example.net"), because an unknown provider needs an owner too.

use launchready_findings::facts::Facts;
use launchready_mail::dns::{QueryType, Rdata};
use launchready_manifest::AccessKind;
use std::collections::BTreeSet;

/// A service seen in the facts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Detected {
    pub kind: AccessKind,
    /// The provider's name, or a description when it is not recognised.
    pub provider: String,
    /// Whether `provider` is a known provider's name (not a description).
    pub recognised: bool,
    /// What it was detected from, e.g. `NS ns1.cloudflare.com`.
    pub evidence: String,
}

const NAMESERVERS: &[(&str, &str)] = &[
    ("cloudflare.com", "Cloudflare"),
    ("awsdns", "Amazon Route 53"),
    ("domaincontrol.com", "GoDaddy"),
    ("googledomains.com", "Google Cloud DNS"),
    ("google.com", "Google Cloud DNS"),
    ("dnsimple.com", "DNSimple"),
    ("digitalocean.com", "DigitalOcean"),
    ("vercel-dns.com", "Vercel"),
    ("nsone.net", "NS1"),
    ("netlify", "Netlify"),
    ("registrar-servers.com", "Namecheap"),
    ("azure-dns", "Azure DNS"),
    ("ovh.net", "OVH"),
    ("hetzner", "Hetzner"),
    ("gandi.net", "Gandi"),
];

const MAIL: &[(&str, &str)] = &[
    ("google.com", "Google Workspace"),
    ("googlemail.com", "Google Workspace"),
    ("outlook.com", "Microsoft 365"),
    ("mailgun.org", "Mailgun"),
    ("sendgrid.net", "SendGrid"),
    ("zoho", "Zoho Mail"),
    ("messagingengine.com", "Fastmail"),
    ("amazonses.com", "Amazon SES"),
    ("amazonaws.com", "Amazon SES"),
    ("protonmail", "Proton Mail"),
    ("mcsv.net", "Mailchimp"),
    ("mtasv.net", "Postmark"),
    ("mandrillapp.com", "Mailchimp Transactional"),
    ("sparkpostmail.com", "SparkPost"),
];

const HOSTING: &[(&str, &str, AccessKind)] = &[
    ("vercel", "Vercel", AccessKind::Hosting),
    ("netlify", "Netlify", AccessKind::Hosting),
    ("heroku", "Heroku", AccessKind::Hosting),
    ("github.io", "GitHub Pages", AccessKind::Hosting),
    ("fly.dev", "Fly.io", AccessKind::Hosting),
    ("onrender.com", "Render", AccessKind::Hosting),
    ("pages.dev", "Cloudflare Pages", AccessKind::Hosting),
    (
        "azurewebsites.net",
        "Azure App Service",
        AccessKind::Hosting,
    ),
    ("cloudfront.net", "Amazon CloudFront", AccessKind::Cdn),
    ("fastly.net", "Fastly", AccessKind::Cdn),
    ("b-cdn.net", "Bunny CDN", AccessKind::Cdn),
    ("akamaiedge.net", "Akamai", AccessKind::Cdn),
];

fn lookup<'a>(name: &str, table: &'a [(&str, &str)]) -> Option<&'a str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    table
        .iter()
        .find(|(needle, _)| name.contains(needle))
        .map(|(_, provider)| *provider)
}

/// Every service the facts show, each provider once per kind.
pub fn detect(facts: &Facts) -> Vec<Detected> {
    let mut out = BTreeSet::new();
    // DNS: the zone's nameservers.
    let known: Vec<(&str, &String)> = facts
        .zone
        .ns
        .iter()
        .filter_map(|ns| lookup(ns, NAMESERVERS).map(|p| (p, ns)))
        .collect();
    if let Some((provider, ns)) = known.first() {
        out.insert(Detected {
            kind: AccessKind::Dns,
            provider: provider.to_string(),
            recognised: true,
            evidence: format!("NS {ns}"),
        });
    } else if !facts.zone.ns.is_empty() {
        out.insert(Detected {
            kind: AccessKind::Dns,
            provider: format!("nameservers {}", facts.zone.ns.join(", ")),
            recognised: false,
            evidence: format!("NS {}", facts.zone.ns.join(", ")),
        });
    }
    // CDN and hosting from response headers.
    for chain in &facts.chains {
        for hop in &chain.hops {
            let header = |name: &str| {
                hop.headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_ascii_lowercase())
            };
            let found = if header("cf-ray").is_some()
                || header("server").is_some_and(|s| s.contains("cloudflare"))
            {
                Some(("Cloudflare", AccessKind::Cdn, "cf-ray / server: cloudflare"))
            } else if header("x-amz-cf-id").is_some() {
                Some(("Amazon CloudFront", AccessKind::Cdn, "x-amz-cf-id"))
            } else if header("x-vercel-id").is_some() {
                Some(("Vercel", AccessKind::Hosting, "x-vercel-id"))
            } else if header("x-nf-request-id").is_some() {
                Some(("Netlify", AccessKind::Hosting, "x-nf-request-id"))
            } else if header("x-served-by").is_some_and(|v| v.contains("cache-")) {
                Some(("Fastly", AccessKind::Cdn, "x-served-by: cache-…"))
            } else if header("fly-request-id").is_some() {
                Some(("Fly.io", AccessKind::Hosting, "fly-request-id"))
            } else {
                None
            };
            if let Some((provider, kind, evidence)) = found {
                out.insert(Detected {
                    kind,
                    provider: provider.to_string(),
                    recognised: true,
                    evidence: format!("{evidence} on {}", hop.url),
                });
            }
        }
    }
    // Hosting: CNAME targets, else the addresses the site's hosts resolve to.
    let mut addresses = BTreeSet::new();
    for host in &facts.hosts {
        let mut recognised = false;
        for target in &host.dns.cname_chain {
            let name = target.trim_end_matches('.').to_ascii_lowercase();
            if let Some((_, provider, kind)) = HOSTING.iter().find(|(n, _, _)| name.contains(n)) {
                recognised = true;
                out.insert(Detected {
                    kind: *kind,
                    provider: provider.to_string(),
                    recognised: true,
                    evidence: format!("{} CNAME {target}", host.name),
                });
            }
        }
        if !recognised {
            addresses.extend(host.dns.addresses.iter().map(ToString::to_string));
        }
    }
    if !addresses.is_empty() && !out.iter().any(|d| d.kind == AccessKind::Hosting) {
        let list: Vec<String> = addresses.into_iter().collect();
        out.insert(Detected {
            kind: AccessKind::Hosting,
            provider: format!("servers at {}", list.join(", ")),
            recognised: false,
            evidence: format!("A/AAAA {}", list.join(", ")),
        });
    }
    // Email: MX hosts and SPF includes.
    if let Some(email) = &facts.email {
        for (query, answer) in email.dns.iter() {
            match query.qtype {
                QueryType::Mx if query.name.trim_end_matches('.') == facts.domain => {
                    for record in answer.rdata() {
                        if let Rdata::Mx {
                            exchange,
                            preference,
                        } = record
                        {
                            let provider = lookup(exchange, MAIL);
                            out.insert(Detected {
                                kind: AccessKind::Email,
                                provider: provider.map_or_else(
                                    || format!("mail servers {}", exchange.trim_end_matches('.')),
                                    str::to_string,
                                ),
                                recognised: provider.is_some(),
                                evidence: format!("MX {preference} {exchange}"),
                            });
                        }
                    }
                }
                QueryType::Txt if query.name.trim_end_matches('.') == facts.domain => {
                    for txt in answer.txt() {
                        if !txt.to_ascii_lowercase().starts_with("v=spf1") {
                            continue;
                        }
                        for include in spf_includes(&txt) {
                            let provider = lookup(&include, MAIL);
                            out.insert(Detected {
                                kind: AccessKind::Email,
                                provider: provider
                                    .map_or_else(|| format!("sender {include}"), str::to_string),
                                recognised: provider.is_some(),
                                evidence: format!("SPF include:{include}"),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // One entry per provider and kind, keeping the first evidence.
    let mut seen = BTreeSet::new();
    out.into_iter()
        .filter(|d| seen.insert((d.kind, d.provider.clone())))
        .collect()
}

/// The `include:` domains of an SPF record.
pub fn spf_includes(record: &str) -> Vec<String> {
    record
        .split_whitespace()
        .filter_map(|term| {
            term.trim_start_matches(['+', '-', '~', '?'])
                .strip_prefix("include:")
                .map(str::to_string)
        })
        .collect()
}
