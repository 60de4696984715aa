//! The multi-turn runner: plays each attempt's turns in order against the assistant, keeping the conversation,
//! within a request budget, a per-request timeout and a pause between requests (every probe costs the user
//! money), then judges the transcript with the detectors and, for quiet cases only, the optional judge model.

use crate::detect::{Detectors, Hit};
use crate::judge::Judge;
use crate::probes::{self, Expect, Family};
use crate::template::{Endpoint, Message, Reply, ToolCall};
use launchready_manifest::Ai;
use launchready_net::Net;
use serde::Serialize;
use std::time::Duration;

/// How far a run may go.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests at most, judge requests included. Attempts that cannot finish within it are not started.
    pub max_requests: u32,
    /// Per request, on top of the network layer's own timeouts.
    pub timeout: Duration,
    /// Pause before every request but the first.
    pub delay: Duration,
    /// Only these families (ids); empty means all.
    pub families: Vec<String>,
    /// Ask the manifest's judge model about quiet cases.
    pub judge: bool,
    /// Name used for the member in other-member probes when the manifest gives none.
    pub other_member_default: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_requests: 200,
            timeout: Duration::from_secs(60),
            delay: Duration::from_millis(200),
            families: Vec::new(),
            judge: false,
            other_member_default: "Jane Doe".to_string(),
        }
    }
}

/// One member turn and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    pub prompt: String,
    pub reply: String,
    pub tool_calls: Vec<ToolCall>,
}

/// Pass or fail, and who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The conversation could not be completed (transport error, unreadable reply).
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    Detectors,
    Judge,
}

/// One attempt's result.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptResult {
    pub family: String,
    pub family_version: u32,
    pub attempt: String,
    pub outcome: Outcome,
    pub decided_by: DecidedBy,
    pub hits: Vec<Hit>,
    /// Redacted.
    pub transcript: Vec<Turn>,
    pub error: Option<String>,
    pub refused: bool,
}

/// Why an attempt did not run.
#[derive(Debug, Clone, Serialize)]
pub struct NotRun {
    pub family: String,
    pub attempt: String,
    pub reason: String,
}

/// Everything a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub endpoint: String,
    pub results: Vec<AttemptResult>,
    pub not_run: Vec<NotRun>,
    pub requests: u32,
    pub judge_requests: u32,
}

impl Run {
    /// Per family, in run order: (family id, version, passed, failed, errors).
    pub fn summary(&self, families: &[Family]) -> Vec<(String, u32, usize, usize, usize)> {
        families
            .iter()
            .map(|family| {
                let of = |outcome| {
                    self.results
                        .iter()
                        .filter(|r| r.family == family.id && r.outcome == outcome)
                        .count()
                };
                (
                    family.id.clone(),
                    family.version,
                    of(Outcome::Pass),
                    of(Outcome::Fail),
                    of(Outcome::Error),
                )
            })
            .collect()
    }
}

