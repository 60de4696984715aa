//! The `dns` subcommand: `snapshot` records the zone as it is (BIND zone file plus JSON sidecar), `diff`
//! compares two snapshots or one with live DNS and says what each change means (exit 1 when they differ),
//! `restore-plan` prints the ordered changes that bring a snapshot back. Nothing here writes DNS.

use crate::cli::NetArgs;
use crate::commands::{findings_code, write_file, write_or_print};
use crate::{Failure, exit};
use anyhow::anyhow;
use clap::{Args, Subcommand, ValueEnum};
use launchready_dnsdoc::gather::{self, GatherOptions};
use launchready_dnsdoc::{Snapshot, diff, plan, zone};
use launchready_manifest::Manifest;
use launchready_net::Net;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct DnsCmd {
    #[command(subcommand)]
    pub action: DnsAction,
}

#[derive(Debug, Subcommand)]
pub enum DnsAction {
    /// Record the zone as it is now: every name the manifest knows × every type that matters, with TTLs, plus
    /// a zone-transfer attempt at each nameserver. Writes a BIND zone file and FILE.json beside it.
    Snapshot(SnapshotArgs),
    /// Compare two snapshots, or a snapshot with live DNS (--live): what changed and what it means. Exit 1 when
    /// they differ.
    Diff(DiffArgs),
    /// Print what to put back so the zone matches a snapshot again, ordered to avoid an outage. Changes nothing.
    RestorePlan(PlanArgs),
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The zone apex (e.g. example.com). Optional when launchready.toml names it.
    pub domain: Option<String>,
    /// The manifest to use instead of ./launchready.toml.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The zone file to write (the JSON sidecar goes to FILE.json); standard output when absent.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Another owner name to record (relative to the apex or absolute). Repeatable.
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// Do not attempt zone transfers.
    #[arg(long)]
    pub no_axfr: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier snapshot (zone file or JSON sidecar).
    pub before: PathBuf,
    /// The later snapshot; with --live, the zone as it is now.
    #[arg(required_unless_present = "live", conflicts_with = "live")]
    pub after: Option<PathBuf>,
    /// Compare with live DNS, asking the same names as the snapshot.
    #[arg(long)]
    pub live: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    #[command(flatten)]
    pub live_zone: LiveArgs,
}

/// How `diff` and `restore-plan` read the live zone when no second snapshot is given.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// The manifest whose names live DNS is asked about, besides the snapshot's.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The snapshot to restore (zone file or JSON sidecar).
    pub snapshot: PathBuf,
    /// Compare with this snapshot of the current zone instead of live DNS.
    #[arg(long, value_name = "FILE")]
    pub current: Option<PathBuf>,
    /// steps: ordered instructions; zone: the snapshot's zone file for a provider's import; cloudflare: API
    /// calls; dnscontrol / octodns: declarative configs; json: the plan as data.
    #[arg(long, short = 'f', value_enum, default_value_t = PlanFormat::Steps)]
    pub format: PlanFormat,
    /// Write the plan to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub live_zone: LiveArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Steps,
    Zone,
    Cloudflare,
    Dnscontrol,
    Octodns,
    Json,
}

pub async fn run(cmd: DnsCmd) -> Result<u8, Failure> {
    match cmd.action {
        DnsAction::Snapshot(args) => snapshot(args).await,
        DnsAction::Diff(args) => run_diff(args).await,
        DnsAction::RestorePlan(args) => restore_plan(args).await,
    }
}

fn load(path: &Path) -> Result<Snapshot, Failure> {
    Snapshot::load(path).map_err(Failure::usage)
}

async fn take(
    manifest: &Manifest,
    net_args: &NetArgs,
    options: &GatherOptions,
) -> Result<Snapshot, Failure> {
    let mut options = options.clone();
    // A token in the environment (never a flag: it would land in shell history) adds the provider's export.
    options.cloudflare_token = std::env::var("CLOUDFLARE_API_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let config = crate::commands::net_config(net_args, manifest)?;
    let net = Net::new(config).map_err(Failure::usage)?;
    gather::snapshot(&net, manifest, &options)
        .await
        .map_err(Failure::could_not_run)
}

async fn snapshot(args: SnapshotArgs) -> Result<u8, Failure> {
    let manifest =
        crate::commands::load_manifest(args.domain.as_deref(), args.manifest.as_deref())?;
    let options = GatherOptions {
        extra_names: args.names.clone(),
        no_axfr: args.no_axfr,
        cloudflare_token: None,
    };
    let snap = take(&manifest, &args.net, &options).await?;
    let text = zone::write(&snap);
    match &args.output {
        Some(path) => {
            write_file(path, &text, "")?;
            let sidecar = sidecar_path(path);
            write_file(&sidecar, &snap.to_json(), "")?;
            eprintln!(
                "{}: {} records at {} names ({}) → {} and {}",
                snap.domain,
                snap.records.len(),
                snap.records
                    .iter()
                    .map(|r| &r.name)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
                if snap.coverage.complete {
                    "full zone transfer"
                } else {
                    "name by name; transfers refused"
                },
                path.display(),
                sidecar.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(exit::READY)
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// The live zone, asked about the snapshot's names and the manifest's.
async fn live(reference: &Snapshot, args: &LiveArgs) -> Result<Snapshot, Failure> {
    let manifest = match args.manifest.as_deref() {
        Some(path) => crate::commands::load_manifest(None, Some(path))?,
        None => Manifest::for_domain(&reference.domain).map_err(Failure::usage)?,
    };
    if manifest.apex() != reference.domain {
        return Err(Failure::usage(anyhow!(
            "the snapshot is of {}, the manifest of {}",
            reference.domain,
            manifest.apex()
        )));
    }
    let options = GatherOptions {
        extra_names: reference.coverage.names.clone(),
        no_axfr: false,
        cloudflare_token: None,
    };
    take(&manifest, &args.net, &options).await
}

/// The zone to hold `reference` against: the snapshot at `saved`, else the live zone ([`live`]).
async fn saved_or_live(
    saved: Option<&Path>,
    reference: &Snapshot,
    args: &LiveArgs,
) -> Result<Snapshot, Failure> {
    match saved {
        Some(path) => load(path),
        None => live(reference, args).await,
    }
}

async fn run_diff(args: DiffArgs) -> Result<u8, Failure> {
    let before = load(&args.before)?;
    let after = saved_or_live(args.after.as_deref(), &before, &args.live_zone).await?;
    let changes = diff::diff(&before, &after);
    let text = match args.format {
        DiffFormat::Text => diff::render_text(&changes),
        DiffFormat::Json => serde_json::to_string_pretty(&changes).unwrap_or_default() + "\n",
    };
    write_or_print(None, &text, "")?;
    Ok(findings_code(!changes.is_empty()))
}

async fn restore_plan(args: PlanArgs) -> Result<u8, Failure> {
    let snapshot = load(&args.snapshot)?;
    let current = saved_or_live(args.current.as_deref(), &snapshot, &args.live_zone).await?;
    let restore = plan::restore_plan(&snapshot, &current);
    let text = match args.format {
        PlanFormat::Steps => plan::render_text(&restore),
        PlanFormat::Zone => zone::write(&snapshot),
        PlanFormat::Cloudflare => plan::render_cloudflare(&restore),
        PlanFormat::Dnscontrol => plan::render_dnscontrol(&snapshot),
        PlanFormat::Octodns => plan::render_octodns(&snapshot),
        PlanFormat::Json => serde_json::to_string_pretty(&restore).unwrap_or_default() + "\n",
    };
    write_or_print(args.output.as_deref(), &text, "")?;
    Ok(exit::READY)
}
