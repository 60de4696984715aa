//! Email authentication over DNS answers held as plain data: SPF evaluation and analysis (RFC 7208), DMARC
//! (RFC 7489 and DMARCbis), DKIM key records, MTA-STS, TLS-RPT and BIMI records, and identifier alignment.
//!
//! Nothing here does I/O. Evaluators read a [`dns::Lookup`]; when they need an answer it does not hold they
//! stop with [`dns::Pending`], and [`dns::resolve`] fetches it and runs them again, so the same pure code is
//! driven by a live resolver in an audit and by a map in a unit test.

pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod mtasts;
pub mod org;
pub mod records;
pub mod spf;
