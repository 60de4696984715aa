//! The HTML report is one self-contained page, and it renders: headless Chromium screenshots a real run's report
//! and the charts' series colours are found in the pixels. Without Chromium the test is skipped, except under
//! CI=true, where a skip is a failure.

mod common;

use common::{open, plan, run, server, temp_flow};
use launchready_load::{Stop, html};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Screenshots `page` into `png`, killing Chromium if it has not finished within a minute.
fn screenshot(browser: &Path, page: &Path, png: &Path, profile: &Path) {
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
            "--window-size=1000,1500",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish the screenshot within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pixels within a small distance of `rgb`.
fn pixels_like(image: &[u8], channels: usize, rgb: (u8, u8, u8)) -> usize {
    image
        .chunks(channels)
        .filter(|p| {
            let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs();
            d(p[0], rgb.0) + d(p[1], rgb.1) + d(p[2], rgb.2) < 40
        })
        .count()
}

fn hex(colour: &str) -> (u8, u8, u8) {
    let v = u32::from_str_radix(colour.trim_start_matches('#'), 16).expect("hex colour");
    ((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_is_self_contained_and_renders_its_charts() {
    let (addr, _) = server(30).await;
    let (dir, file) = temp_flow("stall.hurl", "GET {{base}}/stall-once\nHTTP 200\n");
    let report = run(plan(vec![file], open(40.0, 4, 1), addr), Stop::default()).await;
    let page = html::render(&report);
    for external in ["<script", "src=", "href=", "@import", "url("] {
        assert!(
            !page.contains(external),
            "the page must need nothing else: found `{external}`"
        );
    }
    for id in ["latency-over-time", "throughput", "percentiles"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "chart {id} missing");
    }
    assert!(page.contains("data-series=\"p99\"") && page.contains("data-series=\"corrected\""));

    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is not installed; under CI=true the screenshot test must run (apt-get install chromium)"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let path = dir.path().join("report.html");
    std::fs::write(&path, &page).expect("write page");
    let png = dir.path().join("report.png");
    let profile = tempfile::tempdir().expect("profile dir");
    screenshot(&browser, &path, &png, profile.path());
    // For a human look at the page: LAUNCHREADY_KEEP_SCREENSHOT=/tmp/load.png keeps a copy.
    if let Some(keep) = std::env::var_os("LAUNCHREADY_KEEP_SCREENSHOT") {
        let _ = std::fs::copy(&png, keep);
        let _ = std::fs::copy(
            &path,
            Path::new(&std::env::var_os("LAUNCHREADY_KEEP_SCREENSHOT").unwrap_or_default())
                .with_extension("html"),
        );
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png).expect("a screenshot was written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let channels = info.color_type.samples();
    assert!(
        info.width >= 900 && info.height >= 1000,
        "{}x{}",
        info.width,
        info.height
    );
    let image = &buffer[..info.buffer_size()];
    for (name, colour) in [
        ("p99", html::P99),
        ("p50", html::P50),
        ("p95", html::P95),
        ("requests", html::REQUESTS),
    ] {
        let found = pixels_like(image, channels, hex(colour));
        assert!(
            found > 100,
            "the {name} series ({colour}) is not visible in the screenshot: {found} pixels"
        );
    }
}
