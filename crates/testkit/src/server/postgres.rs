//! A real PostgreSQL (Debian's `postgresql`) for a test: `initdb` into a temp dir, then `postgres` on a free
//! loopback port with its unix socket in that dir, fsync off, trust authentication for the `postgres` superuser,
//! stopped with a fast shutdown (then the process group) on drop.
//!
//! Debian installs the server binaries in `/usr/lib/postgresql/VERSION/bin`, not on `PATH`; both are searched.
//! PostgreSQL refuses to run as root (a superuser-owned server could be made to run anything as root), and test
//! runners in containers often are root: then the directory is handed to `nobody` and `initdb` and `postgres` run
//! as that user, the way the Dovecot harness runs its server (so the temp dir must be reachable by `nobody`: a
//! `TMPDIR` under `/root` is not).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::daemon::{Daemon, Service};
use super::run_as::RunAs;
use super::{Launch, Probe, ServerError};

/// How long a fast shutdown may take before the process group is killed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running PostgreSQL; stopped on drop.
pub type Postgres = Daemon<PostgresService>;

/// PostgreSQL's `initdb` and command line, its readiness (it answers queries, not only TCP) and its fast
/// shutdown.
#[derive(Debug)]
pub struct PostgresService {
    /// The directory with `initdb`, `postgres`, `pg_isready` and `createdb`.
    bin: PathBuf,
    run_as: RunAs,
}

impl Service for PostgresService {
    const PROGRAM: &'static str = "postgres";

    fn launch(&self, dir: &Path, addr: SocketAddr) -> Result<Launch, ServerError> {
        self.run_as.chown(dir)?;
        let data = dir.join("data");
        let mut initdb = Command::new(self.bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .current_dir(dir);
        self.run_as.command(&mut initdb);
        run("initdb", &mut initdb)?;
        let mut command = Command::new(self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(&data)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("port={}", addr.port())])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            // A test database is thrown away: durability only costs time here.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .current_dir(dir);
        self.run_as.command(&mut command);
        Ok(Launch {
            command,
            logs: vec![],
        })
    }

    /// Right after it opens its port it still refuses sessions while it starts up.
    fn ready(&self, _dir: &Path, addr: SocketAddr) -> Result<Probe, ServerError> {
        let out = Command::new(self.bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-t", "2"])
            .arg("-p")
            .arg(addr.port().to_string())
            .output()
            .map_err(|e| ServerError::io("running pg_isready", e))?;
        Ok(if out.status.success() {
            Probe::Ready
        } else {
            Probe::Waiting(addr.to_string())
        })
    }

    /// SIGTERM (what ending the process group sends) is PostgreSQL's "smart" shutdown, which waits for every
    /// client to disconnect; a test's pools may still be open, so a fast shutdown (SIGINT: roll back and close
    /// sessions) comes first.
    fn stop(&self, dir: &Path) {
        let pid_file = dir.join("data").join("postmaster.pid");
        // The postmaster's pid is the file's first line.
        let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|text| {
            rustix::process::Pid::from_raw(text.lines().next()?.trim().parse().ok()?)
        }) else {
            return;
        };
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while pid_file.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Postgres {
    /// Starts a fresh cluster (stopped on drop) with its unix socket in [`Daemon::dir`]. `Ok(None)` when
    /// PostgreSQL is not installed (and `CI` is not `true`), after a skip message.
    pub fn start() -> Result<Option<Postgres>, ServerError> {
        let Some(bin) = binaries()? else {
            return Ok(None);
        };
        let run_as = RunAs::unprivileged("postgres")?;
        Daemon::launch(PostgresService { bin, run_as }).map(Some)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of database `name` on this server.
    pub fn url_for(&self, name: &str) -> String {
        format!("postgres://postgres@{}/{name}", self.addr())
    }

    /// Creates an empty database (so tests sharing one server do not see each other's tables) and returns its
    /// URL.
    pub fn create_database(&self, name: &str) -> Result<String, ServerError> {
        let mut createdb = Command::new(self.service().bin.join("createdb"));
        createdb
            .args(["-h", "127.0.0.1", "-U", "postgres"])
            .arg("-p")
            .arg(self.addr().port().to_string())
            .arg(name);
        run("createdb", &mut createdb)?;
        Ok(self.url_for(name))
    }
}

/// Runs one of PostgreSQL's tools to its end; a failure is an error with what it printed.
fn run(program: &str, command: &mut Command) -> Result<(), ServerError> {
    let out = command
        .output()
        .map_err(|e| ServerError::io(format!("running {program}"), e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(ServerError::Exited {
        program: program.into(),
        status: out.status.to_string(),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

/// The directory with `initdb` and `postgres`: on `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
fn binaries() -> Result<Option<PathBuf>, ServerError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path)
        .find(|dir| dir.join("postgres").is_file() && dir.join("initdb").is_file())
        // Debian's PATH entries are symlinks into the versioned directory, where pg_isready and createdb are.
        .and_then(|dir| std::fs::canonicalize(dir.join("postgres")).ok())
        .and_then(|postgres| postgres.parent().map(Path::to_path_buf));
    if let Some(dir) = on_path.filter(|d| d.join("pg_isready").is_file()) {
        return Ok(Some(dir));
    }
    if let Some(dir) = newest_debian_bin(Path::new("/usr/lib/postgresql")) {
        return Ok(Some(dir));
    }
    // Not found: `locate` makes that a failure under CI=true and a loud skip elsewhere.
    match super::locate("postgres", "postgresql")? {
        None => Ok(None),
        Some(found) => Err(ServerError::Unsupported {
            server: "postgres".into(),
            reason: format!(
                "{} has no initdb and pg_isready beside it; install Debian's postgresql",
                found.display()
            ),
        }),
    }
}

/// `/usr/lib/postgresql/<highest version>/bin`, when it has the server.
fn newest_debian_bin(root: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("postgres").is_file() && bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_versioned_directory_with_a_server_is_chosen() {
        let root = tempfile::tempdir().expect("a temp dir");
        for (version, complete) in [("13", true), ("15", true), ("16", false)] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).expect("a bin dir");
            std::fs::write(bin.join("postgres"), "").expect("a file");
            if complete {
                std::fs::write(bin.join("initdb"), "").expect("a file");
            }
        }
        assert_eq!(
            newest_debian_bin(root.path()),
            Some(root.path().join("15").join("bin"))
        );
        assert_eq!(newest_debian_bin(&root.path().join("missing")), None);
    }

    #[test]
    fn a_started_server_answers_on_loopback_and_creates_databases() {
        let Some(server) = Postgres::start().expect("postgres starts") else {
            return;
        };
        assert!(server.addr().ip().is_loopback());
        let url = server
            .create_database("launchready_probe")
            .expect("createdb");
        assert!(url.ends_with("/launchready_probe"), "{url}");
        let socket = server
            .dir()
            .join(format!(".s.PGSQL.{}", server.addr().port()));
        assert!(socket.exists(), "no unix socket at {}", socket.display());
        drop(server);
    }
}
