//! Email-authentication lookups: hickory answers turned into the plain `launchready_mail::dns::Answer` data the
//! SPF, DMARC and DKIM evaluators read.

use crate::Net;
use hickory_resolver::net::{DnsError, NetError as HickoryError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use launchready_mail::dns::{Answer, Pending, Query, QueryType, Rdata, Snapshot, TooManyQueries};

/// CNAME links followed inside one answer before giving up on finding the final owner.
const MAX_CNAME_LINKS: usize = 16;

fn record_type(qtype: QueryType) -> RecordType {
    match qtype {
        QueryType::Txt => RecordType::TXT,
        QueryType::A => RecordType::A,
        QueryType::Aaaa => RecordType::AAAA,
        QueryType::Mx => RecordType::MX,
        QueryType::Ptr => RecordType::PTR,
    }
}

/// The question's name built label by label from raw bytes: macro-expanded SPF names may hold characters
/// (`:`, `/`, `%`, spaces) that hickory's text parser refuses but DNS carries fine.
fn query_name(name: &str) -> Result<Name, String> {
    if name.is_empty() {
        return Ok(Name::root());
    }
    Name::from_labels(name.split('.').map(str::as_bytes)).map_err(|e| e.to_string())
}

/// A name as the evaluators spell names: lower case, no trailing dot, labels as text.
fn name_text(name: &Name) -> String {
    name.iter()
        .map(|label| String::from_utf8_lossy(label).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(".")
}

fn failure(error: &HickoryError) -> Answer {
    match error {
        HickoryError::Dns(DnsError::NoRecordsFound(no)) => match no.response_code {
            ResponseCode::NXDomain => Answer::NxDomain,
            ResponseCode::NoError => Answer::NoData,
            code => Answer::TempError {
                reason: format!("answered {code}"),
            },
        },
        HickoryError::Timeout => Answer::TempError {
            reason: "no answer before the timeout".to_owned(),
        },
        other => Answer::TempError {
            reason: other.to_string(),
        },
    }
}

impl Net {
    /// Asks one email-authentication question and returns the answer as data: only records of the asked
    /// type owned by the end of the CNAME chain, the chain itself, and NXDOMAIN / no data / failure kept
    /// apart. Honours the timeout, the deadline and the concurrency limit like every other lookup.
    pub async fn mail_answer(&self, query: &Query) -> Answer {
        let name = match query_name(&query.name) {
            Ok(name) => name,
            Err(reason) => {
                return Answer::TempError {
                    reason: format!("cannot query {}: {reason}", query.name),
                };
            }
        };
        let wanted = record_type(query.qtype);
        let _permit = self.limit.acquire().await;
        let lookup = self.resolver.lookup(name.clone(), wanted);
        let lookup = match tokio::time::timeout(self.op_timeout(), lookup).await {
            Err(_) => {
                return Answer::TempError {
                    reason: "no answer before the timeout".to_owned(),
                };
            }
            Ok(Err(error)) => return failure(&error),
            Ok(Ok(lookup)) => lookup,
        };
        let answers = lookup.answers();
        let mut owner = name;
        let mut cname_chain = Vec::new();
        for _ in 0..MAX_CNAME_LINKS {
            let next = answers.iter().find_map(|r| match &r.data {
                RData::CNAME(target) if r.name == owner => Some(target.0.clone()),
                _ => None,
            });
            let Some(target) = next else { break };
            if cname_chain.contains(&name_text(&target)) {
                break;
            }
            cname_chain.push(name_text(&target));
            owner = target;
        }
        let records: Vec<Rdata> = answers
            .iter()
            .filter(|r| r.name == owner && r.record_type() == wanted)
            .filter_map(|r| match &r.data {
                RData::TXT(txt) => Some(Rdata::Txt(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect(),
                )),
                RData::A(a) => Some(Rdata::A(a.0)),
                RData::AAAA(aaaa) => Some(Rdata::Aaaa(aaaa.0)),
                RData::MX(mx) => Some(Rdata::Mx {
                    preference: mx.preference,
                    exchange: name_text(&mx.exchange),
                }),
                RData::PTR(ptr) => Some(Rdata::Ptr(name_text(&ptr.0))),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return Answer::NoData;
        }
        Answer::Records {
            records,
            cname_chain,
        }
    }

    /// Runs a pure evaluator (SPF, DMARC, …) to completion, answering each question it asks with
    /// [`Net::mail_answer`]; `snapshot` ends up holding every answer it saw.
    pub async fn mail_resolve<T>(
        &self,
        snapshot: &mut Snapshot,
        evaluate: impl FnMut(&Snapshot) -> Result<T, Pending>,
    ) -> Result<T, TooManyQueries> {
        launchready_mail::dns::resolve(snapshot, evaluate, |query| async move {
            self.mail_answer(&query).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn odd_names_survive_the_round_trip() {
        let name = query_name("Foo:Bar/baz.example.com").unwrap();
        assert_eq!(name_text(&name), "foo:bar/baz.example.com");
        let spaced = query_name("macro%percent  space%20url-space.example.com").unwrap();
        assert_eq!(
            name_text(&spaced),
            "macro%percent  space%20url-space.example.com"
        );
        assert!(query_name("a..b").is_err());
        assert_eq!(name_text(&query_name("").unwrap()), "");
    }
}
