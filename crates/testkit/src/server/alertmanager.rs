//! Prometheus Alertmanager (Debian's `prometheus-alertmanager`) on a loopback port, from a generated config with
//! one receiver that sends nowhere, its storage in a temp dir and clustering off (so nothing binds beyond
//! loopback). Tests post alerts to its v2 API and read back what it holds.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;

use super::{Process, ServerError, web};

/// A running Alertmanager; stopped on drop.
#[derive(Debug)]
pub struct Alertmanager {
    addr: SocketAddr,
    process: Process,
    _dir: tempfile::TempDir,
}

const CONFIG: &str = "route:
  receiver: recorder
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: recorder
";

impl Alertmanager {
    /// `Ok(None)` when the binary is not installed (and `CI` is not `true`), after a skip message.
    pub fn start() -> Result<Option<Alertmanager>, ServerError> {
        let Some(binary) = super::locate("prometheus-alertmanager", "prometheus-alertmanager")?
        else {
            return Ok(None);
        };
        super::with_port_retries(|| {
            let dir = web::workdir("launchready-alertmanager-")?;
            let path = dir.path();
            let config = path.join("alertmanager.yml");
            web::write(&config, CONFIG)?;
            let port = super::free_port()?;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut command = Command::new(&binary);
            command
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", path.join("data").display()))
                .arg(format!("--web.listen-address={addr}"))
                // An empty address turns the gossip cluster off; otherwise it listens on every interface.
                .arg("--cluster.listen-address=")
                .current_dir(path);
            let process =
                Process::start("prometheus-alertmanager", command, path, vec![], &[addr])?;
            Ok(Alertmanager {
                addr,
                process,
                _dir: dir,
            })
        })
        .map(Some)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}
