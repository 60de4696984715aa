//! What `flow`, `smoke`, `load` and `monitor` share when they turn the command line into a journey run: Hurl's
//! flag groups (variables, request options, connection options), `NAME=VALUE` flags, `--variables-file` lines,
//! Hurl's `HURL_VARIABLE_`/`HURL_SECRET_` environment variables, the site's own variables, and the manifest's
//! `[mailbox]` started for a run. One place, so the commands read journeys' settings the same way.

use crate::Failure;
use anyhow::anyhow;
use clap::Args;
use launchready_flow::{FlowFile, RunOptions, Variables, parse_value};
use launchready_mailbox::{MailboxError, MailboxRun, Reach};
use launchready_manifest::Manifest;
use launchready_net::NetConfig;
use std::path::{Path, PathBuf};

/// Variables from the command line, with Hurl's flag names. A command that reads them differently says so in
/// its own help (`#[command(mut_arg(...))]`).
#[derive(Debug, Args)]
pub struct VariableArgs {
    /// Define a variable, NAME=VALUE (true/false, null and numbers are typed). Repeatable.
    #[arg(long = "variable", value_name = "NAME=VALUE")]
    pub variables: Vec<String>,
    /// Read NAME=VALUE lines (# comments) from FILE. Repeatable.
    #[arg(long = "variables-file", value_name = "FILE")]
    pub variables_files: Vec<PathBuf>,
    /// Define a secret variable, NAME=VALUE, redacted from every output. Repeatable.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub secrets: Vec<String>,
}

/// Variables for the manifest's `[[flow]]` journeys, which start from the site's own ([`site_variables`]).
#[derive(Debug, Args)]
pub struct SiteVariableArgs {
    /// A variable for the journeys, NAME=VALUE (`base_url` defaults to the canonical origin). Repeatable.
    #[arg(long = "variable", value_name = "NAME=VALUE")]
    pub variables: Vec<String>,
    /// A secret variable for the journeys, NAME=VALUE, redacted from every output. Repeatable.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    pub secrets: Vec<String>,
}

impl SiteVariableArgs {
    /// Adds the `--variable` flags, then secrets from `HURL_SECRET_name` and the `--secret` flags.
    pub(crate) fn add_to(&self, vars: &mut Variables) -> Result<(), Failure> {
        flag_variables(vars, &self.variables)?;
        secrets(vars, &self.secrets)
    }
}

/// What every request of a journey gets, with Hurl's flag names.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// Add a header to every request, 'NAME: VALUE'. Repeatable.
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Follow redirects for every request.
    #[arg(long, short = 'L')]
    pub location: bool,
}

/// How a journey's connections are made, with Hurl's flag names.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Accept TLS certificates the client does not trust.
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Open a new connection for every request (what a first-time visitor pays on each).
    #[arg(long = "no-keep-alive")]
    pub no_keep_alive: bool,
    /// Offer only HTTP/1.1, never HTTP/2 (as curl's and Hurl's `--http1.1`).
    #[arg(long = "http1.1")]
    pub http1_1: bool,
}

