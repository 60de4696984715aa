//! The I/O shell around the pure parts: runs checks on their schedule, stores every result before anything else
//! happens, evaluates the alert rules on what is stored, and delivers the outbox.
//!
//! Alone (SQLite), each check runs in its own task, so a slow check delays only itself and never overlaps itself.
//! On a shared PostgreSQL, nodes claim due slots with leases (`store::cluster`): a slot runs once across nodes, a
//! dead node's slots are taken over within one interval, one node at a time (the `evaluator` lease) evaluates
//! alerts, and outbox rows are claimed one by one so no notice is sent twice. Both record the scheduling lag —
//! intended start to actual start of each run — in an HDR histogram ([`Monitor::lag`]).

use crate::alert::{self, Input};
use crate::channels::{self, Env};
use crate::checks::{
    self, Check, CheckKind, CheckResult, FlowContext, JourneyContext, JourneyMailbox,
};
use crate::config::MonitorConfig;
use crate::store::cluster::{Claim, EVALUATOR, NextSlot, RETENTION};
use crate::store::{RunMeta, Store, StoreError};
use hdrhistogram::Histogram;
use launchready_flow::FlowFile;
use launchready_net::Net;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Where channel secrets are read from.
type EnvFn = dyn Fn(&str) -> Option<String> + Send + Sync;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("journey `{name}`: {message}")]
    Flow { name: String, message: String },
}

/// What `--once` saw.
#[derive(Debug, Clone)]
pub struct OnceSummary {
    pub results: Vec<CheckResult>,
    pub notifications: usize,
    pub delivered: usize,
    pub delivery_errors: Vec<String>,
}

/// This node: its name (unique among the nodes sharing a database) and its region label (empty: none). With
/// regions, each region runs every check and each result records its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub region: String,
}

impl Node {
    pub fn new(name: impl Into<String>, region: Option<&str>) -> Node {
        Node {
            name: name.into(),
            region: region.unwrap_or_default().trim().to_string(),
        }
    }
}

impl Default for Node {
    /// The host name and process id: unique without configuration, also for two nodes on one machine.
    fn default() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".into());
        Node::new(format!("{host}-{}", std::process::id()), None)
    }
}

/// How a node shares the work on PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// How often the node asks for due slots; by default a quarter of the shortest interval, within 50 ms–1 s.
    pub poll: Option<Duration>,
    /// Checks this node runs at once.
    pub max_in_flight: usize,
    /// Due slots of one check run back to back after a takeover; more than this are skipped.
    pub catch_up: i64,
    /// How often the evaluator evaluates and delivers; by default the shortest interval, within 1–10 s. Its lease
    /// lasts three rounds.
    pub evaluate_every: Option<Duration>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            poll: None,
            max_in_flight: 128,
            catch_up: 5,
            evaluate_every: None,
        }
    }
}

/// The scheduling lag so far, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LagSummary {
    pub runs: u64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

/// Lags up to an hour (longer ones count as an hour), to three significant digits. `None` only if these bounds
/// were invalid, which they are not.
fn new_lag_histogram() -> Option<Histogram<u64>> {
    Histogram::new_with_max(3_600_000, 3).ok()
}

/// Results a rule sees at least, per check, however old (the window of `consecutive_failures`).
const AT_LEAST: i64 = 50;
/// The writer commits what arrived within this long of a batch's first result in one transaction.
pub const WRITE_BATCH_WINDOW: Duration = Duration::from_millis(100);
/// At most this many runs per transaction (also the depth of the queue to the writer).
const WRITE_BATCH_MAX: usize = 1000;

/// What the evaluator of a lone monitor keeps between rounds: per evaluated id the samples
/// [`Monitor::evaluate`] would read (those inside the longest look-back, and at least the last [`AT_LEAST`]),
/// oldest first; the alert states as committed; and the ids with results since the last round.
struct Memory {
    samples: HashMap<String, Vec<alert::Sample>>,
    states: BTreeMap<alert::Key, alert::AlertState>,
    /// Every (rule, check) the rules name.
    keys: HashSet<alert::Key>,
    fresh: HashSet<String>,
    dependencies: HashMap<String, Vec<String>>,
    /// The reverse of `dependencies`: whose fold a parent's result can change.
    children: HashMap<String, Vec<String>>,
    last_ms: Option<i64>,
}

impl Memory {
    /// Appends committed results (each id's arrive in the order they started, as a check never overlaps
    /// itself); ids no rule reads are not kept.
    fn append(&mut self, results: Vec<CheckResult>) {
        for result in results {
            if let Some(samples) = self.samples.get_mut(&result.check) {
                let sample = result.sample();
                let at = samples.partition_point(|s| s.at_ms <= sample.at_ms);
                samples.insert(at, sample);
                self.fresh.insert(result.check);
            }
        }
    }
}

