//! The `monitor` and `incident-note` subcommands: read the manifest, plan the checks, open the database (a SQLite
//! file, or a `postgres://` URL several nodes share), and either run every check once (`--once`, for cron and CI:
//! exit 0 all up, 1 something down) or run on the schedule until Ctrl-C, optionally serving the dashboard. The
//! work is in `launchready-monitor`.

use crate::cli::NetArgs;
use crate::journey_args::{self, SiteVariableArgs};
use crate::{Failure, exit};
use anyhow::anyhow;
use clap::Args;
use launchready_flow::Variables;
use launchready_manifest::Manifest;
use launchready_monitor::checks::JourneyMailbox;
use launchready_monitor::runner::Node;
use launchready_monitor::store::{display_url, is_postgres_url};
use launchready_monitor::{FlowContext, Monitor, Store, dashboard, from_manifest, plan};
use launchready_net::{Net, NetConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Args)]
// The monitor stores what the journeys send and receive: its secrets are kept out of that (verbatim: without the
// final period clap drops from a doc comment).
#[command(mut_arg("secrets", |arg| arg.help("A secret variable for the journeys, NAME=VALUE, redacted from everything stored. Repeatable")))]
pub struct MonitorCmd {
    /// The manifest to use instead of ./launchready.toml.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Run every check once, evaluate the alerts, deliver notices and exit (0 all up, 1 a check is down).
    #[arg(long)]
    pub once: bool,
    /// The database: a SQLite file, or a postgres://USER[:PASSWORD]@HOST[:PORT]/DB URL that several monitor
    /// nodes share (default: [monitor] database, else launchready-monitor.db beside the manifest).
    #[arg(long, visible_alias = "database", value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// This node's name among the nodes sharing a PostgreSQL database (default: host name and process id).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// This node's region label: with regions, each region runs every check and results record their region.
    #[arg(long, value_name = "LABEL")]
    pub region: Option<String>,
    /// Serve the dashboard, /metrics and /healthz on this address, e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The environment variable holding the dashboard's token; required off loopback.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// List the planned checks and alert rules, and exit.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub vars: SiteVariableArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Args)]
pub struct IncidentNoteCmd {
    /// The manifest to use instead of ./launchready.toml.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The monitor's database (a SQLite file or a postgres:// URL), for the incidents open now.
    #[arg(long, visible_alias = "database", value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
}

/// The journeys' variables: the site's (`base_url`, `domain`), the `--variable` flags, then secrets from
/// `HURL_SECRET_name` and the `--secret` flags.
fn variables(cmd: &MonitorCmd, manifest: &Manifest) -> Result<Variables, Failure> {
    let mut vars = journey_args::site_variables(manifest);
    cmd.vars.add_to(&mut vars)?;
    Ok(vars)
}

/// The manifest of `monitor` and `incident-note`: `--manifest`, else ./launchready.toml.
fn load_manifest(path: Option<&Path>) -> Result<Manifest, Failure> {
    crate::commands::required_manifest(
        path,
        "monitor needs a manifest: run it where launchready.toml is, or pass --manifest FILE (create one with launchready init example.com)",
    )
}

async fn open_store(path: &Path) -> Result<Store, Failure> {
    Store::open(path).await.map_err(Failure::could_not_run)
}

fn is_url(database: &Path) -> bool {
    database.to_str().is_some_and(is_postgres_url)
}

/// `--node` and `--region`, else `[monitor] node` and `region` (checked when the manifest was read): a label
/// goes into every result and the schedule, so it must be a plain word.
fn node(cmd: &MonitorCmd, manifest: &Manifest) -> Result<Node, Failure> {
    let label = |flag: &str, value: &str| -> Result<String, Failure> {
        let value = value.trim();
        if !launchready_manifest::is_node_label(value) {
            return Err(Failure::usage(anyhow!(
                "{flag} `{value}`: expected 1 to 64 letters, digits, `-`, `_` or `.`"
            )));
        }
        Ok(value.to_string())
    };
    let mut node = Node::default();
    match (&cmd.node, &manifest.monitor.node) {
        (Some(name), _) => node.name = label("--node", name)?,
        (None, Some(name)) => node.name = name.clone(),
        (None, None) => {}
    }
    match (&cmd.region, &manifest.monitor.region) {
        (Some(region), _) => node.region = label("--region", region)?,
        (None, Some(region)) => node.region = region.clone(),
        (None, None) => {}
    }
    Ok(node)
}

pub async fn run(cmd: MonitorCmd) -> Result<u8, Failure> {
    let manifest = load_manifest(cmd.manifest.as_deref())?;
    let checks = plan(&manifest);
    let config = from_manifest(&manifest, &checks, cmd.db.clone());
    if cmd.list {
        for check in &checks {
            println!("{:<32} {}", check.id, check.target());
        }
        for step in &config.steps {
            println!("{:<32} step {} of the journey", step.id, step.entry);
        }
        for rule in &config.rules {
            println!(
                "alert  {:<24} {:<32} {} → {}",
                rule.name,
                rule.checks.join(","),
                rule.condition.describe(),
                rule.channels.join(",")
            );
        }
        return Ok(exit::READY);
    }
    let token =
        match &cmd.token_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                Failure::usage(anyhow!("--token-env {var}: the variable is not set"))
            })?),
            None => None,
        };
    if let Some(addr) = cmd.listen {
        dashboard::check_listen(addr, token.as_deref()).map_err(Failure::usage)?;
    }
    let problems = config.unplanned(&checks);
    if !problems.is_empty() {
        return Err(Failure::usage(anyhow!(
            "the manifest names checks that are not planned:\n  {}",
            problems.join("\n  ")
        )));
    }
    let vars = variables(&cmd, &manifest)?;
    let node = node(&cmd, &manifest)?;
    let net_config = crate::commands::net_config(&cmd.net, &manifest)?;
    let net = crate::commands::open_net(net_config.clone())?;
    // Channels are reached as themselves: no --connect-to, the system's resolver unless one was named.
    let channel_net = Net::new(NetConfig {
        resolvers: net_config.resolvers.clone(),
        ca_files: net_config.ca_files.clone(),
        timeout: net_config.timeout,
        ..NetConfig::default()
    })
    .map_err(Failure::could_not_run)?;
    // `mailbox://` steps read the manifest's [mailbox]: the SMTP sink is started now and kept for the whole
    // run (`mailbox_run` owns it); an IMAP inbox is logged into afresh by each journey run.
    let mailbox_run = match &manifest.mailbox {
        Some(setup) => Some(journey_args::start_mailbox(setup, &net_config).await?),
        None => None,
    };
    let store = open_store(&config.database).await?;
    if store.is_shared() && !cmd.once {
        let region = if node.region.is_empty() {
            String::new()
        } else {
            format!(" in region {}", node.region)
        };
        eprintln!(
            "monitor: node {}{region}, sharing {}",
            node.name,
            display_url(&config.database.to_string_lossy())
        );
    }
    // The dashboard's note page needs the configuration the monitor consumes.
    let note = dashboard::NoteContext {
        site: manifest.apex().to_string(),
        config: config.clone(),
        rollback: manifest.deploy.as_ref().and_then(|d| d.rollback.clone()),
    };
    let maintenance = config.maintenance.clone();
    let monitor = Monitor::new(
        config,
        checks.clone(),
        store.clone(),
        Arc::new(net),
        Arc::new(channel_net),
        FlowContext {
            vars,
            mailbox: None,
        },
    )
    .map_err(Failure::usage)?
    .with_node(node);
    let monitor = match &mailbox_run {
        Some(run) => monitor.with_mailbox(JourneyMailbox::from_run(run)),
        None => monitor,
    };

    if cmd.once {
        let summary = monitor.once().await.map_err(Failure::could_not_run)?;
        let mut down = 0;
        for result in &summary.results {
            let status = if result.ok { "up" } else { "DOWN" };
            if !result.ok {
                down += 1;
            }
            println!(
                "{:<32} {:<5} {:>8.1} ms  {}",
                result.check,
                status,
                result.duration_ms,
                result.error.as_deref().unwrap_or("")
            );
        }
        println!(
            "{} checks, {} down; {} new notices, {} delivered",
            summary.results.len(),
            down,
            summary.notifications,
            summary.delivered
        );
        for error in &summary.delivery_errors {
            eprintln!("monitor: {error}");
        }
        drop(mailbox_run);
        return Ok(if down > 0 {
            exit::FINDINGS
        } else {
            exit::READY
        });
    }

    let monitor = Arc::new(monitor);
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Some(addr) = cmd.listen {
        let router = dashboard::Dashboard::new(store, checks)
            .maintenance(maintenance)
            .token(token)
            .note(note)
            .router();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::could_not_run(anyhow!("cannot listen on {addr}: {e}")))?;
        eprintln!(
            "monitor: dashboard on http://{}/",
            listener.local_addr().unwrap_or(addr)
        );
        tokio::spawn(async move {
            let _ = axum_serve(listener, router).await;
        });
    }
    eprintln!(
        "monitor: {} checks running; Ctrl-C stops",
        monitor.checks.len()
    );
    monitor.run(stop).await;
    drop(mailbox_run);
    Ok(exit::INTERRUPTED)
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    router: launchready_monitor::dashboard::Router,
) -> std::io::Result<()> {
    launchready_monitor::dashboard::serve_on(listener, router).await
}

pub async fn incident_note(cmd: IncidentNoteCmd) -> Result<u8, Failure> {
    let manifest = load_manifest(cmd.manifest.as_deref())?;
    let checks = plan(&manifest);
    let config = from_manifest(&manifest, &checks, cmd.db.clone());
    let open = if config.database.is_file() || is_url(&config.database) {
        let store = open_store(&config.database).await?;
        store
            .incidents(100)
            .await
            .map_err(Failure::could_not_run)?
            .into_iter()
            .filter(|i| i.resolved_ms.is_none())
            .collect()
    } else {
        Vec::new()
    };
    let rollback = manifest.deploy.as_ref().and_then(|d| d.rollback.as_deref());
    print!(
        "{}",
        launchready_monitor::note::incident_note(
            manifest.apex(),
            &checks,
            &config,
            &open,
            rollback
        )
    );
    Ok(exit::READY)
}
