//! Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on a loopback port, from a generated config with
//! one receiver that sends nowhere, its storage in a temp dir and clustering off (so nothing binds beyond
//! loopback). Tests post alerts to its v2 API and read back what it holds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::daemon::{Daemon, Service};
use super::{Launch, ServerError, web};

/// A running Alertmanager; stopped on drop.
pub type Alertmanager = Daemon<AlertmanagerService>;

/// Alertmanager's configuration and command line.
#[derive(Debug)]
pub struct AlertmanagerService {
    binary: PathBuf,
}

const CONFIG: &str = "route:
  receiver: recorder
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: recorder
";

impl Service for AlertmanagerService {
    const PROGRAM: &'static str = "prometheus-alertmanager";

    fn launch(&self, dir: &Path, addr: SocketAddr) -> Result<Launch, ServerError> {
        let config = dir.join("alertmanager.yml");
        web::write(&config, CONFIG)?;
        let mut command = Command::new(&self.binary);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            // An empty address turns the gossip cluster off; otherwise it listens on every interface.
            .arg("--cluster.listen-address=")
            .current_dir(dir);
        Ok(Launch {
            command,
            logs: vec![],
        })
    }
}

impl Alertmanager {
    /// `Ok(None)` when the binary is not installed (and `CI` is not `true`), after a skip message.
    pub fn start() -> Result<Option<Alertmanager>, ServerError> {
        let program = AlertmanagerService::PROGRAM;
        let Some(binary) = super::locate(program, program)? else {
            return Ok(None);
        };
        Daemon::launch(AlertmanagerService { binary }).map(Some)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }
}
