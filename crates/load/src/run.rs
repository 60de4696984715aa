//! The run: a scheduler starts iterations (producers) at their intended instants; each takes an idle virtual
//! user (an `Engine` with its own kept connections), runs one flow with a fresh cookie jar and its own variables,
//! measures it and sends one sample to the single aggregator, which alone folds samples into histograms,
//! publishes the live view and judges `abortOnFail` thresholds. Nobody both measures and aggregates.

use crate::fast::{self, FastFlow};
use crate::plan::{
    LoadPlan, Model, flow_name, host_allowed, iteration_vars, step_matches, step_names,
};
use crate::report::{Iterations, LoadReport, ModelInfo};
use crate::stats::{ErrorKind, IterationSample, Second, Series, StepSample, histogram, micros, ms};
use crate::thresholds::{Scope, Threshold};
use hdrhistogram::Histogram;
use launchready_findings::facts::NetErrorKind;
use launchready_flow::{Engine, FlowResult, Status};
use launchready_net::Net;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

/// Stops a run (Ctrl-C, a failed `abortOnFail` threshold, a refused host); the first reason is kept.
#[derive(Debug, Clone)]
pub struct Stop(Arc<watch::Sender<Option<String>>>, Arc<AtomicBool>);

impl Default for Stop {
    fn default() -> Self {
        Stop(
            Arc::new(watch::channel(None).0),
            Arc::new(AtomicBool::new(false)),
        )
    }
}

impl Stop {
    pub fn stop(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
        self.1.store(true, Ordering::Relaxed);
    }

    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Whether a stop was asked for: a plain load, cheap enough for every iteration of every user.
    pub fn is_stopped(&self) -> bool {
        self.1.load(Ordering::Relaxed)
    }

    pub async fn stopped(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

/// The live view's figures, published about four times a second.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub elapsed: Duration,
    pub planned: Option<u64>,
    pub started: u64,
    pub completed: u64,
    pub in_flight: usize,
    /// Requests completed in the last second.
    pub rate: f64,
    /// Corrected p95 of every request so far, in ms.
    pub p95_ms: f64,
    pub errors: u64,
    /// Iterations that had to wait for an in-flight slot.
    pub waited_for_slot: u64,
}

/// A virtual user: an engine whose connections are kept between its iterations, made when a flow needs it, and
/// for flows on the fast path, one kept connection each.
struct Vu {
    engine: Option<Engine<'static>>,
    conns: Vec<Option<fast::Conn>>,
}

/// Samples of fast-path iterations, sent to the aggregator in batches rather than one message per request.
#[derive(Default)]
struct Batch {
    steps: Vec<StepSample>,
    iterations: Vec<FastDone>,
    since: Option<Instant>,
}

/// One fast-path iteration, for the flow's series and the iteration counts.
struct FastDone {
    flow: usize,
    latency: Duration,
    delay: Duration,
    failed: bool,
    answered: bool,
}

impl Batch {
    /// Full enough, or old enough that the live view and the per-second chart would lag.
    fn due(&self) -> bool {
        self.steps.len() >= 512 || self.since.is_some_and(|t| t.elapsed() >= BATCH_AGE)
    }

    fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.iterations.is_empty()
    }

    fn take(&mut self) -> Batch {
        std::mem::take(self)
    }
}

/// How long a virtual user holds samples before handing them to the aggregator.
const BATCH_AGE: Duration = Duration::from_millis(50);

/// What the aggregator receives.
enum Msg {
    Iteration(IterationSample),
    Batch(Batch),
}

struct Shared {
    net: &'static Net,
    plan: LoadPlan,
    /// `step_ids[flow][entry]`.
    step_ids: Vec<Vec<usize>>,
    /// Per flow, its fast form when it has one.
    fast: Vec<Option<FastFlow>>,
    env: fast::Env,
    idle: Mutex<Vec<Vu>>,
    vus: AtomicUsize,
    in_flight: AtomicUsize,
    started: AtomicU64,
    waited: AtomicU64,
}

