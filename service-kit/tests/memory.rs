//! The task that gives memory back after a burst stops with the service: it runs until its
//! token is cancelled, then ends at once. (A test binary of its own: its releases would disturb
//! the unit tests that measure the process's resident size.)

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::time::Duration;

use service_kit::memory::release_until;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::test(start_paused = true)]
async fn the_release_task_runs_until_cancelled_then_ends_at_once() {
    let tasks = TaskTracker::new();
    let stop = CancellationToken::new();
    let release = tasks.spawn(release_until(stop.clone()));
    tasks.close();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!release.is_finished(), "it keeps looking until cancelled");

    stop.cancel();
    tokio::time::timeout(Duration::from_millis(1), tasks.wait())
        .await
        .expect("the release task ends once cancelled, and is awaited");
}
