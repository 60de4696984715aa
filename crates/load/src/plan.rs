//! What a load run will do, settled before anything is sent: the model and its schedule, the flow files and the
//! name of each step, the per-iteration variables (CSV rows), the thresholds (whose step and flow names must
//! exist), and the hosts the files target, each of which must be allowed.

use crate::LoadError;
use crate::schedule::Schedule;
use crate::thresholds::{Scope, Threshold};
use hurl_core::ast::{ExprKind, TemplateElement};
use launchready_flow::{Backend, FlowFile, RunOptions, Variables, parse_value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The arrival model, named so a reader of the report knows which one ran.
#[derive(Debug, Clone)]
pub enum Model {
    /// Iterations start on the schedule whether or not earlier ones finished (visitors do not wait for each
    /// other). At most `max_in_flight` run at once; an iteration that finds no slot waits, and the wait counts
    /// in its corrected latency.
    Open {
        schedule: Schedule,
        max_in_flight: usize,
    },
    /// `vus` users each start their next iteration when the previous one ends. Latency cannot be corrected for
    /// coordinated omission here: a slow server slows the arrivals down.
    Closed { vus: usize, duration: Duration },
}

impl Model {
    pub fn duration(&self) -> Duration {
        match self {
            Model::Open { schedule, .. } => schedule.duration(),
            Model::Closed { duration, .. } => *duration,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Model::Open {
                schedule,
                max_in_flight,
            } => {
                let shape = if schedule.stages.len() == 1
                    && schedule.start_rate == schedule.stages[0].target
                {
                    format!(
                        "{} for {}",
                        schedule.start_rate,
                        humantime::format_duration(schedule.duration())
                    )
                } else {
                    let mut parts = vec![format!("from {}", schedule.start_rate)];
                    for s in &schedule.stages {
                        parts.push(format!(
                            "{} to {}",
                            humantime::format_duration(s.duration),
                            s.target
                        ));
                    }
                    parts.join(", ")
                };
                format!("open model (arrival rate): {shape}, at most {max_in_flight} in flight")
            }
            Model::Closed { vus, duration } => format!(
                "closed model ({vus} VUs looping for {}; latency not corrected for coordinated omission)",
                humantime::format_duration(*duration)
            ),
        }
    }
}

/// Makes a backend for one more virtual user (a `mailbox://` reader, say): each VU gets its own.
pub type BackendFactory = Arc<dyn Fn() -> Box<dyn Backend> + Send + Sync>;

/// Everything a run needs except the network.
pub struct LoadPlan {
    pub files: Vec<FlowFile>,
    pub model: Model,
    pub options: RunOptions,
    /// The command line's variables; every iteration starts from a copy.
    pub variables: Variables,
    /// `--variables-file` rows; iteration *n* gets row *n* mod the row count.
    pub rows: Vec<Vec<(String, String)>>,
    pub thresholds: Vec<Threshold>,
    /// Hosts the files may target (the manifest's and `--allow-host`).
    pub allowed_hosts: Vec<String>,
    /// How long in-flight iterations may go on after the schedule ends or a stop.
    pub grace: Duration,
    /// Backends for schemes other than http and https, by scheme. Their URLs are not load targets.
    pub backends: Vec<(String, BackendFactory)>,
    /// Let flows whose requests never change run on the HTTP/1.1 fast path once the engine has reached their
    /// server (`false`: every request through the flow engine).
    pub fast_path: bool,
}

impl std::fmt::Debug for LoadPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadPlan")
            .field("files", &self.files.len())
            .field("model", &self.model)
            .field("thresholds", &self.thresholds)
            .field("allowed_hosts", &self.allowed_hosts)
            .field(
                "backends",
                &self.backends.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// One target host found in the files, for the plan printed before starting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub requests_per_iteration: usize,
}

/// Reads a CSV file with a header line (the column names are the variable names), one row per test account.
pub fn read_rows(path: &Path) -> Result<Vec<Vec<(String, String)>>, LoadError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| {
            LoadError::Usage(format!(
                "cannot read --variables-file {}: {e}",
                path.display()
            ))
        })?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| LoadError::Usage(format!("{}: the header line: {e}", path.display())))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.iter().any(|h| h.is_empty()) {
        return Err(LoadError::Usage(format!(
            "{}:1: every column needs a name (the header line names the variables)",
            path.display()
        )));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(i as u64 + 2);
            LoadError::Usage(format!("{}:{line}: {e}", path.display()))
        })?;
        rows.push(
            headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect(),
        );
    }
    if rows.is_empty() {
        return Err(LoadError::Usage(format!(
            "{} has a header line but no rows",
            path.display()
        )));
    }
    Ok(rows)
}