impl Shared {
    fn new_vu(&self) -> Vu {
        self.vus.fetch_add(1, Ordering::Relaxed);
        Vu {
            engine: None,
            conns: self.fast.iter().map(|_| None).collect(),
        }
    }

    fn engine(&self) -> Engine<'static> {
        let mut engine = Engine::new(self.net, self.plan.options.clone());
        for (scheme, make) in &self.plan.backends {
            engine = engine.with_backend(scheme, make());
        }
        engine
    }

    fn take_vu(&self) -> Vu {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        idle.unwrap_or_else(|| self.new_vu())
    }

    fn give_back(&self, vu: Vu) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(vu);
        }
    }

    /// Runs iteration `n`, meant to start at `intended`, on `vu` and measures it: a fast-path iteration goes
    /// into `batch`, an engine iteration comes back as its sample.
    async fn iteration(
        &self,
        vu: &mut Vu,
        n: u64,
        intended: Instant,
        batch: &mut Batch,
    ) -> Option<IterationSample> {
        let flow = (n % self.plan.files.len() as u64) as usize;
        if let Some(fast) = self.fast[flow].as_ref().filter(|f| f.is_armed()) {
            let started = Instant::now();
            let delay = started.saturating_duration_since(intended);
            let done = fast::iterate(
                fast,
                &mut vu.conns[flow],
                &self.env,
                delay,
                &mut batch.steps,
            )
            .await;
            batch.iterations.push(FastDone {
                flow,
                latency: done.latency,
                delay,
                failed: done.failed,
                answered: done.answered,
            });
            batch.since.get_or_insert(started);
            // Its kept connections are of no use once every flow runs on the fast path.
            if vu.engine.is_some()
                && self
                    .fast
                    .iter()
                    .all(|f| f.as_ref().is_some_and(FastFlow::is_armed))
            {
                vu.engine = None;
            }
            return None;
        }
        let mut vars = iteration_vars(&self.plan.variables, &self.plan.rows, n);
        let engine = vu.engine.get_or_insert_with(|| self.engine());
        let started = Instant::now();
        let delay = started.saturating_duration_since(intended);
        let result = engine.run(&self.plan.files[flow], &mut vars).await;
        let latency = started.elapsed();
        if let Some(fast) = &self.fast[flow] {
            fast.arm_from(&result);
        }
        Some(self.sample(flow, &result, latency, delay))
    }

    fn sample(
        &self,
        flow: usize,
        result: &FlowResult,
        latency: Duration,
        delay: Duration,
    ) -> IterationSample {
        let mut steps = Vec::with_capacity(result.entries.len());
        let mut answered = false;
        let mut refused_host = None;
        for entry in &result.entries {
            if entry.status == Status::Skipped {
                continue;
            }
            let Some(step) = self.step_ids[flow]
                .get(entry.index.wrapping_sub(1))
                .copied()
            else {
                continue;
            };
            let mut sent = 0u64;
            let mut received = 0u64;
            let mut took = 0.0f64;
            for x in &entry.exchanges {
                answered = true;
                took += x.timings.total_ms;
                // Other schemes (mailbox://) go to their backends, not to a load target.
                if let Ok(url) = url::Url::parse(&x.url)
                    && matches!(url.scheme(), "http" | "https")
                    && let Some(host) = url.host_str()
                    && !host_allowed(host, &self.plan.allowed_hosts)
                {
                    refused_host = Some(host.to_string());
                }
                // Approximate wire size: request line, the flow's headers and the body; status line, headers, body.
                sent += (x.method.len() + x.url.len() + 12) as u64
                    + head_size(&x.request_headers)
                    + x.request_body_bytes as u64
                    + 2;
                received += 17 + head_size(&x.response_headers) + x.body_bytes as u64 + 2;
            }
            let latency = if entry.exchanges.is_empty() {
                Duration::from_millis(entry.duration_ms)
            } else {
                Duration::from_secs_f64(took.max(0.0) / 1000.0)
            };
            let status = entry.exchanges.last().map(|x| x.status);
            let error = match (entry.error_kind, entry.transport_error) {
                (Some(NetErrorKind::Dns | NetErrorKind::Refused), _) => Some(ErrorKind::Connect),
                (Some(NetErrorKind::Tls), _) => Some(ErrorKind::Tls),
                (Some(NetErrorKind::Timeout), _) => Some(ErrorKind::Timeout),
                (Some(NetErrorKind::Io | NetErrorKind::Protocol), _) | (None, true) => {
                    Some(ErrorKind::Io)
                }
                (None, false) if status.is_some_and(|s| s >= 500) => Some(ErrorKind::ServerError),
                (None, false) if entry.status == Status::Failed => Some(ErrorKind::AssertFailed),
                _ => None,
            };
            steps.push(StepSample {
                step,
                latency,
                delay,
                status,
                error,
                sent,
                received,
            });
        }
        IterationSample {
            flow,
            latency,
            delay,
            failed: !result.passed(),
            answered,
            steps,
            refused_host,
        }
    }
}

