//! Real servers from the operating system (nginx, Apache, Caddy, NSD, Dovecot, PostgreSQL, Alertmanager,
//! ChromeDriver) started for a test on loopback ports with generated configs, waited for, and stopped on drop.
//!
//! Each server module turns the lab's own description of a world — a `launchready_lab::Scenario` — into that
//! server's configuration, so a test can audit the lab and a real server serving the same sites and compare.
//! A server runs in its own process group, in the foreground, with every file (config, pid, logs, temp) in a
//! temporary directory; dropping it ends the whole group (workers included) and waits for it, also when the test
//! panics. A missing binary is a loud skip, or a failure when `CI=true` (see [`locate`]).
//!
//! Every server starts the same way (`Running::start`): a scratch directory, ports picked free, the module's
//! configuration and command line, a wait until every port accepts connections and the module's own readiness
//! probe agrees, retried while a picked port turns out taken. The web servers build on it in `web` (one
//! `Server` per `Kind`), the single-port ones in [`daemon`].

pub mod alertmanager;
pub mod apache;
pub mod caddy;
pub mod chromedriver;
pub mod daemon;
pub mod dovecot;
pub mod nginx;
pub mod nsd;
pub mod pki;
pub mod postgres;
mod run_as;
mod web;

use std::fmt;
use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use launchready_audit::{GatherOptions, gather_checked};
use launchready_findings::Report;
use launchready_findings::facts::Facts;
use launchready_manifest::Manifest;
use launchready_net::{ConnectTo, Net, NetConfig};

pub use pki::{CertFiles, Pki};
pub use web::{Ports, Protocol, WebOptions, WebServer};

/// How long a server may take to open its ports.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a stopped server may take to exit before its group is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a start is retried when a port picked as free was taken in between.
const START_ATTEMPTS: usize = 3;
/// How long to wait between two readiness probes.
const PROBE_PAUSE: Duration = Duration::from_millis(20);

/// Why a real server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "{program} not found and CI=true, where the interop tier must run — install it with apt-get install {package}"
    )]
    Missing { program: String, package: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} exited during startup ({status}); its log:\n{log}")]
    Exited {
        program: String,
        status: String,
        log: String,
    },
    #[error("{program} did not open {addrs} within {timeout:?}; its log:\n{log}")]
    NotReady {
        program: String,
        addrs: String,
        timeout: Duration,
        log: String,
    },
    #[error("openssl {args} failed: {stderr}")]
    Openssl { args: String, stderr: String },
    #[error("{server} cannot serve this: {reason}")]
    Unsupported { server: String, reason: String },
}

impl ServerError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    fn port_clash(&self) -> bool {
        let log = match self {
            Self::Exited { log, .. } | Self::NotReady { log, .. } => log,
            _ => return false,
        };
        log.contains("in use") || log.contains("EADDRINUSE")
    }
}

/// Where `program` is: on `PATH` or in the `sbin` directories a non-root `PATH` often lacks. When it is
/// missing, `CI=true` makes that an error (CI must run every tier); otherwise the skip is announced on stderr
/// and the answer is `None`.
pub fn locate(program: &str, package: &str) -> Result<Option<PathBuf>, ServerError> {
    locate_in(program, package, &[])
}

/// [`locate`], also looking in `extra` directories where a package installs the binary off `PATH`.
pub(crate) fn locate_in(
    program: &str,
    package: &str,
    extra: &[&str],
) -> Result<Option<PathBuf>, ServerError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    decide(find(program, &path, extra), program, package, ci)
}

