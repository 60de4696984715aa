//! DNS questions and answers as serialisable data, the [`Lookup`] view evaluators read, and the fixpoint
//! driver that feeds them answers from any async fetcher.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The record types email authentication asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QueryType {
    Txt,
    A,
    Aaaa,
    Mx,
    Ptr,
}

impl fmt::Display for QueryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueryType::Txt => "TXT",
            QueryType::A => "A",
            QueryType::Aaaa => "AAAA",
            QueryType::Mx => "MX",
            QueryType::Ptr => "PTR",
        })
    }
}

/// One question. `name` is lower case without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Query {
    pub name: String,
    pub qtype: QueryType,
}

impl Query {
    pub fn new(name: &str, qtype: QueryType) -> Query {
        Query {
            name: normalize(name),
            qtype,
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.qtype, self.name)
    }
}

/// Lower case, no trailing dot: the one spelling names are compared in.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// One record's data. TXT strings keep their split (each at most 255 bytes on the wire); bytes that are not
/// UTF-8 arrive as U+FFFD, which every check here treats as the non-ASCII they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "UPPERCASE")]
pub enum Rdata {
    Txt(Vec<String>),
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx { preference: u16, exchange: String },
    Ptr(String),
}

impl Rdata {
    /// A TXT record's strings joined as RFC 7208 section 3.3 and RFC 7489 section 6.4 read them.
    pub fn txt_joined(&self) -> Option<String> {
        match self {
            Rdata::Txt(strings) => Some(strings.concat()),
            _ => None,
        }
    }
}

/// What a question got back. `NoData` and `NxDomain` are the "void" answers RFC 7208 section 4.6.4 counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Answer {
    Records {
        records: Vec<Rdata>,
        /// The CNAME targets followed on the way, in order (empty when the name owns the records itself).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cname_chain: Vec<String>,
    },
    NoData,
    NxDomain,
    /// A timeout, SERVFAIL or other failure that may pass: RFC 7208's temperror.
    TempError {
        reason: String,
    },
}

impl Answer {
    pub fn records(records: Vec<Rdata>) -> Answer {
        if records.is_empty() {
            Answer::NoData
        } else {
            Answer::Records {
                records,
                cname_chain: Vec::new(),
            }
        }
    }

    /// The records, or nothing for a void or failed answer.
    pub fn rdata(&self) -> &[Rdata] {
        match self {
            Answer::Records { records, .. } => records,
            _ => &[],
        }
    }

    pub fn is_void(&self) -> bool {
        matches!(self, Answer::NoData | Answer::NxDomain)
    }

    /// Every TXT record, its strings joined.
    pub fn txt(&self) -> Vec<String> {
        self.rdata().iter().filter_map(Rdata::txt_joined).collect()
    }
}

/// An evaluator needs this answer before it can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending(pub Query);

/// Read access to answers already known. `None` means "not asked yet", never "no records".
pub trait Lookup {
    fn answer(&self, query: &Query) -> Option<&Answer>;

    /// The answer, or [`Pending`] so the driver fetches it.
    fn get(&self, name: &str, qtype: QueryType) -> Result<&Answer, Pending> {
        let query = Query::new(name, qtype);
        match self.answer(&query) {
            Some(answer) => Ok(answer),
            None => Err(Pending(query)),
        }
    }
}

/// Every question asked and its answer: the part of the DNS an evaluation saw, kept in the facts snapshot
/// so a verdict can be re-derived offline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Keyed by [`Query`]'s display form (`TXT example.com`) so the map serialises as a JSON object.
    answers: BTreeMap<String, (Query, Answer)>,
}

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    pub fn insert(&mut self, query: Query, answer: Answer) {
        self.answers.insert(query.to_string(), (query, answer));
    }

    /// Builder form for tests and fixtures.
    pub fn with(mut self, name: &str, qtype: QueryType, answer: Answer) -> Snapshot {
        self.insert(Query::new(name, qtype), answer);
        self
    }

    pub fn len(&self) -> usize {
        self.answers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Query, &Answer)> {
        self.answers.values().map(|(q, a)| (q, a))
    }

    /// Adds another snapshot's answers (for sharing answers between evaluations of related domains).
    pub fn extend(&mut self, other: &Snapshot) {
        for (query, answer) in other.iter() {
            self.insert(query.clone(), answer.clone());
        }
    }
}

