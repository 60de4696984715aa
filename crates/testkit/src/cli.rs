//! Running a built binary in end-to-end tests: arguments, environment, working directory and stdin, a time limit
//! that kills the process (a hang fails the test, it never stalls the run), and a result whose assertions print
//! the exit code, stdout and stderr on failure. Also a temporary project directory holding a `launchready.toml`,
//! one with a started lab beside it, reached through the flags users have, the lab's membership app served while
//! the binary runs, and a small HTTP/1.1 server for the binary to talk to.
//!
//! ```ignore
//! fn launchready() -> Cli {
//!     Cli::new(env!("CARGO_BIN_EXE_launchready"))
//! }
//!
//! let project = Project::with_manifest(MANIFEST);
//! launchready().args(["env", "."]).current_dir(project.path()).run().code(1).stdout_has("env.");
//! ```

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use launchready_lab::app::{AppConfig, MemberApp, Mode};
use launchready_lab::{Lab, Scenario};

/// How long a run may take unless the test sets another limit.
pub const LIMIT: Duration = Duration::from_secs(60);

/// One invocation of a binary, built up like `std::process::Command` and run under a time limit. `NO_COLOR=1` is
/// always set, so output is plain text.
#[derive(Debug, Clone)]
pub struct Cli {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    limit: Duration,
}

impl Cli {
    /// Runs `program`: for the binary under test, the caller's `env!("CARGO_BIN_EXE_<name>")` (Cargo sets that
    /// variable only while compiling the integration test itself).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Cli {
            program: program.into(),
            args: Vec::new(),
            envs: vec![("NO_COLOR".into(), "1".into())],
            dir: None,
            stdin: None,
            limit: LIMIT,
        }
    }

    /// The binary `name` from `CARGO_BIN_EXE_<name>` at run time, as test runners such as nextest set it.
    #[track_caller]
    pub fn cargo_bin(name: &str) -> Self {
        let variable = format!("CARGO_BIN_EXE_{name}");
        match std::env::var_os(&variable) {
            Some(path) => Cli::new(path),
            None => panic!(
                "{variable} is not set at run time: pass env!(\"{variable}\") to Cli::new instead"
            ),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Text written to the process's stdin (otherwise stdin is empty).
    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(text.into());
        self
    }

    /// How long the run may take before it is killed and the test fails.
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// The command line, for messages.
    fn describe(&self) -> String {
        let name = self
            .program
            .file_name()
            .unwrap_or(self.program.as_os_str())
            .to_string_lossy()
            .into_owned();
        self.args.iter().fold(name, |line, arg| {
            format!("{line} {}", arg.to_string_lossy())
        })
    }

    /// Starts the process in a process group of its own (so a kill also ends what it started) with its output
    /// drained as it comes, which no pipe buffer can stall.
    #[track_caller]
    pub fn spawn(&self) -> Running {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let what = self.describe();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
        if let (Some(text), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            // A process that exits without reading its stdin closes the pipe; its exit code says what happened.
            let _ = pipe.write_all(text);
        }
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Running {
            child,
            stdout,
            stderr,
            what,
            deadline: Instant::now() + self.limit,
            limit: self.limit,
        }
    }

    /// Runs to completion within the limit; a hang kills the process and fails the test.
    #[track_caller]
    pub fn run(&self) -> Run {
        self.spawn().finish()
    }

    /// [`Cli::run`] off the async runtime, so servers on the test's runtime (the lab) keep serving meanwhile.
    pub async fn run_async(&self) -> Run {
        let cli = self.clone();
        off_runtime(move || cli.run()).await
    }
}

/// Runs blocking `work` on tokio's blocking pool; its panic (a failed assertion) fails the caller as it is.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("a blocking test task was cancelled: {error}"),
        },
    }
}

/// Reads a pipe to its end on a thread of its own; the bytes arrive on the returned channel.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Receiver<Vec<u8>> {
    let (done, bytes) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut buffer = Vec::new();
            // A read error ends the output early; what was read is still worth showing.
            let _ = pipe.read_to_end(&mut buffer);
            let _ = done.send(buffer);
        });
    }
    bytes
}

/// A started process; [`Running::finish`] waits for it under the limit.
#[derive(Debug)]
pub struct Running {
    child: Child,
    stdout: Receiver<Vec<u8>>,
    stderr: Receiver<Vec<u8>>,
    what: String,
    deadline: Instant,
    limit: Duration,
}

