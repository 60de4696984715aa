//! The dashboard in a real browser: headless Chromium, driven through ChromeDriver (WebDriver), loads the main
//! page, a check page, the incident note and the incident timeline from the dashboard on loopback (a store with
//! results, a failing checkout and an open incident), screenshots them into `target/screenshots/monitor/`, and
//! the pixels must show what the HTML says: the status colours, the p50/p95 lines and failure ticks of the charts,
//! the incident bars, text on the note. The live DOM must agree too: one table row per check, the down cell
//! painted red by the stylesheet, every chart's lines drawn with a length, and a click on a check's link opens
//! its page. Without Chromium or ChromeDriver the test is a loud skip, and a failure under CI=true.

// Helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod common;
#[allow(dead_code)]
#[path = "../benches/support/world.rs"]
mod world;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use launchready_monitor::dashboard::{self, FAILED, P50, P95};
use launchready_testkit::server::chromedriver::ChromeDriver;
use launchready_testkit::watchdog::within;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The bound on every WebDriver command: a page of this size loads in well under a second, so a minute means
/// the browser or the driver is stuck.
const COMMAND: Duration = Duration::from_secs(60);

/// Where screenshots are kept for a human to look at: the workspace's target directory.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("screenshots/monitor")
}

/// A session with headless Chromium at `browser`: no sandbox (tests may run as root), no GPU, no scrollbars
/// in the pictures, nothing fetched from the network on its own.
async fn session(driver: &ChromeDriver, browser: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), "chrome".into());
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": browser,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                "--window-size=1400,1000",
            ],
        }),
    );
    within(COMMAND, "a WebDriver session", async {
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| panic!("no session: {e}; chromedriver's log:\n{}", driver.log()))
    })
    .await
}

/// Loads `url` with a viewport of `size` and screenshots the viewport into `png`.
async fn screenshot(client: &Client, url: &str, png: &Path, size: (u32, u32)) {
    within(COMMAND, &format!("loading {url}"), client.goto(url))
        .await
        .unwrap();
    // WebDriver sizes the outer window, and headless Chromium still counts a toolbar's height in it: grow the
    // window by what it takes from the viewport.
    within(
        COMMAND,
        &format!("resizing for {url}"),
        client.set_window_size(size.0, size.1),
    )
    .await
    .unwrap();
    let frame = within(
        COMMAND,
        "measuring the window frame",
        client.execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            vec![],
        ),
    )
    .await
    .unwrap();
    let (dw, dh): (u32, u32) = serde_json::from_value(frame).unwrap();
    within(
        COMMAND,
        &format!("resizing for {url}"),
        client.set_window_size(size.0 + dw, size.1 + dh),
    )
    .await
    .unwrap();
    let bytes = within(
        COMMAND,
        &format!("screenshotting {url}"),
        client.screenshot(),
    )
    .await
    .unwrap();
    std::fs::write(png, bytes).unwrap();
}

