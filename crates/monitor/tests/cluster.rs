//! Several monitor nodes sharing one real PostgreSQL (started by the test) against the lab's membership app.
//!
//! The lease rules are tested first with explicit clocks (two claimers at once, a lease that expires, a stale
//! holder that must not store, the evaluator fence, outbox rows claimed with SKIP LOCKED). Then three nodes run as
//! child processes of this test binary with one-second intervals; the node holding the evaluator lease is killed
//! with SIGKILL mid-run, and the stored results must show every slot of every check run exactly once — nothing
//! missed across the takeover, nothing run twice — while the one alert reaches the webhook once. Two nodes in two
//! regions each run every check, and a lone node on SQLite records the same slots and its scheduling lag.
//! Nothing asserts on elapsed time; watchdogs bound the waits.

// Helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Received, json_receiver};

use launchready_lab::app::MemberApp;
use launchready_mailbox::SmtpSink;
use launchready_manifest::{Manifest, Route, RouteKind};
use launchready_monitor::runner::{ClusterOptions, Node};
use launchready_monitor::store::cluster::{EVALUATOR, NextSlot};
use launchready_monitor::store::{Run, RunMeta};
use launchready_monitor::{
    Channel, ChannelKind, CheckResult, FlowContext, Monitor, Phase, Schedule, Store, default_rules,
    from_manifest, now_ms, plan,
};
use launchready_testkit::server::postgres::Postgres;
use launchready_testkit::watchdog::within;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The environment variable that turns this test binary into a monitor node (see [`cluster_node_process`]).
const NODE_ENV: &str = "LAUNCHREADY_CLUSTER_NODE";
const INTERVAL_MS: i64 = 1_000;

fn postgres() -> Option<Postgres> {
    Postgres::start().expect("PostgreSQL starts")
}