fn find(program: &str, path: &std::ffi::OsStr, extra: &[&str]) -> Option<PathBuf> {
    std::env::split_paths(path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A found binary is used; a missing one fails under CI and is a loud skip elsewhere.
fn decide(
    found: Option<PathBuf>,
    program: &str,
    package: &str,
    ci: bool,
) -> Result<Option<PathBuf>, ServerError> {
    if found.is_some() {
        return Ok(found);
    }
    if ci {
        return Err(ServerError::Missing {
            program: program.into(),
            package: package.into(),
        });
    }
    eprintln!("SKIP interop: {program} not found — install it with apt-get install {package}");
    Ok(None)
}

/// A loopback port free for both TCP and UDP at the moment of asking. Another process may take it before the
/// server binds it; starts retry on that.
pub fn free_port() -> Result<u16, ServerError> {
    for _ in 0..20 {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| ServerError::io("finding a free port", e))?;
        let port = tcp
            .local_addr()
            .map_err(|e| ServerError::io("finding a free port", e))?
            .port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(ServerError::io(
        "finding a free port",
        std::io::Error::other("no port was free for both TCP and UDP"),
    ))
}

/// Tries `start` up to [`START_ATTEMPTS`] times while it fails because a port it picked was taken meanwhile.
pub(crate) fn with_port_retries<T>(
    mut start: impl FnMut() -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    let mut attempt = 1;
    loop {
        match start() {
            Err(e) if e.port_clash() && attempt < START_ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

/// The loopback ports one server listens on, picked free for each start.
pub(crate) trait Listen: Copy {
    fn pick() -> Result<Self, ServerError>;
    /// Every address that must accept TCP connections before the server counts as started.
    fn addrs(&self) -> Vec<SocketAddr>;
}

impl Listen for SocketAddr {
    fn pick() -> Result<Self, ServerError> {
        Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?)))
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        vec![*self]
    }
}

/// How a server is run: its command line, and the log files to show when it fails.
#[derive(Debug)]
pub struct Launch {
    pub command: Command,
    pub logs: Vec<PathBuf>,
}

/// What one readiness probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Ready,
    /// Not yet: what is still awaited, named in the error when it never comes.
    Waiting(String),
}

/// A started server: where it listens, its process and its scratch directory (configuration, logs, data).
#[derive(Debug)]
pub(crate) struct Running<L> {
    pub listen: L,
    // Declared before the directory so the process stops before its files go.
    pub process: Process,
    pub dir: tempfile::TempDir,
}

impl<L: Listen> Running<L> {
    /// Starts `program` in a new scratch directory on ports picked free: `launch` writes what the server reads
    /// into the directory and says how to run it; the start is over once every port accepts connections and
    /// `ready` (which may read the
    /// directory) agrees. Retried while a picked port turns out taken.
    pub(crate) fn start(
        program: &str,
        mut launch: impl FnMut(&Path, L) -> Result<Launch, ServerError>,
        mut ready: impl FnMut(&Path, L) -> Result<Probe, ServerError>,
    ) -> Result<Self, ServerError> {
        with_port_retries(|| {
            let dir = web::workdir(&format!("launchready-{program}-"))?;
            let listen = L::pick()?;
            let Launch { command, logs } = launch(dir.path(), listen)?;
            let mut process = Process::start(program, command, dir.path(), logs, &listen.addrs())?;
            process.wait_until(|| ready(dir.path(), listen))?;
            Ok(Running {
                listen,
                process,
                dir,
            })
        })
    }
}

/// A started server process (and its whole process group). Dropping it stops the group and waits.
pub struct Process {
    program: String,
    child: Child,
    /// Files whose text explains a failure: the server's own error log and its captured stdout/stderr.
    logs: Vec<PathBuf>,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("program", &self.program)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl Process {
    /// Spawns `command` in a new process group with stdout and stderr in `dir`, then waits until every one
    /// of `addrs` accepts TCP connections. `logs` are read into the error if it never does.
    pub fn start(
        program: &str,
        mut command: Command,
        dir: &Path,
        logs: Vec<PathBuf>,
        addrs: &[SocketAddr],
    ) -> Result<Process, ServerError> {
        use std::os::unix::process::CommandExt as _;
        let stdout = dir.join(format!("{program}.stdout"));
        let stderr = dir.join(format!("{program}.stderr"));
        let open = |path: &Path| {
            std::fs::File::create(path)
                .map_err(|e| ServerError::io(format!("creating {}", path.display()), e))
        };
        command
            .stdin(Stdio::null())
            .stdout(open(&stdout)?)
            .stderr(open(&stderr)?)
            .process_group(0);
        let child = command
            .spawn()
            .map_err(|e| ServerError::io(format!("starting {program}"), e))?;
        let mut logs = logs;
        logs.extend([stdout, stderr]);
        let mut process = Process {
            program: program.to_string(),
            child,
            logs,
        };
        process.wait_ready(addrs)?;
        Ok(process)
    }

    fn wait_ready(&mut self, addrs: &[SocketAddr]) -> Result<(), ServerError> {
        let mut pending: Vec<SocketAddr> = addrs.to_vec();
        self.wait_until(|| {
            pending.retain(|addr| {
                TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_err()
            });
            Ok(if pending.is_empty() {
                Probe::Ready
            } else {
                Probe::Waiting(
                    pending
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })
        })
    }

    /// Probes until `probe` answers ready; an error with the log when the process exits first or
    /// [`READY_TIMEOUT`] passes.
    pub(crate) fn wait_until(
        &mut self,
        mut probe: impl FnMut() -> Result<Probe, ServerError>,
    ) -> Result<(), ServerError> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ServerError::Exited {
                    program: self.program.clone(),
                    status: status.to_string(),
                    log: self.log(),
                });
            }
            let awaited = match probe()? {
                Probe::Ready => return Ok(()),
                Probe::Waiting(awaited) => awaited,
            };
            if started.elapsed() > READY_TIMEOUT {
                return Err(ServerError::NotReady {
                    program: self.program.clone(),
                    addrs: awaited,
                    timeout: READY_TIMEOUT,
                    log: self.log(),
                });
            }
            std::thread::sleep(PROBE_PAUSE);
        }
    }

    /// Everything the server has logged so far (the last 8 KiB of each log file).
    pub fn log(&self) -> String {
        let mut text = String::new();
        for path in &self.logs {
            let mut content = String::new();
            if let Ok(mut file) = std::fs::File::open(path) {
                let _ = file.read_to_string(&mut content);
            }
            if content.trim().is_empty() {
                continue;
            }
            let tail = content
                .char_indices()
                .rev()
                .nth(8191)
                .map_or(&content[..], |(i, _)| &content[i..]);
            text.push_str(&format!("--- {}\n{tail}\n", path.display()));
        }
        if text.is_empty() {
            "(nothing logged)".to_string()
        } else {
            text
        }
    }

    fn signal_group(&self, signal: rustix::process::Signal) {
        let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) else {
            return;
        };
        // The group outlives its leader while workers remain, so this also reaches orphaned workers; ESRCH
        // (nobody left) is the normal answer once everything has exited.
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.signal_group(rustix::process::Signal::TERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        self.signal_group(rustix::process::Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where an audit sends its traffic: nameservers, `--connect-to` rules (curl syntax, first match wins) and
/// extra trust anchors.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub resolvers: Vec<SocketAddr>,
    pub connect_to: Vec<String>,
    pub ca_files: Vec<PathBuf>,
    /// Per-operation timeout; 3 s when `None`.
    pub timeout: Option<Duration>,
    /// The User-Agent the audit sends; the net layer's default when `None`.
    pub user_agent: Option<String>,
    /// Timed loads of the landing page (`--samples`); 0 skips the speed figures, which no comparison reads.
    pub landing_samples: usize,
}

/// Why an audit against a target could not run (it produced no report at all).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("manifest: {0}")]
    Manifest(String),
    #[error("--connect-to {rule}: {reason}")]
    ConnectTo { rule: String, reason: String },
    #[error("net: {0}")]
    Net(String),
    #[error("gather: {0}")]
    Gather(String),
}