/// A configured monitor.
pub struct Monitor {
    pub config: MonitorConfig,
    pub checks: Vec<Check>,
    pub store: Store,
    net: Arc<Net>,
    channel_net: Arc<Net>,
    flows: HashMap<String, FlowFile>,
    journeys: JourneyContext,
    env: Box<EnvFn>,
    /// Evaluations and deliveries run one at a time.
    evaluating: Mutex<()>,
    node: Node,
    cluster: ClusterOptions,
    lag: std::sync::Mutex<Option<Histogram<u64>>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("checks", &self.checks.len())
            .finish()
    }
}

impl Monitor {
    /// Reads every journey before anything runs, so a typo fails at start, not at 3 a.m.
    pub fn new(
        config: MonitorConfig,
        checks: Vec<Check>,
        store: Store,
        net: Arc<Net>,
        channel_net: Arc<Net>,
        context: FlowContext,
    ) -> Result<Monitor, MonitorError> {
        let mut flows = HashMap::new();
        for check in &checks {
            if let CheckKind::Flow { name, file } = &check.kind {
                let flow = launchready_flow::load(file).map_err(|e| MonitorError::Flow {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
                flows.insert(check.id.clone(), flow);
            }
        }
        Ok(Monitor {
            config,
            checks,
            store,
            net,
            channel_net,
            flows,
            journeys: JourneyContext::from(&context),
            env: Box::new(|name| std::env::var(name).ok()),
            evaluating: Mutex::new(()),
            node: Node::default(),
            cluster: ClusterOptions::default(),
            lag: std::sync::Mutex::new(new_lag_histogram()),
        })
    }

    /// Names this node and its region (results record both).
    pub fn with_node(mut self, node: Node) -> Self {
        self.node = node;
        self
    }

    pub fn with_cluster_options(mut self, options: ClusterOptions) -> Self {
        self.cluster = options;
        self
    }

    /// Journeys read their mail from `mailbox` (the SMTP sink or an IMAP test inbox) instead of the context's.
    pub fn with_mailbox(mut self, mailbox: JourneyMailbox) -> Self {
        self.journeys.mailbox = Some(mailbox);
        self
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The scheduling lag (intended start to actual start) of every scheduled run so far.
    pub fn lag(&self) -> LagSummary {
        let Some(histogram) = self.lag_histogram() else {
            return LagSummary::default();
        };
        LagSummary {
            runs: histogram.len(),
            p50_ms: histogram.value_at_quantile(0.5),
            p99_ms: histogram.value_at_quantile(0.99),
            max_ms: histogram.max(),
        }
    }

    /// A copy of the lag histogram (milliseconds), for finer figures than [`Monitor::lag`].
    pub fn lag_histogram(&self) -> Option<Histogram<u64>> {
        match self.lag.lock() {
            Ok(histogram) => histogram.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn record_lag(&self, intended_ms: i64, actual_ms: i64) {
        let lag = u64::try_from(actual_ms - intended_ms).unwrap_or(0);
        let mut histogram = match self.lag.lock() {
            Ok(histogram) => histogram,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(histogram) = histogram.as_mut() {
            histogram.saturating_record(lag);
        }
    }

    fn meta(&self, due_ms: Option<i64>) -> RunMeta {
        RunMeta {
            node: self.node.name.clone(),
            region: self.node.region.clone(),
            due_ms,
        }
    }

    /// Reads channel secrets through `env` instead of the process environment.
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Box::new(env);
        self
    }

    /// Runs one check now and stores its result.
    pub async fn run_check(&self, check: &Check) -> Result<CheckResult, MonitorError> {
        self.run_slot(check, None).await
    }

    /// Runs one check now for the slot intended to start at `due_ms` (recording the lag) and stores its result.
    async fn run_slot(
        &self,
        check: &Check,
        due_ms: Option<i64>,
    ) -> Result<CheckResult, MonitorError> {
        let started = crate::now_ms();
        if let Some(due) = due_ms {
            self.record_lag(due, started);
        }
        let results =
            checks::run_with_steps(check, &self.net, &self.flows, &self.journeys, started).await;
        let meta = self.meta(due_ms);
        for result in &results {
            self.store.insert_run(result, &meta).await?;
        }
        Ok(results
            .into_iter()
            .next()
            .unwrap_or_else(|| CheckResult::new(&check.id, started)))
    }

    /// Evaluates every rule at `now_ms` on the stored results, commits state and outbox together, and returns
    /// the number of new notifications.
    pub async fn evaluate(&self, now_ms: i64) -> Result<usize, MonitorError> {
        Ok(self.evaluate_fenced(now_ms, None).await?.unwrap_or(0))
    }

    /// [`Monitor::evaluate`], committing only while `fence` (a lease and its owner) holds. `None`: the lease was
    /// lost meanwhile and nothing was committed.
    async fn evaluate_fenced(
        &self,
        now_ms: i64,
        fence: Option<(&str, &str)>,
    ) -> Result<Option<usize>, MonitorError> {
        let _one = self.evaluating.lock().await;
        let lookback = self
            .config
            .rules
            .iter()
            .map(|r| r.condition.lookback())
            .max()
            .unwrap_or(Duration::ZERO);
        let since = now_ms - lookback.as_millis() as i64;
        let mut results = HashMap::new();
        for id in self.config.evaluated_ids(&self.checks) {
            let rows = self.store.results(&id, since, AT_LEAST).await?;
            results.insert(id, rows.iter().map(CheckResult::sample).collect());
        }
        let previous = self.store.states().await?;
        let dependencies = self.config.dependencies_with_steps(&self.checks);
        let out = alert::evaluate(&Input {
            now_ms,
            rules: &self.config.rules,
            results: &results,
            previous: &previous,
            dependencies: &dependencies,
            maintenance: &self.config.maintenance,
            dashboard: self.config.dashboard_url.as_deref(),
        });
        // A state equal to the stored one needs no write (in steady state that is nearly all of them).
        let changed: BTreeMap<_, _> = out
            .states
            .into_iter()
            .filter(|(key, state)| previous.get(key) != Some(state))
            .collect();
        let committed = self
            .store
            .commit_evaluation_fenced(&changed, &out.notifications, now_ms, fence)
            .await?;
        Ok(committed.then_some(out.notifications.len()))
    }

    /// Sends every undelivered outbox row once; a failure stays in the outbox for the next round. Rows are
    /// claimed one at a time: on PostgreSQL a row another node is sending is passed over.
    pub async fn deliver(&self) -> Result<(usize, Vec<String>), MonitorError> {
        let _one = self.evaluating.lock().await;
        let mut delivered = 0;
        let mut errors = Vec::new();
        let env: Env<'_> = &*self.env;
        let mut after = 0;
        while let Some(claim) = self.store.claim_pending(after).await? {
            after = claim.row.id;
            let Some(channel) = self.channel(&claim.row.channel) else {
                let message = format!("channel `{}` is not configured", claim.row.channel);
                self.store.finish_delivery(claim, Err(&message)).await?;
                errors.push(message);
                continue;
            };
            match channels::send(&channel, &claim.row.notification, &self.channel_net, env).await {
                Ok(()) => {
                    self.store
                        .finish_delivery(claim, Ok(crate::now_ms()))
                        .await?;
                    delivered += 1;
                }
                Err(error) => {
                    let message = error.to_string();
                    self.store.finish_delivery(claim, Err(&message)).await?;
                    errors.push(message);
                }
            }
        }
        Ok((delivered, errors))
    }

    fn channel(&self, name: &str) -> Option<crate::config::Channel> {
        if name == "log" {
            return Some(crate::config::Channel {
                name: "log".into(),
                kind: crate::config::ChannelKind::Log,
            });
        }
        self.config
            .channels
            .iter()
            .find(|c| c.name == name)
            .cloned()
    }

    /// Every check once, concurrently; then one evaluation and delivery.
    pub async fn once(&self) -> Result<OnceSummary, MonitorError> {
        let runs = self.checks.iter().map(|check| self.run_check(check));
        let results = futures::future::try_join_all(runs).await?;
        let notifications = self.evaluate(crate::now_ms()).await?;
        let (delivered, delivery_errors) = self.deliver().await?;
        Ok(OnceSummary {
            results,
            notifications,
            delivered,
            delivery_errors,
        })
    }

    /// Runs until `stop` resolves: alone on SQLite, sharing the work with the other nodes on PostgreSQL.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        if self.store.is_shared() {
            self.run_shared(stop).await;
        } else {
            self.run_alone(stop).await;
        }
    }

    /// Each check in its own task (each waits a random part of its first interval before its first run), one
    /// writer task that commits results in batches, and one evaluator on a timer that judges what changed.
    ///
    /// A check's next intended start is its previous intended start plus its interval (± jitter), whatever the
    /// run, the store or the evaluator did meanwhile, so the recorded lag is the lateness against the schedule.
    /// A run that ends more than a whole interval after its next intended start skips the missed slots instead
    /// of running them back to back (their lateness was recorded). A check never overlaps itself.
    ///
    /// A result counts as recorded once the writer committed it: at most [`WRITE_BATCH_WINDOW`] (plus the commit)
    /// after the run ends. `kill -9` loses what was not yet committed, never a committed result.
    async fn run_alone(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let (to_writer, from_checks) = tokio::sync::mpsc::channel(WRITE_BATCH_MAX);
        let (to_evaluator, committed) = tokio::sync::mpsc::unbounded_channel();
        let monitor = self.clone();
        let writer =
            tokio::spawn(async move { monitor.writer_loop(from_checks, to_evaluator).await });
        let mut tasks = tokio::task::JoinSet::new();
        for check in self.checks.clone() {
            let monitor = self.clone();
            let to_writer = to_writer.clone();
            tasks.spawn(async move {
                let schedule = monitor.config.schedule_for(&check.id).clone();
                let first = schedule
                    .interval_at(crate::now_ms())
                    .mul_f64(schedule.jitter.clamp(0.0, 0.5) * rand::random::<f64>());
                let mut intended = crate::now_ms() + first.as_millis() as i64;
                loop {
                    let ahead = intended - crate::now_ms();
                    if ahead > 0 {
                        tokio::time::sleep(Duration::from_millis(ahead as u64)).await;
                    }
                    let started = crate::now_ms();
                    monitor.record_lag(intended, started);
                    let results = checks::run_with_steps(
                        &check,
                        &monitor.net,
                        &monitor.flows,
                        &monitor.journeys,
                        started,
                    )
                    .await;
                    if to_writer
                        .send((results, monitor.meta(Some(intended))))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let interval = schedule.interval_at(intended).as_millis() as i64;
                    let wait = schedule.next_wait(intended, rand::random::<f64>());
                    intended += wait.as_millis() as i64;
                    let now = crate::now_ms();
                    if intended + interval < now {
                        intended = now;
                    }
                }
            });
        }
        drop(to_writer);
        let monitor = self.clone();
        let evaluator = tokio::spawn(async move { monitor.alone_evaluator_loop(committed).await });
        // Raw results older than the retention period become hourly aggregates, checked every hour.
        let monitor = self.clone();
        let retention = tokio::spawn(async move {
            loop {
                monitor.retain(crate::now_ms()).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
        stop.await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        // Every sender is gone now: the writer commits what it holds and ends.
        let _ = writer.await;
        evaluator.abort();
        retention.abort();
        let _ = evaluator.await;
        let _ = retention.await;
    }

    /// Commits the results the check tasks send in batches: up to [`WRITE_BATCH_MAX`] runs or what arrived
    /// within [`WRITE_BATCH_WINDOW`] of the first, in one transaction; then hands them to the evaluator. A
    /// failed commit is retried a few times before its results are given up (and said so).
    async fn writer_loop(
        self: Arc<Self>,
        mut from_checks: tokio::sync::mpsc::Receiver<(Vec<CheckResult>, RunMeta)>,
        to_evaluator: tokio::sync::mpsc::UnboundedSender<Vec<CheckResult>>,
    ) {
        let mut open = true;
        while open {
            let Some(first) = from_checks.recv().await else {
                break;
            };
            let mut runs = vec![first];
            let deadline = tokio::time::Instant::now() + WRITE_BATCH_WINDOW;
            while runs.len() < WRITE_BATCH_MAX {
                match tokio::time::timeout_at(deadline, from_checks.recv()).await {
                    Ok(Some(run)) => runs.push(run),
                    Ok(None) => {
                        open = false;
                        break;
                    }
                    Err(_) => break,
                }
            }
            let batch: Vec<(CheckResult, RunMeta)> = runs
                .into_iter()
                .flat_map(|(results, meta)| results.into_iter().map(move |r| (r, meta.clone())))
                .collect();
            let mut attempt = 0;
            loop {
                match self.store.insert_runs(&batch).await {
                    Ok(()) => {
                        let _ = to_evaluator.send(batch.into_iter().map(|(r, _)| r).collect());
                        break;
                    }
                    Err(error) if attempt < 3 => {
                        attempt += 1;
                        eprintln!(
                            "monitor: storing {} results: {error}; retrying",
                            batch.len()
                        );
                        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                    }
                    Err(error) => {
                        eprintln!("monitor: {} results were lost: {error}", batch.len());
                        break;
                    }
                }
            }
        }
    }

    /// Alone on SQLite: keeps the look-back window of every evaluated id and the alert states in memory (read
    /// once from the database), appends what the writer committed, and evaluates on a timer (the shortest
    /// interval, within 1–10 s) only what can have changed.
    async fn alone_evaluator_loop(
        self: Arc<Self>,
        mut committed: tokio::sync::mpsc::UnboundedReceiver<Vec<CheckResult>>,
    ) {
        let every = self.cluster.evaluate_every.unwrap_or_else(|| {
            self.shortest_interval()
                .clamp(Duration::from_secs(1), Duration::from_secs(10))
        });
        let mut memory = loop {
            match self.load_memory(crate::now_ms()).await {
                Ok(memory) => break memory,
                Err(error) => {
                    eprintln!("monitor: alerts: reading the stored window: {error}");
                    tokio::time::sleep(every).await;
                }
            }
        };
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            while let Ok(results) = committed.try_recv() {
                memory.append(results);
            }
            match self.evaluate_changed(&mut memory, crate::now_ms()).await {
                Ok(_) => {}
                Err(error) => eprintln!("monitor: alerts: {error}"),
            }
            self.deliver_logged().await;
        }
    }

    /// The longest look-back of any rule.
    fn lookback_ms(&self) -> i64 {
        self.config
            .rules
            .iter()
            .map(|r| r.condition.lookback())
            .max()
            .unwrap_or(Duration::ZERO)
            .as_millis() as i64
    }

    /// What [`Monitor::evaluate`] would read from the database at `now_ms`, read once.
    async fn load_memory(&self, now_ms: i64) -> Result<Memory, MonitorError> {
        let since = now_ms - self.lookback_ms();
        let mut samples = HashMap::new();
        for id in self.config.evaluated_ids(&self.checks) {
            let rows = self.store.results(&id, since, AT_LEAST).await?;
            samples.insert(id, rows.iter().map(CheckResult::sample).collect());
        }
        let dependencies = self.config.dependencies_with_steps(&self.checks);
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for (child, parents) in &dependencies {
            for parent in parents {
                children
                    .entry(parent.clone())
                    .or_default()
                    .push(child.clone());
            }
        }
        let keys = self
            .config
            .rules
            .iter()
            .flat_map(|r| r.checks.iter().map(|c| (r.name.clone(), c.clone())))
            .collect();
        Ok(Memory {
            samples,
            states: self.store.states().await?,
            keys,
            fresh: HashSet::new(),
            dependencies,
            children,
            last_ms: None,
        })
    }

    /// One evaluation from memory, equal to [`Monitor::evaluate`] at `now_ms` but judging only the ids whose
    /// verdict or state can differ from the last round: those with new results, those a window slid off a
    /// result of, the dependents of those with new results (their fold), every firing one (reminders), every
    /// certificate rule (its days left move with the clock), and all of them on the first round and when a
    /// maintenance window began or ended. Commits only the states that changed.
    async fn evaluate_changed(
        &self,
        memory: &mut Memory,
        now_ms: i64,
    ) -> Result<usize, MonitorError> {
        let _one = self.evaluating.lock().await;
        let lookback = self.lookback_ms();
        let cut = now_ms - lookback;
        let due: HashSet<String> = match memory.last_ms {
            None => memory
                .samples
                .keys()
                .cloned()
                .chain(memory.keys.iter().map(|(_, c)| c.clone()))
                .collect(),
            Some(last) => {
                let boundary = self.config.maintenance.iter().any(|m| {
                    (last < m.start_ms && m.start_ms <= now_ms)
                        || (last < m.end_ms && m.end_ms <= now_ms)
                });
                if boundary {
                    memory
                        .samples
                        .keys()
                        .cloned()
                        .chain(memory.keys.iter().map(|(_, c)| c.clone()))
                        .collect()
                } else {
                    let mut due = memory.fresh.clone();
                    for id in &memory.fresh {
                        if let Some(children) = memory.children.get(id) {
                            due.extend(children.iter().cloned());
                        }
                    }
                    // A windowed verdict changes with no new result only when a result leaves a window.
                    let mut windows: Vec<i64> = self
                        .config
                        .rules
                        .iter()
                        .map(|r| r.condition.lookback().as_millis() as i64)
                        .filter(|w| *w > 0)
                        .collect();
                    windows.push(lookback);
                    windows.sort_unstable();
                    windows.dedup();
                    for (id, samples) in &memory.samples {
                        let slid = windows.iter().any(|window| {
                            let before = samples.partition_point(|s| s.at_ms <= last - window);
                            let now = samples.partition_point(|s| s.at_ms <= now_ms - window);
                            now > before
                        });
                        if slid {
                            due.insert(id.clone());
                        }
                    }
                    for ((_, check), state) in &memory.states {
                        if state.firing {
                            due.insert(check.clone());
                        }
                    }
                    for rule in &self.config.rules {
                        if matches!(rule.condition, alert::Condition::CertExpiresWithin { .. }) {
                            due.extend(rule.checks.iter().cloned());
                        }
                    }
                    due
                }
            }
        };
        for samples in memory.samples.values_mut() {
            let old = samples.partition_point(|s| s.at_ms <= cut);
            let drop = old.min(samples.len().saturating_sub(AT_LEAST as usize));
            if drop > 0 {
                samples.drain(..drop);
            }
        }
        let rules: Vec<alert::Rule> = self
            .config
            .rules
            .iter()
            .filter_map(|rule| {
                let checks: Vec<String> = rule
                    .checks
                    .iter()
                    .filter(|c| due.contains(*c))
                    .cloned()
                    .collect();
                (!checks.is_empty()).then(|| alert::Rule {
                    checks,
                    ..rule.clone()
                })
            })
            .collect();
        let mut out = alert::evaluate(&Input {
            now_ms,
            rules: &rules,
            results: &memory.samples,
            previous: &memory.states,
            dependencies: &memory.dependencies,
            maintenance: &self.config.maintenance,
            dashboard: self.config.dashboard_url.as_deref(),
        });
        let changed: BTreeMap<alert::Key, alert::AlertState> = out
            .states
            .into_iter()
            .filter(|(key, state)| memory.states.get(key) != Some(state))
            .collect();
        // The fold of a notice lists every firing alert folded into its check, judged this round or not.
        if out
            .notifications
            .iter()
            .any(|n| n.kind != alert::NoticeKind::Resolved)
        {
            let mut all: BTreeMap<&alert::Key, &alert::AlertState> = memory
                .states
                .iter()
                .filter(|(key, _)| memory.keys.contains(*key))
                .collect();
            all.extend(changed.iter());
            for notification in &mut out.notifications {
                if notification.kind == alert::NoticeKind::Resolved {
                    continue;
                }
                notification.folded = all
                    .iter()
                    .filter(|(_, s)| {
                        s.firing && s.folded_into.as_deref() == Some(&notification.check)
                    })
                    .map(|((rule, check), _)| format!("{rule} on {check}"))
                    .collect();
            }
        }
        self.store
            .commit_evaluation(&changed, &out.notifications, now_ms)
            .await?;
        memory.states.extend(changed);
        memory.fresh.clear();
        memory.last_ms = Some(now_ms);
        Ok(out.notifications.len())
    }

    /// Folds raw results past the retention period into hourly aggregates, then drops the aggregates past
    /// theirs (when they are not kept for ever).
    async fn retain(&self, now_ms: i64) {
        if let Err(error) = self
            .store
            .downsample(self.config.retention_cutoff(now_ms))
            .await
        {
            eprintln!("monitor: retention: {error}");
        }
        if let Some(cutoff) = self.config.hourly_cutoff(now_ms)
            && let Err(error) = self.store.delete_hourly_before(cutoff).await
        {
            eprintln!("monitor: retention of hourly aggregates: {error}");
        }
    }

    async fn deliver_logged(&self) {
        match self.deliver().await {
            Ok((_, errors)) => {
                for error in errors {
                    eprintln!("monitor: {error}");
                }
            }
            Err(error) => eprintln!("monitor: delivery: {error}"),
        }
    }

    /// The shortest interval any check has now.
    fn shortest_interval(&self) -> Duration {
        let now = crate::now_ms();
        self.checks
            .iter()
            .map(|c| self.config.schedule_for(&c.id).interval_at(now))
            .min()
            .unwrap_or(Duration::from_secs(60))
    }

    /// Several nodes, one PostgreSQL: claim due slots, run them under renewed leases, store each result with its
    /// slot; evaluate and deliver while holding the evaluator lease; fold old results while holding the
    /// retention lease. A clean stop hands back this node's slots and leases at once.
    async fn run_shared(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let shortest = self.shortest_interval();
        let mut tasks = tokio::task::JoinSet::new();
        let monitor = self.clone();
        tasks.spawn(async move { monitor.claim_loop(shortest).await });
        let monitor = self.clone();
        tasks.spawn(async move { monitor.evaluator_loop(shortest).await });
        let monitor = self.clone();
        tasks.spawn(async move {
            loop {
                let now = crate::now_ms();
                match monitor
                    .store
                    .acquire_lease(RETENTION, &monitor.node.name, now, 2 * 3_600_000)
                    .await
                {
                    Ok(true) => monitor.retain(now).await,
                    Ok(false) => {}
                    Err(error) => eprintln!("monitor: retention lease: {error}"),
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
        stop.await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let name = &self.node.name;
        if let Err(error) = self.store.release_claims(name).await {
            eprintln!("monitor: releasing checks: {error}");
        }
        for lease in [EVALUATOR, RETENTION] {
            if let Err(error) = self.store.release_lease(lease, name).await {
                eprintln!("monitor: releasing the {lease} lease: {error}");
            }
        }
    }

    /// Makes sure every check has a slot in this node's region (first slots spread over the jitter fraction of
    /// the interval, so checks do not fire in lockstep), then claims due slots until aborted.
    async fn claim_loop(self: Arc<Self>, shortest: Duration) {
        let poll = self.cluster.poll.unwrap_or_else(|| {
            (shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
        });
        let ids: Vec<String> = self.checks.iter().map(|c| c.id.clone()).collect();
        let permits = Arc::new(tokio::sync::Semaphore::new(
            self.cluster.max_in_flight.max(1),
        ));
        let mut running = tokio::task::JoinSet::new();
        let mut scheduled = false;
        loop {
            if !scheduled {
                let now = crate::now_ms();
                let rows: Vec<(String, i64, i64)> = self
                    .checks
                    .iter()
                    .map(|check| {
                        let schedule = self.config.schedule_for(&check.id);
                        let interval = schedule.interval_at(now).as_millis() as i64;
                        let spread = schedule.jitter.clamp(0.0, 0.5) * rand::random::<f64>();
                        (
                            check.id.clone(),
                            interval,
                            now + (interval as f64 * spread) as i64,
                        )
                    })
                    .collect();
                match self.store.ensure_schedule(&self.node.region, &rows).await {
                    Ok(()) => scheduled = true,
                    Err(error) => eprintln!("monitor: schedule: {error}"),
                }
            }
            while running.try_join_next().is_some() {}
            let free = permits.available_permits();
            if scheduled && free > 0 {
                let claims = self
                    .store
                    .claim_due(
                        &self.node.name,
                        &self.node.region,
                        &ids,
                        crate::now_ms(),
                        free as i64,
                    )
                    .await;
                match claims {
                    Ok(claims) => {
                        for claim in claims {
                            let Ok(permit) = permits.clone().try_acquire_owned() else {
                                break;
                            };
                            let monitor = self.clone();
                            running.spawn(async move {
                                monitor.run_claim(claim).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(error) => eprintln!("monitor: claiming checks: {error}"),
                }
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Runs a claimed slot while renewing its lease (a third of the interval at a time), then stores the result
    /// and moves the slot on, unless another node took the slot over meanwhile.
    async fn run_claim(&self, claim: Claim) {
        let Some(check) = self.checks.iter().find(|c| c.id == claim.check) else {
            return;
        };
        let started = crate::now_ms();
        self.record_lag(claim.due_ms, started);
        let run = checks::run_with_steps(check, &self.net, &self.flows, &self.journeys, started);
        tokio::pin!(run);
        let renew_every = Duration::from_millis((claim.interval_ms / 3).max(50) as u64);
        let mut results = loop {
            tokio::select! {
                results = &mut run => break results,
                () = tokio::time::sleep(renew_every) => {
                    match self.store.renew(&claim, &self.node.name, crate::now_ms()).await {
                        Ok(true) => {}
                        Ok(false) => {
                            eprintln!("monitor: {}: another node took the slot over", claim.check);
                            return;
                        }
                        Err(error) => eprintln!("monitor: {}: renewing the lease: {error}", claim.check),
                    }
                }
            }
        };
        let interval = self
            .config
            .schedule_for(&check.id)
            .interval_at(claim.due_ms)
            .as_millis() as i64;
        let next = NextSlot::after(
            claim.due_ms,
            interval,
            crate::now_ms(),
            self.cluster.catch_up,
        );
        if results.is_empty() {
            results.push(CheckResult::new(&check.id, started));
        }
        let steps = results.split_off(1);
        match self
            .store
            .complete(&claim, &self.node.name, &results[0], next)
            .await
        {
            Ok(true) => {
                // A journey's steps follow its own result, recorded for the same slot.
                let meta = RunMeta {
                    node: self.node.name.clone(),
                    region: claim.region.clone(),
                    due_ms: Some(claim.due_ms),
                };
                for step in &steps {
                    if let Err(error) = self.store.insert_run(step, &meta).await {
                        eprintln!("monitor: {}: {error}", step.check);
                    }
                }
            }
            Ok(false) => eprintln!(
                "monitor: {}: the slot was taken over before its result was stored; the new holder's counts",
                claim.check
            ),
            Err(error) => eprintln!("monitor: {}: {error}", claim.check),
        }
    }

    /// While this node holds the evaluator lease: evaluate (committed only under the lease) and deliver.
    async fn evaluator_loop(self: Arc<Self>, shortest: Duration) {
        let every = self
            .cluster
            .evaluate_every
            .unwrap_or_else(|| shortest.clamp(Duration::from_secs(1), Duration::from_secs(10)));
        let ttl = 3 * every.as_millis() as i64;
        let name = self.node.name.clone();
        loop {
            let now = crate::now_ms();
            match self.store.acquire_lease(EVALUATOR, &name, now, ttl).await {
                Ok(true) => {
                    match self.evaluate_fenced(now, Some((EVALUATOR, &name))).await {
                        Ok(Some(_)) => self.deliver_logged().await,
                        Ok(None) => {
                            eprintln!("monitor: the evaluator lease moved on mid-evaluation")
                        }
                        Err(error) => eprintln!("monitor: alerts: {error}"),
                    }
                    if let Err(error) = self.store.lease_round(EVALUATOR, &name).await {
                        eprintln!("monitor: evaluator lease: {error}");
                    }
                }
                Ok(false) => {}
                Err(error) => eprintln!("monitor: evaluator lease: {error}"),
            }
            tokio::time::sleep(every).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Condition, Maintenance, NoticeKind, Notification, Rule};
    use crate::config::{Schedule, default_rules};
    use launchready_manifest::RouteKind;
    use launchready_net::NetConfig;

    const T0: i64 = 1_000_000_000_000;
    const MINUTE: i64 = 60_000;

    fn http(id: &str, parents: &[&str]) -> Check {
        Check {
            id: id.into(),
            kind: CheckKind::Http {
                url: url::Url::parse("https://example.test/").unwrap(),
                expect_status: 200,
                route_kind: RouteKind::Other,
            },
            critical: true,
            parents: parents.iter().map(|p| p.to_string()).collect(),
        }
    }

    async fn monitor(dir: &std::path::Path, name: &str, checks: &[Check]) -> Monitor {
        let mut rules = default_rules(checks, &[], "ops");
        rules.push(Rule {
            name: "down twice".into(),
            checks: vec!["route:b".into()],
            condition: Condition::ConsecutiveFailures { n: 2 },
            owner: "ops".into(),
            channels: vec!["log".into()],
            remind_every: Some(Duration::from_secs(250)),
            first_step: "look".into(),
        });
        rules.push(Rule {
            name: "errors over 5m".into(),
            checks: vec!["route:a".into()],
            condition: Condition::ErrorRateAbove {
                ratio: 0.2,
                window: Duration::from_secs(300),
                min_samples: 3,
            },
            owner: "ops".into(),
            channels: vec!["log".into()],
            remind_every: None,
            first_step: "look".into(),
        });
        let config = MonitorConfig {
            schedule: Schedule::default(),
            schedules: HashMap::new(),
            rules,
            channels: Vec::new(),
            maintenance: vec![Maintenance {
                start_ms: T0 + 18 * MINUTE + 5_000,
                end_ms: T0 + 24 * MINUTE + 5_000,
                checks: vec!["route:a".into()],
                reason: "deploy".into(),
            }],
            database: dir.join(name),
            dashboard_url: None,
            owner: "ops".into(),
            retention: crate::store::DEFAULT_RETENTION,
            hourly_retention: None,
            steps: Vec::new(),
        };
        let store = Store::open(&dir.join(name)).await.unwrap();
        let net = Arc::new(Net::new(NetConfig::default()).unwrap());
        Monitor::new(
            config,
            checks.to_vec(),
            store,
            net.clone(),
            net,
            FlowContext::default(),
        )
        .unwrap()
    }

    /// Minute `m`'s result of `check`: the landing page down in minutes 10–13, route:a slow from 5 to 25 and
    /// failing from 20 to 22 (inside its maintenance window), route:b failing in 8–15 and 30–35.
    fn result(check: &str, m: i64) -> CheckResult {
        let offset = match check {
            "landing" => 1_000,
            "route:a" => 2_500,
            _ => 7_000,
        };
        let mut r = CheckResult::new(check, T0 + m * MINUTE + offset);
        let (ok, ms) = match check {
            "landing" => (!(10..14).contains(&m), 80.0),
            "route:a" => (
                !(20..23).contains(&m),
                if (5..25).contains(&m) { 900.0 } else { 120.0 },
            ),
            _ => (
                !(8..16).contains(&m) && !(30..36).contains(&m),
                // Ever faster: the window's p95 is its oldest sample, so it moves when that one leaves.
                200.0 - 2.0 * m as f64,
            ),
        };
        r.ok = ok;
        r.duration_ms = ms;
        if !ok {
            r.error = Some(format!("{check} failed in minute {m}"));
        }
        r
    }

    /// Judging only what changed, from memory, commits exactly what judging everything from the database does,
    /// round after round: the same states and the same notices (firing, folded, silenced, reminders, resolved).
    #[tokio::test]
    async fn judging_what_changed_equals_judging_everything() {
        let dir = tempfile::tempdir().unwrap();
        let checks = vec![
            http("landing", &[]),
            http("route:a", &["landing"]),
            // No parent: only its own results and its windows sliding move its verdicts.
            http("route:b", &[]),
        ];
        let changed = monitor(dir.path(), "changed.db", &checks).await;
        let everything = monitor(dir.path(), "everything.db", &checks).await;
        let mut memory = changed.load_memory(T0).await.unwrap();
        let mut results: Vec<CheckResult> = (0..70)
            .flat_map(|m| ["landing", "route:a", "route:b"].map(|c| result(c, m)))
            // route:a goes quiet after minute 27, so only its windows sliding can move its verdicts; route:b
            // reports every other minute, so its reminders fall between its results.
            .filter(|r| match r.check.as_str() {
                "route:a" => r.at_ms < T0 + 28 * MINUTE,
                "route:b" => (r.at_ms - T0) / MINUTE % 2 == 0,
                _ => true,
            })
            .collect();
        results.sort_by_key(|r| r.at_ms);
        let mut next = 0;
        let mut notices = 0;
        for tick in 1..=70 * 6 {
            let now = T0 + tick * 10_000;
            let upto = results[next..].partition_point(|r| r.at_ms <= now) + next;
            let fresh: Vec<(CheckResult, RunMeta)> = results[next..upto]
                .iter()
                .map(|r| (r.clone(), RunMeta::default()))
                .collect();
            next = upto;
            if !fresh.is_empty() {
                changed.store.insert_runs(&fresh).await.unwrap();
                everything.store.insert_runs(&fresh).await.unwrap();
                memory.append(fresh.into_iter().map(|(r, _)| r).collect());
            }
            changed.evaluate_changed(&mut memory, now).await.unwrap();
            everything.evaluate(now).await.unwrap();
            assert_eq!(
                changed.store.states().await.unwrap(),
                everything.store.states().await.unwrap(),
                "states at tick {tick}"
            );
            let sent = |rows: Vec<crate::store::OutboxRow>| -> Vec<Notification> {
                rows.into_iter().map(|r| r.notification).collect()
            };
            let a = sent(changed.store.pending().await.unwrap());
            let b = sent(everything.store.pending().await.unwrap());
            assert_eq!(a, b, "notices at tick {tick}");
            notices = a.len();
        }
        // The scenario does exercise the engine: firing, folding, reminders and resolutions.
        let kinds: Vec<NoticeKind> = changed
            .store
            .pending()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.notification.kind)
            .collect();
        assert!(notices >= 6, "{kinds:?}");
        assert!(kinds.contains(&NoticeKind::Reminder), "{kinds:?}");
        assert!(kinds.contains(&NoticeKind::Resolved), "{kinds:?}");
    }
}