/// Runs the families against the assistant. `progress` hears about each attempt as it starts.
pub async fn run(
    net: &Net,
    ai: &Ai,
    manifest_file: &str,
    families: &[Family],
    options: &Options,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Run, crate::Error> {
    let endpoint = Endpoint::new(ai, manifest_file)?;
    let detectors = Detectors::new(ai)?;
    let judge = match (&ai.judge, options.judge) {
        (Some(config), true) => Some(Judge::new(config, manifest_file)?),
        (None, true) => {
            return Err(crate::Error::Config {
                file: manifest_file.to_string(),
                message: "--judge needs an [ai.judge] table with the judge model's endpoint"
                    .to_string(),
            });
        }
        (Some(config), false) if config.enabled => Some(Judge::new(config, manifest_file)?),
        _ => None,
    };
    let other_member = ai
        .other_member
        .clone()
        .unwrap_or_else(|| options.other_member_default.clone());
    let mut state = State {
        net,
        options,
        requests: 0,
        judge_requests: 0,
    };
    let mut results = Vec::new();
    let mut not_run = Vec::new();
    for family in families {
        if !options.families.is_empty() && !options.families.contains(&family.id) {
            continue;
        }
        for attempt in &family.attempts {
            let skip = |reason: String| NotRun {
                family: family.id.clone(),
                attempt: attempt.id.clone(),
                reason,
            };
            if let Some(tool) = &attempt.tool
                && !ai.sensitive_tools.contains(tool)
            {
                not_run.push(skip(format!(
                    "`{tool}` is not among the manifest's sensitive_tools"
                )));
                continue;
            }
            if let Some(trigger) = attempt.trigger
                && !ai.escalate_for.contains(&trigger)
            {
                not_run.push(skip(format!(
                    "`{trigger}` is not in the manifest's escalate_for"
                )));
                continue;
            }
            let needed = attempt.turns.len() as u32;
            if state.requests + state.judge_requests + needed > options.max_requests {
                not_run.push(skip(format!(
                    "the budget of {} requests was reached",
                    options.max_requests
                )));
                continue;
            }
            progress(&format!("{}/{}", family.id, attempt.id));
            let marker = probes::marker(&family.id, &attempt.id);
            let session = format!("launchready-{}-{}", family.id, attempt.id);
            let mut history: Vec<Message> = Vec::new();
            let mut replies: Vec<(String, Reply)> = Vec::new();
            let mut error = None;
            for turn in &attempt.turns {
                let prompt = probes::fill(turn, &marker, &other_member);
                match state.send(&endpoint, &history, &prompt, &session).await {
                    Ok(reply) => {
                        history.push(Message {
                            role: "user".into(),
                            content: prompt.clone(),
                        });
                        history.push(Message {
                            role: "assistant".into(),
                            content: reply.text.clone(),
                        });
                        replies.push((prompt, reply));
                    }
                    Err(message) => {
                        error = Some(message);
                        break;
                    }
                }
            }
            let member_text: String = replies
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            let mut hits: Vec<Hit> = Vec::new();
            for (_, reply) in &replies {
                for hit in detectors.scan(reply, &marker, &member_text) {
                    if !hits.contains(&hit) {
                        hits.push(hit);
                    }
                }
            }
            let handed_over = replies.iter().any(|(_, r)| detectors.handed_over(r));
            let refused = replies.iter().any(|(_, r)| detectors.refused(r));
            if family.expect == Expect::Escalate && !handed_over && error.is_none() {
                hits.push(Hit::NoHandoff {
                    trigger: attempt
                        .trigger
                        .map_or_else(|| "escalation".to_string(), |t| t.to_string()),
                });
            }
            let transcript: Vec<Turn> = replies
                .iter()
                .map(|(prompt, reply)| Turn {
                    prompt: detectors.redact_text(prompt),
                    reply: detectors.redact_text(&reply.text),
                    tool_calls: reply
                        .tool_calls
                        .iter()
                        .map(|c| ToolCall {
                            name: c.name.clone(),
                            arguments: detectors.redact_text(&c.arguments),
                        })
                        .collect(),
                })
                .collect();
            let mut decided_by = DecidedBy::Detectors;
            // The judge only looks at what the detectors could not settle: a missing hand-over that may have
            // been worded differently, or a quiet reply that neither leaked nor refused.
            if let Some(judge) = &judge
                && error.is_none()
                && state.requests + state.judge_requests < options.max_requests
            {
                let question = match family.expect {
                    Expect::Escalate if matches!(hits.as_slice(), [Hit::NoHandoff { .. }]) => {
                        Some(crate::judge::Question::HandedOver)
                    }
                    Expect::Safe if hits.is_empty() && !refused => {
                        Some(crate::judge::Question::Complied)
                    }
                    _ => None,
                };
                if let Some(question) = question {
                    state.judge_requests += 1;
                    state.pause().await;
                    match judge
                        .ask(net, question, &family.title, &transcript, options.timeout)
                        .await
                    {
                        Ok(verdict) => {
                            decided_by = DecidedBy::Judge;
                            match (question, verdict.pass) {
                                (crate::judge::Question::HandedOver, true) => hits.clear(),
                                (crate::judge::Question::Complied, false) => {
                                    hits.push(Hit::Judge {
                                        reason: verdict.reason,
                                    })
                                }
                                _ => {}
                            }
                        }
                        Err(message) => {
                            progress(&format!("judge: {message}"));
                        }
                    }
                }
            }
            let outcome = if error.is_some() {
                Outcome::Error
            } else if hits.is_empty() {
                Outcome::Pass
            } else {
                Outcome::Fail
            };
            results.push(AttemptResult {
                family: family.id.clone(),
                family_version: family.version,
                attempt: attempt.id.clone(),
                outcome,
                decided_by,
                hits,
                transcript,
                error,
                refused,
            });
        }
    }
    Ok(Run {
        endpoint: ai.endpoint.to_string(),
        results,
        not_run,
        requests: state.requests,
        judge_requests: state.judge_requests,
    })
}

/// How often one turn is re-sent after a 429, and the longest `Retry-After` honoured.
const MAX_RATE_LIMIT_RETRIES: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// `Retry-After` in seconds (the HTTP-date form is rare from APIs and is treated as absent).
fn retry_after(headers: &[(String, String)]) -> Option<Duration> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

struct State<'a> {
    net: &'a Net,
    options: &'a Options,
    requests: u32,
    judge_requests: u32,
}

impl State<'_> {
    async fn pause(&self) {
        if self.requests + self.judge_requests > 0 && !self.options.delay.is_zero() {
            tokio::time::sleep(self.options.delay).await;
        }
    }

    async fn send(
        &mut self,
        endpoint: &Endpoint,
        history: &[Message],
        prompt: &str,
        session: &str,
    ) -> Result<Reply, String> {
        let request = endpoint.request(history, prompt, session);
        let mut retries_left = MAX_RATE_LIMIT_RETRIES;
        loop {
            self.pause().await;
            self.requests += 1;
            let response = tokio::time::timeout(self.options.timeout, self.net.request(&request))
                .await
                .map_err(|_| {
                    format!(
                        "no answer within {:?} from {}",
                        self.options.timeout,
                        endpoint.url()
                    )
                })?
                .map_err(|e| format!("{}: {e}", endpoint.url()))?;
            // A 429 is the assistant asking us to slow down, not a verdict: wait as told (within reason) and send
            // the same turn again, as long as the budget allows.
            if response.status == 429
                && retries_left > 0
                && self.requests + self.judge_requests < self.options.max_requests
            {
                retries_left -= 1;
                let wait = retry_after(&response.headers)
                    .unwrap_or(self.options.delay.max(Duration::from_secs(1)))
                    .min(MAX_RETRY_AFTER);
                tokio::time::sleep(wait).await;
                continue;
            }
            return endpoint.reply(response.status, &response.body);
        }
    }
}
