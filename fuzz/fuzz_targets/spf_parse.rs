//! Fuzzes the SPF record parser and the static analysis over a one-record snapshot: any bytes must give a value or
//! an error, never a panic or a hang.
#![no_main]

use launchready_mail::dns::{Answer, QueryType, Rdata, Snapshot};
use launchready_mail::spf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(record) = spf::parse(&text) {
        // Printing every term exercises the span bookkeeping.
        for term in &record.terms {
            let _ = record.term_text(term);
        }
    }
    let _ = spf::select(&[text.to_string()]);
    // The record served at the apex, every other name void: the walk must end without asking forever.
    let snapshot = Snapshot::new().with(
        "fuzz.test",
        QueryType::Txt,
        Answer::records(vec![Rdata::Txt(vec![text.to_string()])]),
    );
    let _ = spf::analyze(&snapshot, "fuzz.test");
});
