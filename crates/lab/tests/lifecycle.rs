//! Lab lifecycle: client arguments, the owned temp dir, and teardown on drop.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use launchready_lab::{Handler, Lab, Scenario, Site, scenarios};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn client_arguments_point_at_the_listeners() {
    let lab = Lab::start(scenarios::demo()).await.unwrap();
    assert_eq!(
        lab.resolver_arg(),
        format!("127.0.0.1:{}", lab.dns_addr().port())
    );
    let mut expected = Vec::new();
    if let Some(v6) = lab.https6_addr() {
        assert!(v6.ip().is_loopback());
        expected.push(format!("[::1]:443:[::1]:{}", v6.port()));
    } else {
        eprintln!("no IPv6 loopback on this machine: the lab runs without its IPv6 listener");
    }
    expected.extend([
        format!(":80:127.0.0.1:{}", lab.http_addr().port()),
        format!(":443:127.0.0.1:{}", lab.https_addr().port()),
        format!(":53:127.0.0.1:{}", lab.dns_addr().port()),
    ]);
    assert_eq!(lab.connect_to_args(), expected);
    let ports = [
        lab.dns_addr().port(),
        lab.http_addr().port(),
        lab.https_addr().port(),
    ];
    assert!(ports.iter().all(|p| *p != 0));
    assert_ne!(ports[1], ports[2]);
    assert!(lab.dns_addr().ip().is_loopback());
}

#[tokio::test]
async fn two_labs_run_side_by_side() {
    let a = Lab::start(scenarios::demo()).await.unwrap();
    let b = Lab::start(Scenario::new().site(Site::new("b.test")))
        .await
        .unwrap();
    assert_ne!(a.dns_addr(), b.dns_addr());
    assert_ne!(a.ca_pem(), b.ca_pem(), "each lab has its own CA");
    assert_eq!(common::http_get(&a, "b.test", "/").await.status, 421);
    assert_eq!(common::http_get(&b, "b.test", "/").await.status, 301);
}

#[tokio::test]
async fn drop_stops_servers_closes_hung_connections_and_removes_the_dir() {
    let lab = Lab::start(Scenario::new().site(Site::new("hang.test").http(Handler::Hang)))
        .await
        .unwrap();
    let dir = lab.dir().to_path_buf();
    std::fs::write(dir.join("manifest.toml"), "x = 1").unwrap();
    assert!(dir.join("manifest.toml").exists());
    let http = lab.http_addr();
    let https = lab.https_addr();
    let dns = lab.dns_addr();

    let mut hung = TcpStream::connect(http).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut hung, b"GET / HTTP/1.1\r\nHost: hang.test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let pending = tokio::time::timeout(Duration::from_millis(200), hung.read(&mut buf)).await;
    assert!(pending.is_err(), "hang answered before drop");

    drop(lab);
    assert!(!dir.exists(), "lab dir removed on drop");

    // The hung connection is torn down rather than left open.
    let read = tokio::time::timeout(common::IO_TIMEOUT, hung.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // Listeners are gone: abort is asynchronous, so allow the runtime a moment to drop them.
    let mut freed = false;
    for _ in 0..100 {
        let all_refused = TcpStream::connect(http).await.is_err()
            && TcpStream::connect(https).await.is_err()
            && TcpStream::connect(dns).await.is_err();
        if all_refused {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed, "ports still accepting connections after drop");
    // And the DNS UDP port can be bound again.
    let mut rebound = false;
    for _ in 0..100 {
        if tokio::net::UdpSocket::bind(dns).await.is_ok() {
            rebound = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(rebound, "DNS UDP port not released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_a_multi_thread_runtime_and_from_spawned_tasks() {
    let lab = std::sync::Arc::new(Lab::start(scenarios::demo()).await.unwrap());
    let mut tasks = Vec::new();
    for host in [
        "www.demo.test",
        "app.demo.test",
        "api.demo.test",
        "members.demo.test",
    ] {
        let lab = lab.clone();
        tasks.push(tokio::spawn(async move {
            common::https_get(&lab, host, "/").await.status
        }));
    }
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status == 200 || status == 302, "{status}");
    }
    assert_eq!(lab.requests_served(), 4);
}