/// Runs the plan on `net` until the schedule ends or `stop` fires, publishing the live view on `live`.
/// The network layer lives as long as the process: iterations run on tasks of their own.
pub async fn run(
    plan: LoadPlan,
    net: &'static Net,
    stop: Stop,
    live: Option<watch::Sender<Live>>,
) -> LoadReport {
    let mut step_names_all: Vec<String> = Vec::new();
    let mut step_ids = Vec::new();
    for file in &plan.files {
        let ids = step_names(file)
            .into_iter()
            .map(
                |name| match step_names_all.iter().position(|n| *n == name) {
                    Some(i) => i,
                    None => {
                        step_names_all.push(name);
                        step_names_all.len() - 1
                    }
                },
            )
            .collect();
        step_ids.push(ids);
    }
    let flow_names: Vec<String> = plan.files.iter().map(flow_name).collect();
    let model = plan.model.clone();
    let thresholds = plan.thresholds.clone();
    let grace = plan.grace;
    let (fast, env) = fast_flows(&plan, &step_ids, net);
    let shared = Arc::new(Shared {
        net,
        plan,
        step_ids,
        fast,
        env,
        idle: Mutex::new(Vec::new()),
        vus: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        started: AtomicU64::new(0),
        waited: AtomicU64::new(0),
    });
    let (tx, rx) = mpsc::channel::<Msg>(4096);
    let begun = Instant::now();
    let started_at = time::OffsetDateTime::now_utc();
    let aggregator = Aggregator::new(&step_names_all, &flow_names, thresholds.clone(), begun);
    let planned = match &model {
        Model::Open { schedule, .. } => Some(schedule.total()),
        Model::Closed { .. } => None,
    };
    let agg_task = tokio::spawn(aggregator.run(rx, stop.clone(), live, shared.clone(), planned));

    let mut tasks = JoinSet::new();
    let mut waits = SlotWaits::default();
    let mut not_started = 0u64;
    match &model {
        Model::Open {
            schedule,
            max_in_flight,
        } => {
            let slots = Arc::new(Semaphore::new((*max_in_flight).max(1)));
            let end = begun + schedule.duration();
            let mut n = 0u64;
            while let Some(offset) = schedule.arrival(n) {
                let intended = begun + offset;
                tokio::select! {
                    _ = tokio::time::sleep_until(intended.into()) => {}
                    _ = stop.stopped() => break,
                }
                let permit = match slots.clone().try_acquire_owned() {
                    Ok(permit) => permit,
                    Err(_) => {
                        let waited = Instant::now();
                        let permit = tokio::select! {
                            permit = slots.clone().acquire_owned() => permit,
                            _ = stop.stopped() => break,
                        };
                        waits.record(waited.elapsed());
                        shared.waited.fetch_add(1, Ordering::Relaxed);
                        match permit {
                            Ok(permit) => permit,
                            Err(_) => break,
                        }
                    }
                };
                // A generator that has fallen this far behind is no longer running the schedule asked for.
                if Instant::now() > end + grace {
                    stop.stop(format!(
                        "the generator fell more than {} behind the schedule (raise --max-in-flight or lower the rate)",
                        humantime::format_duration(grace)
                    ));
                    break;
                }
                while tasks.try_join_next().is_some() {}
                let shared = shared.clone();
                let tx = tx.clone();
                shared.started.fetch_add(1, Ordering::Relaxed);
                shared.in_flight.fetch_add(1, Ordering::Relaxed);
                tasks.spawn(async move {
                    let mut vu = shared.take_vu();
                    let mut batch = Batch::default();
                    let sample = shared.iteration(&mut vu, n, intended, &mut batch).await;
                    shared.give_back(vu);
                    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                    let msg = match sample {
                        Some(sample) => Msg::Iteration(sample),
                        None => Msg::Batch(batch),
                    };
                    let _ = tx.send(msg).await;
                    drop(permit);
                });
                n += 1;
            }
            not_started = schedule.total().saturating_sub(n);
        }
        Model::Closed { vus, duration } => {
            let end = begun + *duration;
            let next = Arc::new(AtomicU64::new(0));
            // Like wrk's threads, users run on one single-threaded runtime per core, each polling its own
            // sockets: a response wakes its user on the thread that reads it, with no hand-over between workers.
            let vus = (*vus).max(1);
            let lanes = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .clamp(1, vus);
            for lane in 0..lanes {
                let users = vus / lanes + usize::from(lane < vus % lanes);
                let (shared, tx, lane_stop, next) =
                    (shared.clone(), tx.clone(), stop.clone(), next.clone());
                // Dropping `cancel` (the run's grace ran out) ends the lane's users.
                let (cancel, mut cancelled) = watch::channel(());
                let (done, finished) = tokio::sync::oneshot::channel::<()>();
                let lane_thread = std::thread::Builder::new()
                    .name(format!("load-lane-{lane}"))
                    .spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build();
                        if let Ok(runtime) = runtime {
                            runtime.block_on(async move {
                                let mut users_set = JoinSet::new();
                                for _ in 0..users {
                                    users_set.spawn(closed_user(
                                        shared.clone(),
                                        tx.clone(),
                                        lane_stop.clone(),
                                        next.clone(),
                                        end,
                                    ));
                                }
                                drop(tx);
                                tokio::select! {
                                    _ = async { while users_set.join_next().await.is_some() {} } => {}
                                    _ = cancelled.changed() => {}
                                }
                            });
                        }
                        let _ = done.send(());
                    });
                if let Err(e) = lane_thread {
                    stop.stop(format!("cannot start a thread for the virtual users: {e}"));
                    break;
                }
                tasks.spawn(async move {
                    let _cancel = cancel;
                    let _ = finished.await;
                });
            }
            tokio::select! {
                _ = tokio::time::sleep_until(end.into()) => {}
                _ = stop.stopped() => {}
            }
        }
    }
    drop(tx);
    // Iterations in flight may finish within the grace period; the rest are cut off and counted, not measured.
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    let cut_off = if drained.is_err() {
        let left = shared.in_flight.load(Ordering::Relaxed) as u64;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        left
    } else {
        0
    };
    let folded = match agg_task.await {
        Ok(folded) => folded,
        Err(_) => Folded::empty(&step_names_all, &flow_names, begun),
    };
    let elapsed = begun.elapsed().as_secs_f64();
    let iterations = Iterations {
        planned,
        started: shared.started.load(Ordering::Relaxed),
        completed: folded.completed,
        failed: folded.failed_iterations,
        not_started,
        cut_off,
        waited_for_slot: waits.count,
        longest_slot_wait_ms: waits.longest.as_secs_f64() * 1000.0,
        vus: shared.vus.load(Ordering::Relaxed),
        fast_path: folded.fast_path,
    };
    let model_info = ModelInfo::of(&model);
    folded.into_report(
        model_info,
        started_at,
        elapsed,
        iterations,
        &thresholds,
        stop.reason(),
    )
}

