//! SPF (RFC 7208): record parsing with positions, macro expansion, `check_host()` evaluation and the static
//! analysis an audit reports (include tree, lookup counts, void lookups).

mod analyze;
mod eval;
mod macros;
mod parse;

pub use analyze::{Analysis, Entry, Node, NodeState, Via, WALK_LOOKUP_CAP, analyze};
pub use eval::{
    MAX_DNS_TERMS, MAX_NAMES_PER_TERM, MAX_VOID_LOOKUPS, Params, SpfResult, Verdict, check_host,
    check_host_with, valid_domain,
};
pub use macros::{MacroContext, MacroItem, MacroString, Scope};
pub use parse::{
    Mechanism, Qualifier, Record, Selection, SyntaxError, Term, is_spf, parse, select,
};

#[cfg(test)]
mod tests;
