//! The `flow` subcommand: runs Hurl files once with the flow engine and reports per entry. Flags keep Hurl's
//! names (`--variable`, `--variables-file`, `--secret`, `--header`, `--location`, `--max-redirs`, `--retry`,
//! `--retry-interval`, `--no-cookie-store`, `--insecure`, `--http1.1`) so existing command lines work; the network flags
//! are launchready's own. Exit codes: 0 all passed, 1 an assert failed, 2 a file or option error, 3 could not run.

use crate::Failure;
use crate::cli::NetArgs;
use crate::commands::{journey_net, manifest_path};
use crate::journey_args::{self, ConnectionArgs, RequestArgs, VariableArgs, mailbox_failure};
use clap::{Args, ValueEnum};
use launchready_flow::{Engine, RunOptions, Variables, exit};
use launchready_mailbox::MailboxRun;
use launchready_manifest::Manifest;
use launchready_net::{Net, NetConfig};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct FlowCmd {
    /// Flow files (Hurl format) to run, in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VariableArgs,
    #[command(flatten)]
    pub request: RequestArgs,
    /// Redirects to follow at most; -1 for no limit.
    #[arg(
        long = "max-redirs",
        value_name = "N",
        default_value_t = 50,
        allow_negative_numbers = true
    )]
    pub max_redirs: i64,
    /// Retry a failing entry this many times; -1 for no limit.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub retry: i64,
    /// Milliseconds between retries.
    #[arg(long = "retry-interval", value_name = "MS", default_value_t = 1000)]
    pub retry_interval: u64,
    /// Do not keep cookies between requests.
    #[arg(long = "no-cookie-store")]
    pub no_cookie_store: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Run the remaining entries of a file after one fails.
    #[arg(long = "continue-on-error")]
    pub continue_on_error: bool,
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = FlowFormat::Text)]
    pub format: FlowFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The manifest whose `[mailbox]` serves `mailbox://` steps (default: ./launchready.toml, read only when a
    /// file has such a step).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowFormat {
    Text,
    Json,
    Junit,
    Markdown,
    Html,
}

fn usage(error: anyhow::Error) -> Failure {
    Failure {
        code: exit::FILE_ERROR,
        error,
    }
}

/// Variables in precedence order: environment, files, then flags (later ones win), secrets last.
fn variables(cmd: &FlowCmd) -> Result<Variables, Failure> {
    let mut vars = Variables::new();
    journey_args::env_variables(&mut vars);
    for path in &cmd.vars.variables_files {
        journey_args::variables_file(&mut vars, path)?;
    }
    journey_args::flag_variables(&mut vars, &cmd.vars.variables)?;
    journey_args::secrets(&mut vars, &cmd.vars.secrets)?;
    Ok(vars)
}

fn net_config(args: &NetArgs) -> Result<NetConfig, Failure> {
    // Servers written against Hurl may look for its name in the User-Agent.
    let user_agent = concat!(
        "launchready/",
        env!("CARGO_PKG_VERSION"),
        " (hurl-compatible)"
    );
    let mut config = journey_net(args, user_agent, NetConfig::default().concurrency)?;
    if let Some(deadline) = args.deadline {
        config.deadline = Some(Instant::now() + deadline);
    }
    Ok(config)
}

/// The `[mailbox]` of the manifest, started for this run, when a file has a `mailbox://` step: `--manifest`, or
/// ./launchready.toml. Without a mailbox step the manifest is not read at all, so `flow` works anywhere.
async fn mailbox(cmd: &FlowCmd, config: &NetConfig) -> Result<Option<MailboxRun>, Failure> {
    if cmd.manifest.is_none() && !journey_args::reads_mail(&cmd.files) {
        return Ok(None);
    }
    let Some(path) = manifest_path(cmd.manifest.as_deref()) else {
        return Ok(None);
    };
    let manifest = Manifest::load(&path).map_err(|e| usage(e.into()))?;
    match &manifest.mailbox {
        Some(setup) => journey_args::start_mailbox(setup, config).await.map(Some),
        None => Ok(None),
    }
}

pub async fn run(cmd: FlowCmd) -> Result<u8, Failure> {
    let options = RunOptions {
        max_redirects: usize::try_from(cmd.max_redirs).ok(),
        retry: usize::try_from(cmd.retry).ok(),
        retry_interval: Duration::from_millis(cmd.retry_interval),
        cookie_store: !cmd.no_cookie_store,
        continue_on_error: cmd.continue_on_error,
        ..journey_args::run_options(&cmd.request, &cmd.connection)?
    };
    let vars = variables(&cmd)?;
    // Every file is read and checked before anything is sent: a typo never half-runs a journey.
    let mut files = Vec::new();
    for path in &cmd.files {
        files.push(launchready_flow::load(path).map_err(|e| usage(e.into()))?);
    }
    let config = net_config(&cmd.net)?;
    let mailbox = mailbox(&cmd, &config).await?;
    let net = Net::new(config).map_err(|e| usage(e.into()))?;
    // Like Hurl, each file starts from the command line's variables and a fresh cookie jar; with a mailbox,
    // each file also reads only the mail that arrives after it starts.
    let mut engines = Vec::new();
    for file in &files {
        let mut engine = Engine::new(&net, options.clone());
        if let Some(mailbox) = &mailbox {
            let backend = mailbox.backend().await.map_err(mailbox_failure)?;
            engine = engine.with_backend("mailbox", Box::new(backend));
        }
        engine.check(file).map_err(|e| usage(e.into()))?;
        engines.push(engine);
    }
    let mut results = Vec::new();
    for (file, engine) in files.iter().zip(&engines) {
        let mut file_vars = vars.clone();
        results.push(engine.run(file, &mut file_vars).await);
    }
    let rendered = match cmd.format {
        FlowFormat::Text => launchready_flow::render::text(&results),
        FlowFormat::Json => launchready_flow::render::json(&results),
        FlowFormat::Junit => launchready_flow::render::junit(&results),
        FlowFormat::Markdown => launchready_flow::render::markdown(&results),
        FlowFormat::Html => launchready_flow::render::html(&results),
    };
    let rendered = vars.redact(&rendered);
    crate::commands::write_or_print(cmd.output.as_deref(), &rendered, "")?;
    Ok(launchready_flow::exit_code(&results))
}
