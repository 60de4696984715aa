//! Test support shared by every crate's tests: start the lab or a real server, point the net layer at it, run
//! an audit, and assert on finding ids with messages that print the whole report. Only ever a dev-dependency.

pub mod cli;
pub mod lab;
pub mod server;
pub mod watchdog;