/// One finished audit: what it observed and what it judged.
#[derive(Debug)]
pub struct Audited {
    pub facts: Facts,
    pub report: Report,
}

impl Audited {
    /// The protocols (`HTTP/1.1`, `HTTP/2`) that carried the https responses, each once, with any fallback
    /// reason: proof of which protocol a comparison actually exercised.
    pub fn https_protocols(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let hops = self.facts.chains.iter().flat_map(|c| c.hops.iter());
        for hop in hops.filter(|h| h.url.starts_with("https://") && h.status.is_some()) {
            let mut label = hop.protocol.clone().unwrap_or_else(|| "unknown".into());
            if let Some(why) = &hop.fallback {
                label.push_str(&format!(" (after {why})"));
            }
            if !seen.contains(&label) {
                seen.push(label);
            }
        }
        seen
    }
}

/// Runs the whole audit (gather, then judge) of `manifest` against `target`, the way the binary does with
/// `--resolver`, `--connect-to` and `--ca-file`.
pub async fn audit(manifest: &str, target: &Target) -> Result<Audited, AuditError> {
    let manifest = Manifest::parse(manifest, Path::new("launchready.toml"))
        .map_err(|e| AuditError::Manifest(e.to_string()))?;
    let connect_to = target
        .connect_to
        .iter()
        .map(|rule| {
            rule.parse::<ConnectTo>()
                .map_err(|e| AuditError::ConnectTo {
                    rule: rule.clone(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = NetConfig {
        resolvers: target.resolvers.clone(),
        connect_to,
        ca_files: target.ca_files.clone(),
        timeout: target.timeout.unwrap_or(Duration::from_secs(3)),
        ..NetConfig::default()
    };
    if let Some(agent) = &target.user_agent {
        config.user_agent = agent.clone();
    }
    let net = Net::new(config).map_err(|e| AuditError::Net(e.to_string()))?;
    let options = GatherOptions {
        landing_samples: target.landing_samples,
        ..GatherOptions::default()
    };
    let facts = gather_checked(&manifest, &net, &options)
        .await
        .map_err(|e| AuditError::Gather(e.to_string()))?;
    let report = launchready_audit::report(&facts, &manifest);
    Ok(Audited { facts, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_fails_under_ci_and_is_skipped_elsewhere() {
        assert!(find("launchready-no-such-server", std::ffi::OsStr::new(""), &[]).is_none());
        assert!(find("sh", std::ffi::OsStr::new(""), &["/bin"]).is_some());
        let missing = decide(None, "nginx", "nginx", true);
        assert!(
            matches!(&missing, Err(ServerError::Missing { program, package }) if program == "nginx" && package == "nginx"),
            "{missing:?}"
        );
        assert!(matches!(decide(None, "nginx", "nginx", false), Ok(None)));
        let found = PathBuf::from("/usr/sbin/nginx");
        assert_eq!(
            decide(Some(found.clone()), "nginx", "nginx", true).ok(),
            Some(Some(found))
        );
    }

    /// A server's workers are its children in its process group; dropping the server must end them all, as
    /// nginx's and Apache's workers outlive a master killed alone.
    #[test]
    fn dropping_a_process_ends_its_whole_group() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a port");
        let addr = listener.local_addr().expect("its address");
        let mut command = Command::new("sh");
        // A worker that ignores SIGTERM beside a leader that exits on it.
        command.args(["-c", "sh -c 'trap \"\" TERM; sleep 60' & sleep 60"]);
        let process = Process::start("sh", command, dir.path(), vec![], &[addr]).expect("started");
        let pid = rustix::process::Pid::from_raw(process.child.id() as i32).expect("a pid");
        assert!(rustix::process::test_kill_process_group(pid).is_ok());
        drop(process);
        // A killed worker is reaped by init a moment later; until then it still counts as a member.
        let deadline = Instant::now() + Duration::from_secs(5);
        while rustix::process::test_kill_process_group(pid).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            rustix::process::test_kill_process_group(pid).is_err(),
            "a process of the group survived"
        );
    }

    #[test]
    fn a_server_that_exits_at_once_is_an_error_with_its_output() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'bind: address already in use' >&2; exit 1"]);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port().expect("a port")));
        let error =
            Process::start("sh", command, dir.path(), vec![], &[addr]).expect_err("it exited");
        assert!(
            error.to_string().contains("address already in use"),
            "{error}"
        );
        assert!(error.port_clash());
    }
}