/// The elements `css` matches on the current page.
async fn all(client: &Client, css: &str) -> Vec<fantoccini::elements::Element> {
    within(
        COMMAND,
        &format!("finding {css}"),
        client.find_all(Locator::Css(css)),
    )
    .await
    .unwrap()
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
    let page = common::get(addr, path, &[]).await;
    let kind = page.header("content-type").to_string();
    (page.status, kind, page.body)
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
    let driver = match ChromeDriver::start() {
        Ok(Some(driver)) => driver,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let client = session(&driver, &browser).await;
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
        screenshot(&client, &format!("http://{addr}{path}"), &png, size).await;
        println!(
            "screenshot: {}",
            png.canonicalize().unwrap_or(png.clone()).display()
        );
        images.push((name, Image::read(&png)));
        if name == "check" {
            check_charts(&client).await;
        }
    }
    main_page_in_the_dom(&client, addr, &main, world.checks.len()).await;
    within(COMMAND, "closing the session", client.close())
        .await
        .unwrap();
    drop(driver);

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

/// The check page as the browser built it: three charts, each with both latency lines, and every line rendered
/// with a length (an SVG path the browser could not parse would measure zero).
async fn check_charts(client: &Client) {
    let charts = all(client, "svg.chart").await;
    assert!(
        charts.len() >= 3,
        "{} charts on the check page",
        charts.len()
    );
    for series in ["p50", "p95"] {
        let paths = all(client, &format!("svg.chart path[data-series='{series}']")).await;
        assert_eq!(paths.len(), charts.len(), "{series} lines, one per chart");
        let mut longest = 0;
        for path in &paths {
            let d = within(COMMAND, "a path's d", path.attr("d"))
                .await
                .unwrap()
                .unwrap_or_default();
            let points = d.matches(['M', 'L']).count();
            // The longer spans hold only a few buckets of three hours of results; each still draws a line.
            assert!(points >= 2, "a {series} line of {points} points: {d}");
            longest = longest.max(points);
        }
        assert!(
            longest >= 10,
            "the longest {series} line has {longest} points"
        );
    }
    let lengths = within(
        COMMAND,
        "measuring the lines",
        client.execute(
            "return Array.from(document.querySelectorAll('svg.chart path[data-series]')).map(p => p.getTotalLength());",
            vec![],
        ),
    )
    .await
    .unwrap();
    let lengths: Vec<f64> = serde_json::from_value(lengths).unwrap();
    assert_eq!(lengths.len(), 2 * charts.len(), "{lengths:?}");
    assert!(
        lengths.iter().all(|l| *l > 1.0),
        "a chart line renders without length: {lengths:?}"
    );
    // The three hours of results span most of the shortest chart's width.
    assert!(
        lengths.iter().any(|l| *l > 500.0),
        "no chart line crosses the chart: {lengths:?}"
    );
}

/// The main page as the browser built it: one row per check (the header row aside), as many as the HTML
/// holds; the down status cell painted red by the stylesheet; and a click on the failing check's link opens
/// its page.
async fn main_page_in_the_dom(client: &Client, addr: SocketAddr, html: &str, checks: usize) {
    within(
        COMMAND,
        "loading the main page",
        client.goto(&format!("http://{addr}/")),
    )
    .await
    .unwrap();
    let rows = all(client, "table#checks tr").await;
    let linked = all(
        client,
        "table#checks tr td:first-child > a[href^='/check/']",
    )
    .await;
    let in_html = html.matches("<tr><td><a href=\"/check/").count();
    assert_eq!(rows.len(), linked.len() + 1, "rows besides the header");
    assert_eq!(
        linked.len(),
        in_html,
        "rows in the DOM against rows in the HTML"
    );
    assert!(
        linked.len() >= checks,
        "{} rows for {checks} planned checks",
        linked.len()
    );
    let down = all(client, "table#checks .st.down").await;
    assert_eq!(down.len(), 1, "one check is down");
    let colour = within(
        COMMAND,
        "the down cell's colour",
        down[0].css_value("background-color"),
    )
    .await
    .unwrap();
    // WebDriver gives computed colours as rgba() (ChromeDriver) or rgb(), by driver.
    assert!(
        ["rgba(180, 35, 24, 1)", "rgb(180, 35, 24)"].contains(&colour.as_str()),
        "the down cell is {colour}, not #b42318"
    );

    let link = within(
        COMMAND,
        "the checkout link",
        client.find(Locator::Css("table#checks a[href='/check/route:checkout']")),
    )
    .await
    .unwrap();
    within(COMMAND, "clicking the checkout link", link.click())
        .await
        .unwrap();
    within(
        COMMAND,
        "the checkout page after the click",
        client.wait().for_url(
            &format!("http://{addr}/check/route:checkout")
                .parse()
                .unwrap(),
        ),
    )
    .await
    .unwrap();
    let heading = within(COMMAND, "the check page's heading", async {
        client.find(Locator::Css("h1")).await.unwrap().text().await
    })
    .await
    .unwrap();
    assert!(
        heading.contains("route:checkout"),
        "heading after the click: {heading}"
    );
}
