//! What `flow`, `smoke` and `load` share when they turn the command line into a journey run: `NAME=VALUE` flags,
//! `--variables-file` lines, Hurl's `HURL_VARIABLE_`/`HURL_SECRET_` environment variables, and the exit code of a
//! mailbox that cannot be set up. One place, so the three commands read variables the same way.

use crate::Failure;
use anyhow::anyhow;
use launchready_flow::{FlowFile, Variables, parse_value};
use launchready_mailbox::MailboxError;
use launchready_manifest::Manifest;
use std::path::Path;

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
pub(crate) fn name_value(text: &str, flag: &str) -> Result<(String, String), Failure> {
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
