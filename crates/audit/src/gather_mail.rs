//! Gathering for the email checks: asks every DNS question the mail rules need (the fixed ones at once, then
//! whatever the SPF tree, DMARC report destinations and MX hosts lead to), fetches MTA-STS policies, and with
//! `--smtp` asks each MX for STARTTLS. The rules themselves decide what is needed: they run over the growing
//! snapshot until they stop asking, so gathering can never miss an answer a rule reads.

use futures::future::join_all;
use launchready_findings::facts::{EmailFacts, MailDomainFacts, MtaStsFacts};
use launchready_mail::dns::{Query, Snapshot};
use launchready_manifest::Manifest;
use launchready_net::Net;
use url::Url;

use crate::rules::email;

pub(crate) async fn gather_email(manifest: &Manifest, net: &Net, smtp: bool) -> EmailFacts {
    let domains = email::domains(manifest);
    let mut snapshot = Snapshot::new();

    // Round one: the questions every domain needs whatever the answers, all at once.
    let mut fixed: Vec<Query> = domains.iter().flat_map(email::fixed_questions).collect();
    fixed.sort();
    fixed.dedup();
    let answers = join_all(fixed.into_iter().map(|query| async move {
        let answer = net.mail_answer(&query).await;
        (query, answer)
    }))
    .await;
    for (query, answer) in answers {
        snapshot.insert(query, answer);
    }

    // Round two: each domain's rules run until they stop asking; domains proceed side by side.
    let base = &snapshot;
    let rounds = join_all(domains.iter().map(|domain| async move {
        let mut own = base.clone();
        let outcome = net
            .mail_resolve(&mut own, |s| {
                email::judge_domain(s, domain, manifest, &[], &[]).map(|_| ())
            })
            .await;
        (
            own,
            outcome.err().map(|e| format!("{}: {e}", domain.domain)),
        )
    }))
    .await;
    let mut incomplete = Vec::new();
    for (own, problem) in rounds {
        snapshot.extend(&own);
        incomplete.extend(problem);
    }

    // MTA-STS policies, for the domains that announce one.
    let announcing: Vec<&MailDomainFacts> = domains
        .iter()
        .filter(|d| email::announces_mta_sts(&snapshot, &d.domain))
        .collect();
    let mta_sts = join_all(announcing.into_iter().map(|d| async move {
        let url = format!("https://mta-sts.{}/.well-known/mta-sts.txt", d.domain);
        let fetch = match Url::parse(&url) {
            Ok(url) => net.fetch(&url).await,
            Err(_) => return None,
        };
        Some(MtaStsFacts {
            domain: d.domain.clone(),
            fetch,
        })
    }))
    .await
    .into_iter()
    .flatten()
    .collect();

    let smtp = if smtp {
        let targets: Vec<(String, String)> = domains
            .iter()
            .filter(|d| d.sending)
            .flat_map(|d| {
                email::mx_hosts(&snapshot, &d.domain)
                    .into_iter()
                    .map(|host| (d.domain.clone(), host))
            })
            .collect();
        join_all(
            targets
                .iter()
                .map(|(domain, host)| net.probe_smtp(domain, host)),
        )
        .await
    } else {
        Vec::new()
    };

    EmailFacts {
        domains,
        dns: snapshot,
        mta_sts,
        smtp,
        incomplete,
    }
}
