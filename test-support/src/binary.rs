//! A service's real binary: started with `LISTEN_ADDR=127.0.0.1:0` and JSON logs, signalled,
//! awaited; and the contracts every binary keeps (bad configuration exits 2 with one line, an
//! unknown argument exits 2 with the usage, `--health-check` follows the running instance).

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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

    /// The log lines printed so far, for a test to wait on with [`super::eventually`].
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// The process's id, e.g. to read `/proc/PID`.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the child is running")
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid() as i32), signal).expect("send the signal");
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

/// `--health-check` follows the instance of the binary at `path` (started with `env`):
/// exit 0 while it runs, then, once SIGTERM has stopped it, exit 1 saying the check failed.
pub async fn assert_health_check_follows_the_instance(path: &str, env: &[(&str, &str)]) {
    let service = RunningBinary::start(path, env).await;
    let listen_addr = service.addr.to_string();
    let check = || run_to_exit(path, &[("LISTEN_ADDR", &listen_addr)], &["--health-check"]);
    let running = check();
    assert_eq!(running.status.code(), Some(0), "{running:?}");

    service.signal(Signal::SIGTERM);
    let (status, _) = service.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");
    let stopped = check();
    assert_eq!(stopped.status.code(), Some(1), "{stopped:?}");
    let stderr = String::from_utf8(stopped.stderr).expect("UTF-8 on stderr");
    assert!(stderr.contains("health check failed"), "{stderr}");
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