/// The run options the request and connection flags set, over the defaults; a header that is not
/// `NAME: VALUE` is a usage error.
pub(crate) fn run_options(
    request: &RequestArgs,
    connection: &ConnectionArgs,
) -> Result<RunOptions, Failure> {
    let mut headers = Vec::new();
    for header in &request.headers {
        let Some((name, value)) = header.split_once(':') else {
            return Err(Failure::usage(anyhow!(
                "--header `{header}`: expected 'NAME: VALUE'"
            )));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(RunOptions {
        follow_location: request.location,
        headers,
        insecure: connection.insecure,
        keep_alive: !connection.no_keep_alive,
        http1_only: connection.http1_1,
        ..RunOptions::default()
    })
}

/// Whether a flow file has a `mailbox://` step (a file that cannot be read has none; loading it says why).
pub(crate) fn reads_mail(files: &[PathBuf]) -> bool {
    files
        .iter()
        .any(|path| std::fs::read_to_string(path).is_ok_and(|text| text.contains("mailbox://")))
}

/// The manifest's `[mailbox]` started for a run, reached the way the run reaches its servers (its
/// `--connect-to` rules and CA files); passwords come from the environment variables it names.
pub(crate) async fn start_mailbox(
    setup: &launchready_manifest::Mailbox,
    config: &NetConfig,
) -> Result<MailboxRun, Failure> {
    let reach = Reach {
        connect_to: config.connect_to.clone(),
        ca_files: config.ca_files.clone(),
    };
    MailboxRun::start(setup, &reach, |name| std::env::var(name).ok())
        .await
        .map_err(mailbox_failure)
}

/// The site's own variables for its journeys: `base_url` (the canonical origin, e.g. `https://www.example.com`)
/// and `domain`.
pub(crate) fn site_variables(manifest: &Manifest) -> Variables {
    let mut vars = Variables::new();
    let origin = manifest.site.canonical_url.as_str().trim_end_matches('/');
    vars.set("base_url", parse_value(origin));
    vars.set("domain", parse_value(manifest.apex()));
    vars
}

/// Reads every `[[flow]]` file of the manifest, named, before anything is sent: a typo never half-runs a run.
pub(crate) fn manifest_flows(manifest: &Manifest) -> Result<Vec<(String, FlowFile)>, Failure> {
    manifest
        .flows
        .iter()
        .map(|flow| {
            launchready_flow::load(&manifest.flow_path(flow))
                .map(|file| (flow.name.clone(), file))
                .map_err(|e| Failure::usage(anyhow!("[[flow]] `{}`: {e}", flow.name)))
        })
        .collect()
}

/// `NAME=VALUE` from a flag or a file line; a usage error naming the flag otherwise.
fn name_value(text: &str, flag: &str) -> Result<(String, String), Failure> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(Failure::usage(anyhow!(
            "{flag} `{text}`: expected NAME=VALUE"
        ))),
    }
}

/// Environment variables with `prefix`, sorted by name so a run is reproducible.
fn prefixed_env(prefix: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|n| (n.to_string(), v)))
        .collect();
    found.sort();
    found
}

/// `HURL_VARIABLE_name` from the environment, as Hurl reads them.
pub(crate) fn env_variables(vars: &mut Variables) {
    for (name, value) in prefixed_env("HURL_VARIABLE_") {
        vars.set(&name, parse_value(&value));
    }
}

/// `HURL_SECRET_name` from the environment (redacted everywhere), then the `--secret` flags.
pub(crate) fn secrets(vars: &mut Variables, flags: &[String]) -> Result<(), Failure> {
    for (name, value) in prefixed_env("HURL_SECRET_") {
        vars.set_secret(&name, value);
    }
    flag_secrets(vars, flags)
}

/// The `--secret` flags alone (redacted everywhere).
pub(crate) fn flag_secrets(vars: &mut Variables, flags: &[String]) -> Result<(), Failure> {
    for text in flags {
        let (name, value) = name_value(text, "--secret")?;
        vars.set_secret(&name, value);
    }
    Ok(())
}

/// The `--variable` flags, typed as Hurl types them.
pub(crate) fn flag_variables(vars: &mut Variables, flags: &[String]) -> Result<(), Failure> {
    for text in flags {
        let (name, value) = name_value(text, "--variable")?;
        vars.set(&name, parse_value(&value));
    }
    Ok(())
}

/// A `--variables-file`: `NAME=VALUE` lines, `#` comments; a bad line is reported as file:line.
pub(crate) fn variables_file(vars: &mut Variables, path: &Path) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(anyhow!(
            "cannot read --variables-file {}: {e}",
            path.display()
        ))
    })?;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = name_value(line, "--variables-file").map_err(|f| {
            Failure::usage(anyhow!("{}:{}: {}", path.display(), number + 1, f.error))
        })?;
        vars.set(&name, parse_value(&value));
    }
    Ok(())
}

/// A mailbox that cannot be set up: a setting is wrong (exit 2), or the sink or inbox cannot be reached (exit 3).
pub(crate) fn mailbox_failure(error: MailboxError) -> Failure {
    match error {
        MailboxError::Config(_) => Failure::usage(error),
        other => Failure::could_not_run(other),
    }
}
