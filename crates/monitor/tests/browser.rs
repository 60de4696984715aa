//! The dashboard in a real browser: headless Chromium loads the main page, a check page, the incident note and
//! the incident timeline from the dashboard on loopback (a store with results, a failing checkout and an open
//! incident), screenshots them into `target/screenshots/monitor/`, and the pixels must show what the HTML says:
//! the status colours, the p50/p95 lines and failure ticks of the charts, the incident bars, text on the note.
//! Without Chromium the test is a loud skip, and a failure under CI=true.

// Helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../benches/support/world.rs"]
mod world;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use launchready_monitor::dashboard::{self, FAILED, P50, P95};
use launchready_testkit::watchdog::within;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where screenshots are kept for a human to look at: the workspace's target directory.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("screenshots/monitor")
}

/// Screenshots `url` into `png` at `size`, killing Chromium if it has not finished within a minute.
fn screenshot(browser: &Path, url: &str, png: &Path, size: (u32, u32), profile: &Path) {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish the screenshot of {url} within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Image {
    width: u32,
    height: u32,
    channels: usize,
    pixels: Vec<u8>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(path).expect("a screenshot was written"),
        ));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buffer = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buffer).expect("a frame");
        buffer.truncate(info.buffer_size());
        Image {
            width: info.width,
            height: info.height,
            channels: info.color_type.samples(),
            pixels: buffer,
        }
    }

    /// Pixels within a small distance of `colour` (`#rrggbb`).
    fn count(&self, colour: &str) -> usize {
        let v = u32::from_str_radix(colour.trim_start_matches('#'), 16).expect("hex colour");
        let rgb = ((v >> 16) as u8, (v >> 8) as u8, v as u8);
        self.pixels
            .chunks(self.channels)
            .filter(|p| {
                let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs();
                d(p[0], rgb.0) + d(p[1], rgb.1) + d(p[2], rgb.2) < 40
            })
            .count()
    }

    /// Pixels that are not near-white: something was drawn.
    fn inked(&self) -> usize {
        self.pixels
            .chunks(self.channels)
            .filter(|p| p[..3].iter().any(|c| *c < 200))
            .count()
    }
}

async fn html(addr: SocketAddr, path: &str) -> (u16, String, String) {
    within(Duration::from_secs(30), &format!("GET {path}"), async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header("host", addr.to_string())
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, kind, String::from_utf8(body.to_vec()).unwrap())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_in_chromium() {
    let world = world::small().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(dashboard::serve_on(
        listener,
        world.dashboard(None).router(),
    ));

    // The same pages over plain HTTP first: what the pixels below must agree with.
    let (status, kind, main) = html(addr, "/").await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(main.contains("st down") && main.contains("st up"));
    let (status, _, check) = html(addr, "/check/route:checkout").await;
    assert_eq!(status, 200);
    assert!(
        check.contains(&format!("stroke=\"{P50}\""))
            && check.contains(&format!("stroke=\"{P95}\""))
    );
    assert!(check.contains(&format!("fill=\"{FAILED}\"")));
    let (status, _, note) = html(addr, "/note").await;
    assert_eq!(status, 200);
    assert!(note.contains("What to check first"));

    let browser = match launchready_testkit::server::locate("chromium", "chromium") {
        Ok(Some(browser)) => browser,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let shots = [
        ("main", "/", (1400, 1000)),
        ("check", "/check/route:checkout", (1100, 1700)),
        ("note", "/note", (1000, 1100)),
        ("incidents", "/incidents", (1000, 1000)),
    ];
    let mut images = Vec::new();
    for (name, path, size) in shots {
        let png = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let url = format!("http://{addr}{path}");
        let profile = tempfile::tempdir().unwrap();
        let (browser, target) = (browser.clone(), png.clone());
        tokio::task::spawn_blocking(move || {
            screenshot(&browser, &url, &target, size, profile.path());
        })
        .await
        .unwrap();
        println!(
            "screenshot: {}",
            png.canonicalize().unwrap_or(png.clone()).display()
        );
        images.push((name, Image::read(&png)));
    }

    for (name, image) in &images {
        let area = (image.width * image.height) as usize;
        assert!(
            image.width >= 900 && image.height >= 900,
            "{name}: {}x{}",
            image.width,
            image.height
        );
        assert!(
            image.inked() > area / 200,
            "{name} looks blank: {} inked pixels of {area}",
            image.inked()
        );
    }
    let main = &images[0].1;
    // Status cells: checkout down (red), the other checks up (green).
    assert!(
        main.count("#b42318") > 200,
        "no red status cell: {}",
        main.count("#b42318")
    );
    assert!(
        main.count("#17803d") > 600,
        "no green status cells: {}",
        main.count("#17803d")
    );
    let check = &images[1].1;
    // Three charts with two lines each; the legend alone is far fewer pixels.
    for (series, colour) in [("p50", P50), ("p95", P95), ("failed", FAILED)] {
        let found = check.count(colour);
        assert!(
            found > 300,
            "the {series} series ({colour}) is not visible: {found} pixels"
        );
    }
    let incidents = &images[3].1;
    // The open incident's bar runs to now in red; the resolved one is grey.
    for (what, colour) in [("open", "#dc2626"), ("resolved", "#94a3b8")] {
        let found = incidents.count(colour);
        assert!(
            found > 50,
            "no {what} incident bar ({colour}): {found} pixels"
        );
    }
    let note = &images[2].1;
    assert!(
        note.count("#101828") > 500,
        "the note's text is not visible: {}",
        note.count("#101828")
    );
}