/// Approximate wire size of header lines: `name: value` and CRLF each.
fn head_size(headers: &[(String, String)]) -> u64 {
    headers
        .iter()
        .map(|(n, v)| (n.len() + v.len() + 4) as u64)
        .sum()
}

/// One user of the closed model: the next iteration starts when the last one ends, on the user's own connection,
/// with samples handed over in batches.
async fn closed_user(
    shared: Arc<Shared>,
    tx: mpsc::Sender<Msg>,
    stop: Stop,
    next: Arc<AtomicU64>,
    end: Instant,
) {
    let mut vu = shared.new_vu();
    let mut batch = Batch::default();
    // Figures every user shares are touched once per block of iterations, not once per request: counters
    // written by users on every core would bounce between the cores' caches.
    const BLOCK: u64 = 64;
    let (mut n, mut block_end) = (0u64, 0u64);
    // In the closed model a user always has an iteration in flight until it stops; the guard also counts what
    // it started when the user is cut off at the end of the grace period.
    shared.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut counts = UserCounts {
        shared: shared.clone(),
        started: 0,
    };
    while Instant::now() < end && !stop.is_stopped() {
        if n == block_end {
            n = next.fetch_add(BLOCK, Ordering::Relaxed);
            block_end = n + BLOCK;
        }
        counts.started += 1;
        if counts.started == BLOCK {
            shared.started.fetch_add(BLOCK, Ordering::Relaxed);
            counts.started = 0;
        }
        // Closed model: the intended start is whenever this user got round to it.
        let sample = shared
            .iteration(&mut vu, n, Instant::now(), &mut batch)
            .await;
        n += 1;
        if let Some(sample) = sample
            && tx.send(Msg::Iteration(sample)).await.is_err()
        {
            break;
        }
        if batch.due() && tx.send(Msg::Batch(batch.take())).await.is_err() {
            break;
        }
    }
    drop(counts);
    if !batch.is_empty() {
        let _ = tx.send(Msg::Batch(batch)).await;
    }
}