fn result(check: &str, at_ms: i64) -> CheckResult {
    CheckResult {
        status: Some(200),
        duration_ms: 1.0,
        ..CheckResult::new(check, at_ms)
    }
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_slots_are_claimed_once_and_an_expired_lease_is_taken_over() {
    let Some(pg) = postgres() else { return };
    within(Duration::from_secs(60), "the lease rules", async {
        let store = Store::open_postgres(&pg.url()).await.unwrap();
        let checks = ids(&["a", "b", "c", "d"]);
        let rows: Vec<_> = checks.iter().map(|c| (c.clone(), 1_000, 10_000)).collect();
        store.ensure_schedule("", &rows).await.unwrap();
        // Not due yet.
        assert!(
            store
                .claim_due("n1", "", &checks, 9_999, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Two nodes ask at the same moment: SKIP LOCKED hands each row to one of them.
        let (one, two) = tokio::join!(
            store.claim_due("n1", "", &checks, 10_000, 3),
            store.claim_due("n2", "", &checks, 10_000, 3),
        );
        let (one, two) = (one.unwrap(), two.unwrap());
        let mut all: Vec<&str> = one.iter().chain(&two).map(|c| c.check.as_str()).collect();
        all.sort();
        assert_eq!(all, ["a", "b", "c", "d"], "n1 {one:?} n2 {two:?}");
        // Leased: nobody gets them again while the lease runs.
        assert!(
            store
                .claim_due("n3", "", &checks, 10_999, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let (claim, holder) = match one.first() {
            Some(claim) => (claim.clone(), "n1"),
            None => (two[0].clone(), "n2"),
        };
        // The holder dies without completing; one interval later n3 takes the slot over.
        let taken = store
            .claim_due("n3", "", std::slice::from_ref(&claim.check), 11_001, 10)
            .await
            .unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].due_ms, claim.due_ms);
        // The stale holder comes back: it can neither renew nor store.
        assert!(!store.renew(&claim, holder, 11_002).await.unwrap());
        let next = NextSlot::after(claim.due_ms, 1_000, 11_100, 10);
        assert!(
            !store
                .complete(&claim, holder, &result(&claim.check, 11_050), next)
                .await
                .unwrap()
        );
        assert!(
            store
                .complete(&taken[0], "n3", &result(&claim.check, 11_100), next)
                .await
                .unwrap()
        );
        let runs = store.runs().await.unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(
            runs[0].meta,
            RunMeta {
                node: "n3".into(),
                region: String::new(),
                due_ms: Some(10_000),
            }
        );
        // The slot moved on one interval; the others are released by a clean stop and are due again at once.
        let again = store
            .claim_due("n3", "", std::slice::from_ref(&claim.check), 11_100, 10)
            .await
            .unwrap();
        assert_eq!(again[0].due_ms, 11_000);
        assert!(
            store.release_claims("n1").await.unwrap() + store.release_claims("n2").await.unwrap()
                >= 3
        );
        assert_eq!(
            store
                .claim_due("n4", "", &checks, 11_100, 10)
                .await
                .unwrap()
                .len(),
            3
        );
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_evaluator_at_a_time_and_outbox_rows_are_never_handed_out_twice() {
    let Some(pg) = postgres() else { return };
    within(Duration::from_secs(60), "the evaluator lease and the outbox", async {
        let store = Store::open_postgres(&pg.url()).await.unwrap();
        assert!(store.acquire_lease(EVALUATOR, "n1", 1_000, 3_000).await.unwrap());
        assert!(!store.acquire_lease(EVALUATOR, "n2", 2_000, 3_000).await.unwrap());
        assert!(store.acquire_lease(EVALUATOR, "n1", 2_000, 3_000).await.unwrap());
        // n1 stalls past its lease; n2 takes over, and n1's late evaluation is fenced out.
        assert!(store.acquire_lease(EVALUATOR, "n2", 5_001, 3_000).await.unwrap());
        let notice: launchready_monitor::Notification = serde_json::from_value(serde_json::json!({
            "key": "down|landing|1|firing", "kind": "firing", "rule": "down", "check": "landing",
            "condition": "consecutive_failures >= 3", "owner": "ops", "channels": ["log", "team"],
            "since_ms": 1, "at_ms": 5_000, "value": null, "last_error": null, "context": null,
            "folded": [], "first_step": "look", "dashboard": null
        }))
        .unwrap();
        let states = BTreeMap::new();
        let stale = store
            .commit_evaluation_fenced(&states, std::slice::from_ref(&notice), 5_002, Some((EVALUATOR, "n1")))
            .await
            .unwrap();
        assert!(!stale);
        assert_eq!(store.undelivered_count().await.unwrap(), 0);
        let current = store
            .commit_evaluation_fenced(&states, std::slice::from_ref(&notice), 5_002, Some((EVALUATOR, "n2")))
            .await
            .unwrap();
        assert!(current);
        // The same notice again adds nothing.
        store
            .commit_evaluation_fenced(&states, std::slice::from_ref(&notice), 5_003, Some((EVALUATOR, "n2")))
            .await
            .unwrap();
        assert_eq!(store.undelivered_count().await.unwrap(), 2);
        // A row being sent by one node (its lock held) is passed over by another.
        let first = store.claim_pending(0).await.unwrap().unwrap();
        let second = store.claim_pending(0).await.unwrap().unwrap();
        assert_ne!(first.row.id, second.row.id);
        assert!(store.claim_pending(0).await.unwrap().is_none());
        store.finish_delivery(first, Ok(6_000)).await.unwrap();
        store.finish_delivery(second, Err("refused")).await.unwrap();
        let retry = store.claim_pending(0).await.unwrap().unwrap();
        assert_eq!(retry.row.attempts, 1);
        drop(retry);
        assert_eq!(store.delivered_count().await.unwrap(), 1);
        assert_eq!(store.lease_holder(EVALUATOR).await.unwrap().unwrap().owner, "n2");
        store.close().await;
    })
    .await;
}

/// What a node needs to reach the lab, the database and the webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NodeSpec {
    database: String,
    name: String,
    region: Option<String>,
    connect_to: Vec<String>,
    ca_file: PathBuf,
    hook: String,
}

struct Lab {
    _sink: SmtpSink,
    app: MemberApp,
}

async fn lab() -> Lab {
    let (sink, app) = common::member_app().await;
    Lab { _sink: sink, app }
}

impl Lab {
    fn spec(&self, database: &str, name: &str, region: Option<&str>, hook: &str) -> NodeSpec {
        NodeSpec {
            database: database.to_string(),
            name: name.to_string(),
            region: region.map(str::to_string),
            connect_to: self.app.connect_to_args(),
            ca_file: self.app.ca_file().to_path_buf(),
            hook: hook.to_string(),
        }
    }
}

/// The lab's pages plus one route that always answers 404, so the `down` alert fires exactly once.
fn manifest() -> Manifest {
    let mut manifest = Manifest::for_domain("example.test").unwrap();
    manifest.site.canonical_url = "https://www.example.test/".parse().unwrap();
    manifest.routes.push(Route {
        name: "broken".into(),
        host: "www.example.test".into(),
        path: "/no-such-page".into(),
        kind: RouteKind::Other,
        critical: false,
        expect_status: 200,
    });
    manifest
}

/// A monitor node as the binary would build it, every check every second.
async fn node(spec: &NodeSpec) -> Monitor {
    let net = common::app_net(&spec.connect_to, &spec.ca_file, Duration::from_secs(5));
    let channel_net = common::loopback_net(Duration::from_secs(5));
    let manifest = manifest();
    let checks = plan(&manifest);
    let mut config = from_manifest(&manifest, &checks, Some(PathBuf::from(&spec.database)));
    config.schedule = Schedule {
        phases: vec![Phase {
            until_ms: None,
            every: Duration::from_millis(INTERVAL_MS as u64),
        }],
        jitter: 0.1,
    };
    config.schedules.clear();
    config.channels = vec![Channel {
        name: "team".into(),
        kind: ChannelKind::Webhook {
            url: spec.hook.clone(),
            secret_env: None,
        },
    }];
    config.rules = default_rules(&checks, &config.channels, "ops@example.test");
    config.maintenance.clear();
    let store = Store::open(&config.database).await.unwrap();
    Monitor::new(
        config,
        checks,
        store,
        Arc::new(net),
        Arc::new(channel_net),
        FlowContext::default(),
    )
    .unwrap()
    .with_node(Node::new(spec.name.clone(), spec.region.as_deref()))
    .with_cluster_options(ClusterOptions {
        poll: Some(Duration::from_millis(100)),
        evaluate_every: Some(Duration::from_millis(500)),
        ..ClusterOptions::default()
    })
}

/// Not a test of its own: the cluster test runs this binary once per node with [`NODE_ENV`] set, and this runs
/// that node until its standard input closes (or it is killed). Run by hand, it says so and returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a monitor node process started by three_nodes_share_the_checks_and_survive_a_kill"]
async fn cluster_node_process() {
    let Ok(spec) = std::env::var(NODE_ENV) else {
        eprintln!(
            "{NODE_ENV} is not set: this is a node process for the cluster test, nothing to do"
        );
        return;
    };
    let spec: NodeSpec = serde_json::from_str(&spec).unwrap();
    let monitor = Arc::new(node(&spec).await);
    let stop = async {
        // The parent closes our stdin to stop us cleanly.
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
    };
    monitor.run(stop).await;
}

/// A node running as a child process; SIGKILLed on drop if still running.
struct NodeProcess {
    name: String,
    child: Child,
}

impl NodeProcess {
    fn start(spec: &NodeSpec) -> NodeProcess {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cluster_node_process",
                "--ignored",
                "--nocapture",
            ])
            .env(NODE_ENV, serde_json::to_string(spec).unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        NodeProcess {
            name: spec.name.clone(),
            child,
        }
    }

    /// SIGKILL: no clean stop, leases and open transactions are simply abandoned.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// A clean stop: close its stdin and wait for it to hand back its slots and exit.
    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let status = tokio::task::block_in_place(|| self.child.wait()).unwrap();
        assert!(status.success(), "node {} exited with {status}", self.name);
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `done` on the stored runs every 100 ms until it holds (the caller's watchdog bounds the wait).
async fn wait_for(store: &Store, done: impl Fn(&[Run]) -> bool) -> Vec<Run> {
    loop {
        let runs = store.runs().await.unwrap();
        if done(&runs) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn per_check(runs: &[Run]) -> BTreeMap<(String, String), Vec<&Run>> {
    let mut out: BTreeMap<(String, String), Vec<&Run>> = BTreeMap::new();
    for run in runs {
        out.entry((run.check.clone(), run.meta.region.clone()))
            .or_default()
            .push(run);
    }
    out
}

/// Every check (per region) has each slot exactly once, slots one interval apart from its first to its last.
fn assert_every_slot_once(runs: &[Run], checks: usize, regions: usize) {
    let by_check = per_check(runs);
    assert_eq!(by_check.len(), checks * regions, "{:?}", by_check.keys());
    for ((check, region), runs) in by_check {
        let mut slots: Vec<i64> = runs.iter().map(|r| r.meta.due_ms.unwrap()).collect();
        slots.sort();
        let distinct: BTreeSet<i64> = slots.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            slots.len(),
            "{check}@{region}: a slot ran twice: {slots:?}"
        );
        let gaps: Vec<_> = slots
            .windows(2)
            .filter(|w| w[1] - w[0] != INTERVAL_MS)
            .collect();
        assert!(
            gaps.is_empty(),
            "{check}@{region}: slots missed between {gaps:?} (all: {slots:?})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_the_checks_and_survive_a_kill() {
    let Some(pg) = postgres() else { return };
    within(Duration::from_secs(240), "three nodes and a kill", async {
        let lab = lab().await;
        let (hook, received) = json_receiver().await;
        let database = pg.url();
        // Migrate once before the nodes start (they would also manage it among themselves under the migrator's lock).
        let store = Store::open_postgres(&database).await.unwrap();
        let checks = plan(&manifest()).len();
        let mut nodes: Vec<NodeProcess> = ["node-a", "node-b", "node-c"]
            .iter()
            .map(|name| NodeProcess::start(&lab.spec(&database, name, None, &hook)))
            .collect();

        // Every node has run checks, every check has run a few times, and the broken route's alert went out.
        wait_for(&store, |runs| {
            let by_check = per_check(runs);
            let nodes: BTreeSet<&str> = runs.iter().map(|r| r.meta.node.as_str()).collect();
            nodes.len() == 3 && by_check.len() == checks && by_check.values().all(|r| r.len() >= 3)
        })
        .await;
        let firing = |received: &Received| {
            received
                .lock()
                .unwrap()
                .iter()
                .filter(|n| n["kind"] == "firing" && n["check"] == "route:broken")
                .count()
        };
        while firing(&received) == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // Kill -9 the node holding the evaluator lease: it also holds check slots, mid-run or between runs.
        let evaluator = store.lease_holder(EVALUATOR).await.unwrap().unwrap();
        let victim = nodes
            .iter()
            .position(|n| n.name == evaluator.owner)
            .unwrap();
        let mut dead = nodes.remove(victim);
        dead.kill();
        let killed_ms = now_ms();

        // Another node takes the evaluator lease and works under it a few rounds.
        loop {
            let holder = store.lease_holder(EVALUATOR).await.unwrap().unwrap();
            if holder.owner != dead.name && holder.rounds >= evaluator.rounds + 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Every check has run several slots that started after the kill, on the surviving nodes.
        wait_for(&store, |runs| {
            let by_check = per_check(runs);
            by_check.len() == checks
                && by_check.values().all(|r| {
                    r.iter()
                        .filter(|r| r.meta.due_ms.unwrap_or(0) > killed_ms + INTERVAL_MS)
                        .count()
                        >= 4
                })
        })
        .await;
        for node in nodes {
            node.stop().await;
        }

        let runs = store.runs().await.unwrap();
        let mut per_node: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for run in &runs {
            let entry = per_node.entry(run.meta.node.as_str()).or_default();
            if run.at_ms <= killed_ms {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        eprintln!(
            "{} results of {checks} checks; {} killed; per node (before, after the kill): {per_node:?}",
            runs.len(),
            dead.name
        );
        assert_every_slot_once(&runs, checks, 1);
        assert!(
            runs.iter()
                .all(|r| r.meta.node != dead.name || r.at_ms <= killed_ms),
            "the killed node stored a result after it was killed"
        );
        let survivors: BTreeSet<&str> = runs
            .iter()
            .filter(|r| r.at_ms > killed_ms)
            .map(|r| r.meta.node.as_str())
            .collect();
        assert!(!survivors.contains(dead.name.as_str()));
        assert!(!survivors.is_empty());
        assert!(
            store
                .skipped_slots("")
                .await
                .unwrap()
                .iter()
                .all(|(_, n)| *n == 0),
            "slots were skipped"
        );
        // No notice reached the webhook twice; the broken route's alert reached it exactly once.
        let notices = received.lock().unwrap().clone();
        let mut keys = BTreeMap::new();
        for notice in &notices {
            *keys
                .entry(notice["key"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        assert!(
            keys.values().all(|n| *n == 1),
            "a notice was sent twice: {keys:?}"
        );
        assert_eq!(firing(&received), 1, "{notices:#?}");
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_region_runs_every_check() {
    let Some(pg) = postgres() else { return };
    within(Duration::from_secs(120), "two regions", async {
        let lab = lab().await;
        let (hook, _received) = json_receiver().await;
        let database = pg.url();
        let store = Store::open_postgres(&database).await.unwrap();
        let checks = plan(&manifest()).len();
        let mut running = Vec::new();
        for (name, region) in [("eu-1", "eu"), ("us-1", "us")] {
            let monitor = Arc::new(node(&lab.spec(&database, name, Some(region), &hook)).await);
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(monitor.clone().run(async {
                let _ = stopped.await;
            }));
            running.push((monitor, stop, task));
        }
        wait_for(&store, |runs| {
            let by_check = per_check(runs);
            by_check.len() == 2 * checks && by_check.values().all(|r| r.len() >= 3)
        })
        .await;
        for (monitor, stop, task) in running {
            stop.send(()).unwrap();
            task.await.unwrap();
            // The scheduler's lag is measured for every run this node started.
            let lag = monitor.lag();
            assert!(lag.runs >= checks as u64, "{lag:?}");
            assert!(
                lag.p50_ms <= lag.p99_ms && lag.p99_ms <= lag.max_ms,
                "{lag:?}"
            );
        }
        let runs = store.runs().await.unwrap();
        assert_every_slot_once(&runs, checks, 2);
        for run in &runs {
            let expected = if run.meta.node == "eu-1" { "eu" } else { "us" };
            assert_eq!(run.meta.region, expected, "{run:?}");
        }
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_node_on_sqlite_records_its_slots_and_lag() {
    within(Duration::from_secs(120), "one node on SQLite", async {
        let lab = lab().await;
        let (hook, _received) = json_receiver().await;
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("monitor.db").display().to_string();
        let monitor = Arc::new(node(&lab.spec(&database, "solo", Some("home"), &hook)).await);
        assert!(!monitor.store.is_shared());
        let checks = monitor.checks.len();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(monitor.clone().run(async {
            let _ = stopped.await;
        }));
        let runs = wait_for(&monitor.store, |runs| {
            let by_check = per_check(runs);
            by_check.len() == checks && by_check.values().all(|r| r.len() >= 2)
        })
        .await;
        stop.send(()).unwrap();
        task.await.unwrap();
        for run in &runs {
            assert_eq!(
                (run.meta.node.as_str(), run.meta.region.as_str()),
                ("solo", "home")
            );
            assert!(run.meta.due_ms.is_some(), "{run:?}");
        }
        let lag = monitor.lag();
        assert!(
            lag.runs >= runs.len() as u64,
            "{lag:?} for {} runs",
            runs.len()
        );
        assert!(monitor.lag_histogram().is_some());
    })
    .await;
}