/// The variables of iteration `n`.
pub fn iteration_vars(base: &Variables, rows: &[Vec<(String, String)>], n: u64) -> Variables {
    let mut vars = base.clone();
    if !rows.is_empty() {
        for (name, value) in &rows[(n % rows.len() as u64) as usize] {
            vars.set(name, parse_value(value));
        }
    }
    vars
}

/// A step's name: a `# step: NAME` comment on the line above the entry, else `METHOD /path` from the file.
pub fn step_names(file: &FlowFile) -> Vec<String> {
    let lines: Vec<&str> = file.source.lines().collect();
    file.ast
        .entries
        .iter()
        .map(|entry| {
            let line = entry.source_info().start.line;
            if let Some(above) = line.checked_sub(2).and_then(|i| lines.get(i))
                && let Some(name) = above
                    .trim()
                    .strip_prefix('#')
                    .map(str::trim)
                    .and_then(|c| c.strip_prefix("step:"))
                && !name.trim().is_empty()
            {
                return name.trim().to_string();
            }
            let url = entry.request.url.to_string();
            format!("{} {}", entry.request.method, path_of(&url))
        })
        .collect()
}

/// The path of a URL as written (`{{base_url}}/login?next=/` → `/login`).
fn path_of(url: &str) -> String {
    let mut rest = url;
    if let Some(after) = rest.split_once("://").map(|(_, r)| r) {
        rest = after.find('/').map(|i| &after[i..]).unwrap_or("/");
    } else if rest.starts_with("{{")
        && let Some(end) = rest.find("}}")
    {
        rest = &rest[end + 2..];
    }
    let path = rest.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

/// Whether `step=QUERY` in a threshold means step `name`: its whole name, its path, or the path's last segment.
pub fn step_matches(name: &str, query: &str) -> bool {
    if name == query {
        return true;
    }
    let path = name.split_once(' ').map(|(_, p)| p).unwrap_or(name);
    path == query || path.trim_end_matches('/').rsplit('/').next() == Some(query)
}

/// A flow's name: its file stem.
pub fn flow_name(file: &FlowFile) -> String {
    file.path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.path.display().to_string())
}

/// Whether `host` is allowed: named exactly (case-insensitive), or under a `*.example.com` pattern.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host
        .trim_matches(['[', ']'])
        .trim_end_matches('.')
        .to_ascii_lowercase();
    allowed.iter().any(|a| {
        let a = a
            .trim_matches(['[', ']'])
            .trim_end_matches('.')
            .to_ascii_lowercase();
        match a.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == a,
        }
    })
}

