//! ChromeDriver (Debian's `chromium-driver`) on a loopback port, for tests that drive headless Chromium through
//! WebDriver. Ready means its `/status` answers `"ready": true`, not merely that the port is open.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::daemon::{Daemon, Service};
use super::{Launch, Probe, ServerError};

/// The directory where Debian puts the driver beside the browser, which a `PATH` without the `/usr/bin` symlink misses.
const BESIDE_CHROMIUM: &str = "/usr/lib/chromium";
/// One `/status` probe: the driver answers at once when it is up.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A running ChromeDriver; stopped (with every browser it started, which share its process group) on drop.
pub type ChromeDriver = Daemon<ChromeDriverService>;

/// ChromeDriver's command line, and its readiness: its `/status` answers `"ready": true`.
#[derive(Debug)]
pub struct ChromeDriverService {
    binary: PathBuf,
}

impl Service for ChromeDriverService {
    const PROGRAM: &'static str = "chromedriver";

    fn launch(&self, dir: &Path, addr: SocketAddr) -> Result<Launch, ServerError> {
        let log = dir.join("chromedriver.log");
        let mut command = Command::new(&self.binary);
        command
            .arg(format!("--port={}", addr.port()))
            .arg(format!("--log-path={}", log.display()))
            .current_dir(dir);
        Ok(Launch {
            command,
            logs: vec![log],
        })
    }

    fn ready(&self, _dir: &Path, addr: SocketAddr) -> Result<Probe, ServerError> {
        Ok(if status_ready(addr) {
            Probe::Ready
        } else {
            Probe::Waiting(format!("{addr} (GET /status ready)"))
        })
    }
}

impl ChromeDriver {
    /// `Ok(None)` when the driver is not installed (and `CI` is not `true`), after a skip message.
    pub fn start() -> Result<Option<ChromeDriver>, ServerError> {
        let program = ChromeDriverService::PROGRAM;
        let Some(binary) = super::locate_in(program, "chromium-driver", &[BESIDE_CHROMIUM])? else {
            return Ok(None);
        };
        Daemon::launch(ChromeDriverService { binary }).map(Some)
    }

    /// `http://127.0.0.1:PORT`, the WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }
}

/// One `GET /status` (ChromeDriver refuses HTTP/1.0). The answer is read until its body parses as a ready
/// status, or the driver closes, or the read times out: it may keep the connection open despite `close`.
fn status_ready(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(PROBE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(PROBE_TIMEOUT));
    let request = format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && head.starts_with("HTTP/1.1 200")
            && ready(body)
        {
            return true;
        }
    }
}

/// Whether a `/status` body reports `value.ready == true`.
fn ready(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/value/ready")
                .and_then(serde_json::Value::as_bool)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_ready_only_when_the_driver_says_so() {
        assert!(ready(
            r#"{"value":{"ready":true,"message":"ChromeDriver ready for new sessions."}}"#
        ));
        assert!(!ready(r#"{"value":{"ready":false}}"#));
        assert!(!ready("not json"));
    }

    /// The real driver, when installed: it starts, reports ready, and its port closes once it is dropped.
    #[test]
    fn the_driver_starts_ready_and_stops_on_drop() {
        let Some(driver) = ChromeDriver::start().expect("chromedriver starts") else {
            return;
        };
        let addr = driver.addr();
        assert!(status_ready(addr), "{}", driver.log());
        assert!(driver.url().starts_with("http://127.0.0.1:"));
        drop(driver);
        assert!(!status_ready(addr), "chromedriver still answers after drop");
    }
}