impl Running {
    /// The process id, for signalling it (`kill -INT`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT, as Ctrl-C in a terminal would.
    #[track_caller]
    pub fn interrupt(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32)
            .unwrap_or_else(|| panic!("{}: no pid", self.what));
        if let Err(error) = rustix::process::kill_process(pid, rustix::process::Signal::INT) {
            panic!("{}: sending SIGINT: {error}", self.what);
        }
    }

    fn kill_group(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            // Already gone is fine: the group is what must not outlive the test.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process; past the limit it is killed (with everything it started) and the test fails.
    #[track_caller]
    pub fn finish(mut self) -> Run {
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= self.deadline => {
                    self.kill_group();
                    let partial = self.collect(-1);
                    panic!(
                        "{} did not finish within {:?}; killed.\n{}",
                        self.what,
                        self.limit,
                        partial.all()
                    );
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(error) => {
                    self.kill_group();
                    panic!("{}: waiting for it: {error}", self.what);
                }
            }
        };
        self.collect(status.code().unwrap_or(-1))
    }

    /// Kills the process and everything it started (SIGKILL, as a crash would) and returns what it wrote; the
    /// exit code is -1.
    pub fn kill(mut self) -> Run {
        self.kill_group();
        self.collect(-1)
    }

    /// [`Running::finish`] with a new limit counted from now (after a signal, say).
    #[track_caller]
    pub fn finish_within(mut self, limit: Duration) -> Run {
        self.deadline = Instant::now() + limit;
        self.limit = limit;
        self.finish()
    }

    /// [`Running::finish_within`] off the async runtime.
    pub async fn finish_within_async(self, limit: Duration) -> Run {
        off_runtime(move || self.finish_within(limit)).await
    }

    /// The output so far, waiting for the pipes to close no later than the deadline (a grandchild that keeps them
    /// open cannot stall the test).
    fn collect(&self, code: i32) -> Run {
        let read = |pipe: &Receiver<Vec<u8>>| {
            let left = self
                .deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(500));
            let bytes = pipe.recv_timeout(left).unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Run {
            code,
            stdout: read(&self.stdout),
            stderr: read(&self.stderr),
            what: self.what.clone(),
        }
    }
}

/// A finished run: its exit code (-1 when a signal ended it) and its output. The assertions return the run, so
/// they chain, and print everything on failure.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    what: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\nexit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// The command line, the exit code, stdout and stderr: what failure messages print.
    pub fn all(&self) -> String {
        self.to_string()
    }

    /// stdout then stderr, for checks that do not care which stream a line went to.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The exit code must be `expected`.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, expected, "wrong exit code; {}", self.all());
        self
    }

    /// stdout must contain every one of `texts`.
    #[track_caller]
    pub fn stdout_has(&self, texts: &[&str]) -> &Self {
        self.has("stdout", &self.stdout, texts)
    }

    /// stderr must contain every one of `texts`.
    #[track_caller]
    pub fn stderr_has(&self, texts: &[&str]) -> &Self {
        self.has("stderr", &self.stderr, texts)
    }

    #[track_caller]
    fn has(&self, name: &str, stream: &str, texts: &[&str]) -> &Self {
        for text in texts {
            assert!(
                stream.contains(text),
                "{name} lacks {text:?}; {}",
                self.all()
            );
        }
        self
    }

    /// Neither stdout nor stderr may contain `text` (a secret, say).
    #[track_caller]
    pub fn never_shows(&self, text: &str) -> &Self {
        assert!(
            !self.stdout.contains(text) && !self.stderr.contains(text),
            "the output shows {text:?}; {}",
            self.all()
        );
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); {}", self.all()))
    }
}

/// The ids of a JSON report's findings, suppressed ones included, in report order.
#[track_caller]
pub fn finding_ids(report: &serde_json::Value) -> Vec<String> {
    findings(report)
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The findings array of a JSON report.
#[track_caller]
pub fn findings(report: &serde_json::Value) -> &[serde_json::Value] {
    match report["findings"].as_array() {
        Some(findings) => findings,
        None => panic!("the report has no findings array: {report}"),
    }
}

/// A temporary directory holding a project: a `launchready.toml` and whatever files a test writes. Removed on
/// drop.
#[derive(Debug)]
pub struct Project {
    dir: tempfile::TempDir,
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}

impl Project {
    /// An empty directory.
    #[track_caller]
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
        Project { dir }
    }

    /// A directory with `manifest` as its `launchready.toml`.
    #[track_caller]
    pub fn with_manifest(manifest: &str) -> Self {
        let project = Project::new();
        project.write("launchready.toml", manifest);
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The path of `relative` inside the project.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The `launchready.toml` path.
    pub fn manifest(&self) -> PathBuf {
        self.join("launchready.toml")
    }

    /// Writes `text` to `relative`, creating its directories; returns the path.
    #[track_caller]
    pub fn write(&self, relative: impl AsRef<Path>, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(relative);
        write_file(&path, text.as_ref());
        path
    }

    /// The text of `relative`; a missing file fails the test.
    #[track_caller]
    pub fn read(&self, relative: impl AsRef<Path>) -> String {
        let path = self.join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// The JSON in `relative` (a report the binary wrote); a missing or malformed file fails the test.
    #[track_caller]
    pub fn read_json(&self, relative: impl AsRef<Path>) -> serde_json::Value {
        let text = self.read(&relative);
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{} is not JSON ({e}):\n{text}", relative.as_ref().display())
        })
    }

    /// `cli` run in this directory.
    pub fn cli(&self, cli: Cli) -> Cli {
        cli.current_dir(self.path())
    }
}