/// A closed-model user's share of the shared counters, settled when the user ends or is cut off.
struct UserCounts {
    shared: Arc<Shared>,
    started: u64,
}

impl Drop for UserCounts {
    fn drop(&mut self) {
        self.shared
            .started
            .fetch_add(self.started, Ordering::Relaxed);
        self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Each flow's fast form, when the plan allows one, and what the fast path needs from the network layer.
fn fast_flows(
    plan: &LoadPlan,
    step_ids: &[Vec<usize>],
    net: &'static Net,
) -> (Vec<Option<FastFlow>>, fast::Env) {
    let in_flight = match &plan.model {
        Model::Open { max_in_flight, .. } => *max_in_flight,
        Model::Closed { vus, .. } => *vus,
    };
    let per_iteration: Vec<String> = plan
        .rows
        .iter()
        .flat_map(|row| row.iter().map(|(name, _)| name.clone()))
        .collect();
    // A --concurrency below the users would make the network layer queue requests; the fast path does not.
    let allowed = plan.fast_path && net.config().concurrency >= in_flight;
    let mut flows: Vec<Option<FastFlow>> = plan
        .files
        .iter()
        .zip(step_ids)
        .map(|(file, steps)| {
            allowed
                .then(|| {
                    FastFlow::of(
                        file,
                        steps,
                        &plan.variables,
                        &per_iteration,
                        &plan.options,
                        &net.config().user_agent,
                    )
                })
                .flatten()
        })
        .collect();
    let tls = if flows.iter().flatten().any(FastFlow::https) {
        match fast::tls_config(&net.config().ca_files) {
            Ok(config) => Some(config),
            Err(_) => {
                for flow in &mut flows {
                    if flow.as_ref().is_some_and(FastFlow::https) {
                        *flow = None;
                    }
                }
                None
            }
        }
    } else {
        None
    };
    (flows, fast::Env { net, tls })
}

#[derive(Debug, Default)]
struct SlotWaits {
    count: u64,
    longest: Duration,
}

impl SlotWaits {
    fn record(&mut self, waited: Duration) {
        self.count += 1;
        self.longest = self.longest.max(waited);
    }
}

/// The aggregator's state; it is the only place samples are folded.
struct Aggregator {
    folded: Folded,
    thresholds: Vec<Threshold>,
    second: u64,
    current: (Histogram<u64>, Histogram<u64>, u64, u64),
}

/// Everything the aggregator folded, handed back at the end.
pub(crate) struct Folded {
    pub begun: Instant,
    pub all: Series,
    pub steps: Vec<Series>,
    pub flows: Vec<Series>,
    pub timeline: Vec<Second>,
    pub completed: u64,
    pub failed_iterations: u64,
    /// Iterations that went over the fast path.
    pub fast_path: u64,
    pub answered: bool,
    pub refused_host: Option<String>,
}

impl Folded {
    /// Counts one finished iteration, from the engine or the fast path, into the totals and its flow's series.
    fn count_iteration(
        &mut self,
        flow: usize,
        latency: Duration,
        delay: Duration,
        failed: bool,
        answered: bool,
    ) {
        self.completed += 1;
        if failed {
            self.failed_iterations += 1;
        }
        self.answered |= answered;
        if let Some(series) = self.flows.get_mut(flow) {
            series.record(latency, delay);
            if failed {
                series.failed += 1;
            }
        }
    }

    fn empty(steps: &[String], flows: &[String], begun: Instant) -> Folded {
        Folded {
            begun,
            all: Series::new("all requests"),
            steps: steps.iter().map(|s| Series::new(s)).collect(),
            flows: flows.iter().map(|f| Series::new(f)).collect(),
            timeline: Vec::new(),
            completed: 0,
            failed_iterations: 0,
            fast_path: 0,
            answered: false,
            refused_host: None,
        }
    }

    /// The series a threshold's scope names (steps and flows of the same name merged).
    pub fn scoped(&self, scope: &Scope) -> Option<Series> {
        let pick = |list: &[Series], matches: &dyn Fn(&str) -> bool| {
            let mut merged: Option<Series> = None;
            for s in list.iter().filter(|s| matches(&s.name)) {
                match &mut merged {
                    Some(m) => m.merge(s),
                    None => merged = Some(s.clone()),
                }
            }
            merged
        };
        match scope {
            Scope::All => Some(self.all.clone()),
            Scope::Step(q) => pick(&self.steps, &|name| step_matches(name, q)),
            Scope::Flow(q) => pick(&self.flows, &|name| name == q),
        }
    }
}

impl Aggregator {
    fn new(
        steps: &[String],
        flows: &[String],
        thresholds: Vec<Threshold>,
        begun: Instant,
    ) -> Aggregator {
        Aggregator {
            folded: Folded::empty(steps, flows, begun),
            thresholds,
            second: 0,
            current: (histogram(), histogram(), 0, 0),
        }
    }

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Msg>,
        stop: Stop,
        live: Option<watch::Sender<Live>>,
        shared: Arc<Shared>,
        planned: Option<u64>,
    ) -> Folded {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_judged = Instant::now();
        let mut recent: std::collections::VecDeque<(Instant, u64)> =
            std::collections::VecDeque::new();
        loop {
            tokio::select! {
                sample = rx.recv() => {
                    let Some(msg) = sample else { break };
                    self.roll(&shared);
                    match msg {
                        Msg::Iteration(sample) => self.fold(sample, &stop),
                        Msg::Batch(batch) => self.fold_batch(batch),
                    }
                }
                _ = tick.tick() => {
                    self.roll(&shared);
                    let now = Instant::now();
                    recent.push_back((now, self.folded.all.count()));
                    while recent.len() > 5 { recent.pop_front(); }
                    if let Some(live) = &live {
                        let rate = match (recent.front(), recent.back()) {
                            (Some((t0, c0)), Some((t1, c1))) if t1 > t0 => (c1 - c0) as f64 / (*t1 - *t0).as_secs_f64(),
                            _ => 0.0,
                        };
                        let _ = live.send(Live {
                            elapsed: self.folded.begun.elapsed(),
                            planned,
                            started: shared.started.load(Ordering::Relaxed),
                            completed: self.folded.completed,
                            in_flight: shared.in_flight.load(Ordering::Relaxed),
                            rate,
                            p95_ms: if self.folded.all.count() > 0 { ms(self.folded.all.corrected.value_at_quantile(0.95)) } else { 0.0 },
                            errors: self.folded.all.failed,
                            waited_for_slot: shared.waited.load(Ordering::Relaxed),
                        });
                    }
                    if now.duration_since(last_judged) >= Duration::from_secs(1) {
                        last_judged = now;
                        self.judge_aborts(&stop);
                    }
                }
            }
        }
        self.roll_to(u64::MAX, &shared);
        self.folded
    }

    fn fold(&mut self, sample: IterationSample, stop: &Stop) {
        let f = &mut self.folded;
        f.count_iteration(
            sample.flow,
            sample.latency,
            sample.delay,
            sample.failed,
            sample.answered,
        );
        if let Some(host) = &sample.refused_host
            && f.refused_host.is_none()
        {
            f.refused_host = Some(host.clone());
            stop.stop(format!(
                "a request went to {host}, which is not an allowed host; the run was stopped"
            ));
        }
        for step in &sample.steps {
            self.fold_step(step);
        }
    }

    fn fold_step(&mut self, step: &StepSample) {
        let f = &mut self.folded;
        f.all.record_step(step);
        if let Some(series) = f.steps.get_mut(step.step) {
            series.record_step(step);
        }
        self.current
            .0
            .saturating_record(micros(step.latency + step.delay));
        self.current.1.saturating_record(micros(step.latency));
        self.current.2 += 1;
        if step.error.is_some() {
            self.current.3 += 1;
        }
    }

    fn fold_batch(&mut self, batch: Batch) {
        let f = &mut self.folded;
        for it in &batch.iterations {
            f.fast_path += 1;
            f.count_iteration(it.flow, it.latency, it.delay, it.failed, it.answered);
        }
        for step in &batch.steps {
            self.fold_step(step);
        }
    }

    /// Closes the seconds that have passed, for the latency-over-time chart.
    fn roll(&mut self, shared: &Shared) {
        let now = self.folded.begun.elapsed().as_secs();
        self.roll_to(now, shared);
    }

    fn roll_to(&mut self, now: u64, shared: &Shared) {
        let last = now == u64::MAX;
        while self.second < now {
            let (c, u, requests, errors) = &self.current;
            let q = |h: &Histogram<u64>, q: f64| {
                if h.is_empty() {
                    0.0
                } else {
                    ms(h.value_at_quantile(q))
                }
            };
            self.folded.timeline.push(Second {
                second: self.second,
                requests: *requests,
                errors: *errors,
                p50: q(c, 0.5),
                p95: q(c, 0.95),
                p99: q(c, 0.99),
                max: if c.is_empty() { 0.0 } else { ms(c.max()) },
                p95_uncorrected: q(u, 0.95),
                in_flight: shared.in_flight.load(Ordering::Relaxed),
            });
            self.current.0.reset();
            self.current.1.reset();
            self.current.2 = 0;
            self.current.3 = 0;
            self.second += 1;
            if last {
                break;
            }
        }
    }

    fn judge_aborts(&self, stop: &Stop) {
        for t in self.thresholds.iter().filter(|t| t.abort_on_fail) {
            let series = self.folded.scoped(&t.scope);
            // Judged only once the scope has samples: an empty start is not a failure yet.
            if series.as_ref().is_some_and(|s| s.count() > 0) {
                let outcome = t.evaluate(series.as_ref());
                if !outcome.passed {
                    stop.stop(format!(
                        "threshold `{}` failed (actual {}) and aborts the run",
                        t.source, outcome.actual
                    ));
                }
            }
        }
    }
}
