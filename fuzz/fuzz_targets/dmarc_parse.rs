//! Fuzzes the DMARC record parser, record selection and report-authorisation naming, plus the DKIM key and
//! MTA-STS policy parsers that share the tag-list syntax.
#![no_main]

use launchready_mail::{dkim, dmarc, mtasts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = dmarc::select(&[text.to_string()]);
    if let Ok(record) = dmarc::parse(&text) {
        for uri in record.rua.iter().chain(&record.ruf) {
            let _ = dmarc::report_authorization_name("fuzz.test", uri);
        }
        let _ = dmarc::effective_policy(&record, true);
    }
    let _ = dkim::parse_key_record(&text);
    let _ = mtasts::parse_policy(&text);
    let _ = mtasts::parse_sts_txt(&text);
});
