//! Static analysis of a domain's SPF policy for the audit: the include/redirect tree walked without a
//! client IP, with lookup counts, void lookups, records that are too long, and the shapes (loops, deep
//! chains, `ptr`, big MX sets) that break or endanger evaluation. Hostile trees are cut off early.

use serde::Serialize;

use super::eval::{MAX_DNS_TERMS, MAX_NAMES_PER_TERM};
use super::parse::{Mechanism, Qualifier, Selection, SyntaxError, Term, parse, select};
use crate::dns::{Answer, Lookup, Pending, QueryType, Rdata, normalize};

/// Lookups after which the walk stops following includes and redirects: twice the RFC limit, enough to
/// show by how much a policy is over it without letting a hostile tree run on.
pub const WALK_LOOKUP_CAP: usize = 2 * MAX_DNS_TERMS;

/// How a node was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "qualifier", rename_all = "lowercase")]
pub enum Via {
    Root,
    Include(Qualifier),
    Redirect,
}

/// What was found at a node's domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum NodeState {
    Parsed,
    NoRecord,
    Multiple,
    Syntax(SyntaxError),
    TempError(String),
    /// The domain is already on the path from the root; not followed again.
    Loop,
    /// Not looked at: the walk had already counted more than [`WALK_LOOKUP_CAP`] lookups.
    NotFollowed,
}

/// One record in the tree, in record order: a followed include/redirect or a leaf term that queries DNS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Entry {
    /// Index into `children`.
    Child { index: usize },
    /// A DNS-querying term that is not followed (a, mx, ptr, exists, or anything with macros).
    Leaf { term: String, void: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub domain: String,
    pub via: Via,
    /// Every `v=spf1` record found at the domain.
    pub records: Vec<String>,
    pub state: NodeState,
    /// DNS-querying terms in this record itself (include, a, mx, ptr, exists, redirect).
    pub lookups: usize,
    /// This node's lookups plus all of its descendants'.
    pub lookups_total: usize,
    /// Names this record's terms query that came back NXDOMAIN or empty.
    pub void_lookups: Vec<String>,
    pub all: Option<Qualifier>,
    pub redirect: Option<String>,
    pub ptr_used: bool,
    /// Targets of `mx` terms with more than 10 MX hosts (a permerror when evaluated).
    pub mx_over_10: Vec<String>,
    /// Terms whose domain depends on macros: counted, not followed.
    pub macro_terms: Vec<String>,
    /// The longest character-string of the SPF TXT record (over 255 cannot be published as one string).
    pub longest_string: usize,
    /// The joined record's length (over 512 bytes risks truncated UDP answers).
    pub record_len: usize,
    pub entries: Vec<Entry>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub root: Node,
    pub total_lookups: usize,
    pub total_void_lookups: usize,
}

