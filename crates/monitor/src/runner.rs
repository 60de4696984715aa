//! The I/O shell around the pure parts: runs checks on their schedule (each in its own task, so a slow check
//! delays only itself and never overlaps itself), stores every result before anything else happens, evaluates
//! the alert rules on what is stored, and delivers the outbox.

use crate::alert::{self, Input};
use crate::channels::{self, Env};
use crate::checks::{self, Check, CheckKind, CheckResult, FlowContext};
use crate::config::MonitorConfig;
use crate::store::{Store, StoreError};
use launchready_flow::FlowFile;
use launchready_net::Net;
use std::collections::HashMap;
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

/// A configured monitor.
pub struct Monitor {
    pub config: MonitorConfig,
    pub checks: Vec<Check>,
    pub store: Store,
    net: Arc<Net>,
    channel_net: Arc<Net>,
    flows: HashMap<String, FlowFile>,
    context: FlowContext,
    env: Box<EnvFn>,
    /// Evaluations and deliveries run one at a time.
    evaluating: Mutex<()>,
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
            context,
            env: Box::new(|name| std::env::var(name).ok()),
            evaluating: Mutex::new(()),
        })
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
        let result = checks::run(
            check,
            &self.net,
            &self.flows,
            &self.context,
            crate::now_ms(),
        )
        .await;
        self.store.insert_result(&result).await?;
        Ok(result)
    }

    /// Evaluates every rule at `now_ms` on the stored results, commits state and outbox together, and returns
    /// the number of new notifications.
    pub async fn evaluate(&self, now_ms: i64) -> Result<usize, MonitorError> {
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
        for check in &self.checks {
            let rows = self.store.results(&check.id, since, 50).await?;
            results.insert(
                check.id.clone(),
                rows.iter().map(CheckResult::sample).collect(),
            );
        }
        let previous = self.store.states().await?;
        let dependencies = MonitorConfig::dependencies(&self.checks);
        let out = alert::evaluate(&Input {
            now_ms,
            rules: &self.config.rules,
            results: &results,
            previous: &previous,
            dependencies: &dependencies,
            maintenance: &self.config.maintenance,
            dashboard: self.config.dashboard_url.as_deref(),
        });
        self.store
            .commit_evaluation(&out.states, &out.notifications, now_ms)
            .await?;
        Ok(out.notifications.len())
    }

    /// Sends every undelivered outbox row; a failure stays in the outbox for the next round.
    pub async fn deliver(&self) -> Result<(usize, Vec<String>), MonitorError> {
        let _one = self.evaluating.lock().await;
        let mut delivered = 0;
        let mut errors = Vec::new();
        let env: Env<'_> = &*self.env;
        for row in self.store.pending().await? {
            let Some(channel) = self.channel(&row.channel) else {
                let message = format!("channel `{}` is not configured", row.channel);
                self.store.mark_failed(row.id, &message).await?;
                errors.push(message);
                continue;
            };
            match channels::send(&channel, &row.notification, &self.channel_net, env).await {
                Ok(()) => {
                    self.store.mark_delivered(row.id, crate::now_ms()).await?;
                    delivered += 1;
                }
                Err(error) => {
                    self.store.mark_failed(row.id, &error.to_string()).await?;
                    errors.push(error.to_string());
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

    /// Runs until `stop` resolves. Each check waits a random part of its first interval before its first run.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut tasks = tokio::task::JoinSet::new();
        for check in self.checks.clone() {
            let monitor = self.clone();
            tasks.spawn(async move {
                let schedule = monitor.config.schedule_for(&check.id).clone();
                let first = schedule
                    .interval_at(crate::now_ms())
                    .mul_f64(schedule.jitter.clamp(0.0, 0.5) * rand::random::<f64>());
                tokio::time::sleep(first).await;
                loop {
                    // The next run is scheduled after this one ends, so a check never overlaps itself.
                    if let Err(error) = monitor.run_check(&check).await {
                        eprintln!("monitor: {}: {error}", check.id);
                    }
                    if let Err(error) = monitor.evaluate(crate::now_ms()).await {
                        eprintln!("monitor: alerts: {error}");
                    }
                    match monitor.deliver().await {
                        Ok((_, errors)) => {
                            for error in errors {
                                eprintln!("monitor: {error}");
                            }
                        }
                        Err(error) => eprintln!("monitor: delivery: {error}"),
                    }
                    let wait = schedule.next_wait(crate::now_ms(), rand::random::<f64>());
                    tokio::time::sleep(wait).await;
                }
            });
        }
        // Raw results older than the retention period become hourly aggregates, checked every hour.
        let monitor = self.clone();
        tasks.spawn(async move {
            loop {
                let cutoff = crate::now_ms() - monitor.config.retention.as_millis() as i64;
                if let Err(error) = monitor.store.downsample(cutoff).await {
                    eprintln!("monitor: retention: {error}");
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
        stop.await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}
