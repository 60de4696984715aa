//! The demo's second act: the roadmap's three journeys (examples/flows/) run against the lab's membership app,
//! started with its checkout broken on purpose, so one journey fails at the step that breaks — the same engine
//! and files `launchready flow` and `launchready smoke` use.

use crate::Failure;
use crate::cli::{FormatArg, OutputArgs};
use anyhow::anyhow;
use launchready_flow::{Engine, FlowResult, RunOptions, Value, Variables};
use launchready_lab::app::{AppConfig, MemberApp, Mode};
use launchready_mailbox::{MailboxBackend, SmtpSink};
use launchready_net::{Net, NetConfig};
use std::path::Path;
use std::time::Duration;

/// The journeys, in the roadmap's order (the reset journey changes the member's password, so it runs last).
const JOURNEYS: [(&str, &str); 3] = [
    (
        "examples/flows/signup-to-payment.hurl",
        include_str!("../../../examples/flows/signup-to-payment.hurl"),
    ),
    (
        "examples/flows/login-to-members.hurl",
        include_str!("../../../examples/flows/login-to-members.hurl"),
    ),
    (
        "examples/flows/password-reset.hurl",
        include_str!("../../../examples/flows/password-reset.hurl"),
    ),
];

/// The app's host in the demo: the flawed site's app subdomain.
const APP_HOST: &str = "app.demo.test";
const MEMBER: &str = "member@demo.test";
const PASSWORD: &str = "Correct-Horse-42";
/// A journey that takes longer than this has hung.
const WATCHDOG: Duration = Duration::from_secs(90);

/// Runs the journeys and prints their report: on stdout after a text report there, else on stderr so a JSON
/// or file report stays whole. Returns 1 when a journey failed.
pub async fn run(output: &OutputArgs) -> Result<u8, Failure> {
    let start = |e: &dyn std::fmt::Display| {
        Failure::could_not_run(anyhow!("cannot start the membership app: {e}"))
    };
    let sink = SmtpSink::start(([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| start(&e))?;
    let mut config = AppConfig::new(sink.addr()).mode(Mode::CheckoutError);
    config.host = APP_HOST.to_string();
    config.mail_from = format!("Demo Lab <noreply@{APP_HOST}>");
    let app = MemberApp::start(config).await.map_err(|e| start(&e))?;
    app.add_member(MEMBER, PASSWORD);
    let connect_to = app
        .connect_to_args()
        .iter()
        .map(|rule| rule.parse().map_err(|e| start(&e)))
        .collect::<Result<Vec<_>, _>>()?;
    let net = Net::new(NetConfig {
        // The connect-to rule names an address, so nothing is looked up; naming a resolver keeps the system's
        // configuration out of the demo.
        resolvers: vec![([127, 0, 0, 1], 9).into()],
        connect_to,
        ca_files: vec![app.ca_file().to_path_buf()],
        timeout: Duration::from_secs(10),
        ..NetConfig::default()
    })
    .map_err(|e| start(&e))?;
    let engine = Engine::new(&net, RunOptions::default())
        .with_backend("mailbox", Box::new(MailboxBackend::sink(sink.store())));
    let mut vars = Variables::new();
    vars.set("base_url", Value::String(app.base_url()));
    vars.set("email", Value::String(MEMBER.to_string()));
    vars.set_secret("password", PASSWORD.to_string());

    let mut results: Vec<FlowResult> = Vec::new();
    for (path, source) in JOURNEYS {
        let file = launchready_flow::parse(Path::new(path), source)
            .map_err(|e| Failure::could_not_run(anyhow!("{e}")))?;
        engine
            .check(&file)
            .map_err(|e| Failure::could_not_run(anyhow!("{e}")))?;
        let mut run_vars = vars.clone();
        let mut result = tokio::time::timeout(WATCHDOG, engine.run(&file, &mut run_vars))
            .await
            .map_err(|_| {
                Failure::could_not_run(anyhow!("{path} did not finish within {WATCHDOG:?}"))
            })?;
        result.redact();
        results.push(result);
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let text = format!(
        "\nThe three journeys against the lab's membership app (https://{APP_HOST}, checkout broken on purpose):\n\n{}",
        vars.redact(&launchready_flow::render::text(&results)),
    );
    if output.format == FormatArg::Text && output.output.is_none() {
        print!("{text}");
    } else {
        eprint!("{text}");
    }
    Ok(if passed == results.len() {
        crate::exit::READY
    } else {
        crate::exit::FINDINGS
    })
}
