//! ChromeDriver (Debian's `chromium-driver`) on a loopback port, for tests that drive headless Chromium through
//! WebDriver. Ready means its `/status` answers `"ready": true`, not merely that the port is open.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{Process, READY_TIMEOUT, ServerError, web};

/// Where Debian puts the driver beside the browser, which a `PATH` without the `/usr/bin` symlink misses.
const BESIDE_CHROMIUM: &str = "/usr/lib/chromium/chromedriver";
/// One `/status` probe: the driver answers at once when it is up.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A running ChromeDriver; stopped (with every browser it started, which share its process group) on drop.
#[derive(Debug)]
pub struct ChromeDriver {
    addr: SocketAddr,
    process: Process,
    _dir: tempfile::TempDir,
}

impl ChromeDriver {
    /// `Ok(None)` when the driver is not installed (and `CI` is not `true`), after a skip message.
    pub fn start() -> Result<Option<ChromeDriver>, ServerError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let found = super::find("chromedriver", &path).or_else(|| {
            let beside = PathBuf::from(BESIDE_CHROMIUM);
            beside.is_file().then_some(beside)
        });
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let Some(binary) = super::decide(found, "chromedriver", "chromium-driver", ci)? else {
            return Ok(None);
        };
        super::with_port_retries(|| {
            let dir = web::workdir("launchready-chromedriver-")?;
            let log = dir.path().join("chromedriver.log");
            let port = super::free_port()?;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut command = Command::new(&binary);
            command
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .current_dir(dir.path());
            let mut process =
                Process::start("chromedriver", command, dir.path(), vec![log], &[addr])?;
            wait_status_ready(&mut process, addr)?;
            Ok(ChromeDriver {
                addr,
                process,
                _dir: dir,
            })
        })
        .map(Some)
    }

    /// `http://127.0.0.1:PORT`, the WebDriver endpoint.
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

/// Polls `GET /status` until the driver says it can create sessions.
fn wait_status_ready(process: &mut Process, addr: SocketAddr) -> Result<(), ServerError> {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = process.child.try_wait() {
            return Err(ServerError::Exited {
                program: "chromedriver".into(),
                status: status.to_string(),
                log: process.log(),
            });
        }
        if status_ready(addr) {
            return Ok(());
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(ServerError::NotReady {
                program: "chromedriver".into(),
                addrs: format!("{addr} (GET /status ready)"),
                timeout: READY_TIMEOUT,
                log: process.log(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
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