impl Lookup for Snapshot {
    fn answer(&self, query: &Query) -> Option<&Answer> {
        self.answers.get(&query.to_string()).map(|(_, a)| a)
    }
}

/// Questions one evaluation may send before it is cut off: RFC 7208 allows 10 DNS-querying terms, each MX
/// up to 10 hosts, plus PTR names and void answers; this leaves room for all of that and still ends a
/// hostile tree quickly.
pub const MAX_QUERIES: usize = 256;

/// The driver gave up because the evaluation kept asking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gave up after {asked} DNS questions (last: {last})")]
pub struct TooManyQueries {
    pub asked: usize,
    pub last: Query,
}

/// Runs `evaluate` over `snapshot`, fetching each answer it is missing with `fetch` and running it again,
/// until it finishes. Evaluations are deterministic, so each run gets at least one step further.
pub async fn resolve<T, E, F, Fut>(
    snapshot: &mut Snapshot,
    mut evaluate: E,
    fetch: F,
) -> Result<T, TooManyQueries>
where
    E: FnMut(&Snapshot) -> Result<T, Pending>,
    F: Fn(Query) -> Fut,
    Fut: Future<Output = Answer>,
{
    let mut asked = 0;
    loop {
        match evaluate(snapshot) {
            Ok(value) => return Ok(value),
            Err(Pending(query)) => {
                if asked >= MAX_QUERIES || snapshot.answer(&query).is_some() {
                    // A query that is already answered but still reported pending is an evaluator bug;
                    // stopping beats looping forever.
                    return Err(TooManyQueries { asked, last: query });
                }
                asked += 1;
                let answer = fetch(query.clone()).await;
                snapshot.insert(query, answer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(s: &str) -> Answer {
        Answer::records(vec![Rdata::Txt(vec![s.to_owned()])])
    }

    #[test]
    fn lookup_reports_pending_until_answered() {
        let snap = Snapshot::new().with("Example.COM.", QueryType::Txt, txt("v=spf1 -all"));
        assert_eq!(
            snap.get("example.com", QueryType::Txt).map(Answer::txt),
            Ok(vec!["v=spf1 -all".to_owned()])
        );
        assert_eq!(
            snap.get("example.com", QueryType::A),
            Err(Pending(Query::new("example.com", QueryType::A)))
        );
    }

    #[test]
    fn resolve_fetches_until_done_and_stops_runaways() {
        let mut snap = Snapshot::new();
        let result = futures::executor::block_on(resolve(
            &mut snap,
            |s| {
                let a = s.get("a.test", QueryType::Txt)?.txt();
                let b = s.get("b.test", QueryType::Txt)?.txt();
                Ok((a, b))
            },
            |q| async move { txt(&q.name) },
        ));
        assert_eq!(
            result,
            Ok((vec!["a.test".to_owned()], vec!["b.test".to_owned()]))
        );
        assert_eq!(snap.len(), 2);

        let mut n = 0u32;
        let runaway = futures::executor::block_on(resolve(
            &mut Snapshot::new(),
            |s| {
                n += 1;
                s.get(&format!("{n}.test"), QueryType::A).map(|_| ())
            },
            |_| async { Answer::NoData },
        ));
        assert!(matches!(
            runaway,
            Err(TooManyQueries {
                asked: MAX_QUERIES,
                ..
            })
        ));
    }

    #[test]
    fn snapshot_round_trips_through_json() {
        let snap = Snapshot::new()
            .with(
                "a.test",
                QueryType::Mx,
                Answer::records(vec![Rdata::Mx {
                    preference: 0,
                    exchange: String::new(),
                }]),
            )
            .with(
                "b.test",
                QueryType::Txt,
                Answer::TempError {
                    reason: "timeout".into(),
                },
            );
        let json = serde_json::to_string(&snap).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
    }
}