impl LoadPlan {
    /// Checks the plan before anything is sent: thresholds name steps and flows that exist, and every URL's
    /// host (rendered with the first iteration's variables) is allowed. Returns the hosts with request counts.
    pub fn check(&self) -> Result<Vec<Target>, LoadError> {
        if self.files.is_empty() {
            return Err(LoadError::Usage("no flow file to run".to_string()));
        }
        let flows: Vec<String> = self.files.iter().map(flow_name).collect();
        let steps: Vec<String> = self.files.iter().flat_map(step_names).collect();
        for t in &self.thresholds {
            match &t.scope {
                Scope::All => {}
                Scope::Step(q) if !steps.iter().any(|s| step_matches(s, q)) => {
                    return Err(LoadError::Usage(format!(
                        "threshold `{}`: no step is called `{q}` (steps: {})",
                        t.source,
                        steps.join(", ")
                    )));
                }
                Scope::Flow(q) if !flows.iter().any(|f| f == q) => {
                    return Err(LoadError::Usage(format!(
                        "threshold `{}`: no flow is called `{q}` (flows: {})",
                        t.source,
                        flows.join(", ")
                    )));
                }
                _ => {}
            }
        }
        let vars = iteration_vars(&self.variables, &self.rows, 0);
        let mut targets: Vec<Target> = Vec::new();
        for file in &self.files {
            // Names the file itself defines (captures, [Options] variables): a URL built from them is known only
            // at run time, where a request to a host that is not allowed stops the run.
            let mut defined: Vec<String> = Vec::new();
            for entry in &file.ast.entries {
                for option in entry.request.options() {
                    if let hurl_core::ast::OptionKind::Variable(v) = &option.kind {
                        defined.push(v.name.clone());
                    }
                }
                if let Some(response) = &entry.response {
                    defined.extend(response.captures().iter().map(|c| c.name.to_string()));
                }
            }
            for entry in &file.ast.entries {
                let line = entry.source_info().start.line;
                // Rendered twice with different fillers for variables nobody defined on the command line (a
                // capture, an [Options] variable): if the host changes, the host is not known before the run.
                let render = |filler: &str| {
                    let mut text = String::new();
                    let mut unknown = Vec::new();
                    for element in &entry.request.url.elements {
                        match element {
                            TemplateElement::String { value, .. } => text.push_str(value),
                            TemplateElement::Placeholder(p) => match &p.expr.kind {
                                ExprKind::Variable(v) => match vars.get(&v.name) {
                                    Some(value) => text.push_str(&value.to_string()),
                                    None => {
                                        text.push_str(filler);
                                        unknown.push(v.name.clone());
                                    }
                                },
                                ExprKind::Function(_) => text.push_str(filler),
                            },
                        }
                    }
                    (text, unknown)
                };
                let (text, unknown) = render("x");
                let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
                if scheme
                    .as_deref()
                    .is_some_and(|s| self.backends.iter().any(|(b, _)| b == s))
                {
                    continue;
                }
                let host_of = |t: &str| {
                    url::Url::parse(t)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                };
                if !unknown.is_empty() && unknown.iter().all(|name| defined.contains(name)) {
                    continue;
                }
                if host_of(&text) != host_of(&render("y").0)
                    || (host_of(&text).is_none() && !unknown.is_empty())
                {
                    return Err(LoadError::Usage(format!(
                        "{}:{line}: the URL's host comes from `{{{{{}}}}}`, which no --variable or --variables-file column defines, so it cannot be checked before the run",
                        file.path.display(),
                        unknown.first().cloned().unwrap_or_default()
                    )));
                }
                let url = url::Url::parse(&text).map_err(|e| {
                    LoadError::Usage(format!(
                        "{}:{line}: `{text}` is not a URL: {e}",
                        file.path.display()
                    ))
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(LoadError::Usage(format!(
                        "{}:{line}: load runs http:// and https:// only, not {}://",
                        file.path.display(),
                        url.scheme()
                    )));
                }
                let host = url.host_str().unwrap_or_default().to_string();
                if !host_allowed(&host, &self.allowed_hosts) {
                    return Err(LoadError::HostNotAllowed {
                        file: file.path.display().to_string(),
                        line,
                        host,
                    });
                }
                match targets.iter_mut().find(|t| t.host == host) {
                    Some(t) => t.requests_per_iteration += 1,
                    None => targets.push(Target {
                        host,
                        requests_per_iteration: 1,
                    }),
                }
            }
        }
        Ok(targets)
    }

    /// What will be sent, printed before starting: the model, iterations, requests and hosts.
    pub fn announce(&self, targets: &[Target]) -> String {
        let requests: usize = self.files.iter().map(|f| f.ast.entries.len()).sum();
        let per_iteration = requests as f64 / self.files.len().max(1) as f64;
        let hosts: Vec<String> = targets.iter().map(|t| t.host.clone()).collect();
        match &self.model {
            Model::Open { schedule, .. } => {
                let iterations = schedule.total();
                format!(
                    "load: {}\nload: about {iterations} iterations ({:.0} requests, peak {}) over {} to {}",
                    self.model.describe(),
                    iterations as f64 * per_iteration,
                    schedule.peak(),
                    humantime::format_duration(schedule.duration()),
                    hosts.join(", ")
                )
            }
            Model::Closed { .. } => format!(
                "load: {}\nload: as many iterations as the server allows ({per_iteration:.1} requests each) to {}",
                self.model.describe(),
                hosts.join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_step_matching() {
        assert_eq!(path_of("{{base_url}}/login?next=/"), "/login");
        assert_eq!(path_of("https://shop.test/cart/checkout"), "/cart/checkout");
        assert_eq!(path_of("{{base_url}}"), "/");
        assert!(step_matches("POST /cart/checkout", "checkout"));
        assert!(step_matches("POST /cart/checkout", "/cart/checkout"));
        assert!(step_matches("checkout", "checkout"));
        assert!(!step_matches("POST /cart/checkout", "cart"));
    }

    #[test]
    fn hosts_are_allowed_by_name_or_pattern() {
        let allowed = vec!["shop.test".to_string(), "*.cdn.test".to_string()];
        assert!(host_allowed("SHOP.test", &allowed));
        assert!(host_allowed("a.cdn.test", &allowed));
        assert!(!host_allowed("cdn.test", &allowed));
        assert!(!host_allowed("evil.test", &allowed));
    }
}
