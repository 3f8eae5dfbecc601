//! Test support (feature `testing`): run a service in-process on `127.0.0.1:0`, or run its real
//! binary and talk to it, stop it with a signal and read its logs.

use std::future::Future;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A service running in this process, stopped by [`TestServer::shutdown`] like SIGTERM would.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Calls `run(listener, shutdown)` on a fresh `127.0.0.1:0` listener in a background task.
    pub async fn start<F, Fut>(run: F) -> Self
    where
        F: FnOnce(TcpListener, ShutdownSignal) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let (trigger, signal) = oneshot::channel();
        let task = tokio::spawn(run(listener, ShutdownSignal(signal)));
        Self {
            addr,
            shutdown: Some(trigger),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Starts the shutdown, as a SIGTERM would.
    pub fn shutdown(&mut self) {
        if let Some(trigger) = self.shutdown.take() {
            let _ = trigger.send(());
        }
    }

    /// Whether the service's `run` has returned.
    pub fn is_stopped(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the service to return, at most `timeout`; panics if it does not.
    pub async fn stopped(self, timeout: Duration) {
        tokio::time::timeout(timeout, self.task)
            .await
            .expect("the service stops in time")
            .expect("the service task does not panic");
    }
}

/// The shutdown future handed to an in-process service. A named future rather than a boxed
/// `dyn Future`: through the trait object rustc fails to prove some served filters' futures
/// `Send` (a higher-ranked lifetime limitation).
pub struct ShutdownSignal(oneshot::Receiver<()>);

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        // A dropped trigger (the test ended) also means: shut down.
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// Retries `attempt` every 20 ms until it yields a value; panics with `what` after `within`.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut attempt: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A service's real binary, started with `LISTEN_ADDR=127.0.0.1:0` and JSON logs.
pub struct RunningBinary {
    pub addr: SocketAddr,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    log_reader: JoinHandle<()>,
}

impl RunningBinary {
    /// Starts `path` with `env` on top of the defaults and waits until it listens.
    pub async fn start(path: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(path)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {path}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (listening_tx, listening_rx) = oneshot::channel();
        let log_reader = tokio::spawn({
            let logs = logs.clone();
            async move {
                let mut listening_tx = Some(listening_tx);
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(addr) = listening_addr(&line)
                        && let Some(tx) = listening_tx.take()
                    {
                        let _ = tx.send(addr);
                    }
                    logs.lock().unwrap().push(line);
                }
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(10), listening_rx)
            .await
            .unwrap_or_else(|_| panic!("{path} logs 'listening on' within 10 s"))
            .unwrap_or_else(|_| panic!("{path} exited before listening"));
        Self {
            addr,
            child,
            logs,
            log_reader,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn signal(&self, signal: Signal) {
        let pid = self.child.id().expect("the child is running") as i32;
        kill(Pid::from_raw(pid), signal).expect("send the signal");
    }

    /// Waits at most `timeout` for the process to exit; returns its status and every log line.
    pub async fn exited(mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the process exits within {timeout:?}"))
            .expect("wait for the process");
        let _ = self.log_reader.await;
        let logs = std::mem::take(&mut *self.logs.lock().unwrap());
        (status, logs)
    }
}

/// Runs the binary at `path` with `env` (on top of the test's own environment) and `args`
/// until it exits.
pub fn run_to_exit(path: &str, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    std::process::Command::new(path)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {path}: {e}"))
}

/// Runs the binary at `path` with `env` and checks the configuration-error contract: exit
/// status 2, nothing on stdout, exactly one line on stderr, which it returns.
pub fn config_error_line(path: &str, env: &[(&str, &str)]) -> String {
    let output = run_to_exit(path, env, &[]);
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 on stderr");
    assert_eq!(output.status.code(), Some(2), "{env:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{env:?}: something on stdout");
    assert_eq!(stderr.lines().count(), 1, "{env:?}: {stderr}");
    stderr.trim_end().to_owned()
}

/// For each `(variable, value)`: the binary `name` at `path` exits 2 with the one line
/// `{name}: invalid {variable}="{value}": <why>`.
pub fn assert_each_bad_value_exits_2(path: &str, name: &str, cases: &[(&str, &str)]) {
    for (var, value) in cases {
        let line = config_error_line(path, &[(var, value)]);
        assert!(
            line.starts_with(&format!("{name}: invalid {var}=\"{value}\": ")),
            "{line}"
        );
    }
}

/// An unknown command-line argument makes the binary `name` at `path` exit 2 with its usage.
pub fn assert_unknown_argument_exits_2(path: &str, name: &str) {
    let output = run_to_exit(path, &[], &["--bogus"]);
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 on stderr");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("usage: {name}")), "{stderr}");
}

/// The address in the server's `listening on ADDR` log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let record: serde_json::Value = serde_json::from_str(line).ok()?;
    record["message"]
        .as_str()?
        .strip_prefix("listening on ")?
        .parse()
        .ok()
}

/// A real `redis-server` on a free loopback port, for tests; killed when dropped.
pub struct RedisServer {
    port: u16,
    process: Option<std::process::Child>,
}

impl RedisServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free port")
            .port();
        let mut server = Self {
            port,
            process: None,
        };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (SIGKILL), like a crash; its data is gone.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts a fresh, empty server on the same port (after [`RedisServer::kill`]).
    pub async fn restart(&mut self) {
        self.kill();
        let process = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server (Debian: apt-get install redis-server)");
        self.process = Some(process);
        eventually(
            "redis-server answers PING",
            Duration::from_secs(10),
            async || self.answers_ping().await.then_some(()),
        )
        .await;
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers.
    pub fn pause(&self) {
        self.signal(Signal::SIGSTOP);
    }

    /// Thaws a server frozen by [`RedisServer::pause`].
    pub fn resume(&self) {
        self.signal(Signal::SIGCONT);
    }

    /// A plain connection for a test to seed or inspect data.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("valid URL")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to the test redis-server")
    }

    fn signal(&self, signal: Signal) {
        let process = self.process.as_ref().expect("the server is running");
        kill(Pid::from_raw(process.id() as i32), signal).expect("signal redis-server");
    }

    async fn answers_ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
            return false;
        };
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