/// Writes `bytes` to `path`, creating its directories; a failure fails the test.
#[track_caller]
pub fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The flags that send the binary to a started lab, as a user reaches a staging box: the lab's nameserver as
/// `--resolver`, its listeners as `--connect-to` and its CA as `--ca-file`.
pub fn lab_flags(lab: &Lab) -> Vec<String> {
    let mut flags = vec!["--resolver".to_string(), lab.resolver_arg()];
    for rule in lab.connect_to_args() {
        flags.push("--connect-to".to_string());
        flags.push(rule);
    }
    flags.push("--ca-file".to_string());
    flags.push(lab.ca_file().display().to_string());
    flags
}

/// The flags that send the binary to the lab's membership app: its listeners as `--connect-to` and its CA as
/// `--ca-file`. The rules name addresses, so a resolver that answers nothing (`127.0.0.1:9`) keeps the system
/// configuration out of the test.
pub fn app_flags(app: &MemberApp) -> Vec<String> {
    let mut flags = vec![
        "--resolver".to_string(),
        "127.0.0.1:9".to_string(),
        "--ca-file".to_string(),
        app.ca_file().display().to_string(),
    ];
    for rule in app.connect_to_args() {
        flags.push("--connect-to".to_string());
        flags.push(rule);
    }
    flags
}

/// The lab's membership app on a runtime of its own, so it keeps serving while the test runs the binary in the
/// foreground. It mails to [`ServedApp::smtp`]; a manifest whose `[mailbox]` names that address
/// ([`ServedApp::mailbox_table`]) makes the binary start the sink there, so `mailbox://` steps read the app's mail.
#[derive(Debug)]
pub struct ServedApp {
    pub app: MemberApp,
    smtp: SocketAddr,
    // Dropped after the app, whose tasks run on it.
    _runtime: tokio::runtime::Runtime,
}

impl ServedApp {
    /// Starts the app with `config`; an app that cannot start fails the test.
    #[track_caller]
    pub fn start(config: AppConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("starting a runtime for the app: {e}"));
        let smtp = config.smtp;
        let app = runtime
            .block_on(MemberApp::start(config))
            .unwrap_or_else(|e| panic!("starting the membership app: {e}"));
        ServedApp {
            app,
            smtp,
            _runtime: runtime,
        }
    }

    /// The app in `mode`, mailing to a free loopback port where the binary's sink will listen.
    #[track_caller]
    pub fn with_mailbox(mode: Mode) -> Self {
        ServedApp::start(AppConfig::new(free_addr()).mode(mode))
    }

    /// Where the app sends its mail.
    pub fn smtp(&self) -> SocketAddr {
        self.smtp
    }

    /// The manifest's `[mailbox]` table naming the address the app mails to.
    pub fn mailbox_table(&self) -> String {
        format!("[mailbox]\nsmtp_listen = \"{}\"\n", self.smtp)
    }

    /// A project whose manifest is the site `domain` and [`ServedApp::mailbox_table`].
    #[track_caller]
    pub fn mailbox_project(&self, domain: &str) -> Project {
        Project::with_manifest(&format!(
            "[site]\ndomain = \"{domain}\"\n\n{}",
            self.mailbox_table()
        ))
    }

    /// The flags that reach the app ([`app_flags`]).
    pub fn flags(&self) -> Vec<String> {
        app_flags(&self.app)
    }
}

/// A loopback address nothing listens on now (bound, read, released), for a server the binary starts.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, crate::lab::closed_port()))
}

/// Polls `ready` until it gives a value, failing the test (naming `what`) when `limit` passes first: waiting for
/// a run to get under way or a server to answer, without a timed assertion.
#[track_caller]
pub fn wait_for<T>(limit: Duration, what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("waited {limit:?} for {what}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// [`wait_for`] a condition.
#[track_caller]
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    wait_for(limit, what, || ready().then_some(()));
}

/// One request the [`serve_http`] server read: the path, the header lines as they came (each ending in CRLF,
/// the blank line left out) and the body (`Content-Length` bytes).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: String,
    pub body: Vec<u8>,
}

/// What the [`serve_http`] server answers: a status line's code and reason, a content type and a body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    /// `200 OK`, `text/plain`.
    pub fn ok(body: impl Into<String>) -> Self {
        Reply::new("200 OK", "text/plain", body)
    }

    pub fn new(status: &'static str, content_type: &'static str, body: impl Into<String>) -> Self {
        Reply {
            status,
            content_type,
            body: body.into(),
        }
    }
}