impl Node {
    fn new(domain: &str, via: Via, state: NodeState) -> Node {
        Node {
            domain: domain.to_owned(),
            via,
            records: Vec::new(),
            state,
            lookups: 0,
            lookups_total: 0,
            void_lookups: Vec::new(),
            all: None,
            redirect: None,
            ptr_used: false,
            mx_over_10: Vec::new(),
            macro_terms: Vec::new(),
            longest_string: 0,
            record_len: 0,
            entries: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Every node of the tree, this one first.
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }

    fn label(&self) -> String {
        match self.via {
            Via::Root => self.domain.clone(),
            Via::Include(Qualifier::Pass) => format!("include:{}", self.domain),
            Via::Include(q) => format!("{q}include:{}", self.domain),
            Via::Redirect => format!("redirect={}", self.domain),
        }
    }

    fn note(&self) -> String {
        match &self.state {
            NodeState::Parsed => String::new(),
            NodeState::NoRecord => " [no SPF record]".to_owned(),
            NodeState::Multiple => format!(" [{} SPF records]", self.records.len()),
            NodeState::Syntax(e) => format!(" [syntax error: {e}]"),
            NodeState::TempError(e) => format!(" [lookup failed: {e}]"),
            NodeState::Loop => " [loop: not followed again]".to_owned(),
            NodeState::NotFollowed => " [not followed: lookup cap reached]".to_owned(),
        }
    }
}

impl Analysis {
    /// The tree as text. Each line shows the lookups that branch costs (the term itself plus everything
    /// under it), so a node's children add up to its own count.
    pub fn render_tree(&self) -> String {
        let mut out = format!(
            "{} ({} lookups){}\n",
            self.root.label(),
            self.root.lookups_total,
            self.root.note()
        );
        render_entries(&self.root, "", &mut out);
        out
    }
}

fn render_entries(node: &Node, prefix: &str, out: &mut String) {
    let count = node.entries.len();
    for (i, entry) in node.entries.iter().enumerate() {
        let last = i + 1 == count;
        let (branch, indent) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        match entry {
            Entry::Leaf { term, void } => {
                let void = if *void { " [void]" } else { "" };
                out.push_str(&format!("{prefix}{branch}{term} (1){void}\n"));
            }
            Entry::Child { index } => {
                let Some(child) = node.children.get(*index) else {
                    continue;
                };
                out.push_str(&format!(
                    "{prefix}{branch}{} ({}){}\n",
                    child.label(),
                    child.lookups_total + 1,
                    child.note()
                ));
                render_entries(child, &format!("{prefix}{indent}"), out);
            }
        }
    }
}

/// Walks `domain`'s SPF tree.
pub fn analyze(dns: &impl Lookup, domain: &str) -> Result<Analysis, Pending> {
    let mut walker = Walker {
        dns,
        counted: 0,
        path: Vec::new(),
    };
    let root = walker.node(&normalize(domain), Via::Root)?;
    let total_void_lookups = root.walk().iter().map(|n| n.void_lookups.len()).sum();
    Ok(Analysis {
        total_lookups: root.lookups_total,
        total_void_lookups,
        root,
    })
}

struct Walker<'a, L> {
    dns: &'a L,
    /// Lookups counted so far across the whole walk.
    counted: usize,
    path: Vec<String>,
}

