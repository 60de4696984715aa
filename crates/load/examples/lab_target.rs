//! Starts the lab's membership app (HTTPS on loopback, with its SMTP sink) for bench/load/run.sh and prints, one
//! per line: the app's host, its address, and its CA file. Runs until standard input closes.

use launchready_lab::app::{AppConfig, MemberApp};
use launchready_mailbox::SmtpSink;
use std::io::Read;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sink = SmtpSink::start(([127, 0, 0, 1], 0).into()).await?;
    let app = MemberApp::start(AppConfig::new(sink.addr())).await?;
    println!("{}", app.host());
    println!("{}", app.addr());
    println!("{}", app.ca_file().display());
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    drop(app);
    Ok(())
}