/// A loopback HTTP/1.1 server on threads of its own, answering each request with `handler` and closing the
/// connection (one request per connection); it serves until the test process ends.
#[track_caller]
pub fn serve_http<F>(handler: F) -> SocketAddr
where
    F: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("reading the bound address: {e}"));
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            thread::spawn(move || {
                // A client that goes away mid-request gets no answer; the test sees that on its side.
                let _ = answer(stream, handler.as_ref());
            });
        }
    });
    addr
}

fn answer(mut stream: TcpStream, handler: &dyn Fn(&Request) -> Reply) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or("/").to_string();
    let mut headers = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        headers.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let reply = handler(&Request {
        method,
        path,
        headers,
        body,
    });
    write!(
        stream,
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        reply.status,
        reply.content_type,
        reply.body.len(),
        reply.body
    )?;
    stream.flush()
}

/// A started lab and a project directory with its manifest: commands run there with the lab's flags.
#[derive(Debug)]
pub struct LabProject {
    pub lab: Lab,
    pub project: Project,
}

impl LabProject {
    /// Starts `scenario` and writes `manifest`; a lab that cannot start fails the test.
    pub async fn start(scenario: Scenario, manifest: &str) -> Self {
        let lab = Lab::start(scenario)
            .await
            .unwrap_or_else(|e| panic!("starting the lab: {e}"));
        LabProject {
            lab,
            project: Project::with_manifest(manifest),
        }
    }

    pub fn path(&self) -> &Path {
        self.project.path()
    }

    /// `cli` with `args`, then the lab's flags, run in the project directory.
    pub fn cli<I>(&self, cli: Cli, args: I) -> Cli
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        self.project.cli(cli).args(args).args(lab_flags(&self.lab))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Cli {
        Cli::new("/bin/sh").args(["-c", script])
    }

    #[test]
    fn a_run_returns_code_stdout_and_stderr() {
        let run = sh("echo out; echo err >&2; exit 3").run();
        run.code(3).stdout_has(&["out"]).stderr_has(&["err"]);
        assert_eq!(run.output(), "out\nerr\n");
    }

    #[test]
    fn stdin_env_and_directory_reach_the_process() {
        let project = Project::new();
        project.write("sub/file.txt", "inside");
        let run = project
            .cli(sh("cat; printf ' %s ' \"$GREETING\"; cat sub/file.txt"))
            .env("GREETING", "hello")
            .stdin("piped")
            .run();
        run.code(0).stdout_has(&["piped hello inside"]);
    }

    #[test]
    fn output_larger_than_a_pipe_buffer_does_not_stall() {
        let run = sh("head -c 1000000 /dev/zero | tr '\\0' x").run();
        assert_eq!(run.code(0).stdout.len(), 1_000_000);
    }

    #[test]
    #[should_panic(expected = "did not finish within")]
    fn a_hang_is_killed_and_fails() {
        sh("sleep 30").limit(Duration::from_millis(200)).run();
    }

    #[test]
    fn a_killed_run_ends_with_everything_it_started() {
        let run = sh("sleep 30 & sleep 30").spawn().kill();
        assert_eq!(run.code, -1, "{}", run.all());
    }

    #[test]
    #[should_panic(expected = "wrong exit code")]
    fn a_wrong_code_fails_printing_the_output() {
        sh("echo shown; exit 1").run().code(0);
    }

    #[test]
    fn json_reports_give_their_finding_ids() {
        let run = sh(r#"echo '{"findings":[{"id":"a.b"},{"id":"c"}]}'"#).run();
        assert_eq!(finding_ids(&run.json()), ["a.b", "c"]);
    }

    #[test]
    fn the_http_server_hands_the_request_to_its_handler() {
        let addr = serve_http(|request| {
            Reply::ok(format!(
                "{} {} {}",
                request.method,
                request.path,
                String::from_utf8_lossy(&request.body)
            ))
        });
        let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting: {e}"));
        stream
            .write_all(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap_or_else(|e| panic!("writing: {e}"));
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .unwrap_or_else(|e| panic!("reading: {e}"));
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nPOST /hook hello"), "{answer}");
    }

    #[test]
    fn waiting_returns_the_first_value_and_fails_past_its_limit() {
        let mut polls = 0;
        let value = wait_for(Duration::from_secs(5), "a third poll", || {
            polls += 1;
            (polls == 3).then_some(polls)
        });
        assert_eq!(value, 3);
        let late = std::panic::catch_unwind(|| {
            wait_until(Duration::from_millis(50), "nothing", || false);
        });
        assert!(late.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_off_the_runtime() {
        sh("echo async")
            .run_async()
            .await
            .code(0)
            .stdout_has(&["async"]);
    }
}