impl<L: Lookup> Walker<'_, L> {
    fn node(&mut self, domain: &str, via: Via) -> Result<Node, Pending> {
        if self.path.iter().any(|d| d == domain) {
            return Ok(Node::new(domain, via, NodeState::Loop));
        }
        if self.counted > WALK_LOOKUP_CAP {
            return Ok(Node::new(domain, via, NodeState::NotFollowed));
        }
        let answer = self.dns.get(domain, QueryType::Txt)?;
        let mut node = Node::new(domain, via, NodeState::NoRecord);
        let text = match answer {
            Answer::TempError { reason } => {
                node.state = NodeState::TempError(reason.clone());
                return Ok(node);
            }
            Answer::NoData | Answer::NxDomain => return Ok(node),
            Answer::Records { .. } => match select(&answer.txt()) {
                Selection::None => return Ok(node),
                Selection::Multiple(records) => {
                    node.records = records;
                    node.state = NodeState::Multiple;
                    return Ok(node);
                }
                Selection::One(text) => text,
            },
        };
        node.records = vec![text.clone()];
        node.record_len = text.len();
        node.longest_string = answer
            .rdata()
            .iter()
            .find(|r| r.txt_joined().as_deref() == Some(text.as_str()))
            .map(|r| match r {
                Rdata::Txt(strings) => strings.iter().map(String::len).max().unwrap_or(0),
                _ => 0,
            })
            .unwrap_or(0);
        let record = match parse(&text) {
            Ok(record) => record,
            Err(e) => {
                node.state = NodeState::Syntax(e);
                return Ok(node);
            }
        };
        node.state = NodeState::Parsed;
        self.path.push(domain.to_owned());
        let result = self.terms(&mut node, &record);
        self.path.pop();
        result?;
        node.lookups_total =
            node.lookups + node.children.iter().map(|c| c.lookups_total).sum::<usize>();
        Ok(node)
    }

    fn terms(&mut self, node: &mut Node, record: &super::parse::Record) -> Result<(), Pending> {
        let domain = node.domain.clone();
        for term in &record.terms {
            let text = record.term_text(term).to_owned();
            match term {
                Term::Directive {
                    qualifier,
                    mechanism,
                    ..
                } => {
                    if let Mechanism::All = mechanism {
                        node.all = Some(*qualifier);
                    }
                    if let Mechanism::Ptr { .. } = mechanism {
                        node.ptr_used = true;
                    }
                    if !mechanism.queries_dns() {
                        continue;
                    }
                    node.lookups += 1;
                    self.counted += 1;
                    let spec = mechanism.domain_spec();
                    if spec.is_some_and(|s| s.has_macros()) {
                        node.macro_terms.push(text.clone());
                        node.entries.push(Entry::Leaf {
                            term: text,
                            void: false,
                        });
                        continue;
                    }
                    let target = spec.map_or(domain.clone(), |s| normalize(&s.source));
                    if let Mechanism::Include { .. } = mechanism {
                        let child = self.node(&target, Via::Include(*qualifier))?;
                        if self.txt_void(&target)? {
                            node.void_lookups.push(target);
                        }
                        node.entries.push(Entry::Child {
                            index: node.children.len(),
                        });
                        node.children.push(child);
                        continue;
                    }
                    let void = self.leaf_void(mechanism, &target, node)?;
                    if void {
                        node.void_lookups.push(target);
                    }
                    node.entries.push(Entry::Leaf { term: text, void });
                }
                Term::Modifier { name, value, .. } if name == "redirect" => {
                    node.redirect = Some(value.clone());
                }
                Term::Modifier { .. } => {}
            }
        }
        // A redirect is only used when nothing matched, and `all` always matches (section 6.1).
        if let Some(value) = node.redirect.clone()
            && node.all.is_none()
        {
            node.lookups += 1;
            self.counted += 1;
            let text = format!("redirect={value}");
            let has_macros =
                super::macros::MacroString::parse(&value, super::macros::Scope::Domain)
                    .map(|m| m.has_macros())
                    .unwrap_or(false);
            if has_macros {
                node.macro_terms.push(text.clone());
                node.entries.push(Entry::Leaf {
                    term: text,
                    void: false,
                });
            } else {
                let target = normalize(&value);
                let child = self.node(&target, Via::Redirect)?;
                if self.txt_void(&target)? {
                    node.void_lookups.push(target);
                }
                node.entries.push(Entry::Child {
                    index: node.children.len(),
                });
                node.children.push(child);
            }
        }
        Ok(())
    }

    /// Whether the TXT answer of a followed include/redirect target was void (only once it was asked).
    fn txt_void(&self, target: &str) -> Result<bool, Pending> {
        Ok(self
            .dns
            .answer(&crate::dns::Query::new(target, QueryType::Txt))
            .is_some_and(Answer::is_void))
    }

    /// Queries an a/mx/exists target (ptr needs an IP, so it is not queried) and reports a void answer.
    fn leaf_void(
        &self,
        mechanism: &Mechanism,
        target: &str,
        node: &mut Node,
    ) -> Result<bool, Pending> {
        if self.counted > WALK_LOOKUP_CAP {
            return Ok(false);
        }
        match mechanism {
            Mechanism::A { .. } => {
                let v4 = self.dns.get(target, QueryType::A)?.is_void();
                let v6 = self.dns.get(target, QueryType::Aaaa)?.is_void();
                Ok(v4 && v6)
            }
            Mechanism::Exists { .. } => Ok(self.dns.get(target, QueryType::A)?.is_void()),
            Mechanism::Mx { .. } => {
                let answer = self.dns.get(target, QueryType::Mx)?;
                let hosts = answer
                    .rdata()
                    .iter()
                    .filter(|r| matches!(r, Rdata::Mx { exchange, .. } if !exchange.is_empty()))
                    .count();
                if hosts > MAX_NAMES_PER_TERM {
                    node.mx_over_10.push(target.to_owned());
                }
                Ok(answer.is_void())
            }
            _ => Ok(false),
        }
    }
}
